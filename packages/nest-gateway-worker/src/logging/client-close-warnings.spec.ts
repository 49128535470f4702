import { clientCloseWarnings } from './client-close-warnings';

describe('clientCloseWarnings', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('logs the first close of each reason and suppresses the rest of the window, per reason', () => {
    const lines: string[] = [];
    const warnings = clientCloseWarnings({ warn: (line: string) => void lines.push(line) });
    for (let i = 0; i < 100; i++) warnings.warn('oversize', `client ${i} closed with 1009`);
    for (let i = 0; i < 100; i++) warnings.warn('slow consumer', `client ${i} disconnected: slow consumer`);
    expect(lines).toEqual(['client 0 closed with 1009', 'client 0 disconnected: slow consumer']);
    expect(warnings.counts()).toEqual({ oversize: 100, 'slow consumer': 100 });
  });

  it('sums up a burst that stopped when its window closes, per reason', () => {
    const lines: string[] = [];
    const warnings = clientCloseWarnings({ warn: (line: string) => void lines.push(line) });
    for (let i = 0; i < 40; i++) warnings.warn('malformed', `client ${i} closed: malformed`);
    warnings.warn('pending full', 'client 99 closed: pending full');
    jest.advanceTimersByTime(10_000);
    expect(lines).toEqual([
      'client 0 closed: malformed',
      'client 99 closed: pending full',
      '39 more client(s) closed in the last 10 s: malformed; 40 in all',
    ]);
    warnings.stop();
  });
});
