'use strict';
/**
 * Benchmark settings from the environment (see bench/README.md), validated: a bad value stops the run with a
 * message naming the variable.
 */
const SETTINGS = [
  // [variable, key, default, min, max, meaning]
  ['BENCH_CONNECTIONS', 'connections', 100, 1, 10_000, 'connections sending during the throughput phase'],
  ['BENCH_WINDOW', 'window', 8, 1, 1_000, 'messages in flight per connection'],
  ['BENCH_PAYLOAD_BYTES', 'payloadBytes', 64, 16, 1_048_576, 'payload size in bytes'],
  ['BENCH_DURATION_MS', 'durationMs', 5_000, 500, 600_000, 'measured time per target'],
  ['BENCH_WARMUP_MS', 'warmupMs', 1_000, 0, 60_000, 'unmeasured load before the measured time'],
  ['BENCH_IDLE_CONNECTIONS', 'idleConnections', 2_000, 0, 100_000, 'idle connections for the memory phase (0 skips it)'],
];
const TARGET_KEYS = ['A', 'B', 'C'];

function readConfig(env = process.env) {
  const config = {};
  for (const [name, key, def, min, max, meaning] of SETTINGS) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      config[key] = def;
      continue;
    }
    if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
      throw new Error(`${name}="${raw}" is invalid: expected a whole number from ${min} to ${max} (${meaning})`);
    }
    config[key] = Number(raw);
  }
  const rawTargets = (env.BENCH_TARGETS || TARGET_KEYS.join(',')).toUpperCase();
  const targets = rawTargets.split(',').map((t) => t.trim()).filter(Boolean);
  const unknown = targets.filter((t) => !TARGET_KEYS.includes(t));
  if (unknown.length || targets.length === 0) {
    throw new Error(`BENCH_TARGETS="${env.BENCH_TARGETS}" is invalid: expected a comma-separated subset of ${TARGET_KEYS.join(',')}`);
  }
  config.targets = TARGET_KEYS.filter((t) => targets.includes(t));
  return config;
}

module.exports = { readConfig, SETTINGS };
