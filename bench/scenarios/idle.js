'use strict';
/**
 * Scenario 5: idle connections. RSS per connection of the process(es) holding the client sockets: the bare ws
 * echo server (A), the Nest WsAdapter server (B) and our gateway (C: register and worker not counted; the
 * worker's growth is noted), at two levels: BENCH_IDLE_CONNECTIONS (10 000) and BENCH_IDLE_MAX (default: the
 * most one process can hold here, i.e. the open-files limit minus a margin for its other descriptors).
 * A level above what one process can hold runs ceil(level / per-process capacity) server processes of each
 * target (gateways for C) and sums their RSS. Every round starts every target's processes afresh; per target:
 * open the level in BENCH_IDLE_STEPS steps, reading RSS after a full GC before and at each; KiB/connection =
 * least-squares slope over the points from the first step on (the first step also pays one-time costs).
 */
const {
  withTargets,
  startGenerators,
  generatorCount,
  ratio,
  verdict,
  median,
  log,
  roundOrder,
  measureIdleMemory,
} = require('../harness');
const { TARGETS } = require('../targets');
const { fmt } = require('../format');

const LABELS = ['A', 'B', 'C'];
/**
 * An RSS slope under this many KiB per connection is not a measurement (RSS moves by whole pages, and a process
 * that kept the warm-up's pages reads near 0 or below): a round where either side is under it gives no RSS ratio.
 */
const RSS_NOISE_KIB = 1;
const rssRatio = (c, a) => (c === null || a === null || c < RSS_NOISE_KIB || a < RSS_NOISE_KIB ? null : ratio(c, a));

async function runLevel(config, level) {
  const processes = Math.max(1, Math.ceil(level.count / config.connectionsPerProcess));
  const specs = [
    { key: 'A', opts: { servers: processes } },
    { key: 'B', opts: { servers: processes } },
    { key: 'C', opts: { gateways: processes } },
  ];
  const pool = startGenerators(generatorCount(config, level.count));
  const rounds = [];
  try {
    for (let round = 1; round <= config.rounds; round++) {
      // Fresh processes every round: a process that held the level once keeps pages it can reuse, and its RSS
      // slope then reads near 0 (earlier runs: C's slope -0.8 … 0.5 KiB after a warm-up open/close).
      rounds.push(
        await withTargets(specs, async (started) => {
          const row = {};
          for (const label of roundOrder(LABELS, round)) {
            log(`idle ${level.count} (${level.name}), ${processes} process(es): round ${round}, ${label}`);
            try {
              row[label] = await measureIdleMemory(pool, started[label], level.count, config, { warmUp: false });
            } catch (err) {
              row[label] = { error: err.message };
              log(`idle ${label} failed: ${err.message}`);
            }
          }
          return row;
        }),
      );
    }
  } finally {
    await pool.stop();
  }
  return { level, processes, generators: pool.gens.length, rounds };
}

