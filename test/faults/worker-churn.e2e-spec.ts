import { EchoLoad } from '../support/echo-load';
import { exitWithin, sleep } from '../support/eventually';
import { byScale } from '../support/fault-scale';
import { latencySummary, mib } from '../support/figures';
import { GatewayProbe } from '../support/gateway-probe';
import { startGateway, startRegister, startWorker, stopAll, type RoleProcess } from '../support/roles';

/**
 * Fault scenario: worker churn under steady load. Two example (echo) workers serve clients that each send a
 * numbered message at a fixed rate; one worker after the other is stopped and replaced, again and again, in turn with
 * SIGKILL, SIGTERM, and SIGSTOP followed by SIGKILL (a worker that hangs with events in flight, then dies). Exact
 * accounting at the end: every message sent came back exactly once, in order per client, and no client was
 * disconnected. SIGTERM drains (nothing to redeliver); a killed worker's unacknowledged events are redelivered by the
 * gateway to the other worker (the hung one always has some); a reply and its acknowledgement leave a worker in one
 * write (one encrypted record), so even then no message is answered twice.
 *
 * FAULT_SCALE=long: more cycles, clients and time under load between them.
 */

const CYCLES = byScale({ short: 6, long: 30 });
const HANG_MS = 300; // SIGSTOP → SIGKILL: events pile up unacknowledged at the hung worker
const CLIENTS = byScale({ short: 10, long: 30 });
const INTERVAL_MS = 20; // every client sends one message per 20 ms: 50 messages/s each
const SETTLE_MS = byScale({ short: 500, long: 1_500 }); // load on two workers between cycles

describe('fault: worker churn under steady load', () => {
  let load: EchoLoad | null = null;
  let probe: GatewayProbe | null = null;

  afterEach(async () => {
    load?.close();
    load = null;
    await probe?.close();
    probe = null;
    await stopAll();
  });

  it(
    `${CYCLES} cycles of SIGKILL, SIGTERM or SIGSTOP+SIGKILL and a replacement: every message echoed exactly once, in order, no client lost`,
    async () => {
      const started = performance.now();
      const register = await startRegister();
      const gateway = await startGateway(register.address);
      probe = await GatewayProbe.start(register.address);
      const workers: RoleProcess[] = [
        await startWorker(register.address, { WORKER_NAME: 'churn-0' }, gateway.inner),
        await startWorker(register.address, { WORKER_NAME: 'churn-1' }, gateway.inner),
      ];
      const before = await probe.workers(gateway.inner, 2);
      load = await EchoLoad.open(gateway.url, CLIENTS);
      load.start(INTERVAL_MS);
      await sleep(SETTLE_MS);

      const noticed: number[] = []; // SIGKILL / SIGTERM → the gateway counts one worker
      const drained: number[] = []; // SIGTERM → exit 0
      const replaced: number[] = []; // replacement started → the gateway counts two workers
      const signals = { SIGKILL: 0, SIGTERM: 0, 'SIGSTOP+SIGKILL': 0 };
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const victim = workers.shift()!; // the older one
        const how = (['SIGKILL', 'SIGTERM', 'SIGSTOP+SIGKILL'] as const)[cycle % 3];
        signals[how]++;
        if (how === 'SIGSTOP+SIGKILL') {
          victim.child.kill('SIGSTOP');
          await sleep(HANG_MS);
        }
        const t0 = performance.now();
        if (how === 'SIGTERM') {
          victim.child.kill('SIGTERM');
          expect(await exitWithin(victim, 45_000)).toBe(0);
          drained.push(performance.now() - t0);
          expect(victim.output).toMatch(/drained: every event received was handled and acknowledged/);
        } else {
          await victim.kill();
        }
        await probe.workers(gateway.inner, 1);
        noticed.push(performance.now() - t0);
        const t1 = performance.now();
        workers.push(await startWorker(register.address, { WORKER_NAME: `churn-${cycle + 2}` }, gateway.inner));
        await probe.workers(gateway.inner, 2);
        replaced.push(performance.now() - t1);
        await sleep(SETTLE_MS);
      }
      load.stop();
      await load.waitForAllEchoes(30_000);
      const after = await probe.until(gateway.inner, () => true, 'statistics');

      const redelivered = after.counters.eventsRedelivered - before.counters.eventsRedelivered;
      const duplicates = load.duplicates();
      const received = load.clients.reduce((n, c) => n + c.received.length, 0);
      console.log(
        `fault worker-churn: ${CYCLES} cycles (${Object.entries(signals)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ')}), ${CLIENTS} clients at ` +
          `${1000 / INTERVAL_MS} msg/s each; sent ${load.totalSent}, received ${received}, duplicates ${duplicates}, ` +
          `disconnects ${load.clients.filter((c) => c.closeCode !== null).length}; ` +
          `events redelivered ${redelivered}; ` +
          `gateway noticed the worker gone ${latencySummary(noticed)}, SIGTERM drain ${latencySummary(drained)}, ` +
          `replacement linked ${latencySummary(replaced)}; gateway rss ${mib(before.memoryRss)} → ${mib(after.memoryRss)}; ` +
          `${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      expect(load.totalSent).toBeGreaterThan(CLIENTS * CYCLES * 10); // the load really ran through the churn
      for (let i = 0; i < load.clients.length; i++) {
        expect(load.clients[i].closeCode).toBeNull();
        expect(load.received(i)).toEqual(load.sent[i]); // exactly once, in order
      }
      expect(after.connections).toBe(CLIENTS);
      // The hung workers died with events unacknowledged: the redelivery path was taken, and still no duplicate.
      expect(redelivered).toBeGreaterThan(0);
    },
    byScale({ short: 180_000, long: 900_000 }),
  );
});
