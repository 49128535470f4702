import {
  HELLO_LENGTH,
  HELLO_MAGIC,
  MAX_RECORD_PLAINTEXT,
  PROOF_LENGTH,
  RecordError,
  RecordOpener,
  RecordSealer,
  createHello,
  deriveLinkKeys,
  looksLikeHello,
  proofMatches,
  type LinkKeys,
} from './record-layer';
import { createCipheriv } from 'node:crypto';
import { prng } from '../../../../test/support/seeded-random';

const SECRET = Buffer.from('correct horse battery staple');
const TAG = 16;

function keyPair(secret = SECRET): { initiator: LinkKeys; responder: LinkKeys; iHello: Buffer; rHello: Buffer } {
  const iHello = createHello();
  const rHello = createHello();
  return {
    initiator: deriveLinkKeys(secret, 'initiator', iHello, rHello),
    responder: deriveLinkKeys(secret, 'responder', rHello, iHello),
    iHello,
    rHello,
  };
}

/** A sealer on the initiator side and the matching opener on the responder side. */
function channel(): { sealer: RecordSealer; opener: () => RecordOpener } {
  const { initiator, responder } = keyPair();
  return {
    sealer: new RecordSealer(initiator.sealKey, initiator.sealSalt),
    opener: () => new RecordOpener(responder.openKey, responder.openSalt),
  };
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

describe('hello', () => {
  test('is "GWN1" followed by 32 random bytes', () => {
    const a = createHello();
    const b = createHello();
    expect(a).toHaveLength(HELLO_LENGTH);
    expect(HELLO_LENGTH).toBe(36);
    expect(a.subarray(0, 4).equals(HELLO_MAGIC)).toBe(true);
    expect(a.equals(b)).toBe(false);
  });

  test('looksLikeHello recognises the magic only', () => {
    expect(looksLikeHello(createHello())).toBe(true);
    expect(looksLikeHello(Buffer.from('GWN1'))).toBe(true);
    expect(looksLikeHello(Buffer.from('GWN'))).toBe(false);
    expect(looksLikeHello(Buffer.from('GWN2xxxx'))).toBe(false);
    expect(looksLikeHello(Buffer.from('{"event":"worker_connect"}\n'))).toBe(false);
    expect(looksLikeHello(Buffer.from('0000001cc9', 'hex'))).toBe(false);
  });
});

describe('deriveLinkKeys', () => {
  test('initiator and responder with the same secret and hellos derive mirrored keys and proofs', () => {
    const { initiator: i, responder: r } = keyPair();
    expect(i.sealKey.equals(r.openKey)).toBe(true);
    expect(i.sealSalt.equals(r.openSalt)).toBe(true);
    expect(i.openKey.equals(r.sealKey)).toBe(true);
    expect(i.openSalt.equals(r.sealSalt)).toBe(true);
    expect(i.ownProof.equals(r.peerProof)).toBe(true);
    expect(i.peerProof.equals(r.ownProof)).toBe(true);
  });

  test('sizes: 32-byte keys, 4-byte salts, 32-byte proofs', () => {
    const { initiator: i } = keyPair();
    expect(i.sealKey).toHaveLength(32);
    expect(i.openKey).toHaveLength(32);
    expect(i.sealSalt).toHaveLength(4);
    expect(i.openSalt).toHaveLength(4);
    expect(i.ownProof).toHaveLength(PROOF_LENGTH);
    expect(i.peerProof).toHaveLength(PROOF_LENGTH);
  });

  test('the two directions and the two proofs differ (nothing can be reflected back)', () => {
    const { initiator: i } = keyPair();
    expect(i.sealKey.equals(i.openKey)).toBe(false);
    expect(i.ownProof.equals(i.peerProof)).toBe(false);
  });

  test('is deterministic for the same inputs', () => {
    const iHello = createHello();
    const rHello = createHello();
    const a = deriveLinkKeys(SECRET, 'initiator', iHello, rHello);
    const b = deriveLinkKeys(Buffer.from(SECRET), 'initiator', Buffer.from(iHello), Buffer.from(rHello));
    expect(a).toEqual(b);
  });

  test('a different secret gives different proofs and keys', () => {
    const iHello = createHello();
    const rHello = createHello();
    const good = deriveLinkKeys(SECRET, 'initiator', iHello, rHello);
    const otherResponder = deriveLinkKeys(Buffer.from('another secret'), 'responder', rHello, iHello);
    expect(good.ownProof.equals(otherResponder.peerProof)).toBe(false);
    expect(good.peerProof.equals(otherResponder.ownProof)).toBe(false);
    expect(good.sealKey.equals(otherResponder.openKey)).toBe(false);
  });

  test('fresh hellos give fresh keys and proofs for the same secret', () => {
    const a = keyPair().initiator;
    const b = keyPair().initiator;
    expect(a.sealKey.equals(b.sealKey)).toBe(false);
    expect(a.ownProof.equals(b.ownProof)).toBe(false);
  });

  test('proofMatches compares exactly, and tolerates a wrong length', () => {
    const { initiator: i, responder: r } = keyPair();
    expect(proofMatches(r.peerProof, i.ownProof)).toBe(true);
    const flipped = Buffer.from(i.ownProof);
    flipped[31] ^= 1;
    expect(proofMatches(r.peerProof, flipped)).toBe(false);
    expect(proofMatches(r.peerProof, i.ownProof.subarray(0, 31))).toBe(false);
    expect(proofMatches(r.peerProof, Buffer.alloc(0))).toBe(false);
  });
});

describe('RecordSealer / RecordOpener', () => {
  test('record layout: u32 length (ciphertext + tag) ‖ ciphertext ‖ tag, plaintext not visible', () => {
    const { sealer } = channel();
    const plain = Buffer.from('attack at dawn!');
    const record = sealer.seal(plain);
    expect(record).toHaveLength(4 + plain.length + TAG);
    expect(record.readUInt32BE(0)).toBe(plain.length + TAG);
    expect(record.includes(plain)).toBe(false);
  });

  test('records are the documented bytes: AES-256-GCM, nonce = salt ‖ u64 BE counter, the header as AAD', () => {
    // A reference sealer written from the layout in record-layer.ts, one fresh nonce and buffer per record.
    const key = Buffer.alloc(32, 0x42);
    const salt = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    const reference = (plain: Buffer, counter: number) => {
      const nonce = Buffer.alloc(12);
      salt.copy(nonce, 0);
      nonce.writeBigUInt64BE(BigInt(counter), 4);
      const header = u32(plain.length + TAG);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(header);
      const body = cipher.update(plain);
      cipher.final();
      return Buffer.concat([header, body, cipher.getAuthTag()]);
    };
    const sealer = new RecordSealer(key, salt);
    const opener = new RecordOpener(key, salt);
    const plains = [Buffer.from('first'), Buffer.alloc(0), Buffer.from('third record, a little longer')];
    plains.forEach((plain, i) => {
      const record = sealer.seal(plain);
      expect(record.toString('hex')).toBe(reference(plain, i).toString('hex'));
      expect(opener.push(reference(plain, i))).toEqual([plain]);
    });
    // Past 2^32 records the counter's high word counts too (set directly: sealing that many takes hours).
    const high = 2 ** 32 + 5;
    (sealer as unknown as { counter: number }).counter = high;
    (opener as unknown as { counter: number }).counter = high;
    const plain = Buffer.from('late');
    expect(sealer.seal(plain).toString('hex')).toBe(reference(plain, high).toString('hex'));
    expect(opener.push(reference(plain, high))).toEqual([plain]);
  });

  test('the same plaintext sealed twice gives different records (counter nonces)', () => {
    const { sealer } = channel();
    const plain = Buffer.from('same');
    expect(sealer.seal(plain).equals(sealer.seal(plain))).toBe(false);
  });

  test('round trip of several records, whole and with arbitrary chunking', () => {
    const { sealer, opener } = channel();
    const messages = [
      Buffer.from('first'),
      Buffer.alloc(0),
      Buffer.from('ünïcødé ✓'),
      Buffer.alloc(5000, 0xab),
      Buffer.from([0, 1, 2, 3]),
    ];
    const wire = Buffer.concat(messages.map((m) => sealer.seal(m)));
    const want = messages.map((m) => m.toString('hex'));

    expect(
      opener()
        .push(wire)
        .map((b) => b.toString('hex')),
    ).toEqual(want);

    const byteWise = opener();
    const got: string[] = [];
    for (let i = 0; i < wire.length; i++)
      got.push(...byteWise.push(wire.subarray(i, i + 1)).map((b) => b.toString('hex')));
    expect(got).toEqual(want);

    const rand = prng(42);
    for (let run = 0; run < 50; run++) {
      const o = opener();
      const out: string[] = [];
      for (let at = 0; at < wire.length;) {
        const size = Math.floor(rand() * 700);
        out.push(...o.push(wire.subarray(at, at + size)).map((b) => b.toString('hex')));
        at += size;
      }
      expect(out).toEqual(want);
    }
  });

  test('split at every point into two chunks', () => {
    const { sealer, opener } = channel();
    const wire = Buffer.concat([
      sealer.seal(Buffer.from('one')),
      sealer.seal(Buffer.from('two')),
      sealer.seal(Buffer.from('three')),
    ]);
    const failures: number[] = [];
    for (let at = 0; at <= wire.length; at++) {
      const o = opener();
      const out = [...o.push(wire.subarray(0, at)), ...o.push(wire.subarray(at))].map(String).join(',');
      if (out !== 'one,two,three') failures.push(at);
    }
    expect(failures).toEqual([]);
  });

  test('a payload larger than MAX_RECORD_PLAINTEXT is split into records and reassembled', () => {
    const { sealer, opener } = channel();
    const big = Buffer.alloc(2 * MAX_RECORD_PLAINTEXT + 123);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >>> 8)) & 0xff;
    const wire = sealer.seal(big);

    // Walk the record headers: three records, none above the limit.
    const lengths: number[] = [];
    for (let at = 0; at < wire.length; at += 4 + wire.readUInt32BE(at)) lengths.push(wire.readUInt32BE(at) - TAG);
    expect(lengths).toEqual([MAX_RECORD_PLAINTEXT, MAX_RECORD_PLAINTEXT, 123]);

    const parts = opener().push(wire);
    expect(parts).toHaveLength(3);
    expect(Buffer.concat(parts).equals(big)).toBe(true);
  });

  test('exactly MAX_RECORD_PLAINTEXT bytes is one record', () => {
    const { sealer, opener } = channel();
    const wire = sealer.seal(Buffer.alloc(MAX_RECORD_PLAINTEXT, 7));
    expect(wire.readUInt32BE(0)).toBe(MAX_RECORD_PLAINTEXT + TAG);
    expect(wire).toHaveLength(4 + MAX_RECORD_PLAINTEXT + TAG);
    const parts = opener().push(wire);
    expect(parts).toHaveLength(1);
    expect(parts[0].equals(Buffer.alloc(MAX_RECORD_PLAINTEXT, 7))).toBe(true);
  });
});

