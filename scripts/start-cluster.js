#!/usr/bin/env node
'use strict';
/**
 * `npm start`: a whole cluster on one machine with embedded defaults: a register, a gateway on
 * ws://127.0.0.1:7272 and the example worker, each its own process, from the built apps in dist/.
 * Uses SECRET_KEY when set, otherwise generates a random one and hands it to the three (never printed).
 * Any variable of README.md's table may be set to override a default; port 0 picks free ports.
 * Ctrl-C (SIGINT) or SIGTERM stops the three; if one of them dies, the others are stopped too.
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

const children = [];
let stopping = false;

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Starts one role; resolves once every pattern of `ready` has matched a stdout line (ANSI colours removed), with
 * the matches in the order of `ready`.
 */
function start(role, main, roleEnv, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main], { env: roleEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const patterns = Array.isArray(ready) ? ready : [ready];
    const matches = patterns.map(() => null);
    let matched = false;
    let partial = '';
    const onLine = (line) => {
      process.stdout.write(`[${role}] ${line}\n`);
      if (matched) return;
      patterns.forEach((pattern, i) => {
        matches[i] = matches[i] || pattern.exec(line.replace(ANSI, ''));
      });
      if (matches.every(Boolean)) {
        matched = true;
        resolve(Array.isArray(ready) ? matches : matches[0]);
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

function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const deadline = setTimeout(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    process.exit(code);
  }, 5000);
  Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(() => {
    clearTimeout(deadline);
    process.exit(code);
  });
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

(async () => {
  const [, registerAddress] = await start('register', mains[0], env, /Register listening on (\S+)/);
  const roleEnv = { ...env, REGISTER_ADDRESS: env.REGISTER_ADDRESS || registerAddress };
  const [, url] = await start('gateway', mains[1], roleEnv, /Gateway ready: clients (\S+),/);
  const workerEnv = { ...roleEnv, HTTP_LISTEN: env.HTTP_LISTEN || '127.0.0.1:3000' };
  const ready = [/Worker connected to gateway/];
  if (!/^(off|false|no|0)$/i.test(workerEnv.HTTP_LISTEN)) ready.push(/HTTP API listening on (\S+)/);
  const [, http] = await start('worker', mains[2], workerEnv, ready);
  console.log(
    `\nGatewayWorker cluster ready: connect a WebSocket client to ${url} (chat: send {"type":"login","name":"Ann","room":"lobby"}; ` +
      `any other message is echoed back).` +
      (http ? ` HTTP push API: ${http[1]} (POST /notify, POST /kick, GET /online).` : '') +
      ` Ctrl-C stops it.\n`,
  );
})().catch((err) => {
  console.error(`start-cluster: ${err.message}`);
  stop(1);
});
