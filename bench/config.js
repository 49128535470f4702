'use strict';
/**
 * Benchmark settings from the environment (see bench/README.md), validated: a bad value stops the run with a
 * message naming the variable. BENCH_SMOKE=1 swaps in tiny defaults (every scenario briefly, to check that
 * the harness works); variables set explicitly still win.
 */
const fs = require('node:fs');

const SCENARIOS = ['echo', 'broadcast', 'push', 'queries', 'idle', 'encryption', 'scale'];
/** Scenarios run only when named (they need more than Node: `backplane` starts a redis-server). */
const OPT_IN_SCENARIOS = ['backplane'];
const KNOWN_SCENARIOS = [...SCENARIOS, ...OPT_IN_SCENARIOS];

// [variable, key, default, smoke default, min, max, meaning]
const SETTINGS = [
  [
    'BENCH_ROUNDS',
    'rounds',
    2,
    2,
    2,
    100,
    'rounds per scenario (at least 2); the targets of a scenario take turns in every round',
  ],
  ['BENCH_WARMUP_MS', 'warmupMs', 1_000, 100, 0, 60_000, 'unmeasured echo load before each measured time'],
  ['BENCH_DURATION_MS', 'durationMs', 5_000, 300, 200, 600_000, 'measured echo time per target and round'],
  [
    'BENCH_CONNECTIONS',
    'connections',
    10_000,
    200,
    1,
    200_000,
    'receiving connections of the broadcast, push and query scenarios',
  ],
  ['BENCH_GROUPS', 'groups', 100, 10, 1, 100_000, 'groups the receiving connections are spread over (push, queries)'],
  ['BENCH_BROADCAST_BYTES', 'broadcastBytes', 256, 256, 32, 1_048_576, 'broadcast payload size'],
  ['BENCH_BROADCAST_BURST', 'broadcastBurst', 10, 3, 1, 10_000, 'sendToAll messages per burst (sent back to back)'],
  ['BENCH_BROADCAST_BURSTS', 'broadcastBursts', 5, 2, 1, 1_000, 'bursts per target and round'],
  ['BENCH_PUSH_RATE', 'pushRate', 2_000, 200, 1, 1_000_000, 'offered sendToUid messages per second'],
  ['BENCH_PUSH_GROUP_RATE', 'pushGroupRate', 200, 50, 1, 1_000_000, 'offered sendToGroup messages per second'],
  ['BENCH_PUSH_DURATION_MS', 'pushDurationMs', 5_000, 400, 100, 600_000, 'time each push phase offers its rate'],
  ['BENCH_PUSH_BYTES', 'pushBytes', 128, 128, 32, 1_048_576, 'push payload size'],
  ['BENCH_BACKPLANE_GATEWAYS', 'backplaneGateways', 8, 2, 2, 64, 'gateway processes per target in scenario 7'],
  ['BENCH_BACKPLANE_CONNECTIONS', 'backplaneConnections', 2_000, 200, 1, 100_000, 'receivers per target in scenario 7'],
  [
    'BENCH_BACKPLANE_RATE',
    'backplaneRate',
    1_000,
    200,
    1,
    1_000_000,
    'offered sendToUid messages per second, scenario 7',
  ],
  [
    'BENCH_BACKPLANE_DURATION_MS',
    'backplaneDurationMs',
    5_000,
    400,
    100,
    600_000,
    'time scenario 7 offers its rate per target and round',
  ],
  [
    'BENCH_BACKPLANE_IDLE_MS',
    'backplaneIdleMs',
    2_000,
    200,
    0,
    60_000,
    'idle time per target and round in scenario 7 (background CPU of the gateways; 0 skips it)',
  ],
  ['BENCH_QUERY_DURATION_MS', 'queryDurationMs', 3_000, 300, 100, 600_000, 'query loop time per round and condition'],
  [
    'BENCH_QUERY_LOAD_CONNECTIONS',
    'queryLoadConnections',
    100,
    20,
    0,
    10_000,
    'echo connections loading the cluster during queries',
  ],
  ['BENCH_QUERY_LOAD_WINDOW', 'queryLoadWindow', 4, 2, 1, 1_000, 'messages in flight per loading echo connection'],
  [
    'BENCH_IDLE_CONNECTIONS',
    'idleConnections',
    10_000,
    0,
    0,
    1_000_000,
    'idle connections of the first memory level (0 skips it)',
  ],
  [
    'BENCH_IDLE_STEPS',
    'idleSteps',
    4,
    2,
    1,
    100,
    'steps in which the idle connections are opened (one RSS reading after each)',
  ],
  [
    'BENCH_GENERATOR_CONNECTIONS',
    'connectionsPerGenerator',
    5_000,
    5_000,
    100,
    1_000_000,
    'connections one load generator holds at most (BENCH_GENERATORS unset)',
  ],
  [
    'BENCH_ENCRYPTION_CONNECTIONS',
    'encryptionConnections',
    100,
    20,
    1,
    10_000,
    'echo connections of the encryption scenario',
  ],
  [
    'BENCH_ENCRYPTION_WINDOW',
    'encryptionWindow',
    10,
    4,
    1,
    1_000,
    'messages in flight per connection, encryption scenario',
  ],
  [
    'BENCH_ENCRYPTION_PAYLOAD_BYTES',
    'encryptionPayloadBytes',
    64,
    64,
    16,
    1_048_576,
    'payload of the encryption scenario',
  ],
  // Scenario scale (bench/scenarios/scale.js).
  [
    'BENCH_SCALE_CONNECTIONS',
    'scaleConnections',
    100_000,
    300,
    1,
    1_000_000,
    'idle connections every target of the scale scenario holds',
  ],
  [
    'BENCH_SCALE_PROCESSES',
    'scaleProcesses',
    0,
    2,
    0,
    64,
    'server processes per target in the scale scenario (gateways for C); 0 = as many as the descriptor budget needs',
  ],
  [
    'BENCH_SCALE_GENERATORS',
    'scaleGenerators',
    0,
    2,
    0,
    64,
    'load generators holding the scale connections (each from its own 127.x.y.z address); 0 = auto',
  ],
  ['BENCH_SCALE_BURST', 'scaleBurst', 1, 1, 1, 1_000, 'sendToAll messages per burst in the scale scenario'],
  ['BENCH_SCALE_BURSTS', 'scaleBursts', 3, 2, 1, 100, 'sendToAll bursts per target and round in the scale scenario'],
  [
    'BENCH_SCALE_PROBE_MS',
    'scaleProbeMs',
    30_000,
    500,
    200,
    600_000,
    'measured time of the echo probe while the scale connections are held',
  ],
  [
    'BENCH_SCALE_PROBE_CONNECTIONS',
    'scaleProbeConnections',
    10,
    4,
    1,
    1_000,
    'echo probe connections (one 64 B message in flight each)',
  ],
];

