import { DeliveryLimit } from './delivery-limit';

describe('DeliveryLimit: when an event unacknowledged at link losses is sent again, sent alone, or dead-lettered', () => {
  it('a link lost without a drain is one more death of each unacknowledged event; a drain handing it back is none', () => {
    const limit = new DeliveryLimit(3);
    expect(limit.afterLinkLoss(0, false)).toBe(1);
    expect(limit.afterLinkLoss(2, false)).toBe(3);
    expect(limit.afterLinkLoss(2, true)).toBe(2);
  });

  it('with the default 3: sent again after 1 death, alone after 2, dead-lettered at 3', () => {
    const limit = new DeliveryLimit(3);
    const fates = [0, 1, 2, 3, 4].map((deaths) => [deaths, limit.isolates(deaths), limit.deadLetters(deaths)]);
    expect(fates).toEqual([
      [0, false, false],
      [1, false, false],
      [2, true, false],
      [3, true, true],
      [4, true, true],
    ]);
  });

  it('a death count walked through link losses reaches the limit after exactly maxDeaths deaths, drains aside', () => {
    const limit = new DeliveryLimit(3);
    let deaths = 0;
    let losses = 0;
    // death, drain (graceful), death, drain, death
    for (const graceful of [false, true, false, true, false]) {
      expect(limit.deadLetters(deaths)).toBe(false);
      deaths = limit.afterLinkLoss(deaths, graceful);
      losses++;
    }
    expect({ deaths, losses, deadLettered: limit.deadLetters(deaths) }).toEqual({
      deaths: 3,
      losses: 5,
      deadLettered: true,
    });
  });

  it('a limit of 2 isolates after the first death; a limit of 1 dead-letters at the first death and isolates nothing', () => {
    const two = new DeliveryLimit(2);
    expect([two.isolates(0), two.isolates(1), two.deadLetters(1), two.deadLetters(2)]).toEqual([
      false,
      true,
      false,
      true,
    ]);
    const one = new DeliveryLimit(1);
    expect([one.isolates(0), one.isolates(1), one.deadLetters(0), one.deadLetters(1)]).toEqual([
      false,
      false,
      false,
      true,
    ]);
  });

  it('0 turns the limit off: never dead-lettered, never isolated', () => {
    const off = new DeliveryLimit(0);
    for (const deaths of [0, 1, 3, 1_000]) {
      expect([off.isolates(deaths), off.deadLetters(deaths)]).toEqual([false, false]);
    }
  });
});
