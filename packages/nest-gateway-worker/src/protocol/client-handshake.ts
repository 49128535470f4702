import type { IncomingHttpHeaders } from 'node:http';

/**
 * What a client's connection looked like when it was opened: the WebSocket upgrade request and the peer
 * address. Sent to a worker with the first event it receives for that client.
 */
export interface ClientHandshake {
  /** The listener the client came through, as configured: "ws://0.0.0.0:7272", "text://0.0.0.0:7273", ... */
  listener: string;
  /** Its protocol: "ws", "wss", "text", "frame", or a custom framing's name. */
  protocol: string;
  /** Remote address as the gateway saw it (IPv4 or IPv6 text). */
  remoteAddress: string;
  remotePort: number;
  /** Request target of the upgrade, e.g. "/chat?token=abc" ("" for raw TCP listeners). */
  url: string;
  /** Query string parameters; a repeated key gives a list. */
  query: Record<string, string | string[]>;
  /** Upgrade request headers, lower-case names (Node's IncomingHttpHeaders); empty for raw TCP listeners. */
  headers: IncomingHttpHeaders;
}

export function parseQuery(url: string): Record<string, string | string[]> {
  const at = url.indexOf('?');
  const query: Record<string, string | string[]> = {};
  if (at < 0) return query;
  for (const [key, value] of new URLSearchParams(url.slice(at + 1))) {
    const prior = query[key];
    query[key] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return query;
}
