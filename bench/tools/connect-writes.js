'use strict';
/**
 * Connect storm on one gateway (register + 1 gateway + 1 worker, encrypted links, heartbeat off): opens
 * CONNECT_WRITES_N (5 000) WebSocket connections, CONNECT_WRITES_CONCURRENCY (50) handshakes in flight at a time,
 * and prints per connect event how many writes the gateway's inner links made (tools/connect-writes-hook.js counts
 * InnerLink flushes that write) and the gateway's CPU µs per handshake.
 *
 *   node bench/tools/connect-writes.js [root]      (root: a build saved by save-build.js; default this checkout)
 *
 * CONNECT_WRITES_PROF=<file.cpuprofile> also preloads tools/prof-hook.js into the gateway: its CPU profile covers the
 * connect phase only (the same two SIGURGs that read the counters start and stop it); summarise it with prof-top.js
 * and prof-callers.js. CONNECT_WRITES_PING_INTERVAL sets the gateway's GATEWAY_PING_INTERVAL (default 0: off).
 * CONNECT_WRITES_WARM=<n> first opens and closes n connections that are not counted, so that the figures are those of
 * a warmed-up gateway (its code optimised) rather than of a fresh process, which is what scale measures.
 */
const path = require('node:path');
const os = require('node:os');
const WebSocket = require('ws');
const { startTarget } = require('../targets');
const { stopProcess } = require('../processes');

const ROOT = path.resolve(__dirname, '..', '..');
const root = process.argv[2] ? path.resolve(process.argv[2]) : ROOT;
const N = Number(process.env.CONNECT_WRITES_N || 5_000);
const CONCURRENCY = Number(process.env.CONNECT_WRITES_CONCURRENCY || 50);
const WARM = Number(process.env.CONNECT_WRITES_WARM || 0);
const PROF = process.env.CONNECT_WRITES_PROF ? path.resolve(process.env.CONNECT_WRITES_PROF) : '';

/** Resolves on the gateway's PROF_WRITTEN line (the profile is on disk). */
function profileWritten(gateway) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no PROF_WRITTEN line')), 30_000);
    const onData = (chunk) => {
      if (!/PROF_WRITTEN/.test(String(chunk))) return;
      clearTimeout(t);
      gateway.child.stderr.off('data', onData);
      resolve();
    };
    gateway.child.stderr.on('data', onData);
  });
}

function counters(gateway) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no CONNECT_WRITES line')), 10_000);
    const onData = (chunk) => {
      const m = /CONNECT_WRITES writes=(\d+) bytes=(\d+) cpu_us=(\d+)/.exec(String(chunk));
      if (!m) return;
      clearTimeout(t);
      gateway.child.stderr.off('data', onData);
      resolve({ writes: Number(m[1]), bytes: Number(m[2]), cpuUs: Number(m[3]) });
    };
    gateway.child.stderr.on('data', onData);
    gateway.child.kill('SIGURG');
  });
}

async function main() {
  const started = [];
  const cluster = await startTarget(
    'C',
    {
      root: root === ROOT ? undefined : root,
      gatewayEnv: {
        NODE_OPTIONS:
          `-r ${path.join(__dirname, 'connect-writes-hook.js')}` +
          (PROF ? ` -r ${path.join(__dirname, 'prof-hook.js')}` : ''),
        CONNECT_WRITES_ROOT: root,
        ...(PROF ? { ECHO_CPU_PROF_FILE: PROF } : {}),
        GATEWAY_PING_INTERVAL: process.env.CONNECT_WRITES_PING_INTERVAL || '0',
        CONNECT_WRITES_DELAY_MS: process.env.CONNECT_WRITES_DELAY_MS || '0',
      },
    },
    (p) => started.push(p),
  );
  const gateway = cluster.procs.find((p) => p.name === 'gateway');
  const url = cluster.urls[0];
  const sockets = [];
  let failed = 0;
  const one = () =>
    new Promise((resolve) => {
      const ws = new WebSocket(url);
      ws.on('open', () => resolve(ws));
      ws.on('error', () => {
        failed++;
        resolve(null);
      });
    });
  /** Opens n connections, CONCURRENCY handshakes at a time, into `into`. */
  const open = async (n, into) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) {
          next++;
          const ws = await one();
          if (ws) into.push(ws);
        }
      }),
    );
  };
  try {
    await new Promise((r) => setTimeout(r, 500));
    if (WARM > 0) {
      const warm = [];
      await open(WARM, warm);
      await Promise.all(warm.map((ws) => new Promise((r) => (ws.once('close', r), ws.close()))));
      await new Promise((r) => setTimeout(r, 1_000));
      failed = 0;
    }
    const before = await counters(gateway);
    const t0 = Date.now();
    await open(N, sockets);
    const ms = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 300)); // the last connect events' flush
    const written = PROF ? profileWritten(gateway) : null;
    const after = await counters(gateway);
    if (written) await written;
    const writes = after.writes - before.writes;
    const opened = sockets.length;
    console.log(
      `root=${root} warm=${WARM} delay=${process.env.CONNECT_WRITES_DELAY_MS || 0} ms connections=${opened} failed=${failed} in ${ms} ms; gateway inner writes=${writes} ` +
        `(${(writes / opened).toFixed(3)} per connect), ${((after.bytes - before.bytes) / opened).toFixed(0)} B per connect, ` +
        `gateway CPU ${((after.cpuUs - before.cpuUs) / opened).toFixed(1)} µs per handshake; load ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
    );
  } finally {
    for (const ws of sockets) ws.terminate();
    for (const p of started.reverse()) await stopProcess(p.child);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
