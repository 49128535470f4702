import { prng, randomInt } from '../../../../../test/support/seeded-random';
import { FramingError } from './client-framing';
import { FrameFraming } from './frame-framing';

const framing = new FrameFraming();

function decode(chunks: Buffer[], max = 1024): { messages: string[]; error: FramingError | null } {
  const messages: string[] = [];
  const decoder = framing.createDecoder(max, (m) => messages.push(m.toString('hex')));
  try {
    for (const c of chunks) decoder.push(c);
  } catch (err) {
    return { messages, error: err as FramingError };
  }
  return { messages, error: null };
}

/** A frame built by hand (not by the encoder under test): 4-byte BE total length, then the bytes. */
function frameOf(hex: string): Buffer {
  const body = Buffer.from(hex, 'hex');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length + 4);
  return Buffer.concat([header, body]);
}

describe('FrameFraming (workerman Frame)', () => {
  it('is named "frame" and forwards messages as text unless asked for binary', () => {
    expect(framing.name).toBe('frame');
    expect(framing.binary).toBe(false);
    expect(new FrameFraming({ binary: true }).binary).toBe(true);
  });

  it('encodes a 4-byte big-endian length that counts the header itself', () => {
    expect(framing.encode(Buffer.from('abc')).toString('hex')).toBe('00000007616263');
    expect(framing.encode(Buffer.alloc(0)).toString('hex')).toBe('00000004');
    expect(framing.encode(Buffer.alloc(300)).subarray(0, 4).toString('hex')).toBe('00000130');
  });

  it('decodes several frames in one chunk, empty messages included', () => {
    const stream = Buffer.concat([frameOf('61'), frameOf(''), frameOf('00ff0a0d'), frameOf('')]);
    expect(decode([stream])).toEqual({ messages: ['61', '', '00ff0a0d', ''], error: null });
  });

  it('gives the same messages whatever byte boundaries split the stream (headers split too)', () => {
    const stream = Buffer.concat([frameOf('68656c6c6f'), frameOf(''), frameOf('0102030405060708090a'), frameOf('7a')]);
    const whole = decode([stream]).messages;
    expect(whole).toEqual(['68656c6c6f', '', '0102030405060708090a', '7a']);
    for (let i = 0; i <= stream.length; i++) {
      for (let j = i; j <= stream.length; j++) {
        expect(decode([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]).messages).toEqual(whole);
      }
    }
    expect(decode([...stream].map((byte) => Buffer.from([byte]))).messages).toEqual(whole);
  });

  it('round-trips random binary messages in random chunks', () => {
    const rand = prng(11);
    const sent: Buffer[] = [];
    for (let i = 0; i < 200; i++)
      sent.push(Buffer.from(Array.from({ length: randomInt(rand, 0, 50) }, () => randomInt(rand, 0, 255))));
    const stream = Buffer.concat(sent.map((m) => framing.encode(m)));
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.length;) {
      const n = randomInt(rand, 1, 70);
      chunks.push(stream.subarray(at, at + n));
      at += n;
    }
    expect(decode(chunks, 50).messages).toEqual(sent.map((m) => m.toString('hex')));
  });

  it('refuses a length below the header size as malformed', () => {
    for (const total of [0, 1, 3]) {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(total);
      const { messages, error } = decode([Buffer.concat([frameOf('6f6b'), header])]);
      expect(messages).toEqual(['6f6b']);
      expect(error).toBeInstanceOf(FramingError);
      expect(error!.oversize).toBe(false);
      expect(error!.message).toBe(`frame length ${total} is smaller than its 4-byte header`);
    }
  });

  it('accepts a message of exactly the limit and refuses a larger one from its header alone', () => {
    expect(decode([frameOf('aa'.repeat(16))], 16).messages).toEqual(['aa'.repeat(16)]);
    // Only the header of a 17-byte message: refused before any of the message is buffered.
    const { error } = decode([frameOf('aa'.repeat(17)).subarray(0, 4)], 16);
    expect(error?.oversize).toBe(true);
    expect(error?.message).toBe('message too big (limit 16 bytes)');
    // A header announcing 4 GiB is refused the same way, whatever the limit.
    expect(decode([Buffer.from('ffffffff', 'hex')], 1024 * 1024).error?.oversize).toBe(true);
  });
});
