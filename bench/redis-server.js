'use strict';
/**
 * A redis-server of a bench script's own: 127.0.0.1, a free port, persistence off; `stop()` ends it by its pid.
 * Resolves once it accepts connections (at most 10 s).
 */
const { spawn } = require('node:child_process');
const { createServer } = require('node:net');

/** A free TCP port on 127.0.0.1 (asked from the OS, then released). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** redis-server's command line: 127.0.0.1 only, on `port`, persistence off. */
function redisServerArgs(port) {
  return ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'];
}

/** Starts redis-server; resolves with its port, pid, `redis://` URL and `stop()`. */
async function startRedisServer() {
  const port = await freePort();
  const child = spawn('redis-server', redisServerArgs(port), { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = () => child.kill('SIGTERM');
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server not ready within 10 s')), 10_000);
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (/Ready to accept connections/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
    });
  } catch (err) {
    stop();
    throw err;
  }
  return { port, pid: child.pid, url: `redis://127.0.0.1:${port}`, stop };
}

module.exports = { startRedisServer, freePort, redisServerArgs };
