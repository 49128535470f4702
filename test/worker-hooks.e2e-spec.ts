import {
  ClientId,
  ConnectionRejectedException,
  GatewayArgumentError,
  GatewayClient,
  GatewayContext,
  GatewayModule,
  Handshake,
  InMemorySessionStore,
  MessageBody,
  OnClientClose,
  OnClientConnect,
  OnClientMessage,
  Session,
  type ClientInfo,
  type GatewayStats,
} from 'nest-gateway-worker';
import {
  GatewayClientPool,
  encodeClientId,
  gatewayAddressOf,
  ipv4ToNumber,
  parseHostPort,
} from 'nest-gateway-worker/internal';
import {
  Controller,
  Inject,
  Module,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplicationContext,
  type INestMicroservice,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx } from '@nestjs/microservices';
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { eventually, sleep, within } from './support/eventually';
import { exampleWorkerApi } from './support/example-worker-api';
import { startInProcessWorker } from './support/in-process-worker';
import { startGateway, startRegister, startWorker, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * Worker hooks against a real cluster (one register, two gateway processes, an in-process worker with the
 * handlers below, a forClient SDK context):
 *  - a connect handler (or its guard) rejects a connection: the client sees the close code and reason, and none
 *    of the messages it sent right after opening reach any handler;
 *  - connection statistics (GetClientInfo, GetGatewayStats) from the SDK and from inside a handler;
 *  - session persistence: a uid's session survives a reconnect to the other gateway (InMemorySessionStore).
 * Plus the example worker's GET /api/stats and /api/clients/:clientId on a cluster of its own.
 */

// ---- the in-process worker ------------------------------------------------------------------------------

/** Every event that reached a handler, per client_id, in order: "connect", "message:<text>", "close". */
const events = new Map<string, string[]>();
/** client_id of each connection by its `?tag=` query parameter (recorded by the connect handler). */
const idByTag = new Map<string, string>();
const store = new InMemorySessionStore();

function record(clientId: string, what: string): void {
  let list = events.get(clientId);
  if (!list) events.set(clientId, (list = []));
  list.push(what);
}

function query(ctx: GatewayContext, key: string): string | undefined {
  const v = ctx.handshake.query[key];
  return Array.isArray(v) ? v[0] : v;
}

/** `?guard=deny` → false (Nest's "Forbidden resource"); `?guard=unauthorized` → UnauthorizedException. */
class TestGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const ctx = context.switchToRpc().getContext<GatewayContext>();
    idByTag.set(query(ctx, 'tag')!, ctx.clientId);
    const mode = query(ctx, 'guard');
    if (mode === 'unauthorized') throw new UnauthorizedException('no session cookie');
    return mode !== 'deny';
  }
}

@Controller()
class HooksController {
  constructor(@Inject(GatewayClient) private readonly gw: GatewayClient) {}

  /** Records the client, then checks `?token=`: anything but "good" is refused; `?reject=` picks other ways. */
  @OnClientConnect()
  @UseGuards(TestGuard)
  connect(@ClientId() clientId: string, @Handshake('query') q: Record<string, string>, @Ctx() ctx: GatewayContext) {
    idByTag.set(q.tag, clientId);
    record(clientId, 'connect');
    if (q.token !== 'good') throw new UnauthorizedException('bad token');
    if (q.reject === 'ctx') {
      ctx.rejectConnection('maintenance, come back later', 4503);
      return { type: 'not-sent' };
    }
    if (q.reject === 'long') throw new ConnectionRejectedException('é'.repeat(100), 4000);
    if (q.reject === 'error') throw new Error('secret detail of a bug');
    return { type: 'welcome', clientId };
  }

  @OnClientMessage('whoami')
  whoami(@ClientId() clientId: string) {
    record(clientId, 'message:whoami');
    return { type: 'me', clientId };
  }

