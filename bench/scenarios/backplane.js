'use strict';
/**
 * Scenario 7 (issue 13): what the Redis backplane saves the gateways on sendToUid. The same cluster twice, with
 * BENCH_BACKPLANE_GATEWAYS (8) gateway processes each: C (the full mesh: the SDK sends every sendToUid to every
 * gateway, all but one of which hold nobody with that uid) and K (the same with the Redis backplane and a
 * redis-server of its own: the SDK reads the presence directory and sends to the gateway that holds the uid).
 * BENCH_BACKPLANE_CONNECTIONS receivers per target, spread over its gateways, bound to uid u<k> by the sender
 * (through the SDK). R is the floor of any targeted design with that many processes: BENCH_BACKPLANE_GATEWAYS
 * bare ws routers (servers/ws-broadcast-server.js), each holding its share of the receivers, and the sender sends
 * each message (plain JSON over a /control WebSocket) to the one router that holds the uid: one process woken, one
 * frame written per send, no encryption, no directory. Per round the targets take turns; per target:
 *   - idle: BENCH_BACKPLANE_IDLE_MS with nothing sent, the gateways' background CPU (timers, heartbeats, leases);
 *   - sendToUid at the fixed rate BENCH_BACKPLANE_RATE for BENCH_BACKPLANE_DURATION_MS (scenario 3's pushPhase:
 *     every message stamped with CLOCK_MONOTONIC right before the call, latency = client receipt - that stamp).
 * Then, once per round, C and K (and K0) push at the same time (each at the rate, from its own sender): a latency
 * comparison in which a stall of the (shared) machine hits all alike.
 * Reported per round: the CPU of all gateways together per send (K/C, goal <= 0.25), p50 / p99 delivery latency
 * (K/C p99, goal <= 1.2, turn by turn and at the same time), redis-server CPU per send, the sender's CPU per send,
 * the generators' CPU.
 * BENCH_BACKPLANE_PROF=<dir>: the last round also writes V8 CPU profiles of every gateway and of the sender for
 * its push (<dir>/{C,K}-gateway<n>.cpuprofile, <dir>/{C,K}-sender.cpuprofile; that round's CPU includes the
 * profiler's overhead).
 */
const path = require('node:path');
const fs = require('node:fs');
const {
  withTargets,
  startGenerators,
  generatorCount,
  ratio,
  verdict,
  median,
  log,
  cpuSnapshot,
  cpuSince,
  sleep,
  awaitDeliveries,
  percentileOfSparse,
} = require('../harness');
const { listenAll, withSenders } = require('./broadcast');
const { pushPhase } = require('./push');
const { fmt } = require('../format');
const { cpuSplitMs, isRunning } = require('../processes');

const GOAL_CPU = 0.25;
const GOAL_P99 = 1.2;
const PROF_DIR = process.env.BENCH_BACKPLANE_PROF ? path.resolve(process.env.BENCH_BACKPLANE_PROF) : null;
// BENCH_BACKPLANE_BASE_ROOT=<dir>: also K0, K run from a saved build (dist/apps and a node_modules resolving the
// package to that build), to measure a change before and after in the same run.
const BASE_ROOT = process.env.BENCH_BACKPLANE_BASE_ROOT ? path.resolve(process.env.BENCH_BACKPLANE_BASE_ROOT) : null;
const LABELS = BASE_ROOT ? ['C', 'K', 'K0', 'R'] : ['C', 'K', 'R'];

/** CPU ms of the processes whose name matches `re` in a phase's per-process list, summed (null if any is missing). */
function cpuMsOf(processes, re) {
  const list = processes.filter((p) => re.test(p.name));
  if (list.length === 0) return null;
  return list.reduce((s, p) => s + p.cpuMs, 0);
}

const GATEWAY = /^gateway/;
const ROUTER = /^ws-broadcast-server/;
/** The processes that hold the receivers: C's and K's gateways, R's routers. */
const servingOf = (label) => (label === 'R' ? ROUTER : GATEWAY);
const REDIS = /^redis-server$/;
const OTHER = /^(register|worker)$/;

