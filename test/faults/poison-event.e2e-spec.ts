import type { DeadLetter } from 'nest-gateway-worker';
import { eventually, within } from '../support/eventually';
import { GatewayProbe } from '../support/gateway-probe';
import { startGateway, startRegister, stopAll } from '../support/roles';
import { TestClient } from '../support/ws-client';
import { PoisonWorkers } from './support/poison-workers';

/** GATEWAY_MAX_EVENT_DEATHS of the gateway under test. */
const MAX_DEATHS = 3;
/** Restarts at most: without the bound the poison would kill workers for ever; the test still ends. */
const MAX_RESTARTS = 10;
/** The bystander's pace, one message every this many ms, all through the scenario. */
const BYSTANDER_INTERVAL_MS = 20;

/**
 * A poison event: a handler that kills its worker (`process.exit(1)`) for one message type. Real register, gateway
 * and worker processes; the test restarts each worker that dies, as a supervisor would. The gateway must stop after
 * GATEWAY_MAX_EVENT_DEATHS deaths (3): the event goes once to an `@OnDeadLetter()` handler, never again to the one
 * that dies on it; its client is closed with 4010. Another client (the bystander) sends all along and loses
 * nothing: every message echoed once, in order. Two set-ups:
 *  - two workers: the bystander on one, the poisoned client on the other; the poison moves to the bystander's worker
 *    and kills it too, so the bystander's events in flight die with it;
 *  - one worker: everything rides with the poison: the bystander's events held while no worker is up go out with it
 *    to each new worker. Without the isolation of an event one death short of the limit, some of them reach the
 *    limit beside it and are dead-lettered too (seen: two dead letters instead of one).
 */
describe('a poison event: a handler that kills its worker', () => {
  let workers: PoisonWorkers | null = null;
  let probe: GatewayProbe | null = null;
  const clients: TestClient[] = [];
  let timer: NodeJS.Timeout | undefined;

  afterEach(async () => {
    clearInterval(timer);
    for (const c of clients.splice(0)) c.close();
    await workers?.stop();
    workers = null;
    await probe?.close();
    probe = null;
    await stopAll();
  });

  it.each([
    ['two workers', ['alpha', 'beta']],
    ['one worker', ['alpha']],
  ])(
    `%s: kills exactly ${MAX_DEATHS}, reaches @OnDeadLetter() once, closes its client with 4010; another client loses nothing`,
    async (setUp, names) => {
      const register = await startRegister();
      const gateway = await startGateway(register.address, { GATEWAY_MAX_EVENT_DEATHS: String(MAX_DEATHS) });
      probe = await GatewayProbe.start(register.address);
      workers = new PoisonWorkers(register.address, names, MAX_RESTARTS);
      await probe.workers(gateway.inner, names.length, 30_000);

      // The bystander connects first (so it sits on one worker, the poisoned client on the other) and sends all along.
      const bystander = await TestClient.open(gateway.url);
      const poisoned = await TestClient.open(gateway.url);
      clients.push(bystander, poisoned);
      poisoned.send('{"type":"whoami"}');
      const poisonedId = (JSON.parse(await poisoned.text(0, 10_000)) as { clientId: string }).clientId;
      const sent: string[] = [];
      timer = setInterval(() => {
        const m = `b-${sent.length + 1}`;
        sent.push(m);
        bystander.send(m);
      }, BYSTANDER_INTERVAL_MS);
      await bystander.waitForMessages(10, 10_000); // flowing

      const t0 = Date.now();
      poisoned.send('{"type":"poison"}');

      // The dead letter reaches an @OnDeadLetter() handler, once.
      const deadLetterLines = () => workers!.lines().filter((l) => l.startsWith('DEAD LETTER '));
      // Until a dead letter arrives, or the restarts run out (then the poison went round without a bound).
      await eventually(
        () => ({ letters: deadLetterLines().length, deaths: workers!.deaths.length }),
        (seen) => seen.letters > 0 || seen.deaths >= MAX_RESTARTS,
        'a dead letter',
        60_000,
        100,
      );
      expect({ letters: deadLetterLines().length, deaths: workers.deaths }).toEqual({
        letters: 1,
        deaths: Array(MAX_DEATHS).fill(1), // by the poison's exit(1)
      });
      const timeToDeadLetter = Date.now() - t0;
      const letter = JSON.parse(deadLetterLines()[0].slice('DEAD LETTER '.length)) as Omit<DeadLetter, 'body'> & {
        body: string;
      };
      expect(letter).toEqual({
        clientId: poisonedId,
        kind: 'message',
        body: '{"type":"poison"}',
        size: 17,
        binary: false,
        deaths: MAX_DEATHS,
        uid: null,
        gatewayAddress: gateway.inner,
      });

      // The poisoned client is closed with the dead-letter code.
      await within(poisoned.closed, 'the poisoned client to be closed', 10_000);
      expect([poisoned.closeCode, poisoned.closeReason]).toEqual([4010, 'event could not be handled']);

      // Bounded, not a loop: the cluster is whole again, counts one dead letter, and the bystander goes on while
      // nothing dies any more.
      const stats = await probe.until(
        gateway.inner,
        (s) => s.workers === names.length && s.counters.deadLetteredEvents === 1,
        'every worker up again and one dead letter',
        30_000,
      );
      const deathsAtRecovery = workers.deaths.length;
      const sentAtRecovery = sent.length;
      await bystander.waitForMessages(sentAtRecovery + 25, 10_000);
      clearInterval(timer);
      await bystander.waitForMessages(sent.length, 15_000);

      const echoed = bystander.received.map((m) => m.data.toString('utf8'));
      const deaths = workers.deaths.length;
      console.log(
        `poison event, ${setUp}: ${deaths} worker deaths (exit codes ${workers.deaths.join(', ')}), dead letter after ` +
          `${timeToDeadLetter} ms with ${letter.deaths} deaths; bystander: ${sent.length} sent, ${echoed.length} ` +
          `echoed, ${echoed.length - new Set(echoed).size} duplicate(s); gateway: ` +
          `${stats.counters.eventsRedelivered} event(s) redelivered, ${stats.counters.deadLetteredEvents} dead-lettered`,
      );
      expect(deaths).toBe(MAX_DEATHS);
      expect(deathsAtRecovery).toBe(MAX_DEATHS);
      expect(workers.deaths).toEqual(Array(MAX_DEATHS).fill(1)); // every one of them by the poison's exit(1)
      expect(deadLetterLines()).toHaveLength(1);
      expect(echoed).toEqual(sent); // all, once each, in order
      expect(bystander.closeCode).toBeNull();
      // The gateway says so with the client_id and the size, never the body.
      const gatewayLines = gateway.proc.lines;
      expect(gatewayLines.filter((l) => l.includes(`client ${poisonedId}: its message event (17 bytes)`))).toHaveLength(
        1,
      );
      expect(gatewayLines.filter((l) => l.includes('"type":"poison"'))).toEqual([]);
      const final = await probe.until(gateway.inner, () => true, 'statistics');
      expect([final.counters.deadLetteredEvents, final.counters.deadLettersDropped]).toEqual([1, 0]);
    },
    150_000,
  );
});
