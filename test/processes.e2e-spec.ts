import { GatewayClient, GatewayModule } from 'nest-gateway-worker';
import { GatewayClientPool } from 'nest-gateway-worker/internal';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import {
  errorLines,
  innerPortOfClientId,
  isAlive,
  killQuietly,
  nestLines,
  startGatewayCluster,
  startWorkerCluster,
  waitForNestLines,
  waitGone,
  type GatewayCluster,
} from './support/cluster-processes';
import {
  LoggedProcess,
  startGateway,
  startRegister,
  startRole,
  startWorker,
  stopAll,
  TEST_SECRET,
  type RoleProcess,
} from './support/roles';
import { TestClient } from './support/ws-client';
import { eventually, exitWithin } from './support/eventually';
import { exampleWorkerApi, gatewayStatsVia, waitUntilLinked } from './support/example-worker-api';
import { GatewayProbe } from './support/gateway-probe';

/**
 * Several processes of a role on one host (GATEWAY_COUNT / WORKER_COUNT, a Node cluster) and clean exits:
 * real register, gateway and worker processes; clients on every gateway process reachable by uid and group;
 * SIGINT / SIGTERM exit 0 with no error and no process left; a crashed child is restarted; bad counts exit 1.
 */

type Msg = Record<string, unknown>;

const CLIENT_ID = /^[0-9a-f]{20}$/;

function jsonMessages(client: TestClient): Msg[] {
  return client.received.flatMap((m) => {
    if (m.binary) return [];
    try {
      const v: unknown = JSON.parse(m.data.toString('utf8'));
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? [v as Msg] : [];
    } catch {
      return [];
    }
  });
}

function matches(actual: Msg, expected: Msg): boolean {
  return Object.entries(expected).every(([k, v]) => JSON.stringify(actual[k]) === JSON.stringify(v));
}

/** Waits (bounded) for a JSON message matching `expected` key by key. */
function waitForJson(client: TestClient, expected: Msg, what: string, timeoutMs = 10_000): Promise<Msg> {
  return client.waitUntilReceived(() => jsonMessages(client).find((m) => matches(m, expected)), what, timeoutMs);
}

/**
 * The primary's documented line for a restarted child, kept on purpose: it is where the new child's pid (and so its
 * "Gateway ready" line with its inner address) is learnt.
 */
const RESTARTED = /^gateway process #\d+ \(pid (\d+)\) restarted and ready/;

/** Waits for the next Nest line matching `re`: one more than there are now. */
async function waitForNextNestLine(proc: RoleProcess, re: RegExp): Promise<{ pid: number; match: RegExpExecArray }> {
  const seen = nestLines(proc).filter((l) => re.test(l.text)).length;
  const found = await waitForNestLines(proc, re, seen + 1, 30_000);
  return found[seen];
}

