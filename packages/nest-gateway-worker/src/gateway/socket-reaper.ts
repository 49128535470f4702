import type { ClientSocket } from './client-socket';

/**
 * Closes client sockets gracefully and terminates, after a grace period, those whose peer never completed the
 * close (a dead peer, or one that stopped reading so the close frame sits behind unread bytes). One timer
 * serves every socket waiting, whatever their number: a mass disconnect (heartbeat kicks after a network
 * partition, a connection flood being refused) must not create a timer per connection.
 */
export class SocketReaper {
  /** Sockets waiting, oldest first, with the time (ms) at which to terminate each. */
  private queue: { socket: ClientSocket; at: number }[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** Time a peer has to complete the close, in milliseconds. */
    private readonly graceMs = 1_000,
  ) {}

  /** Sends `code`/`reason` now; terminates the socket after the grace period if it is still not closed. */
  close(socket: ClientSocket, code: number, reason: string): void {
    socket.close(code, reason);
    this.queue.push({ socket, at: Date.now() + this.graceMs });
    this.timer ??= this.arm(this.graceMs);
  }

  /** Terminates everything still waiting and stops the timer (gateway shutdown). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (let i = this.head; i < this.queue.length; i++) this.queue[i].socket.terminate();
    this.queue = [];
    this.head = 0;
  }

  private arm(delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.expire(), Math.max(0, delayMs));
    timer.unref();
    return timer;
  }

  private expire(): void {
    this.timer = null;
    const now = Date.now();
    // Deadlines are in insertion order (one grace period for all), so the due ones are at the front.
    while (this.head < this.queue.length && this.queue[this.head].at <= now) {
      const { socket } = this.queue[this.head++];
      // terminate() of an already closed socket does nothing; no need to track which peers answered.
      socket.terminate();
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else {
      if (this.head > 1024) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.timer = this.arm(this.queue[this.head].at - now);
    }
  }
}
