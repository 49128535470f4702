'use strict';
/**
 * Micro-benchmark: the worker's per-event bookkeeping of the live `@Session()` object (one set when a handler
 * starts, one delete when it ends, for a fresh client_id string each time, 1 000 clients in turn) with a Map and
 * with the built LiveSessions (packages/nest-gateway-worker/dist; `npm run build` first). The client_id strings are
 * made fresh per event as the worker does (so their hash is computed once per event in both).
 *
 *   node bench/tools/live-sessions-micro.js [events=1000000]
 */
const path = require('node:path');
const { LiveSessions } = require(
  path.join(__dirname, '..', '..', 'packages', 'nest-gateway-worker', 'dist', 'worker', 'live-sessions.js'),
);

const n = Number(process.argv[2] || 1_000_000);
const ids = [];
for (let i = 0; i < 1000; i++) ids.push(`7f00000108fc${i.toString(16).padStart(8, '0')}`);
const fresh = (s) => Buffer.from(s, 'latin1').toString('latin1');
const session = {};
const variants = {
  'fresh id only': () => {
    for (let i = 0; i < n; i++) fresh(ids[i % 1000]);
  },
  Map: () => {
    const m = new Map();
    for (let i = 0; i < n; i++) {
      const id = fresh(ids[i % 1000]);
      m.set(id, session);
      m.delete(id);
    }
  },
  LiveSessions: () => {
    const m = new LiveSessions();
    for (let i = 0; i < n; i++) {
      const id = fresh(ids[i % 1000]);
      m.set(id, session);
      m.delete(id);
    }
  },
};
for (let rep = 0; rep < 2; rep++)
  for (const [name, fn] of Object.entries(variants)) {
    fn(); // warm-up
    const t0 = process.cpuUsage();
    fn();
    const u = process.cpuUsage(t0);
    console.log(`${name}: ${((u.user + u.system) / n).toFixed(3)} µs CPU per event`);
  }
