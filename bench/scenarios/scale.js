'use strict';
/**
 * Scenario 8: scale. BENCH_SCALE_CONNECTIONS (100 000) idle WebSocket connections held by each target in turn,
 * split over several server processes because one process may hold only about its open-files limit:
 *
 *   F    the bare ws reference: servers/ws-broadcast-server.js corked per turn (the fair frame-once broadcast),
 *        `processes` processes; it is also the bare ws side of the connect-rate and memory rows
 *   C    our cluster: register + `processes` gateways + one example worker, heartbeat on with the gateway's
 *        defaults (GATEWAY_PING_INTERVAL 25 s, limit 2, WebSocket pings)
 *   Coff the same cluster with GATEWAY_PING_INTERVAL=0 (heartbeat off): only the echo probe's reference
 *
 * The benchmark does not raise any limit: `processes` = ceil(N / (what one gateway takes with
 * GATEWAY_MAX_CONNECTIONS unlimited: `ulimit -n` minus the gateway's reserve, minus a margin)), the same count
 * for F. The connections come from several load-generator processes (each holds at most the open-files limit
 * minus a margin), each connecting from a loopback source address of its own (127.a.b.c, a new one for every
 * target and round, so no two phases share ephemeral ports or meet each other's TIME_WAIT) to every server
 * port in turn.
 *
 * Per target and round, on freshly started processes: RSS and heap+external after a full GC with no client;
 * open N (connect rate = N / wall time from the first handshake started to the last one done, and the servers'
 * CPU per handshake); RSS and heap+external again (per connection: the difference / N, all holding processes
 * summed); C and Coff: an echo probe (its own generator, BENCH_SCALE_PROBE_CONNECTIONS x 1 x 64 B for
 * BENCH_SCALE_PROBE_MS) with the N connections held, counting the heartbeat pings the idle connections get
 * meanwhile; F and C: BENCH_SCALE_BURSTS bursts of BENCH_SCALE_BURST sendToAll of 256 B (C: the SDK's
 * GatewayClient in the sender process, to every gateway; F: one control message to each process) with
 * deliveries/s = deliveries / (last delivery - first send), as in scenario 2. Every table shows the generators'
 * own CPU.
 */
const {
  withTargets,
  startGenerators,
  startSender,
  splitCount,
  cpuSnapshot,
  cpuSince,
  generatorCpu,
  echoRound,
  ratio,
  verdict,
  median,
  percentileOfSparse,
  log,
  sleep,
  assertRunning,
  roundOrder,
} = require('../harness');
const { collectGarbage, rssKiB, stopProcess } = require('../processes');
const { mergeSparse } = require('../histogram');
const { fmt } = require('../format');
const { mdTable } = require('../report');
const { sendBurst } = require('./broadcast');
const path = require('node:path');
const fs = require('node:fs');

// A full-size run takes long on a busy machine: after every target and round, the tables so far are written here, so
// an interrupted run still leaves what it measured.
const PARTIAL = path.join(__dirname, '..', 'results', 'scale-partial.md');

const LABELS = ['F', 'C', 'Coff'];
const NAMES = {
  F: 'bare ws (frame-once broadcast server, corked per turn)',
  C: 'cluster, heartbeat on (defaults: 25 s, limit 2)',
  Coff: 'cluster, heartbeat off (GATEWAY_PING_INTERVAL=0)',
};
const SPECS = {
  F: (n) => ({ key: 'F', label: 'F', opts: { servers: n } }),
  C: (n) => ({ key: 'C', label: 'C', opts: { gateways: n } }),
  Coff: (n) => ({ key: 'C', label: 'Coff', opts: { gateways: n, gatewayEnv: { GATEWAY_PING_INTERVAL: '0' } } }),
};
const BROADCAST_BYTES = 256;
const PROBE_BYTES = 64;
const PROCESS_MARGIN = 200; // descriptors a gateway keeps besides clients and its reserve (links, listeners, files)
const GC_SETTLE_MS = 300;

/** What the gateway keeps from clients out of its open-files limit when GATEWAY_MAX_CONNECTIONS is unlimited. */
function gatewayReserve(limit) {
  return Math.min(1024, Math.max(64, Math.floor(limit * 0.1))); // descriptor-budget.ts
}

