import type { RateLimitedLog } from './rate-limited-log';
import { reasonOf, rejectedLinksLog } from './rejected-links';

describe('rejectedLinksLog', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function make(): { lines: string[]; counted: () => number; rejections: RateLimitedLog } {
    const lines: string[] = [];
    let counted = 0;
    const rejections = rejectedLinksLog(
      { warn: (message: unknown) => void lines.push(String(message)) },
      'inner link(s)',
      () => counted++,
    );
    return { lines, counted: () => counted, rejections };
  }

  it('logs the first rejection of each reason, counts every one, and sums up the rest at the end of the interval', () => {
    const { lines, counted, rejections } = make();
    for (let i = 0; i < 500; i++) {
      rejections.warn('peer does not speak the encrypted inner protocol (a plaintext or PHP peer?): set …', `p${i}: a`);
      rejections.warn('peer could not prove it knows the shared secret: SECRET_KEY differs', `p${i}: b`);
    }
    expect(lines).toEqual(['p0: a', 'p0: b']);
    expect(counted()).toBe(1_000);
    expect(rejections.total).toBe(1_000);
    expect(rejections.counts()).toEqual({
      'peer does not speak the encrypted inner protocol': 500,
      'peer could not prove it knows the shared secret': 500,
    });

    jest.advanceTimersByTime(10_000);
    expect(lines.slice(2)).toEqual([
      '499 more inner link(s) rejected in the last 10 s: peer does not speak the encrypted inner protocol; 500 in all',
      '499 more inner link(s) rejected in the last 10 s: peer could not prove it knows the shared secret; 500 in all',
    ]);
    // Nothing more to say: no further line.
    jest.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(4);
  });

  it('groups reasons by their words before any detail', () => {
    expect(reasonOf('record #17 failed authentication (tampered, replayed or reordered)')).toBe(
      'record failed authentication',
    );
    expect(reasonOf('first frame must be WorkerConnect or GatewayClientConnect, got SendToAll')).toBe(
      'first frame must be WorkerConnect or GatewayClientConnect',
    );
    expect(reasonOf('bad request: unknown event "x"')).toBe('bad request');
  });
});
