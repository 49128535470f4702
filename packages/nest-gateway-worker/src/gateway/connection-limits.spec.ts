import { BUCKET_UNUSED, ConnectionLimits, MessageRateLimit, type RateLimitedEntry } from './connection-limits';
import { TOO_MANY_CONNECTIONS, TOO_MANY_FROM_ADDRESS } from './close-codes';

const fresh = (): RateLimitedEntry => ({ rateTokens: BUCKET_UNUSED, rateRefilledAt: 0 });

describe('MessageRateLimit (token bucket, refilled lazily from timestamps)', () => {
  it('accepts a burst back to back, then refuses', () => {
    const limit = new MessageRateLimit(10, 3);
    const c = fresh();
    expect([1, 2, 3, 4].map(() => limit.allow(c, 1_000))).toEqual([true, true, true, false]);
  });

  it('refills at the rate: one message per 1/rate seconds at steady state', () => {
    const limit = new MessageRateLimit(10, 1);
    const c = fresh();
    let t = 5_000;
    for (let i = 0; i < 100; i++) {
      expect(limit.allow(c, t)).toBe(true);
      t += 100; // exactly 10/s
    }
  });

  it('never stores more than the burst, however long the client was quiet', () => {
    const limit = new MessageRateLimit(1, 2);
    const c = fresh();
    expect(limit.allow(c, 0)).toBe(true);
    const later = 3_600_000;
    expect([1, 2, 3].map(() => limit.allow(c, later))).toEqual([true, true, false]);
  });

  it('stays exceeded once exceeded (the connection is being closed)', () => {
    const limit = new MessageRateLimit(100, 1);
    const c = fresh();
    expect(limit.allow(c, 0)).toBe(true);
    expect(limit.allow(c, 1)).toBe(false);
    expect(limit.allow(c, 1_000_000)).toBe(false);
  });

  it('a clock going backwards does not add or remove tokens', () => {
    const limit = new MessageRateLimit(1, 2);
    const c = fresh();
    expect(limit.allow(c, 10_000)).toBe(true);
    expect(limit.allow(c, 5_000)).toBe(true);
    expect(limit.allow(c, 5_000)).toBe(false);
  });

  it('fractional rates work (one message every 2 s)', () => {
    const limit = new MessageRateLimit(0.5, 1);
    const c = fresh();
    expect(limit.allow(c, 0)).toBe(true);
    const d = fresh();
    expect(limit.allow(d, 0)).toBe(true);
    expect(limit.allow(d, 2_000)).toBe(true);
    expect(limit.allow(c, 1_000)).toBe(false);
  });

  it('rejects nonsense settings', () => {
    expect(() => new MessageRateLimit(0, 1)).toThrow(RangeError);
    expect(() => new MessageRateLimit(1, 0)).toThrow(RangeError);
  });
});

describe('ConnectionLimits (counted from the TCP accept until the close)', () => {
  it('refuses above the total with 1013 and above the per-address count with 1008', () => {
    const limits = new ConnectionLimits(3, 2);
    expect(limits.admit('10.0.0.1')).toBeNull();
    expect(limits.admit('10.0.0.1')).toBeNull();
    expect(limits.admit('10.0.0.1')).toBe(TOO_MANY_FROM_ADDRESS);
    expect(TOO_MANY_FROM_ADDRESS.code).toBe(1008);
    expect(limits.admit('10.0.0.2')).toBeNull();
    expect(limits.admit('10.0.0.3')).toBe(TOO_MANY_CONNECTIONS);
    expect(TOO_MANY_CONNECTIONS.code).toBe(1013);
    expect(limits.countFor('10.0.0.3')).toBe(0); // a refused connection is not counted
    expect(limits.total).toBe(3);
    expect(limits.limitOf(TOO_MANY_CONNECTIONS)).toBe('limit 3 in total');
    expect(limits.limitOf(TOO_MANY_FROM_ADDRESS)).toBe('limit 2 per address');
  });

  it('counts the total itself: a slot is taken at admit and freed by its release, whatever the address', () => {
    const limits = new ConnectionLimits(2, 0);
    expect(limits.admit('a')).toBeNull();
    expect(limits.admit('b')).toBeNull();
    expect(limits.admit('c')).toBe(TOO_MANY_CONNECTIONS);
    expect(limits.total).toBe(2);
    limits.release('a');
    expect(limits.total).toBe(1);
    expect(limits.admit('c')).toBeNull();
    expect(limits.admit('d')).toBe(TOO_MANY_CONNECTIONS);
  });

  it('a refusal by address does not take a total slot, and a refusal by total does not take an address slot', () => {
    const limits = new ConnectionLimits(3, 1);
    expect(limits.admit('a')).toBeNull();
    for (let i = 0; i < 10; i++) expect(limits.admit('a')).toBe(TOO_MANY_FROM_ADDRESS);
    expect(limits.total).toBe(1);
    expect(limits.admit('b')).toBeNull();
    expect(limits.admit('c')).toBeNull();
    expect(limits.admit('d')).toBe(TOO_MANY_CONNECTIONS);
    expect([limits.countFor('d'), limits.addresses, limits.total]).toEqual([0, 3, 3]);
  });

  it('releases per-address counts on close and keeps map entries only while above zero', () => {
    const limits = new ConnectionLimits(0, 1);
    expect(limits.admit('a')).toBeNull();
    expect(limits.admit('a')).toBe(TOO_MANY_FROM_ADDRESS);
    limits.release('a');
    expect(limits.addresses).toBe(0);
    expect(limits.admit('a')).toBeNull();
    limits.release('a');
    limits.release('a'); // an extra release never goes negative
    expect(limits.countFor('a')).toBe(0);
    expect(limits.addresses).toBe(0);
    expect(limits.total).toBe(0);
  });

  it('0 means unlimited and keeps no per-address state', () => {
    const limits = new ConnectionLimits(0, 0);
    for (let i = 0; i < 1000; i++) expect(limits.admit('same')).toBeNull();
    expect(limits.addresses).toBe(0);
    expect(limits.total).toBe(1000);
  });
});
