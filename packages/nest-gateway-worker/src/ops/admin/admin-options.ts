import { ConfigError, parseHostPort, type HostPort } from '../../config/environment';

/**
 * The admin listener of a role process: plain HTTP serving `GET /metrics` (Prometheus), `GET /health/live` and
 * `GET /health/ready`. Off unless configured (env ADMIN_LISTEN, or `admin` in a role's options). It has no
 * authentication: bind it to loopback or a private network.
 */
export interface AdminOptions {
  /**
   * `host:port` (or `{ host, port }`) the admin listener binds to; port 0 = any free port (the bound one is
   * logged). Under `runRole` with `*_COUNT=n`, child process `i` adds `i` to a non-zero port.
   */
  listen: string | HostPort;
}

/** Admin options with the address parsed: what the admin server binds to. */
export interface ResolvedAdminOptions {
  listen: HostPort;
  /** What the address came from, for error messages: the variable (ADMIN_LISTEN) or the option (`GatewayOptions.admin`). */
  name: string;
}

/** The variable every role reads its admin listener from. */
export const ADMIN_LISTEN = 'ADMIN_LISTEN';

/** Words that switch the admin listener off explicitly (as unset does), e.g. ADMIN_LISTEN=off. */
const OFF_WORDS = ['off', 'false', 'no', '0'];

/**
 * The admin option of a role, from a variable (`"127.0.0.1:9464"`, `"off"`, unset) or from code
 * (`{ listen: "127.0.0.1:9464" }`, `{ listen: { host, port } }`, a bare `"host:port"`, `null` / `false` = off).
 * Null means off. A bad value is a ConfigError naming `name` (ADMIN_LISTEN, or e.g. `GatewayOptions.admin`).
 */
export function adminOption(name: string, raw: unknown): ResolvedAdminOptions | null {
  if (raw === undefined || raw === null || raw === false) return null;
  if (typeof raw === 'string') {
    const text = raw.trim();
    if (text === '' || OFF_WORDS.includes(text.toLowerCase())) return null;
    return { listen: hostPortOf(name, text), name };
  }
  if (typeof raw === 'object' && !Array.isArray(raw) && 'listen' in raw) {
    const listen = (raw as { listen: unknown }).listen;
    if (typeof listen === 'string') return { listen: hostPortOf(`${name}.listen`, listen.trim()), name };
    // Resolved options passed in again (`{ ...gatewayOptionsFromEnv(), ... }`, or GatewayModule resolving what
    // runGateway resolved) keep the name of the variable they were read from.
    const from = (raw as { name?: unknown }).name;
    if (isHostPort(listen))
      return { listen: { host: listen.host, port: listen.port }, name: typeof from === 'string' ? from : name };
    throw new ConfigError(
      `${name}.listen is invalid: expected "host:port" (e.g. "127.0.0.1:9464") or { host, port } with a port 0-65535`,
    );
  }
  throw new ConfigError(
    `${name} is invalid: expected { listen: "host:port" }, "host:port" (e.g. 127.0.0.1:9464), or off`,
  );
}

/** A host name, an IPv4 address or an IPv6 address (without brackets). */
const HOST = /^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|[0-9a-f:.]*:[0-9a-f:.]*)$/i;

/** "host:port" with a host to bind to (not a URL). */
function hostPortOf(name: string, text: string): HostPort {
  const address = parseHostPort(name, text);
  if (!HOST.test(address.host)) {
    throw new ConfigError(
      `${name}=${JSON.stringify(text)} is invalid: expected host:port with a host name or IP address, e.g. 127.0.0.1:9464`,
    );
  }
  return address;
}

function isHostPort(v: unknown): v is HostPort {
  if (typeof v !== 'object' || v === null) return false;
  const { host, port } = v as Partial<HostPort>;
  return typeof host === 'string' && HOST.test(host) && Number.isInteger(port) && port! >= 0 && port! <= 65535;
}

/**
 * The port child process `index` of a `*_COUNT` cluster listens on: `port + index`, or 0 (any free port) for
 * all. Past 65535 it is a ConfigError naming the variable or option.
 */
export function adminPortOf(admin: ResolvedAdminOptions, index: number): number {
  const { listen } = admin;
  if (listen.port === 0) return 0;
  const port = listen.port + index;
  if (port > 65535) {
    throw new ConfigError(
      `${admin.name}=${listen.host}:${listen.port} is invalid for process #${index}: its admin port ${port} is above 65535 ` +
        '(process i listens on port + i; use a lower port, or 0 for free ports)',
    );
  }
  return port;
}
