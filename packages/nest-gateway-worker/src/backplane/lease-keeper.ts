import type { BackplaneKeys } from './backplane-keys';
import { onPrimariesChanged } from './cluster-primaries';
import { encodeLease, gatewayIdOf, newBootId, serverIdOf, type GatewayLease } from './gateway-lease';
import type { Janitor } from './janitor';
import type { PresencePublisher } from './presence-publisher';
import type { RedisConnection } from './redis-connection';

/**
 * Retired ids remembered for deletion at once (see LeaseKeeper): one per lease lost without a resync completing in
 * between; older ones are left to the janitor.
 */
export const RETIRED_IDS_MAX = 8;

/** What the lease keeper reports (the gateway logs it, rate-limited). */
export interface LeaseKeeperEvents {
  failed(what: string, err: Error): void;
  /** A notable change, for the log: announced, lease lost, resynced. */
  changed(message: string): void;
}

/**
 * A gateway's discovery lease and the resyncs of its directory entries:
 *  - announce: `SADD gws <id>`, `SET lease <json synced:false> PX leaseMs`, `PUBLISH up <id>`; then a full resync
 *    of its entries, then `synced:true` and `PUBLISH sync <id>`. Until then senders treat it as unknown and include it.
 *    Until Redis was reached the first time nothing is tried (there is no lease to renew); the connection's 'ready'
 *    announces, and a failed announcement is retried every third of the lease and reported as "announcing failed".
 *  - every third of the lease: `SET lease … PX leaseMs XX`. If that finds no lease (it expired: Redis was cut off
 *    or restarted empty), the gateway announces again under a new id (epoch + 1) and rewrites everything there;
 *    the old id is left to the janitor, so a janitor purging it can never delete entries the gateway writes now.
 *    The same when an announcement failed after writing its lease and is retried half a lease later or more.
 *  - when its last renewal is a whole lease old, it stops writing (its lease may be gone: self-fencing).
 *    Renewals failing (Redis down) are reported once, when the first fails, with one line when it stops writing and
 *    one when renewals resume ("after N s (M missed)"): not one line per renewal (every 10 s before, rate-limited).
 *  - when the connection to Redis comes back, and every `resyncMs` (the safety resync; 0 = never), a resync with
 *    cleanup.
 *    When it came back to another server (its run_id changed: a Sentinel failover promoted a replica that may have
 *    missed the last writes, or a restart), or a Cluster node left the pool or the Cluster's primaries changed (a
 *    failover moved slots to a replica; the lease names the primaries' run_ids: clusterServerId), that is
 *    treated as "Redis may have lost data": the lease is rewritten with `synced:false` and an "up" notice first
 *    (senders include the gateway as unknown, i.e. reach it whatever the directory says), then everything is
 *    rewritten, then `synced:true` with the new server's run_id.
 *  - on every renewal it also looks for listed gateways without a lease and hands them to the janitor.
 *  - a resync runs beside the renewals, never in their way: on a Cluster its writes go to every node, and while one
 *    fails over they wait (up to a command timeout each) while the lease's node answers. A renewal that waited for
 *    them lost the lease in every failover of test/backplane-cluster.e2e-spec.ts (a 1.5 s lease, 2 s command
 *    timeout), and with it the gateway's id. A resync says `synced:true` only if nothing suggested a loss since it
 *    began and the id is still the one it wrote under; otherwise another one follows.
 *  - ids given up (a lost lease, a failed announcement) are retired: the next resync under the new id deletes their
 *    fields beside every entry it writes. A janitor purging a retired id while the gateway's last writes under it
 *    were still landing (a resync that outlived the lease) removes the ownership entries of fields written just after
 *    it, which no janitor can then find; the gateway knows what it held, and deletes them itself.
 *  - withdraw (graceful stop): deletes its lease, publishes "bye", and purges its own entries and list entry.
 */
