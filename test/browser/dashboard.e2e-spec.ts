import { GatewayDashboardModule, GatewayModule } from 'nest-gateway-worker';
import { DASHBOARD_AUTH_MISSING, DASHBOARD_TOKEN_REQUIRED, DASHBOARD_TOKEN_WRONG } from 'nest-gateway-worker/internal';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot } from '../support/browser';
import {
  TEST_DASHBOARD_TOKEN,
  chatClient,
  startDashboardCluster,
  type DashboardCluster,
} from '../support/example-dashboard';
import { stopAll, TEST_SECRET } from '../support/roles';
import type { TestClient } from '../support/ws-client';

/**
 * The dashboard page itself, in headless Chromium, on a real cluster (one register, two gateways, the example
 * worker with DASHBOARD_TOKEN): the sign-in, both gateways listed, the live connection count following WebSocket
 * clients, a message and a kick sent from the page (the client sees both), and the refusals. Screenshots of each
 * state go to test/artifacts/. Every wait is bounded (Playwright's timeouts); nothing asserts a duration.
 */
describe('the dashboard page in a browser', () => {
  let cluster: DashboardCluster;
  let browser: Browser;
  let page: Page;
  const clients: TestClient[] = [];
  let app: INestApplication | undefined;

  beforeAll(async () => {
    [cluster, browser] = await Promise.all([startDashboardCluster(), launchBrowser()]);
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.setDefaultTimeout(15_000);
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await browser?.close();
    await app?.close();
    await stopAll();
  });

  async function login(gateway: number, who: { name: string; room: string; uid?: string }) {
    const logged = await chatClient(cluster.gateways[gateway].url, who);
    clients.push(logged.client);
    return logged;
  }

  /** Waits until the element `selector` has exactly `text` (bounded by the page's default timeout). */
  async function waitForText(selector: string, text: string): Promise<void> {
    await page.waitForFunction(([sel, expected]) => document.querySelector(sel)?.textContent?.trim() === expected, [
      selector,
      text,
    ] as const);
  }

  const connectionsOf = (inner: string) => `tr[data-gateway="${inner}"] [data-field="connections"]`;

  it('asks a visitor without the token to sign in, refuses a wrong one, and shows no data meanwhile', async () => {
    await page.goto(cluster.dashboard);
    await page.locator('#login-form').waitFor({ state: 'visible' });
    await waitForText('#login-message', DASHBOARD_TOKEN_REQUIRED);
    expect(await page.locator('#content').isHidden()).toBe(true);
    expect(await page.locator('tr[data-gateway]').count()).toBe(0);

    await page.fill('#token', 'a-wrong-token-of-some-length');
    await page.click('#login-form button[type=submit]');
    await waitForText('#login-message', DASHBOARD_TOKEN_WRONG);
    expect(await page.locator('#content').isHidden()).toBe(true);
    await screenshot(page, 'dashboard-sign-in-refused');
  });

  it('after sign-in shows both gateways, and the live connection count follows the WebSocket clients', async () => {
    const [g1, g2] = cluster.gateways.map((g) => g.inner);
    await page.fill('#token', TEST_DASHBOARD_TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.locator(`tr[data-gateway="${g1}"]`).waitFor();
    await page.locator(`tr[data-gateway="${g2}"]`).waitFor();
    await waitForText(connectionsOf(g1), '0');
    await waitForText(connectionsOf(g2), '0');
    await waitForText('#total-registers', '1 / 1');

    await login(0, { name: 'Ann', room: 'lobby', uid: 'ann' });
    await login(0, { name: 'Bob', room: 'lobby', uid: 'bob' });
    await login(0, { name: 'Cid', room: 'support', uid: 'cid' });
    await login(1, { name: 'Dee', room: 'lobby', uid: 'dee' });
    await waitForText(connectionsOf(g1), '3');
    await waitForText(connectionsOf(g2), '1');
    await waitForText('#total-connections', '4');
    await waitForText('tr[data-group="lobby"] [data-field="clients"]', '3');
    // The page reloads with the token from sessionStorage: no second sign-in.
    await page.reload();
    await waitForText(connectionsOf(g1), '3');
    expect(await page.locator('#login').isHidden()).toBe(true);

    // Traffic (echoed by the example worker) until the page shows a message rate above zero: rates come from two
    // overviews at least a second apart, so this also shows the page refreshing on its own.
    const talker = clients[0];
    const shownRate = () => page.locator(`tr[data-gateway="${g1}"] [data-field="in-rate"]`).textContent();
    const deadline = Date.now() + 15_000;
    while (['–', '0.0'].includes((await shownRate()) ?? '–')) {
      if (Date.now() > deadline) throw new Error(`no message rate shown for ${g1}; last: ${await shownRate()}`);
      for (let i = 0; i < 10; i++) talker.send(`ping ${i}`);
      await page.waitForTimeout(200);
    }
    await page.waitForFunction(() => document.querySelectorAll('#spark-in path').length === 2);
    await screenshot(page, 'dashboard-overview');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'dashboard-overview-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('sends a message to a client and kicks it from the lookup; the client sees both', async () => {
    const zoe = await login(1, { name: 'Zoe', room: 'lobby', uid: 'zoe' });
    await page.selectOption('#lookup-kind', 'uid');
    await page.fill('#lookup-value', 'zoe');
    await page.click('#lookup-form button[type=submit]');
    const card = page.locator(`article[data-client="${zoe.clientId}"]`);
    await card.waitFor();
    expect(await card.locator('[data-field="uid"]').textContent()).toBe('zoe');
    expect(JSON.parse((await card.locator('[data-field="session"]').textContent()) ?? '')).toEqual({
      name: 'Zoe',
      room: 'lobby',
    });

    await card.locator('textarea').fill('hello from the dashboard');
    await card.locator('button[type=submit]').click();
    await zoe.client.waitUntilReceived(
      () => zoe.client.received.find((m) => m.data.toString('utf8') === 'hello from the dashboard'),
      'the message sent from the page',
      15_000,
    );
    await card.locator('.action-result.good').waitFor();
    await screenshot(page, 'dashboard-lookup');

    await card.locator('input[aria-label="Close reason"]').fill('kicked from the browser');
    page.once('dialog', (dialog) => void dialog.accept());
    await card.locator('button.button-danger').click();
    expect(await zoe.client.closed).toBe(1000);
    expect(zoe.client.closeReason).toBe('kicked from the browser');
    await waitForText(`article[data-client="${zoe.clientId}"] .action-result`, 'Connection closed');
  });

  it('refuses everything, with the reason, in an app that mounts the dashboard without auth', async () => {
    @Module({
      imports: [
        GatewayModule.forClient({ registers: cluster.register.address, secret: TEST_SECRET }),
        GatewayDashboardModule.forRoot(),
      ],
    })
    class NoAuthAppModule {}
    app = await NestFactory.create(NoAuthAppModule, { logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    const port = (app.getHttpServer().address() as AddressInfo).port;
    const refused = await browser.newPage({ viewport: { width: 1000, height: 600 } });
    await refused.goto(`http://127.0.0.1:${port}/gateway-dashboard`);
    await refused.waitForFunction(
      (expected) => document.querySelector('#login-message')?.textContent === expected,
      DASHBOARD_AUTH_MISSING,
    );
    // 403: no token would help, so no form is offered.
    expect(await refused.locator('#login-form').isHidden()).toBe(true);
    expect(await refused.locator('#content').isHidden()).toBe(true);
    await screenshot(refused, 'dashboard-no-auth');
    await refused.close();
  });
});
