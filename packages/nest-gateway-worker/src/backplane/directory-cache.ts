/**
 * Most uid / group entries one sender keeps (the least recently used goes first). A sender that targets more names
 * than this reads the others from Redis as before; 10 000 entries of a few gateway ids each are a few MB at most.
 */
export const DIRECTORY_CACHE_MAX_ENTRIES = 10_000;
/**
 * Longest an entry is used, in milliseconds, even without an invalidation: a last safety net. The notice
 * connection's liveness is proved by a PING every second (DirectoryTracking: the cache is dropped when no pong came
 * for NOTICE_TRUST_MS), so this bound only matters for a notice lost while that connection kept answering.
 */
export const DIRECTORY_CACHE_MAX_AGE_MS = 60_000;

/** Counters of a directory cache. */
export interface DirectoryCacheStats {
  /** Names answered from the cache (no Redis read). */
  hits: number;
  /** Names looked up that the cache could not answer (read from Redis): not stored, too old, or not armed. */
  misses: number;
  /** Entries dropped by an invalidation naming their key. */
  invalidated: number;
  /** Notices that named a key while a read of it was in flight (that read's answer is used once, not stored). */
  overtaken: number;
  /**
   * Times the cache was emptied as a whole while it was in use: armed (whether it held entries or not: what counts is
   * that its later answers would have come from it) or holding entries, and dropped by a flush notice, a connection
   * closed or silent, tracking re-armed, or disarmed (tracking lost or turned off). Dropping or disarming a cache
   * already disarmed and empty (a second "lost" in a row) is not counted: nothing was in use.
   */
  dropped: number;
}

interface Entry {
  gateways: string[];
  at: number;
}

/**
 * A read in flight: the keys it asked for, the generation it started in, and the keys an invalidation named
 * while it was in flight (their answers are used once and not stored).
 */
export interface DirectoryCacheTicket {
  readonly generation: number;
  readonly keys: readonly string[];
  readonly invalidated: Set<string>;
}

/**
 * The sender-side copy of the presence directory's entries (key → gateway ids), kept correct by Redis's
 * invalidation notices (DirectoryTracking):
 *  - `invalidate(key)` drops the entry and marks every read of that key in flight, so its answer (which may predate
 *    the write, since the reply and the notice travel on different connections) is used once and not stored;
 *  - `drop()` drops everything and starts a new generation: a read that started before is not stored either;
 *  - only while `armed` (tracking on, redirect connection subscribed) is anything stored;
 *  - at most {@link DIRECTORY_CACHE_MAX_ENTRIES} entries (least recently used first out), each used for at most
 *    {@link DIRECTORY_CACHE_MAX_AGE_MS}.
 */
export class DirectoryCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Set<DirectoryCacheTicket>>();
  private generation = 0;
  private armedFlag = false;
  readonly stats: DirectoryCacheStats = { hits: 0, misses: 0, invalidated: 0, overtaken: 0, dropped: 0 };

  constructor(
    private readonly maxEntries = DIRECTORY_CACHE_MAX_ENTRIES,
    private readonly maxAgeMs = DIRECTORY_CACHE_MAX_AGE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get armed(): boolean {
    return this.armedFlag;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Tracking is on and its notices arrive: from now on, answers are stored (the cache starts empty). */
  arm(): void {
    this.drop();
    this.armedFlag = true;
  }

  /** Tracking is off or its notices may be lost: nothing is used or stored until armed again. */
  disarm(): void {
    // Counted as a drop if it was armed (before, disarming an armed empty cache was not, an armed one with entries was).
    this.drop();
    this.armedFlag = false;
  }

  /** Drops every entry, and every read in flight will not be stored (flush notice, reconnection). */
  drop(): void {
    this.generation++;
    if (this.entries.size > 0 || this.armedFlag) this.stats.dropped++;
    this.entries.clear();
  }

  /** An invalidation notice for `key`. */
  invalidate(key: string): void {
    if (this.entries.delete(key)) this.stats.invalidated++;
    const reads = this.inFlight.get(key);
    if (reads) {
      this.stats.overtaken++;
      for (const t of reads) t.invalidated.add(key);
    }
  }

  /** The stored gateway ids of `key`, or undefined (not stored, too old, or not armed). */
  get(key: string): string[] | undefined {
    const e = this.armedFlag ? this.entries.get(key) : undefined;
    if (e === undefined) {
      this.stats.misses++;
      return undefined;
    }
    if (this.now() - e.at > this.maxAgeMs) {
      this.entries.delete(key);
      this.stats.misses++;
      return undefined;
    }
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, e);
    this.stats.hits++;
    return e.gateways;
  }

  /** A read of `keys` starts (call before sending it); null when not armed (its answer will not be stored). */
  begin(keys: readonly string[]): DirectoryCacheTicket | null {
    if (!this.armedFlag) return null;
    const t: DirectoryCacheTicket = { generation: this.generation, keys, invalidated: new Set() };
    for (const key of keys) {
      let reads = this.inFlight.get(key);
      if (!reads) this.inFlight.set(key, (reads = new Set()));
      reads.add(t);
    }
    return t;
  }

  /**
   * The read of `ticket` ended with `answers` (one per key; null: no answer): stores the answers no invalidation
   * or drop overtook.
   */
  end(ticket: DirectoryCacheTicket | null, answers: readonly string[][] | null): void {
    if (ticket === null) return;
    for (const key of ticket.keys) {
      const reads = this.inFlight.get(key);
      if (reads) {
        reads.delete(ticket);
        if (reads.size === 0) this.inFlight.delete(key);
      }
    }
    if (answers === null || !this.armedFlag || ticket.generation !== this.generation) return;
    const at = this.now();
    ticket.keys.forEach((key, i) => {
      if (ticket.invalidated.has(key)) return;
      this.entries.delete(key);
      this.entries.set(key, { gateways: answers[i], at });
    });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }
}
