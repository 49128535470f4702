import {
  BackplaneKeys,
  GatewayClientPool,
  resolveGatewayClientOptions,
  type GatewayLease,
  type GatewayTransport,
} from 'nest-gateway-worker/internal';
import type { INestMicroservice } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { BackplaneProbe, BackplaneTestController, delta, readLeases, syncedIdOf } from './support/backplane-probe';
import { eventually } from './support/eventually';
import { startInProcessWorker } from './support/in-process-worker';
import { RedisClusterSet } from './support/redis-server';
import { startGateway, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';
import type { TestClient } from './support/ws-client';

/**
 * The Redis backplane on a real Redis Cluster (three primaries, redis-server children of this test): three gateway
 * processes on a `redis+cluster://` URL, an in-process worker on the same URL, and a standalone GatewayClient given
 * its own ioredis Cluster client (DI form). The uids and groups used are picked so that their keys live on
 * different nodes than each other and than the gateways' ownership sets, so every write batch, directory read and
 * janitor purge crosses nodes. Every backplane connection logs in as an ACL user with exactly the rules the README
 * lists (standalone rules, history's, and the Cluster additions). What a send reached is read from every gateway's
 * own command counters.
 */

const PASSWORD = 'cluster-acl-pw-81d2';
/** README, Security: the backplane's rules, history's, and what a Cluster adds. */
const ACL_RULES = [
  '+get +set +getex +del +mget +sadd +srem +smembers +sscan +hkeys +hset +hdel +publish +subscribe +info',
  '+client|setname +ping +quit',
  '+evalsha +eval +hget +hmget +hincrby +xadd +xrange +pexpire',
  '+cluster|info +cluster|slots +asking',
]
  .join(' ')
  .split(' ');

const LEASE_MS = 1_500;
/** Directory read budget: the budget and its fallback are not under test here, and the test machine is shared. */
const READ_BUDGET_MS = 1_000;
const keys = new BackplaneKeys('gw');

interface Gateway {
  proc: RoleProcess;
  url: string;
  inner: string;
}

describe('Redis backplane on a Redis Cluster (3 primaries with a replica each, three gateways, no register)', () => {
  let cluster: RedisClusterSet;
  let inspector: Cluster;
  let sdkClient: Cluster;
  const gateways: Gateway[] = [];
  let worker: { app: INestMicroservice; transport: GatewayTransport };
  let sdk: GatewayClientPool;
  const probe = new BackplaneProbe(() => sdk);

  const leases = (): Promise<Map<string, GatewayLease>> => readLeases(inspector, keys);

  const idOf = (inner: string): Promise<string> => syncedIdOf(inspector, keys, inner);

  /** `count` names `<prefix>-<n>` whose key (keyOf) is served by `count` different nodes, one each. */
  async function namesOnDistinctNodes(prefix: string, keyOf: (name: string) => string): Promise<string[]> {
    const byPort = new Map<number, string>();
    for (let n = 0; byPort.size < cluster.primaries && n < 200; n++) {
      const name = `${prefix}-${n}`;
      const port = await cluster.portOf(keyOf(name));
      if (!byPort.has(port)) byPort.set(port, name);
    }
    expect(byPort.size).toBe(cluster.primaries);
    return [...byPort.values()];
  }

  beforeAll(async () => {
    cluster = await RedisClusterSet.start({
      primaries: 3,
      // A replica each: the last test fails a primary over.
      replicas: 1,
      // The default user stays on (redis-cli and the inspector use it); the backplane logs in as gwapp.
      args: ['--user', 'gwapp', 'on', `>${PASSWORD}`, '~gw:*', '&gw:*', ...ACL_RULES],
    });
    const nodes = cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
    inspector = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
    const url = cluster.url.replace('redis+cluster://', `redis+cluster://gwapp:${PASSWORD}@`);
    for (let i = 0; i < 3; i++)
      gateways.push(
        await startGateway('', {
          GATEWAY_BACKPLANE: url,
          GATEWAY_BACKPLANE_LEASE_MS: String(LEASE_MS),
        }),
      );
    const inners = gateways.map((g) => g.inner);
    worker = await startInProcessWorker(
      [BackplaneTestController],
      { secret: TEST_SECRET, backplane: { url, timeoutMs: READ_BUDGET_MS }, sessionStore: 'backplane' },
      inners,
    );
    // The DI form: the application's own Cluster client; the backplane duplicates it and never uses it.
    sdkClient = new Cluster(nodes, { lazyConnect: true, redisOptions: { username: 'gwapp', password: PASSWORD } });
    sdk = new GatewayClientPool(
      resolveGatewayClientOptions({
        secret: TEST_SECRET,
        backplane: { client: sdkClient, timeoutMs: READ_BUDGET_MS },
      }),
    );
    await eventually(
      () => inners.every((a) => sdk.backplane!.watch.isSynced(a) && worker.transport.backplane!.watch.isSynced(a)),
      (ok) => ok,
      'discovery shows every gateway in sync',
      20_000,
    );
  }, 60_000);

  afterAll(async () => {
    probe.closeAll();
    await sdk?.onModuleDestroy();
    await worker?.app.close();
    await stopAll();
    inspector?.disconnect();
    sdkClient?.disconnect();
    await cluster?.stop();
  });

  it('discovers the gateways through their leases; the backplane connections are Cluster clients', async () => {
    expect([...(await leases()).values()].map((l) => l.address).sort()).toEqual(gateways.map((g) => g.inner).sort());
    // The ownership sets of the three gateways: their own slots (a tag per gateway id).
    const owners = await Promise.all(gateways.map(async (g) => cluster.portOf(keys.ownedUids(await idOf(g.inner)))));
    expect(owners.every((p) => cluster.nodes.some((n) => n.port === p))).toBe(true);
    // The directory cache is off on a Cluster (README: each node would need its own tracking redirect), although
    // it is on by default: every send reads the directory, and the Cluster rules need no tracking permission.
    expect(sdk.backplane!.tracking).toBeNull();
    expect(worker.transport.backplane!.tracking).toBeNull();
  });

  it('1 000 sendToUid to a uid on one gateway: all delivered in order, the two others get none (uids on 3 nodes)', async () => {
    const [a, b, c] = gateways;
    const uids = await namesOnDistinctNodes('cu', (u) => keys.uid(u));
    const holders = [a, b, c];
    const clients: TestClient[] = [];
    for (let i = 0; i < 3; i++) {
      const { client } = await probe.open(holders[i].url);
      await probe.ask(client, { type: 'bind', uid: uids[i] }, 'bound');
      clients.push(client);
    }
    for (let i = 0; i < 3; i++) {
      const id = await idOf(holders[i].inner);
      await eventually(
        () => inspector.hkeys(keys.uid(uids[i])),
        (ids) => ids.length === 1 && ids[0] === id,
        `${uids[i]} in the directory`,
      );
    }
    for (let i = 0; i < 3; i++) {
      const before = await probe.counters();
      const start = clients[i].received.length;
      for (let n = 0; n < 1000; n++) await sdk.client.sendToUid(uids[i], `m${n}`);
      await clients[i].waitForMessages(start + 1000, 20_000);
      expect(clients[i].received.slice(start).map((m) => m.data.toString())).toEqual(
        Array.from({ length: 1000 }, (_, n) => `m${n}`),
      );
      expect(delta(await probe.counters(), before, 'uid')).toEqual(
        Object.fromEntries(holders.map((g, j) => [g.inner, j === i ? 1000 : 0])),
      );
    }
    // One call for the three uids (a directory read across the three nodes): each holder gets one command.
    const before = await probe.counters();
    await sdk.client.sendToUid(uids, 'all three');
    for (const client of clients)
      await client.waitUntilReceived(
        () => client.received.find((m) => m.data.toString() === 'all three'),
        'the three-uid send',
      );
    expect(delta(await probe.counters(), before, 'uid')).toEqual({ [a.inner]: 1, [b.inner]: 1, [c.inner]: 1 });
    expect(sdk.backplane!.stats.fallbacks).toBe(0);
    expect(await sdk.client.isUidsOnline([...uids, 'nobody'])).toEqual({
      ...Object.fromEntries(uids.map((u) => [u, true])),
      nobody: false,
    });
  });

  it('1 000 sendToGroup to a group on one gateway: all delivered in order, the two others get none (groups on 3 nodes)', async () => {
    const groups = await namesOnDistinctNodes('cg', (g) => keys.group(g));
    for (let i = 0; i < 3; i++) {
      const holder = gateways[(i + 1) % 3];
      const { client } = await probe.open(holder.url);
      await probe.ask(client, { type: 'join', group: groups[i] }, 'joined');
      await eventually(
        () => inspector.hkeys(keys.group(groups[i])),
        (ids) => ids.length === 1,
        `${groups[i]} in the directory`,
      );
      const before = await probe.counters();
      const start = client.received.length;
      for (let n = 0; n < 1000; n++) await sdk.client.sendToGroup(groups[i], `g${n}`);
      await client.waitForMessages(start + 1000, 20_000);
      expect(client.received.slice(start).map((m) => m.data.toString())).toEqual(
        Array.from({ length: 1000 }, (_, n) => `g${n}`),
      );
      expect(delta(await probe.counters(), before, 'group')).toEqual(
        Object.fromEntries(gateways.map((g) => [g.inner, g === holder ? 1000 : 0])),
      );
      expect(await sdk.client.getClientCountByGroup(groups[i])).toBe(1);
    }
  });

  it('RedisSessionStore: a session saved through one gateway is loaded through another (sessions on 3 nodes)', async () => {
    const [a, b] = gateways;
    for (const uid of await namesOnDistinctNodes('cs', (u) => keys.session(u))) {
      const first = await probe.open(a.url);
      const saved = await probe.ask<{ session: Record<string, unknown> }>(
        first.client,
        { type: 'login', uid, nick: `nick-${uid}` },
        'session',
      );
      expect(saved.session).toEqual({ nick: `nick-${uid}` });
      await eventually(
        () => inspector.get(keys.session(uid)),
        (v) => v !== null,
        'the stored session',
      );
      first.client.close();
      const second = await probe.open(b.url);
      const loaded = await probe.ask<{ session: Record<string, unknown> }>(
        second.client,
        { type: 'login', uid },
        'session',
      );
      expect(loaded.session).toEqual({ nick: `nick-${uid}` });
    }
  });

  it('history: append and recover, for uids whose streams live on 3 nodes (one Lua script per slot), and a }-uid', async () => {
    const [a, b] = gateways;
    const lines = (client: TestClient) =>
      client.received
        .map((m) => m.data.toString())
        .filter((t) => t.startsWith('{"text"'))
        .map((t) => JSON.parse(t) as { text: string; offset: number; epoch: string });
    // And a uid starting with "}" (an empty hash tag if written as is: its two keys would cross slots).
    for (const uid of [...(await namesOnDistinctNodes('ch', (u) => keys.history('uid', u))), '}ch-brace']) {
      // The stream and its meta hash share a slot.
      expect(await cluster.portOf(keys.historyMeta('uid', uid))).toBe(await cluster.portOf(keys.history('uid', uid)));
      const first = await probe.open(a.url);
      await probe.ask(first.client, { type: 'bind', uid }, 'bound');
      for (const text of ['one', 'two']) await probe.ask(first.client, { type: 'say', uid, text }, 'said');
      await first.client.waitUntilReceived(() => (lines(first.client).length === 2 ? true : undefined), 'two lines');
      const last = lines(first.client)[1];
      expect(last.offset).toBe(2);
      first.client.close();
      const other = await probe.open(b.url);
      for (const text of ['three', 'four']) await probe.ask(other.client, { type: 'say', uid, text }, 'said');
      const back = await probe.open(b.url);
      expect(
        await probe.ask(back.client, { type: 'resume', uid, offset: last.offset, epoch: last.epoch }, 'resumed'),
      ).toMatchObject({ recovered: true, count: 2 });
      await back.client.waitUntilReceived(() => (lines(back.client).length === 2 ? true : undefined), 'missed lines');
      expect(lines(back.client).map((l) => [l.text, l.offset])).toEqual([
        ['three', 3],
        ['four', 4],
      ]);
    }
  });

  it('a SIGKILLed gateway is purged after its lease expired: its fields on every node, its sets, its listing', async () => {
    const victim = gateways[2];
    const id = await idOf(victim.inner);
    const uids = await namesOnDistinctNodes('ck', (u) => keys.uid(u));
    // A client has one uid: one client per uid.
    for (const uid of uids) await probe.ask((await probe.open(victim.url)).client, { type: 'bind', uid }, 'bound');
    await eventually(
      () => Promise.all(uids.map((u) => inspector.hkeys(keys.uid(u)))),
      (all) => all.every((ids) => ids.length === 1 && ids[0] === id),
      'the three uids in the directory',
    );
    expect(await inspector.scard(keys.ownedUids(id))).toBeGreaterThanOrEqual(3);
    await victim.proc.kill();
    const killedAt = Date.now();
    await eventually(
      async () => ({
        fields: await Promise.all(uids.map((u) => inspector.hkeys(keys.uid(u)))),
        owned: await inspector.exists(keys.ownedUids(id)),
        ownedGroups: await inspector.exists(keys.ownedGroups(id)),
        listed: await inspector.sismember(keys.gateways, id),
        lease: await inspector.exists(keys.lease(id)),
      }),
      (r) => r.fields.every((f) => f.length === 0) && r.owned + r.ownedGroups + r.listed + r.lease === 0,
      'the dead gateway purged',
      20_000,
      100,
    );
    console.log(`cluster: SIGKILLed gateway purged ${Date.now() - killedAt} ms after the kill (lease ${LEASE_MS} ms)`);
    gateways.splice(2, 1);
    // The two others are still targeted.
    const [a, b] = gateways;
    const { client: held } = await probe.open(a.url);
    await probe.ask(held, { type: 'bind', uid: uids[0] }, 'bound');
    await eventually(
      () => inspector.hkeys(keys.uid(uids[0])),
      (ids) => ids.length === 1,
      'rebound',
    );
    const before = await probe.counters();
    const start = held.received.length;
    for (let n = 0; n < 10; n++) await sdk.client.sendToUid(uids[0], `after-${n}`);
    await held.waitForMessages(start + 10, 5_000);
    expect(delta(await probe.counters(), before, 'uid')).toEqual({ [a.inner]: 10, [b.inner]: 0 });
  });
  it('a primary SIGKILLed: sends delivered meanwhile, its replica promoted, the gateways rewrite their entries, targeting resumes', async () => {
    const [a, b] = gateways;
    // A uid whose hash lives on another node than the discovery keys (the leases keep working meanwhile).
    const discovery = await cluster.portOf(keys.gateways);
    let uid = '';
    for (let n = 0; uid === '' && n < 200; n++)
      if ((await cluster.portOf(keys.uid(`cf-${n}`))) !== discovery) uid = `cf-${n}`;
    const victim = await cluster.portOf(keys.uid(uid));
    const replica = await cluster.replicaOf(victim);
    const { client } = await probe.open(a.url);
    await probe.ask(client, { type: 'bind', uid }, 'bound');
    await eventually(
      () => inspector.hkeys(keys.uid(uid)),
      (ids) => ids.length === 1,
      `${uid} in the directory`,
    );
    const idBefore = await idOf(a.inner);
    const before = await probe.counters();
    const start = client.received.length;
    let sent = 0;
    let sending = true;
    const sender = (async () => {
      while (sending) {
        await sdk.client.sendToUid(uid, `f${sent}`);
        sent++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const killedAt = Date.now();
    await cluster.server(victim).kill();
    try {
      await cluster.waitPromoted(replica);
      console.log(`cluster: replica ${replica} promoted ${Date.now() - killedAt} ms after the SIGKILL of ${victim}`);
      // The gateways noticed the node leaving and rewrote their entries (with synced:false first).
      for (const g of gateways)
        await g.proc.waitFor(/a Redis Cluster node left; rewriting the directory entries/, 20_000);
      const id = await eventually(
        () => idOf(a.inner).catch(() => ''),
        (v) => v !== '',
        'a synced lease of the holder',
        20_000,
      );
      await eventually(
        async () => ({ ids: await inspector.hkeys(keys.uid(uid)), port: await cluster.portOf(keys.uid(uid)) }),
        (r) => r.port === replica && r.ids.length === 1 && r.ids[0] === id,
        `${uid} on the promoted replica`,
        20_000,
      );
      // The lease's node ({d}) stayed up: the holder kept its lease and id through the failover. Before resyncs ran
      // beside the renewals, a renewal waited behind the resync's writes to the failed node and the lease expired
      // (in every run), and a janitor purging the old id while those writes landed could leave its field behind.
      expect(id).toBe(idBefore);
    } finally {
      sending = false;
      await sender;
    }
    await client.waitForMessages(start + sent, 15_000);
    expect(client.received.slice(start).map((m) => m.data.toString())).toEqual(
      Array.from({ length: sent }, (_, i) => `f${i}`),
    );
    const during = delta(await probe.counters(), before, 'uid');
    console.log(`cluster: ${sent} sends during the failover; commands per gateway ${JSON.stringify(during)}`);
    expect(during[a.inner]).toBe(sent);
    await eventually(
      async () => {
        const batch = await probe.counters();
        for (let i = 0; i < 10; i++) await sdk.client.sendToUid(uid, `r${i}`);
        return delta(await probe.counters(), batch, 'uid');
      },
      (d) => d[a.inner] === 10 && d[b.inner] === 0,
      'targeted sends after the failover',
      20_000,
      200,
    );
  });
});
