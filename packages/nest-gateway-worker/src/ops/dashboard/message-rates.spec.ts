import type { GatewayStats } from '../../protocol/connection-stats';
import { MessageRates } from './message-rates';

function stats(address: string, uptimeMs: number, messagesIn: number, messagesOut: number): GatewayStats {
  return {
    address,
    connections: 0,
    workers: 0,
    uptimeMs,
    memoryRss: 0,
    counters: { messagesIn, messagesOut } as GatewayStats['counters'],
  };
}

describe('MessageRates', () => {
  let now = 0;
  const rates = () => new MessageRates(() => now);

  beforeEach(() => {
    now = 1_000_000;
  });

  it('is unknown (null) for the first sample, then the counters’ growth per second', () => {
    const r = rates();
    expect(r.update([stats('a', 5_000, 100, 200)]).get('a')).toEqual({
      messagesInPerSecond: null,
      messagesOutPerSecond: null,
    });
    now += 2_000;
    expect(r.update([stats('a', 7_000, 150, 300)]).get('a')).toEqual({
      messagesInPerSecond: 25,
      messagesOutPerSecond: 50,
    });
  });

  it('keeps the last rate for samples closer than a second (several pages polling)', () => {
    const r = rates();
    r.update([stats('a', 5_000, 0, 0)]);
    now += 1_000;
    r.update([stats('a', 6_000, 10, 10)]);
    now += 300;
    expect(r.update([stats('a', 6_300, 1_000, 1_000)]).get('a')).toEqual({
      messagesInPerSecond: 10,
      messagesOutPerSecond: 10,
    });
    // The next window starts from the last sample kept, not the close one.
    now += 700;
    expect(r.update([stats('a', 7_000, 1_010, 1_010)]).get('a')!.messagesInPerSecond).toBe(1_000);
  });

  it('starts over for a gateway restarted at the same address (its uptime went down) and one that came back', () => {
    const r = rates();
    r.update([stats('a', 50_000, 900, 900), stats('b', 50_000, 0, 0)]);
    now += 1_000;
    const after = r.update([stats('a', 1_000, 5, 5)]); // restarted; b did not answer
    expect(after.get('a')!.messagesInPerSecond).toBeNull();
    expect(after.has('b')).toBe(false);
    now += 1_000;
    expect(r.update([stats('b', 52_000, 50, 50)]).get('b')!.messagesInPerSecond).toBeNull();
  });
});
