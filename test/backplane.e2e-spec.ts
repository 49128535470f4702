import { ClientId, MessageBody, OnClientMessage } from 'nest-gateway-worker';
import {
  BackplaneKeys,
  GatewayClientPool,
  resolveGatewayClientOptions,
  type GatewayLease,
  type GatewayTransport,
} from 'nest-gateway-worker/internal';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { Redis } from 'ioredis';
import { eventually, within } from './support/eventually';
import { startInProcessWorker } from './support/in-process-worker';
import { RedisServer } from './support/redis-server';
import { startGateway, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';
import { TestClient } from './support/ws-client';
import { BackplaneTestController, readLeases, syncedIdOf } from './support/backplane-probe';

/**
 * The Redis backplane against real processes: a real redis-server (a child of this test, persistence off), three
 * gateway processes that find each other's clients only through it (no register at all), an in-process worker and
 * a standalone GatewayClient (forClient's pool) that discover the gateways through their leases. What a send
 * reached is read from every gateway's own command counters (uidCommands / groupCommands); what Redis holds is
 * read with a separate connection.
 */

const LEASE_MS = 1_500;
/**
 * The directory budget of the worker and the SDK here (GATEWAY_BACKPLANE_TIMEOUT_MS, default 50 ms): what these tests
 * count is where sends go, so a machine loaded by other tests must not push a read over the budget (that happened with
 * 50 ms: 409 of 1 000 group sends went to the mesh). The fallback itself is tested with Redis stopped.
 */
const BUDGET_MS = 500;
const keys = new BackplaneKeys('gw');

/** The shared test controller, plus a bind or a join followed at once by a send from this worker. */
@Controller()
class BackplaneController extends BackplaneTestController {
  /** Binds and sends at once, from this worker: the directory cannot show the bind yet. */
  @OnClientMessage('bind-send')
  async bindSend(@ClientId() clientId: string, @MessageBody() body: { uid: string }) {
    await this.gw.bindUid(clientId, body.uid);
    await this.gw.sendToUid(body.uid, `hello ${body.uid}`);
    return { type: 'sent' };
  }

  /** Joins and sends to the group at once, from this worker. */
  @OnClientMessage('join-send')
  async joinSend(@ClientId() clientId: string, @MessageBody() body: { group: string }) {
    await this.gw.joinGroup(clientId, body.group);
    await this.gw.sendToGroup(body.group, `hello ${body.group}`);
    return { type: 'sent' };
  }
}

interface Gateway {
  proc: RoleProcess;
  url: string;
  inner: string;
}

describe('Redis backplane (real redis-server, three gateways, no register)', () => {
  let redis: RedisServer;
  let inspector: Redis;
  const gateways: Gateway[] = [];
  let worker: { app: INestMicroservice; transport: GatewayTransport };
  let sdk: GatewayClientPool;
  const clients: TestClient[] = [];

  const gatewayEnv = (): Record<string, string> => ({
    GATEWAY_BACKPLANE: redis.url,
    GATEWAY_BACKPLANE_LEASE_MS: String(LEASE_MS),
    ADMIN_LISTEN: '127.0.0.1:0',
  });

  async function open(url: string): Promise<{ client: TestClient; clientId: string }> {
    const client = await TestClient.open(url);
    clients.push(client);
    client.send(JSON.stringify({ type: 'whoami' }));
    const clientId = await client.waitUntilReceived(() => {
      for (const m of client.received) {
        const v = JSON.parse(m.data.toString()) as { type?: string; clientId?: string };
        if (v.type === 'me') return v.clientId;
      }
      return undefined;
    }, 'whoami reply');
    return { client, clientId };
  }

  /** Sends a request to the worker through `client` and waits for the reply of `type`. */
  async function ask<T>(client: TestClient, request: object, type: string): Promise<T> {
    const before = client.received.length;
    client.send(JSON.stringify(request));
    return client.waitUntilReceived(() => {
      for (const m of client.received.slice(before)) {
        const text = m.data.toString();
        if (!text.startsWith('{')) continue;
        const v = JSON.parse(text) as { type?: string };
        if (v.type === type) return v as T;
      }
      return undefined;
    }, `${type} reply`);
  }

  /** Every gateway's uidCommands and groupCommands, by inner address (a query that counts as neither). */
  async function counters(): Promise<Map<string, { uid: number; group: number }>> {
    const stats = await sdk.client.getGatewayStats();
    return new Map(
      stats.map((s) => [s.address, { uid: s.counters.uidCommands ?? 0, group: s.counters.groupCommands ?? 0 }]),
    );
  }

  function delta(
    after: Map<string, { uid: number; group: number }>,
    before: Map<string, { uid: number; group: number }>,
    kind: 'uid' | 'group',
  ): Record<string, number> {
    return Object.fromEntries([...after].map(([a, c]) => [a, c[kind] - (before.get(a)?.[kind] ?? 0)]));
  }

  /** A client on `gateway` bound to `uid` (through the worker), once the directory shows it. */
  async function holding(gateway: Gateway, uid: string): Promise<{ client: TestClient; clientId: string }> {
    const opened = await open(gateway.url);
    await ask(opened.client, { type: 'bind', uid }, 'bound');
    await eventually(
      () => inspector.hkeys(keys.uid(uid)),
      (ids) => ids.length === 1,
      `${uid} in the directory`,
    );
    return opened;
  }

  /** The leases in Redis now, by gateway id. */
  const leases = (): Promise<Map<string, GatewayLease>> => readLeases(inspector, keys);

  const idOf = (inner: string): Promise<string> => syncedIdOf(inspector, keys, inner);

  /** Waits until the worker's and the SDK's discovery see every one of `inners` in sync. */
  async function allSynced(inners: string[]): Promise<void> {
    await eventually(
      () => inners.every((a) => sdk.backplane!.watch.isSynced(a) && worker.transport.backplane!.watch.isSynced(a)),
      (ok) => ok,
      `discovery shows ${inners.join(', ')} in sync`,
      15_000,
    );
  }

  beforeAll(async () => {
    redis = await RedisServer.start();
    inspector = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    for (let i = 0; i < 3; i++) gateways.push(await startGateway('', gatewayEnv()));
    const inners = gateways.map((g) => g.inner);
    worker = await startInProcessWorker(
      [BackplaneController],
      { secret: TEST_SECRET, backplane: { url: redis.url, timeoutMs: BUDGET_MS }, sessionStore: 'backplane' },
      inners,
    );
    sdk = new GatewayClientPool(
      resolveGatewayClientOptions({ secret: TEST_SECRET, backplane: { url: redis.url, timeoutMs: BUDGET_MS } }),
    );
    await allSynced(inners);
  }, 60_000);

  // Each test starts from a healthy cluster, whatever the one before did or left (a failed test must not fail
  // the next ones): Redis running, every gateway synced in Redis and seen in sync by the worker and the SDK.
  beforeEach(async () => {
    redis.resume();
    await eventually(
      () => leases(),
      (m) => gateways.every((g) => [...m.values()].some((l) => l.address === g.inner && l.synced)),
      'every gateway synced in Redis',
      20_000,
    );
    await allSynced(gateways.map((g) => g.inner));
    // And directory reads answer (a read that failed in the test before keeps the next ones off for a second).
    for (const reader of [sdk.backplane!.reader, worker.transport.backplane!.reader])
      await eventually(
        () => reader.gatewaysOf('uid', ['-']),
        (r) => r !== null,
        'a directory read answering',
        10_000,
        100,
      );
  }, 30_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await sdk?.onModuleDestroy();
    await worker?.app.close();
    await stopAll();
    inspector?.disconnect();
    await redis?.stop();
  });

  it('discovers the gateways through their leases alone (no register), each under a per-boot id', async () => {
    const byAddress = [...(await leases())].map(([id, l]) => ({ id, address: l.address, synced: l.synced }));
    expect(byAddress.map((l) => l.address).sort()).toEqual(gateways.map((g) => g.inner).sort());
    for (const l of byAddress)
      expect(l.id).toMatch(new RegExp(`^${l.address.replace(/\./g, '\\.')}/[0-9a-f]{16}\\.0$`));
    expect((await sdk.client.getGatewayStats()).length).toBe(3);
    // Ready (GET /health/ready) with no register at all: announced on the backplane, a worker linked.
    for (const g of gateways) {
      const [, admin] = await g.proc.waitFor(/Admin listening on (http:\/\/\S+) /);
      const ready = await eventually(
        async () => {
          const res = await fetch(`${admin}/health/ready`);
          return { status: res.status, body: (await res.json()) as { checks: Record<string, unknown> } };
        },
        (r) => r.status === 200,
        `${g.inner} ready`,
      );
      expect(ready.body.checks).toMatchObject({ registers: 0, backplaneAnnounced: true });
      const metrics = await (await fetch(`${admin}/metrics`)).text();
      expect(metrics).toMatch(/^gatewayworker_backplane_announced 1$/m);
      expect(metrics).toMatch(/^gatewayworker_backplane_resyncs_total [1-9]\d*$/m);
    }
  });

  it('1 000 sendToUid to a uid on one gateway: that gateway gets all of them, the two others none', async () => {
    const [a, b, c] = gateways;
    const { client } = await open(a.url);
    await ask(client, { type: 'bind', uid: 'u-a' }, 'bound');
    // The directory shows the bind (the SDK has no memory of it: only the directory can target it).
    await eventually(
      () => inspector.hkeys(keys.uid('u-a')),
      (ids) => ids.length === 1,
      'u-a in the directory',
    );
    const before = await counters();
    const narrowedBefore = sdk.backplane!.stats.narrowed;
    const fallbacksBefore = sdk.backplane!.stats.fallbacks;
    const start = client.received.length;
    for (let i = 0; i < 1000; i++) await sdk.client.sendToUid('u-a', `m${i}`);
    await client.waitForMessages(start + 1000, 15_000);
    expect(client.received.slice(start).map((m) => m.data.toString())).toEqual(
      Array.from({ length: 1000 }, (_, i) => `m${i}`),
    );
    const uid = delta(await counters(), before, 'uid');
    expect(uid).toEqual({ [a.inner]: 1000, [b.inner]: 0, [c.inner]: 0 });
    expect(sdk.backplane!.stats.narrowed - narrowedBefore).toBe(1000);
    expect(sdk.backplane!.stats.fallbacks - fallbacksBefore).toBe(0);
  });

  it('1 000 sendToGroup to a group on one gateway: that gateway gets all of them, the two others none', async () => {
    const [a, b, c] = gateways;
    const { client } = await open(b.url);
    await ask(client, { type: 'join', group: 'g-b' }, 'joined');
    await eventually(
      () => inspector.hkeys(keys.group('g-b')),
      (ids) => ids.length === 1,
      'g-b in the directory',
    );
    const before = await counters();
    const start = client.received.length;
    for (let i = 0; i < 1000; i++) await sdk.client.sendToGroup('g-b', `g${i}`);
    await client.waitForMessages(start + 1000, 15_000);
    expect(client.received.slice(start).map((m) => m.data.toString())).toEqual(
      Array.from({ length: 1000 }, (_, i) => `g${i}`),
    );
    expect(delta(await counters(), before, 'group')).toEqual({ [a.inner]: 0, [b.inner]: 1000, [c.inner]: 0 });
    // Per-group queries are targeted the same way, and stay exact.
    const queried = await counters();
    expect(await sdk.client.getClientCountByGroup('g-b')).toBe(1);
    expect(await sdk.client.getClientIdListByGroup('g-b')).toHaveLength(1);
    expect(delta(await counters(), queried, 'group')).toEqual({ [a.inner]: 0, [b.inner]: 2, [c.inner]: 0 });
  });

  it('isUidOnline / isUidsOnline are answered by the directory alone: no gateway is asked', async () => {
    await holding(gateways[0], 'u-online');
    const before = await counters();
    expect(await sdk.client.isUidOnline('u-online')).toBe(true);
    expect(await sdk.client.isUidOnline('nobody')).toBe(false);
    expect(await sdk.client.isUidsOnline(['u-online', 'nobody'])).toEqual({ 'u-online': true, nobody: false });
    expect(delta(await counters(), before, 'uid')).toEqual(Object.fromEntries(gateways.map((g) => [g.inner, 0])));
    // getClientIdByUid still asks (only) the holder: exact lists, and Redis holds no client_ids.
    expect(await sdk.client.getClientIdByUid('u-online')).toHaveLength(1);
  });

  it('a worker that binds a uid (joins a group) and sends at once reaches it (the directory does not show it yet)', async () => {
    const [a, b, c] = gateways;
    const { client } = await open(c.url);
    const before = await counters();
    await ask(client, { type: 'bind-send', uid: 'u-fresh' }, 'sent');
    await client.waitUntilReceived(
      () => client.received.find((m) => m.data.toString() === 'hello u-fresh'),
      'the send right after the bind',
    );
    // Targeted all the same: the two others got nothing.
    expect(delta(await counters(), before, 'uid')).toEqual({ [a.inner]: 0, [b.inner]: 0, [c.inner]: 1 });
    // The same for a group.
    await ask(client, { type: 'join-send', group: 'g-fresh' }, 'sent');
    await client.waitUntilReceived(
      () => client.received.find((m) => m.data.toString() === 'hello g-fresh'),
      'the send right after the join',
    );
    expect(delta(await counters(), before, 'group')).toEqual({ [a.inner]: 0, [b.inner]: 0, [c.inner]: 1 });
  });

  it('directory cache: 100 sends to a uid cost one Redis read; the uid moves to another gateway and the next send after the invalidation reaches it', async () => {
    const [a, b, c] = gateways;
    const cache = sdk.backplane!.tracking!.cache;
    expect(cache.armed).toBe(true);
    const first = await holding(a, 'u-move');
    await inspector.config('RESETSTAT');
    const hits = sdk.backplane!.stats.cacheHits;
    const start = first.client.received.length;
    for (let i = 0; i < 100; i++) await sdk.client.sendToUid('u-move', `c${i}`);
    await first.client.waitForMessages(start + 100, 15_000);
    expect(first.client.received.slice(start).map((m) => m.data.toString())).toEqual(
      Array.from({ length: 100 }, (_, i) => `c${i}`),
    );
    const info = await inspector.info('commandstats');
    expect(/^cmdstat_hkeys:calls=(\d+)/m.exec(info)?.[1]).toBe('1');
    expect(sdk.backplane!.stats.cacheHits - hits).toBe(99);

    // The client leaves gateway A and comes back through gateway B, where the worker binds it again.
    const invalidated = cache.stats.invalidated;
    first.client.close();
    await eventually(
      () => inspector.hkeys(keys.uid('u-move')),
      (ids) => ids.length === 0,
      'u-move gone from the directory',
    );
    const second = await holding(b, 'u-move');
    await eventually(
      () => cache.stats.invalidated,
      (n) => n > invalidated,
      "Redis's invalidation notice",
    );
    const before = await counters();
    const fallbacks = sdk.backplane!.stats.fallbacks;
    await sdk.client.sendToUid('u-move', 'after the move');
    await second.client.waitUntilReceived(
      () => second.client.received.find((m) => m.data.toString() === 'after the move'),
      'the send after the move',
    );
    expect(delta(await counters(), before, 'uid')).toEqual({ [a.inner]: 0, [b.inner]: 1, [c.inner]: 0 });
    expect(sdk.backplane!.stats.fallbacks - fallbacks).toBe(0);
  });

  it('RedisSessionStore: a session saved through one gateway is loaded through another, stored encrypted', async () => {
    const [a, b] = gateways;
    const first = await open(a.url);
    const saved = await ask<{ session: Record<string, unknown> }>(
      first.client,
      { type: 'login', uid: 's-1', nick: 'ann' },
      'session',
    );
    expect(saved.session).toEqual({ nick: 'ann' });
    const stored = await eventually(
      () => inspector.get(keys.session('s-1')),
      (v) => v !== null,
      'the stored session',
    );
    // Sealed with the worker's SECRET_KEY (at rest): the nick is nowhere in what Redis holds.
    expect(stored!.startsWith('!')).toBe(true);
    expect(stored).not.toContain('ann');
    expect(Buffer.from(stored!.slice(1), 'base64').includes('ann')).toBe(false);
    expect(await inspector.pttl(keys.session('s-1'))).toBeGreaterThan(0);
    first.client.close();
    const second = await open(b.url);
    const loaded = await ask<{ session: Record<string, unknown> }>(
      second.client,
      { type: 'login', uid: 's-1' },
      'session',
    );
    expect(loaded.session).toEqual({ nick: 'ann' });
  });

  it('history: a client that reconnects through another gateway gets the lines it missed, from its position', async () => {
    const [a, b] = gateways;
    const first = await open(a.url);
    await ask(first.client, { type: 'bind', uid: 'u-hist' }, 'bound');
    const lines = (client: TestClient) =>
      client.received
        .map((m) => m.data.toString())
        .filter((t) => t.startsWith('{"text"'))
        .map((t) => JSON.parse(t) as { text: string; offset: number; epoch: string });
    for (const text of ['one', 'two', 'three']) await ask(first.client, { type: 'say', uid: 'u-hist', text }, 'said');
    await first.client.waitUntilReceived(() => (lines(first.client).length === 3 ? true : undefined), 'three lines');
    const last = lines(first.client)[2];
    expect(last.offset).toBe(3);
    first.client.close();
    // While it is away (someone else says them): sent to nobody, kept in the history.
    const other = await open(b.url);
    for (const text of ['four', 'five']) await ask(other.client, { type: 'say', uid: 'u-hist', text }, 'said');
    const back = await open(b.url);
    const resumed = await ask<{ recovered: boolean; count: number }>(
      back.client,
      { type: 'resume', uid: 'u-hist', offset: last.offset, epoch: last.epoch },
      'resumed',
    );
    expect(resumed).toMatchObject({ recovered: true, count: 2 });
    await back.client.waitUntilReceived(() => (lines(back.client).length === 2 ? true : undefined), 'the missed lines');
    expect(lines(back.client).map((l) => [l.text, l.offset])).toEqual([
      ['four', 4],
      ['five', 5],
    ]);
    // A position of another epoch cannot be recovered from.
    const stale = await open(a.url);
    expect(
      await ask<{ recovered: boolean; count: number }>(
        stale.client,
        { type: 'resume', uid: 'u-hist', offset: 2, epoch: 'gone' },
        'resumed',
      ),
    ).toMatchObject({ recovered: false, count: 0 });
  });

  it('Redis hung (SIGSTOP): sends fall back to the full mesh, nothing is lost; targeting resumes after SIGCONT', async () => {
    const [a, b, c] = gateways;
    const { client } = await holding(a, 'u-stop');
    const fallbacks = sdk.backplane!.stats.fallbacks;
    const before = await counters();
    const start = client.received.length;
    redis.pause();
    try {
      // Each call is bounded by the directory budget (then by the breaker), not by Redis.
      await within(
        (async () => {
          for (let i = 0; i < 100; i++) await sdk.client.sendToUid('u-stop', `s${i}`);
        })(),
        '100 sends while Redis is stopped',
        20_000,
      );
      await client.waitForMessages(start + 100, 15_000);
      expect(sdk.backplane!.stats.fallbacks - fallbacks).toBeGreaterThanOrEqual(1);
      // The mesh: every gateway got them.
      expect(delta(await counters(), before, 'uid')).toEqual({ [a.inner]: 100, [b.inner]: 100, [c.inner]: 100 });
    } finally {
      redis.resume();
    }
    // Targeting resumes: a batch of sends reaches the holder only.
    await eventually(
      async () => {
        const batch = await counters();
        for (let i = 0; i < 10; i++) await sdk.client.sendToUid('u-stop', `r${i}`);
        return delta(await counters(), batch, 'uid');
      },
      (d) => d[a.inner] === 10 && d[b.inner] === 0 && d[c.inner] === 0,
      'targeted sends after SIGCONT',
      20_000,
      200,
    );
    const texts = client.received.slice(start).map((m) => m.data.toString());
    expect(texts.filter((t) => t.startsWith('s'))).toEqual(Array.from({ length: 100 }, (_, i) => `s${i}`));
  });

  it('leases lost while Redis was stopped longer than a lease: new epochs, the old ids purged, targeting resumes', async () => {
    const [a, b, c] = gateways;
    await holding(a, 'u-lost');
    const old = new Map([...(await leases())].map(([id, l]) => [l.address, id]));
    expect(old.size).toBe(3);
    const oldField = await inspector.hkeys(keys.uid('u-lost'));
    expect(oldField).toEqual([old.get(a.inner)]);
    // Every command Redis runs from now on, in order (MONITOR): to check how the gateways announce themselves again.
    const monitor = await inspector.monitor();
    const commands: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => commands.push(args));
    redis.pause();
    try {
      // Longer than a lease: on SIGCONT Redis expires every lease at once.
      await new Promise((r) => setTimeout(r, LEASE_MS + 1_000));
    } finally {
      redis.resume();
    }
    const fresh = await eventually(
      async () => new Map([...(await leases())].filter(([, l]) => l.synced).map(([id, l]) => [l.address, id])),
      (m) => gateways.every((g) => m.has(g.inner) && m.get(g.inner) !== old.get(g.inner)),
      'every gateway synced under a new id',
      20_000,
      100,
    );
    for (const g of gateways) expect(fresh.get(g.inner)!.split('.').pop()).not.toBe(old.get(g.inner)!.split('.').pop());
    // Each new id's lease was written before the id was listed: a janitor (which purges listed ids it finds without
    // a lease) can never take a gateway that is announcing itself for dead.
    monitor.disconnect();
    for (const id of fresh.values()) {
      const leaseWritten = commands.findIndex((c) => c[0].toLowerCase() === 'set' && c[1] === keys.lease(id));
      const listed = commands.findIndex(
        (c) => c[0].toLowerCase() === 'sadd' && c[1] === keys.gateways && c.includes(id),
      );
      expect({ id, leaseWritten: leaseWritten >= 0, before: leaseWritten < listed }).toEqual({
        id,
        leaseWritten: true,
        before: true,
      });
    }
    // The old ids are purged by a janitor; u-lost now names only the new id.
    await eventually(
      async () => ({
        field: await inspector.hkeys(keys.uid('u-lost')),
        listed: await Promise.all([...old.values()].map((id) => inspector.sismember(keys.gateways, id))),
        owned: await inspector.exists(...[...old.values()].map((id) => keys.ownedUids(id))),
      }),
      (r) =>
        r.field.length === 1 && r.field[0] === fresh.get(a.inner) && r.listed.every((x) => x === 0) && r.owned === 0,
      'the old ids purged',
      20_000,
      100,
    );
    await allSynced(gateways.map((g) => g.inner));
    const before = await counters();
    for (let i = 0; i < 10; i++) await sdk.client.sendToUid('u-lost', `after-stop-${i}`);
    await eventually(
      async () => delta(await counters(), before, 'uid'),
      (d) => d[a.inner] === 10,
      'sends after it',
    );
    expect(delta(await counters(), before, 'uid')).toEqual({ [a.inner]: 10, [b.inner]: 0, [c.inner]: 0 });
  });

  it('Redis restarted empty: every gateway announces again and rewrites its entries (resync), targeting resumes', async () => {
    const [a, b, c] = gateways;
    await holding(a, 'u-restart');
    const heldBefore = await inspector.hkeys(keys.uid('u-restart'));
    expect(heldBefore).toHaveLength(1);
    const restartedAt = Date.now();
    await redis.restart();
    // Empty now: nothing survived.
    await eventually(
      () => inspector.dbsize(),
      () => true,
      'inspector reconnected',
    );
    const resynced = await eventually(
      async () => ({ ids: await inspector.hkeys(keys.uid('u-restart')), leases: await leases() }),
      (r) =>
        r.ids.length === 1 &&
        gateways.every((g) => [...r.leases.values()].some((l) => l.address === g.inner && l.synced)),
      'u-restart and every synced lease back in the restarted Redis',
      15_000,
    );
    console.log(`resync after an empty restart: entries back ${Date.now() - restartedAt} ms after the restart began`);
    // A new id (epoch + 1): the lease was lost with the data.
    expect(resynced.ids[0]).not.toBe(heldBefore[0]);
    expect(resynced.ids[0].startsWith(`${a.inner}/`)).toBe(true);
    await allSynced(gateways.map((g) => g.inner));
    const before = await counters();
    for (let i = 0; i < 10; i++) await sdk.client.sendToUid('u-restart', `after-restart-${i}`);
    await eventually(
      async () => delta(await counters(), before, 'uid'),
      (d) => d[a.inner] === 10,
      'sends after the restart',
    );
    expect(delta(await counters(), before, 'uid')).toEqual({ [a.inner]: 10, [b.inner]: 0, [c.inner]: 0 });
  });

  it('a directory id discovery does not know yet (announced again since its last read) is still reached', async () => {
    // The window the empty-restart and failover races open, made to last: a sender whose discovery stopped reading
    // still sees the gateway's old id in sync while the directory already names its new one.
    const d = await extraGateway();
    const { client } = await holding(d, 'u-new-id');
    const oldId = await idOf(d.inner);
    const stale = new GatewayClientPool(
      resolveGatewayClientOptions({ secret: TEST_SECRET, backplane: { url: redis.url, timeoutMs: BUDGET_MS } }),
    );
    try {
      await eventually(
        () => stale.backplane!.watch.isSynced(d.inner),
        (ok) => ok,
        'the stale sender sees the extra gateway in sync',
        15_000,
      );
      stale.backplane!.watch.stop();
      // The lease lost: the gateway announces again as epoch + 1 and rewrites its entries under the new id.
      await inspector.del(keys.lease(oldId));
      const newIds = await eventually(
        () => inspector.hkeys(keys.uid('u-new-id')),
        (ids) => ids.length === 1 && ids[0] !== oldId,
        'u-new-id listed under a new id',
        15_000,
      );
      expect(newIds[0].startsWith(`${d.inner}/`)).toBe(true);
      expect(stale.backplane!.watch.leaseOf(newIds[0])).toBeUndefined();
      expect(stale.backplane!.watch.isSynced(d.inner)).toBe(true);
      const start = client.received.length;
      for (let i = 0; i < 10; i++) await stale.client.sendToUid('u-new-id', `new-id-${i}`);
      const texts = await client.waitUntilReceived(() => {
        const got = client.received.slice(start).map((m) => m.data.toString());
        return got.length >= 10 ? got : undefined;
      }, '10 sends through the stale sender');
      expect(texts).toEqual(Array.from({ length: 10 }, (_, i) => `new-id-${i}`));
      // Queries: the unknown id cannot vouch for the uid, the gateway at its address is asked.
      expect(await stale.client.isUidOnline('u-new-id')).toBe(true);
      expect(await stale.client.isUidsOnline(['u-new-id', 'u-nobody'])).toEqual({
        'u-new-id': true,
        'u-nobody': false,
      });
    } finally {
      await stale.onModuleDestroy();
      await d.proc.stop();
    }
  });

  /** A fourth gateway of the test's own (the three shared ones stay up for the other tests), seen in sync. */
  async function extraGateway(env: Record<string, string> = {}): Promise<Gateway> {
    const g = await startGateway('', { ...gatewayEnv(), ...env });
    await allSynced([g.inner]);
    return g;
  }

  it('a gateway stopping gracefully withdraws its lease before it closes its clients', async () => {
    const d = await extraGateway();
    const id = await idOf(d.inner);
    const { client } = await open(d.url);
    await ask(client, { type: 'join', group: 'g-stop' }, 'joined');
    await eventually(
      () => inspector.hkeys(keys.group('g-stop')),
      (ids) => ids.length === 1 && ids[0] === id,
      'g-stop in the directory',
    );
    await d.proc.stop();
    expect(client.closeCode).toBe(1001);
    // Checked after the client saw its close: the lease was already gone, and the entries are purged.
    expect(await inspector.exists(keys.lease(id))).toBe(0);
    expect(await inspector.hkeys(keys.group('g-stop'))).toEqual([]);
    expect(await inspector.sismember(keys.gateways, id)).toBe(0);
  });

  it("a SIGKILLed gateway's entries are purged once its lease expires; restarted at the same address it is a new incarnation", async () => {
    const c = await extraGateway();
    const id = await idOf(c.inner);
    await holding(c, 'u-kill');
    expect(await inspector.hkeys(keys.uid('u-kill'))).toEqual([id]);
    await c.proc.kill();
    await eventually(
      async () => ({
        lease: await inspector.exists(keys.lease(id)),
        field: await inspector.hkeys(keys.uid('u-kill')),
        listed: await inspector.sismember(keys.gateways, id),
        owned: await inspector.exists(keys.ownedUids(id)),
      }),
      (s) => s.lease === 0 && s.field.length === 0 && s.listed === 0 && s.owned === 0,
      `the entries of ${id} purged`,
      LEASE_MS + 15_000,
    );
    // The same inner address again.
    const port = c.inner.split(':')[1];
    const again = await startGateway('', { ...gatewayEnv(), GATEWAY_START_PORT: port });
    expect(again.inner).toBe(c.inner);
    const newId = await eventually(
      () => idOf(c.inner),
      () => true,
      'the restarted gateway synced',
      15_000,
    );
    expect(newId).not.toBe(id);
    expect(newId.split('/')[1]).not.toBe(id.split('/')[1]);
    await allSynced([again.inner]);
    const { client } = await open(again.url);
    await ask(client, { type: 'bind', uid: 'u-again' }, 'bound');
    await eventually(
      () => inspector.hkeys(keys.uid('u-again')),
      (ids) => ids[0] === newId,
      'u-again under the new id',
    );
    await sdk.client.sendToUid('u-again', 'welcome back');
    await client.waitUntilReceived(() => client.received.find((m) => m.data.toString() === 'welcome back'), 'send');
  });
});
