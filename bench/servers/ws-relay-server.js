'use strict';
/**
 * Target T: the floor of any two-process echo design — a bare `ws` front that relays every client message over
 * one TCP connection to a second process (the back), which sends it straight back, and the front writes it to its
 * client. No encryption, no envelope beyond a length prefix, no framework: what the gateway's client syscalls plus
 * one hop to a worker cost on this machine. Both directions coalesce writes per event-loop turn (setImmediate),
 * as our inner links do.
 *
 * Frame on the link: u32 connection id, u32 (payload length << 1 | binary), payload.
 *
 * Target TE (BENCH_RELAY_SEAL=1 on both processes, the same BENCH_RELAY_KEY, 64 hex digits): the same floor with
 * the link sealed by our own record layer (packages/nest-gateway-worker/dist/protocol/record-layer.js, as built):
 * each turn's writes become one AES-256-GCM record, as on our inner links, and every record read is opened; the
 * back opens, echoes and seals again, as a worker does. What the mandatory encryption adds to the floor.
 *
 *   BENCH_RELAY_ROLE=back   listens on 127.0.0.1:0, prints `BENCH_BACK_READY <port>`
 *   (default: front)        connects to 127.0.0.1:BENCH_RELAY_BACK_PORT, then listens for WebSocket clients
 *                           (perMessageDeflate off) and prints `BENCH_READY ws://127.0.0.1:<port>`
 * Stops on SIGTERM/SIGINT.
 */
const net = require('node:net');

const HEADER = 8;

/**
 * The link's record layer when BENCH_RELAY_SEAL=1: { seal(buf) → record, open(chunk) → plaintexts }, keyed per
 * direction by deriveLinkKeys from BENCH_RELAY_KEY (no handshake: both processes are given the key); null otherwise.
 */
function linkCipher(role) {
  if (process.env.BENCH_RELAY_SEAL !== '1') return null;
  const path = require('node:path');
  const { createHash } = require('node:crypto');
  const { RecordSealer, RecordOpener, deriveLinkKeys, HELLO_MAGIC } = require(
    path.join(__dirname, '..', '..', 'packages', 'nest-gateway-worker', 'dist', 'protocol', 'record-layer.js'),
  );
  const key = Buffer.from(process.env.BENCH_RELAY_KEY || '', 'hex');
  if (key.length !== 32) throw new Error('BENCH_RELAY_KEY must be 64 hex digits');
  // The link's keys as our handshake derives them, from hellos both sides can compute (no round trip here).
  const hello = (side) => Buffer.concat([HELLO_MAGIC, createHash('sha256').update(key).update(side).digest()]);
  const keys =
    role === 'front'
      ? deriveLinkKeys(key, 'initiator', hello('front'), hello('back'))
      : deriveLinkKeys(key, 'responder', hello('back'), hello('front'));
  const sealer = new RecordSealer(keys.sealKey, keys.sealSalt);
  const opener = new RecordOpener(keys.openKey, keys.openSalt);
  return { seal: (buf) => sealer.seal(buf), open: (chunk) => opener.push(chunk) };
}

/** Per-turn write coalescing for one socket: push buffers, one write at setImmediate. */
function coalescer(socket, cipher) {
  let chunks = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const out = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    chunks = [];
    socket.write(cipher === null ? out : cipher.seal(out));
  };
  return (buf) => {
    chunks.push(buf);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

const EMPTY = Buffer.alloc(0);

/** Where the complete frames at the start of `buf` end. */
function completeEnd(buf) {
  let at = 0;
  while (buf.length - at >= HEADER) {
    const end = at + HEADER + (buf.readUInt32LE(at + 4) >>> 1);
    if (end > buf.length) break;
    at = end;
  }
  return at;
}

/** A reader of link frames: feed(chunk) calls onFrame(id, binary, payload) for every complete one. */
function frameReader(onFrame) {
  let pending = EMPTY;
  return (chunk) => {
    const buf = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    const end = completeEnd(buf);
    for (let at = 0; at < end;) {
      const lf = buf.readUInt32LE(at + 4);
      const next = at + HEADER + (lf >>> 1);
      onFrame(buf.readUInt32LE(at), (lf & 1) === 1, buf.subarray(at + HEADER, next));
      at = next;
    }
    pending = end === buf.length ? EMPTY : buf.subarray(end);
  };
}

const fail = (what) => (err) => {
  console.error(`ws-relay-server ${what}: ${err.message}`);
  process.exit(1);
};

if (process.env.BENCH_RELAY_ROLE === 'back') {
  // The back: echoes every complete frame as it is, one write per turn.
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const cipher = linkCipher('back');
    const send = coalescer(socket, cipher);
    let pending = EMPTY;
    const echo = (chunk) => {
      const buf = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const end = completeEnd(buf);
      if (end > 0) send(buf.subarray(0, end));
      pending = end === buf.length ? EMPTY : buf.subarray(end);
    };
    socket.on('data', (chunk) => {
      if (cipher === null) return echo(chunk);
      for (const plain of cipher.open(chunk)) echo(plain);
    });
    socket.on('error', () => socket.destroy());
  });
  server.on('error', fail('back'));
  server.listen(0, '127.0.0.1', () => console.log(`BENCH_BACK_READY ${server.address().port}`));
} else {
  const { WebSocketServer } = require('ws');
  const link = net.connect(Number(process.env.BENCH_RELAY_BACK_PORT), '127.0.0.1');
  link.setNoDelay(true);
  link.on('error', fail('link'));
  const cipher = linkCipher('front');
  const toBack = coalescer(link, cipher);
  const clients = new Map();
  let nextId = 1;
  const read = frameReader((id, binary, payload) => {
    const ws = clients.get(id);
    if (ws) ws.send(payload, { binary });
  });
  link.on('data', (chunk) => {
    if (cipher === null) return read(chunk);
    for (const plain of cipher.open(chunk)) read(plain);
  });
  link.on('connect', () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false });
    wss.on('connection', (ws) => {
      const id = nextId++;
      clients.set(id, ws);
      ws.on('message', (data, isBinary) => {
        const frame = Buffer.allocUnsafe(HEADER + data.length);
        frame.writeUInt32LE(id, 0);
        frame.writeUInt32LE((data.length << 1) | (isBinary ? 1 : 0), 4);
        data.copy(frame, HEADER);
        toBack(frame);
      });
      ws.on('close', () => clients.delete(id));
      ws.on('error', () => ws.terminate());
    });
    wss.on('error', fail('front'));
    wss.on('listening', () => console.log(`BENCH_READY ws://127.0.0.1:${wss.address().port}`));
  });
}

const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
