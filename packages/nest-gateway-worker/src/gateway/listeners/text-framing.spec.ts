import { prng, randomInt } from '../../../../../test/support/seeded-random';
import { FramingError } from './client-framing';
import { TextFraming } from './text-framing';

const framing = new TextFraming();

/** Feeds `chunks` to one decoder; returns the messages as text (and the error, if the decoder threw). */
function decode(chunks: Buffer[], max = 1024): { messages: string[]; error: FramingError | null } {
  const messages: string[] = [];
  const decoder = framing.createDecoder(max, (m) => messages.push(m.toString('latin1')));
  try {
    for (const c of chunks) decoder.push(c);
  } catch (err) {
    return { messages, error: err as FramingError };
  }
  return { messages, error: null };
}

const b = (s: string) => Buffer.from(s, 'latin1');

describe('TextFraming (workerman Text)', () => {
  it('is named "text" and forwards messages as text', () => {
    expect(framing.name).toBe('text');
    expect(framing.binary).toBe(false);
  });

  it('appends "\\n" when encoding', () => {
    expect(framing.encode(b('hello')).toString('latin1')).toBe('hello\n');
    expect(framing.encode(b('')).toString('latin1')).toBe('\n');
  });

  it('cuts several messages out of one chunk and strips "\\n" and the "\\r"s before it (rtrim)', () => {
    expect(decode([b('a\nbc\r\n{"x":1}\r\r\nlast')]).messages).toEqual(['a', 'bc', '{"x":1}']);
  });

  it('delivers empty messages, as workerman does', () => {
    expect(decode([b('\n\r\n\nx\n')]).messages).toEqual(['', '', '', 'x']);
  });

  it('gives the same messages whatever byte boundary splits the stream', () => {
    const stream = b('first\nsecond line\r\n\n{"type":"say","content":"hi"}\nz\n');
    const whole = decode([stream]).messages;
    expect(whole).toEqual(['first', 'second line', '', '{"type":"say","content":"hi"}', 'z']);
    for (let i = 0; i <= stream.length; i++) {
      for (let j = i; j <= stream.length; j++) {
        expect(decode([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]).messages).toEqual(whole);
      }
    }
    expect(decode([...stream].map((byte) => Buffer.from([byte]))).messages).toEqual(whole);
  });

  it('round-trips random messages in random chunks', () => {
    const rand = prng(7);
    const sent: string[] = [];
    for (let i = 0; i < 200; i++) {
      const len = randomInt(rand, 0, 40);
      // Any byte but "\n", and no "\r" at the end (stripped by the framing).
      let s = '';
      for (let k = 0; k < len; k++) s += String.fromCharCode(randomInt(rand, 0x0e, 0xff));
      sent.push(s);
    }
    const stream = Buffer.concat(sent.map((s) => framing.encode(b(s))));
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.length;) {
      const n = randomInt(rand, 1, 64);
      chunks.push(stream.subarray(at, at + n));
      at += n;
    }
    expect(decode(chunks, 64).messages).toEqual(sent);
  });

  it('accepts a line of exactly the limit and refuses one byte more as soon as it arrives, before its "\\n"', () => {
    expect(decode([b('x'.repeat(16) + '\n')], 16)).toEqual({ messages: ['x'.repeat(16)], error: null });
    // The 17th byte, still without an end: the decoder fails now instead of buffering until a "\n".
    const { messages, error } = decode([b('ok\n' + 'x'.repeat(10)), b('x'.repeat(7))], 16);
    expect(messages).toEqual(['ok']);
    expect(error).toBeInstanceOf(FramingError);
    expect(error!.oversize).toBe(true);
    expect(error!.message).toBe('message too big (limit 16 bytes)');
  });

  it('refuses a huge chunk without a newline at once', () => {
    const { error } = decode([Buffer.alloc(1024 * 1024, 0x61)], 1024);
    expect(error?.oversize).toBe(true);
  });

  it('counts the "\\r" before the "\\n" in the limit (every byte before the "\\n")', () => {
    expect(decode([b('x'.repeat(16) + '\r\n')], 16).error?.oversize).toBe(true);
    expect(decode([b('x'.repeat(15) + '\r\n')], 16).messages).toEqual(['x'.repeat(15)]);
  });
});
