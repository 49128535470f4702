import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { ipv4ToNumber, remoteIpToNumber } from '../protocol/client-id';
import { parseQuery, type ClientHandshake } from '../protocol/client-handshake';
import { Cmd, FrameFlag } from '../protocol/command';
import { RegisterClient } from '../register/register-client';
import { ClientConnection } from './client-connection';
import { WebSocketClientSocket, type ClientSocket } from './client-socket';
import { ConnectionTable } from './connection-table';
import { GatewayCommands } from './gateway-commands';
import {
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_PENDING_BYTES,
  DEFAULT_PENDING_EVENTS,
  type GatewayOptions,
} from './gateway-options';
import { GatewayCounters } from './gateway-stats';
import { MembershipIndex } from './membership-index';
import { CloseCode, WorkerDispatcher } from './worker-dispatcher';

export { CloseCode } from './worker-dispatcher';

const EMPTY = Buffer.alloc(0);

/** What {@link GatewayServer.start} bound to. */
export interface GatewayAddresses {
  /** e.g. ws://127.0.0.1:7272 */
  clientUrl: string;
  /** "lanIp:port" announced to the register and embedded in client_ids. */
  innerAddress: string;
}

/**
 * The gateway: holds client connections, forwards their events to workers (sticky, least connections) and
 * executes the commands workers and SDK clients send. It never parses a client payload.
 */
