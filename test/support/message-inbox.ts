/** One message a test client received. */
export interface ReceivedMessage {
  data: Buffer;
  binary: boolean;
}

/**
 * What every test client (WebSocket, raw TCP) records: the messages it received, awaitable with a time bound.
 * Subclasses call `deliver` for each message and `wake` when the connection ends, and say in `endedReason`
 * why no more messages can come.
 */
export abstract class MessageInbox {
  readonly received: ReceivedMessage[] = [];
  private waiters: (() => void)[] = [];

  /** Null while the connection is open, else a few words for error messages ("closed 1000"). */
  protected abstract endedReason(): string | null;

  protected deliver(message: ReceivedMessage): void {
    this.received.push(message);
    this.wake();
  }

  protected wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `count` messages in total have arrived; returns them all. */
  async waitForMessages(count: number, timeoutMs = 5_000): Promise<ReceivedMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      const ended = this.endedReason();
      if (left <= 0 || ended !== null) {
        throw new Error(
          `expected ${count} message(s), got ${this.received.length}` + (ended !== null ? ` (${ended})` : ''),
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

  /**
   * Waits (bounded) until `find`, looking at what has arrived, returns something, and returns it. Fails as soon as
   * the connection ends without it, or after `timeoutMs`, naming `what`, why, and every message received.
   */
  async waitUntilReceived<T>(find: () => T | undefined, what: string, timeoutMs = 5_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      const ended = this.endedReason();
      if (left <= 0 || ended !== null) {
        const received = this.received.map((m) =>
          m.binary ? `bin:${m.data.toString('hex')}` : m.data.toString('utf8'),
        );
        throw new Error(
          `${what}: not received (${ended ?? `${timeoutMs} ms passed`}); received:\n${received.join('\n')}`,
        );
      }
      await this.waitForMessages(this.received.length + 1, left).catch(() => undefined); // the loop reports why
    }
  }

  /** The n-th message (0-based) as text, waiting for it. */
  async text(n: number, timeoutMs?: number): Promise<string> {
    const all = await this.waitForMessages(n + 1, timeoutMs);
    return all[n].data.toString('utf8');
  }
}
