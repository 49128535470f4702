import { FramingError, type ClientFraming, type FramingDecoder } from './client-framing';
import { MessageParts } from './message-parts';

const HEADER = 4;

/** Options of {@link FrameFraming}. */
export interface FrameFramingOptions {
  /** Forward messages to workers as binary (Buffer) instead of text. Default false, as PHP handles strings. */
  binary?: boolean;
}

/**
 * workerman's Frame protocol: a 4-byte big-endian unsigned length, counting the header itself, then the
 * message. A length below 4 is malformed; the size limit applies to the message without the header and is
 * checked as soon as the header is read, before any of the message is buffered.
 */
export class FrameFraming implements ClientFraming {
  readonly name = 'frame';
  readonly binary: boolean;

  constructor(options: FrameFramingOptions = {}) {
    this.binary = options.binary ?? false;
  }

  createDecoder(maxMessageBytes: number, onMessage: (message: Buffer) => void): FramingDecoder {
    return new LengthPrefixDecoder(maxMessageBytes, onMessage);
  }

  encode(message: Buffer): Buffer {
    const out = Buffer.allocUnsafe(HEADER + message.length);
    out.writeUInt32BE(HEADER + message.length, 0);
    message.copy(out, HEADER);
    return out;
  }
}

class LengthPrefixDecoder implements FramingDecoder {
  /** A header split across chunks (allocated only when that happens). */
  private header: Buffer | null = null;
  private headerFill = 0;
  /** Bytes of the current message still to come; -1 while reading a header. */
  private remaining = -1;
  private readonly pending = new MessageParts();

  constructor(
    private readonly max: number,
    private readonly onMessage: (message: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining < 0) {
        let total: number;
        if (this.headerFill === 0 && chunk.length - at >= HEADER) {
          total = chunk.readUInt32BE(at);
          at += HEADER;
        } else {
          const header = (this.header ??= Buffer.allocUnsafe(HEADER));
          const n = Math.min(HEADER - this.headerFill, chunk.length - at);
          chunk.copy(header, this.headerFill, at, at + n);
          this.headerFill += n;
          at += n;
          if (this.headerFill < HEADER) return;
          this.headerFill = 0;
          total = header.readUInt32BE(0);
        }
        if (total < HEADER) throw new FramingError(`frame length ${total} is smaller than its ${HEADER}-byte header`);
        if (total - HEADER > this.max) throw FramingError.oversize(this.max);
        this.remaining = total - HEADER;
      }
      const n = Math.min(this.remaining, chunk.length - at);
      if (n < this.remaining) {
        this.pending.add(at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n));
        this.remaining -= n;
        return;
      }
      const message = this.pending.take(chunk.subarray(at, at + n));
      at += n;
      this.remaining = -1;
      this.onMessage(message);
    }
  }
}
