import { decodeEventEnvelope, encodeEventEnvelope, mergeSession, parseSessionJson } from './event-envelope';

describe('event envelope', () => {
  it('splices session and handshake JSON without parsing them, and decodes back', () => {
    const ext = encodeEventEnvelope(3, '{"nick":"bob"}', '{"remoteAddress":"::1"}');
    expect(decodeEventEnvelope(ext)).toEqual({ v: 3, session: { nick: 'bob' }, handshake: { remoteAddress: '::1' } });
    expect(decodeEventEnvelope(encodeEventEnvelope(0, 'null'))).toEqual({ v: 0, session: null });
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
    expect(mergeSession({ a: 1, nested: { x: 1, y: 2 }, list: [1, 2] }, { b: 2, nested: { y: 3 }, list: [9] })).toEqual({
      a: 1,
      b: 2,
      nested: { x: 1, y: 3 },
      list: [9],
    });
    expect(mergeSession(null, { a: 1 })).toEqual({ a: 1 });
  });
});
