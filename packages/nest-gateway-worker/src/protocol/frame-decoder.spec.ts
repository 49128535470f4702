import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cmd } from './command';
import { FrameError, HEADER_LENGTH, encodeFrame, frame, type GatewayFrame } from './frame';
import { COALESCE_SLAB_BYTES, DEFAULT_MAX_FRAME_SIZE, FrameDecoder } from './frame-decoder';
import { prng, randomInt } from '../../../../test/support/seeded-random';

const VECTORS_FILE = path.join(__dirname, 'testdata', 'php-gatewayworker-vectors.json');

interface Vector {
  id: string;
  kind: string;
  hex: string;
  fields: Record<string, unknown>;
}

const frameVectors = (JSON.parse(fs.readFileSync(VECTORS_FILE, 'utf8')) as { vectors: Vector[] }).vectors.filter(
  (v) => v.kind === 'gateway_frame',
);
const frameBytes = frameVectors.map((v) => Buffer.from(v.hex, 'hex'));
const stream = Buffer.concat(frameBytes);

/** A frame as comparable text: every header field plus ext and body in hex. */
function describeFrame(f: GatewayFrame): string {
  return [
    f.cmd,
    f.localIp,
    f.localPort,
    f.clientIp,
    f.clientPort,
    f.connectionId,
    f.flag,
    f.gatewayPort,
    f.ext.toString('hex'),
    f.body.toString('hex'),
  ].join(',');
}

/** The expected decoding of each vector, built from the captured field table (not from the decoder). */
const expected = frameVectors.map((v) => {
  const f = v.fields as Record<string, string | number>;
  const ip = (s: string) => s.split('.').reduce((n, p) => n * 256 + Number(p), 0);
  return [
    f.cmd,
    ip(f.local_ip as string),
    f.local_port,
    ip(f.client_ip as string),
    f.client_port,
    f.connection_id,
    f.flag,
    f.gateway_port,
    Buffer.from(f.ext_data as string, 'utf8').toString('hex'),
    Buffer.from(f.body as string, 'utf8').toString('hex'),
  ].join(',');
});

