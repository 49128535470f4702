import { FrameError, HEADER_LENGTH, decodeFrame, type GatewayFrame } from './frame';

/** Default maximum frame size: 10 MiB, workerman's maxPackageSize. */
export const DEFAULT_MAX_FRAME_SIZE = 10 * 1024 * 1024;

/**
 * Streaming GatewayProtocol decoder. Accepts any chunking of the byte stream and returns the complete
 * frames found so far. It is total: any input yields frames or a {@link FrameError}, and the size limit is
 * checked as soon as the 4-byte length arrives, before the frame's bytes are buffered.
 * After an error the decoder is poisoned: the caller must close the link.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: FrameError | null = null;

  /** @param maxFrameSize largest accepted pack_len in bytes (default 10 MiB). */
  constructor(private readonly maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {}

  /** Feeds bytes; returns every frame completed by them, in order. */
  push(chunk: Buffer): GatewayFrame[] {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: GatewayFrame[] = [];
    while (this.buffered >= 4) {
      const packLength = this.peekLength();
      if (packLength < HEADER_LENGTH) {
        throw this.fail(`pack_len ${packLength} is smaller than the ${HEADER_LENGTH}-byte header`);
      }
      if (packLength > this.maxFrameSize) {
        throw this.fail(`pack_len ${packLength} exceeds the maximum frame size of ${this.maxFrameSize} bytes`);
      }
      if (this.buffered < packLength) break;
      try {
        frames.push(decodeFrame(this.take(packLength)));
      } catch (err) {
        throw this.fail((err as Error).message);
      }
    }
    return frames;
  }

  /** Bytes held waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  private fail(message: string): FrameError {
    this.failed = new FrameError(message);
    this.chunks = [];
    this.buffered = 0;
    return this.failed;
  }

  private peekLength(): number {
    const first = this.chunks[0];
    if (first.length >= 4) return first.readUInt32BE(0);
    const head = Buffer.concat(this.chunks, Math.min(this.buffered, 8)).subarray(0, 4);
    return head.readUInt32BE(0);
  }

  /** Removes and returns exactly `n` buffered bytes (one copy at most). */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    let out: Buffer;
    if (first.length === n) {
      out = first;
      this.chunks.shift();
    } else if (first.length > n) {
      out = first.subarray(0, n);
      this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let copied = 0;
      while (copied < n) {
        const c = this.chunks[0];
        const want = n - copied;
        if (c.length <= want) {
          c.copy(out, copied);
          copied += c.length;
          this.chunks.shift();
        } else {
          c.copy(out, copied, 0, want);
          this.chunks[0] = c.subarray(want);
          copied += want;
        }
      }
    }
    this.buffered -= n;
    return out;
  }
}
