import { DirectoryCache } from './directory-cache';

describe('DirectoryCache', () => {
  function armedCache(maxEntries = 3, maxAgeMs = 1_000) {
    let now = 0;
    const cache = new DirectoryCache(maxEntries, maxAgeMs, () => now);
    cache.arm();
    const store = (key: string, gateways: string[]) => cache.end(cache.begin([key]), [gateways]);
    return { cache, store, advance: (ms: number) => (now += ms) };
  }

  it('stores nothing and answers nothing while not armed', () => {
    const cache = new DirectoryCache();
    expect(cache.begin(['k'])).toBeNull();
    cache.end(null, [['a']]);
    expect(cache.get('k')).toBeUndefined();
    cache.arm();
    cache.end(cache.begin(['k']), [['a']]);
    expect(cache.get('k')).toEqual(['a']);
    cache.disarm();
    expect(cache.get('k')).toBeUndefined();
  });

  it('keeps at most maxEntries, the least recently used going first', () => {
    const { cache, store } = armedCache(3);
    store('a', ['1']);
    store('b', ['2']);
    store('c', ['3']);
    expect(cache.get('a')).toEqual(['1']); // a is now the most recent
    store('d', ['4']);
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toEqual(['1']);
    expect(cache.get('d')).toEqual(['4']);
  });

  it('uses an entry for at most maxAgeMs', () => {
    const { cache, store, advance } = armedCache(3, 1_000);
    store('a', ['1']);
    advance(1_000);
    expect(cache.get('a')).toEqual(['1']);
    advance(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('a read overtaken by a notice for one of its keys, or by a drop, stores nothing of it', () => {
    const { cache } = armedCache(10);
    const t = cache.begin(['a', 'b']);
    cache.invalidate('a');
    cache.end(t, [['1'], ['2']]);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toEqual(['2']);
    expect(cache.stats.overtaken).toBe(1);
    const u = cache.begin(['c']);
    cache.drop();
    cache.end(u, [['3']]);
    expect(cache.get('c')).toBeUndefined();
    // A failed read stores nothing.
    cache.end(cache.begin(['d']), null);
    expect(cache.get('d')).toBeUndefined();
  });

  it('counts in stats.dropped every drop or disarm of a cache in use (armed, or holding entries), and no other', () => {
    const cache = new DirectoryCache();
    // Not armed, empty: nothing in use to drop.
    cache.drop();
    cache.disarm();
    expect(cache.stats.dropped).toBe(0);
    // Armed (empty): arming a disarmed cache drops nothing; disarming it drops the armed cache.
    cache.arm();
    expect(cache.stats.dropped).toBe(0);
    cache.disarm();
    expect(cache.stats.dropped).toBe(1);
    // Disarmed again (tracking lost twice in a row): not counted again.
    cache.disarm();
    expect(cache.stats.dropped).toBe(1);
    // Armed with an entry, then disarmed: one drop.
    cache.arm();
    cache.end(cache.begin(['k']), [['a']]);
    cache.disarm();
    expect(cache.stats.dropped).toBe(2);
    // Armed: a flush notice (drop) and a re-arm each count, with or without entries.
    cache.arm();
    cache.drop();
    cache.arm();
    expect(cache.stats.dropped).toBe(4);
  });
});
