/**
 * Deadlines by which accepted client sockets must have finished their handshake (the WebSocket upgrade, or the
 * first bytes of a raw TCP client), with one timer for all of them: every socket gets the same timeout, so the
 * deadlines are in accept order and only the oldest ones are ever due. A sweep hands each due socket to
 * `expired`, which decides (the handshake may be long done, or the socket gone); nothing is removed early, so a
 * handshake that completes costs nothing here. Sweeps are at least `minSweepMs` apart: a flood of accepts makes
 * a few sweeps, not one timer callback per socket.
 */
export class HandshakeDeadlines<T> {
  /** Sockets waiting, oldest first, and their deadlines (epoch ms); `head` is the first not yet handed over. */
  private items: (T | undefined)[] = [];
  private dueAt: number[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** Time from accept to deadline, in milliseconds. */
    readonly timeoutMs: number,
    /** Called once per socket when its deadline has passed. */
    private readonly expired: (item: T) => void,
    private readonly minSweepMs = Math.min(100, timeoutMs),
  ) {}

  /** Sockets whose deadline has not been handled yet. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** A socket accepted now: `expired(item)` is called once its deadline has passed. */
  track(item: T): void {
    this.items.push(item);
    this.dueAt.push(Date.now() + this.timeoutMs);
    this.timer ??= this.arm(this.timeoutMs);
  }

  /** Forgets every deadline and stops the timer (gateway shutdown). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.items = [];
    this.dueAt = [];
    this.head = 0;
  }

  private arm(delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.sweep(), Math.max(this.minSweepMs, delayMs));
    timer.unref();
    return timer;
  }

  private sweep(): void {
    this.timer = null;
    const now = Date.now();
    while (this.head < this.items.length && this.dueAt[this.head] <= now) {
      const item = this.items[this.head] as T;
      this.items[this.head++] = undefined;
      this.expired(item);
    }
    if (this.head === this.items.length) {
      this.items = [];
      this.dueAt = [];
      this.head = 0;
      return;
    }
    if (this.head > 1024) {
      this.items = this.items.slice(this.head);
      this.dueAt = this.dueAt.slice(this.head);
      this.head = 0;
    }
    this.timer = this.arm(this.dueAt[this.head] - now);
  }
}
