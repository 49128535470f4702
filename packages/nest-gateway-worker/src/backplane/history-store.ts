import { createHash } from 'node:crypto';
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

export interface HistoryEntry {
  offset: number;
  data: Buffer;
}

export interface HistoryAppendOptions {
  /** Messages kept (the oldest are trimmed), 1 … 1 000 000. Default 100. */
  size?: number;
  /** Lifetime of the history, renewed by every append, in ms. Default 300 000. */
  ttlMs?: number;
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
}

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
 * Keys: `<p>:h:u:{<uid>}` / `<p>:h:g:{<group>}` (STREAM, field `d`) and `<p>:hm:u:{<uid>}` / `<p>:hm:g:{<group>}`
 * (HASH: `e` epoch, `s` top offset), one hash tag per target so both live in one Cluster slot. The scripts run
 * with EVALSHA (EVAL when Redis does not know them yet). Needs Redis 6.2+ (exclusive XRANGE).
 */
export class HistoryStore {
  private readonly appendSha = sha1(APPEND);
  private readonly rangeSha = sha1(RANGE);

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: BackplaneKeys,
    /** A fresh epoch name (random; tests may fix it). */
    private readonly newEpoch: () => string = () => sha1(`${Date.now()}:${Math.random()}`).slice(0, 12),
  ) {}

  /** Appends `data` to the history of a uid or group; resolves with its position. */
  async append(
    kind: 'uid' | 'group',
    id: string,
    data: string | Buffer,
    options: HistoryAppendOptions = {},
  ): Promise<HistoryPosition> {
    const size = options.size ?? DEFAULT_HISTORY_SIZE;
    const ttlMs = options.ttlMs ?? DEFAULT_HISTORY_TTL_MS;
    if (!Number.isInteger(size) || size < 1 || size > 1_000_000)
      throw new RangeError('history size must be an integer from 1 to 1000000');
    if (!Number.isInteger(ttlMs) || ttlMs < 1) throw new RangeError('history ttlMs must be a positive integer');
    const [offset, epoch] = (await this.run(this.appendSha, APPEND, this.keysOf(kind, id), [
      data,
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
    const [rawEpoch, rawTop, rawEntries] = (await this.run(this.rangeSha, RANGE, this.keysOf(kind, id), [
      String(from),
      String(limit),
    ])) as [Buffer, number, [Buffer, Buffer[]][]];
    const epoch = rawEpoch.toString('utf8');
    const top: HistoryPosition = { offset: Number(rawTop), epoch };
    if (epoch === '') return { entries: [], top, recovered: since === null || since.offset === 0, more: false };
    if (since !== null && since.epoch !== epoch) return { entries: [], top, recovered: false, more: false };
    const entries = rawEntries.map(([streamId, fields]) => ({
      offset: Number(streamId.toString('utf8').split('-')[0]),
      data: fieldValue(fields, 'd'),
    }));
    const last = entries.length > 0 ? entries[entries.length - 1].offset : from;
    // Continuous from `since`: the first entry is the next offset, or nothing was missed at all.
    const recovered = since === null ? true : entries.length > 0 ? entries[0].offset === from + 1 : from === top.offset;
    return { entries, top, recovered, more: last < top.offset };
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
