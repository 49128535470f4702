import { readBoolean, readHostPortList, readInteger, readSecret, readString, type Env, type HostPort } from '../config/environment';
import type { SessionStore } from './session-store';

export interface WorkerOptions {
  /** Registers to learn gateways from. Env REGISTER_ADDRESS, default 127.0.0.1:1236. */
  registers: HostPort[];
  /** Shared secret of the inner links; null = plaintext (INNER_PLAINTEXT=true). Env SECRET_KEY. */
  secret: Buffer | null;
  /** Worker name, the first part of its worker key ("name:pid-n"). Env WORKER_NAME, default "worker". */
  name: string;
  /** Delay before reconnecting to a gateway that is still listed, in milliseconds. Default 1 000. */
  reconnectDelayMs?: number;
  /** Largest inner frame accepted from a gateway, in bytes. Default 10 MiB. */
  maxFrameSize?: number;
  /** GatewayClient: per-gateway time limit of a command or query, in milliseconds. Env GATEWAY_TIMEOUT_MS, default 3 000. */
  timeoutMs?: number;
  /** GatewayClient: reject multi-gateway calls when any gateway fails. Env GATEWAY_STRICT, default false (merge the others' results). */
  rejectOnGatewayFailure?: boolean;
  /**
   * Session persistence (see SessionStore): sessions of clients with a uid are loaded on bindUid and saved after
   * changes. Default: none (nothing loaded or saved, no cost). For a store from DI use
   * `GatewayModule.forWorker(options, { sessionStore: { useClass } })`.
   */
  sessionStore?: SessionStore;
  /**
   * Shutdown (SIGTERM, app.close()): how long the worker drains, in milliseconds: the gateways stop sending it
   * events, then it finishes the handlers in flight and sends their acks. Events still unfinished after it are
   * sent to other workers by the gateways (possibly handled twice). Env WORKER_DRAIN_TIMEOUT_MS, default 30 000.
   */
  drainTimeoutMs?: number;
}

/** How long a worker drains on shutdown by default, in milliseconds. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

export function workerOptionsFromEnv(env: Env = process.env): WorkerOptions {
  return {
    registers: readHostPortList(env, 'REGISTER_ADDRESS', '127.0.0.1:1236'),
    secret: readSecret(env),
    name: readString(env, 'WORKER_NAME', 'worker', /^[\w.-]{1,64}$/, 'letters, digits, "_", "." or "-" (at most 64)'),
    timeoutMs: readInteger(env, 'GATEWAY_TIMEOUT_MS', 3_000, 1, 600_000),
    rejectOnGatewayFailure: readBoolean(env, 'GATEWAY_STRICT', false),
    drainTimeoutMs: readInteger(env, 'WORKER_DRAIN_TIMEOUT_MS', DEFAULT_DRAIN_TIMEOUT_MS, 0, 3_600_000),
  };
}
