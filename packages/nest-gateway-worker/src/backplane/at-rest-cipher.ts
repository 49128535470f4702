import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * The HKDF label of the at-rest key: distinct from every inner-link label ("gatewayworker-node v1 …"), so the key
 * that seals what the backplane stores in Redis is never a key of the links, and the other way round.
 */
export const AT_REST_KEY_LABEL = 'nest-gateway-worker at-rest key v1';
/** The first byte of every sealed value: the format and key version (a later key rotation adds version 2). */
export const AT_REST_VERSION = 1;
/** How a sealed value is marked where the store holds text (RedisSessionStore): `!` + base64 of the sealed bytes. */
export const SEALED_TEXT_MARK = '!';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * A stored value this process cannot open: sealed under another SECRET_KEY (or another key version), altered, or
 * sealed while this process has no SECRET_KEY. The message names neither the key nor the content.
 */
export class AtRestDecryptError extends Error {
  override name = 'AtRestDecryptError';
}

/**
 * Encryption at rest of what the backplane stores in Redis (message history, sessions): AES-256-GCM under a key
 * derived from SECRET_KEY with HKDF-SHA256 and {@link AT_REST_KEY_LABEL}. A sealed value is
 * `[version 1][12-byte random IV][ciphertext][16-byte tag]`; the Redis key it is stored under is authenticated with
 * it (additional data), so a value copied to another uid's or group's key does not open there.
 */
export class AtRestCipher {
  private readonly key: Buffer;

  constructor(secret: Buffer | string) {
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), AT_REST_KEY_LABEL, 32));
  }

  /** A cipher for the cluster's SECRET_KEY, or null without one (INNER_PLAINTEXT: values are stored in clear). */
  static fromSecret(secret: Buffer | string | null | undefined): AtRestCipher | null {
    return secret === null || secret === undefined || secret.length === 0 ? null : new AtRestCipher(secret);
  }

  /** Whether `value` is sealed (its first byte is a known version); plain records start with 0. */
  static isSealed(value: Buffer): boolean {
    return value.length > 0 && value[0] === AT_REST_VERSION;
  }

  seal(plaintext: Buffer, storedAt: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(storedAt, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.of(AT_REST_VERSION), iv, body, cipher.getAuthTag()]);
  }

  /** Opens a value {@link seal} made for the same key name; AtRestDecryptError otherwise. */
  open(sealed: Buffer, storedAt: string): Buffer {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== AT_REST_VERSION)
      throw new AtRestDecryptError(`not a sealed value of version ${AT_REST_VERSION}`);
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(storedAt, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([
        decipher.update(sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new AtRestDecryptError('it was sealed under another SECRET_KEY, or altered');
    }
  }

  /** {@link seal} as text (`!` + base64), for stores that hold strings. */
  sealText(plaintext: string, storedAt: string): string {
    return SEALED_TEXT_MARK + this.seal(Buffer.from(plaintext, 'utf8'), storedAt).toString('base64');
  }

  /** Opens what {@link sealText} made. */
  openText(sealed: string, storedAt: string): string {
    return this.open(Buffer.from(sealed.slice(SEALED_TEXT_MARK.length), 'base64'), storedAt).toString('utf8');
  }
}
