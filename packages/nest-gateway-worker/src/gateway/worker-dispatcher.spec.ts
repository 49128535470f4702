import type { Logger } from '@nestjs/common';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { Cmd, FrameFlag } from '../protocol/command';
import { encodeEventAcks } from '../protocol/event-ack';
import { decodeEventEnvelope } from '../protocol/event-envelope';
import { encodeFrame, frame, type GatewayFrame } from '../protocol/frame';
import { FrameDecoder } from '../protocol/frame-decoder';
import { InnerLink } from '../protocol/inner-link';
import { ClientConnection } from './client-connection';
import type { ClientSocket } from './client-socket';
import { GatewayCounters } from './gateway-stats';
import { WorkerDispatcher } from './worker-dispatcher';

const handshake = { listener: 'ws://127.0.0.1:0', protocol: 'ws', remoteAddress: '127.0.0.1', remotePort: 1, url: '/', query: {}, headers: {} };
let nextId = 1;

function client(): ClientConnection & { closes: [number, string | undefined][] } {
  const closes: [number, string | undefined][] = [];
  const socket: ClientSocket = {
    isOpen: true,
    bufferedAmount: 0,
    send: () => undefined,
    close: (code, reason) => void closes.push([code, reason]),
    terminate: () => undefined,
  };
  return Object.assign(new ClientConnection(nextId++, socket, 0, handshake), { closes });
}

/** A dispatcher with no worker connected: everything forwarded is held. */
function dispatcher(pendingMaxAgeMs: number, pendingEventsLimit = 100) {
  const counters = new GatewayCounters();
  const warnings: string[] = [];
  const logger = { log: () => undefined, warn: (m: string) => void warnings.push(m) } as unknown as Logger;
  const d = new WorkerDispatcher({
    secret: null,
    lanIp: 0x7f000001,
    innerPort: () => 2000,
    clientPort: () => 7272,
    pendingEventsLimit,
    pendingBytesLimit: 1 << 20,
    pendingMaxAgeMs,
    counters,
    logger,
    execute: () => undefined,
  });
  return { d, counters, warnings };
}

const message = (c: ClientConnection, text: string, d: WorkerDispatcher) =>
  d.forward(c, Cmd.OnMessage, FrameFlag.BodyIsScalar, Buffer.from(text));

