import { StreamDecoderError } from './php-errors';

/**
 * PHP GatewayWorker's replies to requests (reference/php-gatewayworker-spec.md §2.3): not frames, but
 * `u32 BE payload length` + payload, the payload a serialize() string (for CMD 203 the stored session string itself).
 * They come back in request order on the connection the requests came on.
 */
export function encodePhpReply(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

/** Default largest reply payload accepted from a PHP gateway: 10 MiB, workerman's maxPackageSize. */
export const DEFAULT_MAX_PHP_REPLY_SIZE = 10 * 1024 * 1024;

/**
 * Streaming decoder of PHP replies on a requester's connection: any chunking in, payloads out (in order). Total: a
 * length above the limit is refused as soon as its 4 bytes arrive, and poisons the decoder (the caller closes).
 */
export class PhpReplyDecoder {
  private buffered: Buffer = Buffer.alloc(0);
  private failed: StreamDecoderError | null = null;

  constructor(private readonly maxPayload = DEFAULT_MAX_PHP_REPLY_SIZE) {}

  push(chunk: Buffer): Buffer[] {
    if (this.failed) throw this.failed;
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const out: Buffer[] = [];
    while (this.buffered.length >= 4) {
      const length = this.buffered.readUInt32BE(0);
      if (length > this.maxPayload) {
        this.failed = new StreamDecoderError(`reply of ${length} bytes exceeds the limit of ${this.maxPayload}`);
        this.buffered = Buffer.alloc(0);
        throw this.failed;
      }
      if (this.buffered.length < 4 + length) break;
      // A copy: the payload outlives the chunk it came in.
      out.push(Buffer.from(this.buffered.subarray(4, 4 + length)));
      this.buffered = this.buffered.subarray(4 + length);
    }
    return out;
  }
}
