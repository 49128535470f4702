import {
  HELLO_MAGIC,
  MAX_RECORD_PLAINTEXT,
  RecordError,
  RecordOpener,
  RecordSealer,
  deriveLinkKeys,
} from 'nest-gateway-worker/internal';
import { byteChunks, mutate, randomBytes, randomChunks, type Rand } from '../support/fuzz-mutations';
import { check, fuzzTimeoutMs, HEAP_DELTA_BOUND, runFuzz } from '../support/fuzz-run';
import { randomInt } from '../support/seeded-random';

/**
 * Fuzz target: the encrypted record layer of every inner link (src/protocol/record-layer.ts). Inputs are streams of
 * records sealed for one direction of a link, then tampered with (bits flipped, records replayed, dropped, swapped,
 * truncated, length fields rewritten, bytes spliced in) or replaced by random bytes. Properties, for every input:
 *  - nothing but RecordError escapes, and an opener that failed keeps failing (the link is closed);
 *  - what the opener yields is exactly what a reference written here predicts: the plaintexts of the records that
 *    are byte for byte the ones sealed at the same position, in order, up to the first record that is not (an
 *    authentication failure) or whose length is out of range, whatever the chunking (the plaintexts before an error
 *    included: the error carries those of the push that failed);
 *  - an untouched stream opens to the plaintexts sealed, in any chunking (round trip);
 *  - keys derived by the two ends of a link from the same hellos pair up (seal ↔ open, own ↔ peer proof);
 *  - the heap does not grow over the run.
 */

const TAG = 16;
const HEADER = 4;

interface Keys {
  key: Buffer;
  salt: Buffer;
}

/** One direction's keys from a real handshake derivation, checked for symmetry between the two ends. */
function linkKeys(rand: Rand): Keys {
  const secret = randomBytes(rand, 48);
  const hello = () =>
    Buffer.concat([HELLO_MAGIC, Buffer.from(Array.from({ length: 32 }, () => randomInt(rand, 0, 255)))]);
  const [initiatorHello, responderHello] = [hello(), hello()];
  const secretKey = Buffer.concat([secret, Buffer.from('0123456789abcdef')]);
  const i = deriveLinkKeys(secretKey, 'initiator', initiatorHello, responderHello);
  const r = deriveLinkKeys(secretKey, 'responder', responderHello, initiatorHello);
  const pairs: [Buffer, Buffer, string][] = [
    [i.sealKey, r.openKey, 'initiator seal key = responder open key'],
    [i.sealSalt, r.openSalt, 'initiator seal salt = responder open salt'],
    [r.sealKey, i.openKey, 'responder seal key = initiator open key'],
    [r.sealSalt, i.openSalt, 'responder seal salt = initiator open salt'],
    [i.ownProof, r.peerProof, "initiator's proof = the proof the responder expects"],
    [r.ownProof, i.peerProof, "responder's proof = the proof the initiator expects"],
  ];
  for (const [a, b, what] of pairs) check(a.equals(b), what, Buffer.concat([initiatorHello, responderHello]));
  check(!i.ownProof.equals(r.ownProof), 'the two proofs differ (no reflection)', initiatorHello);
  check(!i.sealKey.equals(i.openKey), 'the two directions have different keys', initiatorHello);
  return { key: i.sealKey, salt: i.sealSalt };
}

type Outcome = { plaintexts: Buffer[]; error: 'length out of range' | 'authentication' | null; rest: number };

/** The reference: split by length headers; a record opens iff it is the one sealed at that position. */
function reference(input: Buffer, sealed: Buffer[], plaintexts: Buffer[]): Outcome {
  const out: Buffer[] = [];
  let at = 0;
  while (input.length - at >= HEADER) {
    const length = input.readUInt32BE(at);
    if (length < TAG || length > MAX_RECORD_PLAINTEXT + TAG)
      return { plaintexts: out, error: 'length out of range', rest: 0 };
    if (input.length - at < HEADER + length) break;
    const record = input.subarray(at, at + HEADER + length);
    const k = out.length;
    if (k >= sealed.length || !record.equals(sealed[k])) return { plaintexts: out, error: 'authentication', rest: 0 };
    out.push(plaintexts[k]);
    at += HEADER + length;
  }
  return { plaintexts: out, error: null, rest: input.length - at };
}

