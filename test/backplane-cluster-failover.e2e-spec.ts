import {
  BackplaneKeys,
  GatewayClientPool,
  resolveGatewayClientOptions,
  type GatewayTransport,
} from 'nest-gateway-worker/internal';
import type { INestMicroservice } from '@nestjs/common';
import { Cluster, Redis } from 'ioredis';
import { BackplaneProbe, BackplaneTestController, delta, syncedIdOf } from './support/backplane-probe';
import { waitUntilStopped } from './support/cluster-processes';
import { eventually } from './support/eventually';
import { startInProcessWorker } from './support/in-process-worker';
import { RedisClusterSet } from './support/redis-server';
import { startGateway, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';
import type { TestClient } from './support/ws-client';

/**
 * Redis Cluster failovers in which the promoted replica missed a uid's directory entry (asynchronous replication: the
 * primary acknowledged the write and failed over before its replica had it). The replica is made to miss it
 * deterministically: a script on the primary deletes the hash on the replica only (`redis.set_repl(REPL_SLAVE)`) and
 * writes it back on the primary only (`REPL_NONE`). The sender's discovery showed the holder in sync (its lease said
 * so, about the entries on the old primary); a directory answer of the promoted replica names nobody.
 *  - `CLUSTER FAILOVER TAKEOVER` on the replica: the old primary stays up and becomes a replica, so no node leaves any
 *    client's pool ('-node' is never emitted): nothing is held.
 *  - the primary SIGKILLed: the holder gateway is SIGSTOPped (it cannot rewrite its entry) and the sender's discovery
 *    stopped (GatewayWatch.stop: its view stays what it read before), as in backplane-sentinel-lag.e2e-spec.ts.
 *  - the primary that also serves the leases SIGKILLed, the holder SIGSTOPped: the promoted replica holds the
 *    holder's lease as replicated (synced), and the sender's discovery reads it there; nothing else is held.
 * Without the Cluster's primaries in the leases and the readers' checks, each case lost 10 sends of 10.
 * Every send must still reach the holder (the mesh, or the holder named), in order.
 */

const LEASE_MS = 10_000;
const READ_BUDGET_MS = 1_000;
const SENDS = 10;
const keys = new BackplaneKeys('gw');

/** Keeps KEYS[1] on this primary and deletes it on its replicas (the replica then "missed" the write). */
const MISS_ON_REPLICA = `
local all = redis.call('HGETALL', KEYS[1])
redis.set_repl(redis.REPL_SLAVE)
redis.call('DEL', KEYS[1])
redis.set_repl(redis.REPL_NONE)
redis.call('HSET', KEYS[1], unpack(all))
return #all`;

describe('Redis backplane on a Redis Cluster: a failover to a replica that missed a directory entry', () => {
  let cluster: RedisClusterSet;
  let inspector: Cluster;
  const gateways: { proc: RoleProcess; url: string; inner: string }[] = [];
  let worker: { app: INestMicroservice; transport: GatewayTransport };
  let sdk: GatewayClientPool;
  const probe = new BackplaneProbe(() => sdk);
  const direct: Redis[] = [];
  let stopped: RoleProcess | null = null;
  /** Two uids on the two primaries that do not serve the discovery keys (the leases stay reachable). */
  const uids: string[] = [];
  /** A uid on the primary that serves the discovery keys (the leases fail over with it). */
  let withLeases = '';

  function at(port: number): Redis {
    const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 3, retryStrategy: () => 50 });
    r.on('error', () => undefined);
    direct.push(r);
    return r;
  }

  /**
   * Binds `uid` on `holder`, checks that a send reaches it (the sender's pool has read the uid's node), then makes
   * the replica of that node miss the entry.
   */
  async function bindMissedOnReplica(holder: (typeof gateways)[number], uid: string) {
    const { client } = await probe.open(holder.url);
    await probe.ask(client, { type: 'bind', uid }, 'bound');
    const id = await eventually(
      () => syncedIdOf(inspector, keys, holder.inner).catch(() => ''),
      (v) => v !== '',
      'a synced lease of the holder',
    );
    await eventually(
      () => inspector.hkeys(keys.uid(uid)),
      (ids) => ids.length === 1 && ids[0] === id,
      `${uid} in the directory`,
    );
    const start = client.received.length;
    await sdk.client.sendToUid(uid, 'warm');
    await client.waitForMessages(start + 1, 5_000);
    const primary = await cluster.portOf(keys.uid(uid));
    const replicaPort = await cluster.replicaOf(primary);
    const replica = at(replicaPort);
    await replica.call('READONLY');
    await eventually(
      () => replica.hkeys(keys.uid(uid)),
      (ids) => ids.length === 1,
      `${uid} replicated`,
    );
    expect(await at(primary).eval(MISS_ON_REPLICA, 1, keys.uid(uid))).toBe(2);
    await eventually(
      () => replica.hkeys(keys.uid(uid)),
      (ids) => ids.length === 0,
      `${uid} missed by the replica`,
    );
    expect(await inspector.hkeys(keys.uid(uid))).toEqual([id]);
    return { client, primary, replicaPort, replica };
  }

  /** SENDS sendToUid to `uid`, one after the other; the messages sent. */
  async function sendAll(uid: string, tag: string): Promise<string[]> {
    const expected: string[] = [];
    for (let i = 0; i < SENDS; i++) {
      await sdk.client.sendToUid(uid, `${tag}${i}`);
      expected.push(`${tag}${i}`);
    }
    return expected;
  }

  /** What `client` received from `start` on, once it has as many as expected or after 10 s. */
  async function received(client: TestClient, start: number, expected: string[], tag: string): Promise<string[]> {
    const waited = await client.waitForMessages(start + expected.length, 10_000).then(
      () => null,
      (err: Error) => err.message,
    );
    const got = client.received.slice(start).map((m) => m.data.toString());
    if (waited !== null) console.log(`cluster failover (${tag}): got ${JSON.stringify(got)} of ${expected.length}`);
    return got;
  }

  beforeAll(async () => {
    cluster = await RedisClusterSet.start({ primaries: 3, replicas: 1 });
    inspector = new Cluster(
      cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
      { redisOptions: { maxRetriesPerRequest: 1 } },
    );
    for (let i = 0; i < 2; i++)
      gateways.push(
        await startGateway('', { GATEWAY_BACKPLANE: cluster.url, GATEWAY_BACKPLANE_LEASE_MS: String(LEASE_MS) }),
      );
    const inners = gateways.map((g) => g.inner);
    worker = await startInProcessWorker(
      [BackplaneTestController],
      { secret: TEST_SECRET, backplane: { url: cluster.url, timeoutMs: READ_BUDGET_MS } },
      inners,
    );
    sdk = new GatewayClientPool(
      resolveGatewayClientOptions({ secret: TEST_SECRET, backplane: { url: cluster.url, timeoutMs: READ_BUDGET_MS } }),
    );
    const discovery = await cluster.portOf(keys.gateways);
    const used = new Set([discovery]);
    for (let n = 0; uids.length < 2 && n < 500; n++) {
      const port = await cluster.portOf(keys.uid(`fo-${n}`));
      if (!used.has(port)) {
        used.add(port);
        uids.push(`fo-${n}`);
      }
    }
    expect(uids.length).toBe(2);
    for (let n = 0; withLeases === '' && n < 500; n++)
      if ((await cluster.portOf(keys.uid(`fl-${n}`))) === discovery) withLeases = `fl-${n}`;
    expect(withLeases).not.toBe('');
    await eventually(
      () => inners.every((a) => sdk.backplane!.watch.isSynced(a)),
      (ok) => ok,
      'discovery shows both gateways in sync',
      20_000,
    );
  }, 60_000);

  afterAll(async () => {
    stopped?.child.kill('SIGCONT');
    probe.closeAll();
    await sdk?.onModuleDestroy();
    await worker?.app.close();
    await stopAll();
    for (const r of direct) r.disconnect();
    inspector?.disconnect();
    await cluster?.stop();
  });

  it('CLUSTER FAILOVER TAKEOVER (no node leaves): sends reach the holder, and the holder rewrites its entry', async () => {
    const [a, b] = gateways;
    const uid = uids[0];
    const { client, primary, replicaPort } = await bindMissedOnReplica(a, uid);
    const takeoverAt = Date.now();
    await at(replicaPort).call('CLUSTER', 'FAILOVER', 'TAKEOVER');
    await cluster.waitPromoted(replicaPort);
    expect(await cluster.portOf(keys.uid(uid))).toBe(replicaPort);
    // (The holder may rewrite it any time now: it reads the slot map again every 5 s.)
    const held = await at(replicaPort).hkeys(keys.uid(uid));
    console.log(
      `cluster takeover: ${replicaPort} took over from ${primary}; it holds ${JSON.stringify(held)} for ${uid}`,
    );
    const start = client.received.length;
    const before = await probe.counters();
    const expected = await sendAll(uid, 't');
    const got = await received(client, start, expected, 'takeover');
    console.log(
      `cluster takeover: commands per gateway ${JSON.stringify(delta(await probe.counters(), before, 'uid'))}`,
    );
    expect(got).toEqual(expected);
    // The holder noticed the new primary (its slot map is refreshed periodically) and rewrote its entry there; the
    // sender's discovery read its lease again: targeted sends resume.
    const id = await eventually(
      () => syncedIdOf(inspector, keys, a.inner).catch(() => ''),
      (v) => v !== '',
      'a synced lease of the holder',
      20_000,
    );
    await eventually(
      () => at(replicaPort).hkeys(keys.uid(uid)),
      (ids) => ids.length === 1 && ids[0] === id,
      `${uid} rewritten on the new primary`,
      20_000,
    );
    await eventually(
      () => sdk.backplane!.targeting.forUids([uid], [a.inner, b.inner]),
      (targets) => targets.length === 1 && targets[0] === a.inner,
      'targeted sends after the takeover',
      20_000,
      200,
    );
    console.log(`cluster takeover: targeted again ${Date.now() - takeoverAt} ms after the takeover`);
  });

  it('a primary SIGKILLed, holder and sender discovery held: sends reach the holder once it runs again', async () => {
    const [a, b] = gateways;
    const uid = uids[1];
    const { client, primary, replicaPort } = await bindMissedOnReplica(a, uid);
    sdk.backplane!.watch.stop();
    a.proc.child.kill('SIGSTOP');
    stopped = a.proc;
    await waitUntilStopped(a.proc.child.pid!);
    const start = client.received.length;
    let expected: string[];
    try {
      const killedAt = Date.now();
      await cluster.server(primary).kill();
      await cluster.waitPromoted(replicaPort);
      console.log(`cluster kill: ${replicaPort} promoted ${Date.now() - killedAt} ms after the SIGKILL of ${primary}`);
      expect(await at(replicaPort).hkeys(keys.uid(uid))).toEqual([]);
      // The view these sends are decided with: the holder synced, as read before the kill.
      expect(sdk.backplane!.watch.isSynced(a.inner)).toBe(true);
      expected = await sendAll(uid, 'k');
    } finally {
      a.proc.child.kill('SIGCONT');
      stopped = null;
      sdk.backplane!.watch.start();
    }
    expect(await received(client, start, expected, 'kill')).toEqual(expected);
    await eventually(
      () => sdk.backplane!.targeting.forUids([uid], [a.inner, b.inner]),
      (targets) => targets.length === 1 && targets[0] === a.inner,
      'targeted sends after the failover',
      20_000,
      200,
    );
  });

  it('the primary of the leases SIGKILLed, holder held: its replica promoted with the leases as they were, sends reach the holder', async () => {
    const [a, b] = gateways;
    const uid = withLeases;
    const { client, primary, replicaPort } = await bindMissedOnReplica(a, uid);
    a.proc.child.kill('SIGSTOP');
    stopped = a.proc;
    await waitUntilStopped(a.proc.child.pid!);
    const start = client.received.length;
    let expected: string[];
    try {
      const killedAt = Date.now();
      await cluster.server(primary).kill();
      await cluster.waitPromoted(replicaPort);
      console.log(`cluster kill (leases): ${replicaPort} promoted ${Date.now() - killedAt} ms after the SIGKILL`);
      // The sender's discovery reads the leases on the promoted replica (the holder's, replicated before the kill,
      // says synced), whose directory misses the holder's entry.
      const reads = sdk.backplane!.watch.reads;
      await eventually(
        () => sdk.backplane!.watch.reads,
        (n) => n > reads,
        'discovery read the leases on the promoted replica',
        20_000,
      );
      expect(await at(replicaPort).hkeys(keys.uid(uid))).toEqual([]);
      console.log(
        `cluster kill (leases): the sender sees the holder synced: ${sdk.backplane!.watch.isSynced(a.inner)}`,
      );
      expected = await sendAll(uid, 'l');
    } finally {
      a.proc.child.kill('SIGCONT');
      stopped = null;
    }
    expect(await received(client, start, expected, 'leases')).toEqual(expected);
    await eventually(
      () => sdk.backplane!.targeting.forUids([uid], [a.inner, b.inner]),
      (targets) => targets.length === 1 && targets[0] === a.inner,
      'targeted sends after the failover',
      20_000,
      200,
    );
  });
});
