import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { consumerEnv, freePorts, GroupProcess, runCommand, waitForPort } from './support/consumer-app';
import { exitWithin } from './support/eventually';
import { TEST_SECRET } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * The packed package in two fresh consumer apps, one on Nest 11 and one on Nest 12 (test/consumers/, see its
 * README): each is copied to a temporary directory, installs the tarball from `npm pack` with `npm install`
 * (the rest from the registry), builds with its own `tsc`, and runs the package's `gateway-worker register` and
 * `gateway-worker gateway` through npx from its own node_modules, and its own worker with node. A WebSocket client
 * and the app's HTTP push endpoint then check what a user's app does: a reply, a validation error naming the
 * field, a push by uid. Nest 12 is ESM-only and cannot be loaded by this jest: only real processes here.
 */

const ROOT = resolve(__dirname, '..');
const FIXTURES = { nest11: 11, nest12: 12 } as const;
type Fixture = keyof typeof FIXTURES;

const PACK_TIMEOUT_MS = 60_000;
/** Per fixture; both install at once. A cold npm cache needs about a minute. */
const INSTALL_TIMEOUT_MS = 300_000;
const BUILD_TIMEOUT_MS = 90_000;

interface ConsumerApp {
  fixture: Fixture;
  dir: string;
}

const tempDirs: string[] = [];
let packageVersion: string;
const installs = new Map<Fixture, Promise<ConsumerApp>>();

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

