import { ConfigError } from '../config/environment';
import {
  DEFAULT_HELLO_TIMEOUT_MS,
  registerOptionsFromEnv,
  resolveRegisterOptions,
  type RegisterOptions,
} from './register-options';

const SECRET = 'register-secret-0123';

describe('register options', () => {
  it('fills in the defaults, from code and from the environment alike', () => {
    const expected = {
      listen: { host: '127.0.0.1', port: 1236 },
      secret: Buffer.from(SECRET),
      plaintext: false,
      wireProfile: 'native',
      phpSecretKey: '',
      helloTimeoutMs: DEFAULT_HELLO_TIMEOUT_MS,
      admin: null,
    };
    expect(resolveRegisterOptions({ secret: SECRET })).toEqual(expected);
    expect(registerOptionsFromEnv({ SECRET_KEY: SECRET })).toEqual(expected);
  });

  it('takes listen as "host:port" or { host, port }, and plaintext when chosen', () => {
    expect(resolveRegisterOptions({ plaintext: true, listen: '0.0.0.0:0' })).toMatchObject({
      listen: { host: '0.0.0.0', port: 0 },
      secret: null,
    });
    expect(resolveRegisterOptions({ plaintext: true, listen: { host: '::1', port: 9 } }).listen).toEqual({
      host: '::1',
      port: 9,
    });
    expect(registerOptionsFromEnv({ INNER_PLAINTEXT: 'on', REGISTER_LISTEN: '[::1]:7' })).toMatchObject({
      listen: { host: '::1', port: 7 },
      plaintext: true,
    });
  });

  it('checks resolved options spread and overridden again', () => {
    const fromEnv = registerOptionsFromEnv({ SECRET_KEY: SECRET });
    expect(resolveRegisterOptions({ ...fromEnv, helloTimeoutMs: 500 }).helloTimeoutMs).toBe(500);
    expect(() => resolveRegisterOptions({ ...fromEnv, helloTimeoutMs: 5 })).toThrow(
      /^RegisterOptions\.helloTimeoutMs=5 is invalid: expected an integer from 100 to 600000$/,
    );
  });

  it.each<[RegisterOptions, RegExp]>([
    [{}, /^RegisterOptions\.secret is not set/],
    [{ secret: SECRET, listen: 'nonsense' }, /^RegisterOptions\.listen="nonsense" is invalid: expected host:port/],
    [
      { secret: SECRET, listen: '1.2.3.4:70000' },
      /^RegisterOptions\.listen="1\.2\.3\.4:70000" is invalid: port 70000 is above 65535/,
    ],
    [{ secret: SECRET, listen: { host: '', port: 1 } }, /^RegisterOptions\.listen=\{"host":"","port":1\} is invalid/],
  ])('code: %j is refused naming the option', (options, message) => {
    expect(() => resolveRegisterOptions(options)).toThrow(ConfigError);
    expect(() => resolveRegisterOptions(options)).toThrow(message);
  });

  it.each<[Record<string, string>, RegExp]>([
    [{}, /^SECRET_KEY is not set: .*or set INNER_PLAINTEXT=true/],
    [{ SECRET_KEY: 'short-one' }, /^SECRET_KEY is too short \(9 characters\): use at least 16$/],
    [
      { SECRET_KEY: SECRET, INNER_PLAINTEXT: 'true' },
      /^SECRET_KEY is set together with INNER_PLAINTEXT=true: choose one$/,
    ],
    [{ INNER_PLAINTEXT: 'maybe' }, /^INNER_PLAINTEXT="maybe" is invalid: expected true or false$/],
    [{ SECRET_KEY: SECRET, REGISTER_LISTEN: 'nonsense' }, /^REGISTER_LISTEN="nonsense" is invalid/],
  ])('env: %j is refused naming the variable', (env, message) => {
    expect(() => registerOptionsFromEnv(env)).toThrow(message);
  });
});
