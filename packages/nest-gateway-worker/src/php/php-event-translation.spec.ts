import { Cmd } from '../protocol/command';
import { decodeEventEnvelope, type EventEnvelope } from '../protocol/event-envelope';
import { decodeFrame, frame, type GatewayFrame } from '../protocol/frame';
import { PHP_CONNECT_HOLD_MS, PhpEventTranslation } from './php-event-translation';
import { vectorBytes } from './testdata/php-vectors';

/** PHP's client events (captured V3, V4, V5, V8, V11, V12) as the native events our worker runs. */

const GATEWAY = '127.0.0.1:2300';

function translate(t: PhpEventTranslation, ...ids: string[]): GatewayFrame[] {
  const out: GatewayFrame[] = [];
  for (const id of ids) t.frame(decodeFrame(vectorBytes(id)), GATEWAY, (f) => out.push(f));
  return out;
}

const envelope = (f: GatewayFrame): EventEnvelope => decodeEventEnvelope(f.ext);

describe('PhpEventTranslation', () => {
  it('V3 + V4: the connect carries the handshake of the 205 that follows it; V5, V8, V11 their sessions', () => {
    const t = new PhpEventTranslation();
    const [connect, ...rest] = translate(t, 'V3', 'V4', 'V5', 'V8', 'V11', 'V12');
    expect(connect.cmd).toBe(Cmd.OnConnect);
    expect(connect.connectionId).toBe(1);
    const e = envelope(connect);
    expect(e.session).toBeNull();
    expect(e.q).toBeUndefined(); // nothing to acknowledge to a PHP gateway
    expect(e.handshake).toMatchObject({
      protocol: 'ws',
      url: '/chat?token=abc',
      query: { token: 'abc' },
      remoteAddress: '127.0.0.1',
      remotePort: 42140,
      headers: { cookie: 'sid=xyz', host: '127.0.0.1:7272', 'sec-websocket-version': '13' },
    });
    // V12 (CMD_PING) is nobody's event.
    expect(rest.map((f) => f.cmd)).toEqual([Cmd.OnMessage, Cmd.OnMessage, Cmd.OnClose]);
    const [v5, v8, v11] = rest;
    expect([v5, v8, v11].map((f) => envelope(f).session)).toEqual([null, { nick: 'bob' }, { nick: 'bob', lvl: 2 }]);
    expect(v5.body.toString()).toBe('hello');
    expect(envelope(v5).handshake).toBeUndefined();
    // Each change of the session string is a new version; the same string keeps its version.
    expect([v5, v8, v11].map((f) => envelope(f).v)).toEqual([0, 1, 2]);
  });

  it("the same session string keeps its version, so the worker's own later write-back wins over a stale event", () => {
    const t = new PhpEventTranslation();
    const events: GatewayFrame[] = [];
    const message = (session: string) =>
      t.frame(frame({ cmd: Cmd.OnMessage, connectionId: 7, ext: Buffer.from(session) }), GATEWAY, (f) =>
        events.push(f),
      );
    message('a:1:{s:1:"a";i:1;}');
    message('a:1:{s:1:"a";i:1;}');
    message('a:1:{s:1:"a";i:2;}');
    message('a:1:{s:1:"a";i:1;}');
    expect(events.map((f) => envelope(f).v)).toEqual([0, 0, 1, 2]);
  });

  it('a connect without a 205 (raw TCP clients) runs at the next frame of the client, or after the hold', async () => {
    const t = new PhpEventTranslation();
    const out: GatewayFrame[] = [];
    t.frame(frame({ cmd: Cmd.OnConnect, connectionId: 3 }), GATEWAY, (f) => out.push(f));
    expect(out).toHaveLength(0);
    t.frame(frame({ cmd: Cmd.OnMessage, connectionId: 3, body: Buffer.from('x') }), GATEWAY, (f) => out.push(f));
    expect(out.map((f) => f.cmd)).toEqual([Cmd.OnConnect, Cmd.OnMessage]);

    jest.useFakeTimers();
    try {
      t.frame(frame({ cmd: Cmd.OnConnect, connectionId: 4 }), GATEWAY, (f) => out.push(f));
      jest.advanceTimersByTime(PHP_CONNECT_HOLD_MS - 1);
      expect(out).toHaveLength(2);
      jest.advanceTimersByTime(1);
      expect(out.map((f) => f.connectionId)).toEqual([3, 3, 4]);
      // A gateway that goes away takes its held connects with it.
      t.frame(frame({ cmd: Cmd.OnConnect, connectionId: 5 }), GATEWAY, (f) => out.push(f));
      t.gatewayDown(GATEWAY);
      jest.advanceTimersByTime(PHP_CONNECT_HOLD_MS);
      expect(out).toHaveLength(3);
    } finally {
      jest.useRealTimers();
    }
  });
});
