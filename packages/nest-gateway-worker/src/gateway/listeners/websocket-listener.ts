import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { WebSocketServer } from 'ws';
import type { ListenUrl } from '../../config/environment';
import { remoteIpToNumber } from '../../protocol/client-id';
import type { ClientConnection } from '../client-connection';
import { parseQuery, type ClientHandshake } from '../../protocol/client-handshake';
import { gateConnections } from './accept-gate';
import {
  forgetPeerName,
  plainRemoteAddress,
  urlAuthority,
  type ClientListener,
  type ListenerHooks,
} from './client-listener';
import { GatewayWebSocket, type GatewayWebSocketOwner } from './gateway-websocket';
import { listenOn } from './listen-on';

/** How often Node's HTTP server checks its header and request timeouts at most (its default is every 30 s). */
const HTTP_TIMEOUT_CHECK_MS = 1_000;
/**
 * Node's header and request timeouts come this long after the gateway's own handshake deadline: they are the
 * backstop, the gateway's sweep (counted as handshakeTimeouts, logged) drops a socket first.
 */
const HTTP_TIMEOUT_MARGIN_MS = 1_000;

/**
 * A ws:// or wss:// client listener: an HTTP(S) server whose upgrades a `ws` server turns into
 * {@link GatewayWebSocket}s. Plain HTTP requests get 426 Upgrade Required, upgrades to another path 400.
 * Every TCP connection is counted by the gateway as it is accepted (see {@link gateConnections}) and must be
 * upgraded within the handshake timeout, which also bounds the HTTP server's header and request timeouts.
 */
export class WebSocketListener implements ClientListener, GatewayWebSocketOwner {
  url = '';
  port = 0;
  openedConnections = 0;
  openConnections = 0;
  private server: Server | null = null;
  private wss: WebSocketServer | null = null;
  /** The 1009 close reason, built once. */
  private readonly tooBigReason: string;

  constructor(
    private readonly where: ListenUrl,
    readonly hooks: ListenerHooks,
    private readonly maxMessageBytes: number,
    /** Time from accept to upgrade, in milliseconds. */
    private readonly handshakeTimeoutMs: number,
    /** Present for wss://. */
    private readonly tls?: SecureContextOptions,
  ) {
    this.tooBigReason = `message too big (limit ${maxMessageBytes} bytes)`;
  }

  async listen(): Promise<void> {
    // Node's own bounds on a request's headers and body (its defaults are 60 s and 300 s, checked every 30 s): just
    // after the gateway's handshake deadline, which drops any connection not upgraded by then.
    const httpTimeoutMs = this.handshakeTimeoutMs + HTTP_TIMEOUT_MARGIN_MS;
    const http = {
      headersTimeout: httpTimeoutMs,
      requestTimeout: httpTimeoutMs,
      connectionsCheckingInterval: Math.min(HTTP_TIMEOUT_CHECK_MS, this.handshakeTimeoutMs),
    };
    const server = this.tls
      ? createHttpsServer({ ...this.tls, ...http }, upgradeRequired)
      : createHttpServer(http, upgradeRequired);
    gateConnections(server, this.hooks);
    this.server = server;
    const wss = new WebSocketServer({
      server,
      path: this.where.path || undefined,
      maxPayload: this.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
      WebSocket: GatewayWebSocket,
    });
    this.wss = wss;
    let listening = false;
    // ws re-emits the server's errors here; before listening they reject listen() instead.
    wss.on('error', (err) => listening && this.hooks.logger.error(`client listener ${this.url} error: ${err.message}`));
    wss.on('connection', (ws: GatewayWebSocket, req: IncomingMessage) => this.accept(ws, req));
    // A failed TLS handshake concerns one peer only (Node then destroys its socket).
    server.on('tlsClientError', (err: Error) =>
      this.hooks.logger.debug(`TLS handshake failed on ${this.url}: ${err.message}`),
    );
    await listenOn(server, this.where.port, this.where.host);
    listening = true;
    this.port = (server.address() as AddressInfo).port;
    this.url = `${this.where.scheme}://${urlAuthority(this.where.host, this.port)}${this.where.path}`;
  }

  async close(): Promise<void> {
    const { server, wss } = this;
    this.server = this.wss = null;
    wss?.close();
    if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  messageTooBig(socket: GatewayWebSocket): string {
    this.hooks.counters.oversizeDisconnects++;
    this.hooks.closeWarnings.warn(
      'oversize',
      `client ${socket.client?.id ?? '(not accepted)'} closed with 1009: ${this.tooBigReason}`,
    );
    return this.tooBigReason;
  }

  socketMessage(client: ClientConnection, data: Buffer, binary: boolean): void {
    this.hooks.message(client, data, binary);
  }

  socketActivity(client: ClientConnection): void {
    // Any sign of life counts for the heartbeat, pongs (answers to our pings) and pings included.
    this.hooks.activity(client);
  }

  socketClosed(client: ClientConnection, code: number): void {
    this.openConnections--;
    this.hooks.closed(client, code);
  }

  socketError(socket: GatewayWebSocket, err: Error): void {
    // ws closes the connection itself; 'close' follows. An oversize message was already logged with its close.
    if ((err as NodeJS.ErrnoException).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return;
    this.hooks.logger.debug(`client ${socket.client?.id ?? '(not accepted)'}: ${err.message}`);
  }

  private accept(ws: GatewayWebSocket, req: IncomingMessage): void {
    // From here on the socket's events reach this listener through GatewayWebSocket.emit (no per-socket listeners).
    ws.owner = this;
    const url = req.url ?? '/';
    const socket = req.socket;
    const address = socket.remoteAddress;
    const handshake: ClientHandshake = {
      listener: this.url,
      protocol: this.where.scheme,
      remoteAddress: plainRemoteAddress(address),
      remotePort: socket.remotePort ?? 0,
      url,
      query: parseQuery(url),
      headers: req.headers,
    };
    forgetPeerName(socket);
    // The TCP socket the gateway counted at accept: for wss:// the one under the TLS socket (Node's `_parent`).
    const raw = (socket as Socket & { _parent?: Socket | null })._parent ?? socket;
    const client = this.hooks.opened(ws, handshake, remoteIpToNumber(address), raw);
    if (!client) return;
    ws.client = client;
    this.openedConnections++;
    this.openConnections++;
  }
}

/** Plain HTTP requests to a WebSocket listener: what ws answers when it owns the server. */
function upgradeRequired(_req: IncomingMessage, res: ServerResponse): void {
  const body = STATUS_CODES[426]!;
  res.writeHead(426, { 'Content-Length': body.length, 'Content-Type': 'text/plain' });
  res.end(body);
}
