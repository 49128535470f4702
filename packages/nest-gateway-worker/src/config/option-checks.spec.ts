import { ConfigError } from './environment';
import {
  booleanOption,
  hostPortListOption,
  integerOption,
  numberOption,
  secretOption,
  stringOption,
} from './option-checks';

describe('option checks (the same for variables and code)', () => {
  it('takes a number or its text, and the default for unset values', () => {
    expect(integerOption('N', 5, 1, 0, 10)).toBe(5);
    expect(integerOption('N', ' 5 ', 1, 0, 10)).toBe(5);
    for (const unset of [undefined, null, '', '  ']) expect(integerOption('N', unset, 1, 0, 10)).toBe(1);
    expect(numberOption('N', '0.5', 1, 0, 10)).toBe(0.5);
    expect(() => integerOption('N', '5x', 1, 0, 10)).toThrow(/^N="5x" is invalid: expected an integer from 0 to 10$/);
    expect(() => integerOption('N', Number.NaN, 1, 0, 10)).toThrow(/^N=NaN is invalid/);
    expect(() => numberOption('N', Infinity, 1, 0, 10)).toThrow(/^N=Infinity is invalid/);
  });

  it('takes booleans and their words', () => {
    for (const t of [true, 'true', 'YES', '1', 'on']) expect(booleanOption('B', t, false)).toBe(true);
    for (const f of [false, 'false', 'no', '0', 'Off']) expect(booleanOption('B', f, true)).toBe(false);
    expect(() => booleanOption('B', 1, false)).toThrow(/^B=1 is invalid: expected true or false$/);
  });

  it('takes addresses as text, lists, or { host, port }', () => {
    expect(hostPortListOption('R', ['a:1', { host: 'b', port: 2 }], 'x:9')).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
    expect(hostPortListOption('R', undefined, 'x:9')).toEqual([{ host: 'x', port: 9 }]);
    expect(() => hostPortListOption('R', [{ host: 'b', port: -1 }], 'x:9')).toThrow(
      /^R=\{"host":"b","port":-1\} is invalid/,
    );
  });

  it('never shows what a wrong object or array holds', () => {
    const secretive = { password: 'hunter2-hunter2-hunter2' };
    for (const check of [
      () => stringOption('S', secretive, '', /x/, 'x'),
      () => stringOption('S', [secretive], '', /x/, 'x'),
      () => hostPortListOption('R', [secretive], 'x:9'),
    ]) {
      expect(check).toThrow(ConfigError);
      try {
        check();
      } catch (err) {
        expect((err as Error).message).not.toContain('hunter2');
      }
    }
  });

  it('a secret: string or Buffer, never shown, and plaintext only when chosen', () => {
    const names = { secret: 'S', plaintext: 'P' };
    expect(secretOption(names, 'x'.repeat(16), undefined)).toEqual(Buffer.from('x'.repeat(16)));
    expect(secretOption(names, undefined, 'true')).toBeNull();
    expect(secretOption(names, null, true)).toBeNull();
    expect(() => secretOption(names, 1234567890123456, false)).toThrow(
      /^S is invalid: expected a string or a Buffer \(got number\)$/,
    );
    expect(() => secretOption(names, 'y'.repeat(15), false)).toThrow(
      /^S is too short \(15 characters\): use at least 16$/,
    );
    expect(() => secretOption(names, 'y'.repeat(15), false)).not.toThrow(/yyy/);
  });
});
