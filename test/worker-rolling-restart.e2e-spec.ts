import { GatewayClient, MessageBody, OnClientMessage } from 'nest-gateway-worker';
import { parseHostPort } from 'nest-gateway-worker/internal';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { EchoLoad } from './support/echo-load';
import { exitWithin, sleep } from './support/eventually';
import { GatewayProbe } from './support/gateway-probe';
import { startInProcessWorker } from './support/in-process-worker';
import { startGateway, startRegister, startWorker, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';

/** An echo that takes `delayMs` per message (one client's messages are handled one after another). */
function delayedEcho(delayMs: number) {
  @Controller()
  class DelayedEchoController {
    @OnClientMessage()
    async echo(@MessageBody() message: string): Promise<string> {
      if (delayMs > 0) await sleep(delayMs);
      return message;
    }
  }
  return DelayedEchoController;
}

/**
 * A rolling restart of every worker under steady load loses no message, duplicates none, keeps each client's
 * order and disconnects no client: each worker drains on SIGTERM (the gateway stops sending it events and moves
 * its clients once their events are acknowledged), and its replacement joins before the next one goes.
 */
describe('rolling restart of the workers under load', () => {
  let load: EchoLoad | null = null;
  const apps: INestMicroservice[] = [];
  let probe: GatewayProbe | null = null;

  afterEach(async () => {
    load?.close();
    load = null;
    for (const app of apps.splice(0)) await app.close();
    await probe?.close();
    probe = null;
    await stopAll();
  });

  async function terminate(worker: RoleProcess): Promise<void> {
    worker.child.kill('SIGTERM');
    const code = await exitWithin(worker, 30_000);
    if (code === 'still running')
      throw new Error(`worker pid ${worker.child.pid} did not exit within 30 s of SIGTERM; output:\n${worker.output}`);
  }

  it('echoes every message exactly once and in order while each of 2 workers is restarted in turn', async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address);
    probe = await GatewayProbe.start(register.address);
    const workers = [
      await startWorker(register.address, { WORKER_NAME: 'first' }, gateway.inner),
      await startWorker(register.address, { WORKER_NAME: 'second' }, gateway.inner),
    ];
    await probe.workers(gateway.inner, 2);
    load = await EchoLoad.open(gateway.url, 20);
    load.start(20);
    await sleep(1_000);

    for (const [k, name] of ['first', 'second'].entries()) {
      const old = workers[k];
      await terminate(old);
      // The worker's own drain report, which operators read in a rolling restart.
      expect(old.output).toMatch(/drained: every event received was handled and acknowledged/);
      await probe.workers(gateway.inner, 1);
      workers[k] = await startWorker(register.address, { WORKER_NAME: `${name}-new` }, gateway.inner);
      await probe.workers(gateway.inner, 2);
      await sleep(1_000); // load keeps running on the new pair
    }
    load.stop();
    await load.waitForAllEchoes(20_000);

    const total = load.totalSent;
    expect(total).toBeGreaterThan(20 * 50); // the load really ran through both restarts
    for (let i = 0; i < load.clients.length; i++) {
      expect(load.clients[i].closeCode).toBeNull();
      expect(load.received(i)).toEqual(load.sent[i]); // exactly once, in order
    }
    // Nothing had to be redelivered: the drain handed every client over cleanly.
    expect((await probe.until(gateway.inner, () => true, 'statistics')).counters.eventsRedelivered).toBe(0);
    console.log(`rolling restart: ${total} messages sent, ${total} echoed, 0 duplicates, 0 disconnects`);
  }, 120_000);

  it('keeps order and exactly-once when the draining worker still has events of its clients in flight', async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address);
    probe = await GatewayProbe.start(register.address);
    const worker = async (name: string, delayMs: number): Promise<INestMicroservice> => {
      const { app } = await startInProcessWorker([delayedEcho(delayMs)], {
        registers: [parseHostPort('REGISTER_ADDRESS', register.address)],
        secret: Buffer.from(TEST_SECRET),
        name,
      });
      apps.push(app);
      await GatewayProbe.of(app.get(GatewayClient)).linked([gateway.inner]);
      return app;
    };
    // Slow workers fall behind (a message every 20 ms, 30 ms to handle one): each client has a backlog of
    // unacknowledged events at its worker when that worker drains, and the replacements answer at once, so a
    // client moved before its backlog is acknowledged would see newer echoes overtake older ones.
    const workers = [await worker('slow1', 30), await worker('slow2', 30)];
    load = await EchoLoad.open(gateway.url, 10);
    load.start(20);
    await sleep(1_000);
    for (const [k, name] of ['slow1', 'slow2'].entries()) {
      const old = workers[k];
      apps.splice(apps.indexOf(old), 1);
      await old.close(); // GatewayTransport.close(): the drain
      workers[k] = await worker(`${name}-new`, 0);
      await sleep(1_000);
    }
    load.stop();
    await load.waitForAllEchoes(20_000);
    for (let i = 0; i < load.clients.length; i++) {
      expect(load.clients[i].closeCode).toBeNull();
      expect(load.received(i)).toEqual(load.sent[i]);
    }
    // The hand-over really had to wait for acks: some draining worker had unacknowledged events of its clients.
    // Kept as a log assertion: no statistic counts the events a drain waited for.
    const waited = [...gateway.proc.output.matchAll(/is draining: .* once their (\d+) unacknowledged event/g)].map(
      (m) => Number(m[1]),
    );
    expect(waited).toHaveLength(2);
    expect(Math.max(...waited)).toBeGreaterThan(0);
    expect((await probe.until(gateway.inner, () => true, 'statistics')).counters.eventsRedelivered).toBe(0);
  }, 120_000);
});
