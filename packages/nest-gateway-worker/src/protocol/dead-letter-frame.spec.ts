import { Cmd, FrameFlag } from './command';
import { encodeClientId } from './client-id';
import { decodeDeadLetterMeta, deadLetterKindOf, encodeDeadLetterFrame } from './dead-letter-frame';
import { decodeFrame } from './frame';

describe('DeadLetter frames', () => {
  const header = {
    localIp: 0x0a000001,
    localPort: 2001,
    clientIp: 0x7f000001,
    clientPort: 40_000,
    connectionId: 42,
    flag: FrameFlag.BodyIsScalar | FrameFlag.Binary,
    gatewayPort: 7272,
  };

  it("carry the event's header (so its client_id), its kind, deaths and uid in ext, its bytes as body", () => {
    const f = decodeFrame(
      encodeDeadLetterFrame(header, { kind: 'message', deaths: 3, uid: 'u1' }, Buffer.from([0, 1])),
    );
    expect(f.cmd).toBe(Cmd.DeadLetter);
    expect(encodeClientId(f)).toBe(encodeClientId({ localIp: 0x0a000001, localPort: 2001, connectionId: 42 }));
    expect(f.flag & FrameFlag.Binary).toBe(FrameFlag.Binary);
    expect(f.ext.toString()).toBe('{"kind":"message","deaths":3,"uid":"u1"}');
    expect(decodeDeadLetterMeta(f.ext)).toEqual({ kind: 'message', deaths: 3, uid: 'u1' });
    expect([...f.body]).toEqual([0, 1]);
    const noUid = decodeFrame(encodeDeadLetterFrame(header, { kind: 'connect', deaths: 1 }, Buffer.alloc(0)));
    expect(decodeDeadLetterMeta(noUid.ext)).toEqual({ kind: 'connect', deaths: 1 });
  });

  it.each([
    ['not json', /not JSON/],
    ['null', /not an object/],
    ['{"kind":"other","deaths":1}', /no valid "kind"/],
    ['{"kind":"close","deaths":-1}', /no valid "deaths"/],
    ['{"kind":"close","deaths":1.5}', /no valid "deaths"/],
    ['{"kind":"close","deaths":1,"uid":7}', /invalid "uid"/],
  ])('refuse a bad ext %s with an error saying what is wrong', (ext, message) => {
    expect(() => decodeDeadLetterMeta(Buffer.from(ext))).toThrow(message);
  });

  it('name the kinds of the client event commands only', () => {
    expect([Cmd.OnConnect, Cmd.OnMessage, Cmd.OnClose, Cmd.SendToOne].map(deadLetterKindOf)).toEqual([
      'connect',
      'message',
      'close',
      undefined,
    ]);
  });
});