describe('RecordOpener rejects tampering, replay, reordering and bad lengths', () => {
  const plain1 = Buffer.from('first record, long enough to flip bits in');
  const plain2 = Buffer.from('second record');

  function twoRecords() {
    const { sealer, opener } = channel();
    const r1 = sealer.seal(plain1);
    const r2 = sealer.seal(plain2);
    const r3 = sealer.seal(Buffer.from('third'));
    return { r1, r2, r3, opener };
  }

  const positions: Array<[string, (len: number) => number, number]> = [
    ['header length, lowest bit (length off by one)', () => 3, 0x01],
    ['header length, bit 1', () => 3, 0x02],
    ['header length, highest bit (out of range)', () => 0, 0x80],
    ['first ciphertext byte', () => 4, 0x01],
    ['middle ciphertext byte', (len) => 4 + Math.floor((len - 4 - TAG) / 2), 0x10],
    ['last ciphertext byte', (len) => len - TAG - 1, 0x80],
    ['first tag byte', (len) => len - TAG, 0x01],
    ['last tag byte', (len) => len - 1, 0x40],
  ];

  test.each(positions)('flipping a bit in the %s of the first record throws RecordError', (_name, at, mask) => {
    const { r1, r2, r3, opener } = twoRecords();
    const bad = Buffer.from(r1);
    bad[at(bad.length)] ^= mask;
    // Following records make sure a length change cannot just leave the opener waiting for more bytes.
    expect(() => opener().push(Buffer.concat([bad, r2, r3]))).toThrow(RecordError);
  });

  test.each(positions)('flipping a bit in the %s of a later record throws after the good one', (_name, at, mask) => {
    const { r1, r2, r3, opener } = twoRecords();
    const o = opener();
    expect(o.push(r1).map(String)).toEqual([plain1.toString()]);
    const bad = Buffer.from(r2);
    bad[at(bad.length)] ^= mask;
    expect(() => o.push(Buffer.concat([bad, r3]))).toThrow(RecordError);
  });

  test.each(positions)(
    'flipping a bit in the %s of a record after a good one in the same chunk: the error carries the good one',
    (_name, at, mask) => {
      const { r1, r2, r3, opener } = twoRecords();
      const bad = Buffer.from(r2);
      bad[at(bad.length)] ^= mask;
      let error: unknown;
      try {
        opener().push(Buffer.concat([r1, bad, r3]));
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(RecordError);
      expect((error as RecordError).decoded.map(String)).toEqual([plain1.toString()]);
    },
  );

  test('every single-bit flip in the ciphertext and tag is detected', () => {
    const { r1, r2, opener } = twoRecords();
    const missed: number[] = [];
    for (let bit = 4 * 8; bit < r1.length * 8; bit++) {
      const bad = Buffer.from(r1);
      bad[bit >>> 3] ^= 1 << (bit & 7);
      if (!(errorOf(() => opener().push(Buffer.concat([bad, r2]))) instanceof RecordError)) missed.push(bit);
    }
    expect(missed).toEqual([]);
  });

  test('authentication failures say so', () => {
    const { r1, opener } = twoRecords();
    const bad = Buffer.from(r1);
    bad[6] ^= 4;
    expect(() => opener().push(bad)).toThrow(/failed authentication/);
  });

  test('replaying a record (record 1 twice) throws', () => {
    const { r1, opener } = twoRecords();
    const o = opener();
    expect(o.push(r1).map(String)).toEqual([plain1.toString()]);
    expect(() => o.push(r1)).toThrow(RecordError);
  });

  test('replay within one chunk throws too', () => {
    const { r1, opener } = twoRecords();
    expect(() => opener().push(Buffer.concat([r1, r1]))).toThrow(/failed authentication/);
  });

  test('swapping the order of two records throws', () => {
    const { r1, r2, opener } = twoRecords();
    expect(() => opener().push(Buffer.concat([r2, r1]))).toThrow(RecordError);
    const o = opener();
    expect(() => o.push(r2)).toThrow(RecordError);
  });

  test('dropping a record throws at the next one', () => {
    const { r1, r3, opener } = twoRecords();
    const o = opener();
    o.push(r1);
    expect(() => o.push(r3)).toThrow(RecordError);
  });

  test('records sealed for the other direction (reflected back) do not open', () => {
    const { initiator } = keyPair();
    const sealer = new RecordSealer(initiator.sealKey, initiator.sealSalt);
    const ownOpener = new RecordOpener(initiator.openKey, initiator.openSalt);
    expect(() => ownOpener.push(sealer.seal(Buffer.from('echo')))).toThrow(RecordError);
  });

  test('records from a different link (other nonces, same secret) do not open', () => {
    const a = keyPair();
    const b = keyPair();
    const record = new RecordSealer(a.initiator.sealKey, a.initiator.sealSalt).seal(Buffer.from('hello'));
    expect(() => new RecordOpener(b.responder.openKey, b.responder.openSalt).push(record)).toThrow(RecordError);
  });

  test('after an error the opener is poisoned', () => {
    const { r1, r2, opener } = twoRecords();
    const o = opener();
    const bad = Buffer.from(r1);
    bad[10] ^= 1;
    const first = errorOf(() => o.push(bad));
    expect(first).toBeInstanceOf(RecordError);
    for (const more of [r1, r2]) {
      const again = errorOf(() => o.push(more));
      expect(again).toBeInstanceOf(RecordError);
      expect((again as RecordError).message).toBe((first as RecordError).message);
      expect((again as RecordError).decoded).toEqual([]);
    }
  });

  test.each([
    ['above the maximum', MAX_RECORD_PLAINTEXT + TAG + 1],
    ['0xffffffff', 0xffffffff],
    ['shorter than the tag', TAG - 1],
    ['zero', 0],
  ])('a record length %s throws from the 4 header bytes alone', (_name, length) => {
    const o = channel().opener();
    expect(() => o.push(u32(length))).toThrow(RecordError);
    expect(() => channel().opener().push(u32(length))).toThrow(/out of range/);
  });

  test('the out-of-range check needs only the 4 header bytes even when they arrive split', () => {
    const o = channel().opener();
    const header = u32(MAX_RECORD_PLAINTEXT + TAG + 1);
    expect(o.push(header.subarray(0, 2))).toEqual([]);
    expect(() => o.push(header.subarray(2))).toThrow(RecordError);
  });

  test('the largest and smallest legal lengths wait for the body instead of throwing', () => {
    expect(
      channel()
        .opener()
        .push(u32(MAX_RECORD_PLAINTEXT + TAG)),
    ).toEqual([]);
    expect(channel().opener().push(u32(TAG))).toEqual([]);
  });
});
