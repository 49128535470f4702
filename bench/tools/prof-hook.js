'use strict';
/**
 * Preloaded (NODE_OPTIONS=-r) by echo-cpu.js when ECHO_CPU_PROF is set: the first SIGURG starts V8's CPU
 * profiler, the second stops it and writes <ECHO_CPU_PROF_FILE> (a .cpuprofile), so that the profile covers
 * only the load phase. (--cpu-prof is not allowed in NODE_OPTIONS.)
 */
const fs = require('node:fs');
const { onSigurgToggle } = require('./sigurg-session');

onSigurgToggle(
  (session) =>
    session.post('Profiler.enable', () =>
      session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')),
    ),
  (session) =>
    session.post('Profiler.stop', (err, res) => {
      if (!err) fs.writeFileSync(process.env.ECHO_CPU_PROF_FILE, JSON.stringify(res.profile));
      process.stderr.write(`PROF_WRITTEN ${err ? err.message : process.env.ECHO_CPU_PROF_FILE}\n`);
    }),
);
