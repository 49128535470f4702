import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { ClientConnection } from './client-connection';
import { ClientHub } from './client-hub';
import type { ClientSocket } from './client-socket';
import { resolveGatewayOptions, type GatewayOptions } from './gateway-options';
import { GatewayCounters } from './gateway-stats';
import type { AcceptedSocket } from './listeners/client-listener';
import { OutgoingMessage } from './outgoing-message';
import { TEST_HANDSHAKE as handshake } from './testdata/test-clients';

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

/** A TCP socket stand-in as a listener accepts it: `destroy` (by the gateway) and `peerCloses` emit 'close'. */
class StubRaw extends EventEmitter {
  destroyed = false;
  bytesRead = 0;
  constructor(readonly remoteAddress = '127.0.0.1') {
    super();
  }
  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this.emit('close', false);
    }
    return this;
  }
  peerCloses(): void {
    this.destroy();
  }
}
const asRaw = (raw: StubRaw) => raw as unknown as AcceptedSocket;

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

  it('answers the text "$ping" with "$pong" itself and forwards it to no worker; other messages pass', () => {
    const { hub, counters, open } = hubWith();
    const [a, socket] = open();
    hub.message(a, Buffer.from('$ping'), false);
    expect(socket.sent).toEqual(['$pong']);
    expect(hub.delivery.pendingCount).toBe(1); // OnConnect only
    // Not the ping: binary "$ping", another text of the same length, a longer text starting with it.
    hub.message(a, Buffer.from('$ping'), true);
    hub.message(a, Buffer.from('$pinG'), false);
    hub.message(a, Buffer.from('$ping '), false);
    expect(socket.sent).toEqual(['$pong']);
    expect(hub.delivery.pendingCount).toBe(4);
    // Counted as a message in and a message out, like any other.
    expect([counters.messagesIn, counters.messagesOut, a.messagesIn, a.messagesOut]).toEqual([4, 1, 4, 1]);
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

  describe('connection accounting from the TCP accept', () => {
    /** A socket accepted (and counted) by a listener; `upgrade` opens it as a client as a WebSocket upgrade does. */
    function acceptOn(hub: ClientHub, address = '127.0.0.1') {
      const raw = new StubRaw(address);
      const admitted = hub.accepted(asRaw(raw));
      const upgrade = () => {
        raw.bytesRead = 200;
        const socket = new StubSocket();
        const client = hub.opened(socket, { ...handshake, remoteAddress: address }, 0x7f000001, asRaw(raw));
        return { client, socket };
      };
      return { raw, admitted, upgrade };
    }

    it('counts sockets at accept, upgraded or not, and destroys the ones over the per-address limit at once', () => {
      const { hub, counters } = hubWith({ maxConnectionsPerIp: 2 });
      const a = acceptOn(hub);
      const b = acceptOn(hub);
      const c = acceptOn(hub);
      expect([a.admitted, b.admitted, c.admitted]).toEqual([true, true, false]);
      expect([a.raw.destroyed, b.raw.destroyed, c.raw.destroyed]).toEqual([false, false, true]);
      expect([counters.connectionsRefused, hub.unopenedCount, hub.size]).toEqual([1, 2, 0]);
      expect(acceptOn(hub, '10.0.0.9').admitted).toBe(true); // another address has its own count
      hub.flushReaper();
      hub.delivery.stop();
    });

    it('an upgraded socket keeps the slot it took at accept (not counted twice); its close frees it', () => {
      const { hub, counters } = hubWith({ maxConnectionsPerIp: 1 });
      const a = acceptOn(hub);
      const { client } = a.upgrade();
      expect(client).not.toBeNull();
      expect([hub.size, hub.unopenedCount, counters.connectionsRefused]).toEqual([1, 0, 0]);
      expect(a.raw.listenerCount('close')).toBe(0); // the hub's accept-time listener is gone once opened
      expect(acceptOn(hub).admitted).toBe(false);
      hub.closed(client!);
      expect(acceptOn(hub).admitted).toBe(true);
      expect(counters.connectionsRefused).toBe(1);
      hub.flushReaper();
      hub.delivery.stop();
    });

    it('a socket closed before its upgrade frees its slot at once; no worker hears of it', () => {
      const { hub } = hubWith({ maxConnections: 1 });
      const a = acceptOn(hub);
      expect(acceptOn(hub).admitted).toBe(false);
      a.raw.peerCloses();
      expect(hub.unopenedCount).toBe(0);
      expect(acceptOn(hub).admitted).toBe(true);
      expect(hub.delivery.pendingCount).toBe(0); // no OnConnect, no OnClose
      hub.flushReaper();
      hub.delivery.stop();
    });

    it('the total limit counts sockets not upgraded yet and clients together', () => {
      const { hub } = hubWith({ maxConnections: 2 });
      acceptOn(hub).upgrade();
      const pending = acceptOn(hub, '10.0.0.2');
      expect(pending.admitted).toBe(true);
      expect(acceptOn(hub, '10.0.0.3').admitted).toBe(false);
      hub.flushReaper();
      hub.delivery.stop();
    });

    it('logs refusals as a rate-limited warning naming the address and the limit', () => {
      const warn = jest.spyOn(Logger.prototype, 'warn');
      const { hub } = hubWith({ maxConnectionsPerIp: 1 });
      acceptOn(hub);
      for (let i = 0; i < 50; i++) acceptOn(hub);
      const lines = warn.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('refused at accept'));
      expect(lines).toEqual([
        'connection from 127.0.0.1 refused at accept: too many connections from this address (limit 1 per address)',
      ]);
      hub.flushReaper();
      hub.delivery.stop();
    });

    it('drops sockets not upgraded within handshakeTimeoutMs, and raw TCP clients that sent nothing; others stay', () => {
      jest.useFakeTimers();
      try {
        const { hub, counters } = hubWith({ maxConnectionsPerIp: 10, handshakeTimeoutMs: 500 });
        const silent = acceptOn(hub); // never upgrades
        const upgraded = acceptOn(hub);
        upgraded.upgrade();
        // A raw TCP client: opened at accept; one sends in time, the other never does.
        const quietTcp = acceptOn(hub);
        const quietSocket = new StubSocket();
        const quietClient = hub.opened(quietSocket, handshake, 0x7f000001, asRaw(quietTcp.raw));
        quietTcp.raw.on('close', () => hub.closed(quietClient!)); // as the TCP listener does
        const talkingTcp = acceptOn(hub);
        hub.opened(new StubSocket(), handshake, 0x7f000001, asRaw(talkingTcp.raw));
        talkingTcp.raw.bytesRead = 6;
        jest.advanceTimersByTime(499);
        expect(silent.raw.destroyed).toBe(false);
        jest.advanceTimersByTime(1);
        expect([
          silent.raw.destroyed,
          upgraded.raw.destroyed,
          quietTcp.raw.destroyed,
          talkingTcp.raw.destroyed,
        ]).toEqual([true, false, true, false]);
        expect(counters.handshakeTimeouts).toBe(2);
        // Both slots are free again: the silent socket's at its close, the quiet TCP client's with its OnClose.
        expect([hub.unopenedCount, hub.size]).toEqual([0, 2]);
        expect(hub.delivery.pendingCount).toBe(4); // three OnConnect and the quiet client's OnClose
        hub.flushReaper();
        hub.delivery.stop();
      } finally {
        jest.useRealTimers();
      }
    });

    it('stop: sockets not upgraded yet are dropped, new ones are refused at accept, uncounted', () => {
      const { hub, counters } = hubWith({ maxConnectionsPerIp: 10 });
      const pending = acceptOn(hub);
      hub.closeAll();
      expect(pending.raw.destroyed).toBe(true);
      const late = acceptOn(hub);
      expect([late.admitted, late.raw.destroyed, counters.connectionsRefused]).toEqual([false, true, 0]);
      hub.flushReaper();
      hub.delivery.stop();
    });

    it('a socket the hub did not count at accept is counted when opened, and refused there with its close code', () => {
      const { hub, counters } = hubWith({ maxConnectionsPerIp: 1 });
      acceptOn(hub).upgrade();
      const uncounted = new StubSocket();
      expect(hub.opened(uncounted, handshake, 0x7f000001)).toBeNull();
      expect(uncounted.closes).toEqual([[1008, 'too many connections from this address']]);
      expect(counters.connectionsRefused).toBe(1);
      hub.flushReaper();
      hub.delivery.stop();
    });
  });
});
