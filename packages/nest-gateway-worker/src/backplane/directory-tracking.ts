import type { BackplaneKeys } from './backplane-keys';
import type { BackplaneWarnings } from './backplane-warnings';
import { ConnectionHeartbeat } from './connection-heartbeat';
import { DirectoryCache } from './directory-cache';
import type { DirectoryReader } from './directory-reader';
import type { RedisConnection } from './redis-connection';

/** The channel Redis publishes its key invalidation notices on (RESP2 tracking with REDIRECT). */
export const INVALIDATION_CHANNEL = '__redis__:invalidate';
/**
 * How long the cache is trusted after the send time of the last PING the notice connection answered, in
 * milliseconds: Redis answers a PING after every notice it queued on that connection before it, so a pong for a PING
 * sent at P proves every invalidation of a write before P has arrived (ConnectionHeartbeat PINGs it while the cache is
 * armed). A notice connection that stops answering (a silent partition of that connection alone) stops the cache
 * within this time; the heartbeat (or its socket timeout) then reopens it.
 */
export const NOTICE_TRUST_MS = 3_000;

/**
 * The directory reads of a sender through a local cache kept correct by Redis's server-assisted invalidation:
 *  - `reader` (its own connection) has `CLIENT TRACKING on REDIRECT <id>`, where `<id>` is the `CLIENT ID` of
 *    `notices`, a connection subscribed to `__redis__:invalidate`: Redis then sends there the name of every key this
 *    sender read once it changes (or expires, or is evicted, or drops out of the server's tracking table), and a
 *    null key list when the database is flushed;
 *  - tracking is (re-)armed whenever either connection becomes ready, and the cache is empty and unused from the
 *    moment either connection closes until it is re-armed: notices sent while the redirect connection is down are
 *    lost, so nothing read before may be trusted afterwards (a Sentinel failover or a Redis restart moves or drops
 *    both connections: the cache starts over);
 *  - a read that fails or runs over its budget drops the cache too (see gatewaysOf);
 *  - if tracking cannot be enabled (no ACL permission, an old Redis) the cache stays off, reads go to Redis as
 *    without it, and it is logged.
 * Repeated lookups of a name then cost no round trip until the entry changes; DirectoryCache holds the rules for a
 * notice that arrives while a read is in flight.
 */
export class DirectoryTracking {
  readonly cache = new DirectoryCache();
  /** The notice connection's CLIENT ID, once it is subscribed (null: not yet, or it reconnected since). */
  private noticesId: string | null = null;
  /** Counts the notice connection's closes: a subscription made before the last one is gone. */
  private noticesEpoch = 0;
  /** The latest arming attempt (attempts run one at a time, in order; a superseded one stops). */
  private arming = 0;
  private armChain: Promise<void> = Promise.resolve();
  private closed = false;
  /** When the cache was last armed: nothing cached before, so every later notice counts. */
  private armedAt = 0;
  /** PINGs the notice connection while the cache is armed, and reopens it when they go unanswered. */
  private readonly heartbeat: ConnectionHeartbeat;

  constructor(
    private readonly reader: Pick<DirectoryReader, 'gatewaysOf' | 'inView'>,
    private readonly readerConnection: RedisConnection,
    private readonly notices: RedisConnection,
    private readonly keys: BackplaneKeys,
    private readonly warnings: BackplaneWarnings,
  ) {
    notices.on('messageBuffer', (channel, message) => this.onNotice(channel, message));
    for (const c of [readerConnection, notices]) {
      c.on('close', () => this.lost(c === notices));
      c.on('end', () => this.lost(c === notices));
    }
    notices.on('ready', () => this.arm());
    readerConnection.on('ready', () => this.arm());
    this.heartbeat = new ConnectionHeartbeat(
      notices,
      (ms) =>
        warnings.warn('cache', `the invalidation notice connection did not answer a PING for ${ms} ms; reopening it`),
      () => !this.closed && this.cache.armed,
    );
    this.heartbeat.start();
    this.arm();
  }

  /** Whether the notice connection answered a PING sent within the last {@link NOTICE_TRUST_MS}. */
  get noticesConfirmed(): boolean {
    return Date.now() - Math.max(this.armedAt, this.heartbeat.confirmedAt) <= NOTICE_TRUST_MS;
  }

