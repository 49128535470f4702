import type { Logger } from '@nestjs/common';
import { RateLimitedWarning } from '../logging/rate-limited-warning';

/** Most distinct error texts kept apart; more share one line (a Cluster names many nodes). */
const MAX_TEXTS = 16;
const OTHER = '\0other';

/**
 * The connection errors of one process role's backplane connections (a worker or GatewayClient has up to four:
 * commands, notices, and the directory cache's two), logged together: one line per distinct error text at most
 * once per 10 s, whichever connection saw it (Redis down made each connection log the same `connect ECONNREFUSED`
 * line, four lines every 10 s), and one line when every connection that failed is ready again, saying for how long
 * and how many errors (before, nothing said Redis was back). Lines name the Redis by its display URL, never its
 * password.
 */
export class ConnectionErrorLog {
  private readonly byText = new Map<string, RateLimitedWarning>();
  /** The connections that failed and are not ready again. */
  private readonly down = new Set<object>();
  private downSince = 0;
  private errors = 0;
  private lastProbe = -Infinity;

  constructor(
    private readonly logger: Pick<Logger, 'warn' | 'log'>,
    /** The Redis as displayed (no password). */
    private readonly display: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** `connection` reported an error (ioredis: a failed connection or reconnection attempt); `text` says why. */
  error(connection: object, text: string): void {
    if (this.down.size === 0) {
      this.downSince = this.now();
      this.errors = 0;
    }
    this.down.add(connection);
    this.errors++;
    this.limiter(text).warn(`backplane Redis ${this.display}: ${text}`);
  }

  /**
   * What a handshake of our own found out about a failing connection (TLS): logged like an error text (once per 10 s
   * per text), not counted as an error.
   */
  explain(text: string): void {
    this.limiter(text).warn(`backplane Redis ${this.display}: ${text}`);
  }

  /**
   * Whether a TLS handshake of our own may run now to explain an error ({@link explain}): at most once per
   * `intervalMs` for all of the connections sharing this log (a worker's four would each run one otherwise).
   */
  probeDue(intervalMs: number): boolean {
    const now = this.now();
    if (now - this.lastProbe < intervalMs) return false;
    this.lastProbe = now;
    return true;
  }

  /** `connection` is ready (connected, logged in): after errors, the last one of them back logs one line. */
  ready(connection: object): void {
    if (!this.down.delete(connection) || this.down.size > 0) return;
    const seconds = Math.round((this.now() - this.downSince) / 100) / 10;
    this.logger.log(
      `backplane Redis ${this.display}: connected again after ${seconds} s (${this.errors} connection error(s))`,
    );
  }

  /** `connection` was closed on purpose (a stop, or a connection reopened by a heartbeat): it is no longer awaited. */
  forget(connection: object): void {
    this.down.delete(connection);
  }

  private limiter(text: string): RateLimitedWarning {
    const key = this.byText.has(text) || this.byText.size < MAX_TEXTS ? text : OTHER;
    let warning = this.byText.get(key);
    if (!warning) {
      warning = new RateLimitedWarning(
        this.logger,
        (n) => `${n} more Redis connection error(s) since the last warning`,
        this.now,
      );
      this.byText.set(key, warning);
    }
    return warning;
  }
}
