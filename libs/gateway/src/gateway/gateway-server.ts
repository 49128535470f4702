import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { ipv4ToNumber } from '../protocol/client-id';
import type { ClientHandshake } from '../protocol/client-handshake';
import { Cmd, FrameFlag } from '../protocol/command';
import { RegisterClient } from '../register/register-client';
import { ClientConnection } from './client-connection';
import type { ClientSocket } from './client-socket';
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
import type { ClientListener, ListenerHooks } from './listeners/client-listener';
import { createClientListener, framingRegistry, resolveListeners, type ResolvedListener } from './listeners/listener-factory';
import { MembershipIndex } from './membership-index';
import { CloseCode, WorkerDispatcher } from './worker-dispatcher';

export { CloseCode } from './worker-dispatcher';

const EMPTY = Buffer.alloc(0);

/** What {@link GatewayServer.start} bound to. */
export interface GatewayAddresses {
  /** The first client listener's URL with its bound port, e.g. ws://127.0.0.1:7272. */
  clientUrl: string;
  /** Every client listener's URL with its bound port, in configuration order (the first is `clientUrl`). */
  clientUrls: string[];
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
  private listeners: ClientListener[] = [];
  private inner: Server | null = null;
  private register: RegisterClient | null = null;
  private innerPort = 0;
  /** The first client listener's port: the `gatewayPort` of event frames. */
  private clientPort = 0;
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
    // Checked before anything is bound: a listener configuration error leaves nothing open behind it.
    const listeners = resolveListeners(this.options.listeners ?? [], framingRegistry(this.options.framings), (i) => `listeners[${i}].url`);
    await this.listenInner();
    try {
      await this.listenClients(listeners);
    } catch (err) {
      // A client address that cannot be bound (in use, no permission): release the inner port too.
      const inner = this.inner;
      this.inner = null;
      await new Promise<void>((resolve) => (inner ? inner.close(() => resolve()) : resolve()));
      throw err;
    }
    const innerAddress = `${this.options.lanIp}:${this.innerPort}`;
    const clientUrls = this.listeners.map((l) => l.url);
    this.register = new RegisterClient({
      registers: this.options.registers,
      secret: this.options.secret,
      announce: innerAddress,
      logContext: 'Gateway',
    });
    this.register.start();
    this.logger.log(
      `Gateway ready: clients ${clientUrls.join(', ')}, inner ${innerAddress}` +
        (this.options.secret ? '' : ' (plaintext inner links)'),
    );
    return { clientUrl: clientUrls[0], clientUrls, innerAddress };
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
    const listeners = this.listeners;
    this.listeners = [];
    await Promise.all(listeners.map((l) => l.close()));
  }

  // ---- client side -------------------------------------------------------------------------------

  /**
   * Binds every configured client listener (ws, wss, text, frame, custom framings); they all feed the
   * listener-agnostic hooks below, so client ids and the whole API work the same whatever the listener.
   */
  private async listenClients(resolved: ResolvedListener[]): Promise<void> {
    const hooks: ListenerHooks = {
      opened: (socket, handshake, remoteIp) => this.clientOpened(socket, handshake, remoteIp),
      message: (client, data, binary) => this.clientMessage(client, data, binary),
      closed: (client) => this.clientClosed(client),
      counters: this.counters,
      logger: this.logger,
    };
    const maxMessageBytes = this.options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.listeners = resolved.map((r) => createClientListener(r, hooks, maxMessageBytes));
    try {
      for (const listener of this.listeners) await listener.listen();
    } catch (err) {
      await this.closeListeners();
      throw err;
    }
    this.clientPort = this.listeners[0].port;
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
      server.listen(this.options.startPort, this.options.lanIp, () => {
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
