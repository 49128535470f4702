import {
  BackplaneKeys,
  ClientBackplane,
  MetricsBuilder,
  clientBackplaneMetrics,
  loadPromClient,
  HEARTBEAT_INTERVAL_MS,
  NOTICE_TRUST_MS,
  resolveBackplaneOptions,
} from 'nest-gateway-worker/internal';
import { Redis } from 'ioredis';
import type { Socket } from 'node:net';
import { eventually } from './support/eventually';
import { parseScrape, valueOf } from './support/prometheus-text';
import { RedisServer } from './support/redis-server';

/**
 * The sender's directory cache (DirectoryTracking, as ClientBackplane wires it) against a real redis-server:
 * repeated lookups cost one HKEYS (Redis's INFO commandstats), Redis's own invalidation notices (CLIENT TRACKING
 * REDIRECT to a connection subscribed to __redis__:invalidate) keep it correct, a notice that overtakes its read's
 * reply keeps that answer out of the cache, and a flush or a Redis restart drops it.
 */
describe('directory cache with server-assisted invalidation (real redis-server)', () => {
  let redis: RedisServer;
  let inspector: Redis;
  let backplane: ClientBackplane;
  const keys = new BackplaneKeys('gw');
  const A = '10.0.0.1:2000/00000000000000aa.0';
  const B = '10.0.0.2:2000/00000000000000bb.0';

  async function calls(command: string): Promise<number> {
    const info = await inspector.info('commandstats');
    const m = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
    return m ? Number(m[1]) : 0;
  }

  const lookup = (uid: string) => backplane.lookups.gatewaysOf('uid', [uid]);

  /** The socket of the cache's notice connection (an ioredis client's stream). */
  function noticeSocket(): Socket {
    const connections = (backplane as unknown as { cacheConnections: [unknown, { stream: Socket }] }).cacheConnections;
    return connections[1].stream;
  }

  async function armed(): Promise<void> {
    await eventually(
      () => backplane.tracking!.cache.armed,
      (a) => a,
      'the directory cache armed (tracking on)',
      15_000,
      20,
    );
  }

  beforeAll(async () => {
    redis = await RedisServer.start();
    inspector = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    // A budget a loaded test machine keeps (50 ms by default).
    backplane = new ClientBackplane({ ...resolveBackplaneOptions('test', redis.url)!, timeoutMs: 1_000 }, 'Test');
    expect(backplane.tracking).not.toBeNull();
    await armed();
  });

  afterAll(async () => {
    await backplane?.close();
    inspector?.disconnect();
    await redis?.stop();
  });

  beforeEach(async () => {
    await inspector.flushall();
    // The flush notice empties the cache.
    await eventually(
      () => backplane.tracking!.cache.size,
      (n) => n === 0,
      'the cache emptied by the flush',
    );
  });

  it('is on by default, with tracking redirected to a connection subscribed to __redis__:invalidate', async () => {
    const list = await inspector.client('LIST');
    const reader = /id=(\d+) .*name=ngw-test-dir /.exec(list as string);
    const notices = /id=(\d+) .*name=ngw-test-inv .*sub=1 /.exec(list as string);
    expect(reader).not.toBeNull();
    expect(notices).not.toBeNull();
    const info = String(await inspector.call('client', 'list', 'id', reader![1]));
    expect(info).toMatch(/ flags=t /);
    expect(await inspector.pubsub('CHANNELS', '__redis__:*')).toEqual(['__redis__:invalidate']);
  });

  it('repeated lookups of one uid: one HKEYS, the rest from the cache; a write invalidates it and the next lookup reads the new entry', async () => {
    await inspector.hset(keys.uid('u1'), A, 1);
    await inspector.config('RESETSTAT');
    const hits = backplane.stats.cacheHits;
    for (let i = 0; i < 20; i++) expect(await lookup('u1')).toEqual([[A]]);
    expect(await calls('hkeys')).toBe(1);
    expect(backplane.stats.cacheHits - hits).toBe(19);

    // The uid moves from A to B (what the gateways' presence writes do): Redis's notice drops the entry.
    await inspector.multi().hdel(keys.uid('u1'), A).hset(keys.uid('u1'), B, 1).exec();
    await eventually(
      () => backplane.tracking!.cache.size,
      (n) => n === 0,
      'the invalidation notice',
    );
    expect(await lookup('u1')).toEqual([[B]]);
    expect(await calls('hkeys')).toBe(2);
    expect(await lookup('u1')).toEqual([[B]]);
    expect(await calls('hkeys')).toBe(2);
  });

  it('a batch of names: only the names not cached are read', async () => {
    await inspector.hset(keys.uid('u1'), A, 1);
    await inspector.hset(keys.uid('u2'), B, 1);
    await inspector.config('RESETSTAT');
    expect(await lookup('u1')).toEqual([[A]]);
    expect(await backplane.lookups.gatewaysOf('uid', ['u1', 'u2', 'u3'])).toEqual([[A], [B], []]);
    expect(await calls('hkeys')).toBe(3);
    expect(await backplane.lookups.gatewaysOf('uid', ['u3', 'u2', 'u1'])).toEqual([[], [B], [A]]);
    expect(await calls('hkeys')).toBe(3);
  });

  it('an invalidation that arrives while the read of that key is in flight: the answer is used once and not cached', async () => {
    await inspector.hset(keys.uid('u1'), A, 1);
    const tracking = backplane.tracking!;
    const reader = backplane.reader;
    const real = reader.gatewaysOf.bind(reader);
    // The reply of this read reaches the cache only after the notice of a write made after the server answered it:
    // an order the two connections may deliver them in.
    let noticeFirst = false;
    reader.gatewaysOf = async (kind, names) => {
      const answer = await real(kind, names);
      if (noticeFirst) {
        noticeFirst = false;
        const overtaken = tracking.cache.stats.overtaken;
        await inspector.multi().hdel(keys.uid('u1'), A).hset(keys.uid('u1'), B, 1).exec();
        await eventually(
          () => tracking.cache.stats.overtaken,
          (n) => n > overtaken,
          'the notice during the read',
        );
      }
      return answer;
    };
    try {
      noticeFirst = true;
      await inspector.config('RESETSTAT');
      // Used once: the answer as the server gave it.
      expect(await lookup('u1')).toEqual([[A]]);
      expect(noticeFirst).toBe(false);
      // Not cached: the next lookup reads again and sees B.
      expect(await lookup('u1')).toEqual([[B]]);
      expect(await calls('hkeys')).toBe(2);
      // And that answer is cached.
      expect(await lookup('u1')).toEqual([[B]]);
      expect(await calls('hkeys')).toBe(2);
    } finally {
      reader.gatewaysOf = real;
    }
  });

  it('its hits, misses and drops are Prometheus counters (gatewayworker_backplane_directory_cache_*_total)', async () => {
    const prom = loadPromClient('test');
    const registry = new prom.Registry();
    clientBackplaneMetrics(new MetricsBuilder(prom, registry), backplane, 'sdk');
    const scrape = async () => {
      const s = parseScrape(await registry.metrics());
      const v = (what: string) =>
        valueOf(s, `gatewayworker_backplane_directory_cache_${what}_total`, { client: 'sdk' });
      return { hits: v('hits'), misses: v('misses'), drops: v('drops') };
    };
    await inspector.hset(keys.uid('u1'), A, 1);
    const before = await scrape();
    // One miss (read from Redis), then three hits.
    for (let i = 0; i < 4; i++) expect(await lookup('u1')).toEqual([[A]]);
    // A name with no entry is a miss too (its empty answer is cached: the next lookup of it is a hit).
    expect(await lookup('nobody')).toEqual([[]]);
    let after = await scrape();
    expect({ hits: after.hits - before.hits, misses: after.misses - before.misses }).toEqual({ hits: 3, misses: 2 });
    await inspector.flushall();
    await eventually(scrape, (s) => s.drops > after.drops, 'the flush counted as a drop');
    after = await scrape();
    expect(after.drops - before.drops).toBe(1);
  });

  it('FLUSHALL (a notice with no keys) drops every entry', async () => {
    await inspector.hset(keys.uid('u1'), A, 1);
    await inspector.hset(keys.uid('u2'), A, 1);
    expect(await backplane.lookups.gatewaysOf('uid', ['u1', 'u2'])).toEqual([[A], [A]]);
    expect(backplane.tracking!.cache.size).toBe(2);
    const drops = backplane.stats.cacheDrops;
    await inspector.flushall();
    await eventually(
      () => backplane.stats.cacheDrops,
      (n) => n > drops,
      'the flush notice',
    );
    expect(backplane.tracking!.cache.size).toBe(0);
    expect(await backplane.lookups.gatewaysOf('uid', ['u1', 'u2'])).toEqual([[], []]);
  });

  it('an entry is used past the old 3 s age limit while the notice connection answers its PINGs', async () => {
    await inspector.hset(keys.uid('u1'), A, 1);
    await inspector.config('RESETSTAT');
    expect(await lookup('u1')).toEqual([[A]]);
    await new Promise((r) => setTimeout(r, NOTICE_TRUST_MS + 1_500));
    expect(backplane.tracking!.noticesConfirmed).toBe(true);
    expect(await lookup('u1')).toEqual([[A]]);
    expect(await calls('hkeys')).toBe(1);
  });

  it('a notice connection that stops answering (its socket paused: a silent partition of it alone) stops the cache', async () => {
    await inspector.hset(keys.uid('u1'), A, 1);
    await inspector.config('RESETSTAT');
    expect(await lookup('u1')).toEqual([[A]]);
    expect(await lookup('u1')).toEqual([[A]]);
    expect(await calls('hkeys')).toBe(1);
    const notices = noticeSocket();
    notices.pause();
    try {
      // No pong (and, once a PING waits, the socket timeout): within NOTICE_TRUST_MS + a heartbeat the entry is
      // no longer used; without the heartbeat nothing would notice, and the entry would be used for its max age.
      await new Promise((r) => setTimeout(r, NOTICE_TRUST_MS + HEARTBEAT_INTERVAL_MS + 500));
      expect(await lookup('u1')).toEqual([[A]]);
      expect(await calls('hkeys')).toBe(2);
    } finally {
      notices.resume();
    }
    await eventually(
      () => backplane.tracking!.cache.armed && backplane.tracking!.noticesConfirmed,
      (ok) => ok,
      'the notice connection answering again (reopened and re-armed)',
      15_000,
    );
  });

  it('a read that gets no answer (Redis hung) drops the cache: nothing read before is trusted', async () => {
    await inspector.hset(keys.uid('u1'), A, 1);
    expect(await lookup('u1')).toEqual([[A]]);
    expect(await lookup('u1')).toEqual([[A]]);
    expect(backplane.tracking!.cache.size).toBe(1);
    redis.pause();
    try {
      // Over the budget (1 s here): no answer, and the cached u1 is gone with it.
      expect(await lookup('u2')).toBeNull();
      expect(backplane.tracking!.cache.size).toBe(0);
      expect(await lookup('u1')).toBeNull();
    } finally {
      redis.resume();
    }
    // Readable again after the breaker's second.
    await eventually(
      () => lookup('u1'),
      (r) => r !== null,
      'the directory answering again',
      10_000,
      100,
    );
  });

  for (const which of ['dir', 'inv'] as const) {
    it(`the ${which === 'dir' ? 'reading' : 'notice'} connection killed alone: the cache is dropped, tracking re-armed, notices arrive again`, async () => {
      await inspector.hset(keys.uid('u1'), A, 1);
      expect(await lookup('u1')).toEqual([[A]]);
      expect(backplane.tracking!.cache.size).toBe(1);
      const drops = backplane.stats.cacheDrops;
      const list = String(await inspector.client('LIST'));
      const id = new RegExp(`id=(\\d+) .*name=ngw-test-${which} `).exec(list)![1];
      expect(await inspector.call('client', 'kill', 'id', id)).toBe(1);
      await eventually(
        () => backplane.stats.cacheDrops,
        (n) => n > drops,
        'the cache dropped',
      );
      expect(backplane.tracking!.cache.size).toBe(0);
      await armed();
      // Re-armed: cached again, and a write's notice reaches the (new) notice connection.
      await inspector.config('RESETSTAT');
      expect(await lookup('u1')).toEqual([[A]]);
      expect(await lookup('u1')).toEqual([[A]]);
      expect(await calls('hkeys')).toBe(1);
      await inspector.multi().hdel(keys.uid('u1'), A).hset(keys.uid('u1'), B, 1).exec();
      await eventually(
        () => backplane.tracking!.cache.size,
        (n) => n === 0,
        'the notice after the re-arm',
      );
      expect(await lookup('u1')).toEqual([[B]]);
    });
  }

  it('a Redis restart drops the cache and re-arms tracking: a lookup afterwards reads the new server', async () => {
    await inspector.hset(keys.uid('u1'), A, 1);
    expect(await lookup('u1')).toEqual([[A]]);
    expect(await lookup('u1')).toEqual([[A]]);
    expect(backplane.tracking!.cache.size).toBe(1);
    await redis.restart();
    // The new server holds another entry for the uid; nobody tracked it there, so no notice will come.
    await eventually(
      () => inspector.hset(keys.uid('u1'), B, 1).then(() => true),
      (ok) => ok,
      'the inspector reconnected',
      15_000,
    );
    await armed();
    await inspector.config('RESETSTAT');
    expect(await lookup('u1')).toEqual([[B]]);
    expect(await calls('hkeys')).toBe(1);
    // Tracking re-armed on the new connections: cached again, and invalidated again.
    expect(await lookup('u1')).toEqual([[B]]);
    expect(await calls('hkeys')).toBe(1);
    await inspector.hset(keys.uid('u1'), A, 1);
    await eventually(
      () => backplane.tracking!.cache.size,
      (n) => n === 0,
      'the invalidation notice after the restart',
    );
    expect((await lookup('u1'))!.map((ids) => [...ids].sort())).toEqual([[A, B].sort()]);
  });
});
