import { ConfigError, type Env } from '../config/environment';
import { booleanOption, integerOption, stringOption, type RawOptions } from '../config/option-checks';
import type { RedisClientLike } from './redis-connection';
import { parseBackplaneUrl } from './backplane-url';
import {
  BACKPLANE_TLS_ENVIRONMENT,
  backplaneTlsFromEnv,
  resolveBackplaneTls,
  type BackplaneTlsOptions,
} from './backplane-tls';
import {
  DEFAULT_REDIS_PORT,
  DEFAULT_SENTINEL_PORT,
  endpointText,
  parseEndpoints,
  topologyUsesTls,
  type RedisEndpoint,
  type RedisMode,
  type RedisTopology,
} from './redis-topology';

/** Key and channel prefix: lets several clusters share one Redis. */
export const DEFAULT_BACKPLANE_PREFIX = 'gw';
/**
 * A gateway's lease in Redis, in milliseconds; renewed every third of it. A gateway that stops renewing (crashed,
 * cut off from Redis) is forgotten, and its directory entries purged, once it has expired.
 */
export const DEFAULT_BACKPLANE_LEASE_MS = 15_000;
/**
 * A gateway's safety resync, in milliseconds: every so often it rewrites all its presence-directory entries and
 * deletes those it no longer holds, in case writes were lost (a Redis failover that dropped acknowledged writes).
 * 0 = never (resyncs still happen on start, on a lost lease and when the connection to Redis comes back).
 */
export const DEFAULT_BACKPLANE_RESYNC_MS = 5 * 60_000;
/** Budget of one presence-directory read before a call falls back to the full mesh, in milliseconds. */
export const DEFAULT_BACKPLANE_TIMEOUT_MS = 50;
/**
 * Workers and GatewayClients keep the directory cache by default: it takes the Redis round trip off repeated targeted
 * sends (the latency goal), is kept correct by Redis itself, and turns itself off (reads as before) where tracking
 * cannot be enabled.
 */
export const DEFAULT_BACKPLANE_CACHE = true;
/** Sliding lifetime of a session stored in Redis (RedisSessionStore), in seconds (7 days); 0 = no expiry. */
export const DEFAULT_SESSION_TTL_SECONDS = 604_800;
/** Largest session RedisSessionStore stores, in bytes of JSON; a larger one is refused (and logged). */
export const DEFAULT_SESSION_MAX_BYTES = 64 * 1024;
/** What a prefix may hold: it starts every key and channel name. */
export const BACKPLANE_PREFIX_PATTERN = /^[\w.:-]{1,64}$/;

/**
 * The optional Redis backplane (`backplane` of forGateway, forWorker and forClient; env GATEWAY_BACKPLANE and the
 * GATEWAY_BACKPLANE_* variables): discovery with leases, a uid/group → gateways presence directory so that
 * sends and per-uid / per-group queries reach only the gateways that hold their targets, and a session store.
 * Messages still travel on the encrypted inner links; Redis holds a leased index that the gateways can always
 * rebuild, and when it is slow or down, calls fall back to the full mesh. Needs the `ioredis` package (an
 * optional peer dependency, loaded only when a backplane is configured).
 *
 * A string is the `url`.
 */
