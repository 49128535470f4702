import { eventually, sleep } from './support/eventually';
import { batchReceived, sentTo, type AgentCall } from './support/netns-cluster';
import { BackplaneCluster, keys } from './support/netns-backplane-cluster';

/**
 * The Redis backplane across hosts (network namespaces, test/support/netns-backplane-cluster.ts): partitions that
 * cut whole hosts. Every host runs its own processes (gateways on h1/h2, the echo worker and a GatewayClient on h3,
 * WebSocket clients on h4), so a cut is a real one: packets are dropped, no socket is closed. Traffic is bounded
 * (a few hundred sends per phase) and every count is exact: sent = received, no duplicate, in order per uid.
 * Figures (query settle times, fallback counts, recovery times) are printed for the report.
 */

const LEASE_MS = 1_500;
/** The GatewayClient's per-gateway time limit in these tests. */
const CLIENT_TIMEOUT_MS = 1_000;
/** A query must settle (answer or reject) within its time limit plus this slack (a loaded CI machine). */
const SETTLE_SLACK_MS = 2_000;
const GATEWAY_ERRORS = ['GatewayTimeoutError', 'GatewayUnavailableError', 'GatewayPartialFailureError'];

function figure(text: string): void {
  console.log(`[netns figures] ${text}`);
}

/** Asserts that a query settled within its limit: answered, or rejected with a documented gateway error. */
function expectSettled(name: string, r: AgentCall): void {
  figure(
    `${name}: ${r.ok ? `answered ${JSON.stringify(r.value)}` : `rejected ${r.error!.name}`} in ${r.ms.toFixed(0)} ms`,
  );
  if (!r.ok) expect(GATEWAY_ERRORS).toContain(r.error!.name);
  expect(r.ms).toBeLessThan(CLIENT_TIMEOUT_MS + SETTLE_SLACK_MS);
}

/** Longer here: the first round of queries runs while the cut gateway's lease is still alive. */
const SCENARIO1_LEASE_MS = 4_000;