async function idlePhase(target, ms, serving) {
  const before = cpuSnapshot(target.procs);
  const t0 = Date.now();
  await sleep(ms);
  const procs = cpuSince(target.procs, before, 0);
  const seconds = (Date.now() - t0) / 1000;
  return {
    gatewayMsPerSec: cpuMsOf(procs, serving) / seconds,
    redisMsPerSec: cpuMsOf(procs, REDIS) === null ? null : cpuMsOf(procs, REDIS) / seconds,
  };
}

/** User and system CPU ms of all gateways together, so far. */
function gatewaySplit(target, serving) {
  const out = { user: 0, system: 0 };
  for (const p of target.procs)
    if (serving.test(p.name) && isRunning(p.child)) {
      const c = cpuSplitMs(p.child.pid);
      out.user += c.user;
      out.system += c.system;
    }
  return out;
}

/** Sends SIGURG to every gateway (tools/prof-hook.js: first starts the profiler, second writes the profile). */
function signalGateways(target) {
  for (const p of target.procs) if (GATEWAY.test(p.name)) p.child.kill('SIGURG');
}

async function measure(config, pool, sender, target, label, clients, round, profile) {
  const serving = servingOf(label);
  const idle = config.backplaneIdleMs > 0 ? await idlePhase(target, config.backplaneIdleMs, serving) : null;
  const phaseConfig = { ...config, pushRate: config.backplaneRate, pushDurationMs: config.backplaneDurationMs };
  profile = profile && label !== 'R';
  if (profile) {
    signalGateways(target);
    await sender.request({ cmd: 'prof-start' }, 10_000);
    await sleep(200);
  }
  const statsBefore = (await sender.request({ cmd: 'stats' }, 10_000)).backplane;
  const splitBefore = gatewaySplit(target, serving);
  const p = await pushPhase(phaseConfig, pool, sender, target, 'uid', clients, `${label}${round}bp`);
  const splitAfter = gatewaySplit(target, serving);
  const statsAfter = (await sender.request({ cmd: 'stats' }, 10_000)).backplane;
  if (profile) {
    const writes = target.procs.filter((x) => GATEWAY.test(x.name)).map((x) => x.waitFor(/PROF_WRITTEN (\S+)/, 30_000));
    signalGateways(target);
    await sender.request({ cmd: 'prof-stop', file: path.join(PROF_DIR, `${label}-sender.cpuprofile`) }, 30_000);
    await Promise.all(writes);
    log(`backplane: profiles of ${label} written to ${PROF_DIR}`);
  }
  const sends = p.sent;
  const us = (ms) => (ms === null || !sends ? null : (ms * 1000) / sends);
  return {
    ...p,
    idle,
    gatewayUsPerSend: us(cpuMsOf(p.processes, serving)),
    redisUsPerSend: us(cpuMsOf(p.processes, REDIS)),
    otherUsPerSend: us(cpuMsOf(p.processes, OTHER)),
    senderUsPerSend: us(p.senderCpuMs),
    gatewaySystemShare:
      splitAfter.user + splitAfter.system - splitBefore.user - splitBefore.system > 0
        ? (splitAfter.system - splitBefore.system) /
          (splitAfter.user + splitAfter.system - splitBefore.user - splitBefore.system)
        : null,
    perGatewayMs: p.processes.filter((x) => serving.test(x.name)).map((x) => x.cpuMs),
    directory:
      statsBefore && statsAfter
        ? {
            reads: statsAfter.reads - statsBefore.reads,
            fallbacks: statsAfter.fallbacks - statsBefore.fallbacks,
            narrowed: statsAfter.narrowed - statsBefore.narrowed,
          }
        : null,
    profiled: profile,
  };
}

/**
 * C and K push at the same time (the same rate and duration each, from their own senders): p50 / p99 of each. No CPU
 * figures (the two load each other); what this gives is a latency comparison in which both see the same machine.
 */