export interface BackplaneOptions {
  /**
   * `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS); a Sentinel-managed primary:
   * `redis+sentinel://[user:password@]host[:port][,host[:port]…]/<master>[/db][?sentinelUsername=…&sentinelPassword=…]`
   * (`rediss+sentinel://`: TLS); a Redis Cluster: `redis+cluster://[user:password@]host[:port][,host[:port]…]`
   * (`rediss+cluster://`: TLS). Env GATEWAY_BACKPLANE. Exactly one of `url`, `client`, `sentinel` and `cluster`.
   */
  url?: string | null;
  /**
   * Your own ioredis client (e.g. from DI, through forGatewayAsync / forWorkerAsync / forClientAsync): a `Redis`
   * (standalone, or configured with `sentinels` and `name`) or a `Cluster`. The backplane opens its own
   * connections with its settings (`client.duplicate()`), and never uses or closes yours.
   */
  client?: RedisClientLike | null;
  /** A Sentinel-managed primary, in code (the same as a `redis+sentinel://` URL). */
  sentinel?: BackplaneSentinelOptions | null;
  /** A Redis Cluster, in code (the same as a `redis+cluster://` URL). */
  cluster?: BackplaneClusterOptions | null;
  /** Key and channel prefix. Env GATEWAY_BACKPLANE_PREFIX, default "gw". */
  prefix?: string;
  /** Gateways: lease in milliseconds (1 000 … 600 000), renewed every third. Env GATEWAY_BACKPLANE_LEASE_MS, default 15 000. */
  leaseMs?: number;
  /**
   * Gateways: interval of the safety resync in milliseconds (0 = off, else 10 000 … 86 400 000): a full rewrite of
   * its directory entries with cleanup, in case Redis lost writes. Env GATEWAY_BACKPLANE_RESYNC_MS, default 300 000.
   */
  resyncMs?: number;
  /**
   * Workers and GatewayClients: budget of a directory read in milliseconds (1 … 10 000); a read that fails or takes
   * longer sends the call to every gateway instead. Env GATEWAY_BACKPLANE_TIMEOUT_MS, default 50.
   */
  timeoutMs?: number;
  /**
   * Workers with `sessionStore: 'backplane'`: sliding lifetime of a stored session in seconds (0 = none).
   * Env WORKER_SESSION_TTL_S, default 604 800 (7 days).
   */
  sessionTtlSeconds?: number;
  /** Largest stored session, in bytes of JSON (1 KiB … 16 MiB). Default 64 KiB. */
  sessionMaxBytes?: number;
  /**
   * Workers and GatewayClients: keep a local copy of the directory entries they read, invalidated by Redis
   * (`CLIENT TRACKING`), so that repeated sends to a uid or group skip the Redis round trip. Two more connections;
   * needs the ACL permissions in README (Security). Not on a Redis Cluster (always off there).
   * Env GATEWAY_BACKPLANE_CACHE, default true.
   */
  cache?: boolean;
  /**
   * TLS settings of a `rediss…` connection: the CA that signs your Redis's certificates, a client certificate and
   * key (for `tls-auth-clients yes`), the name to check. Env GATEWAY_BACKPLANE_TLS_CA, GATEWAY_BACKPLANE_TLS_CERT,
   * GATEWAY_BACKPLANE_TLS_KEY (PEM files), GATEWAY_BACKPLANE_TLS_SERVERNAME (a host name). Default: Node's trust store (NODE_EXTRA_CA_CERTS included), no client
   * certificate. Not with `client` (your client's TLS settings are used).
   */
  tls?: BackplaneTlsOptions | null;
}

/** `backplane.sentinel`: the sentinels that follow the primary `name` (failovers are followed). */
export interface BackplaneSentinelOptions {
  /** `host[:port]` (port 26379 by default), several comma-separated, or a list of them or of `{ host, port }`. */
  sentinels: string | (string | RedisEndpoint)[];
  /** The primary's name in the sentinels' configuration (`sentinel monitor <name> …`). */
  name: string;
  /** Database number. Default 0. */
  db?: number;
  /** The data nodes' ACL user and password (the backplane's). */
  username?: string;
  password?: string;
  /** The sentinels' own ACL user and password, when they have one. */
  sentinelUsername?: string;
  sentinelPassword?: string;
  /** TLS to the sentinels and to the data nodes. Default false. */
  tls?: boolean;
}

/** `backplane.cluster`: a Redis Cluster, found from any of its nodes. */
export interface BackplaneClusterOptions {
  /** Seed nodes: `host[:port]` (port 6379 by default), several comma-separated, or a list. */
  nodes: string | (string | RedisEndpoint)[];
  username?: string;
  password?: string;
  /** TLS to every node. Default false. */
  tls?: boolean;
}

