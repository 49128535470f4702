import type { ClientBackplane } from '../backplane/client-backplane';
import type { Env, HostPort } from '../config/environment';
import {
  BACKPLANE_ENVIRONMENT,
  BACKPLANE_TLS_VARIABLES,
  backplaneFieldsOf,
  resolveBackplaneOptions,
  type BackplaneOptions,
  type ResolvedBackplaneOptions,
} from '../backplane/backplane-options';
import {
  booleanOption,
  codeNames,
  environmentNames,
  hostPortListOption,
  integerOption,
  isUnsetList,
  refuseRenamedOptions,
  secretOption,
  type FieldNames,
  type RawOptions,
} from '../config/option-checks';
import { adminOption, type AdminOptions, type ResolvedAdminOptions } from '../ops/admin/admin-options';
import {
  WIRE_PROFILE_ENVIRONMENT,
  resolveWireProfile,
  type ResolvedWireProfile,
  type WireProfileOptions,
} from '../php/wire-profile-options';
import { phpLinkParts } from '../php/php-link-wire';
import { DEFAULT_REGISTERS, type Registers } from '../register/register-options';
import type { GatewayClientSettings } from './gateway-calls';
import type { GatewayLinkPoolOptions } from './gateway-link-pool';

/** Per-gateway time limit of a GatewayClient command or query, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 3_000;
/** Whether a multi-gateway call rejects when one gateway fails (false: the others' results are returned). */
export const DEFAULT_REJECT_ON_GATEWAY_FAILURE = false;
/**
 * Ceiling of the first delay before reconnecting to a gateway that dropped and is still listed, in milliseconds;
 * later delays back off up to 30 s (ReconnectBackoff).
 */
export const DEFAULT_RECONNECT_DELAY_MS = 1_000;

/**
 * Options of `GatewayModule.forClient()`: a GatewayClient in any Nest app that is not a worker (HTTP, cron, queue
 * consumer...). A worker's options (WorkerOptions) have the same fields under the same names.
 */
export interface GatewayClientOptions extends WireProfileOptions {
  /**
   * The register(s) to learn gateways from: "host:port", a comma-separated list, or an array of "host:port" /
   * `{ host, port }`. Env REGISTER_ADDRESS, default 127.0.0.1:1236; with a `backplane` and no registers given, none
   * (both given: the union of their lists).
   */
  registers?: Registers;
  /**
   * The optional Redis backplane: a `redis://` / `rediss://` URL or BackplaneOptions (`{ client }` for your own
   * ioredis client from DI, through forClientAsync / forWorkerAsync). Gateways are discovered through their leases,
   * and sends and queries about uids and groups reach only the gateways that hold them. Env GATEWAY_BACKPLANE,
   * GATEWAY_BACKPLANE_PREFIX, GATEWAY_BACKPLANE_TIMEOUT_MS; default: off.
   */
  backplane?: string | BackplaneOptions | null;
  /** The cluster's shared secret, at least 16 characters (a Buffer: 16 bytes). Env SECRET_KEY. Required unless `plaintext` is true. */
  secret?: string | Buffer | null;
  /** Use unencrypted inner links (the cluster must run with INNER_PLAINTEXT=true; `secret` unset). Env INNER_PLAINTEXT, default false. */
  plaintext?: boolean;
  /** Per-gateway time limit of a command or query, in milliseconds (1 … 600 000). Env GATEWAY_TIMEOUT_MS, default 3 000. */
  timeoutMs?: number;
  /**
   * Reject a multi-gateway call (sendToAll, queries...) when any gateway fails, with
   * GatewayPartialFailureError. Env GATEWAY_STRICT, default false: the other gateways' results are returned and
   * the failure is logged and emitted on `GatewayClient.failures`.
   */
  rejectOnGatewayFailure?: boolean;
  /**
   * Ceiling of the first delay before reconnecting to a gateway that dropped, in milliseconds (10 … 600 000):
   * the first retry comes after half to all of it, and each failed attempt doubles the ceiling up to 30 s.
   * Default 1 000.
   */
  reconnectDelayMs?: number;
  /**
   * The admin listener (GET /metrics, /health/live, /health/ready) of this process. A worker reads it from env
   * ADMIN_LISTEN; a standalone GatewayClient (forClient) takes it in code only. Default none (off).
   */
  admin?: AdminOptions | null;
}

/** GatewayClient options with every default filled in and every value checked. */
export interface ResolvedGatewayClientOptions extends ResolvedWireProfile {
  registers: HostPort[];
  /** Null: no backplane. */
  backplane: ResolvedBackplaneOptions | null;
  /** Null = plaintext. */
  secret: Buffer | null;
  plaintext: boolean;
  timeoutMs: number;
  rejectOnGatewayFailure: boolean;
  reconnectDelayMs: number;
  /** Null = no admin listener. */
  admin: ResolvedAdminOptions | null;
}

