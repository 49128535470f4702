#!/usr/bin/env node
'use strict';
/**
 * `npm run bench`: measures, in one run and on this machine, three WebSocket echo servers side by side
 *   A  a bare `ws` server,  B  the stock Nest WsAdapter,  C  our cluster (register + gateway + echo worker),
 * each in its own child process(es), loaded by a separate load-generator process over 127.0.0.1.
 * Per target: first idle-connection memory on the fresh server, then echo throughput and round-trip latency.
 * Prints a table with ratios of C against A and B, and writes bench/results/latest.json.
 * Targets run one after another; each one's processes are stopped before the next starts.
 */
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { execFileSync } = require('node:child_process');
const { readConfig } = require('./config');
const { targets } = require('./targets');
const { collectGarbage, startLoadGenerator, stopProcess, killAllNow, rssKiB, cpuMs, isRunning } = require('./processes');
const { computeRatios, formatReport } = require('./report');

const LOAD_GENERATOR = path.join(__dirname, 'load-generator.js');
const RESULTS_DIR = path.join(__dirname, 'results');
const SETTLE_AFTER_START_MS = 1_000; // start-up garbage and lazy init settle before the memory baseline
const SETTLE_AFTER_CHURN_MS = 500;
const MEMORY_STEPS = 4;
const SETTLE_AFTER_IDLE_OPEN_MS = 300;
const GC_SETTLE_MS = 200;
const SETTLE_BEFORE_LOAD_MS = 1_000;

const LOAD_AT_START = os.loadavg();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sumRss(procs) {
  return procs.reduce((sum, p) => sum + rssKiB(p.child.pid), 0);
}

function assertRunning(procs, phase) {
  const dead = procs.filter((p) => !isRunning(p.child));
  if (dead.length) {
    const p = dead[0];
    throw new Error(`${p.name} (pid ${p.child.pid}) exited during ${phase} (code ${p.child.exitCode}, signal ${p.child.signalCode}); last output:\n  ${p.lines.join('\n  ')}`);
  }
}

async function collectAll(procs) {
  for (const p of procs) await collectGarbage(p);
  await sleep(GC_SETTLE_MS);
}

/** Least-squares slope of ys against xs. */
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

/**
 * Idle-connection memory: the server's RSS against the number of idle connections open. After a warm-up
 * (the same number opened and closed once, so code paths, heap spaces and buffer pools have their working
 * size), the connections are opened in MEMORY_STEPS equal steps; before each RSS reading the measured
 * processes run a full GC. KiB per connection is the least-squares slope over the MEMORY_STEPS + 1 points.
 */
async function measureMemory(loadgen, started, config) {
  const { url, procs, memoryProcs, infoProcs } = started;
  const measured = [...memoryProcs, ...infoProcs];
  const total = config.idleConnections;
  const openTimeout = 30_000 + total * 20;
  await loadgen.request({ cmd: 'open-idle', url, count: total }, openTimeout);
  await loadgen.request({ cmd: 'close-idle' }, 15_000);
  await sleep(SETTLE_AFTER_CHURN_MS);
  assertRunning(procs, 'the memory warm-up');

  const points = []; // { connections, rssKiB, infoRssKiB }
  const read = async (connections) => {
    await collectAll(measured);
    points.push({ connections, rssKiB: sumRss(memoryProcs), infoRssKiB: sumRss(infoProcs) });
  };
  await read(0);
  let opened = 0;
  let failed = 0;
  let firstError = null;
  for (let step = 1; step <= MEMORY_STEPS; step++) {
    const count = Math.round((total * step) / MEMORY_STEPS) - Math.round((total * (step - 1)) / MEMORY_STEPS);
    if (count === 0) continue;
    const r = await loadgen.request({ cmd: 'open-idle', url, count }, openTimeout);
    opened += r.opened;
    failed += r.failed;
    firstError = firstError || r.firstError;
    await sleep(SETTLE_AFTER_IDLE_OPEN_MS);
    await read(opened);
  }
  assertRunning(procs, 'the memory phase');
  const closed = await loadgen.request({ cmd: 'close-idle' }, 15_000);
  if (opened === 0) throw new Error(`no idle connection opened: ${firstError}`);

  const xs = points.map((p) => p.connections);
  const first = points[0];
  const last = points[points.length - 1];
  return {
    requested: total,
    opened,
    failed,
    firstError,
    droppedBeforeMeasureEnd: opened - closed.stillOpenBeforeClose,
    method: `RSS after a full GC at ${points.length} points from 0 to ${opened} idle connections; KiB/connection = least-squares slope`,
    measuredProcesses: memoryProcs.map((p) => p.name),
    baseRssKiB: first.rssKiB,
    withIdleRssKiB: last.rssKiB,
    points: points.map((p) => ({ connections: p.connections, rssKiB: p.rssKiB })),
    kibPerConnection: slope(xs, points.map((p) => p.rssKiB)),
    kibPerConnectionEndpoints: (last.rssKiB - first.rssKiB) / opened,
    info: infoProcs.length
      ? {
          processes: infoProcs.map((p) => p.name),
          points: points.map((p) => ({ connections: p.connections, rssKiB: p.infoRssKiB })),
          kibPerConnection: slope(xs, points.map((p) => p.infoRssKiB)),
        }
      : null,
  };
}

