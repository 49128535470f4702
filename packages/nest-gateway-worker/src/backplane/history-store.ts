import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { RateLimitedWarning } from '../logging/rate-limited-warning';
import { AtRestCipher } from './at-rest-cipher';
import type { BackplaneKeys } from './backplane-keys';
import type { RedisConnection } from './redis-connection';

/** Default number of messages kept per uid or group. */
export const DEFAULT_HISTORY_SIZE = 100;
/** Default lifetime of a history (renewed by every append), in milliseconds. */
export const DEFAULT_HISTORY_TTL_MS = 300_000;

/**
 * Where a stream of messages is: `offset` counts the messages appended so far (1, 2, 3...), `epoch` names the
 * stream itself. A new epoch means the old stream is gone (expired, evicted, Redis restarted empty): offsets of
 * another epoch mean nothing, and a client holding one cannot recover from it.
 */
export interface HistoryPosition {
  offset: number;
  epoch: string;
}

/**
 * What a kept message was: `json` a JSON object (delivered with its position in `$offset`), `text` any other text,
 * `binary` a binary message (replayed as a binary frame).
 */
export type HistoryFormat = 'text' | 'binary' | 'json';

export interface HistoryEntry {
  offset: number;
  data: Buffer;
  format: HistoryFormat;
}

export interface HistoryAppendOptions {
  /** Messages kept (the oldest are trimmed), 1 … 1 000 000. Default 100. */
  size?: number;
  /** Lifetime of the history, renewed by every append, in ms. Default 300 000. */
  ttlMs?: number;
}

/** Where the stored bytes come from: the message's format (default: `binary` for a Buffer, `text` for a string). */
export interface HistoryRecordOptions extends HistoryAppendOptions {
  format?: HistoryFormat;
}

export interface HistoryStoreOptions {
  /** Seals every entry appended (AES-256-GCM, SECRET_KEY); entries stored in clear are still read. Default none. */
  cipher?: AtRestCipher | null;
  /** A fresh epoch name (random; tests may fix it). */
  newEpoch?: () => string;
}

export interface HistoryRecovery {
  /** The messages after `since`, oldest first, at most `limit`. */
  entries: HistoryEntry[];
  /** The stream's current top (offset 0 and a new epoch when there is no stream). */
  top: HistoryPosition;
  /**
   * True when `entries` continue exactly from `since` (same epoch, nothing trimmed in between); with `more`
   * false they reach the top. False: the client missed messages that are gone, and must resynchronise otherwise.
   */
  recovered: boolean;
  /** More entries follow the last one returned (ask again from it). */
  more: boolean;
  /**
   * Entries skipped because they could not be decrypted here (sealed under another SECRET_KEY, or while this
   * process has none): `recovered` is then false. They stay stored.
   */
  unreadable: number;
}

/** The first byte of an entry stored in clear; a sealed entry starts with its version (AtRestCipher). */
const PLAIN_RECORD = 0;
/** The second byte (the first of the sealed plaintext): the message's format. */
const FORMAT_BYTES: Record<HistoryFormat, number> = { text: 0x74, binary: 0x62, json: 0x6a };
const FORMAT_OF_BYTE = new Map<number, HistoryFormat>(
  Object.entries(FORMAT_BYTES).map(([format, byte]) => [byte, format as HistoryFormat]),
);

/**
 * One append, atomic in Redis (Centrifuge's broker_history_add_stream.lua, in our keys): the epoch is created with
 * the meta hash if it is missing, and then any stream left from a lost epoch is deleted; the offset is the meta's
 * counter plus one; the entry gets that offset as its stream id (`<offset>-0`), the stream is trimmed to exactly
 * `size`, and both keys expire together after `ttl`.
 * KEYS: stream, meta. ARGV: payload, size, ttl ms, epoch to use if none.
 */
