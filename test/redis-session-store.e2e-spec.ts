import { AtRestDecryptError, RedisSessionStore, SessionTooLargeError } from 'nest-gateway-worker';
import { BackplaneKeys } from 'nest-gateway-worker/internal';
import { Redis } from 'ioredis';
import { RedisServer } from './support/redis-server';

/**
 * RedisSessionStore on a real redis-server: two stores on two connections (two workers) share the sessions; the
 * lifetime slides on every load and save; a session over the limit is refused and nothing is stored; a value that
 * is not a session is refused without quoting it or its uid.
 */
describe('RedisSessionStore (real redis-server)', () => {
  let redis: RedisServer;
  const connections: Redis[] = [];
  const keys = new BackplaneKeys('t');

  function connect(): Redis {
    const c = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    connections.push(c);
    return c;
  }

  beforeAll(async () => {
    redis = await RedisServer.start();
  });

  afterAll(async () => {
    for (const c of connections) c.disconnect();
    await redis?.stop();
  });

  it('a session saved by one worker is loaded by another, replaced whole, and deleted', async () => {
    const one = new RedisSessionStore(connect(), { prefix: 't', ttlSeconds: 60 });
    const two = new RedisSessionStore(connect(), { prefix: 't', ttlSeconds: 60 });
    expect(await two.load('u1')).toBeNull();
    await one.save('u1', { nick: 'ann', prefs: { theme: 'dark' }, n: 1 });
    expect(await two.load('u1')).toEqual({ nick: 'ann', prefs: { theme: 'dark' }, n: 1 });
    await two.save('u1', { nick: 'bob' });
    expect(await one.load('u1')).toEqual({ nick: 'bob' });
    await one.delete('u1');
    expect(await two.load('u1')).toBeNull();
  });

  it('the lifetime slides: every load and save restarts it; 0 keeps it forever', async () => {
    const inspector = connect();
    const store = new RedisSessionStore(connect(), { prefix: 't', ttlSeconds: 100 });
    await store.save('slide', { a: 1 });
    const key = keys.session('slide');
    expect(await inspector.pttl(key)).toBeGreaterThan(90_000);
    await inspector.pexpire(key, 5_000);
    await store.load('slide');
    expect(await inspector.pttl(key)).toBeGreaterThan(90_000);
    const forever = new RedisSessionStore(connect(), { prefix: 't', ttlSeconds: 0 });
    await forever.save('kept', { a: 1 });
    expect(await inspector.pttl(keys.session('kept'))).toBe(-1);
    expect(await forever.load('kept')).toEqual({ a: 1 });
  });

  it('refuses a session over the limit (nothing stored) and a stored value that is not a session', async () => {
    const inspector = connect();
    const store = new RedisSessionStore(connect(), { prefix: 't', maxBytes: 1024 });
    await expect(store.save('big', { blob: 'x'.repeat(2000) })).rejects.toThrow(SessionTooLargeError);
    expect(await inspector.exists(keys.session('big'))).toBe(0);
    await inspector.set(keys.session('secret-uid'), 'not json: hunter2');
    const err = await store.load('secret-uid').then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/not JSON/);
    expect(err?.message).not.toMatch(/secret-uid|hunter2/);
    await inspector.set(keys.session('array'), '[1,2]');
    await expect(store.load('array')).rejects.toThrow(/not a JSON object/);
  });

  it('with a secret: stored encrypted (no plaintext in Redis), clear sessions still read, a wrong key a clear error', async () => {
    const inspector = connect();
    const secret = 'at-rest-secret-0123456789';
    const sealed = new RedisSessionStore(connect(), { prefix: 't', secret });
    await sealed.save('u-7731', { nick: 'ann-the-secret-nick', card: 'tok_4242' });
    const raw = (await inspector.get(keys.session('u-7731')))!;
    expect(raw.startsWith('!')).toBe(true);
    for (const plain of ['ann-the-secret-nick', 'tok_4242', 'nick']) expect(raw).not.toContain(plain);
    expect(Buffer.from(raw.slice(1), 'base64').toString('latin1')).not.toContain('ann-the-secret-nick');
    expect(await new RedisSessionStore(connect(), { prefix: 't', secret }).load('u-7731')).toEqual({
      nick: 'ann-the-secret-nick',
      card: 'tok_4242',
    });
    // A session stored in clear (before encryption was on) is still read by the sealing store.
    await new RedisSessionStore(connect(), { prefix: 't' }).save('clear', { nick: 'old' });
    expect(await sealed.load('clear')).toEqual({ nick: 'old' });
    // Another key, or none: a clear error naming neither uid nor content; the stored value and the others stay.
    const wrong = new RedisSessionStore(connect(), { prefix: 't', secret: 'another-secret-0123456789' });
    const failure = (await wrong.load('u-7731').catch((err: unknown) => err)) as Error;
    expect(failure).toBeInstanceOf(AtRestDecryptError);
    expect(failure.message).toMatch(/cannot be decrypted.*another SECRET_KEY/);
    expect(failure.message).not.toMatch(/u-7731|ann-the-secret-nick|tok_4242/);
    const none = (await new RedisSessionStore(connect(), { prefix: 't' })
      .load('u-7731')
      .catch((e: unknown) => e)) as Error;
    expect(none).toBeInstanceOf(AtRestDecryptError);
    expect(none.message).toMatch(/encrypted, and this store has no SECRET_KEY/);
    expect(await inspector.get(keys.session('u-7731'))).toBe(raw);
    expect(await wrong.load('clear')).toEqual({ nick: 'old' });
    // Bound to its key: a sealed value copied to another uid's key does not open there.
    await inspector.set(keys.session('moved'), raw);
    await expect(sealed.load('moved')).rejects.toBeInstanceOf(AtRestDecryptError);
  });
});
