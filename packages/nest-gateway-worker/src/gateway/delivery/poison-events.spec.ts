import { Logger } from '@nestjs/common';
import { connect } from 'node:net';
import { Cmd } from '../../protocol/command';
import { decodeDeadLetterMeta } from '../../protocol/dead-letter-frame';
import { encodeEventAcks } from '../../protocol/event-ack';
import { decodeEventEnvelope } from '../../protocol/event-envelope';
import { encodeFrame, frame, type GatewayFrame } from '../../protocol/frame';
import { FrameDecoder } from '../../protocol/frame-decoder';
import { InnerLink } from '../../protocol/inner-link';
import type { ClientConnection } from '../client-connection';
import { ClientHub } from '../client-hub';
import { CommandTable } from '../commands/command-table';
import { resolveGatewayOptions } from '../gateway-options';
import { GatewayCounters } from '../gateway-stats';
import { InnerListener } from '../inner/inner-listener';
import { recordingSocket, TEST_HANDSHAKE as handshake } from '../testdata/test-clients';

/**
 * Poison events end to end inside the gateway: the real ClientHub, event delivery and inner listener, workers over
 * real encrypted loopback links that acknowledge on command and "die" by dropping their link. Clients are the
 * hub's own entry points (opened, message, closed) over a recording socket.
 */
jest.setTimeout(20_000);

const SECRET = 'poison-events-spec-secret';
const EVENT_CMDS: number[] = [Cmd.OnConnect, Cmd.OnMessage, Cmd.OnClose];
const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;

/** A worker as the gateway sees it: records the frames it receives, acknowledges on command, dies on command. */
class FakeWorker {
  readonly frames: GatewayFrame[] = [];
  readonly link: InnerLink<GatewayFrame>;
  private acked = new Set<number>();

  constructor(port: number, key: string, deadLetters: boolean) {
    this.link = new InnerLink<GatewayFrame>(connect(port, '127.0.0.1'), {
      secret: Buffer.from(SECRET),
      role: 'initiator',
      decoder: new FrameDecoder(1 << 20),
      label: key,
      logger: quiet,
    });
    this.link.on('message', (f: GatewayFrame) => this.frames.push(f));
    const hello = deadLetters ? { worker_key: key, dead_letters: true } : { worker_key: key };
    this.link.send(encodeFrame(frame({ cmd: Cmd.WorkerConnect, body: Buffer.from(JSON.stringify(hello)) })));
  }

  /** The client events received, as "connect:<id>", "message:<id>:<body>" or "close:<id>". */
  get events(): string[] {
    return this.frames.filter((f) => EVENT_CMDS.includes(f.cmd)).map(eventText);
  }

  get deadLetters(): GatewayFrame[] {
    return this.frames.filter((f) => f.cmd === Cmd.DeadLetter);
  }

  /** Acknowledges every client event received so far. */
  ackAll(): void {
    const seqs: number[] = [];
    for (const f of this.frames) {
      if (!EVENT_CMDS.includes(f.cmd)) continue;
      const seq = decodeEventEnvelope(f.ext).q!;
      if (!this.acked.has(seq)) seqs.push(seq);
      this.acked.add(seq);
    }
    if (seqs.length > 0) this.link.send(encodeFrame(frame({ cmd: Cmd.EventAck, body: encodeEventAcks(seqs) })));
  }

  drain(): void {
    this.link.send(encodeFrame(frame({ cmd: Cmd.WorkerDraining })));
  }

  /** The process died: its link is gone, whatever it had not acknowledged. */
  die(): void {
    this.link.destroy();
  }
}

