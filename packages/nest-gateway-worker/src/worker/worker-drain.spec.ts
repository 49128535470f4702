import { Logger } from '@nestjs/common';
import { Cmd } from '../protocol/command';
import { decodeFrame } from '../protocol/frame';
import { ClientTracker } from './client-tracker';
import { WorkerDrain, type DrainLinks, type EventsInFlight } from './worker-drain';

/**
 * The drain's links port records what it is asked to send (only WorkerDraining is expected); the events in flight
 * are a real ClientTracker. Real timers, short deadlines, no timing assertions.
 */
function setup(open: string[], timeoutMs = 5_000) {
  const asked: string[] = [];
  const links: DrainLinks = {
    openAddresses: () => [...open],
    send: (address, bytes) => {
      expect(decodeFrame(bytes).cmd).toBe(Cmd.WorkerDraining);
      if (!open.includes(address)) return false;
      asked.push(address);
      return true;
    },
  };
  const tracker = new ClientTracker();
  let flushes = 0;
  const events: EventsInFlight = {
    get inFlight() {
      return tracker.inFlight;
    },
    whenIdle: () => tracker.whenIdle(),
    flushAcks: () => void flushes++,
  };
  const drain = new WorkerDrain(links, events, timeoutMs);
  const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  return { drain, asked, tracker, open, log, warn, flushes: () => flushes };
}

/** Whether `promise` has settled after the current turn's microtasks and one macrotask. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

afterEach(() => jest.restoreAllMocks());

describe('WorkerDrain', () => {
  it('before the worker listens: resolves without asking any gateway, and stays that promise', async () => {
    const t = setup(['10.0.0.1:2000']);
    const first = t.drain.drain();
    expect(t.drain.drain()).toBe(first);
    await first;
    expect(t.asked).toEqual([]);
  });

  it('with no gateway linked: done as soon as the events in flight are, without waiting for the deadline', async () => {
    const t = setup([], 60_000);
    t.drain.start();
    await t.drain.drain(); // a wait for answers would hold this test until jest's timeout
    expect(t.asked).toEqual([]);
    expect(t.warn).not.toHaveBeenCalled();
  });

  it('asks every linked gateway, resolves once each answered and the events in flight finished, then flushes the acks', async () => {
    const t = setup(['10.0.0.1:2000', '10.0.0.2:2000']);
    t.drain.start();
    let release!: () => void;
    t.tracker.schedule('7f00000107d000000001', () => new Promise<void>((resolve) => (release = resolve)));
    const done = t.drain.drain();
    expect(t.drain.drain()).toBe(done);
    expect(t.asked).toEqual(['10.0.0.1:2000', '10.0.0.2:2000']);
    t.drain.answered('10.0.0.1:2000');
    expect(await settled(done)).toBe(false);
    t.drain.answered('10.0.0.2:2000');
    expect(await settled(done)).toBe(false); // one handler still runs
    expect(t.flushes()).toBe(0);
    release();
    await done;
    expect(t.flushes()).toBe(1);
    expect(t.log).toHaveBeenLastCalledWith('drained: every event received was handled and acknowledged');
  });

  it('asks a gateway that links during the drain; a gateway whose link goes needs no answer', async () => {
    const t = setup(['10.0.0.1:2000']);
    t.drain.start();
    const done = t.drain.drain();
    t.open.push('10.0.0.3:2000');
    t.drain.gatewayChanged('10.0.0.3:2000', 'up');
    expect(t.asked).toEqual(['10.0.0.1:2000', '10.0.0.3:2000']);
    t.drain.gatewayChanged('10.0.0.1:2000', 'down');
    expect(await settled(done)).toBe(false);
    t.drain.answered('10.0.0.3:2000');
    await done;
    expect(t.warn).not.toHaveBeenCalled();
  });

  it('gives up at the deadline, naming the gateways that did not answer and counting the unfinished events', async () => {
    const t = setup(['10.0.0.1:2000'], 50);
    t.drain.start();
    t.tracker.schedule('7f00000107d000000001', () => new Promise<void>(() => undefined));
    await t.drain.drain();
    expect(t.warn).toHaveBeenCalledWith(
      'drain timed out after 50 ms (gateway(s) 10.0.0.1:2000 did not answer) with 1 event(s) unfinished; the gateways send them to other workers',
    );
    expect(t.flushes()).toBe(1); // what did finish is still acknowledged
  });

  it('ignores link changes and answers when no drain runs', async () => {
    const t = setup(['10.0.0.1:2000'], 50);
    t.drain.start();
    t.drain.gatewayChanged('10.0.0.1:2000', 'up');
    t.drain.answered('10.0.0.1:2000');
    expect(t.asked).toEqual([]);
    await t.drain.drain();
    expect(t.asked).toEqual(['10.0.0.1:2000']);
    // The answer given before the drain did not count for it.
    expect(t.warn).toHaveBeenCalledWith('drain timed out after 50 ms (gateway(s) 10.0.0.1:2000 did not answer)');
  });
});
