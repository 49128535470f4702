import { DEFAULT_INITIAL_DELAY_MS, DEFAULT_MAX_DELAY_MS, ReconnectBackoff } from './reconnect-backoff.js';

describe('ReconnectBackoff', () => {
  it('draws each delay between half the ceiling and the ceiling; the ceiling doubles from 1 s up to 30 s', () => {
    const low = new ReconnectBackoff({ random: () => 0 });
    const high = new ReconnectBackoff({ random: () => 0.999999 });
    const lows = Array.from({ length: 8 }, () => low.next());
    const highs = Array.from({ length: 8 }, () => high.next());
    expect(lows).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    expect(highs).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect([DEFAULT_INITIAL_DELAY_MS, DEFAULT_MAX_DELAY_MS]).toEqual([1000, 30000]);
  });

  it('is jittered: delays drawn for the same attempt differ, and stay within their bounds', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const firsts = Array.from({ length: 50 }, () => new ReconnectBackoff({ random }).next());
    expect(new Set(firsts).size).toBeGreaterThan(10);
    for (const delay of firsts) {
      expect(delay).toBeGreaterThanOrEqual(500);
      expect(delay).toBeLessThanOrEqual(1000);
    }
  });

  it('starts over after reset (a connection that opened), and counts attempts', () => {
    const backoff = new ReconnectBackoff({ initialDelayMs: 200, maxDelayMs: 1000, random: () => 0.999999 });
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([200, 400, 800, 1000]);
    expect(backoff.attempts).toBe(4);
    backoff.reset();
    expect([backoff.attempts, backoff.next()]).toEqual([0, 200]);
  });

  it('keeps the ceiling finite after any number of attempts', () => {
    const backoff = new ReconnectBackoff({ random: () => 0.999999 });
    for (let i = 0; i < 2000; i++) backoff.next();
    expect(backoff.next()).toBe(30000);
  });

  it('refuses delays that are not positive numbers, naming the option', () => {
    expect(() => new ReconnectBackoff({ initialDelayMs: 0 })).toThrow('reconnect.initialDelayMs must be a positive');
    expect(() => new ReconnectBackoff({ maxDelayMs: Number.NaN })).toThrow('reconnect.maxDelayMs must be a positive');
  });
});