function eventText(f: GatewayFrame): string {
  if (f.cmd === Cmd.OnConnect) return `connect:${f.connectionId}`;
  if (f.cmd === Cmd.OnClose) return `close:${f.connectionId}`;
  return `message:${f.connectionId}:${f.body.toString()}`;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A client connection as a listener gives it to the hub; records the closes the gateway asks for. */
type TestClient = ClientConnection & { closes: [number, string | undefined][] };

describe('poison events: bounded redelivery and dead letters (GatewayOptions.maxEventDeaths)', () => {
  let hub: ClientHub;
  let counters: GatewayCounters;
  let inner: InnerListener;
  let port: number;
  let warn: jest.SpyInstance;
  const workers: FakeWorker[] = [];

  async function setUp(maxEventDeaths: number): Promise<void> {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    for (const level of ['log', 'error', 'debug'] as const)
      jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
    const options = resolveGatewayOptions({
      secret: SECRET,
      lanIp: '127.0.0.1',
      startPort: 0,
      pingInterval: 0,
      maxEventDeaths,
    });
    counters = new GatewayCounters();
    hub = new ClientHub(options, counters);
    inner = new InnerListener(options, hub.delivery, new CommandTable(hub));
    port = hub.address.innerPort = await inner.listen();
  }

  afterEach(async () => {
    await inner.close();
    for (const w of workers.splice(0)) w.link.destroy();
    jest.restoreAllMocks();
  });

  /** A worker linked and counted by the gateway. */
  async function worker(key: string, deadLetters = false): Promise<FakeWorker> {
    const before = hub.delivery.workerCount;
    const w = new FakeWorker(port, key, deadLetters);
    workers.push(w);
    await until(() => hub.delivery.workerCount === before + 1, `worker ${key} to be linked`);
    return w;
  }

  /** Kills `w` and waits until the gateway has handled the loss. */
  async function kill(w: FakeWorker): Promise<void> {
    const before = hub.delivery.workerCount;
    w.die();
    await until(() => hub.delivery.workerCount === before - 1, 'the worker link to close at the gateway');
  }

  function client(): TestClient {
    const socket = recordingSocket();
    const { closes } = socket;
    return Object.assign(hub.opened(socket, handshake, 0x7f000001)!, { closes });
  }

  const say = (c: ClientConnection, text: string) => hub.message(c, Buffer.from(text), false);
  const warnings = (): string[] => warn.mock.calls.map(([line]) => String(line));

  it('dead-letters an event in flight at 3 worker deaths: never sent again, handed once to @OnDeadLetter, client closed 4010', async () => {
    await setUp(3);
    const a = await worker('a');
    const p = client();
    await until(() => a.events.length === 1, 'the connect event');
    a.ackAll();
    await until(() => p.unacked === 0, 'the connect ack');
    say(p, 'poison');
    await until(() => a.events.length === 2, 'the poison at a');

    const b = await worker('b');
    await kill(a); // death 1: sent again
    await until(() => b.events.includes(`message:${p.id}:poison`), 'the poison at b');
    const c = await worker('c');
    await kill(b); // death 2: sent again, alone
    await until(() => c.events.includes(`message:${p.id}:poison`), 'the poison at c');
    const d = await worker('d', true);
    await kill(c); // death 3: dead letter
    await until(() => d.deadLetters.length === 1, 'the dead letter at d');

    const [letter] = d.deadLetters;
    expect({
      connectionId: letter.connectionId,
      localPort: letter.localPort,
      meta: decodeDeadLetterMeta(letter.ext),
      body: letter.body.toString(),
    }).toEqual({ connectionId: p.id, localPort: port, meta: { kind: 'message', deaths: 3 }, body: 'poison' });
    expect(d.events).toEqual([]); // never to an ordinary handler
    expect(p.closes).toEqual([[4010, 'event could not be handled']]);
    expect([counters.deadLetteredEvents, counters.deadLettersDropped, counters.eventsRedelivered]).toEqual([1, 0, 2]);

    // What the client sends before its close completes reaches no worker; its close event still does.
    say(p, 'after');
    hub.closed(p);
    await until(() => d.events.length === 1, 'the close event at d');
    expect(d.events).toEqual([`close:${p.id}`]);
    expect(d.deadLetters).toHaveLength(1);

    // The gateway's line names the client_id and the size, never the body.
    const line = warnings().find((w) => w.includes('dead-lettered'))!;
    expect(line).toContain(hub.address.clientId(p));
    expect(line).toContain('(6 bytes)');
    expect(line).toContain('3 worker death(s)');
    expect(warnings().join('\n')).not.toContain('poison');
  });

  it('blames only the culprit: innocent events in flight beside it are sent again, one death short they go alone', async () => {
    await setUp(3);
    const a = await worker('a');
    const p = client();
    const i = client(); // the innocent bystander
    await until(() => a.events.length === 2, 'both connect events');
    a.ackAll();
    await until(() => p.unacked + i.unacked === 0, 'the connect acks');
    say(i, 'i1');
    say(p, 'poison');
    await until(() => a.events.length === 4, 'both messages at a');

    // Deaths 1 and 2 catch both events unacknowledged: each now has 2 deaths, one short of the limit.
    const b = await worker('b');
    await kill(a);
    await until(() => b.events.length === 2, 'both messages at b');
    await kill(b);
    expect(hub.delivery.pendingCount).toBe(2);

    // One death short, each goes alone to an idle worker, and that worker gets nothing else until it acknowledges.
    const c = await worker('c', true);
    await until(() => c.events.length === 1, 'the first isolated event at c');
    const newcomer = client(); // a new client's connect waits too
    say(i, 'i2');
    await new Promise((r) => setTimeout(r, 50));
    expect(c.events).toHaveLength(1);
    if (c.events[0] === `message:${i.id}:i1`) {
      c.ackAll(); // the innocent one is handled; then the poison goes, alone
      await until(() => c.events.length === 2, 'the poison at c');
      expect(c.events[1]).toBe(`message:${p.id}:poison`);
    } else {
      expect(c.events[0]).toBe(`message:${p.id}:poison`);
    }
    const d = await worker('d', true);
    await kill(c); // the poison's third death: it alone is blamed
    await until(() => d.deadLetters.length === 1, 'the dead letter at d');
    expect(decodeDeadLetterMeta(d.deadLetters[0].ext)).toEqual({ kind: 'message', deaths: 3 });
    expect(d.deadLetters[0].connectionId).toBe(p.id);

    // The innocent client's messages all arrive, in order, and it stays open; the newcomer goes on.
    const innocentAt = () => [...c.events, ...d.events].filter((e) => e.startsWith(`message:${i.id}:`));
    const handled = (event: string) => () => {
      d.ackAll(); // d handles whatever it gets (an isolated i1 first, when the poison went to c first)
      return d.events.includes(event) || c.events.includes(event);
    };
    await until(handled(`message:${i.id}:i2`), 'i2 to arrive');
    await until(handled(`connect:${newcomer.id}`), "the newcomer's connect");
    expect(innocentAt()).toEqual([`message:${i.id}:i1`, `message:${i.id}:i2`]);
    expect(i.closes).toEqual([]);
    expect(newcomer.closes).toEqual([]);
    expect(p.closes).toEqual([[4010, 'event could not be handled']]);
    expect(counters.deadLetteredEvents).toBe(1);
  });

  it('a drain that hands events back is not a death; a crash is', async () => {
    await setUp(1); // the first death dead-letters
    const a = await worker('a');
    const c = client();
    await until(() => a.events.length === 1, 'the connect event');
    a.ackAll();
    await until(() => c.unacked === 0, 'the connect ack');
    say(c, 'slow');
    await until(() => a.events.length === 2, 'the message at a');
    const b = await worker('b', true);
    a.drain();
    await until(() => a.frames.some((f) => f.cmd === Cmd.WorkerDrained), 'WorkerDrained');
    await kill(a); // the drain timed out: the event is handed back
    await until(() => b.events.includes(`message:${c.id}:slow`), 'the event at b');
    expect([counters.deadLetteredEvents, counters.eventsRedelivered]).toEqual([0, 1]);
    expect(c.closes).toEqual([]);

    const d = await worker('d', true);
    await kill(b); // a crash
    await until(() => d.deadLetters.length === 1, 'the dead letter');
    expect(decodeDeadLetterMeta(d.deadLetters[0].ext)).toEqual({ kind: 'message', deaths: 1 });
    expect(counters.deadLetteredEvents).toBe(1);
  });

  it('with no @OnDeadLetter() handler on the workers linked the dead letter is dropped; with no worker linked it waits for one', async () => {
    await setUp(1);
    const a = await worker('a');
    const c1 = client();
    await until(() => a.events.length === 1, 'the first connect event');
    const b = await worker('b'); // no dead-letter handler either
    await kill(a);
    await until(() => counters.deadLetteredEvents === 1, 'the dead letter');
    expect([counters.deadLettersDropped, hub.delivery.heldDeadLetters]).toEqual([1, 0]);
    expect(b.deadLetters).toEqual([]);
    expect(warnings().some((w) => /no linked worker has an @OnDeadLetter\(\) handler/.test(w))).toBe(true);
    expect(c1.closes).toEqual([[4010, 'event could not be handled']]);

    const c2 = client(); // its connect goes to b, the only worker
    await until(() => b.events.includes(`connect:${c2.id}`), 'the second connect event');
    await kill(b); // no worker left: the dead letter waits
    await until(() => counters.deadLetteredEvents === 2, 'the second dead letter');
    expect(hub.delivery.heldDeadLetters).toBe(1);
    const e = await worker('e', true);
    await until(() => e.deadLetters.length === 1, 'the held dead letter at e');
    expect(decodeDeadLetterMeta(e.deadLetters[0].ext)).toEqual({ kind: 'connect', deaths: 1 });
    expect(e.deadLetters[0].connectionId).toBe(c2.id);
    expect([hub.delivery.heldDeadLetters, counters.deadLettersDropped]).toEqual([0, 1]);
  });

  it('0 turns the limit off: the event is sent again after every death', async () => {
    await setUp(0);
    let w = await worker('w0', true);
    const c = client();
    await until(() => w.events.length === 1, 'the connect event');
    for (let n = 1; n <= 5; n++) {
      const next = await worker(`w${n}`, true);
      await kill(w);
      await until(() => next.events.includes(`connect:${c.id}`), `the connect event after death ${n}`);
      w = next;
    }
    expect([counters.deadLetteredEvents, counters.eventsRedelivered]).toEqual([0, 5]);
    expect(c.closes).toEqual([]);
  });
});
