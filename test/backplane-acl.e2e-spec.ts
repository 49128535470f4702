import { RedisSessionStore } from 'nest-gateway-worker';
import { BackplaneKeys, GatewayClientPool, resolveGatewayClientOptions } from 'nest-gateway-worker/internal';
import { Redis } from 'ioredis';
import { eventually } from './support/eventually';
import { RedisServer } from './support/redis-server';
import { startGateway, startRole, stopAll, TEST_SECRET } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * The backplane under the least-privilege ACL user the README documents (the default user switched off): discovery,
 * targeted sends, the session store and history work with exactly those commands, and the password never reaches a log,
 * also when it is wrong.
 */
const PASSWORD = 'acl-pw-4f1c9e';
const BASE_COMMANDS =
  '+get +set +getex +del +mget +sadd +srem +smembers +sscan +hkeys +hset +hdel +publish +subscribe +info ' +
  '+client|setname +ping +quit';
/** What the senders' directory cache adds (README: Security): its commands, and the notice channel. */
const CACHE_RULES = '+client|id +client|tracking &__redis__:invalidate';
const COMMANDS = `${BASE_COMMANDS} ${CACHE_RULES}`;
/** What history adds (README: History and recovery). */
const HISTORY_COMMANDS = '+evalsha +eval +hget +hmget +hincrby +xadd +xrange +pexpire';

