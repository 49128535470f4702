import { Logger } from '@nestjs/common';
import { parseScrape, valueOf } from '../../../../../test/support/prometheus-text';
import { readiness, type Readiness } from '../health/readiness';
import { adminOption } from './admin-options';
import { AdminServer } from './admin-server';
import type { AdminTarget } from './admin-target';

/** A role as the admin listener sees it: a verdict the test sets, one counter, a stop the test ends. */
class TestRole implements AdminTarget {
  readonly role = 'Gateway';
  verdict: Readiness = readiness({ workers: 1 });
  hits = 0;
  /** Makes readiness and the counter throw (a bug in a role's figures). */
  broken = false;
  private endStop: () => void = () => undefined;
  private readonly stop = new Promise<void>((resolve) => (this.endStop = resolve));

  readiness(): Readiness {
    if (this.broken) throw new Error('broken readiness');
    return this.verdict;
  }

  metrics(m: Parameters<AdminTarget['metrics']>[0]): void {
    m.counter('test_hits_total', 'Hits.', [], () => {
      if (this.broken) throw new Error('broken counter');
      return this.hits;
    });
  }

  stopped(): Promise<void> {
    return this.stop;
  }

  finishStop(): void {
    this.endStop();
  }
}

async function get(base: string, path: string, method = 'GET') {
  const res = await fetch(`${base}${path}`, { method, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

describe('AdminServer: the admin listener of one process', () => {
  const servers: AdminServer[] = [];
  const roles: TestRole[] = [];
  let logged: string[] = [];

  beforeEach(() => {
    logged = [];
    jest.spyOn(Logger.prototype, 'log').mockImplementation((message: unknown) => void logged.push(String(message)));
  });

  async function start(): Promise<{ admin: AdminServer; role: TestRole; base: string }> {
    const role = new TestRole();
    const admin = new AdminServer(adminOption('ADMIN_LISTEN', '127.0.0.1:0'), role);
    servers.push(admin);
    roles.push(role);
    await admin.onModuleInit();
    return { admin, role, base: `http://127.0.0.1:${admin.address!.port}` };
  }

  afterEach(async () => {
    for (const role of roles.splice(0)) role.finishStop();
    await Promise.all(servers.splice(0).map((s) => s.onApplicationShutdown()));
    jest.restoreAllMocks();
  });

  it('does nothing without an address', async () => {
    const admin = new AdminServer(null, new TestRole());
    await admin.onModuleInit();
    expect(admin.address).toBeNull();
    expect(await admin.metrics()).toBeNull();
    await admin.onApplicationShutdown();
  });

  it('serves Prometheus text read at scrape time, liveness, and readiness as 200 or 503 with its reason', async () => {
    const { role, base } = await start();
    expect(logged).toEqual([`Admin listening on ${base} (/metrics, /health/live, /health/ready)`]);
    role.hits = 41;
    const metrics = await get(base, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/);
    let scrape = parseScrape(metrics.body);
    expect(valueOf(scrape, 'test_hits_total')).toBe(41);
    expect(valueOf(scrape, 'gatewayworker_ready')).toBe(1);
    expect(scrape.families.get('process_cpu_user_seconds_total')).toBe('counter'); // collectDefaultMetrics
    role.hits = 42;
    scrape = parseScrape((await get(base, '/metrics')).body);
    expect(valueOf(scrape, 'test_hits_total')).toBe(42);

    expect(await get(base, '/health/live')).toMatchObject({ status: 200, body: '{"live":true}\n' });
    expect(JSON.parse((await get(base, '/health/ready')).body)).toEqual({ ready: true, checks: { workers: 1 } });
    role.verdict = readiness({ workers: 0 }, 'no worker linked');
    const notReady = await get(base, '/health/ready?verbose=1');
    expect(notReady.status).toBe(503);
    expect(notReady.type).toMatch(/^application\/json/);
    expect(JSON.parse(notReady.body)).toEqual({ ready: false, reason: 'no worker linked', checks: { workers: 0 } });
    expect(valueOf(parseScrape((await get(base, '/metrics')).body), 'gatewayworker_ready')).toBe(0);
  });

  it('answers 500 for a request whose figures fail, and keeps serving', async () => {
    const { role, base } = await start();
    const warned: string[] = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((m: unknown) => void warned.push(String(m)));
    role.broken = true;
    expect((await get(base, '/health/ready')).status).toBe(500);
    expect((await get(base, '/metrics')).status).toBe(500);
    expect(warned).toEqual(['GET /health/ready failed: broken readiness', 'GET /metrics failed: broken counter']);
    role.broken = false;
    expect((await get(base, '/health/ready')).status).toBe(200);
    expect((await get(base, '/health/live')).status).toBe(200);
  });

  it('answers GET and HEAD only, and 404 elsewhere', async () => {
    const { base } = await start();
    expect((await get(base, '/health/ready', 'HEAD')).status).toBe(200);
    expect((await get(base, '/health/ready', 'HEAD')).body).toBe('');
    expect((await get(base, '/metrics', 'POST')).status).toBe(405);
    expect((await get(base, '/')).status).toBe(404);
    expect((await get(base, '/metrics/x')).status).toBe(404);
  });

  it('is not ready from the start of the shutdown, and serves until the role has stopped', async () => {
    const { admin, role, base } = await start();
    admin.onModuleDestroy();
    const during = await get(base, '/health/ready');
    expect(during.status).toBe(503);
    expect(JSON.parse(during.body).reason).toBe('the gateway is shutting down');
    const closed = admin.onApplicationShutdown();
    // Still serving while the role's stop runs (a gateway's client drain, a worker's drain).
    expect((await get(base, '/health/ready')).status).toBe(503);
    expect((await get(base, '/health/live')).status).toBe(200);
    role.finishStop();
    await closed;
    await expect(get(base, '/health/live')).rejects.toThrow();
  });
});
