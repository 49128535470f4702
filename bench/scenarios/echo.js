'use strict';
/**
 * Scenario 1: echo through the full chain (client -> gateway -> worker handler -> gateway -> client, encrypted
 * inner links) against a bare ws echo server (A) and the stock Nest WsAdapter on Nest 11 (B, the monorepo's Nest) and
 * on Nest 12 (B12, bench/refs/nest12, installed on first use), at each echo configuration
 * (connections x in-flight window x payload), the targets taking turns in every round (in reverse order in even
 * rounds: see harness roundOrder).
 * Also used by scenario 6 (encryption) with other targets: see runEchoComparison().
 */
const {
  withTargets,
  startGenerators,
  generatorCount,
  echoRound,
  ratio,
  verdict,
  median,
  log,
  roundOrder,
} = require('../harness');
const { TARGETS } = require('../targets');
const { fmt } = require('../format');

const describe = (e) => `${e.connections} conns x ${e.window} in flight x ${e.payloadBytes} B`;

/**
 * Runs every echo configuration over every target spec, rounds interleaved; returns
 * { configs: [{ echo, rounds: [{ [label]: result | { error } }] }] }.
 */
async function runEchoComparison(config, specs, echoConfigs) {
  return withTargets(specs, async (started) => {
    const out = [];
    for (const echo of echoConfigs) {
      const pool = startGenerators(generatorCount(config, echo.connections));
      const rounds = [];
      try {
        for (let round = 1; round <= config.rounds; round++) {
          const row = {};
          for (const spec of roundOrder(specs, round)) {
            const label = spec.label || spec.key;
            log(`echo ${describe(echo)}: round ${round}, ${label}`);
            const format = TARGETS[spec.key].format;
            try {
              row[label] = await echoRound(pool, started[label], format, echo, config);
            } catch (err) {
              row[label] = { error: err.message };
              log(`echo ${label} failed: ${err.message}`);
            }
          }
          rounds.push(row);
        }
      } finally {
        await pool.stop();
      }
      out.push({ echo, generators: pool.gens.length, rounds });
    }
    return { configs: out };
  });
}

const pick = (rounds, label, key) => rounds.map((r) => (r[label] && !r[label].error ? r[label][key] : null));

/** Rows: one per target with medians over rounds and the per-round throughput. */
function targetRows(c, labels, names) {
  return labels.map((label) => {
    const rs = c.rounds.map((r) => r[label]);
    const ok = rs.filter((r) => r && !r.error);
    const procNames = ok.length ? ok[0].processes.map((p) => p.name) : [];
    const cpuPerProc = procNames
      .map((name, i) => `${name} ${fmt.num(median(ok.map((r) => r.processes[i].cpuSecPerMillion)))}`)
      .join(', ');
    const waitPerProc = procNames
      .map((name, i) => `${name} ${fmt.num(median(ok.map((r) => r.processes[i].runQueueWaitUsPerMsg)))}`)
      .join(', ');
    const gen = ok.map((r) => r.generatorCpu.perGenerator.map((p) => fmt.pct(p)).join('+'));
    const saturated = ok.some((r) => r.generatorCpu.saturated);
    return [
      `${label} ${names[label]}${rs.some((r) => r && r.error) ? ' (FAILED in a round)' : ''}`,
      fmt.int(median(pick(c.rounds, label, 'msgsPerSec'))),
      pick(c.rounds, label, 'msgsPerSec').map(fmt.int).join(' / '),
      fmt.ms(median(pick(c.rounds, label, 'p50Ms'))),
      fmt.ms(median(pick(c.rounds, label, 'p99Ms'))),
      fmt.num(median(pick(c.rounds, label, 'serverCpuSecPerMillion'))),
      cpuPerProc || 'n/a',
      waitPerProc || 'n/a',
      `${gen.join(' / ') || 'n/a'}${saturated ? ' SATURATED' : ''}`,
    ];
  });
}

const HEADER = [
  'target',
  'msgs/s (median)',
  'msgs/s per round',
  'p50 ms',
  'p99 ms',
  'server CPU s / M msgs',
  'CPU s / M msgs per process',
  'run-queue wait µs / msg per process',
  'generator CPU per round',
];

function roundRatios(c, num, den, key) {
  return c.rounds.map((r) =>
    ratio(r[num] && !r[num].error ? r[num][key] : null, r[den] && !r[den].error ? r[den][key] : null),
  );
}

function warnings(c, labels) {
  const notes = [];
  c.rounds.forEach((r, i) => {
    for (const label of labels) {
      const x = r[label];
      if (!x) continue;
      if (x.error) notes.push(`round ${i + 1}, ${label} FAILED: ${x.error.split('\n')[0].slice(0, 300)}`);
      else if (x.connectFailed || x.badEchoes || x.closedEarly || x.sendErrors) {
        notes.push(
          `round ${i + 1}, ${label}: ${x.connectFailed} connection(s) failed to open${x.connectFirstError ? ` (${x.connectFirstError})` : ''}, ` +
            `${x.badEchoes} unexpected echo(es), ${x.closedEarly} closed during the load, ${x.sendErrors} send error(s)`,
        );
      }
      if (x.generatorCpu && x.generatorCpu.saturated)
        notes.push(
          `round ${i + 1}, ${label}: a load generator used over 90 % of a core: msgs/s may be capped by it (compare CPU per message; rerun with more BENCH_GENERATORS on a machine with spare cores)`,
        );
    }
  });
  return notes;
}