/** Server processes per target, generators, and why. */
function layout(config) {
  const n = config.scaleConnections;
  const limit = config.openFilesLimit || 20_000;
  const perGateway = Math.max(100, limit - gatewayReserve(limit) - PROCESS_MARGIN);
  const processes = config.scaleProcesses || Math.max(1, Math.ceil(n / perGateway));
  const byDescriptors = Math.ceil(n / config.connectionsPerProcess);
  const generators = Math.max(config.scaleGenerators || config.generators || 0, byDescriptors, 2);
  return { n, limit, perGateway, processes, generators };
}

const PER_SOURCE_ADDRESS = 2_000; // connections per loopback source address (the kernel's port search slows as they fill)
let phase = 0;
/**
 * Loopback source addresses no earlier phase of this run used, `per` of them for each generator:
 * 127.<1 + phase / 256>.<phase % 256>.<generator * per + k + 1>.
 */
function sourceAddresses(phaseNo, generator, per) {
  const prefix = `127.${1 + (Math.floor(phaseNo / 256) % 254)}.${phaseNo % 256}`;
  return Array.from({ length: per }, (_, k) => `${prefix}.${((generator * per + k) % 254) + 1}`);
}

async function readMemory(target) {
  const procs = [...target.memoryProcs, ...target.infoProcs];
  for (const p of procs) await collectGarbage(p);
  await sleep(GC_SETTLE_MS);
  for (const p of procs) await collectGarbage(p); // a second pass: what the first one's settling released
  const sum = (list, f) => list.reduce((s, p) => s + f(p), 0);
  return {
    rssKiB: sum(target.memoryProcs, (p) => rssKiB(p.child.pid)),
    heapKiB: sum(target.memoryProcs, (p) => (p.heapBytes == null ? NaN : p.heapBytes / 1024)),
    infoRssKiB: sum(target.infoProcs, (p) => rssKiB(p.child.pid)),
  };
}

async function openAll(pool, target, n) {
  const counts = splitCount(n, pool.gens.length);
  const thisPhase = ++phase;
  const per = Math.max(1, Math.min(Math.floor(254 / pool.gens.length), Math.ceil(counts[0] / PER_SOURCE_ADDRESS)));
  const from = counts.map((_, i) => sourceAddresses(thisPhase, i, per));
  const before = cpuSnapshot(target.procs);
  const t0 = Date.now();
  const parts = await pool.all((g, i) =>
    counts[i]
      ? g.request(
          { cmd: 'listen', urls: target.urls, count: counts[i], localAddress: from[i] },
          300_000 + counts[i] * 100, // handshakes ran at 200-1 200/s on the busy 2-core machine
        )
      : { opened: 0, failed: 0, cpu: null },
  );
  const wallMs = Date.now() - t0;
  const opened = parts.reduce((s, p) => s + p.opened, 0);
  const processes = cpuSince(target.procs, before, opened);
  return {
    requested: n,
    opened,
    failed: parts.reduce((s, p) => s + p.failed, 0),
    firstError: parts.map((p) => p.firstError).find(Boolean) || null,
    wallMs,
    handshakesPerSec: opened > 0 ? opened / (wallMs / 1000) : null,
    serverCpuUsPerHandshake: opened > 0 ? (processes.reduce((s, p) => s + p.cpuMs, 0) * 1000) / opened : null,
    processes,
    generatorCpu: generatorCpu(parts.map((p) => p.cpu)),
    sourceAddresses: from.flat(),
  };
}

async function pings(pool) {
  const parts = await pool.all((g) => g.request({ cmd: 'count', tag: '-' }, 10_000));
  return {
    pings: parts.reduce((s, p) => s + p.pings, 0),
    open: parts.reduce((s, p) => s + p.open, 0),
  };
}

async function probe(config, pool, target) {
  const prober = startGenerators(1);
  try {
    await pool.all((g) => g.request({ cmd: 'cpu-mark' }, 10_000));
    const before = await pings(pool);
    const r = await echoRound(
      prober,
      target,
      'raw',
      { connections: config.scaleProbeConnections, window: 1, payloadBytes: PROBE_BYTES },
      { warmupMs: config.smoke ? 100 : 1_000, durationMs: config.scaleProbeMs },
    );
    const after = await pings(pool);
    const idleGens = await pool.all((g) => g.request({ cmd: 'cpu-since' }, 10_000));
    return {
      msgsPerSec: r.msgsPerSec,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      connectFailed: r.connectFailed,
      badEchoes: r.badEchoes,
      closedEarly: r.closedEarly,
      probeGeneratorCpu: r.generatorCpu,
      idleGeneratorCpu: generatorCpu(idleGens),
      pingsDuringProbe: after.pings - before.pings,
      heldOpen: after.open,
    };
  } finally {
    await prober.stop();
  }
}

