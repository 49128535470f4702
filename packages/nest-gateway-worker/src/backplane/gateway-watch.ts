import { EventEmitter } from 'node:events';
import type { GatewayListSource } from '../client/gateway-directory';
import type { BackplaneKeys } from './backplane-keys';
import type { BackplaneWarnings } from './backplane-warnings';
import { onPrimariesChanged } from './cluster-primaries';
import { ConnectionHeartbeat } from './connection-heartbeat';
import { addressOfGatewayId, parseLease, serverIdOf, type GatewayLease } from './gateway-lease';
import type { Janitor } from './janitor';
import type { RedisConnection } from './redis-connection';

/** How often workers and GatewayClients re-read the gateway list besides the notices (pub/sub is lossy), in ms. */
export const DISCOVERY_POLL_INTERVAL_MS = 5_000;
/** Notices within this delay are answered by one read, in milliseconds. */
export const DISCOVERY_NOTICE_DELAY_MS = 10;

/**
 * Discovery through the backplane, for workers and GatewayClients: the gateways with a live lease. It reads the
 * list (`SMEMBERS gws` + `MGET` of their leases) at start, on every "up"/"down"/"sync" notice (pub/sub, on its own
 * connection, kept alive by a ConnectionHeartbeat: a subscriber cut off silently is reopened and subscribed again
 * within seconds) and every {@link DISCOVERY_POLL_INTERVAL_MS}, and emits `addresses` like a RegisterClient, so the
 * link pool is the same. While Redis is unreachable it keeps the last list (running traffic must not stop).
 * Listed gateways without a lease go to the janitor. It also keeps the leases themselves, which targeting needs:
 * which gateway ids are alive, and which addresses are in sync.
 */
export class GatewayWatch extends EventEmitter implements GatewayListSource {
  /** Live gateway ids and their leases. */
  private live = new Map<string, GatewayLease>();
  /** Addresses with a live lease that says synced. */
  private synced = new Set<string>();
  /** Addresses whose gateway withdrew ("bye", a graceful stop) and has no live lease since. */
  private readonly withdrawn = new Set<string>();
  private emitted: string | null = null;
  private poll: NodeJS.Timeout | null = null;
  private notice: NodeJS.Timeout | null = null;
  private reading: Promise<void> | null = null;
  private again = false;
  private running = false;
  /**
   * The run_id of the Redis read now (see GatewayLease.server; on a Cluster its primaries'); null: to be asked (after
   * each connection, and on a Cluster each change of its primaries), or not known for the read in progress.
   */
  private server: string | null = null;
  /** The run_id of the Redis the current leases (and so `isSynced`) were read on; null: none read yet. */
  private leasesServer: string | undefined | null = null;
  /** Reads of the list that succeeded (tests and logs). */
  reads = 0;
  /** Notices received on the subscriber connection (tests and logs). */
  notices = 0;
  /** PINGs the subscriber connection, which otherwise never waits for an answer (see ConnectionHeartbeat). */
  readonly heartbeat: ConnectionHeartbeat;

