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

  it('GATEWAY_BACKPLANE_CACHE: on by default, false turns the directory cache off, a bad value is named', () => {
    const env = { SECRET_KEY: SECRET, GATEWAY_BACKPLANE: 'redis://h:1' };
    expect(workerOptionsFromEnv(env).backplane!.cache).toBe(true);
    expect(workerOptionsFromEnv({ ...env, GATEWAY_BACKPLANE_CACHE: 'false' }).backplane!.cache).toBe(false);
    expect(resolveBackplaneOptions('o', { url: 'redis://h:1', cache: false })!.cache).toBe(false);
    expect(() => workerOptionsFromEnv({ ...env, GATEWAY_BACKPLANE_CACHE: 'maybe' })).toThrow(
      /^GATEWAY_BACKPLANE_CACHE="maybe" is invalid: expected true or false/,
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
    expect(refused('redis+sentinel://:pw@h1:26379,h2:26379')).toMatch(/the path must be the name of the primary/);
    expect(refused('http://:pw@h:1')).toMatch(/is invalid: expected redis:\/\/\[user:password@\]host/);
    expect(refused('redis://:pw@h:1/x')).toMatch(/database number/);
    expect(refused('not a url pw')).toMatch(/not a URL/);
    for (const message of [
      refused('redis+sentinel://:pw@h1:26379'),
      refused('redis+sentinel://u:pw@h1:26379/m?sentinelPassword=pw2&x=1'),
      refused('redis+cluster://u:pw@h1:7000/3'),
      refused('rediss+cluster://u:pw@h1:x'),
      refused('http://:pw@h:1'),
      refused('redis://:pw@h/x'),
    ])
      expect(message).not.toMatch(/pw/);
    expect(() => resolveBackplaneOptions('WorkerOptions.backplane', { prefix: 'x' })).toThrow(
      /give exactly one of WorkerOptions.backplane.url, WorkerOptions.backplane.client, WorkerOptions.backplane.sentinel and WorkerOptions.backplane.cluster$/,
    );
    expect(() => resolveBackplaneOptions('WorkerOptions.backplane', { client: {} as never })).toThrow(
      /expected an ioredis client/,
    );
    expect(() =>
      resolveBackplaneOptions('WorkerOptions.backplane', { url: 'redis://h', cluster: { nodes: 'h:7000' } }),
    ).toThrow(/give exactly one of WorkerOptions.backplane.url, .*client, .*sentinel and .*cluster/);
  });

  it('parses Sentinel URLs: the sentinels, the primary, its database, both users, TLS; passwords only redacted', () => {
    const o = resolveBackplaneOptions(
      'GATEWAY_BACKPLANE',
      'rediss+sentinel://app:s%40cret@10.0.0.1:26380,[::1],s3.internal/my%20primary/2?sentinelUsername=watch&sentinelPassword=spw',
    )!;
    expect(o.mode).toBe('sentinel');
    expect(o.topology).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26380 },
        { host: '::1', port: 26379 },
        { host: 's3.internal', port: 26379 },
      ],
      name: 'my primary',
      db: 2,
      username: 'app',
      password: 's@cret',
      sentinelUsername: 'watch',
      sentinelPassword: 'spw',
      tls: true,
    });
    expect(o.display).toBe(
      'rediss+sentinel://app:***@10.0.0.1:26380,[::1],s3.internal/my%20primary/2?sentinelUsername=watch&sentinelPassword=***',
    );
    expect(resolveBackplaneOptions('X', 'redis+sentinel://h/mymaster')!.topology).toEqual({
      mode: 'sentinel',
      sentinels: [{ host: 'h', port: 26379 }],
      name: 'mymaster',
      db: 0,
      tls: false,
    });
    const refused = (url: string) => () => resolveBackplaneOptions('GATEWAY_BACKPLANE', url);
    expect(refused('redis+sentinel://h/m/x')).toThrow(/the database must be a number/);
    expect(refused('redis+sentinel://h/m/0/1')).toThrow(/the path must be the name of the primary/);
    expect(refused('redis+sentinel://h:99999/m')).toThrow(/the hosts: "h:99999" has no valid port/);
    expect(refused('redis+sentinel://h,/m')).toThrow(/the hosts: "" is not host\[:port\]/);
    expect(refused('redis+sentinel://h/m?password=x')).toThrow(/unknown parameter password/);
  });

  it('parses Cluster URLs: the seed nodes, the user, TLS; no database, no parameters', () => {
    const o = resolveBackplaneOptions('GATEWAY_BACKPLANE', 'redis+cluster://:pw@n1:7000,n2:7001,n3')!;
    expect(o.mode).toBe('cluster');
    expect(o.topology).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
        { host: 'n3', port: 6379 },
      ],
      password: 'pw',
      tls: false,
    });
    expect(o.display).toBe('redis+cluster://:***@n1:7000,n2:7001,n3');
    expect(resolveBackplaneOptions('X', 'rediss+cluster://u@n1:7000/')!.topology).toMatchObject({
      username: 'u',
      tls: true,
    });
    expect(() => resolveBackplaneOptions('GATEWAY_BACKPLANE', 'redis+cluster://n1/1')).toThrow(
      /^GATEWAY_BACKPLANE=redis\+cluster:\/\/n1\/1 is invalid: a Cluster URL has no path/,
    );
    expect(() => resolveBackplaneOptions('GATEWAY_BACKPLANE', 'redis+cluster://n1?a=1')).toThrow(
      /query parameters are not supported/,
    );
    // A standalone URL keeps its text (ioredis parses it).
    expect(resolveBackplaneOptions('X', 'redis://h:1/3')).toMatchObject({
      mode: 'standalone',
      topology: { mode: 'standalone', url: 'redis://h:1/3' },
    });
  });

  it('takes Sentinel and Cluster in code, and tells the mode of your own client', () => {
    const s = resolveBackplaneOptions('GatewayOptions.backplane', {
      sentinel: { sentinels: ['a:1', { host: 'b', port: 2 }], name: 'm', password: 'pw', db: 1 },
    })!;
    expect(s.topology).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
      name: 'm',
      db: 1,
      password: 'pw',
      tls: false,
    });
    expect(s.display).toBe('redis+sentinel://:***@a:1,b:2/m/1');
    const c = resolveBackplaneOptions('GatewayOptions.backplane', { cluster: { nodes: 'n1:7000,n2', tls: true } })!;
    expect([c.mode, c.display]).toEqual(['cluster', 'rediss+cluster://n1:7000,n2:6379']);
    expect(() => resolveBackplaneOptions('B', { sentinel: { sentinels: 'a' } })).toThrow(/^B.sentinel.name is invalid/);
    expect(() => resolveBackplaneOptions('B', { sentinel: { sentinels: [], name: 'm' } })).toThrow(
      /^B.sentinel.sentinels is invalid: expected at least one host/,
    );
    expect(() => resolveBackplaneOptions('B', { cluster: { nodes: 'n', tls: 'yes' } })).toThrow(
      /^B.cluster.tls is invalid: expected true or false/,
    );
    const duplicate = () => ({});
    expect(resolveBackplaneOptions('B', { client: { isCluster: true, duplicate } })).toMatchObject({
      mode: 'cluster',
      topology: null,
      display: '(your cluster client)',
    });
    expect(
      resolveBackplaneOptions('B', { client: { duplicate, options: { sentinels: [{ host: 'a', port: 1 }] } } as never })
        ?.mode,
    ).toBe('sentinel');
    expect(resolveBackplaneOptions('B', { client: { duplicate } })?.mode).toBe('standalone');
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
