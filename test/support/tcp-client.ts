import { connect, type Socket } from 'node:net';
import { MessageInbox } from './message-inbox';

/**
 * A raw TCP test client for the gateway's text:// and frame:// listeners. Its framing is written here by
 * hand from workerman's definitions (not taken from the library under test):
 *  - text: every message ends with "\n";
 *  - frame: a 4-byte big-endian length that counts the header itself, then the message.
 * Records what it receives and can await messages, bounded in time.
 */
export class TcpTestClient extends MessageInbox {
  /** True once the gateway ended or dropped the connection. */
  ended = false;
  readonly closed: Promise<void>;
  private buffered = Buffer.alloc(0);

  private constructor(
    readonly socket: Socket,
    readonly framing: 'text' | 'frame',
  ) {
    super();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      }),
    );
  }

  /** Connects to "text://host:port" or "frame://host:port". */
  static open(url: string, timeoutMs = 15_000): Promise<TcpTestClient> {
    const m = /^(text|frame):\/\/(.+):(\d+)$/.exec(url);
    if (!m) throw new Error(`not a text:// or frame:// URL: ${url}`);
    const socket = connect(Number(m[3]), m[2].replace(/^\[|\]$/g, ''));
    const client = new TcpTestClient(socket, m[1] as 'text' | 'frame');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`could not connect to ${url} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(client);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Sends one message in this client's framing. */
  send(message: string | Buffer): void {
    const body = Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8');
    if (this.framing === 'text') {
      this.socket.write(Buffer.concat([body, Buffer.from('\n')]));
    } else {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(body.length + 4);
      this.socket.write(Buffer.concat([header, body]));
    }
  }

  /** Writes bytes as they are (malformed input, partial frames). */
  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  protected endedReason(): string | null {
    return this.ended ? 'connection ended' : null;
  }

  /** Waits until `count` messages in total have arrived (default bound 15 s); returns them all. */
  override waitForMessages(count: number, timeoutMs = 15_000): ReturnType<MessageInbox['waitForMessages']> {
    return super.waitForMessages(count, timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let data = Buffer.concat([this.buffered, chunk]);
    for (;;) {
      if (this.framing === 'text') {
        const lf = data.indexOf(0x0a);
        if (lf < 0) break;
        this.received.push({ data: data.subarray(0, lf), binary: false });
        data = data.subarray(lf + 1);
      } else {
        if (data.length < 4) break;
        const total = data.readUInt32BE(0);
        if (total < 4) {
          this.socket.destroy(new Error(`malformed frame from the gateway: length ${total}`));
          break;
        }
        if (data.length < total) break;
        this.received.push({ data: data.subarray(4, total), binary: false });
        data = data.subarray(total);
      }
    }
    this.buffered = data;
    this.wake();
  }
}
