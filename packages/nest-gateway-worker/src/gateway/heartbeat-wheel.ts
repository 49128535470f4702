/** Connections a timer tick visits per event-loop turn (see HeartbeatWheel.tick). */
const TICK_BATCH = 1_000;

/**
 * What the heartbeat wheel keeps on each connection it watches. The fields live on the connection object itself
 * (no per-connection allocation, no per-connection timer); the wheel links entries into intrusive lists.
 */
export interface HeartbeatEntry {
  /** The wheel's tick number at this connection's last activity (message, pong, ping); written on every message. */
  heartbeatTick: number;
  /** Slot of the wheel this entry is linked into, -1 when in none. */
  wheelSlot: number;
  wheelPrev: HeartbeatEntry | null;
  wheelNext: HeartbeatEntry | null;
}

export interface HeartbeatSettings {
  /** PHP `pingInterval`, in seconds (decimals allowed); 0 disables the heartbeat. */
  pingInterval: number;
  /** PHP `pingNotResponseLimit`: 0 never kicks; L > 0 kicks a client silent for about L × pingInterval. */
  pingNotResponseLimit: number;
}

export interface HeartbeatHandlers<T extends HeartbeatEntry> {
  /** Whether this connection is pinged at all (pingData set, or a WebSocket with WebSocket pings on). */
  heartbeatPings(entry: T): boolean;
  /** A tick on which PHP sends pingData to this connection. */
  heartbeatPing(entry: T): void;
  /** The connection stayed silent past the limit: disconnect it (it has already left the wheel). */
  heartbeatKick(entry: T): void;
}

/**
 * PHP GatewayWorker's heartbeat (reference §6.5) with one timer for all connections.
 *
 * PHP keeps a counter c per connection, set to -1 by every message; a timer with period T (= I/2 when the limit
 * L > 0, else I) visits every connection: c ≥ 2L kicks it, otherwise c += 1 and pingData goes out unless c == 0
 * or (L > 0 and c is odd). Everything that happens to a connection therefore depends only on j, the number of
 * ticks since its last activity (c = j - 1 after tick j):
 *   - kick on tick j = 2L + 2 (L > 0), i.e. between L·I + I/2 and L·I + I after the last activity;
 *   - ping on ticks j ≥ 2 when L = 0, and on odd j ≥ 3 when L > 0.
 *
 * So activity is O(1): it writes the current tick number on the connection and touches nothing else. Each
 * connection sits in the ring slot of the next tick on which something may be due for it (its next ping or its
 * kick); when that slot comes round the wheel recomputes j from the stored tick number: if the client was active
 * meanwhile nothing is due yet and the entry just moves to its real next event (activity only ever moves events
 * later, so nothing is missed). A tick thus visits only the connections with something due, instead of PHP's
 * scan of every connection on every tick. With the defaults (I = 25 s, L = 2, WebSocket pings) a live WebSocket
 * client is visited once per ping it needs anyway (every 3rd tick: the ping resets j via its pong) and a raw TCP
 * client without pingData at most once per kick period (every 6th tick); so with 100 000 idle connections a
 * tick touches about 33 000 of them (each to write a ping) where PHP touches all 100 000, and a client busy
 * messaging costs one store per message and one visit per 3 ticks. Closing unlinks in O(1), so the wheel never
 * holds a closed connection.
 *
 * The ring has 2L + 3 slots (the farthest next event is 2L + 2 ticks away), or 3 when L = 0.
 */
export class HeartbeatWheel<T extends HeartbeatEntry> {
  /** Ticks elapsed since the wheel was created; connections store it on activity. */
  now = 0;
  /** Tick period in milliseconds. */
  readonly tickMs: number;
  private readonly limit: number;
  private readonly kickAt: number;
  private readonly slots: (HeartbeatEntry | null)[];
  private timer: NodeJS.Timeout | null = null;
  /** The tick whose slot is still being worked through (batched), if any. */
  private due: { slot: number; now: number } | null = null;
  /** A continuation of `due` is queued for the next turn. */
  private continuing = false;
  private count = 0;

