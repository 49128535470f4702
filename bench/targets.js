'use strict';
/**
 * What the scenarios measure, each started as real processes on 127.0.0.1 with ephemeral ports:
 *
 *   A  bare ws echo            servers/ws-echo-server.js                    (`servers` processes)
 *   B  Nest WsAdapter echo     servers/nest-ws-adapter-echo-server.js       (`servers` processes)
 *   B12 the same on Nest 12    refs/nest12/nest12-ws-adapter-echo-server.mjs, own package (npm ci on first use: refs/install.js)
 *   T  two-process relay floor servers/ws-relay-server.js: a bare ws front + a back process it relays every message
 *                              to and from over one TCP link (length prefix, writes coalesced per turn, no
 *                              encryption): the least any gateway + worker design pays per echo on this machine
 *   TE the same floor, link sealed servers/ws-relay-server.js with BENCH_RELAY_SEAL=1: each turn's writes one
 *                              AES-256-GCM record of our record layer (as built in packages/), opened and sealed
 *                              again by the back: the least any design with an encrypted inner link pays
 *   R  bare ws frame-once broadcast / push reference   servers/ws-broadcast-server.js (one process)
 *   F  the same, each client socket corked per turn    servers/ws-broadcast-server.js, BENCH_BROADCAST_CORK=1
 *                              (`servers` processes; the sender writes to every one's /control: controlUrls)
 *   C  our cluster             register + `gateways` gateways + one example worker from dist/apps/,
 *                              a random SECRET_KEY per start (encrypted inner links), or INNER_PLAINTEXT=true
 *                              without SECRET_KEY when `plaintext` is set
 *   K  our cluster + Redis     C with the Redis backplane: a redis-server of its own (127.0.0.1, a free port,
 *                              persistence off), GATEWAY_BACKPLANE on the gateways, the worker and the sender
 *
 * startTarget(key, opts, onStarted) resolves with
 *   { key, urls, procs, memoryProcs, infoProcs, registerAddress?, secretKey?, plaintext?, controlUrl? }
 * procs: every process started (stopped in reverse order afterwards); memoryProcs: the processes whose RSS
 * counts as the target's per-connection memory (the ones holding client sockets); infoProcs: RSS reported for
 * information only (C's worker). Each process is handed to `onStarted` as soon as it is ready, so a failure
 * half-way still lets the caller stop the ones already running.
 */
const path = require('node:path');
const fs = require('node:fs');
const { randomBytes } = require('node:crypto');
const { freePort, redisServerArgs } = require('./redis-server');
const { startServer, startExecutable } = require('./processes');
const { ensureReference } = require('./refs/install');

const ROOT = path.resolve(__dirname, '..');
// BENCH_C_ROOT: another checkout (or copy) whose dist/apps C runs, e.g. to compare two builds with the same references
// (its node_modules must resolve nest-gateway-worker to that build). Default: this checkout.
const C_ROOT = process.env.BENCH_C_ROOT ? path.resolve(process.env.BENCH_C_ROOT) : ROOT;
const READY = /BENCH_READY (ws:\/\/\S+)/;
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const TARGETS = {
  A: { name: 'bare ws echo', format: 'raw' },
  B: { name: 'Nest WsAdapter echo', format: 'nest-envelope' },
  B12: { name: 'Nest 12 WsAdapter echo', format: 'nest-envelope' },
  T: { name: 'two-process relay floor (bare ws front + back)', format: 'raw' },
  TE: { name: 'two-process relay floor, link sealed (our AES-256-GCM records)', format: 'raw' },
  R: { name: 'bare ws frame-once broadcast', format: 'raw' },
  F: { name: 'bare ws frame-once broadcast, corked per turn', format: 'raw' },
  C: { name: 'GatewayWorker cluster', format: 'raw' },
  K: { name: 'GatewayWorker cluster + Redis backplane', format: 'raw' },
};

