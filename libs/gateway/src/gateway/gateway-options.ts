import {
  readHostPortList,
  readInteger,
  readIPv4,
  readPort,
  readSecret,
  type Env,
  type HostPort,
} from '../config/environment';
import type { ClientFraming } from './listeners/client-framing';
import type { ListenerOptions } from './listeners/listener-options';
import { listenersFromEnv } from './listeners/listeners-from-env';

const MiB = 1024 * 1024;
export const DEFAULT_MAX_MESSAGE_BYTES = MiB;
export const DEFAULT_MAX_BUFFERED_BYTES = MiB;
export const DEFAULT_PENDING_EVENTS = 10_000;
export const DEFAULT_PENDING_BYTES = 32 * MiB;

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
  };
}