describe('backplane across hosts: a gateway host cut off from everyone (Redis, the other gateway, the worker host)', () => {
  const c = new BackplaneCluster({ leaseMs: SCENARIO1_LEASE_MS, clientTimeoutMs: CLIENT_TIMEOUT_MS });

  beforeAll(() => c.start(), 90_000);
  afterAll(() => c.stop(), 30_000);

  it('the other gateway keeps serving, queries settle within their limit, and healed the host is targeted again', async () => {
    const [g1, g2] = c.gateways;
    const [a1, a2] = await c.openClients(g1, 2);
    const [b1, b2] = await c.openClients(g2, 2);
    await c.bind([
      { id: a1.id, uid: 'a1' },
      { id: a2.id, uid: 'a2' },
      { id: b1.id, uid: 'b1' },
      { id: b2.id, uid: 'b2' },
    ]);
    for (const x of [a1, a2, b1, b2]) await c.sdk.value('joinGroup', x.id, 'grp');
    // Before: targeted, and every client gets exactly its own uid's messages (which also checks the id mapping).
    const pre = ['a1', 'a2', 'b1', 'b2'];
    await c.sdk.sendMany(pre, 40, 'pre');
    const got = await eventually(
      () => c.clients.received(),
      (r) => [a1, a2, b1, b2].every((x, k) => batchReceived(r[x.index].received, 'pre', pre[k]).count === 10),
      'the pre-cut batch',
    );
    [a1, a2, b1, b2].forEach((x, k) =>
      expect(batchReceived(got[x.index].received, 'pre', pre[k])).toEqual({ count: 10, dups: 0, inOrder: true }),
    );
    const failuresBefore = (await c.sdk.stats()).failures;
    const h1Connections = await c.connectionsFrom('h1');
    expect(h1Connections.size).toBeGreaterThan(0);

    c.lab.cutAll('h1');
    const cutAt = Date.now();
    // While h1's lease is still alive (the directory still names it) and after it expired.
    for (const phase of ['lease alive', 'lease expired']) {
      if (phase === 'lease expired') {
        // Gone from Redis, purged by a janitor (a1's entry with it), and the sdk's discovery no longer sees it.
        await eventually(
          async () => ({
            lease: await c.leaseOf(g1.inner),
            a1: await c.inspector.hkeys(keys.uid('a1')),
            synced: (await c.sdk.stats([g1.inner])).synced[g1.inner],
          }),
          (s) => s.lease === undefined && s.a1.length === 0 && !s.synced,
          "h1's lease expired and its entries purged",
          SCENARIO1_LEASE_MS + 10_000,
          100,
        );
        figure(`h1's lease gone and purged, seen by the sdk, ${Date.now() - cutAt} ms after the cut`);
      }
      // All at once, so that in the first phase every one of them runs while the lease is still alive.
      const [count, byGroup, list, cutUid, liveUid] = await Promise.all([
        c.sdk.call<number>('getAllClientCount'),
        c.sdk.call<number>('getClientCountByGroup', 'grp'),
        c.sdk.call<string[]>('getClientIdListByGroup', 'grp'),
        c.sdk.call<boolean>('isUidOnline', 'a1'),
        c.sdk.call<boolean>('isUidOnline', 'b1'),
      ]);
      figure(
        `[${phase}] the queries below ran ${Date.now() - cutAt} ms after the cut (lease ${SCENARIO1_LEASE_MS} ms)`,
      );
      expectSettled(`[${phase}] getAllClientCount`, count);
      expectSettled(`[${phase}] getClientCountByGroup`, byGroup);
      expectSettled(`[${phase}] getClientIdListByGroup`, list);
      expectSettled(`[${phase}] isUidOnline(a1, on the cut host)`, cutUid);
      expectSettled(`[${phase}] isUidOnline(b1)`, liveUid);
      // With rejectOnGatewayFailure off: the survivors' part (h2's 2 clients); h1's part is a reported failure.
      expect(count).toMatchObject({ ok: true, value: 2 });
      expect(byGroup).toMatchObject({ ok: true, value: 2 });
      expect(list.ok && [...list.value!].sort()).toEqual([b1.id, b2.id].sort());
      expect(liveUid).toMatchObject({ ok: true, value: true });
      // a1: while the lease is alive the directory still names h1 (documented: may answer true); after it, h1 is a
      // linked gateway Redis cannot vouch for, asked, and it does not answer: false (or true while its link is up).
      expect(cutUid.ok).toBe(true);
    }
    expect((await c.sdk.stats()).failures).toBeGreaterThan(failuresBefore);

    // The survivors' clients: sends (some to a uid on the cut host, which must not hold the others up) and echo.
    const uids = ['a1', 'b1', 'b2'];
    const sent = await c.sdk.sendMany(uids, 300, 'cut');
    expect(sent.sent).toBe(300);
    figure(`300 sendToUid during the cut (a third to the cut host's uid): ${sent.ms} ms`);
    const echoes = Array.from({ length: 50 }, (_, i) => `echo|${i}`);
    await c.clients.send(b1.index, echoes);
    const during = await eventually(
      () => c.clients.received(),
      (r) =>
        ['b1', 'b2'].every(
          (u, k) => batchReceived(r[[b1, b2][k].index].received, 'cut', u).count === sentTo(300, uids, u),
        ) && r[b1.index].received.filter((t) => t.startsWith('echo|')).length === 50,
      'the survivors got every send and echo',
      20_000,
    );
    for (const [x, u] of [
      [b1, 'b1'],
      [b2, 'b2'],
    ] as const)
      expect(batchReceived(during[x.index].received, 'cut', u)).toEqual({ count: 100, dups: 0, inOrder: true });
    expect(during[b1.index].received.filter((t) => t.startsWith('echo|'))).toEqual(echoes);

    c.lab.healAll('h1');
    const healedAt = Date.now();
    const back = await eventually(
      () => c.leaseOf(g1.inner),
      (l) => l !== undefined && l.synced,
      'h1 announced and synced again',
      20_000,
      50,
    );
    figure(`h1 synced in Redis again ${Date.now() - healedAt} ms after the heal (id ${back!.id})`);
    // It noticed the silent cut (no reply for REDIS_SOCKET_TIMEOUT_MS while commands waited) and opened a new
    // connection, instead of waiting for the old one's backed-off TCP retransmissions.
    expect([...(await c.connectionsFrom('h1'))].filter((id) => !h1Connections.has(id)).length).toBeGreaterThan(0);
    const seen = await c.allSynced([g1.inner, g2.inner]);
    figure(`the sdk saw h1 in sync ${Date.now() - healedAt} ms after the heal (+${seen} ms of waiting there)`);
    // A client that connects to it now, and a uid bound on it: targeted to h1 only.
    const [a3] = await c.openClients(g1, 1);
    await c.bind([{ id: a3.id, uid: 'a3' }]);
    await eventually(
      () => c.inspector.hkeys(keys.uid('a3')),
      (ids) => ids.length === 1 && ids[0] === back!.id,
      'a3 under the new id',
    );
    const before = await c.sdk.uidCommands();
    await c.sdk.sendMany(['a3'], 50, 'healed');
    const after = await eventually(
      () => c.clients.received(),
      (r) => batchReceived(r[a3.index].received, 'healed', 'a3').count === 50,
      'the healed gateway got its sends',
    );
    expect(batchReceived(after[a3.index].received, 'healed', 'a3')).toEqual({ count: 50, dups: 0, inOrder: true });
    expect(BackplaneCluster.delta(await c.sdk.uidCommands(), before)).toEqual({ [g1.inner]: 50, [g2.inner]: 0 });
    const total = await c.sdk.call<number>('getAllClientCount');
    expect(total.ok).toBe(true);
    figure(`after the heal getAllClientCount = ${JSON.stringify(total.value)} in ${total.ms.toFixed(0)} ms`);
  }, 120_000);
});

