import {
  BackplaneKeys,
  BackplaneWarnings,
  DirectoryReader,
  Janitor,
  MembershipIndex,
  PresencePublisher,
  openRedisConnection,
  resolveBackplaneOptions,
  whenReady,
  type RedisConnection,
} from 'nest-gateway-worker/internal';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { eventually } from './support/eventually';
import { RedisServer } from './support/redis-server';

/**
 * The directory's parts on a real redis-server, in this process: the gateway's writer (absolute counts,
 * coalesced, ownership sets, resync with cleanup), the janitor (lock, never a live gateway), and the reader's
 * budget and breaker (a stopped Redis answers null within the budget; reads resume after it continues).
 */
describe('presence directory parts (real redis-server)', () => {
  let redis: RedisServer;
  let inspector: Redis;
  let connection: RedisConnection;
  const keys = new BackplaneKeys('gw');
  const ID = '10.0.0.1:2000/00000000000000aa.0';

  type Connection = Parameters<MembershipIndex['bindUid']>[0];
  /** A connection as MembershipIndex sees it (it reads only these fields). */
  function conn(id: number): Connection {
    return { id, closed: false, uid: null, groups: null } as unknown as Connection;
  }

  beforeAll(async () => {
    redis = await RedisServer.start();
    inspector = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    connection = openRedisConnection(resolveBackplaneOptions('test', redis.url)!, 'ngw-test', 'Test');
    expect(await whenReady(connection)).toBe(true);
  });

  afterAll(async () => {
    redis?.resume();
    connection?.disconnect();
    inspector?.disconnect();
    await redis?.stop();
  });

  it('writes absolute counts, a burst coalesced into one write, and removes what is gone in cleanup order', async () => {
    const membership = new MembershipIndex();
    const failures: Error[] = [];
    const publisher = new PresencePublisher(connection, keys, membership, (_w, err) => failures.push(err));
    membership.observer = publisher;
    await publisher.resync(ID, false);
    const clients = Array.from({ length: 100 }, (_, i) => conn(i + 1));
    const flushes = publisher.stats.flushes;
    // One turn: 100 binds, 99 unbinds, joins and leaves.
    for (const c of clients) membership.bindUid(c, 'burst');
    for (const c of clients.slice(1)) membership.unbindUid(c);
    for (const c of clients.slice(0, 3)) membership.joinGroup(c, 'room');
    membership.leaveGroup(clients[2], 'room');
    await eventually(
      () => inspector.hget(keys.uid('burst'), ID),
      (v) => v === '1',
      'the final count',
    );
    expect(await inspector.hget(keys.group('room'), ID)).toBe('2');
    expect(publisher.stats.flushes - flushes).toBe(1);
    expect((await inspector.smembers(keys.ownedUids(ID))).sort()).toEqual(['burst']);
    membership.remove(clients[0]);
    membership.remove(clients[1]);
    await eventually(
      () => inspector.exists(keys.uid('burst'), keys.group('room')),
      (n) => n === 0,
      'entries gone',
    );
    expect(await inspector.smembers(keys.ownedUids(ID))).toEqual([]);
    expect(await inspector.smembers(keys.ownedGroups(ID))).toEqual([]);
    expect(await inspector.sismember(keys.gateways, ID)).toBe(1);

    // A resync with cleanup rewrites what is held and deletes stale entries the ownership sets name.
    membership.bindUid(clients[5], 'kept');
    await inspector.del(keys.uid('kept'));
    await inspector.sadd(keys.ownedUids(ID), 'ghost');
    await inspector.hset(keys.uid('ghost'), ID, 3);
    await publisher.resync(ID, true);
    expect(await inspector.hget(keys.uid('kept'), ID)).toBe('1');
    expect(await inspector.exists(keys.uid('ghost'))).toBe(0);
    expect(await inspector.smembers(keys.ownedUids(ID))).toEqual(['kept']);
    expect(failures).toEqual([]);
    await publisher.stop();
  });

  it("a resync under a new id deletes the fields of the ids it retired, which a janitor racing the old id's last writes leaves behind", async () => {
    const old = '10.0.0.4:2000/00000000000000dd.0';
    const next = '10.0.0.4:2000/00000000000000dd.1';
    const membership = new MembershipIndex();
    const failures: Error[] = [];
    const publisher = new PresencePublisher(connection, keys, membership, (_w, err) => failures.push(err));
    membership.observer = publisher;
    const [held, leaving] = [conn(1), conn(2)];
    membership.bindUid(held, 'r-held');
    membership.joinGroup(held, 'r-room');
    membership.bindUid(leaving, 'r-leaving');
    await publisher.resync(old, false);
    expect(await inspector.hkeys(keys.uid('r-leaving'))).toEqual([old]);
    // The race, as Redis applied it: a janitor purged the old id (no lease) between a late batch's ownership
    // additions and its fields, so the fields landed after the purge: no ownership entry, no listing.
    const janitor = new Janitor(connection, keys);
    expect(await janitor.purge(old)).toBe(true);
    await inspector.hset(keys.uid('r-held'), old, 1);
    await inspector.hset(keys.group('r-room'), old, 1);
    await inspector.hset(keys.uid('r-leaving'), old, 1);
    expect(await inspector.exists(keys.ownedUids(old), keys.ownedGroups(old))).toBe(0);
    expect(await inspector.sismember(keys.gateways, old)).toBe(0);
    // The lease keeper gave the old id up (detached); a uid leaves before the resync under the new id.
    publisher.detach();
    membership.remove(leaving);
    await publisher.resync(next, false, [old]);
    expect(await inspector.hkeys(keys.uid('r-held'))).toEqual([next]);
    expect(await inspector.hkeys(keys.group('r-room'))).toEqual([next]);
    expect(await inspector.exists(keys.uid('r-leaving'))).toBe(0);
    expect((await inspector.smembers(keys.ownedUids(next))).sort()).toEqual(['r-held']);
    expect(failures).toEqual([]);
    await publisher.stop();
  });

  it("the janitor purges a gateway without a lease, under a lock, and leaves a live one's entries alone", async () => {
    const dead = '10.0.0.2:2000/00000000000000bb.0';
    const live = '10.0.0.3:2000/00000000000000cc.0';
    for (const id of [dead, live]) {
      // 2 500 uids (more than one SSCAN step) and 5 groups on each gateway.
      const pipeline = inspector.pipeline().sadd(keys.gateways, id);
      for (let i = 0; i < 2500; i++) pipeline.sadd(keys.ownedUids(id), `u${i}`).hset(keys.uid(`u${i}`), id, 1);
      for (let i = 0; i < 2500; i += 500) pipeline.sadd(keys.ownedGroups(id), `g${i}`).hset(keys.group(`g${i}`), id, 1);
      await pipeline.exec();
    }
    await inspector.set(keys.lease(live), '{}', 'PX', 60_000);
    const janitor = new Janitor(connection, keys);
    const other = new Janitor(connection, keys);
    // Someone else holds the lock: nothing happens.
    await inspector.set(keys.janitor(dead), 'someone', 'PX', 60_000);
    expect(await janitor.purge(dead)).toBe(false);
    await inspector.del(keys.janitor(dead));
    const [one, two] = await Promise.all([janitor.purge(dead), other.purge(dead)]);
    expect([one, two].filter(Boolean)).toHaveLength(1);
    expect(await inspector.hget(keys.uid('u2499'), dead)).toBeNull();
    expect(await inspector.hget(keys.uid('u2499'), live)).toBe('1');
    expect(await inspector.exists(keys.ownedUids(dead), keys.ownedGroups(dead), keys.janitor(dead))).toBe(0);
    expect(await inspector.sismember(keys.gateways, dead)).toBe(0);
    expect(await inspector.hkeys(keys.group('g500'))).toEqual([live]);
    // A live lease: never purged.
    expect(await janitor.purge(live)).toBe(false);
    expect(await inspector.scard(keys.ownedUids(live))).toBe(2500);
  });

  it('a read within the budget answers; a stopped Redis makes it answer null (fallback), then the breaker skips reads', async () => {
    const logger = new Logger('DirectoryTest');
    const warned: string[] = [];
    jest.spyOn(logger, 'warn').mockImplementation((m: unknown) => void warned.push(String(m)));
    const warnings = new BackplaneWarnings(logger, resolveBackplaneOptions('test', redis.url)!);
    const reader = new DirectoryReader(connection, keys, 50, warnings);
    await inspector.hset(keys.uid('r1'), ID, 1);
    expect(await reader.gatewaysOf('uid', ['r1', 'r2'])).toEqual([[ID], []]);
    redis.pause();
    try {
      expect(await reader.gatewaysOf('uid', ['r1'])).toBeNull();
      // The breaker is open: the next calls do not even ask.
      for (let i = 0; i < 10; i++) expect(await reader.gatewaysOf('uid', ['r1'])).toBeNull();
      expect(reader.stats.fallbacks).toBe(11);
      // Logged once, not eleven times.
      expect(warned.filter((w) => /directory read skipped/.test(w))).toHaveLength(1);
    } finally {
      redis.resume();
    }
    const answer = await eventually(
      () => reader.gatewaysOf('uid', ['r1']),
      (r) => r !== null,
      'reads answering again',
      10_000,
      100,
    );
    expect(answer).toEqual([[ID]]);
  });
});
