import type { Logger } from '@nestjs/common';
import { RateLimitedLog } from './rate-limited-log';
import { WARNING_INTERVAL_MS } from './rate-limited-warning';

/** Why the gateway closed a client in a way worth a warning; each reason is rate-limited on its own. */
export type ClientCloseWarningReason = 'oversize' | 'malformed' | 'slow consumer' | 'pending full';

/** The log of client closes by reason: {@link RateLimitedLog.warn} with a {@link ClientCloseWarningReason}. */
export interface ClientCloseWarnings extends RateLimitedLog {
  warn(reason: ClientCloseWarningReason, line: string): void;
}

/**
 * The warnings a client can cause by what it sends or fails to read (an oversize or malformed message, a slow
 * consumer, a full pending queue): anyone who can connect can trigger them by the thousand, so it is a
 * {@link RateLimitedLog} per reason: the first line in full, then one summary per reason and window ("312 more
 * client(s) closed in the last 10 s: slow consumer; 313 in all"). The gateway's counters count every one.
 */
export function clientCloseWarnings(
  logger: Pick<Logger, 'warn'>,
  intervalMs = WARNING_INTERVAL_MS,
): ClientCloseWarnings {
  return new RateLimitedLog(logger, {
    intervalMs,
    more: (n) => `${n} more for the same reason since the last line`,
    summary: (n, reason, total) =>
      `${n} more client(s) closed in the last ${Math.round(intervalMs / 1000)} s: ${reason}; ${total} in all`,
  });
}
