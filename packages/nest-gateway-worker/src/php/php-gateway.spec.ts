import { Logger } from '@nestjs/common';
import WebSocket from 'ws';
import { GatewayServer } from '../gateway/gateway-server';
import { resolveGatewayOptions, type GatewayOptions } from '../gateway/gateway-options';
import { ipv4ToString } from '../protocol/client-id';
import { Cmd } from '../protocol/command';
import { decodeFrame, type GatewayFrame } from '../protocol/frame';
import { resolveRegisterOptions } from '../register/register-options';
import { RegisterServer } from '../register/register-server';
import { phpUnserialize } from './php-serialize';
import { toJson } from './php-value';
import { FakePhpPeer } from './testdata/fake-php-peer';
import { PHP_VECTORS, phpVector, vectorBytes } from './testdata/php-vectors';

/**
 * Our gateway (real GatewayServer, real sockets on 127.0.0.1) with PHP peers played from the captured vectors: a
 * PHP BusinessWorker and a PHP GatewayClient. Runs A and C rebuild the state PHP's gateway had when the vectors were
 * captured (same client order, so the same connection ids), so PHP's own replies must come back byte for byte.
 */

interface Cluster {
  register: RegisterServer;
  gateway: GatewayServer;
  url: string;
  inner: string;
}

const started: Cluster[] = [];
const opened: { close(): void }[] = [];

async function startCluster(options: Partial<GatewayOptions> = {}): Promise<Cluster> {
  const register = new RegisterServer(
    resolveRegisterOptions({
      listen: '127.0.0.1:0',
      plaintext: true,
      wireProfile: options.wireProfile ?? 'php',
      phpSecretKey: options.phpSecretKey,
    }),
  );
  const { port } = await register.listen();
  const gateway = new GatewayServer(
    resolveGatewayOptions({
      listeners: [{ url: 'ws://127.0.0.1:0' }],
      startPort: 0,
      registers: `127.0.0.1:${port}`,
      plaintext: true,
      wireProfile: 'php',
      pingInterval: 0,
      shutdownTimeoutMs: 500,
      ...options,
    }),
  );
  const { clientUrl, innerAddress } = await gateway.start();
  const cluster = { register, gateway, url: clientUrl, inner: innerAddress };
  started.push(cluster);
  return cluster;
}

