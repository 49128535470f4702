/** Ceiling of the first reconnect delay, in milliseconds: the first retry comes after 0.5 to 1 s. */
export const DEFAULT_FIRST_RECONNECT_DELAY_MS = 1_000;
/** Largest ceiling a reconnect delay grows to, in milliseconds (unless the first one is already larger). */
export const DEFAULT_MAX_RECONNECT_DELAY_MS = 30_000;

export interface ReconnectBackoffOptions {
  /** Ceiling of the first delay, in milliseconds (`reconnectDelayMs`). Default 1 000. */
  firstDelayMs?: number;
  /** Largest ceiling, in milliseconds. Default 30 000, or `firstDelayMs` when that is larger. */
  maxDelayMs?: number;
  /** A uniform random number in [0, 1). Default Math.random; tests pass a fixed sequence. */
  random?: () => number;
}

/**
 * The delays between attempts to reopen one lost link (to a gateway or to a register): exponential with equal
 * jitter. The ceiling starts at `firstDelayMs` and doubles after every failed attempt up to `maxDelayMs`; each
 * delay is drawn between half the ceiling and the ceiling. So the first retry stays quick (a restart heals in about
 * a second), a long outage costs the peer one attempt per 15 to 30 s from each process instead of one per second,
 * and processes that lost the same peer at the same moment spread their attempts instead of retrying in step (the
 * thundering herd a fixed delay produces after a register or gateway restart). The half-ceiling floor keeps a
 * refused connection from being retried in a tight loop, which full jitter (0 to the ceiling) would allow.
 *
 * One instance per link; {@link reset} after a successful handshake, so the next outage starts quick again.
 */
export class ReconnectBackoff {
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  private readonly random: () => number;
  private ceiling: number;

  constructor(options: ReconnectBackoffOptions = {}) {
    this.firstDelayMs = options.firstDelayMs ?? DEFAULT_FIRST_RECONNECT_DELAY_MS;
    this.maxDelayMs = Math.max(options.maxDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS, this.firstDelayMs);
    this.random = options.random ?? Math.random;
    this.ceiling = this.firstDelayMs;
  }

  /** The delay before the next attempt, in whole milliseconds; each call counts one more failed attempt. */
  nextDelayMs(): number {
    const ceiling = this.ceiling;
    this.ceiling = Math.min(ceiling * 2, this.maxDelayMs);
    return Math.round(ceiling / 2 + (ceiling / 2) * this.random());
  }

  /** The link opened: the next outage starts again from the first delay. */
  reset(): void {
    this.ceiling = this.firstDelayMs;
  }

  /** How the policy reads in a log line: "backing off from 1 s up to 30 s". */
  describe(): string {
    return `backing off from ${duration(this.firstDelayMs)} up to ${duration(this.maxDelayMs)}`;
  }
}

/** "250 ms", "1 s", "1.5 s". */
function duration(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
