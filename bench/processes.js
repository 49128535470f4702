'use strict';
/**
 * Child processes of the benchmark: servers (started with spawn, ready when a log line matches) and the load
 * generator (forked, driven over IPC). Every child is tracked here and stopped by its pid: stopProcess() for
 * an orderly stop (SIGTERM, SIGKILL after a bound), killAllNow() from exit/signal handlers.
 */
const { spawn, fork, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const KEEP_LINES = 40; // recent output kept per process, for error messages
const STOP_GRACE_MS = 5_000;
const HOOKS = path.join(__dirname, 'servers', 'bench-hooks.js');

const tracked = new Set();

function isRunning(child) {
  return child.exitCode === null && child.signalCode === null;
}

function track(child) {
  tracked.add(child);
  child.once('exit', () => tracked.delete(child));
  return child;
}

/**
 * Starts `node --expose-gc -r servers/bench-hooks.js <script>` with exactly `env` (plus PATH and NO_COLOR); resolves with { name, child, match, lines, waitFor(re, ms) }
 * once a stdout/stderr line matches `readyRe`; rejects if the process exits first or after `timeoutMs`
 * (and then kills it).
 */
function startServer(name, script, env, readyRe, timeoutMs = 20_000) {
  return startProcess(name, process.execPath, ['--expose-gc', '-r', HOOKS, script], env, readyRe, timeoutMs);
}

/**
 * Starts a program that is not a Node server of ours (redis-server for the backplane scenario) the same way:
 * tracked, stopped by its pid, ready when a line matches `readyRe`.
 */
function startExecutable(name, file, args, readyRe, timeoutMs = 20_000) {
  return startProcess(name, file, args, {}, readyRe, timeoutMs);
}

function startProcess(name, file, args, env, readyRe, timeoutMs) {
  const child = track(
    spawn(file, args, {
      env: { PATH: process.env.PATH || '', NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'], // stdin: held open by this process; its end stops the server (bench-hooks.js)
    }),
  );
  child.stdin.on('error', () => undefined);
  const proc = { name, child, lines: [], watchers: [], gcRequests: 0 };
  const readLines = (stream) => {
    let partial = '';
    stream.on('data', (chunk) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop();
      if (partial.length > 10_000) partial = partial.slice(-10_000);
      for (const raw of parts) {
        const line = raw.replace(ANSI, '');
        proc.lines.push(line);
        if (proc.lines.length > KEEP_LINES) proc.lines.shift();
        for (const w of [...proc.watchers]) w(line);
      }
    });
  };
  readLines(child.stdout);
  readLines(child.stderr);
  proc.waitFor = (re, ms = timeoutMs) => waitForLine(proc, re, ms);
  return proc.waitFor(readyRe).then(
    (match) => {
      proc.match = match;
      return proc;
    },
    (err) => {
      if (isRunning(child)) child.kill('SIGKILL'); // never ready: do not leave it behind
      throw err;
    },
  );
}

/** Resolves with the first line of `proc` (from now on or among the recent ones) matching `re`. */
function waitForLine(proc, re, timeoutMs) {
  for (const line of proc.lines) {
    const m = re.exec(line);
    if (m) return Promise.resolve(m);
  }
  return new Promise((resolve, reject) => {
    const done = (fn, value) => {
      clearTimeout(timer);
      proc.watchers = proc.watchers.filter((w) => w !== watcher);
      proc.child.removeListener('exit', onExit);
      fn(value);
    };
    const recent = () => (proc.lines.length ? `; last output:\n  ${proc.lines.join('\n  ')}` : '; no output');
    const watcher = (line) => {
      const m = re.exec(line);
      if (m) done(resolve, m);
    };
    const onExit = (code, signal) =>
      done(
        reject,
        new Error(
          `${proc.name} (pid ${proc.child.pid}) exited (code ${code}, signal ${signal}) before printing ${re}${recent()}`,
        ),
      );
    const timer = setTimeout(
      () =>
        done(
          reject,
          new Error(
            `${proc.name} (pid ${proc.child.pid}) printed no line matching ${re} within ${timeoutMs} ms${recent()}`,
          ),
        ),
      timeoutMs,
    );
    proc.watchers.push(watcher);
    if (!isRunning(proc.child)) onExit(proc.child.exitCode, proc.child.signalCode);
    else proc.child.once('exit', onExit);
  });
}

/** Asks a server started by startServer() for a full garbage collection (see servers/bench-hooks.js). */
async function collectGarbage(proc, timeoutMs = 10_000) {
  const n = ++proc.gcRequests;
  proc.child.kill('SIGWINCH');
  const [line] = await waitForLine(proc, new RegExp(`^BENCH_GC_DONE ${n}\\b.*$`), timeoutMs);
  if (/not exposed/.test(line)) throw new Error(`${proc.name}: global.gc is not exposed`);
  const heap = /heap=(\d+)/.exec(line);
  proc.heapBytes = heap ? Number(heap[1]) : null;
  return proc.heapBytes;
}

/**
 * Forks a helper driven over IPC (a load generator or the sender); returns { child, request(cmd, timeoutMs) }.
 * Its stderr is kept (last lines) for error messages; stdout is ignored.
 */
function startLoadGenerator(script, name = path.basename(script, '.js')) {
  const child = track(
    fork(script, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { PATH: process.env.PATH || '' } }),
  );
  const lines = [];
  child.stderr.on('data', (chunk) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      lines.push(line.replace(ANSI, ''));
      if (lines.length > KEEP_LINES) lines.shift();
    }
  });
  let nextId = 1;
  const pending = new Map();
  child.on('message', (msg) => {
    const p = msg && pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(`${name}: ${msg.error}`));
  });
  child.on('exit', (code, signal) => {
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(
        new Error(
          `${name} exited (code ${code}, signal ${signal})${lines.length ? `; last output:\n  ${lines.join('\n  ')}` : ''}`,
        ),
      );
    }
    pending.clear();
  });
  const request = (cmd, timeoutMs) =>
    new Promise((resolve, reject) => {
      if (!isRunning(child)) return reject(new Error(`${name} is not running`));
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${name} did not answer ${cmd.cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, { resolve, reject, timer });
      child.send({ ...cmd, id });
    });
  return { child, name, lines, request };
}

