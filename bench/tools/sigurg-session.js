'use strict';
/**
 * For preloaded profiling hooks: one inspector session in this process, and SIGURG as a toggle: the first signal
 * calls `start(session)`, the next `stop(session)`, and so on. The bench tools send the pair around the load
 * phase, so a profile covers only that (`--cpu-prof` is not allowed in NODE_OPTIONS).
 */
const inspector = require('node:inspector');

function onSigurgToggle(start, stop) {
  const session = new inspector.Session();
  session.connect();
  let running = false;
  process.on('SIGURG', () => {
    running = !running;
    if (running) start(session);
    else stop(session);
  });
}

module.exports = { onSigurgToggle };
