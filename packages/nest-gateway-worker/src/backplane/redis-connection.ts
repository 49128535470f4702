import { Logger } from '@nestjs/common';
import { ConfigError } from '../config/environment';
import type { ResolvedBackplaneOptions } from './backplane-options';
import type { BackplaneTlsOptions } from './backplane-tls';
import { ConnectionErrorLog } from './connection-error-log';
import {
  DEFAULT_REDIS_PORT,
  endpointText,
  topologyUsesTls,
  type RedisEndpoint,
  type RedisTopology,
} from './redis-topology';
import { probeTlsHandshake, TLS_PROBE_INTERVAL_MS } from './tls-handshake-probe';

/**
 * A Redis client the application already has (an ioredis `Redis`, e.g. from DI): the backplane takes its settings
 * (host, TLS, ACL user, database) through `duplicate()`, and opens its own connections with them.
 */
export interface RedisClientLike {
  /** ioredis `Redis.duplicate(options)`, or `Cluster.duplicate(startupNodes, options)`. */
  duplicate(...args: never[]): unknown;
}

/** The pipeline commands the backplane uses (ioredis's Pipeline, typed here so that no ioredis type is exported). */
export interface RedisPipeline {
  sadd(key: string, ...members: string[]): RedisPipeline;
  srem(key: string, ...members: string[]): RedisPipeline;
  hset(key: string, field: string, value: string | number): RedisPipeline;
  hdel(key: string, ...fields: string[]): RedisPipeline;
  hkeys(key: string): RedisPipeline;
  del(...keys: string[]): RedisPipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
}

/** The commands the backplane uses on one connection: the adapter seam (another client needs only these). */
export interface RedisConnection {
  /** "wait", "connecting", "connect", "ready", "reconnecting", "close", "end". */
  readonly status: string;
  /** True for an ioredis Cluster: commands on keys of different slots must not share a pipeline (RedisBatch). */
  readonly isCluster?: boolean;
  /** INFO (one section): the server's run_id tells a failover or a restart from a reconnection. */
  info(section: string): Promise<string>;
  /** Cluster only (ioredis Cluster.nodes): the node connections of its pool; "master": the primaries of its slot map. */
  nodes?(role: 'master'): unknown[];
  hdel(key: string, ...fields: string[]): Promise<number>;
  hset(key: string, field: string, value: string | number): Promise<number>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ...args: (string | number)[]): Promise<string | null>;
  getex(key: string, ...args: (string | number)[]): Promise<string | null>;
  del(...keys: string[]): Promise<number>;
  sadd(key: string, ...members: string[]): Promise<number>;
  srem(key: string, ...members: string[]): Promise<number>;
  smembers(key: string): Promise<string[]>;
  mget(...keys: string[]): Promise<(string | null)[]>;
  hkeys(key: string): Promise<string[]>;
  sscan(key: string, cursor: string, ...args: (string | number)[]): Promise<[string, string[]]>;
  publish(channel: string, message: string): Promise<number>;
  subscribe(...channels: string[]): Promise<unknown>;
  pipeline(): RedisPipeline;
  /** Any command by name (CLIENT ID, CLIENT TRACKING: the directory cache). */
  call(command: string, ...args: string[]): Promise<unknown>;
  /** EVALSHA / EVAL with Buffer replies (binary-safe): the history scripts. */
  evalshaBuffer(sha: string, numKeys: number, ...keysAndArgs: (string | Buffer)[]): Promise<unknown>;
  evalBuffer(script: string, numKeys: number, ...keysAndArgs: (string | Buffer)[]): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  /** A pub/sub message as received: `__redis__:invalidate` carries a list of keys (or null), not a string. */
  on(event: 'messageBuffer', listener: (channel: Buffer, message: unknown) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready' | 'end' | 'close', listener: () => void): unknown;
  /**
   * Cluster only: a node joined ('+node') or left ('-node') the client's pool, or the slot map was refreshed
   * ('refresh'): a failover or a resharding (see cluster-primaries.ts).
   */
  on(event: '-node' | '+node' | 'refresh', listener: () => void): unknown;
  on(event: string, listener: () => void): unknown;
  once(event: 'ready', listener: () => void): unknown;
  removeListener(event: 'ready', listener: () => void): unknown;
  quit(): Promise<unknown>;
  /** Closes the connection; with `reconnect`, ioredis opens a new one (a heartbeat that got no answer). */
  disconnect(reconnect?: boolean): void;
}

