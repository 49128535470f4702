import type { Logger } from '@nestjs/common';

/** Default spacing of the lines of one RateLimitedWarning, in milliseconds. */
export const WARNING_INTERVAL_MS = 10_000;

/**
 * A warning that repeats under load (a store that is down, a peer sending bad commands, a router function that
 * throws) logged at most once per interval; the next line says how many were suppressed in between, so the log
 * stays readable without hiding that the problem goes on.
 */
export class RateLimitedWarning {
  private last = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly logger: Pick<Logger, 'warn'>,
    /** Words the count of suppressed warnings, e.g. `(n) => `${n} more store failure(s) since the last warning``. */
    private readonly more: (suppressed: number) => string = (n) => `${n} similar warning(s) suppressed`,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = WARNING_INTERVAL_MS,
  ) {}

  warn(message: string): void {
    const now = this.now();
    if (now - this.last < this.intervalMs) {
      this.suppressed++;
      return;
    }
    const suppressed = this.suppressed;
    this.last = now;
    this.suppressed = 0;
    this.logger.warn(suppressed > 0 ? `${message} (${this.more(suppressed)})` : message);
  }

  /** Warnings suppressed since the last line (not logged yet). */
  get pending(): number {
    return this.suppressed;
  }

  /** Milliseconds until a warning would be logged again (0: now). */
  get quietForMs(): number {
    return Math.max(0, this.last + this.intervalMs - this.now());
  }

  /**
   * The trailing summary: when warnings were suppressed since the last line, logs `summary(count)` and starts a new
   * interval, so a burst that stopped is still counted in the log. Returns whether it logged.
   */
  flush(summary: (suppressed: number) => string): boolean {
    if (this.suppressed === 0) return false;
    const suppressed = this.suppressed;
    this.last = this.now();
    this.suppressed = 0;
    this.logger.warn(summary(suppressed));
    return true;
  }
}
