import { checkLivenessOptions, LivenessWatch } from './liveness.js';

describe('LivenessWatch', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function watch(intervalMs = 1000, timeoutMs = 500) {
    const events: string[] = [];
    const w = new LivenessWatch(
      intervalMs,
      timeoutMs,
      () => events.push(`ping@${Date.now()}`),
      () => events.push(`dead@${Date.now()}`),
    );
    return { w, events };
  }

  it('pings after intervalMs of quiet and declares the link dead timeoutMs after an unanswered ping', () => {
    jest.setSystemTime(0);
    const { w, events } = watch();
    w.start();
    jest.advanceTimersByTime(999);
    expect(events).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(events).toEqual(['ping@1000']);
    jest.advanceTimersByTime(500);
    expect(events).toEqual(['ping@1000', 'dead@1500']);
    jest.advanceTimersByTime(10_000);
    expect(events).toHaveLength(2); // nothing after dead
  });

  it('any message answers: a busy link never pings, an answered ping starts a new quiet period', () => {
    jest.setSystemTime(0);
    const { w, events } = watch();
    w.start();
    for (let t = 0; t < 5000; t += 400) {
      jest.advanceTimersByTime(400);
      w.received();
    }
    expect(events).toEqual([]);
    jest.advanceTimersByTime(1000); // quiet since 5200
    expect(events).toEqual(['ping@6200']);
    jest.advanceTimersByTime(100);
    w.received(); // the pong
    jest.advanceTimersByTime(999);
    expect(events).toEqual(['ping@6200']);
    jest.advanceTimersByTime(1);
    expect(events).toEqual(['ping@6200', 'ping@7300']);
    w.stop();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a late timer (a throttled background tab) never makes a live link look dead: the deadline runs from the ping', () => {
    jest.setSystemTime(0);
    const { w, events } = watch();
    w.start();
    // The timer due at 1000 fires at 60 000 (throttled): it sends the ping then, and only then starts the deadline.
    jest.setSystemTime(60_000);
    jest.advanceTimersByTime(1000);
    expect(events).toEqual(['ping@61000']);
    w.received();
    jest.advanceTimersByTime(600);
    expect(events).toEqual(['ping@61000']);
    w.stop();
  });

  it('checks its options', () => {
    expect(checkLivenessOptions({})).toEqual({ intervalMs: 15_000, timeoutMs: 10_000 });
    expect(() => checkLivenessOptions({ timeoutMs: -1 })).toThrow('liveness.timeoutMs must be a positive number');
  });
});
