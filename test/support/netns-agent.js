'use strict';
/**
 * A test agent that runs inside one host of a NetnsLab (`ip netns exec … node netns-agent.js`): a small HTTP server
 * on the host's mesh address that the test (in the root namespace) drives with JSON requests, so that WebSocket
 * clients and GatewayClients live on their own "hosts" and are cut off with them. Plain CommonJS, run by node itself
 * (the built package: `nest-gateway-worker/internal` resolves to packages/nest-gateway-worker/dist).
 *
 *   AGENT_LISTEN=<ip>            where to listen (port: any free one); prints "agent ready http://<ip>:<port>"
 *   AGENT_ROLE=clients           WebSocket clients: open / send / received / close
 *   AGENT_ROLE=sdk               a standalone GatewayClient (GatewayClientPool) from SECRET_KEY, GATEWAY_BACKPLANE,
 *                                GATEWAY_BACKPLANE_TIMEOUT_MS, GATEWAY_BACKPLANE_CACHE, REGISTER_ADDRESS, GATEWAY_TIMEOUT_MS: call / sendMany / stats
 *
 * Bounded: request bodies up to 1 MiB, at most 200 clients, at most 5 000 sends per request. Exits on SIGTERM.
 */
const http = require('node:http');
const { WebSocket } = require('ws');

const MAX_BODY_BYTES = 1 << 20;
const MAX_CLIENTS = 200;
const MAX_SENDS = 5_000;
const OPEN_TIMEOUT_MS = 5_000;

const role = process.env.AGENT_ROLE;
const listen = process.env.AGENT_LISTEN;
if (!listen || (role !== 'clients' && role !== 'sdk')) {
  console.error('netns-agent: AGENT_LISTEN and AGENT_ROLE=clients|sdk are required');
  process.exit(2);
}

/** An error as data (name and message), for the test to assert on. */
function errorData(err) {
  return { name: err && err.name ? err.name : 'Error', message: err && err.message ? err.message : String(err) };
}

// ---- clients ------------------------------------------------------------------------------------------
const clients = [];

function openClient(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const entry = { url, ws, received: [], closeCode: null };
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`could not open ${url} within ${OPEN_TIMEOUT_MS} ms`));
    }, OPEN_TIMEOUT_MS);
    ws.on('message', (data) => entry.received.push(data.toString('utf8')));
    ws.on('close', (code) => (entry.closeCode = code));
    ws.on('error', () => undefined);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(entry);
    });
  });
}

const clientOps = {
  /** Opens `n` clients to `url` one after the other (the gateway numbers them in that order); their indices. */
  async open({ url, n }) {
    if (clients.length + n > MAX_CLIENTS) throw new Error(`at most ${MAX_CLIENTS} clients`);
    const out = [];
    for (let i = 0; i < n; i++) {
      clients.push(await openClient(url));
      out.push(clients.length - 1);
    }
    return out;
  },
  /** Sends each text from client `i`. */
  async send({ i, texts }) {
    if (texts.length > MAX_SENDS) throw new Error(`at most ${MAX_SENDS} texts`);
    for (const t of texts) clients[i].ws.send(t);
    return texts.length;
  },
  /** What each client received so far (texts), its close code, and whether it is open. */
  async received() {
    return clients.map((c) => ({ received: c.received, closeCode: c.closeCode, open: c.ws.readyState === 1 }));
  },
  async close({ i }) {
    clients[i].ws.terminate();
    return true;
  },
};

// ---- sdk ----------------------------------------------------------------------------------------------
let pool = null;
const failures = [];

function sdk() {
  if (pool) return pool;
  const { GatewayClientPool, resolveGatewayClientOptions } = require('nest-gateway-worker/internal');
  const env = process.env;
  pool = new GatewayClientPool(
    resolveGatewayClientOptions({
      secret: env.SECRET_KEY,
      backplane: {
        url: env.GATEWAY_BACKPLANE,
        timeoutMs: Number(env.GATEWAY_BACKPLANE_TIMEOUT_MS || 50),
        ...(env.GATEWAY_BACKPLANE_CACHE ? { cache: env.GATEWAY_BACKPLANE_CACHE } : {}),
      },
      ...(env.REGISTER_ADDRESS ? { registers: env.REGISTER_ADDRESS } : {}),
      ...(env.GATEWAY_TIMEOUT_MS ? { timeoutMs: Number(env.GATEWAY_TIMEOUT_MS) } : {}),
    }),
  );
  pool.client.failures.subscribe((f) => {
    if (failures.length < 1_000)
      failures.push({ operation: f.operation, gatewayAddress: f.gatewayAddress, ...errorData(f.error) });
  });
  return pool;
}

const sdkOps = {
  /** One GatewayClient method: its value or its error as data, and how long it took to settle (ms). */
  async call({ method, args }) {
    const client = sdk().client;
    if (typeof client[method] !== 'function') throw new Error(`no GatewayClient method ${method}`);
    const start = process.hrtime.bigint();
    try {
      const value = await client[method](...(args || []));
      return { ok: true, value: value === undefined ? null : value, ms: Number(process.hrtime.bigint() - start) / 1e6 };
    } catch (err) {
      return { ok: false, error: errorData(err), ms: Number(process.hrtime.bigint() - start) / 1e6 };
    }
  },
  /**
   * `count` sendToUid calls, one after the other, round-robin over `uids`; message i to uid u is
   * "<prefix>|<u>|<i>". Resolves with the time it took; a call that rejects stops the batch (its error returned).
   */
  async sendMany({ uids, count, prefix }) {
    if (count > MAX_SENDS) throw new Error(`at most ${MAX_SENDS} sends`);
    const client = sdk().client;
    const start = Date.now();
    for (let i = 0; i < count; i++) {
      const uid = uids[i % uids.length];
      try {
        await client.sendToUid(uid, `${prefix}|${uid}|${i}`);
      } catch (err) {
        return { sent: i, ms: Date.now() - start, error: errorData(err) };
      }
    }
    return { sent: count, ms: Date.now() - start };
  },
  /**
   * The backplane's counters, its discovery's (list reads, notices received, subscriber connections its heartbeat
   * reopened), which of `addresses` it sees in sync, and the failures seen so far.
   */
  async stats({ addresses }) {
    const p = sdk();
    const synced = Object.fromEntries((addresses || []).map((a) => [a, p.backplane.watch.isSynced(a)]));
    const w = p.backplane.watch;
    return {
      backplane: p.backplane.stats,
      watch: { reads: w.reads, notices: w.notices, reopened: w.heartbeat.reopened },
      synced,
      failures: failures.length,
      lastFailures: failures.slice(-5),
    };
  },
};

// ---- server -------------------------------------------------------------------------------------------
const ops = role === 'clients' ? clientOps : sdkOps;
const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY_BYTES) req.destroy();
    else chunks.push(c);
  });
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      res.writeHead(400).end(JSON.stringify({ error: { name: 'BadRequest', message: 'body is not JSON' } }));
      return;
    }
    const op = ops[req.url.slice(1)];
    if (!op) {
      res.writeHead(404).end(JSON.stringify({ error: { name: 'NotFound', message: req.url } }));
      return;
    }
    op(body).then(
      (result) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result })),
      (err) =>
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: errorData(err) })),
    );
  });
});
server.listen(0, listen, () => {
  if (role === 'sdk') sdk();
  console.log(`agent ready http://${listen}:${server.address().port}`);
});

process.once('SIGTERM', () => {
  server.close();
  for (const c of clients) c.ws.terminate();
  const done = pool ? pool.onModuleDestroy() : Promise.resolve();
  void done.finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
});
