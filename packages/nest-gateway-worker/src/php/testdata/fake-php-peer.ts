import { connect, type Socket } from 'node:net';
import { Cmd } from '../../protocol/command';
import { encodeFrame, frame, type GatewayFrame } from '../../protocol/frame';
import { FrameDecoder } from '../../protocol/frame-decoder';
import { PhpReplyDecoder } from '../php-reply';

/**
 * A PHP GatewayWorker peer played in TypeScript from the captured vectors, for specs: a plain TCP connection to a
 * gateway's inner port that writes PHP's bytes and reads what a PHP peer would read: frames (a BusinessWorker's
 * link) or `u32 length + payload` replies (a GatewayClient's). Every read is bounded in time.
 */
export class FakePhpPeer {
  private readonly frameDecoder = new FrameDecoder();
  private readonly replyDecoder = new PhpReplyDecoder();
  private readonly frames: GatewayFrame[] = [];
  private readonly replies: Buffer[] = [];
  private waiter: (() => void) | null = null;
  /** Set once the gateway closed (or reset) the connection. */
  closed = false;
  readonly whenClosed: Promise<void>;

  private constructor(
    readonly socket: Socket,
    /** What the gateway sends this peer: events (a worker) or replies (a GatewayClient). */
    readonly reads: 'frames' | 'replies',
  ) {
    socket.on('data', (chunk: Buffer) => {
      if (reads === 'frames') this.frames.push(...this.frameDecoder.push(chunk));
      else this.replies.push(...this.replyDecoder.push(chunk));
      this.wake();
    });
    socket.on('error', () => undefined);
    this.whenClosed = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
  }

  /** Connects to `address` ("host:port"); resolves once connected. */
  static async connect(address: string, reads: 'frames' | 'replies'): Promise<FakePhpPeer> {
    const colon = address.lastIndexOf(':');
    const socket = connect(Number(address.slice(colon + 1)), address.slice(0, colon));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new FakePhpPeer(socket, reads);
  }

  /** Writes bytes as they are (one vector, or several concatenated as PHP writes auth + request). */
  write(...parts: Buffer[]): void {
    this.socket.write(Buffer.concat(parts));
  }

  /** Writes one frame built from fields (PHP's header: zeros where a worker or client leaves them). */
  send(fields: Partial<GatewayFrame> & { cmd: Cmd }): void {
    this.socket.write(encodeFrame(frame(fields)));
  }

  /** The next frame the gateway sent (waiting at most `timeoutMs`). */
  nextFrame(timeoutMs = 5_000): Promise<GatewayFrame> {
    return this.next(this.frames, timeoutMs);
  }

  /** The next reply payload (without its length prefix). */
  nextReply(timeoutMs = 5_000): Promise<Buffer> {
    return this.next(this.replies, timeoutMs);
  }

  /** Frames received and not read yet. */
  get unreadFrames(): readonly GatewayFrame[] {
    return this.frames;
  }

  /** Waits until the gateway closed the connection; false if it did not within `timeoutMs`. */
  async closedWithin(timeoutMs = 5_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      this.whenClosed.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return result;
  }

  close(): void {
    this.socket.destroy();
  }

  private async next<T>(queue: T[], timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (queue.length === 0) {
      if (this.closed) throw new Error('the gateway closed the connection');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`nothing received within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return queue.shift()!;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}
