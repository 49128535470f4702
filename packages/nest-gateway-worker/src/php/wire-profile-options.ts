import { ConfigError } from '../config/environment';
import { choiceOption } from '../config/option-checks';

/**
 * Which wire a role speaks besides the native one:
 *  - 'native' (the default): our protocol only (JSON parameters, request ids, acks; encrypted unless plaintext);
 *  - 'php': PHP GatewayWorker's plaintext wire as well (see src/php and README "Migrating from PHP GatewayWorker"):
 *    a register checks PHP's clear-text `secret_key`, a gateway accepts PHP BusinessWorkers and GatewayClients on
 *    its inner port, a worker or GatewayClient talks to gateways the PHP way. PHP has no record layer, so the php
 *    profile needs plaintext inner links: an explicit opt-in, for networks you trust as PHP's own cluster.
 */
export type WireProfile = 'native' | 'php';

export const WIRE_PROFILES: readonly WireProfile[] = ['native', 'php'];
export const DEFAULT_WIRE_PROFILE: WireProfile = 'native';
/** PHP's default secretKey: none (PHP still compares it, so a peer sending a non-empty key is refused). */
export const DEFAULT_PHP_SECRET_KEY = '';
/** Longest PHP_SECRET_KEY accepted, in characters. */
export const MAX_PHP_SECRET_KEY_LENGTH = 256;

/** The fields every role's options have for the profile. */
export interface WireProfileOptions {
  /** 'native' or 'php' (needs `plaintext: true`). Env WIRE_PROFILE, default native. */
  wireProfile?: WireProfile;
  /**
   * PHP's `secretKey`, compared and sent in clear text as PHP does (register hellos, CMD_WORKER_CONNECT,
   * CMD_GATEWAY_CLIENT_CONNECT); only with `wireProfile: 'php'`. Env PHP_SECRET_KEY, default empty.
   */
  phpSecretKey?: string;
}

export interface ResolvedWireProfile {
  wireProfile: WireProfile;
  /** '' when none; only meaningful with the php profile. */
  phpSecretKey: string;
}

/** The variable of each field. */
export const WIRE_PROFILE_ENVIRONMENT = { wireProfile: 'WIRE_PROFILE', phpSecretKey: 'PHP_SECRET_KEY' } as const;

/** Names of the fields in errors (the variables, or `Type.field` in code), and of the plaintext field they need. */
export interface WireProfileNames {
  wireProfile: string;
  phpSecretKey: string;
  plaintext: string;
}

/**
 * Checks the profile fields: php needs plaintext inner links; PHP_SECRET_KEY only with php, and only characters
 * PHP can put into its JSON hellos unescaped (PHP concatenates it into `{"…","secret_key":"<key>"}`). The key itself
 * never appears in a message.
 */
export function resolveWireProfile(
  names: WireProfileNames,
  rawProfile: unknown,
  rawPhpSecretKey: unknown,
  plaintext: boolean,
): ResolvedWireProfile {
  const wireProfile = choiceOption(names.wireProfile, rawProfile, DEFAULT_WIRE_PROFILE, WIRE_PROFILES);
  const key = rawPhpSecretKey === undefined || rawPhpSecretKey === null ? DEFAULT_PHP_SECRET_KEY : rawPhpSecretKey;
  if (typeof key !== 'string') {
    throw new ConfigError(`${names.phpSecretKey} is invalid: expected a string (got ${typeof key})`);
  }
  if (wireProfile === 'php' && !plaintext) {
    throw new ConfigError(
      `${names.wireProfile}=php needs ${names.plaintext}=true: PHP peers speak the plaintext wire only (no record ` +
        'layer), so the whole cluster runs unencrypted while PHP peers are in it (README: Migrating from PHP GatewayWorker)',
    );
  }
  if (key !== '' && wireProfile !== 'php') {
    throw new ConfigError(
      `${names.phpSecretKey} is set but ${names.wireProfile} is not php: it is only used by the php profile`,
    );
  }
  // eslint-disable-next-line no-control-regex
  if (key.length > MAX_PHP_SECRET_KEY_LENGTH || /["\\\u0000-\u001f]/.test(key)) {
    throw new ConfigError(
      `${names.phpSecretKey} is invalid: expected at most ${MAX_PHP_SECRET_KEY_LENGTH} characters without '"', '\\' or ` +
        'control characters (PHP writes it into its JSON hellos unescaped)',
    );
  }
  return { wireProfile, phpSecretKey: key };
}
