'use strict';
/**
 * Target A: a bare `ws` WebSocketServer that echoes every message back (text as text, binary as binary),
 * perMessageDeflate off, on 127.0.0.1 and an ephemeral port. Prints `BENCH_READY ws://127.0.0.1:<port>`
 * once listening. Stops on SIGTERM/SIGINT.
 */
const { WebSocketServer } = require('ws');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});
wss.on('error', (err) => {
  console.error(`ws-echo-server: ${err.message}`);
  process.exit(1);
});
wss.on('listening', () => {
  console.log(`BENCH_READY ws://127.0.0.1:${wss.address().port}`);
});

const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