const APPEND = `
local epoch = redis.call('HGET', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[4]
  redis.call('HSET', KEYS[2], 'e', epoch)
  redis.call('DEL', KEYS[1])
end
local offset = redis.call('HINCRBY', KEYS[2], 's', 1)
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], offset .. '-0', 'd', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {offset, epoch}
`;

/**
 * The top and up to `count` entries after an offset, read together (one snapshot).
 * KEYS: stream, meta. ARGV: offset (exclusive), count.
 */
const RANGE = `
local meta = redis.call('HMGET', KEYS[2], 'e', 's')
if not meta[1] then return {'', 0, {}} end
local entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])
return {meta[1], tonumber(meta[2]), entries}
`;

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/**
 * Per-uid and per-group message history in Redis Streams, for recovery after a reconnect (the design study's
 * §4.6): `append` stores a message and returns its position, `recover` returns what came after a position the
 * client reports, or says that it cannot (`recovered: false`: another epoch, or trimmed). Live delivery does not go
 * through here; it stays on the inner links. Recovery is best effort, as in Centrifugo and socket.io: a message
 * appended but not delivered, or delivered but not appended, is the application's to reconcile (clients
 * de-duplicate by offset).
 *
 * Entries are stored as `[0][format][message]`, or sealed with the cluster's SECRET_KEY (AtRestCipher: AES-256-GCM,
 * bound to the stream's key) when a cipher is given; either kind is read back, so turning encryption on loses
 * nothing. An entry that cannot be opened (another key) is skipped and counted (`unreadable`), never deleted.
 *
 * Keys: `<p>:h:u:{<uid>}` / `<p>:h:g:{<group>}` (STREAM, field `d`) and `<p>:hm:u:{<uid>}` / `<p>:hm:g:{<group>}`
 * (HASH: `e` epoch, `s` top offset), one hash tag per target so both live in one Cluster slot. The scripts run
 * with EVALSHA (EVAL when Redis does not know them yet). Needs Redis 6.2+ (exclusive XRANGE).
 */
