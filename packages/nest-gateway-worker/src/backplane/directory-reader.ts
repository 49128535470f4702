import type { BackplaneKeys } from './backplane-keys';
import type { BackplaneWarnings } from './backplane-warnings';
import { clusterPrimaries, onPrimariesChanged, samePrimaries } from './cluster-primaries';
import { serverIdOf } from './gateway-lease';
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

/** What the caller's leases were read on: GatewayWatch (see {@link DirectoryReader}). */
export interface LeaseView {
  /**
   * The run_id of the Redis the leases were read on (on a Cluster, the run_ids of its primaries: clusterServerId;
   * undefined from an older view); null: none read yet, or not known for them (no lease that names a server vouches
   * for its gateway then).
   */
  readonly viewServer: string | undefined | null;
}

/**
 * Reads the presence directory (`HKEYS` of each uid's or group's hash, pipelined) within a budget. A read that
 * fails, or takes longer than the budget, answers null: the caller goes to the full mesh. It is counted and logged
 * (at most once per 10 s), and for {@link DIRECTORY_BREAKER_OPEN_MS} afterwards no read is tried, so a hung
 * Redis costs each call nothing and piles up no commands.
 *
 * With a `view` (the leases the caller combines the answers with), it also answers null unless its connection is
 * known to be on the server those leases were read on, when the read is sent and when its answer comes, with no
 * reconnection between: after a Sentinel failover, a connection may reach the new primary (which may miss the last
 * entries) while discovery still shows the old primary's leases, all synced there; such an answer would skip a
 * gateway that has not rewritten its entries yet. On a Redis Cluster the server is the set of primaries (their run_ids):
 * after a failover there (a SIGKILLed primary, or a TAKEOVER that leaves it up as a replica) the promoted replica may
 * miss entries while the leases, read before or on another node, still say synced; the connection's primaries are
 * checked again when the answer comes (a MOVED redirect makes a replica a primary of the pool at once).
 */
export class DirectoryReader {
  private openUntil = 0;
  /** The run_id of the server this connection reaches (on a Cluster: its primaries'); null: not known (yet). */
  private server: string | null = null;
  /** On a Cluster: the primaries' connections `server` was learnt from (the answer of another one is not used). */
  private serverPrimaries: readonly unknown[] = [];
  /** Counts the connection's closes: what was learnt or sent before one may concern another server. */
  private connection = 0;
  /** The connection (count) whose server is being asked; -1: none. */
  private asking = -1;
  readonly stats: DirectoryReadStats = { reads: 0, fallbacks: 0 };

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: BackplaneKeys,
    private readonly budgetMs: number,
    private readonly warnings: BackplaneWarnings,
    private readonly view: LeaseView | null = null,
    private readonly now: () => number = Date.now,
  ) {
    if (view === null) return;
    const lost = () => {
      this.connection++;
      this.server = null;
    };
    redis.on('close', lost);
    redis.on('end', lost);
    redis.on('ready', () => this.learnServer());
    if (redis.isCluster === true)
      onPrimariesChanged(redis, () => {
        lost();
        this.learnServer();
      });
  }

  /**
   * Whether an answer read now may be combined with the view's leases: no view, no leases read yet (none vouches for
   * a gateway: every one is included whatever the answer says), or this connection is known to be on the server they
   * were read on. (DirectoryTracking asks it before answering from its cache.)
   */
  get inView(): boolean {
    if (this.view === null || this.view.viewServer === null) return true;
    if (this.server === null || this.server !== this.view.viewServer) return false;
    return this.redis.isCluster !== true || samePrimaries(this.serverPrimaries, clusterPrimaries(this.redis));
  }

  /** For each name, the gateway ids whose field names it; null when the directory cannot answer. */
  async gatewaysOf(kind: 'uid' | 'group', names: readonly string[]): Promise<string[][] | null> {
    if (this.now() < this.openUntil) return this.fallback('a recent read failed');
    if (this.redis.status !== 'ready') return this.fallback(`Redis connection ${this.redis.status}`);
    const connection = this.connection;
    if (!this.inView) return this.outOfView();
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
      // Sent again on a new connection after a reconnection (ioredis resends what was unanswered): perhaps another
      // server, answering before the view could tell.
      if (connection !== this.connection)
        return this.fallback(
          this.redis.isCluster === true
            ? "the Redis Cluster's primaries changed while the read was in flight"
            : 'the directory connection reconnected while the read was in flight',
        );
      if (!this.inView) return this.outOfView();
      this.stats.reads++;
      return out;
    } catch (err) {
      return this.open((err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  /** This connection's server is not known, or is not the one the view's leases were read on. */
  private outOfView(): null {
    if (this.server === null) {
      this.learnServer();
      return this.fallback('which Redis server the directory connection reaches is not known yet');
    }
    return this.fallback('discovery has not read the gateway leases on the Redis server the directory is read on yet');
  }

  /**
   * Asks the connection's server (INFO run_id; on a Cluster each primary's), once at a time; kept until the connection
   * closes (on a Cluster, or its primaries change).
   */
  private learnServer(): void {
    const connection = this.connection;
    if (this.asking === connection || this.redis.status !== 'ready') return;
    this.asking = connection;
    const primaries = clusterPrimaries(this.redis);
    serverIdOf(this.redis)
      .then((server) => {
        if (connection !== this.connection) return;
        this.server = server;
        this.serverPrimaries = primaries;
      })
      .catch(() => undefined) // asked again by the next read
      .finally(() => {
        if (this.asking === connection) this.asking = -1;
      });
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
