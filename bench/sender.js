'use strict';
/**
 * The pushing side of the broadcast, push and query scenarios: a separate process (forked by bench/run.js,
 * driven over IPC like the load generators), so pushes come from outside the processes under test.
 *
 * Backends, chosen by the `init` command:
 *   cluster  an ordinary Nest application context with `GatewayModule.forClient(...)` from the package
 *            `nest-gateway-worker` (its build in packages/nest-gateway-worker/dist, made by `npm run build`); the very
 *            GatewayClient a user's HTTP app or cron job would use, with its pooled links to every gateway.
 *   ws       a `/control` WebSocket connection to servers/ws-broadcast-server.js (the bare ws reference), one
 *            JSON message per operation.
 *
 * Commands ({ id, cmd, ... } -> { id, ok, result | error }):
 *   init { backend, registerAddress?, secretKey?, plaintext?, backplaneUrl?, gateways?, root?, controlUrl?, controlUrls? }
 *   bind { groups }     connection k (cluster: k-th of getAllClientIdList()) gets uid u<k>, group g<k % groups>
 *   broadcast { tag, count, bytes }            count sendToAll messages back to back
 *   push { tag, kind: 'uid'|'group', rate, durationMs, bytes, clients, groups }   paced at `rate` messages/s
 *   queries { durationMs, clients, groups }    getAllClientCount, getClientIdListByGroup, isUidOnline in turn,
 *                                               one at a time, each timed
 *   stats               the backplane's directory counters ({ backplane: { reads, fallbacks, narrowed, purged } | null })
 *   prof-start, prof-stop { file }             V8's CPU profiler in this process (a .cpuprofile written to file)
 * Every message payload is a text `B<tag>|<send time, µs of CLOCK_MONOTONIC>|` padded with 'x' to `bytes`, so
 * a receiving load generator (another process, same clock) computes the end-to-end latency.
 * Every answer carries this process's own CPU use during the command (cpu: { ms, corePercent }).
 */
const { performance } = require('node:perf_hooks');

const READY_TIMEOUT_MS = 20_000;
const PACE_TICK_MS = 2;
const MAX_SAMPLES = 200_000;

let backend = null;

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

