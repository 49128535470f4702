import type { DirectoryReader } from './directory-reader';

/** Counters of the directory lookups of one client, per call (a batch answers many calls with one read). */
export interface DirectoryBatchStats {
  /** Lookups (one per sendToUid, sendToGroup, isUidOnline ... call). */
  calls: number;
  /** Lookups answered by a read that answered. */
  answered: number;
  /** Lookups that got no answer (failed, over budget, breaker open): those calls go to every gateway. */
  fallbacks: number;
}

type DirectoryKind = 'uid' | 'group';

interface Lookup {
  kind: DirectoryKind;
  names: readonly string[];
  resolve: (gateways: string[][] | null) => void;
  reject: (err: unknown) => void;
}

/**
 * Coalesces the directory lookups of one event-loop turn into one read per kind: every call made before the
 * pending `process.nextTick` runs (all calls issued in one synchronous stretch, including their promise chains)
 * shares one pipelined read, each uid or group key read once however many calls name it. N sendToUid calls in one
 * turn then cost one Redis round trip, one budget timer and one socket write instead of N.
 *
 * Nothing waits for a timer: the batch is read as soon as the turn's microtasks are done. The answers are handed
 * out in call order, so calls made in one turn go on in the order they were made.
 */
export class DirectoryReadBatch {
  private queue: Lookup[] = [];
  private scheduled = false;
  readonly stats: DirectoryBatchStats = { calls: 0, answered: 0, fallbacks: 0 };

  constructor(private readonly reader: Pick<DirectoryReader, 'gatewaysOf'>) {}

  /** For each name, the gateway ids whose field names it; null when the directory cannot answer. */
  gatewaysOf(kind: DirectoryKind, names: readonly string[]): Promise<string[][] | null> {
    this.stats.calls++;
    return new Promise((resolve, reject) => {
      this.queue.push({ kind, names, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        process.nextTick(() => this.flush());
      }
    });
  }

  private flush(): void {
    const lookups = this.queue;
    this.queue = [];
    this.scheduled = false;
    if (lookups.length === 1) {
      // Alone in its turn: its own read, nothing to share or reorder.
      const l = lookups[0];
      this.reader.gatewaysOf(l.kind, l.names).then((read) => this.settle(l, read), l.reject);
      return;
    }
    void this.flushMany(lookups);
  }

  private settle(l: Lookup, read: string[][] | null): void {
    if (read === null) this.stats.fallbacks++;
    else this.stats.answered++;
    l.resolve(read);
  }

  private async flushMany(lookups: Lookup[]): Promise<void> {
    let uid: Promise<Answer> | null = null;
    let group: Promise<Answer> | null = null;
    for (const l of lookups) {
      if (l.kind === 'uid') uid ??= this.read('uid', lookups);
      else group ??= this.read('group', lookups);
    }
    // Both kinds' reads in flight at once; answers handed out in call order.
    const answers = await Promise.allSettled([uid, group]);
    for (const l of lookups) {
      const answer = answers[l.kind === 'uid' ? 0 : 1];
      if (answer.status === 'rejected') {
        l.reject(answer.reason);
        continue;
      }
      const { read, index } = answer.value as Answer;
      this.settle(l, read === null || index === null ? read : l.names.map((name) => read[index.get(name) as number]));
    }
  }

  /** One read of every distinct name the turn's lookups of `kind` asked about. */
  private async read(kind: DirectoryKind, lookups: readonly Lookup[]): Promise<Answer> {
    const mine = lookups.filter((l) => l.kind === kind);
    // One lookup: read its names as they are (nothing to share).
    if (mine.length === 1) return { read: await this.reader.gatewaysOf(kind, mine[0].names), index: null };
    const index = new Map<string, number>();
    const names: string[] = [];
    for (const l of mine)
      for (const name of l.names)
        if (!index.has(name)) {
          index.set(name, names.length);
          names.push(name);
        }
    return { read: await this.reader.gatewaysOf(kind, names), index };
  }
}

/** A kind's read: its answer per name (null = no answer), and where each name is in it (null: as asked). */
interface Answer {
  read: string[][] | null;
  index: Map<string, number> | null;
}
