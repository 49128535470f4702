'use strict';
/**
 * Preloaded (NODE_OPTIONS=-r) into a gateway by connect-writes.js: counts the writes InnerLink makes (one per flush
 * that has bytes to send, i.e. one socket write and, when encrypted, one record) and their bytes. On SIGURG it
 * prints `CONNECT_WRITES writes=<n> bytes=<n> cpu_us=<user+system µs>` on stderr (totals since start).
 */
const path = require('node:path');
const root = process.env.CONNECT_WRITES_ROOT;
const { InnerLink } = require(
  path.join(root, 'node_modules', 'nest-gateway-worker', 'dist', 'protocol', 'inner-link.js'),
);
let writes = 0;
let bytes = 0;
const flush = InnerLink.prototype.flush;
InnerLink.prototype.flush = function countedFlush() {
  if (this.state === 'open' && (this.outgoing.length > 0 || this.batchEnd !== this.batchStart)) {
    writes++;
    bytes += this.outgoingBytes;
  }
  return flush.call(this);
};
process.on('SIGURG', () => {
  const c = process.cpuUsage();
  process.stderr.write(`CONNECT_WRITES writes=${writes} bytes=${bytes} cpu_us=${c.user + c.system}\n`);
});

// Experiment only (not the library's behaviour): CONNECT_WRITES_DELAY_MS > 0 makes every InnerLink of this process
// flush on a timer of that many ms instead of at the end of the turn, to see what coalescing across turns would save.
const delayMs = Number(process.env.CONNECT_WRITES_DELAY_MS || 0);
if (delayMs > 0) {
  InnerLink.prototype.scheduleFlush = function timedFlush() {
    if (!this.flushScheduled && this.state === 'open') {
      this.flushScheduled = true;
      setTimeout(() => this.flush(), delayMs);
    }
  };
}