function payload(tag, bytes) {
  const head = `B${tag}|${nowUs()}|`;
  return head.length >= bytes ? head : head + 'x'.repeat(bytes - head.length);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function clusterBackend(opts) {
  require('reflect-metadata');
  let lib;
  try {
    // opts.root: the package as that root's node_modules resolves it (a saved build, compared with this one)
    const load = (id) => require(opts.root ? require.resolve(id, { paths: [opts.root] }) : id);
    lib = { ...load('nest-gateway-worker'), ...load('nest-gateway-worker/internal') };
  } catch (err) {
    throw new Error(`cannot load the package nest-gateway-worker (run \`npm run build\`): ${err.message}`, {
      cause: err,
    });
  }
  const { NestFactory } = opts.root
    ? require(require.resolve('@nestjs/core', { paths: [opts.root] }))
    : require('@nestjs/core');
  const { GatewayModule, GatewayClient, GatewayClientPool } = lib;
  const options = {
    registers: opts.registerAddress,
    timeoutMs: 10_000,
    rejectOnGatewayFailure: true, // a failing gateway must show, not be merged away
    ...(opts.plaintext ? { plaintext: true } : { secret: opts.secretKey }),
    // K: the Redis backplane (targeted sends); its discovery is added to the register's list.
    ...(opts.backplaneUrl ? { backplane: opts.backplaneUrl } : {}),
  };
  const app = await NestFactory.createApplicationContext(GatewayModule.forClient(options), {
    logger: ['error', 'warn'],
  });
  const gw = app.get(GatewayClient);
  const pool = app.get(GatewayClientPool, { strict: false });
  // Ready when the register lists every gateway and each one answers a query.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError;
  for (;;) {
    try {
      const listed = pool ? await pool.links.gateways(2_000) : null;
      if (!listed || listed.length >= opts.gateways) {
        await gw.getAllClientCount();
        break;
      }
      lastError = new Error(`${listed.length} of ${opts.gateways} gateways listed`);
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `the SDK did not reach ${opts.gateways} gateway(s) within ${READY_TIMEOUT_MS} ms: ${lastError && lastError.message}`,
      );
    await sleep(100);
  }
  return {
    async bind(groups) {
      const ids = await gw.getAllClientIdList();
      const pending = [];
      ids.forEach((id, k) => {
        pending.push(gw.bindUid(id, `u${k}`), gw.joinGroup(id, `g${k % groups}`));
      });
      await Promise.all(pending);
      const uids = await gw.getAllUidCount(); // commands on one link are applied in order: a query after them sees them
      return { clients: ids.length, uidsBound: uids };
    },
    sendToAll: (data) => gw.sendToAll(data),
    sendToUid: (uid, data) => gw.sendToUid(uid, data),
    sendToGroup: (group, data) => gw.sendToGroup(group, data),
    queries: {
      getAllClientCount: () => gw.getAllClientCount(),
      getClientIdListByGroup: (group) => gw.getClientIdListByGroup(group),
      isUidOnline: (uid) => gw.isUidOnline(uid),
    },
    /** The backplane's directory counters (reads, fallbacks, narrowed calls), or null without one. */
    stats: () => (pool && pool.backplane ? pool.backplane.stats : null),
    close: () => app.close(),
  };
}

/**
 * Several bare ws reference processes. Scenario 7's floor: each holds part of the receivers and binds them as its
 * own u0, u1, ...; uid u<k> of the push loop goes to process k % P as its u<floor(k / P) % (its clients)>, so every
 * message reaches exactly one process, which delivers it to one receiver. Scenario 8 (F split over processes like
 * the gateways): every sendToAll is written to all of them back to back (as the SDK sends one command to every
 * gateway).
 */
async function multiWsBackend(opts) {
  const parts = await Promise.all(opts.controlUrls.map((controlUrl) => wsBackend({ controlUrl })));
  let sizes = parts.map(() => 0);
  const n = parts.length;
  return {
    async bind(groups) {
      const bound = await Promise.all(parts.map((p) => p.bind(groups)));
      sizes = bound.map((b) => b.clients);
      const clients = sizes.reduce((s, x) => s + x, 0);
      if (sizes.some((x) => x === 0)) throw new Error(`a router holds no receiver (${sizes.join(', ')})`);
      return { clients, uidsBound: clients };
    },
    sendToUid: (uid, data) => {
      const k = Number(uid.slice(1));
      const p = k % n;
      return parts[p].sendToUid(`u${Math.floor(k / n) % sizes[p]}`, data);
    },
    sendToAll: (data) => Promise.all(parts.map((p) => p.sendToAll(data))).then(() => undefined),
    sendToGroup: () => Promise.reject(new Error('not with several routers')),
    queries: null,
    close: () => Promise.all(parts.map((p) => p.close())),
  };
}

async function wsBackend(opts) {
  const WebSocket = require('ws');
  const ws = new WebSocket(opts.controlUrl, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`control connection to ${opts.controlUrl} timed out`)),
      READY_TIMEOUT_MS,
    );
    ws.once('open', () => (clearTimeout(timer), resolve()));
    ws.once('error', (err) => (clearTimeout(timer), reject(err)));
  });
  const replies = [];
  ws.on('message', (data) => {
    const waiter = replies.shift();
    if (waiter) waiter(JSON.parse(data.toString()));
  });
  const ask = (msg) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${msg.op}`)), 30_000);
      replies.push((m) => (clearTimeout(timer), resolve(m)));
      ws.send(JSON.stringify(msg));
    });
  const send = (msg) => {
    ws.send(JSON.stringify(msg));
    return Promise.resolve();
  };
  return {
    async bind(groups) {
      const r = await ask({ op: 'bind', groups });
      return { clients: r.clients, uidsBound: r.clients };
    },
    sendToAll: (data) => send({ op: 'all', data }),
    sendToUid: (uid, data) => send({ op: 'uid', uid, data }),
    sendToGroup: (group, data) => send({ op: 'group', group, data }),
    queries: null,
    close: async () => ws.close(),
  };
}

function groupSize(clients, groups, g) {
  return Math.floor(clients / groups) + (g < clients % groups ? 1 : 0);
}

async function broadcast({ tag, count, bytes }) {
  const firstSendUs = nowUs();
  let errors = 0;
  let firstError = null;
  const sends = [];
  for (let i = 0; i < count; i++) {
    sends.push(
      backend.sendToAll(payload(tag, bytes)).catch((err) => {
        errors++;
        firstError = firstError || err.message;
      }),
    );
  }
  await Promise.all(sends);
  return { sent: count, firstSendUs, lastSendUs: nowUs(), errors, firstError };
}

async function push({ tag, kind, rate, durationMs, bytes, clients, groups }) {
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const targets = kind === 'uid' ? clients : groups;
  let sent = 0;
  let expectedDeliveries = 0;
  let errors = 0;
  let firstError = null;
  let maxLagMs = 0;
  const sends = [];
  const t0 = performance.now();
  const firstSendUs = nowUs();
  const deadline = t0 + durationMs * 3 + 5_000; // bounded even if the event loop falls far behind
  while (sent < total && performance.now() < deadline) {
    const elapsed = performance.now() - t0;
    const due = Math.min(total, Math.floor((elapsed * rate) / 1000) + 1);
    maxLagMs = Math.max(maxLagMs, ((due - sent - 1) * 1000) / rate);
    while (sent < due) {
      const k = (sent * 7919) % targets; // spread over every uid / group
      const p =
        kind === 'uid'
          ? backend.sendToUid(`u${k}`, payload(tag, bytes))
          : backend.sendToGroup(`g${k}`, payload(tag, bytes));
      expectedDeliveries += kind === 'uid' ? 1 : groupSize(clients, groups, k);
      sends.push(
        p.catch((err) => {
          errors++;
          firstError = firstError || err.message;
        }),
      );
      sent++;
    }
    await sleep(PACE_TICK_MS);
  }
  await Promise.all(sends);
  const wallMs = performance.now() - t0;
  return {
    sent,
    planned: total,
    offeredRate: rate,
    achievedSendRate: (sent * 1000) / wallMs,
    expectedDeliveries,
    firstSendUs,
    lastSendUs: nowUs(),
    maxLagMs,
    errors,
    firstError,
  };
}

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)];
}

async function queries({ durationMs, clients, groups }) {
  if (!backend.queries) throw new Error('this backend has no queries');
  const ops = Object.entries(backend.queries);
  const samples = Object.fromEntries(ops.map(([name]) => [name, []]));
  const errors = Object.fromEntries(ops.map(([name]) => [name, 0]));
  const firstErrors = {};
  const end = performance.now() + durationMs;
  let i = 0;
  while (performance.now() < end && i < MAX_SAMPLES) {
    const [name, fn] = ops[i % ops.length];
    const arg = name === 'getClientIdListByGroup' ? `g${i % groups}` : `u${(i * 7919) % Math.max(1, clients)}`;
    const t = performance.now();
    try {
      await fn(arg);
      samples[name].push(performance.now() - t);
    } catch (err) {
      errors[name]++;
      firstErrors[name] = firstErrors[name] || err.message;
    }
    i++;
  }
  const out = {};
  for (const [name] of ops) {
    const s = samples[name].sort((a, b) => a - b);
    out[name] = {
      count: s.length,
      p50Ms: pct(s, 0.5),
      p99Ms: pct(s, 0.99),
      errors: errors[name],
      firstError: firstErrors[name] || null,
    };
  }
  return out;
}

/** V8's CPU profiler in this process (bench scenario 7 with BENCH_BACKPLANE_PROF): started, then written to `file`. */
let profiler = null;
function profStart() {
  const inspector = require('node:inspector');
  profiler = new inspector.Session();
  profiler.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) => profiler.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  return post('Profiler.enable')
    .then(() => post('Profiler.setSamplingInterval', { interval: 200 }))
    .then(() => post('Profiler.start'))
    .then(() => ({}));
}
function profStop({ file }) {
  return new Promise((resolve, reject) =>
    profiler.post('Profiler.stop', (err, res) => {
      if (err) return reject(err);
      require('node:fs').writeFileSync(file, JSON.stringify(res.profile));
      profiler.disconnect();
      profiler = null;
      resolve({ file });
    }),
  );
}

const commands = {
  async init(cmd) {
    backend =
      cmd.backend === 'cluster'
        ? await clusterBackend(cmd)
        : cmd.controlUrls && cmd.controlUrls.length > 1
          ? await multiWsBackend(cmd)
          : await wsBackend({ ...cmd, controlUrl: cmd.controlUrl || cmd.controlUrls[0] });
    return { backend: cmd.backend };
  },
  bind: (cmd) => backend.bind(cmd.groups),
  broadcast,
  push,
  queries,
  stats: () => ({ backplane: backend.stats ? backend.stats() : null }),
  'prof-start': profStart,
  'prof-stop': profStop,
};

process.on('message', (msg) => {
  const handler = commands[msg && msg.cmd];
  if (!handler) {
    process.send({ id: msg && msg.id, ok: false, error: `unknown command ${msg && msg.cmd}` });
    return;
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  Promise.resolve()
    .then(() => handler(msg))
    .then(
      (result) => {
        const c = process.cpuUsage(cpu0);
        const ms = (c.user + c.system) / 1000;
        process.send({
          id: msg.id,
          ok: true,
          result: { ...result, cpu: { ms, corePercent: (ms / Math.max(1, performance.now() - t0)) * 100 } },
        });
      },
      (err) => process.send({ id: msg.id, ok: false, error: err && err.message ? err.message : String(err) }),
    );
});

process.on('disconnect', () => process.exit(0));
