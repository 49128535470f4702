'use strict';
/**
 * The load generator: a child process of bench/run.js (forked with an IPC channel), so it never shares an
 * event loop with the server under test. run.js sends it one command at a time and gets one answer back:
 *
 *   { id, cmd: 'throughput', url, format, connections, window, payloadBytes, warmupMs, durationMs }
 *       opens `connections` WebSockets; each keeps `window` messages in flight (a new one is sent for every
 *       echo received) for warmupMs + durationMs; counts the echoes received and records their round-trip
 *       times during the last durationMs only; then closes everything.
 *   { id, cmd: 'open-idle', url, count, localAddress? }   opens `count` WebSockets that send nothing and keeps them open.
 *   { id, cmd: 'close-idle' }              closes the connections opened by open-idle.
 *   { id, cmd: 'listen', urls, count, localAddress? }     opens `count` receiving connections (spread over `urls`); every text
 *       message `B<tag>|<send µs>|...` they get is counted per tag with its end-to-end latency (send time and
 *       receive time are both CLOCK_MONOTONIC µs, the same clock in every process of this machine).
 *   { id, cmd: 'count', tag }              messages received so far for `tag` (cheap; polled while waiting), the
 *       receiving connections still open, and the WebSocket pings they got so far (`pings`).
 *   { id, cmd: 'take', tag }               { count, firstRecvUs, lastRecvUs, hist } for `tag`, then forgets it.
 *   { id, cmd: 'close-listen' }            closes the receiving connections.
 *   { id, cmd: 'cpu-mark' } / { id, cmd: 'cpu-since' }   this process's CPU use since the mark
 *       ({ ms, wallMs, corePercent }): a saturated generator (near 100 % of a core) must be visible.
 *
 * `url` may be given as `urls` (an array): connections are spread over them round-robin. Every answer also
 * carries `cpu` ({ ms, wallMs, corePercent }): this process's CPU time during that command.
 * Latency histograms travel as sparse [bucket, count] pairs of 10 µs buckets (see histogram.js).
 *
 * Answers are { id, ok: true, result } or { id, ok: false, error }. Every wait is bounded.
 *
 * Message formats: 'raw' (A and C) sends the payload itself as a text frame and expects it back unchanged;
 * 'nest-envelope' (B) sends {"event":"echo","data":"<payload>"} and expects the same envelope back.
 * The payload is `#<seq>|` padded with 'x' to payloadBytes; the echo is matched to its send time by seq.
 */
const { performance } = require('node:perf_hooks');
const WebSocket = require('ws');
const { BUCKET_MS, BUCKETS, toSparse, percentileOfDense } = require('./histogram');

const HANDSHAKE_TIMEOUT_MS = 10_000;
const OPEN_CONCURRENCY = 100; // handshakes in progress at once
const CLOSE_WAIT_MS = 5_000;
const DRAIN_MS = 200; // after the measured window: let in-flight echoes land before closing

let idleSockets = [];
let listenSockets = [];
let listenPings = 0; // WebSocket ping frames the receiving connections got (a gateway's heartbeat); ws answers each
const tags = new Map(); // tag -> { count, firstRecvUs, lastRecvUs, hist: Map<bucket, count> }
let cpuMark = { usage: process.cpuUsage(), at: performance.now() };

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const urlsOf = (cmd) => (Array.isArray(cmd.urls) ? cmd.urls : [cmd.url]);

/**
 * Opens `count` connections, at most OPEN_CONCURRENCY handshakes at a time; never rejects. `localAddress` (optional):
 * the source address to connect from (e.g. 127.0.3.1: a loopback address of its own), or a list of them taken in
 * turn. A socket bound to a source address takes its ephemeral port at bind time, and the kernel's search for a free
 * port slows down as the address's ports fill up (a generator holding 16 000 connections from one address spent
 * three quarters of its CPU in the kernel): keep a few thousand per address.
 */
async function openConnections(urls, count, localAddress) {
  if (!Array.isArray(urls)) urls = [urls];
  const sockets = [];
  let failed = 0;
  let firstError = null;
  let next = 0;
  const openOne = (url) =>
    new Promise((resolve) => {
      const from = Array.isArray(localAddress) ? localAddress[next % localAddress.length] : localAddress;
      const ws = new WebSocket(url, {
        perMessageDeflate: false,
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        ...(from ? { localAddress: from } : {}),
      });
      let settled = false;
      const settle = (err) => {
        if (settled) return;
        settled = true;
        if (err) {
          failed++;
          if (!firstError) firstError = err.message || String(err);
          ws.terminate();
        } else {
          sockets.push(ws);
        }
        resolve();
      };
      ws.once('open', () => settle(null));
      ws.once('error', (err) => settle(err));
      ws.once('close', (code) => settle(new Error(`closed during handshake (code ${code})`)));
      ws.once('unexpected-response', (_req, res) => settle(new Error(`HTTP ${res.statusCode} instead of an upgrade`)));
    });
  const lane = async () => {
    while (next < count) {
      const url = urls[next % urls.length];
      next++;
      await openOne(url);
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, count) }, lane));
  return { sockets, failed, firstError };
}

