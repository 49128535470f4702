import { isIPv4 } from 'node:net';
import {
  InvalidClientIdError,
  decodeClientId,
  parseIPv4,
  encodeClientId,
  gatewayAddressOf,
  ipv4ToNumber,
  ipv4ToString,
  isClientId,
  remoteIpToNumber,
} from './client-id';

describe('client_id encode/decode', () => {
  test('7f00000108fc00000001 is gateway 127.0.0.1, inner port 2300, connection 1 (PHP example)', () => {
    expect(decodeClientId('7f00000108fc00000001')).toEqual({ localIp: 0x7f000001, localPort: 2300, connectionId: 1 });
    expect(encodeClientId({ localIp: ipv4ToNumber('127.0.0.1'), localPort: 2300, connectionId: 1 })).toBe(
      '7f00000108fc00000001',
    );
  });

  test.each([
    [{ localIp: 0, localPort: 0, connectionId: 0 }, '00000000000000000000'],
    [{ localIp: 0xffffffff, localPort: 65535, connectionId: 4294967295 }, 'ffffffffffffffffffff'],
    [{ localIp: 0xc0a8010a, localPort: 2000, connectionId: 5 }, 'c0a8010a07d000000005'],
    [{ localIp: 0x80000000, localPort: 1, connectionId: 0x80000000 }, '80000000000180000000'],
    [{ localIp: 0x0a000001, localPort: 0x1234, connectionId: 0x00abcdef }, '0a0000011234' + '00abcdef'],
  ])('%o <-> %s', (address, id) => {
    const encoded = encodeClientId(address);
    expect(encoded).toBe(id);
    expect(encoded).toHaveLength(20);
    expect(decodeClientId(encoded)).toEqual(address);
  });

  test('maximum values stay unsigned after decoding', () => {
    const a = decodeClientId('ffffffffffffffffffff');
    expect(a.localIp).toBe(4294967295);
    expect(a.localPort).toBe(65535);
    expect(a.connectionId).toBe(4294967295);
    expect(ipv4ToString(a.localIp)).toBe('255.255.255.255');
  });

  test('uppercase hex is accepted and means the same id', () => {
    expect(decodeClientId('7F00000108FC00000001')).toEqual(decodeClientId('7f00000108fc00000001'));
    expect(decodeClientId('C0A8010A07D0000000FF')).toEqual({ localIp: 0xc0a8010a, localPort: 2000, connectionId: 255 });
    expect(isClientId('7F00000108FC00000001')).toBe(true);
  });

  test.each([
    ['', 'empty'],
    ['7f00000108fc0000000', '19 characters'],
    ['7f00000108fc000000011', '21 characters'],
    ['7f00000108fc0000000g', 'non-hex g'],
    ['7f00000108fc0000000-', 'non-hex -'],
    [' 7f00000108fc0000001', 'leading space'],
    ['0x7f00000108fc000001', '0x prefix'],
    ['+f00000108fc00000001', 'plus sign'],
    ['7f00000108fc0000000\n', 'newline'],
  ])('%j (%s) is rejected with InvalidClientIdError', (value) => {
    expect(() => decodeClientId(value)).toThrow(InvalidClientIdError);
    expect(() => decodeClientId(value)).toThrow(/20 hex/);
    expect(isClientId(value)).toBe(false);
  });

  test('non-string values are rejected with InvalidClientIdError', () => {
    for (const value of [123, null, undefined, {}, ['7f00000108fc00000001']]) {
      expect(() => decodeClientId(value as unknown as string)).toThrow(InvalidClientIdError);
      expect(isClientId(value)).toBe(false);
    }
  });

  test('values JSON cannot show (a BigInt, a circular object) are rejected with InvalidClientIdError too', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const value of [10n, circular, Symbol('id')]) {
      expect(() => decodeClientId(value as unknown as string)).toThrow(InvalidClientIdError);
      expect(isClientId(value)).toBe(false);
    }
  });

  test('InvalidClientIdError says what was given and what is expected', () => {
    let caught: unknown;
    try {
      decodeClientId('abc');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidClientIdError);
    expect(caught).toBeInstanceOf(Error);
    expect((caught as Error).name).toBe('InvalidClientIdError');
    expect((caught as Error).message).toContain('"abc"');
    expect((caught as Error).message).toContain('20 hex');
  });
});

