import { ConfigError } from '../config/environment';
import { resolveClientOptions } from './gateway-client-options';

const SECRET = 'a-secret-of-16-chars+';

describe('GatewayModule.forClient options', () => {
  it('applies the defaults', () => {
    const { links, settings } = resolveClientOptions({ secretKey: SECRET });
    expect(links.registers).toEqual([{ host: '127.0.0.1', port: 1236 }]);
    expect(links.secret?.toString()).toBe(SECRET);
    expect(links.role).toBe('client');
    expect(settings).toEqual({ timeoutMs: 3_000, rejectOnGatewayFailure: false });
  });

  it('takes one register, a comma list or an array', () => {
    const one = resolveClientOptions({ secretKey: SECRET, registerAddress: '10.0.0.1:1236' }).links.registers;
    const list = resolveClientOptions({ secretKey: SECRET, registerAddress: '10.0.0.1:1, 10.0.0.2:2' }).links.registers;
    const array = resolveClientOptions({ secretKey: SECRET, registerAddress: ['10.0.0.1:1', '10.0.0.2:2'] }).links.registers;
    expect(one).toEqual([{ host: '10.0.0.1', port: 1236 }]);
    expect(list).toEqual([{ host: '10.0.0.1', port: 1 }, { host: '10.0.0.2', port: 2 }]);
    expect(array).toEqual(list);
  });

  it.each([
    [{}, /secretKey is not set/],
    [{ secretKey: 'short' }, /secretKey is too short \(5 characters\)/],
    [{ secretKey: SECRET, plaintext: true }, /choose one/],
    [{ secretKey: SECRET, registerAddress: 'nohost' }, /registerAddress="nohost" is invalid/],
    [{ secretKey: SECRET, registerAddress: [] }, /registerAddress is empty/],
    [{ secretKey: SECRET, timeoutMs: 0 }, /timeoutMs must be a positive number/],
  ])('refuses %j with a ConfigError naming the option', (options, message) => {
    expect(() => resolveClientOptions(options)).toThrow(ConfigError);
    expect(() => resolveClientOptions(options)).toThrow(message);
  });

  it('never puts the secret into an error message', () => {
    try {
      resolveClientOptions({ secretKey: 'tiny-secret' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect((err as Error).message).not.toContain('tiny-secret');
    }
  });

  it('allows an explicit plaintext client', () => {
    expect(resolveClientOptions({ plaintext: true }).links.secret).toBeNull();
  });
});
