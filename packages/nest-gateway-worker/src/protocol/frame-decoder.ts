import { FrameError, HEADER_LENGTH, decodeFrame, decodeFrameAt, u32At, type GatewayFrame } from './frame';

/** Default maximum frame size: 10 MiB, workerman's maxPackageSize. */
export const DEFAULT_MAX_FRAME_SIZE = 10 * 1024 * 1024;

/**
 * Received chunks shorter than this, arriving while a frame is incomplete, are copied into a shared slab instead of
 * being kept as their own Buffer (a Buffer costs ~100 bytes of heap besides its bytes: a 10 MiB frame trickling in
 * 1-byte chunks would otherwise hold ~1.1 GB).
 */
export const COALESCE_BELOW_BYTES = 1024;

/** Size of a slab that small chunks are copied into; a new one is started when the current one is full. */
export const COALESCE_SLAB_BYTES = 16 * 1024;

/**
 * Streaming GatewayProtocol decoder. Accepts any chunking of the byte stream and returns the complete
 * frames found so far. It is total: any input yields frames or a {@link FrameError}, and the size limit is
 * checked as soon as the 4-byte length arrives, before the frame's bytes are buffered.
 * After an error the decoder is poisoned: the caller must close the link. The error carries the frames the same push
 * decoded before the bad one ({@link FrameError.decoded}): whatever the chunking, the frames before the bad one are
 * the same.
 *
 * Frames that lie whole in one received chunk (nearly all of them: a record or a socket read carries many) are
 * decoded in place, reading from an offset: no copy, and no view of the frame or of the chunk's remainder per
 * frame (those views were a few percent of a worker's CPU per echo). Only a frame split across chunks is copied
 * together, once.
 *
 * Memory stays proportional to the bytes held, whatever the chunking: a chunk shorter than
 * {@link COALESCE_BELOW_BYTES} that arrives while bytes are already waiting is appended to a slab of
 * {@link COALESCE_SLAB_BYTES} (one Buffer for many chunks). Frames are never decoded in place from a slab (they are
 * copied out, as a frame split across chunks is), so a frame the application keeps never holds a slab.
 */
export class FrameDecoder {
  /** Received bytes not consumed yet; the first chunk's consumed part ends at {@link offset}. */
  private chunks: Buffer[] = [];
  private offset = 0;
  /** Bytes not consumed yet, all chunks together. */
  private buffered = 0;
  private failed: FrameError | null = null;
  /** The slab small chunks are appended to, its bytes written so far, and where its view in {@link chunks} starts. */
  private slab: Buffer | null = null;
  private slabFill = 0;
  /** Start of the slab's view when that view is the last of {@link chunks}; -1 when it is not there. */
  private slabViewStart = -1;
  /** The slabs' memory, to tell their views apart from received chunks (never decoded in place). */
  private readonly slabs = new WeakSet<ArrayBufferLike>();

  /** @param maxFrameSize largest accepted pack_len in bytes (default 10 MiB). */
  constructor(private readonly maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {}

  /** Feeds bytes; returns every frame completed by them, in order. */
  push(chunk: Buffer): GatewayFrame[] {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return [];
    if (chunk.length < COALESCE_BELOW_BYTES && this.buffered > 0) this.append(chunk);
    else {
      this.chunks.push(chunk);
      this.slabViewStart = -1;
    }
    this.buffered += chunk.length;
    const frames: GatewayFrame[] = [];
    // Whether the first chunk is a received one (decoded in place) or a slab view: asked once per chunk, not once
    // per frame (a WeakSet lookup and the `buffer` getter each time).
    let checked: Buffer | null = null;
    let inPlace = false;
    while (this.buffered >= 4) {
      const packLength = this.peekLength();
      if (packLength < HEADER_LENGTH) {
        throw this.fail(`pack_len ${packLength} is smaller than the ${HEADER_LENGTH}-byte header`, frames);
      }
      if (packLength > this.maxFrameSize) {
        throw this.fail(`pack_len ${packLength} exceeds the maximum frame size of ${this.maxFrameSize} bytes`, frames);
      }
      if (this.buffered < packLength) break;
      const first = this.chunks[0];
      if (first !== checked) {
        checked = first;
        inPlace = !this.slabs.has(first.buffer);
      }
      try {
        if (inPlace && first.length - this.offset >= packLength) {
          frames.push(decodeFrameAt(first, this.offset, packLength));
          this.consume(packLength);
        } else {
          frames.push(decodeFrame(this.take(packLength)));
        }
      } catch (err) {
        throw this.fail((err as Error).message, frames);
      }
    }
    // Nothing waiting: the slab's bytes are all consumed (and copied out), let it go.
    if (this.buffered === 0) this.slab = null;
    return frames;
  }

  /** Bytes held waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Buffers held for those bytes (received chunks and slab views). */
  get pendingBuffers(): number {
    return this.chunks.length;
  }

  /** Copies a small chunk to the end of the current slab (a new one when it has no room), extending its view. */
  private append(chunk: Buffer): void {
    if (this.slab === null || this.slab.length - this.slabFill < chunk.length) {
      this.slab = Buffer.allocUnsafeSlow(COALESCE_SLAB_BYTES);
      this.slabs.add(this.slab.buffer);
      this.slabFill = 0;
      this.slabViewStart = -1;
    }
    chunk.copy(this.slab, this.slabFill);
    this.slabFill += chunk.length;
    // The view is the last chunk unless it was consumed whole meanwhile (then nothing else is held).
    if (this.slabViewStart >= 0 && this.chunks.length > 0) {
      this.chunks[this.chunks.length - 1] = this.slab.subarray(this.slabViewStart, this.slabFill);
    } else {
      this.slabViewStart = this.slabFill - chunk.length;
      this.chunks.push(this.slab.subarray(this.slabViewStart, this.slabFill));
    }
  }

  /** Poisons the decoder; the error thrown now carries the frames of this push before the bad one. */
  private fail(message: string, decoded: GatewayFrame[]): FrameError {
    this.failed = new FrameError(message);
    this.chunks = [];
    this.offset = 0;
    this.buffered = 0;
    this.slab = null;
    this.slabViewStart = -1;
    return new FrameError(message, decoded);
  }

  private peekLength(): number {
    const first = this.chunks[0];
    if (first.length - this.offset >= 4) return u32At(first, this.offset);
    let n = 0;
    let got = 0;
    for (let i = 0; got < 4; i++) {
      const c = this.chunks[i];
      for (let at = i === 0 ? this.offset : 0; at < c.length && got < 4; at++, got++) n = n * 256 + c[at];
    }
    return n;
  }

  /** Drops `n` bytes that lie in the first chunk. */
  private consume(n: number): void {
    this.offset += n;
    this.buffered -= n;
    if (this.offset === this.chunks[0].length) {
      this.chunks.shift();
      this.offset = 0;
    }
  }

  /** Removes and returns exactly `n` buffered bytes that span several chunks (one copy). */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    while (copied < n) {
      const c = this.chunks[0];
      const want = n - copied;
      const available = c.length - this.offset;
      if (available <= want) {
        c.copy(out, copied, this.offset);
        copied += available;
        this.chunks.shift();
        this.offset = 0;
      } else {
        c.copy(out, copied, this.offset, this.offset + want);
        this.offset += want;
        copied += want;
      }
    }
    this.buffered -= n;
    return out;
  }
}