async function broadcast(config, pool, target, layoutInfo, receivers, tagBase) {
  const sender = startSender();
  try {
    if (target.key === 'C') {
      await sender.request(
        {
          cmd: 'init',
          backend: 'cluster',
          registerAddress: target.registerAddress,
          secretKey: target.secretKey,
          plaintext: target.plaintext,
          gateways: layoutInfo.processes,
        },
        60_000,
      );
    } else {
      await sender.request({ cmd: 'init', backend: 'ws', controlUrls: target.controlUrls }, 60_000);
    }
    const before = cpuSnapshot(target.procs);
    await pool.all((g) => g.request({ cmd: 'cpu-mark' }, 10_000));
    const bursts = [];
    const senderCpu = [];
    let deliveredTotal = 0;
    for (let b = 0; b < config.scaleBursts; b++) {
      const burst = await sendBurst(sender, pool, {
        tag: `${tagBase}b${b}`,
        count: config.scaleBurst,
        bytes: BROADCAST_BYTES,
        receivers,
        waitMs: (expected) => 30_000 + expected / 50,
      });
      senderCpu.push(burst.senderCpu);
      deliveredTotal += burst.delivered;
      bursts.push(burst.row);
      await sleep(config.smoke ? 50 : 500); // the next burst starts on quiet sockets
    }
    assertRunning(target.procs, 'the broadcast');
    const gens = await pool.all((g) => g.request({ cmd: 'cpu-since' }, 10_000));
    const hist = mergeSparse(bursts.map((b) => b.hist));
    const processes = cpuSince(target.procs, before, deliveredTotal);
    return {
      bursts: bursts.map(({ hist: _h, ...rest }) => rest),
      deliveriesPerSec: median(bursts.map((b) => b.deliveriesPerSec)),
      p50Ms: percentileOfSparse(hist, 0.5),
      p99Ms: percentileOfSparse(hist, 0.99),
      lost: bursts.reduce((s, b) => s + b.lost, 0),
      serverCpuSecPerMillion: deliveredTotal
        ? processes.reduce((s, p) => s + p.cpuMs, 0) / 1000 / (deliveredTotal / 1e6)
        : null,
      generatorCpu: generatorCpu(gens),
      senderCorePercent: median(senderCpu),
    };
  } finally {
    await stopProcess(sender.child);
  }
}

/** One target, one round, on freshly started processes. */
async function measureTarget(config, lay, label, round) {
  return withTargets([SPECS[label](lay.processes)], async (started) => {
    const target = started[label];
    const pool = startGenerators(lay.generators);
    try {
      const base = await readMemory(target);
      log(`scale ${label}, round ${round}: opening ${lay.n} connections (${lay.generators} generators)`);
      const connect = await openAll(pool, target, lay.n);
      log(
        `scale ${label}, round ${round}: ${connect.opened} open in ${(connect.wallMs / 1000).toFixed(1)} s` +
          (connect.failed ? `, ${connect.failed} failed: ${connect.firstError}` : ''),
      );
      if (connect.opened === 0) throw new Error(`no connection opened: ${connect.firstError}`);
      assertRunning(target.procs, 'the connect phase');
      await sleep(config.smoke ? 200 : 2_000); // handshakes' garbage and the worker's connect events settle
      await pool.all((g) => g.request({ cmd: 'cpu-mark' }, 10_000));
      const held = await readMemory(target);
      const heldGens = await pool.all((g) => g.request({ cmd: 'cpu-since' }, 10_000));
      const per = (a, b) => (connect.opened > 0 ? (b - a) / connect.opened : null);
      const memory = {
        baseRssKiB: base.rssKiB,
        rssKiBPerConnection: per(base.rssKiB, held.rssKiB),
        heapKiBPerConnection: Number.isFinite(held.heapKiB) ? per(base.heapKiB, held.heapKiB) : null,
        infoKiBPerConnection: target.infoProcs.length ? per(base.infoRssKiB, held.infoRssKiB) : null,
        generatorCpu: generatorCpu(heldGens),
      };
      const out = { connect, memory };
      if (label !== 'F') {
        log(`scale ${label}, round ${round}: echo probe for ${config.scaleProbeMs} ms`);
        out.probe = await probe(config, pool, target);
      }
      if (label !== 'Coff') {
        log(`scale ${label}, round ${round}: sendToAll to ${connect.opened}`);
        out.broadcast = await broadcast(config, pool, target, lay, connect.opened, `${label}${round}`);
      }
      const still = await pings(pool);
      out.droppedBeforeEnd = connect.opened - still.open;
      assertRunning(target.procs, 'the scale phases');
      return out;
    } finally {
      await pool.all((g) => g.request({ cmd: 'close-listen' }, 60_000)).catch(() => undefined);
      await pool.stop();
    }
  });
}

