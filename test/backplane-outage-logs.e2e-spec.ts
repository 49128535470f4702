import { resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { eventually, sleep } from './support/eventually';
import { exampleWorkerApi } from './support/example-worker-api';
import { RedisServer } from './support/redis-server';
import { LoggedProcess, startGateway, startWorker, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * What each role logs while its Redis backplane is down for 20 s, and that each targets again once it is back: a
 * real redis-server with a password (stopped by its pid, started again on the same port: empty), two gateway
 * processes (no register), the example worker process and a standalone GatewayClient process
 * (test/support/netns-agent.js, role sdk, here on 127.0.0.1). Every process's stdout and stderr are captured; while
 * Redis is down the worker and the GatewayClient keep sending to a uid (the mesh fallback) with a body that must
 * never reach a log, nor must the password. Where a send went is read from the gateways' own uidCommands counters.
 */

const PASSWORD = 'outage-pw-5f0c1e7a';
const BODY = 'outage-body-9b2d';
/** How long Redis stays down. */
const OUTAGE_MS = 20_000;
/** The gateways' lease: renewed every second, so an outage of 20 s is 20 failed renewals and a lost lease. */
const LEASE_MS = 3_000;
/**
 * Most lines a role may log from the stop until it targets again (its connection errors at most once per 10 s per
 * connection, one line per notable change).
 */
const MAX_LINES = { gateway: 10, worker: 8, sdk: 8 };
const AGENT = resolve(__dirname, 'support', 'netns-agent.js');

describe('Redis backplane down for 20 s: bounded logs per role, then targeting again (real redis-server)', () => {
  let redis: RedisServer;
  let port: number;
  let url: string;
  const gateways: { proc: RoleProcess; url: string; inner: string }[] = [];
  let worker: RoleProcess;
  let api: string;
  let sdkProc: LoggedProcess;
  let sdkUrl: string;
  let holder: TestClient;

  async function sdk<T>(op: string, body: object = {}): Promise<T> {
    const res = await fetch(`${sdkUrl}/${op}`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const json = (await res.json()) as { result?: T; error?: { message: string } };
    if (json.error) throw new Error(`sdk ${op}: ${json.error.message}`);
    return json.result as T;
  }

  async function call<T>(method: string, ...args: unknown[]): Promise<T> {
    const r = await sdk<{ ok: boolean; value?: T; error?: { message: string } }>('call', { method, args });
    if (!r.ok) throw new Error(`${method}: ${r.error!.message}`);
    return r.value as T;
  }

  /** uidCommands of every gateway, by inner address. */
  async function uidCommands(): Promise<Map<string, number>> {
    const stats = await call<{ address: string; counters: { uidCommands?: number } }[]>('getGatewayStats');
    return new Map(stats.map((s) => [s.address, s.counters.uidCommands ?? 0]));
  }

  /** Whether one send by `send` reached the holder's gateway only (targeted), or every gateway (the mesh). */
  async function targeted(send: () => Promise<void>): Promise<boolean> {
    const before = await uidCommands();
    await send();
    const after = await uidCommands();
    const other = gateways[1].inner;
    return (
      after.get(other)! - before.get(other)! === 0 && after.get(gateways[0].inner)! > before.get(gateways[0].inner)!
    );
  }

  const workerSend = async (): Promise<void> => {
    const res = await fetch(`${api}/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uid: 'u-holder', message: BODY }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`notify: HTTP ${res.status}`);
  };
  const sdkSend = async (): Promise<void> => {
    await call('sendToUid', 'u-holder', BODY);
  };

  beforeAll(async () => {
    redis = await RedisServer.start({ args: ['--requirepass', PASSWORD], cliAuth: { password: PASSWORD } });
    port = redis.port;
    url = `redis://:${PASSWORD}@127.0.0.1:${port}`;
    const env = { GATEWAY_BACKPLANE: url, GATEWAY_BACKPLANE_LEASE_MS: String(LEASE_MS) };
    for (let i = 0; i < 2; i++) gateways.push(await startGateway('', env));
    worker = await startWorker('', { GATEWAY_BACKPLANE: url, GATEWAY_BACKPLANE_TIMEOUT_MS: '500' });
    api = await exampleWorkerApi(worker);
    sdkProc = new LoggedProcess(
      'sdk',
      spawn(process.execPath, [AGENT], {
        env: {
          PATH: process.env.PATH ?? '',
          NO_COLOR: '1',
          AGENT_ROLE: 'sdk',
          AGENT_LISTEN: '127.0.0.1',
          SECRET_KEY: TEST_SECRET,
          GATEWAY_BACKPLANE: url,
          GATEWAY_BACKPLANE_TIMEOUT_MS: '500',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    [, sdkUrl] = await sdkProc.waitFor(/agent ready (http:\S+)/);
    holder = await TestClient.open(gateways[0].url);
    const [clientId] = await eventually(
      () => call<string[]>('getAllClientIdList'),
      (ids) => ids.length === 1,
      'the holder online',
    );
    await call('bindUid', clientId, 'u-holder');
    await eventually(
      () => targeted(workerSend),
      (t) => t,
      'the worker targeting',
      20_000,
      200,
    );
    await eventually(
      () => targeted(sdkSend),
      (t) => t,
      'the GatewayClient targeting',
      20_000,
      200,
    );
  }, 90_000);

  afterAll(async () => {
    holder?.close();
    await sdkProc?.stop();
    await stopAll();
    await redis?.stop();
  });

  it('logs a bounded number of lines per role, with no body and no password, and targets again after', async () => {
    const from = {
      gateway0: gateways[0].proc.lines.length,
      gateway1: gateways[1].proc.lines.length,
      worker: worker.lines.length,
      sdk: sdkProc.lines.length,
    };
    const received = holder.received.length;
    let sent = 0;
    await redis.stop();
    const downAt = Date.now();
    // Sends while Redis is down: the mesh (both gateways), never lost, never logged with their body.
    while (Date.now() - downAt < OUTAGE_MS) {
      await workerSend();
      await sdkSend();
      sent += 2;
      await sleep(500);
    }
    await holder.waitForMessages(received + sent, 10_000);
    redis = await RedisServer.start({ port, args: ['--requirepass', PASSWORD], cliAuth: { password: PASSWORD } });
    await eventually(
      () => targeted(workerSend),
      (t) => t,
      'the worker targeting again',
      30_000,
      200,
    );
    await eventually(
      () => targeted(sdkSend),
      (t) => t,
      'the GatewayClient targeting again',
      30_000,
      200,
    );
    await sleep(2_000);
    const logged: Record<string, string[]> = {
      gateway0: gateways[0].proc.lines.slice(from.gateway0),
      gateway1: gateways[1].proc.lines.slice(from.gateway1),
      worker: worker.lines.slice(from.worker),
      sdk: sdkProc.lines.slice(from.sdk),
    };
    const count = (lines: string[], re: RegExp) => lines.filter((l) => re.test(l)).length;
    // What each role logged, counted (printed whole when an expectation fails).
    const summary = Object.fromEntries(
      Object.entries(logged).map(([role, lines]) => [
        role,
        {
          lines: lines.length,
          secrets: lines.filter((l) => l.includes(BODY) || l.includes(PASSWORD)).length,
          refused: count(lines, /ECONNREFUSED/),
          renewFailed: count(lines, /renewing the lease failed/),
          renewFailedClear: count(lines, /renewing the lease failed: not connected to Redis/),
          resumed: count(lines, /lease renewals resumed after \d+(\.\d)? s \(\d+ missed\)/),
          lost: count(lines, /was lost; announcing again as/),
          rewritten: count(lines, /entries of \S+ rewritten/),
          back: count(lines, /connected again after \d+(\.\d)? s \(\d+ connection error\(s\)\)/),
          fallback: count(lines, /directory read skipped/),
        },
      ]),
    );
    console.log(
      `logs while Redis was down ${OUTAGE_MS} ms and after: ${JSON.stringify(summary)}\n${JSON.stringify(logged, null, 1)}`,
    );
    const within = (n: number, max: number) => (n >= 1 && n <= max ? 'ok' : n);
    const bounded = (s: (typeof summary)[string], role: string) => ({
      lines: within(s.lines, MAX_LINES[role.replace(/\d$/, '') as keyof typeof MAX_LINES]),
      secrets: s.secrets,
      // The connection's error at most once per 10 s, whichever of the role's connections saw it.
      refused: within(s.refused, 3),
    });
    const expected = { lines: 'ok', secrets: 0, refused: 'ok' };
    expect({ summary, logged }).toMatchObject({
      summary: {
        // The first failed renewal once (saying why in plain words), then one line when renewals resume (20 failed,
        // one a second); what matters on the way back is still said: the lease expired, the entries were rewritten.
        gateway0: { renewFailed: 1, renewFailedClear: 1, resumed: 1, lost: 1, rewritten: 1 },
        gateway1: { renewFailed: 1, renewFailedClear: 1, resumed: 1, lost: 1, rewritten: 1 },
        // One line when every connection is back; the fallback to the mesh at most once per 10 s.
        worker: { back: 1, fallback: expect.any(Number) },
        sdk: { back: 1, fallback: expect.any(Number) },
      },
    });
    for (const [role, s] of Object.entries(summary))
      expect({ role, ...bounded(s, role) }).toEqual({ role, ...expected });
    for (const role of ['worker', 'sdk'])
      expect({ role, fallback: within(summary[role].fallback, 3) }).toEqual({ role, fallback: 'ok' });
  }, 120_000);
});
