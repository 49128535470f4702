import { LiveSessions } from './live-sessions';

describe('LiveSessions', () => {
  const a = { n: 'a' };
  const b = { n: 'b' };
  const c = { n: 'c' };

  it('behaves as a Map for one handler at a time (the slot)', () => {
    const live = new LiveSessions();
    expect(live.get('A')).toBeUndefined();
    live.set('A', a);
    expect(live.get('A')).toBe(a);
    expect(live.get('B')).toBeUndefined();
    expect(live.size).toBe(1);
    live.set('A', b); // set replaces
    expect(live.get('A')).toBe(b);
    expect(live.size).toBe(1);
    expect(live.delete('A')).toBe(true);
    expect(live.delete('A')).toBe(false);
    expect(live.get('A')).toBeUndefined();
    expect(live.size).toBe(0);
  });

  it('holds overlapping handlers of several clients, whatever the order they end in', () => {
    const live = new LiveSessions();
    live.set('A', a);
    live.set('B', b);
    live.set('C', c);
    expect([live.get('A'), live.get('B'), live.get('C')]).toEqual([a, b, c]);
    expect(live.size).toBe(3);
    expect(live.delete('A')).toBe(true); // the slot frees while B and C are in the map
    expect(live.get('A')).toBeUndefined();
    live.set('B', a); // B is in the map: replaced there, not duplicated into the free slot
    expect(live.get('B')).toBe(a);
    expect(live.size).toBe(2);
    expect(live.delete('B')).toBe(true);
    expect(live.get('B')).toBeUndefined(); // no stale copy left anywhere
    expect(live.size).toBe(1);
    live.set('A', b); // the free slot takes a new client
    expect(live.get('A')).toBe(b);
    expect(live.get('C')).toBe(c);
    expect(live.delete('C')).toBe(true);
    expect(live.delete('A')).toBe(true);
    expect(live.size).toBe(0);
  });

  it('gives the same answers as a Map over a random sequence of set, delete and get', () => {
    const live = new LiveSessions();
    const ref = new Map<string, object>();
    const sessions = [a, b, c];
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 20_000; i++) {
      const id = `k${rnd(6)}`;
      const op = rnd(3);
      if (op === 0) {
        const s = sessions[rnd(3)];
        live.set(id, s);
        ref.set(id, s);
      } else if (op === 1) {
        expect(live.delete(id)).toBe(ref.delete(id));
      }
      expect(live.get(id)).toBe(ref.get(id));
      expect(live.size).toBe(ref.size);
    }
  });
});
