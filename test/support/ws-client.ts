import { WebSocket, type ClientOptions } from 'ws';

/** A WebSocket test client that records what it receives and can await the next message, bounded in time. */
export class TestClient {
  readonly received: { data: Buffer; binary: boolean }[] = [];
  closeCode: number | null = null;
  /** The close frame's reason ("" when none). */
  closeReason: string | null = null;
  private waiters: (() => void)[] = [];
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, binary: boolean) => {
      this.received.push({ data, binary });
      this.wake();
    });
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
  static open(url: string, headers: Record<string, string> = {}, timeoutMs = 5_000, options: ClientOptions = {}): Promise<TestClient> {
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

  /** Waits until `count` messages in total have arrived; returns them all. */
  async waitForMessages(count: number, timeoutMs = 5_000): Promise<{ data: Buffer; binary: boolean }[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0 || this.closeCode !== null) {
        throw new Error(
          `expected ${count} message(s), got ${this.received.length}` + (this.closeCode !== null ? ` (closed ${this.closeCode})` : ''),
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received.slice(0, count);
  }

  /** The n-th message (0-based) as text, waiting for it. */
  async text(n: number, timeoutMs?: number): Promise<string> {
    const all = await this.waitForMessages(n + 1, timeoutMs);
    return all[n].data.toString('utf8');
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
