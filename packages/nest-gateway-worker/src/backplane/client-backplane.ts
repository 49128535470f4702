import { Logger } from '@nestjs/common';
import type { GatewayLinkPool } from '../client/gateway-link-pool';
import { AtRestCipher } from './at-rest-cipher';
import { BackplaneKeys } from './backplane-keys';
import type { ResolvedBackplaneOptions } from './backplane-options';
import { BackplaneTargeting } from './backplane-targeting';
import { BackplaneWarnings } from './backplane-warnings';
import { ConnectionErrorLog } from './connection-error-log';
import { DirectoryReadBatch } from './directory-read-batch';
import { DirectoryReader, type DirectoryReadStats } from './directory-reader';
import { DirectoryTracking } from './directory-tracking';
import { GatewayWatch } from './gateway-watch';
import { HistoryStore } from './history-store';
import { Janitor } from './janitor';
import { closeConnection, openRedisConnection, type RedisConnection } from './redis-connection';
import { RedisSessionStore } from './redis-session-store';

/** The directory cache's notice connection: RESP2 pub/sub, subscribed by DirectoryTracking after each (re)connect. */
const NOTICE_CONNECTION_SETTINGS = { autoResubscribe: false, protocol: 2 };

/**
 * The Redis backplane of a worker or standalone GatewayClient: discovery (GatewayWatch, a gateway-list source
 * for the link pool), targeted fan-out (BackplaneTargeting over DirectoryReader), the janitor, and the session
 * store, on two connections (commands, and pub/sub for the discovery notices).
 */
export class ClientBackplane {
  private readonly warnings: BackplaneWarnings;
  private readonly redis: RedisConnection;
  private readonly subscriber: RedisConnection;
  /** The directory cache's reading and notice connections (null: no cache). */
  private readonly cacheConnections: [RedisConnection, RedisConnection] | null = null;
  /** The directory cache (null: off, or on a Cluster). */
  readonly tracking: DirectoryTracking | null = null;
  readonly watch: GatewayWatch;
  readonly reader: DirectoryReader;
  /** The lookups of one turn share one read (targeting asks through it). */
  readonly lookups: DirectoryReadBatch;
  readonly targeting: BackplaneTargeting;
  readonly janitor: Janitor;
  /** Per-uid / per-group message history (Redis Streams), under GatewayClient's history sends and recover. */
  readonly history: HistoryStore;

  /**
   * `secret`: the cluster's SECRET_KEY (null with INNER_PLAINTEXT): history entries and sessions are then stored
   * encrypted (AtRestCipher).
   */
  constructor(
    private readonly options: ResolvedBackplaneOptions,
    logContext: string,
    private readonly secret: Buffer | null = null,
  ) {
    const logger = new Logger(logContext);
    this.warnings = new BackplaneWarnings(logger, options);
    this.warnings.checkTransport();
    // One log for the connection errors of all its connections: Redis down is one line per 10 s, not one per connection.
    const errors = new ConnectionErrorLog(logger, options.display);
    const open = (name: string, extra: Record<string, unknown> = {}) =>
      openRedisConnection(options, name, logContext, undefined, extra, errors);
    this.redis = open(`ngw-${logContext.toLowerCase()}`);
    this.subscriber = open(`ngw-${logContext.toLowerCase()}-sub`);
    const keys = new BackplaneKeys(options.prefix);
    this.janitor = new Janitor(this.redis, keys);
    this.watch = new GatewayWatch(
      `backplane ${options.display}`,
      this.redis,
      this.subscriber,
      keys,
      this.janitor,
      this.warnings,
    );
    if (options.cache && options.mode !== 'cluster') {
      // Own connections: tracking follows what the reader reads (directory keys only), and the notice connection
      // subscribes itself after each reconnection, once it knows its new CLIENT ID. It speaks RESP2, where Redis
      // publishes the notices on __redis__:invalidate (ioredis drops RESP3 "invalidate" pushes).
      const name = `ngw-${logContext.toLowerCase()}`;
      const reading = open(`${name}-dir`);
      const notices = open(`${name}-inv`, NOTICE_CONNECTION_SETTINGS);
      this.cacheConnections = [reading, notices];
      this.reader = new DirectoryReader(reading, keys, options.timeoutMs, this.warnings, this.watch);
      this.tracking = new DirectoryTracking(this.reader, reading, notices, keys, this.warnings);
    } else {
      this.reader = new DirectoryReader(this.redis, keys, options.timeoutMs, this.warnings, this.watch);
    }
    this.lookups = new DirectoryReadBatch(this.tracking ?? this.reader);
    this.targeting = new BackplaneTargeting(this.watch, this.lookups);
    this.history = new HistoryStore(this.redis, keys, { cipher: AtRestCipher.fromSecret(secret) });
  }

  /** The Redis as displayed (never a password). */
  get display(): string {
    return this.options.display;
  }

  /** Follows the pool's links (a gateway whose link is down cannot hold online clients). */
  attach(links: GatewayLinkPool): void {
    links.on('gateway', (address, state) => this.targeting.linkChanged(address, state));
  }

  /**
   * reads: directory reads (Redis round trips) that answered; fallbacks: calls sent to every gateway because the
   * directory could not answer; narrowed: calls sent to fewer gateways than listed; purged: the janitor's purges;
   * cacheHits: uids / groups answered by the directory cache (no read); cacheMisses: those it could not answer
   * (read from Redis; 0 with the cache off); cacheDrops: times the cache was emptied whole while in use (armed or
   * holding entries; DirectoryCacheStats.dropped).
   */
  get stats(): DirectoryReadStats & {
    narrowed: number;
    purged: number;
    cacheHits: number;
    cacheMisses: number;
    cacheDrops: number;
  } {
    return {
      cacheHits: this.tracking?.cache.stats.hits ?? 0,
      cacheMisses: this.tracking?.cache.stats.misses ?? 0,
      cacheDrops: this.tracking?.cache.stats.dropped ?? 0,
      reads: this.reader.stats.reads,
      fallbacks: this.lookups.stats.fallbacks,
      narrowed: this.targeting.narrowed,
      purged: this.janitor.purged,
    };
  }

  /** A RedisSessionStore on this backplane's connection (prefix, TTL and size limit from its options; sealed with SECRET_KEY). */
  sessionStore(): RedisSessionStore {
    return new RedisSessionStore(this.redis, {
      prefix: this.options.prefix,
      ttlSeconds: this.options.sessionTtlSeconds,
      maxBytes: this.options.sessionMaxBytes,
      secret: this.secret,
    });
  }

  /** Closes both connections (after the link pool stopped). */
  async close(): Promise<void> {
    this.watch.stop();
    this.tracking?.close();
    await Promise.all([this.redis, this.subscriber, ...(this.cacheConnections ?? [])].map((c) => closeConnection(c)));
  }
}
