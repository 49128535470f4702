import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { WebSocket, WebSocketServer, type WebSocket as PeerSocket } from 'ws';
import { ConnectionClosedError, NotConnectedError, RequestError, RequestTimeoutError } from './errors.js';
import { GatewayWorkerClient, type ClientHooks, type GatewayWorkerClientOptions } from './gateway-worker-client.js';

/**
 * The client's logic against a scripted peer: a real `ws` server on 127.0.0.1 that each test tells what to answer,
 * which close code to use, or to stay silent, so that every branch of the reconnect policy and the liveness check
 * can be reached on demand. What the real gateway and workers answer is tested end to end in
 * test/client-library.e2e-spec.ts.
 */
jest.setTimeout(20_000);

const WAIT_MS = 8_000;

async function until<T>(probe: () => T | undefined | false, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The peer: records connections (with their URL) and the text messages each one sent. */
class Peer {
  readonly server: WebSocketServer;
  readonly connections: { socket: PeerSocket; url: string; received: string[] }[] = [];
  /** Answers `$ping` with `$pong`, as the gateway does (tests of the liveness check turn it off). */
  answerPings = true;

  private constructor(server: WebSocketServer) {
    this.server = server;
    server.on('connection', (socket, req) => {
      const connection = { socket, url: req.url ?? '', received: [] as string[] };
      this.connections.push(connection);
      socket.on('message', (data, binary) => {
        const text = binary ? `binary:${(data as Buffer).toString('hex')}` : data.toString();
        connection.received.push(text);
        if (text === '$ping' && this.answerPings) socket.send('$pong');
      });
    });
  }

  static async start(): Promise<Peer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return new Peer(server);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  /** The n-th connection (from 0), waiting for it. */
  connection(n: number) {
    return until(() => this.connections[n], `connection ${n + 1} to the peer`);
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A client with ws, fast retries and a hooks log; closed after each test. */
function clientOf(url: string, options: GatewayWorkerClientOptions = {}) {
  const events: string[] = [];
  const client = new GatewayWorkerClient(url, {
    WebSocket,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    liveness: false,
    ...options,
  });
  const log = <K extends keyof ClientHooks>(name: K, text: (e: ClientHooks[K]) => string) =>
    client.hook(name, (e) => events.push(`${name} ${text(e)}`.trim()));
  log('connected', (e) => (e.reconnected ? 'again' : 'first'));
  log('disconnected', (e) => `${e.code} ${e.willReconnect ? 'will reconnect' : 'stays closed'}`);
  log('reconnecting', () => '');
  clients.push(client);
  return { client, events };
}

const clients: GatewayWorkerClient[] = [];
let peer: Peer;

beforeEach(async () => {
  peer = await Peer.start();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await peer.close();
});

describe('GatewayWorkerClient (against a scripted ws peer)', () => {
  it('routes JSON messages by type, other text and binary to their handlers; sends JSON, text and binary', async () => {
    const { client } = clientOf(peer.url);
    const got: unknown[] = [];
    client.on('say', (m) => got.push(['say', m]));
    client.onMessage((m) => got.push(['message', m.type]));
    client.onText((t) => got.push(['text', t]));
    client.onBinary((b) => got.push(['binary', Buffer.from(b).toString('hex')]));
    await client.connect();
    const server = await peer.connection(0);
    server.socket.send('{"type":"say","content":"hi"}');
    server.socket.send('{"type":"other"}');
    server.socket.send('plain');
    server.socket.send('[1,2]');
    server.socket.send(Buffer.from([1, 2, 255]));
    server.socket.send('$pong'); // liveness only: no handler sees it
    await until(() => got.length >= 6, 'six deliveries');
    expect(got).toEqual([
      ['say', { type: 'say', content: 'hi' }],
      ['message', 'say'],
      ['message', 'other'],
      ['text', 'plain'],
      ['text', '[1,2]'],
      ['binary', '0102ff'],
    ]);
    expect([
      client.send({ type: 'say', content: 'yo' }),
      client.sendText('raw'),
      client.sendBinary(new Uint8Array([7])),
    ]).toEqual([true, true, true]);
    await until(() => server.received.length >= 3, 'three messages at the peer');
    expect(server.received).toEqual(['{"type":"say","content":"yo"}', 'raw', 'binary:07']);
  });

  it('request: carries $rid, resolves with the data of the envelope echoing it, rejects with its error, or times out', async () => {
    const { client } = clientOf(peer.url);
    await client.connect();
    const server = await peer.connection(0);
    server.socket.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { type: string; $rid: number };
      if (m.type === 'get') server.socket.send(JSON.stringify({ $rid: m.$rid, data: { n: 1 } }));
      if (m.type === 'bad')
        server.socket.send(JSON.stringify({ $rid: m.$rid, error: 'name must be a string', statusCode: 400 }));
      // 'slow' gets its answer after the request timed out.
      if (m.type === 'slow') setTimeout(() => server.socket.send(JSON.stringify({ $rid: m.$rid, data: 'late' })), 300);
    });
    const late: unknown[] = [];
    client.onMessage((m) => late.push(m));
    await expect(client.request({ type: 'get', q: 1 })).resolves.toEqual({ n: 1 });
    expect(JSON.parse(server.received[0])).toEqual({ type: 'get', q: 1, $rid: 1 });
    const bad = await client.request({ type: 'bad' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(RequestError);
    expect(bad).toMatchObject({ message: 'name must be a string', statusCode: 400, type: 'bad' });
    const slow = await client.request({ type: 'slow' }, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(RequestTimeoutError);
    // The late reply comes 200 ms after the timeout; a message sent after it marks when it has surely arrived.
    await new Promise((r) => setTimeout(r, 300));
    server.socket.send('{"type":"marker"}');
    await until(() => late.length > 0, 'the marker');
    expect(late).toEqual([{ type: 'marker' }]); // the late reply was recognised as ours and dropped
  });

  it('rejects requests in flight when the connection ends, and refuses new ones until it is open again', async () => {
    const { client } = clientOf(peer.url);
    await client.connect();
    const server = await peer.connection(0);
    const pending = client.request({ type: 'never' }).catch((e: unknown) => e);
    await until(() => server.received.length === 1, 'the request at the peer');
    server.socket.close(1013, 'no worker available');
    const error = await pending;
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).toMatchObject({ code: 1013, reason: 'no worker available' });
    expect(client.state).toBe('reconnecting');
    await expect(client.request({ type: 'x' })).rejects.toBeInstanceOf(NotConnectedError);
    expect(client.send({ type: 'x' })).toBe(false);
  });

  it('a request on a connection that is already closing rejects with NotConnectedError at once, nothing sent', async () => {
    const { client } = clientOf(peer.url, { reconnect: false });
    await client.connect();
    const server = await peer.connection(0);
    // The socket closing before the client's close event: what a close frame from the gateway leaves for a moment.
    (client as unknown as { socket: { close(code: number): void } }).socket.close(1000);
    expect(client.state).toBe('open');
    const error = await client.request({ type: 'late' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotConnectedError);
    expect(error).toMatchObject({ state: 'closing' });
    expect(client.send({ type: 'late' })).toBe(false);
    await until(() => client.state === 'closed', 'the close');
    expect(server.received).toEqual([]);
  });

  it.each([
    [1001, 'gateway shutting down'],
    [1013, 'no worker available'],
    [4008, 'slow consumer'],
    [4009, 'heartbeat timeout'],
  ])('reconnects after %i (%s), with a reconnecting hook, and says so in connected', async (code, reason) => {
    const { client, events } = clientOf(peer.url);
    await client.connect();
    (await peer.connection(0)).socket.close(code, reason);
    await peer.connection(1);
    await until(() => events.includes('connected again'), 'the reconnect');
    expect(events).toEqual([
      'connected first',
      `disconnected ${code} will reconnect`,
      'reconnecting',
      'connected again',
    ]);
  });

  it('reconnects after the connection is lost without a close frame (1006)', async () => {
    const { client, events } = clientOf(peer.url);
    await client.connect();
    (await peer.connection(0)).socket.terminate();
    await until(() => events.includes('connected again'), 'the reconnect');
    expect(events).toEqual(['connected first', 'disconnected 1006 will reconnect', 'reconnecting', 'connected again']);
  });

  it.each([
    [4403, 'Forbidden'],
    [4401, 'bad token'],
    [1009, 'message too big (limit 10 bytes)'],
    [1008, 'message rate limit exceeded'],
    [1000, 'bye'],
  ])('stays closed after %i (%s)', async (code, reason) => {
    const { client, events } = clientOf(peer.url);
    await client.connect();
    (await peer.connection(0)).socket.close(code, reason);
    await until(() => client.state === 'closed', 'the client to close');
    await new Promise((r) => setTimeout(r, 300)); // longer than any retry delay here
    expect(peer.connections).toHaveLength(1);
    expect(events).toEqual(['connected first', `disconnected ${code} stays closed`]);
  });

  it('shouldReconnect overrides the policy', async () => {
    const { client, events } = clientOf(peer.url, {
      reconnect: { initialDelayMs: 50, shouldReconnect: ({ code }) => code === 4503 },
    });
    await client.connect();
    (await peer.connection(0)).socket.close(4503, 'maintenance');
    await until(() => events.includes('connected again'), 'the reconnect after 4503');
  });

  it('connect() waits for a gateway that is not up yet; close() stops for good and rejects a waiting connect()', async () => {
    const port = (peer.server.address() as AddressInfo).port;
    await peer.close();
    const { client, events } = clientOf(`ws://127.0.0.1:${port}/`);
    const opened = client.connect();
    await until(() => events.filter((e) => e === 'reconnecting').length >= 2, 'two failed attempts');
    expect(events.slice(0, 2)).toEqual(['disconnected 1006 will reconnect', 'reconnecting']);
    client.close();
    await expect(opened).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(client.state).toBe('closed');
    peer = await Peer.start(); // for afterEach
  });

  it('gives up an attempt whose upgrade is never answered (connect timeout, 1006) and retries', async () => {
    // A TCP server that accepts and never answers: what a stopped gateway looks like to a new connection.
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { client, events } = clientOf(`ws://127.0.0.1:${(silent.address() as AddressInfo).port}/`, {
        connectTimeoutMs: 200,
      });
      const disconnected: ClientHooks['disconnected'][] = [];
      client.hook('disconnected', (e) => disconnected.push(e));
      void client.connect().catch(() => undefined);
      await until(() => sockets.length >= 2, 'a second attempt');
      expect(disconnected[0]).toEqual({
        code: 1006,
        reason: 'connect timeout (200 ms)',
        wasOpen: false,
        willReconnect: true,
      });
      expect(events[1]).toBe('reconnecting');
      client.close();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('liveness: pings a quiet link; an answered ping keeps it, an unanswered one ends it (1006) and reconnects', async () => {
    const { client, events } = clientOf(peer.url, { liveness: { intervalMs: 100, timeoutMs: 150 } });
    await client.connect();
    const first = await peer.connection(0);
    await until(() => first.received.filter((m) => m === '$ping').length >= 3, 'three answered pings');
    expect(events).toEqual(['connected first']);
    peer.answerPings = false;
    await until(() => events.includes('connected again'), 'the reconnect after the unanswered ping');
    expect(events).toEqual(['connected first', 'disconnected 1006 will reconnect', 'reconnecting', 'connected again']);
    expect(first.socket.readyState).not.toBe(WebSocket.OPEN); // the dead link was let go
  });

  it('resume: keeps the last $offset of pushed messages and sends it in the query of the next connection', async () => {
    const offsets: unknown[] = [];
    const { client, events } = clientOf(peer.url, { resume: { onOffset: (o) => offsets.push(o) } });
    await client.connect();
    const first = await peer.connection(0);
    expect(first.url).toBe('/');
    first.socket.send('{"type":"say","content":"a","$offset":"17-0"}');
    first.socket.send('{"type":"say","content":"b","$offset":"18-0"}');
    await until(() => client.offset === '18-0', 'the offset');
    first.socket.close(1001, 'gateway shutting down');
    const second = await peer.connection(1);
    expect(second.url).toBe('/?resume=18-0');
    await until(() => events.includes('connected again'), 'the reconnect');
    expect(offsets).toEqual(['17-0', '18-0']);
  });

  it("resume: a request's reply data carrying positions ($offsets, or $offset + $stream) is kept like a push", async () => {
    const { client } = clientOf(peer.url, { resume: true });
    await client.connect();
    const server = await peer.connection(0);
    server.socket.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { type: string; $rid: number };
      if (m.type === 'login')
        server.socket.send(
          JSON.stringify({ $rid: m.$rid, data: { type: 'welcome', $offsets: { 'group:lobby': 'e1:4' } } }),
        );
      if (m.type === 'uid')
        server.socket.send(JSON.stringify({ $rid: m.$rid, data: { $offset: 'u1:2', $stream: 'uid:7' } }));
      if (m.type === 'list') server.socket.send(JSON.stringify({ $rid: m.$rid, data: [{ $offset: 'x:1' }] }));
    });
    expect(await client.request({ type: 'login' })).toEqual({ type: 'welcome', $offsets: { 'group:lobby': 'e1:4' } });
    await client.request({ type: 'uid' });
    await client.request({ type: 'list' }); // not an object: nothing kept
    expect(client.offsets).toEqual({ 'group:lobby': 'e1:4', 'uid:7': 'u1:2' });
    expect(client.offset).toBe('u1:2');
  });

  it('a URL function is called for every attempt', async () => {
    let n = 0;
    const dynamic = new GatewayWorkerClient(() => `${peer.url}?n=${++n}`, {
      WebSocket,
      reconnect: { initialDelayMs: 50 },
    });
    clients.push(dynamic);
    await dynamic.connect();
    expect((await peer.connection(0)).url).toBe('/?n=1');
    (await peer.connection(0)).socket.close(1001);
    expect((await peer.connection(1)).url).toBe('/?n=2');
  });

  it('a handler that throws does not stop the others; the error hook hears of it', async () => {
    const { client } = clientOf(peer.url);
    const errors: string[] = [];
    const got: string[] = [];
    client.hook('error', (e) => errors.push(`${e.during}: ${(e.error as Error).message}`));
    client.on('say', () => {
      throw new Error('boom');
    });
    client.on('say', () => got.push('second handler'));
    await client.connect();
    (await peer.connection(0)).socket.send('{"type":"say"}');
    await until(() => got.length === 1, 'the second handler');
    expect(errors).toEqual(['the "say" handler: boom']);
  });
});
