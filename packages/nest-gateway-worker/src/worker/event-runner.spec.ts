import { Logger } from '@nestjs/common';
import { Server, type MessageHandler } from '@nestjs/microservices';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { of, throwError } from 'rxjs';
import { GatewayClient } from '../client/gateway-client';
import { MAX_BATCHED_REPLY_BYTES } from '../protocol/client-message';
import { Cmd, FrameFlag } from '../protocol/command';
import { decodeEventAcks } from '../protocol/event-ack';
import { encodeEventFrame } from '../protocol/event-envelope';
import type { GatewayFrame } from '../protocol/frame';
import { FrameDecoder } from '../protocol/frame-decoder';
import { InnerLink } from '../protocol/inner-link';
import type { ClientEventPattern } from './client-event.decorators';
import { EventRunner } from './event-runner';
import type { GatewaySender } from './gateway-sender';
import { GatewayContext } from './gateway.context';
import { HandlerRoutes } from './handler-routes';
import { SessionWriteBack } from './session-write-back';

/** Real sockets, bounded waits, no timing assertions. */
jest.setTimeout(20_000);

const WAIT_MS = 5_000;
/** The gateway the events come from: 127.0.0.1, inner port 2000 (what the client_ids encode). */
const GATEWAY = '127.0.0.1:2000';
const LOCAL_IP = 0x7f000001;
const LOCAL_PORT = 2000;
const quietLogger = new Logger('event-runner.spec');

/** Nest's real `Server.send` (what the transport passes for handlers that return an Observable). */
class NestServer extends Server {
  listen(): void {}
  close(): void {}
  on(): void {}
  unwrap<T>(): T {
    return undefined as T;
  }
}

/** A route key as Nest builds it from our decorators' patterns. */
const route = (pattern: ClientEventPattern): string => JSON.stringify(pattern);

/**
 * A worker-side EventRunner fed by a real encrypted inner link over a real socket pair. The gateway's end of the
 * link sends event frames and records every frame the worker sends back (replies, commands, acks), in order.
 */
class Harness {
  readonly received: GatewayFrame[] = [];
  readonly runner: EventRunner;
  readonly sessions: SessionWriteBack;
  private nextSeq = 1;

  constructor(
    readonly gatewayLink: InnerLink<GatewayFrame>,
    readonly workerLink: InnerLink<GatewayFrame>,
    handlers: [ClientEventPattern, MessageHandler][],
    batched: boolean,
  ) {
    gatewayLink.on('message', (f: GatewayFrame) => this.received.push(f));
    // The runner's port to the gateways, over this one link (GatewayLinkPool.send picks the open link by address).
    // `batched`: replies are encoded straight into the link's batch, as GatewayLinkPool.batchFor allows on the
    // native wire; otherwise each is a buffer handed to send() (a sender without batchFor, the php wire).
    const links: GatewaySender = {
      send: (address: string, bytes: Buffer) => address === GATEWAY && workerLink.send(bytes),
    };
    if (batched) links.batchFor = (address) => (address === GATEWAY && workerLink.isOpen ? workerLink : null);
    this.sessions = new SessionWriteBack(links);
    // The handlers here make no GatewayClient calls: the context only carries it. The class is never constructed
    // over links in this spec, so its prototype is enough to be the real type.
    const client = Object.create(GatewayClient.prototype) as GatewayClient;
    this.runner = new EventRunner({ links, sessions: this.sessions, client, observables: new NestServer() });
    this.runner.route(
      new HandlerRoutes(handlers.map(([pattern, handler]): [string, MessageHandler] => [route(pattern), handler])),
    );
    workerLink.on('message', (f: GatewayFrame) => this.runner.frame(f, GATEWAY, workerLink));
  }

