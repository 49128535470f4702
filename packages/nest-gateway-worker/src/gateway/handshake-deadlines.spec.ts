import { HandshakeDeadlines } from './handshake-deadlines';

describe('HandshakeDeadlines (one timer for every socket waiting for its handshake)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('hands each socket over once its deadline has passed, in accept order, never before', () => {
    const expired: string[] = [];
    const deadlines = new HandshakeDeadlines<string>(1_000, (s) => expired.push(s));
    deadlines.track('a');
    jest.advanceTimersByTime(400);
    deadlines.track('b');
    jest.advanceTimersByTime(599);
    expect(expired).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(expired).toEqual(['a']);
    expect(deadlines.size).toBe(1);
    jest.advanceTimersByTime(400);
    expect(expired).toEqual(['a', 'b']);
    expect(deadlines.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0); // nothing waiting, no timer
  });

  it('uses one timer however many sockets wait, and sweeps a burst at once', () => {
    const expired: number[] = [];
    const deadlines = new HandshakeDeadlines<number>(500, (n) => expired.push(n));
    for (let i = 0; i < 5_000; i++) deadlines.track(i);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(500);
    expect(expired).toHaveLength(5_000);
    expect(expired[4_999]).toBe(4_999);
  });

  it('sweeps at most every minSweepMs: sockets accepted a millisecond apart do not make a timer callback each', () => {
    const expired: number[] = [];
    let sweeps = 0;
    const deadlines = new HandshakeDeadlines<number>(
      1_000,
      (n) => {
        expired.push(n);
      },
      100,
    );
    const original = (deadlines as unknown as { sweep: () => void }).sweep.bind(deadlines);
    (deadlines as unknown as { sweep: () => void }).sweep = () => {
      sweeps++;
      original();
    };
    for (let i = 0; i < 300; i++) {
      deadlines.track(i);
      jest.advanceTimersByTime(1);
    }
    jest.advanceTimersByTime(2_000);
    expect(expired).toHaveLength(300);
    expect(sweeps).toBeLessThanOrEqual(5);
  });

  it('stop forgets everything and clears the timer', () => {
    const expired: string[] = [];
    const deadlines = new HandshakeDeadlines<string>(1_000, (s) => expired.push(s));
    deadlines.track('a');
    deadlines.stop();
    jest.advanceTimersByTime(5_000);
    expect(expired).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
  });
});
