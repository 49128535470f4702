import type { Logger } from '@nestjs/common';
import { Cmd, FrameFlag } from '../protocol/command';
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