  /** Sends one client event as a gateway does; returns its sequence number. */
  event(
    cmd: Cmd.OnConnect | Cmd.OnMessage | Cmd.OnClose,
    connectionId: number,
    body = '',
    options: { version?: number; session?: string; binary?: boolean; uid?: string } = {},
  ): number {
    const seq = this.nextSeq++;
    const header = {
      cmd,
      localIp: LOCAL_IP,
      localPort: LOCAL_PORT,
      clientIp: LOCAL_IP,
      clientPort: 50_000,
      connectionId,
      flag: FrameFlag.BodyIsScalar | (options.binary ? FrameFlag.Binary : 0),
      gatewayPort: 7272,
    };
    const handshake = JSON.stringify({
      listener: 'ws://127.0.0.1:7272',
      protocol: 'ws',
      remoteAddress: '127.0.0.1',
      remotePort: 50_000,
      url: '/',
      query: {},
      headers: {},
    });
    this.gatewayLink.send(
      encodeEventFrame(
        header,
        Buffer.from(body),
        options.version ?? 0,
        options.session ?? 'null',
        handshake,
        options.uid,
        seq,
      ),
    );
    return seq;
  }

  /** Sends raw bytes as an event frame (for malformed envelopes). */
  raw(bytes: Buffer): void {
    this.gatewayLink.send(bytes);
  }

  /** Waits until the worker has acknowledged every one of `seqs`; returns the frames received until then. */
  async untilAcked(...seqs: number[]): Promise<GatewayFrame[]> {
    await until(() => seqs.every((s) => this.acked().includes(s)), `acks for ${seqs.join(', ')}`);
    return this.received;
  }

  acked(): number[] {
    const seqs: number[] = [];
    for (const f of this.received) {
      if (f.cmd !== Cmd.EventAck) continue;
      decodeEventAcks(f.body, (first, last) => {
        for (let s = first; s <= last; s++) seqs.push(s);
      });
    }
    return seqs;
  }

