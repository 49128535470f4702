'use strict';
/**
 * Preloaded (NODE_OPTIONS=-r): prints every 250 ms and after every mark-compact one line
 *   HEAPSPACE tick|MC {"new_space": MB, "old_space": MB, ..., "external": MB, "malloced": MB}
 * so that a GC trace (echo-cpu.js ECHO_CPU_GC_LOG, which keeps these lines) shows which space grew before each
 * full GC.
 */
const v8 = require('node:v8');
const { PerformanceObserver, constants } = require('node:perf_hooks');
const mb = (n) => (n / 1048576).toFixed(1);
function line(tag) {
  const o = {};
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_used_size > 0) o[s.space_name] = mb(s.space_used_size);
  const h = v8.getHeapStatistics();
  o.external = mb(h.external_memory);
  o.malloced = mb(h.malloced_memory);
  process.stdout.write(`HEAPSPACE ${tag} ${JSON.stringify(o)}\n`);
}
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.detail && e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) line('MC');
}).observe({ entryTypes: ['gc'] });
setInterval(() => line('tick'), 250).unref();
