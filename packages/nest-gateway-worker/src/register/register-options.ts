import type { Env, HostPort } from '../config/environment';
import {
  codeNames,
  environmentNames,
  hostPortOption,
  integerOption,
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

/** Where a register listens by default. */
export const DEFAULT_REGISTER_LISTEN = '127.0.0.1:1236';
/** The registers gateways, workers and SDK clients use by default: the default register. */
export const DEFAULT_REGISTERS = DEFAULT_REGISTER_LISTEN;

/**
 * The registers a gateway, worker or SDK client uses (option `registers` of every role): "host:port", a
 * comma-separated list of them, or an array of "host:port" strings and `{ host, port }` objects.
 */
export type Registers = string | ReadonlyArray<string | HostPort>;
/** Time a peer has to finish the handshake and send its hello, in milliseconds. */
export const DEFAULT_HELLO_TIMEOUT_MS = 10_000;

/** Options of `GatewayModule.forRegister()` (and `runRegister`), checked by {@link resolveRegisterOptions}. */
export interface RegisterOptions extends WireProfileOptions {
  /** Address the register listens on: "host:port" or `{ host, port }` (port 0 = any free port). Env REGISTER_LISTEN, default 127.0.0.1:1236. */
  listen?: string | HostPort;
  /**
   * Shared secret of the inner links, at least 16 characters (a Buffer: 16 bytes). Env SECRET_KEY. Required
   * unless `plaintext` is true.
   */
  secret?: string | Buffer | null;
  /** Run the inner links unencrypted and unauthenticated (then `secret` must be unset). Env INNER_PLAINTEXT, default false. */
  plaintext?: boolean;
  /** A peer must finish the handshake and send its hello within this many milliseconds. Default 10 000. */
  helloTimeoutMs?: number;
  /** The admin listener (GET /metrics, /health/live, /health/ready). Env ADMIN_LISTEN, default none (off). */
  admin?: AdminOptions | null;
}

/** Register options with every default filled in and every value checked: what RegisterServer runs with. */
export interface ResolvedRegisterOptions extends ResolvedWireProfile {
  listen: HostPort;
  /** Null = plaintext. */
  secret: Buffer | null;
  plaintext: boolean;
  helloTimeoutMs: number;
  /** Null = no admin listener. */
  admin: ResolvedAdminOptions | null;
}

/** The variable of each field that has one. */
export const REGISTER_ENVIRONMENT: Partial<Record<keyof RegisterOptions, string>> = {
  listen: 'REGISTER_LISTEN',
  secret: 'SECRET_KEY',
  plaintext: 'INNER_PLAINTEXT',
  admin: 'ADMIN_LISTEN',
  ...WIRE_PROFILE_ENVIRONMENT,
};

/** Checks register options given in code and fills in the defaults; a bad one is a ConfigError naming it. */
export function resolveRegisterOptions(options: RegisterOptions): ResolvedRegisterOptions {
  return resolveRegister(options, codeNames('RegisterOptions'));
}

/** REGISTER_LISTEN, SECRET_KEY, INNER_PLAINTEXT, WIRE_PROFILE and PHP_SECRET_KEY, with the same checks; a bad one is a ConfigError naming the variable. */
export function registerOptionsFromEnv(env: Env = process.env): ResolvedRegisterOptions {
  return resolveRegister(
    {
      listen: env.REGISTER_LISTEN,
      secret: env.SECRET_KEY,
      plaintext: env.INNER_PLAINTEXT,
      wireProfile: env.WIRE_PROFILE,
      phpSecretKey: env.PHP_SECRET_KEY,
      admin: env.ADMIN_LISTEN,
    },
    environmentNames('RegisterOptions', REGISTER_ENVIRONMENT),
  );
}

/** The one resolve function of the register, for both sources. */
function resolveRegister(
  options: RawOptions<RegisterOptions>,
  names: FieldNames<RegisterOptions>,
): ResolvedRegisterOptions {
  const secret = secretOption(
    { secret: names('secret'), plaintext: names('plaintext') },
    options.secret,
    options.plaintext,
  );
  return {
    listen: hostPortOption(names('listen'), options.listen, DEFAULT_REGISTER_LISTEN),
    secret,
    plaintext: secret === null,
    ...resolveWireProfile(
      { wireProfile: names('wireProfile'), phpSecretKey: names('phpSecretKey'), plaintext: names('plaintext') },
      options.wireProfile,
      options.phpSecretKey,
      secret === null,
    ),
    helloTimeoutMs: integerOption(
      names('helloTimeoutMs'),
      options.helloTimeoutMs,
      DEFAULT_HELLO_TIMEOUT_MS,
      100,
      600_000,
    ),
    admin: adminOption(names('admin'), options.admin),
  };
}