/**
 * Longest any one backplane command may wait for Redis, in milliseconds (ioredis `commandTimeout`): a hung Redis
 * (stopped, overloaded) fails commands instead of piling them up. Directory reads have their own, much shorter
 * budget on top.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;
/**
 * A connection that receives nothing for this long while commands wait is closed and reopened (ioredis
 * `socketTimeout`), in milliseconds. After a silent partition (packets dropped, no reset) the old TCP connection
 * would otherwise come back only when the kernel's next retransmission gets through, which backs off exponentially:
 * 14 s after a 40 s cut in test/backplane-netns-partitions.e2e-spec.ts, minutes after longer ones.
 */
export const REDIS_SOCKET_TIMEOUT_MS = REDIS_COMMAND_TIMEOUT_MS;
/** Reconnect delays: attempt n waits n × this, at most {@link REDIS_RECONNECT_MAX_MS}. */
export const REDIS_RECONNECT_STEP_MS = 100;
export const REDIS_RECONNECT_MAX_MS = 2_000;
/** Time a connection has to become ready before a start-up step goes on without it, in milliseconds. */
export const REDIS_READY_WAIT_MS = 3_000;

/**
 * The settings of every backplane connection: commands fail at once while disconnected (no offline queue that
 * grows during an outage: the callers fall back or retry themselves), and after {@link REDIS_COMMAND_TIMEOUT_MS}
 * when Redis does not answer; a connection silent for {@link REDIS_SOCKET_TIMEOUT_MS} while commands wait is dropped;
 * the connection itself is reopened forever.
 */
function connectionSettings(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...extra,
    enableOfflineQueue: false,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    socketTimeout: REDIS_SOCKET_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    retryStrategy: reconnectDelay,
    connectionName: name,
    // Your client may be lazy; ours connect now (without an offline queue, a lazy one would refuse every command).
    lazyConnect: false,
  };
}

function reconnectDelay(times: number): number {
  return Math.min(times * REDIS_RECONNECT_STEP_MS, REDIS_RECONNECT_MAX_MS);
}

/**
 * More settings of a connection to a Sentinel-managed primary: the sentinels are asked again forever (ioredis gives
 * up after a while by default), and each connection also listens for "+switch-master" on the sentinels
 * (`failoverDetector`), so that a failover which leaves the old primary reachable (a partition, SENTINEL FAILOVER)
 * moves it at once, instead of writing to a primary that is about to become a replica.
 */
const SENTINEL_SETTINGS: Record<string, unknown> = {
  sentinelRetryStrategy: reconnectDelay,
  sentinelReconnectStrategy: reconnectDelay,
  failoverDetector: true,
};

/**
 * How often a Cluster connection reads the slot map again (ioredis `slotsRefreshInterval`), in milliseconds: a
 * failover that leaves the old primary up (`CLUSTER FAILOVER TAKEOVER`) removes no node from the pool, and a client
 * that sends nothing to the slots concerned would otherwise never learn of it (a gateway must, to rewrite its entries
 * on the new primary).
 */
export const REDIS_CLUSTER_SLOTS_REFRESH_MS = 5_000;

/**
 * The settings of a Cluster connection: the same limits per node (`redisOptions`), no offline queue, reconnection
 * forever, the slot map read every {@link REDIS_CLUSTER_SLOTS_REFRESH_MS}, and automatic pipelining: commands issued
 * together are grouped per node, which is how RedisBatch pipelines across slots.
 */
