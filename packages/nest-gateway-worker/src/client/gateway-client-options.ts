import { ConfigError, MIN_SECRET_LENGTH, parseHostPort, type HostPort } from '../config/environment';
import type { GatewayLinksOptions } from './gateway-links';
import type { GatewayClientSettings } from './gateway-client';

/** Options of `GatewayModule.forClient()`: a GatewayClient in any Nest app (HTTP, cron, queue consumer...). */
export interface GatewayClientModuleOptions {
  /** The register(s) to learn gateways from: "host:port" or a list. Default "127.0.0.1:1236". */
  registerAddress?: string | string[];
  /** The cluster's shared secret (at least 16 characters). Required unless `plaintext` is true. */
  secretKey?: string;
  /** Use unencrypted inner links (the cluster must run with INNER_PLAINTEXT=true). Default false. */
  plaintext?: boolean;
  /** Per-gateway time limit of a command or query, in milliseconds. Default 3 000. */
  timeoutMs?: number;
  /**
   * Reject a multi-gateway call (sendToAll, queries...) when any gateway fails, with
   * GatewayPartialFailureError. Default false: the other gateways' results are returned and the failure is
   * logged and emitted on `GatewayClient.failures`.
   */
  rejectOnGatewayFailure?: boolean;
  /** Delay before reconnecting to a gateway that dropped, in milliseconds. Default 1 000. */
  reconnectDelayMs?: number;
}

/** Validated options; throws ConfigError naming the option that is wrong (never its secret value). */
export function resolveClientOptions(options: GatewayClientModuleOptions): {
  links: GatewayLinksOptions;
  settings: GatewayClientSettings;
} {
  const raw = options.registerAddress ?? '127.0.0.1:1236';
  const list = (Array.isArray(raw) ? raw : raw.split(',')).map((a) => a.trim()).filter(Boolean);
  if (list.length === 0) throw new ConfigError('registerAddress is empty: expected "host:port" or a list of them');
  const registers: HostPort[] = list.map((a) => parseHostPort('registerAddress', a));
  let secret: Buffer | null;
  if (options.plaintext) {
    if (options.secretKey) throw new ConfigError('secretKey is set together with plaintext: true: choose one');
    secret = null;
  } else {
    if (!options.secretKey) {
      throw new ConfigError('secretKey is not set: give the cluster\'s SECRET_KEY, or plaintext: true for an unencrypted cluster');
    }
    if (options.secretKey.length < MIN_SECRET_LENGTH) {
      throw new ConfigError(`secretKey is too short (${options.secretKey.length} characters): use at least ${MIN_SECRET_LENGTH}`);
    }
    secret = Buffer.from(options.secretKey, 'utf8');
  }
  const timeoutMs = options.timeoutMs ?? 3_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ConfigError(`timeoutMs must be a positive number of milliseconds`);
  return {
    links: { registers, secret, role: 'client', name: 'client', reconnectDelayMs: options.reconnectDelayMs },
    settings: { timeoutMs, rejectOnGatewayFailure: options.rejectOnGatewayFailure ?? false },
  };
}
