'use strict';
/**
 * CPU per directory lookup (what a targeted sendToUid asks Redis), with and without the per-turn batch: starts a
 * redis-server of its own (stopped by pid), writes `uids` directory entries, then in turns per round runs
 * `lookups` lookups issued `perTurn` per event-loop turn (a setImmediate between turns, the next turn only once the
 * previous turn's answers are in), once through DirectoryReader alone (one pipeline per lookup, as before the
 * batch), once through DirectoryReadBatch (one pipeline per turn), and once through the batch over the directory
 * cache (DirectoryTracking: each of the `uids` read once per 3 s, the rest answered locally). Reports this
 * process's CPU µs per lookup and redis-server's (/proc user+system), and the wall time.
 *
 *   node bench/tools/directory-cpu.js [rounds=3] [perTurn=1,2,8] [lookups=20000] [uids=2000]
 */
const { performance } = require('node:perf_hooks');
const { cpuMs } = require('../processes');
const { startRedisServer } = require('../redis-server');
require('reflect-metadata');
const {
  BackplaneKeys,
  BackplaneWarnings,
  DirectoryReader,
  DirectoryReadBatch,
  DirectoryTracking,
  openRedisConnection,
  resolveBackplaneOptions,
  whenReady,
} = require('nest-gateway-worker/internal');
const { Logger } = require('@nestjs/common');

const rounds = Number(process.argv[2] || 3);
const perTurns = (process.argv[3] || '1,2,8').split(',').map(Number);
const lookups = Number(process.argv[4] || 20_000);
const uids = Number(process.argv[5] || 2_000);
const ID = '127.0.0.1:1/00000000000000aa.0';

async function run(lookup, perTurn) {
  const cpu0 = process.cpuUsage();
  let k = 0;
  let nulls = 0;
  while (k < lookups) {
    const turn = [];
    for (let i = 0; i < perTurn && k < lookups; i++, k++) turn.push(lookup(`u${(k * 7919) % uids}`));
    for (const r of await Promise.all(turn)) if (r === null) nulls++;
    await new Promise((r) => setImmediate(r));
  }
  const c = process.cpuUsage(cpu0);
  return { ms: (c.user + c.system) / 1000, nulls };
}

async function main() {
  const redis = await startRedisServer();
  const options = resolveBackplaneOptions('test', redis.url);
  const connection = openRedisConnection(options, 'ngw-directory-cpu', 'DirectoryCpu');
  const extra = [];
  try {
    if (!(await whenReady(connection))) throw new Error('Redis not ready');
    const keys = new BackplaneKeys('gw');
    const fill = connection.pipeline();
    for (let i = 0; i < uids; i++) fill.hset(keys.uid(`u${i}`), ID, 1);
    await fill.exec();
    // The budget is generous here: this measures CPU, not the fallback.
    const reader = new DirectoryReader(
      connection,
      keys,
      1_000,
      new BackplaneWarnings(new Logger('DirectoryCpu'), options),
    );
    const batch = new DirectoryReadBatch(reader);
    // The directory cache as ClientBackplane wires it: the batch over DirectoryTracking over a reader on its own
    // tracked connection, notices on a RESP2 connection subscribed to __redis__:invalidate.
    const tracked = openRedisConnection(options, 'ngw-directory-cpu-dir', 'DirectoryCpu');
    const notices = openRedisConnection(options, 'ngw-directory-cpu-inv', 'DirectoryCpu', undefined, {
      autoResubscribe: false,
      protocol: 2,
    });
    extra.push(tracked, notices);
    const warnings = new BackplaneWarnings(new Logger('DirectoryCpu'), options);
    const tracking = new DirectoryTracking(
      new DirectoryReader(tracked, keys, 1_000, warnings),
      tracked,
      notices,
      keys,
      warnings,
    );
    const cached = new DirectoryReadBatch(tracking);
    const armedBy = Date.now() + 10_000;
    while (!tracking.cache.armed && Date.now() < armedBy) await new Promise((r) => setTimeout(r, 20));
    if (!tracking.cache.armed) throw new Error('tracking not armed');
    const ways = {
      'reader alone': (uid) => reader.gatewaysOf('uid', [uid]),
      'per-turn batch': (uid) => batch.gatewaysOf('uid', [uid]),
      'batch + cache': (uid) => cached.gatewaysOf('uid', [uid]),
    };
    const rows = [];
    for (let round = 1; round <= rounds; round++)
      for (const perTurn of perTurns)
        for (const [way, lookup] of Object.entries(ways)) {
          await run(lookup, perTurn); // the same pass once unmeasured (JIT, connection buffers)
          const r0 = cpuMs(redis.pid);
          const t0 = performance.now();
          const { ms, nulls } = await run(lookup, perTurn);
          const wall = performance.now() - t0;
          const redisMs = cpuMs(redis.pid) - r0;
          rows.push({
            round,
            perTurn,
            way,
            clientUs: (ms * 1000) / lookups,
            redisUs: (redisMs * 1000) / lookups,
            wall,
            nulls,
          });
          console.log(
            `round ${round}, ${perTurn} per turn, ${way}: client ${((ms * 1000) / lookups).toFixed(2)} µs, redis ${((redisMs * 1000) / lookups).toFixed(2)} µs per lookup, ${(wall / 1000).toFixed(2)} s${nulls ? `, ${nulls} unanswered` : ''}`,
          );
        }
    console.log('\nmedians (µs per lookup: client / redis):');
    const med = (xs) => {
      const v = [...xs].sort((a, b) => a - b);
      return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    };
    for (const perTurn of perTurns)
      for (const way of Object.keys(ways)) {
        const mine = rows.filter((r) => r.perTurn === perTurn && r.way === way);
        console.log(
          `  ${perTurn} per turn, ${way}: ${med(mine.map((r) => r.clientUs)).toFixed(2)} / ${med(mine.map((r) => r.redisUs)).toFixed(2)}`,
        );
      }
  } finally {
    for (const c of extra) c.disconnect();
    connection.disconnect();
    redis.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
