'use strict';
/**
 * Turns the measured results into ratios (C against A and against B) and the table printed to stdout.
 */

function ratio(numerator, denominator) {
  if (typeof numerator !== 'number' || typeof denominator !== 'number') return null;
  if (!Number.isFinite(numerator) || !Number.isFinite(denominator) || denominator <= 0) return null;
  return numerator / denominator;
}

function figures(result) {
  const t = result && !result.error ? result.throughput : null;
  const m = result && result.memory ? result.memory : null;
  return {
    msgsPerSec: t ? t.msgsPerSec : null,
    p50Ms: t ? t.p50Ms : null,
    p99Ms: t ? t.p99Ms : null,
    kibPerConnection: m ? m.kibPerConnection : null,
    cpuUsPerMsg: result && !result.error && result.cpu ? result.cpu.serverCpuUsPerEcho : null,
    loadGeneratorCorePercent: result && !result.error && result.cpu ? result.cpu.loadGeneratorCorePercent : null,
  };
}

/**
 * { 'C/A': { throughput, p50Latency, p99Latency, memoryPerIdleConnection, serverCpuPerMessage }, 'C/B': {...} }:
 * each is C's figure divided by the other's (throughput above 1 = C faster; the others above 1 = C higher).
 * null where a figure is missing or the denominator is not positive.
 */
function computeRatios(results) {
  const byKey = Object.fromEntries(results.map((r) => [r.key, figures(r)]));
  const ratios = {};
  if (!byKey.C) return ratios;
  for (const other of ['A', 'B']) {
    if (!byKey[other]) continue;
    const c = byKey.C;
    const o = byKey[other];
    ratios[`C/${other}`] = {
      throughput: ratio(c.msgsPerSec, o.msgsPerSec),
      p50Latency: ratio(c.p50Ms, o.p50Ms),
      p99Latency: ratio(c.p99Ms, o.p99Ms),
      memoryPerIdleConnection: ratio(c.kibPerConnection, o.kibPerConnection),
      serverCpuPerMessage: ratio(c.cpuUsPerMsg, o.cpuUsPerMsg),
    };
  }
  return ratios;
}