function versionIn(appDir: string, name: string): string {
  return (JSON.parse(readFileSync(join(appDir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version;
}

/** Copies the fixture out of the repository, installs the tarball and the fixture's dependencies, builds. */
async function install(fixture: Fixture, tarball: string): Promise<ConsumerApp> {
  const dir = join(tempDir(`ngw-${fixture}-`), fixture);
  cpSync(join(__dirname, 'consumers', fixture), dir, {
    recursive: true,
    filter: (src) => !/[\\/](node_modules|dist)$/.test(src),
  });
  // One app, two majors: the sources are shared; only package.json and the tsconfigs are the fixture's own.
  cpSync(join(__dirname, 'consumers', 'src'), join(dir, 'src'), { recursive: true });
  const started = Date.now();
  await runCommand(
    'npm',
    ['install', '--no-audit', '--no-fund', '--no-update-notifier', tarball],
    dir,
    INSTALL_TIMEOUT_MS,
  );
  const installed = Date.now();
  await runCommand('npm', ['run', 'build'], dir, BUILD_TIMEOUT_MS);
  console.log(
    `${fixture}: installed nest-gateway-worker ${versionIn(dir, 'nest-gateway-worker')} with @nestjs/core ` +
      `${versionIn(dir, '@nestjs/core')}, typescript ${versionIn(dir, 'typescript')} in ${((installed - started) / 1000).toFixed(1)} s; ` +
      `tsc build ${((Date.now() - installed) / 1000).toFixed(1)} s`,
  );
  return { fixture, dir };
}

interface RunningCluster {
  register: GroupProcess;
  gateway: GroupProcess;
  worker: GroupProcess;
  url: string;
  http: string;
}

/** Register and gateway via `npx gateway-worker` from the app's directory, then the app's worker. */
async function startCluster(app: ConsumerApp): Promise<RunningCluster> {
  const [registerPort, clientPort, innerPort, httpPort] = await freePorts(4);
  const registerAddress = `127.0.0.1:${registerPort}`;
  // `--no`: never fetch a package named gateway-worker from the registry; only the app's own bin may run.
  const npx = (role: string, env: Record<string, string>) =>
    new GroupProcess(
      `${app.fixture} ${role}`,
      'npx',
      ['--no', 'gateway-worker', role],
      app.dir,
      consumerEnv({ SECRET_KEY: TEST_SECRET, ...env }),
    );

  const register = npx('register', { REGISTER_LISTEN: registerAddress });
  await waitForPort(registerPort, register);
  const gateway = npx('gateway', {
    REGISTER_ADDRESS: registerAddress,
    GATEWAY_LISTEN: `ws://127.0.0.1:${clientPort}`,
    GATEWAY_START_PORT: String(innerPort),
  });
  await waitForPort(clientPort, gateway);
  const worker = new GroupProcess(
    `${app.fixture} worker`,
    process.execPath,
    ['dist/main.js'],
    app.dir,
    consumerEnv({ SECRET_KEY: TEST_SECRET, REGISTER_ADDRESS: registerAddress, PORT: String(httpPort) }),
  );
  await waitForPort(httpPort, worker);
  return { register, gateway, worker, url: `ws://127.0.0.1:${clientPort}`, http: `http://127.0.0.1:${httpPort}` };
}

async function post(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json() };
}

async function json(client: TestClient, n: number, timeoutMs = 10_000): Promise<unknown> {
  return JSON.parse(await client.text(n, timeoutMs));
}

beforeAll(
  async () => {
    packageVersion = (
      JSON.parse(readFileSync(join(ROOT, 'packages', 'nest-gateway-worker', 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
    const packed = await runCommand(
      process.execPath,
      [join(ROOT, 'scripts', 'pack-package.js'), tempDir('ngw-pack-')],
      ROOT,
      PACK_TIMEOUT_MS,
    );
    const tarball = packed.trim().split('\n').pop()!;
    expect(tarball).toMatch(/nest-gateway-worker-.*\.tgz$/);
    // Both at once (npm's cache is safe to share); each fixture's tests report its own failure.
    for (const fixture of Object.keys(FIXTURES) as Fixture[]) installs.set(fixture, install(fixture, tarball));
    await Promise.allSettled(installs.values());
  },
  PACK_TIMEOUT_MS + INSTALL_TIMEOUT_MS + BUILD_TIMEOUT_MS + 10_000,
);

afterAll(async () => {
  await GroupProcess.stopAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

it('the app imports only the public entry (`nest-gateway-worker/internal` is not for applications)', () => {
  const src = join(__dirname, 'consumers', 'src');
  const files = readdirSync(src).map((f) => [f, readFileSync(join(src, f), 'utf8')] as const);
  expect(files.length).toBeGreaterThan(0);
  for (const [name, text] of files) {
    expect({ name, internal: /nest-gateway-worker\/internal/.test(text) }).toEqual({ name, internal: false });
  }
});

describe.each(Object.keys(FIXTURES) as Fixture[])('a fresh %s app with the packed package', (fixture) => {
  let app: ConsumerApp;
  let cluster: RunningCluster | null = null;
  const clients: TestClient[] = [];
  const open = async () => {
    const c = await TestClient.open(cluster!.url, {}, 10_000);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    app = await installs.get(fixture)!;
    cluster = await startCluster(app);
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    if (cluster) await Promise.all([cluster.worker, cluster.gateway, cluster.register].map((p) => p.stopGroup()));
  });

  it(`installed the tarball itself (not a link to the workspace) next to Nest ${FIXTURES[fixture]}`, () => {
    const pkg = join(app.dir, 'node_modules', 'nest-gateway-worker');
    expect(lstatSync(pkg).isSymbolicLink()).toBe(false);
    expect(realpathSync(pkg).startsWith(realpathSync(app.dir) + sep)).toBe(true);
    expect(versionIn(app.dir, 'nest-gateway-worker')).toBe(packageVersion);
    expect(existsSync(join(app.dir, 'node_modules', '.bin', 'gateway-worker'))).toBe(true);
    for (const name of ['@nestjs/common', '@nestjs/core', '@nestjs/microservices', '@nestjs/platform-express']) {
      expect({ name, major: Number(versionIn(app.dir, name).split('.')[0]) }).toEqual({
        name,
        major: FIXTURES[fixture],
      });
    }
  });

  it("@OnClientMessage('ping') answers the client", async () => {
    const a = await open();
    a.send(JSON.stringify({ type: 'ping', seq: 1 }));
    // The first event may wait at the gateway until the worker has linked to it.
    expect(await json(a, 0, 30_000)).toEqual({ type: 'pong', seq: 1 });
  });

  it('a handler with nothing of Nest bound to it takes the direct path; the ones with a pipe and filter do not', async () => {
    const [, direct, total] = await cluster!.worker.waitFor(/(\d+) of (\d+) on the direct path/);
    expect({ direct: Number(direct), total: Number(total) }).toEqual({ direct: 1, total: 3 });
    const a = await open();
    a.send(JSON.stringify({ type: 'echo', text: 'straight' }));
    expect(await json(a, 0, 30_000)).toEqual({ type: 'echoed', text: 'straight' });
  });

  it('ValidationPipe + GatewayExceptionFilter: an invalid message gets an error naming the field', async () => {
    const a = await open();
    a.send(JSON.stringify({ type: 'ping', seq: 'one' }));
    a.send(JSON.stringify({ type: 'login' }));
    const seqError = (await json(a, 0, 30_000)) as { type: string; message: string };
    const uidError = (await json(a, 1)) as { type: string; message: string };
    expect(seqError.type).toBe('error');
    expect(seqError.message).toMatch(/\bseq\b/);
    expect(seqError.message).not.toMatch(/\buid\b/);
    expect(uidError.type).toBe('error');
    expect(uidError.message).toMatch(/\buid\b/);
    expect(uidError.message).not.toMatch(/\bseq\b/);
  });

  it('POST /push (GatewayClient.sendToUid from an HTTP controller) reaches the client bound to that uid, and no other', async () => {
    const ann = `ann-${fixture}`;
    const bob = `bob-${fixture}`;
    const [a, b] = await Promise.all([open(), open()]);
    a.send(JSON.stringify({ type: 'login', uid: ann }));
    b.send(JSON.stringify({ type: 'login', uid: bob }));
    expect(await json(a, 0, 30_000)).toEqual({ type: 'welcome', uid: ann });
    expect(await json(b, 0, 30_000)).toEqual({ type: 'welcome', uid: bob });

    const notice = { type: 'notice', text: `hello from ${fixture}'s HTTP API` };
    expect(await post(`${cluster!.http}/push`, { uid: ann, message: notice })).toEqual({
      status: 200,
      body: { uid: ann, delivered: true },
    });
    expect(await json(a, 1)).toEqual(notice);

    // A reply sent after the push, on the same worker link to the same gateway, arrives after anything the push
    // sent: so once each client has its pong, a misdirected or duplicated push would already be there.
    a.send(JSON.stringify({ type: 'ping', seq: 2 }));
    b.send(JSON.stringify({ type: 'ping', seq: 3 }));
    expect(await json(a, 2)).toEqual({ type: 'pong', seq: 2 });
    expect(await json(b, 1)).toEqual({ type: 'pong', seq: 3 });
    expect(a.received.map((m) => JSON.parse(m.data.toString('utf8')))).toEqual([
      { type: 'welcome', uid: ann },
      notice,
      { type: 'pong', seq: 2 },
    ]);
    expect(b.received.map((m) => JSON.parse(m.data.toString('utf8')))).toEqual([
      { type: 'welcome', uid: bob },
      { type: 'pong', seq: 3 },
    ]);

    // A uid nobody bound: nothing sent, and the endpoint says so.
    expect(await post(`${cluster!.http}/push`, { uid: `nobody-${fixture}`, message: notice })).toEqual({
      status: 200,
      body: { uid: `nobody-${fixture}`, delivered: false },
    });
  });

  it("the app's worker (runRole) drains and exits 0 on SIGTERM", async () => {
    const { worker } = cluster!;
    worker.child.kill('SIGTERM');
    const code = await exitWithin(worker, 40_000);
    expect({ code, signal: worker.child.signalCode }).toEqual({ code: 0, signal: null });
  }, 45_000);
});