async function run(config) {
  const specs = [{ key: 'A' }, { key: 'T' }, { key: 'TE' }, { key: 'B' }, { key: 'B12' }, { key: 'C' }];
  const data = await runEchoComparison(config, specs, config.echoConfigs);
  const names = {
    A: TARGETS.A.name,
    T: TARGETS.T.name,
    TE: TARGETS.TE.name,
    B: `${TARGETS.B.name} (Nest 11)`,
    B12: `${TARGETS.B12.name} (Nest 12)`,
    C: `${TARGETS.C.name} (encrypted)`,
  };
  const tables = [];
  const verdicts = [];
  const notes = [];
  for (const c of data.configs) {
    const d = describe(c.echo);
    tables.push({
      caption: `${d}, ${c.generators} generator process(es)`,
      header: HEADER,
      rows: targetRows(c, ['A', 'T', 'TE', 'B', 'B12', 'C'], names),
    });
    verdicts.push(
      verdict(`echo ${d}: C/A throughput`, roundRatios(c, 'C', 'A', 'msgsPerSec'), '>=', 1.0),
      verdict(`echo ${d}: C/B throughput`, roundRatios(c, 'C', 'B', 'msgsPerSec'), '>=', 1.5),
      verdict(`echo ${d}: C/B12 throughput (Nest 12)`, roundRatios(c, 'C', 'B12', 'msgsPerSec'), '>=', 1.5),
      verdict(`echo ${d}: C/A p99 latency`, roundRatios(c, 'C', 'A', 'p99Ms'), '<=', 1.5),
      verdict(
        `echo ${d}: T/A throughput (two-process floor over bare ws)`,
        roundRatios(c, 'T', 'A', 'msgsPerSec'),
        'info',
      ),
      verdict(
        `echo ${d}: C/T throughput (ours over the two-process floor)`,
        roundRatios(c, 'C', 'T', 'msgsPerSec'),
        'info',
      ),
      verdict(`echo ${d}: T/A p99 latency`, roundRatios(c, 'T', 'A', 'p99Ms'), 'info'),
      verdict(
        `echo ${d}: TE/A throughput (the floor with a sealed link over bare ws)`,
        roundRatios(c, 'TE', 'A', 'msgsPerSec'),
        'info',
      ),
      verdict(
        `echo ${d}: C/TE throughput (ours over the sealed floor)`,
        roundRatios(c, 'C', 'TE', 'msgsPerSec'),
        'info',
      ),
      verdict(
        `echo ${d}: TE/B throughput (the sealed floor over Nest 11)`,
        roundRatios(c, 'TE', 'B', 'msgsPerSec'),
        'info',
      ),
      verdict(
        `echo ${d}: TE/B12 throughput (the sealed floor over Nest 12)`,
        roundRatios(c, 'TE', 'B12', 'msgsPerSec'),
        'info',
      ),
    );
    notes.push(...warnings(c, ['A', 'T', 'TE', 'B', 'B12', 'C']).map((n) => `${d}: ${n}`));
  }
  notes.push(
    'A and C echo the raw text payload; B and B12 need the {"event":"echo","data":...} envelope, so their frames are larger and they parse and serialize JSON per message.',
    "B runs the monorepo's Nest 11 (@nestjs/platform-ws ~11.2), B12 the same application on Nest 12 (@nestjs/core 12.5, @nestjs/platform-ws 12.1, ES modules) from bench/refs/nest12, its own package installed with npm ci on first use.",
    'T, the two-process floor: a bare ws front relays every message over one plain TCP link (8-byte length prefix, writes coalesced per turn) to a second process that sends it straight back; no encryption, no envelope, no framework. What any gateway + worker design pays on this machine; C/T is what ours adds.',
    "TE, the same floor with the link sealed by our record layer (each turn's writes one AES-256-GCM record, opened and sealed again by the back): what any design whose inner link is encrypted pays; C/TE is what ours adds beyond that (envelope, acks, ids, handler dispatch).",
    'C: every message crosses gateway -> worker -> gateway over AES-256-GCM inner links, three processes (register idle).',
    'CPU s / M msgs: user+system CPU of each server process over the whole load phase (connect, warm-up, measured time, drain) per million echoes received in it.',
    "Run-queue wait: how long each server process's main thread was runnable but waiting for a core over the same phase (/proc/<pid>/schedstat), per echo: the scheduler's share of the latency when more processes are busy than there are cores.",
  );
  return { tables, verdicts, notes, data };
}

module.exports = {
  id: 'echo',
  title: '1. Echo through the full chain',
  run,
  runEchoComparison,
  targetRows,
  roundRatios,
  warnings,
  describe,
  HEADER,
};
