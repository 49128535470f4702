import { ReconnectBackoff } from './reconnect-backoff';

/** A random source that returns `values` in turn, then repeats the last one. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)];
}

function delays(backoff: ReconnectBackoff, n: number): number[] {
  return Array.from({ length: n }, () => backoff.nextDelayMs());
}

describe('ReconnectBackoff', () => {
  it('starts at the first delay and doubles its ceiling after each failed attempt, up to the cap', () => {
    // random 0.5 always: each delay is three quarters of its ceiling (1, 2, 4, 8, 16, then 30 s).
    const backoff = new ReconnectBackoff({ firstDelayMs: 1_000, maxDelayMs: 30_000, random: () => 0.5 });
    expect(delays(backoff, 8)).toEqual([750, 1_500, 3_000, 6_000, 12_000, 22_500, 22_500, 22_500]);
  });

  it('draws every delay between half its ceiling and the ceiling', () => {
    const low = new ReconnectBackoff({ firstDelayMs: 1_000, random: () => 0 });
    const high = new ReconnectBackoff({ firstDelayMs: 1_000, random: () => 0.999_999 });
    expect(delays(low, 7)).toEqual([500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000]);
    expect(delays(high, 7)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it('spreads processes that lost the same peer at the same moment (different random draws, different delays)', () => {
    const draws = [0.1, 0.35, 0.6, 0.85];
    const first = draws.map((r) => new ReconnectBackoff({ firstDelayMs: 1_000, random: () => r }).nextDelayMs());
    expect(first).toEqual([550, 675, 800, 925]);
  });

  it('starts over from the first delay after a successful handshake', () => {
    const backoff = new ReconnectBackoff({ firstDelayMs: 200, random: sequence(1 - 1e-9) });
    expect(delays(backoff, 3)).toEqual([200, 400, 800]);
    backoff.reset();
    expect(delays(backoff, 2)).toEqual([200, 400]);
  });

  it('keeps a first delay larger than the cap as the cap, and defaults to 1 s up to 30 s', () => {
    const slow = new ReconnectBackoff({ firstDelayMs: 60_000, random: () => 0 });
    expect(slow.maxDelayMs).toBe(60_000);
    expect(delays(slow, 2)).toEqual([30_000, 30_000]);
    const defaults = new ReconnectBackoff({ random: () => 0 });
    expect([defaults.firstDelayMs, defaults.maxDelayMs]).toEqual([1_000, 30_000]);
    expect(defaults.describe()).toBe('backing off from 1 s up to 30 s');
    expect(new ReconnectBackoff({ firstDelayMs: 250, maxDelayMs: 1_500 }).describe()).toBe(
      'backing off from 250 ms up to 1.5 s',
    );
  });
});
