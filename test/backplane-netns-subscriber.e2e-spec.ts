import { Redis } from 'ioredis';
import { eventually, sleep } from './support/eventually';
import { LabAgent } from './support/netns-cluster';
import { keys } from './support/netns-backplane-cluster';
import { NetnsLab } from './support/netns-lab';
import { RedisServer } from './support/redis-server';

/**
 * The discovery subscriber across a silent partition (network namespaces, test/support/netns-lab.ts): a GatewayClient
 * on host h1 (an sdk agent), Redis on the root namespace's data bridge. The subscriber connection never waits for a
 * reply of its own, so without its heartbeat nothing notices that it is cut off: the notices Redis publishes
 * meanwhile sit in Redis's retransmission queue (backed off exponentially), and no new connection is opened. With the
 * heartbeat (ConnectionHeartbeat, a PING every second on the subscriber) it is closed, reopened and subscribed again,
 * and notices published after the heal arrive. Figures printed for the report.
 */

/** Long enough for a PING to go unanswered past its timeout (1 s interval + 2 s). */
const CUT_MS = 6_000;
/** Bounds of the waits below (a loaded, shared machine); the times themselves are printed, not asserted. */
const RESUBSCRIBED_WITHIN_MS = 20_000;
const NOTICE_WITHIN_MS = 5_000;
const SUBSCRIBER_NAME = 'ngw-gatewayclient-sub';

function figure(text: string): void {
  console.log(`[netns figures] ${text}`);
}

describe('backplane across hosts: the discovery subscriber cut off silently', () => {
  const lab = new NetnsLab();
  let redis: RedisServer;
  let inspector: Redis;
  let sdk: LabAgent;

  beforeAll(async () => {
    await NetnsLab.requireRoot();
    lab.create();
    lab.addHost(1);
    lab.checkRoutes();
    redis = await RedisServer.start({ host: lab.dataAddress, args: ['--protected-mode', 'no'] });
    inspector = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    sdk = await LabAgent.start(lab, 'h1', 'sdk', { GATEWAY_BACKPLANE: redis.url, GATEWAY_BACKPLANE_CACHE: 'false' });
  }, 60_000);

  afterAll(async () => {
    inspector?.disconnect();
    await lab.destroy();
    await redis?.stop();
  }, 30_000);

  /** h1's discovery subscriber connections now (CLIENT LIST): id and number of channels subscribed. */
  async function subscribers(): Promise<{ id: string; sub: number }[]> {
    const from = ` addr=${lab.host('h1').data}:`;
    const list = String(await inspector.client('LIST'));
    return list
      .split('\n')
      .filter((line) => line.includes(from) && line.includes(` name=${SUBSCRIBER_NAME} `))
      .map((line) => ({ id: /^id=(\d+) /.exec(line)![1], sub: Number(/ sub=(\d+) /.exec(line)![1]) }));
  }

  /** Publishes a discovery notice and waits until the sdk's watch counted one more; the time it took. */
  async function noticeArrives(what: string): Promise<number> {
    const before = (await sdk.stats()).watch.notices;
    const start = Date.now();
    await inspector.publish(keys.events, 'sync 10.0.0.1:1/test.0');
    await eventually(
      async () => (await sdk.stats()).watch.notices,
      (n) => n > before,
      what,
      NOTICE_WITHIN_MS,
      20,
    );
    return Date.now() - start;
  }

  it('is reopened and subscribed again after the heal, and notices arrive on it', async () => {
    const [first] = await eventually(
      subscribers,
      (s) => s.length === 1 && s[0].sub === 1,
      'the sdk subscribed to the discovery notices',
      20_000,
      50,
    );
    figure(`a notice before the cut arrived in ${await noticeArrives('a notice before the cut')} ms`);

    lab.cutFromData('h1');
    const cutAt = Date.now();
    // Notices during the cut: Redis writes them on the old connection, which cannot deliver them.
    let published = 0;
    while (Date.now() - cutAt < CUT_MS) {
      await inspector.publish(keys.events, `sync 10.0.0.1:1/during.${published++}`);
      await sleep(250);
    }
    lab.healData('h1');
    const healedAt = Date.now();

    const now = await eventually(
      subscribers,
      (s) => s.some((c) => c.id !== first.id && c.sub === 1),
      'a new discovery subscriber connection from h1, subscribed',
      RESUBSCRIBED_WITHIN_MS,
      50,
    );
    figure(
      `subscriber cut ${CUT_MS} ms (${published} notices published meanwhile): a new subscribed connection ` +
        `${Date.now() - healedAt} ms after the heal; connections from h1 named ${SUBSCRIBER_NAME}: ${now.length}`,
    );
    const stats = await sdk.stats();
    figure(`the sdk's heartbeat reopened its subscriber ${stats.watch.reopened} time(s)`);
    figure(`a notice after the heal arrived in ${await noticeArrives('a notice after the heal')} ms`);
  }, 90_000);
});
