import { clearTimer, setTimer, type TimerHandle } from './timers.js';

/** A ping goes out when nothing was received for this long (ms). */
export const DEFAULT_LIVENESS_INTERVAL_MS = 15_000;
/** The link is declared dead when nothing arrives this long after a ping (ms). */
export const DEFAULT_LIVENESS_TIMEOUT_MS = 10_000;

export interface LivenessOptions {
  /** Quiet time after which the client pings, in ms (default 15 000). */
  intervalMs?: number;
  /** Time a ping has to be answered (by anything: the pong or any other message), in ms (default 10 000). */
  timeoutMs?: number;
}

/**
 * Watches one open connection: when nothing was received for `intervalMs` it sends a ping, and when nothing arrives
 * within `timeoutMs` of that ping it calls `dead`. Every message counts as an answer, so a busy connection never pings.
 * A dead link (a stopped gateway, a lost network that TCP has not noticed) is found within interval + timeout of the
 * last message.
 *
 * One timer, set for the next moment something is due; a message only records its time. Decisions are made on the
 * clock, not on timer counts: a throttled timer (a browser's background tab) fires late, which delays the decision
 * but never makes a live link look dead, because the deadline runs from the ping, which is sent from the timer.
 */
export class LivenessWatch {
  private lastReceived = 0;
  /** When the unanswered ping went out; null when none is outstanding. */
  private pingSentAt: number | null = null;
  private timer: TimerHandle | null = null;

  constructor(
    readonly intervalMs: number,
    readonly timeoutMs: number,
    private readonly sendPing: () => void,
    private readonly dead: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.lastReceived = this.now();
    this.pingSentAt = null;
    this.schedule(this.intervalMs);
  }

  /** Anything arrived on the connection. */
  received(): void {
    this.lastReceived = this.now();
    this.pingSentAt = null;
  }

  stop(): void {
    clearTimer(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    this.timer = setTimer(() => this.tick(), Math.max(0, ms));
  }

  private tick(): void {
    this.timer = null;
    const now = this.now();
    if (this.pingSentAt !== null) {
      const left = this.pingSentAt + this.timeoutMs - now;
      if (left <= 0) return this.dead();
      return this.schedule(left);
    }
    const quiet = now - this.lastReceived;
    if (quiet < this.intervalMs) return this.schedule(this.intervalMs - quiet);
    this.pingSentAt = now;
    this.sendPing();
    this.schedule(this.timeoutMs);
  }
}

export function checkLivenessOptions(options: LivenessOptions): { intervalMs: number; timeoutMs: number } {
  const intervalMs = options.intervalMs ?? DEFAULT_LIVENESS_INTERVAL_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_LIVENESS_TIMEOUT_MS;
  for (const [name, value] of [
    ['intervalMs', intervalMs],
    ['timeoutMs', timeoutMs],
  ] as const) {
    if (!(Number.isFinite(value) && value > 0))
      throw new RangeError(`liveness.${name} must be a positive number of milliseconds, got ${String(value)}`);
  }
  return { intervalMs, timeoutMs };
}
