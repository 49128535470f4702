'use strict';
/**
 * Reference for the broadcast and push scenarios: a bare `ws` server (perMessageDeflate off, 127.0.0.1, an
 * ephemeral port) that plays the gateway's part with nothing in between.
 *
 * Ordinary clients connect to `/` and only receive. A sender (bench/sender.js, a separate process, like the SDK
 * process for our cluster) connects to `/control` and sends one JSON text message per operation:
 *   {"op":"bind","groups":G}          connection k (in accept order) gets uid "u<k>" and group "g<k % G>";
 *                                      answered with {"op":"bound","clients":n}
 *   {"op":"all","data":"<text>"}      frame-once broadcast: the WebSocket frame is built once with ws's
 *                                      Sender.frame() and the same bytes are written to every client socket
 *   {"op":"uid","uid":"u7","data":..} send to the connections bound to that uid
 *   {"op":"group","group":"g3","data":..}  frame once, write to every member of the group
 *   {"op":"count"}                     answered with {"op":"count","clients":n}
 * Writing prebuilt frames goes to the client's net.Socket directly (ws has no public API for a prebuilt frame);
 * nothing else is ever sent on these sockets, so no frame can interleave with ws's own writes.
 *
 * BENCH_BROADCAST_CORK=1 (target F, the "fair" reference): each client socket is corked on its first write of a
 * turn and every corked socket is uncorked once the turn's code is done (process.nextTick), so all frames a client
 * gets within one turn (a burst) leave in one writev, as the gateway does. Without it (target R) every frame is a
 * write of its own.
 *
 * Prints `BENCH_READY ws://127.0.0.1:<port>` once listening. Stops on SIGTERM/SIGINT.
 */
const { WebSocketServer, Sender } = require('ws');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false });
const clients = new Set(); // ws of ordinary clients, in accept order (Set keeps insertion order)
const byUid = new Map(); // uid -> Set<ws>
const byGroup = new Map(); // group -> Set<ws>

/** One text frame, built once: header and payload concatenated into one buffer, written as is to every socket. */
function frameOnce(text) {
  const data = Buffer.from(text);
  const parts = Sender.frame(data, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false });
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

const CORK = process.env.BENCH_BROADCAST_CORK === '1';
const corked = [];

function uncorkAll() {
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}

function writeTo(recipients, frame) {
  if (!recipients) return;
  for (const ws of recipients) {
    const socket = ws._socket;
    if (!socket || ws.readyState !== 1) continue;
    if (CORK && socket.writableCorked === 0) {
      socket.cork();
      if (corked.push(socket) === 1) process.nextTick(uncorkAll);
    }
    socket.write(frame);
  }
}

function control(ws, raw) {
  let msg;
  try {
    msg = JSON.parse(raw.toString());
  } catch {
    return;
  }
  switch (msg.op) {
    case 'all':
      writeTo(clients, frameOnce(msg.data));
      break;
    case 'uid':
      writeTo(byUid.get(msg.uid), frameOnce(msg.data));
      break;
    case 'group':
      writeTo(byGroup.get(msg.group), frameOnce(msg.data));
      break;
    case 'bind': {
      byUid.clear();
      byGroup.clear();
      let k = 0;
      for (const c of clients) {
        const uid = `u${k}`;
        const group = `g${k % msg.groups}`;
        byUid.set(uid, new Set([c]));
        if (!byGroup.has(group)) byGroup.set(group, new Set());
        byGroup.get(group).add(c);
        c.benchUid = uid;
        c.benchGroup = group;
        k++;
      }
      ws.send(JSON.stringify({ op: 'bound', clients: k }));
      break;
    }
    case 'count':
      ws.send(JSON.stringify({ op: 'count', clients: clients.size }));
      break;
    default:
      break;
  }
}

wss.on('connection', (ws, req) => {
  ws.on('error', () => ws.terminate());
  if (req.url === '/control') {
    ws.on('message', (data) => control(ws, data));
    return;
  }
  clients.add(ws);
  ws.on('close', () => {
    clients.delete(ws);
    if (ws.benchUid) byUid.get(ws.benchUid)?.delete(ws);
    if (ws.benchGroup) byGroup.get(ws.benchGroup)?.delete(ws);
  });
});
wss.on('error', (err) => {
  console.error(`ws-broadcast-server: ${err.message}`);
  process.exit(1);
});
wss.on('listening', () => {
  console.log(`BENCH_READY ws://127.0.0.1:${wss.address().port}`);
});

const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
