'use strict';
/**
 * Preloaded (NODE_OPTIONS=-r) beside prof-hook.js: the same SIGURG pair starts and stops V8's sampling heap
 * profiler, counting objects the GC already collected too, and writes <ECHO_CPU_PROF_FILE with .heapprofile>.
 * So what a process allocates during the load phase, by allocating function, not only what is still alive:
 *
 *   ECHO_CPU_PROF=dir ECHO_CPU_NODE_OPTIONS="-r $PWD/bench/tools/alloc-hook.js" node bench/tools/echo-cpu.js 1 1000x1x512
 *   node bench/tools/alloc-top.js dir/this-1000x1x512-r1-gateway.heapprofile
 *
 * The sampling costs CPU: the run's µs per message are not comparable with unprofiled runs.
 */
const fs = require('node:fs');
const { onSigurgToggle } = require('./sigurg-session');

onSigurgToggle(
  (session) =>
    session.post('HeapProfiler.enable', () =>
      session.post('HeapProfiler.startSampling', {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      }),
    ),
  (session) =>
    session.post('HeapProfiler.stopSampling', (err, res) => {
      const file = process.env.ECHO_CPU_PROF_FILE.replace(/\.cpuprofile$/, '.heapprofile');
      if (!err) fs.writeFileSync(file, JSON.stringify(res.profile));
      process.stderr.write(`HEAP_PROF_WRITTEN ${err ? err.message : file}\n`);
    }),
);