describe('gatewayAddressOf', () => {
  test.each([
    ['7f00000108fc00000001', '127.0.0.1:2300'],
    ['c0a8010a07d000000005', '192.168.1.10:2000'],
    ['ffffffffffffffffffff', '255.255.255.255:65535'],
    ['0A00000100500000002A', '10.0.0.1:80'],
  ])('%s -> %s', (id, address) => {
    expect(gatewayAddressOf(id)).toBe(address);
  });

  test('an invalid id throws InvalidClientIdError', () => {
    expect(() => gatewayAddressOf('nope')).toThrow(InvalidClientIdError);
  });
});

describe('IPv4 helpers', () => {
  test.each([
    ['0.0.0.0', 0],
    ['127.0.0.1', 0x7f000001],
    ['10.0.0.1', 0x0a000001],
    ['192.168.1.10', 0xc0a8010a],
    ['128.0.0.0', 0x80000000],
    ['255.255.255.255', 4294967295],
  ])('%s <-> %i', (ip, n) => {
    expect(ipv4ToNumber(ip)).toBe(n);
    expect(ipv4ToString(n)).toBe(ip);
  });

  test.each([
    'localhost',
    '::1',
    '::ffff:127.0.0.1',
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '127.0.0.1:80',
    ' 127.0.0.1',
  ])('ipv4ToNumber rejects %j', (ip) => {
    expect(() => ipv4ToNumber(ip)).toThrow(/IPv4/);
  });

  test.each([
    ['::ffff:10.0.0.1', 0x0a000001],
    ['::ffff:127.0.0.1', 0x7f000001],
    ['10.0.0.1', 0x0a000001],
    ['255.255.255.255', 4294967295],
    ['::1', 0],
    ['2001:db8::1', 0],
    ['fe80::1%lo0', 0],
    ['', 0],
    [undefined, 0],
  ])('remoteIpToNumber(%j) = %i', (address, n) => {
    expect(remoteIpToNumber(address)).toBe(n);
  });

  // parseIPv4 replaces net.isIPv4 + split on every connection: it must accept exactly what isIPv4 accepts.
  test.each([
    '0.0.0.0',
    '1.2.3.4',
    '255.255.255.255',
    '01.2.3.4',
    '1.02.3.4',
    '1.2.3.00',
    '00.0.0.0',
    '1.2.3.256',
    '1.2.3.1000',
    '1.2.3.0255',
    '1.2.3.',
    '.1.2.3',
    '1..2.3',
    '1.2.3.4.',
    '1.2.3.4 ',
    '1.2.3.4\n',
    '+1.2.3.4',
    '-1.2.3.4',
    '1.2.3.4e0',
    '1.2.3.0x1',
    '١.2.3.4',
    '999.1.1.1',
    '249.250.251.252',
    '199.200.201.209',
  ])('parseIPv4(%j) agrees with net.isIPv4', (text) => {
    const n = parseIPv4(text, 0);
    expect(n >= 0).toBe(isIPv4(text));
    if (n >= 0) expect(ipv4ToString(n)).toBe(text);
    expect(remoteIpToNumber(`::ffff:${text}`)).toBe(n >= 0 ? n : 0);
  });

  test('parseIPv4 agrees with net.isIPv4 on random dotted strings', () => {
    let state = 12345;
    const random = (k: number): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return Math.floor((state / 2147483648) * k);
    };
    const separators = ['.', '.', '.', '.', '.', '.', '.', '.', '', '..', ':', 'x'];
    let accepted = 0;
    for (let round = 0; round < 20_000; round++) {
      // Mostly 4 parts of 1 to 3 digits joined by single dots; now and then 3 or 5 parts, 0 or 4 digits, a
      // leading zero, another separator.
      const parts = random(4) === 0 ? 3 + 2 * random(2) : 4;
      let text = '';
      for (let j = 0; j < parts; j++) {
        if (j > 0) text += separators[random(separators.length)];
        const digits = random(8) === 0 ? 4 * random(2) : 1 + random(3);
        for (let d = 0; d < digits; d++) text += String(d === 0 ? random(3) : random(10));
      }
      const n = parseIPv4(text, 0);
      expect([text, n >= 0]).toEqual([text, isIPv4(text)]);
      if (n >= 0) {
        accepted++;
        expect(ipv4ToString(n)).toBe(text);
      }
    }
    // The generator must reach both answers for the comparison to mean anything.
    expect(accepted).toBeGreaterThan(100);
  });
});
