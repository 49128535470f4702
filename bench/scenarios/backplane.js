'use strict';
/**
 * Scenario 7: what the Redis backplane saves the gateways. The same cluster twice, four gateways each: C (the full
 * mesh: the SDK sends every sendToUid / sendToGroup to all four gateways, three of which hold nobody) and K (the
 * same with the Redis backplane: the SDK reads the presence directory and sends to the gateway that holds the
 * target). BENCH_CONNECTIONS receivers per target spread over its four gateways, bound to uid u<k> and group
 * g<k % BENCH_GROUPS> by the sender (through the SDK). Per round and target: a sendToUid phase at
 * BENCH_PUSH_RATE and a sendToGroup phase at BENCH_PUSH_GROUP_RATE (scenario 3's pushPhase), each message
 * stamped and awaited. What is compared: the CPU all four gateways together spend per delivery, K/C per round
 * (below 1 is the saving); K's redis-server and sender CPU are shown beside it (the price). The groups are spread
 * over every gateway (g<k % groups>), so targeting cannot narrow a group send here: the uid phase shows the saving.
 */
const { withTargets, startGenerators, generatorCount, ratio, verdict, median, log } = require('../harness');
const { listenAll, withSenders } = require('./broadcast');
const { pushPhase } = require('./push');
const { fmt } = require('../format');

const GATEWAYS = 4;
const LABELS = ['C', 'K'];
const NAMES = { C: `cluster, ${GATEWAYS} gateways, full mesh`, K: `cluster, ${GATEWAYS} gateways, Redis backplane` };
const KINDS = ['uid', 'group'];

/** CPU s per million deliveries of the processes whose name matches `re`, summed. */
function cpuOf(phase, re) {
  const list = phase.processes.filter((p) => re.test(p.name));
  if (list.length === 0 || list.some((p) => p.cpuSecPerMillion === null)) return null;
  return list.reduce((s, p) => s + p.cpuSecPerMillion, 0);
}

async function run(config) {
  const n = config.connections;
  return withTargets(
    [
      { key: 'C', opts: { gateways: GATEWAYS } },
      { key: 'K', opts: { gateways: GATEWAYS } },
    ],
    async (started) => {
      const pool = startGenerators(generatorCount(config, n * LABELS.length));
      try {
        const receivers = await listenAll(pool, started, LABELS, n);
        return await withSenders(started, LABELS, GATEWAYS, async (senders) => {
          const bound = {};
          for (const label of LABELS) {
            bound[label] = await senders[label].request(
              { cmd: 'bind', groups: Math.min(config.groups, receivers[label].opened) },
              60_000 + n * 10,
            );
          }
          const rounds = [];
          for (let round = 1; round <= config.rounds; round++) {
            const row = {};
            for (const label of LABELS) {
              row[label] = {};
              for (const kind of KINDS) {
                log(`backplane ${kind} push to ${receivers[label].opened}: round ${round}, ${label}`);
                try {
                  row[label][kind] = await pushPhase(
                    config,
                    pool,
                    senders[label],
                    started[label],
                    kind,
                    bound[label].clients,
                    `${label}${round}${kind}bp`,
                  );
                } catch (err) {
                  row[label][kind] = { error: err.message };
                  log(`backplane ${label} ${kind} failed: ${err.message}`);
                }
              }
            }
            rounds.push(row);
          }
          return summarize(config, rounds, pool.gens.length);
        });
      } finally {
        await pool.stop();
      }
    },
  );
}

function summarize(config, rounds, generators) {
  const ok = (label, kind) => rounds.map((r) => (r[label][kind] && !r[label][kind].error ? r[label][kind] : null));
  const rows = [];
  for (const kind of KINDS) {
    for (const label of LABELS) {
      const phases = ok(label, kind);
      const valid = phases.filter(Boolean);
      rows.push([
        `${kind === 'uid' ? 'sendToUid' : 'sendToGroup'}: ${label} ${NAMES[label]}`,
        `${fmt.int(valid.length ? valid[0].offeredRate : null)} msgs/s`,
        fmt.int(median(phases.map((p) => p && p.deliveredPerSec))),
        fmt.ms(median(phases.map((p) => p && p.p99Ms))),
        `${valid.reduce((s, p) => s + p.delivered, 0)} of ${valid.reduce((s, p) => s + p.expected, 0)}`,
        fmt.num(median(phases.map((p) => p && cpuOf(p, /^gateway/)))),
        label === 'K' ? fmt.num(median(phases.map((p) => p && cpuOf(p, /^redis-server$/)))) : '-',
        fmt.pct(median(phases.map((p) => p && p.senderCorePercent))),
      ]);
    }
  }
  const notes = [];
  rounds.forEach((r, i) => {
    for (const label of LABELS)
      for (const kind of KINDS) {
        const x = r[label][kind];
        if (x && x.error)
          notes.push(`round ${i + 1}, ${label} ${kind} FAILED: ${x.error.split('\n')[0].slice(0, 300)}`);
        else if (x && x.lost)
          notes.push(`round ${i + 1}, ${label} ${kind}: ${x.lost} of ${x.expected} deliveries missing`);
      }
  });
  notes.push(
    `${config.connections} receivers per target over ${GATEWAYS} gateways, ${Math.min(config.groups, config.connections)} groups, ${config.pushBytes}-byte payloads, each phase offered for ${config.pushDurationMs} ms; ${generators} generator process(es).`,
    'Gateway CPU is the sum over the four gateway processes; K also pays a directory read per call (sender CPU) and the redis-server CPU shown.',
  );
  const lostK = rounds.map((r) => KINDS.reduce((s, k) => s + (r.K[k] && !r.K[k].error ? r.K[k].lost : NaN), 0));
  const gatewayRatio = (kind) =>
    rounds.map((r) =>
      ratio(
        r.K[kind] && !r.K[kind].error ? cpuOf(r.K[kind], /^gateway/) : null,
        r.C[kind] && !r.C[kind].error ? cpuOf(r.C[kind], /^gateway/) : null,
      ),
    );
  return {
    tables: [
      {
        caption: `push with and without the backplane, ${GATEWAYS} gateways`,
        header: [
          'phase / target',
          'offered',
          'delivered/s (median)',
          'p99 ms',
          'delivered',
          'gateways CPU s / M deliveries',
          'redis CPU s / M',
          'sender CPU',
        ],
        rows,
      },
    ],
    verdicts: [
      {
        label: 'backplane: K deliveries lost (uid + group), per round',
        perRound: lostK,
        median: median(lostK),
        target: '== 0',
        pass: lostK.every((x) => x === 0),
        unit: 'count',
      },
      verdict('backplane sendToUid: K/C gateway CPU per delivery', gatewayRatio('uid'), 'info'),
      verdict('backplane sendToGroup: K/C gateway CPU per delivery', gatewayRatio('group'), 'info'),
    ],
    notes,
    data: { rounds },
  };
}

module.exports = { id: 'backplane', title: '7. Redis backplane: targeted sends vs the full mesh, four gateways', run };
