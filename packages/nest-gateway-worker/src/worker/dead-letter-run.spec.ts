import { Logger } from '@nestjs/common';
import { Server, type MessageHandler } from '@nestjs/microservices';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { throwError } from 'rxjs';
import { GatewayClient } from '../client/gateway-client';
import { workerHello } from '../client/gateway-hello';
import { Cmd, FrameFlag } from '../protocol/command';
import { encodeDeadLetterFrame } from '../protocol/dead-letter-frame';
import { decodeFrame, encodeFrame, frame, type GatewayFrame } from '../protocol/frame';
import { FrameDecoder } from '../protocol/frame-decoder';
import { InnerLink } from '../protocol/inner-link';
import type { ClientEventPattern } from './client-event.decorators';
import type { DeadLetter } from './dead-letter';
import { EventRunner } from './event-runner';
import { GatewayContext } from './gateway.context';
import { HandlerRoutes } from './handler-routes';
import { SessionWriteBack } from './session-write-back';

jest.setTimeout(20_000);

const GATEWAY = '127.0.0.1:2000';
const quiet = new Logger('dead-letter-run.spec');

class NestServer extends Server {
  listen(): void {}
  close(): void {}
  on(): void {}
  unwrap<T>(): T {
    return undefined as T;
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A DeadLetter frame as a gateway at 127.0.0.1:2000 sends it. */
function deadLetterFrame(connectionId: number, body: string, binary = false, uid?: string): Buffer {
  return encodeDeadLetterFrame(
    {
      localIp: 0x7f000001,
      localPort: 2000,
      clientIp: 0x7f000001,
      clientPort: 50_000,
      connectionId,
      flag: FrameFlag.BodyIsScalar | (binary ? FrameFlag.Binary : 0),
      gatewayPort: 7272,
    },
    uid === undefined ? { kind: 'message', deaths: 3 } : { kind: 'message', deaths: 3, uid },
    Buffer.from(body),
  );
}

describe('dead letters on a worker (EventRunner over a real inner link)', () => {
  let server: NetServer;
  const sockets: Socket[] = [];
  const links: InnerLink<GatewayFrame>[] = [];

  beforeAll(async () => {
    server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  afterEach(() => {
    for (const link of links.splice(0)) link.destroy();
    for (const socket of sockets.splice(0)) socket.destroy();
    jest.restoreAllMocks();
  });

  /** A runner with `handlers`, fed by the gateway end of a real link; `back` = what the worker sends the gateway. */
  async function runner(...handlers: [ClientEventPattern, MessageHandler][]) {
    const secret = randomBytes(32);
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const workerSocket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const gatewaySocket = await accepted;
    const link = (socket: Socket, role: 'initiator' | 'responder') =>
      new InnerLink<GatewayFrame>(socket, { secret, role, decoder: new FrameDecoder(), label: role, logger: quiet });
    const workerLink = link(workerSocket, 'initiator');
    const gatewayLink = link(gatewaySocket, 'responder');
    links.push(workerLink, gatewayLink);
    const back: GatewayFrame[] = [];
    gatewayLink.on('message', (f: GatewayFrame) => back.push(f));
    const send = { send: (address: string, bytes: Buffer) => address === GATEWAY && workerLink.send(bytes) };
    const r = new EventRunner({
      links: send,
      sessions: new SessionWriteBack(send),
      client: Object.create(GatewayClient.prototype) as GatewayClient,
      observables: new NestServer(),
    });
    r.route(new HandlerRoutes(handlers.map(([p, h]): [string, MessageHandler] => [JSON.stringify(p), h])));
    workerLink.on('message', (f: GatewayFrame) => r.frame(f, GATEWAY, workerLink));
    await Promise.all([workerLink, gatewayLink].map((l) => new Promise((resolve) => l.once('open', resolve))));
    return { gateway: gatewayLink, back, runner: r };
  }

  it('hands the dead letter to the @OnDeadLetter() handler only: with its client_id, kind, bytes and deaths; no ack, no reply', async () => {
    const letters: [DeadLetter, string][] = [];
    const ordinary: unknown[] = [];
    const {
      gateway,
      back,
      runner: r,
    } = await runner(
      [{ gw: 'message' }, async (body: unknown) => void ordinary.push(body)],
      [
        { gw: 'dead-letter' },
        async (letter: DeadLetter, ctx: GatewayContext) => {
          letters.push([letter, ctx instanceof GatewayContext ? ctx.clientId : 'no context']);
          return 'a reply nobody gets';
        },
      ],
    );
    gateway.send(deadLetterFrame(9, 'poison', false, 'alice'));
    gateway.send(deadLetterFrame(10, '\u0000\u0001', true));
    await until(() => letters.length === 2 && r.inFlight === 0, 'both dead letters handled');
    expect(letters).toEqual([
      [
        {
          clientId: '7f00000107d000000009',
          kind: 'message',
          body: Buffer.from('poison'),
          size: 6,
          binary: false,
          deaths: 3,
          uid: 'alice',
          gatewayAddress: GATEWAY,
        },
        '7f00000107d000000009',
      ],
      [
        expect.objectContaining({ clientId: '7f00000107d00000000a', binary: true, size: 2, uid: null }),
        expect.anything(),
      ],
    ]);
    expect(ordinary).toEqual([]);
    await new Promise((r) => setTimeout(r, 30));
    expect(back).toEqual([]); // never acknowledged, nothing sent to the client
  });

  it("logs a dead-letter handler's failure, and goes on with the next one", async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const seen: number[] = [];
    const { gateway } = await runner([
      { gw: 'dead-letter' },
      async (letter: DeadLetter) => {
        seen.push(letter.size);
        // Nest's exception filters turn a thrown error into an Observable that errors.
        if (letter.size === 1) return throwError(() => new Error('store down'));
        if (letter.size === 2) throw new Error('thrown');
      },
    ]);
    gateway.send(deadLetterFrame(1, 'x'));
    gateway.send(deadLetterFrame(2, 'xx'));
    gateway.send(deadLetterFrame(3, 'xxx'));
    await until(() => seen.length === 3 && error.mock.calls.length === 2, 'three runs, two failures');
    // Different clients: their dead letters run side by side, so the failures come in any order.
    expect(error.mock.calls.map(([m]) => String(m)).sort()).toEqual([
      '@OnDeadLetter() handler failed for client 7f00000107d000000001: store down',
      '@OnDeadLetter() handler failed for client 7f00000107d000000002: thrown',
    ]);
  });

  it('drops a dead letter with a warning when the worker has no handler for it, or its ext is not one', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { gateway } = await runner([{ gw: 'message' }, async () => undefined]);
    gateway.send(deadLetterFrame(4, 'poison'));
    gateway.send(encodeFrame(frame({ cmd: Cmd.DeadLetter, connectionId: 5, ext: Buffer.from('{"kind":"x"}') })));
    await until(() => warn.mock.calls.length === 2, 'two warnings');
    expect(warn.mock.calls.map(([m]) => String(m))).toEqual([
      'dead letter of client 7f00000107d000000004 dropped: this worker has no @OnDeadLetter() handler',
      `dead letter from gateway ${GATEWAY} dropped: dead letter ext_data has no valid "kind"`,
    ]);
  });

  it('a worker says it takes dead letters in its WorkerConnect only when it has a handler for them', () => {
    const hello = workerHello('spec');
    const body = () => JSON.parse(decodeFrame(hello.frame).body.toString()) as Record<string, unknown>;
    expect(body()).toEqual({ worker_key: hello.key });
    hello.deadLetters = true;
    expect(body()).toEqual({ worker_key: hello.key, dead_letters: true });
    const routes = new HandlerRoutes([[JSON.stringify({ gw: 'dead-letter' }), async () => undefined]]);
    expect(routes.deadLetter).toBeDefined();
    expect(new HandlerRoutes([]).deadLetter).toBeUndefined();
  });
});
