#!/usr/bin/env node
'use strict';
/**
 * `npm start`: a whole cluster on one machine with embedded defaults: a register, a gateway on
 * ws://127.0.0.1:7272 and the example worker, each its own process, from the built apps in dist/.
 * Uses SECRET_KEY when set, otherwise generates a random one and hands it to the three (never printed).
 * Any variable of README.md's table may be set to override a default; port 0 picks free ports.
 * GATEWAY_COUNT / WORKER_COUNT (passed through) run several gateway / worker processes; the launcher waits
 * until every one of them is up.
 * Ctrl-C (SIGINT) or SIGTERM stops the three gracefully (a second one kills them at once); if one of them
 * dies, the others are stopped too.
 * Each role serves its admin listener (GET /metrics, /health/live, /health/ready) on 127.0.0.1 at its own default
 * port (ADMIN_PORTS; gateway and worker process i at port + i). REGISTER_ADMIN_LISTEN, GATEWAY_ADMIN_LISTEN and
 * WORKER_ADMIN_LISTEN override one role's (host:port, or off); ADMIN_LISTEN overrides all three (only port 0, e.g.
 * 127.0.0.1:0, or off make sense: the three would otherwise ask for the same port).
 */
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const mains = ['register', 'gateway', 'worker'].map((app) => path.join(root, 'dist', 'apps', app, 'main.js'));
const missing = mains.filter((m) => !fs.existsSync(m));
if (missing.length) {
  console.error(`start-cluster: ${missing.join(', ')} not built; run \`npm run build\` (npm start does it for you)`);
  process.exit(1);
}

const env = { ...process.env };
const plaintext = /^(1|true|yes|on)$/i.test(env.INNER_PLAINTEXT || '');
if (!plaintext && !env.SECRET_KEY) {
  env.SECRET_KEY = randomBytes(24).toString('hex');
  console.log('start-cluster: SECRET_KEY not set; generated a random one for this cluster (not shown)');
}
env.REGISTER_LISTEN = env.REGISTER_LISTEN || '127.0.0.1:1236';
env.GATEWAY_LISTEN = env.GATEWAY_LISTEN || 'ws://127.0.0.1:7272';

/** Each role's default admin port (loopback only): the register's, then the gateways' and workers' first. */
const ADMIN_PORTS = { register: 9236, gateway: 9272, worker: 9400 };
/** The ADMIN_LISTEN a role is started with: its own override, the shared one, or its default on 127.0.0.1. */
function adminListen(role) {
  return env[`${role.toUpperCase()}_ADMIN_LISTEN`] || env.ADMIN_LISTEN || `127.0.0.1:${ADMIN_PORTS[role]}`;
}

/** A role's process count as the role reads it; a bad value is the role's to report (it exits 1 naming it). */
function count(name) {
  const v = (env[name] || '').trim();
  return /^\d{1,2}$/.test(v) && Number(v) >= 1 ? Number(v) : 1;
}
const gateways = count('GATEWAY_COUNT');
const workers = count('WORKER_COUNT');
/** Longer than any role's own shutdown bound (a worker's drain: WORKER_DRAIN_TIMEOUT_MS, 30 s, + margins). */
const STOP_TIMEOUT_MS = 60_000;

const children = [];
let stopping = false;

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Starts one role; resolves once every pattern of `ready` has matched `times` stdout lines (ANSI colours
 * removed; one line per process of the role, several with GATEWAY_COUNT / WORKER_COUNT), with the first match
 * of each pattern in the order of `ready`.
 *
 * The role runs in its own process group (detached): a terminal's Ctrl-C then reaches only this launcher,
 * which asks each role once with SIGTERM. Were they in our group, each would get SIGINT from the terminal and
 * SIGTERM from us, and a second signal means "exit now, skip the graceful shutdown".
 */
function start(role, main, roleEnv, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main], { env: roleEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.role = role;
    children.push(child);
    const matches = ready.map(() => []);
    let matched = false;
    let partial = '';
    const onLine = (line) => {
      process.stdout.write(`[${role}] ${line}\n`);
      if (matched) return;
      ready.forEach(({ re, times }, i) => {
        const m = matches[i].length < times && re.exec(line.replace(ANSI, ''));
        if (m) matches[i].push(m);
      });
      if (ready.every(({ times }, i) => matches[i].length >= times)) {
        matched = true;
        resolve(matches.map((ms) => ms[0]));
      }
    };
    child.stdout.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      lines.forEach(onLine);
    });
    child.stderr.on('data', (chunk) => process.stderr.write(`[${role}] ${chunk}`));
    child.on('exit', (code, signal) => {
      if (!matched) reject(new Error(`${role} exited before it was ready (code ${code}, signal ${signal})`));
      else if (!stopping) {
        console.error(`start-cluster: ${role} exited (code ${code}, signal ${signal}); stopping the cluster`);
        stop(1);
      }
    });
  });
}