function clusterSettings(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { enableOfflineQueue, retryStrategy, lazyConnect, ...perNode } = connectionSettings(name, extra);
  void retryStrategy;
  return {
    enableOfflineQueue,
    lazyConnect,
    enableAutoPipelining: true,
    slotsRefreshInterval: REDIS_CLUSTER_SLOTS_REFRESH_MS,
    clusterRetryStrategy: reconnectDelay,
    redisOptions: perNode,
  };
}

interface IoredisModule {
  Redis: new (...args: unknown[]) => unknown;
  Cluster: new (...args: unknown[]) => unknown;
}

/**
 * The ioredis constructor, loaded only when a backplane is configured (an optional peer dependency): a clear
 * ConfigError naming `variable` when the package is not installed. `load` is the require to use (tests).
 */
export function loadIoredis(variable: string, load: (id: string) => unknown = require): IoredisModule['Redis'] {
  return loadIoredisModule(variable, load).Redis;
}

function loadIoredisModule(variable: string, load: (id: string) => unknown = require): IoredisModule {
  let mod: { default?: unknown; Redis?: unknown; Cluster?: unknown };
  try {
    mod = load('ioredis') as { default?: unknown; Redis?: unknown; Cluster?: unknown };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      throw new ConfigError(
        `${variable} is set, but the ioredis package is not installed: run \`npm install ioredis\` ` +
          '(an optional peer dependency of nest-gateway-worker, needed only for the Redis backplane)',
      );
    }
    throw err;
  }
  const ctor = mod.Redis ?? mod.default ?? mod;
  if (typeof ctor !== 'function')
    throw new ConfigError(`${variable}: the installed ioredis package has no Redis class`);
  const cluster = mod.Cluster ?? (ctor as { Cluster?: unknown }).Cluster;
  return { Redis: ctor as IoredisModule['Redis'], Cluster: cluster as IoredisModule['Cluster'] };
}

