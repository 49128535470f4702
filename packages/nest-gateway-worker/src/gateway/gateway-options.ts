import { ConfigError, type Env, type HostPort } from '../config/environment';
import {
  booleanOption,
  choiceOption,
  codeNames,
  environmentNames,
  hostPortListOption,
  integerOption,
  ipv4Option,
  isUnsetList,
  numberOption,
  portOption,
  secretOption,
  stringOption,
  type FieldNames,
  type RawOptions,
} from '../config/option-checks';
import {
  GATEWAY_BACKPLANE_VARIABLES,
  backplaneFieldsOf,
  resolveBackplaneOptions,
  type BackplaneOptions,
  type ResolvedBackplaneOptions,
} from '../backplane/backplane-options';
import { adminOption, type AdminOptions, type ResolvedAdminOptions } from '../ops/admin/admin-options';
import { WIRE_PROFILE_ENVIRONMENT, resolveWireProfile, type WireProfileOptions } from '../php/wire-profile-options';
import { DEFAULT_MAX_FRAME_SIZE } from '../protocol/frame-decoder';
import { DEFAULT_REGISTERS, type Registers } from '../register/register-options';
import { WORKER_ROUTER_NAMES, type WorkerRouterStrategy } from './delivery/worker-router';
import type { ClientFraming } from './listeners/client-framing';
import { framingRegistry, resolveListeners } from './listeners/listener-factory';
import type { ListenerOptions } from './listeners/listener-options';
import { DEFAULT_LISTEN, listenersFromEnv } from './listeners/listeners-from-env';

const KiB = 1024;
const MiB = 1024 * KiB;
export { DEFAULT_LISTEN };
/** The inner address announced to the register and embedded in client_ids. */
export const DEFAULT_LAN_IP = '127.0.0.1';
/** The inner port (workers and SDK clients connect to it); process i of GATEWAY_COUNT uses it + i. */
export const DEFAULT_START_PORT = 2000;
export const DEFAULT_MAX_MESSAGE_BYTES = MiB;
export const DEFAULT_MAX_BUFFERED_BYTES = MiB;
export const DEFAULT_PENDING_EVENTS = 10_000;
export const DEFAULT_PENDING_BYTES = 32 * MiB;
export const DEFAULT_PENDING_MAX_AGE_MS = 30_000;
export const DEFAULT_MAX_UNACKED_BYTES_PER_WORKER = 32 * MiB;
/** Worker deaths an event may be in flight at before it is dead-lettered (RabbitMQ's delivery-limit); 0 = no limit. */
export const DEFAULT_MAX_EVENT_DEATHS = 3;
/** Largest maxEventDeaths accepted. */
export const MAX_MAX_EVENT_DEATHS = 1_000;
export const DEFAULT_PING_INTERVAL_SECONDS = 25;
export const DEFAULT_PING_NOT_RESPONSE_LIMIT = 2;
export const DEFAULT_PING_DATA = '';
export const DEFAULT_WEBSOCKET_PING = true;
/** Messages per second per connection; 0 = no limit. */
export const DEFAULT_MESSAGE_RATE_LIMIT = 0;
/** Client connections per process, and per remote IP; 0 = no limit. */
export const DEFAULT_MAX_CONNECTIONS = 0;
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 0;
/**
 * Time a client connection has, from the TCP accept, to finish its handshake: the WebSocket upgrade (TLS
 * included for wss://), or its first bytes on a raw TCP listener. go-mqant's `OverTime` is 10 s too.
 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Bounds of the handshake timeout, in milliseconds. */
export const MIN_HANDSHAKE_TIMEOUT_MS = 100;
export const MAX_HANDSHAKE_TIMEOUT_MS = 600_000;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
export const DEFAULT_ROUTER = 'least-connections';
/** Smallest non-zero pingInterval accepted, in seconds. */
export const MIN_PING_INTERVAL_SECONDS = 0.1;
/** Longest pingData, in characters. */
export const MAX_PING_DATA_LENGTH = 4096;

/** The default burst for a message rate: the rate rounded up, at least 1. */
export function defaultRateBurst(rate: number): number {
  return Math.max(1, Math.ceil(rate));
}

