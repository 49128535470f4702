import {
  AtRestCipher,
  BackplaneKeys,
  HistoryStore,
  openRedisConnection,
  resolveBackplaneOptions,
  whenReady,
  type RedisConnection,
} from 'nest-gateway-worker/internal';
import { Redis } from 'ioredis';
import { eventually } from './support/eventually';
import { RedisServer } from './support/redis-server';

/**
 * HistoryStore on a real redis-server: offsets and one epoch per stream, exact trimming (a client behind the
 * trimmed part is told it cannot recover), paging, binary payloads, a new epoch when the stream's meta is lost
 * (evicted, expired, Redis restarted empty: the scripts are loaded again too), and the lifetime of both keys.
 */
describe('HistoryStore (real redis-server)', () => {
  let redis: RedisServer;
  let inspector: Redis;
  let connection: RedisConnection;
  let history: HistoryStore;
  const keys = new BackplaneKeys('gw');

  beforeAll(async () => {
    redis = await RedisServer.start();
    inspector = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    connection = openRedisConnection(resolveBackplaneOptions('test', redis.url)!, 'ngw-test', 'Test');
    expect(await whenReady(connection)).toBe(true);
    history = new HistoryStore(connection, keys);
  });

  afterAll(async () => {
    connection?.disconnect();
    inspector?.disconnect();
    await redis?.stop();
  });

  const texts = (entries: { data: Buffer }[]) => entries.map((e) => e.data.toString());

  it('numbers messages, keeps exactly `size`, and says when a client cannot recover', async () => {
    const positions = [];
    for (let i = 1; i <= 5; i++) positions.push(await history.append('uid', 'h1', `m${i}`, { size: 3 }));
    expect(positions.map((p) => p.offset)).toEqual([1, 2, 3, 4, 5]);
    const epoch = positions[0].epoch;
    expect(positions.every((p) => p.epoch === epoch)).toBe(true);
    expect(await inspector.xlen(keys.history('uid', 'h1'))).toBe(3);

    const fromThree = await history.recover('uid', 'h1', { offset: 3, epoch });
    expect([texts(fromThree.entries), fromThree.recovered, fromThree.more]).toEqual([['m4', 'm5'], true, false]);
    expect(fromThree.top).toEqual({ offset: 5, epoch });
    // m2 was trimmed: a client at offset 1 missed it for good.
    const fromOne = await history.recover('uid', 'h1', { offset: 1, epoch });
    expect([texts(fromOne.entries), fromOne.recovered]).toEqual([['m3', 'm4', 'm5'], false]);
    const upToDate = await history.recover('uid', 'h1', { offset: 5, epoch });
    expect([upToDate.entries, upToDate.recovered, upToDate.more]).toEqual([[], true, false]);
    const oldest = await history.recover('uid', 'h1', null);
    expect([texts(oldest.entries), oldest.recovered]).toEqual([['m3', 'm4', 'm5'], true]);
    // Another epoch's offsets mean nothing here.
    const other = await history.recover('uid', 'h1', { offset: 4, epoch: 'someother' });
    expect([other.entries, other.recovered]).toEqual([[], false]);
    // A group's history is its own.
    expect((await history.append('group', 'h1', 'g1')).offset).toBe(1);
    const none = await history.recover('uid', 'nobody', { offset: 0, epoch: '' });
    expect([none.entries, none.recovered, none.top.offset]).toEqual([[], true, 0]);
  });

  it('pages by `limit`, and keeps binary payloads intact', async () => {
    const positions = [];
    for (let i = 1; i <= 10; i++) positions.push(await history.append('uid', 'h2', Buffer.from([0, i, 255])));
    const first = positions[0];
    const page1 = await history.recover('uid', 'h2', { offset: 0, epoch: first.epoch }, 4);
    expect([page1.entries.map((e) => e.offset), page1.recovered, page1.more]).toEqual([[1, 2, 3, 4], true, true]);
    expect(page1.entries[1].data).toEqual(Buffer.from([0, 2, 255]));
    const page2 = await history.recover('uid', 'h2', { offset: 4, epoch: first.epoch }, 4);
    expect([page2.entries.map((e) => e.offset), page2.more]).toEqual([[5, 6, 7, 8], true]);
  });

  it('both keys expire together after the lifetime each append renews', async () => {
    await history.append('uid', 'h3', 'x', { ttlMs: 60_000 });
    for (const key of [keys.history('uid', 'h3'), keys.historyMeta('uid', 'h3')]) {
      const ttl = await inspector.pttl(key);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
  });

  it('a lost meta (evicted, expired) starts a new epoch at offset 1 and drops the old stream', async () => {
    const before = await history.append('uid', 'h4', 'old');
    await history.append('uid', 'h4', 'old 2');
    await inspector.del(keys.historyMeta('uid', 'h4'));
    const after = await history.append('uid', 'h4', 'new');
    expect(after.offset).toBe(1);
    expect(after.epoch).not.toBe(before.epoch);
    const r = await history.recover('uid', 'h4', { offset: 2, epoch: before.epoch });
    expect([r.entries, r.recovered]).toEqual([[], false]);
    expect(texts((await history.recover('uid', 'h4', null)).entries)).toEqual(['new']);
  });

  it('after Redis restarted empty: the scripts are loaded again and a new epoch begins', async () => {
    const before = await history.append('uid', 'h5', 'a');
    await redis.restart();
    await eventually(
      () => connection.status,
      (s) => s === 'ready',
      'the connection back',
      10_000,
    );
    const after = await history.append('uid', 'h5', 'b');
    expect([after.offset, after.epoch === before.epoch]).toEqual([1, false]);
    const r = await history.recover('uid', 'h5', before);
    expect(r.recovered).toBe(false);
  });

  it("keeps each message's format (text, binary, JSON) and reads back what was stored in clear", async () => {
    await history.append('group', 'h6', 'plain text');
    await history.append('group', 'h6', Buffer.from([0x7b, 0, 1]));
    await history.append('group', 'h6', '{"a":1}', { format: 'json' });
    const r = await history.recover('group', 'h6', null);
    expect(r.entries.map((e) => [e.format, e.data.toString('hex')])).toEqual([
      ['text', Buffer.from('plain text').toString('hex')],
      ['binary', '7b0001'],
      ['json', Buffer.from('{"a":1}').toString('hex')],
    ]);
    // A sealing store reads what was stored in clear (turning encryption on loses nothing).
    const sealing = new HistoryStore(connection, keys, { cipher: new AtRestCipher('history-secret-0123456789') });
    expect(texts((await sealing.recover('group', 'h6', null)).entries)).toHaveLength(3);
  });

  it('with a cipher: no plaintext in Redis; another key skips and counts the entries (recovered false), keeps them', async () => {
    const secret = 'history-secret-0123456789';
    const sealing = new HistoryStore(connection, keys, { cipher: new AtRestCipher(secret) });
    const first = await sealing.append('uid', 'h7', 'the-secret-line-one');
    await sealing.append('uid', 'h7', Buffer.from('the-secret-line-two'));
    const raw = await inspector.xrangeBuffer(keys.history('uid', 'h7'), '-', '+');
    expect(raw).toHaveLength(2);
    for (const [, fields] of raw) {
      const stored = Buffer.concat(fields);
      expect(stored.includes('the-secret-line')).toBe(false);
      expect(stored.includes('secret')).toBe(false);
    }
    const back = await new HistoryStore(connection, keys, { cipher: new AtRestCipher(secret) }).recover('uid', 'h7', {
      offset: 0,
      epoch: first.epoch,
    });
    expect([texts(back.entries), back.entries.map((e) => e.format), back.recovered, back.unreadable]).toEqual([
      ['the-secret-line-one', 'the-secret-line-two'],
      ['text', 'binary'],
      true,
      0,
    ]);
    for (const other of [
      new HistoryStore(connection, keys, { cipher: new AtRestCipher('another-secret-0123456') }),
      history,
    ]) {
      const r = await other.recover('uid', 'h7', { offset: 0, epoch: first.epoch });
      expect([r.entries, r.recovered, r.unreadable, r.top.offset]).toEqual([[], false, 2, 2]);
    }
    // Nothing was lost: the right key still reads both, and other histories are untouched.
    expect(await inspector.xlen(keys.history('uid', 'h7'))).toBe(2);
    expect(texts((await sealing.recover('uid', 'h7', null)).entries)).toHaveLength(2);
    expect((await sealing.recover('uid', 'h1', null)).unreadable).toBe(0);
  });
});
