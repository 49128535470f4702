import { ConfigError } from '../config/environment';
import { checkInnerPortRange, innerPortOf, MAX_PROCESS_COUNT, readProcessCount } from './process-count';

describe('readProcessCount', () => {
  it('defaults to 1 and accepts 1 to 64', () => {
    expect(readProcessCount({}, 'GATEWAY_COUNT')).toBe(1);
    expect(readProcessCount({ GATEWAY_COUNT: ' ' }, 'GATEWAY_COUNT')).toBe(1);
    expect(readProcessCount({ GATEWAY_COUNT: '1' }, 'GATEWAY_COUNT')).toBe(1);
    expect(readProcessCount({ WORKER_COUNT: '64' }, 'WORKER_COUNT')).toBe(MAX_PROCESS_COUNT);
  });

  it.each(['0', '65', '-2', '2.5', 'two', '1e1'])('rejects %j naming the variable', (value) => {
    expect(() => readProcessCount({ WORKER_COUNT: value }, 'WORKER_COUNT')).toThrow(ConfigError);
    expect(() => readProcessCount({ WORKER_COUNT: value }, 'WORKER_COUNT')).toThrow(
      /^WORKER_COUNT=".*" is invalid: expected an integer from 1 to 64$/,
    );
  });
});

describe('gateway inner ports', () => {
  it('gives process i the port startPort + i, and keeps 0 (free port) for every process', () => {
    expect([0, 1, 2].map((i) => innerPortOf(2000, i))).toEqual([2000, 2001, 2002]);
    expect([0, 1, 2].map((i) => innerPortOf(0, i))).toEqual([0, 0, 0]);
  });

  it('accepts ranges that end at 65535 at the latest', () => {
    expect(() => checkInnerPortRange(2000, 64)).not.toThrow();
    expect(() => checkInnerPortRange(65534, 2)).not.toThrow();
    expect(() => checkInnerPortRange(0, 64)).not.toThrow();
  });

  it('rejects a range past 65535, naming both variables', () => {
    expect(() => checkInnerPortRange(65535, 2)).toThrow(ConfigError);
    expect(() => checkInnerPortRange(65535, 2)).toThrow(
      /^GATEWAY_START_PORT=65535 is invalid with GATEWAY_COUNT=2: .*65535 to 65536, past 65535 .*at most 65534/,
    );
  });
});