async function run(config) {
  const levels = [];
  if (config.idleConnections > 0) levels.push({ name: 'BENCH_IDLE_CONNECTIONS', count: config.idleConnections });
  if (config.idleMax > 0) levels.push({ name: 'BENCH_IDLE_MAX', count: config.idleMax });
  const results = [];
  for (const level of levels) results.push(await runLevel(config, level));

  const rows = [];
  const verdicts = [];
  const notes = [];
  for (const r of results) {
    const get = (label, key) => r.rounds.map((x) => (x[label] && !x[label].error ? x[label][key] : null));
    for (const label of LABELS) {
      const ok = r.rounds.map((x) => x[label]).filter((x) => x && !x.error);
      rows.push([
        `${r.level.count} (${r.level.name}): ${label} ${TARGETS[label].name}${label === 'C' ? ' (gateway RSS)' : ''}`,
        String(r.processes),
        get(label, 'opened')
          .map((x) => (x === null ? 'n/a' : String(x)))
          .join(' / '),
        fmt.kib(median(get(label, 'kibPerConnection'))),
        get(label, 'kibPerConnection').map(fmt.kib).join(' / '),
        fmt.kib(median(get(label, 'heapKibPerConnection'))),
        fmt.kib(median(get(label, 'totalKibPerConnection'))),
        fmt.mib(median(get(label, 'baseRssKiB'))),
        label === 'C' ? fmt.kib(median(get(label, 'infoKibPerConnection'))) : '',
        ok.map((x) => x.stoppedBecause).find(Boolean) || (ok.length ? 'all requested opened' : 'n/a'),
      ]);
    }
    verdicts.push(
      verdict(
        `idle ${r.level.count}: C/A RSS KiB per connection`,
        r.rounds.map((x) =>
          rssRatio(x.C && !x.C.error ? x.C.kibPerConnection : null, x.A && !x.A.error ? x.A.kibPerConnection : null),
        ),
        '<=',
        1.25,
      ),
    );
    verdicts.push(
      verdict(
        `idle ${r.level.count}: C/A heap+external KiB per connection`,
        r.rounds.map((x) => ratio(x.C && x.C.heapKibPerConnection, x.A && x.A.heapKibPerConnection)),
        '<=',
        1.25,
      ),
    );
    verdicts.push(
      verdict(
        `idle ${r.level.count}: C/B KiB per connection`,
        r.rounds.map((x) =>
          rssRatio(x.C && !x.C.error ? x.C.kibPerConnection : null, x.B && !x.B.error ? x.B.kibPerConnection : null),
        ),
        'info',
      ),
    );
    r.rounds.forEach((x, i) => {
      for (const label of LABELS) {
        const m = x[label];
        if (!m) continue;
        if (m.error)
          notes.push(`${r.level.count}, round ${i + 1}, ${label} FAILED: ${m.error.split('\n')[0].slice(0, 300)}`);
        else if (m.droppedBeforeEnd)
          notes.push(
            `${r.level.count}, round ${i + 1}, ${label}: ${m.droppedBeforeEnd} connection(s) closed by the server before the end`,
          );
      }
    });
    notes.push(
      `${r.level.count} idle connections: ${r.processes} server process(es) per target, ${r.generators} generator process(es).`,
    );
  }
  notes.push(
    `Per-process capacity here: ${config.connectionsPerProcess} connections (open-files limit ${config.openFilesLimit} minus a margin for listeners, links, stdio); ` +
      'a level above it is spread over several server processes. "stopped because" says why a level was not reached (e.g. EMFILE).',
    `KiB/conn: least-squares slope of RSS (VmRSS after a full GC, same preloaded hook in every server) over the idle connections opened in ${config.idleSteps} steps up to N, on processes started afresh for the round, fitted from the first step's point on (the step from 0 also pays one-time costs: code compiled on first use, first allocations; "RSS 0→N / N" includes them, as the scale scenario's figure does). RSS is coarse: differences under ~1 KiB are noise; a round where either slope is under ${RSS_NOISE_KIB} KiB gives no RSS ratio (n/a), and the verdict is taken on the other rounds.`,
    'C\'s gateway keeps a share of its open-files limit from clients for its inner links (GATEWAY_MAX_CONNECTIONS unset: the limit minus min(1 024, max(64, 10 %)); see README, Heartbeat, limits and close codes): at the open-files level it holds that many fewer connections than A, by design, and its "stopped because" shows the connections it refused.',
    'heap+ext KiB/conn: the same slope of heapUsed + external (process.memoryUsage() after the full GC): what the live objects and Buffers of the connections hold, without allocator effects; kernel socket buffers are in neither figure.',
  );
  return {
    tables: [
      {
        caption: 'idle connections',
        header: [
          'level: target',
          'server processes',
          'opened per round',
          'RSS KiB/conn (median)',
          'RSS KiB/conn per round',
          'heap+ext KiB/conn (median)',
          'RSS 0→N / N KiB (median)',
          'base RSS MiB',
          'worker KiB/conn (info)',
          'stopped because',
        ],
        rows,
      },
    ],
    verdicts,
    notes,
    data: { levels: results },
  };
}

module.exports = { id: 'idle', title: '5. Idle connections: RSS per connection', run };