/** redis-server for K: persistence off, stopped by pid with the target. */
async function startRedis(onStarted) {
  const port = await freePort();
  const proc = await startExecutable(
    'redis-server',
    'redis-server',
    redisServerArgs(port),
    /Ready to accept connections/,
  );
  onStarted(proc);
  return { proc, url: `redis://127.0.0.1:${port}` };
}

/** T: the back first, then the front connected to it (both count: CPU and memory of the two processes). */
async function startRelay(onStarted, sealed = false) {
  const script = path.join(__dirname, 'servers', 'ws-relay-server.js');
  // TE: the link sealed with our record layer, a random key per start given to both processes.
  const seal = sealed ? { BENCH_RELAY_SEAL: '1', BENCH_RELAY_KEY: randomBytes(32).toString('hex') } : {};
  const name = sealed ? 'sealed-relay' : 'relay';
  const back = await startOne(
    `${name}-back`,
    script,
    { ...seal, BENCH_RELAY_ROLE: 'back' },
    /BENCH_BACK_READY (\d+)/,
    onStarted,
  );
  const front = await startOne(
    `${name}-front`,
    script,
    { ...seal, BENCH_RELAY_BACK_PORT: back.match[1] },
    READY,
    onStarted,
  );
  return {
    key: sealed ? 'TE' : 'T',
    urls: [front.match[1]],
    procs: [back, front],
    memoryProcs: [front],
    infoProcs: [back],
  };
}

function distMain(role, root = C_ROOT) {
  return path.join(root, 'dist', 'apps', role, 'main.js');
}

function missingBuild(root = C_ROOT) {
  return ['register', 'gateway', 'worker'].map((role) => distMain(role, root)).filter((m) => !fs.existsSync(m));
}

async function startOne(name, script, env, readyRe, onStarted, timeoutMs) {
  const proc = await startServer(name, script, env, readyRe, timeoutMs);
  onStarted(proc);
  return proc;
}

async function startReference(key, script, count, onStarted, env = {}, timeoutMs = undefined) {
  const outcomes = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      startOne(
        count > 1
          ? `${path.basename(script, path.extname(script))}#${i + 1}`
          : path.basename(script, path.extname(script)),
        path.isAbsolute(script) ? script : path.join(__dirname, 'servers', `${script}.js`),
        env,
        READY,
        onStarted,
        timeoutMs,
      ),
    ),
  );
  const failed = outcomes.find((o) => o.status === 'rejected');
  if (failed) throw failed.reason;
  const procs = outcomes.map((o) => o.value);
  const urls = procs.map((p) => p.match[1]);
  return {
    key,
    urls,
    procs,
    memoryProcs: procs,
    infoProcs: [],
    controlUrl: key === 'R' || key === 'F' ? `${urls[0]}/control` : null,
    // several R / F processes: scenario 7 routes each uid to the process holding it, scenario 8 broadcasts to all
    controlUrls: key === 'R' || key === 'F' ? urls.map((u) => `${u}/control`) : null,
  };
}

