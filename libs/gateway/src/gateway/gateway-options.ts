import {
  readChoice,
  readHostPortList,
  readInteger,
  readIPv4,
  readPort,
  readSecret,
  readWebSocketListen,
  type Env,
  type HostPort,
} from '../config/environment';
// ---- delivery (B) ----
import { DEFAULT_MAX_UNACKED_BYTES_PER_WORKER, DEFAULT_PENDING_MAX_AGE_MS } from './worker-dispatcher';
import { WORKER_ROUTER_NAMES, type WorkerRouterStrategy } from './worker-router';
// ---- end delivery ----

const MiB = 1024 * 1024;
export const DEFAULT_MAX_MESSAGE_BYTES = MiB;
export const DEFAULT_MAX_BUFFERED_BYTES = MiB;
export const DEFAULT_PENDING_EVENTS = 10_000;
export const DEFAULT_PENDING_BYTES = 32 * MiB;

export interface GatewayOptions {
  /** WebSocket listener for clients. Env GATEWAY_LISTEN, default ws://0.0.0.0:7272 (port 0 = any free port). */
  listen: HostPort & { path?: string };
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
  /** Largest client message accepted, in bytes; larger ones close the client with 1009. Env GATEWAY_MAX_MESSAGE_BYTES, default 1 MiB. */
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
  // ---- delivery (B) ----
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
  // ---- end delivery ----
}

export function gatewayOptionsFromEnv(env: Env = process.env): GatewayOptions {
  return {
    listen: readWebSocketListen(env, 'GATEWAY_LISTEN', 'ws://0.0.0.0:7272'),
    lanIp: readIPv4(env, 'GATEWAY_LAN_IP', '127.0.0.1'),
    startPort: readPort(env, 'GATEWAY_START_PORT', 2000),
    registers: readHostPortList(env, 'REGISTER_ADDRESS', '127.0.0.1:1236'),
    secret: readSecret(env),
    maxMessageSize: readInteger(env, 'GATEWAY_MAX_MESSAGE_BYTES', DEFAULT_MAX_MESSAGE_BYTES, 1, 100 * MiB),
    maxClientBufferedBytes: readInteger(env, 'GATEWAY_MAX_BUFFERED_BYTES', DEFAULT_MAX_BUFFERED_BYTES, 1024, 1024 * MiB),
    pendingEventsLimit: readInteger(env, 'GATEWAY_PENDING_EVENTS', DEFAULT_PENDING_EVENTS, 0, 10_000_000),
    pendingBytesLimit: readInteger(env, 'GATEWAY_PENDING_BYTES', DEFAULT_PENDING_BYTES, 0, 4096 * MiB),
    // ---- delivery (B) ----
    pendingMaxAgeMs: readInteger(env, 'GATEWAY_PENDING_MAX_AGE_MS', DEFAULT_PENDING_MAX_AGE_MS, 100, 86_400_000),
    maxUnackedBytesPerWorker: readInteger(
      env,
      'GATEWAY_WORKER_UNACKED_BYTES',
      DEFAULT_MAX_UNACKED_BYTES_PER_WORKER,
      64 * 1024,
      4096 * MiB,
    ),
    router: readChoice(env, 'GATEWAY_ROUTER', 'least-connections', WORKER_ROUTER_NAMES),
    // ---- end delivery ----
  };
}
