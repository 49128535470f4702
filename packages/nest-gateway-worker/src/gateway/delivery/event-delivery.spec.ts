import { Logger } from '@nestjs/common';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { Cmd, FrameFlag } from '../../protocol/command';
import { encodeEventAcks } from '../../protocol/event-ack';
import { decodeEventEnvelope } from '../../protocol/event-envelope';
import { encodeFrame, frame, type GatewayFrame } from '../../protocol/frame';
import { FrameDecoder } from '../../protocol/frame-decoder';
import { InnerLink } from '../../protocol/inner-link';
import { ClientConnection } from '../client-connection';
import { ClientHub } from '../client-hub';
import { resolveGatewayOptions } from '../gateway-options';
import { GatewayCounters } from '../gateway-stats';
import { EventDelivery } from './event-delivery';
import type { WorkerChannel } from './worker-channel';
import { recordingSocket, TEST_HANDSHAKE as handshake } from '../testdata/test-clients';

let nextId = 1;

function client(): ClientConnection & { closes: [number, string | undefined][] } {
  const socket = recordingSocket();
  const { closes } = socket;
  return Object.assign(new ClientConnection(nextId++, socket, 0, handshake), { closes });
}

const defaults = {
  pendingBytesLimit: 1 << 20,
  maxUnackedBytesPerWorker: 32 << 20,
  maxEventDeaths: 3,
  router: 'least-connections' as const,
};

/**
 * Event delivery on its own: a hub for the clients' address, counters and closes (its own delivery is not
 * used), and the delivery under test with the given bounds.
 */
function delivery(options: {
  pendingMaxAgeMs: number;
  pendingEventsLimit?: number;
  maxUnackedBytesPerWorker?: number;
}) {
  const counters = new GatewayCounters();
  const hub = new ClientHub(resolveGatewayOptions({ plaintext: true, pingInterval: 0 }), counters);
  hub.address.innerPort = 2000;
  hub.address.clientPort = 7272;
  const d = new EventDelivery(hub, { ...defaults, pendingEventsLimit: 100, ...options });
  return { d, hub, counters };
}

const message = (c: ClientConnection, text: string, d: EventDelivery) =>
  d.forward(c, Cmd.OnMessage, FrameFlag.BodyIsScalar, Buffer.from(text));

