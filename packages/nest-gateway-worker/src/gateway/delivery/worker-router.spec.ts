import { prng } from '../../../../../test/support/seeded-random';
import type { GatewayFrame } from '../../protocol/frame';
import type { InnerLink } from '../../protocol/inner-link';
import { ClientConnection } from '../client-connection';
import { ConnectionTable } from '../connection-table';
import { WorkerChannel } from './worker-channel';
import { WorkerRouter } from './worker-router';
import { bareClient } from '../testdata/test-clients';

function worker(key: string, maxUnackedBytes = Infinity): WorkerChannel & { up: boolean } {
  const state = { up: true };
  const link = {
    get isOpen() {
      return state.up;
    },
  } as unknown as InnerLink<GatewayFrame>;
  const channel = new WorkerChannel(key, '127.0.0.1', link, maxUnackedBytes) as WorkerChannel & { up: boolean };
  Object.defineProperty(channel, 'up', { get: () => state.up, set: (v: boolean) => (state.up = v) });
  return channel;
}

let nextId = 1;
const client = () => bareClient(nextId++);

describe('WorkerRouter', () => {
  it('picks the worker with the fewest clients and keeps each client there', () => {
    const router = new WorkerRouter();
    const [a, b] = [worker('a'), worker('b')];
    router.add(a);
    router.add(b);
    const clients = [client(), client(), client(), client()];
    const first = clients.map((c) => router.route(c)!.workerKey);
    expect(first.filter((k) => k === 'a')).toHaveLength(2);
    expect(first.filter((k) => k === 'b')).toHaveLength(2);
    expect(clients.map((c) => router.route(c)!.workerKey)).toEqual(first);
  });

  it('re-routes the clients of a worker that went away and counts releases', () => {
    const router = new WorkerRouter();
    const [a, b] = [worker('a'), worker('b')];
    router.add(a);
    const c1 = client();
    expect(router.route(c1)).toBe(a);
    router.add(b);
    a.up = false;
    router.remove(a);
    expect(router.route(c1)).toBe(b);
    expect(b.assigned).toBe(1);
    router.release(c1);
    expect(b.assigned).toBe(0);
    expect(c1.worker).toBeNull();
  });

  it('returns undefined when no worker is open', () => {
    const router = new WorkerRouter();
    const a = worker('a');
    router.add(a);
    a.up = false;
    expect(router.route(client())).toBeUndefined();
  });

  it('replaces a worker that reconnects with the same key', () => {
    const router = new WorkerRouter();
    const old = worker('a');
    expect(router.add(old)).toBeUndefined();
    expect(router.add(worker('a'))).toBe(old);
    expect(router.size).toBe(1);
  });
});