/** Options of `GatewayModule.forGateway()` (and `runGateway`), checked by {@link resolveGatewayOptions}. */
export interface GatewayOptions extends WireProfileOptions {
  /**
   * Client listeners, at least one: ws://, wss:// (with `tls`), text://, frame://, or a custom framing's scheme
   * (see `framings`). Env GATEWAY_LISTEN (comma-separated URLs), default ws://0.0.0.0:7272 (port 0 = any free
   * port), with GATEWAY_TLS_CERT / GATEWAY_TLS_KEY (PEM files) for wss://. The first listener's port is the
   * `gatewayPort` of event frames (PHP's client listener port).
   */
  listeners?: ListenerOptions[];
  /**
   * Custom raw TCP framings, by `name` = the listener URL scheme that selects them (a custom `text` or
   * `frame` replaces the built-in one). Default: none; `text` and `frame` are always available.
   */
  framings?: ClientFraming[];
  /**
   * Inner IPv4 address announced to the register and embedded in every client_id; workers and SDK clients
   * must be able to reach it. The inner listener binds to it. Env GATEWAY_LAN_IP, default 127.0.0.1.
   */
  lanIp?: string;
  /** Inner port for workers and SDK clients. Env GATEWAY_START_PORT, default 2000 (0 = any free port). */
  startPort?: number;
  /**
   * Registers to announce to: "host:port", a comma-separated list, or an array of "host:port" / `{ host, port }`.
   * Env REGISTER_ADDRESS, default 127.0.0.1:1236; with a `backplane` and no registers given, none.
   */
  registers?: Registers;
  /**
   * The optional Redis backplane: a `redis://` / `rediss://` URL or BackplaneOptions (see there). The gateway
   * announces itself with a lease and publishes its uid and group counts. Env GATEWAY_BACKPLANE,
   * GATEWAY_BACKPLANE_PREFIX, GATEWAY_BACKPLANE_LEASE_MS; default: off.
   */
  backplane?: string | BackplaneOptions | null;
  /**
   * Shared secret of the inner links, at least 16 characters (a Buffer: 16 bytes). Env SECRET_KEY. Required
   * unless `plaintext` is true.
   */
  secret?: string | Buffer | null;
  /** Run the inner links unencrypted and unauthenticated (then `secret` must be unset). Env INNER_PLAINTEXT, default false. */
  plaintext?: boolean;
  /**
   * Largest client message accepted, in bytes, on every listener (for raw TCP without the framing's bytes);
   * a larger one closes a WebSocket client with 1009 and a reason, and ends a raw TCP connection.
   * Env GATEWAY_MAX_MESSAGE_BYTES, default 1 MiB.
   */
  maxMessageSize?: number;
  /** Largest inner frame accepted from a worker or SDK client, in bytes (64 KiB … 1 GiB). Default 10 MiB. */
  maxFrameSize?: number;
  /**
   * Bytes a client may have queued unsent before it counts as a slow consumer and is disconnected with
   * close code 4008 (reconnectable). Env GATEWAY_MAX_BUFFERED_BYTES, default 1 MiB.
   */
  maxClientBufferedBytes?: number;
  /**
   * Client events held while no worker is connected, delivered in order once one is. Past either bound the
   * affected client is closed with 1013 ("try again later"). Env GATEWAY_PENDING_EVENTS (default 10 000) and
   * GATEWAY_PENDING_BYTES (default 32 MiB).
   */
  pendingEventsLimit?: number;
  pendingBytesLimit?: number;