  constructor(
    settings: HeartbeatSettings,
    private readonly handlers: HeartbeatHandlers<T>,
  ) {
    const { pingInterval, pingNotResponseLimit } = settings;
    if (!(pingInterval > 0) || !Number.isFinite(pingInterval))
      throw new RangeError(`pingInterval must be > 0 seconds, got ${pingInterval}`);
    if (!Number.isInteger(pingNotResponseLimit) || pingNotResponseLimit < 0) {
      throw new RangeError(`pingNotResponseLimit must be an integer ≥ 0, got ${pingNotResponseLimit}`);
    }
    this.limit = pingNotResponseLimit;
    this.kickAt = this.limit > 0 ? 2 * this.limit + 2 : Infinity;
    this.tickMs = (this.limit > 0 ? pingInterval / 2 : pingInterval) * 1000;
    this.slots = new Array<HeartbeatEntry | null>(this.limit > 0 ? 2 * this.limit + 3 : 3).fill(null);
  }

  /** Connections currently linked into the wheel. */
  get size(): number {
    return this.count;
  }

  /** Starts the one timer (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(TICK_BATCH), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.due = null;
  }

  /** A new connection; its opening counts as activity (PHP starts the counter at -1). */
  add(entry: T): void {
    entry.heartbeatTick = this.now;
    this.schedule(entry, 0);
  }

  /** Client activity: O(1), nothing but a store. */
  touch(entry: T): void {
    entry.heartbeatTick = this.now;
  }

  /** The connection closed: unlink it so the wheel holds no reference to it. */
  remove(entry: T): void {
    const slot = entry.wheelSlot;
    if (slot < 0) return;
    const { wheelPrev: prev, wheelNext: next } = entry;
    if (prev) prev.wheelNext = next;
    else this.slots[slot] = next;
    if (next) next.wheelPrev = prev;
    entry.wheelPrev = entry.wheelNext = null;
    entry.wheelSlot = -1;
    this.count--;
  }

  /**
   * One heartbeat period T; public so tests can drive the wheel without a clock. The timer passes a batch size:
   * connections that connected together fall due together (10 000 at once after a reconnect storm), and pinging
   * them all in one turn stalls every other client for tens of milliseconds (measured: p99 of an echo 3 → 70 ms
   * with 10 000 idle WebSocket clients), so a tick's slot is worked through `batch` entries per event-loop turn.
   * A tick that finds the previous one unfinished completes it first, so every entry is judged on its own tick.
   */
  tick(batch = Infinity): void {
    if (this.due) this.work(Infinity);
    const now = ++this.now;
    this.due = { slot: now % this.slots.length, now };
    this.work(batch);
  }

  /** Visits up to `batch` entries of the tick in progress, and queues the rest for the next turn. */
  private work(batch: number): void {
    const due = this.due;
    if (!due) return;
    // Entries are taken one by one from the head, so a handler that closes another connection of this slot
    // (which unlinks it) is safe; rescheduled entries never land in this slot again (every next event is at
    // least one and at most slots.length - 1 ticks ahead), so the loop ends.
    let entry: HeartbeatEntry | null;
    let visited = 0;
    while ((entry = this.slots[due.slot])) {
      if (visited++ >= batch) {
        if (!this.continuing) {
          this.continuing = true;
          setImmediate(() => {
            this.continuing = false;
            this.work(TICK_BATCH);
          });
        }
        return;
      }
      this.remove(entry as T);
      this.visit(entry as T, due.now - entry.heartbeatTick);
    }
    this.due = null;
  }

  private visit(entry: T, j: number): void {
    if (j >= this.kickAt) {
      this.handlers.heartbeatKick(entry);
      return;
    }
    const pings = this.handlers.heartbeatPings(entry);
    if (pings && this.isPingTick(j)) this.handlers.heartbeatPing(entry);
    this.schedule(entry, j, pings);
  }

  /** PHP sends pingData on tick j (c = j - 1 after the increment) unless c == 0 or (L > 0 and c is odd). */
  private isPingTick(j: number): boolean {
    return j >= 2 && (this.limit === 0 || j % 2 === 1);
  }

  /** Links `entry` (j ticks after its activity) into the slot of its next event; none at all when nothing is ever due. */
  private schedule(entry: T, j: number, pings = this.handlers.heartbeatPings(entry)): void {
    let due = this.kickAt;
    if (pings) {
      const nextPing = this.limit === 0 ? Math.max(j + 1, 2) : Math.max(j % 2 === 1 ? j + 2 : j + 1, 3);
      if (nextPing < due) due = nextPing;
    }
    if (due === Infinity) return;
    const slot = (entry.heartbeatTick + due) % this.slots.length;
    const head = this.slots[slot];
    entry.wheelSlot = slot;
    entry.wheelPrev = null;
    entry.wheelNext = head;
    if (head) head.wheelPrev = entry;
    this.slots[slot] = entry;
    this.count++;
  }
}
