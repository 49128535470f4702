import { GatewayClient, GatewayModule, type GatewayStats } from 'nest-gateway-worker';
import { BackplaneKeys, parseLease } from 'nest-gateway-worker/internal';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { eventually, sleep } from './support/eventually';
import { RedisServer } from './support/redis-server';
import { startGateway, startRegister, stopAll, TEST_SECRET } from './support/roles';

/**
 * GATEWAY_BACKPLANE_RESYNC_MS on real processes and a real redis-server: gateway A resyncs every 10 s (the
 * smallest allowed), gateway B has the safety resync off (0). Each one's resync count is read from its statistics
 * (GetGatewayStats' backplane state): A's goes up without anything else happening, B's stays at its start resync.
 */
describe('backplane safety resync (GATEWAY_BACKPLANE_RESYNC_MS)', () => {
  let redis: RedisServer;
  let app: INestApplicationContext | undefined;

  beforeAll(async () => {
    redis = await RedisServer.start();
  });

  afterAll(async () => {
    await app?.close();
    await stopAll();
    await redis?.stop();
  });

  it('runs every GATEWAY_BACKPLANE_RESYNC_MS, and never with 0', async () => {
    const register = await startRegister();
    const env = { GATEWAY_BACKPLANE: redis.url, GATEWAY_BACKPLANE_LEASE_MS: '3000' };
    const [a, b] = await Promise.all([
      startGateway(register.address, { ...env, GATEWAY_BACKPLANE_RESYNC_MS: '10000' }),
      startGateway(register.address, { ...env, GATEWAY_BACKPLANE_RESYNC_MS: '0' }),
    ]);
    @Module({ imports: [GatewayModule.forClient({ registers: register.address, secret: TEST_SECRET })] })
    class ClientModule {}
    app = await NestFactory.createApplicationContext(ClientModule, { logger: ['error'] });
    const client = app.get(GatewayClient);
    const resyncs = async (): Promise<Record<string, number>> => {
      const stats: GatewayStats[] = await client.getGatewayStats();
      return Object.fromEntries(stats.map((s) => [s.address, s.backplane?.resyncs ?? -1]));
    };
    const first = await eventually(resyncs, (r) => r[a.inner] >= 1 && r[b.inner] >= 1, 'both gateways synced');
    const later = await eventually(
      resyncs,
      (r) => r[a.inner] >= first[a.inner] + 1,
      'a periodic resync of the gateway with GATEWAY_BACKPLANE_RESYNC_MS=10000',
      25_000,
    );
    // The same time went by for B: no resync beyond those of its start.
    expect(later[b.inner]).toBe(first[b.inner]);
  }, 60_000);
});

/**
 * A gateway whose first announcement fails half-way (here its SADD is refused: its ACL user lacks the command; in
 * production a reply lost as Redis went away, after the lease was written) and which then loses Redis for longer than
 * a lease: the lease it wrote has expired, and a janitor that found it so may be purging that id. Its retry must not
 * rewrite its entries under that id: it announces under a new epoch.
 */
describe('backplane: a first announcement that failed, then Redis lost for longer than a lease', () => {
  const LEASE_MS = 1_500;
  const PASSWORD = 'resync-pw-7d2e';
  const keys = new BackplaneKeys('gw');
  let redis: RedisServer;
  let inspector: Redis;

  afterAll(async () => {
    inspector?.disconnect();
    await stopAll();
    await redis?.stop();
  });

  it('the retry announces under a new epoch, and the id of the failed attempt is left to expire', async () => {
    redis = await RedisServer.start({
      // Each directive's words as separate arguments; no +sadd: the announcement fails after its SET.
      args: [
        ...['--user', 'gwapp', 'on', `>${PASSWORD}`, '~gw:*', '&gw:*'],
        ...'+get +set +del +mget +srem +smembers +sscan +hkeys +hset +hdel +publish +subscribe +info'.split(' '),
        ...'+client|setname +ping +quit'.split(' '),
      ],
    });
    inspector = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const g = await startGateway('', {
      GATEWAY_BACKPLANE: `redis://gwapp:${PASSWORD}@127.0.0.1:${redis.port}`,
      GATEWAY_BACKPLANE_LEASE_MS: String(LEASE_MS),
    });
    // The failed attempt: its lease written, the gateway not listed.
    const leaseKeys = await eventually(
      () => inspector.keys(keys.lease('*')),
      (k) => k.length === 1,
      'the lease of the first attempt',
    );
    const first = leaseKeys[0].slice(keys.lease('').length);
    expect(parseLease(await inspector.get(leaseKeys[0]))).toMatchObject({ address: g.inner, epoch: 0 });
    expect(await inspector.smembers(keys.gateways)).toEqual([]);

    // Redis unreachable (stopped) for two leases: the lease of the failed attempt expires meanwhile.
    redis.pause();
    await sleep(2 * LEASE_MS);
    redis.resume();
    await inspector.acl('SETUSER', 'gwapp', '+sadd');

    const announced = await eventually(
      async () => {
        const ids = await inspector.smembers(keys.gateways);
        const leases = ids.length ? await inspector.mget(...ids.map((id) => keys.lease(id))) : [];
        return ids.map((id, i) => ({ id, lease: parseLease(leases[i]) }));
      },
      (l) => l.length === 1 && l[0].lease?.synced === true,
      'the gateway listed and synced',
      15_000,
    );
    expect(announced[0].lease!.address).toBe(g.inner);
    expect(announced[0].id).not.toBe(first);
    expect(announced[0].lease!.epoch).toBeGreaterThan(0);
    // Its commands sent while Redis was stopped may run late (a SET of that lease among them): it expires a lease
    // after the last of them, and it is not listed.
    await eventually(
      () => inspector.exists(keys.lease(first)),
      (n) => n === 0,
      'the lease of the failed attempt expired',
      LEASE_MS + 5_000,
    );
    expect(await inspector.smembers(keys.gateways)).toEqual([announced[0].id]);
  }, 60_000);
});