  /** The connection statistics of the current client, read from inside its handler. */
  @OnClientMessage('info')
  async info(@ClientId() clientId: string, @Ctx() ctx: GatewayContext) {
    record(clientId, 'message:info');
    return { type: 'info', info: await ctx.getClientInfo() };
  }

  @OnClientMessage('bind')
  async bind(@ClientId() clientId: string, @MessageBody() body: { uid: string; group?: string }) {
    record(clientId, 'message:bind');
    await this.gw.bindUid(clientId, body.uid);
    if (body.group) await this.gw.joinGroup(clientId, body.group);
    return { type: 'bound' };
  }

  /** Binds the uid, then answers with the session as the handler sees it (the stored one merged in). */
  @OnClientMessage('login')
  async login(
    @ClientId() clientId: string,
    @MessageBody() body: { uid: string },
    @Session() session: Record<string, unknown>,
  ) {
    record(clientId, 'message:login');
    await this.gw.bindUid(clientId, body.uid);
    session.lastLogin = clientId;
    return { type: 'session', session: { ...session } };
  }

  @OnClientMessage('score')
  score(
    @ClientId() clientId: string,
    @MessageBody() body: { value: number },
    @Session() session: Record<string, unknown>,
  ) {
    record(clientId, 'message:score');
    session.score = body.value;
    return { type: 'scored' };
  }

  @OnClientMessage('session')
  session(@ClientId() clientId: string, @Session() session: Record<string, unknown>) {
    record(clientId, 'message:session');
    return { type: 'session', session };
  }

  /** Closes the current client with a code and reason, after a last message. */
  @OnClientMessage('quit')
  async quit(@ClientId() clientId: string, @Ctx() ctx: GatewayContext) {
    record(clientId, 'message:quit');
    await ctx.closeCurrentClient({ type: 'bye' }, { code: 4002, reason: 'see you' });
  }

  @OnClientMessage()
  echo(@ClientId() clientId: string, @MessageBody() message: string | Buffer) {
    record(clientId, `message:${String(message)}`);
    return message;
  }

  @OnClientClose()
  close(@ClientId() clientId: string) {
    record(clientId, 'close');
  }
}

// ---- helpers ------------------------------------------------------------------------------------------

/** A client plus the code and reason of its close. */
interface Conn {
  c: TestClient;
  close: Promise<{ code: number; reason: string }>;
}

let tagSeq = 0;

async function open(url: string, params: Record<string, string>): Promise<Conn & { tag: string }> {
  const tag = `t${++tagSeq}`;
  const search = new URLSearchParams({ ...params, tag }).toString();
  const c = await TestClient.open(`${url}/?${search}`, {}, 10_000);
  const close = new Promise<{ code: number; reason: string }>((resolve) =>
    c.ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString('utf8') })),
  );
  opened.push(c);
  return { c, close, tag };
}

/** The JSON messages a client received so far. */
function json(c: TestClient): Record<string, unknown>[] {
  return c.received
    .filter((m) => !m.binary && m.data[0] === 0x7b)
    .map((m) => JSON.parse(m.data.toString('utf8')) as Record<string, unknown>);
}

/** Sends a typed message and waits for the first new JSON reply of type `replyType`. */
async function ask(c: TestClient, message: object, replyType: string): Promise<Record<string, unknown>> {
  const from = json(c).length;
  c.send(JSON.stringify(message));
  return eventually(
    () =>
      json(c)
        .slice(from)
        .find((m) => m.type === replyType),
    (m) => m !== undefined,
    `a "${replyType}" reply`,
  ) as Promise<Record<string, unknown>>;
}

const opened: TestClient[] = [];

/**
 * A hand-rolled WebSocket client that does not stop sending when the server closes (as a misbehaving or slow
 * client would not): it records whether a close frame arrived and can keep writing text frames after it.
 */
class StubbornClient {
  /** Text frames written before the server's close frame was seen. */
  sentBeforeClose = 0;
  closeSeen = false;
  private readonly ended: Promise<void>;