function open(keys: Keys, chunks: Buffer[], input: Buffer): Outcome {
  const opener = new RecordOpener(keys.key, keys.salt);
  const out: Buffer[] = [];
  let fed = 0;
  for (const chunk of chunks) {
    try {
      out.push(...opener.push(chunk));
      fed += chunk.length;
    } catch (err) {
      check(err instanceof RecordError, `push threw ${(err as Error)?.name}: ${(err as Error)?.message}`, input);
      out.push(...err.decoded);
      let again: unknown = null;
      try {
        opener.push(Buffer.alloc(0));
      } catch (e) {
        again = e;
      }
      check(
        again instanceof RecordError && again.message === err.message && again.decoded.length === 0,
        'an opener that failed opened more',
        input,
      );
      const kind = /out of range/.test(err.message)
        ? 'length out of range'
        : /failed authentication/.test(err.message)
          ? 'authentication'
          : null;
      check(kind !== null, `unexpected RecordError message: ${err.message}`, input);
      return { plaintexts: out, error: kind, rest: 0 };
    }
  }
  const consumed = out.reduce((n, p) => n + HEADER + p.length + TAG, 0);
  return { plaintexts: out, error: null, rest: fed - consumed };
}

/** Records of one stream, as separate buffers (so tampering can replay, drop or swap whole records). */
function sealRecords(keys: Keys, plaintexts: Buffer[]): Buffer[] {
  const sealer = new RecordSealer(keys.key, keys.salt);
  return plaintexts.map((p) => sealer.seal(p));
}

function tamperRecords(rand: Rand, records: Buffer[]): Buffer[] {
  const r = [...records];
  if (r.length === 0) return r;
  const a = randomInt(rand, 0, r.length - 1);
  const b = randomInt(rand, 0, r.length - 1);
  switch (randomInt(rand, 0, 3)) {
    case 0: // replay a record
      r.splice(b, 0, r[a]);
      break;
    case 1: // drop one
      r.splice(a, 1);
      break;
    case 2: // swap two
      [r[a], r[b]] = [r[b], r[a]];
      break;
    default: {
      // A forgery attempt: the record's length header kept, ciphertext and tag replaced by random bytes.
      const forged = Buffer.from(r[a]);
      for (let i = HEADER; i < forged.length; i++) forged[i] = randomInt(rand, 0, 255);
      r[a] = forged;
    }
  }
  return r;
}

describe('fuzz: RecordOpener (encrypted inner link records)', () => {
  it(
    'opens exactly the records sealed at their position, in any chunking; only RecordError escapes',
    () => {
      let keys: Keys | null = null;
      const report = runFuzz('record-layer', (rand, index) => {
        // New link keys now and then (the derivation is checked each time), the same ones in between.
        if (keys === null || index % 256 === 0) keys = linkKeys(rand);
        const plaintexts = Array.from({ length: randomInt(rand, 0, 5) }, () =>
          randomBytes(rand, rand() < 0.95 ? 200 : 5000),
        );
        const sealed = sealRecords(keys, plaintexts);
        const clean = Buffer.concat(sealed);
        let input: Buffer;
        const mode = rand();
        if (mode < 0.2) input = clean;
        else if (mode < 0.4) input = Buffer.concat(tamperRecords(rand, sealed));
        else if (mode < 0.85)
          input = mutate(rand, clean, [TAG - 1, TAG, MAX_RECORD_PLAINTEXT + TAG, MAX_RECORD_PLAINTEXT + TAG + 1]);
        else input = randomBytes(rand, 300);

        const expected = reference(input, sealed, plaintexts);
        const runs = [open(keys, [input], input), open(keys, randomChunks(rand, input), input)];
        if (index % 16 === 0 && input.length <= 2048) runs.push(open(keys, byteChunks(input), input));
        for (const [k, got] of runs.entries()) {
          const how = ['all at once', 'in random chunks', 'byte by byte'][k];
          check(got.error === expected.error, `${how}: error ${got.error}, expected ${expected.error}`, input);
          got.plaintexts.forEach((p, i) =>
            check(p.equals(expected.plaintexts[i]), `${how}: plaintext ${i} differs`, input),
          );
          // Every record before the end or the error is opened, whatever the chunking.
          check(
            got.plaintexts.length === expected.plaintexts.length,
            `${how}: ${got.plaintexts.length} opened, expected ${expected.plaintexts.length}`,
            input,
          );
          if (expected.error === null)
            check(got.rest === expected.rest, `${how}: ${got.rest} bytes left, expected ${expected.rest}`, input);
        }
        if (input === clean) {
          check(
            expected.error === null && expected.plaintexts.length === plaintexts.length,
            'a clean stream did not open whole',
            input,
          );
          return 'clean streams round-tripped';
        }
        return expected.error
          ? `RecordError (${expected.error})`
          : expected.rest > 0
            ? 'records + partial'
            : 'records (an untouched prefix)';
      });
      expect(report.heapDelta).toBeLessThan(HEAP_DELTA_BOUND);
    },
    fuzzTimeoutMs(1_000),
  );
});
