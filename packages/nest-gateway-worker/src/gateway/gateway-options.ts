import {
  ConfigError,
  readBoolean,
  readChoice,
  readNumber,
  readString,
  readHostPortList,
  readInteger,
  readIPv4,
  readPort,
  readSecret,
  type Env,
  type HostPort,
} from '../config/environment';
import { DEFAULT_MAX_UNACKED_BYTES_PER_WORKER, DEFAULT_PENDING_MAX_AGE_MS } from './worker-dispatcher';
import { WORKER_ROUTER_NAMES, type WorkerRouterStrategy } from './worker-router';
import type { ClientFraming } from './listeners/client-framing';
import type { ListenerOptions } from './listeners/listener-options';
import { listenersFromEnv } from './listeners/listeners-from-env';

const MiB = 1024 * 1024;
export const DEFAULT_MAX_MESSAGE_BYTES = MiB;
export const DEFAULT_MAX_BUFFERED_BYTES = MiB;
export const DEFAULT_PENDING_EVENTS = 10_000;
export const DEFAULT_PENDING_BYTES = 32 * MiB;
export const DEFAULT_PING_INTERVAL_SECONDS = 25;
export const DEFAULT_PING_NOT_RESPONSE_LIMIT = 2;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
/** Smallest non-zero pingInterval accepted, in seconds. */
export const MIN_PING_INTERVAL_SECONDS = 0.1;