/** Terminates every socket and waits (bounded) for their close events. */
async function closeAll(sockets) {
  const open = sockets.filter((ws) => ws.readyState !== WebSocket.CLOSED);
  const closed = Promise.all(open.map((ws) => new Promise((r) => ws.once('close', r))));
  for (const ws of open) ws.terminate();
  let timer;
  await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
  clearTimeout(timer);
}

async function throughput(cmd) {
  const { format, connections, window, payloadBytes, warmupMs, durationMs } = cmd;
  const urls = urlsOf(cmd);
  const opened = await openConnections(urls, connections);
  if (opened.sockets.length === 0) throw new Error(`no connection opened to ${urls.join(', ')}: ${opened.firstError}`);

  const pad = 'x'.repeat(payloadBytes);
  const payload = (seq) => {
    const head = `#${seq}|`;
    return head.length >= payloadBytes ? head : head + pad.slice(head.length);
  };
  const frame = format === 'nest-envelope' ? (seq) => `{"event":"echo","data":"${payload(seq)}"}` : payload;
  const frameBytes = Buffer.byteLength(frame(0)); // seq 0: the shortest head, so a lower bound when the head grows

  const hist = new Uint32Array(BUCKETS + 1);
  let measured = 0;
  let sent = 0;
  let received = 0;
  let bad = 0;
  let closedEarly = 0;
  let sendErrors = 0;
  let sending = true;

  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const measureFrom = t0 + warmupMs;
  const measureTo = measureFrom + durationMs;

  for (const ws of opened.sockets) {
    const sentAt = new Map(); // seq -> performance.now() at send; at most `window` entries
    let seq = 0;
    const sendNext = () => {
      const s = seq++;
      sentAt.set(s, performance.now());
      sent++;
      ws.send(frame(s), (err) => {
        if (err) sendErrors++;
      });
    };
    ws.on('message', (data) => {
      const now = performance.now();
      received++;
      const text = data.toString();
      const hash = text.indexOf('#');
      const bar = hash < 0 ? -1 : text.indexOf('|', hash);
      const s = bar < 0 ? NaN : Number(text.slice(hash + 1, bar));
      const at = sentAt.get(s);
      if (
        at === undefined ||
        (format === 'raw' && text.length !== payloadBytes) ||
        (format === 'nest-envelope' && !text.startsWith('{"event":"echo","data":"#'))
      ) {
        bad++;
      } else {
        sentAt.delete(s);
        if (now >= measureFrom && now < measureTo) {
          measured++;
          const bucket = Math.floor((now - at) / BUCKET_MS);
          hist[bucket < BUCKETS ? bucket : BUCKETS]++;
        }
      }
      if (sending && sentAt.size < window && ws.readyState === WebSocket.OPEN) sendNext();
    });
    ws.on('close', () => {
      if (sending) closedEarly++;
    });
    ws.on('error', () => undefined); // counted through 'close'
    for (let i = 0; i < window; i++) sendNext();
  }

  await new Promise((r) => setTimeout(r, measureTo - performance.now()));
  const loadCpu = process.cpuUsage(cpu0);
  const loadWallMs = performance.now() - t0;
  sending = false;
  await new Promise((r) => setTimeout(r, DRAIN_MS));
  await closeAll(opened.sockets);

  return {
    connections: opened.sockets.length,
    connectFailed: opened.failed,
    connectFirstError: opened.firstError,
    frameBytesSent: frameBytes,
    measuredEchoes: measured,
    msgsPerSec: measured / (durationMs / 1000),
    p50Ms: percentileOfDense(hist, measured, 0.5),
    p99Ms: percentileOfDense(hist, measured, 0.99),
    hist: toSparse(hist),
    // CPU of this generator while it was sending (warm-up + measured time): near 100 % = saturated
    loadCpu: {
      ms: (loadCpu.user + loadCpu.system) / 1000,
      wallMs: loadWallMs,
      corePercent: (loadCpu.user + loadCpu.system) / 10 / loadWallMs,
    },
    totalSent: sent,
    totalReceived: received,
    badEchoes: bad,
    closedEarly,
    sendErrors,
  };
}

