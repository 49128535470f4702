import { RateLimitedLog } from './rate-limited-log';

describe('RateLimitedLog', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function make(): { lines: string[]; log: RateLimitedLog; counted: () => number } {
    const lines: string[] = [];
    let counted = 0;
    const log = new RateLimitedLog(
      { warn: (line: unknown) => void lines.push(String(line)) },
      {
        keyOf: (reason) => reason.split(':')[0],
        counted: () => counted++,
        more: (n, reason) => `${n} more ${reason}`,
        summary: (n, reason, total) => `${n} more ${reason} in the window; ${total} in all`,
      },
    );
    return { lines, log, counted: () => counted };
  }

  it('logs the first line of a reason in full, counts every one, and sums up the window at its end', () => {
    const { lines, log, counted } = make();
    for (let i = 0; i < 10; i++) log.warn(`a: detail ${i}`, `line a${i}`);
    log.warn('b: other', 'line b0');
    expect(lines).toEqual(['line a0', 'line b0']);
    expect(log.total).toBe(11);
    expect(counted()).toBe(11);
    expect(log.counts()).toEqual({ a: 10, b: 1 });
    jest.advanceTimersByTime(10_000);
    // b had nothing held back: no summary for it.
    expect(lines).toEqual(['line a0', 'line b0', '9 more a in the window; 10 in all']);
    // The summary opened a new window: the next one is held back until it closes.
    log.warn('a: again', 'line a10');
    expect(lines).toHaveLength(3);
    jest.advanceTimersByTime(10_000);
    expect(lines[3]).toBe('1 more a in the window; 11 in all');
    // Quiet since: the next line is logged in full.
    jest.advanceTimersByTime(10_000);
    log.warn('a: later', 'line a11');
    expect(lines[4]).toBe('line a11');
  });

  it('logs at most one line per reason per window under a continuing flood', () => {
    const { lines, log } = make();
    for (let second = 0; second < 100; second++) {
      for (let i = 0; i < 50; i++) log.warn('flood', 'x');
      jest.advanceTimersByTime(1_000);
    }
    // 100 s = 10 windows: the first line, then one summary per window.
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines.length).toBeLessThanOrEqual(11);
    expect(log.total).toBe(5_000);
  });

  it('drops the pending summaries on stop', () => {
    const { lines, log } = make();
    log.warn('a', 'one');
    log.warn('a', 'two');
    log.stop();
    jest.advanceTimersByTime(30_000);
    expect(lines).toEqual(['one']);
  });
});