async function together(config, pool, senders, bound, round) {
  const labels = BASE_ROOT ? ['C', 'K', 'K0'] : ['C', 'K'];
  const kStatsBefore = (await senders.K.request({ cmd: 'stats' }, 10_000)).backplane;
  const sent = await Promise.all(
    labels.map((label) =>
      senders[label].request(
        {
          cmd: 'push',
          tag: `${label}${round}tg`,
          kind: 'uid',
          rate: config.backplaneRate,
          durationMs: config.backplaneDurationMs,
          bytes: config.pushBytes,
          clients: bound[label].clients,
          groups: 1,
        },
        config.backplaneDurationMs * 3 + 30_000,
      ),
    ),
  );
  const out = {};
  for (const [i, label] of labels.entries()) {
    const got = await awaitDeliveries(
      pool,
      `${label}${round}tg`,
      sent[i].expectedDeliveries,
      15_000 + sent[i].expectedDeliveries / 100,
    );
    out[label] = {
      sent: sent[i].sent,
      achievedSendRate: sent[i].achievedSendRate,
      senderMaxLagMs: sent[i].maxLagMs,
      expected: sent[i].expectedDeliveries,
      delivered: got.delivered,
      lost: sent[i].expectedDeliveries - got.delivered,
      p50Ms: percentileOfSparse(got.hist, 0.5),
      p99Ms: percentileOfSparse(got.hist, 0.99),
    };
  }
  // K's directory reads and fallbacks in this phase (a send that waits for Redis is the one that can make the tail).
  const kStatsAfter = (await senders.K.request({ cmd: 'stats' }, 10_000)).backplane;
  if (kStatsBefore && kStatsAfter)
    out.K.directory = {
      reads: kStatsAfter.reads - kStatsBefore.reads,
      fallbacks: kStatsAfter.fallbacks - kStatsBefore.fallbacks,
    };
  return out;
}

async function run(config) {
  const n = config.backplaneConnections;
  const gateways = config.backplaneGateways;
  if (PROF_DIR) fs.mkdirSync(PROF_DIR, { recursive: true });
  // Dozens of processes start at once on a small shared machine: each may take a while to be ready.
  const startTimeoutMs = 120_000;
  const opts = { gateways, startTimeoutMs, ...(PROF_DIR ? { profDir: PROF_DIR } : {}) };
  return withTargets(
    [
      { key: 'C', opts },
      { key: 'K', opts },
      ...(BASE_ROOT ? [{ key: 'K', label: 'K0', opts: { ...opts, root: BASE_ROOT, label: 'K0' } }] : []),
      { key: 'R', opts: { servers: gateways, startTimeoutMs } },
    ],
    async (started) => {
      const pool = startGenerators(generatorCount(config, n * LABELS.length));
      try {
        const receivers = await listenAll(pool, started, LABELS, n);
        return await withSenders(started, LABELS, gateways, async (senders) => {
          const bound = {};
          for (const label of LABELS) {
            bound[label] = await senders[label].request({ cmd: 'bind', groups: 1 }, 60_000 + n * 10);
            if (bound[label].uidsBound !== receivers[label].opened)
              throw new Error(
                `${label}: ${receivers[label].opened} receivers open but ${bound[label].uidsBound} uids bound`,
              );
          }
          await sleep(1_000); // K: the gateways' directory writes (a 20 ms flush) are in Redis
          const rounds = [];
          for (let round = 1; round <= config.rounds; round++) {
            const row = {};
            // The targets take turns; the order rotates every round so none always runs first.
            const order = LABELS.map((_, i) => LABELS[(i + round - 1) % LABELS.length]);
            for (const label of order) {
              log(
                `backplane sendToUid to ${receivers[label].opened} over ${gateways} gateways: round ${round}, ${label}`,
              );
              try {
                row[label] = await measure(
                  config,
                  pool,
                  senders[label],
                  started[label],
                  label,
                  bound[label].clients,
                  round,
                  PROF_DIR !== null && round === config.rounds,
                );
              } catch (err) {
                row[label] = { error: err.message };
                log(`backplane ${label} failed: ${err.message}`);
              }
            }
            // Latency under identical conditions: C and K push at the same time, so a stall of the machine hits both.
            log(`backplane sendToUid, C and K at the same time: round ${round}`);
            try {
              row.together = await together(config, pool, senders, bound, round);
            } catch (err) {
              row.together = { error: err.message };
              log(`backplane together failed: ${err.message}`);
            }
            rounds.push(row);
          }
          return summarize(config, rounds, receivers, pool.gens.length);
        });
      } finally {
        await pool.stop();
      }
    },
  );
}