/** Backplane options with every default filled in and every value checked. */
export interface ResolvedBackplaneOptions {
  /** The URL (with its password, if any: never log it; see `display`), or null when not given as a URL. */
  url: string | null;
  client: RedisClientLike | null;
  /** Where the backplane's own connections go (null: `client.duplicate()`). Holds passwords: never log it. */
  topology: RedisTopology | null;
  /** One server, a Sentinel-managed primary, or a Cluster (of the topology, or of your client). */
  mode: RedisMode;
  /** What logs and errors show: the URL with its password replaced by "***", or "(your client)". */
  display: string;
  prefix: string;
  leaseMs: number;
  resyncMs: number;
  timeoutMs: number;
  sessionTtlSeconds: number;
  sessionMaxBytes: number;
  /** The directory cache is wanted (ClientBackplane still leaves it off on a Cluster). */
  cache: boolean;
  /** TLS settings of the backplane's own connections (null: the defaults, or your client's). Holds a key: never log it. */
  tls: BackplaneTlsOptions | null;
}

/** The variables of the backplane fields (the field → variable map of the roles' environment tables). */
export const BACKPLANE_ENVIRONMENT: Record<
  Exclude<keyof BackplaneOptions, 'client' | 'sentinel' | 'cluster' | 'sessionMaxBytes' | 'tls'>,
  string
> = {
  url: 'GATEWAY_BACKPLANE',
  prefix: 'GATEWAY_BACKPLANE_PREFIX',
  leaseMs: 'GATEWAY_BACKPLANE_LEASE_MS',
  resyncMs: 'GATEWAY_BACKPLANE_RESYNC_MS',
  timeoutMs: 'GATEWAY_BACKPLANE_TIMEOUT_MS',
  sessionTtlSeconds: 'WORKER_SESSION_TTL_S',
  cache: 'GATEWAY_BACKPLANE_CACHE',
};

/** The TLS variables (PEM files, the name to check), read by every role with the URL. */
export const BACKPLANE_TLS_VARIABLES: readonly string[] = Object.values(BACKPLANE_TLS_ENVIRONMENT);

/** The variables a gateway reads for its backplane. */
export const GATEWAY_BACKPLANE_VARIABLES = [
  BACKPLANE_ENVIRONMENT.url,
  BACKPLANE_ENVIRONMENT.prefix,
  BACKPLANE_ENVIRONMENT.leaseMs,
  BACKPLANE_ENVIRONMENT.resyncMs,
  ...BACKPLANE_TLS_VARIABLES,
];
/** The variables a worker reads for its backplane (and its GatewayClient). */
export const WORKER_BACKPLANE_VARIABLES = [
  BACKPLANE_ENVIRONMENT.url,
  BACKPLANE_ENVIRONMENT.prefix,
  BACKPLANE_ENVIRONMENT.timeoutMs,
  BACKPLANE_ENVIRONMENT.sessionTtlSeconds,
  BACKPLANE_ENVIRONMENT.cache,
  ...BACKPLANE_TLS_VARIABLES,
];

/** Marks backplane fields read from the environment: their errors name the variables. */
const FROM_ENVIRONMENT = Symbol('backplane fields from the environment');

/**
 * The raw backplane fields from the environment (`variables`: those the role reads), or undefined when
 * GATEWAY_BACKPLANE is unset: the backplane is off, and its other variables are not read.
 */
export function backplaneFieldsOf(env: Env, variables: readonly string[]): RawOptions<BackplaneOptions> | undefined {
  const url = env[BACKPLANE_ENVIRONMENT.url];
  if (url === undefined || url.trim() === '') return undefined;
  const raw: RawOptions<BackplaneOptions> & { [FROM_ENVIRONMENT]?: true } = { [FROM_ENVIRONMENT]: true };
  for (const [field, variable] of Object.entries(BACKPLANE_ENVIRONMENT)) {
    if (variables.includes(variable)) raw[field as keyof BackplaneOptions] = env[variable];
  }
  if (BACKPLANE_TLS_VARIABLES.some((v) => variables.includes(v))) raw.tls = backplaneTlsFromEnv(env);
  return raw;
}

