import { BackplaneKeys, tagged } from './backplane-keys';

/** The part of a key Redis Cluster hashes (its documented rule): between the first `{` and the next `}`, if not empty. */
function hashedPart(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close < 0 || close === open + 1 ? key : key.slice(open + 1, close);
}

describe('BackplaneKeys', () => {
  const keys = new BackplaneKeys('gw');
  const ids = ['room1', '}', '}x', '}}', 'a}b', '{x}', 'x{', '~', '~}}', '{}', ''];

  it("keeps a uid's or group's history and its meta in one slot, whatever the id (a leading } included)", () => {
    for (const id of ids)
      for (const kind of ['uid', 'group'] as const) {
        const tag = hashedPart(keys.history(kind, id));
        expect({ id, kind, tag: hashedPart(keys.historyMeta(kind, id)) }).toEqual({ id, kind, tag });
        // Never the whole key: that would put the two keys in different slots.
        expect(tag).not.toBe(keys.history(kind, id));
      }
  });

  it('keeps the usual names for ids without a leading }', () => {
    expect(keys.uid('u1')).toBe('gw:u:{u1}');
    expect(keys.group('a}b')).toBe('gw:g:{a}b}');
    expect(keys.history('group', 'room1')).toBe('gw:h:g:{room1}');
    expect(keys.historyMeta('uid', '7')).toBe('gw:hm:u:{7}');
    expect(keys.session('7')).toBe('gw:s:{7}');
    expect(keys.ownedUids('10.0.0.1:2000/ab.0')).toBe('gw:own:{10.0.0.1:2000/ab.0}:u');
  });

  it('gives every id its own key (one-to-one, the } form included)', () => {
    const more = [...ids, '~}}', '}}~', '~}', '}~', '~}}}', '}}}'];
    const names = new Set(more.map(tagged));
    expect(names.size).toBe(new Set(more).size);
    expect(tagged('}x')).toBe('{~}}x~');
  });
});
