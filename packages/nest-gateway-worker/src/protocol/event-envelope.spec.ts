import { decodeEventEnvelope, encodeEventEnvelope, encodeEventFrame, writeEventFrame } from './event-envelope';
import { mergeSession, parseSessionJson } from './session-json';
import { encodeFrame } from './frame';

describe('event envelope', () => {
  it('splices session and handshake JSON without parsing them, and decodes back', () => {
    const ext = encodeEventEnvelope(3, '{"nick":"bob"}', '{"remoteAddress":"::1"}');
    expect(decodeEventEnvelope(ext)).toEqual({ v: 3, session: { nick: 'bob' }, handshake: { remoteAddress: '::1' } });
    expect(decodeEventEnvelope(encodeEventEnvelope(0, 'null'))).toEqual({ v: 0, session: null });
  });

  it('decodes the plain envelope (no session, uid or handshake) exactly as JSON.parse would', () => {
    const cases = [
      encodeEventEnvelope(0, 'null', undefined, null, 1),
      encodeEventEnvelope(0, 'null'),
      encodeEventEnvelope(123456789012, 'null', undefined, undefined, 4294967295),
      encodeEventEnvelope(7, 'null', undefined, 'u1', 9),
      encodeEventEnvelope(7, 'null', '{"remoteAddress":"::1"}', null, 9),
      encodeEventEnvelope(7, '{}', undefined, null, 9),
      encodeEventEnvelope(7, '{"a":null}', undefined, null, 9),
    ];
    for (const ext of cases) expect(decodeEventEnvelope(ext)).toEqual(JSON.parse(ext.toString()));
    expect(decodeEventEnvelope(encodeEventEnvelope(2, 'null', undefined, null, 5))).toEqual({
      q: 5,
      v: 2,
      session: null,
    });
    // Near misses of the plain layout take the JSON path and its checks.
    expect(decodeEventEnvelope(Buffer.from('{"q":5, "v":2,"session":null}'))).toEqual({ q: 5, v: 2, session: null });
    expect(() => decodeEventEnvelope(Buffer.from('{"q":5,"w":2,"session":null}'))).toThrow(/not an event envelope/);
    expect(() => decodeEventEnvelope(Buffer.from('{"q":5,"v":2x,"session":null}'))).toThrow();
    expect(() => decodeEventEnvelope(Buffer.from('{"q":,"v":2,"session":null}'))).toThrow();
  });

  it('encodes a whole event frame exactly as encodeFrame of the envelope would', () => {
    const header = {
      cmd: 3,
      localIp: 0x7f000001,
      localPort: 2300,
      clientIp: 0x0a000009,
      clientPort: 51000,
      connectionId: 0xfffffffe,
      flag: 5,
      gatewayPort: 7272,
    };
    const bodies = [Buffer.alloc(0), Buffer.from('héllo wörld'), Buffer.from([0, 255, 1])];
    const envelopes: [number, string, string | undefined, string | null | undefined, number | undefined][] = [
      [0, 'null', undefined, null, 1],
      [3, '{"nick":"bøb"}', '{"remoteAddress":"::1"}', 'ü1', 4294967295],
      [7, '{}', undefined, undefined, undefined],
    ];
    for (const body of bodies) {
      for (const [v, session, handshake, uid, seq] of envelopes) {
        const expected = encodeFrame({ ...header, ext: encodeEventEnvelope(v, session, handshake, uid, seq), body });
        expect(encodeEventFrame(header, body, v, session, handshake, uid, seq).equals(expected)).toBe(true);
        // The same bytes written into a batch, after what it already holds.
        const batch = {
          buf: Buffer.alloc(4096, 0xee),
          at: 7,
          reserve: () => batch.buf,
          reservedAt: 7,
          commit: (n: number) => (batch.at += n),
        };
        expect(writeEventFrame(batch, header, body, v, session, handshake, uid, seq)).toBe(true);
        expect(batch.buf.subarray(7, batch.at).equals(expected)).toBe(true);
        expect(batch.buf[6]).toBe(0xee);
      }
    }
  });

  it('writes into a batch the bytes encodeEventFrame gives, whatever the envelope text (multi-byte, past 64 KiB)', () => {
    const header = {
      cmd: 3,
      localIp: 0x7f000001,
      localPort: 2300,
      clientIp: 0x0a000009,
      clientPort: 51000,
      connectionId: 7,
      flag: 1,
      gatewayPort: 7272,
    };
    const sessions = [
      'null',
      '{"nick":"日本語テキスト"}',
      '{"e":"😀😀"}',
      '{"lone":"\ud800x\udc00"}', // lone surrogates in the text itself: 3 bytes each (U+FFFD), as Buffer.from writes them
      // The text's worst case (3 bytes per UTF-16 unit) with header and body just within 64 KiB (reserved), and just
      // past it (measured first).
      `{"big":"${'ß'.repeat(21700)}"}`,
      `{"big":"${'ß'.repeat(21800)}"}`,
      `{"big":"${'x'.repeat(70 * 1024)}"}`,
    ];
    const body = Buffer.from('héllo');
    for (const session of sessions) {
      const expected = encodeEventFrame(header, body, 4, session, '{"remoteAddress":"::1"}', 'üser', 12);
      const buf = Buffer.alloc(512 * 1024, 0xee);
      let requested = 0;
      let committed = -1;
      const batch = {
        reserve: (n: number) => ((requested = n), buf),
        reservedAt: 3,
        commit: (n: number) => (committed = n),
      };
      expect(writeEventFrame(batch, header, body, 4, session, '{"remoteAddress":"::1"}', 'üser', 12)).toBe(true);
      expect(committed).toBe(expected.length);
      expect(requested).toBeGreaterThanOrEqual(expected.length);
      expect(buf.subarray(3, 3 + committed).equals(expected)).toBe(true);
    }
    // A closed link's batch takes nothing.
    const closed = { reserve: () => null, reservedAt: 0, commit: () => expect(true).toBe(false) };
    expect(writeEventFrame(closed, header, body, 4, 'null')).toBe(false);
  });

  it('rejects ext data that is not an envelope', () => {
    expect(() => decodeEventEnvelope(Buffer.from('{"session":{}}'))).toThrow(/not an event envelope/);
    expect(() => decodeEventEnvelope(Buffer.from('a:0:{}'))).toThrow();
  });

  it('accepts a session only as a JSON object or null', () => {
    expect(parseSessionJson(Buffer.from(' { "a" : 1 } '))).toEqual({ a: 1 });
    expect(parseSessionJson(Buffer.alloc(0))).toBeNull();
    expect(parseSessionJson(Buffer.from('null'))).toBeNull();
    expect(() => parseSessionJson(Buffer.from('[1]'))).toThrow(/JSON object or null/);
    expect(() => parseSessionJson(Buffer.from('"s"'))).toThrow(/JSON object or null/);
    expect(() => parseSessionJson(Buffer.from('{'))).toThrow();
  });

  it('merges sessions like array_replace_recursive', () => {
    expect(mergeSession({ a: 1, nested: { x: 1, y: 2 }, list: [1, 2] }, { b: 2, nested: { y: 3 }, list: [9] })).toEqual(
      {
        a: 1,
        b: 2,
        nested: { x: 1, y: 3 },
        list: [9],
      },
    );
    expect(mergeSession(null, { a: 1 })).toEqual({ a: 1 });
  });
});
