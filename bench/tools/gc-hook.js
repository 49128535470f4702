'use strict';
/**
 * Preloaded (NODE_OPTIONS=-r) by echo-cpu.js when ECHO_CPU_GC=1 (--trace-gc is not allowed in NODE_OPTIONS):
 * counts garbage collections by kind and prints `GC_COUNT <n> minor=<scavenges> major=<mark-compacts> ms=<total>`
 * on stderr at every SIGURG.
 */
const { PerformanceObserver, constants } = require('node:perf_hooks');
let minor = 0;
let major = 0;
let ms = 0;
let asked = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = e.detail ? e.detail.kind : e.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
    ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
process.on('SIGURG', () => {
  // PerformanceObserver delivers entries asynchronously: let the pending ones arrive first.
  setTimeout(() => process.stderr.write(`GC_COUNT ${++asked} minor=${minor} major=${major} ms=${ms.toFixed(1)}\n`), 50);
});