  private constructor(private readonly socket: Socket) {
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  static open(url: string, path: string): Promise<StubbornClient> {
    const { hostname, port } = new URL(url);
    const socket = tcpConnect(Number(port), hostname);
    const client = new StubbornClient(socket);
    return new Promise((resolve, reject) => {
      let buffered = Buffer.alloc(0);
      let upgraded = false;
      const timer = setTimeout(() => reject(new Error('no 101 within 10 s')), 10_000);
      socket.once('connect', () =>
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
      );
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (!upgraded) {
          const end = buffered.indexOf('\r\n\r\n');
          if (end < 0) return;
          if (!buffered.subarray(0, end).toString('latin1').startsWith('HTTP/1.1 101'))
            return reject(new Error('upgrade refused'));
          upgraded = true;
          clearTimeout(timer);
          buffered = buffered.subarray(end + 4);
          resolve(client);
        }
        // Server frames are unmasked; only the opcode of each matters here (0x8 = close).
        while (buffered.length >= 2) {
          const len = buffered[1] & 0x7f;
          const header = len === 126 ? 4 : len === 127 ? 10 : 2;
          const size = len === 126 ? buffered.readUInt16BE(2) : len === 127 ? Number(buffered.readBigUInt64BE(2)) : len;
          if (buffered.length < header + size) break;
          if ((buffered[0] & 0x0f) === 0x8) client.closeSeen = true;
          buffered = buffered.subarray(header + size);
        }
      });
    });
  }

  /** Writes one masked text frame (payload under 126 bytes). */
  sendText(text: string): void {
    if (!this.closeSeen) this.sentBeforeClose++;
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
    this.socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
  }

  /** Sends a close frame and waits until the server has closed the TCP connection (frames before it were read). */
  async close(): Promise<void> {
    const mask = randomBytes(4);
    const body = Buffer.from([0x03, 0xe8].map((b, i) => b ^ mask[i]));
    this.socket.write(Buffer.concat([Buffer.from([0x88, 0x82]), mask, body]));
    await within(this.ended, 'the server to close the TCP connection', 10_000);
  }
}

// ---- the cluster ----------------------------------------------------------------------------------------

