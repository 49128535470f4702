import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';

/**
 * The native profile's record layer: every inner link (gateway↔worker, SDK↔gateway, anything↔register)
 * starts with a handshake that proves both sides know the shared secret without sending it, then carries
 * AES-256-GCM records.
 *
 * Handshake (1 round trip, both sides send at once):
 *   hello = "GWN1" ‖ nonce(32 random bytes)                                  (36 bytes each way)
 *   keys  = HKDF-SHA256(ikm = secret, salt = initiatorNonce ‖ responderNonce, info = label)
 *   proof = HMAC-SHA256(authKey[own role], initiatorHello ‖ responderHello)  (32 bytes each way)
 * The proof keys differ per role, so a proof cannot be reflected back; the nonces make every link's keys
 * fresh, so a recorded link cannot be replayed into a new one.
 *
 * Records: u32 BE ciphertext length ‖ AES-256-GCM ciphertext ‖ 16-byte tag. The nonce is a 4-byte
 * per-direction salt from HKDF ‖ a 64-bit record counter, and the length header is authenticated data.
 * The receiver derives the nonce from its own counter, so a tampered, replayed, dropped or reordered record
 * fails authentication and the link is closed.
 */

export const HELLO_MAGIC = Buffer.from('GWN1', 'ascii');
export const HELLO_LENGTH = HELLO_MAGIC.length + 32;
export const PROOF_LENGTH = 32;
const TAG_LENGTH = 16;
const RECORD_HEADER_LENGTH = 4;
/** Largest plaintext carried by one record; longer writes are split. 1 MiB. */
export const MAX_RECORD_PLAINTEXT = 1024 * 1024;

export type LinkRole = 'initiator' | 'responder';

export interface LinkKeys {
  sealKey: Buffer;
  sealSalt: Buffer;
  openKey: Buffer;
  openSalt: Buffer;
  /** The proof this side sends. */
  ownProof: Buffer;
  /** The proof the peer must send. */
  peerProof: Buffer;
}

export function createHello(): Buffer {
  return Buffer.concat([HELLO_MAGIC, randomBytes(32)]);
}

/** True when `bytes` starts like a native hello (used to explain a plaintext/encrypted mismatch). */
export function looksLikeHello(bytes: Buffer): boolean {
  return bytes.length >= 4 && bytes.subarray(0, 4).equals(HELLO_MAGIC);
}

export function deriveLinkKeys(secret: Buffer, role: LinkRole, ownHello: Buffer, peerHello: Buffer): LinkKeys {
  const [initiatorHello, responderHello] = role === 'initiator' ? [ownHello, peerHello] : [peerHello, ownHello];
  const salt = Buffer.concat([initiatorHello.subarray(4), responderHello.subarray(4)]);
  const derive = (label: string, length: number) =>
    Buffer.from(hkdfSync('sha256', secret, salt, `gatewayworker-node v1 ${label}`, length));
  const transcript = Buffer.concat([initiatorHello, responderHello]);
  const proof = (label: string) => createHmac('sha256', derive(label, 32)).update(transcript).digest();
  const i2r = { key: derive('key initiator->responder', 32), salt: derive('salt initiator->responder', 4) };
  const r2i = { key: derive('key responder->initiator', 32), salt: derive('salt responder->initiator', 4) };
  const initiatorProof = proof('proof initiator');
  const responderProof = proof('proof responder');
  return role === 'initiator'
    ? {
        sealKey: i2r.key,
        sealSalt: i2r.salt,
        openKey: r2i.key,
        openSalt: r2i.salt,
        ownProof: initiatorProof,
        peerProof: responderProof,
      }
    : {
        sealKey: r2i.key,
        sealSalt: r2i.salt,
        openKey: i2r.key,
        openSalt: i2r.salt,
        ownProof: responderProof,
        peerProof: initiatorProof,
      };
}

/** Constant-time comparison of a received proof with the expected one. */
export function proofMatches(expected: Buffer, received: Buffer): boolean {
  return received.length === expected.length && timingSafeEqual(expected, received);
}

/**
 * A direction's 12-byte GCM nonce: its 4-byte salt, then the 64-bit record counter (BE), written into one buffer
 * kept per sealer/opener (createCipheriv/createDecipheriv copy the IV when they are called; the buffer is free again
 * once they return). One allocation fewer per record than a fresh buffer each.
 */
class NonceBuffer {
  private readonly nonce = Buffer.allocUnsafe(12);

  constructor(salt: Buffer) {
    salt.copy(this.nonce, 0, 0, 4);
  }

  for(counter: number): Buffer {
    this.nonce.writeUInt32BE(Math.floor(counter / 0x100000000), 4);
    this.nonce.writeUInt32BE(counter >>> 0, 8);
    return this.nonce;
  }
}

/** Turns plaintext into records for one direction of one link. */
export class RecordSealer {
  private counter = 0;
  /**
   * Imported once: a cipher created from a KeyObject skips re-importing the raw key for every record (a cipher
   * per record is the record layer's main cost; this is ~10 % of it).
   */
  private readonly key: KeyObject;
  private readonly nonce: NonceBuffer;