  /**
   * PHP `pingInterval`: heartbeat period in seconds (decimals allowed, e.g. 0.5); 0 disables the heartbeat.
   * Env GATEWAY_PING_INTERVAL, default 25 (PHP's default is 0). Any client activity resets a client's count:
   * every message and every WebSocket pong or ping.
   */
  pingInterval?: number;
  /**
   * PHP `pingNotResponseLimit`: 0 never disconnects; L > 0 disconnects a client silent for between
   * L·pingInterval + pingInterval/2 and (L+1)·pingInterval (close 4009 "heartbeat timeout", then the
   * connection is dropped). Env GATEWAY_PING_NOT_RESPONSE_LIMIT, default 2 (PHP's default is 0).
   */
  pingNotResponseLimit?: number;
  /**
   * PHP `pingData`: a text message sent to silent clients every pingInterval (from about 1.5 intervals after
   * their last activity); empty = none. Env GATEWAY_PING_DATA, default empty.
   */
  pingData?: string;
  /**
   * Also send a WebSocket ping frame to WebSocket clients on the ticks on which pingData would go out; browsers
   * answer it by themselves, so live WebSocket clients are never disconnected by the heartbeat.
   * Env GATEWAY_WS_PING, default true.
   */
  webSocketPing?: boolean;
  /** Messages per second one connection may send (token bucket); 0 = unlimited. Env GATEWAY_RATE_LIMIT, default 0. */
  messageRateLimit?: number;
  /**
   * Messages one connection may send back to back before the rate applies. Env GATEWAY_RATE_BURST, default
   * the rate rounded up (at least 1). A client over the limit is closed with 1008 "message rate limit exceeded".
   * Resolved options hold the burst of their rate: overriding `messageRateLimit` on them
   * (`{ ...gatewayOptionsFromEnv(), messageRateLimit: 50 }`) keeps that burst, so set `messageRateBurst` with it.
   */
  messageRateBurst?: number;
  /** Client connections this gateway process holds at most; 0 = unlimited. Env GATEWAY_MAX_CONNECTIONS, default 0. */
  maxConnections?: number;
  /**
   * Client connections per remote IP at most; 0 = unlimited. Env GATEWAY_MAX_CONNECTIONS_PER_IP, default 0.
   * Both limits count a connection from its TCP accept (before any byte is read, the WebSocket upgrade included):
   * one over a limit is dropped there at once, and counted as `connectionsRefused`.
   */
  maxConnectionsPerIp?: number;
  /**
   * Time a client connection has, from its TCP accept, to complete the WebSocket upgrade (ws://, wss://: TLS
   * handshake and HTTP upgrade request included) or to send its first bytes (raw TCP listeners); otherwise it is
   * dropped and counted as `handshakeTimeouts`. The WebSocket listeners' HTTP header and request timeouts are 1 s above it.
   * Env GATEWAY_HANDSHAKE_TIMEOUT_MS, default 10 000 (100 … 600 000).
   */
  handshakeTimeoutMs?: number;
  /**
   * Graceful shutdown bound, in milliseconds: time clients have to complete the 1001 close and the inner links
   * to flush before the rest is cut. Env GATEWAY_SHUTDOWN_TIMEOUT_MS, default 10 000.
   */
  shutdownTimeoutMs?: number;
  /**
   * Oldest a held client event may get, in milliseconds: a sweep (one timer, at most every second) closes
   * clients whose oldest held event is older with 1013 "no worker available" and drops their held events.
   * Env GATEWAY_PENDING_MAX_AGE_MS, default 30 000.
   */
  pendingMaxAgeMs?: number;
  /**
   * Bytes of unacknowledged events (bodies + 64 each) a worker may have outstanding. Past it the worker gets no
   * new clients and its clients' events wait at the gateway (pending bounds apply) until its acks free room.
   * Env GATEWAY_WORKER_UNACKED_BYTES, default 32 MiB.
   */
  maxUnackedBytesPerWorker?: number;
  /**
   * Worker deaths a client event may be in flight at (sent, not acknowledged, and the worker's link lost without a
   * drain) before it is dead-lettered: not delivered again, handed at most once to a worker's `@OnDeadLetter()`
   * handler, counted as `deadLetteredEvents`, and its client closed with 4010. An event one death short of it is
   * retried alone on an idle worker, so that innocent events in flight beside a poison one are not blamed.
   * 0 = redeliver without limit. Env GATEWAY_MAX_EVENT_DEATHS, default 3 (0 … 1000).
   */
  maxEventDeaths?: number;
  /**
   * How clients are spread over workers: 'least-connections' (default), 'random', 'latency' (weighted by the
   * workers' ack delays) or your own function; always sticky. Env GATEWAY_ROUTER (the three names).
   */
  router?: WorkerRouterStrategy;
  /** The admin listener (GET /metrics, /health/live, /health/ready). Env ADMIN_LISTEN, default none (off). */
  admin?: AdminOptions | null;
}

/** Gateway options with every default filled in and every value checked: what GatewayServer runs with. */
export type ResolvedGatewayOptions = Required<
  Omit<GatewayOptions, 'registers' | 'secret' | 'router' | 'admin' | 'backplane'>
> & {
  registers: HostPort[];
  /** Null: no backplane. */
  backplane: ResolvedBackplaneOptions | null;
  /** Null = plaintext. */
  secret: Buffer | null;
  router: WorkerRouterStrategy;
  /** Null = no admin listener. */
  admin: ResolvedAdminOptions | null;
};

