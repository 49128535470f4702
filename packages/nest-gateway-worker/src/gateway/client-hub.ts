import { Logger } from '@nestjs/common';
import { clientCloseWarnings } from '../logging/client-close-warnings';
import { descriptorBudget, openFilesLimit } from './descriptor-budget';
import { RateLimitedWarning } from '../logging/rate-limited-warning';
import type { ClientHandshake } from '../protocol/client-handshake';
import { Cmd, FrameFlag } from '../protocol/command';
import { ClientConnection } from './client-connection';
import { CLIENT_PING_LENGTH, CLIENT_PONG_MESSAGE, isClientPing } from './client-ping';
import type { ClientSocket } from './client-socket';
import { CloseTally } from './close-tally';
import {
  HEARTBEAT_CLOSE,
  RATE_LIMIT_CLOSE,
  SHUTDOWN_CLOSE,
  SLOW_CONSUMER_CLOSE,
  type CloseReason,
} from './close-codes';
import { ConnectionLimits, MessageRateLimit } from './connection-limits';
import { ConnectionTable } from './connection-table';
import { EventDelivery } from './delivery/event-delivery';
import { GatewayAddress } from './gateway-address';
import type { ResolvedGatewayOptions } from './gateway-options';
import type { GatewayCounters } from './gateway-stats';
import { HandshakeDeadlines } from './handshake-deadlines';
import { HeartbeatWheel, type HeartbeatHandlers } from './heartbeat-wheel';
import { plainRemoteAddress, type AcceptedSocket, type ListenerHooks } from './listeners/client-listener';
import { MembershipIndex } from './membership-index';
import type { OutgoingMessage } from './outgoing-message';
import { SocketReaper } from './socket-reaper';

const EMPTY = Buffer.alloc(0);

/**
 * The gateway's client side, in one object: the connection table, uid and group membership, the connection and
 * message-rate limits (connections counted from their TCP accept), the handshake deadlines, the heartbeat wheel
 * and the socket reaper. Every listener reports to it (it is their
 * {@link ListenerHooks}), the command table sends and closes through it, and event delivery closes through it the
 * clients no worker takes. It forwards its clients' events (connect, message, close) to its {@link EventDelivery}.
 *
 * `send` is the one way a message reaches a client (with the slow-consumer check), `close` the one way the
 * gateway closes an accepted client (through the reaper: cut after a grace period if the peer does not finish).
 */
export class ClientHub implements ListenerHooks, HeartbeatHandlers<ClientConnection> {
  readonly logger = new Logger('Gateway');
  /** Warnings a client can cause (oversize, malformed, slow consumer, pending full): one line per reason per 10 s. */
  readonly closeWarnings = clientCloseWarnings(this.logger);
  readonly table = new ConnectionTable();
  readonly membership = new MembershipIndex();
  readonly address: GatewayAddress;
  /**
   * Where this hub's client events go. Built here rather than handed in because the two depend on each other:
   * the hub forwards every event to it, and it closes through the hub the clients no worker takes in time.
   */
  readonly delivery: EventDelivery;
  /** Null when the heartbeat is off (pingInterval 0). */
  private readonly heartbeat: HeartbeatWheel<ClientConnection> | null;
  /** pingData, encoded once; null when empty. */
  private readonly pingData: Buffer | null;
  private readonly webSocketPing: boolean;
  /** Null when the message rate is unlimited. */
  private readonly rateLimit: MessageRateLimit | null;
  private readonly limits: ConnectionLimits;
  /**
   * Sockets counted at accept that are no client connection yet (their WebSocket upgrade is not done), with the
   * address they count against. Their slot is released when they close; at `opened` it passes to the client.
   */
  private readonly unopened = new Map<AcceptedSocket, string>();
  /** The 'close' listener of the sockets in `unopened` (one function for all; `this` is the socket). */
  private readonly unopenedClosed: (this: AcceptedSocket) => void;
  /** Drops the sockets that did not finish their handshake in time; one timer. */
  private readonly deadlines: HandshakeDeadlines<AcceptedSocket>;
  /** A flood is refused or timed out by the thousand: one warning line per 10 s for each. */
  private readonly refusedWarning: RateLimitedWarning;
  private readonly timeoutWarning: RateLimitedWarning;
  /** Unsent bytes past which a client is a slow consumer (checked before every send). */
  private readonly maxBufferedBytes: number;
  /** Closes sockets and cuts those that do not complete the close in time, with one timer. */
  private readonly reaper = new SocketReaper();
  /** Closed connections by close code (metrics). */
  readonly closes = new CloseTally();
  /** Set once the gateway stops: new connections are refused with 1001. */
  private stopping = false;
  /** While the gateway waits for its clients to go: called when the last one has. */
  private allClientsGone: (() => void) | null = null;

