import type { MembershipIndex, MembershipObserver } from '../gateway/membership-index';
import type { BackplaneKeys } from './backplane-keys';
import { throwFirstError } from './janitor';
import { RedisBatch } from './redis-batch';
import type { RedisConnection } from './redis-connection';

/**
 * Delay between a membership change and the write that publishes it, in milliseconds: changes within it are
 * coalesced (a uid bound and unbound in a burst costs one write of its final count).
 */
export const PRESENCE_FLUSH_DELAY_MS = 20;
/** Uids or groups written per pipeline. */
export const PRESENCE_BATCH = 1_000;
/** Delay before writing again after a failed write, in milliseconds. */
export const PRESENCE_RETRY_DELAY_MS = 1_000;

/** Counters of one gateway's directory writes. */
export interface PresencePublisherStats {
  /** Pipelines of changes written. */
  flushes: number;
  /** Full rewrites of every entry (start, lost lease, Redis reconnected, periodic). */
  resyncs: number;
  /** Writes that failed (retried). */
  failures: number;
}

/**
 * The gateway side of the presence directory: for each uid and group whose membership changed here, writes the
 * gateway's *absolute* count (connections of the uid, members of the group) under its id, coalesced over
 * {@link PRESENCE_FLUSH_DELAY_MS}. Absolute values make every write idempotent: a failed write is simply
 * written again (with the count of that moment), and a full resync rewrites everything from memory.
 *
 * Order within a batch makes a crash between two commands safe for cleanup: count > 0 adds the uid to the
 * gateway's ownership set before its field; count 0 deletes the field before the set member. So the ownership
 * sets always name at least every field the gateway has, and the janitor finds them all. Every batch also
 * re-adds the gateway to the list (`SADD gws`) first, so a write that lands after a janitor purged the gateway
 * makes it purgeable again instead of leaving orphans. A batch is three steps (list and ownership additions, then
 * the fields, then ownership removals: see RedisBatch), so the order also holds on a Redis Cluster, where the
 * fields live on other nodes than the ownership sets.
 *
 * Writes happen only while attached to a gateway id (the lease keeper attaches it by a resync): a gateway that
 * may have lost its lease stops writing under that id.
 */
