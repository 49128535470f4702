import type { Logger } from '@nestjs/common';
import { RateLimitedWarning } from './rate-limited-warning';

/** Why the gateway closed a client in a way worth a warning; each reason is rate-limited on its own. */
export type ClientCloseWarningReason = 'oversize' | 'malformed' | 'slow consumer' | 'pending full';

/**
 * The warnings a client can cause by what it sends or fails to read (an oversize or malformed message, a slow
 * consumer, a full pending queue): anyone who can connect can trigger them by the thousand, so each reason logs at
 * most one line per 10 s, the next one saying how many were suppressed. The counters count every one.
 */
export class ClientCloseWarnings {
  private readonly byReason = new Map<ClientCloseWarningReason, RateLimitedWarning>();

  constructor(private readonly logger: Pick<Logger, 'warn'>) {}

  warn(reason: ClientCloseWarningReason, message: string): void {
    let warning = this.byReason.get(reason);
    if (!warning) {
      warning = new RateLimitedWarning(this.logger, (n) => `${n} more for the same reason since the last line`);
      this.byReason.set(reason, warning);
    }
    warning.warn(message);
  }
}