  /** `options`: resolved; `counters`: the gateway's, shared with the listeners and delivery. */
  constructor(
    options: ResolvedGatewayOptions,
    readonly counters: GatewayCounters,
  ) {
    this.address = new GatewayAddress(options.lanIp);
    this.pingData = options.pingData ? Buffer.from(options.pingData, 'utf8') : null;
    this.webSocketPing = options.webSocketPing;
    this.heartbeat =
      options.pingInterval > 0
        ? new HeartbeatWheel<ClientConnection>(
            { pingInterval: options.pingInterval, pingNotResponseLimit: options.pingNotResponseLimit },
            this,
          )
        : null;
    const rate = options.messageRateLimit;
    this.rateLimit = rate > 0 ? new MessageRateLimit(rate, options.messageRateBurst) : null;
    this.maxBufferedBytes = options.maxClientBufferedBytes;
    const budget = descriptorBudget(options.maxConnections, openFilesLimit());
    this.limits = new ConnectionLimits(budget.maxConnections, options.maxConnectionsPerIp);
    if (budget.derived) {
      this.logger.log(
        `client connections capped at ${budget.maxConnections}: ulimit -n ${budget.openFilesLimit} minus ` +
          `${budget.reserve} descriptors kept for inner links (GATEWAY_MAX_CONNECTIONS sets the cap)`,
      );
    } else if (budget.overBudget) {
      this.logger.warn(
        `GATEWAY_MAX_CONNECTIONS=${options.maxConnections} leaves fewer than ${budget.reserve} of ulimit -n ` +
          `${budget.openFilesLimit} descriptors for inner links: once clients fill it, workers and SDK clients ` +
          'may fail to link (raise ulimit -n or lower the cap)',
      );
    }
    this.deadlines = new HandshakeDeadlines(options.handshakeTimeoutMs, (raw) => this.handshakeExpired(raw));
    const release = (raw: AcceptedSocket): void => this.releaseUnopened(raw);
    this.unopenedClosed = function (this: AcceptedSocket) {
      release(this);
    };
    this.refusedWarning = new RateLimitedWarning(this.logger, (n) => `${n} more refused since the last warning`);
    this.timeoutWarning = new RateLimitedWarning(this.logger, (n) => `${n} more timed out since the last warning`);
    this.delivery = new EventDelivery(this, options);
  }

  /** Connections open now. */
  get size(): number {
    return this.table.size;
  }

  /** Accepted sockets whose WebSocket upgrade is not done yet (counted against the limits all the same). */
  get unopenedCount(): number {
    return this.unopened.size;
  }

  /** The connection with this id, if it is still open. */
  get(id: number): ClientConnection | undefined {
    return this.table.get(id);
  }

  // ---- sending and closing: the commands and delivery go through these ------------------------------

  /** Hands a message to the client's socket; false when it was not (closing, or closed now as a slow consumer). */
  send(client: ClientConnection, message: OutgoingMessage): boolean {
    const socket = client.socket;
    if (!socket.isOpen) return false;
    if (socket.bufferedAmount > this.maxBufferedBytes) {
      this.closeWarnings.warn(
        'slow consumer',
        `client ${client.id} disconnected: slow consumer (${socket.bufferedAmount} bytes unsent)`,
      );
      this.counters.slowConsumerDisconnects++;
      // The close frame queues behind the unread bytes; the reaper cuts a client that does not read it in time.
      this.reaper.close(socket, SLOW_CONSUMER_CLOSE.code, SLOW_CONSUMER_CLOSE.reason);
      return false;
    }
    client.messagesOut++;
    this.counters.messagesOut++;
    this.counters.bytesOut += message.body.length;
    if (socket.sendMessage) socket.sendMessage(message);
    else socket.send(message.body, message.binary);
    return true;
  }

  /** Closes a client with a code and reason; the reaper cuts it if the peer does not complete the close in time. */
  close(client: ClientConnection, reason: CloseReason): void {
    this.reaper.close(client.socket, reason.code, reason.reason);
  }

  /** Drops a client at once, its unsent output discarded (Destroy). */
  destroy(client: ClientConnection): void {
    client.socket.terminate();
  }

  // ---- ListenerHooks: every listener reports here --------------------------------------------------

