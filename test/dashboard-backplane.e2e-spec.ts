import { GatewayDashboardModule, GatewayModule, type DashboardOverview } from 'nest-gateway-worker';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchBrowser, pageProblems, screenshot } from './support/browser';
import { eventually } from './support/eventually';
import { TEST_DASHBOARD_TOKEN, dashboardApi } from './support/example-dashboard';
import { RedisServer } from './support/redis-server';
import { startGateway, startRegister, stopAll, TEST_SECRET } from './support/roles';

const PASSWORD = 'redis-password-for-tests-41b7';

/**
 * The dashboard's backplane view on a real cluster: a redis-server with a password, one register, gateway A with
 * the backplane and gateway B without, and an in-process forClient app (its GatewayClient on the registers and the
 * backplane) serving the dashboard. The API shows per gateway whether it has a backplane, its lease (id, epoch,
 * synced), and on the client side the Redis as displayed (never the password) with the gateways listed through it
 * against the registers' lists; the page shows the same in headless Chromium (a screenshot to look at).
 */
describe('GatewayDashboardModule with the Redis backplane', () => {
  let redis: RedisServer;
  let app: INestApplication | undefined;
  let browser: Browser | undefined;
  let a: { inner: string };
  let b: { inner: string };
  let dashboard: string;

  beforeAll(async () => {
    redis = await RedisServer.start({ args: ['--requirepass', PASSWORD] });
    const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
    const register = await startRegister();
    [a, b] = await Promise.all([
      startGateway(register.address, { GATEWAY_BACKPLANE: url }),
      startGateway(register.address),
    ]);
    @Module({
      imports: [
        GatewayModule.forClient({
          registers: register.address,
          secret: TEST_SECRET,
          timeoutMs: 2_000,
          backplane: url,
        }),
        GatewayDashboardModule.forRoot({ path: '/ops', auth: { token: TEST_DASHBOARD_TOKEN } }),
      ],
    })
    class OpsAppModule {}
    app = await NestFactory.create(OpsAppModule, { logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    dashboard = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/ops`;
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await stopAll();
    await redis?.stop();
  });

  it('overview: each gateway with or without its lease, and the Redis as displayed, without its password', async () => {
    const o = await eventually(
      async () => (await dashboardApi(dashboard, 'overview')).body as DashboardOverview,
      (x) =>
        x.gateways.length === 2 &&
        x.gateways.some((g) => g.backplane?.synced === true) &&
        x.backplane?.gateways.length === 1 &&
        x.registers[0]?.gateways?.length === 2,
      'both gateways answering and listed by the register, A synced on the backplane and listed through Redis',
      15_000,
    );
    const [ga, gb] = [a.inner, b.inner].map((inner) => o.gateways.find((g) => g.address === inner)!);
    expect(ga.backplane).toEqual({
      url: `redis://:***@127.0.0.1:${redis.port}`,
      id: expect.stringMatching(new RegExp(`^${a.inner.replace(/\./g, '\\.')}/[0-9a-f]{16}\\.0$`)),
      epoch: 0,
      announced: true,
      synced: true,
      resyncs: expect.any(Number),
      writeFailures: 0,
      leasesLost: 0,
    });
    expect(gb.backplane).toBeNull();
    expect(o.backplane).toEqual({
      url: `redis://:***@127.0.0.1:${redis.port}`,
      gateways: [a.inner],
      onlyInRedis: [],
      onlyInRegisters: [b.inner],
      reads: expect.any(Number),
      narrowed: expect.any(Number),
      fallbacks: 0,
    });
    expect(o.unreachableGateways).toEqual([]);
    expect(JSON.stringify(o)).not.toContain(PASSWORD);
  });

  it('the page shows the lease per gateway and the backplane card (screenshot: test/artifacts/)', async () => {
    browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.setDefaultTimeout(15_000);
    const problems = pageProblems(page);
    await page.goto(dashboard);
    await page.fill('#token', TEST_DASHBOARD_TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.locator(`tr[data-gateway="${b.inner}"]`).waitFor();
    // Before the sign-in the page's first call is refused (401): that one is expected.
    problems.length = 0;
    const cell = (inner: string) => page.locator(`tr[data-gateway="${inner}"] [data-field="backplane"]`);
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent?.includes('synced') === true,
      `tr[data-gateway="${a.inner}"] [data-field="backplane"]`,
    );
    expect((await cell(a.inner).textContent())?.trim()).toBe('synced epoch 0');
    expect((await cell(b.inner).textContent())?.trim()).toBe('–');
    expect(await page.locator('#backplane').isVisible()).toBe(true);
    expect(await page.locator('#backplane-url').textContent()).toBe(`redis://:***@127.0.0.1:${redis.port}`);
    expect(await page.locator('[data-field="backplane-gateways"]').textContent()).toBe('1');
    expect(await page.locator('[data-field="backplane-only-registers"]').textContent()).toBe(b.inner);
    expect(await page.locator('[data-field="backplane-fallbacks"]').textContent()).toBe('0');
    expect(await page.content()).not.toContain(PASSWORD);
    await screenshot(page, 'dashboard-backplane');
    expect(problems).toEqual([]);
  });
});
