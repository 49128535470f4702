import {
  GatewayDashboardModule,
  GatewayModule,
  type DashboardOverview,
  type RegisterStatus,
} from 'nest-gateway-worker';
import {
  DASHBOARD_AUTH_MISSING,
  DASHBOARD_GUARD_REFUSED,
  DASHBOARD_TOKEN_REQUIRED,
  DASHBOARD_TOKEN_WRONG,
} from 'nest-gateway-worker/internal';
import {
  Inject,
  Injectable,
  Module,
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { eventually } from './support/eventually';
import {
  TEST_DASHBOARD_TOKEN,
  chatClient,
  dashboardApi,
  startDashboardCluster,
  type DashboardCluster,
} from './support/example-dashboard';
import { stopAll, TEST_SECRET } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * The dashboard module's page and JSON API on a real cluster (one register, two gateways): mounted in the example
 * worker with DASHBOARD_TOKEN (a child process, the built package), and in in-process forClient apps without auth
 * and with a guard (the package's sources). What is checked is what the API answers and what the WebSocket clients
 * see (messages, closes), never timings.
 */
describe('GatewayDashboardModule', () => {
  let cluster: DashboardCluster;
  const clients: TestClient[] = [];
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    cluster = await startDashboardCluster();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const app of apps) await app.close();
    await stopAll();
  });

  const overview = async (): Promise<DashboardOverview> => {
    const res = await dashboardApi(cluster.dashboard, 'overview');
    expect(res.status).toBe(200);
    return res.body as DashboardOverview;
  };

  async function open(gateway: number): Promise<TestClient> {
    const c = await TestClient.open(cluster.gateways[gateway].url);
    clients.push(c);
    return c;
  }

  async function login(gateway: number, who: { name: string; room: string; uid?: string }) {
    const logged = await chatClient(cluster.gateways[gateway].url, who);
    clients.push(logged.client);
    return logged;
  }

  describe('in the example worker, with DASHBOARD_TOKEN', () => {
    it('serves the page and its assets without a token, with paths relative to the URL asked for', async () => {
      const page = await fetch(cluster.dashboard);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      const html = await page.text();
      expect(html).toContain('src="./gateway-dashboard/assets/dashboard.js"');
      expect(html).toContain('data-refresh-ms="2000"');
      // With a trailing slash the page is one level deeper, so its assets are "./assets/...".
      expect(await (await fetch(`${cluster.dashboard}/`)).text()).toContain('src="./assets/dashboard.js"');

      const script = await fetch(`${cluster.dashboard}/assets/dashboard.js`);
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(await script.text()).toContain("new URL('../api/', import.meta.url)");
      const css = await fetch(`${cluster.dashboard}/assets/dashboard.css`);
      expect(css.status).toBe(200);
      expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    });

    it('refuses every API route without the token or with a wrong one (401), before touching any client', async () => {
      const victim = await login(0, { name: 'Vic', room: 'safe' });
      for (const token of [null, 'not-the-token-at-all']) {
        const expected = token === null ? DASHBOARD_TOKEN_REQUIRED : DASHBOARD_TOKEN_WRONG;
        for (const path of ['overview', 'groups', `clients/${victim.clientId}`, 'uids/ann']) {
          const res = await dashboardApi(cluster.dashboard, path, { token });
          expect({ path, status: res.status, message: res.body.message }).toEqual({
            path,
            status: 401,
            message: expected,
          });
        }
        const kick = await dashboardApi(cluster.dashboard, `clients/${victim.clientId}/kick`, {
          method: 'POST',
          body: {},
          token,
        });
        expect(kick.status).toBe(401);
        const send = await dashboardApi(cluster.dashboard, `clients/${victim.clientId}/send`, {
          method: 'POST',
          body: { message: 'should not arrive' },
          token,
        });
        expect(send.status).toBe(401);
      }
      // A bearer header of another scheme is no token either.
      const basic = await fetch(`${cluster.dashboard}/api/overview`, {
        headers: { authorization: `Basic ${Buffer.from(`x:${TEST_DASHBOARD_TOKEN}`).toString('base64')}` },
      });
      expect(basic.status).toBe(401);

      // The client was neither messaged nor closed: it is still online and got nothing after its welcome.
      const lookup = await dashboardApi(cluster.dashboard, `clients/${victim.clientId}`);
      expect(lookup.status).toBe(200);
      expect(victim.client.closeCode).toBeNull();
      expect(victim.client.received.map((m) => m.data.toString())).not.toContain('should not arrive');
      expect(cluster.worker.output).toContain('dashboard: a request with a wrong token from');
      expect(cluster.worker.output).not.toContain('not-the-token-at-all');
      victim.client.close();
    });

    it('overview: both gateways and the register, and the connection counts follow the clients', async () => {
      const [g1, g2] = cluster.gateways.map((g) => g.inner);
      const first = await eventually(
        overview,
        (o) => o.totals.connections === 0,
        'an overview with no client connected',
      );
      expect(first.gateways.map((g) => g.address)).toEqual([g1, g2].sort());
      expect(first.unreachableGateways).toEqual([]);
      expect(first.registers).toEqual<RegisterStatus[]>([
        { address: cluster.register.address, connected: true, gateways: [g1, g2].sort() },
      ]);
      for (const g of first.gateways) {
        expect(g.workers).toBe(1);
        expect(g.uptimeMs).toBeGreaterThan(0);
        expect(g.memoryRss).toBeGreaterThan(1_000_000);
        expect(typeof g.counters.messagesIn).toBe('number');
      }
      expect(first.totals).toMatchObject({ gateways: 2, connections: 0, uids: 0, groups: 0 });
      expect(first.errors).toEqual([]);

      const opened = [await open(0), await open(0), await open(1)];
      const connected = await eventually(
        overview,
        (o) => o.totals.connections === 3,
        'the overview to count three connections',
      );
      const byAddress = Object.fromEntries(connected.gateways.map((g) => [g.address, g.connections]));
      expect(byAddress).toEqual({ [g1]: 2, [g2]: 1 });
      // Rates need two overviews at least a second apart: once they exist they are numbers, summed in the totals.
      const rated = await eventually(
        overview,
        (o) => o.gateways.every((g) => g.messagesInPerSecond !== null),
        'message rates for every gateway',
      );
      for (const g of rated.gateways) expect(g.messagesOutPerSecond).toBeGreaterThanOrEqual(0);
      expect(rated.totals.messagesInPerSecond).toBeCloseTo(
        rated.gateways.reduce((n, g) => n + (g.messagesInPerSecond ?? 0), 0),
      );

      for (const c of opened) c.close();
      await eventually(overview, (o) => o.totals.connections === 0, 'the overview to count no connection again');
    });

    it('groups, and a lookup by uid and by client_id show the connection and its session', async () => {
      const ann = await login(0, { name: 'Ann', room: 'lobby', uid: 'ann' });
      const bob = await login(1, { name: 'Bob', room: 'lobby', uid: 'bob' });
      const ann2 = await login(1, { name: 'Ann on her phone', room: 'kitchen', uid: 'ann' });

      const groups = await dashboardApi(cluster.dashboard, 'groups');
      expect(groups.status).toBe(200);
      expect(groups.body).toEqual({
        total: 2,
        groups: [
          { group: 'lobby', clients: 2, uids: 2 },
          { group: 'kitchen', clients: 1, uids: 1 },
        ],
      });
      const o = await overview();
      expect(o.totals).toMatchObject({ connections: 3, uids: 2, groups: 2 });

      const byUid = await dashboardApi(cluster.dashboard, 'uids/ann');
      expect(byUid.status).toBe(200);
      expect(byUid.body.uid).toBe('ann');
      expect(byUid.body.total).toBe(2);
      const entries = [...byUid.body.clients].sort((a, b) => (a.client.clientId < b.client.clientId ? -1 : 1));
      const expectedIds = [ann.clientId, ann2.clientId].sort();
      expect(entries.map((e) => e.client.clientId)).toEqual(expectedIds);
      const annEntry = entries.find((e) => e.client.clientId === ann.clientId);
      expect(annEntry.session).toEqual({ name: 'Ann', room: 'lobby' });
      expect(annEntry.client).toMatchObject({
        uid: 'ann',
        groups: ['lobby'],
        protocol: 'ws',
        remoteAddress: '127.0.0.1',
      });
      expect(annEntry.client.messagesIn).toBe(1);

      const byId = await dashboardApi(cluster.dashboard, `clients/${bob.clientId}`);
      expect(byId.status).toBe(200);
      expect(byId.body.session).toEqual({ name: 'Bob', room: 'lobby' });
      expect(byId.body.client).toMatchObject({ clientId: bob.clientId, uid: 'bob', groups: ['lobby'] });

      expect((await dashboardApi(cluster.dashboard, 'uids/nobody')).status).toBe(404);
      const malformed = await dashboardApi(cluster.dashboard, 'clients/not-a-client-id');
      expect(malformed.status).toBe(400);
      expect(malformed.body.message).toMatch(/not a client_id/);
      // A well-formed id on a registered gateway, with a connection id nobody holds: offline.
      const offline = `${bob.clientId.slice(0, 12)}ffffffff`;
      expect((await dashboardApi(cluster.dashboard, `clients/${offline}`)).status).toBe(404);

      for (const c of [ann, bob, ann2]) c.client.close();
      await eventually(overview, (x) => x.totals.connections === 0, 'the clients to be gone');
    });

    it('send: the client receives the text; the log names the client, never the message', async () => {
      const cat = await login(1, { name: 'Cat', room: 'lobby' });
      const text = 'a message only the client may read';
      const sent = await dashboardApi(cluster.dashboard, `clients/${cat.clientId}/send`, {
        method: 'POST',
        body: { message: text },
      });
      expect(sent.status).toBe(200);
      expect(sent.body).toEqual({ clientId: cat.clientId, delivered: 1 });
      await cat.client.waitUntilReceived(
        () => cat.client.received.find((m) => !m.binary && m.data.toString('utf8') === text),
        'the message sent from the dashboard',
      );
      await eventually(
        () => cluster.worker.output,
        (out) => out.includes(`dashboard: sent a message of ${text.length} character(s) to client ${cat.clientId}`),
        "the worker's log line about the send",
      );
      expect(cluster.worker.output).not.toContain(text);

      // Not JSON (a form another site could post): 415, nothing sent.
      for (const contentType of ['application/x-www-form-urlencoded', 'text/plain']) {
        const form = await dashboardApi(cluster.dashboard, `clients/${cat.clientId}/send`, {
          method: 'POST',
          body: 'message=forged',
          contentType,
        });
        expect({ contentType, status: form.status }).toEqual({ contentType, status: 415 });
      }
      const empty = await dashboardApi(cluster.dashboard, `clients/${cat.clientId}/send`, {
        method: 'POST',
        body: { message: '' },
      });
      expect(empty.status).toBe(400);
      // Everything the client received after its welcome: the one message.
      const after = cat.client.received.map((m) => m.data.toString('utf8')).filter((t) => !t.includes('"welcome"'));
      expect(after).toEqual([text]);
      cat.client.close();
    });

    it('kick: the client sees its connection closed with the reason; it is offline afterwards', async () => {
      const dan = await login(0, { name: 'Dan', room: 'lobby', uid: 'dan' });
      const kicked = await dashboardApi(cluster.dashboard, `clients/${dan.clientId}/kick`, {
        method: 'POST',
        body: { reason: 'closed by the operator' },
      });
      expect(kicked.status).toBe(200);
      expect(kicked.body).toEqual({ clientId: dan.clientId, closed: true });
      expect(await dan.client.closed).toBe(1000);
      expect(dan.client.closeReason).toBe('closed by the operator');
      expect((await dashboardApi(cluster.dashboard, `clients/${dan.clientId}`)).status).toBe(404);
      const again = await dashboardApi(cluster.dashboard, `clients/${dan.clientId}/kick`, {
        method: 'POST',
        body: {},
      });
      expect(again.body).toEqual({ clientId: dan.clientId, closed: false });
    });
  });

  describe('in a forClient app', () => {
    async function startApp(dashboard: DynamicModule): Promise<string> {
      @Module({
        imports: [
          GatewayModule.forClient({ registers: cluster.register.address, secret: TEST_SECRET, timeoutMs: 2_000 }),
          dashboard,
        ],
      })
      class OpsAppModule {}
      const app = await NestFactory.create(OpsAppModule, { logger: ['error'] });
      apps.push(app);
      await app.listen(0, '127.0.0.1');
      return `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    }

    it('without auth: every API route is refused with 403 and a message saying what to configure', async () => {
      const base = await startApp(GatewayDashboardModule.forRoot({ path: '/ops/gateways' }));
      const dashboard = `${base}/ops/gateways`;
      expect((await fetch(dashboard)).status).toBe(200); // the page loads, to show why
      const victim = await login(0, { name: 'Eve', room: 'lobby' });
      for (const [path, method] of [
        ['overview', 'GET'],
        ['groups', 'GET'],
        [`clients/${victim.clientId}`, 'GET'],
        ['uids/eve', 'GET'],
        [`clients/${victim.clientId}/kick`, 'POST'],
      ] as const) {
        // Even with a token: none is configured, so none can be right.
        const res = await dashboardApi(dashboard, path, { method, body: method === 'POST' ? {} : undefined });
        expect({ path, status: res.status, message: res.body.message }).toEqual({
          path,
          status: 403,
          message: DASHBOARD_AUTH_MISSING,
        });
      }
      expect(victim.client.closeCode).toBeNull();
      victim.client.close();
    });

    it("forRootAsync with a guard class from DI: the guard's answer decides", async () => {
      @Injectable()
      class OpsPolicy {
        readonly role = 'ops';
      }
      @Module({ providers: [OpsPolicy], exports: [OpsPolicy] })
      class PolicyModule {}
      @Injectable()
      class RoleHeaderGuard implements CanActivate {
        constructor(@Inject(OpsPolicy) private readonly policy: OpsPolicy) {}
        canActivate(context: ExecutionContext): boolean {
          const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
          return request.headers['x-role'] === this.policy.role;
        }
      }
      const base = await startApp(
        GatewayDashboardModule.forRootAsync({
          path: '/dash',
          imports: [PolicyModule],
          inject: [OpsPolicy],
          useFactory: (policy: OpsPolicy) => ({
            auth: { guard: RoleHeaderGuard },
            refreshIntervalMs: policy.role === 'ops' ? 1000 : 2000,
          }),
        }),
      );
      const refused = await fetch(`${base}/dash/api/overview`, { headers: { 'x-role': 'guest' } });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { message: string }).message).toBe(DASHBOARD_GUARD_REFUSED);
      const allowed = await eventually(
        async () => {
          const res = await fetch(`${base}/dash/api/overview`, { headers: { 'x-role': 'ops' } });
          return { status: res.status, body: (await res.json()) as DashboardOverview };
        },
        (r) => r.status === 200 && r.body.gateways.length === 2,
        'the guarded overview with both gateways',
      );
      expect(allowed.body.refreshIntervalMs).toBe(1000);
      expect(allowed.body.gateways.map((g) => g.address)).toEqual(cluster.gateways.map((g) => g.inner).sort());
      expect(await (await fetch(`${base}/dash`)).text()).toContain('data-refresh-ms="1000"');
    });

    it('a gateway that stops answering (SIGSTOP) is shown as listed but not answering, the others as usual', async () => {
      const base = await startApp(
        GatewayDashboardModule.forRoot({ path: '/ops', auth: { token: TEST_DASHBOARD_TOKEN } }),
      );
      const [g1, g2] = cluster.gateways;
      await eventually(
        async () => (await dashboardApi(`${base}/ops`, 'overview')).body as DashboardOverview,
        (o) => o.gateways.length === 2,
        'both gateways in the overview',
      );
      const pid = g2.proc.child.pid!;
      process.kill(pid, 'SIGSTOP');
      try {
        const o = await eventually(
          async () => (await dashboardApi(`${base}/ops`, 'overview')).body as DashboardOverview,
          (x) => x.unreachableGateways.length === 1,
          'the stopped gateway to be reported as not answering',
        );
        expect(o.unreachableGateways).toEqual([g2.inner]);
        expect(o.gateways.map((g) => g.address)).toEqual([g1.inner]);
        expect(o.totals.gateways).toBe(1);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await eventually(
        async () => (await dashboardApi(`${base}/ops`, 'overview')).body as DashboardOverview,
        (x) => x.gateways.length === 2 && x.unreachableGateways.length === 0,
        'the gateway to answer again',
      );
    });
  });
});
