import { MessageBody, OnClientMessage } from 'nest-gateway-worker';
import { parseHostPort } from 'nest-gateway-worker/internal';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { EchoLoad } from './support/echo-load';
import { startInProcessWorker } from './support/in-process-worker';
import { startGateway, startRegister, startWorker, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';

/** An echo that takes `delayMs` per message (one client's messages are handled one after another). */
function delayedEcho(delayMs: number) {
  @Controller()
  class DelayedEchoController {
    @OnClientMessage()
    async echo(@MessageBody() message: string): Promise<string> {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
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

  afterEach(async () => {
    load?.close();
    load = null;
    for (const app of apps.splice(0)) await app.close();
    await stopAll();
  });

  async function terminate(worker: RoleProcess): Promise<void> {
    worker.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      worker.exited.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 30_000))),
    ]);
    clearTimeout(timer);
    if (!exited) throw new Error(`worker pid ${worker.child.pid} did not exit within 30 s of SIGTERM; output:\n${worker.output}`);
  }

  it('echoes every message exactly once and in order while each of 2 workers is restarted in turn', async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address);
    const workers = [
      await startWorker(register.address, { WORKER_NAME: 'first' }, gateway.inner),
      await startWorker(register.address, { WORKER_NAME: 'second' }, gateway.inner),
    ];
    await gateway.proc.waitFor(/worker second:\S+ connected .*\(2 worker\(s\)\)/);
    load = await EchoLoad.open(gateway.url, 20);
    load.start(20);
    await new Promise((r) => setTimeout(r, 1_000));

    for (const [k, name] of ['first', 'second'].entries()) {
      const old = workers[k];
      await terminate(old);
      expect(old.output).toMatch(/drained: every event received was handled and acknowledged/);
      await gateway.proc.waitFor(new RegExp(`worker ${name}:\\S+ is draining`));
      workers[k] = await startWorker(register.address, { WORKER_NAME: `${name}-new` }, gateway.inner);
      await gateway.proc.waitFor(new RegExp(`worker ${name}-new:\\S+ connected`));
      await new Promise((r) => setTimeout(r, 1_000)); // load keeps running on the new pair
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
    expect(gateway.proc.output).not.toMatch(/went away with \d+ unacknowledged/);
    console.log(`rolling restart: ${total} messages sent, ${total} echoed, 0 duplicates, 0 disconnects`);
  }, 120_000);

  it('keeps order and exactly-once when the draining worker still has events of its clients in flight', async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address);
    const worker = async (name: string, delayMs: number): Promise<INestMicroservice> => {
      const { app } = await startInProcessWorker([delayedEcho(delayMs)], {
        registers: [parseHostPort('REGISTER_ADDRESS', register.address)],
        secret: Buffer.from(TEST_SECRET),
        name,
      });
      apps.push(app);
      await gateway.proc.waitFor(new RegExp(`worker ${name}:\\S+ connected`));
      return app;
    };
    // Slow workers fall behind (a message every 20 ms, 30 ms to handle one): each client has a backlog of
    // unacknowledged events at its worker when that worker drains, and the replacements answer at once, so a
    // client moved before its backlog is acknowledged would see newer echoes overtake older ones.
    const workers = [await worker('slow1', 30), await worker('slow2', 30)];
    load = await EchoLoad.open(gateway.url, 10);
    load.start(20);
    await new Promise((r) => setTimeout(r, 1_000));
    for (const [k, name] of ['slow1', 'slow2'].entries()) {
      const old = workers[k];
      apps.splice(apps.indexOf(old), 1);
      await old.close(); // GatewayTransport.close(): the drain
      workers[k] = await worker(`${name}-new`, 0);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    load.stop();
    await load.waitForAllEchoes(20_000);
    for (let i = 0; i < load.clients.length; i++) {
      expect(load.clients[i].closeCode).toBeNull();
      expect(load.received(i)).toEqual(load.sent[i]);
    }
    // The hand-over really had to wait for acks: some draining worker had unacknowledged events of its clients.
    const waited = [...gateway.proc.output.matchAll(/is draining: .* once their (\d+) unacknowledged event/g)].map((m) => Number(m[1]));
    expect(waited).toHaveLength(2);
    expect(Math.max(...waited)).toBeGreaterThan(0);
    expect(gateway.proc.output).not.toMatch(/went away with \d+ unacknowledged/);
  }, 120_000);
});
