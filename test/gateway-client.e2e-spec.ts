import {
  ClientId,
  GatewayArgumentError,
  GatewayClient,
  GatewayContext,
  GatewayModule,
  GatewayPartialFailureError,
  GatewayTimeoutError,
  GatewayUnavailableError,
  InvalidClientIdError,
  MessageBody,
  OnClientMessage,
  Session,
  type ClientMessage,
  type GatewayFailure,
} from 'nest-gateway-worker';
import { GatewayClientPool, gatewayAddressOf, parseHostPort } from 'nest-gateway-worker/internal';
import {
  Controller,
  Inject,
  Module,
  type DynamicModule,
  type INestApplicationContext,
  type INestMicroservice,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx } from '@nestjs/microservices';
import { eventually, within } from './support/eventually';
import { exampleWorkerApi, waitUntilLinked } from './support/example-worker-api';
import { startInProcessWorker } from './support/in-process-worker';
import { startGateway, startRegister, startWorker, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * The whole GatewayClient API against a real cluster: one register, two gateway processes, an in-process worker
 * whose handlers call the API (so every method runs inside a worker handler), the example worker app as a
 * second worker, and standalone Nest application contexts using GatewayModule.forClient / forClientAsync.
 * What each call did is checked against what WebSocket clients on both gateways actually are and receive.
 */

// ---- the in-process worker: exposes GatewayClient to its clients --------------------------------------

/** Buffers cannot travel in JSON: they go as {$buffer: base64} and are turned back into Buffers by the handler. */
function toWire(value: unknown): unknown {
  return Buffer.isBuffer(value) ? { $buffer: value.toString('base64') } : value;
}

function fromWire(value: unknown): unknown {
  const b = (value as { $buffer?: unknown } | null)?.$buffer;
  return typeof b === 'string' ? Buffer.from(b, 'base64') : value;
}

interface ApiRequest {
  type: 'api';
  method: string;
  args: unknown[];
}

interface CtxRequest {
  type: 'ctx';
  action: 'send' | 'close' | 'destroy';
  message?: unknown;
}

@Controller()
class ApiController {
  constructor(@Inject(GatewayClient) private readonly gw: GatewayClient) {}

  @OnClientMessage('whoami')
  whoami(@ClientId() clientId: string) {
    return { type: 'me', clientId };
  }

  /** `{type:'api', method, args}` → `this.gw[method](...args)` → `{type:'api-result', result}` or `{type:'api-error', name, message}`. */
  @OnClientMessage('api')
  async api(@MessageBody() body: ApiRequest) {
    try {
      const method = (this.gw as unknown as Record<string, unknown>)[body.method];
      if (typeof method !== 'function') throw new Error(`GatewayClient has no method ${body.method}`);
      const result: unknown = await (method as (...args: unknown[]) => Promise<unknown>).apply(
        this.gw,
        body.args.map(fromWire),
      );
      return { type: 'api-result', result };
    } catch (err) {
      return { type: 'api-error', name: (err as Error).name, message: (err as Error).message };
    }
  }

  /** The GatewayContext shortcuts for the current client. */
  @OnClientMessage('ctx')
  async context(@MessageBody() body: CtxRequest, @Ctx() ctx: GatewayContext) {
    const message = fromWire(body.message) as ClientMessage | undefined;
    if (body.action === 'send') {
      await ctx.sendToCurrentClient(message as ClientMessage);
      return { type: 'api-result' };
    }
    if (body.action === 'close') await ctx.closeCurrentClient(message);
    else await ctx.destroyCurrentClient();
    return undefined;
  }

  /** Merges `patch` into the @Session() object; answers with the session as the handler received it. */
  @OnClientMessage('session-mutate')
  mutate(@MessageBody() body: { patch: Record<string, unknown> }, @Session() session: Record<string, unknown>) {
    const before = JSON.parse(JSON.stringify(session)) as Record<string, unknown>;
    Object.assign(session, body.patch);
    return { type: 'api-result', result: before };
  }

  @OnClientMessage('session-peek')
  peek(@Session() session: Record<string, unknown>) {
    return { type: 'api-result', result: session };
  }

  /**
   * Mutates @Session(), then replaces the session with GatewayClient.setSession and merges with updateSession,
   * then mutates again: the automatic write-back must keep the replaced session (plus the later mutation).
   */
  @OnClientMessage('session-replace')
  async replace(@ClientId() clientId: string, @Session() session: Record<string, unknown>) {
    session.dropped = 'set before setSession';
    await this.gw.setSession(clientId, { replaced: true, nested: { a: 1 } });
    await this.gw.updateSession(clientId, { nested: { b: 2 } });
    session.after = 'kept';
    return { type: 'api-result', result: { ...session } };
  }

  /** Routing probe: the example worker echoes untyped text as is; this worker prefixes it. */
  @OnClientMessage()
  untyped(@MessageBody() message: string | Buffer) {
    return typeof message === 'string' ? `api-worker:${message}` : message;
  }
}

// ---- helpers -------------------------------------------------------------------------------------------

interface Peer {
  name: string;
  c: TestClient;
  id: string;
  /** Index in c.received from which the next handler reply is looked for. */
  cursor: number;
}

type Invoke = (method: string, ...args: unknown[]) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const text = (m: { data: Buffer }) => m.data.toString('utf8');
const isReply = (m: { data: Buffer; binary: boolean }) =>
  !m.binary && /^\{"type":"(api-result|api-error|me)"/.test(text(m));
const isBarrier = (m: { data: Buffer; binary: boolean }) => !m.binary && text(m).startsWith('barrier:');
/** A received message as a comparable string: text as is, binary as "bin:<hex>". */
const show = (m: { data: Buffer; binary: boolean }) => (m.binary ? `bin:${m.data.toString('hex')}` : text(m));
const sorted = <T>(list: T[]) => [...list].sort();
const sortValues = (r: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, sorted(v)]));

