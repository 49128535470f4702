'use strict';
/**
 * Shared machinery of the scenarios: starting and stopping a scenario's targets, the load-generator pool
 * (several processes when one would saturate a core or run out of descriptors), per-process CPU accounting,
 * the idle-memory measurement, the echo measurement, ratios and medians.
 */
const path = require('node:path');
const {
  startLoadGenerator,
  stopProcess,
  collectGarbage,
  rssKiB,
  cpuMs,
  isRunning,
  runQueueWaitMs,
} = require('./processes');
const { startTarget, TARGETS } = require('./targets');
const { mergeSparse, percentileOfSparse } = require('./histogram');

const LOAD_GENERATOR = path.join(__dirname, 'load-generator.js');
const SENDER = path.join(__dirname, 'sender.js');
const SATURATED_PERCENT = 90;
const GC_SETTLE_MS = 200;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const T0 = Date.now();
const log = (msg) => process.stderr.write(`bench +${((Date.now() - T0) / 1000).toFixed(1)}s: ${msg}\n`);

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function ratio(a, b) {
  if (typeof a !== 'number' || typeof b !== 'number' || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0)
    return null;
  return a / b;
}

/** A verdict on the median of per-round ratios: op is '>=' or '<=', or 'info' (reported, no goal). */
function verdict(label, perRound, op, threshold) {
  const m = median(perRound);
  if (op === 'info') return { label, perRound, median: m, target: 'none (information)', pass: null, info: true };
  const pass = m === null ? null : op === '>=' ? m >= threshold : m <= threshold;
  return { label, perRound, median: m, target: `${op} ${threshold}`, pass };
}