function decodeChunks(chunks: Buffer[], decoder = new FrameDecoder()): string[] {
  const out: string[] = [];
  for (const c of chunks) for (const f of decoder.push(c)) out.push(describeFrame(f));
  return out;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

describe('FrameDecoder over the PHP vector stream', () => {
  test('the stream holds every gateway_frame vector', () => {
    expect(frameVectors.length).toBeGreaterThan(40);
    expect(stream.length).toBe(frameBytes.reduce((n, b) => n + b.length, 0));
  });

  test('the whole stream in one chunk yields every frame in order', () => {
    const decoder = new FrameDecoder();
    expect(decodeChunks([stream], decoder)).toEqual(expected);
    expect(decoder.pendingBytes).toBe(0);
  });

  test('split into two chunks at every possible point', () => {
    const failures: number[] = [];
    const want = expected.join('|');
    for (let at = 0; at <= stream.length; at++) {
      const decoder = new FrameDecoder();
      const got = decodeChunks([stream.subarray(0, at), stream.subarray(at)], decoder);
      if (got.join('|') !== want || decoder.pendingBytes !== 0) failures.push(at);
    }
    expect(failures).toEqual([]);
  });

  test('one byte at a time, with pendingBytes tracking the partial frame', () => {
    const decoder = new FrameDecoder();
    const got: string[] = [];
    let fed = 0;
    let consumed = 0;
    for (let i = 0; i < stream.length; i++) {
      const frames = decoder.push(stream.subarray(i, i + 1));
      fed++;
      for (const f of frames) {
        got.push(describeFrame(f));
        consumed += HEADER_LENGTH + f.ext.length + f.body.length;
      }
      expect(frames.length).toBeLessThanOrEqual(1);
      expect(decoder.pendingBytes).toBe(fed - consumed);
    }
    expect(got).toEqual(expected);
    expect(decoder.pendingBytes).toBe(0);
  });

  test('random chunk sizes (seeded, 300 runs)', () => {
    const rand = prng(0x5eed);
    const want = expected.join('|');
    for (let run = 0; run < 300; run++) {
      const chunks: Buffer[] = [];
      const maxChunk = randomInt(rand, 1, 400);
      for (let at = 0; at < stream.length;) {
        const size = rand() < 0.05 ? 0 : randomInt(rand, 1, maxChunk);
        chunks.push(stream.subarray(at, at + size));
        at += size;
      }
      const decoder = new FrameDecoder();
      const got = decodeChunks(chunks, decoder).join('|');
      if (got !== want)
        throw new Error(`run ${run}: chunk sizes ${chunks.map((c) => c.length).join(',')} decoded differently`);
      expect(decoder.pendingBytes).toBe(0);
    }
  });
});

describe('FrameDecoder limits and errors', () => {
  test('pack_len above maxFrameSize throws as soon as the 4 length bytes arrive', () => {
    const decoder = new FrameDecoder(1000);
    expect(decoder.push(u32(1001).subarray(0, 3))).toEqual([]);
    expect(() => decoder.push(u32(1001).subarray(3))).toThrow(FrameError);
  });

  test('the size check needs only the 4 length bytes, in one push', () => {
    expect(() => new FrameDecoder(1000).push(u32(1001))).toThrow(/maximum frame size/);
  });

  test('the default limit is 10 MiB: 10 MiB + 1 is refused from the length alone', () => {
    expect(DEFAULT_MAX_FRAME_SIZE).toBe(10 * 1024 * 1024);
    expect(() => new FrameDecoder().push(u32(DEFAULT_MAX_FRAME_SIZE + 1))).toThrow(FrameError);
    expect(() => new FrameDecoder().push(u32(0xffffffff))).toThrow(FrameError);
    const atLimit = new FrameDecoder();
    expect(atLimit.push(u32(DEFAULT_MAX_FRAME_SIZE))).toEqual([]);
    expect(atLimit.pendingBytes).toBe(4);
  });

  test('a frame of exactly maxFrameSize is accepted', () => {
    const f = encodeFrame(frame({ cmd: Cmd.OnMessage, body: Buffer.alloc(1000 - HEADER_LENGTH, 0x61) }));
    expect(f.length).toBe(1000);
    const frames = new FrameDecoder(1000).push(f);
    expect(frames).toHaveLength(1);
    expect(frames[0].body.length).toBe(1000 - HEADER_LENGTH);
  });

  test.each([0, 1, 27])('pack_len %i (< 28) throws once the length is known', (n) => {
    const decoder = new FrameDecoder();
    expect(() => decoder.push(u32(n))).toThrow(FrameError);
  });

  test('pack_len 28 (header only) is a valid frame', () => {
    const frames = new FrameDecoder().push(encodeFrame(frame({ cmd: Cmd.Ping })));
    expect(frames).toHaveLength(1);
    expect(frames[0].cmd).toBe(Cmd.Ping);
  });

  test('an ext_len beyond the frame throws FrameError', () => {
    const bad = encodeFrame(frame({ cmd: Cmd.OnMessage, body: Buffer.from('abc') }));
    bad.writeUInt32BE(4, 24);
    expect(() => new FrameDecoder().push(bad)).toThrow(FrameError);
  });

  test('after an error the decoder is poisoned: every further push throws the same error, without frames', () => {
    const decoder = new FrameDecoder(1000);
    let first: unknown;
    try {
      decoder.push(u32(5000));
    } catch (err) {
      first = err;
    }
    expect(first).toBeInstanceOf(FrameError);
    const valid = encodeFrame(frame({ cmd: Cmd.Ping }));
    for (const chunk of [valid, Buffer.alloc(0), stream]) {
      let again: unknown;
      try {
        decoder.push(chunk);
      } catch (err) {
        again = err;
      }
      expect(again).toBeInstanceOf(FrameError);
      expect((again as FrameError).message).toBe((first as FrameError).message);
      expect((again as FrameError).decoded).toEqual([]);
    }
    expect(decoder.pendingBytes).toBe(0);
  });

  test('pendingBytes reflects a partial frame and returns to 0 when it completes', () => {
    const f = encodeFrame(frame({ cmd: Cmd.OnMessage, connectionId: 3, body: Buffer.from('hello world') }));
    const decoder = new FrameDecoder();
    expect(decoder.pendingBytes).toBe(0);
    expect(decoder.push(f.subarray(0, 2))).toEqual([]);
    expect(decoder.pendingBytes).toBe(2);
    expect(decoder.push(f.subarray(2, 30))).toEqual([]);
    expect(decoder.pendingBytes).toBe(30);
    const out = decoder.push(Buffer.concat([f.subarray(30), f.subarray(0, 5)]));
    expect(out).toHaveLength(1);
    expect(out[0].body.toString()).toBe('hello world');
    expect(out[0].connectionId).toBe(3);
    expect(decoder.pendingBytes).toBe(5);
  });
});

describe('FrameDecoder fuzz (seeded, bounded)', () => {
  /** Plausible-looking inputs: random bytes, frames with random lengths, and mutated vector streams. */
  function fuzzInput(rand: () => number): Buffer {
    const mode = randomInt(rand, 0, 2);
    if (mode === 0) {
      const b = Buffer.alloc(randomInt(rand, 0, 200));
      for (let i = 0; i < b.length; i++) b[i] = randomInt(rand, 0, 255);
      return b;
    }
    if (mode === 1) {
      const parts: Buffer[] = [];
      const count = randomInt(rand, 1, 5);
      for (let i = 0; i < count; i++) {
        const packLength = randomInt(rand, 20, 120);
        const b = Buffer.alloc(Math.max(packLength, 4));
        for (let j = 4; j < b.length; j++) b[j] = randomInt(rand, 0, 255);
        b.writeUInt32BE(packLength, 0);
        if (b.length >= 28) b.writeUInt32BE(randomInt(rand, 0, packLength), 24);
        parts.push(b.subarray(0, randomInt(rand, 4, b.length)));
      }
      return Buffer.concat(parts);
    }
    const b = Buffer.from(stream.subarray(0, randomInt(rand, 0, 600)));
    const flips = randomInt(rand, 0, 3);
    for (let i = 0; i < flips && b.length > 0; i++) b[randomInt(rand, 0, b.length - 1)] ^= 1 << randomInt(rand, 0, 7);
    return b;
  }

  test('2000 inputs in random chunks yield only frames (the exact bytes fed) or FrameError', () => {
    const rand = prng(1234);
    let framesSeen = 0;
    let errorsSeen = 0;
    let extErrorsSeen = 0;
    for (let iteration = 0; iteration < 2000; iteration++) {
      const input = fuzzInput(rand);
      const decoder = new FrameDecoder(rand() < 0.5 ? 256 : DEFAULT_MAX_FRAME_SIZE);
      const decoded: GatewayFrame[] = [];
      let error: unknown = null;
      for (let at = 0; at < input.length && error === null;) {
        const size = randomInt(rand, 1, 64);
        try {
          decoded.push(...decoder.push(input.subarray(at, at + size)));
        } catch (err) {
          error = err;
        }
        at += size;
      }
      framesSeen += decoded.length;
      // Every frame must be exactly the bytes that were fed, in order.
      const reencoded = Buffer.concat(decoded.map(encodeFrame));
      if (!reencoded.equals(input.subarray(0, reencoded.length))) {
        throw new Error(`iteration ${iteration}: decoded frames differ from the input ${input.toString('hex')}`);
      }
      if (error !== null) {
        if (!(error instanceof FrameError)) {
          throw new Error(
            `iteration ${iteration}: ${String(error)} is not a FrameError (input ${input.toString('hex')})`,
          );
        }
        errorsSeen++;
        if (/ext_len/.test(error.message)) extErrorsSeen++;
      } else {
        expect(reencoded.length + decoder.pendingBytes).toBe(input.length);
      }
    }
    // The generator must have exercised both outcomes and every error path.
    expect(framesSeen).toBeGreaterThan(100);
    expect(errorsSeen).toBeGreaterThan(100);
    expect(extErrorsSeen).toBeGreaterThan(0);
  });
});

describe('FrameDecoder memory under tiny chunks', () => {
  it('holds a large frame fed byte by byte in memory proportional to its bytes, and decodes it', () => {
    const body = Buffer.alloc(4 * 1024 * 1024 - HEADER_LENGTH);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    const bytes = encodeFrame(frame({ cmd: Cmd.SendToAll, body }));
    const decoder = new FrameDecoder();
    const heapBefore = process.memoryUsage().heapUsed;
    let early = 0;
    for (let i = 0; i < bytes.length - 1; i++) early += decoder.push(bytes.subarray(i, i + 1)).length;
    expect(early).toBe(0);
    // One Buffer object per byte would be ~110 bytes of heap each: ~440 MB here. Slabs live outside the heap;
    // what is left on it is the views' garbage the young generation has not collected yet.
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
    expect(decoder.pendingBytes).toBe(bytes.length - 1);
    // The first byte arrived alone (its own chunk); every later one was copied into a slab.
    expect(decoder.pendingBuffers).toBeLessThanOrEqual(Math.ceil(bytes.length / COALESCE_SLAB_BYTES) + 1);
    const [decoded] = decoder.push(bytes.subarray(bytes.length - 1));
    expect(decoded.body.equals(body)).toBe(true);
    expect(decoder.pendingBytes).toBe(0);
    expect(decoder.pendingBuffers).toBe(0);
  });

  it('never decodes a frame in place from a slab: a kept frame does not hold the slab', () => {
    const one = encodeFrame(frame({ cmd: Cmd.SendToAll, body: Buffer.from('first') }));
    const two = encodeFrame(frame({ cmd: Cmd.SendToAll, body: Buffer.from('second') }));
    const decoder = new FrameDecoder();
    // A partial frame waits, then small chunks complete it and bring a second whole frame inside the slab.
    const frames = [...decoder.push(one.subarray(0, 3)), ...decoder.push(one.subarray(3))];
    frames.push(...decoder.push(two.subarray(0, 1)), ...decoder.push(two.subarray(1)));
    expect(frames.map((f) => f.body.toString())).toEqual(['first', 'second']);
    for (const f of frames) expect(f.body.buffer.byteLength).not.toBe(COALESCE_SLAB_BYTES);
  });

  it('a whole frame that lies in a slab after a split one is copied out too (in the same push)', () => {
    const one = encodeFrame(frame({ cmd: Cmd.SendToAll, body: Buffer.from('first') }));
    const two = encodeFrame(frame({ cmd: Cmd.SendToAll, body: Buffer.from('second') }));
    const three = encodeFrame(frame({ cmd: Cmd.SendToAll, body: Buffer.from('third') }));
    const decoder = new FrameDecoder();
    expect(decoder.push(one.subarray(0, 3))).toEqual([]);
    // A small chunk while bytes wait goes to a slab: the rest of `one` (split, copied out), then `two` and `three`
    // whole inside the slab's view.
    const frames = decoder.push(Buffer.concat([one.subarray(3), two, three]));
    expect(frames.map((f) => f.body.toString())).toEqual(['first', 'second', 'third']);
    for (const f of frames) expect(f.body.buffer.byteLength).not.toBe(COALESCE_SLAB_BYTES);
  });

  it('decodes any chunking of the PHP vector stream the same, small chunks and large ones mixed', () => {
    const whole = new FrameDecoder().push(stream).map(describeFrame);
    const next = prng(7);
    for (let round = 0; round < 50; round++) {
      const decoder = new FrameDecoder();
      const got: string[] = [];
      for (let at = 0; at < stream.length;) {
        const size = next() < 0.8 ? randomInt(next, 1, 8) : randomInt(next, 1024, 3000);
        got.push(...decoder.push(stream.subarray(at, at + size)).map(describeFrame));
        at += size;
      }
      expect(got).toEqual(whole);
      expect(decoder.pendingBytes).toBe(0);
    }
  });
});

describe('FrameDecoder: the frames before a bad one', () => {
  /** Frames (as text) a link would deliver, the error's own frames included, and the error. */
  function deliver(chunks: Buffer[]): { frames: string[]; error: string | null } {
    const decoder = new FrameDecoder(4096);
    const frames: string[] = [];
    for (const chunk of chunks) {
      try {
        frames.push(...decoder.push(chunk).map(describeFrame));
      } catch (err) {
        expect(err).toBeInstanceOf(FrameError);
        frames.push(...(err as FrameError).decoded.map(describeFrame));
        return { frames, error: (err as FrameError).message };
      }
    }
    return { frames, error: null };
  }

  const good = [
    encodeFrame(frame({ cmd: Cmd.SendToAll, body: Buffer.from('one') })),
    encodeFrame(frame({ cmd: Cmd.SendToUid, ext: Buffer.from('{"uids":["u"]}'), body: Buffer.from('two') })),
    encodeFrame(frame({ cmd: Cmd.Ping })),
  ];
  const tooSmall = Buffer.from([0, 0, 0, 3]);
  const overLimit = Buffer.from([0, 1, 0, 0]);
  const badExt = Buffer.from(encodeFrame(frame({ cmd: Cmd.SendToAll, body: Buffer.from('x') })));
  badExt.writeUInt32BE(1000, 24);

  it.each([
    ['pack_len smaller than the header', tooSmall],
    ['pack_len over the limit', overLimit],
    ['ext_len past the frame', badExt],
  ])('%s: the same frames come out before the error, all at once, byte by byte or in pairs', (_, bad) => {
    const bytes = Buffer.concat([...good, bad, ...good]);
    const atOnce = deliver([bytes]);
    expect(atOnce.frames).toHaveLength(good.length);
    expect(atOnce.error).not.toBeNull();
    const byteByByte = deliver([...bytes].map((b) => Buffer.from([b])));
    const pairs = deliver(
      Array.from({ length: Math.ceil(bytes.length / 2) }, (_, i) => bytes.subarray(2 * i, 2 * i + 2)),
    );
    expect(byteByByte).toEqual(atOnce);
    expect(pairs).toEqual(atOnce);
  });
});
