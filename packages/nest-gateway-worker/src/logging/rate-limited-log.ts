import type { Logger } from '@nestjs/common';
import { RateLimitedWarning, WARNING_INTERVAL_MS } from './rate-limited-warning';

export interface RateLimitedLogOptions {
  /**
   * The trailing summary of a window that closed with suppressed lines, e.g. `(n, reason, total) => `${n} more
   * inner link(s) rejected in the last 10 s: ${reason}; ${total} in all``. `reason` is the key (see keyOf), `total`
   * the count of this reason since the log was made.
   */
  summary: (suppressed: number, reason: string, total: number) => string;
  /**
   * Words the count held back when a line of the reason comes before its summary was logged (the summary timer
   * was late), appended in parentheses. Default: "n more for the same reason since the last line".
   */
  more?: (suppressed: number, reason: string) => string;
  /** The key lines are grouped by, from the reason given to {@link RateLimitedLog.warn}. Default: the reason. */
  keyOf?: (reason: string) => string;
  /** Called once per warning, logged or not (a counter in some stats). */
  counted?: () => void;
  /** Length of a window, in milliseconds. Default {@link WARNING_INTERVAL_MS}. */
  intervalMs?: number;
  /** Clock of the windows (tests). Default Date.now. */
  now?: () => number;
}

interface ReasonEntry {
  readonly warning: RateLimitedWarning;
  count: number;
}

/**
 * A log of warnings that a stranger can cause by the thousand (links rejected for bad input, clients closed for what
 * they sent or failed to read, bad commands), rate-limited per reason: the first line of a reason in full, then
 * nothing more for that reason until the window (10 s) closes; if lines were held back, one summary line at the end
 * of the window with their count, and the next window starts then. So a flood costs one line per reason per window,
 * and a burst that stopped is still counted in the log. Every warning is counted ({@link total}, {@link counts}).
 * The lines are the caller's: they must not hold secrets nor message bodies.
 */
export class RateLimitedLog {
  private readonly reasons = new Map<string, ReasonEntry>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly intervalMs: number;
  private readonly now: () => number;
  /** Warnings since this log was made, logged or not. */
  total = 0;

  constructor(
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly options: RateLimitedLogOptions,
  ) {
    this.intervalMs = options.intervalMs ?? WARNING_INTERVAL_MS;
    this.now = options.now ?? Date.now;
  }

  /** A warning for `reason`; `line` is its full text, logged unless this reason was logged in the current window. */
  warn(reason: string, line: string): void {
    this.total++;
    this.options.counted?.();
    const key = this.options.keyOf ? this.options.keyOf(reason) : reason;
    let entry = this.reasons.get(key);
    if (!entry) {
      entry = {
        warning: new RateLimitedWarning(
          this.logger,
          (n) => (this.options.more ? this.options.more(n, key) : `${n} more for the same reason since the last line`),
          this.now,
          this.intervalMs,
        ),
        count: 0,
      };
      this.reasons.set(key, entry);
    }
    entry.count++;
    const before = entry.warning.pending;
    entry.warning.warn(line);
    // The first one held back in this window: say how many at its end, in case the burst stops meanwhile.
    if (before === 0 && entry.warning.pending === 1) this.summarizeLater(key, entry);
  }

  /** Warnings per reason (key) since this log was made. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, entry] of this.reasons) out[key] = entry.count;
    return out;
  }

  /** Drops the pending summaries (the owner is closing). */
  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private summarizeLater(key: string, entry: ReasonEntry): void {
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        entry.warning.flush((n) => this.options.summary(n, key, entry.count));
      },
      Math.max(1, entry.warning.quietForMs),
    );
    timer.unref();
    this.timers.add(timer);
  }
}
