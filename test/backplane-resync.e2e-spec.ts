import { GatewayClient, GatewayModule, type GatewayStats } from 'nest-gateway-worker';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { eventually } from './support/eventually';
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
