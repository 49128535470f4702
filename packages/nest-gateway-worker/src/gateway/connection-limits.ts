/**
 * What one client connection, and one remote address, may use: a per-connection message rate (token bucket)
 * and the number of connections, in total and per remote IP. No timers: the bucket is refilled lazily from
 * the time of the previous message, and the counts change only on accept and close.
 */

import { TOO_MANY_CONNECTIONS, TOO_MANY_FROM_ADDRESS, type CloseReason } from './close-codes';

/** The token bucket's state, kept on the connection itself (two numbers, no allocation). */
export interface RateLimitedEntry {
  /** Tokens left after the last message; {@link BUCKET_UNUSED} before the first, -Infinity once exceeded. */
  rateTokens: number;
  /** When the bucket was last refilled (performance.now() milliseconds). */
  rateRefilledAt: number;
}

/** `rateTokens` of a connection that has not sent a message yet: its bucket is full. */
export const BUCKET_UNUSED = -1;

/**
 * A per-connection token bucket: `burst` messages at once, refilled at `ratePerSecond`. Once a connection has
 * exceeded it, it stays exceeded (the gateway is closing it; messages still in flight are not forwarded).
 */
export class MessageRateLimit {
  private readonly perMs: number;

  constructor(
    /** Sustained messages per second, > 0. */
    readonly ratePerSecond: number,
    /** Bucket size: messages accepted back to back, ≥ 1. */
    readonly burst: number,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond))
      throw new RangeError(`rate limit must be > 0 messages/s, got ${ratePerSecond}`);
    if (!(burst >= 1)) throw new RangeError(`rate burst must be ≥ 1 message, got ${burst}`);
    this.perMs = ratePerSecond / 1000;
  }

  /** Takes one token for a message at `nowMs` (monotonic); false when the connection has none left. */
  allow(entry: RateLimitedEntry, nowMs: number): boolean {
    const previous = entry.rateTokens;
    const tokens =
      previous === BUCKET_UNUSED
        ? this.burst
        : Math.min(this.burst, previous + Math.max(0, nowMs - entry.rateRefilledAt) * this.perMs);
    entry.rateRefilledAt = nowMs;
    if (tokens < 1) {
      entry.rateTokens = -Infinity;
      return false;
    }
    entry.rateTokens = tokens - 1;
    return true;
  }
}

/**
 * Connection counts against `maxConnections` (total) and `maxConnectionsPerIp`; 0 means unlimited. A connection
 * is counted from its TCP accept (before its WebSocket upgrade, or whatever handshake its listener has) until it
 * closes, so sockets that never finish a handshake hold a slot like any other and cannot pass the limits; one
 * over a limit is refused at accept. Client connections only: the inner listener (workers, SDK clients) has its
 * own sockets and never counts here. Per-address counts exist only while an address has connections (and only
 * with a per-address limit), so the map never outgrows the live connections.
 */
export class ConnectionLimits {
  private readonly perAddress = new Map<string, number>();
  private count = 0;

  constructor(
    readonly maxConnections: number,
    readonly maxConnectionsPerIp: number,
  ) {}

  /** Connections counted now, handshake done or not. */
  get total(): number {
    return this.count;
  }

  /** Connections counted per address (tests and stats). */
  countFor(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  /** Addresses with at least one counted connection. */
  get addresses(): number {
    return this.perAddress.size;
  }

  /** The limit `reason` stands for (for log lines): "limit 50 per address". */
  limitOf(reason: CloseReason): string {
    return reason === TOO_MANY_FROM_ADDRESS
      ? `limit ${this.maxConnectionsPerIp} per address`
      : `limit ${this.maxConnections} in total`;
  }

  /**
   * A new connection from `address`: null admits it and counts it, in total and against its address (release it
   * once, when it closes), otherwise the reason it is refused (and nothing is counted).
   */
  admit(address: string): CloseReason | null {
    if (this.maxConnections > 0 && this.count >= this.maxConnections) return TOO_MANY_CONNECTIONS;
    if (this.maxConnectionsPerIp > 0) {
      const count = this.perAddress.get(address) ?? 0;
      if (count >= this.maxConnectionsPerIp) return TOO_MANY_FROM_ADDRESS;
      this.perAddress.set(address, count + 1);
    }
    this.count++;
    return null;
  }

  /** An admitted connection from `address` closed: its slot is free again. */
  release(address: string): void {
    if (this.count > 0) this.count--;
    if (this.maxConnectionsPerIp === 0) return;
    const count = this.perAddress.get(address);
    if (count === undefined) return;
    if (count <= 1) this.perAddress.delete(address);
    else this.perAddress.set(address, count - 1);
  }
}