/** The variable of each field that has one. */
export const GATEWAY_ENVIRONMENT: Partial<Record<keyof GatewayOptions, string>> = {
  listeners: 'GATEWAY_LISTEN',
  lanIp: 'GATEWAY_LAN_IP',
  startPort: 'GATEWAY_START_PORT',
  registers: 'REGISTER_ADDRESS',
  secret: 'SECRET_KEY',
  plaintext: 'INNER_PLAINTEXT',
  ...WIRE_PROFILE_ENVIRONMENT,
  maxMessageSize: 'GATEWAY_MAX_MESSAGE_BYTES',
  maxClientBufferedBytes: 'GATEWAY_MAX_BUFFERED_BYTES',
  pendingEventsLimit: 'GATEWAY_PENDING_EVENTS',
  pendingBytesLimit: 'GATEWAY_PENDING_BYTES',
  pendingMaxAgeMs: 'GATEWAY_PENDING_MAX_AGE_MS',
  maxUnackedBytesPerWorker: 'GATEWAY_WORKER_UNACKED_BYTES',
  maxEventDeaths: 'GATEWAY_MAX_EVENT_DEATHS',
  router: 'GATEWAY_ROUTER',
  pingInterval: 'GATEWAY_PING_INTERVAL',
  pingNotResponseLimit: 'GATEWAY_PING_NOT_RESPONSE_LIMIT',
  pingData: 'GATEWAY_PING_DATA',
  webSocketPing: 'GATEWAY_WS_PING',
  messageRateLimit: 'GATEWAY_RATE_LIMIT',
  messageRateBurst: 'GATEWAY_RATE_BURST',
  maxConnections: 'GATEWAY_MAX_CONNECTIONS',
  maxConnectionsPerIp: 'GATEWAY_MAX_CONNECTIONS_PER_IP',
  handshakeTimeoutMs: 'GATEWAY_HANDSHAKE_TIMEOUT_MS',
  shutdownTimeoutMs: 'GATEWAY_SHUTDOWN_TIMEOUT_MS',
  admin: 'ADMIN_LISTEN',
};

/** Checks gateway options given in code and fills in the defaults; a bad one is a ConfigError naming it. */
export function resolveGatewayOptions(options: GatewayOptions): ResolvedGatewayOptions {
  return resolveGateway(options, codeNames('GatewayOptions'));
}

/**
 * The gateway's variables (see `gateway-worker help gateway`), with the same checks as code; a bad one is a
 * ConfigError naming the variable. `framings`: custom framings whose names GATEWAY_LISTEN may use as schemes
 * (passed on in the options).
 */
export function gatewayOptionsFromEnv(env: Env = process.env, framings: ClientFraming[] = []): ResolvedGatewayOptions {
  const raw: RawOptions<GatewayOptions> = { framings, listeners: listenersFromEnv(env, framings) };
  for (const [field, variable] of Object.entries(GATEWAY_ENVIRONMENT)) {
    if (field !== 'listeners') raw[field as keyof GatewayOptions] = env[variable!];
  }
  raw.backplane = backplaneFieldsOf(env, GATEWAY_BACKPLANE_VARIABLES);
  return resolveGateway(raw, environmentNames('GatewayOptions', GATEWAY_ENVIRONMENT));
}

