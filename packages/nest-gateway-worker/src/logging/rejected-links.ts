import type { Logger } from '@nestjs/common';
import { RateLimitedWarning, WARNING_INTERVAL_MS } from './rate-limited-warning';

export interface RejectedLinksOptions {
  /** What is rejected, plural, in the summary lines: "inner link(s)", "register link(s)". */
  what: string;
  /** Called once per rejected link (a counter in the gateway's stats). */
  counted?: () => void;
  /** Spacing of the lines of one reason, in milliseconds. Default 10 000 (RateLimitedWarning). */
  intervalMs?: number;
}

/**
 * The warnings of the links a listening side (a gateway's inner port, a register) closes for bad input: not the
 * inner protocol, a wrong secret, a failed record, a malformed frame or request, no hello in time. Anyone who can
 * reach the port can cause them, without knowing the secret, so one per connection would let a scan or a fuzzer
 * fill the disk. Per reason (the reason's words before any detail, see {@link reasonOf}) at most one line per
 * interval: the first one in full, then, if more came, one summary line at the end of the interval with their count
 * ("412 more inner link(s) rejected in the last 10 s: peer does not speak the encrypted inner protocol; 413 in all").
 * Every rejection is counted ({@link total}, {@link counts}); the lines never hold bytes received nor the secret
 * (the reasons are the link's own words).
 */
export class RejectedLinks {
  private readonly reasons = new Map<string, { warning: RateLimitedWarning; count: number }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly intervalMs: number;
  /** Links rejected since this process started. */
  total = 0;

  constructor(
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly options: RejectedLinksOptions,
  ) {
    this.intervalMs = options.intervalMs ?? WARNING_INTERVAL_MS;
  }

  /** A link was closed for `reason`; `line` is its full warning (logged unless this reason was logged lately). */
  reject(reason: string, line: string): void {
    this.total++;
    this.options.counted?.();
    const key = reasonOf(reason);
    let entry = this.reasons.get(key);
    if (!entry) {
      entry = {
        warning: new RateLimitedWarning(this.logger, undefined, Date.now, this.intervalMs),
        count: 0,
      };
      this.reasons.set(key, entry);
    }
    entry.count++;
    const before = entry.warning.pending;
    entry.warning.warn(line);
    // The first one suppressed in this interval: say how many at its end, in case the burst stops meanwhile.
    if (before === 0 && entry.warning.pending === 1) this.summarizeLater(key, entry);
  }

  /** Rejections per reason since this process started. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, entry] of this.reasons) out[key] = entry.count;
    return out;
  }

  /** Drops the pending summaries (the listener is closing). */
  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private summarizeLater(key: string, entry: { warning: RateLimitedWarning; count: number }): void {
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        entry.warning.flush(
          (n) =>
            `${n} more ${this.options.what} rejected in the last ${Math.round(this.intervalMs / 1000)} s: ${key}; ${entry.count} in all`,
        );
      },
      Math.max(1, entry.warning.quietForMs),
    );
    timer.unref();
    this.timers.add(timer);
  }
}

/**
 * The reason of a rejection without its details, what the lines are grouped by: the words before the first ":", "("
 * or ",", with record numbers left out ("peer does not speak the encrypted inner protocol", "bad request",
 * "record failed authentication").
 */
export function reasonOf(reason: string): string {
  return reason
    .split(/[:(,]/)[0]
    .replace(/\s*#\d+/g, '')
    .trim();
}
