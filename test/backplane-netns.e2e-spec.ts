import {
  BackplaneKeys,
  GatewayClientPool,
  parseLease,
  resolveGatewayClientOptions,
} from 'nest-gateway-worker/internal';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from './support/eventually';
import { NetnsLab } from './support/netns-lab';
import { RedisServer } from './support/redis-server';
import { TEST_SECRET, type LoggedProcess } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * Two gateway hosts in their own network namespaces, each with one link to the "mesh" bridge (workers, SDK clients,
 * WebSocket clients: this test process, in the root namespace) and one to the "data" bridge (Redis). Cutting one
 * gateway's data link is a real partition: it loses Redis, not its clients or its links. Its lease expires and its
 * entries are purged, yet targeted sends still reach it (it is linked but no longer known to be in sync, so it is
 * always included), including for uids bound during the partition; healed, it announces itself under a new epoch,
 * rewrites its entries and is targeted again.
 */

const LEASE_MS = 1_500;
const MAIN = resolve(__dirname, '..', 'dist', 'apps', 'gateway', 'main.js');
const keys = new BackplaneKeys('gw');

describe('backplane across hosts (network namespaces): a gateway cut off from Redis only', () => {
  const lab = new NetnsLab();
  let redis: RedisServer | undefined;
  let inspector: Redis | undefined;
  const pools: GatewayClientPool[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    await NetnsLab.requireRoot();
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
    lab.create();
    lab.addHost(1);
    lab.addHost(2);
    lab.checkRoutes();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const p of pools) await p.onModuleDestroy();
    inspector?.disconnect();
    await lab.destroy();
    await redis?.stop();
  });

  async function startGateway(host: string): Promise<{ proc: LoggedProcess; url: string; inner: string }> {
    const h = lab.host(host);
    const proc = lab.spawnNode(host, `gateway@${host}`, MAIN, {
      SECRET_KEY: TEST_SECRET,
      GATEWAY_LAN_IP: h.mesh,
      GATEWAY_LISTEN: `ws://${h.mesh}:0`,
      GATEWAY_START_PORT: '0',
      GATEWAY_BACKPLANE: redis!.url,
      GATEWAY_BACKPLANE_LEASE_MS: String(LEASE_MS),
    });
    const [, url, inner] = await proc.waitFor(/Gateway ready: clients (\S+), inner (\S+)/);
    return { proc, url, inner };
  }

  async function leaseOf(inner: string): Promise<{ id: string; synced: boolean } | undefined> {
    const ids = await inspector!.smembers(keys.gateways);
    const values = ids.length ? await inspector!.mget(...ids.map((id) => keys.lease(id))) : [];
    for (let i = 0; i < ids.length; i++) {
      const lease = parseLease(values[i]);
      if (lease?.address === inner) return { id: ids[i], synced: lease.synced };
    }
    return undefined;
  }

  it('still reaches its clients while cut off, and is targeted again after the heal', async () => {
    redis = await RedisServer.start({ host: lab.dataAddress, args: ['--protected-mode', 'no'] });
    inspector = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const g1 = await startGateway('h1');
    const g2 = await startGateway('h2');
    const pool = (): GatewayClientPool => {
      const p = new GatewayClientPool(resolveGatewayClientOptions({ secret: TEST_SECRET, backplane: redis!.url }));
      pools.push(p);
      return p;
    };
    // `sdk` only sends; `binder` binds (so `sdk` has no memory of the binds: only the directory can target them).
    const sdk = pool();
    const binder = pool();
    await eventually(
      () => [g1.inner, g2.inner].every((a) => sdk.backplane!.watch.isSynced(a)),
      (ok) => ok,
      'both gateways in sync',
      15_000,
    );
    const first = await TestClient.open(g1.url);
    const second = await TestClient.open(g1.url);
    clients.push(first, second);
    const ids = await eventually(
      () => binder.client.getAllClientIdList(),
      (l) => l.length === 2,
      'two clients',
    );
    await binder.client.bindUid(ids[0], 'u-before');
    const before = await leaseOf(g1.inner);
    await eventually(
      () => inspector!.hkeys(keys.uid('u-before')),
      (l) => l.length === 1,
      'u-before in the directory',
    );
    const uidCommands = async (): Promise<Record<string, number>> =>
      Object.fromEntries((await sdk.client.getGatewayStats()).map((s) => [s.address, s.counters.uidCommands]));

    let base = await uidCommands();
    await sdk.client.sendToUid('u-before', 'targeted');
    await first.waitUntilReceived(() => first.received.find((m) => m.data.toString() === 'targeted'), 'targeted');
    let now = await uidCommands();
    expect([now[g1.inner] - base[g1.inner], now[g2.inner] - base[g2.inner]]).toEqual([1, 0]);

    lab.cutFromData('h1');
    // Its lease expires and its entries are purged (by the other gateway's or a client's janitor).
    await eventually(
      async () => ({ lease: await leaseOf(g1.inner), field: await inspector!.hkeys(keys.uid('u-before')) }),
      (s) => s.lease === undefined && s.field.length === 0,
      "h1's lease expired and its entries purged",
      LEASE_MS + 15_000,
      100,
    );
    await eventually(
      () => !sdk.backplane!.watch.isSynced(g1.inner),
      (v) => v,
      'the SDK sees h1 unsynced',
    );
    // Partitioned from Redis only: still linked, so still reached; a bind during the partition too.
    await binder.client.bindUid(ids[1], 'u-during');
    base = await uidCommands();
    await sdk.client.sendToUid('u-before', 'during 1');
    await sdk.client.sendToUid('u-during', 'during 2');
    await first.waitUntilReceived(() => first.received.find((m) => m.data.toString() === 'during 1'), 'during 1');
    await second.waitUntilReceived(() => second.received.find((m) => m.data.toString() === 'during 2'), 'during 2');
    expect(await sdk.client.isUidOnline('u-during')).toBe(true);
    now = await uidCommands();
    // The gateway Redis vouches for (in sync, holding neither uid) got none of them.
    expect(now[g2.inner] - base[g2.inner]).toBe(0);

    lab.healData('h1');
    // Its renewal finds the lease gone: a new epoch, every entry rewritten (u-during included).
    const after = await eventually(
      () => leaseOf(g1.inner),
      (l) => l !== undefined && l.synced && l.id !== before?.id,
      'h1 announced again under a new epoch',
      20_000,
      100,
    );
    expect(after!.id.split('/')[1]).toBe(`${before!.id.split('/')[1].split('.')[0]}.1`);
    await eventually(
      () => inspector!.hkeys(keys.uid('u-during')),
      (l) => l[0] === after!.id,
      'u-during rewritten',
    );
    await eventually(
      () => sdk.backplane!.watch.isSynced(g1.inner),
      (v) => v,
      'the SDK sees h1 in sync again',
    );
    base = await uidCommands();
    for (let i = 0; i < 5; i++) await sdk.client.sendToUid('u-during', `after ${i}`);
    await second.waitUntilReceived(() => second.received.find((m) => m.data.toString() === 'after 4'), 'after 4');
    now = await uidCommands();
    expect([now[g1.inner] - base[g1.inner], now[g2.inner] - base[g2.inner]]).toEqual([5, 0]);
  });
});
