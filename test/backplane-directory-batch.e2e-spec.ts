import { BackplaneKeys, ClientBackplane, resolveBackplaneOptions } from 'nest-gateway-worker/internal';
import { Redis } from 'ioredis';
import { eventually } from './support/eventually';
import { RedisServer } from './support/redis-server';

/**
 * The directory lookups of one event-loop turn share one read (DirectoryReadBatch, as ClientBackplane wires it for
 * targeted sends): N sendToUid-style lookups made in one turn cost one Redis round trip and one HKEYS per distinct
 * uid, shown by the reader's round-trip counter and by Redis's own INFO commandstats on this test's redis-server.
 */
describe('directory lookups batched per turn (real redis-server)', () => {
  let redis: RedisServer;
  let inspector: Redis;
  let backplane: ClientBackplane;
  const keys = new BackplaneKeys('gw');
  const ID = '10.0.0.1:2000/00000000000000aa.0';
  const OTHER = '10.0.0.2:2000/00000000000000bb.0';

  /** Calls of `command` Redis counted since the last CONFIG RESETSTAT. */
  async function calls(command: string): Promise<number> {
    const info = await inspector.info('commandstats');
    const m = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
    return m ? Number(m[1]) : 0;
  }

  beforeAll(async () => {
    redis = await RedisServer.start();
    inspector = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    for (let i = 0; i < 10; i++) await inspector.hset(keys.uid(`u${i}`), ID, 1);
    await inspector.hset(keys.uid('u3'), OTHER, 2);
    await inspector.hset(keys.group('room'), OTHER, 5);
    // A budget a loaded test machine keeps (50 ms by default): an over-budget read would answer null here.
    backplane = new ClientBackplane(
      { ...resolveBackplaneOptions('test', redis.url)!, timeoutMs: 1_000, cache: false },
      'Test',
    );
    // Ready once a lookup answers.
    await eventually(
      () => backplane.lookups.gatewaysOf('uid', ['u0']),
      (r) => r !== null,
      'the directory answering',
      10_000,
      50,
    );
  });

  afterAll(async () => {
    redis?.resume();
    await backplane?.close();
    inspector?.disconnect();
    await redis?.stop();
  });

  it('20 lookups in one turn (10 distinct uids) and a group lookup: one read per kind, one HKEYS per key, answers in call order', async () => {
    await inspector.config('RESETSTAT');
    const reads = backplane.reader.stats.reads;
    const order: number[] = [];
    // One turn: what 20 sendToUid calls and one sendToGroup call issued back to back ask the directory.
    const lookups = Array.from({ length: 20 }, (_, i) =>
      backplane.lookups.gatewaysOf('uid', [`u${i % 10}`, `v${i}`]).then((r) => (order.push(i), r)),
    );
    const group = backplane.lookups.gatewaysOf('group', ['room']).then((r) => (order.push(20), r));
    const answers = await Promise.all(lookups);
    answers.forEach((a, i) => expect(a!.map(sorted)).toEqual([sorted(i % 10 === 3 ? [ID, OTHER] : [ID]), []]));
    expect(await group).toEqual([[OTHER]]);
    expect(order).toEqual(Array.from({ length: 21 }, (_, i) => i));
    // One round trip per kind; each distinct key read once (10 uids + 20 unknown ones + 1 group).
    expect(backplane.reader.stats.reads - reads).toBe(2);
    expect(await calls('hkeys')).toBe(31);

    // The next turn's lookups are read at once, in a read of their own.
    expect(await backplane.lookups.gatewaysOf('uid', ['u1'])).toEqual([[ID]]);
    expect(backplane.reader.stats.reads - reads).toBe(3);
    expect(await calls('hkeys')).toBe(32);
  });

  it('targeted sends ask through the batch: 20 forUids calls in one turn cost one read and one HKEYS per uid', async () => {
    await inspector.config('RESETSTAT');
    const reads = backplane.reader.stats.reads;
    const targets = await Promise.all(
      Array.from({ length: 20 }, (_, i) => backplane.targeting.forUids([`u${i % 5}`], [])),
    );
    expect(targets).toEqual(Array.from({ length: 20 }, () => []));
    expect(backplane.reader.stats.reads - reads).toBe(1);
    expect(await calls('hkeys')).toBe(5);
  });

  it('a Redis that does not answer: every lookup of the turn falls back (null), each counted', async () => {
    const fallbacks = backplane.stats.fallbacks;
    redis.pause();
    try {
      const answers = await Promise.all(
        Array.from({ length: 5 }, (_, i) => backplane.lookups.gatewaysOf('uid', [`u${i}`])),
      );
      expect(answers).toEqual([null, null, null, null, null]);
      expect(backplane.stats.fallbacks - fallbacks).toBe(5);
    } finally {
      redis.resume();
    }
  });
});

function sorted(ids: string[]): string[] {
  return [...ids].sort();
}
