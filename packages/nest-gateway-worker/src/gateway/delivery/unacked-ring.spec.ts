import { prng } from '../../../../../test/support/seeded-random';
import { MAX_EVENT_SEQ } from '../../protocol/event-ack';
import type { GatewayFrame } from '../../protocol/frame';
import type { InnerLink } from '../../protocol/inner-link';
import { WorkerChannel, type UnackedEvent } from './worker-channel';
import { bareClient } from '../testdata/test-clients';

/**
 * WorkerChannel keeps its unacknowledged events in a ring indexed by sequence number (stragglers that hold up a
 * full ring move to a side map): whatever the ack order, the bookkeeping must match a plain map of seq -> event.
 */
const link = { isOpen: true } as unknown as InnerLink<GatewayFrame>;
const channel = () => new WorkerChannel('w', '127.0.0.1', link);
const client = (id = 1) => bareClient(id);
const body = (n: number) => Buffer.from(String(n));
const bodies = (events: UnackedEvent[]) => events.map((e) => e.body.toString());

describe('WorkerChannel unacked events (ring)', () => {
  it('settles acked events in any order and hands back the rest oldest first', () => {
    const w = channel();
    const c = client();
    const seqs = Array.from({ length: 40 }, (_, i) => w.track(c, 2, 0, body(i), 0));
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(w.acknowledge(5, 9, 1)).toBe(5);
    expect(w.acknowledge(1, 1, 1)).toBe(1);
    expect(w.acknowledge(1, 1, 1)).toBe(0); // already settled
    expect(w.acknowledge(30, 45, 1)).toBe(11); // past the newest: ignored
    expect([w.unackedCount, c.unacked]).toEqual([23, 23]);
    const rest = w.takeUnacked();
    expect(bodies(rest)).toEqual([1, 2, 3, ...Array.from({ length: 20 }, (_, i) => 9 + i)].map(String));
    expect([w.unackedCount, c.unacked]).toEqual([0, 0]);
  });

  it('follows the sequence numbers across their wrap from MAX_EVENT_SEQ to 1', () => {
    const w = channel();
    const c = client();
    (w as unknown as { lastSeq: number }).lastSeq = MAX_EVENT_SEQ - 2;
    const seqs = Array.from({ length: 5 }, (_, i) => w.track(c, 2, 0, body(i), 0));
    expect(seqs).toEqual([MAX_EVENT_SEQ - 1, MAX_EVENT_SEQ, 1, 2, 3]);
    expect(w.acknowledge(1, 2, 0)).toBe(2);
    expect(w.acknowledge(MAX_EVENT_SEQ - 1, MAX_EVENT_SEQ - 1, 0)).toBe(1);
    expect(bodies(w.takeUnacked())).toEqual(['1', '4']);
  });

  it('a range wider than what is outstanding settles only what it covers', () => {
    const w = channel();
    const c = client();
    for (let i = 0; i < 4; i++) w.track(c, 2, 0, body(i), 0);
    expect(w.acknowledge(3, MAX_EVENT_SEQ, 0)).toBe(2);
    expect(w.acknowledge(0, MAX_EVENT_SEQ, 0)).toBe(2);
    expect(w.unackedCount).toBe(0);
  });

  it('a slow event among many fast ones neither blocks the bookkeeping nor grows the ring without bound', () => {
    const w = channel();
    const slow = client(1);
    const fast = client(2);
    const slowSeq = w.track(slow, 2, 0, Buffer.from('slow'), 0, 0);
    for (let i = 0; i < 100_000; i++) {
      const seq = w.track(fast, 2, 0, body(i), 0);
      expect(w.acknowledge(seq, seq, 0)).toBe(1);
    }
    expect((w as unknown as { clients: unknown[] }).clients.length).toBeLessThanOrEqual(8192);
    expect([w.unackedCount, slow.unacked, fast.unacked]).toEqual([1, 1, 0]);
    expect(w.ackDelayMs(10_000)).toBe(10_000); // the oldest unacked event's age
    expect(w.acknowledge(slowSeq, slowSeq, 0)).toBe(1);
    expect(w.unackedCount).toBe(0);
  });

  it('matches a plain map under random tracking, acks and hand-backs', () => {
    const rnd = prng(15);
    const w = channel();
    const c = client();
    const model = new Map<number, string>();
    let n = 0;
    for (let step = 0; step < 20_000; step++) {
      const r = rnd();
      if (r < 0.55) {
        const seq = w.track(c, 2, 0, body(n), 0);
        model.set(seq, String(n++));
      } else if (r < 0.999) {
        const keys = [...model.keys()];
        if (keys.length === 0) continue;
        const first = keys[Math.floor(rnd() * keys.length)];
        const last = first + Math.floor(rnd() * 3);
        let expected = 0;
        for (const k of keys) if (k >= first && k <= last && model.delete(k)) expected++;
        expect(w.acknowledge(first, last, 0)).toBe(expected);
      } else {
        expect(bodies(w.takeUnacked())).toEqual([...model.values()]);
        model.clear();
      }
      expect(w.unackedCount).toBe(model.size);
    }
    expect(bodies(w.takeUnacked())).toEqual([...model.values()]);
  });
});
