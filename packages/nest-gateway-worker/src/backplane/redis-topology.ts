/** Default port of a Redis Sentinel. */
export const DEFAULT_SENTINEL_PORT = 26_379;
/** Default port of a Redis server (a Cluster node). */
export const DEFAULT_REDIS_PORT = 6_379;

/** One host and port. */
export interface RedisEndpoint {
  host: string;
  port: number;
}

/**
 * Which Redis the backplane talks to, and how (from a URL or from the `sentinel` / `cluster` option):
 *  - `standalone`: one server (or a managed primary endpoint), `redis://` / `rediss://`;
 *  - `sentinel`: the primary named `name` as the sentinels report it, followed through failovers;
 *  - `cluster`: a Redis Cluster, found from its seed nodes.
 * Passwords are here in clear: never log this (the options carry a redacted `display`).
 */
export type RedisTopology =
  | { mode: 'standalone'; url: string }
  | {
      mode: 'sentinel';
      sentinels: RedisEndpoint[];
      /** The primary's name in the sentinels' configuration (`sentinel monitor <name> …`). */
      name: string;
      db: number;
      username?: string;
      password?: string;
      sentinelUsername?: string;
      sentinelPassword?: string;
      /** TLS to the sentinels and to the data nodes. */
      tls: boolean;
    }
  | {
      mode: 'cluster';
      nodes: RedisEndpoint[];
      username?: string;
      password?: string;
      tls: boolean;
    };

/** Whether connections to `t` use TLS (a `rediss…` scheme, or `tls: true`). */
export function topologyUsesTls(t: RedisTopology): boolean {
  return t.mode === 'standalone' ? /^rediss:/i.test(t.url) : t.tls;
}

/** The mode of a topology, or of your own client. */
export type RedisMode = RedisTopology['mode'];

/**
 * Parses `host[:port][,host[:port]…]` (IPv6 in brackets), or an array of such strings / `{ host, port }`. Returns
 * the endpoints, or a reason why not (the caller names the option).
 */
export function parseEndpoints(raw: unknown, defaultPort: number): RedisEndpoint[] | string {
  const items: unknown[] = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : [];
  if (items.length === 0) return 'expected at least one host[:port]';
  const out: RedisEndpoint[] = [];
  for (const item of items) {
    if (typeof item === 'object' && item !== null) {
      const { host, port } = item as { host?: unknown; port?: unknown };
      if (typeof host !== 'string' || host === '') return 'an endpoint has no host';
      const p = port === undefined ? defaultPort : port;
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65_535)
        return `the port of ${host} is not a port number`;
      out.push({ host, port: p });
      continue;
    }
    if (typeof item !== 'string') return 'expected host:port strings or { host, port } objects';
    const text = item.trim();
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/@?#]+))(?::(\d{1,5}))?$/.exec(text);
    if (!m) return `"${text}" is not host[:port]`;
    const port = m[3] === undefined ? defaultPort : Number(m[3]);
    if (port < 1 || port > 65_535) return `"${text}" has no valid port`;
    out.push({ host: m[1] ?? m[2], port });
  }
  return out;
}

/** `host:port`, with IPv6 in brackets. */
export function endpointText(e: RedisEndpoint): string {
  return `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}