/**
 * Checks the `backplane` option (a URL string, options, or undefined / null = off) and fills in the defaults.
 * `name` names the option in errors (`GatewayOptions.backplane`); fields read by backplaneFieldsOf are named by
 * their variables instead.
 */
export function resolveBackplaneOptions(name: string, raw: unknown): ResolvedBackplaneOptions | null {
  if (raw === undefined || raw === null || raw === false || (typeof raw === 'string' && raw.trim() === '')) return null;
  const o: RawOptions<BackplaneOptions> =
    typeof raw === 'string' ? { url: raw } : (raw as RawOptions<BackplaneOptions>);
  if (typeof o !== 'object' || Array.isArray(o)) {
    throw new ConfigError(
      `${name} is invalid: expected a redis:// URL or { url | client | sentinel | cluster, prefix, leaseMs, timeoutMs }`,
    );
  }
  const variables: Partial<Record<keyof BackplaneOptions, string>> | undefined = (o as { [FROM_ENVIRONMENT]?: true })[
    FROM_ENVIRONMENT
  ]
    ? BACKPLANE_ENVIRONMENT
    : undefined;
  // A URL given as the whole option is named as the option.
  const field = (f: keyof BackplaneOptions) =>
    variables?.[f] ?? (typeof raw === 'string' && f === 'url' ? name : `${name}.${f}`);
  const given = (['url', 'client', 'sentinel', 'cluster'] as const).filter(
    (f) => o[f] !== undefined && o[f] !== null && o[f] !== '',
  );
  if (given.length !== 1) {
    throw new ConfigError(
      `${name} is invalid: give exactly one of ${field('url')}, ${field('client')}, ${field('sentinel')} and ${field('cluster')}`,
    );
  }
  let url: string | null = null;
  let display: string;
  let topology: RedisTopology | null = null;
  let mode: RedisMode;
  if (given[0] === 'url') {
    ({ url, display, topology } = parseBackplaneUrl(field('url'), o.url));
    mode = topology.mode;
  } else if (given[0] === 'sentinel') {
    topology = sentinelOption(field('sentinel'), o.sentinel);
    mode = 'sentinel';
    display = topologyDisplay(topology);
  } else if (given[0] === 'cluster') {
    topology = clusterOption(field('cluster'), o.cluster);
    mode = 'cluster';
    display = topologyDisplay(topology);
  } else if (typeof (o.client as RedisClientLike).duplicate !== 'function') {
    throw new ConfigError(`${field('client')} is invalid: expected an ioredis client (with duplicate())`);
  } else {
    mode = clientMode(o.client as RedisClientLike);
    display = mode === 'standalone' ? '(your client)' : `(your ${mode} client)`;
  }
  let tls: BackplaneTlsOptions | null = null;
  if (o.tls !== undefined && o.tls !== null) {
    if (given[0] === 'client')
      throw new ConfigError(`${name}.tls is invalid with ${field('client')}: your client's TLS settings are used`);
    tls = resolveBackplaneTls(`${name}.tls`, o.tls, topologyUsesTls(topology!));
  }
  return {
    url,
    client: given[0] === 'client' ? (o.client as RedisClientLike) : null,
    topology,
    mode,
    display,
    prefix: stringOption(
      field('prefix'),
      o.prefix,
      DEFAULT_BACKPLANE_PREFIX,
      BACKPLANE_PREFIX_PATTERN,
      'letters, digits, "_", ".", ":" or "-" (at most 64)',
    ),
    leaseMs: integerOption(field('leaseMs'), o.leaseMs, DEFAULT_BACKPLANE_LEASE_MS, 1_000, 600_000),
    resyncMs: resyncInterval(field('resyncMs'), o.resyncMs),
    timeoutMs: integerOption(field('timeoutMs'), o.timeoutMs, DEFAULT_BACKPLANE_TIMEOUT_MS, 1, 10_000),
    sessionTtlSeconds: integerOption(
      field('sessionTtlSeconds'),
      o.sessionTtlSeconds,
      DEFAULT_SESSION_TTL_SECONDS,
      0,
      10 * 365 * 86_400,
    ),
    sessionMaxBytes: integerOption(
      field('sessionMaxBytes'),
      o.sessionMaxBytes,
      DEFAULT_SESSION_MAX_BYTES,
      1024,
      16 * 1024 * 1024,
    ),
    cache: booleanOption(field('cache'), o.cache, DEFAULT_BACKPLANE_CACHE),
    tls,
  };
}

