import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { ipv4ToNumber } from '../protocol/client-id';
import type { ClientHandshake } from '../protocol/client-handshake';
import { Cmd, FrameFlag } from '../protocol/command';
import { RegisterClient } from '../register/register-client';
import { ClientConnection } from './client-connection';
import type { ClientSocket } from './client-socket';
import { HEARTBEAT_CLOSE, RATE_LIMIT_CLOSE, SHUTDOWN_CLOSE, SLOW_CONSUMER_CLOSE } from './close-codes';
import { ConnectionLimits, MessageRateLimit } from './connection-limits';
import { ConnectionTable } from './connection-table';
import { GatewayCommands } from './gateway-commands';
import type { ResolvedGatewayOptions } from './gateway-options';
import { GatewayCounters } from './gateway-stats';
import { HeartbeatWheel } from './heartbeat-wheel';
import type { ClientListener, ListenerHooks } from './listeners/client-listener';
import { createClientListener, framingRegistry, resolveListeners, type ResolvedListener } from './listeners/listener-factory';
import { listenOn } from './listeners/listen-on';
import { MembershipIndex } from './membership-index';
import type { OutgoingMessage } from './outgoing-message';
import { SocketReaper } from './socket-reaper';
import { WorkerDispatcher } from './worker-dispatcher';

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
  // Heartbeat, limits and shutdown state.
  /** Null when the heartbeat is off (pingInterval 0). */
  private readonly heartbeat: HeartbeatWheel<ClientConnection> | null;
  /** pingData, encoded once; null when empty. */
  private readonly pingData: Buffer | null;
  private readonly webSocketPing: boolean;
  /** Null when the message rate is unlimited. */
  private readonly rateLimit: MessageRateLimit | null;
  private readonly limits: ConnectionLimits;
  /** Unsent bytes past which a client is a slow consumer (checked before every send). */
  private readonly maxBufferedBytes: number;
  /** Closes sockets and cuts those that do not complete the close in time, with one timer. */
  private readonly reaper = new SocketReaper();
  /** Set by the first stop(); later calls share it. */
  private stopping: Promise<void> | null = null;
  /** While stop() waits for the clients to go: called when the last one has. */
  private allClientsGone: (() => void) | null = null;

  /** `options`: resolved (resolveGatewayOptions, gatewayOptionsFromEnv); GatewayModule.forGateway resolves them. */
  constructor(private readonly options: ResolvedGatewayOptions) {
    this.lanIpNumber = ipv4ToNumber(options.lanIp);
    this.dispatcher = new WorkerDispatcher({
      secret: options.secret,
      lanIp: this.lanIpNumber,
      innerPort: () => this.innerPort,
      clientPort: () => this.clientPort,
      pendingEventsLimit: options.pendingEventsLimit,
      pendingBytesLimit: options.pendingBytesLimit,
      pendingMaxAgeMs: options.pendingMaxAgeMs,
      maxUnackedBytesPerWorker: options.maxUnackedBytesPerWorker,
      router: options.router,
      maxFrameSize: options.maxFrameSize,
      counters: this.counters,
      logger: this.logger,
      execute: (f, link) => this.commands.execute(f, link),
      closeClient: (socket, code, reason) => this.reaper.close(socket, code, reason),
    });
    // Heartbeat and limits.
    const pingInterval = options.pingInterval;
    this.pingData = options.pingData ? Buffer.from(options.pingData, 'utf8') : null;
    this.webSocketPing = options.webSocketPing;
    this.heartbeat =
      pingInterval > 0
        ? new HeartbeatWheel<ClientConnection>(
            { pingInterval, pingNotResponseLimit: options.pingNotResponseLimit },
            {
              pings: (client) => this.pingData !== null || (this.webSocketPing && client.socket.ping !== undefined),
              ping: (client) => this.heartbeatPing(client),
              kick: (client) => this.heartbeatKick(client),
            },
          )
        : null;
    const rate = options.messageRateLimit;
    this.rateLimit = rate > 0 ? new MessageRateLimit(rate, options.messageRateBurst) : null;
    this.maxBufferedBytes = options.maxClientBufferedBytes;
    this.limits = new ConnectionLimits(options.maxConnections, options.maxConnectionsPerIp);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  async start(): Promise<GatewayAddresses> {
    // Checked before anything is bound: a listener configuration error leaves nothing open behind it.
    const listeners = resolveListeners(this.options.listeners, framingRegistry(this.options.framings), (i) => `GatewayOptions.listeners[${i}].url`);
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
    this.heartbeat?.start();
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

  /**
   * Graceful shutdown (SIGTERM): deregisters from the registers first (they drop this gateway from the list
   * they push to workers and SDK clients, so no new work is routed here), stops accepting, closes every client
   * with 1001 "gateway shutting down" (reconnect elsewhere), waits until every client is gone (each close hands
   * its OnClose to the client's worker) at most `shutdownTimeoutMs`, cuts the stragglers, then ends the inner
   * links after their queued frames and waits for the peers to close them (InnerLink bounds that to 2 s).
   * Idempotent: later calls return the first call's promise.
   */
  stop(): Promise<void> {
    return (this.stopping ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    const startedAt = Date.now();
    const timeoutMs = this.options.shutdownTimeoutMs;
    this.register?.stop();
    this.heartbeat?.stop();
    const listenersClosed = this.closeListeners();
    const clients = this.table.size;
    for (const client of this.table.values()) client.socket.close(SHUTDOWN_CLOSE.code, SHUTDOWN_CLOSE.reason);
    await this.clientsGone(startedAt + timeoutMs);
    const cut = this.table.size;
    this.reaper.flush();
    for (const client of this.table.values()) client.socket.terminate();
    // A terminated socket reports its close on a later turn; its OnClose must still be queued before the links end.
    if (cut > 0) await this.clientsGone(Date.now() + 1_000);
    // Workers could (re)connect while the clients drained, to receive their OnClose; from now on nobody can, so
    // the links ended below are all there are and the inner listener's close completes once they are closed.
    const inner = this.inner;
    this.inner = null;
    const innerClosed = inner && new Promise<void>((resolve) => inner.close(() => resolve()));
    const links = [...this.dispatcher.links];
    const linksClosed = Promise.all(links.map((link) => new Promise((resolve) => link.once('close', resolve))));
    this.dispatcher.endLinks();
    // InnerLink.end() destroys a link whose peer does not close within 2 s; the extra bound is only a safety net.
    await this.bounded(Promise.all([linksClosed, innerClosed, listenersClosed]), 5_000);
    this.reaper.flush();
    this.logger.log(
      `Gateway stopped in ${Date.now() - startedAt} ms: ${clients} client(s) told to reconnect, ` +
        `${clients - cut} closed in time, ${cut} cut at the ${timeoutMs} ms bound; ${links.length} inner link(s) flushed`,
    );
  }

  /** Waits for `promise`, at most `ms` milliseconds. */
  private async bounded(promise: Promise<unknown>, ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  /** Resolves once no client is left, or at `deadline` (epoch ms). */
  private clientsGone(deadline: number): Promise<void> {
    if (this.table.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.allClientsGone = null;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
      this.allClientsGone = done;
    });
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
      close: (socket, code, reason) => this.reaper.close(socket, code, reason),
      activity: (client) => this.clientActivity(client),
      counters: this.counters,
      logger: this.logger,
    };
    const maxMessageBytes = this.options.maxMessageSize;
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
    const refused = this.stopping ? SHUTDOWN_CLOSE : this.limits.admit(this.table.size, handshake.remoteAddress);
    if (refused) {
      // Refused before any worker hears of it: no OnConnect, no connection id.
      if (!this.stopping) this.counters.connectionsRefused++;
      this.logger.debug(`connection from ${handshake.remoteAddress} refused: ${refused.reason}`);
      this.reaper.close(socket, refused.code, refused.reason);
      return null;
    }
    const client = new ClientConnection(this.table.nextId(), socket, remoteIp, handshake);
    this.table.add(client);
    this.counters.connectionsAccepted++;
    this.heartbeat?.add(client);
    this.dispatcher.forward(client, Cmd.OnConnect, FrameFlag.BodyIsScalar, EMPTY);
    return client;
  }

  /** One complete client message (the payload, unframed). */
  private clientMessage(client: ClientConnection, data: Buffer, binary: boolean): void {
    // A worker rejected this client; what it sent before seeing the close goes to no worker.
    if (client.rejected) return;
    if (this.rateLimit && !this.rateLimit.allow(client, performance.now())) return this.rateLimited(client);
    this.heartbeat?.touch(client);
    client.messagesIn++;
    this.counters.messagesIn++;
    this.dispatcher.forward(client, Cmd.OnMessage, binary ? FrameFlag.BodyIsScalar | FrameFlag.Binary : FrameFlag.BodyIsScalar, data);
  }

  /**
   * A sign of life below the message level (a WebSocket pong or ping, a keep-alive of another framing): it resets
   * the client's heartbeat like a message does. Listeners call it; O(1), a single store.
   */
  clientActivity(client: ClientConnection): void {
    this.heartbeat?.touch(client);
  }

  /** The connection is gone (whoever closed it). Called once per connection. */
  private clientClosed(client: ClientConnection): void {
    client.closed = true;
    this.table.delete(client.id);
    this.heartbeat?.remove(client);
    if (this.limits.maxConnectionsPerIp > 0) this.limits.release(client.remoteAddress);
    this.dispatcher.forward(client, Cmd.OnClose, FrameFlag.BodyIsScalar, EMPTY);
    // As PHP: the uid and groups are cleaned after OnClose is on its way (OnClose carries only the session).
    this.membership.remove(client);
    if (this.allClientsGone && this.table.size === 0) this.allClientsGone();
  }

  /** The message that went over the rate is dropped, and so is everything the client sends until it is gone. */
  private rateLimited(client: ClientConnection): void {
    if (!client.socket.isOpen) return;
    this.counters.rateLimitDisconnects++;
    this.logger.debug(`client ${client.id} disconnected: ${RATE_LIMIT_CLOSE.reason}`);
    this.reaper.close(client.socket, RATE_LIMIT_CLOSE.code, RATE_LIMIT_CLOSE.reason);
  }

  /** A heartbeat tick on which PHP sends pingData: pingData, and a WebSocket ping frame where there is one. */
  private heartbeatPing(client: ClientConnection): void {
    const socket = client.socket;
    // A client that is not reading gets nothing more queued; the next real message decides its fate.
    if (!socket.isOpen || socket.bufferedAmount > this.maxBufferedBytes) return;
    if (this.webSocketPing) socket.ping?.();
    if (this.pingData) socket.send(this.pingData, false);
  }

  /** Silent past the limit: PHP destroys the connection; we say why first (4009), then cut it after a grace period. */
  private heartbeatKick(client: ClientConnection): void {
    if (!client.socket.isOpen) return;
    this.counters.heartbeatDisconnects++;
    this.logger.debug(`client ${client.id} disconnected: ${HEARTBEAT_CLOSE.reason}`);
    this.reaper.close(client.socket, HEARTBEAT_CLOSE.code, HEARTBEAT_CLOSE.reason);
  }

  /** Hands a message to the client's socket; false when it was not (closing, or closed now as a slow consumer). */
  private sendToClient(client: ClientConnection, message: OutgoingMessage): boolean {
    const socket = client.socket;
    if (!socket.isOpen) return false;
    if (socket.bufferedAmount > this.maxBufferedBytes) {
      this.logger.warn(`client ${client.id} disconnected: slow consumer (${socket.bufferedAmount} bytes unsent)`);
      this.counters.slowConsumerDisconnects++;
      // The close frame queues behind the unread bytes; the reaper cuts a client that does not read it in time.
      this.reaper.close(socket, SLOW_CONSUMER_CLOSE.code, SLOW_CONSUMER_CLOSE.reason);
      return false;
    }
    client.messagesOut++;
    this.counters.messagesOut++;
    if (socket.sendMessage) socket.sendMessage(message);
    else socket.send(message.body, message.binary);
    return true;
  }

  // ---- inner side --------------------------------------------------------------------------------

  private async listenInner(): Promise<void> {
    const server = createServer((socket) => this.dispatcher.accept(socket));
    this.inner = server;
    // Exclusive: in a cluster (GATEWAY_COUNT) every gateway process needs its own inner port, never a shared one.
    await listenOn(server, this.options.startPort, this.options.lanIp, true);
    server.on('error', (err) => this.logger.error(`inner listener error: ${err.message}`));
    this.innerPort = (server.address() as AddressInfo).port;
    this.commands = new GatewayCommands({
      table: this.table,
      membership: this.membership,
      sendToClient: (client, message) => this.sendToClient(client, message),
      closeClient: (socket, code, reason) => this.reaper.close(socket, code, reason),
      lanIp: this.lanIpNumber,
      innerPort: this.innerPort,
      logger: this.logger,
      counters: this.counters,
      workerCount: () => this.dispatcher.workerCount,
      startedAt: Date.now(),
    });
  }
}