export class GatewayServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Gateway');
  private readonly table = new ConnectionTable();
  private readonly membership = new MembershipIndex();
  readonly counters = new GatewayCounters();
  private readonly dispatcher: WorkerDispatcher;
  private readonly lanIpNumber: number;
  private wss: WebSocketServer | null = null;
  private inner: Server | null = null;
  private register: RegisterClient | null = null;
  private innerPort = 0;
  private clientPort = 0;
  private listenUrl = '';
  /** Created once the inner port is known: the client_ids in query replies embed it. */
  private commands: GatewayCommands;

  constructor(private readonly options: GatewayOptions) {
    this.lanIpNumber = ipv4ToNumber(options.lanIp);
    this.dispatcher = new WorkerDispatcher({
      secret: options.secret,
      lanIp: this.lanIpNumber,
      innerPort: () => this.innerPort,
      clientPort: () => this.clientPort,
      pendingEventsLimit: options.pendingEventsLimit ?? DEFAULT_PENDING_EVENTS,
      pendingBytesLimit: options.pendingBytesLimit ?? DEFAULT_PENDING_BYTES,
      maxFrameSize: options.maxFrameSize,
      counters: this.counters,
      logger: this.logger,
      execute: (f, link) => this.commands.execute(f, link),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  async start(): Promise<GatewayAddresses> {
    await this.listenInner();
    await this.listenClients();
    const innerAddress = `${this.options.lanIp}:${this.innerPort}`;
    const host = this.options.listen.host.includes(':') ? `[${this.options.listen.host}]` : this.options.listen.host;
    const path = this.options.listen.path && this.options.listen.path !== '/' ? this.options.listen.path : '';
    const clientUrl = `ws://${host}:${this.clientPort}${path}`;
    this.listenUrl = clientUrl;
    this.register = new RegisterClient({
      registers: this.options.registers,
      secret: this.options.secret,
      announce: innerAddress,
      logContext: 'Gateway',
    });
    this.register.start();
    this.logger.log(
      `Gateway ready: clients ${clientUrl}, inner ${innerAddress}` + (this.options.secret ? '' : ' (plaintext inner links)'),
    );
    return { clientUrl, innerAddress };
  }

  /** Closes clients with 1001 (going away, reconnect elsewhere), then the inner links and listeners. */
  async stop(): Promise<void> {
    this.register?.stop();
    const listenersClosed = this.closeListeners();
    for (const client of this.table.values()) client.socket.close(CloseCode.GoingAway, 'gateway shutting down');
    const inner = this.inner;
    this.inner = null;
    // Give the close frames and the resulting OnClose events a moment to reach the peers.
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const client of this.table.values()) client.socket.terminate();
    this.dispatcher.endLinks();
    await Promise.all([listenersClosed, inner && new Promise<void>((resolve) => inner.close(() => resolve()))]);
  }

  /** Stops every client listener from accepting; resolves once they are closed. Existing connections stay. */
  private async closeListeners(): Promise<void> {
    const wss = this.wss;
    this.wss = null;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  // ---- client side -------------------------------------------------------------------------------

  private async listenClients(): Promise<void> {
    const { host, port, path } = this.options.listen;
    const wss = new WebSocketServer({
      host,
      port,
      path: path && path !== '/' ? path : undefined,
      maxPayload: this.options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.wss = wss;
    await new Promise<void>((resolve, reject) => {
      wss.once('error', reject);
      wss.once('listening', () => {
        wss.off('error', reject);
        resolve();
      });
    });
    wss.on('error', (err) => this.logger.error(`client listener error: ${err.message}`));
    wss.on('connection', (ws, req) => this.onClientOpen(ws, req));
    this.clientPort = (wss.address() as AddressInfo).port;
  }

  /** The WebSocket listener's part: builds the handshake and wires ws events to the listener-agnostic hooks. */
  private onClientOpen(ws: WebSocket, req: IncomingMessage): void {
    const socket = req.socket;
    const remoteAddress = socket.remoteAddress ?? '';
    const handshake: ClientHandshake = {
      listener: this.listenUrl,
      protocol: 'ws',
      remoteAddress: remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress,
      remotePort: socket.remotePort ?? 0,
      url: req.url ?? '/',
      query: parseQuery(req.url ?? '/'),
      headers: req.headers,
    };
    const client = this.clientOpened(new WebSocketClientSocket(ws), handshake, remoteIpToNumber(remoteAddress));
    if (!client) return;
    ws.on('message', (data: Buffer, isBinary: boolean) => this.clientMessage(client, data, isBinary));
    ws.on('error', (err) => this.logger.debug(`client ${client.id}: ${err.message}`));
    ws.on('close', () => this.clientClosed(client));
  }

  // ---- listener-agnostic client hooks: every listener calls these -------------------------------

  /**
   * A client connection was accepted by a listener. Returns its ClientConnection, or null when the gateway
   * refused it (the hook has then closed `socket` with a reason).
   */
  private clientOpened(socket: ClientSocket, handshake: ClientHandshake, remoteIp: number): ClientConnection | null {
    const client = new ClientConnection(this.table.nextId(), socket, remoteIp, handshake);
    this.table.add(client);
    this.counters.connectionsAccepted++;
    this.dispatcher.forward(client, Cmd.OnConnect, FrameFlag.BodyIsScalar, EMPTY);
    return client;
  }

  /** One complete client message (the payload, unframed). */
  private clientMessage(client: ClientConnection, data: Buffer, binary: boolean): void {
    client.messagesIn++;
    this.counters.messagesIn++;
    this.dispatcher.forward(client, Cmd.OnMessage, binary ? FrameFlag.BodyIsScalar | FrameFlag.Binary : FrameFlag.BodyIsScalar, data);
  }

  /** The connection is gone (whoever closed it). Called once per connection. */
  private clientClosed(client: ClientConnection): void {
    client.closed = true;
    this.table.delete(client.id);
    this.dispatcher.forward(client, Cmd.OnClose, FrameFlag.BodyIsScalar, EMPTY);
    // As PHP: the uid and groups are cleaned after OnClose is on its way (OnClose carries only the session).
    this.membership.remove(client);
  }

  private sendToClient(client: ClientConnection, body: Buffer, flag: number): void {
    const socket = client.socket;
    if (!socket.isOpen) return;
    if (socket.bufferedAmount > (this.options.maxClientBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES)) {
      this.logger.warn(`client ${client.id} disconnected: slow consumer (${socket.bufferedAmount} bytes unsent)`);
      this.counters.slowConsumerDisconnects++;
      socket.close(CloseCode.SlowConsumer, 'slow consumer');
      // The close frame queues behind the unread bytes; do not wait for a client that does not read.
      setTimeout(() => socket.terminate(), 1_000).unref();
      return;
    }
    client.messagesOut++;
    this.counters.messagesOut++;
    socket.send(body, (flag & FrameFlag.Binary) !== 0);
  }

  // ---- inner side --------------------------------------------------------------------------------

  private async listenInner(): Promise<void> {
    const server = createServer((socket) => this.dispatcher.accept(socket));
    this.inner = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // exclusive: in a cluster (GATEWAY_COUNT) every gateway process needs its own inner port, never a shared one.
      server.listen({ port: this.options.startPort, host: this.options.lanIp, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.logger.error(`inner listener error: ${err.message}`));
    this.innerPort = (server.address() as AddressInfo).port;
    this.commands = new GatewayCommands({
      table: this.table,
      membership: this.membership,
      sendToClient: (client, body, flag) => this.sendToClient(client, body, flag),
      lanIp: this.lanIpNumber,
      innerPort: this.innerPort,
      logger: this.logger,
    });
  }
}