async function run(config) {
  const lay = layout(config);
  log(
    `scale: ${lay.n} connections per target, ${lay.processes} server process(es) per target, ${lay.generators} generators`,
  );
  const rounds = [];
  for (let round = 1; round <= config.rounds; round++) {
    const row = {};
    for (const label of roundOrder(LABELS, round)) {
      try {
        row[label] = await measureTarget(config, lay, label, round);
      } catch (err) {
        row[label] = { error: err.message };
        log(`scale ${label} failed: ${err.message}`);
      }
      writePartial(config, lay, [...rounds, row], `round ${round}, ${label} done`);
    }
    rounds.push(row);
  }
  return summarize(config, lay, rounds);
}

function writePartial(config, lay, rounds, progress) {
  try {
    const s = summarize(config, lay, rounds);
    let out = `# scale scenario, partial (${progress}; ${new Date().toISOString()})\n\n`;
    out += mdTable(
      ['measure', 'per round', 'median', 'goal'],
      s.verdicts.map((v) => [v.label, v.perRound.map(fmt.x).join(' / '), fmt.x(v.median), v.target]),
    );
    for (const t of s.tables) out += `\n${t.caption}\n\n${mdTable(t.header, t.rows)}`;
    out += `\n${s.notes.map((n) => `- ${n}`).join('\n')}\n`;
    fs.mkdirSync(path.dirname(PARTIAL), { recursive: true });
    fs.writeFileSync(PARTIAL, out);
    fs.writeFileSync(PARTIAL.replace(/\.md$/, '.json'), JSON.stringify({ layout: lay, rounds }, null, 2) + '\n');
  } catch (err) {
    log(`scale: could not write ${PARTIAL}: ${err.message}`);
  }
}