export interface GatewayOptions {
  /**
   * Client listeners, at least one: ws://, wss:// (with `tls`), text://, frame://, or a custom framing's scheme
   * (see `framings`). Env GATEWAY_LISTEN (comma-separated URLs), default ws://0.0.0.0:7272 (port 0 = any free
   * port), with GATEWAY_TLS_CERT / GATEWAY_TLS_KEY (PEM files) for wss://. The first listener's port is the
   * `gatewayPort` of event frames (PHP's client listener port).
   */
  listeners: ListenerOptions[];
  /**
   * Custom raw TCP framings, by `name` = the listener URL scheme that selects them (a custom `text` or
   * `frame` replaces the built-in one). Default: none; `text` and `frame` are always available.
   */
  framings?: ClientFraming[];
  /**
   * Inner IPv4 address announced to the register and embedded in every client_id; workers and SDK clients
   * must be able to reach it. The inner listener binds to it. Env GATEWAY_LAN_IP, default 127.0.0.1.
   */
  lanIp: string;
  /** Inner port for workers and SDK clients. Env GATEWAY_START_PORT, default 2000 (0 = any free port). */
  startPort: number;
  /** Registers to announce to. Env REGISTER_ADDRESS, default 127.0.0.1:1236. */
  registers: HostPort[];
  /** Shared secret of the inner links; null = plaintext (INNER_PLAINTEXT=true). Env SECRET_KEY. */
  secret: Buffer | null;
  /**
   * Largest client message accepted, in bytes, on every listener (for raw TCP without the framing's bytes);
   * a larger one closes a WebSocket client with 1009 and a reason, and ends a raw TCP connection.
   * Env GATEWAY_MAX_MESSAGE_BYTES, default 1 MiB.
   */
  maxMessageSize?: number;
  /** Largest inner frame accepted from a worker or SDK client, in bytes. Default 10 MiB. */
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
   */
  messageRateBurst?: number;
  /** Client connections this gateway process holds at most (1013 above it); 0 = unlimited. Env GATEWAY_MAX_CONNECTIONS, default 0. */
  maxConnections?: number;
  /** Client connections per remote IP at most (1008 above it); 0 = unlimited. Env GATEWAY_MAX_CONNECTIONS_PER_IP, default 0. */
  maxConnectionsPerIp?: number;
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
   * How clients are spread over workers: 'least-connections' (default), 'random', 'latency' (weighted by the
   * workers' ack delays) or your own function; always sticky. Env GATEWAY_ROUTER (the three names).
   */
  router?: WorkerRouterStrategy;
}

/** `framings`: custom framings whose names GATEWAY_LISTEN may use as schemes (passed on in the options). */
export function gatewayOptionsFromEnv(env: Env = process.env, framings: ClientFraming[] = []): GatewayOptions {
  return {
    listeners: listenersFromEnv(env, framings),
    ...(framings.length > 0 ? { framings } : {}),
    lanIp: readIPv4(env, 'GATEWAY_LAN_IP', '127.0.0.1'),
    startPort: readPort(env, 'GATEWAY_START_PORT', 2000),
    registers: readHostPortList(env, 'REGISTER_ADDRESS', '127.0.0.1:1236'),
    secret: readSecret(env),
    maxMessageSize: readInteger(env, 'GATEWAY_MAX_MESSAGE_BYTES', DEFAULT_MAX_MESSAGE_BYTES, 1, 100 * MiB),
    maxClientBufferedBytes: readInteger(env, 'GATEWAY_MAX_BUFFERED_BYTES', DEFAULT_MAX_BUFFERED_BYTES, 1024, 1024 * MiB),
    pendingEventsLimit: readInteger(env, 'GATEWAY_PENDING_EVENTS', DEFAULT_PENDING_EVENTS, 0, 10_000_000),
    pendingBytesLimit: readInteger(env, 'GATEWAY_PENDING_BYTES', DEFAULT_PENDING_BYTES, 0, 4096 * MiB),
    pendingMaxAgeMs: readInteger(env, 'GATEWAY_PENDING_MAX_AGE_MS', DEFAULT_PENDING_MAX_AGE_MS, 100, 86_400_000),
    maxUnackedBytesPerWorker: readInteger(
      env,
      'GATEWAY_WORKER_UNACKED_BYTES',
      DEFAULT_MAX_UNACKED_BYTES_PER_WORKER,
      64 * 1024,
      4096 * MiB,
    ),
    router: readChoice(env, 'GATEWAY_ROUTER', 'least-connections', WORKER_ROUTER_NAMES),
    ...livenessOptionsFromEnv(env),
  };
}

function livenessOptionsFromEnv(env: Env): Partial<GatewayOptions> {
  const pingInterval = readNumber(env, 'GATEWAY_PING_INTERVAL', DEFAULT_PING_INTERVAL_SECONDS, 0, 86_400);
  if (pingInterval > 0 && pingInterval < MIN_PING_INTERVAL_SECONDS) {
    throw new ConfigError(
      `GATEWAY_PING_INTERVAL=${JSON.stringify(env.GATEWAY_PING_INTERVAL)} is invalid: expected 0 (off) or at least ${MIN_PING_INTERVAL_SECONDS} seconds`,
    );
  }
  const rate = readNumber(env, 'GATEWAY_RATE_LIMIT', 0, 0, 1_000_000);
  return {
    pingInterval,
    pingNotResponseLimit: readInteger(env, 'GATEWAY_PING_NOT_RESPONSE_LIMIT', DEFAULT_PING_NOT_RESPONSE_LIMIT, 0, 1_000),
    pingData: readString(env, 'GATEWAY_PING_DATA', '', /^[\s\S]{0,4096}$/, 'at most 4096 characters'),
    webSocketPing: readBoolean(env, 'GATEWAY_WS_PING', true),
    messageRateLimit: rate,
    messageRateBurst: readInteger(env, 'GATEWAY_RATE_BURST', Math.max(1, Math.ceil(rate)), 1, 1_000_000),
    maxConnections: readInteger(env, 'GATEWAY_MAX_CONNECTIONS', 0, 0, 100_000_000),
    maxConnectionsPerIp: readInteger(env, 'GATEWAY_MAX_CONNECTIONS_PER_IP', 0, 0, 100_000_000),
    shutdownTimeoutMs: readInteger(env, 'GATEWAY_SHUTDOWN_TIMEOUT_MS', DEFAULT_SHUTDOWN_TIMEOUT_MS, 0, 600_000),
  };
}