/** The variable of each field that has one (the same as a worker's). */
export const GATEWAY_CLIENT_ENVIRONMENT: Partial<Record<keyof GatewayClientOptions, string>> = {
  registers: 'REGISTER_ADDRESS',
  secret: 'SECRET_KEY',
  plaintext: 'INNER_PLAINTEXT',
  ...WIRE_PROFILE_ENVIRONMENT,
  timeoutMs: 'GATEWAY_TIMEOUT_MS',
  rejectOnGatewayFailure: 'GATEWAY_STRICT',
};

/** Names from before the options had one vocabulary across roles, and what they are called now. */
const RENAMED = { registerAddress: 'registers', secretKey: 'secret' };

/** Checks forClient options given in code and fills in the defaults; a bad one is a ConfigError naming it (never its secret). */
export function resolveGatewayClientOptions(options: GatewayClientOptions): ResolvedGatewayClientOptions {
  refuseRenamedOptions('GatewayClientOptions', options, RENAMED);
  return resolveGatewayClientFields(options, codeNames('GatewayClientOptions'));
}

/**
 * The variables a GatewayClient outside a worker uses (REGISTER_ADDRESS, SECRET_KEY / INNER_PLAINTEXT,
 * GATEWAY_TIMEOUT_MS, GATEWAY_STRICT: the worker's), with the same checks as code.
 */
export function gatewayClientOptionsFromEnv(env: Env = process.env): ResolvedGatewayClientOptions {
  return resolveGatewayClientFields(
    gatewayClientFieldsOf(env),
    environmentNames('GatewayClientOptions', GATEWAY_CLIENT_ENVIRONMENT),
  );
}

/** The backplane variables a GatewayClient outside a worker reads. */
export const GATEWAY_CLIENT_BACKPLANE_VARIABLES = [
  BACKPLANE_ENVIRONMENT.url,
  BACKPLANE_ENVIRONMENT.prefix,
  BACKPLANE_ENVIRONMENT.timeoutMs,
  BACKPLANE_ENVIRONMENT.cache,
  ...BACKPLANE_TLS_VARIABLES,
];

/**
 * The raw GatewayClient fields from the environment, for this file and a worker's (`backplaneVariables`: the
 * backplane variables the role reads).
 */
export function gatewayClientFieldsOf(
  env: Env,
  backplaneVariables: readonly string[] = GATEWAY_CLIENT_BACKPLANE_VARIABLES,
): RawOptions<GatewayClientOptions> {
  const raw: RawOptions<GatewayClientOptions> = {};
  for (const [field, variable] of Object.entries(GATEWAY_CLIENT_ENVIRONMENT))
    raw[field as keyof GatewayClientOptions] = env[variable!];
  raw.backplane = backplaneFieldsOf(env, backplaneVariables);
  return raw;
}

/**
 * The one check of the GatewayClient fields, shared by forClient and the worker (whose options hold the same
 * fields): `names` names them in errors.
 */
export function resolveGatewayClientFields(
  o: RawOptions<GatewayClientOptions>,
  names: FieldNames<GatewayClientOptions>,
): ResolvedGatewayClientOptions {
  const secret = secretOption({ secret: names('secret'), plaintext: names('plaintext') }, o.secret, o.plaintext);
  const backplane = resolveBackplaneOptions(names('backplane'), o.backplane);
  return {
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
    timeoutMs: integerOption(names('timeoutMs'), o.timeoutMs, DEFAULT_TIMEOUT_MS, 1, 600_000),
    rejectOnGatewayFailure: booleanOption(
      names('rejectOnGatewayFailure'),
      o.rejectOnGatewayFailure,
      DEFAULT_REJECT_ON_GATEWAY_FAILURE,
    ),
    reconnectDelayMs: integerOption(
      names('reconnectDelayMs'),
      o.reconnectDelayMs,
      DEFAULT_RECONNECT_DELAY_MS,
      10,
      600_000,
    ),
    admin: adminOption(names('admin'), o.admin),
  };
}

/** What GatewayLinkPool and GatewayClient take, from resolved options; `link` adds the hello (who the links are). */
export function clientPartsOf(
  options: ResolvedGatewayClientOptions,
  link: Pick<GatewayLinkPoolOptions, 'hello'> & Partial<GatewayLinkPoolOptions>,
): { links: GatewayLinkPoolOptions; settings: GatewayClientSettings } {
  return {
    links: {
      registers: options.registers,
      secret: options.secret,
      reconnectDelayMs: options.reconnectDelayMs,
      ...link,
      // The php profile: PHP's identification, encodings and replies on every gateway link (src/php).
      ...(options.wireProfile === 'php' ? phpLinkParts(link.hello, options.phpSecretKey) : {}),
    },
    settings: { timeoutMs: options.timeoutMs, rejectOnGatewayFailure: options.rejectOnGatewayFailure },
  };
}

/** The settings of a GatewayClient on `backplane` (targeting, history, status), or `settings` as they are without one. */
export function withBackplane(
  settings: GatewayClientSettings,
  backplane: ClientBackplane | null,
): GatewayClientSettings {
  if (!backplane) return settings;
  return { ...settings, targeting: backplane.targeting, history: backplane.history, backplane };
}
