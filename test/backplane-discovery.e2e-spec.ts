import { GatewayClient, GatewayModule } from 'nest-gateway-worker';
import { BackplaneKeys, GatewayClientPool, resolveGatewayClientOptions } from 'nest-gateway-worker/internal';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { eventually } from './support/eventually';
import { RedisServer } from './support/redis-server';
import { startGateway, startRegister, stopAll, TEST_SECRET } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * Migration and DI: a GatewayClient configured with both a register and the backplane lists the union of both
 * (a gateway that only announces to the register, and one that only has a lease), built from the application's
 * own ioredis client (forClientAsync + inject), which the backplane never uses or closes. A gateway the directory
 * cannot vouch for (no lease) is always included in targeted sends.
 */
const REDIS = Symbol('REDIS');

describe('backplane discovery: union with the registers, your own client through DI', () => {
  let redis: RedisServer;
  let appRedis: Redis;
  let context: INestApplicationContext | undefined;
  let plain: GatewayClientPool;
  const clients: TestClient[] = [];

  afterAll(async () => {
    for (const c of clients) c.close();
    await context?.close();
    await plain?.onModuleDestroy();
    await stopAll();
    appRedis?.disconnect();
    await redis?.stop();
  });

  it('lists both kinds of gateway, targets the one the directory knows, always includes the one it does not', async () => {
    redis = await RedisServer.start();
    const register = await startRegister();
    // One gateway announces to the register only, one to the backplane only.
    const registered = await startGateway(register.address);
    const leased = await startGateway('', { GATEWAY_BACKPLANE: redis.url, GATEWAY_BACKPLANE_LEASE_MS: '1500' });

    appRedis = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    @Module({ providers: [{ provide: REDIS, useValue: appRedis }], exports: [REDIS] })
    class RedisModule {}
    @Module({
      imports: [
        GatewayModule.forClientAsync({
          imports: [RedisModule],
          inject: [REDIS],
          useFactory: (client: Redis) => ({ secret: TEST_SECRET, registers: register.address, backplane: { client } }),
        }),
      ],
    })
    class AppModule {}
    context = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
    const gw = context.get(GatewayClient);

    const stats = await eventually(
      () => gw.getGatewayStats(),
      (s) => s.length === 2,
      'both gateways listed (the union of the register and the backplane)',
    );
    expect(stats.map((s) => s.address).sort()).toEqual([registered.inner, leased.inner].sort());
    // The backplane's own connections, opened with the settings of the application's client.
    const names = await appRedis.client('LIST');
    expect(String(names)).toMatch(/name=ngw-gatewayclient /);
    expect(String(names)).toMatch(/name=ngw-gatewayclient-sub /);

    // A client on the register-only gateway, bound by another (register-only) GatewayClient: the directory
    // never hears of it.
    const client = await TestClient.open(registered.url);
    clients.push(client);
    plain = new GatewayClientPool(resolveGatewayClientOptions({ secret: TEST_SECRET, registers: register.address }));
    const [clientId] = await eventually(
      () => plain.client.getAllClientIdList(),
      (ids) => ids.length === 1,
      'the client online',
    );
    await plain.client.bindUid(clientId, 'u-r');
    // History needs the backplane.
    await expect(plain.client.appendHistory('uid', 'u-r', 'x')).rejects.toThrow(/needs the Redis backplane/);
    await eventually(
      () => plain.client.isUidOnline('u-r'),
      (v) => v,
      'u-r bound',
    );

    const before = await gw.getGatewayStats();
    await gw.sendToUid('u-r', 'via the unknown gateway');
    await client.waitUntilReceived(
      () => client.received.find((m) => m.data.toString() === 'via the unknown gateway'),
      'the send',
    );
    // isUidOnline: the directory knows nothing of u-r, so it asks the gateway it cannot vouch for.
    expect(await gw.isUidOnline('u-r')).toBe(true);
    const after = await gw.getGatewayStats();
    const uid = (address: string, s: typeof before) => s.find((x) => x.address === address)!.counters.uidCommands;
    // The leased gateway holds no such uid and is in sync: it got nothing.
    expect(uid(leased.inner, after) - uid(leased.inner, before)).toBe(0);
    expect(uid(registered.inner, after) - uid(registered.inner, before)).toBe(2);

    await context.close();
    context = undefined;
    // Ours are closed; the application's own client is untouched.
    expect(appRedis.status).toBe('ready');
    await eventually(
      async () => String(await appRedis.client('LIST')),
      (list) => !/name=ngw-gatewayclient/.test(list),
      'the backplane connections closed',
    );
  });

  it('Redis down when a gateway and a GatewayClient start: both start, and find each other once Redis is up', async () => {
    // A port with nothing on it yet; the Redis started on it later is the one they were given.
    const later = await RedisServer.start();
    const port = later.port;
    await later.stop();
    const url = `redis://127.0.0.1:${port}`;
    const gateway = await startGateway('', { GATEWAY_BACKPLANE: url, GATEWAY_BACKPLANE_LEASE_MS: '1500' });
    expect(gateway.proc.output).toMatch(/backplane redis:\/\/127\.0\.0\.1:\d+: not reachable yet/);
    const pool = new GatewayClientPool(
      resolveGatewayClientOptions({ secret: TEST_SECRET, backplane: url, timeoutMs: 500 }),
    );
    try {
      // No list yet: the call says which source it waited for.
      await expect(pool.client.getGatewayStats()).rejects.toThrow(/no gateway list from .*backplane redis:\/\//);
      const restarted = await RedisServer.start({ port });
      try {
        const stats = await eventually(
          () => pool.client.getGatewayStats(),
          (s) => s.length === 1,
          'the gateway found through Redis once it is up',
          20_000,
          200,
        );
        expect(stats[0].address).toBe(gateway.inner);
        await eventually(
          () => pool.backplane!.watch.isSynced(gateway.inner),
          (v) => v,
          'in sync',
          10_000,
        );
      } finally {
        await pool.onModuleDestroy();
        await restarted.stop();
      }
    } finally {
      await gateway.proc.stop();
    }
  });

  it('a gateway that never reached Redis says so once, then only the rate-limited connection error; it announces once Redis is up', async () => {
    // Two ports with nothing on them (stopped redis-servers'): Redis is started on the first later; the second is
    // given as a Cluster URL (ioredis's Cluster fails its own way: "None of startup nodes is available").
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const stopped = await RedisServer.start();
      ports.push(stopped.port);
      await stopped.stop();
    }
    // A lease of 1.5 s: a renewal tick every 500 ms, so some 20 tries would fail in the 10 s watched.
    const env = { GATEWAY_BACKPLANE_LEASE_MS: '1500' };
    const gateway = await startGateway('', { ...env, GATEWAY_BACKPLANE: `redis://127.0.0.1:${ports[0]}` });
    const cluster = await startGateway('', { ...env, GATEWAY_BACKPLANE: `redis+cluster://127.0.0.1:${ports[1]}` });
    const connectionError = /WARN \[Gateway\] backplane Redis redis(\+cluster)?:\/\/127\.0\.0\.1:\d+: /;
    try {
      for (const g of [gateway, cluster]) {
        // The connection error again, with the count of those suppressed: at least 10 s down, rate-limited.
        await g.proc.waitFor(/connection error\(s\) since the last warning\)$/, 25_000);
        const backplaneLines = g.proc.lines.filter((line) => /backplane/.test(line));
        // The state once, at start; the cause (the connection's error) at most once per 10 s; nothing else.
        expect(backplaneLines.filter((l) => /: not reachable yet; announcing once it is$/.test(l))).toHaveLength(1);
        expect(backplaneLines.filter((l) => connectionError.test(l)).length).toBeLessThanOrEqual(3);
        expect(
          backplaneLines.filter(
            (l) => !connectionError.test(l) && !/not reachable yet; announcing once it is$/.test(l),
          ),
        ).toEqual([]);
        expect(g.proc.output).not.toMatch(
          /renewing the lease|announcing failed|Stream isn't writeable|None of startup nodes|isn't ready/,
        );
      }
      const redis = await RedisServer.start({ port: ports[0] });
      const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      try {
        const id = (await gateway.proc.waitFor(/announced on the backplane as (\S+)$/, 20_000))[1];
        expect(id.startsWith(`${gateway.inner}/`)).toBe(true);
        const keys = new BackplaneKeys('gw');
        expect(await admin.smembers(keys.gateways)).toEqual([id]);
        expect(await admin.pttl(keys.lease(id))).toBeGreaterThan(0);
        expect(gateway.proc.output).not.toMatch(/renewing the lease|announcing failed|Stream isn't writeable/);
      } finally {
        admin.disconnect();
        await redis.stop();
      }
    } finally {
      await gateway.proc.stop();
      await cluster.proc.stop();
    }
  }, 90_000);
});