export class LeaseKeeper {
  private lease: GatewayLease | null = null;
  private id = '';
  private announced = false;
  private needsResync = true;
  private cleanupOnResync = false;
  private lastRenewedAt = 0;
  private lastResyncAt = 0;
  /** The id whose entries were last rewritten: a resync under it again also deletes what it no longer holds. */
  private resyncedId = '';
  /** Whether the server's identity is to be checked on the next renewal (after every connection). */
  private checkServer = true;
  /** Whether the next renewal announces again (synced:false, "up") before the resync: data may have been lost. */
  private reannounce = false;
  /**
   * When an announcement that has not completed last wrote the lease under the current id (0: none). If it failed
   * after that (its listing may have been written too) and the retry comes half a lease later or more, that lease may
   * be gone, and a janitor may be purging the id: the retry takes a new epoch.
   */
  private leaseWrittenAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;
  /**
   * When the renewals started failing (0: they do not): only the first failure of a run is reported, and the first
   * renewal after it says how long it lasted and how many renewals were missed (Redis down logged one line every
   * 10 s, beside the connection's own errors).
   */
  private failingSince = 0;
  /** Renewals that failed since `failingSince`. */
  private missed = 0;
  /** Lease losses (re-announcements under a new id). */
  leasesLost = 0;
  /** The resync in progress (beside the renewals), or null. */
  private resyncing: Promise<void> | null = null;
  /** The look for dead gateways in progress (beside the renewals), or null. */
  private sweeping: Promise<void> | null = null;
  /**
   * Bumped whenever a resync is asked for because Redis may have lost or missed writes: a resync that began before
   * a bump does not say synced (the next one does).
   */
  private generation = 0;
  /** Whether a suspected loss was logged and its resync has not completed yet (one line per loss, not per event). */
  private lossLogged = false;
  /** Ids given up whose fields the next resync deletes (see the class comment), oldest first. */
  private retired: string[] = [];

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: BackplaneKeys,
    private readonly publisher: PresencePublisher,
    private readonly janitor: Janitor,
    private readonly leaseMs: number,
    private readonly events: LeaseKeeperEvents,
    /** Interval of the safety resync (rewrite everything, delete what is no longer held), in ms; 0 = never. */
    private readonly resyncMs: number,
  ) {
    redis.on('ready', () => {
      // Back after a disconnection (or a first connection): whatever Redis holds now may be older than us.
      if (this.lease === null || this.stopped) return;
      this.requestResync();
      this.checkServer = true;
      this.tickSoon();
    });
    if (redis.isCluster === true) {
      redis.on('-node', () => {
        // A node left the pool (failover, resharding): its replica may have missed the last writes.
        if (this.lease === null || this.stopped) return;
        this.suspectLoss('a Redis Cluster node left');
        this.tickSoon();
      });
      // Other primaries (a failover, also one that leaves the old primary up as a replica: no node leaves): the
      // servers this lease names change, and whether data was lost is decided as after a Sentinel failover.
      onPrimariesChanged(redis, () => {
        if (this.lease === null || this.stopped) return;
        this.checkServer = true;
        this.tickSoon();
      });
    }
  }

  /** Redis may have lost some of this gateway's writes: announce again (synced:false), then rewrite everything. */
  private suspectLoss(why: string): void {
    // ioredis emits '-node' several times in one failover (3 to 5 lines per failover in the Cluster test before).
    if (!this.lossLogged && this.announced) this.events.changed(`backplane: ${why}; rewriting the directory entries`);
    this.lossLogged = this.announced;
    this.reannounce = true;
    this.requestResync();
    if (this.lease) this.lease.synced = false;
  }

  /** Everything is to be rewritten, with cleanup; a resync already under way does not count as that one. */
  private requestResync(): void {
    this.needsResync = true;
    this.cleanupOnResync = true;
    this.generation++;
  }

  /** `old` is given up for a new id: its fields go with the next resync (at most RETIRED_IDS_MAX remembered). */
  private retire(old: string): void {
    this.retired.push(old);
    if (this.retired.length > RETIRED_IDS_MAX) this.retired.shift();
  }

  /** The current gateway id ("" before start). */
  get gatewayId(): string {
    return this.id;
  }

  /** Whether the lease says synced (the entries were rewritten under the current id). */
  get synced(): boolean {
    return this.lease?.synced === true;
  }

  /** Whether the gateway is announced now: its lease was written or renewed less than a lease ago. */
  get isAnnounced(): boolean {
    return this.announced && !this.stopped && Date.now() - this.lastRenewedAt < this.leaseMs;
  }

  /** Starts announcing `address`; resolves after the first attempt (which may fail: it is retried on each renewal). */
  async start(address: string): Promise<void> {
    this.lease = { address, boot: newBootId(), epoch: 0, startedAt: Date.now(), synced: false };
    this.id = gatewayIdOf(this.lease);
    await this.tick();
    // The first resync too, as before resyncs ran beside the renewals ("announced on the backplane as …").
    await this.resyncing;
  }

  /**
   * Graceful stop, before the gateway closes its clients: no more writes, the lease deleted, the gateway removed
   * from the list with a "bye" notice (senders drop it at once), and its entries purged. Errors are reported;
   * the caller bounds the time.
   */
  async withdraw(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.publisher.stop();
    await this.ticking;
    await this.resyncing;
    await this.sweeping;
    if (!this.announced) return;
    const id = this.id;
    try {
      await this.redis.del(this.keys.lease(id));
      // "bye": senders drop the gateway at once (also from the linked gateways they still call while they cannot
      // see them), before its entries are purged.
      await this.redis.publish(this.keys.events, `bye ${id}`);
      await this.janitor.purge(id);
    } catch (err) {
      this.events.failed('withdrawing the lease', err as Error);
    }
  }

  private tickSoon(delayMs = 0): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  /**
   * One renewal (or announcement), which starts a resync if one is due and a look for dead gateways; then the next
   * one is scheduled.
   */
  private async tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    const announced = this.announced;
    const startedAt = Date.now();
    this.ticking = this.renew()
      .then(() => {
        if (this.failingSince === 0 || !this.announced) return;
        const seconds = Math.round((Date.now() - this.failingSince) / 100) / 10;
        this.events.changed(`backplane lease renewals resumed after ${seconds} s (${this.missed} missed)`);
        this.failingSince = 0;
      })
      .catch((err: Error) => {
        if (!announced) {
          // Before the first announcement succeeded there is no lease to renew: what failed is the announcement
          // (tried only when connected: each attempt is worth a line, rate-limited).
          this.events.failed('announcing', commandError(err, this.redis));
        } else if (this.failingSince === 0) {
          this.failingSince = Date.now();
          this.missed = 0;
          this.events.failed(
            'renewing the lease',
            new Error(
              `${commandError(err, this.redis).message}; retried every ${Math.max(1, Math.floor(this.leaseMs / 3))} ms, ` +
                'logged again when it succeeds',
            ),
          );
        }
        if (announced) this.missed++;
        // A whole lease without a renewal: the lease may be gone, and a janitor may purge this id any time.
        if (Date.now() - this.lastRenewedAt >= this.leaseMs && this.publisher.attachedId !== null) {
          this.publisher.detach();
          if (announced)
            this.events.changed(
              `backplane lease not renewed for ${this.leaseMs} ms (a whole lease): directory writes paused until a renewal succeeds`,
            );
        }
      })
      .finally(() => {
        this.ticking = null;
        // A third of a lease after this tick's renewal was sent, not after the tick: a renewal whose answer waited
        // (see renew) does not push the next one later. After a failed one, a third of a lease from now.
        const period = Math.max(1, Math.floor(this.leaseMs / 3));
        const renewed = this.lastRenewedAt >= startedAt && this.announced;
        this.tickSoon(renewed ? Math.min(period, Math.max(1, this.lastRenewedAt + period - Date.now())) : period);
      });
    return this.ticking;
  }

  private async renew(): Promise<void> {
    const lease = this.lease!;
    if (this.stopped) return;
    // Never announced and not connected: nothing to renew, and nothing to try (every command would fail at once,
    // without an offline queue). The connection's 'ready' announces; its errors say why Redis is not reachable.
    if (!this.announced && this.redis.status !== 'ready') return;
    if (this.checkServer) {
      let server: string | undefined;
      try {
        server = await serverIdOf(this.redis);
      } catch (err) {
        // A Cluster primary not answering: the lease keeps naming the servers it was synced on (a reader that sees
        // others does not trust it), and they are asked again on the next renewal.
        if (this.redis.isCluster !== true) throw err;
      }
      if (server !== undefined) {
        this.checkServer = false;
        // Announced without knowing them (a Cluster primary did not answer): the entries may be on others.
        if (lease.server !== undefined ? lease.server !== server : this.announced)
          this.suspectLoss(
            this.redis.isCluster === true
              ? 'the Redis Cluster primaries changed (failover or restart)'
              : 'connected to another Redis primary than before (failover or restart)',
          );
        lease.server = server;
      }
    }
    // A renewal counts from when it was sent: Redis applies it then or later, so the lease runs at least that long.
    // Its answer can come much later: up to 1.06 s on a Cluster failing over (test/backplane-cluster.e2e-spec.ts;
    // likely ioredis's automatic pipeline, which answers its commands together, not traced further).
    const sentAt = Date.now();
    if (!this.announced) {
      await this.announce();
    } else if (
      (await this.redis.set(this.keys.lease(this.id), encodeLease(lease), 'PX', this.leaseMs, 'XX')) === null
    ) {
      // The lease expired: announce again under a new id; the old one is the janitor's.
      const old = this.id;
      this.publisher.detach();
      this.leasesLost++;
      this.retire(old);
      lease.epoch++;
      lease.synced = false;
      this.id = gatewayIdOf(lease);
      this.leaseWrittenAt = 0; // nothing written under the new id yet
      this.events.changed(`backplane lease ${old} was lost; announcing again as ${this.id}`);
      await this.announce();
      void this.janitor.purge(old).catch(() => undefined);
    } else {
      this.lastRenewedAt = sentAt;
      // Idempotent, and heals a listing a janitor removed (it purges listed ids it finds without a lease).
      await this.redis.sadd(this.keys.gateways, this.id);
      if (this.reannounce) {
        // Readers re-read the list now, and see synced:false until the resync below is done.
        await this.redis.publish(this.keys.events, `up ${this.id}`);
        this.reannounce = false;
      }
    }
    const periodic =
      this.resyncMs > 0 &&
      !this.needsResync &&
      this.lastResyncAt > 0 &&
      Date.now() - this.lastResyncAt >= this.resyncMs;
    if (periodic) this.requestResync();
    if ((this.needsResync || this.publisher.attachedId !== this.id) && this.resyncing === null)
      this.resyncing = this.beside('rewriting the directory entries', this.resync(periodic), () => {
        this.resyncing = null;
      });
    // Its reads may wait as long as a resync's writes.
    if (this.sweeping === null)
      this.sweeping = this.beside('looking for dead gateways', this.sweep(), () => {
        this.sweeping = null;
      });
  }

  /**
   * `work`, run beside the renewals: a failure is reported as `what` (the next renewal starts it again), and `done`
   * runs when it ends either way.
   */
  private beside(what: string, work: Promise<void>, done: () => void): Promise<void> {
    return work.catch((err: Error) => this.events.failed(what, commandError(err, this.redis))).finally(done);
  }

  private async announce(): Promise<void> {
    const lease = this.lease!;
    lease.synced = false;
    if (this.leaseWrittenAt > 0 && Date.now() - this.leaseWrittenAt >= this.leaseMs / 2) {
      // An earlier attempt under this id wrote its lease (and perhaps its listing: a reply lost as Redis went away)
      // and failed, and that lease may have expired since: a janitor that found it so may still be purging this id,
      // and would delete the entries about to be rewritten under it. A new id is never purged by it.
      const old = this.id;
      this.retire(old);
      lease.epoch++;
      this.id = gatewayIdOf(lease);
      this.leaseWrittenAt = 0;
      this.events.changed(
        `backplane announcement as ${old} failed after its lease was written; announcing as ${this.id}`,
      );
      void this.janitor.purge(old).catch(() => undefined);
    }
    // The lease before the listing: another gateway's janitor purges a listed id it finds without a lease, and
    // would take this one for dead between the two writes (seen once: a gateway unlisted after Redis restarted).
    const sentAt = Date.now();
    await this.redis.set(this.keys.lease(this.id), encodeLease(lease), 'PX', this.leaseMs);
    this.leaseWrittenAt = sentAt;
    await this.redis.sadd(this.keys.gateways, this.id);
    this.lastRenewedAt = sentAt;
    this.announced = true;
    this.requestResync();
    this.leaseWrittenAt = 0;
    await this.redis.publish(this.keys.events, `up ${this.id}`);
    this.reannounce = false;
  }

  /** Rewrites every entry under the current id, then says synced in the lease (logged unless `quiet`). */
  private async resync(quiet: boolean): Promise<void> {
    const lease = this.lease!;
    const id = this.id;
    const generation = this.generation;
    const retired = [...this.retired];
    const first = this.lastResyncAt === 0;
    // Under an id written before (re-attached after a fence, reconnected, periodic), entries of uids and groups
    // that left meanwhile must go too; a fresh id has none.
    await this.publisher.resync(id, this.cleanupOnResync || this.resyncedId === id, retired);
    this.resyncedId = id;
    this.retired = this.retired.filter((r) => !retired.includes(r));
    if (this.stopped) return;
    // Fenced while it ran (no renewal for a whole lease): it attached the publisher; the renewals decide.
    if (Date.now() - this.lastRenewedAt >= this.leaseMs) return this.publisher.detach();
    // Lost, or a loss suspected, while it ran: another resync follows at once (needsResync is still true).
    if (this.superseded(id, generation)) return this.tickSoon();
    lease.synced = true;
    const sentAt = Date.now();
    if ((await this.redis.set(this.keys.lease(id), encodeLease(lease), 'PX', this.leaseMs, 'XX')) === null) {
      // Lost meanwhile: the next tick announces again.
      if (id === this.id) lease.synced = false;
      return this.tickSoon();
    }
    if (this.superseded(id, generation)) return this.tickSoon();
    this.lastRenewedAt = Math.max(this.lastRenewedAt, sentAt);
    this.needsResync = false;
    this.cleanupOnResync = false;
    this.lossLogged = false;
    this.lastResyncAt = Date.now();
    await this.redis.publish(this.keys.events, `sync ${id}`);
    if (!quiet)
      this.events.changed(
        first ? `announced on the backplane as ${id}` : `backplane directory entries of ${id} rewritten`,
      );
  }

  /**
   * Whether a resync under `id` that began at `generation` no longer counts. When the id was given up meanwhile (a
   * lost lease), the publisher it attached to that id is detached again: nothing more is written under a retired id
   * (the next resync, under the new one, attaches it there).
   */
  private superseded(id: string, generation: number): boolean {
    if (id !== this.id) this.publisher.detach();
    return id !== this.id || generation !== this.generation;
  }

  /** Listed gateways without a lease go to the janitor. */
  private async sweep(): Promise<void> {
    const ids = await this.redis.smembers(this.keys.gateways);
    if (ids.length === 0) return;
    const leases = await this.redis.mget(...ids.map((id) => this.keys.lease(id)));
    for (let i = 0; i < ids.length; i++) {
      // In the background: a large purge must not delay the next renewal.
      if (leases[i] === null && ids[i] !== this.id)
        void this.janitor.purge(ids[i]).catch((err: Error) => this.events.failed('purging a dead gateway', err));
    }
  }
}

/**
 * A command's error as reported: ioredis's "Stream isn't writeable and enableOfflineQueue options is false" (a
 * command sent while the connection is down) says what it means.
 */
function commandError(err: Error, redis: RedisConnection): Error {
  if (redis.status !== 'ready' && /enableOfflineQueue|Connection is closed/.test(err.message))
    return new Error(`not connected to Redis (${redis.status})`);
  return err;
}
