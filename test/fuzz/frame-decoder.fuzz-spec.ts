import {
  DEFAULT_MAX_FRAME_SIZE,
  FrameDecoder,
  FrameError,
  HEADER_LENGTH,
  encodeFrame,
  type GatewayFrame,
} from 'nest-gateway-worker/internal';
import { byteChunks, mutate, pick, randomBytes, randomChunks, type Rand } from '../support/fuzz-mutations';
import { check, fuzzTimeoutMs, HEAP_DELTA_BOUND, runFuzz } from '../support/fuzz-run';
import { phpVectors } from '../support/php-vectors';
import { randomInt } from '../support/seeded-random';

/**
 * Fuzz target: the inner links' streaming GatewayProtocol decoder (src/protocol/frame-decoder.ts). Inputs are
 * valid frame streams, the PHP-captured frames, their mutations and random bytes, decoded with a random frame size
 * limit. Properties, for every input:
 *  - nothing but FrameError escapes, and a decoder that failed keeps failing (the link is closed);
 *  - the result is the one a reference parser written here from the frame layout gives (the frames, the bytes
 *    left waiting, or the error and its kind), whatever the chunking: all at once, random chunks, byte by byte
 *    (the frames before an error included: the error carries those of the push that failed);
 *  - every decoded frame encodes back to exactly its bytes, and a generated valid stream decodes to the frames it
 *    was made from;
 *  - the decoder never holds a frame's worth of bytes beyond its limit; the heap does not grow over the run.
 */

const PHP_FRAMES = phpVectors('gateway_frame');
const LIMITS = [HEADER_LENGTH, HEADER_LENGTH + 1, 64, 100, 256, 1024, 4096, DEFAULT_MAX_FRAME_SIZE];

type ErrorKind = 'pack_len too small' | 'pack_len over the limit' | 'ext_len too large';

/** The reference: frames (as their bytes) in order, then an error, or the bytes left waiting for the next frame. */
interface Expected {
  frames: Buffer[];
  error: ErrorKind | null;
  rest: number;
}

function reference(bytes: Buffer, max: number): Expected {
  const frames: Buffer[] = [];
  let at = 0;
  while (bytes.length - at >= 4) {
    const packLength = bytes.readUInt32BE(at);
    if (packLength < HEADER_LENGTH) return { frames, error: 'pack_len too small', rest: 0 };
    if (packLength > max) return { frames, error: 'pack_len over the limit', rest: 0 };
    if (bytes.length - at < packLength) break;
    if (bytes.readUInt32BE(at + 24) > packLength - HEADER_LENGTH)
      return { frames, error: 'ext_len too large', rest: 0 };
    frames.push(bytes.subarray(at, at + packLength));
    at += packLength;
  }
  return { frames, error: null, rest: bytes.length - at };
}

function errorKind(err: FrameError): ErrorKind {
  if (/^pack_len \d+ is smaller/.test(err.message)) return 'pack_len too small';
  if (/^pack_len \d+ exceeds/.test(err.message)) return 'pack_len over the limit';
  if (/^ext_len \d+ exceeds/.test(err.message)) return 'ext_len too large';
  throw new Error(`unexpected FrameError message: ${err.message}`);
}

interface Decoded {
  frames: GatewayFrame[];
  error: ErrorKind | null;
  pending: number;
}

/** Feeds `chunks` to a new decoder, checking the size bound after every push and the poisoning after an error. */
function decode(chunks: Buffer[], max: number, input: Buffer): Decoded {
  const decoder = new FrameDecoder(max);
  const frames: GatewayFrame[] = [];
  for (const chunk of chunks) {
    try {
      frames.push(...decoder.push(chunk));
    } catch (err) {
      check(err instanceof FrameError, `push threw ${(err as Error)?.name}: ${(err as Error)?.message}`, input);
      frames.push(...err.decoded);
      let again: unknown = null;
      try {
        decoder.push(Buffer.from([0]));
      } catch (e) {
        again = e;
      }
      check(
        again instanceof FrameError && again.message === err.message && again.decoded.length === 0,
        'a decoder that failed accepted more bytes, or rethrew other than its error without frames',
        input,
      );
      return { frames, error: errorKind(err), pending: 0 };
    }
    check(decoder.pendingBytes < Math.max(4, max), `holds ${decoder.pendingBytes} bytes over its limit ${max}`, input);
  }
  return { frames, error: null, pending: decoder.pendingBytes };
}