function spread(router: WorkerRouter, clients: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < clients; i++) {
    const key = router.route(client())!.workerKey;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('WorkerRouter strategies', () => {
  it('random: spreads clients roughly evenly, ignoring connection counts, and stays sticky', () => {
    const router = new WorkerRouter('random', undefined, prng(7));
    for (const key of ['a', 'b', 'c']) router.add(worker(key));
    const counts = spread(router, 3000);
    for (const key of ['a', 'b', 'c']) expect(counts[key]).toBeGreaterThan(900);
    for (const key of ['a', 'b', 'c']) expect(counts[key]).toBeLessThan(1100);
    const c = client();
    const first = router.route(c);
    for (let i = 0; i < 20; i++) expect(router.route(c)).toBe(first);
  });

  it('latency: weights least connections by the health score 1/(1 + 1.5 s), so a slow worker gets fewer clients', () => {
    const router = new WorkerRouter('latency');
    const [fast, slow] = [worker('fast'), worker('slow')];
    fast.setAckDelayMs(5);
    slow.setAckDelayMs(1_000); // score 0.4
    router.add(fast);
    router.add(slow);
    const counts = spread(router, 350);
    // 0.4 / (1 + 0.4) of 350 = 100 for the slow one (the fast one's score is 0.99).
    expect(counts.slow).toBeGreaterThanOrEqual(95);
    expect(counts.slow).toBeLessThanOrEqual(105);
    expect(counts.fast).toBe(350 - counts.slow);
  });

  it('latency: equally healthy workers share evenly; a stuck worker (old unacknowledged event) scores low', () => {
    const router = new WorkerRouter('latency');
    const [a, b] = [worker('a'), worker('b')];
    router.add(a);
    router.add(b);
    expect(spread(router, 10)).toEqual({ a: 5, b: 5 });
    // b has not acknowledged an event sent 60 s ago: its delay is at least that, whatever its average says.
    b.track(client(), 3, 1, Buffer.alloc(1), Date.now() - 60_000);
    expect(b.info.ackDelayMs).toBeGreaterThanOrEqual(60_000);
    expect(b.info.healthScore).toBeLessThan(0.02);
    expect(spread(router, 10)).toEqual({ a: 10 });
  });

  it('a custom function picks among the workers able to take the client, seeing only read-only info', () => {
    const seen: string[][] = [];
    const router = new WorkerRouter((workers, routed) => {
      seen.push(workers.map((w) => w.workerKey));
      expect(routed.clientId).toMatch(/^\d+$/);
      expect(routed.handshake.remoteAddress).toBe('127.0.0.1');
      expect('link' in workers[0]).toBe(false);
      return workers.find((w) => w.workerKey === 'b');
    });
    const [a, b, c] = [worker('a'), worker('b'), worker('c')];
    for (const w of [a, b, c]) router.add(w);
    c.draining = true;
    expect(spread(router, 4)).toEqual({ b: 4 });
    expect(seen[0]).toEqual(['a', 'b']);
    expect(b.info.clients).toBe(4);
  });

  it('falls back to least connections when the custom function throws, returns a stranger or no preference', () => {
    const returns: unknown[] = [new Error('bug'), { workerKey: 'a' }, undefined];
    const router = new WorkerRouter(() => {
      const r = returns.shift();
      if (r instanceof Error) throw r;
      return r as never;
    });
    const [a, b] = [worker('a'), worker('b')];
    router.add(a);
    router.add(b);
    const warn = jest
      .spyOn((router as unknown as { warning: { logger: { warn: (m: string) => void } } }).warning.logger, 'warn')
      .mockImplementation(() => undefined);
    expect(spread(router, 3)).toEqual({ a: 2, b: 1 });
    expect(warn).toHaveBeenCalledTimes(1); // rate-limited: the second misbehaviour within 10 s is counted, not logged
    expect(warn.mock.calls[0][0]).toMatch(/router function threw \(bug\)/);
  });

  it('a draining worker gets no new clients; its clients wait for their acks there, then move', () => {
    const router = new WorkerRouter();
    const [a, b] = [worker('a'), worker('b')];
    router.add(a);
    const c = client();
    expect(router.route(c)).toBe(a);
    a.track(c, 3, 1, Buffer.from('x'), Date.now());
    router.add(b);
    a.draining = true;
    expect(router.route(c)).toBeUndefined(); // an event still unacknowledged at a: moving now would reorder
    expect(router.route(client())).toBe(b);
    expect(a.acknowledge(1, 1, Date.now())).toBe(1);
    expect(router.route(c)).toBe(b);
    expect(a.assigned).toBe(0);
  });

  it('a worker past its unacked bound keeps its clients waiting and gets no new ones until acks free room', () => {
    const router = new WorkerRouter();
    const [a, b] = [worker('a', 1_000), worker('b', 1_000)];
    router.add(a);
    const c = client();
    expect(router.route(c)).toBe(a);
    a.track(c, 3, 1, Buffer.alloc(2_000), Date.now());
    expect(a.full).toBe(true);
    expect(router.route(c)).toBeUndefined();
    router.add(b);
    expect(router.route(client())).toBe(b);
    a.acknowledge(1, 1, Date.now());
    expect(router.route(c)).toBe(a);
  });

  it('a client whose worker link is closing waits until its unacknowledged events are taken back for redelivery', () => {
    const router = new WorkerRouter();
    const [a, b] = [worker('a'), worker('b')];
    router.add(a);
    router.add(b);
    const c = client();
    const first = router.route(c) as WorkerChannel & { up: boolean };
    first.track(c, 3, 1, Buffer.from('x'), Date.now());
    first.up = false; // EOF seen, the link's close event not yet
    expect(router.route(c)).toBeUndefined();
    first.takeUnacked(); // the close handler takes them back (and redelivers them first)
    expect(router.route(c)).toBe(first === a ? b : a);
  });
});

describe('WorkerChannel acknowledgements', () => {
  it('numbers events, settles acked ranges, ignores unknown numbers and returns the rest in order', () => {
    const w = worker('a');
    const [c1, c2] = [client(), client()];
    const seqs = [c1, c2, c1, c2, c1].map((c, i) => w.track(c, 3, 1, Buffer.from(`m${i}`), Date.now()));
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    expect(c1.unacked).toBe(3);
    expect(w.acknowledge(2, 3, Date.now())).toBe(2);
    expect(w.acknowledge(2, 3, Date.now())).toBe(0);
    expect(w.acknowledge(1, 0xffffffff, Date.now())).toBe(3); // a huge range does not loop 2^32 times
    for (let i = 0; i < 3; i++) w.track(i === 1 ? c2 : c1, 3, 1, Buffer.from(`n${i}`), Date.now());
    w.acknowledge(7, 7, Date.now());
    const rest = w.takeUnacked();
    expect(rest.map((e) => e.body.toString())).toEqual(['n0', 'n2']); // n1 was seq 7
    expect([c1.unacked, c2.unacked, w.unackedCount]).toEqual([0, 0, 0]);
  });

  it('averages ack delays', () => {
    const w = worker('a');
    const c = client();
    const now = Date.now();
    for (let i = 0; i < 50; i++) w.track(c, 3, 1, Buffer.alloc(0), now - 200);
    w.acknowledge(1, 50, now);
    expect(w.info.ackDelayMs).toBeGreaterThan(180);
    expect(w.info.ackDelayMs).toBeLessThanOrEqual(200);
  });
});

describe('ConnectionTable', () => {
  it('allocates increasing ids, skipping ids in use, wrapping after 2^32-1', () => {
    const table = new ConnectionTable();
    expect(table.nextId()).toBe(1);
    table.add(Object.assign(client(), { id: 2 }) as ClientConnection);
    expect(table.nextId()).toBe(3);
    (table as unknown as { lastId: number }).lastId = 0xffffffff;
    expect(table.nextId()).toBe(1);
    expect(table.nextId()).toBe(3); // 2 is still in use
  });
});
