import type { BackplaneKeys } from './backplane-keys';
import type { BackplaneWarnings } from './backplane-warnings';
import { RedisBatch } from './redis-batch';
import type { RedisConnection } from './redis-connection';

/**
 * After a directory read failed or ran over its budget, reads are not tried for this long (the calls go to
 * the full mesh at once instead of each waiting for the budget), in milliseconds; then one read tries again.
 */
export const DIRECTORY_BREAKER_OPEN_MS = 1_000;

/** Counters of one client's directory reads. */
export interface DirectoryReadStats {
  /** Reads that answered within the budget. */
  reads: number;
  /** Calls sent to the full mesh because the directory could not answer (failed, over budget, Redis down). */
  fallbacks: number;
}

/**
 * Reads the presence directory (`HKEYS` of each uid's or group's hash, pipelined) within a budget. A read that
 * fails, or takes longer than the budget, answers null: the caller goes to the full mesh. It is counted and logged
 * (at most once per 10 s), and for {@link DIRECTORY_BREAKER_OPEN_MS} afterwards no read is tried, so a hung
 * Redis costs each call nothing and piles up no commands.
 */
export class DirectoryReader {
  private openUntil = 0;
  readonly stats: DirectoryReadStats = { reads: 0, fallbacks: 0 };

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: BackplaneKeys,
    private readonly budgetMs: number,
    private readonly warnings: BackplaneWarnings,
    private readonly now: () => number = Date.now,
  ) {}

  /** For each name, the gateway ids whose field names it; null when the directory cannot answer. */
  async gatewaysOf(kind: 'uid' | 'group', names: readonly string[]): Promise<string[][] | null> {
    if (this.now() < this.openUntil) return this.fallback('a recent read failed');
    if (this.redis.status !== 'ready') return this.fallback(`Redis connection ${this.redis.status}`);
    // One pipeline, or one per node on a Cluster.
    const batch = new RedisBatch(this.redis);
    for (const name of names) batch.add('hkeys', kind === 'uid' ? this.keys.uid(name) : this.keys.group(name));
    let timer: NodeJS.Timeout | undefined;
    const overBudget = new Promise<'over budget'>(
      (resolve) => (timer = setTimeout(resolve, this.budgetMs, 'over budget')),
    );
    try {
      const results = await Promise.race([batch.exec(), overBudget]);
      if (results === 'over budget') return this.open(`no answer within ${this.budgetMs} ms`);
      const out: string[][] = [];
      for (const [err, value] of results) {
        if (err) return this.open(err.message);
        out.push(value as string[]);
      }
      this.stats.reads++;
      return out;
    } catch (err) {
      return this.open((err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  private open(reason: string): null {
    this.openUntil = this.now() + DIRECTORY_BREAKER_OPEN_MS;
    return this.fallback(reason);
  }

  private fallback(reason: string): null {
    this.stats.fallbacks++;
    this.warnings.warn('fallback', `directory read skipped (${reason}); calls go to every gateway`);
    return null;
  }
}
