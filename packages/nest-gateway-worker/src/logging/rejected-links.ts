import type { Logger } from '@nestjs/common';
import { RateLimitedLog } from './rate-limited-log';
import { WARNING_INTERVAL_MS } from './rate-limited-warning';

/**
 * The log of the links a listening side (a gateway's inner port, a register) closes for bad input: not the inner
 * protocol, a wrong secret, a failed record, a malformed frame or request, no hello in time. Anyone who can reach
 * the port can cause them, without knowing the secret, so it is a {@link RateLimitedLog} grouped by the reason's
 * words before any detail ({@link reasonOf}): the first line in full, then one summary per reason and window
 * ("412 more inner link(s) rejected in the last 10 s: peer does not speak the encrypted inner protocol; 413 in all").
 * The lines never hold bytes received nor the secret (the reasons are the link's own words).
 */
export function rejectedLinksLog(
  logger: Pick<Logger, 'warn'>,
  /** What is rejected, plural, in the summary lines: "inner link(s)", "register link(s)". */
  what: string,
  /** Called once per rejected link (a counter in the gateway's stats). */
  counted?: () => void,
  intervalMs = WARNING_INTERVAL_MS,
): RateLimitedLog {
  return new RateLimitedLog(logger, {
    keyOf: reasonOf,
    counted,
    intervalMs,
    more: (n) => `${n} more ${what} rejected for the same reason since the last line`,
    summary: (n, reason, total) =>
      `${n} more ${what} rejected in the last ${Math.round(intervalMs / 1000)} s: ${reason}; ${total} in all`,
  });
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
