import { randomInt } from './seeded-random';

/**
 * Inputs for the seeded fuzz targets (test/fuzz/): random bytes, mutations of valid encodings (bit flips,
 * interesting values at random offsets, inserted, deleted, repeated and truncated ranges, splices), and random
 * splits of a byte stream into chunks. Everything is drawn from the caller's PRNG, so a seed reproduces it.
 */
export type Rand = () => number;

/** Byte and 32-bit values at the edges of length fields and character classes. */
// Read once: a lookup of the global `Math` is slow inside jest's test environment.
const { floor, max: maxOf, min: minOf } = Math;

const INTERESTING_BYTES = [0x00, 0x01, 0x0a, 0x0d, 0x20, 0x22, 0x7f, 0x80, 0xc0, 0xef, 0xfe, 0xff];
const INTERESTING_U32 = [0, 1, 3, 4, 15, 16, 17, 27, 28, 29, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x100010];
const INTERESTING_U32_HIGH = [0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

export function pick<T>(rand: Rand, list: readonly T[]): T {
  return list[floor(rand() * list.length)];
}

export function randomBytes(rand: Rand, maxLength: number): Buffer {
  const out = Buffer.allocUnsafe(randomInt(rand, 0, maxLength));
  for (let i = 0; i < out.length; i++) out[i] = floor(rand() * 256);
  return out;
}

/** A 32-bit value near a length field's edges (around `near`, e.g. a decoder's limit) or a classic one. */
export function interestingU32(rand: Rand, near: number[] = []): number {
  const r = rand();
  if (r < 0.4 && near.length > 0) return maxOf(0, minOf(0xffffffff, pick(rand, near) + randomInt(rand, -2, 2)));
  if (r < 0.85) return pick(rand, INTERESTING_U32);
  return pick(rand, INTERESTING_U32_HIGH);
}

/**
 * `input` changed by 1-4 random mutations (a new buffer; `input` is untouched). `near` are values worth writing
 * into 32-bit fields (limits of the decoder under test); `other` is spliced in by the splice mutation.
 */
export function mutate(rand: Rand, input: Buffer, near: number[] = [], other?: Buffer): Buffer {
  let b = Buffer.from(input);
  const count = randomInt(rand, 1, 4);
  for (let m = 0; m < count; m++) {
    const at = b.length === 0 ? 0 : randomInt(rand, 0, b.length - 1);
    switch (randomInt(rand, 0, 8)) {
      case 0: // flip one bit
        if (b.length > 0) b[at] ^= 1 << randomInt(rand, 0, 7);
        break;
      case 1: // an interesting byte
        if (b.length > 0) b[at] = pick(rand, INTERESTING_BYTES);
        break;
      case 2: // an interesting u32 (big-endian, like every length field here)
        if (b.length >= 4) b.writeUInt32BE(interestingU32(rand, near), randomInt(rand, 0, b.length - 4));
        break;
      case 3: // insert random bytes
        b = Buffer.concat([b.subarray(0, at), randomBytes(rand, 8), b.subarray(at)]);
        break;
      case 4: // delete a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(minOf(b.length, at + randomInt(rand, 1, 16)))]);
        break;
      case 5: // repeat a range (a replayed piece)
        {
          const end = minOf(b.length, at + randomInt(rand, 1, 64));
          b = Buffer.concat([b.subarray(0, end), b.subarray(at, end), b.subarray(end)]);
        }
        break;
      case 6: // truncate
        b = b.subarray(0, randomInt(rand, 0, b.length));
        break;
      case 7: // splice another input in
        if (other && other.length > 0) {
          const from = randomInt(rand, 0, other.length - 1);
          b = Buffer.concat([b.subarray(0, at), other.subarray(from, from + randomInt(rand, 1, 64)), b.subarray(at)]);
        }
        break;
      default: // overwrite a random range with random bytes
        randomBytes(rand, 8).copy(b, at);
        break;
    }
  }
  return b;
}

/**
 * `bytes` split into chunks at random points: sometimes one byte at a time, sometimes a few large pieces, and now
 * and then an empty chunk. The chunks are views of `bytes`; together they are exactly `bytes`.
 */
export function randomChunks(rand: Rand, bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  const maxChunk = pick(rand, [1, 2, 3, 5, 8, 16, 64, 256, 4096]);
  let at = 0;
  while (at < bytes.length) {
    if (rand() < 0.03) chunks.push(bytes.subarray(at, at));
    const size = randomInt(rand, 1, maxChunk);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

/** `bytes` one byte per chunk. */
export function byteChunks(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) chunks.push(bytes.subarray(i, i + 1));
  return chunks;
}