export class HistoryStore {
  private readonly appendSha = sha1(APPEND);
  private readonly rangeSha = sha1(RANGE);
  private readonly cipher: AtRestCipher | null;
  private readonly newEpoch: () => string;
  private readonly unreadableWarning = new RateLimitedWarning(
    new Logger('History'),
    (n) => `${n} more history read(s) with entries that cannot be decrypted since the last warning`,
  );

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: BackplaneKeys,
    options: HistoryStoreOptions = {},
  ) {
    this.cipher = options.cipher ?? null;
    this.newEpoch = options.newEpoch ?? (() => sha1(`${Date.now()}:${Math.random()}`).slice(0, 12));
  }

  /** Appends `data` to the history of a uid or group; resolves with its position. */
  async append(
    kind: 'uid' | 'group',
    id: string,
    data: string | Buffer,
    options: HistoryRecordOptions = {},
  ): Promise<HistoryPosition> {
    const size = options.size ?? DEFAULT_HISTORY_SIZE;
    const ttlMs = options.ttlMs ?? DEFAULT_HISTORY_TTL_MS;
    if (!Number.isInteger(size) || size < 1 || size > 1_000_000)
      throw new RangeError('history size must be an integer from 1 to 1000000');
    if (!Number.isInteger(ttlMs) || ttlMs < 1) throw new RangeError('history ttlMs must be a positive integer');
    const keys = this.keysOf(kind, id);
    const format = options.format ?? (typeof data === 'string' ? 'text' : 'binary');
    const [offset, epoch] = (await this.run(this.appendSha, APPEND, keys, [
      this.record(format, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, keys[0]),
      String(size),
      String(ttlMs),
      this.newEpoch(),
    ])) as [number, Buffer];
    return { offset: Number(offset), epoch: epoch.toString('utf8') };
  }

  /** The entries after `since` (null: from the oldest kept), at most `limit` (1 … 10 000). */
  async recover(
    kind: 'uid' | 'group',
    id: string,
    since: HistoryPosition | null,
    limit = DEFAULT_HISTORY_SIZE,
  ): Promise<HistoryRecovery> {
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw new RangeError('history limit must be an integer from 1 to 10000');
    const from = since ? since.offset : 0;
    const keys = this.keysOf(kind, id);
    const [rawEpoch, rawTop, rawEntries] = (await this.run(this.rangeSha, RANGE, keys, [
      String(from),
      String(limit),
    ])) as [Buffer, number, [Buffer, Buffer[]][]];
    const epoch = rawEpoch.toString('utf8');
    const top: HistoryPosition = { offset: Number(rawTop), epoch };
    if (epoch === '')
      return { entries: [], top, recovered: since === null || since.offset === 0, more: false, unreadable: 0 };
    if (since !== null && since.epoch !== epoch)
      return { entries: [], top, recovered: false, more: false, unreadable: 0 };
    const offsets = rawEntries.map(([streamId]) => Number(streamId.toString('utf8').split('-')[0]));
    const entries: HistoryEntry[] = [];
    let unreadable = 0;
    rawEntries.forEach(([, fields], i) => {
      const entry = this.entry(offsets[i], fieldValue(fields, 'd'), keys[0]);
      if (entry) entries.push(entry);
      else unreadable++;
    });
    if (unreadable > 0)
      this.unreadableWarning.warn(
        `${unreadable} history entr${unreadable === 1 ? 'y' : 'ies'} of a ${kind} cannot be decrypted ` +
          `(${this.cipher ? 'sealed under another SECRET_KEY, or altered' : 'encrypted, and this process has no SECRET_KEY'}); skipped, recovery incomplete`,
      );
    const last = offsets.length > 0 ? offsets[offsets.length - 1] : from;
    // Continuous from `since`: the first entry is the next offset, or nothing was missed at all.
    const continuous = since === null ? true : offsets.length > 0 ? offsets[0] === from + 1 : from === top.offset;
    return { entries, top, recovered: continuous && unreadable === 0, more: last < top.offset, unreadable };
  }

  /** What is stored for a message: `[0][format][body]` in clear, or `[version][sealed [format][body]]`. */
  private record(format: HistoryFormat, body: Buffer, streamKey: string): Buffer {
    const plain = Buffer.concat([Buffer.of(FORMAT_BYTES[format]), body]);
    return this.cipher ? this.cipher.seal(plain, streamKey) : Buffer.concat([Buffer.of(PLAIN_RECORD), plain]);
  }

  /** A stored record read back; null when it cannot be opened here (or is not one of ours). */
  private entry(offset: number, stored: Buffer, streamKey: string): HistoryEntry | null {
    let plain: Buffer;
    if (stored.length > 0 && stored[0] === PLAIN_RECORD) plain = stored.subarray(1);
    else if (this.cipher && AtRestCipher.isSealed(stored)) {
      try {
        plain = this.cipher.open(stored, streamKey);
      } catch {
        return null;
      }
    } else return null;
    const format = FORMAT_OF_BYTE.get(plain[0]);
    return format ? { offset, data: plain.subarray(1), format } : null;
  }

  private keysOf(kind: 'uid' | 'group', id: string): [string, string] {
    return [this.keys.history(kind, id), this.keys.historyMeta(kind, id)];
  }

  /** EVALSHA, or EVAL when Redis does not have the script (first use, or after a restart). */
  private async run(sha: string, script: string, keys: string[], args: (string | Buffer)[]): Promise<unknown> {
    try {
      return await this.redis.evalshaBuffer(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!/NOSCRIPT/.test((err as Error).message)) throw err;
      return this.redis.evalBuffer(script, keys.length, ...keys, ...args);
    }
  }
}

/** The value of `name` in a stream entry's flat field list. */
function fieldValue(fields: Buffer[], name: string): Buffer {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i].toString('utf8') === name) return fields[i + 1];
  return Buffer.alloc(0);
}
