import type { Logger } from '@nestjs/common';
import { RateLimitedWarning } from '../logging/rate-limited-warning';
import type { ResolvedBackplaneOptions } from './backplane-options';
import { isLoopbackHost, isLoopbackUrl } from './backplane-url';

/**
 * The backplane's repeating warnings (Redis down, writes failing, fallbacks to the mesh), at most one line per kind
 * every 10 s with the count of those suppressed. Lines name the Redis by its display URL, never its password.
 */
export class BackplaneWarnings {
  private readonly byKind = new Map<string, RateLimitedWarning>();

  constructor(
    private readonly logger: Logger,
    private readonly options: ResolvedBackplaneOptions,
  ) {}

  warn(kind: string, message: string): void {
    let warning = this.byKind.get(kind);
    if (!warning) {
      warning = new RateLimitedWarning(this.logger, (n) => `${n} more since the last warning`);
      this.byKind.set(kind, warning);
    }
    warning.warn(`backplane ${this.options.display}: ${message}`);
  }

  /** At start: plain redis:// (or redis+sentinel://, redis+cluster://) to another host sends uids, groups and sessions unencrypted. */
  checkTransport(): void {
    const t = this.options.topology;
    const plainRemote =
      t === null
        ? false
        : t.mode === 'standalone'
          ? t.url.startsWith('redis://') && !isLoopbackUrl(t.url)
          : !t.tls && (t.mode === 'sentinel' ? t.sentinels : t.nodes).some((e) => !isLoopbackHost(e.host));
    if (plainRemote) {
      this.logger.warn(
        `backplane ${this.options.display}: plain redis:// to a non-loopback host; use rediss:// (TLS) and an ACL user in production`,
      );
    }
  }
}
