import { TestClient } from './ws-client';

/**
 * Steady load on the example worker's echo handler: every client sends numbered text messages ("c<i>:<n>") at
 * a fixed interval, and the test compares what each client sent with what came back.
 */
export class EchoLoad {
  readonly sent: string[][];
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly clients: TestClient[]) {
    this.sent = clients.map(() => []);
  }

  static async open(url: string, count: number): Promise<EchoLoad> {
    return new EchoLoad(await Promise.all(Array.from({ length: count }, () => TestClient.open(url, {}, 15_000))));
  }

  /** One timer for all clients: each tick sends the next message of every client that is still open. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      for (const [i, c] of this.clients.entries()) {
        if (c.closeCode !== null) continue;
        const message = `c${i}:${this.sent[i].length}`;
        this.sent[i].push(message);
        c.send(message);
      }
    }, intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  get totalSent(): number {
    return this.sent.reduce((n, s) => n + s.length, 0);
  }

  /** What client i received, as text. */
  received(i: number): string[] {
    return this.clients[i].received.map((r) => r.data.toString('utf8'));
  }

  /** Waits until every message sent has come back at least once (bounded); throws naming what is missing. */
  async waitForAllEchoes(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = this.sent.flatMap((sent, i) => {
        const got = new Set(this.received(i));
        return sent.filter((m) => !got.has(m));
      });
      if (missing.length === 0) return;
      const closed = this.clients.filter((c) => c.closeCode !== null).length;
      if (Date.now() > deadline || closed > 0) {
        throw new Error(
          `${missing.length} of ${this.totalSent} message(s) never came back (e.g. ${missing.slice(0, 5).join(', ')}); ` +
            `${closed} client(s) closed`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Per client: received messages that were already received before (at-least-once redelivery). */
  duplicates(): number {
    let n = 0;
    for (let i = 0; i < this.clients.length; i++) {
      const seen = new Set<string>();
      for (const m of this.received(i)) {
        if (seen.has(m)) n++;
        seen.add(m);
      }
    }
    return n;
  }

  /** Per client: the received messages with repeats removed (first occurrences, in arrival order). */
  firstOccurrences(i: number): string[] {
    return [...new Set(this.received(i))];
  }

  close(): void {
    this.stop();
    for (const c of this.clients) c.close();
  }
}
