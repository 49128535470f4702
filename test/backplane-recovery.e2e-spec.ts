import {
  ClientId,
  GatewayClient,
  Handshake,
  OnClientConnect,
  resumePosition,
  type RecoverResult,
} from 'nest-gateway-worker';
import { BackplaneKeys, GatewayClientPool, resolveGatewayClientOptions } from 'nest-gateway-worker/internal';
import { GatewayWorkerClient, type ClientHooks } from 'nest-gateway-worker-client';
import { Controller, Inject, type INestMicroservice } from '@nestjs/common';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { eventually } from './support/eventually';
import { startInProcessWorker } from './support/in-process-worker';
import { RedisServer } from './support/redis-server';
import { startGateway, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';

/**
 * Group history through the real cluster: a real redis-server, two gateway processes on the backplane (no
 * register), an in-process worker whose connect handler joins the room with `recover`, a standalone GatewayClient
 * (forClient's pool) that sends to the room with `{ history }`, and browser-side clients of
 * nest-gateway-worker-client (its Node build, `resume: true`) that keep the last `$offset` and send it back when
 * they reconnect, through the other gateway.
 */

const keys = new BackplaneKeys('gw');
/** The reconnect delay of the client that goes away: long enough to send while it is away (jitter fixed). */
const AWAY_MS = 1_500;

@Controller()
class RoomController {
  constructor(@Inject(GatewayClient) private readonly gw: GatewayClient) {}

  /**
   * `?room=…&resume=<position>`: join the room, replay what the client missed, say whether that was all
   * (`?uid=…`: the same with the uid's history, binding it; `&limit=n`: recover's limit).
   */
  @OnClientConnect()
  async connect(@ClientId() id: string, @Handshake('query') query: Record<string, string>) {
    const options = query.limit ? { limit: Number(query.limit) } : {};
    if (query.both) {
      // `&both=1`: the uid's and the room's history, each from its own position; both positions in one welcome.
      const results = [
        await this.gw.recover(id, 'uid', query.uid, resumePosition(query, 'uid', query.uid), options),
        await this.gw.recover(id, 'group', query.room, resumePosition(query, 'group', query.room), options),
      ];
      return {
        type: 'welcome',
        id,
        recovered: results.every((r) => r.recovered),
        reason: results.map((r) => r.reason ?? null).join(','),
        replayed: results.reduce((n, r) => n + r.replayed, 0),
        $offsets: Object.fromEntries(results.map((r) => [r.stream, r.position])),
      };
    }
    const result: RecoverResult = query.uid
      ? await this.gw.recover(id, 'uid', query.uid, resumePosition(query, 'uid', query.uid), options)
      : await this.gw.recover(id, 'group', query.room, resumePosition(query, 'group', query.room), options);
    return {
      type: 'welcome',
      id,
      recovered: result.recovered,
      reason: result.reason ?? null,
      replayed: result.replayed,
      // The room's position now, and which history it is (the client keeps one position per stream): the client
      // has one even if nothing is sent before it drops again.
      ...(result.position ? { $offset: result.position, $stream: result.stream } : {}),
    };
  }
}

interface Welcome {
  type: 'welcome';
  id: string;
  recovered: boolean;
  reason: string | null;
  replayed: number;
  $offset?: string;
}

interface Member {
  client: GatewayWorkerClient;
  /** Everything received, in order: `say:<n>` (JSON), `bin:<hex>`, `text:<t>`, `welcome`. */
  log: string[];
  welcomes: Welcome[];
  /** `<n>@<$offset>` of every `say` received. */
  offsets: string[];
  urls: string[];
  events: string[];
}

describe('group history and recovery through the cluster (real redis-server, two gateways, the client library)', () => {
  let redis: RedisServer;
  let inspector: Redis;
  const gateways: { proc: RoleProcess; url: string; inner: string }[] = [];
  let worker: { app: INestMicroservice };
  let sdk: GatewayClientPool;
  const members: Member[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    inspector = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    for (let i = 0; i < 2; i++) gateways.push(await startGateway('', { GATEWAY_BACKPLANE: redis.url }));
    const inners = gateways.map((g) => g.inner);
    worker = await startInProcessWorker([RoomController], { secret: TEST_SECRET, backplane: redis.url }, inners);
    sdk = new GatewayClientPool(resolveGatewayClientOptions({ secret: TEST_SECRET, backplane: { url: redis.url } }));
    await eventually(
      async () => (await sdk.client.getGatewayStats()).length,
      (n) => n === 2,
      'the sender sees both gateways',
      15_000,
    );
  }, 60_000);

  afterAll(async () => {
    for (const m of members) m.client.close();
    await sdk?.onModuleDestroy();
    await worker?.app.close();
    await stopAll();
    inspector?.disconnect();
    await redis?.stop();
  });

  /** A client (`query`: `room=…` or `uid=…`); `gateway()` says which gateway each (re)connection goes to. */
  async function member(query: string, gateway: () => number): Promise<Member> {
    const m: Member = { client: undefined as never, log: [], offsets: [], welcomes: [], urls: [], events: [] };
    m.client = new GatewayWorkerClient(() => `${gateways[gateway()].url}/?${query}`, {
      WebSocket,
      resume: true,
      reconnect: { initialDelayMs: AWAY_MS, maxDelayMs: AWAY_MS, random: () => 0.99 },
      liveness: false,
    });
    m.client.onMessage((msg) => {
      if (msg.type === 'say') {
        m.log.push(`say:${String(msg.n)}`);
        m.offsets.push(`${String(msg.n)}@${String(msg.$offset)}`);
      } else if (msg.type === 'welcome') {
        m.log.push('welcome');
        m.welcomes.push(msg as unknown as Welcome);
      }
    });
    m.client.onBinary((data) => m.log.push(`bin:${Buffer.from(data).toString('hex')}`));
    m.client.onText((text) => m.log.push(`text:${text}`));
    m.client.hook('connecting', (e: ClientHooks['connecting']) => m.urls.push(e.url));
    m.client.hook('connected', (e) => m.events.push(e.reconnected ? 'connected again' : 'connected'));
    members.push(m);
    await m.client.connect();
    await eventually(
      () => m.welcomes.length,
      (n) => n === 1,
      'the first welcome',
    );
    return m;
  }

  const say = (room: string, n: number, size = 100) =>
    sdk.client.sendToGroup(room, { type: 'say', n }, null, { history: { size } });

  async function received(m: Member, count: number, what: string): Promise<void> {
    await eventually(
      () => m.log.length,
      (n) => n >= count,
      what,
    );
  }

  /** Sends the member away (close 1013: the client reconnects after AWAY_MS) and waits until it is gone. */
  async function sendAway(m: Member): Promise<void> {
    const id = m.welcomes[m.welcomes.length - 1].id;
    const receipt = await sdk.client.closeClient(id, null, { code: 1013, reason: 'moving', confirm: true });
    expect(receipt.delivered).toBe(1);
    await eventually(
      () => m.client.state,
      (s) => s === 'reconnecting',
      'the client reconnecting',
    );
  }

  it('a client back through another gateway with its last $offset gets exactly what it missed, in order, then live', async () => {
    let away = 0;
    const mover = await member('room=r1', () => away);
    const stay = await member('room=r1', () => 0);
    const other = await member('room=r1', () => 1);
    // A first connection has no position: nothing to recover, and told so.
    expect(mover.welcomes[0]).toMatchObject({ recovered: false, reason: 'no-position', replayed: 0 });
    for (const n of [1, 2, 3]) await say('r1', n);
    for (const m of [mover, stay, other]) await received(m, 4, 'three lines');
    expect(mover.log).toEqual(['welcome', 'say:1', 'say:2', 'say:3']);
    const position = mover.client.offset as string;
    const [epoch, top] = position.split(':');
    expect(top).toBe('3');

    away = 1;
    await sendAway(mover);
    const before = mover.log.length;
    // While it is away: JSON, binary and plain text, all kept in the room's history.
    const kept = [
      await say('r1', 4),
      await sdk.client.sendToGroup('r1', Buffer.from([0x00, 0xff, 0x7b]), null, { history: true }),
      await sdk.client.sendToGroup('r1', 'plain text, no position', null, { history: true }),
      await say('r1', 5),
    ];
    expect(kept.map((k) => k.position)).toEqual([4, 5, 6, 7].map((o) => `${epoch}:${o}`));
    expect(mover.events).toEqual(['connected']); // the premise: still away when they were sent
    await received(mover, before + 5, 'the missed messages and the welcome');
    await say('r1', 6);
    await received(mover, before + 6, 'the live one');
    expect(mover.log.slice(before)).toEqual([
      'say:4',
      'bin:00ff7b',
      'text:plain text, no position',
      'say:5',
      'welcome',
      'say:6',
    ]);
    expect(mover.welcomes[1]).toMatchObject({ recovered: true, reason: null, replayed: 4 });
    // It came back through the other gateway, reporting its last position.
    const resume = encodeURIComponent(position);
    expect(mover.urls.at(-1)).toBe(`${gateways[1].url}/?room=r1&resume=${resume}&resume.group%3Ar1=${resume}`);
    expect(mover.client.offset).toBe(`${epoch}:8`);
    // The others got everything live, once.
    for (const m of [stay, other])
      expect(m.log).toEqual([
        'welcome',
        'say:1',
        'say:2',
        'say:3',
        'say:4',
        'bin:00ff7b',
        'text:plain text, no position',
        'say:5',
        'say:6',
      ]);
  });

  it('nothing is lost or doubled while messages keep coming during the recovery', async () => {
    let away = 0;
    const mover = await member('room=r3', () => away);
    await say('r3', 0, 5_000);
    await received(mover, 2, 'the first line');
    away = 1;
    await sendAway(mover);
    // A steady stream from the sender, across the reconnect, the replay and the live delivery after it.
    // Until 30 lines after its welcome (the end of its recovery) arrived.
    let n = 1;
    let after = 0;
    while (mover.welcomes.length < 2 || after++ < 30) {
      await say('r3', n++, 5_000);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (n > 2_000) throw new Error('the client did not reconnect');
    }
    const last = n - 1;
    await eventually(
      () => mover.log.filter((l) => l.startsWith('say:')).length,
      (count) => count >= last + 1,
      'every line',
    );
    await new Promise((resolve) => setTimeout(resolve, 300)); // any late duplicate would arrive now
    const lines = mover.log.filter((l) => l.startsWith('say:')).map((l) => Number(l.slice(4)));
    const missing = Array.from({ length: last + 1 }, (_, i) => i).filter((i) => !lines.includes(i));
    const doubled = lines
      .filter((line, i) => lines.indexOf(line) !== i)
      .map((line) => mover.offsets.filter((o) => o.startsWith(`${line}@`)).join(' '));
    expect({ missing, doubled, welcome: mover.welcomes[1] }).toEqual({
      missing: [],
      doubled: [],
      welcome: expect.objectContaining({ recovered: true }) as unknown,
    });
    expect(mover.welcomes[1].replayed).toBeGreaterThan(0);
  });

  it('after trimming, and after the history was lost, the client is told recovery was incomplete', async () => {
    let away = 0;
    const mover = await member('room=r2', () => away);
    for (const n of [1, 2]) await say('r2', n, 2);
    await received(mover, 3, 'two lines');
    away = 1;
    await sendAway(mover);
    const before = mover.log.length;
    for (const n of [3, 4, 5]) await say('r2', n, 2); // keeps 4 and 5: 3 is trimmed
    await received(mover, before + 3, 'what is left, and the welcome');
    expect(mover.log.slice(before)).toEqual(['say:4', 'say:5', 'welcome']);
    expect(mover.welcomes[1]).toMatchObject({ recovered: false, reason: 'trimmed', replayed: 2 });

    // The history lost (Redis evicted or restarted empty): a new epoch, the old position means nothing.
    away = 0;
    await sendAway(mover);
    await inspector.del(keys.history('group', 'r2'), keys.historyMeta('group', 'r2'));
    await say('r2', 6, 2);
    await eventually(
      () => mover.welcomes.length,
      (n) => n === 3,
      'the third welcome',
    );
    expect(mover.welcomes[2]).toMatchObject({ recovered: false, reason: 'epoch', replayed: 0 });
    // The welcome gave it the new position: the next time it recovers again.
    expect(mover.client.offset).toMatch(/:1$/);
    away = 1;
    await sendAway(mover);
    await say('r2', 7, 2);
    await eventually(
      () => mover.welcomes.length,
      (n) => n === 4,
      'the fourth welcome',
    );
    expect(mover.welcomes[3]).toMatchObject({ recovered: true, replayed: 1 });
    expect(mover.log.at(-2)).toBe('say:7');
  });

  it("a uid's history: sendToUid with { history, confirm }, recovered by the connect handler; one target only", async () => {
    let away = 0;
    const mover = await member('uid=u-r', () => away);
    const first = await sdk.client.sendToUid('u-r', { type: 'say', n: 1 }, { history: true, confirm: true });
    expect(first).toMatchObject({ delivered: 1, failedGateways: [], offset: 1 });
    expect(first.position).toBe(`${first.epoch}:1`);
    await received(mover, 2, 'the first line');
    away = 1;
    await sendAway(mover);
    const before = mover.log.length;
    const missed = await sdk.client.sendToUid('u-r', { type: 'say', n: 2 }, { history: { size: 10, ttlMs: 60_000 } });
    expect(missed).toEqual({ offset: 2, epoch: first.epoch, position: `${first.epoch}:2` });
    await received(mover, before + 2, 'the missed line and the welcome');
    expect(mover.log.slice(before)).toEqual(['say:2', 'welcome']);
    expect(mover.welcomes[1]).toMatchObject({ recovered: true, replayed: 1 });
    expect(await inspector.pttl(keys.history('uid', 'u-r'))).toBeGreaterThan(50_000);
    // Each uid and group has its own history: a send with history names exactly one.
    await expect(
      sdk.client.sendToUid(['u-r', 'u-s'] as unknown as string, { type: 'say', n: 3 }, { history: true }),
    ).rejects.toThrow(/exactly one uid/);
    await expect(
      sdk.client.sendToGroup(['r1', 'r2'] as unknown as string, { type: 'say', n: 3 }, null, { history: true }),
    ).rejects.toThrow(/exactly one group/);
  });

  it('a client following a uid and a group recovers each from its own position ($stream, resume.<stream>)', async () => {
    let away = 0;
    const m = await member('uid=u-both&room=r-both&both=1', () => away);
    expect(m.welcomes[0]).toMatchObject({ recovered: false, reason: 'no-position,no-position' });
    const room = await say('r-both', 1);
    const uid = await sdk.client.sendToUid('u-both', { type: 'say', n: 101 }, { history: true });
    await received(m, 3, 'one line of each');
    // The two histories have their own epochs and offsets: one position could not stand for both.
    expect(m.client.offsets).toEqual({ 'group:r-both': room.position, 'uid:u-both': uid.position });
    away = 1;
    await sendAway(m);
    const before = m.log.length;
    await say('r-both', 2);
    await sdk.client.sendToUid('u-both', { type: 'say', n: 102 }, { history: true });
    const last = await say('r-both', 3);
    await received(m, before + 4, 'the missed lines and the welcome');
    // The uid's history is recovered first (the handler's order), then the room's; each exactly once.
    expect(m.log.slice(before)).toEqual(['say:102', 'say:2', 'say:3', 'welcome']);
    expect(m.welcomes[1]).toMatchObject({ recovered: true, reason: ',', replayed: 3 });
    const url = new URL(m.urls.at(-1)!);
    expect(url.searchParams.get('resume.group:r-both')).toBe(room.position);
    expect(url.searchParams.get('resume.uid:u-both')).toBe(uid.position);
    expect(m.client.offsets['group:r-both']).toBe(last.position);
    expect(m.client.offsets['uid:u-both']).toBe(`${uid.epoch}:2`);
  });

  it('Redis hung during a recovery: the client joins all the same and is told the history was unavailable', async () => {
    let away = 0;
    const mover = await member('room=r4', () => away);
    await say('r4', 1);
    await received(mover, 2, 'the first line');
    away = 1;
    await sendAway(mover);
    redis.pause();
    try {
      await eventually(
        () => mover.welcomes.length,
        (n) => n === 2,
        'the welcome while Redis is hung',
        15_000,
      );
    } finally {
      redis.resume();
    }
    expect(mover.welcomes[1]).toMatchObject({ recovered: false, reason: 'unavailable', replayed: 0 });
    // A member of the room all the same: the next message reaches it live.
    await eventually(
      () => inspector.hkeys(keys.group('r4')),
      (ids) => ids.length === 1,
      'r4 in the directory again',
      15_000,
    );
    // The sender's own Redis connection may still be reconnecting (the hang timed it out): a send with history
    // fails fast then, nothing sent; it is retried until Redis takes the append.
    await eventually(
      () =>
        say('r4', 2).then(
          () => true,
          () => false,
        ),
      (ok) => ok,
      'a send with history accepted again',
      15_000,
    );
    await eventually(
      () => mover.log.at(-1),
      (last) => last === 'say:2',
      'the live line',
    );
  });

  it('more missed than `limit`: nothing replayed, told so, and given the position to go on from', async () => {
    let away = 0;
    const mover = await member('room=r5&limit=2', () => away);
    await say('r5', 1);
    await received(mover, 2, 'the first line');
    away = 1;
    await sendAway(mover);
    const before = mover.log.length;
    for (const n of [2, 3, 4]) await say('r5', n);
    await eventually(
      () => mover.welcomes.length,
      (n) => n === 2,
      'the second welcome',
    );
    expect(mover.welcomes[1]).toMatchObject({ recovered: false, reason: 'limit', replayed: 0 });
    expect(mover.log.slice(before)).toEqual(['welcome']);
    expect(mover.client.offset).toMatch(/:4$/);
  });
});
