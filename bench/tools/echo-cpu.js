'use strict';
/**
 * CPU per echo message of C's gateway and worker, robust to a shared machine: starts a fresh cluster per shape
 * and round, runs one echo load, and reports the gateway's and worker's CPU µs per echoed message
 * (/proc user+system over the load phase / messages echoed), plus msgs/s for context.
 *
 *   node bench/tools/echo-cpu.js [rounds=3] [shapes=100x10x64,1000x1x512]
 *   ECHO_CPU_PROF=dir   also run gateway and worker with --cpu-prof (profiles in dir; CPU figures then include
 *                       the profiler's overhead)
 *   ECHO_CPU_GC=1       count gateway and worker garbage collections (scavenges per 1000 messages, mark-compacts,
 *                       GC µs per message) through a preloaded PerformanceObserver (gc-hook.js)
 *   ECHO_CPU_NODE_OPTIONS  more NODE_OPTIONS for gateway and worker (e.g. --max-semi-space-size=32)
 *   ECHO_CPU_GC_LOG=file  append the GC trace lines gateway and worker print (with --trace-gc, e.g.
 *                       ECHO_CPU_NODE_OPTIONS='-r a-preload-that-sets-the-flag') to file
 *   ECHO_CPU_PLAINTEXT=label[,label]  run those roots' register, gateway and worker with INNER_PLAINTEXT=true (no
 *                       SECRET_KEY): e.g. ECHO_CPU_ROOTS=enc=.,plain=. ECHO_CPU_PLAINTEXT=plain measures what the
 *                       inner links' AES-GCM costs each side
 *   ECHO_CPU_ROOTS=c=.,te=TE  a root given as T or TE runs that relay floor (bench/targets.js) instead of a cluster:
 *                       its front in the gateway columns, its back in the worker columns
 *   BENCH_WARMUP_MS, BENCH_DURATION_MS as for run.js (defaults 1000, 5000)
 */
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { startServer, stopProcess, cpuMs, cpuSplitMs } = require('../processes');
const { startGenerators } = require('../harness');

// ECHO_CPU_ROOTS=base=/tmp/perf-base,new=/work/wt-perf: builds compared in turns within each round (a root holds
// dist/apps and a node_modules that resolves nest-gateway-worker to that build); default: this checkout only.
const ROOTS = (process.env.ECHO_CPU_ROOTS || `this=${path.resolve(__dirname, '..', '..')}`).split(',').map((kv) => {
  const at = kv.indexOf('=');
  const [dir, nodeOptions] = kv.slice(at + 1).split('@'); // "label=dir@--a-v8-flag=1" gives that root's processes the flag
  return { label: kv.slice(0, at), dir, nodeOptions };
});
const distMain = (root, role) => path.join(root, 'dist', 'apps', role, 'main.js');
const rounds = Number(process.argv[2] || 3);
const shapes = (process.argv[3] || '100x10x64,1000x1x512').split(',').map((s) => {
  const [c, w, b] = s.split('x').map(Number);
  return { name: s, connections: c, window: w, payloadBytes: b };
});
const warmupMs = Number(process.env.BENCH_WARMUP_MS || 1000);
const durationMs = Number(process.env.BENCH_DURATION_MS || 5000);
const profDir = process.env.ECHO_CPU_PROF;
const traceGc = process.env.ECHO_CPU_GC === '1';

const plaintextRoots = new Set((process.env.ECHO_CPU_PLAINTEXT || '').split(',').filter(Boolean));

async function startCluster(tag, root, rootOptions, plaintext) {
  if (root === 'T' || root === 'TE') {
    // The two-process relay floor (plain or sealed) in place of a cluster: its front in the gateway's columns, its
    // back in the worker's.
    const { startTarget } = require('../targets');
    const t = await startTarget(root, {}, () => {});
    const role = (suffix) => t.procs.find((p) => p.name.endsWith(suffix));
    return { procs: t.procs, gateway: role('-front'), worker: role('-back'), url: t.urls[0] };
  }
  const key = plaintext ? { INNER_PLAINTEXT: 'true' } : { SECRET_KEY: randomBytes(24).toString('hex') };
  const nodeOptions = (role) => {
    const o = [];
    const env = {};
    if (profDir) {
      o.push(`-r ${path.join(__dirname, 'prof-hook.js')}`);
      env.ECHO_CPU_PROF_FILE = path.join(profDir, `${tag}-${role}.cpuprofile`);
    }
    if (traceGc) o.push(`-r ${path.join(__dirname, 'gc-hook.js')}`);
    if (process.env.ECHO_CPU_NODE_OPTIONS) o.push(process.env.ECHO_CPU_NODE_OPTIONS);
    if (rootOptions) o.push(rootOptions);
    return o.length ? { ...env, NODE_OPTIONS: o.join(' ') } : {};
  };
  const procs = [];
  const register = await startServer(
    'register',
    distMain(root, 'register'),
    { ...key, REGISTER_LISTEN: '127.0.0.1:0' },
    /Register listening on (\S+)/,
  );
  procs.push(register);
  const reg = register.match[1];
  const gateway = await startServer(
    'gateway',
    distMain(root, 'gateway'),
    {
      ...key,
      REGISTER_ADDRESS: reg,
      GATEWAY_LISTEN: 'ws://127.0.0.1:0',
      GATEWAY_LAN_IP: '127.0.0.1',
      GATEWAY_START_PORT: '0',
      ...nodeOptions('gateway'),
    },
    /Gateway ready: clients (\S+), inner (\S+)/,
  );
  procs.push(gateway);
  const worker = await startServer(
    'worker',
    distMain(root, 'worker'),
    { ...key, REGISTER_ADDRESS: reg, HTTP_LISTEN: 'off', ...nodeOptions('worker') },
    /Worker connected to gateway/,
  );
  procs.push(worker);
  return { procs, gateway, worker, url: gateway.match[1] };
}

