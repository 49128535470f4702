import { ConnectionErrorLog } from './connection-error-log';

describe('ConnectionErrorLog', () => {
  function setUp() {
    let now = 1_000_000;
    const lines: string[] = [];
    const logger = { warn: (m: string) => lines.push(`WARN ${m}`), log: (m: string) => lines.push(`LOG ${m}`) };
    const log = new ConnectionErrorLog(logger, 'redis://:***@h:6379', () => now);
    return { log, lines, advance: (ms: number) => (now += ms) };
  }

  it('logs the same error of four connections once per 10 s, then one line when all four are ready again', () => {
    const { log, lines, advance } = setUp();
    const connections = [{}, {}, {}, {}];
    // 21 s of Redis down: each connection retries every 250 ms or so.
    for (let t = 0; t < 21_000; t += 250) {
      for (const c of connections) log.error(c, 'connect ECONNREFUSED 127.0.0.1:6379');
      advance(250);
    }
    expect(lines).toEqual([
      'WARN backplane Redis redis://:***@h:6379: connect ECONNREFUSED 127.0.0.1:6379',
      'WARN backplane Redis redis://:***@h:6379: connect ECONNREFUSED 127.0.0.1:6379 (159 more Redis connection error(s) since the last warning)',
      'WARN backplane Redis redis://:***@h:6379: connect ECONNREFUSED 127.0.0.1:6379 (159 more Redis connection error(s) since the last warning)',
    ]);
    for (const c of connections.slice(0, 3)) log.ready(c);
    expect(lines).toHaveLength(3);
    log.ready(connections[3]);
    expect(lines[3]).toBe(
      'LOG backplane Redis redis://:***@h:6379: connected again after 21 s (336 connection error(s))',
    );
    // Ready again without having failed (a first connection): nothing.
    log.ready(connections[0]);
    expect(lines).toHaveLength(4);
  });

  it('keeps distinct errors apart (a wrong password on one connection is not hidden by the others)', () => {
    const { log, lines } = setUp();
    const [a, b] = [{}, {}];
    log.error(a, 'connect ECONNREFUSED 127.0.0.1:6379');
    log.error(b, 'WRONGPASS invalid username-password pair or user is disabled.');
    log.error(a, 'connect ECONNREFUSED 127.0.0.1:6379');
    expect(lines).toEqual([
      'WARN backplane Redis redis://:***@h:6379: connect ECONNREFUSED 127.0.0.1:6379',
      'WARN backplane Redis redis://:***@h:6379: WRONGPASS invalid username-password pair or user is disabled.',
    ]);
  });

  it('bounds the distinct texts it keeps apart: the 17th and later share one line per 10 s', () => {
    const { log, lines } = setUp();
    const c = {};
    for (let i = 0; i < 40; i++) log.error(c, `connect ECONNREFUSED 10.0.0.${i}:6379`);
    expect(lines).toHaveLength(17);
  });

  it('does not wait for a connection closed on purpose', () => {
    const { log, lines, advance } = setUp();
    const [a, b] = [{}, {}];
    log.error(a, 'x');
    log.error(b, 'x');
    log.forget(b);
    advance(2_500);
    log.ready(a);
    expect(lines.at(-1)).toBe(
      'LOG backplane Redis redis://:***@h:6379: connected again after 2.5 s (2 connection error(s))',
    );
  });

  it('lets one TLS handshake of its own run per interval for all of the connections sharing it', () => {
    const { log, advance } = setUp();
    // A worker's four connections failing at once: one probe, not four.
    expect([log.probeDue(10_000), log.probeDue(10_000), log.probeDue(10_000), log.probeDue(10_000)]).toEqual([
      true,
      false,
      false,
      false,
    ]);
    advance(9_999);
    expect(log.probeDue(10_000)).toBe(false);
    advance(1);
    expect(log.probeDue(10_000)).toBe(true);
  });
});
