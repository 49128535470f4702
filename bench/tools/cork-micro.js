'use strict';
/**
 * Micro-benchmark: CPU per 514-byte write to 1 000 loopback TCP sockets, one write per socket per event-loop turn
 * (the gateway's 1000 × 1 × 512 B reply pattern), corked for the turn and uncorked on process.nextTick (what
 * turn-cork.ts does) against a plain write. The receiving sockets live in a child process that reads and drops.
 *
 *   node bench/tools/cork-micro.js [turns=300] [reps=3]
 */
const net = require('node:net');
const { fork } = require('node:child_process');

if (process.argv[2] === 'sink') {
  const server = net.createServer((s) => s.on('data', () => {}));
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
  process.on('disconnect', () => process.exit(0));
} else {
  const turns = Number(process.argv[2] || 300);
  const reps = Number(process.argv[3] || 3);
  const sink = fork(__filename, ['sink']);
  sink.once('message', async (port) => {
    const sockets = [];
    for (let i = 0; i < 1000; i++)
      sockets.push(
        await new Promise((resolve) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s));
          s.setNoDelay(true);
        }),
      );
    const frame = Buffer.alloc(514, 1);
    const corked = [];
    const uncorkAll = () => {
      for (let i = 0; i < corked.length; i++) corked[i].uncork();
      corked.length = 0;
    };
    const variants = {
      corked: () => {
        for (const s of sockets) {
          s.cork();
          if (corked.push(s) === 1) process.nextTick(uncorkAll);
          s.write(Buffer.from(frame));
        }
      },
      direct: () => {
        for (const s of sockets) s.write(Buffer.from(frame));
      },
    };
    const run = (fn, n) =>
      new Promise((resolve) => {
        let done = 0;
        const t0 = process.cpuUsage();
        const step = () => {
          fn();
          if (++done < n) setImmediate(step);
          else
            setImmediate(() => {
              const u = process.cpuUsage(t0);
              resolve((u.user + u.system) / (n * sockets.length));
            });
        };
        step();
      });
    for (let r = 0; r < reps; r++)
      for (const [name, fn] of Object.entries(variants)) {
        await run(fn, 20);
        console.log(`${name}: ${(await run(fn, turns)).toFixed(2)} µs CPU per write`);
      }
    for (const s of sockets) s.destroy();
    sink.kill();
  });
}