const running = (child) => child.exitCode === null && child.signalCode === null;

function stop(code) {
  if (stopping) {
    // A second Ctrl-C: do not wait for graceful shutdowns.
    for (const child of children) if (running(child)) child.kill('SIGKILL');
    process.exit(1);
  }
  stopping = true;
  const deadline = setTimeout(() => {
    for (const child of children) if (running(child)) child.kill('SIGKILL');
    process.exit(1);
  }, STOP_TIMEOUT_MS);
  // In the order a production roll-out stops them: the gateway first (its clients are told to reconnect and
  // their close events still reach the worker), then the worker (it drains), the register last (the others
  // deregister from it instead of logging it unreachable).
  const rank = { gateway: 0, worker: 1, register: 2 };
  const order = [...children].sort((a, b) => rank[a.role] - rank[b.role]);
  (async () => {
    for (const child of order) {
      if (!running(child)) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  })().then(() => {
    clearTimeout(deadline);
    process.exit(code);
  });
}

/**
 * The example worker's chat page (at / of its HTTP server, beside /api), told where the gateway is when that is not
 * where the page looks by default (port 7272 of the page's own host).
 */
function chatPageUrl(api, gatewayUrl) {
  const page = new URL('/', api);
  const gateway = new URL(gatewayUrl);
  if (gateway.hostname === '0.0.0.0') gateway.hostname = page.hostname;
  const usual = gateway.protocol === 'ws:' && gateway.hostname === page.hostname && gateway.port === '7272';
  return usual ? page.href : `${page.href}?gateway=${encodeURIComponent(gateway.href.replace(/\/$/, ''))}`;
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

(async () => {
  const off = (value) => /^(off|false|no|0)$/i.test(value);
  /** The ready line of a role's admin listener (one per process), unless it is off. */
  const adminReady = (listen, times) => (off(listen) ? [] : [{ re: /Admin listening on (\S+) /, times }]);
  const admin = {};

  const registerAdmin = adminListen('register');
  const [[, registerAddress], registerAdminUrl] = await start(
    'register',
    mains[0],
    { ...env, ADMIN_LISTEN: registerAdmin },
    [{ re: /Register listening on (\S+)/, times: 1 }, ...adminReady(registerAdmin, 1)],
  );
  admin.register = registerAdminUrl;
  const roleEnv = { ...env, REGISTER_ADDRESS: env.REGISTER_ADDRESS || registerAddress };
  const gatewayAdmin = adminListen('gateway');
  const [[, url], gatewayAdminUrl] = await start('gateway', mains[1], { ...roleEnv, ADMIN_LISTEN: gatewayAdmin }, [
    { re: /Gateway ready: clients (\S+),/, times: gateways },
    ...adminReady(gatewayAdmin, gateways),
  ]);
  admin.gateway = gatewayAdminUrl;
  const workerAdmin = adminListen('worker');
  const workerEnv = { ...roleEnv, HTTP_LISTEN: env.HTTP_LISTEN || '127.0.0.1:3000', ADMIN_LISTEN: workerAdmin };
  // Every worker process links to every gateway process.
  const ready = [{ re: /Worker connected to gateway/, times: workers * gateways }];
  const withHttp = !off(workerEnv.HTTP_LISTEN);
  if (withHttp) ready.push({ re: /HTTP API listening on (\S+)/, times: workers });
  ready.push(...adminReady(workerAdmin, workers));
  const [, ...matches] = await start('worker', mains[2], workerEnv, ready);
  const http = withHttp ? matches.shift() : undefined;
  admin.worker = matches.shift();
  const processes = gateways > 1 || workers > 1 ? ` (${gateways} gateway and ${workers} worker process(es))` : '';
  const adminUrls = Object.entries(admin)
    .filter(([, m]) => m)
    .map(([role, m]) => `${role} ${m[1]}`);
  console.log(
    `\nGatewayWorker cluster ready${processes}: connect a WebSocket client to ${url} (chat: send {"type":"login","name":"Ann","room":"lobby"}; ` +
      `any other message is echoed back).` +
      (http ? ` HTTP push API: ${http[1]} (POST /notify, POST /kick, GET /online).` : '') +
      (adminUrls.length > 0 ? ` Metrics and health (/metrics, /health/ready): ${adminUrls.join(', ')}.` : '') +
      ` Ctrl-C stops it.\n`,
  );
  if (http) console.log(`Chat page: ${chatPageUrl(http[1], url)} (open it in two windows)\n`);
})().catch((err) => {
  console.error(`start-cluster: ${err.message}`);
  stop(1);
});
