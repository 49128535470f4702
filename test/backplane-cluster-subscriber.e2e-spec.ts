import { BackplaneKeys, GatewayClientPool, resolveGatewayClientOptions } from 'nest-gateway-worker/internal';
import { eventually } from './support/eventually';
import { RedisClusterSet } from './support/redis-server';
import { startGateway, stopAll, TEST_SECRET } from './support/roles';

/**
 * The discovery notice subscriber of a GatewayClient on a Redis Cluster, whose node is SIGSTOPped or SIGKILLed. On a
 * Cluster ioredis subscribes on a connection of its own, to one node it picks (CLIENT LIST names it
 * `ioredis-cluster(subscriber):ngw-gatewayclient-sub`), which the notice heartbeat's PING does not reach; what bounds
 * discovery there is the 5 s poll of the gateway list, and ioredis moves the subscription to another node when that
 * connection ends (SIGKILL: at once) or when the node leaves the slot map (SIGSTOP: once the Cluster failed it over
 * and the next slot-map read, every 5 s, no longer lists it). Real redis-server nodes (3 primaries, a replica each,
 * cluster-node-timeout 2 s), gateway processes, an in-process GatewayClient. Times are printed, not asserted.
 */

const keys = new BackplaneKeys('gw');
const SUBSCRIBER = 'ioredis-cluster(subscriber):ngw-gatewayclient-sub';

describe('Redis Cluster: the notice subscriber of a GatewayClient whose node is stopped or killed', () => {
  let cluster: RedisClusterSet;
  const pools: GatewayClientPool[] = [];

  const env = (): Record<string, string> => ({ GATEWAY_BACKPLANE: cluster.url, GATEWAY_BACKPLANE_LEASE_MS: '3000' });

  /**
   * The port of the node that holds the GatewayClient's subscription (CLIENT LIST of every running node but `skip`: a
   * stopped node would not answer redis-cli).
   */
  async function subscriberPort(skip?: number): Promise<number | undefined> {
    for (const node of cluster.nodes) {
      if (!node.isRunning || node.port === skip) continue;
      const list = await node.cli('CLIENT', 'LIST').catch(() => '');
      if (list.split('\n').some((l) => l.includes(`name=${SUBSCRIBER} `) && / sub=1 /.test(l))) return node.port;
    }
    return undefined;
  }

  /**
   * A GatewayClient that sees `inner` in sync, whose subscription is not on the node of the gateway list's slot (so
   * that stopping the subscriber's node leaves discovery's reads working: the poll is what is measured). ioredis
   * picks the node at random: new clients until one fits (5 of 6 nodes do). The clients of an earlier test go first:
   * their subscriptions carry the same name, and one left on the list's node would be found in every attempt.
   */
  async function clientNotOnListNode(inner: string): Promise<{ pool: GatewayClientPool; port: number }> {
    for (const earlier of pools.splice(0)) await earlier.onModuleDestroy();
    await eventually(subscriberPort, (p) => p === undefined, 'no subscriber of an earlier client left', 10_000);
    const listPort = await cluster.portOf(keys.gateways);
    for (let attempt = 0; attempt < 10; attempt++) {
      const pool = new GatewayClientPool(
        resolveGatewayClientOptions({ secret: TEST_SECRET, backplane: { url: cluster.url } }),
      );
      pools.push(pool);
      await eventually(
        () => pool.backplane!.watch.isSynced(inner),
        (ok) => ok,
        `${inner} in sync`,
        20_000,
      );
      const port = await eventually(subscriberPort, (p) => p !== undefined, 'the subscriber connection', 10_000);
      if (port !== listPort) return { pool, port: port! };
      await pool.onModuleDestroy();
    }
    throw new Error('every GatewayClient subscribed on the node of the gateway list');
  }

  beforeAll(async () => {
    cluster = await RedisClusterSet.start({ primaries: 3, replicas: 1 });
  }, 60_000);

  afterAll(async () => {
    for (const p of pools) await p.onModuleDestroy().catch(() => undefined);
    await stopAll();
    await cluster?.stop();
  });

  it('SIGSTOP: a new gateway is still discovered (the poll), the subscription moves once the node is failed over, notices flow again', async () => {
    const g1 = await startGateway('', env());
    const { pool, port } = await clientNotOnListNode(g1.inner);
    const watch = pool.backplane!.watch;
    const node = cluster.server(port);
    const notices = watch.notices;
    const t0 = Date.now();
    node.pause();
    try {
      const g2 = await startGateway('', env());
      const started = Date.now() - t0;
      await eventually(
        () => watch.isSynced(g2.inner),
        (ok) => ok,
        'the new gateway discovered',
        30_000,
        20,
      );
      const discovered = Date.now() - t0;
      const stuckNotices = watch.notices - notices;
      // ioredis moves the subscription once the stopped node leaves the slot map (failed over, next slot-map read).
      const moved = await eventually(
        () => subscriberPort(port),
        (p) => p !== undefined && p !== port,
        'the subscription moved',
        30_000,
        100,
      );
      const movedAt = Date.now() - t0;
      const before = watch.notices;
      const g3 = await startGateway('', env());
      const t3 = Date.now();
      await eventually(
        () => watch.isSynced(g3.inner),
        (ok) => ok,
        'the next gateway discovered',
        30_000,
        20,
      );
      console.log(
        `subscriber node ${port} SIGSTOPped: a gateway started ${started} ms after was discovered at ${discovered} ms ` +
          `(${stuckNotices} notices meanwhile); the subscription moved to ${moved} at ${movedAt} ms; the next gateway ` +
          `discovered ${Date.now() - t3} ms after its start, ${watch.notices - before} notices`,
      );
      // The moved subscription receives the notices again.
      expect(watch.notices).toBeGreaterThan(before);
    } finally {
      node.resume();
    }
  }, 120_000);

  it('SIGKILL: the subscription moves at once and the notices keep coming', async () => {
    const g = await startGateway('', env());
    const { pool, port } = await clientNotOnListNode(g.inner);
    const watch = pool.backplane!.watch;
    const t0 = Date.now();
    await cluster.server(port).kill();
    const moved = await eventually(
      () => subscriberPort(port),
      (p) => p !== undefined && p !== port,
      'the subscription moved',
      30_000,
      100,
    );
    const movedAt = Date.now() - t0;
    const before = watch.notices;
    const next = await startGateway('', env());
    const t1 = Date.now();
    await eventually(
      () => watch.isSynced(next.inner),
      (ok) => ok,
      'the next gateway discovered',
      30_000,
      20,
    );
    console.log(
      `subscriber node ${port} SIGKILLed: the subscription moved to ${moved} at ${movedAt} ms; the next gateway ` +
        `discovered ${Date.now() - t1} ms after its start, ${watch.notices - before} notices`,
    );
    expect(watch.notices).toBeGreaterThan(before);
  }, 120_000);
});