/** Waits (bounded) until the peer has received a message at index >= from matching `match`; returns its index. */
async function waitForIndex(
  p: Peer,
  from: number,
  match: (m: { data: Buffer; binary: boolean }) => boolean,
  timeoutMs = 5_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let i = from; ;) {
    for (; i < p.c.received.length; i++) if (match(p.c.received[i])) return i;
    if (p.c.closeCode !== null) return -1;
    const left = deadline - Date.now();
    if (left <= 0)
      throw new Error(
        `${p.name}: no matching message within ${timeoutMs} ms; got ${p.c.received.slice(from).map(show).join(' | ')}`,
      );
    await p.c.waitForMessages(p.c.received.length + 1, left).catch(() => undefined);
  }
}

/** The next handler reply ({type:'api-result'|'api-error'|'me'}) of a peer. */
async function nextReply(
  p: Peer,
): Promise<{ type: string; result?: unknown; name?: string; message?: string; clientId?: string }> {
  const i = await waitForIndex(p, p.cursor, isReply);
  if (i < 0) throw new Error(`${p.name} closed (${p.c.closeCode}) before the handler replied`);
  p.cursor = i + 1;
  return JSON.parse(text(p.c.received[i]));
}

/** Calls GatewayClient methods inside a worker handler, on behalf of `caller`'s message. */
function viaHandler(caller: () => Peer): Invoke {
  return async (method, ...args) => {
    const p = caller();
    p.c.send(JSON.stringify({ type: 'api', method, args: args.map(toWire) }));
    const reply = await nextReply(p);
    if (reply.type === 'api-error') throw Object.assign(new Error(reply.message), { name: reply.name });
    return reply.result;
  };
}

/** Calls GatewayClient methods directly (the forClient instance). */
function direct(gw: GatewayClient): Invoke {
  return (method, ...args) => (gw as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method](...args);
}

let barrierSeq = 0;

/**
 * What each peer received because of `action`: messages after a mark, up to a barrier message sent afterwards to
 * every open peer through `via` (the same GatewayClient, hence the same link to each gateway, so the barrier
 * arrives after anything the action sent). Handler replies and barriers are left out.
 */
async function deliveries(
  via: GatewayClient,
  peers: Peer[],
  action: () => Promise<unknown>,
): Promise<Record<string, string[]>> {
  const marks = new Map(peers.map((p) => [p, p.c.received.length]));
  await action();
  const token = `barrier:${++barrierSeq}`;
  const open = peers.filter((p) => p.c.closeCode === null);
  await Promise.all(open.map((p) => via.sendToClient(p.id, token)));
  const out: Record<string, string[]> = {};
  for (const p of peers) {
    const from = marks.get(p)!;
    const end = open.includes(p) ? await waitForIndex(p, from, (m) => !m.binary && text(m) === token) : -1;
    const upTo = end < 0 ? p.c.received.length : end;
    out[p.name] = p.c.received
      .slice(from, upTo)
      .filter((m) => !isReply(m) && !isBarrier(m))
      .map(show);
  }
  return out;
}

/** `expected` for the listed peers, [] for the others. */
function only(peers: Peer[], expected: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(peers.map((p) => [p.name, expected[p.name] ?? []]));
}

function messagesSince(p: Peer, from: number): string[] {
  return p.c.received
    .slice(from)
    .filter((m) => !isReply(m) && !isBarrier(m))
    .map(show);
}

async function standaloneContext(gatewayModule: DynamicModule): Promise<INestApplicationContext> {
  @Module({ imports: [gatewayModule] })
  class StandaloneModule {}
  return NestFactory.createApplicationContext(StandaloneModule, { logger: ['error', 'warn'] });
}

// ---- the cluster ---------------------------------------------------------------------------------------

const TIMEOUT_MS = 1_000;

