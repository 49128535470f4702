import {
  BackplaneKeys,
  encodeLease,
  GatewayClientPool,
  resolveGatewayClientOptions,
  type GatewayLease,
  type GatewayTransport,
} from 'nest-gateway-worker/internal';
import type { INestMicroservice } from '@nestjs/common';
import { Redis } from 'ioredis';
import { BackplaneProbe, BackplaneTestController, delta, readLeases } from './support/backplane-probe';
import { eventually, within } from './support/eventually';
import { startInProcessWorker } from './support/in-process-worker';
import { RedisSentinelSet } from './support/redis-server';
import { startGateway, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';

/**
 * The Redis backplane on a Sentinel-managed primary (a primary, a replica and three sentinels, redis-server children
 * of this test with a short down-after-milliseconds): three gateway processes and an in-process worker on a
 * `redis+sentinel://` URL, and a standalone GatewayClient given its own Sentinel-configured ioredis client (DI form).
 * The primary is SIGKILLed while a sender keeps sending to a uid; the replica it is promoted from is first made to
 * miss that uid's directory entry (as asynchronous replication can lose the last writes).
 */

const LEASE_MS = 5_000;
/** Directory read budget: the budget is not under test here, and the test machine is shared. */
const READ_BUDGET_MS = 1_000;
const keys = new BackplaneKeys('gw');

interface Gateway {
  proc: RoleProcess;
  url: string;
  inner: string;
}

describe('Redis backplane on Sentinel (primary + replica + 3 sentinels, three gateways)', () => {
  let set: RedisSentinelSet;
  let sdkClient: Redis;
  const gateways: Gateway[] = [];
  let worker: { app: INestMicroservice; transport: GatewayTransport };
  let sdk: GatewayClientPool;
  const probe = new BackplaneProbe(() => sdk);
  const direct = new Map<number, Redis>();

  /**
   * A plain connection to the server on `port` (the primary, or a replica: reads only). It reconnects: the sentinels
   * close the clients of the replica they promote.
   */
  function at(port: number): Redis {
    let r = direct.get(port);
    if (!r) {
      r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 3, retryStrategy: () => 50 });
      r.on('error', () => undefined);
      direct.set(port, r);
    }
    return r;
  }

  const leases = (port: number): Promise<Map<string, GatewayLease>> => readLeases(at(port), keys);

  async function runId(port: number): Promise<string> {
    return /^run_id:(\w+)/m.exec(await at(port).info('server'))![1];
  }

  function synced(inners: string[]): Promise<boolean> {
    return eventually(
      () => inners.every((a) => sdk.backplane!.watch.isSynced(a) && worker.transport.backplane!.watch.isSynced(a)),
      (ok) => ok,
      `discovery shows ${inners.join(', ')} in sync`,
      20_000,
    );
  }

  beforeAll(async () => {
    set = await RedisSentinelSet.start({ replicas: 1, sentinels: 3, downAfterMs: 500, failoverTimeoutMs: 2_000 });
    for (let i = 0; i < 3; i++)
      gateways.push(
        await startGateway('', { GATEWAY_BACKPLANE: set.url, GATEWAY_BACKPLANE_LEASE_MS: String(LEASE_MS) }),
      );
    const inners = gateways.map((g) => g.inner);
    worker = await startInProcessWorker(
      [BackplaneTestController],
      { secret: TEST_SECRET, backplane: { url: set.url, timeoutMs: READ_BUDGET_MS }, sessionStore: 'backplane' },
      inners,
    );
    // The DI form: the application's own Sentinel-configured client; the backplane duplicates it.
    sdkClient = new Redis({
      sentinels: set.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
      name: set.name,
      lazyConnect: true,
    });
    sdk = new GatewayClientPool(
      resolveGatewayClientOptions({
        secret: TEST_SECRET,
        backplane: { client: sdkClient, timeoutMs: READ_BUDGET_MS },
      }),
    );
    expect(sdk.backplane).not.toBeNull();
    await synced(inners);
  }, 60_000);

  afterAll(async () => {
    probe.closeAll();
    await sdk?.onModuleDestroy();
    await worker?.app.close();
    await stopAll();
    sdkClient?.disconnect();
    for (const r of direct.values()) r.disconnect();
    await set?.stop();
  });

  it('targets through the primary the sentinels name: a non-holder gateway gets no command', async () => {
    const [a, b, c] = gateways;
    const primary = await set.primaryPort();
    expect(primary).toBe(set.primary.port);
    // Every lease names the primary it was written on.
    const run = await runId(primary);
    expect([...(await leases(primary)).values()].map((l) => [l.synced, l.server])).toEqual([
      [true, run],
      [true, run],
      [true, run],
    ]);
    const { client } = await probe.open(a.url);
    await probe.ask(client, { type: 'bind', uid: 's-u' }, 'bound');
    await eventually(
      () => at(primary).hkeys(keys.uid('s-u')),
      (ids) => ids.length === 1,
      's-u in the directory',
    );
    const before = await probe.counters();
    const start = client.received.length;
    for (let i = 0; i < 300; i++) await sdk.client.sendToUid('s-u', `t${i}`);
    await client.waitForMessages(start + 300, 15_000);
    expect(client.received.slice(start).map((m) => m.data.toString())).toEqual(
      Array.from({ length: 300 }, (_, i) => `t${i}`),
    );
    expect(delta(await probe.counters(), before, 'uid')).toEqual({ [a.inner]: 300, [b.inner]: 0, [c.inner]: 0 });
  });

  it('a lease written on another primary does not vouch for its gateway: it counts as unknown', async () => {
    const primary = await set.primaryPort();
    // Port 1 of this host: nothing listens there (the links the client tries are refused at once).
    const fake = { address: '127.0.0.1:1', boot: 'f'.repeat(16), epoch: 0, startedAt: Date.now(), synced: true };
    const id = `${fake.address}/${fake.boot}.0`;
    const r = at(primary);
    try {
      await r.set(keys.lease(id), encodeLease({ ...fake, server: 'another-primary' }), 'PX', 60_000);
      await r.sadd(keys.gateways, id);
      await sdk.backplane!.watch.read();
      expect(sdk.backplane!.watch.leaseOf(id)).toBeDefined();
      expect(sdk.backplane!.watch.isSynced(fake.address)).toBe(false);
      // The same lease written on this primary vouches.
      await r.set(keys.lease(id), encodeLease({ ...fake, server: await runId(primary) }), 'PX', 60_000);
      await sdk.backplane!.watch.read();
      expect(sdk.backplane!.watch.isSynced(fake.address)).toBe(true);
    } finally {
      await r.del(keys.lease(id));
      await r.srem(keys.gateways, id);
      await sdk.backplane!.watch.read();
    }
  });

  it('primary SIGKILLed: sends during the failover all delivered (mesh), the directory is rewritten on the new primary, targeting resumes', async () => {
    const [a, b, c] = gateways;
    const oldPrimary = await set.primaryPort();
    const replica = set.replicas[0];
    const { client } = await probe.open(a.url);
    await probe.ask(client, { type: 'bind', uid: 's-f' }, 'bound');
    await eventually(
      () => at(replica.port).hkeys(keys.uid('s-f')),
      (ids) => ids.length === 1,
      's-f replicated',
    );
    // The replica misses that entry, as if the write had not been replicated when the primary died.
    await at(replica.port).config('SET', 'replica-read-only', 'no');
    await at(replica.port).del(keys.uid('s-f'));
    expect(await at(oldPrimary).hkeys(keys.uid('s-f'))).toHaveLength(1);

    // s-f in the directory cache before the kill, whatever ran before this test (DirectoryCache counts no drop of an
    // empty cache whose connection closed: run alone, the cache would hold nothing to drop).
    await eventually(
      async () => {
        await sdk.backplane!.lookups.gatewaysOf('uid', ['s-f']);
        return sdk.backplane!.tracking!.cache.size;
      },
      (n) => n > 0,
      'an entry in the directory cache',
    );
    const before = await probe.counters();
    const drops = sdk.backplane!.stats.cacheDrops;
    const start = client.received.length;
    let sent = 0;
    let sending = true;
    const sender = (async () => {
      while (sending) {
        await sdk.client.sendToUid('s-f', `f${sent}`);
        sent++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const killedAt = Date.now();
    await set.server(oldPrimary).kill();
    let newPrimary = 0;
    try {
      newPrimary = await set.waitFailover(oldPrimary);
      console.log(`sentinel: ${replica.port} promoted ${Date.now() - killedAt} ms after the SIGKILL`);
      // Every gateway rewrote its entries on the new primary: s-f is back, every lease in sync there, with its run_id.
      const run = await runId(newPrimary);
      const rewritten = await eventually(
        async () => ({ leases: await leases(newPrimary), ids: await at(newPrimary).hkeys(keys.uid('s-f')) }),
        (r) =>
          gateways.every((g) =>
            [...r.leases.values()].some((l) => l.address === g.inner && l.synced && l.server === run),
          ) && r.ids.length === 1,
        'the directory rewritten on the new primary',
        30_000,
        100,
      );
      console.log(`sentinel: directory rewritten on the new primary ${Date.now() - killedAt} ms after the SIGKILL`);
      const aId = [...rewritten.leases].find(([, l]) => l.address === a.inner)![0];
      expect(rewritten.ids).toEqual([aId]);
      expect(await at(newPrimary).sismember(keys.ownedUids(aId), 's-f')).toBe(1);
      await synced(gateways.map((g) => g.inner));
    } finally {
      sending = false;
      await within(sender, 'the sender stops', 20_000);
    }
    // Nothing lost: every send of the failover delivered, in order. When one is missing, say which and what each
    // gateway got (an intermittent loss of 1 in ~100 was seen in CI: this is what the next look needs).
    const waited = await client.waitForMessages(start + sent, 15_000).then(
      () => null,
      (err: Error) => err.message,
    );
    const got = client.received.slice(start).map((m) => m.data.toString());
    const during = delta(await probe.counters(), before, 'uid');
    if (waited !== null) {
      const missing = Array.from({ length: sent }, (_, i) => `f${i}`).filter((t) => !got.includes(t));
      console.log(
        `sentinel: LOST ${missing.join(', ')} of ${sent} (killed at +0, promoted and rewritten as logged above); ` +
          `commands per gateway ${JSON.stringify(during)}; fallbacks ${sdk.backplane!.stats.fallbacks}, ` +
          `cache drops ${sdk.backplane!.stats.cacheDrops - drops}`,
      );
    }
    expect(got).toEqual(Array.from({ length: sent }, (_, i) => `f${i}`));
    console.log(`sentinel: ${sent} sends during the failover; commands per gateway ${JSON.stringify(during)}`);
    expect(during[a.inner]).toBe(sent);
    // Some went to the full mesh while the primary was gone.
    expect(during[b.inner]).toBeGreaterThan(0);
    // Targeting resumes on the new primary.
    await eventually(
      async () => {
        const batch = await probe.counters();
        for (let i = 0; i < 10; i++) await sdk.client.sendToUid('s-f', `r${i}`);
        return delta(await probe.counters(), batch, 'uid');
      },
      (d) => d[a.inner] === 10 && d[b.inner] === 0 && d[c.inner] === 0,
      'targeted sends after the failover',
      20_000,
      200,
    );
    // The directory cache was dropped when its connections moved, and is armed again on the new primary (where
    // the repeated sends above were answered from it).
    expect(sdk.backplane!.stats.cacheDrops).toBeGreaterThan(drops);
    await eventually(
      () => sdk.backplane!.tracking!.cache.armed,
      (x) => x,
      'the cache re-armed',
      10_000,
    );
    expect(String(await at(newPrimary).client('LIST'))).toMatch(/ name=ngw-gatewayclient-dir .* flags=t /);
    const hits = sdk.backplane!.stats.cacheHits;
    await sdk.client.sendToUid('s-f', 'cached');
    expect(sdk.backplane!.stats.cacheHits - hits).toBe(1);
    // The gateways said why they rewrote.
    for (const g of gateways)
      await g.proc.waitFor(/another Redis primary than before|lease .* was lost; announcing again/, 5_000);
  });
});