/** A WebSocket client that records its messages and its close code. */
class Client {
  readonly messages: string[] = [];
  closeCode: number | null = null;
  private readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string, path = '/chat?token=abc') {
    this.ws = new WebSocket(url + path, { headers: { Cookie: 'sid=xyz' } });
    this.ws.on('message', (data: Buffer) => this.messages.push(data.toString('utf8')));
    this.ws.on('close', (code) => (this.closeCode = code));
    this.ws.on('error', () => undefined);
    this.opened = new Promise((resolve) => this.ws.once('open', () => resolve()));
    opened.push(this);
  }

  send(text: string): void {
    this.ws.send(text);
  }

  close(): void {
    this.ws.terminate();
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A PHP frame of the vectors with another connection id (the vectors' clients are 1 and 2). */
function withConnection(id: string, connectionId: number): Buffer {
  const bytes = Buffer.from(vectorBytes(id));
  bytes.writeUInt32BE(connectionId, 17);
  return bytes;
}

function replyOf(id: string): Buffer {
  return Buffer.from(phpVector(id).fields!.payload!, 'utf8');
}

const text = (f: GatewayFrame, part: 'ext' | 'body'): string => f[part].toString('utf8');

beforeEach(() => {
  for (const level of ['log', 'warn', 'error'] as const)
    jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
});

afterEach(async () => {
  for (const o of opened.splice(0)) o.close();
  for (const c of started.splice(0)) {
    await c.gateway.stop();
    await c.register.close();
  }
  jest.restoreAllMocks();
});

describe('our gateway with the php profile, PHP peers in (capture run A: one client)', () => {
  it("serves a PHP BusinessWorker as PHP's gateway does, and answers every captured request byte for byte", async () => {
    const { url, inner } = await startCluster();
    const worker = await FakePhpPeer.connect(inner, 'frames');
    opened.push(worker);
    worker.write(vectorBytes('V1'));
    const client = new Client(url);
    await client.opened;

    // V3: CMD_ON_CONNECT, no session; then V4: CMD_ON_WEBSOCKET_CONNECT with the handshake array (flag 0).
    const connect = await worker.nextFrame();
    const [innerHost, innerPort] = inner.split(':');
    const wsPort = Number(new URL(url).port);
    expect(connect).toMatchObject({
      cmd: Cmd.OnConnect,
      localIp: 0x7f000001,
      localPort: Number(innerPort),
      clientIp: 0x7f000001,
      connectionId: 1,
      flag: 1,
      gatewayPort: wsPort,
    });
    expect(innerHost).toBe('127.0.0.1');
    expect(connect.ext.length + connect.body.length).toBe(0);
    const onWebSocketConnect = await worker.nextFrame();
    expect(onWebSocketConnect).toMatchObject({ cmd: Cmd.OnWebSocketConnect, connectionId: 1, flag: 0 });
    const data = toJson(phpUnserialize(onWebSocketConnect.body)) as Record<string, Record<string, unknown>>;
    const captured = toJson(phpUnserialize(Buffer.from(phpVector('V4').fields!.body!, 'utf8'))) as typeof data;
    expect(Object.keys(data)).toEqual(Object.keys(captured));
    expect(data.get).toEqual(captured.get);
    expect(data.cookie).toEqual(captured.cookie);
    // workerman 5's server layout: the same keys first, in the same order; REMOTE_PORT and SERVER_PORT as ints.
    expect(Object.keys(data.server).slice(0, 9)).toEqual(Object.keys(captured.server).slice(0, 9));
    expect(data.server).toMatchObject({
      QUERY_STRING: 'token=abc',
      REQUEST_METHOD: 'GET',
      REQUEST_URI: '/chat?token=abc',
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_NAME: `127.0.0.1:${wsPort}`,
      CONTENT_TYPE: null,
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_PORT: connect.clientPort,
      SERVER_PORT: wsPort,
      HTTP_COOKIE: 'sid=xyz',
      HTTP_HOST: `127.0.0.1:${wsPort}`,
    });

    // V5: a message, no session yet; V6: the worker's reply reaches the client.
    client.send('hello');
    const message = await worker.nextFrame();
    expect({ cmd: message.cmd, flag: message.flag, ext: text(message, 'ext'), body: text(message, 'body') }).toEqual({
      cmd: Cmd.OnMessage,
      flag: 1,
      ext: '',
      body: 'hello',
    });
    worker.write(vectorBytes('V6'));
    await until(() => client.messages.includes('hello'), 'the reply V6');

    // V7 (the worker writes $_SESSION back), V9 (bindUid), V10 (joinGroup); the next event carries the session
    // byte for byte (V8's ext): the PHP worker's crc32 check sees its own write.
    // A PHP GatewayClient without secret: the request is the first frame (it sees the worker's writes here first).
    const gc = await FakePhpPeer.connect(inner, 'replies');
    opened.push(gc);
    worker.write(vectorBytes('V7'), vectorBytes('V9'), vectorBytes('V10'));
    const sessionIs = async (want: string): Promise<boolean> => {
      gc.write(vectorBytes('Q4'));
      return (await gc.nextReply()).toString('utf8') === want;
    };
    const v8Session = phpVector('V8').fields!.ext_data!;
    // Bounded by time, not by a count of round trips: under load the worker's link may be read later.
    const v7Deadline = Date.now() + 15_000;
    while (!(await sessionIs(v8Session))) {
      if (Date.now() > v7Deadline) throw new Error('V7 never applied');
      await new Promise((r) => setTimeout(r, 5));
    }
    client.send('!bind u42');
    const v8 = await worker.nextFrame();
    expect(v8.ext.equals(Buffer.from(v8Session, 'utf8'))).toBe(true);
    expect(text(v8, 'body')).toBe('!bind u42');

    // Every captured request of run A.
    for (const q of ['Q1', 'Q3', 'Q4', 'Q5', 'Q6', 'Q7', 'Q8', 'Q9', 'Q10', 'Q11', 'Q12', 'Q15']) {
      gc.write(vectorBytes(q));
      const reply = await gc.nextReply();
      expect({ q, reply: reply.toString('utf8') }).toEqual({ q, reply: replyOf(`${q}-reply`).toString('utf8') });
    }
    // Pipelined: all of them in one write, the replies in request order (and the reply bytes as captured, prefix
    // included).
    const all = ['Q1', 'Q4', 'Q15', 'Q6'];
    gc.write(...all.map(vectorBytes));
    for (const q of all) {
      const payload = await gc.nextReply();
      const prefixed = Buffer.alloc(4);
      prefixed.writeUInt32BE(payload.length);
      expect(Buffer.concat([prefixed, payload]).equals(vectorBytes(`${q}-reply`))).toBe(true);
    }

    // F10: updateSession(["lvl" => 2]) merges; the close event carries the merged session exactly as V11's.
    gc.write(vectorBytes('F10'));
    gc.write(vectorBytes('Q4'));
    await gc.nextReply();
    client.close();
    const close = await worker.nextFrame();
    expect(close.cmd).toBe(Cmd.OnClose);
    expect(close.ext.equals(Buffer.from(phpVector('V11').fields!.ext_data!, 'utf8'))).toBe(true);
  });

  it('answers every request it cannot serve in PHP form instead of leaving the caller waiting', async () => {
    const { inner } = await startCluster();
    const gc = await FakePhpPeer.connect(inner, 'replies');
    opened.push(gc);
    const ask = async (cmd: Cmd, ext: string, connectionId = 0): Promise<string> => {
      gc.send({ cmd, ext: Buffer.from(ext), connectionId });
      return (await gc.nextReply()).toString('utf8');
    };
    expect(await ask(Cmd.GetSessionByClientId, '', 99)).toBe('N;');
    expect(await ask(Cmd.IsOnline, '', 99)).toBe('i:0;');
    expect(await ask(Cmd.Select, 'not json')).toBe('a:0:{}');
    expect(await ask(Cmd.Select, '{"fields":["uid"],"where":{"nonsense":[1]}}')).toBe('a:0:{}');
    expect(await ask(Cmd.BatchGetClientIdByUid, '{')).toBe('a:0:{}');
    expect(await ask(Cmd.BatchGetClientCountByGroup, '["42", 7, "x"]')).toBe('a:3:{i:42;i:0;i:7;i:0;s:1:"x";i:0;}');
    expect(await ask(Cmd.GetClientCountByGroup, 'nobody')).toBe('i:0;');
    expect(await ask(Cmd.GetClientSessionsByGroup, 'nobody')).toBe('a:0:{}');
    expect(await ask(Cmd.GetClientIdByUid, 'nobody')).toBe('a:0:{}');
    // A native-only command from a PHP peer is ignored (as PHP ignores an unknown one); the link goes on.
    gc.send({ cmd: Cmd.GetGatewayStats, ext: Buffer.from('{"rid":1}') });
    expect(await ask(Cmd.GetClientCountByGroup, '')).toBe('i:0;');
  });
});

describe('our gateway with the php profile (capture run C: two clients)', () => {
  it('answers Q13 and Q14 byte for byte, and carries out every captured command F1-F16', async () => {
    const { url, inner } = await startCluster();
    const worker = await FakePhpPeer.connect(inner, 'frames');
    opened.push(worker);
    worker.write(vectorBytes('V1'));
    const c1 = new Client(url);
    await c1.opened;
    const c2 = new Client(url);
    await c2.opened;
    const gc = await FakePhpPeer.connect(inner, 'replies');
    opened.push(gc);
    // Run C's state: client 1 has uid u42 and room1, client 2 uid u7 and room1 + room2.
    const bind = (connectionId: number, uid: string) =>
      gc.send({ cmd: Cmd.BindUid, connectionId, ext: Buffer.from(uid) });
    const join = (connectionId: number, group: string) =>
      gc.send({ cmd: Cmd.JoinGroup, connectionId, ext: Buffer.from(group) });
    bind(1, 'u42');
    join(1, 'room1');
    bind(2, 'u7');
    join(2, 'room1');
    join(2, 'room2');
    for (const q of ['Q13', 'Q14']) {
      gc.write(vectorBytes(q));
      expect({ q, reply: (await gc.nextReply()).toString('utf8') }).toEqual({
        q,
        reply: replyOf(`${q}-reply`).toString('utf8'),
      });
    }

    const sync = async (): Promise<void> => {
      gc.write(vectorBytes('Q1'));
      await gc.nextReply();
    };
    const expectMessages = async (m1: string[], m2: string[]): Promise<void> => {
      await sync();
      await until(() => c1.messages.length >= m1.length && c2.messages.length >= m2.length, 'the messages');
      expect({ c1: c1.messages.splice(0), c2: c2.messages.splice(0) }).toEqual({ c1: m1, c2: m2 });
    };
    gc.write(vectorBytes('F1'));
    gc.write(vectorBytes('F2'));
    gc.write(vectorBytes('F3'));
    gc.write(vectorBytes('F4'));
    gc.write(vectorBytes('F5'));
    gc.write(vectorBytes('F6'));
    gc.write(vectorBytes('F7'));
    gc.write(vectorBytes('F8'));
    gc.write(vectorBytes('F9'));
    // A marker after them all, to each client: everything before it has been handled.
    gc.send({ cmd: Cmd.SendToAll, body: Buffer.from('end') });
    await until(() => c1.messages.includes('end') && c2.messages.includes('end'), 'the end marker');
    await expectMessages(
      ['to-all', 'to-list', 'to-client', '12345', 'to-uid', 'to-group-2', 'end'],
      ['to-all', 'all-but-c1', '{"not":"scalar"}', 'to-group', 'to-group-2', 'end'],
    );

    // F11: setSession on client 2; F12 unbind client 1; F13 client 1 leaves room1; F14 ungroup room2.
    gc.write(vectorBytes('F11'), vectorBytes('F12'), vectorBytes('F13'), vectorBytes('F14'));
    gc.write(withConnection('Q4', 2));
    expect((await gc.nextReply()).toString('utf8')).toBe('a:1:{s:8:"replaced";b:1;}');
    gc.send({ cmd: Cmd.Select, ext: Buffer.from('{"fields":["uid","groups"],"where":[]}') });
    // Known difference: PHP answers `a:0:{}` for the groups of a client that left all of them (an emptied array),
    // ours `N;` (a client in no group keeps none); GatewayClient's empty() reads both as "no groups".
    expect((await gc.nextReply()).toString('utf8')).toBe(
      'a:2:{i:1;a:2:{s:3:"uid";N;s:6:"groups";N;}i:2;a:2:{s:3:"uid";s:2:"u7";s:6:"groups";a:1:{s:5:"room1";s:5:"room1";}}}',
    );
    gc.write(vectorBytes('Q15'));
    expect((await gc.nextReply()).toString('utf8')).toBe('a:1:{i:0;s:5:"room1";}');

    // F15: closeClient(1) without message (N;): closed, nothing sent; F16: destroyClient(2).
    gc.write(vectorBytes('F15'));
    await until(() => c1.closeCode !== null, 'client 1 closed');
    expect(c1.messages).toEqual([]);
    gc.write(vectorBytes('F16'));
    await until(() => c2.closeCode !== null, 'client 2 destroyed');
    expect(c2.closeCode).toBe(1006);
    gc.write(vectorBytes('Q1'));
    expect((await gc.nextReply()).toString('utf8')).toBe('i:0;');
  });
});

describe('PHP secretKey on the inner port', () => {
  it('with PHP_SECRET_KEY: the 202 + request pair (Q2) is served; a wrong key, or a command first, is closed', async () => {
    const { url, inner } = await startCluster({ phpSecretKey: 's3cr3t' });
    const client = new Client(url);
    await client.opened;
    const gc = await FakePhpPeer.connect(inner, 'replies');
    opened.push(gc);
    // GatewayClient writes the auth frame and the request in one write, and repeats the auth before each request.
    gc.write(vectorBytes('Q2a'), vectorBytes('Q2b'));
    expect((await gc.nextReply()).equals(replyOf('Q2-reply'))).toBe(true);
    gc.write(vectorBytes('Q2a'), vectorBytes('Q2b'));
    expect((await gc.nextReply()).toString('utf8')).toBe('i:1;');

    const unauthorized = await FakePhpPeer.connect(inner, 'replies');
    opened.push(unauthorized);
    unauthorized.write(vectorBytes('Q1'));
    expect(await unauthorized.closedWithin()).toBe(true);

    const wrongKey = await FakePhpPeer.connect(inner, 'frames');
    opened.push(wrongKey);
    wrongKey.write(vectorBytes('V1'));
    expect(await wrongKey.closedWithin()).toBe(true);

    // A native plaintext peer has no way to show the PHP secret: refused too.
    const native = await FakePhpPeer.connect(inner, 'frames');
    opened.push(native);
    native.send({ cmd: Cmd.GatewayClientConnect });
    expect(await native.closedWithin()).toBe(true);

    const worker = await FakePhpPeer.connect(inner, 'frames');
    opened.push(worker);
    worker.write(vectorBytes('V2'));
    const other = new Client(url);
    await other.opened;
    // The client that connected before any worker was held, then delivered; the second follows.
    const first = await worker.nextFrame();
    expect(first.cmd).toBe(Cmd.OnConnect);
  });

  it('with no PHP secret, a 202 or 200 carrying a non-empty key is refused (strict equality, as PHP); native peers are served', async () => {
    const { inner } = await startCluster();
    const native = await FakePhpPeer.connect(inner, 'frames');
    opened.push(native);
    native.send({ cmd: Cmd.GatewayClientConnect });
    native.send({ cmd: Cmd.GetClientCountByGroup, ext: Buffer.from('{"rid":7}') });
    const reply = await native.nextFrame();
    expect({ cmd: reply.cmd, rid: reply.connectionId, body: reply.body.toString() }).toEqual({
      cmd: Cmd.Reply,
      rid: 7,
      body: '0',
    });
    const gc = await FakePhpPeer.connect(inner, 'replies');
    opened.push(gc);
    gc.write(vectorBytes('Q2a'), vectorBytes('Q2b'));
    expect(await gc.closedWithin()).toBe(true);
    const worker = await FakePhpPeer.connect(inner, 'frames');
    opened.push(worker);
    worker.write(vectorBytes('V2'));
    expect(await worker.closedWithin()).toBe(true);
  });

  it('a gateway with the native profile refuses PHP peers at their first frame', async () => {
    const { inner } = await startCluster({ wireProfile: 'native' });
    for (const id of ['V1', 'Q1', 'Q2a']) {
      const peer = await FakePhpPeer.connect(inner, 'replies');
      opened.push(peer);
      peer.write(vectorBytes(id));
      expect({ id, closed: await peer.closedWithin() }).toEqual({ id, closed: true });
    }
  });
});

describe('the captured frames decode', () => {
  it('every gateway frame of the vectors decodes to its captured fields', () => {
    const frames = PHP_VECTORS.filter((v) => v.kind === 'gateway_frame');
    expect(frames).toHaveLength(44);
    for (const v of frames) {
      const f = decodeFrame(vectorBytes(v.id));
      const fields = v.fields!;
      expect({
        id: v.id,
        cmd: f.cmd,
        localIp: ipv4ToString(f.localIp),
        localPort: f.localPort,
        clientIp: ipv4ToString(f.clientIp),
        clientPort: f.clientPort,
        connectionId: f.connectionId,
        flag: f.flag,
        gatewayPort: f.gatewayPort,
        ext: text(f, 'ext'),
        body: text(f, 'body'),
      }).toEqual({
        id: v.id,
        cmd: fields.cmd,
        localIp: fields.local_ip,
        localPort: fields.local_port,
        clientIp: fields.client_ip,
        clientPort: fields.client_port,
        connectionId: fields.connection_id,
        flag: fields.flag,
        gatewayPort: fields.gateway_port,
        ext: fields.ext_data,
        body: fields.body,
      });
    }
  });
});
