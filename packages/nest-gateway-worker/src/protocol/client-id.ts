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
  const n = parseIPv4(ip, 0);
  if (n < 0) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  return n;
}

/** The prefix of an IPv4-mapped IPv6 address, as a dual-stack socket reports an IPv4 peer. */
const IPV4_MAPPED_PREFIX = '::ffff:';
/** Character codes parseIPv4 compares against. */
const ZERO = 0x30;
const DOT = 0x2e;

/** The u32 for a remote address as reported by a socket: IPv4 or IPv4-mapped IPv6, else 0 (PHP's rule for IPv6). */
export function remoteIpToNumber(address: string | undefined): number {
  if (!address) return 0;
  const n = parseIPv4(address, address.startsWith(IPV4_MAPPED_PREFIX) ? IPV4_MAPPED_PREFIX.length : 0);
  return n < 0 ? 0 : n;
}

/**
 * The u32 of the dotted IPv4 literal that fills `text` from `from` to its end, or -1 when it is not one. It accepts
 * what `net.isIPv4` accepts (four decimal parts of 0–255, no leading zeros, nothing else), in one pass over the
 * characters: it runs on every client connection, where the check by regular expression followed by a split into
 * parts cost more than the rest of the connection's record.
 */
export function parseIPv4(text: string, from: number): number {
  const end = text.length;
  let i = from;
  let n = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= end || text.charCodeAt(i) !== DOT) return -1;
      i++;
    }
    const start = i;
    let value = 0;
    while (i < end && i - start < 4) {
      const digit = text.charCodeAt(i) - ZERO;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
      i++;
    }
    const digits = i - start;
    // No digits, more than three, a value over 255, or a leading zero ("01"): not what isIPv4 accepts.
    if (digits === 0 || digits > 3 || value > 255 || (digits > 1 && text.charCodeAt(start) === ZERO)) return -1;
    n = n * 256 + value;
  }
  return i === end ? n : -1;
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
