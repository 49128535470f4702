/**
 * How a raw TCP listener cuts a byte stream into client messages and frames the messages it sends back.
 * `text` and `frame` (workerman's Text and Frame protocols) are built in; a custom framing implements this
 * interface and is registered through `GatewayOptions.framings` under its `name`, which then works as the
 * scheme of a listener URL (`myproto://0.0.0.0:7300`).
 */
export interface ClientFraming {
  /** The URL scheme it serves: lower case, e.g. "text". Also the handshake's `protocol`. */
  readonly name: string;
  /**
   * How decoded messages reach the worker: false = as text (handlers get a string; JSON with a `type` is
   * routed to `@OnClientMessage(type)`), true = as binary (handlers get a Buffer).
   */
  readonly binary: boolean;
  /**
   * A decoder for one connection, created when its first bytes arrive. It calls `onMessage` for every
   * complete message, in order, and must throw a {@link FramingError} as soon as a message would exceed
   * `maxMessageBytes`, before buffering its bytes.
   */
  createDecoder(maxMessageBytes: number, onMessage: (message: Buffer) => void): FramingDecoder;
  /** The bytes that carry one outgoing message on the wire. */
  encode(message: Buffer): Buffer;
}

/** The per-connection, streaming half of a {@link ClientFraming}. */
export interface FramingDecoder {
  /**
   * Takes the next received bytes (split anywhere). Throws {@link FramingError} when the stream cannot be
   * decoded or a message is too big; the connection is then closed and nothing else is affected.
   */
  push(chunk: Buffer): void;
}

/** A stream that is not valid for its framing; closes that one connection. */
export class FramingError extends Error {
  override name = 'FramingError';

  constructor(
    message: string,
    /** True when the cause is a message above the size limit (counted as an oversize disconnect). */
    readonly oversize = false,
  ) {
    super(message);
  }

  static oversize(limit: number): FramingError {
    return new FramingError(`message too big (limit ${limit} bytes)`, true);
  }
}
