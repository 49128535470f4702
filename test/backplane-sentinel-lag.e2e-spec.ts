import {
  BackplaneKeys,
  GatewayClientPool,
  resolveGatewayClientOptions,
  type GatewayTransport,
} from 'nest-gateway-worker/internal';
import type { INestMicroservice } from '@nestjs/common';
import { Redis } from 'ioredis';
import { BackplaneProbe, BackplaneTestController } from './support/backplane-probe';
import { waitUntilStopped } from './support/cluster-processes';
import { eventually } from './support/eventually';
import { startInProcessWorker } from './support/in-process-worker';
import { RedisSentinelSet } from './support/redis-server';
import { startGateway, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';

/**
 * A Sentinel failover in which a sender's directory connection reaches the new primary before its discovery has
 * read the leases there (each connection asks the sentinels and reconnects on its own; one run of the failover spec
 * showed the directory connection ready 56 ms before the discovery connection, and the two sends of that window
 * reached nobody). Until discovery re-reads, its view is the old primary's, where every lease said synced; the new
 * primary misses the holder's entry until the holder rewrites it. An answer of the new primary must not be combined
 * with leases read on the old one.
 *
 * The order is held, not waited for: discovery is stopped (GatewayWatch.stop: it keeps its last view, as a
 * discovery connection that comes back later does), and the holder gateway is SIGSTOPped so that it cannot rewrite
 * its entry before the sends (the sends wait in its socket and are read once it runs again). Two senders: one with
 * the directory cache (reads on its own connection), one without (reads on the discovery's connection).
 */

const LEASE_MS = 10_000;
const READ_BUDGET_MS = 1_000;
const SENDS = 5;
const keys = new BackplaneKeys('gw');

describe('Redis backplane on Sentinel: directory answers of a new primary while discovery still shows the old one', () => {
  let set: RedisSentinelSet;
  const gateways: { proc: RoleProcess; url: string; inner: string }[] = [];
  let worker: { app: INestMicroservice; transport: GatewayTransport };
  const senders: { name: string; sdk: GatewayClientPool }[] = [];
  const probe = new BackplaneProbe(() => senders[0].sdk);
  const direct: Redis[] = [];
  let stopped: RoleProcess | null = null;

  function at(port: number): Redis {
    const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 3, retryStrategy: () => 50 });
    r.on('error', () => undefined);
    direct.push(r);
    return r;
  }

  beforeAll(async () => {
    set = await RedisSentinelSet.start({ replicas: 1, sentinels: 3, downAfterMs: 500, failoverTimeoutMs: 2_000 });
    for (let i = 0; i < 2; i++)
      gateways.push(
        await startGateway('', { GATEWAY_BACKPLANE: set.url, GATEWAY_BACKPLANE_LEASE_MS: String(LEASE_MS) }),
      );
    const inners = gateways.map((g) => g.inner);
    worker = await startInProcessWorker(
      [BackplaneTestController],
      { secret: TEST_SECRET, backplane: { url: set.url, timeoutMs: READ_BUDGET_MS } },
      inners,
    );
    for (const cache of [true, false])
      senders.push({
        name: cache ? 'cached' : 'uncached',
        sdk: new GatewayClientPool(
          resolveGatewayClientOptions({
            secret: TEST_SECRET,
            backplane: { url: set.url, timeoutMs: READ_BUDGET_MS, cache },
          }),
        ),
      });
    await eventually(
      () => senders.every(({ sdk }) => inners.every((a) => sdk.backplane!.watch.isSynced(a))),
      (ok) => ok,
      'discovery shows both gateways in sync',
      20_000,
    );
  }, 60_000);

  afterAll(async () => {
    stopped?.child.kill('SIGCONT');
    probe.closeAll();
    for (const { sdk } of senders) await sdk.onModuleDestroy();
    await worker?.app.close();
    await stopAll();
    for (const r of direct) r.disconnect();
    await set?.stop();
  });

  it('sends made then still reach the holder (nothing lost)', async () => {
    const [a] = gateways;
    const oldPrimary = await set.primaryPort();
    const replica = at(set.replicas[0].port);
    const { client } = await probe.open(a.url);
    await probe.ask(client, { type: 'bind', uid: 'lag-u' }, 'bound');
    await eventually(
      () => replica.hkeys(keys.uid('lag-u')),
      (ids) => ids.length === 1,
      'lag-u replicated',
    );
    // The replica misses that entry, as if the write had not been replicated when the primary died.
    await replica.config('SET', 'replica-read-only', 'no');
    await replica.del(keys.uid('lag-u'));

    // Held: the senders' discovery (its view stays the old primary's: every lease synced there) and the holder.
    for (const { sdk } of senders) sdk.backplane!.watch.stop();
    a.proc.child.kill('SIGSTOP');
    stopped = a.proc;
    await waitUntilStopped(a.proc.child.pid!);
    const start = client.received.length;
    const expected: string[] = [];
    try {
      await set.server(oldPrimary).kill();
      const newPrimary = await set.waitFailover(oldPrimary);
      const promoted = at(newPrimary);
      // Both senders' directory reads now go to the new primary (the cached one's own connection, the other's
      // discovery connection), which has no entry for lag-u.
      await eventually(
        async () => String(await promoted.client('LIST')),
        (list) =>
          /name=ngw-gatewayclient-dir /.test(list) && (list.match(/name=ngw-gatewayclient /g) ?? []).length === 2,
        'the senders connected to the new primary',
        20_000,
        20,
      );
      expect(await promoted.hkeys(keys.uid('lag-u'))).toEqual([]);
      for (const { name, sdk } of senders) {
        // The view these sends are decided with: the holder synced, as the old primary said.
        expect(sdk.backplane!.watch.isSynced(a.inner)).toBe(true);
        for (let i = 0; i < SENDS; i++) {
          await sdk.client.sendToUid('lag-u', `${name}${i}`);
          expected.push(`${name}${i}`);
        }
      }
    } finally {
      a.proc.child.kill('SIGCONT');
      stopped = null;
      for (const { sdk } of senders) sdk.backplane!.watch.start();
    }
    const waited = await client.waitForMessages(start + expected.length, 10_000).then(
      () => null,
      (err: Error) => err.message,
    );
    const got = client.received.slice(start).map((m) => m.data.toString());
    if (waited !== null) console.log(`sentinel lag: got ${JSON.stringify(got)} of ${JSON.stringify(expected)}`);
    expect(got).toEqual(expected);
    // Once discovery has read the leases on the new primary and the holder rewrote its entry there, targeting resumes.
    const run = /^run_id:(\w+)/m.exec(await at(await set.primaryPort()).info('server'))![1];
    await eventually(
      () =>
        senders.every(
          ({ sdk }) =>
            sdk.backplane!.watch.viewServer === run && gateways.every((g) => sdk.backplane!.watch.isSynced(g.inner)),
        ),
      (ok) => ok,
      'discovery shows both gateways in sync on the new primary',
      20_000,
    );
    for (const { sdk } of senders)
      await eventually(
        () => sdk.backplane!.targeting.forUids(['lag-u'], [a.inner, gateways[1].inner]),
        (targets) => targets.length === 1 && targets[0] === a.inner,
        'targeted sends on the new primary',
        10_000,
        100,
      );
  });
});