/** A new ioredis client for `topology` with the connection's limits, `tlsOptions` on its TLS connections. */
function connect(
  topology: RedisTopology,
  tlsOptions: BackplaneTlsOptions | null,
  name: string,
  variable: string,
  extra: Record<string, unknown>,
): unknown {
  const io = loadIoredisModule(variable);
  if (topology.mode === 'standalone')
    // A rediss:// URL turns TLS on in ioredis; the TLS options, when given, say what it trusts and presents.
    return new io.Redis(topology.url, connectionSettings(name, tlsOptions ? { ...extra, tls: tlsOptions } : extra));
  const tls = topology.tls ? { ...tlsOptions } : undefined;
  if (topology.mode === 'sentinel') {
    return new io.Redis({
      ...connectionSettings(name, extra),
      ...SENTINEL_SETTINGS,
      sentinels: topology.sentinels,
      name: topology.name,
      db: topology.db,
      username: topology.username,
      password: topology.password,
      sentinelUsername: topology.sentinelUsername,
      sentinelPassword: topology.sentinelPassword,
      ...(tls ? { tls, sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
    });
  }
  if (typeof io.Cluster !== 'function')
    throw new ConfigError(`${variable}: the installed ioredis package has no Cluster class`);
  const settings = clusterSettings(name, extra);
  return new io.Cluster(topology.nodes, {
    ...settings,
    redisOptions: {
      ...(settings.redisOptions as object),
      username: topology.username,
      password: topology.password,
      ...(tls ? { tls } : {}),
    },
  });
}

/** A connection with the backplane's settings from your client (its host, TLS, ACL user, database, mode). */
function duplicateClient(options: ResolvedBackplaneOptions, name: string, extra: Record<string, unknown>): unknown {
  const client = options.client as unknown as {
    duplicate(...args: unknown[]): unknown;
  };
  if (options.mode === 'cluster') return client.duplicate([], clusterSettings(name, extra));
  if (options.mode === 'sentinel')
    return client.duplicate({ ...connectionSettings(name, extra), ...SENTINEL_SETTINGS });
  return client.duplicate(connectionSettings(name, extra));
}

/**
 * Opens one backplane connection (named `name` in CLIENT LIST), from the URL or from the application's client.
 * Connection errors are logged at most once per 10 s per distinct text, naming the Redis without its password, and
 * "connected again after N s" once it is back (ConnectionErrorLog). `extra`: more ioredis settings (e.g.
 * `autoResubscribe: false` for a connection that subscribes itself after each reconnection). `errors`: the log it
 * shares with the process's other backplane connections (one of its own when not given).
 */
export function openRedisConnection(
  options: ResolvedBackplaneOptions,
  name: string,
  logContext: string,
  variable = 'GATEWAY_BACKPLANE',
  extra: Record<string, unknown> = {},
  errors: ConnectionErrorLog = new ConnectionErrorLog(new Logger(logContext), options.display),
): RedisConnection {
  const connection = (
    options.client
      ? duplicateClient(options, name, extra)
      : connect(options.topology!, options.tls, name, variable, extra)
  ) as RedisConnection;
  // Without a listener an 'error' event would throw; the client reconnects by itself.
  connection.on('error', (err) => errors.error(connection, connectionErrorText(err, options)));
  connection.on('ready', () => errors.ready(connection));
  // Closed for good (a stop): no longer awaited for "connected again".
  connection.on('end', () => errors.forget(connection));
  const probe = tlsProbeTarget(options.topology);
  if (probe) {
    // ioredis hides why a sentinel or a Cluster node could not be reached over TLS, and a server that refuses the
    // client certificate under TLS 1.3 shows it only as a reset: a handshake of our own tells (at most once per
    // interval for all of the process's connections sharing `errors`, and its line at most once per 10 s).
    connection.on('error', (err) => {
      if (!probe.wanted(err) || !errors.probeDue(TLS_PROBE_INTERVAL_MS)) return;
      void probeTlsHandshake(probe.endpoint, options.tls).then((cause) => {
        if (cause)
          errors.explain(
            `TLS to ${probe.kind} ${endpointText(probe.endpoint)} fails: ${tlsErrorText(cause)}${tlsHint(cause, options)}`,
          );
      });
    });
  }
  return connection;
}

/**
 * Where a handshake of our own finds the cause of a TLS failure ioredis hides, and which of its errors call for one:
 * on Sentinel and a Cluster its "unreachable" errors (the first sentinel or seed node is probed); on one server a
 * reset (ECONNRESET, EPIPE: a TLS 1.3 server that wants a client certificate, or does not trust the one it got, says
 * so in an alert ioredis does not report). Null without TLS, or with the application's own client (no topology).
 */
function tlsProbeTarget(
  topology: RedisTopology | null,
): { kind: string; endpoint: RedisEndpoint; wanted: (err: Error) => boolean } | null {
  if (!topology || !topologyUsesTls(topology)) return null;
  if (topology.mode === 'sentinel')
    return {
      kind: 'sentinel',
      endpoint: topology.sentinels[0],
      wanted: (e) => e.message.startsWith(SENTINELS_UNREACHABLE),
    };
  if (topology.mode === 'cluster')
    return { kind: 'node', endpoint: topology.nodes[0], wanted: (e) => e.message.startsWith(CLUSTER_UNREACHABLE) };
  const url = new URL(topology.url);
  const endpoint = { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || DEFAULT_REDIS_PORT) };
  return {
    kind: 'server',
    endpoint,
    wanted: (e) => RESET_CODES.has((e as NodeJS.ErrnoException).code ?? ''),
  };
}

/** How ioredis's Sentinel connector starts the error it reports when no sentinel answered. */
const SENTINELS_UNREACHABLE = 'All sentinels are unreachable';
/** How ioredis's Cluster starts the error it reports when no node gave the slot map. */
const CLUSTER_UNREACHABLE = 'Failed to refresh slots cache';

/**
 * A connection error as logged: its message, the cause ioredis's Cluster keeps aside (`lastNodeError` of "Failed to
 * refresh slots cache.": a wrong password, an untrusted certificate), and what to do about a TLS setting.
 */
export function connectionErrorText(err: Error, options: Pick<ResolvedBackplaneOptions, 'topology' | 'tls'>): string {
  const cause = (err as { lastNodeError?: unknown }).lastNodeError;
  if (!(cause instanceof Error)) return `${tlsErrorText(err)}${tlsHint(err, options)}`;
  return `${tlsErrorText(err)} Last node error: ${tlsErrorText(cause)}${tlsHint(cause, options)}`;
}

/**
 * Node's codes for a server certificate it does not trust (tls.connect: the chain, the name, the dates), which
 * {@link tlsHint} explains.
 */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/** Node's code for a trusted server certificate that does not name the host checked (tls.checkServerIdentity). */
const NAME_MISMATCH_CODE = 'ERR_TLS_CERT_ALTNAME_INVALID';

/** Codes of a connection the server reset (or closed) while we wrote: what a Redis that wants a client certificate does. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE']);
/**
 * OpenSSL's code for the alert a TLS 1.3 server sends when it wants a client certificate and got none (what
 * redis-server with `tls-auth-clients yes` answers a handshake of our own: the probe of a sentinel or Cluster node).
 */
const CERTIFICATE_REQUIRED_CODE = 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED';
/**
 * OpenSSL's codes for the alerts a server sends about the client certificate it got: not issued by a CA it trusts
 * (its tls-ca-cert-file or tls-ca-cert-dir; TLS 1.2 and 1.3 alike say "tlsv1 alert unknown ca"), or refused
 * otherwise (bad, unsupported, expired, revoked, unknown).
 */
const CLIENT_CERTIFICATE_REFUSED_CODES = new Set([
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED',
]);
/**
 * OpenSSL's code for a server's "handshake failure" alert: what a TLS 1.2 redis-server (`tls-protocols "TLSv1.2"`)
 * answers a client without a certificate when it wants one; also no TLS version or cipher in common.
 */
const HANDSHAKE_FAILURE_CODE = 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE';
/** What to do when a Redis wants a client certificate. */
const GIVE_A_CLIENT_CERTIFICATE =
  'give one in GATEWAY_BACKPLANE_TLS_CERT / GATEWAY_BACKPLANE_TLS_KEY or backplane.tls.cert / key';

/**
 * A TLS error as logged: OpenSSL's errors (code ERR_SSL_…) by their reason ("tlsv13 alert certificate required"),
 * not their message (an OpenSSL error queue line with a source file and a newline); others by their message.
 */
export function tlsErrorText(err: Error): string {
  const { code, reason } = err as { code?: unknown; reason?: unknown };
  if (typeof code === 'string' && code.startsWith('ERR_SSL_') && typeof reason === 'string' && reason !== '')
    return reason;
  return err.message.trim();
}

/**
 * What to do about a connection error whose usual cause is a setting: the server's certificate not trusted, a
 * certificate that does not name the host connected to (backplane.tls.servername), a TLS connection reset (redis-server's
 * default `tls-auth-clients yes` resets a TLS 1.3 client without a certificate, or with one it does not trust), the
 * server's alerts about the client certificate (missing: "certificate required" under TLS 1.3, "handshake failure"
 * under TLS 1.2; not trusted: "unknown ca"; refused otherwise). '' for other errors.
 */
export function tlsHint(err: Error, options: Pick<ResolvedBackplaneOptions, 'topology' | 'tls'>): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === undefined) return '';
  if (code === NAME_MISMATCH_CODE) return nameMismatchHint(err, options.tls?.servername);
  if (RESET_CODES.has(code) && options.topology && topologyUsesTls(options.topology)) {
    return options.tls?.cert
      ? ' (a TLS connection reset: if this Redis checks client certificates, it may not accept the one configured; ' +
          'a handshake of our own logs why: "TLS to … fails: …")'
      : ' (a TLS connection reset: if this Redis checks client certificates, tls-auth-clients yes being its default, ' +
          `${GIVE_A_CLIENT_CERTIFICATE})`;
  }
  if (CLIENT_CERTIFICATE_REFUSED_CODES.has(code)) {
    return options.tls?.cert
      ? ` (${code}: this Redis does not accept the client certificate configured: its tls-ca-cert-file (or ` +
          'tls-ca-cert-dir) must hold the CA that issued GATEWAY_BACKPLANE_TLS_CERT / backplane.tls.cert, and the ' +
          'certificate must be valid now and allow client authentication)'
      : ` (${code}: this Redis refused the TLS handshake over a client certificate, and none is configured: ` +
          `${GIVE_A_CLIENT_CERTIFICATE})`;
  }
  if (code === HANDSHAKE_FAILURE_CODE) {
    return options.tls?.cert
      ? ` (${code}: this Redis refused the TLS handshake: it shares no TLS version or cipher with this process ` +
          '(its tls-protocols, tls-ciphers), or it refused the client certificate configured)'
      : ` (${code}: this Redis refused the TLS handshake; a TLS 1.2 server does so when it checks client ` +
          `certificates, tls-auth-clients yes being its default, and gets none: ${GIVE_A_CLIENT_CERTIFICATE}, or set ` +
          'tls-auth-clients no or optional on the server; else it shares no TLS version or cipher with this process ' +
          '(its tls-protocols, tls-ciphers))';
  }
  if (code === CERTIFICATE_REQUIRED_CODE) {
    return options.tls?.cert
      ? ` (${code}: this Redis wants a client certificate and did not get the one configured)`
      : ` (${code}: this Redis checks client certificates, tls-auth-clients yes being its default: ` +
          `${GIVE_A_CLIENT_CERTIFICATE}, or set tls-auth-clients no or optional on the server)`;
  }
  if (!UNTRUSTED_CERTIFICATE_CODES.has(code)) return '';
  return (
    ` (${code}: the Redis server's TLS certificate is not trusted; give the CA that signed it in ` +
    'GATEWAY_BACKPLANE_TLS_CA or backplane.tls.ca, and a certificate valid for the host you connect to)'
  );
}