  /**
   * A TCP connection was accepted by a listener, before anything is read from it: counted against the total and
   * per-address limits from now until it closes, whether or not it ever completes a handshake. Over a limit it is
   * destroyed at once (no HTTP parsing, no TLS, no close code), counted as `connectionsRefused` and logged
   * (rate-limited). Otherwise its handshake deadline starts.
   */
  accepted(raw: AcceptedSocket): boolean {
    const address = plainRemoteAddress(raw.remoteAddress);
    const refused = this.stopping ? SHUTDOWN_CLOSE : this.limits.admit(address);
    if (refused) {
      raw.destroy();
      if (!this.stopping) {
        this.counters.connectionsRefused++;
        this.refusedWarning.warn(
          `connection from ${address} refused at accept: ${refused.reason} (${this.limits.limitOf(refused)})`,
        );
      }
      return false;
    }
    this.unopened.set(raw, address);
    raw.on('close', this.unopenedClosed);
    this.deadlines.track(raw);
    return true;
  }

  /**
   * A client connection was opened by a listener (a WebSocket upgraded, a raw TCP connection accepted). Returns its
   * ClientConnection, or null when the gateway refused it (the socket has then been closed with a reason). The
   * slot `accepted` counted for `raw` passes to the connection (released by `closed`); a socket that was not
   * counted at accept (a listener that does not call `accepted`) is counted here, and refused over a limit with
   * 1013 / 1008 after its handshake.
   */
  opened(
    socket: ClientSocket,
    handshake: ClientHandshake,
    remoteIp: number,
    raw?: AcceptedSocket,
  ): ClientConnection | null {
    const counted = raw === undefined ? undefined : this.takeUnopened(raw);
    const refused = this.stopping
      ? SHUTDOWN_CLOSE
      : counted === undefined
        ? this.limits.admit(handshake.remoteAddress)
        : null;
    if (refused) {
      // Refused before any worker hears of it: no OnConnect, no connection id.
      if (counted !== undefined) this.limits.release(counted);
      if (!this.stopping) this.counters.connectionsRefused++;
      this.logger.debug(`connection from ${handshake.remoteAddress} refused: ${refused.reason}`);
      this.reaper.close(socket, refused.code, refused.reason);
      return null;
    }
    const client = new ClientConnection(this.table.nextId(), socket, remoteIp, handshake);
    this.table.add(client);
    this.counters.connectionsAccepted++;
    this.heartbeat?.add(client);
    this.delivery.forward(client, Cmd.OnConnect, FrameFlag.BodyIsScalar, EMPTY);
    return client;
  }

  /** One complete client message (the payload, unframed). */
  message(client: ClientConnection, data: Buffer, binary: boolean): void {
    // A worker rejected this client, or one of its events was dead-lettered: what it sends before seeing the
    // close goes to no worker.
    if (client.rejected || client.deadLettered) return;
    if (this.rateLimit && !this.rateLimit.allow(client, performance.now())) return this.rateLimited(client);
    this.heartbeat?.touch(client);
    client.messagesIn++;
    this.counters.messagesIn++;
    this.counters.bytesIn += data.length;
    // The liveness ping of the client library (see client-ping.ts): answered here, never forwarded. Any other message
    // costs one length comparison.
    if (data.length === CLIENT_PING_LENGTH && isClientPing(data, binary)) {
      this.send(client, CLIENT_PONG_MESSAGE);
      return;
    }
    this.delivery.forward(
      client,
      Cmd.OnMessage,
      binary ? FrameFlag.BodyIsScalar | FrameFlag.Binary : FrameFlag.BodyIsScalar,
      data,
    );
  }

  /**
   * A sign of life below the message level (a WebSocket pong or ping, a keep-alive of another framing): it resets
   * the client's heartbeat like a message does. O(1), a single store.
   */
  activity(client: ClientConnection): void {
    this.heartbeat?.touch(client);
  }

  /** The connection is gone (whoever closed it), with the code its socket reports. Called once per connection. */
  closed(client: ClientConnection, peerCode?: number): void {
    client.closed = true;
    this.closes.count(client, peerCode);
    this.table.delete(client.id);
    this.heartbeat?.remove(client);
    this.limits.release(client.remoteAddress);
    this.delivery.forward(client, Cmd.OnClose, FrameFlag.BodyIsScalar, EMPTY);
    // As PHP: the uid and groups are cleaned after OnClose is on its way (OnClose carries only the session).
    this.membership.remove(client);
    if (this.allClientsGone && this.table.size === 0) this.allClientsGone();
  }

  /** A listener closes a socket (bad bytes, a failed stream), accepted or not: through the reaper. */
  closeSocket(socket: ClientSocket, code: number, reason: string): void {
    this.reaper.close(socket, code, reason);
  }

