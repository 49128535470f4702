'use strict';
/**
 * Scenario 3: sendToUid / sendToGroup from a separate SDK process at a fixed offered rate to BENCH_CONNECTIONS
 * connections. Our cluster spreads them over two gateways (the SDK fans out to both); the reference R is the
 * bare ws server of scenario 2 (one process) routing by uid and group the same way. Before the rounds the
 * sender binds connection k to uid u<k> and group g<k % BENCH_GROUPS> (cluster: bindUid + joinGroup through
 * the SDK). Per phase (uid, then group): the sender offers its rate for BENCH_PUSH_DURATION_MS, each message
 * stamped with its send time; then the harness waits (bounded) for every expected delivery.
 * delivered/s = deliveries / (last delivery - first send); lost = expected - delivered (must be 0).
 */
const {
  withTargets,
  startGenerators,
  generatorCount,
  awaitDeliveries,
  cpuSnapshot,
  cpuSince,
  generatorCpu,
  ratio,
  verdict,
  median,
  percentileOfSparse,
  log,
  assertRunning,
  roundOrder,
} = require('../harness');
const { listenAll, withSenders } = require('./broadcast');
const { fmt } = require('../format');

const LABELS = ['R', 'C'];
const NAMES = { R: 'bare ws router (1 process)', C: 'cluster, SDK process, 2 gateways' };
const KINDS = ['uid', 'group'];

async function pushPhase(config, pool, sender, target, kind, clients, tag) {
  const rate = kind === 'uid' ? config.pushRate : config.pushGroupRate;
  const before = cpuSnapshot(target.procs);
  await pool.all((g) => g.request({ cmd: 'cpu-mark' }, 10_000));
  const sent = await sender.request(
    {
      cmd: 'push',
      tag,
      kind,
      rate,
      durationMs: config.pushDurationMs,
      bytes: config.pushBytes,
      clients,
      groups: Math.min(config.groups, clients),
    },
    config.pushDurationMs * 3 + 30_000,
  );
  const got = await awaitDeliveries(pool, tag, sent.expectedDeliveries, 15_000 + sent.expectedDeliveries / 100);
  assertRunning(target.procs, `the ${kind} push`);
  const gens = await pool.all((g) => g.request({ cmd: 'cpu-since' }, 10_000));
  const spanUs = got.lastRecvUs - sent.firstSendUs;
  return {
    offeredRate: rate,
    sent: sent.sent,
    planned: sent.planned,
    achievedSendRate: sent.achievedSendRate,
    senderMaxLagMs: sent.maxLagMs,
    sendErrors: sent.errors,
    firstSendError: sent.firstError,
    expected: sent.expectedDeliveries,
    delivered: got.delivered,
    lost: sent.expectedDeliveries - got.delivered,
    deliveredPerSec: got.delivered > 0 && spanUs > 0 ? got.delivered / (spanUs / 1e6) : null,
    p50Ms: percentileOfSparse(got.hist, 0.5),
    p99Ms: percentileOfSparse(got.hist, 0.99),
    processes: cpuSince(target.procs, before, got.delivered),
    generatorCpu: generatorCpu(gens),
    senderCorePercent: sent.cpu.corePercent,
    senderCpuMs: sent.cpu.ms,
  };
}

async function run(config) {
  const n = config.connections;
  return withTargets([{ key: 'R' }, { key: 'C', opts: { gateways: 2 } }], async (started) => {
    const pool = startGenerators(generatorCount(config, n * LABELS.length));
    try {
      const receivers = await listenAll(pool, started, LABELS, n);
      return await withSenders(started, LABELS, 2, async (senders) => {
        const bound = {};
        for (const label of LABELS) {
          bound[label] = await senders[label].request(
            { cmd: 'bind', groups: Math.min(config.groups, receivers[label].opened) },
            60_000 + n * 10,
          );
          if (bound[label].clients !== receivers[label].opened || bound[label].uidsBound !== receivers[label].opened) {
            throw new Error(
              `${label}: ${receivers[label].opened} receivers open but ${bound[label].clients} listed and ${bound[label].uidsBound} uids bound`,
            );
          }
        }
        const rounds = [];
        for (let round = 1; round <= config.rounds; round++) {
          const row = {};
          for (const label of roundOrder(LABELS, round)) {
            row[label] = {};
            for (const kind of KINDS) {
              log(`push ${kind} to ${receivers[label].opened}: round ${round}, ${label}`);
              try {
                row[label][kind] = await pushPhase(
                  config,
                  pool,
                  senders[label],
                  started[label],
                  kind,
                  bound[label].clients,
                  `${label}${round}${kind}`,
                );
              } catch (err) {
                row[label][kind] = { error: err.message };
                log(`push ${label} ${kind} failed: ${err.message}`);
              }
            }
          }
          rounds.push(row);
        }
        return summarize(config, rounds, receivers, pool.gens.length);
      });
    } finally {
      await pool.stop();
    }
  });
}