describe('WorkerDispatcher pending age bound', () => {
  const created: WorkerDispatcher[] = [];
  afterEach(() => {
    for (const d of created.splice(0)) d.endLinks();
  });

  it('closes only the clients whose oldest held event is older than the bound, with 1013, and drops their events', async () => {
    const { d, counters, warnings } = dispatcher(1_000);
    created.push(d);
    const [old, young] = [client(), client()];
    const t0 = Date.now();
    message(old, 'a', d);
    message(old, 'b', d);
    await new Promise((r) => setTimeout(r, 30));
    message(young, 'c', d);
    expect(d.pendingCount).toBe(3);
    expect(warnings[0]).toMatch(/no worker connected: holding client events/);

    d.sweep(t0 + 999); // nothing is that old yet
    expect(old.closes).toEqual([]);
    d.sweep(t0 + 1_000 + 15); // old's first event is, young's is not
    expect(old.closes).toEqual([[1013, 'no worker available']]);
    expect(young.closes).toEqual([]);
    expect(counters.pendingDisconnects).toBe(1);
    expect(d.pendingCount).toBe(1);
    expect(old.pendingEvents).toBe(0);
    expect(warnings[1]).toMatch(/client \d+ closed: no worker took its events within 1000 ms \(2 dropped\)/);
  });

  it('drops the held events of a client that is already closed without counting a disconnect', () => {
    const { d, counters } = dispatcher(1_000);
    created.push(d);
    const c = client();
    c.closed = true;
    d.forward(c, Cmd.OnClose, FrameFlag.BodyIsScalar, Buffer.alloc(0));
    d.sweep(Date.now() + 2_000);
    expect(c.closes).toEqual([]);
    expect(counters.pendingDisconnects).toBe(0);
    expect(d.pendingCount).toBe(0);
  });

  it('holds a close event even past the pending bounds, so a client never loses its close behind its held events', () => {
    const { d, counters } = dispatcher(1_000, 2);
    created.push(d);
    const c = client();
    message(c, 'a', d);
    message(c, 'b', d); // the queue is now full
    c.closed = true;
    d.forward(c, Cmd.OnClose, FrameFlag.BodyIsScalar, Buffer.alloc(0));
    expect(d.pendingCount).toBe(3);
    expect(c.pendingEvents).toBe(3);
    expect(counters.pendingDisconnects).toBe(0);
  });

  it('runs the sweep on one timer of its own while events are held', async () => {
    const { d } = dispatcher(100);
    created.push(d);
    const clients = [client(), client(), client()];
    for (const c of clients) message(c, 'x', d);
    const deadline = Date.now() + 5_000;
    while (clients.some((c) => c.closes.length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of clients) expect(c.closes).toEqual([[1013, 'no worker available']]);
    expect(d.pendingCount).toBe(0);
    expect((d as unknown as { sweepTimer: unknown }).sweepTimer).toBeNull(); // stopped once nothing is held
  });

  it('still closes a client at the count bound at once, keeping what it had held', () => {
    const { d, counters } = dispatcher(60_000, 2);
    created.push(d);
    const c = client();
    message(c, '1', d);
    message(c, '2', d);
    message(c, '3', d);
    expect(c.closes).toEqual([[1013, 'no worker available']]);
    expect(counters.pendingDisconnects).toBe(1);
    expect(d.pendingCount).toBe(2);
  });
});

// ---- with worker links over real loopback sockets (plaintext inner links) ----------------------------------

/** A worker as the gateway sees it: a real inner link that records the events it receives and acks on demand. */
class FakeWorker {
  readonly frames: GatewayFrame[] = [];
  readonly link: InnerLink<GatewayFrame>;

  constructor(port: number, key: string) {
    const logger = { log: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
    this.link = new InnerLink<GatewayFrame>(connect(port, '127.0.0.1'), {
      secret: null,
      role: 'initiator',
      decoder: new FrameDecoder(1 << 20),
      label: key,
      logger,
    });
    this.link.on('message', (f: GatewayFrame) => this.frames.push(f));
    this.link.send(encodeFrame(frame({ cmd: Cmd.WorkerConnect, body: Buffer.from(JSON.stringify({ worker_key: key })) })));
  }

  /** Bodies of the client events received, as text. */
  get events(): string[] {
    return this.frames.filter((f) => f.cmd === Cmd.OnMessage).map((f) => f.body.toString());
  }

  seqOf(body: string): number {
    const f = this.frames.find((x) => x.cmd === Cmd.OnMessage && x.body.toString() === body)!;
    return decodeEventEnvelope(f.ext).q!;
  }

  ack(...bodies: string[]): void {
    this.link.send(encodeFrame(frame({ cmd: Cmd.EventAck, body: encodeEventAcks(bodies.map((b) => this.seqOf(b))) })));
  }

  send(cmd: Cmd): void {
    this.link.send(encodeFrame(frame({ cmd })));
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('WorkerDispatcher acknowledgements, redelivery and drain', () => {
  let server: Server;
  let port: number;
  let d: WorkerDispatcher;
  let counters: GatewayCounters;
  const workers: FakeWorker[] = [];

  async function setUp(maxUnackedBytesPerWorker?: number): Promise<void> {
    counters = new GatewayCounters();
    const logger = { log: () => undefined, warn: () => undefined } as unknown as Logger;
    d = new WorkerDispatcher({
      secret: null,
      lanIp: 0x7f000001,
      innerPort: () => port,
      clientPort: () => 7272,
      pendingEventsLimit: 100,
      pendingBytesLimit: 1 << 20,
      maxUnackedBytesPerWorker,
      counters,
      logger,
      execute: () => undefined,
    });
    server = createServer((socket) => d.accept(socket));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  }

  async function worker(key: string): Promise<FakeWorker> {
    const before = d.workerCount;
    const w = new FakeWorker(port, key);
    workers.push(w);
    await until(() => d.workerCount > before, `worker ${key} to be accepted`);
    return w;
  }

  afterEach(async () => {
    for (const w of workers.splice(0)) w.link.destroy();
    d.endLinks();
    await new Promise((r) => server.close(r));
  });

  it('sends a dead worker\'s unacknowledged events again, in order, ahead of the client\'s newer events', async () => {
    await setUp();
    const a = await worker('a');
    const c = client();
    for (const m of ['m1', 'm2', 'm3', 'm4']) message(c, m, d);
    await until(() => a.events.length === 4, 'a to receive 4 events');
    a.ack('m1');
    await until(() => c.unacked === 3, 'the ack of m1');
    const b = await worker('b');
    a.link.destroy(); // killed
    await until(() => counters.eventsRedelivered === 3, 'the redelivery');
    message(c, 'm5', d);
    await until(() => b.events.length === 4, 'b to receive 4 events');
    expect(b.events).toEqual(['m2', 'm3', 'm4', 'm5']);
    // b had never seen the client: its first event carries the handshake, with the current session.
    const first = decodeEventEnvelope(b.frames.find((f) => f.cmd === Cmd.OnMessage)!.ext);
    expect(first.handshake?.remoteAddress).toBe('127.0.0.1');
    expect(c.unacked).toBe(4);
  });

  it('drain: answers WorkerDrained, holds a client\'s newer events until its earlier ones are acknowledged, then moves it', async () => {
    await setUp();
    const a = await worker('a');
    const c = client();
    message(c, 'm1', d);
    message(c, 'm2', d);
    await until(() => a.events.length === 2, 'a to receive 2 events');
    const b = await worker('b');
    a.send(Cmd.WorkerDraining);
    await until(() => a.frames.some((f) => f.cmd === Cmd.WorkerDrained), 'WorkerDrained');
    message(c, 'm3', d); // m1, m2 still unacknowledged at a: held
    await new Promise((r) => setTimeout(r, 50));
    expect(d.pendingCount).toBe(1);
    expect(b.events).toEqual([]);
    a.ack('m1');
    await new Promise((r) => setTimeout(r, 50));
    expect(b.events).toEqual([]); // m2 is still out
    a.ack('m2');
    await until(() => b.events.length === 1, 'm3 to move to b');
    message(c, 'm4', d);
    await until(() => b.events.length === 2, 'm4 at b');
    expect(b.events).toEqual(['m3', 'm4']);
    expect(a.events).toEqual(['m1', 'm2']);
    const newClient = client();
    message(newClient, 'n1', d);
    await until(() => b.events.length === 3, 'a new client to go to b, not to the draining a');
    expect(counters.eventsRedelivered).toBe(0);
  });

  it('a worker past its unacked bound makes its clients wait at the gateway; its acks release them in order', async () => {
    await setUp(64 * 3); // three empty-ish events fill it
    const a = await worker('a');
    const c = client();
    for (const m of ['1', '2', '3', '4', '5']) message(c, m, d);
    await until(() => a.events.length === 3, 'a to receive 3 events');
    await new Promise((r) => setTimeout(r, 50));
    expect(a.events).toEqual(['1', '2', '3']);
    expect(d.pendingCount).toBe(2);
    a.ack('1', '2');
    await until(() => a.events.length === 5, 'the held events after the acks');
    expect(a.events).toEqual(['1', '2', '3', '4', '5']);
    expect(d.pendingCount).toBe(0);
  });
});
