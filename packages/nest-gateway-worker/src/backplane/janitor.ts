import { randomBytes } from 'node:crypto';
import type { BackplaneKeys } from './backplane-keys';
import { RedisBatch } from './redis-batch';
import type { RedisConnection } from './redis-connection';

/** How long one janitor may hold a dead gateway's cleanup before another one may take over, in milliseconds. */
export const JANITOR_LOCK_MS = 60_000;
/** Members read per SSCAN step, and fields deleted per pipeline. */
export const JANITOR_BATCH = 1_000;

/**
 * Purges the directory entries of gateways whose lease is gone (crashed, cut off, stopped): Redis has no
 * "delete these keys when that one expires" (etcd's lease-bound keys), so anyone who sees a listed gateway without
 * a lease (workers, GatewayClients and gateways all look) runs this. One of them wins a lock (`SET NX PX`); it
 * deletes the gateway's field in every uid and group hash its ownership sets name, then the sets, then the
 * gateway from the list, and announces "down". Every step is idempotent: a janitor that dies half-way leaves the
 * lock to expire and the next one finishes; one whose commands fail releases the lock, so the next look retries.
 * A gateway's late write re-adds it to the list, so it is purged again.
 */
export class Janitor {
  private readonly me = randomBytes(6).toString('hex');
  private readonly running = new Set<string>();
  /** Gateways purged by this process (tests and logs). */
  purged = 0;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: BackplaneKeys,
  ) {}

  /**
   * Purges `gatewayId` if its lease is gone and no other janitor holds it. Resolves true when this call purged it.
   * Rejects when Redis fails (the caller retries on its next look).
   */
  async purge(gatewayId: string): Promise<boolean> {
    if (this.running.has(gatewayId)) return false;
    this.running.add(gatewayId);
    try {
      const lock = this.keys.janitor(gatewayId);
      if ((await this.redis.set(lock, this.me, 'PX', JANITOR_LOCK_MS, 'NX')) === null) return false;
      // Checked under the lock: a gateway that renewed meanwhile is alive, not ours to purge.
      if ((await this.redis.get(this.keys.lease(gatewayId))) !== null) {
        await this.redis.del(lock);
        return false;
      }
      try {
        await this.purgeField(this.keys.ownedUids(gatewayId), gatewayId, (uid) => this.keys.uid(uid));
        await this.purgeField(this.keys.ownedGroups(gatewayId), gatewayId, (group) => this.keys.group(group));
        await this.redis.srem(this.keys.gateways, gatewayId);
        await this.redis.publish(this.keys.events, `down ${gatewayId}`);
      } catch (err) {
        // Failed, not dead (e.g. a Cluster node failing over): let the next look retry now, not after the lock.
        await this.redis.del(lock).catch(() => undefined);
        throw err;
      }
      await this.redis.del(lock);
      this.purged++;
      return true;
    } finally {
      this.running.delete(gatewayId);
    }
  }

  /** Deletes `field` from the hash of every member of the ownership set `owned`, then the set. */
  private async purgeField(owned: string, field: string, hashOf: (member: string) => string): Promise<void> {
    let cursor = '0';
    do {
      const [next, members] = await this.redis.sscan(owned, cursor, 'COUNT', JANITOR_BATCH);
      cursor = next;
      if (members.length === 0) continue;
      // One pipeline, or one per node on a Cluster (the hashes live in many slots).
      const batch = new RedisBatch(this.redis);
      for (const member of members) batch.add('hdel', hashOf(member), field);
      throwFirstError(await batch.exec());
    } while (cursor !== '0');
    await this.redis.del(owned);
  }
}

/** A pipeline's first failed command, thrown (a pipeline resolves even when commands in it fail). */
export function throwFirstError(results: [Error | null, unknown][] | null): void {
  if (results === null) throw new Error('pipeline aborted');
  for (const [err] of results) if (err) throw err;
}
