'use strict';
/**
 * Scenario 4: queries across two gateways (getAllClientCount, getClientIdListByGroup, isUidOnline) from a
 * separate SDK process, one at a time, each timed. BENCH_CONNECTIONS connections spread over both gateways,
 * bound to uids u<k> and groups g<k % BENCH_GROUPS> by the sender first. Two conditions take turns every
 * round: "idle" (nothing else happening) and "loaded" (BENCH_QUERY_LOAD_CONNECTIONS echo connections through
 * the worker, BENCH_QUERY_LOAD_WINDOW in flight each, over both gateways, during the whole query loop).
 * There is no bare-ws equivalent of a cluster query, so the reference is the same cluster idle:
 * ratio = loaded / idle.
 */
const {
  withTargets,
  startGenerators,
  generatorCount,
  splitCount,
  generatorCpu,
  ratio,
  verdict,
  median,
  log,
  assertRunning,
} = require('../harness');
const { listenAll, withSenders } = require('./broadcast');
const { fmt } = require('../format');

const OPS = ['getAllClientCount', 'getClientIdListByGroup', 'isUidOnline'];
const LOAD_WARMUP_MS = 300;

async function queryRound(config, pool, sender, target, clients, loaded) {
  const groups = Math.min(config.groups, clients);
  if (!loaded) {
    const q = await sender.request(
      { cmd: 'queries', durationMs: config.queryDurationMs, clients, groups },
      config.queryDurationMs + 60_000,
    );
    return { queries: q, load: null };
  }
  const loadMs = LOAD_WARMUP_MS + config.queryDurationMs + 200;
  const counts = splitCount(config.queryLoadConnections, pool.gens.length);
  const load = pool.all((g, i) =>
    counts[i] === 0
      ? null
      : g.request(
          {
            cmd: 'throughput',
            urls: target.urls,
            format: 'raw',
            connections: counts[i],
            window: config.queryLoadWindow,
            payloadBytes: 64,
            warmupMs: 0,
            durationMs: loadMs,
          },
          loadMs + 60_000,
        ),
  );
  await new Promise((r) => setTimeout(r, LOAD_WARMUP_MS));
  const q = await sender.request(
    { cmd: 'queries', durationMs: config.queryDurationMs, clients, groups },
    config.queryDurationMs + 60_000,
  );
  const parts = (await load).filter(Boolean);
  assertRunning(target.procs, 'the queries under load');
  return {
    queries: q,
    load: {
      msgsPerSec: parts.reduce((s, p) => s + p.msgsPerSec, 0),
      generatorCpu: generatorCpu(parts.map((p) => p.loadCpu)),
    },
  };
}

async function run(config) {
  const n = config.connections;
  return withTargets([{ key: 'C', opts: { gateways: 2 } }], async (started) => {
    const pool = startGenerators(generatorCount(config, n + config.queryLoadConnections));
    try {
      const receivers = await listenAll(pool, started, ['C'], n);
      return await withSenders(started, ['C'], 2, async (senders) => {
        const sender = senders.C;
        const bound = await sender.request(
          { cmd: 'bind', groups: Math.min(config.groups, receivers.C.opened) },
          60_000 + n * 10,
        );
        const rounds = [];
        for (let round = 1; round <= config.rounds; round++) {
          const row = {};
          for (const condition of ['idle', 'loaded']) {
            log(`queries, ${bound.clients} clients on 2 gateways: round ${round}, ${condition}`);
            try {
              row[condition] = await queryRound(config, pool, sender, started.C, bound.clients, condition === 'loaded');
            } catch (err) {
              row[condition] = { error: err.message };
              log(`queries ${condition} failed: ${err.message}`);
            }
          }
          rounds.push(row);
        }
        return summarize(config, rounds, bound, pool.gens.length);
      });
    } finally {
      await pool.stop();
    }
  });
}

function summarize(config, rounds, bound, generators) {
  const get = (cond, op, key) =>
    rounds.map((r) => (r[cond] && !r[cond].error && r[cond].queries[op] ? r[cond].queries[op][key] : null));
  const rows = [];
  for (const op of OPS) {
    for (const cond of ['idle', 'loaded']) {
      rows.push([
        `${op}, ${cond}`,
        String(get(cond, op, 'count').reduce((s, x) => s + (x || 0), 0)),
        fmt.ms(median(get(cond, op, 'p50Ms'))),
        fmt.ms(median(get(cond, op, 'p99Ms'))),
        get(cond, op, 'p99Ms').map(fmt.ms).join(' / '),
        String(get(cond, op, 'errors').reduce((s, x) => s + (x || 0), 0)),
      ]);
    }
  }
  const notes = [];
  rounds.forEach((r, i) => {
    for (const cond of ['idle', 'loaded']) {
      const x = r[cond];
      if (!x) continue;
      if (x.error) notes.push(`round ${i + 1}, ${cond} FAILED: ${x.error.split('\n')[0].slice(0, 300)}`);
      else {
        for (const op of OPS)
          if (x.queries[op] && x.queries[op].errors)
            notes.push(`round ${i + 1}, ${cond}, ${op}: ${x.queries[op].errors} error(s): ${x.queries[op].firstError}`);
        if (x.load) {
          notes.push(
            `round ${i + 1}, loaded: echo load ${fmt.int(x.load.msgsPerSec)} msgs/s, generator CPU ${x.load.generatorCpu.perGenerator.map(fmt.pct).join('+')}${x.load.generatorCpu.saturated ? ' SATURATED' : ''}`,
          );
        }
      }
    }
  });
  notes.push(
    `${bound.clients} clients bound to uids and ${Math.min(config.groups, bound.clients)} groups over 2 gateways; each query goes to both gateways and merges the answers; queries run one at a time for ${config.queryDurationMs} ms per condition; ${generators} generator process(es).`,
  );
  return {
    tables: [
      {
        caption: 'query latency (SDK process -> both gateways -> SDK)',
        header: ['query, condition', 'queries', 'p50 ms', 'p99 ms', 'p99 ms per round', 'errors'],
        rows,
      },
    ],
    verdicts: OPS.map((op) =>
      verdict(
        `queries ${op}: loaded/idle p99`,
        rounds.map((r) =>
          ratio(
            r.loaded && !r.loaded.error ? r.loaded.queries[op].p99Ms : null,
            r.idle && !r.idle.error ? r.idle.queries[op].p99Ms : null,
          ),
        ),
        'info',
      ),
    ),
    notes,
    data: { rounds, bound },
  };
}

module.exports = { id: 'queries', title: '4. Queries during load, two gateways', run };