let warn: jest.SpyInstance;
beforeEach(() => {
  warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());
const warnings = (): string[] => warn.mock.calls.map(([line]) => String(line));

describe('EventDelivery pending age bound', () => {
  const created: EventDelivery[] = [];
  afterEach(() => {
    for (const d of created.splice(0)) d.stop();
  });

  it('closes only the clients whose oldest held event is older than the bound, with 1013, and drops their events', async () => {
    const { d, counters } = delivery({ pendingMaxAgeMs: 1_000 });
    created.push(d);
    const [old, young] = [client(), client()];
    const t0 = Date.now();
    message(old, 'a', d);
    message(old, 'b', d);
    await new Promise((r) => setTimeout(r, 30));
    message(young, 'c', d);
    expect(d.pendingCount).toBe(3);
    expect(warnings()[0]).toMatch(/no worker connected: holding client events/);

    d.sweep(t0 + 999); // nothing is that old yet
    expect(old.closes).toEqual([]);
    d.sweep(t0 + 1_000 + 15); // old's first event is, young's is not
    expect(old.closes).toEqual([[1013, 'no worker available']]);
    expect(young.closes).toEqual([]);
    expect(counters.pendingDisconnects).toBe(1);
    expect(d.pendingCount).toBe(1);
    expect(old.pendingEvents).toBe(0);
    expect(warnings()[1]).toMatch(/client \d+ closed: no worker took its events within 1000 ms \(2 dropped\)/);
  });

  it('drops the held events of a client that is already closed without counting a disconnect', () => {
    const { d, counters } = delivery({ pendingMaxAgeMs: 1_000 });
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
    const { d, counters } = delivery({ pendingMaxAgeMs: 1_000, pendingEventsLimit: 2 });
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
    const { d } = delivery({ pendingMaxAgeMs: 100 });
    created.push(d);
    const clients = [client(), client(), client()];
    for (const c of clients) message(c, 'x', d);
    const deadline = Date.now() + 5_000;
    while (clients.some((c) => c.closes.length === 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    for (const c of clients) expect(c.closes).toEqual([[1013, 'no worker available']]);
    expect(d.pendingCount).toBe(0);
    expect(d.sweeping).toBe(false); // stopped once nothing is held
  });

  it('still closes a client at the count bound at once, keeping what it had held', () => {
    const { d, counters } = delivery({ pendingMaxAgeMs: 60_000, pendingEventsLimit: 2 });
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
    this.link.send(
      encodeFrame(frame({ cmd: Cmd.WorkerConnect, body: Buffer.from(JSON.stringify({ worker_key: key })) })),
    );
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

describe('EventDelivery acknowledgements, redelivery and drain', () => {
  let server: Server;
  let port: number;
  let d: EventDelivery;
  let counters: GatewayCounters;
  const workers: FakeWorker[] = [];
  /** The gateway's side of each worker link, in the order accepted. */
  const gatewayLinks: InnerLink<GatewayFrame>[] = [];

  /**
   * Delivery behind a bare inner port: each accepted link is taken as the worker its WorkerConnect names, and
   * its EventAck / WorkerDraining frames and its close are reported to delivery, as the inner listener does.
   */
  async function setUp(maxUnackedBytesPerWorker?: number): Promise<void> {
    const made = delivery({
      pendingMaxAgeMs: 30_000,
      ...(maxUnackedBytesPerWorker ? { maxUnackedBytesPerWorker } : {}),
    });
    // This test's delivery: a link of an earlier test that closes late must not report to it.
    const dd = (d = made.d);
    counters = made.counters;
    const logger = new Logger('EventDeliverySpec');
    server = createServer((socket) => {
      const link = new InnerLink<GatewayFrame>(socket, {
        secret: null,
        role: 'responder',
        decoder: new FrameDecoder(1 << 20),
        label: 'worker',
        logger,
      });
      gatewayLinks.push(link);
      let worker: WorkerChannel | null = null;
      link.on('message', (f: GatewayFrame) => {
        if (f.cmd === Cmd.WorkerConnect) {
          const key = (JSON.parse(f.body.toString()) as { worker_key: string }).worker_key;
          worker = dd.addWorker(key, link, '127.0.0.1', 'peer');
        } else if (worker && f.cmd === Cmd.EventAck) dd.acknowledge(worker, f);
        else if (worker && f.cmd === Cmd.WorkerDraining) dd.drain(worker);
      });
      link.on('close', () => worker && dd.workerClosed(worker));
    });
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
    d.stop();
    gatewayLinks.splice(0);
    for (const w of workers.splice(0)) w.link.destroy();
    await new Promise((r) => server.close(r));
  });

  it("sends a dead worker's unacknowledged events again, in order, ahead of the client's newer events", async () => {
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

  it("drain: answers WorkerDrained, holds a client's newer events until its earlier ones are acknowledged, then moves it", async () => {
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

  it("connect events of clients opened one per turn share writes to the worker, each before its client's first message and its close after the last", async () => {
    await setUp();
    const a = await worker('a');
    const link = gatewayLinks[0];
    const before = link.writeCount;
    const clients = Array.from({ length: 10 }, () => client());
    for (const c of clients) {
      d.forward(c, Cmd.OnConnect, FrameFlag.BodyIsScalar, Buffer.alloc(0));
      await new Promise((r) => setImmediate(r)); // handshakes arrive one per event-loop turn
    }
    message(clients[0], 'first', d);
    d.forward(clients[0], Cmd.OnClose, FrameFlag.BodyIsScalar, Buffer.alloc(0));
    await until(() => a.frames.filter((f) => f.cmd === Cmd.OnClose).length === 1, 'the close event');
    const events = a.frames
      .filter((f) => f.cmd !== Cmd.WorkerConnect)
      .map(
        (f) => `${f.cmd === Cmd.OnConnect ? 'connect' : f.cmd === Cmd.OnClose ? 'close' : 'message'} ${f.connectionId}`,
      );
    expect(events).toEqual([
      ...clients.map((c) => `connect ${c.id}`),
      `message ${clients[0].id}`,
      `close ${clients[0].id}`,
    ]);
    // One write (one record) per turn would be 10 or more.
    expect(link.writeCount - before).toBeLessThan(10);
    // Tracked like any event: acknowledged, they are done with.
    expect(clients[1].unacked).toBe(1);
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
