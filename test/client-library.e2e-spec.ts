import { GatewayContext, Handshake, OnClientConnect, OnClientMessage, type WorkerOptions } from 'nest-gateway-worker';
import {
  GatewayWorkerClient,
  RequestError,
  type ClientHooks,
  type GatewayWorkerClientOptions,
} from 'nest-gateway-worker-client';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { Ctx } from '@nestjs/microservices';
import { WebSocket } from 'ws';
import { eventually, within } from './support/eventually';
import { startInProcessWorker } from './support/in-process-worker';
import { startGateway, startRegister, startWorker, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * nest-gateway-worker-client in Node (with `ws`) against real register, gateway and worker processes: requests
 * answered by the example worker's handlers (validation errors included), the gateway's own `$pong`, reconnects after
 * a gateway restart, the liveness check finding a SIGSTOPped gateway, and the resume offset reaching a worker's
 * connect handler.
 */

type Hooked = { client: GatewayWorkerClient; events: string[]; disconnects: ClientHooks['disconnected'][] };

const clients: GatewayWorkerClient[] = [];

/** A client with ws and a log of its hooks; closed after each test. */
function newClient(url: string, options: GatewayWorkerClientOptions = {}): Hooked {
  const client = new GatewayWorkerClient(url, {
    WebSocket,
    reconnect: { initialDelayMs: 200, maxDelayMs: 1000 },
    ...options,
  });
  const events: string[] = [];
  const disconnects: ClientHooks['disconnected'][] = [];
  client.hook('connected', (e) => events.push(e.reconnected ? 'connected again' : 'connected'));
  client.hook('disconnected', (e) => {
    disconnects.push(e);
    events.push(`disconnected ${e.code}`);
  });
  clients.push(client);
  return { client, events, disconnects };
}

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await stopAll();
});