function summarize(config, rounds, receivers, generators) {
  const gateways = config.backplaneGateways;
  const ok = (r, label) => (r[label] && !r[label].error ? r[label] : null);
  const get = (label, key) => rounds.map((r) => (ok(r, label) ? ok(r, label)[key] : null));
  const NAMES = {
    C: `full mesh (${gateways} gateways)`,
    K: `Redis backplane (${gateways} gateways + redis-server)`,
    R: `floor: ${gateways} bare ws routers, each send to the one that holds the uid`,
    K0: `K from the saved build ${BASE_ROOT}`,
  };

  const perRound = [];
  rounds.forEach((r, i) => {
    for (const label of LABELS) {
      const x = ok(r, label);
      if (!x) {
        perRound.push([`${i + 1}`, label, 'FAILED', '', '', '', '', '', '', '', '', '', '', '']);
        continue;
      }
      perRound.push([
        `${i + 1}${x.profiled ? ' (profiled)' : ''}`,
        label,
        `${x.sent} at ${fmt.int(x.achievedSendRate)}/s`,
        `${x.delivered} of ${x.expected}`,
        fmt.num(x.gatewayUsPerSend),
        fmt.pct(x.gatewaySystemShare === null ? null : x.gatewaySystemShare * 100),
        x.idle ? fmt.num(x.idle.gatewayMsPerSec) : 'n/a',
        label.startsWith('K') ? fmt.num(x.redisUsPerSend) : '-',
        fmt.num(x.senderUsPerSend),
        fmt.num(x.otherUsPerSend),
        fmt.ms(x.p50Ms),
        fmt.ms(x.p99Ms),
        `${x.generatorCpu.perGenerator.map(fmt.pct).join('+')}${x.generatorCpu.saturated ? ' SATURATED' : ''}`,
        x.directory ? `${x.directory.reads} / ${x.directory.fallbacks} / ${x.directory.narrowed}` : '-',
      ]);
    }
  });

  const summary = LABELS.map((label) => [
    `${label} ${NAMES[label]}`,
    fmt.num(median(get(label, 'gatewayUsPerSend'))),
    fmt.num(median(rounds.map((r) => ok(r, label) && ok(r, label).idle && ok(r, label).idle.gatewayMsPerSec))),
    label.startsWith('K') ? fmt.num(median(get(label, 'redisUsPerSend'))) : '-',
    fmt.num(median(get(label, 'senderUsPerSend'))),
    fmt.ms(median(get(label, 'p50Ms'))),
    fmt.ms(median(get(label, 'p99Ms'))),
    String(get(label, 'lost').reduce((s, x) => s + (x || 0), 0)),
  ]);

  const notes = [];
  rounds.forEach((r, i) => {
    for (const label of LABELS) {
      const x = r[label];
      if (!x) continue;
      if (x.error) {
        notes.push(`round ${i + 1}, ${label} FAILED: ${x.error.split('\n')[0].slice(0, 300)}`);
        continue;
      }
      if (x.lost) notes.push(`round ${i + 1}, ${label}: ${x.lost} of ${x.expected} deliveries missing after the wait`);
      if (x.sendErrors) notes.push(`round ${i + 1}, ${label}: ${x.sendErrors} send error(s): ${x.firstSendError}`);
      if (x.achievedSendRate < 0.9 * x.offeredRate)
        notes.push(
          `round ${i + 1}, ${label}: the sender reached ${fmt.int(x.achievedSendRate)} of ${fmt.int(x.offeredRate)} msgs/s offered (sender-bound)`,
        );
      if (x.senderCorePercent > 90)
        notes.push(`round ${i + 1}, ${label}: the sender used ${Math.round(x.senderCorePercent)} % of a core`);
      if (x.generatorCpu.saturated)
        notes.push(`round ${i + 1}, ${label}: a load generator used over 90 % of a core (more BENCH_GENERATORS)`);
      if (x.directory && x.directory.fallbacks)
        notes.push(
          `round ${i + 1}, K: ${x.directory.fallbacks} send(s) fell back to the full mesh (directory read failed or over budget)`,
        );
    }
  });
  for (const label of LABELS)
    if (receivers[label].failed)
      notes.push(
        `${label}: ${receivers[label].failed} receiving connection(s) failed to open: ${receivers[label].firstError}`,
      );
  notes.push(
    `${config.backplaneConnections} receivers per target over ${gateways} gateways (uid u<k> per receiver), ${config.pushBytes}-byte payloads, ` +
      `sendToUid to a uid spread over all of them at ${config.backplaneRate} msgs/s for ${config.backplaneDurationMs} ms per target and round; ` +
      `${generators} generator process(es). Every target runs all the time (each one's processes idle while another is measured).`,
    'Gateway CPU: /proc user+system of all gateway processes together over the push phase (including the wait for the last delivery), per send; ' +
      '"idle" is the same sum over the idle phase before it, in ms per second (background: timers, heartbeats, K\'s lease renewals). ' +
      'Sender CPU: the sending process (an SDK GatewayClient; K also reads the directory) per send. "other" = register + worker. ' +
      "Latency: from the stamp written right before the sendToUid call to the client's receipt (same CLOCK_MONOTONIC).",
    'Directory (K): reads answered / fallbacks to the mesh / calls sent to fewer gateways than listed, during the push.',
  );

  const tg = (r, label) => (r.together && !r.together.error ? r.together[label] : null);
  const lost = rounds.map(
    (r) =>
      LABELS.reduce((s, l) => s + (ok(r, l) ? ok(r, l).lost : NaN), 0) +
      (r.together && !r.together.error ? Object.values(r.together).reduce((s, x) => s + x.lost, 0) : NaN),
  );
  const togetherRatio = (key, base = 'C') =>
    rounds.map((r) => ratio(tg(r, 'K') && tg(r, 'K')[key], tg(r, base) && tg(r, base)[key]));
  const togetherRows = rounds.map((r, i) => {
    if (!r.together || r.together.error) return [`${i + 1}`, 'FAILED', '', '', '', '', '', '', ''];
    const c = tg(r, 'C');
    const k = tg(r, 'K');
    return [
      `${i + 1}`,
      `${c.delivered} of ${c.expected} / ${k.delivered} of ${k.expected}`,
      fmt.ms(c.p50Ms),
      fmt.ms(c.p99Ms),
      fmt.ms(k.p50Ms),
      fmt.ms(k.p99Ms),
      fmt.x(ratio(k.p99Ms, c.p99Ms)),
      `${fmt.int(c.senderMaxLagMs)} / ${fmt.int(k.senderMaxLagMs)}`,
      k.directory ? `${fmt.int(k.directory.reads)} / ${fmt.int(k.directory.fallbacks)}` : 'n/a',
    ];
  });
  rounds.forEach((r, i) => {
    if (r.together && r.together.error)
      notes.push(`round ${i + 1}, C and K at once FAILED: ${r.together.error.split('\n')[0].slice(0, 300)}`);
  });
  const perRoundRatio = (key, a = 'K', b = 'C') =>
    rounds.map((r) => ratio(ok(r, a) && ok(r, a)[key], ok(r, b) && ok(r, b)[key]));
  const info = (label, key) => ({ ...verdict(label, get('K', key), 'info'), unit: 'us' });
  const verdicts = [
    {
      label: 'backplane: deliveries lost (every target, turn by turn and at once), per round',
      perRound: lost,
      median: median(lost),
      target: '== 0',
      pass: lost.every((x) => x === 0),
      unit: 'count',
    },
    verdict(
      `backplane sendToUid, ${gateways} gateways: K/C gateway CPU per send`,
      perRoundRatio('gatewayUsPerSend'),
      '<=',
      GOAL_CPU,
    ),
    verdict(
      `backplane sendToUid, ${gateways} gateways: K/C p99 delivery latency`,
      perRoundRatio('p99Ms'),
      '<=',
      GOAL_P99,
    ),
    verdict('backplane sendToUid: K/C p50 delivery latency', perRoundRatio('p50Ms'), 'info'),
    verdict(
      `backplane sendToUid, ${gateways} gateways: K/C p99 delivery latency, C and K sending at the same time`,
      togetherRatio('p99Ms'),
      '<=',
      GOAL_P99,
    ),
    verdict('backplane sendToUid: K/C p50 delivery latency, at the same time', togetherRatio('p50Ms'), 'info'),
    ...(BASE_ROOT
      ? [
          verdict('backplane sendToUid: K/K0 p50 latency, at the same time', togetherRatio('p50Ms', 'K0'), 'info'),
          verdict('backplane sendToUid: K/K0 p99 latency, at the same time', togetherRatio('p99Ms', 'K0'), 'info'),
        ]
      : []),
    verdict(
      'backplane sendToUid: R/C CPU per send (the floor: bare ws routers vs the mesh)',
      perRoundRatio('gatewayUsPerSend', 'R', 'C'),
      'info',
    ),
    verdict(
      'backplane sendToUid: K/R gateway CPU per send (K over the floor)',
      perRoundRatio('gatewayUsPerSend', 'K', 'R'),
      'info',
    ),
    verdict('backplane sendToUid: K/C sender CPU per send', perRoundRatio('senderUsPerSend'), 'info'),
    ...(BASE_ROOT
      ? [
          verdict(
            'backplane sendToUid: K/K0 gateway CPU per send (this build / the saved one)',
            perRoundRatio('gatewayUsPerSend', 'K', 'K0'),
            'info',
          ),
          verdict('backplane sendToUid: K/K0 sender CPU per send', perRoundRatio('senderUsPerSend', 'K', 'K0'), 'info'),
          verdict('backplane sendToUid: K/K0 redis CPU per send', perRoundRatio('redisUsPerSend', 'K', 'K0'), 'info'),
          verdict('backplane sendToUid: K/K0 p50 latency', perRoundRatio('p50Ms', 'K', 'K0'), 'info'),
          verdict('backplane sendToUid: K/K0 p99 latency', perRoundRatio('p99Ms', 'K', 'K0'), 'info'),
        ]
      : []),
    info('backplane sendToUid: K redis-server CPU µs per send', 'redisUsPerSend'),
  ];
  return {
    tables: [
      {
        caption: `sendToUid at ${config.backplaneRate} msgs/s, medians over ${rounds.length} rounds`,
        header: [
          'target',
          'gateways CPU µs / send',
          'gateways idle CPU ms / s',
          'redis CPU µs / send',
          'sender CPU µs / send',
          'p50 ms',
          'p99 ms',
          'lost',
        ],
        rows: summary,
      },
      {
        caption: 'per round (the targets take turns; the order rotates every round)',
        header: [
          'round',
          'target',
          'sent',
          'delivered',
          'gateways µs / send',
          'of it in the kernel',
          'gateways idle ms / s',
          'redis µs / send',
          'sender µs / send',
          'other µs / send',
          'p50 ms',
          'p99 ms',
          'generator CPU',
          'directory reads / fallbacks / narrowed',
        ],
        rows: perRound,
      },
      {
        caption:
          'latency with C and K sending at the same time (each its own rate, from its own sender): both see the same machine',
        header: [
          'round',
          'delivered C / K',
          'C p50 ms',
          'C p99 ms',
          'K p50 ms',
          'K p99 ms',
          'K/C p99',
          'sender max lag ms C / K',
          'K directory reads / fallbacks',
        ],
        rows: togetherRows,
      },
    ],
    verdicts,
    notes,
    data: { rounds },
  };
}

module.exports = {
  id: 'backplane',
  title: '7. Redis backplane: sendToUid targeted vs the full mesh (BENCH_BACKPLANE_GATEWAYS gateways, default 8)',
  run,
};
