import { AdminServer, GatewayClient, GatewayModule, MessageBody, OnClientMessage } from 'nest-gateway-worker';
import { Controller, Module, type INestApplicationContext, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import { killQuietly, waitForNestLines } from './support/cluster-processes';
import { eventually, exitWithin } from './support/eventually';
import { exampleWorkerApi, gatewayStatsVia } from './support/example-worker-api';
import { startInProcessWorker } from './support/in-process-worker';
import { familyOf, parseScrape, samplesOf, valueOf, type PromScrape } from './support/prometheus-text';
import {
  startGateway,
  startRegister,
  startRole,
  startWorker,
  stopAll,
  TEST_SECRET,
  type LoggedProcess,
} from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * The admin listener (ADMIN_LISTEN) of every role, on real processes: GET /metrics parses as Prometheus text and
 * its counters equal the traffic sent, GET /health/ready follows what each role can do (a worker linked, a drain, a
 * shutdown), cluster children serve on port + i, and the Grafana dashboard queries only metrics that exist.
 */

const DASHBOARD = resolve(__dirname, '..', 'ops', 'grafana', 'gatewayworker.json');
const ADMIN = { ADMIN_LISTEN: '127.0.0.1:0' };

/** The admin URL a process logged ("Admin listening on http://127.0.0.1:PORT (...)"): the one place port 0 shows. */
async function adminUrlOf(proc: LoggedProcess): Promise<string> {
  const [, url] = await proc.waitFor(/Admin listening on (http:\/\/\S+) /);
  return url;
}

async function scrape(admin: string): Promise<PromScrape> {
  const res = await fetch(`${admin}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (res.status !== 200) throw new Error(`GET ${admin}/metrics: HTTP ${res.status}`);
  return parseScrape(await res.text());
}

async function health(admin: string, path = '/health/ready'): Promise<{ status: number; reason?: string }> {
  const res = await fetch(`${admin}${path}`, { signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as { reason?: string };
  return { status: res.status, reason: body.reason };
}

function untilReady(admin: string, what: string): Promise<unknown> {
  return eventually(
    () => health(admin),
    (h) => h.status === 200,
    `${what} to be ready`,
    20_000,
  );
}

/** `after - before` of the summed samples named `name` whose labels include `labels`. */
function delta(before: PromScrape, after: PromScrape, name: string, labels: Record<string, string> = {}): number {
  return valueOf(after, name, labels) - valueOf(before, name, labels);
}

/**
 * Two consecutive free ports on 127.0.0.1 (the first is returned), for a cluster whose child i uses port + i. Taken
 * below the kernel's ephemeral range (ip_local_port_range, 32768+ here): the ports are released before the children
 * bind them, and in that window any process binding port 0 (other specs run in parallel) could be handed port + 1
 * if it were ephemeral; an explicit bind below the range is the only way to take them.
 */
async function freePortPair(): Promise<number> {
  const bind = (port: number) =>
    new Promise<Server>((ok, fail) => {
      const server = createServer();
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => ok(server));
    });
  const close = (server: Server) => new Promise((done) => server.close(done));
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  for (let attempt = 0; attempt < 50; attempt++) {
    // A random pair from 20000 up to the range's start (or 10000–20000 if it starts lower).
    const base = low > 21_000 ? 20_000 : 10_000;
    const top = low > 21_000 ? low - 2 : 19_998;
    const port = base + Math.floor(Math.random() * (top - base));
    try {
      const first = await bind(port);
      try {
        await close(await bind(port + 1));
        await close(first);
        return port;
      } catch {
        await close(first);
      }
    } catch {
      // taken: another pair
    }
  }
  throw new Error('found no two consecutive free ports');
}

/** A handler that holds `block` messages until the test releases them, so a drain has something to wait for. */
class Gate {
  entered: Promise<void>;
  private onEnter: () => void = () => undefined;
  private release: () => void = () => undefined;
  private readonly opened: Promise<void>;

  constructor() {
    this.entered = new Promise((r) => (this.onEnter = r));
    this.opened = new Promise((r) => (this.release = r));
  }

  async pass(): Promise<void> {
    this.onEnter();
    await this.opened;
  }

  open(): void {
    this.release();
  }
}

function gatedEcho(gate: Gate) {
  @Controller()
  class GatedEchoController {
    @OnClientMessage()
    async echo(@MessageBody() message: string): Promise<string> {
      if (message === 'block') await gate.pass();
      return message;
    }
  }
  return GatedEchoController;
}

describe('admin listener: Prometheus metrics and health of every role', () => {
  const clients: TestClient[] = [];
  const apps: INestMicroservice[] = [];
  const contexts: INestApplicationContext[] = [];
  const clusterPids: number[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const app of apps.splice(0)) await app.close();
    for (const context of contexts.splice(0)) await context.close();
    await stopAll();
    killQuietly(clusterPids.splice(0));
  });

  it('serves /metrics on every role whose counters equal the traffic, and the dashboard queries only what exists', async () => {
    const register = await startRegister(ADMIN);
    const gateway = await startGateway(register.address, { ...ADMIN, GATEWAY_MAX_MESSAGE_BYTES: '1000' });
    const worker = await startWorker(register.address, ADMIN, gateway.inner);
    const api = await exampleWorkerApi(worker);
    const admin = {
      register: await adminUrlOf(register.proc),
      gateway: await adminUrlOf(gateway.proc),
      worker: await adminUrlOf(worker),
    };
    for (const [role, url] of Object.entries(admin)) await untilReady(url, role);

    const beforeOpen = await scrape(admin.gateway);
    const client = await TestClient.open(gateway.url);
    clients.push(client);
    // The connect event is forwarded and acknowledged before the baseline, so the deltas below are the messages'.
    await eventually(
      () => scrape(admin.gateway),
      (s) =>
        delta(beforeOpen, s, 'gatewayworker_gateway_events_acked_total') === 1 &&
        delta(beforeOpen, s, 'gatewayworker_gateway_events_forwarded_total') === 1,
      'the connect event to be acknowledged',
    );
    const g0 = await scrape(admin.gateway);
    const w0 = await scrape(admin.worker);
    expect(delta(beforeOpen, g0, 'gatewayworker_gateway_connections_opened_total', { listener: gateway.url })).toBe(1);
    expect(delta(beforeOpen, g0, 'gatewayworker_gateway_router_picks_total', { strategy: 'least-connections' })).toBe(
      1,
    );
    expect(valueOf(g0, 'gatewayworker_gateway_connections', { listener: gateway.url })).toBe(1);

    // 100 echoes (the untyped handler) and 5 {"type":"process"} (a typed one): 105 messages each way.
    const sent: string[] = [];
    for (let i = 0; i < 100; i++) sent.push(`echo message ${i} ${'x'.repeat(i)}`);
    for (let i = 0; i < 5; i++) sent.push(JSON.stringify({ type: 'process' }));
    for (const m of sent) client.send(m);
    await client.waitForMessages(105, 15_000);
    await gatewayStatsVia(api); // one query from the worker's GatewayClient
    const g1 = await eventually(
      () => scrape(admin.gateway),
      (s) => delta(g0, s, 'gatewayworker_gateway_events_acked_total') >= 105,
      'the 105 message events to be acknowledged',
    );
    const w1 = await scrape(admin.worker);
    const bytes = (list: (string | Buffer)[]) => list.reduce((n, m) => n + Buffer.byteLength(m), 0);

    expect(delta(g0, g1, 'gatewayworker_gateway_received_messages_total')).toBe(105);
    expect(delta(g0, g1, 'gatewayworker_gateway_sent_messages_total')).toBe(105);
    expect(delta(g0, g1, 'gatewayworker_gateway_received_bytes_total')).toBe(bytes(sent));
    expect(delta(g0, g1, 'gatewayworker_gateway_sent_bytes_total')).toBe(bytes(client.received.map((r) => r.data)));
    expect(delta(g0, g1, 'gatewayworker_gateway_events_forwarded_total')).toBe(105);
    expect(delta(g0, g1, 'gatewayworker_gateway_events_acked_total')).toBe(105);
    expect(delta(g0, g1, 'gatewayworker_gateway_events_redelivered_total')).toBe(0);
    // Every reply is a SendToOne; the worker's query is one GetGatewayStats.
    expect(delta(g0, g1, 'gatewayworker_gateway_commands_total', { command: 'SendToOne' })).toBe(105);
    expect(delta(g0, g1, 'gatewayworker_gateway_commands_total', { command: 'GetGatewayStats' })).toBe(1);
    expect(delta(g0, g1, 'gatewayworker_gateway_broadcast_deliveries_total')).toBe(0);
    expect(valueOf(g1, 'gatewayworker_gateway_pending_events')).toBe(0);
    expect(valueOf(g1, 'gatewayworker_gateway_worker_links')).toBe(1);
    expect(samplesOf(g1, 'gatewayworker_gateway_worker_unacked_bytes')).toEqual([
      { name: 'gatewayworker_gateway_worker_unacked_bytes', labels: { worker: expect.any(String) }, value: 0 },
    ]);
    const handled = (s: PromScrape, type: string) =>
      valueOf(s, 'gatewayworker_worker_handler_duration_seconds_count', { event: 'message', type });
    expect(handled(w1, 'other') - handled(w0, 'other')).toBe(100);
    expect(handled(w1, 'process') - handled(w0, 'process')).toBe(5);
    // Only types of typed handlers become labels.
    const types = new Set(
      samplesOf(w1, 'gatewayworker_worker_handler_duration_seconds_count').map((s) => s.labels.type),
    );
    expect([...types].every((t) => ['none', 'other', 'login', 'say', 'leave', 'process'].includes(t))).toBe(true);
    expect(
      delta(w0, w1, 'gatewayworker_client_query_duration_seconds_count', { client: 'worker', outcome: 'ok' }),
    ).toBe(1);
    expect(valueOf(w1, 'gatewayworker_client_gateway_links', { client: 'worker' })).toBe(1);
    expect(valueOf(w1, 'gatewayworker_worker_events_in_flight')).toBe(0);

    const r = await scrape(admin.register);
    expect(valueOf(r, 'gatewayworker_register_peers', { kind: 'gateway' })).toBe(1);
    expect(valueOf(r, 'gatewayworker_register_peers', { kind: 'subscriber' })).toBe(1);
    expect(valueOf(r, 'gatewayworker_register_list_pushes_total')).toBeGreaterThanOrEqual(1);
    for (const s of [g1, w1, r]) expect(valueOf(s, 'gatewayworker_ready')).toBe(1);

    // Closes by code: a code the client chose itself (counted as "other": clients cannot add labels), then a 1009
    // the gateway sends for a message over its limit.
    client.ws.close(4321);
    await client.closed;
    const tooBig = await TestClient.open(gateway.url);
    clients.push(tooBig);
    tooBig.send('y'.repeat(2_000));
    expect(await tooBig.closed).toBe(1009);
    const g2 = await eventually(
      () => scrape(admin.gateway),
      (s) => valueOf(s, 'gatewayworker_gateway_connections', { listener: gateway.url }) === 0,
      'both clients to be gone',
    );
    expect(delta(g1, g2, 'gatewayworker_gateway_connections_closed_total', { code: 'other' })).toBe(1);
    expect(samplesOf(g2, 'gatewayworker_gateway_connections_closed_total', { code: '4321' })).toEqual([]);
    expect(delta(g1, g2, 'gatewayworker_gateway_connections_closed_total', { code: '1009' })).toBe(1);
    expect(delta(g1, g2, 'gatewayworker_gateway_connections_closed_total')).toBe(2);
    expect(delta(g1, g2, 'gatewayworker_gateway_disconnects_total', { reason: 'oversize' })).toBe(1);

    // A standalone GatewayClient (forClient) with its admin listener in code: its links and query latencies.
    @Module({
      imports: [
        GatewayModule.forClient({
          registers: register.address,
          secret: TEST_SECRET,
          admin: { listen: '127.0.0.1:0' },
        }),
      ],
    })
    class SdkModule {}
    const sdk = await NestFactory.createApplicationContext(SdkModule, { logger: ['error', 'warn'] });
    contexts.push(sdk);
    const sdkAdmin = `http://127.0.0.1:${sdk.get(AdminServer).address!.port}`;
    await untilReady(sdkAdmin, 'the SDK client');
    const s0 = await scrape(sdkAdmin);
    for (let i = 0; i < 3; i++) await sdk.get(GatewayClient).getAllClientCount();
    const s1 = await scrape(sdkAdmin);
    expect(delta(s0, s1, 'gatewayworker_client_query_duration_seconds_count', { client: 'sdk', outcome: 'ok' })).toBe(
      3,
    );
    expect(valueOf(s1, 'gatewayworker_client_gateway_links', { client: 'sdk' })).toBe(1);
    const g3 = await scrape(admin.gateway);
    expect(delta(g2, g3, 'gatewayworker_gateway_commands_total')).toBe(3);
    // Counts of every client are not addressed to a group; a count of a named group is.
    expect(delta(g2, g3, 'gatewayworker_gateway_group_commands_total')).toBe(0);
    await sdk.get(GatewayClient).getClientCountByGroup('room');
    expect(delta(g3, await scrape(admin.gateway), 'gatewayworker_gateway_group_commands_total')).toBe(1);

    // The Grafana dashboard: valid JSON, and every metric its queries name is a family some role exposes.
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(30);
    const families = new Map([g2, w1, r].flatMap((s) => [...s.families]));
    const queried = new Set(exprs.flatMap((e) => e.match(/\b(?:gatewayworker|process|nodejs)_[a-z0-9_]+/g) ?? []));
    const missing = [...queried].filter((name) => !families.has(familyOf(name, families)));
    expect(missing).toEqual([]);
    for (const expr of exprs) expect(expr).toMatch(/\b(?:gatewayworker|process|nodejs)_/);
  });

  it('readiness: 503 with no worker, during a worker drain, and from the start of a gateway shutdown', async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address, { ...ADMIN, GATEWAY_SHUTDOWN_TIMEOUT_MS: '30000' });
    const gatewayAdmin = await adminUrlOf(gateway.proc);
    await eventually(
      () => health(gatewayAdmin),
      (h) => h.status === 503 && h.reason === 'no worker linked',
      'the gateway to be registered, with no worker',
    );
    expect(await health(gatewayAdmin, '/health/live')).toEqual({ status: 200 });

    const gate = new Gate();
    const { app, transport } = await startInProcessWorker(
      [gatedEcho(gate)],
      { registers: register.address, secret: TEST_SECRET, admin: { listen: '127.0.0.1:0' } },
      [gateway.inner],
    );
    apps.push(app);
    const workerAdmin = `http://127.0.0.1:${app.get(AdminServer).address!.port}`;
    await untilReady(workerAdmin, 'the worker');
    await untilReady(gatewayAdmin, 'the gateway with a worker');

    const client = await TestClient.open(gateway.url);
    clients.push(client);
    client.send('block');
    await gate.entered;
    const drained = transport.drain();
    // Not ready from the moment the drain begins, while its handler still runs.
    expect(await health(workerAdmin)).toEqual({ status: 503, reason: 'the worker is draining' });
    expect(valueOf(await scrape(workerAdmin), 'gatewayworker_worker_draining')).toBe(1);
    await eventually(
      () => health(gatewayAdmin),
      (h) => h.status === 503 && h.reason === 'all 1 linked worker(s) are draining',
      'the gateway to see its only worker draining',
    );
    gate.open();
    await drained;
    expect(await client.text(0)).toBe('block');
    apps.splice(apps.indexOf(app), 1);
    await app.close();
    await eventually(
      () => health(gatewayAdmin),
      (h) => h.status === 503 && h.reason === 'no worker linked',
      'the gateway to have no worker again',
    );

    // A client that does not read holds the gateway's graceful stop (its 1001 close is never answered).
    (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    gateway.proc.child.kill('SIGTERM');
    await gateway.proc.waitFor(/SIGTERM received: shutting down/);
    await eventually(
      () => health(gatewayAdmin),
      (h) => h.status === 503 && /shutting down/.test(h.reason ?? ''),
      'the gateway to report its shutdown',
    );
    expect(await health(gatewayAdmin, '/health/live')).toEqual({ status: 200 });
    expect(gateway.proc.running).toBe(true);
    client.close();
    expect(await exitWithin(gateway.proc, 15_000)).toBe(0);
  });

  it('GATEWAY_COUNT=2: child i serves its admin listener on ADMIN_LISTEN port + i, or a free port of its own', async () => {
    const register = await startRegister();
    const port = await freePortPair();
    const proc = startRole('gateway', {
      SECRET_KEY: TEST_SECRET,
      REGISTER_ADDRESS: register.address,
      GATEWAY_LISTEN: 'ws://127.0.0.1:0',
      GATEWAY_START_PORT: '0',
      GATEWAY_COUNT: '2',
      ADMIN_LISTEN: `127.0.0.1:${port}`,
    });
    const lines = await waitForNestLines(proc, /^Admin listening on http:\/\/127\.0\.0\.1:(\d+) /, 2, 30_000);
    clusterPids.push(...lines.map((l) => l.pid));
    await waitForNestLines(proc, /^2 gateway processes ready/, 1, 30_000);
    expect(lines.map((l) => Number(l.match[1])).sort()).toEqual([port, port + 1]);
    expect(new Set(lines.map((l) => l.pid)).size).toBe(2);
    expect(lines.map((l) => l.pid)).not.toContain(proc.child.pid);
    for (const p of [port, port + 1]) {
      const admin = `http://127.0.0.1:${p}`;
      expect(await health(admin, '/health/live')).toEqual({ status: 200 });
      // Each child is a gateway of its own: registered, no worker yet.
      await eventually(
        () => health(admin),
        (h) => h.status === 503 && h.reason === 'no worker linked',
        `gateway child on ${admin} to be registered`,
      );
      expect((await scrape(admin)).families.get('gatewayworker_gateway_connections')).toBe('gauge');
    }
    await proc.stop();
    expect(proc.child.exitCode).toBe(0);

    // Port 0: each child a free port of its own (a port shared through the cluster would mix the children's scrapes).
    const anyPort = startRole('gateway', {
      SECRET_KEY: TEST_SECRET,
      REGISTER_ADDRESS: register.address,
      GATEWAY_LISTEN: 'ws://127.0.0.1:0',
      GATEWAY_START_PORT: '0',
      GATEWAY_COUNT: '2',
      ADMIN_LISTEN: '127.0.0.1:0',
    });
    const free = await waitForNestLines(anyPort, /^Admin listening on http:\/\/127\.0\.0\.1:(\d+) /, 2, 30_000);
    clusterPids.push(...free.map((l) => l.pid));
    expect(new Set(free.map((l) => l.match[1])).size).toBe(2);
    expect(new Set(free.map((l) => l.pid)).size).toBe(2);
  });

  it("a bad ADMIN_LISTEN stops the process with a line naming it, a cluster child's port past 65535 too", async () => {
    const bad = startRole('worker', { SECRET_KEY: TEST_SECRET, REGISTER_ADDRESS: '127.0.0.1:9', ADMIN_LISTEN: 'x:y' });
    expect(await exitWithin(bad, 15_000)).toBe(1);
    expect(bad.output).toMatch(/Configuration error: ADMIN_LISTEN="x:y" is invalid: expected host:port/);

    const cluster = startRole('gateway', {
      SECRET_KEY: TEST_SECRET,
      REGISTER_ADDRESS: '127.0.0.1:9',
      GATEWAY_LISTEN: 'ws://127.0.0.1:0',
      GATEWAY_START_PORT: '0',
      GATEWAY_COUNT: '2',
      ADMIN_LISTEN: '127.0.0.1:65535',
    });
    expect(await exitWithin(cluster, 30_000)).toBe(1);
    expect(cluster.output).toMatch(
      /Configuration error: ADMIN_LISTEN=127\.0\.0\.1:65535 is invalid for process #1: its admin port 65536 is above 65535/,
    );
  });
});
