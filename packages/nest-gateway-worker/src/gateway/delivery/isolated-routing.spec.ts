import type { GatewayFrame } from '../../protocol/frame';
import type { InnerLink } from '../../protocol/inner-link';
import { WorkerChannel } from './worker-channel';
import { WorkerRouter } from './worker-router';
import { bareClient } from '../testdata/test-clients';

/** A worker channel over an always-open link stand-in (routing reads only `isOpen`; nothing is sent). */
function worker(key: string): WorkerChannel {
  const link = { isOpen: true } as unknown as InnerLink<GatewayFrame>;
  return new WorkerChannel(key, '127.0.0.1', link);
}

let nextId = 1;
const client = () => bareClient(nextId++);
const BODY = Buffer.from('x');

describe('routing around isolated events (an event one death short of the limit goes alone)', () => {
  it('a worker with an isolated event outstanding takes nothing else, its own clients wait, until it acknowledges it', () => {
    const router = new WorkerRouter();
    const [a, b] = [worker('a'), worker('b')];
    router.add(a);
    router.add(b);
    const [mine, suspect] = [client(), client()];
    expect(router.route(mine)).toBe(a);
    expect(router.route(suspect, true)).toBe(b);
    const seq = b.track(suspect, 3, 0, BODY, Date.now(), 2, true);
    expect(b.isolating).toBe(true);
    expect(router.route(suspect)).toBeUndefined(); // its next event waits behind it
    expect(router.route(client())).toBe(a); // newcomers go elsewhere
    expect(router.route(client())).toBe(a);
    b.acknowledge(seq, seq, Date.now());
    expect(b.isolating).toBe(false);
    expect(router.route(suspect)).toBe(b);
  });

  it('a worker an isolated event waits for (awaitingIdle) takes no ordinary event, but the isolated one may go to it', () => {
    const router = new WorkerRouter();
    const a = worker('a');
    router.add(a);
    const [busy, suspect] = [client(), client()];
    expect(router.route(busy)).toBe(a);
    expect(router.route(suspect, true)).toBe(a);
    a.awaitingIdle = true;
    expect(router.route(busy)).toBeUndefined();
    expect(router.route(client())).toBeUndefined();
    expect(router.route(suspect, true)).toBe(a);
  });

  it('a new pick for an isolated event prefers a worker with nothing unacknowledged', () => {
    const router = new WorkerRouter();
    const [a, b] = [worker('a'), worker('b')];
    router.add(a);
    router.add(b);
    a.track(client(), 3, 0, BODY, Date.now()); // a is busy, yet has fewer clients
    b.assigned = 5;
    expect(router.route(client())).toBe(a);
    expect(router.route(client(), true)).toBe(b);
  });

  it('a link loss clears the isolation with the unacknowledged events it hands back, their deaths kept', () => {
    const a = worker('a');
    const c = client();
    a.track(c, 3, 0, BODY, 1, 2, true);
    const [e] = a.takeUnacked();
    expect([e.deaths, a.isolating, c.unacked]).toEqual([2, false, 0]);
  });
});
