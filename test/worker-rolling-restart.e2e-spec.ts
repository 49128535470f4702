import { EchoLoad } from './support/echo-load';
import { startGateway, startRegister, startWorker, stopAll, type RoleProcess } from './support/roles';

/**
 * A rolling restart of every worker under steady load loses no message, duplicates none, keeps each client's
 * order and disconnects no client: each worker drains on SIGTERM (the gateway stops sending it events and moves
 * its clients once their events are acknowledged), and its replacement joins before the next one goes.
 */
describe('rolling restart of the workers under load', () => {
  let load: EchoLoad | null = null;

  afterEach(async () => {
    load?.close();
    load = null;
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
});