const gcCount = async (proc) => {
  const n = (proc.gcAsked = (proc.gcAsked || 0) + 1);
  proc.child.kill('SIGURG');
  const m = await proc.waitFor(new RegExp(`GC_COUNT ${n} minor=(\\d+) major=(\\d+) ms=([\\d.]+)`), 5_000);
  return { scav: Number(m[1]), mc: Number(m[2]), ms: Number(m[3]) };
};

/** Minor page faults and context switches (voluntary: it slept in epoll_wait) a process had so far. */
function faultsAndSwitches(pid) {
  const fs = require('node:fs');
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    minflt: Number(fields[7]),
    vcs: Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)[1]),
  };
}

/** Read and write syscalls a process made so far (/proc/<pid>/io). */
function ioCalls(pid) {
  const t = require('node:fs').readFileSync(`/proc/${pid}/io`, 'utf8');
  return { r: Number(/syscr: (\d+)/.exec(t)[1]), w: Number(/syscw: (\d+)/.exec(t)[1]) };
}

(async () => {
  const pool = startGenerators(1);
  const out = [];
  try {
    for (let r = 1; r <= rounds; r++) {
      for (const shape of shapes)
        for (const root of ROOTS) {
          const c = await startCluster(
            `${root.label}-${shape.name}-r${r}`,
            root.dir,
            root.nodeOptions,
            plaintextRoots.has(root.label),
          );
          for (const p of [c.gateway, c.worker]) {
            p.allLines = [];
            p.watchers.push((l) => p.allLines.push(l));
          }
          await new Promise((res) => setTimeout(res, 500));
          const g0 = cpuMs(c.gateway.child.pid),
            w0 = cpuMs(c.worker.child.pid),
            gu0 = cpuSplitMs(c.gateway.child.pid).user,
            wu0 = cpuSplitMs(c.worker.child.pid).user;
          const io0 = [ioCalls(c.gateway.child.pid), ioCalls(c.worker.child.pid)];
          const fs0 = faultsAndSwitches(c.gateway.child.pid);
          const gc0 = traceGc ? [await gcCount(c.gateway), await gcCount(c.worker)] : null;
          const load = pool.all((g) =>
            g.request(
              {
                cmd: 'throughput',
                urls: [c.url],
                format: 'raw',
                connections: shape.connections,
                window: shape.window,
                payloadBytes: shape.payloadBytes,
                warmupMs,
                durationMs,
              },
              warmupMs + durationMs + 60_000,
            ),
          );
          let profTimer = null;
          let profiling = 0; // SIGURGs sent: 1 while the profilers run
          const toggleProfilers = () => {
            profiling++;
            for (const p of [c.gateway, c.worker]) p.child.kill('SIGURG');
          };
          if (profDir) {
            // profile the measured part only (after connections and warm-up; stop just before the end)
            profTimer = setTimeout(
              () => {
                toggleProfilers();
                profTimer = setTimeout(toggleProfilers, durationMs - 500);
              },
              warmupMs + 300 + shape.connections,
            );
          }
          const [res] = await load;
          if (profDir) {
            clearTimeout(profTimer);
            // on a busy machine the load can end before the stop timer fires: stop (and write) now
            if (profiling === 1) toggleProfilers();
            if (profiling === 0) throw new Error('the load ended before the profilers were started');
            await Promise.all([c.gateway, c.worker].map((p) => p.waitFor(/PROF_WRITTEN/, 20_000)));
          }
          const gMs = cpuMs(c.gateway.child.pid) - g0,
            wMs = cpuMs(c.worker.child.pid) - w0,
            guMs = cpuSplitMs(c.gateway.child.pid).user - gu0,
            wuMs = cpuSplitMs(c.worker.child.pid).user - wu0;
          const io1 = [ioCalls(c.gateway.child.pid), ioCalls(c.worker.child.pid)];
          const fs1 = faultsAndSwitches(c.gateway.child.pid);
          const n = res.totalReceived;
          const row = {
            root: root.label,
            round: r,
            shape: shape.name,
            msgs: n,
            msgsPerSec: Math.round(res.msgsPerSec),
            // echo latency (ms) for context: in a closed loop it follows msgs/s, which a shared machine moves
            p50Ms: res.p50Ms,
            p99Ms: res.p99Ms,
            gwUs: (gMs * 1000) / n,
            // the gateway's user-mode part (its JavaScript, V8, libuv; not the kernel's side of its syscalls)
            gwUserUs: (guMs * 1000) / n,
            wkUs: (wMs * 1000) / n,
            wkUserUs: (wuMs * 1000) / n,
            bad: res.badEchoes,
            gen: res.loadCpu && res.loadCpu.corePercent,
            // read and write syscalls per message (/proc/<pid>/io syscr, syscw; includes the profiler's writes if any)
            gwReads: (io1[0].r - io0[0].r) / n,
            gwWrites: (io1[0].w - io0[0].w) / n,
            wkReads: (io1[1].r - io0[1].r) / n,
            wkWrites: (io1[1].w - io0[1].w) / n,
            // the gateway's minor page faults and voluntary context switches per 1000 messages
            gwFaultsPer1k: ((fs1.minflt - fs0.minflt) * 1000) / n,
            gwSleepsPer1k: ((fs1.vcs - fs0.vcs) * 1000) / n,
          };
          if (traceGc) {
            const [g1, w1] = [await gcCount(c.gateway), await gcCount(c.worker)];
            row.gwScavPer1k = ((g1.scav - gc0[0].scav) * 1000) / n;
            row.wkScavPer1k = ((w1.scav - gc0[1].scav) * 1000) / n;
            row.gwMc = g1.mc - gc0[0].mc;
            row.wkMc = w1.mc - gc0[1].mc;
            row.gwGcUs = ((g1.ms - gc0[0].ms) * 1000) / n;
            row.wkGcUs = ((w1.ms - gc0[1].ms) * 1000) / n;
          }
          out.push(row);
          console.log(
            JSON.stringify({
              ...row,
              gwUs: row.gwUs.toFixed(2),
              gwUserUs: row.gwUserUs.toFixed(2),
              wkUs: row.wkUs.toFixed(2),
              wkUserUs: row.wkUserUs.toFixed(2),
              ...Object.fromEntries(
                ['gwReads', 'gwWrites', 'wkReads', 'wkWrites'].map((k) => [k, Number(row[k].toFixed(3))]),
              ),
            }),
            'load',
            require('node:os').loadavg()[0].toFixed(2),
          );
          if (process.env.ECHO_CPU_GC_LOG) {
            // every GC line the gateway and worker printed (run them with --trace-gc, e.g. through a preload)
            for (const [role, p] of [
              ['gateway', c.gateway],
              ['worker', c.worker],
            ])
              require('node:fs').appendFileSync(
                process.env.ECHO_CPU_GC_LOG,
                p.allLines
                  .filter((l) =>
                    /Mark-Compact|Scavenge|Mark-Sweep|IncrementalMarking|pretenur|AllocationSite|HEAPSPACE/i.test(l),
                  )
                  .map((l) => `${root.label} ${shape.name} r${r} ${role}: ${l}\n`)
                  .join(''),
              );
          }
          for (const p of [...c.procs].reverse()) await stopProcess(p.child);
        }
    }
  } finally {
    await pool.stop();
  }
  for (const shape of shapes)
    for (const root of ROOTS) {
      const rows = out.filter((r) => r.shape === shape.name && r.root === root.label);
      const s = (k) => rows.map((r) => r[k].toFixed(2)).join(' / ');
      const med = (k) => {
        const v = rows.map((r) => r[k]).sort((a, b) => a - b);
        return v[(v.length - 1) >> 1].toFixed(2);
      };
      console.log(
        `${root.label} ${shape.name}: gateway µs/msg ${s('gwUs')} (median ${med('gwUs')}; user ${s('gwUserUs')}, median ${med('gwUserUs')}); worker µs/msg ${s('wkUs')} (median ${med('wkUs')}; user ${s('wkUserUs')}, median ${med('wkUserUs')}); msgs/s ${rows.map((r) => r.msgsPerSec).join(' / ')}`,
      );
    }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