describe('nest-gateway-worker-client against the example worker', () => {
  let register: { proc: RoleProcess; address: string };
  let gateway: { proc: RoleProcess; url: string; inner: string };

  beforeAll(async () => {
    register = await startRegister();
    gateway = await startGateway(register.address);
    await startWorker(register.address, {}, gateway.inner);
  });

  it("resolves requests with the handlers' return values and rejects with their validation errors", async () => {
    const { client } = newClient(gateway.url);
    await client.connect();
    const notLoggedIn = await client.request({ type: 'say', content: 'hi' }).catch((e: unknown) => e);
    expect(notLoggedIn).toBeInstanceOf(RequestError);
    expect(notLoggedIn).toMatchObject({ message: 'login first', statusCode: 400, type: 'say' });
    const invalid = await client.request({ type: 'login', name: '', room: 'lobby!' }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(RequestError);
    expect((invalid as RequestError).message).toBe(
      'name must be longer than or equal to 1 characters; room must be 1-64 letters, digits, "_", "." or "-"',
    );
    const welcome = (await client.request({ type: 'login', name: 'Ann', room: 'lib' })) as Record<string, unknown>;
    expect(welcome).toMatchObject({ type: 'welcome', room: 'lib' });
    const me = welcome.client_id as string;
    expect(welcome.client_list).toEqual({ [me]: 'Ann' });
    // A room message: the handler returns nothing (undefined), and the message itself comes through the room.
    const said = new Promise<Record<string, unknown>>((resolve) => client.on('say', resolve));
    await expect(client.request({ type: 'say', content: 'hello' })).resolves.toBeUndefined();
    await expect(within(said, 'the room message')).resolves.toMatchObject({ from_client_id: me, content: 'hello' });
    await expect(client.request({ type: 'online' })).resolves.toEqual({
      type: 'online',
      room: 'lib',
      client_list: { [me]: 'Ann' },
    });
    await expect(client.request({ type: 'process' })).resolves.toMatchObject({ type: 'process' });
    // No typed handler: the example's catch-all echo answers with the message as it was sent.
    const echoed = await client.request({ type: 'nope', n: 1 });
    expect(JSON.parse(echoed as string)).toEqual({ type: 'nope', n: 1, $rid: expect.any(Number) });
  });

  it('plain messages and plain clients are unchanged: say/send, and the plain {type:"error"} reply', async () => {
    const { client } = newClient(gateway.url);
    const errors: unknown[] = [];
    client.on('error', (m) => errors.push(m));
    await client.connect();
    expect(client.send({ type: 'say', content: 'before login' })).toBe(true);
    await eventually(
      () => errors,
      (e) => e.length === 1,
      'the error message',
    );
    expect(errors).toEqual([{ type: 'error', message: 'login first' }]);
    const plain = await TestClient.open(gateway.url);
    try {
      plain.send('{"type":"say","content":"x"}');
      const reply = await plain.waitUntilReceived(() => plain.received[0], 'the plain reply');
      expect(JSON.parse(reply.data.toString())).toEqual({ type: 'error', message: 'login first' });
    } finally {
      plain.close();
    }
  });

  it('reconnects after the gateway restarts (1001, then attempts until it is back), and works again', async () => {
    const port = new URL(gateway.url).port;
    const { client, events } = newClient(gateway.url);
    await client.connect();
    await gateway.proc.stop();
    await eventually(
      () => events,
      (e) => e.includes('disconnected 1001'),
      'the 1001 close',
    );
    expect(client.state).toBe('reconnecting');
    gateway = await startGateway(register.address, { GATEWAY_LISTEN: `ws://127.0.0.1:${port}` });
    await eventually(
      () => events,
      (e) => e.includes('connected again'),
      'the reconnect to the restarted gateway',
      30_000,
    );
    // The restarted gateway's worker link may still be on its way: the first request waits for it there (held).
    await expect(client.request({ type: 'process' }, { timeoutMs: 20_000 })).resolves.toMatchObject({
      type: 'process',
    });
    expect(events[0]).toBe('connected');
    expect(events.at(-1)).toBe('connected again');
  });

  it('the gateway itself answers $ping with $pong: a quiet, live link stays up; a SIGSTOPped gateway is found dead', async () => {
    const { client, events, disconnects } = newClient(gateway.url, {
      // A generous timeout: this machine may be busy, and a live gateway's pong must never be judged late here.
      liveness: { intervalMs: 300, timeoutMs: 2_000 },
      connectTimeoutMs: 1_000,
    });
    const raw: string[] = [];
    client.onText((t) => raw.push(t));
    await client.connect();
    await client.request({ type: 'login', name: 'Quiet', room: 'liveness' });
    // Several ping periods with nothing else going on: every ping is answered, the connection stays.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(events).toEqual(['connected']);
    expect(raw).toEqual([]); // pongs never reach the application
    const pid = gateway.proc.child.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      await eventually(
        () => disconnects,
        (d) => d.length > 0,
        'the client to find the stopped gateway dead',
        15_000,
      );
      expect(disconnects[0]).toMatchObject({ code: 1006, wasOpen: true, willReconnect: true });
      expect(disconnects[0].reason).toMatch(/^liveness timeout/);
      // Attempts to the stopped gateway are accepted by the kernel and never upgraded: each times out.
      await eventually(
        () => disconnects,
        (d) => d.some((e) => e.reason.startsWith('connect timeout')),
        'a timed-out attempt',
        15_000,
      );
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await eventually(
      () => events,
      (e) => e.includes('connected again'),
      'the reconnect after SIGCONT',
      30_000,
    );
    await expect(client.request({ type: 'login', name: 'Quiet', room: 'liveness' })).resolves.toMatchObject({
      type: 'welcome',
    });
  });

  it('a plain WebSocket client gets $pong from the gateway too; nothing reaches the worker', async () => {
    const plain = await TestClient.open(gateway.url);
    try {
      plain.send('$ping');
      const pong = await plain.waitUntilReceived(() => plain.received[0], 'the pong');
      expect(pong.data.toString()).toBe('$pong');
      // Not the ping: the example worker echoes it. Had the ping reached the worker, its echo "$ping" would be here.
      plain.send('$ping!');
      const echo = await plain.waitUntilReceived(() => plain.received[1], 'the echo');
      expect(echo.data.toString()).toBe('$ping!');
    } finally {
      plain.close();
    }
  });
});

/** Records the resume parameter each connection arrives with, and pushes messages with offsets. */
const resumeSeen: (string | undefined)[] = [];

@Controller()
class ResumeController {
  private next = 1;

  @OnClientConnect()
  connect(@Handshake('query') query: Record<string, string>) {
    resumeSeen.push(query.resume);
    if (query.resume) return { type: 'replay', after: query.resume };
  }

  @OnClientMessage('news')
  news() {
    return { type: 'news', n: this.next, $offset: `o-${this.next++}` };
  }

  @OnClientMessage('kick')
  async kick(@Ctx() ctx: GatewayContext) {
    await ctx.closeCurrentClient(null, { code: 1013, reason: 'try again later' });
  }
}

describe('nest-gateway-worker-client resume offsets, with a worker of its own', () => {
  let app: INestMicroservice;
  let gatewayUrl: string;

  beforeAll(async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address);
    gatewayUrl = gateway.url;
    const options: WorkerOptions = { registers: register.address, secret: TEST_SECRET };
    ({ app } = await startInProcessWorker([ResumeController], options, [gateway.inner]));
  });

  afterAll(async () => {
    await app?.close();
  });

  it('sends the last $offset it received in the query of its next connection', async () => {
    const kept: unknown[] = [];
    const { client, events } = newClient(gatewayUrl, { resume: { onOffset: (o) => kept.push(o) } });
    const replays: unknown[] = [];
    const news: unknown[] = [];
    client.on('replay', (m) => replays.push(m));
    client.on('news', (m) => news.push(m));
    await client.connect();
    // Pushed messages (plain replies here) carry the offsets; request replies would carry them inside `data`.
    client.send({ type: 'news' });
    client.send({ type: 'news' });
    await eventually(
      () => news,
      (n) => n.length === 2,
      'two news messages',
    );
    expect(client.offset).toBe('o-2');
    client.send({ type: 'kick' });
    await eventually(
      () => events,
      (e) => e.includes('connected again'),
      'the reconnect after 1013',
    );
    await eventually(
      () => replays,
      (r) => r.length === 1,
      'the replay',
    );
    expect(resumeSeen).toEqual([undefined, 'o-2']);
    expect(replays).toEqual([{ type: 'replay', after: 'o-2' }]);
    expect(kept).toEqual(['o-1', 'o-2']);
  });
});