/** The soft limit on open files of this process (inherited by every child), or null off Linux. */
function openFilesLimit() {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const FD_MARGIN = 200; // descriptors a server process needs besides client sockets (listeners, links, stdio, files)

function bad(name, raw, expected) {
  return new Error(`${name}="${raw}" is invalid: expected ${expected}`);
}

/**
 * Command-line arguments override the environment: scenario names (`node bench/run.js echo idle`) stand for
 * BENCH_SCENARIOS, `--smoke` for BENCH_SMOKE=1.
 */
function readConfig(env = process.env, argv = process.argv.slice(2)) {
  env = { ...env };
  const names = argv.filter((a) => !a.startsWith('--'));
  const flags = argv.filter((a) => a.startsWith('--'));
  const unknownFlags = flags.filter((f) => f !== '--smoke');
  if (unknownFlags.length)
    throw new Error(
      `unknown option ${unknownFlags[0]}: expected scenario names (${KNOWN_SCENARIOS.join(', ')}) and --smoke`,
    );
  if (flags.includes('--smoke')) env.BENCH_SMOKE = '1';
  if (names.length) env.BENCH_SCENARIOS = names.join(',');
  const smokeRaw = env.BENCH_SMOKE || '';
  if (smokeRaw !== '' && !/^(0|1|true|false)$/.test(smokeRaw))
    throw bad('BENCH_SMOKE', smokeRaw, '1, true, 0 or false');
  const smoke = smokeRaw === '1' || smokeRaw === 'true';
  const config = { smoke };
  for (const [name, key, def, smokeDef, min, max, meaning] of SETTINGS) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      config[key] = smoke ? smokeDef : def;
      continue;
    }
    if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
      throw bad(name, raw, `a whole number from ${min} to ${max} (${meaning})`);
    }
    config[key] = Number(raw);
  }

  const rawGenerators = env.BENCH_GENERATORS;
  if (rawGenerators !== undefined && rawGenerators !== '') {
    if (!/^\d+$/.test(rawGenerators) || Number(rawGenerators) < 1 || Number(rawGenerators) > 64) {
      throw bad('BENCH_GENERATORS', rawGenerators, 'a whole number from 1 to 64 (load generator processes)');
    }
    config.generators = Number(rawGenerators);
  } else {
    config.generators = null; // per phase: ceil(connections / BENCH_GENERATOR_CONNECTIONS), at least 1
  }

  // Echo configurations: connections x window x payload bytes.
  const rawEcho = env.BENCH_ECHO_CONFIGS || (smoke ? '20x4x64,50x1x512' : '100x10x64,1000x1x512');
  config.echoConfigs = rawEcho.split(',').map((part) => {
    const m = /^\s*(\d+)x(\d+)x(\d+)\s*$/.exec(part);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1 || Number(m[3]) < 16) {
      throw bad(
        'BENCH_ECHO_CONFIGS',
        rawEcho,
        'a comma-separated list of <connections>x<window>x<payload bytes>, e.g. 100x10x64,1000x1x512 (payload at least 16)',
      );
    }
    return { connections: Number(m[1]), window: Number(m[2]), payloadBytes: Number(m[3]) };
  });

  const fdLimit = openFilesLimit();
  config.openFilesLimit = fdLimit;
  config.connectionsPerProcess = fdLimit ? Math.max(100, fdLimit - FD_MARGIN) : 10_000;
  const rawMax = env.BENCH_IDLE_MAX;
  if (rawMax === undefined || rawMax === '' || rawMax === 'auto') {
    config.idleMax = smoke ? 300 : config.connectionsPerProcess; // the most one process can hold here
  } else if (/^\d+$/.test(rawMax) && Number(rawMax) <= 1_000_000) {
    config.idleMax = Number(rawMax);
  } else {
    throw bad(
      'BENCH_IDLE_MAX',
      rawMax,
      '"auto" (the open-files limit minus a margin) or a whole number up to 1000000; 0 skips that level',
    );
  }

  const rawScenarios = env.BENCH_SCENARIOS || SCENARIOS.join(',');
  const chosen = rawScenarios
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const unknown = chosen.filter((s) => !KNOWN_SCENARIOS.includes(s));
  if (unknown.length || chosen.length === 0)
    throw bad('BENCH_SCENARIOS', rawScenarios, `a comma-separated subset of ${KNOWN_SCENARIOS.join(',')}`);
  config.scenarios = KNOWN_SCENARIOS.filter((s) => chosen.includes(s));
  return config;
}

module.exports = { readConfig, SETTINGS, SCENARIOS };