  /** The frames other than acks, as [cmd, connection id, body or ext text]. */
  sent(): [number, number, string][] {
    return this.received
      .filter((f) => f.cmd !== Cmd.EventAck)
      .map((f) => [f.cmd, f.connectionId, (f.cmd === Cmd.SendToOne ? f.body : f.ext).toString()]);
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.each([false, true])(
  'EventRunner (over a real inner link; replies encoded in the link batch: %s)',
  (batched) => {
    let server: NetServer;
    const open: Socket[] = [];
    const links: InnerLink<GatewayFrame>[] = [];

    beforeAll(async () => {
      server = createServer((socket) => void open.push(socket));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    afterEach(() => {
      for (const link of links.splice(0)) link.destroy();
      for (const socket of open.splice(0)) socket.destroy();
      jest.restoreAllMocks();
    });

    /** A gateway-side and a worker-side link over one real socket pair, encrypted with a fresh secret, open. */
    async function harness(...handlers: [ClientEventPattern, MessageHandler][]): Promise<Harness> {
      const secret = randomBytes(32);
      const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
      const workerSocket = connect((server.address() as AddressInfo).port, '127.0.0.1');
      const gatewaySocket = await accepted;
      const link = (socket: Socket, role: 'initiator' | 'responder', label: string) =>
        new InnerLink<GatewayFrame>(socket, { secret, role, decoder: new FrameDecoder(), label, logger: quietLogger });
      const workerLink = link(workerSocket, 'initiator', `gateway ${GATEWAY}`);
      const gatewayLink = link(gatewaySocket, 'responder', 'worker');
      links.push(workerLink, gatewayLink);
      const h = new Harness(gatewayLink, workerLink, handlers, batched);
      await Promise.all([workerLink, gatewayLink].map((l) => new Promise((resolve) => l.once('open', resolve))));
      return h;
    }

    it('replies on the link the event came on, then acknowledges the event; an unchanged session writes nothing back', async () => {
      const seen: unknown[] = [];
      const h = await harness([
        { gw: 'message' },
        async (body: unknown, ctx: GatewayContext) => {
          seen.push(body, ctx instanceof GatewayContext && ctx.clientId, ctx.gatewayAddress, ctx.handshake.url);
          return `echo:${String(body)}`;
        },
      ]);
      const seq = h.event(Cmd.OnMessage, 7, 'hi');
      const frames = await h.untilAcked(seq);
      expect(seen).toEqual(['hi', '7f00000107d000000007', GATEWAY, '/']);
      expect(h.sent()).toEqual([[Cmd.SendToOne, 7, 'echo:hi']]);
      expect(frames.map((f) => f.cmd)).toEqual([Cmd.SendToOne, Cmd.EventAck]);
    });

    it('replies text, JSON, binary and a reply longer than a batch takes, in order, each intact', async () => {
      const long = 'L'.repeat(MAX_BATCHED_REPLY_BYTES); // its frame is 28 bytes longer than the batch takes
      const replies: Record<string, unknown> = {
        text: 'héllo',
        json: { a: [1, 'ü'], b: null },
        binary: Buffer.from([0, 1, 2, 255]),
        typed: new Uint8Array([9, 8, 7]),
        long,
        none: undefined,
      };
      const h = await harness([{ gw: 'message' }, async (body: unknown) => replies[body as string]]);
      const seqs = Object.keys(replies).map((k) => h.event(Cmd.OnMessage, 3, k));
      const frames = await h.untilAcked(...seqs);
      const out = frames.filter((f) => f.cmd === Cmd.SendToOne);
      expect(out.map((f) => [f.flag & FrameFlag.Binary, f.body.toString('latin1')])).toEqual([
        [0, Buffer.from('héllo').toString('latin1')],
        [0, Buffer.from('{"a":[1,"ü"],"b":null}').toString('latin1')],
        [FrameFlag.Binary, '\x00\x01\x02\xff'],
        [FrameFlag.Binary, '\x09\x08\x07'],
        [0, long],
      ]);
      expect(out.every((f) => f.connectionId === 3 && f.ext.length === 0 && f.localIp === 0)).toBe(true);
    });

    it('picks the typed handler for a JSON message of its type, the untyped one for other text and for binary', async () => {
      const calls: [string, unknown][] = [];
      const h = await harness(
        [{ gw: 'message', type: 'join' }, async (body: unknown) => void calls.push(['join', body])],
        [
          { gw: 'message' },
          async (body: unknown) =>
            void calls.push(['untyped', Buffer.isBuffer(body) ? `buffer:${body.toString()}` : body]),
        ],
      );
      const seqs = [
        h.event(Cmd.OnMessage, 1, '{"type":"join","room":"a"}'),
        h.event(Cmd.OnMessage, 1, '{"type":"other"}'),
        h.event(Cmd.OnMessage, 1, 'plain'),
        h.event(Cmd.OnMessage, 1, 'bytes', { binary: true }),
      ];
      await h.untilAcked(...seqs);
      expect(calls).toEqual([
        ['join', { type: 'join', room: 'a' }],
        ['untyped', '{"type":"other"}'],
        ['untyped', 'plain'],
        ['untyped', 'buffer:bytes'],
      ]);
      expect(h.sent()).toEqual([]); // undefined results send nothing
    });

    it("runs one client's events in order although the first handler is slower, other clients' meanwhile", async () => {
      const log: string[] = [];
      let releaseFirst!: () => void;
      const h = await harness([
        { gw: 'message' },
        (body: unknown) => {
          log.push(`start ${String(body)}`);
          if (body !== 'a1') return Promise.resolve(`done ${String(body)}`);
          return new Promise((resolve) => (releaseFirst = () => resolve('done a1')));
        },
      ]);
      const a1 = h.event(Cmd.OnMessage, 1, 'a1');
      const a2 = h.event(Cmd.OnMessage, 1, 'a2');
      const b1 = h.event(Cmd.OnMessage, 2, 'b1');
      await h.untilAcked(b1);
      expect(log).toEqual(['start a1', 'start b1']); // a2 waits for a1; b1 did not
      expect(h.acked()).toEqual([b1]);
      releaseFirst();
      await h.untilAcked(a1, a2);
      expect(log).toEqual(['start a1', 'start b1', 'start a2']);
      expect(h.sent().map(([, , body]) => body)).toEqual(['done b1', 'done a1', 'done a2']);
    });

    it('writes a changed session back before the ack, and a later event with an older snapshot gets the written session', async () => {
      const sessions: unknown[] = [];
      const h = await harness([
        { gw: 'message' },
        async (_body: unknown, ctx: GatewayContext) => {
          sessions.push({ ...ctx.session });
          ctx.session.visits = Number(ctx.session.visits ?? 0) + 1;
        },
      ]);
      const first = h.event(Cmd.OnMessage, 3, 'x', { version: 4, session: '{"name":"ann"}' });
      await h.untilAcked(first);
      expect(h.sent()).toEqual([[Cmd.SetSession, 3, '{"name":"ann","visits":1}']]);
      expect(h.received.map((f) => f.cmd)).toEqual([Cmd.SetSession, Cmd.EventAck]);
      // Already on the wire before the gateway applied the write-back: version 4 again, the old snapshot.
      const second = h.event(Cmd.OnMessage, 3, 'y', { version: 4, session: '{"name":"ann"}' });
      await h.untilAcked(second);
      expect(sessions).toEqual([{ name: 'ann' }, { name: 'ann', visits: 1 }]);
      expect(h.sent()[1]).toEqual([Cmd.SetSession, 3, '{"name":"ann","visits":2}']);
    });

    it('replies a handler error to the client as {type:"error"}; a close handler replies nothing', async () => {
      const h = await harness(
        // Nest's exception filters turn a thrown error into an Observable that errors.
        [
          { gw: 'message' },
          async () => throwError(() => ({ status: 'error', message: ['name must be a string', 'age too low'] })),
        ],
        [{ gw: 'close' }, async () => 'bye'],
      );
      const seqs = [h.event(Cmd.OnMessage, 4, 'bad'), h.event(Cmd.OnClose, 4)];
      await h.untilAcked(...seqs);
      expect(h.sent()).toEqual([[Cmd.SendToOne, 4, '{"type":"error","message":"name must be a string; age too low"}']]);
    });

    it('sends every value of an Observable a handler returns, then acknowledges the event', async () => {
      const h = await harness([{ gw: 'message' }, async () => of('one', 'two', { n: 3 })]);
      const seq = h.event(Cmd.OnMessage, 5, 'go');
      await h.untilAcked(seq);
      expect(h.sent()).toEqual([
        [Cmd.SendToOne, 5, 'one'],
        [Cmd.SendToOne, 5, 'two'],
        [Cmd.SendToOne, 5, '{"n":3}'],
      ]);
      expect(h.received.at(-1)?.cmd).toBe(Cmd.EventAck);
    });

    it('answers a request ($rid) with one reply envelope: the value, nothing returned, an error, an Observable, no handler', async () => {
      jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined); // the message no handler takes
      const bodies: unknown[] = [];
      const h = await harness(
        [
          { gw: 'message', type: 'get' },
          async (body: { n: number }) => {
            bodies.push(body);
            return { type: 'got', n: body.n };
          },
        ],
        [{ gw: 'message', type: 'quiet' }, async () => undefined],
        [
          { gw: 'message', type: 'bad' },
          async () => throwError(() => ({ status: 'error', statusCode: 400, message: ['text must be a string'] })),
        ],
        [{ gw: 'message', type: 'many' }, async () => of('first', 'second')],
        [{ gw: 'message', type: 'text' }, async () => 'plain text'],
      );
      const seqs = [
        h.event(Cmd.OnMessage, 6, '{"type":"get","n":1,"$rid":1}'),
        h.event(Cmd.OnMessage, 6, '{"type":"quiet","$rid":2}'),
        h.event(Cmd.OnMessage, 6, '{"type":"bad","$rid":"b"}'),
        h.event(Cmd.OnMessage, 6, '{"type":"many","$rid":4}'),
        h.event(Cmd.OnMessage, 6, '{"type":"text","$rid":5}'),
        h.event(Cmd.OnMessage, 6, '{"type":"nobody","$rid":6}'),
        // Without an id: the plain reply, as always.
        h.event(Cmd.OnMessage, 6, '{"type":"get","n":2}'),
      ];
      await h.untilAcked(...seqs);
      expect(bodies).toEqual([
        { type: 'get', n: 1 },
        { type: 'get', n: 2 },
      ]); // the id never reaches the handler
      expect(h.sent().map(([, , body]) => body)).toEqual([
        '{"$rid":1,"data":{"type":"got","n":1}}',
        '{"$rid":2}',
        '{"$rid":"b","error":"text must be a string","statusCode":400}',
        '{"$rid":4,"data":"first"}',
        'second',
        '{"$rid":5,"data":"plain text"}',
        '{"$rid":6,"error":"no handler for this message"}',
        '{"type":"got","n":2}',
      ]);
    });

    it('rejects a client whose connect handler fails; its later events reach no handler but are still acknowledged', async () => {
      const calls: string[] = [];
      const h = await harness(
        [
          { gw: 'connect' },
          // What GatewayExceptionFilter makes of ConnectionRejectedException('bad token', 4401).
          async () => (
            calls.push('connect'),
            throwError(() => ({ status: 'error', message: 'bad token', closeCode: 4401 }))
          ),
        ],
        [{ gw: 'message' }, async () => void calls.push('message')],
        [{ gw: 'close' }, async () => void calls.push('close')],
      );
      const seqs = [
        h.event(Cmd.OnConnect, 6),
        h.event(Cmd.OnMessage, 6, 'sent before the close'),
        h.event(Cmd.OnClose, 6),
      ];
      await h.untilAcked(...seqs);
      expect(calls).toEqual(['connect']);
      expect(h.sent()).toEqual([[Cmd.RejectConnection, 6, '{"code":4401,"reason":"bad token"}']]);
      // The close event ended the rejection: the same connection id, reused later, reaches handlers again.
      await h.untilAcked(h.event(Cmd.OnMessage, 6, 'new client'));
      expect(calls).toEqual(['connect', 'message']);
    });

    it('ctx.rejectConnection(): rejects with its code and sends nothing the handler returns', async () => {
      const h = await harness([
        { gw: 'message' },
        async (_body: unknown, ctx: GatewayContext) => {
          ctx.rejectConnection('kicked', 4001);
          return 'not sent';
        },
      ]);
      await h.untilAcked(h.event(Cmd.OnMessage, 8, 'x'));
      expect(h.sent()).toEqual([[Cmd.RejectConnection, 8, '{"code":4001,"reason":"kicked"}']]);
    });

    it('drops an event whose envelope cannot be read, with a warning, and acknowledges it so it is not sent again', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const calls: unknown[] = [];
      const h = await harness([{ gw: 'message' }, async (body: unknown) => void calls.push(body)]);
      const good = encodeEventFrame(
        {
          cmd: Cmd.OnMessage,
          localIp: LOCAL_IP,
          localPort: LOCAL_PORT,
          clientIp: 0,
          clientPort: 0,
          connectionId: 9,
          flag: FrameFlag.BodyIsScalar,
          gatewayPort: 0,
        },
        Buffer.from('x'),
        0,
        'null',
        undefined,
        undefined,
        41,
      );
      // Cut the envelope's JSON short, keeping its "q" so the ack can still name the event.
      const text = good.toString('latin1').replace('"session":null}', '"session":nul!}'); // same length
      h.raw(Buffer.from(text, 'latin1'));
      await h.untilAcked(41);
      expect(calls).toEqual([]);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^event from gateway 127\.0\.0\.1:2000 dropped: /));
    });

    it('fails an event whose value cannot be sent (logged), acknowledges it, and runs the next one', async () => {
      const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const h = await harness([{ gw: 'message' }, async (body: unknown) => (body === 'big' ? { n: BigInt(1) } : 'ok')]);
      await h.untilAcked(h.event(Cmd.OnMessage, 10, 'big'));
      expect(error).toHaveBeenCalledWith(
        expect.stringMatching(/^message event of client 7f00000107d00000000a failed: /),
        expect.anything(),
      );
      expect(h.sessions.live.size).toBe(0); // the failed handler's live session went with it
      await h.untilAcked(h.event(Cmd.OnMessage, 10, 'small'));
      expect(h.sent()).toEqual([[Cmd.SendToOne, 10, 'ok']]);
    });

    it('keeps the live @Session() object visible to GatewayClient only while its handler runs', async () => {
      let during: unknown;
      const h = await harness([
        { gw: 'message' },
        async (_body: unknown, ctx: GatewayContext) => {
          during = h.sessions.activeSession(ctx.clientId);
          ctx.session.seen = true;
        },
      ]);
      await h.untilAcked(h.event(Cmd.OnMessage, 11, 'x', { session: '{"a":1}' }));
      expect(during).toEqual({ a: 1, seen: true });
      expect(h.sessions.activeSession('7f00000107d00000000b')).toBeUndefined();
    });

    it('forgets the rejected clients of a gateway whose link went down', async () => {
      const calls: string[] = [];
      const h = await harness(
        [{ gw: 'connect' }, async (_b: unknown, ctx: GatewayContext) => ctx.rejectConnection()],
        [{ gw: 'message' }, async () => void calls.push('message')],
      );
      await h.untilAcked(h.event(Cmd.OnConnect, 12));
      h.runner.gatewayLost('127.0.0.1:9999'); // another gateway: nothing changes
      await h.untilAcked(h.event(Cmd.OnMessage, 12, 'dropped'));
      expect(calls).toEqual([]);
      h.runner.gatewayLost(GATEWAY);
      await h.untilAcked(h.event(Cmd.OnMessage, 12, 'handled'));
      expect(calls).toEqual(['message']);
    });

    it("keeps each connection's client_id only until its close event (also a rejected client's) or its gateway's loss", async () => {
      const ids: string[] = [];
      const h = await harness(
        [
          { gw: 'connect' },
          async (_b: unknown, ctx: GatewayContext) =>
            ctx.clientId.endsWith('0000000d') ? ctx.rejectConnection() : null,
        ],
        [{ gw: 'message' }, async (_b: unknown, ctx: GatewayContext) => void ids.push(ctx.clientId)],
        [{ gw: 'close' }, async () => undefined],
      );
      for (const id of [11, 12, 13]) await h.untilAcked(h.event(Cmd.OnConnect, id));
      await h.untilAcked(h.event(Cmd.OnMessage, 11, 'a'));
      await h.untilAcked(h.event(Cmd.OnMessage, 11, 'b'));
      expect(ids).toEqual(['7f00000107d00000000b', '7f00000107d00000000b']);
      expect(h.runner.ids.size).toBe(3);
      await h.untilAcked(h.event(Cmd.OnClose, 11));
      await h.untilAcked(h.event(Cmd.OnClose, 13)); // the rejected one
      expect(h.runner.ids.size).toBe(1);
      h.runner.gatewayLost('127.0.0.1:9999'); // another gateway: nothing changes
      expect(h.runner.ids.size).toBe(1);
      h.runner.gatewayLost(GATEWAY);
      expect(h.runner.ids.size).toBe(0);
    });
  },
);