/** The one resolve function of the gateway, for both sources. */
function resolveGateway(o: RawOptions<GatewayOptions>, names: FieldNames<GatewayOptions>): ResolvedGatewayOptions {
  const int = (field: keyof GatewayOptions & string, fallback: number, min: number, max: number) =>
    integerOption(names(field), o[field], fallback, min, max);
  const secret = secretOption({ secret: names('secret'), plaintext: names('plaintext') }, o.secret, o.plaintext);
  const { framings, listeners } = resolveListenerOptions(o, names);
  const backplane = resolveBackplaneOptions(names('backplane'), o.backplane);
  const pingInterval = numberOption(names('pingInterval'), o.pingInterval, DEFAULT_PING_INTERVAL_SECONDS, 0, 86_400);
  if (pingInterval > 0 && pingInterval < MIN_PING_INTERVAL_SECONDS) {
    throw new ConfigError(
      `${names('pingInterval')}=${typeof o.pingInterval === 'string' ? JSON.stringify(o.pingInterval.trim()) : pingInterval} ` +
        `is invalid: expected 0 (off) or at least ${MIN_PING_INTERVAL_SECONDS} seconds`,
    );
  }
  const messageRateLimit = numberOption(
    names('messageRateLimit'),
    o.messageRateLimit,
    DEFAULT_MESSAGE_RATE_LIMIT,
    0,
    1_000_000,
  );
  return {
    listeners,
    framings,
    lanIp: ipv4Option(names('lanIp'), o.lanIp, DEFAULT_LAN_IP),
    startPort: portOption(names('startPort'), o.startPort, DEFAULT_START_PORT),
    // With a backplane, registers are optional (given: both are used).
    registers:
      backplane && isUnsetList(o.registers)
        ? []
        : hostPortListOption(names('registers'), o.registers, DEFAULT_REGISTERS),
    backplane,
    secret,
    plaintext: secret === null,
    ...resolveWireProfile(
      { wireProfile: names('wireProfile'), phpSecretKey: names('phpSecretKey'), plaintext: names('plaintext') },
      o.wireProfile,
      o.phpSecretKey,
      secret === null,
    ),
    maxMessageSize: int('maxMessageSize', DEFAULT_MAX_MESSAGE_BYTES, 1, 100 * MiB),
    maxFrameSize: int('maxFrameSize', DEFAULT_MAX_FRAME_SIZE, 64 * KiB, 1024 * MiB),
    maxClientBufferedBytes: int('maxClientBufferedBytes', DEFAULT_MAX_BUFFERED_BYTES, KiB, 1024 * MiB),
    pendingEventsLimit: int('pendingEventsLimit', DEFAULT_PENDING_EVENTS, 0, 10_000_000),
    pendingBytesLimit: int('pendingBytesLimit', DEFAULT_PENDING_BYTES, 0, 4096 * MiB),
    pendingMaxAgeMs: int('pendingMaxAgeMs', DEFAULT_PENDING_MAX_AGE_MS, 100, 86_400_000),
    maxUnackedBytesPerWorker: int(
      'maxUnackedBytesPerWorker',
      DEFAULT_MAX_UNACKED_BYTES_PER_WORKER,
      64 * KiB,
      4096 * MiB,
    ),
    maxEventDeaths: int('maxEventDeaths', DEFAULT_MAX_EVENT_DEATHS, 0, MAX_MAX_EVENT_DEATHS),
    router:
      typeof o.router === 'function'
        ? (o.router as WorkerRouterStrategy)
        : choiceOption(names('router'), o.router, DEFAULT_ROUTER, WORKER_ROUTER_NAMES),
    pingInterval,
    pingNotResponseLimit: int('pingNotResponseLimit', DEFAULT_PING_NOT_RESPONSE_LIMIT, 0, 1_000),
    pingData: stringOption(
      names('pingData'),
      o.pingData,
      DEFAULT_PING_DATA,
      new RegExp(`^[\\s\\S]{0,${MAX_PING_DATA_LENGTH}}$`),
      `at most ${MAX_PING_DATA_LENGTH} characters`,
    ),
    webSocketPing: booleanOption(names('webSocketPing'), o.webSocketPing, DEFAULT_WEBSOCKET_PING),
    messageRateLimit,
    messageRateBurst: int('messageRateBurst', defaultRateBurst(messageRateLimit), 1, 1_000_000),
    maxConnections: int('maxConnections', DEFAULT_MAX_CONNECTIONS, 0, 100_000_000),
    maxConnectionsPerIp: int('maxConnectionsPerIp', DEFAULT_MAX_CONNECTIONS_PER_IP, 0, 100_000_000),
    handshakeTimeoutMs: int(
      'handshakeTimeoutMs',
      DEFAULT_HANDSHAKE_TIMEOUT_MS,
      MIN_HANDSHAKE_TIMEOUT_MS,
      MAX_HANDSHAKE_TIMEOUT_MS,
    ),
    shutdownTimeoutMs: int('shutdownTimeoutMs', DEFAULT_SHUTDOWN_TIMEOUT_MS, 0, 600_000),
    admin: adminOption(names('admin'), o.admin),
  };
}

/** `listeners` (default one ws:// listener) and `framings`, checked together: a listener's scheme must name a framing. */
function resolveListenerOptions(
  o: RawOptions<GatewayOptions>,
  names: FieldNames<GatewayOptions>,
): { framings: ClientFraming[]; listeners: ListenerOptions[] } {
  const framings = o.framings ?? [];
  if (!Array.isArray(framings))
    throw new ConfigError(`${names('framings')} is invalid: expected an array of ClientFraming`);
  const listeners = o.listeners ?? [{ url: DEFAULT_LISTEN }];
  const listenersName = names('listeners');
  if (
    !Array.isArray(listeners) ||
    listeners.some((l) => typeof l !== 'object' || l === null || typeof l.url !== 'string')
  ) {
    throw new ConfigError(`${listenersName} is invalid: expected an array of { url, tls? }`);
  }
  // A variable names the whole list (GATEWAY_LISTEN); in code each listener has its own name.
  const fromCode = listenersName.includes('.');
  resolveListeners(listeners as ListenerOptions[], framingRegistry(framings as ClientFraming[]), (i) =>
    fromCode ? `${listenersName}[${i}].url` : listenersName,
  );
  return { framings: framings as ClientFraming[], listeners: listeners as ListenerOptions[] };
}