  /** `raw` opened as a client: it leaves `unopened`; returns the address its slot counts against (undefined: not counted). */
  private takeUnopened(raw: AcceptedSocket): string | undefined {
    const address = this.unopened.get(raw);
    if (address === undefined) return undefined;
    this.unopened.delete(raw);
    raw.removeListener('close', this.unopenedClosed);
    return address;
  }

  /** A socket closed before it was opened as a client: its slot is free. */
  private releaseUnopened(raw: AcceptedSocket): void {
    const address = this.unopened.get(raw);
    if (address === undefined) return;
    this.unopened.delete(raw);
    this.limits.release(address);
  }

  /**
   * The handshake deadline of `raw` passed: dropped if it is still not a client connection (no WebSocket upgrade,
   * TLS included) or if nothing was ever read from it (a raw TCP client that sent nothing; its close reaches
   * workers as any close). Either way the close frees its slot.
   */
  private handshakeExpired(raw: AcceptedSocket): void {
    if (raw.destroyed) return;
    const address = this.unopened.get(raw);
    if (address === undefined && raw.bytesRead > 0) return;
    this.counters.handshakeTimeouts++;
    this.timeoutWarning.warn(
      `connection from ${address ?? plainRemoteAddress(raw.remoteAddress)} dropped: ` +
        `${address === undefined ? 'nothing received' : 'no WebSocket upgrade'} within ${this.deadlines.timeoutMs} ms of its accept`,
    );
    raw.destroy();
  }

  /** The message that went over the rate is dropped, and so is everything the client sends until it is gone. */
  private rateLimited(client: ClientConnection): void {
    if (!client.socket.isOpen) return;
    this.counters.rateLimitDisconnects++;
    this.logger.debug(`client ${client.id} disconnected: ${RATE_LIMIT_CLOSE.reason}`);
    this.close(client, RATE_LIMIT_CLOSE);
  }

  // ---- HeartbeatHandlers: the wheel calls these ----------------------------------------------------

  /** Whether the heartbeat pings this client at all (pingData set, or a WebSocket with WebSocket pings on). */
  heartbeatPings(client: ClientConnection): boolean {
    return this.pingData !== null || (this.webSocketPing && client.socket.ping !== undefined);
  }

  /** A heartbeat tick on which PHP sends pingData: pingData, and a WebSocket ping frame where there is one. */
  heartbeatPing(client: ClientConnection): void {
    const socket = client.socket;
    // A client that is not reading gets nothing more queued; the next real message decides its fate.
    if (!socket.isOpen || socket.bufferedAmount > this.maxBufferedBytes) return;
    if (this.webSocketPing) socket.ping?.();
    if (this.pingData) socket.send(this.pingData, false);
  }

  /** Silent past the limit: PHP destroys the connection; we say why first (4009), then cut it after a grace period. */
  heartbeatKick(client: ClientConnection): void {
    if (!client.socket.isOpen) return;
    this.counters.heartbeatDisconnects++;
    this.logger.debug(`client ${client.id} disconnected: ${HEARTBEAT_CLOSE.reason}`);
    this.close(client, HEARTBEAT_CLOSE);
  }

  // ---- start and stop ------------------------------------------------------------------------------

  /** Starts the heartbeat (once the listeners are bound). */
  start(): void {
    this.heartbeat?.start();
  }

  /**
   * The gateway stops: new connections are refused with 1001 (dropped at accept), sockets not upgraded yet are
   * dropped, the heartbeat stops, and every client is told to
   * reconnect elsewhere (1001 "gateway shutting down", a plain close: the wait below bounds it). Returns how many
   * clients were told.
   */
  closeAll(): number {
    this.stopping = true;
    this.heartbeat?.stop();
    // Not clients yet: no worker knows them, nothing to say.
    for (const raw of this.unopened.keys()) raw.destroy();
    const told = this.table.size;
    for (const client of this.table.values()) client.socket.close(SHUTDOWN_CLOSE.code, SHUTDOWN_CLOSE.reason);
    return told;
  }

  /** Resolves once no client is left, or at `deadline` (epoch ms). */
  allGone(deadline: number): Promise<void> {
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

  /** Terminates every client still connected and every socket the reaper still waits for; returns how many clients. */
  cutAll(): number {
    const cut = this.table.size;
    this.reaper.flush();
    for (const client of this.table.values()) client.socket.terminate();
    return cut;
  }

  /** Terminates the sockets the reaper still waits for and stops the handshake deadlines (the last step of a stop). */
  flushReaper(): void {
    this.reaper.flush();
    this.deadlines.stop();
    this.closeWarnings.stop();
  }
}