const fmt = {
  int: (x) => (typeof x === 'number' && Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a'),
  ms: (x) => (typeof x === 'number' ? (Number.isFinite(x) ? x.toFixed(2) : '>10000') : 'n/a'),
  kib: (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(1) : 'n/a'),
  mib: (x) => (typeof x === 'number' && Number.isFinite(x) ? (x / 1024).toFixed(1) : 'n/a'),
  us: (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(1) : 'n/a'),
  pct: (x) => (typeof x === 'number' && Number.isFinite(x) ? `${Math.round(x)}%` : 'n/a'),
  x: (x) => (typeof x === 'number' && Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a'),
};

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

function formatTarget(r) {
  if (r.format === 'nest-envelope') {
    const bytes = r.throughput ? r.throughput.frameBytesSent : null;
    return bytes ? `envelope ${bytes} B` : 'envelope';
  }
  return 'raw';
}

function formatReport(report) {
  const { machine, config, targets, ratios } = report;
  const results = Object.values(targets);
  let out = '\n';
  out +=
    `WebSocket echo benchmark: node ${machine.node}, ${machine.cpus} CPU(s), ` +
    `${config.connections} connections x ${config.window} in flight, ${config.payloadBytes}-byte text payload, ` +
    `${config.warmupMs} ms warm-up + ${config.durationMs} ms measured per target` +
    (config.idleConnections ? `, ${config.idleConnections} idle connections for memory` : ', memory phase skipped') +
    '\n' +
    (machine.loadAverageAtStart ? `load average when the run started: ${machine.loadAverageAtStart.join(', ')} (other work on the machine skews every number)\n` : '') +
    '\n';

  out += table(
    ['target', 'format', 'msgs/s', 'p50 ms', 'p99 ms', 'server CPU us/msg', 'loadgen CPU', 'idle conns', 'KiB/idle conn', 'base RSS MiB'],
    results.map((r) => {
      const f = figures(r);
      const m = r.memory;
      return [
        `${r.key} ${r.name}${r.error ? ' (FAILED)' : ''}`,
        formatTarget(r),
        fmt.int(f.msgsPerSec),
        fmt.ms(f.p50Ms),
        fmt.ms(f.p99Ms),
        fmt.us(f.cpuUsPerMsg),
        fmt.pct(f.loadGeneratorCorePercent),
        m ? String(m.opened) : 'n/a',
        fmt.kib(f.kibPerConnection),
        m ? fmt.mib(m.baseRssKiB) : 'n/a',
      ];
    }),
  );

  const ratioRows = Object.entries(ratios).map(([name, q]) => [
    name,
    fmt.x(q.throughput),
    fmt.x(q.p50Latency),
    fmt.x(q.p99Latency),
    fmt.x(q.serverCpuPerMessage),
    fmt.x(q.memoryPerIdleConnection),
  ]);
  if (ratioRows.length) {
    out += '\nratios, C divided by the other (throughput above 1 = C faster; the other columns above 1 = C uses more)\n';
    out += table(['ratio', 'throughput', 'p50 latency', 'p99 latency', 'server CPU/msg', 'KiB/idle conn'], ratioRows);
  }

  const notes = [];
  const a = targets.A;
  const b = targets.B;
  const c = targets.C;
  if (a || c) notes.push(`A and C: the client sends the ${config.payloadBytes}-byte payload as a text frame and gets it back unchanged.`);
  if (b) {
    const bytes = b.throughput ? ` (${b.throughput.frameBytesSent} bytes each way)` : '';
    notes.push(
      `B: a different message format. WsAdapter requires the envelope, so the client sends {"event":"echo","data":"<payload>"}${bytes} ` +
        'and gets {"event":"echo","data":"<payload>"} back; the server JSON-parses and JSON-stringifies every message.',
    );
  }
  if (c) {
    notes.push(
      'C: every message makes two extra hops (gateway -> worker -> gateway) over AES-256-GCM encrypted inner links and crosses ' +
        'three processes; compare it with that in mind.',
    );
    if (c.memory) {
      const info = c.memory.info;
      notes.push(
        `C memory: RSS of the gateway process only (it holds the client connections; register and worker not counted)` +
          (info ? `; for information, the worker's RSS grew by ${fmt.kib(info.kibPerConnection)} KiB per idle client.` : '.'),
      );
    }
  }
  if (config.idleConnections) {
    notes.push(
      `KiB/idle conn: slope of the server's RSS (/proc/<pid>/status VmRSS) over 0..${config.idleConnections} idle connections opened in steps, ` +
        'each reading taken after a full GC (the same preloaded hook in every server), after one warm-up open/close of as many connections. ' +
        'RSS is coarse: treat differences under about 1 KiB per connection as noise.',
    );
  }
  notes.push(
    'server CPU us/msg: user+system CPU of all the target\'s processes during the load phase, per echo. It does not depend on whether ' +
      'the load generator or the server was the bottleneck; loadgen CPU near 100% means msgs/s was capped by the load generator.',
  );
  notes.push(
    `${machine.cpus} CPU(s): the load generator and the server processes share them, so absolute numbers depend on the machine; the ratios are the point.`,
  );
  for (const r of results) {
    if (r.error) {
      const oneLine = r.error.replace(/\s*\n\s*/g, ' | ');
      notes.push(`${r.key} FAILED: ${oneLine.length > 400 ? `${oneLine.slice(0, 400)}...` : oneLine} (full text in latest.json)`);
    }
    const t = r.throughput;
    if (t && (t.connectFailed || t.badEchoes || t.closedEarly || t.sendErrors)) {
      notes.push(
        `${r.key} warning: ${t.connectFailed} connection(s) failed to open${t.connectFirstError ? ` (${t.connectFirstError})` : ''}, ` +
          `${t.badEchoes} unexpected echo(es), ${t.closedEarly} closed during the load, ${t.sendErrors} send error(s).`,
      );
    }
    const m = r.memory;
    if (m && (m.failed || m.droppedBeforeMeasureEnd)) {
      const emfile = m.firstError && /EMFILE|ENFILE/.test(m.firstError) ? ' (out of file descriptors: lower BENCH_IDLE_CONNECTIONS)' : '';
      notes.push(
        `${r.key} warning: ${m.failed} of ${m.requested} idle connection(s) failed to open${m.firstError ? `: ${m.firstError}` : ''}${emfile}; ` +
          `${m.droppedBeforeMeasureEnd} were closed before the measurement ended. KiB/idle conn divides by the ${m.opened} opened.`,
      );
    }
  }
  out += '\nnotes:\n' + notes.map((n) => `- ${n}`).join('\n') + '\n';
  return out;
}

module.exports = { computeRatios, formatReport };