function randomFrame(rand: Rand, maxLength: number): GatewayFrame {
  const room = Math.max(0, maxLength - HEADER_LENGTH);
  const ext = randomBytes(rand, Math.min(room, rand() < 0.9 ? 48 : room));
  const body = randomBytes(rand, Math.min(room - ext.length, rand() < 0.9 ? 200 : room - ext.length));
  return {
    cmd: randomInt(rand, 0, 255),
    localIp: randomInt(rand, 0, 0xffffffff),
    localPort: randomInt(rand, 0, 0xffff),
    clientIp: randomInt(rand, 0, 0xffffffff),
    clientPort: randomInt(rand, 0, 0xffff),
    connectionId: randomInt(rand, 0, 0xffffffff),
    flag: randomInt(rand, 0, 255),
    gatewayPort: randomInt(rand, 0, 0xffff),
    ext,
    body,
  };
}

const sameFrame = (a: GatewayFrame, b: GatewayFrame) => encodeFrame(a).equals(encodeFrame(b));

describe('fuzz: FrameDecoder (inner link frames)', () => {
  it(
    'decodes any input, in any chunking, as the reference parser does; only FrameError escapes',
    () => {
      let previous: Buffer = Buffer.alloc(0);
      const report = runFuzz('frame-decoder', (rand, index) => {
        const max = rand() < 0.3 ? pick(rand, LIMITS) : DEFAULT_MAX_FRAME_SIZE;
        let generated: GatewayFrame[] | null = null;
        let input: Buffer;
        const mode = rand();
        if (mode < 0.3) {
          generated = Array.from({ length: randomInt(rand, 0, 6) }, () => randomFrame(rand, Math.min(max, 600)));
          input = Buffer.concat(generated.map(encodeFrame));
        } else if (mode < 0.75) {
          const base =
            rand() < 0.3
              ? Buffer.concat(Array.from({ length: randomInt(rand, 1, 3) }, () => pick(rand, PHP_FRAMES)))
              : Buffer.concat(
                  Array.from({ length: randomInt(rand, 1, 4) }, () =>
                    encodeFrame(randomFrame(rand, Math.min(max, 300))),
                  ),
                );
          input = mutate(rand, base, [HEADER_LENGTH, max, max + 1, base.length], previous);
        } else {
          input = randomBytes(rand, 300);
        }
        previous = input;

        const expected = reference(input, max);
        const whole = decode([input], max, input);
        const chunked = decode(randomChunks(rand, input), max, input);
        const runs =
          index % 8 === 0 && input.length <= 4096
            ? [whole, chunked, decode(byteChunks(input), max, input)]
            : [whole, chunked];
        for (const [k, got] of runs.entries()) {
          const how = ['all at once', 'in random chunks', 'byte by byte'][k];
          check(got.error === expected.error, `${how}: error ${got.error}, expected ${expected.error}`, input);
          got.frames.forEach((f, i) =>
            check(
              encodeFrame(f).equals(expected.frames[i]),
              `${how}: frame ${i} does not encode back to its bytes`,
              input,
            ),
          );
          // Every frame before the end or the error comes out, whatever the chunking.
          check(
            got.frames.length === expected.frames.length,
            `${how}: ${got.frames.length} frames, expected ${expected.frames.length}`,
            input,
          );
          if (expected.error === null)
            check(got.pending === expected.rest, `${how}: ${got.pending} bytes pending`, input);
        }
        if (generated) {
          check(whole.frames.length === generated.length, 'a valid stream lost frames', input);
          generated.forEach((f, i) =>
            check(sameFrame(f, whole.frames[i]), `frame ${i} changed in a round trip`, input),
          );
        }
        return expected.error
          ? `FrameError (${expected.error})`
          : expected.rest > 0
            ? 'frames + partial'
            : generated
              ? 'valid streams round-tripped'
              : 'frames';
      });
      expect(report.heapDelta).toBeLessThan(HEAP_DELTA_BOUND);
    },
    fuzzTimeoutMs(500),
  );
});
