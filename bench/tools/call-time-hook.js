'use strict';
/**
 * Preloaded into a worker or gateway (ECHO_CPU_NODE_OPTIONS='-r bench/tools/call-time-hook.js'): times the calls of
 * a few hot methods of this checkout's build with hrtime (EventRunner.frame, RecordOpener.push, RecordSealer.seal,
 * FrameDecoder.push) and appends, every second, `<role> <pid> <ms since epoch> cpuMs=<process CPU> {method: {ms,
 * calls}}` to CALL_TIME_LOG (default /tmp/call-time.log). Differences between two lines give a steady second's
 * split. hrtime costs ≈ 0.1 µs per call: read the figures as upper bounds.
 */
const fs = require('node:fs');
const path = require('node:path');

const DIST = path.join(__dirname, '..', '..', 'packages', 'nest-gateway-worker', 'dist');
const LOG = process.env.CALL_TIME_LOG || '/tmp/call-time.log';
const totals = {};

function time(file, className, method) {
  const cls = require(path.join(DIST, file))[className];
  const original = cls.prototype[method];
  const total = (totals[`${className}.${method}`] = { ns: 0n, calls: 0 });
  cls.prototype[method] = function (...args) {
    const start = process.hrtime.bigint();
    try {
      return original.apply(this, args);
    } finally {
      total.ns += process.hrtime.bigint() - start;
      total.calls++;
    }
  };
}

time('worker/event-runner.js', 'EventRunner', 'frame');
time('protocol/record-layer.js', 'RecordOpener', 'push');
time('protocol/record-layer.js', 'RecordSealer', 'seal');
time('protocol/frame-decoder.js', 'FrameDecoder', 'push');

const role = path.basename(path.dirname(process.argv[1] || 'unknown'));
setInterval(() => {
  const out = {};
  for (const [k, v] of Object.entries(totals)) out[k] = { ms: Number(v.ns / 1000000n), calls: v.calls };
  const cpu = process.cpuUsage();
  fs.appendFileSync(
    LOG,
    `${role} ${process.pid} ${Date.now()} cpuMs=${Math.round((cpu.user + cpu.system) / 1000)} ${JSON.stringify(out)}\n`,
  );
}, 1000).unref();
