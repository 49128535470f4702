import { EchoLoad } from '../support/echo-load';
import { exitWithin, sleep } from '../support/eventually';
import { byScale } from '../support/fault-scale';
import { latencySummary, mib } from '../support/figures';
import { GatewayProbe } from '../support/gateway-probe';
import { startGateway, startRegister, startWorker, stopAll, type RoleProcess } from '../support/roles';
import { TestClient } from '../support/ws-client';

/**
 * Fault scenario: the register is lost (SIGKILL) while clients talk to the workers, and a new worker is started
 * during the outage. Running traffic does not depend on the register: every message keeps coming back. The new
 * worker cannot know the gateway yet (it is not linked while the register is down); once the register is back on
 * its address, the gateway announces itself again and the new worker learns it and links. The old worker is then
 * stopped (SIGTERM, drained), so the clients, and a client that connects afterwards, are served by the worker that
 * was started in the dark. Exact accounting at the end: sent = received, no duplicate, order per client.
 *
 * FAULT_SCALE=long: several outages in a row, each with its own new worker, and longer ones.
 */

const OUTAGES = byScale({ short: 1, long: 4 });
const OUTAGE_MS = byScale({ short: 2_000, long: 6_000 });
const CLIENTS = byScale({ short: 5, long: 20 });
const INTERVAL_MS = 25;

describe('fault: register loss', () => {
  let load: EchoLoad | null = null;
  let probe: GatewayProbe | null = null;
  const clients: TestClient[] = [];

  afterEach(async () => {
    load?.close();
    load = null;
    for (const c of clients.splice(0)) c.close();
    await probe?.close();
    probe = null;
    await stopAll();
  });

  it(
    `${OUTAGES} register outage(s) with a worker started during each: traffic flows, the new worker links once the register is back`,
    async () => {
      const started = performance.now();
      let register = await startRegister();
      const address = register.address;
      const gateway = await startGateway(address);
      probe = await GatewayProbe.start(address);
      let current: RoleProcess = await startWorker(address, { WORKER_NAME: 'before' }, gateway.inner);
      const before = await probe.workers(gateway.inner, 1);
      load = await EchoLoad.open(gateway.url, CLIENTS);
      load.start(INTERVAL_MS);
      await sleep(500);

      const linkedAfterReturn: number[] = [];
      for (let outage = 0; outage < OUTAGES; outage++) {
        await register.proc.kill();
        const sentBefore = load.totalSent;
        const dark = await startWorker(address, { WORKER_NAME: `dark-${outage}` });
        await dark.waitFor(/register \S+ unreachable/, 20_000);
        await sleep(OUTAGE_MS);
        // The SDK's link to the gateway outlives the register: the gateway answers, and still counts one worker.
        expect((await probe.stats(gateway.inner))?.workers).toBe(1);
        expect(load.totalSent - sentBefore).toBeGreaterThan(CLIENTS * 10); // the clients kept sending meanwhile

        register = await startRegister({ REGISTER_LISTEN: address });
        const back = performance.now();
        await probe.workers(gateway.inner, 2, 45_000); // the reconnect backoff has grown during the outage
        linkedAfterReturn.push(performance.now() - back);

        // The worker from before goes (drained): from now on only the one started in the dark serves.
        current.child.kill('SIGTERM');
        expect(await exitWithin(current, 45_000)).toBe(0);
        await probe.workers(gateway.inner, 1);
        current = dark;
        const late = await TestClient.open(gateway.url, {}, 10_000);
        clients.push(late);
        late.send(JSON.stringify({ type: 'process' }));
        expect(JSON.parse(await late.text(0, 10_000))).toMatchObject({ type: 'process', pid: dark.child.pid });
        await sleep(500);
      }
      load.stop();
      await load.waitForAllEchoes(30_000);
      const after = await probe.until(gateway.inner, () => true, 'statistics');

      const received = load.clients.reduce((n, c) => n + c.received.length, 0);
      console.log(
        `fault register-loss: ${OUTAGES} outage(s) of ${OUTAGE_MS} ms + the new worker's start, ${CLIENTS} clients at ` +
          `${1000 / INTERVAL_MS} msg/s each; sent ${load.totalSent}, received ${received}, duplicates ${load.duplicates()}, ` +
          `disconnects ${load.clients.filter((c) => c.closeCode !== null).length}; the worker started during the outage ` +
          `linked ${latencySummary(linkedAfterReturn)} after the register was back; gateway rss ${mib(before.memoryRss)} → ` +
          `${mib(after.memoryRss)}; ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      for (let i = 0; i < load.clients.length; i++) {
        expect(load.clients[i].closeCode).toBeNull();
        expect(load.received(i)).toEqual(load.sent[i]); // exactly once, in order
      }
      expect(after.counters.eventsRedelivered).toBe(before.counters.eventsRedelivered); // drains only, nothing redone
    },
    byScale({ short: 120_000, long: 600_000 }),
  );
});