describe('GatewayClient against two gateways, from a worker handler and from forClient', () => {
  let register: { proc: RoleProcess; address: string };
  let g1: { proc: RoleProcess; url: string; inner: string };
  let g2: { proc: RoleProcess; url: string; inner: string };
  let worker: {
    app: INestMicroservice;
    transport: { client: GatewayClient; links: { gateways(timeoutMs: number): Promise<string[]> } };
  };
  let contexts: INestApplicationContext[] = [];
  /** forClient({timeoutMs}) */
  let standalone: GatewayClient;
  /** forClientAsync({useFactory}) with rejectOnGatewayFailure: true */
  let strict: GatewayClient;
  /** Clients of the current test, closed after it. */
  const testPeers: Peer[] = [];
  /** Clients shared by the tests of a describe block, closed at the end. */
  const sharedClients: TestClient[] = [];

  async function openPeer(name: string, gateway: { url: string; inner: string }): Promise<Peer> {
    const c = await TestClient.open(gateway.url);
    const p: Peer = { name, c, id: '', cursor: 0 };
    testPeers.push(p);
    c.send(JSON.stringify({ type: 'whoami' }));
    p.id = (await nextReply(p)).clientId!;
    expect(gatewayAddressOf(p.id)).toBe(gateway.inner);
    return p;
  }

  /** Four peers: a1, a2 on gateway 1, b1, b2 on gateway 2. */
  async function openFour(): Promise<Peer[]> {
    return Promise.all([openPeer('a1', g1), openPeer('a2', g1), openPeer('b1', g2), openPeer('b2', g2)]);
  }

  beforeAll(async () => {
    register = await startRegister();
    [g1, g2] = await Promise.all([startGateway(register.address), startGateway(register.address)]);
    worker = await startInProcessWorker(
      [ApiController],
      {
        registers: [parseHostPort('REGISTER_ADDRESS', register.address)],
        secret: Buffer.from(TEST_SECRET),
        name: 'api',
        timeoutMs: 2_000,
      },
      [g1.inner, g2.inner],
    );

    contexts.push(
      await standaloneContext(
        GatewayModule.forClient({ registers: register.address, secret: TEST_SECRET, timeoutMs: TIMEOUT_MS }),
      ),
    );
    contexts.push(
      await standaloneContext(
        GatewayModule.forClientAsync({
          useFactory: async () => ({
            registers: register.address,
            secret: TEST_SECRET,
            timeoutMs: TIMEOUT_MS,
            rejectOnGatewayFailure: true,
          }),
        }),
      ),
    );
    [standalone, strict] = contexts.map((ctx) => ctx.get(GatewayClient));
    for (const ctx of contexts) {
      const links = ctx.get(GatewayClientPool, { strict: false }).links;
      await eventually(
        () => links.gateways(TIMEOUT_MS),
        (list) => list.includes(g1.inner) && list.includes(g2.inner),
        'the gateway list',
      );
    }
  });

  /** Closes the test's clients and waits until the gateways have forgotten them (the next test counts clients). */
  afterEach(async () => {
    // A gateway left stopped by a failed fault test must answer again.
    if (g2?.proc.running) g2.proc.child.kill('SIGCONT');
    const closing = testPeers.splice(0);
    for (const p of closing) p.c.close();
    const ids = new Set(closing.map((p) => p.id));
    await eventually(
      () => standalone.getAllClientIdList(),
      (list) => !list.some((id) => ids.has(id)),
      'the closed test clients to leave the gateways',
    );
  });

  afterAll(async () => {
    for (const p of testPeers.splice(0)) p.c.close();
    for (const c of sharedClients.splice(0)) c.close();
    // A gateway left stopped by a failed fault test must be able to act on SIGTERM.
    if (g2?.proc.running) g2.proc.child.kill('SIGCONT');
    for (const ctx of contexts) await ctx.close();
    contexts = [];
    await worker?.app.close();
    await stopAll();
  });

  // ---- every method, once from a worker handler and once from forClient ----------------------------

  async function exerciseEveryMethod(call: Invoke, via: GatewayClient, peers: Peer[]): Promise<void> {
    const [a1, a2, b1, b2] = peers;
    const d = (action: () => Promise<unknown>) => deliveries(via, peers, action);
    const exp = (e: Record<string, string[]>) => only(peers, e);
    const everyone = (m: string) => exp({ a1: [m], a2: [m], b1: [m], b2: [m] });

    // sendToClient: string → text frame, Buffer → binary frame, object → JSON text.
    expect(await d(() => call('sendToClient', b1.id, 'plain text'))).toEqual(exp({ b1: ['plain text'] }));
    expect(await d(() => call('sendToClient', a2.id, Buffer.from([0, 1, 2, 255])))).toEqual(
      exp({ a2: ['bin:000102ff'] }),
    );
    expect(await d(() => call('sendToClient', b2.id, { kind: 'json', n: 1 }))).toEqual(
      exp({ b2: ['{"kind":"json","n":1}'] }),
    );

    // sendToAll: everyone on both gateways; only the listed; all but the excluded; [] = nobody.
    expect(await d(() => call('sendToAll', 'to everyone'))).toEqual(everyone('to everyone'));
    expect(await d(() => call('sendToAll', Buffer.from('bin')))).toEqual(everyone('bin:62696e'));
    expect(await d(() => call('sendToAll', 'listed', [a2.id, b1.id]))).toEqual(exp({ a2: ['listed'], b1: ['listed'] }));
    expect(await d(() => call('sendToAll', 'excluded', null, [a1.id, b2.id]))).toEqual(
      exp({ a2: ['excluded'], b1: ['excluded'] }),
    );
    expect(await d(() => call('sendToAll', 'both', [a1.id, b1.id, b2.id], [b2.id]))).toEqual(
      exp({ a1: ['both'], b1: ['both'] }),
    );
    expect(await d(() => call('sendToAll', 'nobody', []))).toEqual(exp({}));

    // uids: u-1 on a client of each gateway; 42 (a number) on a2; u-2 on b2.
    await call('bindUid', a1.id, 'u-1');
    await call('bindUid', b1.id, 'u-1');
    await call('bindUid', a2.id, 42);
    await call('bindUid', b2.id, 'u-2');
    expect(await d(() => call('sendToUid', 'u-1', 'to u-1'))).toEqual(exp({ a1: ['to u-1'], b1: ['to u-1'] }));
    expect(await d(() => call('sendToUid', '42', { to: '"42"' }))).toEqual(exp({ a2: ['{"to":"\\"42\\""}'] }));
    expect(await d(() => call('sendToUid', [42, 'u-2', 'nobody'], Buffer.from([7])))).toEqual(
      exp({ a2: ['bin:07'], b2: ['bin:07'] }),
    );
    expect(await call('isUidOnline', 'u-1')).toBe(true);
    expect(await call('isUidOnline', 42)).toBe(true);
    expect(await call('isUidOnline', 'nobody')).toBe(false);
    expect(await call('isUidsOnline', ['u-1', 42, 'nobody'])).toEqual({ 'u-1': true, '42': true, nobody: false });
    expect(sorted(await call('getClientIdByUid', 'u-1'))).toEqual(sorted([a1.id, b1.id])); // both gateways
    expect(await call('getClientIdByUid', '42')).toEqual([a2.id]);
    expect(await call('getClientIdByUid', 'nobody')).toEqual([]);
    expect(sortValues(await call('batchGetClientIdByUid', ['u-1', 42, 'nobody']))).toEqual({
      'u-1': sorted([a1.id, b1.id]),
      '42': [a2.id],
      nobody: [],
    });
    expect(await call('getUidByClientId', a2.id)).toBe('42');
    expect(await call('getUidByClientId', b1.id)).toBe('u-1');
    expect(sorted(await call('getAllUidList'))).toEqual(['42', 'u-1', 'u-2']);
    expect(await call('getAllUidCount')).toBe(3);
    await call('unbindUid', b2.id, 'u-2');
    expect(await call('getUidByClientId', b2.id)).toBeNull();
    expect(await call('isUidOnline', 'u-2')).toBe(false);
    expect(sorted(await call('getAllUidList'))).toEqual(['42', 'u-1']);
    expect(await call('getAllUidCount')).toBe(2);

    // groups: red = a1, b1; blue = b1, a2; 7 (a number) = b2.
    await call('joinGroup', a1.id, 'red');
    await call('joinGroup', b1.id, 'red');
    await call('joinGroup', b1.id, 'blue');
    await call('joinGroup', a2.id, 'blue');
    await call('joinGroup', b2.id, 7);
    expect(await d(() => call('sendToGroup', 'red', 'to red'))).toEqual(exp({ a1: ['to red'], b1: ['to red'] }));
    // b1 is in both listed groups and receives the message once.
    expect(await d(() => call('sendToGroup', ['red', 'blue'], 'red+blue'))).toEqual(
      exp({ a1: ['red+blue'], a2: ['red+blue'], b1: ['red+blue'] }),
    );
    expect(await d(() => call('sendToGroup', ['red', 'blue'], 'minus', [b1.id, a1.id]))).toEqual(
      exp({ a2: ['minus'] }),
    );
    expect(await d(() => call('sendToGroup', '7', { g: 7 }))).toEqual(exp({ b2: ['{"g":7}'] }));
    expect(sorted(await call('getAllGroupIdList'))).toEqual(['7', 'blue', 'red']);
    expect(sorted(await call('getClientIdListByGroup', 'red'))).toEqual(sorted([a1.id, b1.id]));
    expect(sorted(await call('getClientIdListByGroup', ['red', 'blue']))).toEqual(sorted([a1.id, a2.id, b1.id]));
    expect(await call('getClientCountByGroup', 'blue')).toBe(2);
    expect(await call('getClientCountByGroup', 7)).toBe(1);
    expect(await call('getClientCountByGroup', 'none')).toBe(0);
    expect(await call('batchGetClientIdCountByGroup', ['red', 'blue', 7, 'none'])).toEqual({
      red: 2,
      blue: 2,
      '7': 1,
      none: 0,
    });
    expect(sortValues(await call('getAllGroupClientIdList'))).toEqual({
      red: sorted([a1.id, b1.id]),
      blue: sorted([a2.id, b1.id]),
      '7': [b2.id],
    });
    expect(await call('getAllGroupClientIdCount')).toEqual({ red: 2, blue: 2, '7': 1 });
    // uid u-1 is on a1 (gateway 1) and b1 (gateway 2): counted once.
    expect(await call('getUidListByGroup', 'red')).toEqual(['u-1']);
    expect(sorted(await call('getUidListByGroup', ['red', 'blue']))).toEqual(['42', 'u-1']);
    expect(await call('getUidCountByGroup', 'red')).toBe(1);
    expect(await call('getUidCountByGroup', 'blue')).toBe(2);
    expect(sortValues(await call('getAllGroupUidList'))).toEqual({ red: ['u-1'], blue: ['42', 'u-1'], '7': [] });
    expect(await call('getAllGroupUidCount')).toEqual({ red: 1, blue: 2, '7': 0 });
    await call('leaveGroup', b1.id, 'blue');
    expect(await call('getClientIdListByGroup', 'blue')).toEqual([a2.id]);
    expect(await d(() => call('sendToGroup', 'blue', 'after leave'))).toEqual(exp({ a2: ['after leave'] }));
    await call('ungroup', 'red');
    expect(sorted(await call('getAllGroupIdList'))).toEqual(['7', 'blue']);
    expect(await call('getClientCountByGroup', 'red')).toBe(0);
    expect(await d(() => call('sendToGroup', 'red', 'to dissolved red'))).toEqual(exp({}));
    expect(await call('isOnline', a1.id)).toBe(true); // ungroup keeps the members online
    expect(await call('isOnline', b1.id)).toBe(true);
    // A client has one uid: binding another replaces it.
    await call('bindUid', a1.id, 'u-3');
    expect(await call('getClientIdByUid', 'u-1')).toEqual([b1.id]);
    expect(await call('getUidByClientId', a1.id)).toBe('u-3');

    // sessions
    await call('setSession', a2.id, { name: 'al', prefs: { theme: 'dark', sizes: { s: 1 } }, tags: ['a'] });
    await call('updateSession', a2.id, { prefs: { sizes: { m: 2 } }, tags: ['b'], extra: true });
    const a2Session = { name: 'al', prefs: { theme: 'dark', sizes: { s: 1, m: 2 } }, tags: ['b'], extra: true };
    expect(await call('getSession', a2.id)).toEqual(a2Session); // nested objects merged, arrays replaced
    await call('setSession', b1.id, { name: 'bo', gone: true });
    await call('setSession', b1.id, { name: 'bo' }); // set replaces
    expect(await call('getSession', b1.id)).toEqual({ name: 'bo' });
    expect(await call('getSession', b2.id)).toEqual({}); // never set
    await call('setSession', a1.id, { x: 1 });
    await call('setSession', a1.id, null);
    expect(await call('getSession', a1.id)).toEqual({}); // null session reads as {}
    expect(await call('getAllClientSessions')).toEqual({
      [a1.id]: {},
      [a2.id]: a2Session,
      [b1.id]: { name: 'bo' },
      [b2.id]: {},
    });
    expect(await call('getAllClientSessions', null)).toEqual({
      [a1.id]: {},
      [a2.id]: a2Session,
      [b1.id]: { name: 'bo' },
      [b2.id]: {},
    });
    expect(await call('getAllClientSessions', 'blue')).toEqual({ [a2.id]: a2Session });
    expect(await call('getClientSessionsByGroup', 7)).toEqual({ [b2.id]: {} });
    expect(await call('getClientSessionsByGroup', 'red')).toEqual({});

    // clients
    expect(await call('getAllClientCount')).toBe(4);
    expect(sorted(await call('getAllClientIdList'))).toEqual(sorted([a1.id, a2.id, b1.id, b2.id]));
    expect(await call('isOnline', b2.id)).toBe(true);

    // closeClient with a message: the message, then close 1000.
    let mark = b2.c.received.length;
    await call('closeClient', b2.id, 'bye');
    expect(await within(b2.c.closed, 'b2 to close')).toBe(1000);
    expect(messagesSince(b2, mark)).toEqual(['bye']);
    await eventually(
      () => call('isOnline', b2.id),
      (online) => online === false,
      'b2 offline',
    );
    expect(await call('getSession', b2.id)).toBeNull(); // offline client

    // closeClient without a message.
    mark = b1.c.received.length;
    await call('closeClient', b1.id);
    expect(await within(b1.c.closed, 'b1 to close')).toBe(1000);
    expect(messagesSince(b1, mark)).toEqual([]);

    // destroyClient: dropped at once, no close handshake.
    await call('destroyClient', a2.id);
    expect(await within(a2.c.closed, 'a2 to be dropped')).toBe(1006);
    await eventually(
      () => call('isOnline', a2.id),
      (online) => online === false,
      'a2 offline',
    );
    await eventually(
      () => call('getAllClientCount'),
      (n) => n === 1,
      'one client left',
    );
    expect(await call('getAllClientIdList')).toEqual([a1.id]);
    // Closed clients left their uids and groups.
    expect(await call('getClientIdByUid', 'u-1')).toEqual([]);
    expect(await call('getAllGroupIdList')).toEqual([]);
    expect(await call('getAllUidList')).toEqual(['u-3']);
  }

  it('every method called from a worker handler acts on the clients of both gateways', async () => {
    const peers = await openFour();
    await exerciseEveryMethod(
      viaHandler(() => peers[0]),
      worker.transport.client,
      peers,
    );
  });

  it('every method called from a forClient application context acts on the clients of both gateways', async () => {
    const peers = await openFour();
    await exerciseEveryMethod(direct(standalone), standalone, peers);
  });

  it('forClientAsync gives a working client too', async () => {
    const [a1, , b1] = await openFour();
    await strict.joinGroup(a1.id, 'async');
    await strict.joinGroup(b1.id, 'async');
    expect(sorted(await strict.getClientIdListByGroup('async'))).toEqual(sorted([a1.id, b1.id]));
    expect(await strict.getAllClientCount()).toBe(4);
  });

  // ---- errors ----------------------------------------------------------------------------------------

  function circular(): object {
    const value: Record<string, unknown> = {};
    value.self = value;
    return value;
  }

  async function expectArgumentErrors(call: Invoke, someClient: string): Promise<void> {
    await expect(call('sendToClient', 'not-a-client-id', 'x')).rejects.toMatchObject({ name: 'InvalidClientIdError' });
    await expect(call('isOnline', '7f00000108fc0000000')).rejects.toMatchObject({ name: 'InvalidClientIdError' }); // 19 characters
    await expect(call('sendToAll', 'x', ['zz000001ffff00000001'])).rejects.toMatchObject({
      name: 'InvalidClientIdError',
    });
    // Well-formed, but gateway 127.0.0.1:65535 is not registered: an offline client, not an error.
    const unknownGateway = '7f000001ffff00000001';
    expect(await call('getSession', unknownGateway)).toBeNull();
    expect(await call('isOnline', unknownGateway)).toBe(false);
    await expect(call('sendToClient', unknownGateway, 'x')).resolves.toBeFalsy();
    for (const [method, args] of [
      ['bindUid', [someClient, '']],
      ['joinGroup', [someClient, '']],
      ['leaveGroup', [someClient, '']],
      ['sendToUid', ['', 'x']],
      ['sendToGroup', [['ok', ''], 'x']],
      ['getClientIdByUid', ['']],
      ['getClientCountByGroup', ['']],
      ['ungroup', ['']],
    ] as const) {
      await expect(call(method, ...args)).rejects.toMatchObject({ name: 'GatewayArgumentError' });
    }
  }

  it('rejects malformed client_ids and empty uids/groups, from a handler and from forClient (an unregistered gateway is offline)', async () => {
    const [a1] = await openFour();
    await expectArgumentErrors(
      viaHandler(() => a1),
      a1.id,
    );
    await expectArgumentErrors(direct(standalone), a1.id);
    // The classes themselves, on the forClient side.
    await expect(standalone.isOnline('xyz')).rejects.toBeInstanceOf(InvalidClientIdError);
    await expect(standalone.bindUid(a1.id, '')).rejects.toBeInstanceOf(GatewayArgumentError);
    // Values JSON.stringify cannot show (in process only: a handler's arguments travel as JSON): still the
    // argument error, not JSON's TypeError.
    await expect(standalone.bindUid(a1.id, 10n as unknown as string)).rejects.toBeInstanceOf(GatewayArgumentError);
    await expect(standalone.sendToUid(circular() as unknown as string, 'x')).rejects.toBeInstanceOf(
      GatewayArgumentError,
    );
    // Nothing was broken by the bad calls.
    expect(await standalone.isOnline(a1.id)).toBe(true);
  });

  // ---- sessions and context shortcuts in handlers ------------------------------------------------------

  it('writes back @Session() changes, and keeps a setSession made inside the handler', async () => {
    const s = await openPeer('s', g2);
    const send = async (msg: object) => {
      s.c.send(JSON.stringify(msg));
      const reply = await nextReply(s);
      expect(reply.type).toBe('api-result');
      return reply.result;
    };
    expect(await send({ type: 'session-mutate', patch: { visits: 1, profile: { name: 'x', langs: ['en'] } } })).toEqual(
      {},
    );
    // The next event sees the written-back session...
    expect(await send({ type: 'session-mutate', patch: { visits: 2 } })).toEqual({
      visits: 1,
      profile: { name: 'x', langs: ['en'] },
    });
    // ...and so does forClient.
    expect(await standalone.getSession(s.id)).toEqual({ visits: 2, profile: { name: 'x', langs: ['en'] } });

    // setSession + updateSession on the current client inside the handler, then a mutation: the write-back
    // keeps the replaced session (no "visits", no "dropped").
    const expected = { replaced: true, nested: { a: 1, b: 2 }, after: 'kept' };
    expect(await send({ type: 'session-replace' })).toEqual(expected);
    expect(await standalone.getSession(s.id)).toEqual(expected);
    expect(await send({ type: 'session-peek' })).toEqual(expected);

    // A change from outside (forClient) is seen by the next event.
    await standalone.updateSession(s.id, { nested: { c: 3 } });
    // updateSession resolves once queued on forClient's link; the client's next message travels on another
    // connection, so first make sure the gateway has applied it (a request on the same link is answered after it).
    expect(await standalone.getSession(s.id)).toEqual({ ...expected, nested: { a: 1, b: 2, c: 3 } });
    expect(await send({ type: 'session-peek' })).toEqual({ ...expected, nested: { a: 1, b: 2, c: 3 } });
    expect(await strict.getSession(s.id)).toEqual({ ...expected, nested: { a: 1, b: 2, c: 3 } });
  });

  it('GatewayContext shortcuts send to, close and destroy the current client', async () => {
    const [x, y, z, w] = await Promise.all([
      openPeer('x', g1),
      openPeer('y', g2),
      openPeer('z', g1),
      openPeer('w', g2),
    ]);
    const mark = x.c.received.length;
    for (const message of ['ctx text', toWire(Buffer.from([9, 8])), { ctx: true }]) {
      x.c.send(JSON.stringify({ type: 'ctx', action: 'send', message }));
      expect((await nextReply(x)).type).toBe('api-result');
    }
    expect(messagesSince(x, mark)).toEqual(['ctx text', 'bin:0908', '{"ctx":true}']);

    y.c.send(JSON.stringify({ type: 'ctx', action: 'close', message: 'ctx bye' }));
    z.c.send(JSON.stringify({ type: 'ctx', action: 'close' }));
    w.c.send(JSON.stringify({ type: 'ctx', action: 'destroy' }));
    expect(await within(y.c.closed, 'y to close')).toBe(1000);
    expect(await within(z.c.closed, 'z to close')).toBe(1000);
    expect(await within(w.c.closed, 'w to be dropped')).toBe(1006);
    expect(messagesSince(y, 0)).toEqual(['ctx bye']);
    expect(messagesSince(z, 0)).toEqual([]);
    expect(messagesSince(w, 0)).toEqual([]);
    expect(await standalone.isOnline(x.id)).toBe(true);
    await eventually(
      () => standalone.getAllClientIdList(),
      (ids) => ids.length === 1,
      'only x left',
    );
  });

  // ---- two workers -----------------------------------------------------------------------------------

  describe('with the example worker app as a second worker', () => {
    let api: string;
    const peers: Record<string, Peer> = {};

    /** Opens a client without asking a handler (it may land on either worker); its id from the gateways' list. */
    async function openUnrouted(name: string, gateway: { url: string; inner: string }): Promise<Peer> {
      const before = new Set(await standalone.getAllClientIdList());
      const c = await TestClient.open(gateway.url);
      sharedClients.push(c);
      const [id] = await eventually(
        async () => (await standalone.getAllClientIdList()).filter((i) => !before.has(i)),
        (ids) => ids.length === 1,
        `the id of ${name}`,
      );
      expect(gatewayAddressOf(id)).toBe(gateway.inner);
      return { name, c, id, cursor: 0 };
    }

    /** Which worker handles a client: the example app echoes untyped text, the in-process one prefixes it. */
    async function workerOf(p: Peer): Promise<'api' | 'app'> {
      const from = p.c.received.length;
      p.c.send('probe');
      const i = await waitForIndex(p, from, () => true);
      const reply = text(p.c.received[i]);
      expect(['probe', 'api-worker:probe']).toContain(reply);
      return reply === 'probe' ? 'app' : 'api';
    }

    beforeAll(async () => {
      const app = await startWorker(register.address, { WORKER_NAME: 'app' });
      api = await exampleWorkerApi(app);
      // Both gateways answer the app over its own links, and count both workers.
      await waitUntilLinked(api, [g1.inner, g2.inner]);
      for (const g of [g1, g2]) {
        await eventually(
          () => strict.getGatewayStats(),
          (all) => all.find((s) => s.address === g.inner)?.workers === 2,
          `${g.inner} to count 2 workers`,
        );
      }
      // Two clients per gateway, each gateway with no other client: least connections gives one to each worker.
      // Named after where they land: p1/q1 on the in-process worker, p2/q2 on the example app (gateway 1 / 2).
      for (const [g, [onApi, onApp]] of [
        [g1, ['p1', 'p2']],
        [g2, ['q1', 'q2']],
      ] as const) {
        const opened = [await openUnrouted('first', g), await openUnrouted('second', g)];
        const owners = [await workerOf(opened[0]), await workerOf(opened[1])];
        expect(sorted(owners)).toEqual(['api', 'app']);
        for (const [i, p] of opened.entries()) {
          p.name = owners[i] === 'api' ? onApi : onApp;
          peers[p.name] = p;
        }
      }
    });

    it('spreads clients over both workers, and both workers reach the clients of both gateways', async () => {
      // Sticky: each client stays on its worker.
      for (const p of Object.values(peers)) expect(await workerOf(p)).toBe(p.name.endsWith('1') ? 'api' : 'app');

      const { p1, p2, q1, q2 } = peers;
      p1.cursor = p1.c.received.length;
      const fromHandler = viaHandler(() => p1);
      // The in-process worker's handler reaches a client the example app handles, on the other gateway.
      let mark = q2.c.received.length;
      await fromHandler('sendToClient', q2.id, 'from api handler');
      await waitForIndex(q2, mark, (m) => text(m) === 'from api handler');
      await fromHandler('joinGroup', p2.id, 'mixed');
      await fromHandler('joinGroup', q2.id, 'mixed');
      await fromHandler('joinGroup', q1.id, 'mixed');
      expect(sorted(await standalone.getClientIdListByGroup('mixed'))).toEqual(sorted([p2.id, q1.id, q2.id]));
      await standalone.bindUid(p1.id, 'shared');
      await standalone.bindUid(q2.id, 'shared');

      // The example app's GatewayClient (its HTTP API) reaches both gateways.
      const marks = [p1, q2].map((p) => p.c.received.length);
      const notify = await fetch(`${api}/notify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ uid: 'shared', message: 'via http' }),
      });
      expect(await notify.json()).toEqual({ uid: 'shared', delivered: true });
      await waitForIndex(p1, marks[0], (m) => text(m) === 'via http');
      await waitForIndex(q2, marks[1], (m) => text(m) === 'via http');
      expect(await (await fetch(`${api}/online`)).json()).toEqual({ clients: 4, uids: 1, groups: { mixed: 3 } });

      // The example chat, handled by the app worker for p2 (gateway 1), tells the room members on gateway 2, and
      // its welcome lists the members of both gateways.
      mark = p2.c.received.length;
      const marksQ = [q1, q2].map((p) => p.c.received.length);
      p2.c.send(JSON.stringify({ type: 'login', name: 'Pat', room: 'mixed' }));
      const welcome = JSON.parse(
        text(p2.c.received[await waitForIndex(p2, mark, (m) => text(m).includes('"welcome"'))]),
      );
      expect(welcome).toMatchObject({ type: 'welcome', client_id: p2.id, room: 'mixed' });
      expect(welcome.client_list).toEqual({ [p2.id]: 'Pat', [q1.id]: '', [q2.id]: '' });
      for (const [i, p] of [q1, q2].entries()) {
        const login = JSON.parse(
          text(p.c.received[await waitForIndex(p, marksQ[i], (m) => text(m).includes('"login"'))]),
        );
        expect(login).toMatchObject({ type: 'login', client_id: p2.id, client_name: 'Pat' });
      }
      // The session the app worker wrote back is visible to forClient.
      expect(await standalone.getSession(p2.id)).toEqual({ name: 'Pat', room: 'mixed' });
    });

    // ---- a gateway fails ---------------------------------------------------------------------------

    it('tolerates a stopped and then a killed gateway: survivors are still sent to and answer; failures are reported', async () => {
      const { p1, p2, q1, q2 } = peers;
      await standalone.joinGroup(p1.id, 'f');
      await standalone.joinGroup(q1.id, 'f');
      expect(sorted(await standalone.getClientIdListByGroup('f'))).toEqual(sorted([p1.id, q1.id]));
      const seen: GatewayFailure[] = [];
      const subscription = standalone.failures.subscribe((f) => seen.push(f));
      try {
        // 1. Gateway 2 stops answering but stays registered (SIGSTOP: its sockets stay open).
        g2.proc.child.kill('SIGSTOP');
        const partial = await strict.getAllClientCount().catch((e: unknown) => e);
        expect(partial).toBeInstanceOf(GatewayPartialFailureError);
        expect((partial as GatewayPartialFailureError).operation).toBe('getAllClientCount');
        const failures = (partial as GatewayPartialFailureError).failures;
        expect(failures.map((f) => f.gatewayAddress)).toEqual([g2.inner]);
        expect(failures[0].error).toBeInstanceOf(GatewayTimeoutError);
        // The lenient client answers with gateway 1's data and reports gateway 2 on `failures`.
        expect(sorted(await standalone.getAllClientIdList())).toEqual(sorted([p1.id, p2.id]));
        expect(seen).toEqual([
          { operation: 'getAllClientIdList', gatewayAddress: g2.inner, error: expect.any(GatewayTimeoutError) },
        ]);
        const mark = p1.c.received.length;
        await standalone.sendToGroup('f', 'while stopped');
        await waitForIndex(p1, mark, (m) => text(m) === 'while stopped');

        // 2. Gateway 2 dies (SIGKILL also ends a stopped process; the kernel closes its sockets).
        await g2.proc.kill();
        expect(await within(q1.c.closed, 'q1 to lose its gateway')).toBe(1006);
        await within(q2.c.closed, 'q2 to lose its gateway');
        const before = seen.length;
        const marks = [p1, p2].map((p) => p.c.received.length);
        await standalone.sendToAll('after kill');
        await standalone.sendToGroup('f', 'group after kill');
        await waitForIndex(p1, marks[0], (m) => text(m) === 'after kill');
        await waitForIndex(p1, marks[0], (m) => text(m) === 'group after kill');
        await waitForIndex(p2, marks[1], (m) => text(m) === 'after kill');
        expect(await standalone.getAllClientCount()).toBe(2);
        expect(sorted(await standalone.getAllClientIdList())).toEqual(sorted([p1.id, p2.id]));
        expect(await standalone.getClientIdListByGroup('f')).toEqual([p1.id]);
        // Right after the kill, either the client still had gateway 2 in its list (the calls then fail for it at
        // once, "link closed" / "no longer registered", and that is reported on `failures`), or the register had
        // already dropped it (it sees the socket close) and pushed the shorter list (then nothing is reported).
        // Both are correct; which one happens is a race between the register's push and these calls.
        const failedAfterKill = seen.slice(before);
        // (Read from the register's log on purpose: the register's list at this moment, as the standalone client
        // saw it, is not observable from outside; a wait here would let the race decide the assertion.)
        const registerDropped = register.proc.lines.some((l) => l.includes(`gateway ${g2.inner} left`));
        expect(failedAfterKill.length > 0 || registerDropped).toBe(true);
        for (const f of failedAfterKill) {
          expect(f.gatewayAddress).toBe(g2.inner);
          expect(f.error).toBeInstanceOf(GatewayUnavailableError);
        }
      } finally {
        subscription.unsubscribe();
      }
      // The register drops the dead gateway (the worker is pushed a list without it); then even the strict client
      // answers again, with the survivors.
      await eventually(
        () => worker.transport.links.gateways(TIMEOUT_MS),
        (list) => !list.includes(g2.inner),
        `the register's list to drop ${g2.inner}`,
      );
      expect(
        await eventually(
          () => strict.getAllClientCount(),
          () => true,
          'the strict client to answer without gateway 2',
        ),
      ).toBe(2);
    });
  });
});
