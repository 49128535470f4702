'use strict';
/**
 * Measurement hooks preloaded into every server process the benchmark starts, A, B and C alike
 * (`node --expose-gc -r bench/servers/bench-hooks.js <main>`). Nothing else changes in the process.
 *
 * - On SIGWINCH: a full garbage collection, then `BENCH_GC_DONE <n> heap=<bytes>` on stderr (heap used +
 *   external after the collection). run.js asks for it right
 *   before reading a server's RSS, so the per-connection memory counts what the connections keep alive, not
 *   garbage waiting to be collected. SIGWINCH because its default action is to do nothing and Nest's shutdown
 *   hooks do not listen to it (they do listen to SIGUSR2).
 * - When stdin (a pipe from run.js) reaches its end, the process exits: a server outlives the benchmark
 *   even if run.js itself is killed with SIGKILL and cannot stop its children.
 */
let collections = 0;
process.on('SIGWINCH', () => {
  if (typeof global.gc === 'function') {
    global.gc();
    global.gc(); // a second pass collects what the first one's finalizers released
  }
  collections++;
  // What the live objects hold after the collection: the JS heap plus memory outside it that JS objects own
  // (Buffers, ArrayBuffers). Unlike RSS it does not keep pages an allocator has not returned to the system.
  const m = process.memoryUsage();
  const heap = typeof global.gc === 'function' ? ` heap=${m.heapUsed + m.external}` : ' (gc not exposed)';
  process.stderr.write(`BENCH_GC_DONE ${collections}${heap}\n`);
});

if (!process.stdin.isTTY) {
  process.stdin.on('error', () => process.exit(0));
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
