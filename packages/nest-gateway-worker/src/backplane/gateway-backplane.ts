import { Logger } from '@nestjs/common';
import type { MembershipIndex } from '../gateway/membership-index';
import type { GatewayBackplaneState } from '../protocol/connection-stats';
import { BackplaneKeys } from './backplane-keys';
import type { ResolvedBackplaneOptions } from './backplane-options';
import { BackplaneWarnings } from './backplane-warnings';
import { Janitor } from './janitor';
import { LeaseKeeper } from './lease-keeper';
import { PresencePublisher, type PresencePublisherStats } from './presence-publisher';
import { closeConnection, openRedisConnection, whenReady, type RedisConnection } from './redis-connection';

/** Longest a graceful stop waits for the backplane to withdraw (lease, notice, purge), in milliseconds. */
export const WITHDRAW_TIMEOUT_MS = 3_000;

/**
 * A gateway's part of the Redis backplane: its discovery lease (LeaseKeeper) and its presence directory entries
 * (PresencePublisher, fed by the membership index), on one Redis connection. The gateway's clients, sends and
 * queries never wait for it: when Redis is down the gateway works as without a backplane, and catches up (resync)
 * when it is back.
 */
export class GatewayBackplane {
  private readonly logger = new Logger('Gateway');
  private readonly warnings: BackplaneWarnings;
  private readonly redis: RedisConnection;
  private readonly publisher: PresencePublisher;
  private readonly keeper: LeaseKeeper;
  readonly janitor: Janitor;

  constructor(
    private readonly options: ResolvedBackplaneOptions,
    private readonly membership: MembershipIndex,
  ) {
    this.warnings = new BackplaneWarnings(this.logger, options);
    this.redis = openRedisConnection(options, 'ngw-gateway', 'Gateway');
    const keys = new BackplaneKeys(options.prefix);
    this.janitor = new Janitor(this.redis, keys);
    this.publisher = new PresencePublisher(this.redis, keys, membership, (what, err) =>
      this.warnings.warn(what, `${what} failed: ${err.message}`),
    );
    this.keeper = new LeaseKeeper(
      this.redis,
      keys,
      this.publisher,
      this.janitor,
      options.leaseMs,
      {
        failed: (what, err) => this.warnings.warn(what, `${what} failed: ${err.message}`),
        changed: (message) => this.logger.log(message),
      },
      options.resyncMs,
    );
  }

  /** The gateway's current id on the backplane ("" before start). */
  get gatewayId(): string {
    return this.keeper.gatewayId;
  }

  /** Whether workers and GatewayClients can find this gateway through Redis now (a live lease). */
  get announced(): boolean {
    return this.keeper.isAnnounced;
  }

  /** What GetGatewayStats reports (the dashboard shows it). */
  state(): GatewayBackplaneState {
    const id = this.keeper.gatewayId;
    const stats = this.publisher.stats;
    return {
      url: this.options.display,
      id,
      epoch: id === '' ? 0 : Number(id.slice(id.lastIndexOf('.') + 1)),
      announced: this.keeper.isAnnounced,
      synced: this.keeper.synced,
      resyncs: stats.resyncs,
      writeFailures: stats.failures,
      leasesLost: this.keeper.leasesLost,
    };
  }

  get stats(): PresencePublisherStats & { leasesLost: number; purged: number } {
    return { ...this.publisher.stats, leasesLost: this.keeper.leasesLost, purged: this.janitor.purged };
  }

  /**
   * Starts publishing membership and announces `address` (waiting a bounded time for Redis: a gateway starts
   * whether or not Redis is reachable, and announces itself once it is).
   */
  async start(address: string): Promise<void> {
    this.warnings.checkTransport();
    this.membership.observer = this.publisher;
    if (!(await whenReady(this.redis))) this.warnings.warn('connect', 'not reachable yet; announcing once it is');
    await this.keeper.start(address);
  }

  /** Graceful stop: withdraws (see LeaseKeeper.withdraw) within WITHDRAW_TIMEOUT_MS, then closes the connection. */
  async withdraw(): Promise<void> {
    this.membership.observer = null;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.keeper.withdraw(),
      new Promise((resolve) => (timer = setTimeout(resolve, WITHDRAW_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    await closeConnection(this.redis);
  }
}
