import {
  ClientId,
  GatewayClient,
  Handshake,
  MessageBody,
  OnClientClose,
  OnClientConnect,
  OnClientMessage,
  Session,
  type ClientHandshake,
} from 'nest-gateway-worker';
import { parseHostPort } from 'nest-gateway-worker/internal';
import { Controller, Inject, type INestMicroservice } from '@nestjs/common';
import { IsInt, IsString, MaxLength, Min } from 'class-validator';
import { of } from 'rxjs';
import { startGateway, startRegister, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';
import { startInProcessWorker } from './support/in-process-worker';
import { TestClient } from './support/ws-client';

/**
 * The worker transport end to end: register and gateway are real processes; the worker runs in this process
 * with handlers written for the test, linked to the gateway over real encrypted sockets.
 */

class ChatMessage {
  @IsString()
  type!: string;

  @IsString()
  @MaxLength(20)
  text!: string;
}

class SlowMessage {
  @IsString()
  type!: string;

  @IsInt()
  @Min(0)
  ms!: number;

  @IsInt()
  n!: number;
}

const closedSessions: { id: string; session: Record<string, unknown> }[] = [];

@Controller()
class TestController {
  constructor(@Inject(GatewayClient) private readonly gw: GatewayClient) {}

  @OnClientConnect()
  welcome(@ClientId() id: string, @Handshake() handshake: ClientHandshake) {
    return {
      type: 'welcome',
      id,
      token: handshake.query.token,
      remote: handshake.remoteAddress,
      header: handshake.headers['x-test'],
    };
  }

  @OnClientMessage('chat')
  chat(@MessageBody() body: ChatMessage, @Session() session: Record<string, unknown>) {
    session.count = ((session.count as number) ?? 0) + 1;
    return { type: 'chat', text: body.text, count: session.count };
  }

  @OnClientMessage('whoami')
  whoami(@Handshake('query') query: Record<string, string>, @ClientId() id: string) {
    return { type: 'whoami', id, token: query.token };
  }

  @OnClientMessage('slow')
  async slow(@MessageBody() body: SlowMessage) {
    await new Promise((resolve) => setTimeout(resolve, body.ms));
    return `slow ${body.n}`;
  }

  @OnClientMessage('stream')
  stream() {
    return of('one', 'two', 'three');
  }

  @OnClientMessage('boom')
  boom(): string {
    throw new Error('internal detail that must not reach the client');
  }

  @OnClientMessage('bye')
  bye(@ClientId() id: string) {
    return this.gw.closeClient(id, 'farewell');
  }

  @OnClientMessage('destroy')
  destroy(@ClientId() id: string) {
    return this.gw.destroyClient(id);
  }

  @OnClientMessage()
  untyped(@MessageBody() message: string | Buffer) {
    return Buffer.isBuffer(message) ? Buffer.concat([Buffer.from('bin:'), message]) : `text:${message}`;
  }

  @OnClientClose()
  closed(@ClientId() id: string, @Session() session: Record<string, unknown>) {
    closedSessions.push({ id, session: { ...session } });
  }
}

describe('worker transport (register and gateway processes, in-process worker)', () => {
  let register: { proc: RoleProcess; address: string };
  let gateway: { proc: RoleProcess; url: string; inner: string };
  let worker: INestMicroservice;
  const clients: TestClient[] = [];

  async function open(path = '/?token=abc', headers: Record<string, string> = {}): Promise<TestClient> {
    const c = await TestClient.open(gateway.url + path, headers);
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    register = await startRegister();
    gateway = await startGateway(register.address);
    ({ app: worker } = await startInProcessWorker(
      [TestController],
      {
        registers: [parseHostPort('REGISTER_ADDRESS', register.address)],
        secret: Buffer.from(TEST_SECRET),
        name: 'e2e',
      },
      [gateway.inner],
    ));
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    await worker?.close();
    await stopAll();
  });

  it('runs @OnClientConnect with the client id and the handshake, and sends its return value', async () => {
    const c = await open('/chat?token=abc', { 'x-test': 'hdr' });
    const welcome = JSON.parse(await c.text(0));
    expect(welcome).toEqual({
      type: 'welcome',
      id: expect.stringMatching(/^[0-9a-f]{20}$/),
      token: 'abc',
      remote: '127.0.0.1',
      header: 'hdr',
    });
    // The client_id embeds the gateway's inner address.
    const [ip, port] = gateway.inner.split(':');
    expect(welcome.id.slice(0, 8)).toBe(
      ip
        .split('.')
        .map((p) => Number(p).toString(16).padStart(2, '0'))
        .join(''),
    );
    expect(parseInt(welcome.id.slice(8, 12), 16)).toBe(Number(port));
  });

  it('routes typed JSON messages to @OnClientMessage(type) and everything else to the untyped handler', async () => {
    const c = await open();
    await c.text(0); // welcome
    c.send(JSON.stringify({ type: 'whoami' }));
    c.send('plain text');
    c.send(JSON.stringify({ type: 'no-such-type' }));
    c.send('{not json');
    c.send(Buffer.from([0, 1, 2, 255]));
    const replies = await c.waitForMessages(6);
    expect(JSON.parse(replies[1].data.toString())).toMatchObject({ type: 'whoami', token: 'abc' });
    expect(replies[2].data.toString()).toBe('text:plain text');
    expect(replies[3].data.toString()).toBe('text:{"type":"no-such-type"}');
    expect(replies[4].data.toString()).toBe('text:{not json');
    expect(replies[5].binary).toBe(true);
    expect([...replies[5].data]).toEqual([...Buffer.from('bin:'), 0, 1, 2, 255]);
    expect(replies.slice(0, 5).every((r) => !r.binary)).toBe(true);
  });

  it('sends every value of an Observable', async () => {
    const c = await open();
    c.send(JSON.stringify({ type: 'stream' }));
    const replies = await c.waitForMessages(4);
    expect(replies.slice(1).map((r) => r.data.toString())).toEqual(['one', 'two', 'three']);
  });

  it('validates DTOs with the global ValidationPipe and tells the client which field is wrong', async () => {
    const c = await open();
    c.send(JSON.stringify({ type: 'chat', text: 42 }));
    c.send(JSON.stringify({ type: 'chat', text: 'x'.repeat(30) }));
    const replies = await c.waitForMessages(3);
    const first = JSON.parse(replies[1].data.toString());
    expect(first.type).toBe('error');
    expect(first.message).toMatch(/text must be a string/);
    expect(JSON.parse(replies[2].data.toString()).message).toMatch(
      /text must be shorter than or equal to 20 characters/,
    );
  });

  it('reports an unexpected handler error as "Internal server error" without its details', async () => {
    const c = await open();
    c.send(JSON.stringify({ type: 'boom' }));
    const reply = JSON.parse(await c.text(1));
    expect(reply).toEqual({ type: 'error', message: 'Internal server error' });
  });

  it("handles one client's events in order even when an earlier handler is slower", async () => {
    const c = await open();
    c.send(JSON.stringify({ type: 'slow', ms: 300, n: 1 }));
    c.send(JSON.stringify({ type: 'slow', ms: 0, n: 2 }));
    c.send(JSON.stringify({ type: 'slow', ms: 50, n: 3 }));
    const replies = await c.waitForMessages(4);
    expect(replies.slice(1).map((r) => r.data.toString())).toEqual(['slow 1', 'slow 2', 'slow 3']);
  });

  it("writes session changes back after each handler, so back-to-back messages see each other's changes", async () => {
    const c = await open();
    const id = JSON.parse(await c.text(0)).id as string;
    // Sent in one burst: later events leave the gateway before the first write-back arrives there.
    for (let i = 0; i < 5; i++) c.send(JSON.stringify({ type: 'chat', text: `m${i}` }));
    const replies = await c.waitForMessages(6);
    expect(replies.slice(1).map((r) => JSON.parse(r.data.toString()).count)).toEqual([1, 2, 3, 4, 5]);
    c.ws.close();
    await c.closed;
    const deadline = Date.now() + 5_000;
    while (!closedSessions.some((s) => s.id === id) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(closedSessions.find((s) => s.id === id)?.session).toEqual({ count: 5 });
  });

  it('closes a client with a last message through GatewayClient.closeClient', async () => {
    const c = await open();
    c.send(JSON.stringify({ type: 'bye' }));
    expect(await c.closed).toBe(1000);
    expect(c.received.map((r) => r.data.toString())).toContain('farewell');
  });

  it('destroys a client through GatewayClient.destroyClient', async () => {
    const c = await open();
    c.send(JSON.stringify({ type: 'destroy' }));
    expect(await c.closed).toBe(1006);
  });
});
