import { ConfigError } from '../config/environment';
import { gatewayClientOptionsFromEnv, resolveGatewayClientOptions } from '../client/gateway-client-options';
import { gatewayOptionsFromEnv, resolveGatewayOptions } from '../gateway/gateway-options';
import { resolveWorkerOptions, workerOptionsFromEnv } from '../worker/worker-options';
import {
  DEFAULT_BACKPLANE_LEASE_MS,
  DEFAULT_BACKPLANE_PREFIX,
  DEFAULT_BACKPLANE_RESYNC_MS,
  DEFAULT_BACKPLANE_TIMEOUT_MS,
  resolveBackplaneOptions,
} from './backplane-options';
import { loadIoredis } from './redis-connection';

const SECRET = 'a-test-secret-of-some-length';

describe('backplane options', () => {
  it('is off by default on every role, and the registers keep their default', () => {
    expect(resolveGatewayOptions({ secret: SECRET }).backplane).toBeNull();
    expect(workerOptionsFromEnv({ SECRET_KEY: SECRET }).backplane).toBeNull();
    expect(gatewayClientOptionsFromEnv({ SECRET_KEY: SECRET }).registers).toEqual([{ host: '127.0.0.1', port: 1236 }]);
  });

  it('takes a URL string and fills in the defaults; with no registers given, none are used', () => {
    const o = resolveGatewayClientOptions({ secret: SECRET, backplane: 'redis://127.0.0.1:6379/2' });
    expect(o.registers).toEqual([]);
    expect(o.backplane).toMatchObject({
      url: 'redis://127.0.0.1:6379/2',
      client: null,
      prefix: DEFAULT_BACKPLANE_PREFIX,
      leaseMs: DEFAULT_BACKPLANE_LEASE_MS,
      timeoutMs: DEFAULT_BACKPLANE_TIMEOUT_MS,
    });
    // Both given: both used (the union of their lists).
    const both = resolveGatewayOptions({ secret: SECRET, backplane: 'rediss://r:6380', registers: '10.0.0.1:1236' });
    expect(both.registers).toEqual([{ host: '10.0.0.1', port: 1236 }]);
    expect(both.backplane?.url).toBe('rediss://r:6380');
  });

  it('reads the variables of each role, naming them in errors', () => {
    const env = {
      SECRET_KEY: SECRET,
      GATEWAY_BACKPLANE: 'redis://h:1',
      GATEWAY_BACKPLANE_PREFIX: 'chat',
      GATEWAY_BACKPLANE_LEASE_MS: '3000',
      GATEWAY_BACKPLANE_TIMEOUT_MS: '80',
      WORKER_SESSION_TTL_S: '60',
    };
    const gateway = gatewayOptionsFromEnv(env).backplane!;
    expect([gateway.prefix, gateway.leaseMs, gateway.timeoutMs]).toEqual(['chat', 3000, DEFAULT_BACKPLANE_TIMEOUT_MS]);
    const worker = workerOptionsFromEnv(env).backplane!;
    expect([worker.prefix, worker.leaseMs, worker.timeoutMs, worker.sessionTtlSeconds]).toEqual([
      'chat',
      DEFAULT_BACKPLANE_LEASE_MS,
      80,
      60,
    ]);
    expect(() => gatewayOptionsFromEnv({ ...env, GATEWAY_BACKPLANE_LEASE_MS: '10' })).toThrow(
      /^GATEWAY_BACKPLANE_LEASE_MS="10" is invalid: expected an integer from 1000 to 600000/,
    );
    expect(() => workerOptionsFromEnv({ ...env, GATEWAY_BACKPLANE_TIMEOUT_MS: 'fast' })).toThrow(
      /^GATEWAY_BACKPLANE_TIMEOUT_MS="fast" is invalid/,
    );
    // Unset GATEWAY_BACKPLANE: the other variables are not read at all.
    expect(gatewayOptionsFromEnv({ SECRET_KEY: SECRET, GATEWAY_BACKPLANE_LEASE_MS: 'x' }).backplane).toBeNull();
  });

  it('GATEWAY_BACKPLANE_RESYNC_MS: the safety resync of a gateway, 5 minutes by default, 0 = off', () => {
    const env = { SECRET_KEY: SECRET, GATEWAY_BACKPLANE: 'redis://h:1' };
    expect(DEFAULT_BACKPLANE_RESYNC_MS).toBe(300_000);
    expect(gatewayOptionsFromEnv(env).backplane!.resyncMs).toBe(DEFAULT_BACKPLANE_RESYNC_MS);
    expect(gatewayOptionsFromEnv({ ...env, GATEWAY_BACKPLANE_RESYNC_MS: '0' }).backplane!.resyncMs).toBe(0);
    expect(gatewayOptionsFromEnv({ ...env, GATEWAY_BACKPLANE_RESYNC_MS: '60000' }).backplane!.resyncMs).toBe(60_000);
    expect(
      resolveGatewayOptions({ secret: SECRET, backplane: { url: 'redis://h:1', resyncMs: 0 } }).backplane!.resyncMs,
    ).toBe(0);
    expect(() => gatewayOptionsFromEnv({ ...env, GATEWAY_BACKPLANE_RESYNC_MS: '5000' })).toThrow(
      /^GATEWAY_BACKPLANE_RESYNC_MS="5000" is invalid: expected 0 \(off\) or an integer from 10000 to 86400000/,
    );
    expect(() => gatewayOptionsFromEnv({ ...env, GATEWAY_BACKPLANE_RESYNC_MS: 'hourly' })).toThrow(
      /^GATEWAY_BACKPLANE_RESYNC_MS="hourly" is invalid/,
    );
    expect(() => resolveGatewayOptions({ secret: SECRET, backplane: { url: 'redis://h:1', resyncMs: 1 } })).toThrow(
      /^GatewayOptions\.backplane\.resyncMs="1" is invalid/,
    );
  });

  it('never shows a password, and refuses what it cannot use with a reason', () => {
    const o = resolveBackplaneOptions('GatewayOptions.backplane', 'redis://app:s3cret@10.0.0.9:6379/0');
    expect(o?.display).toBe('redis://app:***@10.0.0.9:6379/0');
    const refused = (url: string): string => {
      try {
        resolveBackplaneOptions('GATEWAY_BACKPLANE', url);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error(`${url} was accepted`);
    };
    expect(refused('redis+sentinel://:pw@h1:26379,h2:26379/mymaster')).toMatch(/not supported yet/);
    expect(refused('http://:pw@h:1')).toMatch(/expected a redis:\/\/ or rediss:\/\//);
    expect(refused('redis://:pw@h:1/x')).toMatch(/database number/);
    expect(refused('not a url pw')).toMatch(/not a URL/);
    for (const message of [
      refused('redis+sentinel://:pw@h1:26379'),
      refused('http://:pw@h:1'),
      refused('redis://:pw@h/x'),
    ])
      expect(message).not.toContain('pw');
    expect(() => resolveBackplaneOptions('WorkerOptions.backplane', { prefix: 'x' })).toThrow(
      /give exactly one of WorkerOptions.backplane.url and WorkerOptions.backplane.client/,
    );
    expect(() => resolveBackplaneOptions('WorkerOptions.backplane', { client: {} as never })).toThrow(
      /expected an ioredis client/,
    );
    expect(() =>
      resolveBackplaneOptions('WorkerOptions.backplane', { client: { isCluster: true, duplicate: () => ({}) } }),
    ).toThrow(/Cluster client: Redis Cluster is not supported yet/);
  });

  it('a worker session store on the backplane needs a backplane', () => {
    expect(() => workerOptionsFromEnv({ SECRET_KEY: SECRET, WORKER_SESSION_STORE: 'backplane' })).toThrow(
      /^WORKER_SESSION_STORE=backplane needs a backplane: set GATEWAY_BACKPLANE/,
    );
    expect(() => resolveWorkerOptions({ secret: SECRET, sessionStore: 'backplane' })).toThrow(
      /^WorkerOptions.sessionStore=backplane needs a backplane: set WorkerOptions.backplane/,
    );
    expect(() => workerOptionsFromEnv({ SECRET_KEY: SECRET, WORKER_SESSION_STORE: 'redis' })).toThrow(
      /^WORKER_SESSION_STORE="redis" is invalid: expected one of none, backplane/,
    );
    expect(
      workerOptionsFromEnv({ SECRET_KEY: SECRET, WORKER_SESSION_STORE: 'backplane', GATEWAY_BACKPLANE: 'redis://h' })
        .sessionStore,
    ).toBe('backplane');
  });

  it('a missing ioredis package is a clear configuration error', () => {
    const missing = (): never => {
      throw Object.assign(new Error("Cannot find module 'ioredis'"), { code: 'MODULE_NOT_FOUND' });
    };
    expect(() => loadIoredis('GATEWAY_BACKPLANE', missing)).toThrow(
      /^GATEWAY_BACKPLANE is set, but the ioredis package is not installed: run `npm install ioredis`/,
    );
    expect(typeof loadIoredis('GATEWAY_BACKPLANE')).toBe('function');
  });
});
