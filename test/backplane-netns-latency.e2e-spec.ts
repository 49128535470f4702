import { eventually } from './support/eventually';
import { LatencyProxy } from './support/latency-proxy';
import { batchReceived } from './support/netns-cluster';
import { BackplaneCluster } from './support/netns-backplane-cluster';

/**
 * The Redis backplane across hosts (network namespaces) with latency in front of Redis: the kernel here has no
 * `tc netem`, so every process reaches Redis through a LatencyProxy (test/support/latency-proxy.ts, in the root
 * namespace on the data bridge). With a one-way delay well below the directory budget (GATEWAY_BACKPLANE_TIMEOUT_MS,
 * 250 ms here) the sends stay targeted; with a round trip over the budget every send falls back to the full mesh (each one
 * counted) and none is lost; with the delay gone, targeting resumes. Exact counts; figures printed for the report.
 */

const LEASE_MS = 3_000;
/**
 * The sender's directory budget here: larger than the default 50 ms, so that a loaded machine (the proxy runs in this
 * test's own process) cannot push a 10 ms round trip over it.
 */
const BUDGET_MS = 250;
/** One-way delays: a round trip of 10 ms (well below the budget), then of 400 ms (over it). */
const LOW_DELAY_MS = 5;
const HIGH_DELAY_MS = 200;

function figure(text: string): void {
  console.log(`[netns figures] ${text}`);
}

describe('backplane across hosts: latency between every host and Redis (a TCP latency proxy)', () => {
  let proxy: LatencyProxy | undefined;
  const c = new BackplaneCluster({
    leaseMs: LEASE_MS,
    clientTimeoutMs: 3_000,
    // The directory cache off: this measures every send's directory read against the budget.
    sdkEnv: { GATEWAY_BACKPLANE_TIMEOUT_MS: String(BUDGET_MS), GATEWAY_BACKPLANE_CACHE: 'false' },
    redisUrlFor: async (redis, lab) => {
      proxy = await LatencyProxy.start(lab.dataAddress, { host: redis.host, port: redis.port });
      return proxy.url;
    },
  });

  beforeAll(() => c.start(), 90_000);
  afterAll(async () => {
    await c.stop();
    await proxy?.close();
  }, 30_000);

  it('targeted below the budget, the mesh (counted, nothing lost) above it, targeted again after', async () => {
    const [g1, g2] = c.gateways;
    const [x1] = await c.openClients(g1, 1);
    const [x2] = await c.openClients(g2, 1);
    await c.bind([
      { id: x1.id, uid: 'u1' },
      { id: x2.id, uid: 'u2' },
    ]);
    // Every backplane connection goes through the proxy.
    expect(proxy!.accepted).toBeGreaterThanOrEqual(2 * 1 + 2 * 2);

    /** 200 sends to u1 and u2 (100 each) at `delayMs`; checks delivery, returns the counters' deltas. */
    const phase = async (name: string, delayMs: number) => {
      proxy!.delayMs = delayMs;
      const stats = await c.sdk.stats();
      const before = await c.sdk.uidCommands();
      const sent = await c.sdk.sendMany(['u1', 'u2'], 200, name);
      expect(sent.sent).toBe(200);
      const got = await eventually(
        () => c.clients.received(),
        (r) =>
          batchReceived(r[x1.index].received, name, 'u1').count === 100 &&
          batchReceived(r[x2.index].received, name, 'u2').count === 100,
        `the ${name} batch`,
        20_000,
      );
      expect(batchReceived(got[x1.index].received, name, 'u1')).toEqual({ count: 100, dups: 0, inOrder: true });
      expect(batchReceived(got[x2.index].received, name, 'u2')).toEqual({ count: 100, dups: 0, inOrder: true });
      const after = await c.sdk.stats();
      const result = {
        fallbacks: after.backplane.fallbacks - stats.backplane.fallbacks,
        reads: after.backplane.reads - stats.backplane.reads,
        commands: BackplaneCluster.delta(await c.sdk.uidCommands(), before),
      };
      figure(
        `${name} (one-way +${delayMs} ms): 200 sends in ${sent.ms} ms (${(sent.ms / 200).toFixed(2)} ms each), ` +
          `${result.fallbacks} fallbacks, ${result.reads} reads, uidCommands ${JSON.stringify(result.commands)}`,
      );
      return result;
    };

    // Well below the budget: every read answers, each send reaches its holder only.
    expect(await phase('low', LOW_DELAY_MS)).toEqual({
      fallbacks: 0,
      reads: 200,
      commands: { [g1.inner]: 100, [g2.inner]: 100 },
    });
    // Over the budget: no read answers in time, every send goes to both gateways (the mesh).
    expect(await phase('high', HIGH_DELAY_MS)).toEqual({
      fallbacks: 200,
      reads: 0,
      commands: { [g1.inner]: 200, [g2.inner]: 200 },
    });
    // The delay gone: targeting resumes once the breaker lets a read through (after 1 s).
    proxy!.delayMs = 0;
    const clearedAt = Date.now();
    let probes = 0;
    await eventually(
      async () => {
        const r0 = (await c.sdk.stats()).backplane.reads;
        await c.sdk.value('sendToUid', 'u1', `probe|${probes++}`);
        return (await c.sdk.stats()).backplane.reads - r0;
      },
      (d) => d === 1,
      'a directory read answers again',
      20_000,
      100,
    );
    figure(`latency removed: reads answer again ${Date.now() - clearedAt} ms later (${probes} probes)`);
    expect(await phase('again', 0)).toEqual({
      fallbacks: 0,
      reads: 200,
      commands: { [g1.inner]: 100, [g2.inner]: 100 },
    });
    // The gateways kept their leases through it (renewed every third of a lease, round trips of 400 ms).
    expect(c.gateways.every((g) => g.proc.running)).toBe(true);
    expect((await c.sdk.stats(c.gateways.map((g) => g.inner))).synced).toEqual({
      [g1.inner]: true,
      [g2.inner]: true,
    });
  }, 120_000);
});