  constructor(key: Buffer, salt: Buffer) {
    this.key = createSecretKey(key);
    this.nonce = new NonceBuffer(salt);
  }

  /** Seals `plaintext` into one record, or several when it is longer than {@link MAX_RECORD_PLAINTEXT}. */
  seal(plaintext: Buffer): Buffer {
    if (plaintext.length <= MAX_RECORD_PLAINTEXT) return this.sealOne(plaintext);
    const parts: Buffer[] = [];
    for (let at = 0; at < plaintext.length; at += MAX_RECORD_PLAINTEXT) {
      parts.push(this.sealOne(plaintext.subarray(at, at + MAX_RECORD_PLAINTEXT)));
    }
    return Buffer.concat(parts);
  }

  private sealOne(plaintext: Buffer): Buffer {
    // The record is assembled in one buffer of its final size: the header written in place (and authenticated from
    // there), the ciphertext and the tag set after it. Buffer.concat did the same copies plus an array and a
    // length pass.
    const bodyLength = plaintext.length;
    const record = Buffer.allocUnsafe(RECORD_HEADER_LENGTH + bodyLength + TAG_LENGTH);
    record.writeUInt32BE(bodyLength + TAG_LENGTH, 0);
    const cipher = createCipheriv('aes-256-gcm', this.key, this.nonce.for(this.counter++));
    cipher.setAAD(record.subarray(0, RECORD_HEADER_LENGTH));
    const body = cipher.update(plaintext);
    cipher.final(); // GCM is a stream mode: final() returns nothing, it only computes the tag
    record.set(body, RECORD_HEADER_LENGTH);
    record.set(cipher.getAuthTag(), RECORD_HEADER_LENGTH + bodyLength);
    return record;
  }
}

/**
 * Streaming record reader for one direction of one link: accepts any chunking, checks the record length
 * before buffering, and throws {@link RecordError} on anything that does not authenticate.
 */
export class RecordOpener {
  private counter = 0;
  // Chunks are kept as they came and joined once per complete record, not once per chunk: a large
  // record arriving in many TCP reads is copied once.
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: RecordError | null = null;
  /** Imported once (see RecordSealer). */
  private readonly key: KeyObject;
  private readonly nonce: NonceBuffer;
  /** The header bytes of the record being opened, its authenticated data (see {@link open}). */
  private readonly aad = Buffer.allocUnsafe(RECORD_HEADER_LENGTH);

  constructor(key: Buffer, salt: Buffer) {
    this.key = createSecretKey(key);
    this.nonce = new NonceBuffer(salt);
  }

  push(chunk: Buffer): Buffer[] {
    if (this.failed) throw this.failed;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Buffer[] = [];
    while (this.buffered >= RECORD_HEADER_LENGTH) {
      if (this.chunks[0].length < RECORD_HEADER_LENGTH) this.join();
      const length = this.chunks[0].readUInt32BE(0);
      if (length < TAG_LENGTH || length > MAX_RECORD_PLAINTEXT + TAG_LENGTH) {
        throw this.fail(`record length ${length} is out of range`, out);
      }
      const total = RECORD_HEADER_LENGTH + length;
      if (this.buffered < total) break;
      if (this.chunks[0].length < total) this.join();
      const record = this.chunks[0];
      const plain = this.open(record, length);
      if (plain === null)
        throw this.fail(`record #${this.counter} failed authentication (tampered, replayed or reordered)`, out);
      out.push(plain);
      if (record.length === total) this.chunks.shift();
      else this.chunks[0] = record.subarray(total);
      this.buffered -= total;
    }
    return out;
  }

  private join(): void {
    this.chunks = [Buffer.concat(this.chunks, this.buffered)];
  }

  /**
   * The plaintext of the record at the start of `record` whose header says `length` (ciphertext and tag); null when
   * it fails authentication. The header is authenticated from a copy kept for that (the same 4 bytes, as read), so
   * the record itself needs views of its ciphertext and tag only.
   */
  private open(record: Buffer, length: number): Buffer | null {
    const tagAt = RECORD_HEADER_LENGTH + length - TAG_LENGTH;
    const decipher = createDecipheriv('aes-256-gcm', this.key, this.nonce.for(this.counter));
    this.aad.writeUInt32BE(length, 0);
    decipher.setAAD(this.aad);
    decipher.setAuthTag(record.subarray(tagAt, tagAt + TAG_LENGTH));
    try {
      const plain = decipher.update(record.subarray(RECORD_HEADER_LENGTH, tagAt));
      decipher.final();
      this.counter++;
      return plain;
    } catch {
      return null;
    }
  }

  /** Poisons the opener; the error thrown now carries the plaintexts of this push before the bad record. */
  private fail(message: string, decoded: Buffer[]): RecordError {
    this.failed = new RecordError(message);
    this.chunks = [];
    this.buffered = 0;
    return new RecordError(message, decoded);
  }
}

export class RecordError extends Error {
  override name = 'RecordError';

  constructor(
    message: string,
    /** The plaintexts of the records the same push opened before the bad one, in order (see FrameError.decoded). */
    readonly decoded: readonly Buffer[] = [],
  ) {
    super(message);
  }
}
