import type { Logger } from '@nestjs/common';
import type { Socket } from 'node:net';
import type { ClientHandshake } from '../../protocol/client-handshake';
import type { ClientConnection } from '../client-connection';
import type { ClientSocket } from '../client-socket';
import type { GatewayCounters } from '../gateway-stats';
import type { ClientCloseWarnings } from '../../logging/client-close-warnings';

/** What the gateway uses of an accepted TCP socket (a net.Socket; a stand-in in unit specs). */
export type AcceptedSocket = Pick<
  Socket,
  'remoteAddress' | 'bytesRead' | 'destroyed' | 'destroy' | 'on' | 'removeListener'
>;

/**
 * The gateway's listener-agnostic client hooks, as a listener sees them. A listener calls `accepted` for every
 * TCP connection as it is accepted (before reading from it), `opened` once its handshake made it a client
 * connection (WebSocket: the upgrade; raw TCP: right after `accepted`), `message` for every complete message,
 * and `closed` exactly once when an opened connection is gone (never for one that `opened` refused).
 */
export interface ListenerHooks {
  /**
   * A TCP connection was just accepted: counts it against the connection limits (it keeps its slot until it
   * closes) and starts its handshake deadline. False when it is over a limit: the gateway has destroyed it.
   */
  accepted(raw: AcceptedSocket): boolean;
  /**
   * Returns the connection, or null when the gateway refused it (it has then closed `socket`). `raw`: the TCP
   * socket `accepted` counted (for wss://, the one under the TLS socket); its slot passes to the connection.
   */
  opened(
    socket: ClientSocket,
    handshake: ClientHandshake,
    remoteIp: number,
    raw?: AcceptedSocket,
  ): ClientConnection | null;
  message(client: ClientConnection, data: Buffer, binary: boolean): void;
  /** `peerCode`: the close code the connection ended with as its socket reports it (WebSocket), undefined for raw TCP. */
  closed(client: ClientConnection, peerCode?: number): void;
  /** A sign of life that is not a message (a WebSocket ping or pong): resets the heartbeat's count. */
  activity(client: ClientConnection): void;
  /** Closes a socket and cuts it after a grace period if the peer does not finish the close (one timer for all). */
  closeSocket(socket: ClientSocket, code: number, reason: string): void;
  readonly counters: GatewayCounters;
  readonly logger: Logger;
  /** Warnings a client can cause (oversize, malformed): rate-limited per reason. */
  readonly closeWarnings: ClientCloseWarnings;
}

/** A bound client listener (WebSocket, TLS WebSocket, raw TCP with a framing). */
export interface ClientListener {
  /** Binds; rejects when the address cannot be bound. */
  listen(): Promise<void>;
  /** The URL as configured, with the bound port (e.g. "text://127.0.0.1:40123"); valid after listen(). */
  readonly url: string;
  /** The bound port; valid after listen(). */
  readonly port: number;
  /** Client connections this listener opened since it started, and those of them still open. */
  readonly openedConnections: number;
  readonly openConnections: number;
  /** Stops accepting; resolves once every connection it accepted is gone (existing ones are left open). */
  close(): Promise<void>;
}

/** "host:port" for a URL: IPv6 hosts in brackets. */
export function urlAuthority(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The peer address without the IPv4-mapped IPv6 prefix, as PHP reports it. */
export function plainRemoteAddress(address: string | undefined): string {
  const a = address ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/**
 * Reading a net.Socket's `remoteAddress` or `remotePort` makes Node cache an `{address, family, port}` object on
 * the socket for its whole life (`_peername`); the gateway reads them once, when the connection opens, and keeps
 * what it needs itself. Dropping the cache saves that object per idle connection; Node rebuilds it if anything
 * asks again. (`_peername` is Node's private cache: nothing is lost if a Node version has no such field.)
 */
export function forgetPeerName(socket: object): void {
  const s = socket as { _peername?: unknown };
  if (s._peername !== undefined) s._peername = undefined;
}
