import type { ClientFraming } from './listeners/client-framing';

/**
 * Payloads up to this size are written as one buffer (frame header and payload copied together: one write, one
 * small allocation); larger ones are written as header + payload, corked, so the payload is never copied.
 */
export const JOIN_LIMIT = 16 * 1024;

/**
 * One message the gateway sends to one or many clients. Its wire encodings are built on first use and kept, so
 * a broadcast frames the message once per encoding (one WebSocket frame, one encoding per raw TCP framing) and
 * writes the same bytes to every recipient, instead of framing it again for each of them.
 */
export class OutgoingMessage {
  private wsFrame: Buffer | null = null;
  private wsHeader: Buffer | null = null;
  /** The encoding for the framing met first; more framings on one gateway are rare (a Map only then). */
  private framing: ClientFraming | null = null;
  private framed: Buffer | null = null;
  private moreFramings: Map<ClientFraming, Buffer> | null = null;

  constructor(
    /** The payload, as the worker or SDK client sent it. */
    readonly body: Buffer,
    /** A WebSocket binary frame (true) or a text frame (false); framings without the notion ignore it. */
    readonly binary: boolean,
  ) {}

  /** True when {@link webSocketFrame} holds header and payload in one buffer (small payloads). */
  get joined(): boolean {
    return this.body.length <= JOIN_LIMIT;
  }

  /**
   * The whole unmasked server-to-client WebSocket frame (FIN, text or binary opcode, no RSV bits: the gateway's
   * WebSocket servers negotiate no extension) for a {@link joined} message.
   */
  webSocketFrame(): Buffer {
    if (this.wsFrame) return this.wsFrame;
    const body = this.body;
    const header = headerLength(body.length);
    const out = Buffer.allocUnsafe(header + body.length);
    writeHeader(out, body.length, this.binary);
    body.copy(out, header);
    return (this.wsFrame = out);
  }

  /** The frame header alone, for a message too large to be joined with its payload. */
  webSocketHeader(): Buffer {
    if (this.wsHeader) return this.wsHeader;
    const out = Buffer.allocUnsafe(headerLength(this.body.length));
    writeHeader(out, this.body.length, this.binary);
    return (this.wsHeader = out);
  }

  /** The bytes that carry the message on a raw TCP connection with `framing`, encoded once per framing. */
  encodedFor(framing: ClientFraming): Buffer {
    if (this.framing === framing) return this.framed!;
    if (this.framing === null) {
      this.framing = framing;
      return (this.framed = framing.encode(this.body));
    }
    const more = (this.moreFramings ??= new Map());
    let bytes = more.get(framing);
    if (!bytes) more.set(framing, (bytes = framing.encode(this.body)));
    return bytes;
  }
}

/** RFC 6455 §5.2: 7-bit length, or 126 + 16-bit, or 127 + 64-bit; a server's frames are not masked. */
function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

function writeHeader(out: Buffer, length: number, binary: boolean): void {
  out[0] = binary ? 0x82 : 0x81;
  if (length < 126) {
    out[1] = length;
  } else if (length < 65536) {
    out[1] = 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
    out.writeUInt32BE(length >>> 0, 6);
  }
}