async function measureTarget(target, config) {
  const result = { key: target.key, name: target.name, description: target.description, format: target.format };
  const procs = [];
  let loadgen = null;
  const t0 = Date.now();
  try {
    process.stderr.write(`bench: ${target.key} (${target.name}): starting\n`);
    const started = await target.start((p) => procs.push(p));
    result.processes = started.procs.map((p) => ({ name: p.name, pid: p.child.pid }));
    await sleep(SETTLE_AFTER_START_MS);
    loadgen = startLoadGenerator(LOAD_GENERATOR);

    if (config.idleConnections > 0) {
      process.stderr.write(`bench: ${target.key}: memory with ${config.idleConnections} idle connections\n`);
      result.memory = await measureMemory(loadgen, started, config);
      await sleep(SETTLE_BEFORE_LOAD_MS);
    }

    process.stderr.write(`bench: ${target.key}: load, ${config.connections} connections x window ${config.window}, ${config.warmupMs} + ${config.durationMs} ms\n`);
    const cpuBefore = procs.map((p) => cpuMs(p.child.pid));
    const loadgenCpuBefore = cpuMs(loadgen.child.pid);
    const wallStart = Date.now();
    result.throughput = await loadgen.request(
      {
        cmd: 'throughput',
        url: started.url,
        format: target.format,
        connections: config.connections,
        window: config.window,
        payloadBytes: config.payloadBytes,
        warmupMs: config.warmupMs,
        durationMs: config.durationMs,
      },
      config.warmupMs + config.durationMs + 60_000,
    );
    assertRunning(procs, 'the load phase');
    const wallMs = Date.now() - wallStart;
    const perProcess = procs.map((p, i) => ({ name: p.name, cpuMs: cpuMs(p.child.pid) - cpuBefore[i] }));
    const serverCpuMs = perProcess.reduce((sum, p) => sum + p.cpuMs, 0);
    const loadGeneratorCpuMs = cpuMs(loadgen.child.pid) - loadgenCpuBefore;
    result.cpu = {
      note: 'CPU time over the whole load phase (connect, warm-up, measured time, drain), per echo received in it',
      wallMs,
      serverProcesses: perProcess,
      serverCpuMs,
      serverCpuUsPerEcho: result.throughput.totalReceived ? (serverCpuMs * 1000) / result.throughput.totalReceived : null,
      loadGeneratorCpuMs,
      loadGeneratorCorePercent: (loadGeneratorCpuMs / wallMs) * 100,
    };
    if (result.throughput.measuredEchoes === 0) throw new Error('no echo received during the measured time');
  } catch (err) {
    result.error = err && err.message ? err.message : String(err);
    process.stderr.write(`bench: ${target.key} (${target.name}) failed: ${result.error}\n`);
  } finally {
    if (loadgen) await stopProcess(loadgen.child);
    for (const p of [...procs].reverse()) await stopProcess(p.child);
  }
  result.elapsedMs = Date.now() - t0;
  return result;
}

function machine() {
  let commit = null;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: path.resolve(__dirname, '..'), timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    // not a git checkout: fine
  }
  let openFilesLimit = null;
  try {
    const m = /^Max open files\s+(\S+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    if (m) openFilesLimit = m[1];
  } catch {
    // not Linux
  }
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0] ? os.cpus()[0].model : null,
    totalMemMiB: Math.round(os.totalmem() / 1048576),
    loadAverageAtStart: LOAD_AT_START.map((x) => Number(x.toFixed(2))),
    openFilesLimit,
    commit,
  };
}

async function main() {
  const config = readConfig();
  const results = [];
  for (const target of targets.filter((t) => config.targets.includes(t.key))) {
    results.push(await measureTarget(target, config));
  }
  const report = {
    generatedAt: new Date().toISOString(),
    machine: machine(),
    config,
    targets: Object.fromEntries(results.map((r) => [r.key, r])),
    ratios: computeRatios(results),
  };
  process.stdout.write(formatReport(report));
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, 'latest.json');
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(`\nresults written to ${path.relative(process.cwd(), file) || file}\n`);
  return results.some((r) => r.error) ? 1 : 0;
}

process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    process.stderr.write(`bench: ${signal}: stopping every child process\n`);
    killAllNow();
    process.exit(130);
  });
}

let config;
try {
  config = readConfig();
} catch (err) {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(2);
}
// Last-resort bound on the whole run (every step has its own bound too).
const watchdogMs = config.targets.length * (120_000 + config.warmupMs + config.durationMs + config.idleConnections * 40);
setTimeout(() => {
  process.stderr.write(`bench: the run exceeded ${watchdogMs} ms; stopping\n`);
  killAllNow();
  process.exit(1);
}, watchdogMs).unref();

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${err && err.stack ? err.stack : err}\n`);
    killAllNow();
    process.exit(1);
  },
);