async function startCluster(opts, onStarted) {
  // opts.root: run this cluster from another root (scenario 7's K0: a saved build of the package, before a change)
  const root = opts.root || C_ROOT;
  const missing = missingBuild(root);
  if (missing.length)
    throw new Error(`${missing.join(', ')} missing: run \`npm run build\` first (npm run bench does)`);
  const plaintext = !!opts.plaintext;
  const secretKey = plaintext ? null : randomBytes(24).toString('hex'); // per start, never printed
  const redis = opts.backplane ? await startRedis(onStarted) : null;
  const backplaneUrl = redis ? redis.url : null;
  const auth = {
    ...(plaintext ? { INNER_PLAINTEXT: 'true' } : { SECRET_KEY: secretKey }),
    ...(backplaneUrl ? { GATEWAY_BACKPLANE: backplaneUrl } : {}),
  };
  const register = await startOne(
    'register',
    distMain('register', root),
    { ...auth, REGISTER_LISTEN: '127.0.0.1:0' },
    /Register listening on (\S+)/,
    onStarted,
    opts.startTimeoutMs,
  );
  const registerAddress = register.match[1];
  const n = opts.gateways || 1;
  const outcomes = await Promise.allSettled(
    Array.from({ length: n }, (_, i) =>
      startOne(
        n > 1 ? `gateway#${i + 1}` : 'gateway',
        distMain('gateway', root),
        {
          ...auth,
          REGISTER_ADDRESS: registerAddress,
          GATEWAY_LISTEN: 'ws://127.0.0.1:0',
          GATEWAY_LAN_IP: '127.0.0.1',
          GATEWAY_START_PORT: '0',
          // opts.profDir: each gateway preloads tools/prof-hook.js (SIGURG starts / stops V8's CPU profiler)
          ...(opts.profDir
            ? {
                NODE_OPTIONS: `-r ${path.join(__dirname, 'tools', 'prof-hook.js')}`,
                ECHO_CPU_PROF_FILE: path.join(
                  opts.profDir,
                  `${opts.label || (opts.backplane ? 'K' : 'C')}-gateway${i + 1}.cpuprofile`,
                ),
              }
            : {}),
          ...(opts.gatewayEnv || {}), // e.g. GATEWAY_PING_INTERVAL (scenario scale)
        },
        /Gateway ready: clients (\S+), inner (\S+)/,
        onStarted,
        opts.startTimeoutMs,
      ),
    ),
  );
  const failed = outcomes.find((o) => o.status === 'rejected');
  if (failed) throw failed.reason;
  const gateways = outcomes.map((o) => o.value);
  const inners = gateways.map((g) => g.match[2]);
  const worker = await startOne(
    'worker',
    distMain('worker', root),
    { ...auth, REGISTER_ADDRESS: registerAddress, HTTP_LISTEN: 'off' },
    new RegExp(`Worker connected to gateway ${escapeRe(inners[0])}`),
    onStarted,
    opts.startTimeoutMs,
  );
  for (const inner of inners.slice(1))
    await worker.waitFor(new RegExp(`Worker connected to gateway ${escapeRe(inner)}`), opts.startTimeoutMs);
  return {
    key: opts.backplane ? 'K' : 'C',
    root: opts.root || null,
    backplaneUrl,
    urls: gateways.map((g) => g.match[1]),
    procs: [...(redis ? [redis.proc] : []), register, ...gateways, worker],
    memoryProcs: gateways,
    infoProcs: [worker],
    registerAddress,
    secretKey,
    plaintext,
  };
}

/** opts: { servers (A, B, B12, R, F), gateways, plaintext, profDir, root (C, K), gatewayEnv (C, K), startTimeoutMs (C, K, R: per process) }. */
function startTarget(key, opts, onStarted) {
  switch (key) {
    case 'A':
      return startReference('A', 'ws-echo-server', opts.servers || 1, onStarted);
    case 'B':
      return startReference('B', 'nest-ws-adapter-echo-server', opts.servers || 1, onStarted);
    case 'B12':
      return startReference(
        'B12',
        path.join(ensureReference('nest12', '@nestjs/platform-ws/package.json'), 'nest12-ws-adapter-echo-server.mjs'),
        opts.servers || 1,
        onStarted,
      );
    case 'T':
      return startRelay(onStarted);
    case 'TE':
      return startRelay(onStarted, true);
    case 'R':
      return startReference('R', 'ws-broadcast-server', opts.servers || 1, onStarted, {}, opts.startTimeoutMs);
    case 'F':
      return startReference('F', 'ws-broadcast-server', opts.servers || 1, onStarted, { BENCH_BROADCAST_CORK: '1' });
    case 'C':
      return startCluster(opts, onStarted);
    case 'K':
      return startCluster({ ...opts, backplane: true }, onStarted);
    default:
      throw new Error(`unknown target ${key}`);
  }
}

module.exports = { TARGETS, startTarget, missingBuild };