function splitCount(total, parts) {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** Load generators needed for `connections`: BENCH_GENERATORS, or enough that none holds too many. */
function generatorCount(config, connections) {
  const byDescriptors = Math.ceil(connections / config.connectionsPerProcess);
  if (config.generators) return Math.max(config.generators, byDescriptors);
  return Math.max(1, Math.ceil(connections / config.connectionsPerGenerator), byDescriptors);
}

/** n load-generator processes; `all(fn)` runs fn(gen, i) on each at once and returns the results in order. */
function startGenerators(n) {
  const gens = Array.from({ length: n }, (_, i) =>
    startLoadGenerator(LOAD_GENERATOR, n > 1 ? `load-generator#${i + 1}` : 'load-generator'),
  );
  return {
    gens,
    all: (fn) => Promise.all(gens.map((g, i) => fn(g, i))),
    stop: () => Promise.all(gens.map((g) => stopProcess(g.child))),
  };
}

function startSender() {
  return startLoadGenerator(SENDER, 'sender');
}

/** Generator CPU figures ({ corePercent } each) -> a summary with the saturated ones flagged. */
function generatorCpu(list) {
  const percents = list.map((c) => (c && typeof c.corePercent === 'number' ? c.corePercent : null));
  return { perGenerator: percents, saturated: percents.some((p) => p !== null && p > SATURATED_PERCENT) };
}

/**
 * Starts the given targets (specs: [{ key, label?, opts }]) one after another, runs fn(started) where
 * started[label] is each target's { urls, procs, ... }, and stops every process in the end, whatever happens.
 */
async function withTargets(specs, fn) {
  const procs = [];
  const started = {};
  try {
    // All targets start at once (their start-up is not measured); allSettled, so that a failure still lets
    // every process that did start be handed over and stopped below.
    const outcomes = await Promise.allSettled(
      specs.map(async (spec) => {
        const label = spec.label || spec.key;
        log(`starting ${label} (${TARGETS[spec.key].name}${spec.opts && spec.opts.plaintext ? ', plaintext' : ''})`);
        started[label] = await startTarget(spec.key, spec.opts || {}, (p) => procs.push(p));
      }),
    );
    const failed = outcomes.find((o) => o.status === 'rejected');
    if (failed) throw failed.reason;
    await sleep(500); // start-up garbage and lazy initialisation settle
    return await fn(started);
  } finally {
    for (const p of [...procs].reverse()) await stopProcess(p.child);
  }
}

function assertRunning(procs, phase) {
  const dead = procs.filter((p) => !isRunning(p.child));
  if (dead.length) {
    const p = dead[0];
    throw new Error(
      `${p.name} (pid ${p.child.pid}) exited during ${phase} (code ${p.child.exitCode}, signal ${p.child.signalCode}); last output:\n  ${p.lines.join('\n  ')}`,
    );
  }
}

/**
 * The order in which the targets of a scenario take their turns in `round` (from 1): as listed in odd rounds,
 * reversed in even ones. No target then always runs first or last, and a drift of the machine within a round (a
 * load generator that has worked longer, a neighbour's load) weighs on every pair of targets once in each
 * direction over two rounds instead of always against the later one.
 */
function roundOrder(targets, round) {
  return round % 2 === 1 ? targets : [...targets].reverse();
}

function cpuSnapshot(procs) {
  return procs.map((p) => (isRunning(p.child) ? cpuMs(p.child.pid) : 0));
}

/** Each process's run-queue wait so far in ms (null where unknown or not running). */
function waitSnapshot(procs) {
  return procs.map((p) => (isRunning(p.child) ? runQueueWaitMs(p.child.pid) : null));
}

/** Per-process CPU since `before`, with CPU seconds per million `units` (messages, deliveries). */
function cpuSince(procs, before, units) {
  return procs.map((p, i) => {
    const ms = (isRunning(p.child) ? cpuMs(p.child.pid) : 0) - before[i];
    return { name: p.name, cpuMs: ms, cpuSecPerMillion: units > 0 ? ms / 1000 / (units / 1e6) : null };
  });
}

/**
 * One echo measurement: `connections` spread over the generators and over started.urls, each keeping `window`
 * messages in flight for warmupMs + durationMs. Server CPU is taken over the whole load phase per echo in it.
 */
async function echoRound(pool, started, format, echo, config) {
  const counts = splitCount(echo.connections, pool.gens.length);
  const before = cpuSnapshot(started.procs);
  const waitBefore = waitSnapshot(started.procs);
  const wall0 = Date.now();
  const parts = await pool.all((g, i) =>
    counts[i] === 0
      ? null
      : g.request(
          {
            cmd: 'throughput',
            urls: started.urls,
            format,
            connections: counts[i],
            window: echo.window,
            payloadBytes: echo.payloadBytes,
            warmupMs: config.warmupMs,
            durationMs: config.durationMs,
          },
          config.warmupMs + config.durationMs + 60_000 + echo.connections * 20,
        ),
  );
  const wallMs = Date.now() - wall0;
  assertRunning(started.procs, 'the echo load');
  const done = parts.filter(Boolean);
  const totalReceived = done.reduce((s, p) => s + p.totalReceived, 0);
  const hist = mergeSparse(done.map((p) => p.hist));
  const processes = cpuSince(started.procs, before, totalReceived);
  const waitAfter = waitSnapshot(started.procs);
  processes.forEach((p, i) => {
    const ms = waitAfter[i] !== null && waitBefore[i] !== null ? waitAfter[i] - waitBefore[i] : null;
    p.runQueueWaitUsPerMsg = ms !== null && totalReceived > 0 ? (ms * 1000) / totalReceived : null;
  });
  const serverCpuMs = processes.reduce((s, p) => s + p.cpuMs, 0);
  const measured = done.reduce((s, p) => s + p.measuredEchoes, 0);
  if (measured === 0)
    throw new Error(
      `no echo received during the measured time (${done.map((p) => `${p.connections} connected, ${p.connectFailed} failed: ${p.connectFirstError}`).join('; ')})`,
    );
  return {
    connections: done.reduce((s, p) => s + p.connections, 0),
    connectFailed: done.reduce((s, p) => s + p.connectFailed, 0),
    connectFirstError: done.map((p) => p.connectFirstError).find(Boolean) || null,
    frameBytesSent: done[0].frameBytesSent,
    msgsPerSec: done.reduce((s, p) => s + p.msgsPerSec, 0),
    p50Ms: percentileOfSparse(hist, 0.5),
    p99Ms: percentileOfSparse(hist, 0.99),
    totalReceived,
    badEchoes: done.reduce((s, p) => s + p.badEchoes, 0),
    closedEarly: done.reduce((s, p) => s + p.closedEarly, 0),
    sendErrors: done.reduce((s, p) => s + p.sendErrors, 0),
    wallMs,
    processes,
    serverCpuSecPerMillion: totalReceived > 0 ? serverCpuMs / 1000 / (totalReceived / 1e6) : null,
    generatorCpu: generatorCpu(done.map((p) => p.loadCpu)),
  };
}

async function collectAll(procs) {
  for (const p of procs) await collectGarbage(p);
  await sleep(GC_SETTLE_MS);
}

const sumRss = (procs) => procs.reduce((s, p) => s + rssKiB(p.child.pid), 0);

function slope(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den > 0 ? num / den : null;
}

/** Opens `total` idle connections over the pool's generators and the target's urls; returns the counts. */
async function openIdle(pool, urls, total) {
  const counts = splitCount(total, pool.gens.length);
  const parts = await pool.all((g, i) =>
    counts[i]
      ? g.request({ cmd: 'open-idle', urls, count: counts[i] }, 60_000 + counts[i] * 20)
      : { opened: 0, failed: 0 },
  );
  return {
    opened: parts.reduce((s, p) => s + p.opened, 0),
    failed: parts.reduce((s, p) => s + p.failed, 0),
    firstError: parts.map((p) => p.firstError).find(Boolean) || null,
  };
}

async function closeIdle(pool) {
  const parts = await pool.all((g) => g.request({ cmd: 'close-idle' }, 30_000));
  return { stillOpenBeforeClose: parts.reduce((s, p) => s + p.stillOpenBeforeClose, 0) };
}

/**
 * Idle-connection memory of a started target: RSS of its memoryProcs (after a full GC in each) against the
 * number of idle connections, opened in BENCH_IDLE_STEPS steps up to `total`. KiB per connection = least-squares
 * slope. Stops early (and says why) when connections fail.
 *
 * `warmUp` (default true): one open/close of `total` first, so that one-time costs (lazily compiled code, first
 * allocations) are paid before the baseline; the slope is then over all points from 0. Without it (freshly
 * started processes, as the idle scenario now runs), the slope is over the points after the first step only, so
 * those one-time costs (paid in the first step) do not count as per-connection memory, and a process cannot
 * reuse pages the warm-up's connections left behind (which made RSS slopes read near 0 or below).
 */
async function measureIdleMemory(pool, started, total, config, { warmUp = true } = {}) {
  const steps = config.idleSteps;
  const settleMs = config.smoke ? 100 : 500;
  const measured = [...started.memoryProcs, ...started.infoProcs];
  let warm = { firstError: null };
  if (warmUp) {
    warm = await openIdle(pool, started.urls, total);
    await closeIdle(pool);
    // Closing thousands of connections takes the server a while (our gateway also hands every close event to the
    // worker and keeps it until acknowledged): read the baseline only once that is over, or the memory still held
    // by the closing connections is released during the measurement and the slope reads too low.
    await sleep(config.smoke ? settleMs : 3_000);
    assertRunning(started.procs, 'the memory warm-up');
  }
  const points = [];
  const read = async (connections) => {
    await collectAll(measured);
    const heapKiB = started.memoryProcs.reduce(
      (sum, p) => (sum === null || p.heapBytes == null ? null : sum + p.heapBytes / 1024),
      0,
    );
    points.push({ connections, rssKiB: sumRss(started.memoryProcs), heapKiB, infoRssKiB: sumRss(started.infoProcs) });
  };
  await read(0);
  let opened = 0;
  let failed = 0;
  let firstError = warm.firstError;
  for (let step = 1; step <= steps; step++) {
    const count = Math.round((total * step) / steps) - Math.round((total * (step - 1)) / steps);
    if (count === 0) continue;
    const r = await openIdle(pool, started.urls, count);
    opened += r.opened;
    failed += r.failed;
    firstError = firstError || r.firstError;
    await sleep(settleMs / 2);
    await read(opened);
    if (r.failed > 0) break; // the limit is reached: more attempts would only fail too
  }
  assertRunning(started.procs, 'the memory phase');
  const closed = await closeIdle(pool);
  if (opened === 0) throw new Error(`no idle connection opened: ${firstError}`);
  // Without a warm-up, the slope starts at the first step's point (see above) when there are two or more after it.
  const fitted = !warmUp && points.length >= 3 ? points.slice(1) : points;
  const xs = fitted.map((p) => p.connections);
  return {
    requested: total,
    opened,
    failed,
    firstError,
    stoppedBecause:
      failed > 0
        ? `${failed} connection(s) failed: ${firstError}` +
          (/hang up|ECONNRESET|EMFILE|ENFILE/.test(String(firstError))
            ? ' (a process out of file descriptors, or a server refusing at its own connection cap, looks like this)'
            : '')
        : null,
    droppedBeforeEnd: opened - closed.stillOpenBeforeClose,
    processes: started.memoryProcs.map((p) => p.name),
    baseRssKiB: points[0].rssKiB,
    points: points.map((p) => ({ connections: p.connections, rssKiB: p.rssKiB, heapKiB: p.heapKiB })),
    kibPerConnection: slope(
      xs,
      fitted.map((p) => p.rssKiB),
    ),
    heapKibPerConnection: fitted.every((p) => p.heapKiB !== null)
      ? slope(
          xs,
          fitted.map((p) => p.heapKiB),
        )
      : null,
    infoKibPerConnection: started.infoProcs.length
      ? slope(
          xs,
          fitted.map((p) => p.infoRssKiB),
        )
      : null,
    // (RSS with all opened - RSS with none) / opened: the scale scenario's figure, one-time costs included
    totalKibPerConnection: (points[points.length - 1].rssKiB - points[0].rssKiB) / opened,
  };
}

/** Sends a tagged burst/push through `send()` and waits (bounded) until `expected` deliveries arrived. */
async function awaitDeliveries(pool, tag, expected, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let got;
  for (;;) {
    const counts = await pool.all((g) => g.request({ cmd: 'count', tag }, 10_000));
    got = counts.reduce((s, c) => s + c.count, 0);
    if (got >= expected || Date.now() > deadline) break;
    await sleep(got === 0 ? 5 : 10);
  }
  const parts = await pool.all((g) => g.request({ cmd: 'take', tag }, 10_000));
  const hist = mergeSparse(parts.map((p) => p.hist));
  const lastRecvUs = Math.max(...parts.map((p) => p.lastRecvUs || 0));
  return { delivered: parts.reduce((s, p) => s + p.count, 0), expected, lastRecvUs, hist, timedOut: got < expected };
}

module.exports = {
  roundOrder,
  sleep,
  log,
  median,
  ratio,
  verdict,
  splitCount,
  generatorCount,
  startGenerators,
  startSender,
  generatorCpu,
  withTargets,
  assertRunning,
  cpuSnapshot,
  cpuSince,
  echoRound,
  measureIdleMemory,
  awaitDeliveries,
  percentileOfSparse,
  SATURATED_PERCENT,
};
