import type { SessionStore } from '../worker/session-store';
import { AtRestCipher, AtRestDecryptError, SEALED_TEXT_MARK } from './at-rest-cipher';
import { BackplaneKeys } from './backplane-keys';
import { DEFAULT_BACKPLANE_PREFIX, DEFAULT_SESSION_MAX_BYTES, DEFAULT_SESSION_TTL_SECONDS } from './backplane-options';
import type { RedisConnection } from './redis-connection';

export interface RedisSessionStoreOptions {
  /** Key prefix (the backplane's). Default "gw". */
  prefix?: string;
  /** Sliding lifetime in seconds: every load and save restarts it; 0 = no expiry. Default 604 800 (7 days). */
  ttlSeconds?: number;
  /** Largest session stored, in bytes of JSON; a larger save is refused (rejects). Default 64 KiB. */
  maxBytes?: number;
  /**
   * The cluster's SECRET_KEY: sessions are then stored encrypted (AES-256-GCM, key derived with HKDF; see
   * AtRestCipher). Sessions stored in clear JSON (before, or by a store without it) are still read. Default: none
   * (clear JSON); the backplane's store (`sessionStore: 'backplane'`) gets the worker's SECRET_KEY.
   */
  secret?: string | Buffer | null;
}

/** A save refused because the session's JSON is over the store's size limit (the message names neither uid nor content). */
export class SessionTooLargeError extends Error {
  override name = 'SessionTooLargeError';
  constructor(bytes: number, maxBytes: number) {
    super(`session of ${bytes} bytes not stored: the limit is ${maxBytes} bytes`);
  }
}

/**
 * A {@link SessionStore} in Redis, shared by every worker: one STRING of JSON per uid under `<prefix>:s:{<uid>}`.
 * `save` replaces the whole value (`SET … PX`), as the SessionStore contract says; `load` reads it and slides its
 * lifetime in one round trip (`GETEX … PX`, Redis ≥ 6.2). A string, not a hash: whole replacement is atomic,
 * and nested values would be JSON inside fields anyway. Last writer wins across workers; one worker's saves are
 * applied in the order it issued them (one connection). Errors never quote the uid or the session.
 *
 * With a `secret` (the backplane's store gets SECRET_KEY) the JSON is stored encrypted: `!` + base64 of AES-256-GCM
 * (AtRestCipher), bound to its key; a value starting with `{` is clear JSON and is read either way.
 *
 * Workers get it with `sessionStore: 'backplane'` (env WORKER_SESSION_STORE=backplane) on the backplane's
 * connection, or build one on a connection of their own.
 */
export class RedisSessionStore implements SessionStore {
  private readonly keys: BackplaneKeys;
  private readonly ttlMs: number;
  private readonly maxBytes: number;
  private readonly redis: RedisConnection;
  private readonly cipher: AtRestCipher | null;

  /**
   * `redis`: an ioredis client (yours, e.g. from DI: `useFactory: (redis) => new RedisSessionStore(redis)`), or any
   * client with ioredis's `get`, `getex`, `set` and `del`.
   */
  constructor(redis: object, options: RedisSessionStoreOptions = {}) {
    const r = redis as Partial<RedisConnection>;
    if (![r.get, r.getex, r.set, r.del].every((f) => typeof f === 'function'))
      throw new TypeError('RedisSessionStore needs an ioredis client (get, getex, set, del)');
    this.redis = redis as RedisConnection;
    this.keys = new BackplaneKeys(options.prefix ?? DEFAULT_BACKPLANE_PREFIX);
    this.ttlMs = (options.ttlSeconds ?? DEFAULT_SESSION_TTL_SECONDS) * 1000;
    this.maxBytes = options.maxBytes ?? DEFAULT_SESSION_MAX_BYTES;
    this.cipher = AtRestCipher.fromSecret(options.secret);
  }

  async load(uid: string): Promise<Record<string, unknown> | null> {
    const key = this.keys.session(uid);
    const stored = this.ttlMs > 0 ? await this.redis.getex(key, 'PX', this.ttlMs) : await this.redis.get(key);
    if (stored === null) return null;
    const json = stored.startsWith(SEALED_TEXT_MARK) ? this.open(stored, key) : stored;
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      throw new Error('a stored session is not JSON; ignored');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error('a stored session is not a JSON object; ignored');
    }
    return value as Record<string, unknown>;
  }

  async save(uid: string, session: Record<string, unknown>): Promise<void> {
    const json = JSON.stringify(session);
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > this.maxBytes) throw new SessionTooLargeError(bytes, this.maxBytes);
    const key = this.keys.session(uid);
    const stored = this.cipher ? this.cipher.sealText(json, key) : json;
    if (this.ttlMs > 0) await this.redis.set(key, stored, 'PX', this.ttlMs);
    else await this.redis.set(key, stored);
  }

  /** A sealed session's JSON; a clear error (naming neither uid nor content) when it cannot be opened here. */
  private open(stored: string, key: string): string {
    if (!this.cipher)
      throw new AtRestDecryptError('a stored session is encrypted, and this store has no SECRET_KEY; ignored');
    try {
      return this.cipher.openText(stored, key);
    } catch (err) {
      throw new AtRestDecryptError(`a stored session cannot be decrypted (${(err as Error).message}); ignored`);
    }
  }

  /** Forgets the session of `uid`. */
  async delete(uid: string): Promise<void> {
    await this.redis.del(this.keys.session(uid));
  }
}
