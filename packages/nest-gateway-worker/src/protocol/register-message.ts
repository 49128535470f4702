import { isIPv4 } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import type { StreamDecoder } from './inner-link';

/**
 * Register protocol messages: one JSON object per line, as in PHP GatewayWorker
 * (reference/php-gatewayworker-spec.md §3). The native profile carries the lines inside the encrypted
 * record layer, so authentication is the link's handshake and `secret_key` fields are not sent. The php wire
 * profile sends and checks PHP's clear-text `secret_key` in the two hellos (kept as parsed, whatever its JSON type:
 * PHP compares it strictly).
 */
export type RegisterMessage =
  /** Gateway → register: announce this gateway's inner address ("lanIp:port"). */
  | { event: 'gateway_connect'; address: string; secret_key?: unknown }
  /** Worker or SDK client → register: subscribe to the gateway list. */
  | { event: 'worker_connect'; secret_key?: unknown }
  /** Register → subscribers: the whole current gateway list. */
  | { event: 'broadcast_addresses'; addresses: string[] }
  /** Keep-alive, no reply. */
  | { event: 'ping' };

export function encodeRegisterMessage(message: RegisterMessage): Buffer {
  return Buffer.from(JSON.stringify(message) + '\n', 'utf8');
}

/**
 * What is wrong with an inner address, or null when it is "ipv4:port" in canonical form: every octet ≤ 255 without
 * leading zeros, the port 1-65535 in decimal without leading zeros. Canonical, because the address is compared as a
 * string: with the gateway addresses in client_ids, the workers' connections, the backplane's keys. "127.0.0.1:02000"
 * would name the gateway 127.0.0.1:2000 in a form nothing else matches.
 */
function innerAddressProblem(value: unknown): string | null {
  if (typeof value !== 'string') return `${value === null ? 'null' : typeof value}, not a string`;
  const at = value.lastIndexOf(':');
  if (at <= 0) return `${JSON.stringify(value)} has no port`;
  if (!isIPv4(value.slice(0, at))) return `${JSON.stringify(value)}: not an IPv4 address in dotted decimal`;
  const port = value.slice(at + 1);
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    return `${JSON.stringify(value)}: the port must be 1-65535`;
  }
  if (port !== String(Number(port))) {
    return `${JSON.stringify(value)}: the port has a leading zero (write ${value.slice(0, at)}:${Number(port)})`;
  }
  return null;
}

/**
 * Parses one line (without its newline). Tolerant like PHP: whitespace anywhere, extra fields ignored,
 * `addresses` may be a list or an object of addresses. Throws {@link RegisterMessageError} otherwise.
 */
export function parseRegisterMessage(line: string): RegisterMessage {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new RegisterMessageError('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RegisterMessageError('not a JSON object');
  }
  const m = value as Record<string, unknown>;
  switch (m.event) {
    case 'gateway_connect': {
      const problem = innerAddressProblem(m.address);
      if (problem !== null) {
        throw new RegisterMessageError(`gateway_connect needs "address" as "ipv4:port": ${problem}`);
      }
      return { event: 'gateway_connect', address: m.address as string, ...secretKeyOf(m) };
    }
    case 'worker_connect':
      return { event: 'worker_connect', ...secretKeyOf(m) };
    case 'ping':
      return { event: 'ping' };
    case 'broadcast_addresses': {
      const list = Array.isArray(m.addresses)
        ? m.addresses
        : typeof m.addresses === 'object' && m.addresses !== null
          ? Object.values(m.addresses)
          : null;
      const problem = list === null ? 'not a list' : list.map(innerAddressProblem).find((p) => p !== null);
      if (problem) {
        throw new RegisterMessageError(`broadcast_addresses needs "addresses" as a list of "ipv4:port": ${problem}`);
      }
      return { event: 'broadcast_addresses', addresses: list as string[] };
    }
    default:
      throw new RegisterMessageError(`unknown event ${JSON.stringify(m.event)}`);
  }
}

/** A hello's `secret_key` when it has one (PHP's isset: null counts as none). */
function secretKeyOf(m: Record<string, unknown>): { secret_key?: unknown } {
  return m.secret_key === undefined || m.secret_key === null ? {} : { secret_key: m.secret_key };
}

export class RegisterMessageError extends Error {
  override name = 'RegisterMessageError';

  constructor(
    message: string,
    /** From LineDecoder: the lines the same push completed before the bad one (see FrameError.decoded). */
    readonly decoded: readonly string[] = [],
  ) {
    super(message);
  }
}

/** Default longest register line: 1 MiB (a list of ~40 000 gateway addresses). */
export const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;

/** Lines without their trailing '\r', empty ones left out. */
function trimLines(lines: string[]): string[] {
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)).filter((l) => l.length > 0);
}

/** Splits a byte stream into lines ('\n', trailing '\r' stripped); refuses a line longer than the limit. */
export class LineDecoder implements StreamDecoder<string> {
  private partial = '';
  // Keeps a multi-byte character split across chunks intact.
  private readonly utf8 = new StringDecoder('utf8');

  constructor(private readonly maxLineLength = DEFAULT_MAX_LINE_LENGTH) {}

  push(chunk: Buffer): string[] {
    const added = this.utf8.write(chunk);
    if (!added.includes('\n')) {
      // No line ends here: the partial line only grows (a string append, no copy of what came before), so a long line
      // arriving in many small chunks costs time linear in its length, not quadratic.
      this.partial += added;
      if (this.partial.length > this.maxLineLength) {
        throw new RegisterMessageError(`line longer than ${this.maxLineLength} characters`);
      }
      return [];
    }
    const lines = (this.partial + added).split('\n');
    this.partial = lines.pop()!;
    const tooLong = lines.findIndex((l) => l.length > this.maxLineLength);
    if (tooLong >= 0 || this.partial.length > this.maxLineLength) {
      // The lines before the long one are delivered first, whatever the chunking.
      const before = tooLong >= 0 ? lines.slice(0, tooLong) : lines;
      throw new RegisterMessageError(`line longer than ${this.maxLineLength} characters`, trimLines(before));
    }
    return trimLines(lines);
  }
}
