import { HeartbeatWheel, type HeartbeatEntry } from './heartbeat-wheel';

/** A connection as the wheel sees it, plus what a test needs to know about it. */
interface Conn extends HeartbeatEntry {
  id: number;
  pinged: boolean;
  open: boolean;
}

function conn(id: number, pinged = true): Conn {
  return { id, pinged, open: true, heartbeatTick: 0, wheelSlot: -1, wheelPrev: null, wheelNext: null };
}

/** PHP GatewayWorker's Gateway::ping() (reference §6.5), literally: a counter per connection, every tick visits all. */
class PhpHeartbeat {
  readonly counters = new Map<number, number>();
  constructor(
    private readonly limit: number,
    private readonly pinged: (id: number) => boolean,
  ) {}
  connect(id: number): void {
    this.counters.set(id, -1);
  }
  message(id: number): void {
    this.counters.set(id, -1);
  }
  close(id: number): void {
    this.counters.delete(id);
  }
  tick(): { pings: number[]; kicks: number[] } {
    const pings: number[] = [];
    const kicks: number[] = [];
    for (const [id, c] of this.counters) {
      if (this.limit > 0 && c >= this.limit * 2) {
        kicks.push(id);
        this.counters.delete(id);
        continue;
      }
      const next = c + 1;
      this.counters.set(id, next);
      if (!this.pinged(id)) continue;
      if (next === 0 || (this.limit > 0 && next % 2 === 1)) continue;
      pings.push(id);
    }
    return { pings: pings.sort((a, b) => a - b), kicks: kicks.sort((a, b) => a - b) };
  }
}

/** The wheel with handlers that record what each tick did. */
function recordingWheel(limit: number, interval = 1) {
  const log = { pings: [] as number[], kicks: [] as number[] };
  const wheel = new HeartbeatWheel<Conn>(
    { pingInterval: interval, pingNotResponseLimit: limit },
    {
      heartbeatPings: (c) => c.pinged,
      heartbeatPing: (c) => log.pings.push(c.id),
      heartbeatKick: (c) => {
        c.open = false;
        log.kicks.push(c.id);
      },
    },
  );
  const tick = () => {
    log.pings = [];
    log.kicks = [];
    wheel.tick();
    return { pings: [...log.pings].sort((a, b) => a - b), kicks: [...log.kicks].sort((a, b) => a - b) };
  };
  return { wheel, tick };
}