describe('backplane with a least-privilege ACL user', () => {
  let redis: RedisServer;
  let admin: Redis;
  let sdk: GatewayClientPool | undefined;
  let older: GatewayClientPool | undefined;
  let sessions: Redis | undefined;
  const clients: TestClient[] = [];

  afterAll(async () => {
    for (const c of clients) c.close();
    await sdk?.onModuleDestroy();
    await older?.onModuleDestroy();
    sessions?.disconnect();
    admin?.disconnect();
    await stopAll();
    await redis?.stop();
  });

  it('works with only the documented commands, and never logs the password', async () => {
    redis = await RedisServer.start({
      // Each directive's words as separate arguments (redis-server joins them up to the next --option).
      args: [
        ...['--user', 'default', 'off'],
        ...['--user', 'gwapp', 'on', `>${PASSWORD}`, '~gw:*', '&gw:*', ...COMMANDS.split(' ')],
        ...HISTORY_COMMANDS.split(' '),
        // The rules before the directory cache: it must turn itself off, and the rest work.
        ...['--user', 'gwold', 'on', `>${PASSWORD}`, '~gw:*', '&gw:*', ...BASE_COMMANDS.split(' ')],
        // Without SET: a gateway reaches Redis but cannot write its lease.
        ...['--user', 'gwnoset', 'on', `>${PASSWORD}`, '~gw:*', '&gw:*', ...BASE_COMMANDS.split(' '), '-set'],
        ...['--user', 'admin', 'on', `>admin-${PASSWORD}`, '~*', '&*', '+@all'],
      ],
    });
    admin = new Redis({ port: redis.port, host: '127.0.0.1', username: 'admin', password: `admin-${PASSWORD}` });
    const url = `redis://gwapp:${PASSWORD}@127.0.0.1:${redis.port}`;
    const env = { GATEWAY_BACKPLANE: url, GATEWAY_BACKPLANE_LEASE_MS: '1500' };
    const a = await startGateway('', env);
    const b = await startGateway('', env);

    sdk = new GatewayClientPool(resolveGatewayClientOptions({ secret: TEST_SECRET, backplane: url }));
    await eventually(
      () => [a.inner, b.inner].every((g) => sdk!.backplane!.watch.isSynced(g)),
      (ok) => ok,
      'both gateways listed and in sync',
    );
    const client = await TestClient.open(a.url);
    clients.push(client);
    const [clientId] = await eventually(
      () => sdk!.client.getAllClientIdList(),
      (ids) => ids.length === 1,
      'the client online',
    );
    await sdk.client.bindUid(clientId, 'u-acl');
    const keys = new BackplaneKeys('gw');
    await eventually(
      () => admin.hkeys(keys.uid('u-acl')),
      (ids) => ids.length === 1,
      'u-acl in the directory',
    );
    expect(await sdk.client.isUidOnline('u-acl')).toBe(true);
    const before = await sdk.client.getGatewayStats();
    await sdk.client.sendToUid('u-acl', 'hi');
    await client.waitUntilReceived(() => client.received.find((m) => m.data.toString() === 'hi'), 'the send');
    const after = await sdk.client.getGatewayStats();
    const uid = (inner: string, s: typeof before) => s.find((x) => x.address === inner)!.counters.uidCommands;
    expect(uid(b.inner, after) - uid(b.inner, before)).toBe(0);
    expect(uid(a.inner, after) - uid(a.inner, before)).toBe(1);
    // The directory cache is on under these rules: the next send to the uid is answered from it.
    expect(sdk.backplane!.tracking!.cache.armed).toBe(true);
    const hits = sdk.backplane!.stats.cacheHits;
    await sdk.client.sendToUid('u-acl', 'again');
    await client.waitUntilReceived(() => client.received.find((m) => m.data.toString() === 'again'), 'the 2nd send');
    expect(sdk.backplane!.stats.cacheHits - hits).toBe(1);

    // Without the cache's rules: tracking cannot be enabled, the cache stays off, sends read the directory each time.
    older = new GatewayClientPool(
      resolveGatewayClientOptions({
        secret: TEST_SECRET,
        backplane: { url: `redis://gwold:${PASSWORD}@127.0.0.1:${redis.port}`, timeoutMs: 1_000 },
      }),
    );
    await eventually(
      () => [a.inner, b.inner].every((g) => older!.backplane!.watch.isSynced(g)),
      (ok) => ok,
      'both gateways in sync for the older user',
    );
    const reads = older.backplane!.stats.reads;
    for (const text of ['old 1', 'old 2']) {
      await older.client.sendToUid('u-acl', text);
      await client.waitUntilReceived(() => client.received.find((m) => m.data.toString() === text), text);
    }
    expect(older.backplane!.tracking!.cache.armed).toBe(false);
    expect(older.backplane!.stats.cacheHits).toBe(0);
    expect(older.backplane!.stats.reads - reads).toBe(2);

    const position = await sdk.client.appendHistory('uid', 'u-acl', 'kept');
    const recovered = await sdk.client.recoverHistory('uid', 'u-acl', { offset: 0, epoch: position.epoch });
    expect(recovered.entries.map((e) => e.data.toString())).toEqual(['kept']);

    sessions = new Redis(url, { maxRetriesPerRequest: 1 });
    const store = new RedisSessionStore(sessions);
    await store.save('u-acl', { nick: 'x' });
    expect(await store.load('u-acl')).toEqual({ nick: 'x' });

    // A gateway with a wrong password: it starts, says why it cannot use Redis, and shows no password.
    const wrong = startRole('gateway', {
      SECRET_KEY: TEST_SECRET,
      GATEWAY_LISTEN: 'ws://127.0.0.1:0',
      GATEWAY_START_PORT: '0',
      GATEWAY_BACKPLANE: `redis://gwapp:wrong-${PASSWORD}@127.0.0.1:${redis.port}`,
    });
    await wrong.waitFor(/WRONGPASS|invalid username-password/);
    await wrong.waitFor(/Gateway ready/);
    // A gateway whose user may not SET: its announcements fail, and are logged as such (there is no lease to renew).
    const noSet = startRole('gateway', {
      SECRET_KEY: TEST_SECRET,
      GATEWAY_LISTEN: 'ws://127.0.0.1:0',
      GATEWAY_START_PORT: '0',
      GATEWAY_BACKPLANE: `redis://gwnoset:${PASSWORD}@127.0.0.1:${redis.port}`,
      GATEWAY_BACKPLANE_LEASE_MS: '1500',
    });
    await noSet.waitFor(/backplane redis:\/\/gwnoset:\*\*\*@127\.0\.0\.1:\d+\/?: announcing failed: NOPERM .*'set'/);
    await noSet.waitFor(/Gateway ready/);
    expect(noSet.output).not.toMatch(/renewing the lease|announced on the backplane/);
    for (const proc of [a.proc, b.proc, wrong, noSet]) expect(proc.output).not.toContain(PASSWORD);
    expect(wrong.output).toContain(`redis://gwapp:***@127.0.0.1:${redis.port}`);
  });
});