export class PresencePublisher implements MembershipObserver {
  private readonly dirtyUids = new Set<string>();
  private readonly dirtyGroups = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  /** Every write, one after the other (flushes and resyncs never interleave). */
  private queue: Promise<void> = Promise.resolve();
  private gatewayId: string | null = null;
  private stopped = false;
  readonly stats: PresencePublisherStats = { flushes: 0, resyncs: 0, failures: 0 };

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: BackplaneKeys,
    private readonly membership: MembershipIndex,
    /** A failed write (rate-limited by the caller). */
    private readonly failed: (what: string, err: Error) => void,
  ) {}

  /** The id writes go under, or null (detached). */
  get attachedId(): string | null {
    return this.gatewayId;
  }

  uidChanged(uid: string): void {
    this.dirtyUids.add(uid);
    this.schedule(PRESENCE_FLUSH_DELAY_MS);
  }

  groupChanged(group: string): void {
    this.dirtyGroups.add(group);
    this.schedule(PRESENCE_FLUSH_DELAY_MS);
  }

  /** Stop writing (the lease may be lost); changes stay pending for the next resync, which rewrites all anyway. */
  detach(): void {
    this.gatewayId = null;
  }

  /**
   * Rewrites every entry of this gateway under `gatewayId` and attaches to it; with `cleanup`, then deletes the
   * entries its ownership sets name that it no longer holds (a fresh id has none). The fields of the `retired` ids
   * (given up by this gateway) are deleted beside each entry written, and for what changed while detached (a uid
   * that left then): the janitor may have lost track of some (see LeaseKeeper). Resolves once written; rejects
   * when Redis fails (the lease keeper tries again on its next renewal).
   */
  resync(gatewayId: string, cleanup: boolean, retired: readonly string[] = []): Promise<void> {
    return this.enqueue(async () => {
      // Everything held is rewritten from memory below, and what was let go since the last write is deleted (also
      // under `retired`); what changes from now on is dirty again and flushed after.
      const uids = [...this.membership.uids(), ...[...this.dirtyUids].filter((uid) => this.uidCount(uid) === 0)];
      const groups = [
        ...this.membership.groupIds(),
        ...[...this.dirtyGroups].filter((group) => this.groupCount(group) === 0),
      ];
      this.dirtyUids.clear();
      this.dirtyGroups.clear();
      await this.writeAll(gatewayId, uids, (uid) => this.uidCount(uid), 'u', retired);
      await this.writeAll(gatewayId, groups, (group) => this.groupCount(group), 'g', retired);
      if (cleanup) {
        await this.cleanup(gatewayId, this.keys.ownedUids(gatewayId), (uid) => this.uidCount(uid), 'u');
        await this.cleanup(gatewayId, this.keys.ownedGroups(gatewayId), (group) => this.groupCount(group), 'g');
      }
      this.gatewayId = gatewayId;
      this.stats.resyncs++;
      if (this.dirtyUids.size + this.dirtyGroups.size > 0) this.schedule(0);
    });
  }

  /** Stops writing; resolves once the write in progress (if any) is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.gatewayId = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.queue;
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.enqueue(() => this.flush()).catch(() => undefined);
    }, delayMs);
    this.timer.unref();
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work);
    // The queue goes on after a failure; the caller of `work` sees it.
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Writes the current count of every dirty uid and group, in pipelines of PRESENCE_BATCH. */
  private async flush(): Promise<void> {
    const id = this.gatewayId;
    if (id === null || this.stopped) return;
    const uids = [...this.dirtyUids].slice(0, PRESENCE_BATCH);
    const groups = [...this.dirtyGroups].slice(0, PRESENCE_BATCH - uids.length);
    if (uids.length + groups.length === 0) return;
    for (const uid of uids) this.dirtyUids.delete(uid);
    for (const group of groups) this.dirtyGroups.delete(group);
    const batch = this.batchOf(
      id,
      [],
      uids.map((uid) => ({ name: uid, count: this.uidCount(uid), kind: 'u' as const })),
      groups.map((group) => ({ name: group, count: this.groupCount(group), kind: 'g' as const })),
    );
    try {
      throwFirstError(await batch.exec());
      this.stats.flushes++;
    } catch (err) {
      // Written again later with the count of that moment (absolute values: nothing is applied twice).
      for (const uid of uids) this.dirtyUids.add(uid);
      for (const group of groups) this.dirtyGroups.add(group);
      this.stats.failures++;
      this.failed('directory write', err as Error);
      this.schedule(PRESENCE_RETRY_DELAY_MS);
      return;
    }
    if (this.dirtyUids.size + this.dirtyGroups.size > 0) this.schedule(0);
  }

  private uidCount(uid: string): number {
    return this.membership.connectionsOfUid(uid)?.size ?? 0;
  }

  private groupCount(group: string): number {
    return this.membership.membersOfGroup(group)?.size ?? 0;
  }

  /**
   * The writes of some counts under `id`, in three steps: list and ownership additions, then the fields (HSET
   * count > 0, HDEL gone; the `retired` ids' fields deleted either way), then ownership removals (see the class
   * comment).
   */
  private batchOf(
    id: string,
    retired: readonly string[],
    ...lists: { name: string; count: number; kind: 'u' | 'g' }[][]
  ): RedisBatch {
    const entries = lists.flat();
    const owned = (kind: 'u' | 'g') => (kind === 'u' ? this.keys.ownedUids(id) : this.keys.ownedGroups(id));
    const hash = (e: { name: string; kind: 'u' | 'g' }) =>
      e.kind === 'u' ? this.keys.uid(e.name) : this.keys.group(e.name);
    const batch = new RedisBatch(this.redis).add('sadd', this.keys.gateways, id);
    for (const kind of ['u', 'g'] as const) {
      const added = entries.filter((e) => e.kind === kind && e.count > 0).map((e) => e.name);
      if (added.length > 0) batch.add('sadd', owned(kind), ...added);
    }
    batch.step();
    for (const e of entries) {
      if (e.count > 0) {
        batch.add('hset', hash(e), id, e.count);
        if (retired.length > 0) batch.add('hdel', hash(e), ...retired);
      } else batch.add('hdel', hash(e), id, ...retired);
    }
    batch.step();
    for (const kind of ['u', 'g'] as const) {
      const removed = entries.filter((e) => e.kind === kind && e.count === 0).map((e) => e.name);
      if (removed.length > 0) batch.add('srem', owned(kind), ...removed);
    }
    return batch;
  }

  private async writeAll(
    id: string,
    names: string[],
    count: (name: string) => number,
    kind: 'u' | 'g',
    retired: readonly string[],
  ): Promise<void> {
    for (let i = 0; i < names.length || i === 0; i += PRESENCE_BATCH) {
      const entries = names.slice(i, i + PRESENCE_BATCH).map((name) => ({ name, count: count(name), kind }));
      throwFirstError(await this.batchOf(id, retired, entries).exec());
    }
  }

  /** Deletes the entries the ownership set names that this gateway no longer holds. */
  private async cleanup(id: string, owned: string, count: (name: string) => number, kind: 'u' | 'g'): Promise<void> {
    let cursor = '0';
    do {
      const [next, members] = await this.redis.sscan(owned, cursor, 'COUNT', PRESENCE_BATCH);
      cursor = next;
      const gone = members.filter((m) => count(m) === 0);
      if (gone.length === 0) continue;
      // Field first, then the ownership entry (no list entry needed: nothing is added).
      const batch = new RedisBatch(this.redis);
      for (const name of gone) batch.add('hdel', kind === 'u' ? this.keys.uid(name) : this.keys.group(name), id);
      batch.step().add('srem', owned, ...gone);
      throwFirstError(await batch.exec());
    } while (cursor !== '0');
  }
}
