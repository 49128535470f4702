import { isIPv4 } from 'node:net';
import { shownValue } from './shown-value';

/**
 * client_id in PHP GatewayWorker's format: 20 lowercase hex characters encoding the owning gateway's
 * lan IPv4 (u32), its inner port (u16) and the connection id (u32), all big-endian. Example:
 * `7f00000108fc00000001` = gateway 127.0.0.1, inner port 2300, connection 1.
 */
export interface ClientAddress {
  /** Gateway lan IPv4 as u32. */
  localIp: number;
  /** Gateway inner port. */
  localPort: number;
  connectionId: number;
}

const CLIENT_ID = /^[0-9a-f]{20}$/;

// The gateway part of the last client_id encoded: a worker encodes one per event, nearly always for the same
// few gateways, so the first 12 characters are reused instead of formatted again.
let lastIp = -1;
let lastPort = -1;
let lastPrefix = '';

export function encodeClientId(a: ClientAddress): string {
  if (a.localIp !== lastIp || a.localPort !== lastPort) {
    lastPrefix = (a.localIp >>> 0).toString(16).padStart(8, '0') + a.localPort.toString(16).padStart(4, '0');
    lastIp = a.localIp;
    lastPort = a.localPort;
  }
  return lastPrefix + (a.connectionId >>> 0).toString(16).padStart(8, '0');
}

/** Decodes a client_id; throws a clear error for anything that is not 20 hex characters. */
export function decodeClientId(clientId: string): ClientAddress {
  if (typeof clientId !== 'string' || !CLIENT_ID.test(clientId.toLowerCase())) {
    throw new InvalidClientIdError(clientId);
  }
  return {
    localIp: parseInt(clientId.slice(0, 8), 16),
    localPort: parseInt(clientId.slice(8, 12), 16),
    connectionId: parseInt(clientId.slice(12, 20), 16),
  };
}

/** "ip:port" of the gateway inner address a client_id points to (the key workers use for their links). */
export function gatewayAddressOf(clientId: string): string {
  return gatewayAddress(decodeClientId(clientId));
}

/** "ip:port" of the gateway in a decoded client_id. */
export function gatewayAddress(a: ClientAddress): string {
  return `${ipv4ToString(a.localIp)}:${a.localPort}`;
}

export function isClientId(value: unknown): value is string {
  return typeof value === 'string' && CLIENT_ID.test(value.toLowerCase());
}

/** 127.0.0.1 → 0x7f000001. Throws for anything that is not a dotted IPv4 literal. */
export function ipv4ToNumber(ip: string): number {
  if (!isIPv4(ip)) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0) >>> 0;
}

/** The u32 for a remote address as reported by a socket: IPv4 or IPv4-mapped IPv6, else 0 (PHP's rule for IPv6). */
export function remoteIpToNumber(address: string | undefined): number {
  if (!address) return 0;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return isIPv4(v4) ? ipv4ToNumber(v4) : 0;
}

export function ipv4ToString(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

export class InvalidClientIdError extends Error {
  override name = 'InvalidClientIdError';
  constructor(value: unknown) {
    super(`invalid client_id ${shownValue(value)}: expected 20 hex characters`);
  }
}
