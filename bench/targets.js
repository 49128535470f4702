'use strict';
/**
 * The three servers measured side by side. start() launches a target's processes and resolves with
 *   { url, procs, memoryProcs, infoProcs }
 * procs: every process started (stopped in reverse order afterwards); memoryProcs: the processes whose RSS
 * counts as the target's per-connection memory; infoProcs: processes whose RSS delta is reported for
 * information only (C's worker). Each process is handed to `onStarted` as soon as it is ready, so a failure
 * half-way still lets the caller stop the ones already running.
 */
const path = require('node:path');
const fs = require('node:fs');
const { randomBytes } = require('node:crypto');
const { startServer } = require('./processes');

const ROOT = path.resolve(__dirname, '..');
const READY = /BENCH_READY (ws:\/\/\S+)/;

function distMain(role) {
  return path.join(ROOT, 'dist', 'apps', role, 'main.js');
}

function missingBuild() {
  return ['register', 'gateway', 'worker'].map(distMain).filter((m) => !fs.existsSync(m));
}

/** Starts one process; once it is ready it is handed to onStarted (one that never gets ready is killed). */
async function startOne(name, script, env, readyRe, onStarted) {
  const proc = await startServer(name, script, env, readyRe);
  onStarted(proc);
  return proc;
}

async function startSingle(name, script, onStarted) {
  const proc = await startOne(name, path.join(__dirname, 'servers', script), {}, READY, onStarted);
  return { url: proc.match[1], procs: [proc], memoryProcs: [proc], infoProcs: [] };
}

function startRole(role, env, readyRe, onStarted) {
  return startOne(role, distMain(role), env, readyRe, onStarted);
}

const targets = [
  {
    key: 'A',
    name: 'bare ws',
    description: 'ws WebSocketServer echo, perMessageDeflate off, one process',
    format: 'raw',
    start: (onStarted) => startSingle('ws-echo-server', 'ws-echo-server.js', onStarted),
  },
  {
    key: 'B',
    name: 'Nest WsAdapter',
    description: 'Nest app, stock WsAdapter, @SubscribeMessage("echo") returning {event, data}, one process',
    format: 'nest-envelope',
    start: (onStarted) => startSingle('nest-ws-adapter-echo-server', 'nest-ws-adapter-echo-server.js', onStarted),
  },
  {
    key: 'C',
    name: 'GatewayWorker cluster',
    description: 'register + gateway + example echo worker (dist/apps), encrypted inner links; memory = gateway RSS',
    format: 'raw',
    start: async (onStarted) => {
      const missing = missingBuild();
      if (missing.length) throw new Error(`${missing.join(', ')} missing: run \`npm run build\` first (npm run bench does)`);
      const secret = randomBytes(24).toString('hex'); // per run, never printed
      const register = await startRole('register', { SECRET_KEY: secret, REGISTER_LISTEN: '127.0.0.1:0' }, /Register listening on (\S+)/, onStarted);
      const registerAddress = register.match[1];
      const gateway = await startRole(
        'gateway',
        {
          SECRET_KEY: secret,
          REGISTER_ADDRESS: registerAddress,
          GATEWAY_LISTEN: 'ws://127.0.0.1:0',
          GATEWAY_LAN_IP: '127.0.0.1',
          GATEWAY_START_PORT: '0',
        },
        /Gateway ready: clients (\S+), inner (\S+)/,
        onStarted,
      );
      const [, url, inner] = gateway.match;
      const linked = new RegExp(`Worker connected to gateway ${inner.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
      const worker = await startRole('worker', { SECRET_KEY: secret, REGISTER_ADDRESS: registerAddress, HTTP_LISTEN: 'off' }, linked, onStarted);
      return { url, procs: [register, gateway, worker], memoryProcs: [gateway], infoProcs: [worker] };
    },
  },
];

module.exports = { targets, missingBuild };