describe('backplane across hosts: the worker host cut off from Redis only', () => {
  // The directory cache off: this counts what each send's directory read does during the cut (with the cache, the
  // sends right after the cut may be answered by entries read before it, at most 3 s old, until a read fails).
  const c = new BackplaneCluster({
    leaseMs: LEASE_MS,
    clientTimeoutMs: CLIENT_TIMEOUT_MS,
    sdkEnv: { GATEWAY_BACKPLANE_CACHE: 'false' },
  });

  beforeAll(() => c.start(), 90_000);
  afterAll(() => c.stop(), 30_000);

  it('its sends still arrive through the mesh (counted as fallbacks); healed, targeting resumes', async () => {
    const [g1, g2] = c.gateways;
    const [x1] = await c.openClients(g1, 1);
    const [x2] = await c.openClients(g2, 1);
    await c.bind([
      { id: x1.id, uid: 'u1' },
      { id: x2.id, uid: 'u2' },
    ]);
    let stats = await c.sdk.stats();
    let before = await c.sdk.uidCommands();
    await c.sdk.sendMany(['u1'], 20, 'pre');
    expect(BackplaneCluster.delta(await c.sdk.uidCommands(), before)).toEqual({ [g1.inner]: 20, [g2.inner]: 0 });
    expect((await c.sdk.stats()).backplane.fallbacks - stats.backplane.fallbacks).toBe(0);

    const h3Connections = await c.connectionsFrom('h3');
    expect(h3Connections.size).toBeGreaterThan(0);
    c.lab.cutFromData('h3');
    const cutAt = Date.now();
    stats = await c.sdk.stats();
    before = await c.sdk.uidCommands();
    const sent = await c.sdk.sendMany(['u1', 'u2'], 300, 'cut');
    expect(sent.sent).toBe(300);
    const echoes = Array.from({ length: 50 }, (_, i) => `echo|${i}`);
    await c.clients.send(x2.index, echoes);
    const during = await eventually(
      () => c.clients.received(),
      (r) =>
        batchReceived(r[x1.index].received, 'cut', 'u1').count === 150 &&
        batchReceived(r[x2.index].received, 'cut', 'u2').count === 150 &&
        r[x2.index].received.filter((t) => t.startsWith('echo|')).length === 50,
      'every send and echo during the cut',
      20_000,
    );
    expect(batchReceived(during[x1.index].received, 'cut', 'u1')).toEqual({ count: 150, dups: 0, inOrder: true });
    expect(batchReceived(during[x2.index].received, 'cut', 'u2')).toEqual({ count: 150, dups: 0, inOrder: true });
    expect(during[x2.index].received.filter((t) => t.startsWith('echo|'))).toEqual(echoes);
    const cutStats = await c.sdk.stats();
    const fallbacks = cutStats.backplane.fallbacks - stats.backplane.fallbacks;
    figure(
      `worker host cut from Redis: 300 sends in ${sent.ms} ms, ${fallbacks} fallbacks, ` +
        `${cutStats.backplane.reads - stats.backplane.reads} directory reads`,
    );
    // Every call went to the full mesh: each one counted once, each gateway got all of them.
    expect(fallbacks).toBe(300);
    expect(cutStats.backplane.reads - stats.backplane.reads).toBe(0);
    expect(BackplaneCluster.delta(await c.sdk.uidCommands(), before)).toEqual({ [g1.inner]: 300, [g2.inner]: 300 });

    // The cut lasts longer than a connection may stay silent while commands wait (REDIS_SOCKET_TIMEOUT_MS, 2 s).
    await sleep(Math.max(0, 3_000 - (Date.now() - cutAt)));
    c.lab.healData('h3');
    const healedAt = Date.now();
    // Probes until a directory read answers again (each probe is one send to u1).
    let probes = 0;
    await eventually(
      async () => {
        const r0 = (await c.sdk.stats()).backplane.reads;
        await c.sdk.value('sendToUid', 'u1', `probe|${probes++}`);
        return (await c.sdk.stats()).backplane.reads - r0;
      },
      (d) => d === 1,
      'a directory read answers again',
      30_000,
      100,
    );
    figure(
      `worker host healed: directory reads answer again ${Date.now() - healedAt} ms after the heal (${probes} probes)`,
    );
    // The worker host's processes (worker, GatewayClient) reconnected: new connections, not the old ones resumed.
    const reopened = [...(await c.connectionsFrom('h3'))].filter((id) => !h3Connections.has(id));
    figure(`worker host healed: ${reopened.length} new Redis connection(s) from it`);
    expect(reopened.length).toBeGreaterThan(0);
    stats = await c.sdk.stats();
    before = await c.sdk.uidCommands();
    await c.sdk.sendMany(['u1'], 100, 'after');
    const after = await eventually(
      () => c.clients.received(),
      (r) => batchReceived(r[x1.index].received, 'after', 'u1').count === 100,
      'the sends after the heal',
    );
    expect(batchReceived(after[x1.index].received, 'after', 'u1')).toEqual({ count: 100, dups: 0, inOrder: true });
    expect(BackplaneCluster.delta(await c.sdk.uidCommands(), before)).toEqual({ [g1.inner]: 100, [g2.inner]: 0 });
    expect((await c.sdk.stats()).backplane.fallbacks - stats.backplane.fallbacks).toBe(0);
  }, 120_000);
});

