import { decodeEventAcks, encodeEventAcks, MAX_EVENT_SEQ } from './event-ack';
import { decodeEventEnvelope, encodeEventEnvelope, peekEventSeq } from './event-envelope';

function ranges(body: Buffer): [number, number][] {
  const out: [number, number][] = [];
  decodeEventAcks(body, (first, last) => out.push([first, last]));
  return out;
}

describe('EventAck body', () => {
  it('packs sequence numbers in any order into sorted inclusive ranges, 8 bytes each', () => {
    const body = encodeEventAcks([7, 3, 4, 5, 10, 6, 12, 11, 1]);
    expect(ranges(body)).toEqual([
      [1, 1],
      [3, 7],
      [10, 12],
    ]);
    expect(body.length).toBe(24);
  });

  it('folds duplicates and handles the largest sequence number', () => {
    expect(ranges(encodeEventAcks([2, 2, 3, MAX_EVENT_SEQ, MAX_EVENT_SEQ - 1]))).toEqual([
      [2, 3],
      [MAX_EVENT_SEQ - 1, MAX_EVENT_SEQ],
    ]);
    expect(encodeEventAcks([]).length).toBe(0);
  });

  it('rejects a body that is not whole ranges, or a reversed range', () => {
    expect(() => ranges(Buffer.alloc(5))).toThrow(/not a list of u32 ranges/);
    const reversed = Buffer.alloc(8);
    reversed.writeUInt32BE(5, 0);
    reversed.writeUInt32BE(4, 4);
    expect(() => ranges(reversed)).toThrow(/reversed/);
  });
});

describe('event sequence in the envelope', () => {
  it('is spliced first as "q" and decodes with the rest', () => {
    const ext = encodeEventEnvelope(2, '{"a":1}', undefined, 'u1', 42);
    expect(ext.toString()).toBe('{"q":42,"v":2,"session":{"a":1},"uid":"u1"}');
    expect(decodeEventEnvelope(ext)).toEqual({ q: 42, v: 2, session: { a: 1 }, uid: 'u1' });
  });

  it('can be read from an envelope that does not decode, so a dropped event is still acknowledged', () => {
    expect(peekEventSeq(Buffer.from('{"q":4294967295,"v":oops'))).toBe(4294967295);
    expect(peekEventSeq(Buffer.from('{"v":1,"session":null}'))).toBeUndefined();
    expect(peekEventSeq(Buffer.from('garbage'))).toBeUndefined();
  });
});
