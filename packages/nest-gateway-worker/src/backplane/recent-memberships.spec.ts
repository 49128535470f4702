import { RecentMemberships } from './recent-memberships';

describe('RecentMemberships', () => {
  it('remembers a uid on each gateway it was bound on, until it expires', () => {
    let now = 1_000;
    const recent = new RecentMemberships(5_000, 100, () => now);
    recent.add('u', '10.0.0.1:2000');
    recent.add('u', '10.0.0.2:2000');
    expect(recent.addressesOf('u')).toEqual(['10.0.0.1:2000', '10.0.0.2:2000']);
    expect(recent.addressesOf('other')).toEqual([]);
    now += 3_000;
    recent.add('u', '10.0.0.2:2000'); // refreshed
    now += 2_500;
    expect(recent.addressesOf('u')).toEqual(['10.0.0.2:2000']);
    now += 3_000;
    expect(recent.addressesOf('u')).toEqual([]);
  });

  it('keeps at most `limit` memberships, forgetting the oldest names first', () => {
    const recent = new RecentMemberships(60_000, 3, () => 0);
    recent.add('a', 'g1');
    recent.add('b', 'g1');
    recent.add('c', 'g1');
    recent.add('a', 'g2'); // a is now the newest (2 entries): b goes
    expect(recent.addressesOf('b')).toEqual([]);
    expect(recent.addressesOf('a')).toEqual(['g1', 'g2']);
    recent.add('d', 'g1'); // over the limit again: c goes
    expect(recent.addressesOf('c')).toEqual([]);
    expect(recent.addressesOf('d')).toEqual(['g1']);
  });
});