describe('backplane across hosts: the Redis host partitioned from everyone, a register configured as well', () => {
  const c = new BackplaneCluster({ leaseMs: LEASE_MS, clientTimeoutMs: CLIENT_TIMEOUT_MS, register: true });

  beforeAll(() => c.start(), 90_000);
  afterAll(() => c.stop(), 30_000);

  it('every send is delivered, a new gateway is discovered through the register; healed, leases and directory are rebuilt', async () => {
    const [g1, g2] = c.gateways;
    const [x1] = await c.openClients(g1, 1);
    const [x2] = await c.openClients(g2, 1);
    await c.bind([
      { id: x1.id, uid: 'u1' },
      { id: x2.id, uid: 'u2' },
    ]);
    const oldIds = new Map([...(await c.leases())].map(([id, l]) => [l.address, id]));

    for (const h of c.lab.hostNames) c.lab.cutFromData(h);
    const cutAt = Date.now();
    let stats = await c.sdk.stats();
    const sent = await c.sdk.sendMany(['u1', 'u2'], 300, 'cut');
    expect(sent.sent).toBe(300);
    // A gateway started during the partition (it cannot reach Redis) is found through the register alone.
    const g3 = await c.startGateway('h5');
    c.gateways.push(g3);
    await c.workerLinked([g3.inner]);
    const [x3] = await c.openClients(g3, 1);
    await c.sdk.value('bindUid', x3.id, 'u3');
    await c.sdk.sendMany(['u3'], 50, 'newgw');
    const echoes = Array.from({ length: 20 }, (_, i) => `echo|${i}`);
    await c.clients.send(x3.index, echoes);
    const during = await eventually(
      () => c.clients.received(),
      (r) =>
        batchReceived(r[x1.index].received, 'cut', 'u1').count === 150 &&
        batchReceived(r[x2.index].received, 'cut', 'u2').count === 150 &&
        batchReceived(r[x3.index].received, 'newgw', 'u3').count === 50 &&
        r[x3.index].received.filter((t) => t.startsWith('echo|')).length === 20,
      'every send during the partition',
      20_000,
    );
    expect(batchReceived(during[x1.index].received, 'cut', 'u1')).toEqual({ count: 150, dups: 0, inOrder: true });
    expect(batchReceived(during[x2.index].received, 'cut', 'u2')).toEqual({ count: 150, dups: 0, inOrder: true });
    expect(batchReceived(during[x3.index].received, 'newgw', 'u3')).toEqual({ count: 50, dups: 0, inOrder: true });
    expect(during[x3.index].received.filter((t) => t.startsWith('echo|'))).toEqual(echoes);
    const cutStats = await c.sdk.stats();
    figure(
      `Redis partitioned: 300 sends in ${sent.ms} ms, ${cutStats.backplane.fallbacks - stats.backplane.fallbacks} fallbacks ` +
        `(${cutStats.backplane.reads - stats.backplane.reads} reads); a gateway started meanwhile served after ${Date.now() - cutAt} ms`,
    );
    expect(cutStats.backplane.fallbacks - stats.backplane.fallbacks).toBe(350);
    expect(cutStats.backplane.reads - stats.backplane.reads).toBe(0);
    // Longer than a lease: in Redis every lease is gone.
    await eventually(
      () => c.leases(),
      (m) => m.size === 0,
      'every lease expired in Redis',
      LEASE_MS + 10_000,
      100,
    );
    await sleep(100);

    for (const h of c.lab.hostNames) c.lab.healData(h);
    const healedAt = Date.now();
    const rebuilt = await eventually(
      async () => ({
        leases: await c.leases(),
        dir: await Promise.all(['u1', 'u2', 'u3'].map((u) => c.inspector.hkeys(keys.uid(u)))),
      }),
      (s) =>
        c.gateways.every((g) => [...s.leases.values()].some((l) => l.address === g.inner && l.synced)) &&
        s.dir.every((ids) => ids.length === 1 && s.leases.get(ids[0])?.synced === true),
      'every lease synced and every uid in the directory again',
      30_000,
      50,
    );
    figure(`Redis healed: leases and directory rebuilt ${Date.now() - healedAt} ms after the heal`);
    for (const g of [g1, g2]) {
      const id = [...rebuilt.leases].find(([, l]) => l.address === g.inner)![0];
      expect(id).not.toBe(oldIds.get(g.inner));
    }
    const seen = await c.allSynced(c.gateways.map((g) => g.inner));
    figure(`the sdk saw all three in sync ${Date.now() - healedAt} ms after the heal (+${seen} ms there)`);
    // Targeting resumes (once a directory read answers: the breaker retries after 1 s).
    let probes = 0;
    await eventually(
      async () => {
        const r0 = (await c.sdk.stats()).backplane.reads;
        await c.sdk.value('sendToUid', 'u1', `probe|${probes++}`);
        return (await c.sdk.stats()).backplane.reads - r0;
      },
      (d) => d === 1,
      'a directory read answers again',
      30_000,
      100,
    );
    stats = await c.sdk.stats();
    const before = await c.sdk.uidCommands();
    await c.sdk.sendMany(['u1'], 60, 'after');
    const after = await eventually(
      () => c.clients.received(),
      (r) => batchReceived(r[x1.index].received, 'after', 'u1').count === 60,
      'the sends after the heal',
    );
    expect(batchReceived(after[x1.index].received, 'after', 'u1')).toEqual({ count: 60, dups: 0, inOrder: true });
    expect(BackplaneCluster.delta(await c.sdk.uidCommands(), before)).toEqual({
      [g1.inner]: 60,
      [g2.inner]: 0,
      [g3.inner]: 0,
    });
    expect((await c.sdk.stats()).backplane.fallbacks - stats.backplane.fallbacks).toBe(0);
  }, 150_000);
});