/** SIGTERM, then SIGKILL after STOP_GRACE_MS; resolves once the process has exited (bounded). */
function stopProcess(child) {
  if (!child || !isRunning(child)) return Promise.resolve();
  return new Promise((resolve) => {
    let killTimer;
    let giveUpTimer;
    child.once('exit', () => {
      clearTimeout(killTimer);
      clearTimeout(giveUpTimer);
      resolve();
    });
    child.kill('SIGTERM');
    killTimer = setTimeout(() => {
      if (isRunning(child)) child.kill('SIGKILL');
      giveUpTimer = setTimeout(resolve, 2_000);
    }, STOP_GRACE_MS);
  });
}

/** Synchronous last resort (exit and signal handlers): SIGKILL every tracked child still running. */
function killAllNow() {
  for (const child of tracked) {
    if (isRunning(child)) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

let clockTicks = null;
/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
function cpuMs(pid) {
  const { user, system } = cpuSplitMs(pid);
  return user + system;
}

/** CPU time a process has used so far in user and in system (kernel) mode, in ms, from /proc/<pid>/stat. */
function cpuSplitMs(pid) {
  if (clockTicks === null) {
    try {
      clockTicks =
        Number(
          execFileSync('getconf', ['CLK_TCK'], { timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] })
            .toString()
            .trim(),
        ) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
  // utime, stime: fields 14, 15
  return { user: (Number(fields[11]) * 1000) / clockTicks, system: (Number(fields[12]) * 1000) / clockTicks };
}

/**
 * How long a process's main thread has been runnable but waiting for a CPU so far, in ms (the second field of
 * /proc/<pid>/schedstat, nanoseconds); null where the kernel does not provide it. With more busy processes than
 * cores, this is the time each one queues behind the others: the scheduler's share of the latency.
 */
function runQueueWaitMs(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/);
    const ns = Number(fields[1]);
    return Number.isFinite(ns) ? ns / 1e6 : null;
  } catch {
    return null;
  }
}

/** Resident set size of a process in KiB, from /proc/<pid>/status (VmRSS). */
function rssKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

module.exports = {
  startServer,
  startExecutable,
  collectGarbage,
  startLoadGenerator,
  stopProcess,
  killAllNow,
  rssKiB,
  cpuMs,
  cpuSplitMs,
  runQueueWaitMs,
  isRunning,
};
