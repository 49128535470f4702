import { Logger } from '@nestjs/common';
import type { ClientConnection } from './client-connection';
import { ClientHub } from './client-hub';
import type { ClientSocket } from './client-socket';
import { resolveGatewayOptions, type GatewayOptions } from './gateway-options';
import { GatewayCounters } from './gateway-stats';
import { OutgoingMessage } from './outgoing-message';

const handshake = {
  listener: 'ws://127.0.0.1:0',
  protocol: 'ws',
  remoteAddress: '127.0.0.1',
  remotePort: 1,
  url: '/',
  query: {},
  headers: {},
};

/** A client socket stand-in that records what the hub does to it. */
class StubSocket implements ClientSocket {
  isOpen = true;
  bufferedAmount = 0;
  readonly sent: string[] = [];
  readonly closes: [number, string | undefined][] = [];
  terminated = 0;
  send(data: Buffer): void {
    this.sent.push(data.toString('utf8'));
  }
  close(code: number, reason?: string): void {
    this.closes.push([code, reason]);
    this.isOpen = false;
  }
  terminate(): void {
    this.terminated++;
    this.isOpen = false;
  }
}

function hubWith(options: GatewayOptions = {}) {
  const counters = new GatewayCounters();
  const hub = new ClientHub(resolveGatewayOptions({ plaintext: true, pingInterval: 0, ...options }), counters);
  const open = (): [ClientConnection, StubSocket] => {
    const socket = new StubSocket();
    const client = hub.opened(socket, handshake, 0x7f000001);
    if (!client) throw new Error('refused');
    return [client, socket];
  };
  return { hub, counters, open };
}

const text = (s: string) => new OutgoingMessage(Buffer.from(s), false);

describe('ClientHub', () => {
  beforeEach(() => {
    for (const level of ['log', 'warn', 'debug'] as const)
      jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it("forwards a client's connect, messages and close to delivery, and forgets it (uid and groups too) once closed", () => {
    const { hub, counters, open } = hubWith();
    const [a] = open();
    hub.message(a, Buffer.from('hi'), false);
    hub.membership.bindUid(a, 'ann');
    hub.membership.joinGroup(a, 'room');
    expect(hub.get(a.id)).toBe(a);
    hub.closed(a);
    // No worker is linked: delivery holds the three events, in order.
    expect(hub.delivery.pendingCount).toBe(3);
    expect([hub.get(a.id), hub.size, hub.membership.uidCount, hub.membership.groupCount]).toEqual([undefined, 0, 0, 0]);
    expect([counters.connectionsAccepted, counters.messagesIn, a.messagesIn]).toEqual([1, 1, 1]);
    hub.delivery.stop();
  });

  it('refuses a connection past maxConnections with 1013, counts it, and tells delivery nothing', () => {
    const { hub, counters, open } = hubWith({ maxConnections: 1 });
    open();
    const socket = new StubSocket();
    expect(hub.opened(socket, handshake, 0x7f000001)).toBeNull();
    expect(socket.closes).toEqual([[1013, 'too many connections']]);
    expect([counters.connectionsRefused, hub.size, hub.delivery.pendingCount]).toEqual([1, 1, 1]);
    hub.delivery.stop();
  });

  it('send hands the message to the socket and counts it; a slow consumer is closed with 4008 instead', () => {
    const { hub, counters, open } = hubWith({ maxClientBufferedBytes: 1024 });
    const [a, socketA] = open();
    const [b, socketB] = open();
    socketB.bufferedAmount = 1025;
    expect(hub.send(a, text('x'))).toBe(true);
    expect(hub.send(b, text('y'))).toBe(false);
    expect([socketA.sent, socketB.sent]).toEqual([['x'], []]);
    expect(socketB.closes).toEqual([[4008, 'slow consumer']]);
    expect([counters.messagesOut, a.messagesOut, counters.slowConsumerDisconnects]).toEqual([1, 1, 1]);
    expect(hub.send(b, text('z'))).toBe(false); // closing: nothing more, and no second close
    expect(socketB.closes).toHaveLength(1);
    hub.delivery.stop();
  });

  it('closes a client over the message rate with 1008 and forwards none of its messages past the limit', () => {
    const { hub, counters, open } = hubWith({ messageRateLimit: 1, messageRateBurst: 1 });
    const [a, socket] = open();
    hub.message(a, Buffer.from('1'), false);
    hub.message(a, Buffer.from('2'), false);
    expect(socket.closes).toEqual([[1008, 'message rate limit exceeded']]);
    expect([counters.rateLimitDisconnects, counters.messagesIn]).toEqual([1, 1]);
    expect(hub.delivery.pendingCount).toBe(2); // OnConnect and the first message
    hub.delivery.stop();
  });

  it('forwards nothing more from a client a worker rejected', () => {
    const { hub, open } = hubWith();
    const [a] = open();
    a.rejected = true;
    hub.message(a, Buffer.from('late'), false);
    expect(hub.delivery.pendingCount).toBe(1);
    hub.delivery.stop();
  });

  it('stop: tells every client 1001, refuses newcomers uncounted, waits for the last close, cuts the rest', async () => {
    const { hub, counters, open } = hubWith();
    const [a, socketA] = open();
    const [b, socketB] = open();
    expect(hub.closeAll()).toBe(2);
    expect(socketA.closes).toEqual([[1001, 'gateway shutting down']]);
    const late = new StubSocket();
    expect(hub.opened(late, handshake, 0x7f000001)).toBeNull();
    expect([late.closes, counters.connectionsRefused]).toEqual([[[1001, 'gateway shutting down']], 0]);
    const before = Date.now();
    await hub.allGone(before + 30); // a and b are still there: bounded by the deadline
    expect(Date.now() - before).toBeGreaterThanOrEqual(25);
    let gone = false;
    const waiting = hub.allGone(Date.now() + 60_000).then(() => (gone = true));
    hub.closed(a);
    await Promise.resolve();
    expect(gone).toBe(false); // b is still there
    expect(hub.cutAll()).toBe(1);
    expect(socketB.terminated).toBe(1);
    hub.closed(b); // a terminated socket reports its close like any other
    await waiting;
    expect(gone).toBe(true);
    hub.delivery.stop();
  });
});