describe('worker hooks: connection rejection, connection statistics, session persistence', () => {
  let register: { proc: RoleProcess; address: string };
  let g1: { proc: RoleProcess; url: string; inner: string };
  let g2: { proc: RoleProcess; url: string; inner: string };
  let worker: { app: INestMicroservice; transport: { client: GatewayClient } };
  let context: INestApplicationContext;
  /** A forClient SDK, as an HTTP app or cron job would use it. */
  let sdk: GatewayClient;

  beforeAll(async () => {
    register = await startRegister();
    [g1, g2] = await Promise.all([startGateway(register.address), startGateway(register.address)]);
    worker = await startInProcessWorker(
      [HooksController],
      {
        registers: [parseHostPort('REGISTER_ADDRESS', register.address)],
        secret: Buffer.from(TEST_SECRET),
        name: 'hooks',
        timeoutMs: 5_000,
        sessionStore: store,
      },
      [g1.inner, g2.inner],
    );
    @Module({
      imports: [GatewayModule.forClient({ registers: register.address, secret: TEST_SECRET, timeoutMs: 5_000 })],
    })
    class SdkModule {}
    context = await NestFactory.createApplicationContext(SdkModule, { logger: ['error', 'warn'] });
    sdk = context.get(GatewayClient);
    const links = context.get(GatewayClientPool, { strict: false }).links;
    await eventually(
      () => links.gateways(5_000),
      (list) => list.includes(g1.inner) && list.includes(g2.inner),
      'the gateway list',
    );
  });

  afterEach(() => {
    for (const c of opened.splice(0)) c.close();
  });

  afterAll(async () => {
    for (const c of opened.splice(0)) c.close();
    await context?.close();
    await worker?.app.close();
    await stopAll();
  });

  /**
   * Opens a connection that the worker rejects, sends messages right after the open, and waits until its close
   * has come through: the gateway forgot it, and the worker has had its close event (it rides the same link as the
   * worker's isOnline query, ahead of the answer).
   */
  async function rejected(
    url: string,
    params: Record<string, string>,
  ): Promise<{ code: number; reason: string; clientId: string }> {
    const conn = await open(url, params);
    for (let i = 0; i < 5; i++) conn.c.send(`early ${i}`);
    conn.c.send(JSON.stringify({ type: 'whoami' }));
    const { code, reason } = await within(conn.close, 'the rejected client to be closed', 10_000);
    const clientId = await eventually(
      () => idByTag.get(conn.tag),
      (id) => id !== undefined,
      'the connect handler',
    );
    await eventually(
      () => worker.transport.client.isOnline(clientId!),
      (online) => !online,
      'the gateway to drop the rejected client',
    );
    await sleep(200);
    return { code, reason, clientId: clientId! };
  }

  // ---- rejection ----------------------------------------------------------------------------------------

  describe('a connect handler rejects connections', () => {
    it('a bad token: close 4401 with the exception message; nothing the client sent reaches a handler', async () => {
      const r = await rejected(g1.url, { token: 'bad' });
      expect(r).toMatchObject({ code: 4401, reason: 'bad token' });
      expect(events.get(r.clientId)).toEqual(['connect']);
    });

    it('a good token: the connection works (welcome from the connect handler, then messages)', async () => {
      const { c, tag } = await open(g1.url, { token: 'good' });
      const welcome = await eventually(
        () => json(c).find((m) => m.type === 'welcome'),
        (m) => m !== undefined,
        'the welcome',
      );
      const me = await ask(c, { type: 'whoami' }, 'me');
      expect(me.clientId).toBe(welcome!.clientId);
      expect(me.clientId).toBe(idByTag.get(tag));
      c.send('hello');
      await eventually(() => c.received.some((m) => m.data.toString('utf8') === 'hello'), Boolean, 'the echo');
      expect(events.get(me.clientId as string)).toEqual(['connect', 'message:whoami', 'message:hello']);
      expect(c.closeCode).toBeNull();
    });

    it('a guard returning false rejects with 4403 "Forbidden resource"', async () => {
      const r = await rejected(g2.url, { token: 'good', guard: 'deny' });
      expect(r).toMatchObject({ code: 4403, reason: 'Forbidden resource' });
      // The guard refused before the handler ran: no handler saw anything of this client.
      expect(events.get(r.clientId)).toBeUndefined();
    });

    it('a guard throwing UnauthorizedException rejects with 4401 and its message', async () => {
      const r = await rejected(g1.url, { token: 'good', guard: 'unauthorized' });
      expect(r).toMatchObject({ code: 4401, reason: 'no session cookie' });
      expect(events.get(r.clientId)).toBeUndefined();
    });

    it('ctx.rejectConnection(reason, code): that code and reason; what the handler returned is not sent', async () => {
      const conn = await open(g2.url, { token: 'good', reject: 'ctx' });
      const { code, reason } = await within(conn.close, 'the close', 10_000);
      expect({ code, reason }).toEqual({ code: 4503, reason: 'maintenance, come back later' });
      expect(json(conn.c)).toEqual([]);
    });

    it('ConnectionRejectedException with a long reason: its code, the reason cut to 123 bytes on a character boundary', async () => {
      const r = await rejected(g1.url, { token: 'good', reject: 'long' });
      expect(r.code).toBe(4000);
      expect(r.reason).toBe('é'.repeat(61)); // 122 bytes: a 62nd "é" would need 124
      expect(events.get(r.clientId)).toEqual(['connect']);
    });

    it('an unexpected error: 4403 "Internal server error", never the error text', async () => {
      const r = await rejected(g2.url, { token: 'good', reject: 'error' });
      expect(r).toMatchObject({ code: 4403, reason: 'Internal server error' });
      expect(events.get(r.clientId)).toEqual(['connect']);
    });

    it('the gateway forwards nothing a rejected client sends after the rejection, and does not count it', async () => {
      const stats = async () => (await sdk.getGatewayStats()).find((s) => s.address === g1.inner)!.counters;
      const before = await stats();
      const tag = `stubborn${++tagSeq}`;
      const client = await StubbornClient.open(g1.url, `/?token=bad&tag=${tag}`);
      await eventually(() => client.closeSeen, Boolean, 'the close frame');
      for (let i = 0; i < 20; i++) client.sendText(`after close ${i}`);
      await client.close();
      const after = await stats();
      expect(after.connectionsRejected).toBe(before.connectionsRejected + 1);
      // Only what was sent before the close frame arrived can have been counted (here: nothing was).
      expect(after.messagesIn - before.messagesIn).toBeLessThanOrEqual(client.sentBeforeClose);
      const clientId = idByTag.get(tag)!;
      await eventually(
        () => worker.transport.client.isOnline(clientId),
        (online) => !online,
        'the gateway to drop the client',
      );
      await sleep(200);
      expect(events.get(clientId)).toEqual(['connect']);
    });

    it('counts rejections in connectionsRejected of the gateway that closed them', async () => {
      const before = await sdk.getGatewayStats();
      await rejected(g2.url, { token: 'nope' });
      const after = await sdk.getGatewayStats();
      const of = (list: GatewayStats[], inner: string) =>
        list.find((s) => s.address === inner)!.counters.connectionsRejected;
      expect(of(after, g2.inner)).toBe(of(before, g2.inner) + 1);
      expect(of(after, g1.inner)).toBe(of(before, g1.inner));
    });
  });

  // ---- closing with a code -----------------------------------------------------------------------------

  describe('closing a client with a code and reason', () => {
    it('closeClient(id, message, { code, reason }) from the SDK: the last message, then that close; the close handler runs', async () => {
      const conn = await open(g2.url, { token: 'good' });
      const id = (await ask(conn.c, { type: 'whoami' }, 'me')).clientId as string;
      await sdk.closeClient(id, 'last words', { code: 4001, reason: 'replaced by a newer login' });
      expect(await within(conn.close, 'the close', 10_000)).toEqual({
        code: 4001,
        reason: 'replaced by a newer login',
      });
      expect(conn.c.received.map((m) => m.data.toString('utf8'))).toContain('last words');
      await eventually(() => events.get(id)?.includes('close'), Boolean, 'the close handler');
    });

    it('ctx.closeCurrentClient(message, { code, reason }) from a handler', async () => {
      const conn = await open(g1.url, { token: 'good' });
      await ask(conn.c, { type: 'whoami' }, 'me');
      conn.c.send(JSON.stringify({ type: 'quit' }));
      expect(await within(conn.close, 'the close', 10_000)).toEqual({ code: 4002, reason: 'see you' });
      expect(json(conn.c).map((m) => m.type)).toEqual(['welcome', 'me', 'bye']);
    });

    it('a code a client may not receive is refused before anything is sent', async () => {
      const conn = await open(g1.url, { token: 'good' });
      const id = (await ask(conn.c, { type: 'whoami' }, 'me')).clientId as string;
      await expect(sdk.closeClient(id, null, { code: 1006 })).rejects.toThrow(GatewayArgumentError);
      expect(await sdk.isOnline(id)).toBe(true);
    });
  });

  // ---- statistics -------------------------------------------------------------------------------------

  describe('connection statistics', () => {
    it('getClientInfo from the SDK: exact message counts, plausible connectedAt, listener, address, uid and groups', async () => {
      const t0 = Date.now();
      const { c } = await open(g2.url, { token: 'good' });
      const t1 = Date.now();
      // In: whoami + 5 texts; out: welcome + me + 5 echoes.
      const me = await ask(c, { type: 'whoami' }, 'me');
      const id = me.clientId as string;
      for (let i = 0; i < 5; i++) c.send(`n${i}`);
      await c.waitForMessages(7, 10_000);
      const info = (await sdk.getClientInfo(id))!;
      expect(info).toEqual<ClientInfo>({
        clientId: id,
        connectedAt: expect.any(Number),
        messagesIn: 6,
        messagesOut: 7,
        listener: g2.url,
        protocol: 'ws',
        remoteAddress: '127.0.0.1',
        remotePort: (c.ws as unknown as { _socket: { localPort: number } })._socket.localPort,
        uid: null,
        groups: [],
      });
      // The gateway and this test share the clock; the gateway stamps the connection between open and 101.
      expect(info.connectedAt).toBeGreaterThanOrEqual(t0 - 5);
      expect(info.connectedAt).toBeLessThanOrEqual(t1 + 5);

      await ask(c, { type: 'bind', uid: 'stats-user', group: 'stats-room' }, 'bound');
      expect(await sdk.getClientInfo(id)).toMatchObject({
        uid: 'stats-user',
        groups: ['stats-room'],
        messagesIn: 7,
        messagesOut: 8,
      });
    });

    it('ctx.getClientInfo() inside a handler: the counts as of that message (counted in, reply not yet out)', async () => {
      const { c } = await open(g1.url, { token: 'good' });
      const me = await ask(c, { type: 'whoami' }, 'me');
      c.send('x');
      await c.waitForMessages(3, 10_000); // welcome, me, x
      const reply = await ask(c, { type: 'info' }, 'info');
      expect(reply.info).toMatchObject({
        clientId: me.clientId,
        messagesIn: 3,
        messagesOut: 3,
        protocol: 'ws',
        uid: null,
      });
    });

    it('getClientInfo of a client that left: null', async () => {
      const { c } = await open(g1.url, { token: 'good' });
      const id = (await ask(c, { type: 'whoami' }, 'me')).clientId as string;
      c.close();
      await eventually(
        () => sdk.getClientInfo(id),
        (info) => info === null,
        'the client to be gone',
      );
    });

    it('getGatewayStats: one entry per gateway with connections, workers, uptime, counters and memory', async () => {
      const a = await open(g1.url, { token: 'good' });
      const b = await open(g2.url, { token: 'good' });
      await Promise.all([a, b].map(({ c }) => ask(c, { type: 'whoami' }, 'me')));
      const stats = await sdk.getGatewayStats();
      expect(stats.map((s) => s.address).sort()).toEqual([g1.inner, g2.inner].sort());
      for (const s of stats) {
        expect(s.connections).toBeGreaterThanOrEqual(1);
        expect(s.workers).toBe(1);
        expect(s.uptimeMs).toBeGreaterThan(0);
        expect(s.memoryRss).toBeGreaterThan(1_000_000);
        expect(s.counters.connectionsAccepted).toBeGreaterThanOrEqual(s.connections);
        expect(s.counters.messagesIn).toBeGreaterThanOrEqual(1);
        expect(s.counters.messagesOut).toBeGreaterThanOrEqual(1);
        expect(Object.keys(s.counters)).toEqual(
          expect.arrayContaining(['connectionsRejected', 'slowConsumerDisconnects', 'eventsRedelivered']),
        );
      }
      // The worker's own GatewayClient answers the same.
      const fromWorker = await worker.transport.client.getGatewayStats();
      expect(fromWorker.map((s) => s.address).sort()).toEqual([g1.inner, g2.inner].sort());
    });
  });

  // ---- session persistence --------------------------------------------------------------------------

  describe('session persistence (InMemorySessionStore)', () => {
    it("a uid's session survives a reconnect to the other gateway", async () => {
      const first = await open(g1.url, { token: 'good' });
      const firstId = (await ask(first.c, { type: 'whoami' }, 'me')).clientId as string;
      expect(gatewayAddressOf(firstId)).toBe(g1.inner);
      expect((await ask(first.c, { type: 'login', uid: 'u1' }, 'session')).session).toEqual({ lastLogin: firstId });
      await ask(first.c, { type: 'score', value: 5 }, 'scored');
      await eventually(
        () => store.load('u1'),
        (s) => s?.score === 5,
        'the store to hold the score',
      );
      first.c.close();
      await eventually(
        () => sdk.isOnline(firstId),
        (online) => !online,
        'the first connection to be gone',
      );

      const second = await open(g2.url, { token: 'good' });
      const secondId = (await ask(second.c, { type: 'whoami' }, 'me')).clientId as string;
      expect(gatewayAddressOf(secondId)).toBe(g2.inner);
      expect((await ask(second.c, { type: 'session' }, 'session')).session).toEqual({});
      // bindUid merged the stored session into the live @Session() object (then the handler set lastLogin).
      expect((await ask(second.c, { type: 'login', uid: 'u1' }, 'session')).session).toEqual({
        score: 5,
        lastLogin: secondId,
      });
      // ... and into the gateway's copy: what getSession and the next handler see.
      const expected = { score: 5, lastLogin: secondId };
      await eventually(
        () => sdk.getSession(secondId),
        (s) => isDeepStrictEqual(s, expected),
        'getSession',
      );
      expect(await sdk.getSession(secondId)).toEqual(expected);
      expect((await ask(second.c, { type: 'session' }, 'session')).session).toEqual(expected);
      await eventually(
        () => store.load('u1'),
        (s) => s?.lastLogin === secondId,
        'the store to hold the new session',
      );
      expect(await store.load('u1')).toEqual(expected);
    });

    it("updateSession through the worker's GatewayClient outside a handler is saved for the client's uid", async () => {
      const { c } = await open(g2.url, { token: 'good' });
      const id = (await ask(c, { type: 'whoami' }, 'me')).clientId as string;
      await ask(c, { type: 'login', uid: 'u2' }, 'session');
      await worker.transport.client.updateSession(id, { level: 3 });
      await eventually(
        () => store.load('u2'),
        (s) => s?.level === 3,
        'the store to hold the update',
      );
      expect(await store.load('u2')).toEqual({ lastLogin: id, level: 3 });
    });

    it('a client without a uid: nothing is stored', async () => {
      const sizeBefore = store.size;
      const { c } = await open(g1.url, { token: 'good' });
      await ask(c, { type: 'score', value: 9 }, 'scored');
      await ask(c, { type: 'session' }, 'session');
      expect(store.size).toBe(sizeBefore);
    });
  });
});

