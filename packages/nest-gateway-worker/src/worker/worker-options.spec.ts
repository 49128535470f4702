import { ConfigError } from '../config/environment';
import { DEFAULT_MAX_FRAME_SIZE } from '../protocol/frame-decoder';
import { InMemorySessionStore } from './session-store.memory';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_WORKER_NAME,
  resolveWorkerOptions,
  workerOptionsFromEnv,
  type WorkerOptions,
} from './worker-options';

const SECRET = 'worker-secret-01234';

describe('worker options', () => {
  it('fills in the defaults, from code and from the environment alike', () => {
    const expected = {
      registers: [{ host: '127.0.0.1', port: 1236 }],
      backplane: null,
      secret: Buffer.from(SECRET),
      plaintext: false,
      wireProfile: 'native',
      phpSecretKey: '',
      timeoutMs: 3_000,
      rejectOnGatewayFailure: false,
      reconnectDelayMs: 1_000,
      name: DEFAULT_WORKER_NAME,
      maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
      drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
      fastPath: true,
      admin: null,
    };
    expect(resolveWorkerOptions({ secret: SECRET })).toEqual(expected);
    expect(workerOptionsFromEnv({ SECRET_KEY: SECRET })).toEqual(expected);
  });

  it('reads every variable', () => {
    expect(
      workerOptionsFromEnv({
        REGISTER_ADDRESS: '10.0.0.1:1, 10.0.0.2:2',
        INNER_PLAINTEXT: 'true',
        WORKER_NAME: 'chat-1',
        WORKER_DRAIN_TIMEOUT_MS: '0',
        WORKER_FAST_PATH: 'false',
        GATEWAY_TIMEOUT_MS: '500',
        GATEWAY_STRICT: 'true',
      }),
    ).toMatchObject({
      registers: [
        { host: '10.0.0.1', port: 1 },
        { host: '10.0.0.2', port: 2 },
      ],
      fastPath: false,
      secret: null,
      plaintext: true,
      name: 'chat-1',
      drainTimeoutMs: 0,
      timeoutMs: 500,
      rejectOnGatewayFailure: true,
    });
  });

  it('keeps a session store given in code', () => {
    const store = new InMemorySessionStore();
    expect(resolveWorkerOptions({ secret: SECRET, sessionStore: store }).sessionStore).toBe(store);
    expect('sessionStore' in resolveWorkerOptions({ secret: SECRET })).toBe(false);
  });

  it('checks options from the environment spread and overridden in code again', () => {
    const fromEnv = workerOptionsFromEnv({ SECRET_KEY: SECRET });
    expect(resolveWorkerOptions({ ...fromEnv, name: 'api', drainTimeoutMs: 10 })).toMatchObject({
      name: 'api',
      drainTimeoutMs: 10,
    });
    expect(() => resolveWorkerOptions({ ...fromEnv, drainTimeoutMs: -1 })).toThrow(
      /^WorkerOptions\.drainTimeoutMs=-1 is invalid: expected an integer from 0 to 3600000$/,
    );
  });

  it.each<[WorkerOptions, RegExp]>([
    [{ plaintext: true, name: 'my worker' }, /^WorkerOptions\.name="my worker" is invalid: expected letters, digits/],
    [
      { plaintext: true, timeoutMs: 0 },
      /^WorkerOptions\.timeoutMs=0 is invalid: expected an integer from 1 to 600000$/,
    ],
    [{ plaintext: true, maxFrameSize: 10 }, /^WorkerOptions\.maxFrameSize=10 is invalid/],
    [
      { plaintext: true, registers: '1.2.3.4' },
      /^WorkerOptions\.registers="1\.2\.3\.4" is invalid: expected host:port/,
    ],
    [
      { plaintext: true, sessionStore: {} as never },
      /^WorkerOptions\.sessionStore is invalid: expected a SessionStore/,
    ],
    [{ secret: 'x'.repeat(15) }, /^WorkerOptions\.secret is too short \(15 characters\)/],
  ])('code: %j is refused naming the option', (options, message) => {
    expect(() => resolveWorkerOptions(options)).toThrow(ConfigError);
    expect(() => resolveWorkerOptions(options)).toThrow(message);
  });

  it.each<[Record<string, string>, RegExp]>([
    [{}, /^SECRET_KEY is not set/],
    [{ SECRET_KEY: SECRET, WORKER_NAME: 'my worker' }, /^WORKER_NAME="my worker" is invalid/],
    [
      { SECRET_KEY: SECRET, GATEWAY_TIMEOUT_MS: '0' },
      /^GATEWAY_TIMEOUT_MS="0" is invalid: expected an integer from 1 to 600000$/,
    ],
    [{ SECRET_KEY: SECRET, GATEWAY_STRICT: 'Maybe' }, /^GATEWAY_STRICT="maybe" is invalid: expected true or false$/],
    [{ SECRET_KEY: SECRET, WORKER_DRAIN_TIMEOUT_MS: '1.5' }, /^WORKER_DRAIN_TIMEOUT_MS="1\.5" is invalid/],
    [{ SECRET_KEY: SECRET, REGISTER_ADDRESS: '1.2.3.4' }, /^REGISTER_ADDRESS="1\.2\.3\.4" is invalid/],
  ])('env: %j is refused naming the variable', (env, message) => {
    expect(() => workerOptionsFromEnv(env)).toThrow(message);
  });
});
