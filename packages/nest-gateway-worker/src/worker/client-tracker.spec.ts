import { ClientTracker } from './client-tracker';

const A = '7f00000107d000000001'; // gateway 127.0.0.1:2000, connection 1
const B = '7f00000107d100000001'; // gateway 127.0.0.1:2001, connection 1

describe('ClientTracker', () => {
  it("runs one client's tasks in order even when an earlier one is slower, other clients in parallel", async () => {
    const tracker = new ClientTracker();
    const log: string[] = [];
    const task = (name: string, ms: number) => () =>
      new Promise<void>((resolve) => setTimeout(() => (log.push(name), resolve()), ms));
    const done = [
      tracker.enqueue(A, task('a1', 30)),
      tracker.enqueue(A, task('a2', 0)),
      tracker.enqueue(B, task('b1', 0)),
    ];
    await Promise.all(done);
    expect(log).toEqual(['b1', 'a1', 'a2']);
  });

  it("runs an idle client's task at once; synchronous and asynchronous tasks of one client stay in order", async () => {
    const tracker = new ClientTracker();
    const log: string[] = [];
    tracker.schedule(A, () => void log.push('a1 sync'));
    expect(log).toEqual(['a1 sync']); // nothing was running for A: no microtask hop
    expect(tracker.inFlight).toBe(0);
    let release!: () => void;
    tracker.schedule(A, () => new Promise<void>((resolve) => (release = () => (log.push('a2 async'), resolve()))));
    tracker.schedule(A, () => void log.push('a3 sync'));
    tracker.schedule(A, () => {
      throw new Error('handler bug');
    });
    tracker.schedule(A, () => void log.push('a5 sync'));
    tracker.schedule(B, () => void log.push('b1 sync'));
    expect(log).toEqual(['a1 sync', 'b1 sync']);
    expect(tracker.inFlight).toBe(4);
    const idle = tracker.whenIdle();
    release();
    await idle;
    expect(log).toEqual(['a1 sync', 'b1 sync', 'a2 async', 'a3 sync', 'a5 sync']);
    expect(tracker.inFlight).toBe(0);
  });

  it('keeps the chain going after a task fails', async () => {
    const tracker = new ClientTracker();
    const ran: string[] = [];
    void tracker.enqueue(A, () => Promise.reject(new Error('handler bug')));
    await tracker.enqueue(A, async () => void ran.push('next'));
    expect(ran).toEqual(['next']);
  });

  it("gives events older than its own write-back the written session, newer ones the gateway's", async () => {
    const tracker = new ClientTracker();
    await tracker.enqueue(A, async () => {
      const first = tracker.session(A, { v: 4, session: { n: 1 } });
      expect(first).toEqual({ session: { n: 1 }, version: 4 });
      tracker.wrote(A, JSON.stringify({ n: 2 }), first.version);
    });
    // Sent by the gateway before it applied the write (version 4 < 5): stale, use ours.
    expect(tracker.session(A, { v: 4, session: { n: 1 } })).toEqual({ session: { n: 2 }, version: 5 });
    // The gateway has applied it (and maybe more writes): trust the gateway again.
    expect(tracker.session(A, { v: 6, session: { n: 2, other: true } })).toEqual({
      session: { n: 2, other: true },
      version: 6,
    });
    expect(tracker.session(A, { v: 4, session: { n: 1 } })).toEqual({ session: { n: 1 }, version: 4 });
  });

  it('gives a null session as an empty object', () => {
    expect(new ClientTracker().session(A, { v: 0, session: null }).session).toEqual({});
  });

  it('remembers the handshake from the first event and reuses it for later ones', async () => {
    const tracker = new ClientTracker();
    const hs = {
      listener: 'ws://127.0.0.1:0',
      protocol: 'ws',
      remoteAddress: '10.0.0.9',
      remotePort: 5000,
      url: '/?t=1',
      query: { t: '1' },
      headers: {},
    };
    await tracker.enqueue(A, async () => expect(tracker.handshake(A, hs)).toBe(hs));
    await tracker.enqueue(A, async () => expect(tracker.handshake(A, undefined)).toBe(hs));
    expect(tracker.handshake(B, undefined).remoteAddress).toBe('');
  });

  it('forgets a closed client, and every client of a gateway whose link went down', async () => {
    const tracker = new ClientTracker();
    await tracker.enqueue(A, async () => tracker.forget(A));
    expect(tracker.size).toBe(0);
    await Promise.all([tracker.enqueue(A, async () => undefined), tracker.enqueue(B, async () => undefined)]);
    expect(tracker.size).toBe(2);
    tracker.forgetGateway('127.0.0.1:2000');
    expect(tracker.size).toBe(1);
    tracker.forgetGateway('127.0.0.1:2001');
    expect(tracker.size).toBe(0);
  });
});