async function openIdle(cmd) {
  const opened = await openConnections(urlsOf(cmd), cmd.count, cmd.localAddress);
  for (const ws of opened.sockets) ws.on('error', () => undefined); // an early close shows in close-idle's count
  idleSockets = idleSockets.concat(opened.sockets);
  return { opened: opened.sockets.length, failed: opened.failed, firstError: opened.firstError };
}

async function closeIdle() {
  const n = idleSockets.length;
  const stillOpen = idleSockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
  await closeAll(idleSockets);
  idleSockets = [];
  return { closed: n, stillOpenBeforeClose: stillOpen };
}

function onTagged(data, isBinary) {
  const recvUs = nowUs();
  if (isBinary || data[0] !== 0x42 /* B */) return;
  const text = data.toString();
  const bar1 = text.indexOf('|');
  const bar2 = bar1 < 0 ? -1 : text.indexOf('|', bar1 + 1);
  if (bar2 < 0) return;
  const tag = text.slice(1, bar1);
  const sentUs = Number(text.slice(bar1 + 1, bar2));
  let t = tags.get(tag);
  if (!t) {
    t = { count: 0, firstRecvUs: recvUs, lastRecvUs: recvUs, hist: new Map() };
    tags.set(tag, t);
  }
  t.count++;
  t.lastRecvUs = recvUs;
  const bucket = Math.min(BUCKETS, Math.max(0, Math.floor((recvUs - sentUs) / 1000 / BUCKET_MS)));
  t.hist.set(bucket, (t.hist.get(bucket) || 0) + 1);
}

async function listen(cmd) {
  const opened = await openConnections(urlsOf(cmd), cmd.count, cmd.localAddress);
  for (const ws of opened.sockets) {
    ws.on('error', () => undefined);
    ws.on('message', onTagged);
    ws.on('ping', () => listenPings++);
  }
  listenSockets = listenSockets.concat(opened.sockets);
  return { opened: opened.sockets.length, failed: opened.failed, firstError: opened.firstError };
}

async function closeListen() {
  const n = listenSockets.length;
  const stillOpen = listenSockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
  await closeAll(listenSockets);
  listenSockets = [];
  tags.clear();
  return { closed: n, stillOpenBeforeClose: stillOpen };
}

async function count(cmd) {
  const t = tags.get(cmd.tag);
  return {
    count: t ? t.count : 0,
    open: listenSockets.filter((ws) => ws.readyState === WebSocket.OPEN).length,
    pings: listenPings,
  };
}

async function take(cmd) {
  const t = tags.get(cmd.tag);
  tags.delete(cmd.tag);
  if (!t) return { count: 0, firstRecvUs: null, lastRecvUs: null, hist: [] };
  return {
    count: t.count,
    firstRecvUs: t.firstRecvUs,
    lastRecvUs: t.lastRecvUs,
    hist: [...t.hist.entries()].sort((a, b) => a[0] - b[0]),
  };
}

async function cpuMarkCmd() {
  cpuMark = { usage: process.cpuUsage(), at: performance.now() };
  return {};
}

async function cpuSince() {
  const c = process.cpuUsage(cpuMark.usage);
  const ms = (c.user + c.system) / 1000;
  const wallMs = performance.now() - cpuMark.at;
  return { ms, wallMs, corePercent: (ms / Math.max(1, wallMs)) * 100 };
}

const commands = {
  throughput,
  'open-idle': openIdle,
  'close-idle': closeIdle,
  listen,
  'close-listen': closeListen,
  count,
  take,
  'cpu-mark': cpuMarkCmd,
  'cpu-since': cpuSince,
};

process.on('message', (msg) => {
  const handler = commands[msg && msg.cmd];
  if (!handler) {
    process.send({ id: msg && msg.id, ok: false, error: `unknown command ${msg && msg.cmd}` });
    return;
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  handler(msg).then(
    (result) => {
      const c = process.cpuUsage(cpu0);
      const ms = (c.user + c.system) / 1000;
      const wallMs = performance.now() - t0;
      process.send({
        id: msg.id,
        ok: true,
        result: { ...result, cpu: { ms, wallMs, corePercent: (ms / Math.max(1, wallMs)) * 100 } },
      });
    },
    (err) => process.send({ id: msg.id, ok: false, error: err && err.message ? err.message : String(err) }),
  );
});

// The parent going away (IPC closed) ends this process: nothing here may outlive run.js.
process.on('disconnect', () => process.exit(0));