/**
 * The hint for a certificate that does not name the host checked: which name was checked (Node's `host` on the error:
 * the URL's host, or the servername set: GATEWAY_BACKPLANE_TLS_SERVERNAME or backplane.tls.servername), the names the certificate carries (its subjectAltName, shortened and
 * printable only: it comes from the server), and the setting that chooses the name.
 */
function nameMismatchHint(err: Error, servername: string | undefined): string {
  const { host, cert } = err as { host?: unknown; cert?: { subjectaltname?: unknown } };
  const checked = typeof host === 'string' && host !== '' ? ` (${printable(host)})` : '';
  const names =
    typeof cert?.subjectaltname === 'string' && cert.subjectaltname !== ''
      ? `; it names ${printable(cert.subjectaltname)}`
      : '';
  const what = servername === undefined ? 'the host connected to' : 'the servername set';
  return (
    ` (${NAME_MISMATCH_CODE}: the Redis server's TLS certificate does not name ${what}${checked}${names}: ` +
    'connect by a name it carries, or set GATEWAY_BACKPLANE_TLS_SERVERNAME or backplane.tls.servername to one)'
  );
}

/** At most 200 printable ASCII characters of a text that came from the network. */
function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

/** Resolves true once `connection` is ready (now or within `timeoutMs`), false otherwise. */
export function whenReady(connection: RedisConnection, timeoutMs = REDIS_READY_WAIT_MS): Promise<boolean> {
  if (connection.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const ready = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      connection.removeListener('ready', ready);
      resolve(false);
    }, timeoutMs);
    timer.unref();
    connection.once('ready', ready);
  });
}

/** Closes a connection: QUIT within a bound, then a hard disconnect (a hung Redis must not hold a shutdown). */
export async function closeConnection(connection: RedisConnection, timeoutMs = 1_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    if (connection.status === 'ready') {
      await Promise.race([
        connection.quit().catch(() => undefined),
        new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
    }
  } finally {
    clearTimeout(timer);
    connection.disconnect();
  }
}
