#!/usr/bin/env node
'use strict';
/**
 * `npm run bench`: runs the selected scenarios (BENCH_SCENARIOS, default all seven; backplane only when named) one after another. Each
 * scenario starts its own targets as real processes on 127.0.0.1 (our cluster and its references), drives
 * them with load-generator processes (and a sender process for pushes), runs BENCH_ROUNDS rounds in which the
 * targets take turns, and stops every process it started. Prints a markdown report (targets with verdicts,
 * then each scenario's tables) and writes bench/results/latest.md and latest.json.
 *
 * Exit status: 0 when every scenario ran (verdicts never change it), 1 when a scenario or a round failed,
 * 2 for a bad setting.
 */
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { execFileSync } = require('node:child_process');
const { readConfig } = require('./config');
const { killAllNow } = require('./processes');
const { formatReport } = require('./report');
const { log } = require('./harness');

const SCENARIO_MODULES = {
  echo: './scenarios/echo',
  broadcast: './scenarios/broadcast',
  push: './scenarios/push',
  queries: './scenarios/queries',
  idle: './scenarios/idle',
  encryption: './scenarios/encryption',
  backplane: './scenarios/backplane',
  scale: './scenarios/scale',
};
const RESULTS_DIR = path.join(__dirname, 'results');
const LOAD_AT_START = os.loadavg();

function machine(config) {
  let commit = null;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: path.resolve(__dirname, '..'),
      timeout: 5_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    // not a git checkout
  }
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0] ? os.cpus()[0].model : null,
    totalMemMiB: Math.round(os.totalmem() / 1048576),
    loadAverageAtStart: LOAD_AT_START.map((x) => Number(x.toFixed(2))),
    openFilesLimit: config.openFilesLimit,
    commit,
  };
}

/** A round that failed inside a scenario shows as { error } somewhere in its data. */
function hasRoundErrors(data) {
  if (!data || typeof data !== 'object') return false;
  if (typeof data.error === 'string') return true;
  return Object.values(data).some((v) => (v && typeof v === 'object' ? hasRoundErrors(v) : false));
}

/** Rough upper bound on a scenario's time, for the watchdog. */
function scenarioBudgetMs(config, id) {
  const echoMs = config.warmupMs + config.durationMs + 30_000;
  switch (id) {
    case 'echo':
      return 60_000 + config.echoConfigs.length * config.rounds * 4 * echoMs;
    case 'encryption':
      return 60_000 + config.rounds * 2 * echoMs;
    case 'broadcast':
      return 120_000 + config.connections * 20 + config.rounds * 2 * config.broadcastBursts * 30_000;
    case 'push':
      return 120_000 + config.connections * 20 + config.rounds * 4 * (config.pushDurationMs * 3 + 30_000);
    case 'queries':
      return 120_000 + config.connections * 20 + config.rounds * 2 * (config.queryDurationMs + 30_000);
    case 'idle':
      return 120_000 + config.rounds * 3 * (config.idleConnections + config.idleMax) * 2 * 40;
    case 'scale': // per target and round: start, connect, memory, probe, broadcast, close, stop
      // handshakes ran at 300-1 200/s on the busy 2-core machine: allow 10 ms per connection and target
      return 300_000 + config.rounds * 3 * (config.scaleConnections * 10 + config.scaleProbeMs + 240_000);
    default:
      return 600_000;
  }
}

async function main(config) {
  const scenarios = [];
  for (const id of config.scenarios) {
    const mod = require(SCENARIO_MODULES[id]);
    log(`scenario ${mod.title}`);
    const t0 = Date.now();
    let section;
    try {
      section = await mod.run(config);
    } catch (err) {
      section = { error: err && err.stack ? err.stack : String(err), tables: [], verdicts: [], notes: [] };
      log(`scenario ${id} failed: ${section.error}`);
    }
    scenarios.push({ id, title: mod.title, elapsedMs: Date.now() - t0, ...section });
  }
  const report = { generatedAt: new Date().toISOString(), machine: machine(config), config, scenarios };
  const markdown = formatReport(report);
  process.stdout.write('\n' + markdown);
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.md'), markdown);
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(`results written to bench/results/latest.md and bench/results/latest.json\n`);
  const failed = scenarios.filter((s) => s.error || hasRoundErrors(s.data));
  if (failed.length) log(`failures in: ${failed.map((s) => s.id).join(', ')}`);
  return failed.length ? 1 : 0;
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
const watchdogMs = config.scenarios.reduce((s, id) => s + scenarioBudgetMs(config, id), 0);
setTimeout(() => {
  process.stderr.write(`bench: the run exceeded ${watchdogMs} ms; stopping\n`);
  killAllNow();
  process.exit(1);
}, watchdogMs).unref();

main(config).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${err && err.stack ? err.stack : err}\n`);
    killAllNow();
    process.exit(1);
  },
);
