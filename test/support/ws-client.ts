import { WebSocket, type ClientOptions } from 'ws';
import { MessageInbox } from './message-inbox';

/** A WebSocket test client that records what it receives and can await the next message, bounded in time. */
export class TestClient extends MessageInbox {
  closeCode: number | null = null;
  /** The close frame's reason ("" when none). */
  closeReason: string | null = null;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    super();
    ws.on('message', (data: Buffer, binary: boolean) => this.deliver({ data, binary }));
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason: Buffer) => {
        this.closeCode = code;
        this.closeReason = reason.toString('utf8');
        this.wake();
        resolve(code);
      }),
    );
    ws.on('error', () => undefined);
  }

  /** `options`: more ws client options, e.g. `{ ca }` for a wss:// gateway with a test certificate. */
  static open(
    url: string,
    headers: Record<string, string> = {},
    timeoutMs = 5_000,
    options: ClientOptions = {},
  ): Promise<TestClient> {
    const ws = new WebSocket(url, { ...options, headers });
    const client = new TestClient(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`could not open ${url} within ${timeoutMs} ms`)), timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(client);
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  send(data: string | Buffer, binary = Buffer.isBuffer(data)): void {
    this.ws.send(data, { binary });
  }

  protected endedReason(): string | null {
    return this.closeCode === null ? null : `closed ${this.closeCode}`;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}
