import { ConfigError } from '../config/environment';
import {
  DEFAULT_REDIS_PORT,
  DEFAULT_SENTINEL_PORT,
  parseEndpoints,
  type RedisEndpoint,
  type RedisTopology,
} from './redis-topology';

/** The URL schemes of one server. */
export const BACKPLANE_URL_SCHEMES = ['redis:', 'rediss:'];
/** The URL schemes of a Sentinel-managed primary and of a Redis Cluster (`rediss+…`: TLS). */
export const BACKPLANE_MULTI_HOST_SCHEMES = [
  'redis+sentinel:',
  'rediss+sentinel:',
  'redis+cluster:',
  'rediss+cluster:',
];
/** What the URL forms look like, for error messages. */
const EXPECTED =
  'redis://[user:password@]host[:port][/db], rediss://…, redis+sentinel://[user:password@]host[:port][,host[:port]…]/<master>[/db], ' +
  'redis+cluster://[user:password@]host[:port][,host[:port]…] (rediss+…: TLS)';
/** Query parameters of a Sentinel URL: the sentinels' own ACL user and password, when they have one. */
const SENTINEL_PARAMETERS = ['sentinelUsername', 'sentinelPassword'];

/** A parsed backplane URL: the text (with its password: never log it), what logs show instead, and the topology. */
export interface ParsedBackplaneUrl {
  url: string;
  display: string;
  topology: RedisTopology;
}

/**
 * Checks a backplane URL and returns it with what logs may show instead (passwords replaced by "***") and the
 * topology it names. The password never appears in an error message either.
 *  - `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS): one server;
 *  - `redis+sentinel://[user:password@]host[:port][,host[:port]…]/<master>[/db][?sentinelUsername=…&sentinelPassword=…]`:
 *    the sentinels (port 26379 by default), the primary's name, its database; the user and password are the data
 *    nodes' (the backplane's ACL user), the sentinels' own come as parameters; `rediss+sentinel://`: TLS to both;
 *  - `redis+cluster://[user:password@]host[:port][,host[:port]…]` (port 6379 by default; seed nodes, no database:
 *    a Cluster has only 0); `rediss+cluster://`: TLS.
 */
export function parseBackplaneUrl(name: string, raw: unknown): ParsedBackplaneUrl {
  if (typeof raw !== 'string') throw new ConfigError(`${name} is invalid: expected a URL: ${EXPECTED}`);
  const text = raw.trim();
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(text)?.[1].toLowerCase();
  if (scheme !== undefined && BACKPLANE_MULTI_HOST_SCHEMES.includes(scheme))
    return parseMultiHostUrl(name, text, scheme);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    // The text may hold a password: say what is wrong without quoting it.
    throw new ConfigError(`${name} is invalid: not a URL (expected ${EXPECTED})`);
  }
  const display = redactedUrl(parsed);
  if (!BACKPLANE_URL_SCHEMES.includes(parsed.protocol)) {
    throw new ConfigError(`${name}=${display} is invalid: expected ${EXPECTED}`);
  }
  if (parsed.hostname === '') throw new ConfigError(`${name}=${display} is invalid: the host is missing`);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,5}$/.test(db)) {
    throw new ConfigError(`${name}=${display} is invalid: the path must be a database number, e.g. /0`);
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    throw new ConfigError(`${name}=${display} is invalid: query parameters and fragments are not supported`);
  }
  return { url: text, display, topology: { mode: 'standalone', url: text } };
}

/** A Sentinel or Cluster URL (several hosts: WHATWG URL cannot parse them, so it is split here). */
function parseMultiHostUrl(name: string, text: string, scheme: string): ParsedBackplaneUrl {
  const m = /^[a-z+]+:\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?(#.*)?$/i.exec(text);
  if (!m) throw new ConfigError(`${name} is invalid: not a URL (expected ${EXPECTED})`);
  const [, userinfo, hosts, path = '', query, fragment] = m;
  const sentinel = scheme.endsWith('sentinel:');
  const tls = scheme.startsWith('rediss');
  let username: string | undefined;
  let password: string | undefined;
  const params = new URLSearchParams(query ?? '');
  const redactedQuery = [...params.keys()].map((k) =>
    k === 'sentinelPassword' ? `${k}=***` : `${k}=${encodeURIComponent(params.get(k) ?? '')}`,
  );
  const colon = userinfo === undefined ? -1 : userinfo.indexOf(':');
  const display =
    `${scheme}//` +
    (userinfo === undefined ? '' : `${colon < 0 ? userinfo : `${userinfo.slice(0, colon)}:***`}@`) +
    hosts +
    path +
    (redactedQuery.length > 0 ? `?${redactedQuery.join('&')}` : '');
  const invalid = (why: string) => new ConfigError(`${name}=${display} is invalid: ${why}`);
  try {
    if (userinfo !== undefined) {
      const user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
      username = user === '' ? undefined : user;
      password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
    }
  } catch {
    throw invalid('the user or password is not valid percent-encoding');
  }
  if (fragment !== undefined) throw invalid('fragments are not supported');
  const endpoints = parseEndpoints(hosts, sentinel ? DEFAULT_SENTINEL_PORT : DEFAULT_REDIS_PORT);
  if (typeof endpoints === 'string') throw invalid(`the hosts: ${endpoints}`);
  if (!sentinel) {
    if (path !== '' && path !== '/') throw invalid('a Cluster URL has no path (a Redis Cluster has only database 0)');
    if (query !== undefined) throw invalid('query parameters are not supported');
    return { url: text, display, topology: { mode: 'cluster', nodes: endpoints, username, password, tls } };
  }
  const segments = path.split('/').slice(1);
  if (segments.length === 0 || segments[0] === '' || segments.length > 2)
    throw invalid('the path must be the name of the primary, then optionally its database: /mymaster or /mymaster/0');
  let master: string;
  try {
    master = decodeURIComponent(segments[0]);
  } catch {
    throw invalid('the name of the primary is not valid percent-encoding');
  }
  const dbText = segments[1] ?? '';
  if (dbText !== '' && !/^\d{1,5}$/.test(dbText)) throw invalid('the database must be a number, e.g. /mymaster/0');
  for (const key of params.keys())
    if (!SENTINEL_PARAMETERS.includes(key))
      throw invalid(`unknown parameter ${key} (known: ${SENTINEL_PARAMETERS.join(', ')})`);
  return {
    url: text,
    display,
    topology: sentinelTopology(endpoints, master, dbText === '' ? 0 : Number(dbText), tls, {
      username,
      password,
      sentinelUsername: params.get('sentinelUsername') ?? undefined,
      sentinelPassword: params.get('sentinelPassword') ?? undefined,
    }),
  };
}

function sentinelTopology(
  sentinels: RedisEndpoint[],
  name: string,
  db: number,
  tls: boolean,
  auth: { username?: string; password?: string; sentinelUsername?: string; sentinelPassword?: string },
): RedisTopology {
  const t: RedisTopology = { mode: 'sentinel', sentinels, name, db, tls };
  for (const [k, v] of Object.entries(auth)) if (v !== undefined && v !== '') (t as Record<string, unknown>)[k] = v;
  return t;
}

/** The URL with its password (if any) replaced by "***". */
function redactedUrl(url: URL): string {
  if (url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.password = '***';
  return copy.href;
}

/** Whether the URL's host is a loopback address (plain redis:// to another host deserves a warning). */
export function isLoopbackUrl(url: string): boolean {
  return isLoopbackHost(new URL(url).hostname);
}

/** Whether `host` is a loopback address. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || host.startsWith('127.');
}