describe('GATEWAY_COUNT=2: two gateway processes on one host', () => {
  let register: { proc: RoleProcess; address: string };
  let cluster: GatewayCluster;
  let worker: RoleProcess;
  let api: string;
  let sdk: INestApplicationContext;
  let gw: GatewayClient;
  const clients: TestClient[] = [];
  const childPids = new Set<number>();

  beforeAll(async () => {
    register = await startRegister();
    cluster = await startGatewayCluster(register.address, 2);
    for (const c of cluster.children) childPids.add(c.pid);
    worker = await startWorker(register.address);
    api = await exampleWorkerApi(worker);
    await waitUntilLinked(
      api,
      cluster.children.map((c) => c.inner),
    );
    sdk = await NestFactory.createApplicationContext(
      GatewayModule.forClient({ registers: register.address, secret: TEST_SECRET, rejectOnGatewayFailure: true }),
      { logger: ['error', 'warn'] },
    );
    gw = sdk.get(GatewayClient);
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await sdk?.close();
    await stopAll();
    killQuietly([...childPids].filter(isAlive));
  });

  /** Opens a client and logs it in to the example chat (the worker's handler joins the room and binds the uid). */
  async function login(name: string, room: string, uid: string): Promise<{ client: TestClient; id: string }> {
    const client = await TestClient.open(cluster.url);
    clients.push(client);
    client.send(JSON.stringify({ type: 'login', name, room, uid }));
    const welcome = await waitForJson(client, { type: 'welcome', room }, `welcome of ${name}`);
    const id = welcome.client_id as string;
    expect(id).toMatch(CLIENT_ID);
    return { client, id };
  }

  it('runs two processes with distinct pids and inner ports, sharing one client port, both registered', async () => {
    const [a, b] = cluster.children;
    expect(a.pid).not.toBe(b.pid);
    for (const c of cluster.children) expect(c.pid).not.toBe(cluster.proc.child.pid);
    expect(a.inner).not.toBe(b.inner);
    const clientUrls = nestLines(cluster.proc).filter((l) => l.text.startsWith('Gateway ready: clients '));
    expect(new Set(clientUrls.map((l) => l.text.split(' ')[3]))).toEqual(new Set([`${cluster.url},`]));

    // Both registered: the register's list, as pushed to an SDK client.
    const links = sdk.get(GatewayClientPool).links;
    const listed = await eventually(
      () => links.gateways(5_000),
      (l) => l.length === 2,
      'the register to list 2 gateways',
    );
    expect([...listed].sort()).toEqual(cluster.children.map((c) => c.inner).sort());
  });

  it('spreads clients over both processes and reaches each by uid and group, from the SDK and from worker handlers', async () => {
    const innerPorts = cluster.children.map((c) => Number(c.inner.split(':')[1]));
    const logged: { client: TestClient; id: string; uid: string; port: number }[] = [];
    // The cluster's round robin hands connections to both processes; a few are enough to see both.
    for (let i = 0; i < 20 && (logged.length < 6 || new Set(logged.map((l) => l.port)).size < 2); i++) {
      const uid = `user-${i}`;
      const { client, id } = await login(`n${i}`, 'lobby', uid);
      logged.push({ client, id, uid, port: innerPortOfClientId(id) });
    }
    const ports = new Set(logged.map((l) => l.port));
    expect([...ports].sort()).toEqual([...innerPorts].sort());
    const onA = logged.find((l) => l.port === innerPorts[0])!;
    const onB = logged.find((l) => l.port === innerPorts[1])!;

    // The worker's login handler bound the uids and joined the room on both processes.
    expect(await gw.getClientIdByUid(onA.uid)).toEqual([onA.id]);
    expect(await gw.getClientIdByUid(onB.uid)).toEqual([onB.id]);
    expect((await gw.getClientIdListByGroup('lobby')).sort()).toEqual(logged.map((l) => l.id).sort());

    // SDK → uid on each process.
    await gw.sendToUid(onA.uid, { type: 'sdk-uid', to: 'A' });
    await gw.sendToUid(onB.uid, { type: 'sdk-uid', to: 'B' });
    await waitForJson(onA.client, { type: 'sdk-uid', to: 'A' }, 'sendToUid from the SDK on process A');
    await waitForJson(onB.client, { type: 'sdk-uid', to: 'B' }, 'sendToUid from the SDK on process B');

    // SDK → group spanning both processes.
    await gw.sendToGroup('lobby', { type: 'sdk-group' });
    for (const l of logged) await waitForJson(l.client, { type: 'sdk-group' }, `sendToGroup from the SDK at ${l.id}`);

    // Worker handlers: a room message (sendToGroup inside the handler) from process A reaches process B, a
    // private one (sendToClient) from B reaches A.
    onA.client.send(JSON.stringify({ type: 'say', content: 'hello from A' }));
    for (const l of logged)
      await waitForJson(
        l.client,
        { type: 'say', from_client_id: onA.id, content: 'hello from A' },
        `room say at ${l.id}`,
      );
    onB.client.send(JSON.stringify({ type: 'say', content: 'psst', to: onA.id }));
    await waitForJson(
      onA.client,
      { type: 'say', from_client_id: onB.id, to_client_id: onA.id, content: 'psst' },
      'private say at A',
    );

    // The worker's HTTP route (sendToUid inside an HTTP handler) to a uid on each process.
    for (const l of [onA, onB]) {
      const res = await fetch(`${api}/notify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ uid: l.uid, message: { type: 'http-notify', uid: l.uid } }),
        signal: AbortSignal.timeout(10_000),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ uid: l.uid, delivered: true });
      await waitForJson(l.client, { type: 'http-notify', uid: l.uid }, `HTTP notify at ${l.id}`);
    }

    // SDK bindUid / joinGroup on clients of both processes: one uid and one group across the two (a connection
    // has one uid: A and B leave their login uids for this one).
    await gw.bindUid(onA.id, 'shared-uid');
    await gw.bindUid(onB.id, 'shared-uid');
    await gw.joinGroup(onA.id, 'pair');
    await gw.joinGroup(onB.id, 'pair');
    expect((await gw.getClientIdByUid('shared-uid')).sort()).toEqual([onA.id, onB.id].sort());
    await gw.sendToUid('shared-uid', { type: 'shared-uid' });
    await gw.sendToGroup('pair', { type: 'pair' });
    for (const l of [onA, onB]) {
      await waitForJson(l.client, { type: 'shared-uid' }, `uid bound by the SDK at ${l.id}`);
      await waitForJson(l.client, { type: 'pair' }, `group joined by the SDK at ${l.id}`);
    }
    // The others got neither: a marker sent after them to everyone has arrived, so a stray copy would have too.
    await gw.sendToAll({ type: 'marker' });
    for (const l of logged) await waitForJson(l.client, { type: 'marker' }, `marker at ${l.id}`);
    for (const l of logged.filter((x) => x !== onA && x !== onB)) {
      expect(jsonMessages(l.client).filter((m) => m.type === 'pair' || m.type === 'shared-uid')).toEqual([]);
    }
  });

  it('restarts a gateway process killed with SIGKILL; the new one gets clients and the worker', async () => {
    const victim = cluster.children[1];
    const before = nestLines(cluster.proc).length;
    process.kill(victim.pid, 'SIGKILL');
    const { match } = await waitForNextNestLine(cluster.proc, RESTARTED);
    const newPid = Number(match[1]);
    childPids.add(newPid);
    expect(newPid).not.toBe(victim.pid);
    expect(await waitGone([victim.pid])).toEqual([]);
    const lines = nestLines(cluster.proc).slice(before);
    expect(
      lines.some(
        (l) =>
          l.pid === cluster.proc.child.pid &&
          l.text.includes(`(pid ${victim.pid}) exited (signal SIGKILL); restarting it in`),
      ),
    ).toBe(true);

    // The child logs "Gateway ready" before it tells the primary, so the line is already there.
    const ready = nestLines(cluster.proc).find((l) => l.pid === newPid && l.text.startsWith('Gateway ready: clients '));
    expect(ready).toBeDefined();
    const newInner = /inner (\S+)/.exec(ready!.text)![1];
    expect(newInner).not.toBe(victim.inner); // GATEWAY_START_PORT=0: a new free port
    // Registered (the worker learns it from the register) and linked: it answers the worker over its link.
    await waitUntilLinked(api, [newInner]);
    expect(cluster.proc.running).toBe(true);

    // New connections reach the new process too, and its clients are served by the worker.
    const newPort = Number(newInner.split(':')[1]);
    let found: { client: TestClient; id: string } | undefined;
    for (let i = 0; i < 20 && !found; i++) {
      const l = await login(`r${i}`, 'after-restart', `after-${i}`);
      if (innerPortOfClientId(l.id) === newPort) found = l;
    }
    expect(found).toBeDefined();
    found!.client.send('echo after restart');
    expect(await found!.client.text(found!.client.received.length, 10_000)).toBe('echo after restart');
  });

  it('restarts a gateway process stopped on its own with SIGTERM (one process recycled), without an error', async () => {
    const victim = cluster.children[0];
    const before = nestLines(cluster.proc).length;
    process.kill(victim.pid, 'SIGTERM');
    const { match } = await waitForNextNestLine(cluster.proc, RESTARTED);
    childPids.add(Number(match[1]));
    expect(Number(match[1])).not.toBe(victim.pid);
    const lines = nestLines(cluster.proc).slice(before);
    // The child stopped gracefully (exit 0): a warning in the primary, not an error.
    expect(lines.filter((l) => l.pid === victim.pid && l.text === 'shut down cleanly')).toHaveLength(1);
    const exits = lines.filter((l) => l.text.includes(`(pid ${victim.pid}) exited (code 0); restarting it in`));
    expect(exits.map((l) => l.level)).toEqual(['WARN']);
    // The new process takes the old one's index (the inner port rule startPort + index depends on it).
    expect(match[0]).toContain(`${/#\d+ /.exec(exits[0].text)![0]}(pid `);
    expect(lines.filter((l) => l.level === 'ERROR')).toEqual([]);
    expect(await waitGone([victim.pid])).toEqual([]);
    // Same index, so with GATEWAY_START_PORT=0 a new free port; the worker links to it.
    const ready = nestLines(cluster.proc).find(
      (l) => l.pid === Number(match[1]) && l.text.startsWith('Gateway ready: clients '),
    );
    const newInner = /inner (\S+)/.exec(ready!.text)![1];
    await waitUntilLinked(api, [newInner]);
  });
});

describe('WORKER_COUNT=2: two worker processes on one host', () => {
  const clients: TestClient[] = [];
  let childPids: number[] = [];

  afterAll(async () => {
    for (const c of clients) c.close();
    await stopAll();
    killQuietly(childPids.filter(isAlive));
  });

  it('links both processes to the gateway, shares the HTTP port, and handles events of many clients in both', async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address);
    const workers = await startWorkerCluster(register.address, 2);
    childPids = workers.pids;
    expect(new Set(workers.pids).size).toBe(2);
    expect(workers.pids).not.toContain(workers.proc.child.pid);

    // The gateway counts two workers (which processes they are is checked below: both pids answer "process").
    const probe = await GatewayProbe.start(register.address);
    try {
      await probe.workers(gateway.inner, 2, 20_000);
    } finally {
      await probe.close();
    }

    // Both children serve the HTTP API on the same (shared) port.
    const http = await waitForNestLines(workers.proc, /^HTTP API listening on (http:\/\/\S+\/api)/, 2);
    expect(new Set(http.map((h) => h.pid))).toEqual(new Set(workers.pids));
    expect(http[0].match[1]).toBe(http[1].match[1]);
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${http[0].match[1]}/online`, { signal: AbortSignal.timeout(10_000) });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ clients: 0, uids: 0, groups: {} });
    }

    // Many clients: each sticks to one worker process, and both processes handle some of them.
    const handlers = new Map<number, number[]>();
    for (let i = 0; i < 10; i++) {
      const client = await TestClient.open(gateway.url);
      clients.push(client);
      for (let round = 0; round < 3; round++) client.send(JSON.stringify({ type: 'process' }));
      client.send(`echo ${i}`);
      const replies = await client.waitForMessages(4, 10_000);
      const pids = replies.slice(0, 3).map((r) => (JSON.parse(r.data.toString()) as { pid: number }).pid);
      expect(new Set(pids).size).toBe(1);
      expect(replies[3].data.toString()).toBe(`echo ${i}`);
      handlers.set(pids[0], [...(handlers.get(pids[0]) ?? []), i]);
    }
    expect([...handlers.keys()].sort()).toEqual([...workers.pids].sort());
  });
});

// ---- clean exits -------------------------------------------------------------------------------------

type Target = 'register' | 'gateway' | 'worker' | 'gateway primary with 2 children' | 'worker primary with 2 children';

/** How long each target may take to exit (its shutdown bound) plus slack for a loaded machine. */
const EXIT_BOUND_MS: Record<Target, number> = {
  register: 5_000 + 10_000,
  gateway: 15_000 + 10_000,
  worker: 35_000 + 10_000,
  'gateway primary with 2 children': 20_000 + 10_000,
  'worker primary with 2 children': 40_000 + 10_000,
};

/** Starts `target` with what it needs around it (and a client on it), and returns it with its children's pids. */
async function startTarget(target: Target, clients: TestClient[]): Promise<{ proc: RoleProcess; children: number[] }> {
  if (target === 'register') return { proc: (await startRegister()).proc, children: [] };
  const register = await startRegister();
  if (target === 'gateway' || target === 'gateway primary with 2 children') {
    const gateway =
      target === 'gateway'
        ? await startGateway(register.address).then((g) => ({ ...g, children: [] as number[], inners: [g.inner] }))
        : await startGatewayCluster(register.address, 2).then((c) => ({
            ...c,
            children: c.children.map((x) => x.pid),
            inners: c.children.map((x) => x.inner),
          }));
    const worker = await startWorker(register.address);
    await waitUntilLinked(await exampleWorkerApi(worker), gateway.inners);
    const client = await TestClient.open(gateway.url);
    clients.push(client);
    client.send('before the stop');
    expect(await client.text(0, 10_000)).toBe('before the stop');
    return { proc: gateway.proc, children: gateway.children };
  }
  const gateway = await startGateway(register.address);
  const worker =
    target === 'worker'
      ? { proc: await startWorker(register.address, {}, gateway.inner), pids: [] as number[] }
      : await startWorkerCluster(register.address, 2);
  if (worker.pids.length > 0) {
    const probe = await GatewayProbe.start(register.address);
    try {
      await probe.workers(gateway.inner, worker.pids.length, 20_000);
    } finally {
      await probe.close();
    }
  }
  const client = await TestClient.open(gateway.url);
  clients.push(client);
  client.send('before the stop');
  expect(await client.text(0, 10_000)).toBe('before the stop');
  return { proc: worker.proc, children: worker.pids };
}

describe('SIGINT and SIGTERM stop every role cleanly: exit 0, no error, no process left', () => {
  const clients: TestClient[] = [];
  const childPids: number[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await stopAll();
    killQuietly(childPids.splice(0).filter(isAlive));
  });

  const targets: Target[] = [
    'register',
    'gateway',
    'worker',
    'gateway primary with 2 children',
    'worker primary with 2 children',
  ];
  it.each(targets)(
    '%s',
    async (target) => {
      // Both signals side by side, each on its own cluster.
      await Promise.all(
        (['SIGTERM', 'SIGINT'] as const).map(async (signal) => {
          const { proc, children } = await startTarget(target, clients);
          childPids.push(...children);
          const context = `${target}, ${signal}; output:\n${proc.output}`;
          proc.child.kill(signal);
          const code = await exitWithin(proc, EXIT_BOUND_MS[target]);
          expect({ context, code, signal: proc.child.signalCode }).toEqual({ context, code: 0, signal: null });
          expect({ context, errors: errorLines(proc) }).toEqual({ context, errors: [] });
          expect(proc.output).toMatch(new RegExp(`${signal} received`));
          // Each child closed its app (not merely died with the primary), then is gone.
          const closed = nestLines(proc)
            .filter((l) => l.text === 'shut down cleanly')
            .map((l) => l.pid);
          expect({ context, closed: closed.sort() }).toEqual({
            context,
            closed: (children.length ? children : [proc.child.pid]).sort(),
          });
          expect(await waitGone(children)).toEqual([]);
        }),
      );
    },
    120_000,
  );
});

// ---- configuration and start-up failures -----------------------------------------------------------------

const BASE: Record<'gateway' | 'worker', Record<string, string>> = {
  gateway: {
    SECRET_KEY: TEST_SECRET,
    REGISTER_ADDRESS: '127.0.0.1:9',
    GATEWAY_LISTEN: 'ws://127.0.0.1:0',
    GATEWAY_START_PORT: '0',
  },
  worker: { SECRET_KEY: TEST_SECRET, REGISTER_ADDRESS: '127.0.0.1:9', HTTP_LISTEN: 'off' },
};

const BAD_COUNTS: { name: string; role: 'gateway' | 'worker'; env: Record<string, string>; expected: RegExp }[] = [
  {
    name: 'GATEWAY_COUNT=0',
    role: 'gateway',
    env: { GATEWAY_COUNT: '0' },
    expected: /Configuration error: GATEWAY_COUNT="0" is invalid: expected an integer from 1 to 64/,
  },
  {
    name: 'GATEWAY_COUNT=65',
    role: 'gateway',
    env: { GATEWAY_COUNT: '65' },
    expected: /Configuration error: GATEWAY_COUNT="65" is invalid/,
  },
  {
    name: 'GATEWAY_COUNT=two',
    role: 'gateway',
    env: { GATEWAY_COUNT: 'two' },
    expected: /Configuration error: GATEWAY_COUNT="two" is invalid/,
  },
  {
    name: 'WORKER_COUNT=0',
    role: 'worker',
    env: { WORKER_COUNT: '0' },
    expected: /Configuration error: WORKER_COUNT="0" is invalid: expected an integer from 1 to 64/,
  },
  {
    name: 'WORKER_COUNT=1.5',
    role: 'worker',
    env: { WORKER_COUNT: '1.5' },
    expected: /Configuration error: WORKER_COUNT="1.5" is invalid/,
  },
  {
    name: 'GATEWAY_START_PORT=65535 with GATEWAY_COUNT=2',
    role: 'gateway',
    env: { GATEWAY_START_PORT: '65535', GATEWAY_COUNT: '2' },
    expected: /Configuration error: GATEWAY_START_PORT=65535 is invalid with GATEWAY_COUNT=2: .*65535 to 65536/,
  },
  // Read by runRole for every role (see heap-growth.ts).
  {
    name: 'HEAP_GROWING_PERCENT=lots (gateway)',
    role: 'gateway',
    env: { HEAP_GROWING_PERCENT: 'lots' },
    expected: /Configuration error: HEAP_GROWING_PERCENT="lots" is invalid: expected an integer from 0 to 1000/,
  },
  {
    name: 'HEAP_GROWING_PERCENT=1001 with WORKER_COUNT=2',
    role: 'worker',
    env: { HEAP_GROWING_PERCENT: '1001', WORKER_COUNT: '2' },
    expected: /Configuration error: HEAP_GROWING_PERCENT="1001" is invalid/,
  },
  // Checked in the primary before it forks: one line, not one per child.
  {
    name: 'GATEWAY_COUNT=2 with GATEWAY_LAN_IP=localhost',
    role: 'gateway',
    env: { GATEWAY_COUNT: '2', GATEWAY_LAN_IP: 'localhost' },
    expected: /Configuration error: GATEWAY_LAN_IP/,
  },
  {
    name: 'WORKER_COUNT=2 with WORKER_NAME="a b"',
    role: 'worker',
    env: { WORKER_COUNT: '2', WORKER_NAME: 'a b' },
    expected: /Configuration error: WORKER_NAME/,
  },
];

describe('bad process counts stop the process with status 1 and name the variable', () => {
  afterAll(stopAll);

  it.each(BAD_COUNTS.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const proc = startRole(c.role, { ...BASE[c.role], ...c.env });
    const code = await exitWithin(proc, 20_000);
    const context = `${c.name}; output:\n${proc.output}`;
    expect({ context, code }).toEqual({ context, code: 1 });
    expect({ context, lines: proc.lines.filter((l) => /Configuration error/.test(l)).length }).toEqual({
      context,
      lines: 1,
    });
    expect(proc.lines.some((l) => c.expected.test(l))).toBe(true);
    // Nothing was forked, nothing started.
    expect(new Set(nestLines(proc).map((l) => l.pid))).toEqual(new Set([proc.child.pid]));
    expect(proc.output).not.toMatch(/starting \d+ \w+ processes|failed to start/);
  });
});

describe('a gateway process that fails at start-up', () => {
  let blocker: Server | null = null;
  const childPids: number[] = [];

  afterAll(async () => {
    await stopAll();
    killQuietly(childPids.filter(isAlive));
    await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
  });

  it('stops the cluster with status 1 instead of restarting it in a loop', async () => {
    // Process #1 of the cluster needs inner port startPort + 1: taken here.
    blocker = createServer();
    await new Promise<void>((r) => blocker!.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as { port: number }).port;
    const proc = startRole('gateway', { ...BASE.gateway, GATEWAY_COUNT: '2', GATEWAY_START_PORT: String(taken - 1) });
    const code = await exitWithin(proc, 30_000);
    childPids.push(
      ...new Set(
        nestLines(proc)
          .map((l) => l.pid)
          .filter((pid) => pid !== proc.child.pid),
      ),
    );
    const context = `output:\n${proc.output}`;
    expect({ context, code }).toEqual({ context, code: 1 });
    expect(proc.output).toMatch(/EADDRINUSE/);
    expect(proc.output).toMatch(
      /gateway process #\d \(pid \d+\) exited \(code 1\) before the cluster was ready; stopping the cluster/,
    );
    // Two children were started once each: no restart.
    expect(childPids.length).toBeLessThanOrEqual(2);
    expect(proc.output).not.toMatch(/restarting it in/);
    expect(await waitGone(childPids)).toEqual([]);
  });
});

// ---- Ctrl-C in a terminal: the signal reaches a whole process group -------------------------------------

const ROOT = resolve(__dirname, '..');

/** Every pid in the launcher's output ("[gateway] [Nest] PID  - ..."), by role. */
function launcherPids(launcher: LoggedProcess): Map<string, Set<number>> {
  const pids = new Map<string, Set<number>>();
  for (const line of launcher.lines) {
    const m = /^\[(register|gateway|worker)\] \[Nest\] (\d+)/.exec(line);
    if (m) pids.set(m[1], new Set([...(pids.get(m[1]) ?? []), Number(m[2])]));
  }
  return pids;
}

describe('Ctrl-C in a terminal (SIGINT to the whole process group)', () => {
  const started: LoggedProcess[] = [];
  const pids = new Set<number>();
  const clients: TestClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    killQuietly([...pids].filter(isAlive));
    pids.clear();
    for (const p of started.splice(0)) await p.kill();
    await stopAll();
  });

  /** Runs `args` with node in its own process group (as a shell runs a foreground job). */
  function spawnGroupLeader(name: string, args: string[], env: Record<string, string>): LoggedProcess {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const p = new LoggedProcess(name, child);
    started.push(p);
    return p;
  }

  it('stops a gateway primary and its children gracefully, once each (no "second signal" exit)', async () => {
    const register = await startRegister();
    const proc = spawnGroupLeader('gateway', [resolve(ROOT, 'dist', 'apps', 'gateway', 'main.js')], {
      ...BASE.gateway,
      REGISTER_ADDRESS: register.address,
      GATEWAY_COUNT: '2',
    });
    const ready = await waitForNestLines(proc, /^2 gateway processes ready \(pids (\d+), (\d+)\)/, 1, 30_000);
    const children = [Number(ready[0].match[1]), Number(ready[0].match[2])];
    children.forEach((pid) => pids.add(pid));
    process.kill(-proc.child.pid!, 'SIGINT');
    const code = await exitWithin(proc, EXIT_BOUND_MS['gateway primary with 2 children']);
    const context = `output:\n${proc.output}`;
    expect({ context, code }).toEqual({ context, code: 0 });
    expect({ context, errors: errorLines(proc) }).toEqual({ context, errors: [] });
    expect(proc.output).not.toMatch(/received again/);
    const closed = nestLines(proc)
      .filter((l) => l.text === 'shut down cleanly')
      .map((l) => l.pid);
    expect(closed.sort()).toEqual([...children].sort());
    expect(await waitGone(children)).toEqual([]);
  }, 90_000);

  it('npm start with GATEWAY_COUNT=2 and WORKER_COUNT=2: ready with every process, and Ctrl-C stops all of them with status 0', async () => {
    const launcher = spawnGroupLeader('start-cluster', [resolve(ROOT, 'scripts', 'start-cluster.js')], {
      REGISTER_LISTEN: '127.0.0.1:0',
      GATEWAY_LISTEN: 'ws://127.0.0.1:0',
      GATEWAY_START_PORT: '0',
      HTTP_LISTEN: '127.0.0.1:0',
      // The admin listeners on free ports (the launcher's defaults are fixed ports), one per child process.
      ADMIN_LISTEN: '127.0.0.1:0',
      GATEWAY_COUNT: '2',
      WORKER_COUNT: '2',
    });
    const [, url, api] = await launcher.waitFor(
      /GatewayWorker cluster ready \(2 gateway and 2 worker process\(es\)\): connect a WebSocket client to (ws:\/\/127\.0\.0\.1:\d+).*HTTP push API: (http:\/\/\S+\/api)/,
      60_000,
    );
    for (const set of launcherPids(launcher).values()) for (const pid of set) pids.add(pid);
    // Ready means every worker process is linked to every gateway process: 2 × 2 links, as the gateways count them
    // (asked through the HTTP API: the launcher's SECRET_KEY is random and never printed, so no SDK client here).
    const stats = await eventually(
      () => gatewayStatsVia(api),
      (all) => all.length === 2 && all.every((g) => g.workers === 2),
      'both gateway processes to count 2 workers',
      5_000,
    );
    expect(stats.map((g) => g.workers)).toEqual([2, 2]);
    const client = await TestClient.open(url);
    clients.push(client);
    client.send('hello cluster');
    expect(await client.text(0, 10_000)).toBe('hello cluster');
    const online = await fetch(`${api}/online`, { signal: AbortSignal.timeout(10_000) });
    expect((await online.json()) as unknown).toMatchObject({ clients: 1 });

    const byRole = launcherPids(launcher);
    expect([byRole.get('register')?.size, byRole.get('gateway')?.size, byRole.get('worker')?.size]).toEqual([1, 3, 3]);
    client.close();
    process.kill(-launcher.child.pid!, 'SIGINT');
    const code = await exitWithin(launcher, 60_000);
    const context = `output:\n${launcher.output}`;
    expect({ context, code }).toEqual({ context, code: 0 });
    expect({ context, errors: errorLines(launcher) }).toEqual({ context, errors: [] });
    expect(launcher.output).not.toMatch(/received again/);
    expect(await waitGone([...pids])).toEqual([]);
  }, 150_000);
});