  /** For each name, the gateway ids whose field names it; null when the directory cannot answer. */
  async gatewaysOf(kind: 'uid' | 'group', names: readonly string[]): Promise<string[][] | null> {
    // The reader would not combine an answer of its server with the caller's leases now (read on another server: a
    // failover that discovery has not caught up with): no entry read there is used either; the reader says why.
    if (!this.reader.inView) return this.reader.gatewaysOf(kind, names);
    const keyOf = kind === 'uid' ? (n: string) => this.keys.uid(n) : (n: string) => this.keys.group(n);
    const out: string[][] = new Array<string[]>(names.length);
    let missNames: string[] | null = null;
    let missAt: number[] | null = null;
    // Notices may have stopped arriving without a close (no pong lately): nothing cached may be trusted.
    if (this.cache.armed && this.cache.size > 0 && !this.noticesConfirmed) this.cache.drop();
    for (let i = 0; i < names.length; i++) {
      const hit = this.cache.get(keyOf(names[i]));
      if (hit !== undefined) out[i] = hit;
      else {
        (missNames ??= []).push(names[i]);
        (missAt ??= []).push(i);
      }
    }
    if (missNames === null || missAt === null) return out;
    const ticket = this.cache.begin(missNames.map(keyOf));
    let read: string[][] | null = null;
    try {
      read = await this.reader.gatewaysOf(kind, missNames);
    } finally {
      this.cache.end(ticket, read);
    }
    if (read === null) {
      // Redis failed or was slow to answer: its notices may be late or lost as well (a silent partition is noticed
      // by a read's timeout, never by the notice connection, which sends nothing): trust nothing read before.
      this.cache.drop();
      return null;
    }
    for (let j = 0; j < missAt.length; j++) out[missAt[j]] = read[j];
    return out;
  }

  /** Stops re-arming (the connections are being closed). */
  close(): void {
    this.closed = true;
    this.heartbeat.stop();
    this.cache.disarm();
  }

  private lost(notices: boolean): void {
    // A new notice connection has a new id (and is not subscribed).
    if (notices) {
      this.noticesId = null;
      this.noticesEpoch++;
    }
    this.arming++;
    this.cache.disarm();
  }

  /** Disarms now, and (re-)arms once the attempts before this one are done. */
  private arm(): void {
    const attempt = ++this.arming;
    this.cache.disarm();
    this.armChain = this.armChain.then(() => this.armOnce(attempt));
  }

  /**
   * Enables tracking on the reader, redirected to the notice connection (subscribing it first if it is new).
   * Only an attempt that is still the latest when it completes arms the cache.
   */
  private async armOnce(attempt: number): Promise<void> {
    if (this.closed || attempt !== this.arming) return;
    if (this.readerConnection.status !== 'ready' || this.notices.status !== 'ready') return;
    try {
      if (this.noticesId === null) {
        // A fresh notice connection (not subscribed yet: it does not resubscribe by itself).
        const epoch = this.noticesEpoch;
        const id = String(await this.notices.call('client', 'id'));
        await this.notices.subscribe(INVALIDATION_CHANNEL);
        // Subscribed, whatever happened to this attempt, unless that connection closed meanwhile.
        if (epoch === this.noticesEpoch) this.noticesId = id;
      }
      if (attempt !== this.arming || this.noticesId === null) return;
      await this.readerConnection.call('client', 'tracking', 'on', 'redirect', this.noticesId);
      if (attempt !== this.arming || this.closed) return;
      this.armedAt = Date.now(); // nothing is cached before this: every later notice counts
      this.cache.arm();
    } catch (err) {
      if (attempt !== this.arming) return;
      this.cache.disarm();
      this.warnings.warn(
        'cache',
        `directory cache off: cannot enable Redis client tracking (${(err as Error).message}); every send reads the directory`,
      );
    }
  }

  private onNotice(channel: Buffer | string, message: unknown): void {
    if (String(channel) !== INVALIDATION_CHANNEL) return;
    // A null key list: the database was flushed (FLUSHALL / FLUSHDB), or the server dropped its tracking state.
    if (!Array.isArray(message)) {
      this.cache.drop();
      return;
    }
    for (const key of message) this.cache.invalidate(String(key));
  }
}