/** Whether your ioredis client is a Cluster, a Sentinel-configured Redis, or one server. */
export function clientMode(client: RedisClientLike): RedisMode {
  const c = client as { isCluster?: unknown; options?: { sentinels?: unknown } };
  if (c.isCluster === true) return 'cluster';
  if (Array.isArray(c.options?.sentinels) && c.options.sentinels.length > 0) return 'sentinel';
  return 'standalone';
}

/** What logs show for a topology given in code: the URL form, without passwords. */
function topologyDisplay(t: RedisTopology): string {
  if (t.mode === 'standalone') return t.url;
  const scheme = `${t.tls ? 'rediss' : 'redis'}+${t.mode}://`;
  const user =
    t.username !== undefined || t.password !== undefined ? `${t.username ?? ''}${t.password ? ':***' : ''}@` : '';
  const hosts = (t.mode === 'sentinel' ? t.sentinels : t.nodes).map(endpointText).join(',');
  return `${scheme}${user}${hosts}${t.mode === 'sentinel' ? `/${encodeURIComponent(t.name)}${t.db ? `/${t.db}` : ''}` : ''}`;
}

function optionalString(name: string, v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new ConfigError(`${name} is invalid: expected a string`);
  return v;
}

function tlsFlag(name: string, v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new ConfigError(`${name} is invalid: expected true or false`);
  return v;
}

/** `backplane.sentinel` checked. */
function sentinelOption(name: string, raw: unknown): RedisTopology {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(`${name} is invalid: expected { sentinels, name, db?, username?, password?, tls? }`);
  const o = raw as Record<string, unknown>;
  const sentinels = parseEndpoints(o.sentinels, DEFAULT_SENTINEL_PORT);
  if (typeof sentinels === 'string') throw new ConfigError(`${name}.sentinels is invalid: ${sentinels}`);
  if (typeof o.name !== 'string' || o.name === '')
    throw new ConfigError(`${name}.name is invalid: expected the primary's name (sentinel monitor <name> …)`);
  const t: RedisTopology = {
    mode: 'sentinel',
    sentinels,
    name: o.name,
    db: integerOption(`${name}.db`, o.db as number | undefined, 0, 0, 99_999),
    tls: tlsFlag(`${name}.tls`, o.tls),
  };
  for (const k of ['username', 'password', 'sentinelUsername', 'sentinelPassword'] as const) {
    const v = optionalString(`${name}.${k}`, o[k]);
    if (v !== undefined) t[k] = v;
  }
  return t;
}

/** `backplane.cluster` checked. */
function clusterOption(name: string, raw: unknown): RedisTopology {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(`${name} is invalid: expected { nodes, username?, password?, tls? }`);
  const o = raw as Record<string, unknown>;
  const nodes = parseEndpoints(o.nodes, DEFAULT_REDIS_PORT);
  if (typeof nodes === 'string') throw new ConfigError(`${name}.nodes is invalid: ${nodes}`);
  const t: RedisTopology = { mode: 'cluster', nodes, tls: tlsFlag(`${name}.tls`, o.tls) };
  for (const k of ['username', 'password'] as const) {
    const v = optionalString(`${name}.${k}`, o[k]);
    if (v !== undefined) t[k] = v;
  }
  return t;
}

/** The safety resync interval: 0 (off) or 10 s … 24 h. */
function resyncInterval(name: string, raw: unknown): number {
  const ms = integerOption(name, raw, DEFAULT_BACKPLANE_RESYNC_MS, 0, 86_400_000);
  if (ms !== 0 && ms < 10_000) {
    throw new ConfigError(`${name}="${ms}" is invalid: expected 0 (off) or an integer from 10000 to 86400000`);
  }
  return ms;
}