/** A small deterministic PRNG (mulberry32) so a failing case can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('HeartbeatWheel', () => {
  it('ticks every pingInterval/2 when a limit is set, every pingInterval otherwise', () => {
    expect(recordingWheel(2, 25).wheel.tickMs).toBe(12_500);
    expect(recordingWheel(0, 25).wheel.tickMs).toBe(25_000);
    expect(recordingWheel(1, 0.5).wheel.tickMs).toBe(250);
  });

  it('I=5, L=2: a silent client gets pingData on ticks 3 and 5 (between I and 1.5·I, then every I) and is kicked on tick 6', () => {
    const { wheel, tick } = recordingWheel(2, 5);
    const c = conn(1);
    wheel.add(c);
    const events = Array.from({ length: 8 }, () => tick());
    expect(events.map((e) => (e.kicks.length ? 'kick' : e.pings.length ? 'ping' : '-'))).toEqual([
      '-',
      '-',
      'ping',
      '-',
      'ping',
      'kick',
      '-',
      '-',
    ]);
    expect(wheel.size).toBe(0);
  });

  it('L=0: never kicks, pings every tick from the second after the last activity', () => {
    const { wheel, tick } = recordingWheel(0);
    const c = conn(1);
    wheel.add(c);
    const seen = Array.from({ length: 5 }, () => tick().pings.length);
    expect(seen).toEqual([0, 1, 1, 1, 1]);
    wheel.touch(c);
    expect([tick().pings.length, tick().pings.length]).toEqual([0, 1]);
  });

  it('activity is a store: a client active before every kick tick is never kicked, and nothing else in the wheel moves', () => {
    const { wheel, tick } = recordingWheel(1);
    const active = conn(1, false);
    wheel.add(active);
    for (let i = 0; i < 50; i++) {
      wheel.touch(active);
      expect(tick().kicks).toEqual([]);
    }
    expect(active.open).toBe(true);
    // Silent from now on: kicked on tick 2L + 2 = 4 after its last activity, which preceded the loop's last tick.
    expect([tick(), tick(), tick()].map((e) => e.kicks.length)).toEqual([0, 0, 1]);
  });

  it('a connection that is not pinged and never kicked (L=0, no pingData) is not even linked in', () => {
    const { wheel } = recordingWheel(0);
    wheel.add(conn(1, false));
    expect(wheel.size).toBe(0);
  });

  it('remove() unlinks in O(1) from any position, so closed connections are never visited or retained', () => {
    const { wheel, tick } = recordingWheel(1);
    const cs = [1, 2, 3, 4, 5].map((id) => conn(id));
    for (const c of cs) wheel.add(c); // all in one slot
    wheel.remove(cs[2]); // middle
    wheel.remove(cs[4]); // head (last added)
    wheel.remove(cs[0]); // tail
    wheel.remove(cs[0]); // twice is harmless
    expect(wheel.size).toBe(2);
    const kicked: number[] = [];
    for (let i = 0; i < 6; i++) kicked.push(...tick().kicks);
    expect(kicked.sort()).toEqual([2, 4]);
    expect(wheel.size).toBe(0);
  });

  it('a kick handler that closes another connection of the same slot is safe', () => {
    const cs = [conn(1), conn(2), conn(3)];
    const kicked: number[] = [];
    const wheel = new HeartbeatWheel<Conn>(
      { pingInterval: 1, pingNotResponseLimit: 1 },
      {
        heartbeatPings: () => false,
        heartbeatPing: () => undefined,
        heartbeatKick: (c) => {
          kicked.push(c.id);
          // e.g. closing a connection synchronously runs its close hook, which unlinks it
          for (const other of cs) {
            if (other !== c && other.open) {
              other.open = false;
              wheel.remove(other);
            }
          }
        },
      },
    );
    for (const c of cs) wheel.add(c);
    for (let i = 0; i < 4; i++) wheel.tick();
    expect(kicked).toHaveLength(1);
    expect(wheel.size).toBe(0);
  });

  it.each([0, 1, 2, 3])('does exactly what PHP does, tick by tick, for random traffic (L=%i)', (limit) => {
    const rnd = random(1234 + limit);
    const pinged = (id: number) => id % 3 !== 0; // some connections have no ping at all (raw TCP, no pingData)
    const php = new PhpHeartbeat(limit, pinged);
    const { wheel, tick } = recordingWheel(limit);
    const live = new Map<number, Conn>();
    let nextId = 1;
    for (let t = 0; t < 400; t++) {
      // Between ticks: connects, messages (with various probabilities so some clients go silent), closes.
      const connects = Math.floor(rnd() * 3);
      for (let i = 0; i < connects; i++) {
        const c = conn(nextId++, pinged(nextId - 1));
        live.set(c.id, c);
        wheel.add(c);
        php.connect(c.id);
      }
      for (const c of live.values()) {
        const chatty = (c.id % 5) / 5; // 0 .. 0.8
        if (rnd() < chatty * 0.6) {
          wheel.touch(c);
          php.message(c.id);
        }
        if (rnd() < 0.01) {
          live.delete(c.id);
          wheel.remove(c);
          php.close(c.id);
        }
      }
      const expected = php.tick();
      const actual = tick();
      expect({ t, ...actual }).toEqual({ t, ...expected });
      for (const id of actual.kicks) live.delete(id);
    }
    expect(wheel.size).toBe(limit === 0 ? [...live.values()].filter((c) => c.pinged).length : live.size);
  });

  it('rejects a non-positive interval and a bad limit', () => {
    const handlers = { heartbeatPings: () => true, heartbeatPing: () => undefined, heartbeatKick: () => undefined };
    expect(() => new HeartbeatWheel({ pingInterval: 0, pingNotResponseLimit: 1 }, handlers)).toThrow(/pingInterval/);
    expect(() => new HeartbeatWheel({ pingInterval: 1, pingNotResponseLimit: -1 }, handlers)).toThrow(
      /pingNotResponseLimit/,
    );
    expect(() => new HeartbeatWheel({ pingInterval: 1, pingNotResponseLimit: 1.5 }, handlers)).toThrow(
      /pingNotResponseLimit/,
    );
  });
});

describe('HeartbeatWheel in batches', () => {
  it('works a crowded tick through in batches across event-loop turns, visiting every entry once', async () => {
    const visits: number[] = [];
    const wheel = new HeartbeatWheel<Conn>(
      { pingInterval: 1, pingNotResponseLimit: 0 },
      { heartbeatPings: () => true, heartbeatPing: (c) => visits.push(c.id), heartbeatKick: () => undefined },
    );
    for (let id = 0; id < 2_500; id++) wheel.add(conn(id));
    wheel.tick(1_000); // j = 1: nothing is due yet (L = 0 pings from j = 2)
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(visits).toHaveLength(0);
    wheel.tick(1_000); // j = 2: every connection is pinged, 1 000 per turn
    expect(visits).toHaveLength(1_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(visits).toHaveLength(2_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(new Set(visits).size).toBe(2_500);
    expect(visits).toHaveLength(2_500);
  });

  it('finishes an unfinished tick before starting the next, so each entry is judged on its own tick', () => {
    const visits: number[] = [];
    const wheel = new HeartbeatWheel<Conn>(
      { pingInterval: 1, pingNotResponseLimit: 0 },
      { heartbeatPings: () => true, heartbeatPing: (c) => visits.push(c.id), heartbeatKick: () => undefined },
    );
    for (let id = 0; id < 10; id++) wheel.add(conn(id));
    wheel.tick();
    wheel.tick(3); // j = 2: 3 pinged now, 7 left for later turns
    expect(visits).toHaveLength(3);
    wheel.tick(); // completes tick 2 first (7 more pings), then tick 3: j = 3 pings all 10 again (L = 0)
    expect(visits).toHaveLength(20);
    wheel.stop();
  });
});
