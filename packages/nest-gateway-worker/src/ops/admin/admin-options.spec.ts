import { ConfigError } from '../../config/environment';
import { gatewayOptionsFromEnv, resolveGatewayOptions } from '../../gateway/gateway-options';
import { registerOptionsFromEnv } from '../../register/register-options';
import { resolveGatewayClientOptions } from '../../client/gateway-client-options';
import { resolveWorkerOptions, workerOptionsFromEnv } from '../../worker/worker-options';
import { adminOption, adminPortOf } from './admin-options';

const SECRET = { SECRET_KEY: 'a-secret-of-16-chars' };

describe('admin listener options (ADMIN_LISTEN, admin: { listen })', () => {
  it('is off unless set, and off for the words that say so', () => {
    for (const off of [undefined, null, false, '', '  ', 'off', 'OFF', 'false', 'no', '0']) {
      expect(adminOption('ADMIN_LISTEN', off)).toBeNull();
    }
    expect(gatewayOptionsFromEnv(SECRET).admin).toBeNull();
    expect(registerOptionsFromEnv(SECRET).admin).toBeNull();
    expect(workerOptionsFromEnv(SECRET).admin).toBeNull();
  });

  it('takes host:port from every role variable, and { listen } or host:port in code', () => {
    const listen = { host: '127.0.0.1', port: 9464 };
    const env = { ...SECRET, ADMIN_LISTEN: ' 127.0.0.1:9464 ' };
    expect(registerOptionsFromEnv(env).admin).toEqual({ listen, name: 'ADMIN_LISTEN' });
    expect(gatewayOptionsFromEnv(env).admin).toEqual({ listen, name: 'ADMIN_LISTEN' });
    expect(workerOptionsFromEnv(env).admin).toEqual({ listen, name: 'ADMIN_LISTEN' });
    expect(
      resolveGatewayOptions({ ...SECRET, secret: SECRET.SECRET_KEY, admin: { listen: '0.0.0.0:0' } }).admin,
    ).toEqual({ listen: { host: '0.0.0.0', port: 0 }, name: 'GatewayOptions.admin' });
    expect(resolveWorkerOptions({ secret: SECRET.SECRET_KEY, admin: { listen } }).admin?.listen).toEqual(listen);
    expect(resolveGatewayClientOptions({ secret: SECRET.SECRET_KEY, admin: { listen } }).admin?.listen).toEqual(listen);
    expect(adminOption('X', '[::1]:9464')).toEqual({ listen: { host: '::1', port: 9464 }, name: 'X' });
    // Resolved options spread back into code keep their admin listener.
    const resolved = gatewayOptionsFromEnv(env);
    expect(resolveGatewayOptions({ ...resolved, maxConnections: 10 }).admin).toEqual({ listen, name: 'ADMIN_LISTEN' });
    expect(resolveWorkerOptions(workerOptionsFromEnv(env)).admin).toEqual({ listen, name: 'ADMIN_LISTEN' });
  });

  it('stops on a bad value with a message naming the variable or the option', () => {
    const env = (v: string) => () => gatewayOptionsFromEnv({ ...SECRET, ADMIN_LISTEN: v });
    expect(env('9464')).toThrow(ConfigError);
    expect(env('9464')).toThrow(/^ADMIN_LISTEN="9464" is invalid: expected host:port/);
    expect(env('localhost:99999')).toThrow(/^ADMIN_LISTEN="localhost:99999" is invalid: port 99999 is above 65535/);
    expect(() => registerOptionsFromEnv({ ...SECRET, ADMIN_LISTEN: 'http://x:1' })).toThrow(/^ADMIN_LISTEN=/);
    expect(() => workerOptionsFromEnv({ ...SECRET, ADMIN_LISTEN: ':' })).toThrow(/^ADMIN_LISTEN=/);
    expect(() => resolveGatewayOptions({ secret: SECRET.SECRET_KEY, admin: { listen: 'nowhere' } as never })).toThrow(
      /^GatewayOptions\.admin\.listen="nowhere" is invalid/,
    );
    expect(() =>
      resolveWorkerOptions({ secret: SECRET.SECRET_KEY, admin: { listen: { host: 'h', port: -1 } } }),
    ).toThrow(/^WorkerOptions\.admin\.listen is invalid/);
    expect(() => resolveWorkerOptions({ secret: SECRET.SECRET_KEY, admin: 42 as never })).toThrow(
      /^WorkerOptions\.admin is invalid/,
    );
  });

  it('gives cluster child i port + i, keeps 0 for every child, and refuses ports past 65535', () => {
    const admin = adminOption('ADMIN_LISTEN', '127.0.0.1:9400')!;
    expect([0, 1, 2].map((i) => adminPortOf(admin, i))).toEqual([9400, 9401, 9402]);
    expect(adminPortOf(adminOption('ADMIN_LISTEN', '127.0.0.1:0')!, 5)).toBe(0);
    const high = adminOption('ADMIN_LISTEN', '127.0.0.1:65535')!;
    expect(adminPortOf(high, 0)).toBe(65535);
    expect(() => adminPortOf(high, 1)).toThrow(
      /^ADMIN_LISTEN=127\.0\.0\.1:65535 is invalid for process #1: its admin port 65536 is above 65535/,
    );
  });
});