function summarize(config, lay, rounds) {
  const ok = (label) => rounds.map((r) => (r[label] && !r[label].error ? r[label] : null));
  const get = (label, f) => ok(label).map((x) => (x ? f(x) : null));
  const gen = (label, f) => {
    const list = ok(label).filter(Boolean).map(f).filter(Boolean);
    const text = list.map((g) => g.perGenerator.map(fmt.pct).join('+')).join(' / ');
    return `${text || 'n/a'}${list.some((g) => g.saturated) ? ' SATURATED' : ''}`;
  };
  const perRound = (num, den, f) =>
    rounds.map((r) => ratio(r[num] && !r[num].error ? f(r[num]) : null, r[den] && !r[den].error ? f(r[den]) : null));
  const tag = `scale ${lay.n}`;

  const connectRows = LABELS.map((label) => [
    `${label} ${NAMES[label]}`,
    String(lay.processes),
    get(label, (x) => `${x.connect.opened}${x.connect.failed ? ` (${x.connect.failed} failed)` : ''}`)
      .map((x) => x || 'n/a')
      .join(' / '),
    fmt.int(median(get(label, (x) => x.connect.handshakesPerSec))),
    get(label, (x) => x.connect.handshakesPerSec)
      .map(fmt.int)
      .join(' / '),
    fmt.num(median(get(label, (x) => x.connect.serverCpuUsPerHandshake))),
    gen(label, (x) => x.connect.generatorCpu),
  ]);
  const memoryRows = LABELS.map((label) => [
    `${label} ${NAMES[label]}${label === 'F' ? '' : ' (gateways summed)'}`,
    fmt.kib(median(get(label, (x) => x.memory.rssKiBPerConnection))),
    get(label, (x) => x.memory.rssKiBPerConnection)
      .map(fmt.kib)
      .join(' / '),
    fmt.kib(median(get(label, (x) => x.memory.heapKiBPerConnection))),
    get(label, (x) => x.memory.heapKiBPerConnection)
      .map(fmt.kib)
      .join(' / '),
    fmt.mib(median(get(label, (x) => x.memory.baseRssKiB))),
    label === 'F' ? '' : fmt.kib(median(get(label, (x) => x.memory.infoKiBPerConnection))),
    gen(label, (x) => x.memory.generatorCpu),
  ]);
  const broadcastRows = ['F', 'C'].map((label) => [
    `${label} ${NAMES[label]}`,
    fmt.int(median(get(label, (x) => x.broadcast && x.broadcast.deliveriesPerSec))),
    get(label, (x) => x.broadcast && x.broadcast.deliveriesPerSec)
      .map(fmt.int)
      .join(' / '),
    fmt.ms(median(get(label, (x) => x.broadcast && x.broadcast.p50Ms))),
    fmt.ms(median(get(label, (x) => x.broadcast && x.broadcast.p99Ms))),
    String(get(label, (x) => x.broadcast && x.broadcast.lost).reduce((s, v) => s + (v || 0), 0)),
    fmt.num(median(get(label, (x) => x.broadcast && x.broadcast.serverCpuSecPerMillion))),
    gen(label, (x) => x.broadcast && x.broadcast.generatorCpu),
    fmt.pct(median(get(label, (x) => x.broadcast && x.broadcast.senderCorePercent))),
  ]);
  const probeRows = ['C', 'Coff'].map((label) => [
    `${label} ${NAMES[label]}`,
    fmt.int(median(get(label, (x) => x.probe && x.probe.msgsPerSec))),
    fmt.ms(median(get(label, (x) => x.probe && x.probe.p50Ms))),
    fmt.ms(median(get(label, (x) => x.probe && x.probe.p99Ms))),
    get(label, (x) => x.probe && x.probe.p99Ms)
      .map(fmt.ms)
      .join(' / '),
    get(label, (x) => x.probe && x.probe.pingsDuringProbe)
      .map((v) => (v == null ? 'n/a' : String(v)))
      .join(' / '),
    gen(label, (x) => x.probe && x.probe.probeGeneratorCpu),
    gen(label, (x) => x.probe && x.probe.idleGeneratorCpu),
  ]);

  const verdicts = [
    verdict(
      `${tag}: C/F connect rate (handshakes/s)`,
      perRound('C', 'F', (x) => x.connect.handshakesPerSec),
      '>=',
      0.8,
    ),
    verdict(
      `${tag}: C/F RSS KiB per connection (gateways summed)`,
      perRound('C', 'F', (x) => x.memory.rssKiBPerConnection),
      '<=',
      1.25,
    ),
    verdict(
      `${tag}: C/F heap+external KiB per connection`,
      perRound('C', 'F', (x) => x.memory.heapKiBPerConnection),
      '<=',
      1.25,
    ),
    verdict(
      `${tag}: C/F sendToAll ${BROADCAST_BYTES} B deliveries/s`,
      perRound('C', 'F', (x) => x.broadcast && x.broadcast.deliveriesPerSec),
      '>=',
      0.9,
    ),
    verdict(
      `${tag}: echo probe p99, heartbeat on/off (C/Coff)`,
      perRound('C', 'Coff', (x) => x.probe && x.probe.p99Ms),
      'info',
    ),
  ];

  const notes = [];
  rounds.forEach((r, i) => {
    for (const label of LABELS) {
      const x = r[label];
      if (!x) continue;
      if (x.error) {
        notes.push(`round ${i + 1}, ${label} FAILED: ${x.error.split('\n')[0].slice(0, 300)}`);
        continue;
      }
      if (x.connect.failed)
        notes.push(
          `round ${i + 1}, ${label}: ${x.connect.failed} of ${x.connect.requested} connections failed to open (${x.connect.firstError})`,
        );
      if (x.droppedBeforeEnd)
        notes.push(`round ${i + 1}, ${label}: ${x.droppedBeforeEnd} connection(s) closed by the server before the end`);
      if (x.broadcast && x.broadcast.lost)
        notes.push(`round ${i + 1}, ${label}: ${x.broadcast.lost} sendToAll deliveries missing after the wait`);
      if (x.probe && (x.probe.connectFailed || x.probe.badEchoes || x.probe.closedEarly))
        notes.push(
          `round ${i + 1}, ${label}: echo probe: ${x.probe.connectFailed} failed to open, ${x.probe.badEchoes} bad echoes, ${x.probe.closedEarly} closed early`,
        );
      const saturated = [
        ['connect', x.connect.generatorCpu],
        ['sendToAll', x.broadcast && x.broadcast.generatorCpu],
        ['probe', x.probe && x.probe.probeGeneratorCpu],
      ].filter(([, g]) => g && g.saturated);
      if (saturated.length)
        notes.push(
          `round ${i + 1}, ${label}: a generator used over 90 % of a core during ${saturated.map(([n]) => n).join(', ')}: that rate may be the generators' limit`,
        );
    }
  });
  const firstOk = LABELS.map((l) => ok(l).find(Boolean)).find(Boolean);
  notes.push(
    `Layout: ${lay.processes} server process(es) per target (C: gateways; one gateway with GATEWAY_MAX_CONNECTIONS unlimited takes the open-files limit ${lay.limit} minus its reserve of ${gatewayReserve(lay.limit)}; ${lay.perGateway} per process planned with a margin; no limit is raised), ` +
      `${lay.generators} load-generator processes for the held connections, each from loopback source addresses of its own (at most ${PER_SOURCE_ADDRESS} connections per address, new ones for every target and round${firstOk ? `: ${firstOk.connect.sourceAddresses.length} addresses, e.g. ${firstOk.connect.sourceAddresses.slice(0, 3).join(', ')}` : ''}) to every server port in turn, ${100} handshakes in flight per generator; 1 more generator for the echo probe.`,
    "Every target and round starts fresh processes. Connect rate: connections opened / wall time from the first handshake started to the last done; server CPU µs per handshake: all the target's processes (C: register, gateways, worker, which gets every connect event).",
    "Memory: (RSS after a full GC with N held - the same with none) / N, summed over the processes holding sockets (C: gateways; the worker's growth is shown apart); heap+ext: the same for heapUsed + external. F holds its clients in a Set and adds a close listener, a few dozen bytes more than a bare echo server.",
    `sendToAll: ${config.scaleBursts} burst(s) of ${config.scaleBurst} x ${BROADCAST_BYTES} B per target and round; deliveries/s = median over bursts of deliveries / (last delivery - first send). C: GatewayClient.sendToAll from the sender process (one command per gateway); F: a control message to each F process.`,
    `Echo probe: ${config.scaleProbeConnections} connection(s) x 1 in flight x ${PROBE_BYTES} B for ${config.scaleProbeMs} ms (own generator) while the N connections are held; "heartbeat pings" counts the WebSocket pings the held connections received meanwhile (the ws client answers each with a pong). With the defaults a connection is pinged 25-37.5 s after its last activity and every 25 s after, so a probe shorter than ~25 s after the connect phase may see few.`,
  );

  return {
    tables: [
      {
        caption: `connect rate: ${lay.n} connections per target`,
        header: [
          'target',
          'server processes',
          'opened per round',
          'handshakes/s (median)',
          'per round',
          'server CPU µs / handshake',
          'generator CPU per round',
        ],
        rows: connectRows,
      },
      {
        caption: `memory per connection with ${lay.n} held`,
        header: [
          'target',
          'RSS KiB/conn (median)',
          'per round',
          'heap+ext KiB/conn (median)',
          'per round',
          'base RSS MiB',
          'worker KiB/conn (info)',
          'generator CPU while read',
        ],
        rows: memoryRows,
      },
      {
        caption: `sendToAll ${BROADCAST_BYTES} B to ${lay.n} connections`,
        header: [
          'target',
          'deliveries/s (median)',
          'per round',
          'p50 ms',
          'p99 ms',
          'lost',
          'server CPU s / M deliveries',
          'generator CPU per round',
          'sender CPU',
        ],
        rows: broadcastRows,
      },
      {
        caption: `echo probe with ${lay.n} idle connections held`,
        header: [
          'target',
          'msgs/s',
          'p50 ms',
          'p99 ms (median)',
          'p99 per round',
          'heartbeat pings during probe',
          'probe generator CPU',
          'idle generators CPU',
        ],
        rows: probeRows,
      },
    ],
    verdicts,
    notes,
    data: { layout: lay, rounds },
  };
}

module.exports = {
  id: 'scale',
  title: '8. Scale: idle connections over several processes, heartbeat, sendToAll to all',
  run,
};
