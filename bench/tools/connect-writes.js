'use strict';
/**
 * Connect storm on one gateway (register + 1 gateway + 1 worker, encrypted links, heartbeat off): opens
 * CONNECT_WRITES_N (5 000) WebSocket connections, CONNECT_WRITES_CONCURRENCY (50) handshakes in flight at a time,
 * and prints per connect event how many writes the gateway's inner links made (tools/connect-writes-hook.js counts
 * InnerLink flushes that write) and the gateway's CPU µs per handshake.
 *
 *   node bench/tools/connect-writes.js [root]      (root: a build saved by save-build.js; default this checkout)
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
        NODE_OPTIONS: `-r ${path.join(__dirname, 'connect-writes-hook.js')}`,
        CONNECT_WRITES_ROOT: root,
        GATEWAY_PING_INTERVAL: '0',
        CONNECT_WRITES_DELAY_MS: process.env.CONNECT_WRITES_DELAY_MS || '0',
      },
    },
    (p) => started.push(p),
  );
  const gateway = cluster.procs.find((p) => p.name === 'gateway');
  const url = cluster.urls[0];
  const sockets = [];
  try {
    await new Promise((r) => setTimeout(r, 500));
    const before = await counters(gateway);
    const t0 = Date.now();
    let next = 0;
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
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) {
          next++;
          const ws = await one();
          if (ws) sockets.push(ws);
        }
      }),
    );
    const ms = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 300)); // the last connect events' flush
    const after = await counters(gateway);
    const writes = after.writes - before.writes;
    const opened = sockets.length;
    console.log(
      `root=${root} delay=${process.env.CONNECT_WRITES_DELAY_MS || 0} ms connections=${opened} failed=${failed} in ${ms} ms; gateway inner writes=${writes} ` +
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