// ---- the example worker's HTTP API ----------------------------------------------------------------------

describe('the example worker: GET /api/stats and /api/clients/:clientId', () => {
  afterAll(async () => {
    for (const c of opened.splice(0)) c.close();
    await stopAll();
  });

  it("answers with every gateway's statistics and one client's connection statistics", async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address);
    const worker = await startWorker(register.address, {}, gateway.inner);
    const api = await exampleWorkerApi(worker);
    const { c } = await open(gateway.url, {});
    c.send('hi');
    await c.waitForMessages(1, 10_000);

    const stats = (await (await fetch(`${api}/stats`)).json()) as { gateways: GatewayStats[]; connections: number };
    expect(stats.connections).toBe(1);
    expect(stats.gateways).toHaveLength(1);
    expect(stats.gateways[0]).toMatchObject({ address: gateway.inner, connections: 1, workers: 1 });
    expect(stats.gateways[0].counters.messagesIn).toBe(1);

    // The first connection of a gateway has connection id 1.
    const [ip, port] = gateway.inner.split(':');
    const id = encodeClientId({ localIp: ipv4ToNumber(ip), localPort: Number(port), connectionId: 1 });
    const info = await fetch(`${api}/clients/${id}`);
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ clientId: id, messagesIn: 1, messagesOut: 1, protocol: 'ws' });
    const offline = encodeClientId({ localIp: ipv4ToNumber(ip), localPort: Number(port), connectionId: 99 });
    expect((await fetch(`${api}/clients/${offline}`)).status).toBe(404);
    expect((await fetch(`${api}/clients/not-an-id`)).status).toBe(400);
  });
});
