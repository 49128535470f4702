import { ConfigError, type Env } from '../config/environment';
import {
  booleanOption,
  choiceOption,
  codeNames,
  environmentNames,
  integerOption,
  stringOption,
  type FieldNames,
  type RawOptions,
} from '../config/option-checks';
import {
  GATEWAY_CLIENT_ENVIRONMENT,
  gatewayClientFieldsOf,
  resolveGatewayClientFields,
  type GatewayClientOptions,
  type ResolvedGatewayClientOptions,
} from '../client/gateway-client-options';
import { BACKPLANE_ENVIRONMENT, WORKER_BACKPLANE_VARIABLES } from '../backplane/backplane-options';
import { DEFAULT_MAX_FRAME_SIZE } from '../protocol/frame-decoder';
import type { SessionStore } from './session-store';

/** The worker's name in logs and the first part of its worker key ("name:pid-n"). */
export const DEFAULT_WORKER_NAME = 'worker';
/** How long a worker drains on shutdown by default, in milliseconds. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
/** Whether handlers that need nothing of Nest's wrapper skip it, by default. */
export const DEFAULT_WORKER_FAST_PATH = true;
/** WORKER_SESSION_STORE: no store, or RedisSessionStore on the backplane. */
export const SESSION_STORE_CHOICES = ['none', 'backplane'] as const;
export const DEFAULT_SESSION_STORE = 'none';
/** What a worker name may hold. */
export const WORKER_NAME_PATTERN = /^[\w.-]{1,64}$/;

/**
 * Options of `GatewayModule.forWorker()`, checked by {@link resolveWorkerOptions}. The inner-link and GatewayClient
 * fields (`registers`, `secret`, `plaintext`, `timeoutMs`, `rejectOnGatewayFailure`, `reconnectDelayMs`) are
 * those of `forClient`, under the same names.
 */
export interface WorkerOptions extends GatewayClientOptions {
  /** Worker name, the first part of its worker key ("name:pid-n"). Env WORKER_NAME, default "worker". */
  name?: string;
  /** Largest inner frame accepted from a gateway, in bytes (64 KiB … 1 GiB). Default 10 MiB. */
  maxFrameSize?: number;
  /**
   * Session persistence (see SessionStore): sessions of clients with a uid are loaded on bindUid and saved after
   * changes. `'backplane'`: a RedisSessionStore on the backplane's connection (needs `backplane`). Env
   * WORKER_SESSION_STORE (none or backplane), default: none (nothing loaded or saved, no cost). For a store from
   * DI use `GatewayModule.forWorker(options, { sessionStore: { useClass } })`.
   */
  sessionStore?: SessionStore | 'backplane';
  /**
   * Shutdown (SIGTERM, app.close()): how long the worker drains, in milliseconds (0 … 3 600 000): the gateways stop
   * sending it events, then it finishes the handlers in flight and sends their acks. Events still unfinished after
   * it are sent to other workers by the gateways (possibly handled twice). Env WORKER_DRAIN_TIMEOUT_MS, default 30 000.
   */
  drainTimeoutMs?: number;
  /**
   * Whether handlers that need nothing of Nest's RPC wrapper (no guards, interceptors, pipes, other exception
   * filters than GatewayExceptionFilter, only our parameter decorators) are called directly, without it (see
   * README "Handlers"). Turn it off if the app adds global enhancers the transport cannot see: `useGlobal*()` on a
   * hybrid app's microservice connected with `deferInitialization`. Env WORKER_FAST_PATH, default true.
   */
  fastPath?: boolean;
}

/** Worker options with every default filled in and every value checked: what GatewayTransport runs with. */
export interface ResolvedWorkerOptions extends ResolvedGatewayClientOptions {
  name: string;
  maxFrameSize: number;
  /** Undefined: no session store; 'backplane': a RedisSessionStore on the backplane. */
  sessionStore?: SessionStore | 'backplane';
  drainTimeoutMs: number;
  fastPath: boolean;
}

/** The variable of each field that has one. */
export const WORKER_ENVIRONMENT: Partial<Record<keyof WorkerOptions, string>> = {
  ...GATEWAY_CLIENT_ENVIRONMENT,
  name: 'WORKER_NAME',
  drainTimeoutMs: 'WORKER_DRAIN_TIMEOUT_MS',
  admin: 'ADMIN_LISTEN',
  sessionStore: 'WORKER_SESSION_STORE',
  fastPath: 'WORKER_FAST_PATH',
};

/** Checks worker options given in code and fills in the defaults; a bad one is a ConfigError naming it. */
export function resolveWorkerOptions(options: WorkerOptions): ResolvedWorkerOptions {
  return resolveWorker(options, codeNames('WorkerOptions'));
}

/** The worker's variables (REGISTER_ADDRESS, SECRET_KEY, WORKER_NAME...), with the same checks as code. */
export function workerOptionsFromEnv(env: Env = process.env): ResolvedWorkerOptions {
  return resolveWorker(
    {
      ...gatewayClientFieldsOf(env, WORKER_BACKPLANE_VARIABLES),
      name: env.WORKER_NAME,
      drainTimeoutMs: env.WORKER_DRAIN_TIMEOUT_MS,
      fastPath: env.WORKER_FAST_PATH,
      admin: env.ADMIN_LISTEN,
      sessionStore: choiceOption(
        'WORKER_SESSION_STORE',
        env.WORKER_SESSION_STORE,
        DEFAULT_SESSION_STORE,
        SESSION_STORE_CHOICES,
      ),
    },
    environmentNames('WorkerOptions', WORKER_ENVIRONMENT),
  );
}

/** The one resolve function of the worker, for both sources. */
function resolveWorker(o: RawOptions<WorkerOptions>, names: FieldNames<WorkerOptions>): ResolvedWorkerOptions {
  const raw = o.sessionStore === 'none' ? undefined : (o.sessionStore ?? undefined);
  const sessionStore = raw as SessionStore | 'backplane' | undefined;
  if (sessionStore !== undefined && sessionStore !== 'backplane' && !isSessionStore(sessionStore)) {
    throw new ConfigError(
      `${names('sessionStore')} is invalid: expected a SessionStore (with load and save methods) or 'backplane'`,
    );
  }
  const client = resolveGatewayClientFields(o, names);
  if (sessionStore === 'backplane' && client.backplane === null) {
    throw new ConfigError(
      `${names('sessionStore')}=backplane needs a backplane: set ` +
        (names('sessionStore') === WORKER_ENVIRONMENT.sessionStore ? BACKPLANE_ENVIRONMENT.url : names('backplane')),
    );
  }
  return {
    ...client,
    name: stringOption(
      names('name'),
      o.name,
      DEFAULT_WORKER_NAME,
      WORKER_NAME_PATTERN,
      'letters, digits, "_", "." or "-" (at most 64)',
    ),
    maxFrameSize: integerOption(
      names('maxFrameSize'),
      o.maxFrameSize,
      DEFAULT_MAX_FRAME_SIZE,
      64 * 1024,
      1024 * 1024 * 1024,
    ),
    ...(sessionStore !== undefined ? { sessionStore } : {}),
    drainTimeoutMs: integerOption(names('drainTimeoutMs'), o.drainTimeoutMs, DEFAULT_DRAIN_TIMEOUT_MS, 0, 3_600_000),
    fastPath: booleanOption(names('fastPath'), o.fastPath, DEFAULT_WORKER_FAST_PATH),
  };
}

function isSessionStore(v: unknown): v is SessionStore {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as SessionStore).load === 'function' &&
    typeof (v as SessionStore).save === 'function'
  );
}
