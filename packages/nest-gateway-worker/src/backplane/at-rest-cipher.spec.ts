import { AT_REST_VERSION, AtRestCipher, AtRestDecryptError } from './at-rest-cipher';

const SECRET = 'a-secret-of-16-chars+';

describe('AtRestCipher', () => {
  it('seals with a version byte and a fresh IV each time, and opens under the same key and key name', () => {
    const cipher = new AtRestCipher(SECRET);
    const a = cipher.seal(Buffer.from('hello'), 'gw:s:{u1}');
    const b = cipher.seal(Buffer.from('hello'), 'gw:s:{u1}');
    expect(a[0]).toBe(AT_REST_VERSION);
    expect(a.length).toBe(1 + 12 + 5 + 16);
    expect(a.equals(b)).toBe(false);
    expect(a.includes('hello')).toBe(false);
    expect(new AtRestCipher(Buffer.from(SECRET)).open(a, 'gw:s:{u1}').toString()).toBe('hello');
    expect(cipher.openText(cipher.sealText('{"a":1}', 'k'), 'k')).toBe('{"a":1}');
  });

  it('another key, another key name, an altered byte or another version: AtRestDecryptError', () => {
    const sealed = new AtRestCipher(SECRET).seal(Buffer.from('hello'), 'k1');
    expect(() => new AtRestCipher('another-secret-16-chars').open(sealed, 'k1')).toThrow(AtRestDecryptError);
    expect(() => new AtRestCipher(SECRET).open(sealed, 'k2')).toThrow(/another SECRET_KEY, or altered/);
    const altered = Buffer.from(sealed);
    altered[14] ^= 1;
    expect(() => new AtRestCipher(SECRET).open(altered, 'k1')).toThrow(AtRestDecryptError);
    const version2 = Buffer.from(sealed);
    version2[0] = 2;
    expect(() => new AtRestCipher(SECRET).open(version2, 'k1')).toThrow(/version 1/);
    expect(() => new AtRestCipher(SECRET).open(Buffer.alloc(3), 'k1')).toThrow(AtRestDecryptError);
  });

  it('no secret, no cipher', () => {
    expect(AtRestCipher.fromSecret(null)).toBeNull();
    expect(AtRestCipher.fromSecret(undefined)).toBeNull();
    expect(AtRestCipher.fromSecret(SECRET)).toBeInstanceOf(AtRestCipher);
  });
});