function summarize(config, rounds, receivers, generators) {
  const get = (label, kind, key) =>
    rounds.map((r) => (r[label] && r[label][kind] && !r[label][kind].error ? r[label][kind][key] : null));
  const rows = [];
  for (const kind of KINDS) {
    for (const label of LABELS) {
      const ok = rounds.map((r) => r[label][kind]).filter((x) => x && !x.error);
      const procs = ok.length
        ? ok[0].processes
            .map((p, i) => `${p.name} ${fmt.num(median(ok.map((x) => x.processes[i].cpuSecPerMillion)))}`)
            .join(', ')
        : 'n/a';
      const gens = ok.map((x) => x.generatorCpu.perGenerator.map(fmt.pct).join('+')).join(' / ');
      rows.push([
        `${kind === 'uid' ? 'sendToUid' : 'sendToGroup'}: ${label} ${NAMES[label]}`,
        `${fmt.int(ok.length ? ok[0].offeredRate : null)} msgs/s`,
        fmt.int(median(get(label, kind, 'deliveredPerSec'))),
        get(label, kind, 'deliveredPerSec').map(fmt.int).join(' / '),
        fmt.ms(median(get(label, kind, 'p50Ms'))),
        fmt.ms(median(get(label, kind, 'p99Ms'))),
        `${get(label, kind, 'delivered').reduce((s, x) => s + (x || 0), 0)} of ${get(label, kind, 'expected').reduce((s, x) => s + (x || 0), 0)}`,
        String(get(label, kind, 'lost').reduce((s, x) => s + (x || 0), 0)),
        procs,
        `${gens || 'n/a'}${ok.some((x) => x.generatorCpu.saturated) ? ' SATURATED' : ''}`,
        fmt.pct(median(get(label, kind, 'senderCorePercent'))),
      ]);
    }
  }
  const notes = [];
  rounds.forEach((r, i) => {
    for (const label of LABELS) {
      for (const kind of KINDS) {
        const x = r[label][kind];
        if (!x) continue;
        if (x.error) notes.push(`round ${i + 1}, ${label} ${kind} FAILED: ${x.error.split('\n')[0].slice(0, 300)}`);
        else {
          if (x.lost)
            notes.push(
              `round ${i + 1}, ${label} ${kind}: ${x.lost} of ${x.expected} deliveries missing after the wait`,
            );
          if (x.sendErrors)
            notes.push(`round ${i + 1}, ${label} ${kind}: ${x.sendErrors} send error(s): ${x.firstSendError}`);
          if (x.sent < x.planned)
            notes.push(
              `round ${i + 1}, ${label} ${kind}: the sender offered only ${x.sent} of ${x.planned} messages in time`,
            );
          if (x.senderCorePercent > 90)
            notes.push(
              `round ${i + 1}, ${label} ${kind}: the sender used ${Math.round(x.senderCorePercent)} % of a core: the offered rate may be its limit`,
            );
          if (x.generatorCpu.saturated)
            notes.push(
              `round ${i + 1}, ${label} ${kind}: a load generator used over 90 % of a core (more BENCH_GENERATORS)`,
            );
          if (x.achievedSendRate < 0.9 * x.offeredRate)
            notes.push(
              `round ${i + 1}, ${label} ${kind}: the sender reached ${fmt.int(x.achievedSendRate)} of ${fmt.int(x.offeredRate)} msgs/s offered (sender-bound)`,
            );
        }
      }
    }
  });
  for (const label of LABELS)
    if (receivers[label].failed)
      notes.push(
        `${label}: ${receivers[label].failed} receiving connection(s) failed to open: ${receivers[label].firstError}`,
      );
  notes.push(
    `${config.connections} receivers per target, ${Math.min(config.groups, config.connections)} groups, ${config.pushBytes}-byte payloads, each phase offered for ${config.pushDurationMs} ms; ${generators} generator process(es).`,
    'R is one process (nothing to spread); C holds the receivers on two gateways and its SDK sends every sendToUid / sendToGroup to both.',
  );
  const lostC = rounds.map((r) => KINDS.reduce((s, k) => s + (r.C[k] && !r.C[k].error ? r.C[k].lost : NaN), 0));
  return {
    tables: [
      {
        caption: `push at a fixed offered rate`,
        header: [
          'phase / target',
          'offered',
          'delivered/s (median)',
          'per round',
          'p50 ms',
          'p99 ms',
          'delivered',
          'lost',
          'CPU s / M deliveries per process',
          'generator CPU per round',
          'sender CPU',
        ],
        rows,
      },
    ],
    verdicts: [
      {
        label: 'push: C deliveries lost (uid + group), per round',
        perRound: lostC,
        median: median(lostC),
        target: '== 0',
        pass: lostC.every((x) => x === 0),
        unit: 'count',
      },
      verdict(
        'push sendToUid: C/R p99 latency',
        rounds.map((r) => ratio(r.C.uid && r.C.uid.p99Ms, r.R.uid && r.R.uid.p99Ms)),
        'info',
      ),
      verdict(
        'push sendToGroup: C/R p99 latency',
        rounds.map((r) => ratio(r.C.group && r.C.group.p99Ms, r.R.group && r.R.group.p99Ms)),
        'info',
      ),
    ],
    notes,
    data: { rounds, receivers },
  };
}

module.exports = {
  id: 'push',
  title: '3. sendToUid / sendToGroup at a fixed offered rate, two gateways',
  run,
  pushPhase,
};
