import { ConfigError } from '../config/environment';
import {
  DEFAULT_RECONNECT_DELAY_MS,
  DEFAULT_TIMEOUT_MS,
  gatewayClientOptionsFromEnv,
  resolveGatewayClientOptions,
  type GatewayClientOptions,
} from './gateway-client-options';

const SECRET = 'a-secret-of-16-chars+';

describe('GatewayModule.forClient options (resolveGatewayClientOptions)', () => {
  it('applies the defaults', () => {
    const o = resolveGatewayClientOptions({ secret: SECRET });
    expect(o).toEqual({
      registers: [{ host: '127.0.0.1', port: 1236 }],
      backplane: null,
      secret: Buffer.from(SECRET),
      plaintext: false,
      wireProfile: 'native',
      phpSecretKey: '',
      timeoutMs: DEFAULT_TIMEOUT_MS,
      rejectOnGatewayFailure: false,
      reconnectDelayMs: DEFAULT_RECONNECT_DELAY_MS,
      admin: null,
    });
  });

  it('takes one register, a comma list, an array of strings or of { host, port }', () => {
    const one = resolveGatewayClientOptions({ secret: SECRET, registers: '10.0.0.1:1236' }).registers;
    const list = resolveGatewayClientOptions({ secret: SECRET, registers: '10.0.0.1:1, 10.0.0.2:2' }).registers;
    const array = resolveGatewayClientOptions({ secret: SECRET, registers: ['10.0.0.1:1', '10.0.0.2:2'] }).registers;
    const objects = resolveGatewayClientOptions({
      secret: SECRET,
      registers: [{ host: '10.0.0.1', port: 1 }, '10.0.0.2:2'],
    }).registers;
    expect(one).toEqual([{ host: '10.0.0.1', port: 1236 }]);
    expect(list).toEqual([
      { host: '10.0.0.1', port: 1 },
      { host: '10.0.0.2', port: 2 },
    ]);
    expect(array).toEqual(list);
    expect(objects).toEqual(list);
  });

  it('takes a Buffer secret of 16 bytes', () => {
    expect(resolveGatewayClientOptions({ secret: Buffer.alloc(16, 7) }).secret).toEqual(Buffer.alloc(16, 7));
  });

  it.each([
    [{}, /^GatewayClientOptions\.secret is not set: .*or set GatewayClientOptions\.plaintext=true/],
    [{ secret: 'short' }, /^GatewayClientOptions\.secret is too short \(5 characters\): use at least 16$/],
    [{ secret: Buffer.alloc(8) }, /^GatewayClientOptions\.secret is too short \(8 bytes\)/],
    [
      { secret: SECRET, plaintext: true },
      /^GatewayClientOptions\.secret is set together with GatewayClientOptions\.plaintext=true: choose one$/,
    ],
    [
      { secret: SECRET, registers: 'nohost' },
      /^GatewayClientOptions\.registers="nohost" is invalid: expected host:port/,
    ],
    [{ secret: SECRET, registers: [] }, /^GatewayClientOptions\.registers is empty/],
    [
      { secret: SECRET, registers: [{ host: 'h', port: 70000 }] },
      /^GatewayClientOptions\.registers=\{"host":"h","port":70000\} is invalid/,
    ],
    [
      { secret: SECRET, timeoutMs: 0 },
      /^GatewayClientOptions\.timeoutMs=0 is invalid: expected an integer from 1 to 600000$/,
    ],
    [{ secret: SECRET, timeoutMs: 1.5 }, /^GatewayClientOptions\.timeoutMs=1\.5 is invalid/],
    [{ secret: SECRET, reconnectDelayMs: -1 }, /^GatewayClientOptions\.reconnectDelayMs=-1 is invalid/],
    [
      { secret: SECRET, rejectOnGatewayFailure: 'maybe' },
      /^GatewayClientOptions\.rejectOnGatewayFailure="maybe" is invalid: expected true or false$/,
    ],
    [
      { registerAddress: '10.0.0.1:1', secret: SECRET },
      /^GatewayClientOptions\.registerAddress is not an option: it is called registers now$/,
    ],
    [{ secretKey: SECRET }, /^GatewayClientOptions\.secretKey is not an option: it is called secret now$/],
  ])('refuses %j with a ConfigError naming the option', (options, message) => {
    const resolve = () => resolveGatewayClientOptions(options as GatewayClientOptions);
    expect(resolve).toThrow(ConfigError);
    expect(resolve).toThrow(message);
  });

  it('never puts the secret into an error message', () => {
    for (const options of [
      { secret: 'tiny-secret' },
      { secret: 'tiny-secret', plaintext: true },
      { secretKey: 'tiny-secret' },
    ]) {
      expect(() => resolveGatewayClientOptions(options as GatewayClientOptions)).toThrow(ConfigError);
      try {
        resolveGatewayClientOptions(options as GatewayClientOptions);
      } catch (err) {
        expect((err as Error).message).not.toContain('tiny-secret');
      }
    }
  });

  it('allows an explicit plaintext client', () => {
    expect(resolveGatewayClientOptions({ plaintext: true })).toMatchObject({ secret: null, plaintext: true });
  });

  it('accepts its own resolved options again, with overrides', () => {
    const resolved = resolveGatewayClientOptions({ secret: SECRET, registers: '10.0.0.1:1' });
    expect(resolveGatewayClientOptions({ ...resolved, timeoutMs: 50 })).toEqual({ ...resolved, timeoutMs: 50 });
  });
});

describe('gatewayClientOptionsFromEnv', () => {
  it("reads the worker's variables through the same checks", () => {
    expect(
      gatewayClientOptionsFromEnv({
        REGISTER_ADDRESS: '10.0.0.1:1,10.0.0.2:2',
        SECRET_KEY: SECRET,
        GATEWAY_TIMEOUT_MS: '250',
        GATEWAY_STRICT: 'yes',
      }),
    ).toEqual({
      registers: [
        { host: '10.0.0.1', port: 1 },
        { host: '10.0.0.2', port: 2 },
      ],
      backplane: null,
      secret: Buffer.from(SECRET),
      plaintext: false,
      wireProfile: 'native',
      phpSecretKey: '',
      timeoutMs: 250,
      rejectOnGatewayFailure: true,
      reconnectDelayMs: DEFAULT_RECONNECT_DELAY_MS,
      admin: null,
    });
    expect(gatewayClientOptionsFromEnv({ INNER_PLAINTEXT: 'true' }).secret).toBeNull();
  });

  it.each([
    [{}, /^SECRET_KEY is not set: .*or set INNER_PLAINTEXT=true/],
    [
      { SECRET_KEY: SECRET, INNER_PLAINTEXT: 'true' },
      /^SECRET_KEY is set together with INNER_PLAINTEXT=true: choose one$/,
    ],
    [
      { SECRET_KEY: SECRET, GATEWAY_TIMEOUT_MS: '0' },
      /^GATEWAY_TIMEOUT_MS="0" is invalid: expected an integer from 1 to 600000$/,
    ],
    [{ SECRET_KEY: SECRET, REGISTER_ADDRESS: ' , ' }, /^REGISTER_ADDRESS is empty/],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => gatewayClientOptionsFromEnv(env)).toThrow(message);
  });
});
