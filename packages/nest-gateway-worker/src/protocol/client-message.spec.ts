import { encodeReplyFrame, MAX_BATCHED_REPLY_BYTES, writeReplyFrame } from './client-message';
import { Cmd } from './command';
import type { FrameBatch } from './event-envelope';
import { HEADER_LENGTH } from './frame';

/** A batch like InnerLink's: a buffer with bytes before the reservation and room after it; records each commit. */
class TestBatch implements FrameBatch {
  readonly committed: Buffer[] = [];
  private buffer = Buffer.alloc(0);
  reservedAt = 0;
  closed = false;

  reserve(length: number): Buffer | null {
    if (this.closed) return null;
    this.reservedAt = 7;
    this.buffer = Buffer.alloc(this.reservedAt + length + 13, 0xee);
    return this.buffer;
  }

  commit(length: number): void {
    this.committed.push(Buffer.from(this.buffer.subarray(this.reservedAt, this.reservedAt + length)));
  }
}

describe('writeReplyFrame', () => {
  const longest = 'x'.repeat(MAX_BATCHED_REPLY_BYTES - HEADER_LENGTH);
  it.each<[string, unknown]>([
    ['ASCII text', 'hello'],
    ['empty text', ''],
    ['two- and three-byte characters', 'héllo wörld €'],
    ['a surrogate pair (4 bytes for 2 units)', 'a😀b'],
    ['lone surrogates (3 bytes each, as U+FFFD)', 'a\ud800b\udfffc'],
    ['text whose worst case just fits the batch', 'é'.repeat((MAX_BATCHED_REPLY_BYTES - HEADER_LENGTH) / 3)],
    ['text whose worst case does not fit, but its bytes do', longest],
    ['a JSON object', { type: 'x', list: [1, 'ü', null], nested: { ok: true } }],
    ['a number', 42],
    ['a Buffer', Buffer.from([0, 1, 2, 255])],
    ['a Uint8Array view', new Uint8Array([9, 8, 7, 6]).subarray(1, 3)],
    ['an ArrayBuffer', new Uint8Array([5, 4]).buffer],
  ])('%s: the same bytes as encodeReplyFrame, committed into the batch', (_, value) => {
    const batch = new TestBatch();
    expect(writeReplyFrame(batch, Cmd.SendToOne, 0xfedcba98, value)).toBe('sent');
    expect(batch.committed).toEqual([encodeReplyFrame(Cmd.SendToOne, 0xfedcba98, value)]);
  });

  it('null and undefined send nothing', () => {
    const batch = new TestBatch();
    expect(writeReplyFrame(batch, Cmd.SendToOne, 1, null)).toBe('sent');
    expect(writeReplyFrame(batch, Cmd.SendToOne, 1, undefined)).toBe('sent');
    expect(batch.committed).toEqual([]);
  });

  it('a frame longer than the batch takes comes back encoded, for the caller to send', () => {
    const batch = new TestBatch();
    const value = 'y'.repeat(MAX_BATCHED_REPLY_BYTES);
    expect(writeReplyFrame(batch, Cmd.SendToOne, 3, value)).toEqual(encodeReplyFrame(Cmd.SendToOne, 3, value));
    expect(batch.committed).toEqual([]);
  });

  it('a closed link (the batch takes nothing) says so', () => {
    const batch = new TestBatch();
    batch.closed = true;
    expect(writeReplyFrame(batch, Cmd.SendToOne, 3, 'hi')).toBe('closed');
    expect(writeReplyFrame(batch, Cmd.SendToOne, 3, { a: 1 })).toBe('closed');
  });

  it('a value that cannot be sent throws as encodeReplyFrame does', () => {
    const batch = new TestBatch();
    expect(() => writeReplyFrame(batch, Cmd.SendToOne, 3, { n: BigInt(1) })).toThrow(TypeError);
    expect(() => encodeReplyFrame(Cmd.SendToOne, 3, { n: BigInt(1) })).toThrow(TypeError);
  });
});
