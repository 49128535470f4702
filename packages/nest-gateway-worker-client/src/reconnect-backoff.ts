/** The first reconnect comes after half this to this (ms). */
export const DEFAULT_INITIAL_DELAY_MS = 1_000;
/** The ceiling doubles with each failed attempt up to this (ms). */
export const DEFAULT_MAX_DELAY_MS = 30_000;

export interface BackoffOptions {
  /** Ceiling of the first delay, in ms (default 1000): the first delay is drawn between half of it and it. */
  initialDelayMs?: number;
  /** Largest ceiling, in ms (default 30 000). */
  maxDelayMs?: number;
  /** A number in [0, 1) (default Math.random): the jitter. */
  random?: () => number;
}

/**
 * Exponential backoff with jitter, as the server's links use it: the n-th delay after a connection was lost is drawn
 * uniformly between half the ceiling and the ceiling, the ceiling being `initialDelayMs · 2^(n-1)` capped at
 * `maxDelayMs`. With the defaults: 0.5-1 s, 1-2 s, 2-4 s, 4-8 s, 8-16 s, then 15-30 s for every later attempt. A
 * connection that opens starts the next outage over ({@link reset}). The jitter keeps the clients a gateway restart
 * disconnected together from coming back in step.
 */
export class ReconnectBackoff {
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;
  private failures = 0;

  constructor(options: BackoffOptions = {}) {
    this.initialDelayMs = positive(options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS, 'initialDelayMs');
    this.maxDelayMs = Math.max(this.initialDelayMs, positive(options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS, 'maxDelayMs'));
    this.random = options.random ?? Math.random;
  }

  /** Delays handed out since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** The ceiling of the next delay. */
  get ceiling(): number {
    // 2^30 times any positive delay is past any maxDelayMs: the exponent stops growing there.
    return Math.min(this.initialDelayMs * 2 ** Math.min(this.failures, 30), this.maxDelayMs);
  }

  /** The next delay, in whole ms. */
  next(): number {
    const ceiling = this.ceiling;
    this.failures++;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  reset(): void {
    this.failures = 0;
  }
}

function positive(value: number, name: string): number {
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
    throw new RangeError(`reconnect.${name} must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}