  constructor(
    readonly name: string,
    private readonly redis: RedisConnection,
    private readonly subscriber: RedisConnection,
    private readonly keys: BackplaneKeys,
    private readonly janitor: Janitor,
    private readonly warnings: BackplaneWarnings,
  ) {
    super();
    subscriber.on('message', (channel, message) => {
      if (channel !== this.keys.events) return;
      this.notices++;
      if (message.startsWith('bye ')) this.withdrawn.add(addressOfGatewayId(message.slice(4)));
      this.readSoon();
    });
    // (Re)subscribe on every connection: a Redis that restarted has forgotten the subscription.
    subscriber.on('ready', () => {
      if (this.running)
        this.subscriber.subscribe(this.keys.events).catch((err: Error) => this.warnings.warn('subscribe', err.message));
    });
    redis.on('ready', () => {
      // Perhaps another server (a failover): leases rewritten on the one before no longer vouch for their entries.
      this.server = null;
      this.readSoon();
    });
    if (redis.isCluster === true) {
      redis.on('-node', () => this.readSoon());
      // A failover there (a primary's slots served by its replica, which may have missed the last writes) need not
      // remove a node from the pool: the leases vouch only for entries on the primaries their gateway synced on.
      onPrimariesChanged(redis, () => {
        this.server = null;
        this.readSoon();
      });
    }
    // Not on a Cluster: ioredis subscribes there on a connection of its own, which a PING through the client does not
    // reach. There the poll is the bound for discovery, and ioredis moves the subscription when that connection ends
    // (a node killed: at once) or its node leaves the slot map (a stopped node failed over: 6-9 s with a 2 s
    // cluster-node-timeout); a node cut off from this process alone keeps it until TCP gives up
    // (test/backplane-cluster-subscriber.e2e-spec.ts, README "Redis backplane").
    this.heartbeat = new ConnectionHeartbeat(
      subscriber,
      (ms) => this.warnings.warn('subscribe', `the notice subscriber did not answer a PING for ${ms} ms; reopening it`),
      () => subscriber.isCluster !== true,
    );
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.subscriber.status === 'ready')
      this.subscriber.subscribe(this.keys.events).catch((err: Error) => this.warnings.warn('subscribe', err.message));
    this.poll = setInterval(() => this.readSoon(), DISCOVERY_POLL_INTERVAL_MS);
    this.poll.unref();
    this.heartbeat.start();
    this.readSoon();
  }

  stop(): void {
    this.running = false;
    this.heartbeat.stop();
    if (this.poll) clearInterval(this.poll);
    if (this.notice) clearTimeout(this.notice);
    this.poll = this.notice = null;
  }

  /** The lease of a live gateway id, or undefined. */
  leaseOf(gatewayId: string): GatewayLease | undefined {
    return this.live.get(gatewayId);
  }

  /**
   * Whether a live lease of the gateway at `address` says its directory entries are in sync, on the Redis this
   * process reads now (after a Sentinel failover, only once the gateway rewrote them on the new primary).
   */
  isSynced(address: string): boolean {
    return this.synced.has(address);
  }

  /**
   * The Redis server (run_id; on a Cluster its primaries': clusterServerId) the leases behind {@link isSynced} were
   * read on; null before the first read (or for a read during which the connection came back or the Cluster's
   * primaries changed, or one did not answer: then only leases that name no server, from older versions on one
   * server, count as synced). After a failover it stays the old primary's until discovery has read the leases on the new one:
   * a directory answer from another server must not be combined with them (DirectoryReader checks).
   */
  get viewServer(): string | undefined | null {
    return this.leasesServer;
  }

  /** Whether the gateway at `address` withdrew (a graceful stop) and has not announced itself since. */
  isWithdrawn(address: string): boolean {
    return this.withdrawn.has(address);
  }

  /** Reads the list soon (notices in a burst are one read); a read in progress is followed by one more. */
  readSoon(): void {
    if (!this.running || this.notice) return;
    this.notice = setTimeout(() => {
      this.notice = null;
      void this.read();
    }, DISCOVERY_NOTICE_DELAY_MS);
    this.notice.unref();
  }

  /** One read of the list; resolves when done (failures are logged, the last list is kept). */
  read(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.readOnce()
      .catch((err: Error) => this.warnings.warn('discovery', `reading the gateway list failed: ${err.message}`))
      .finally(() => {
        this.reading = null;
        if (this.again && this.running) {
          this.again = false;
          void this.read();
        }
      });
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    if (this.server === null) {
      try {
        this.server = await serverIdOf(this.redis);
      } catch (err) {
        // A Cluster primary not answering: the list is read all the same (it lives on one node), and no lease vouches
        // for its gateway this time (every one is included); asked again on the next read.
        if (this.redis.isCluster !== true) throw err;
      }
    }
    const asked = this.server;
    const ids = await this.redis.smembers(this.keys.gateways);
    const values = ids.length > 0 ? await this.redis.mget(...ids.map((id) => this.keys.lease(id))) : [];
    // Reconnected (or, on a Cluster, other primaries) meanwhile: the leases vouch for nothing against what was asked.
    const server = asked === this.server ? asked : null;
    const live = new Map<string, GatewayLease>();
    const synced = new Set<string>();
    const dead: string[] = [];
    ids.forEach((id, i) => {
      const lease = parseLease(values[i]);
      if (lease) {
        live.set(id, lease);
        // A lease that names no server (an older version) counts on one server, never on a Cluster.
        if (lease.synced && (lease.server === undefined ? this.redis.isCluster !== true : lease.server === server))
          synced.add(lease.address);
      } else if (values[i] === null) dead.push(id);
    });
    this.live = live;
    this.synced = synced;
    this.leasesServer = server;
    for (const lease of live.values()) this.withdrawn.delete(lease.address);
    this.reads++;
    const addresses = [...new Set([...live.values()].map((l) => l.address))].sort();
    const key = addresses.join(',');
    if (key !== this.emitted) {
      this.emitted = key;
      this.emit('addresses', addresses);
    }
    // In the background: a large purge must not hold up the next read of the list.
    for (const id of dead) {
      void this.janitor.purge(id).catch((err: Error) => this.warnings.warn('janitor', `purge failed: ${err.message}`));
    }
  }
}
