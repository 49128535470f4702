import { EchoLoad } from './support/echo-load';
import { sleep } from './support/eventually';
import { GatewayProbe } from './support/gateway-probe';
import { startGateway, startRegister, startWorker, stopAll } from './support/roles';

/**
 * A worker killed with SIGKILL under load: the gateway notices the closed link, moves the worker's clients to the
 * remaining worker and sends it again every event the dead worker had not acknowledged (at-least-once). Every
 * message is handled, the clients stay connected, and each client still sees its replies in order (a repeat may
 * appear: a reply that left the dead worker without its ack).
 */
describe('a worker killed with SIGKILL', () => {
  let load: EchoLoad | null = null;
  let probe: GatewayProbe | null = null;

  afterEach(async () => {
    load?.close();
    load = null;
    await probe?.close();
    probe = null;
    await stopAll();
  });

  it('loses no message: unacknowledged events go to another worker and the clients stay connected', async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address);
    probe = await GatewayProbe.start(register.address);
    const a = await startWorker(register.address, { WORKER_NAME: 'alpha' }, gateway.inner);
    const b = await startWorker(register.address, { WORKER_NAME: 'beta' }, gateway.inner);
    await probe.workers(gateway.inner, 2);
    load = await EchoLoad.open(gateway.url, 10);
    load.start(20);
    await sleep(1_000);

    // 1. Killed in the middle of steady load: whatever it had not acknowledged moves to beta.
    await a.kill();
    await probe.workers(gateway.inner, 1);
    await sleep(1_000);

    // 2. A worker that hangs with events in flight (SIGSTOP: it reads nothing, acknowledges nothing), then is
    //    killed: its unacknowledged events are certain to exist, and go to the replacement.
    const c = await startWorker(register.address, { WORKER_NAME: 'gamma' }, gateway.inner);
    await probe.workers(gateway.inner, 2);
    const before = (await probe.until(gateway.inner, () => true, 'statistics')).counters.eventsRedelivered;
    b.child.kill('SIGSTOP');
    await sleep(700);
    await b.kill();
    // The gateway noticed beta's link close (one worker left) and queued beta's unacknowledged events again.
    const after = await probe.until(
      gateway.inner,
      (s) => s.workers === 1 && s.counters.eventsRedelivered > before,
      'beta gone, its events redelivered',
    );
    const redelivered = after.counters.eventsRedelivered - before;
    await sleep(1_000);

    load.stop();
    await load.waitForAllEchoes(20_000);
    for (let i = 0; i < load.clients.length; i++) {
      expect(load.clients[i].closeCode).toBeNull();
      expect(load.firstOccurrences(i)).toEqual(load.sent[i]); // all handled, order kept (repeats aside)
    }
    expect(c.running).toBe(true);
    console.log(
      `SIGKILL: ${load.totalSent} messages sent, all echoed; ${redelivered} event(s) redelivered after the hung worker ` +
        `was killed; ${load.duplicates()} duplicate echo(es) (at-least-once)`,
    );
  }, 120_000);
});
