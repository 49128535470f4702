import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { ipv4ToNumber, remoteIpToNumber } from '../protocol/client-id';
import { parseQuery, type ClientHandshake } from '../protocol/client-handshake';
import { Cmd, FrameFlag, cmdName } from '../protocol/command';
import { encodeEventEnvelope } from '../protocol/event-envelope';
import { encodeFrame, type GatewayFrame } from '../protocol/frame';
import { DEFAULT_MAX_FRAME_SIZE, FrameDecoder } from '../protocol/frame-decoder';
import { InnerLink } from '../protocol/inner-link';
import { RegisterClient } from '../register/register-client';
import { ClientConnection } from './client-connection';
import { ConnectionTable } from './connection-table';
import { GatewayCommands } from './gateway-commands';
import {
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_PENDING_BYTES,
  DEFAULT_PENDING_EVENTS,
  type GatewayOptions,
} from './gateway-options';
import { MembershipIndex } from './membership-index';
import { PendingEvents } from './pending-events';
import { WorkerChannel } from './worker-channel';
import { WorkerRouter } from './worker-router';

/** WebSocket close codes the gateway uses. */
export const enum CloseCode {
  GoingAway = 1001,
  /** No worker available and the pending queue is full: reconnect later. */
  TryAgainLater = 1013,
  /** The client did not read its messages fast enough (reconnectable). */
  SlowConsumer = 4008,
}

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
  private readonly router = new WorkerRouter();
  private readonly pending: PendingEvents;
  private readonly innerLinks = new Set<InnerLink<GatewayFrame>>();
  private readonly lanIpNumber: number;
  private wss: WebSocketServer | null = null;
  private inner: Server | null = null;
  private register: RegisterClient | null = null;
  private innerPort = 0;
  private clientPort = 0;
  /** Created once the inner port is known: the client_ids in query replies embed it. */
  private commands: GatewayCommands;
  private pendingWarned = false;

  constructor(private readonly options: GatewayOptions) {
    this.lanIpNumber = ipv4ToNumber(options.lanIp);
    this.pending = new PendingEvents(options.pendingEventsLimit ?? DEFAULT_PENDING_EVENTS, options.pendingBytesLimit ?? DEFAULT_PENDING_BYTES);
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
    for (const client of this.table.values()) client.ws.close(CloseCode.GoingAway, 'gateway shutting down');
    const wss = this.wss;
    const inner = this.inner;
    this.wss = null;
    this.inner = null;
    // Give the close frames and the resulting OnClose events a moment to reach the peers.
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const client of this.table.values()) client.ws.terminate();
    for (const link of this.innerLinks) link.end();
    await Promise.all([
      wss && new Promise<void>((resolve) => wss.close(() => resolve())),
      inner && new Promise<void>((resolve) => inner.close(() => resolve())),
    ]);
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

  private onClientOpen(ws: WebSocket, req: IncomingMessage): void {
    const socket = req.socket;
    const remoteAddress = socket.remoteAddress ?? '';
    const handshake: ClientHandshake = {
      remoteAddress: remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress,
      remotePort: socket.remotePort ?? 0,
      url: req.url ?? '/',
      query: parseQuery(req.url ?? '/'),
      headers: req.headers,
    };
    const client = new ClientConnection(this.table.nextId(), ws, remoteIpToNumber(remoteAddress), handshake);
    this.table.add(client);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.forward(client, Cmd.OnMessage, isBinary ? FrameFlag.BodyIsScalar | FrameFlag.Binary : FrameFlag.BodyIsScalar, data);
    });
    ws.on('error', (err) => this.logger.debug(`client ${client.id}: ${err.message}`));
    ws.on('close', () => {
      client.closed = true;
      this.table.delete(client.id);
      this.forward(client, Cmd.OnClose, FrameFlag.BodyIsScalar, EMPTY);
      // As PHP: the uid and groups are cleaned after OnClose is on its way (OnClose carries only the session).
      this.membership.remove(client);
    });
    this.forward(client, Cmd.OnConnect, FrameFlag.BodyIsScalar, EMPTY);
  }

  /** Sends a client event to the client's worker, or queues it (in order) while no worker is available. */
  private forward(client: ClientConnection, cmd: Cmd, flag: number, body: Buffer): void {
    const worker = client.pendingEvents === 0 ? this.router.route(client) : undefined;
    if (worker) return this.deliver(worker, client, cmd, flag, body);
    if (this.pending.push({ client, cmd, flag, body })) {
      if (!this.pendingWarned) {
        this.logger.warn('no worker connected: holding client events until one connects');
        this.pendingWarned = true;
      }
      return;
    }
    if (!client.closed) {
      this.logger.warn(`client ${client.id} closed: no worker connected and the pending-event queue is full`);
      client.ws.close(CloseCode.TryAgainLater, 'no worker available');
    }
  }

  private deliver(worker: WorkerChannel, client: ClientConnection, cmd: Cmd, flag: number, body: Buffer): void {
    const withHandshake = client.handshakeSentTo !== worker;
    if (withHandshake) client.handshakeSentTo = worker;
    const ext = encodeEventEnvelope(
      client.sessionVersion,
      client.session,
      withHandshake ? client.serializedHandshake : undefined,
    );
    worker.link.send(
      encodeFrame({
        cmd,
        localIp: this.lanIpNumber,
        localPort: this.innerPort,
        clientIp: client.remoteIp,
        clientPort: client.handshake.remotePort,
        connectionId: client.id,
        flag,
        gatewayPort: this.clientPort,
        ext,
        body,
      }),
    );
    if (cmd === Cmd.OnClose) this.router.release(client);
  }

  private drainPending(): void {
    if (this.pending.size === 0) return;
    const events = this.pending.drain();
    this.logger.log(`delivering ${events.length} client event(s) held while no worker was connected`);
    this.pendingWarned = false;
    for (const e of events) this.forward(e.client, e.cmd, e.flag, e.body);
  }

  private sendToClient(client: ClientConnection, body: Buffer, flag: number): void {
    const ws = client.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > (this.options.maxClientBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES)) {
      this.logger.warn(`client ${client.id} disconnected: slow consumer (${ws.bufferedAmount} bytes unsent)`);
      ws.close(CloseCode.SlowConsumer, 'slow consumer');
      // The close frame queues behind the unread bytes; do not wait for a client that does not read.
      setTimeout(() => ws.terminate(), 1_000).unref();
      return;
    }
    ws.send(body, { binary: (flag & FrameFlag.Binary) !== 0 });
  }

  // ---- inner side --------------------------------------------------------------------------------

  private async listenInner(): Promise<void> {
    const server = createServer((socket) => this.acceptInner(socket));
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

  private acceptInner(socket: Socket): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const link = new InnerLink<GatewayFrame>(socket, {
      secret: this.options.secret,
      role: 'responder',
      decoder: new FrameDecoder(this.options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE),
      label: `inner peer ${peer}`,
      logger: this.logger,
    });
    this.innerLinks.add(link);
    let worker: WorkerChannel | null = null;
    let identified = false;
    const identifyTimer = setTimeout(() => link.destroy('did not identify itself within 10 s'), 10_000);
    identifyTimer.unref();

    link.on('message', (f: GatewayFrame) => {
      if (identified) return this.commands.execute(f, link);
      clearTimeout(identifyTimer);
      if (f.cmd === Cmd.WorkerConnect) {
        let key: unknown;
        try {
          key = (JSON.parse(f.body.toString('utf8')) as { worker_key?: unknown }).worker_key;
        } catch {
          key = undefined;
        }
        if (typeof key !== 'string' || key === '') {
          return link.destroy('WorkerConnect without a worker_key');
        }
        identified = true;
        worker = new WorkerChannel(key, socket.remoteAddress ?? '', link);
        const replaced = this.router.add(worker);
        replaced?.link.destroy(`replaced by a new link from worker ${key}`);
        this.logger.log(`worker ${key} connected from ${peer} (${this.router.size} worker(s))`);
        this.drainPending();
      } else if (f.cmd === Cmd.GatewayClientConnect) {
        identified = true;
      } else {
        link.destroy(`first frame must be WorkerConnect or GatewayClientConnect, got ${cmdName(f.cmd)}`);
      }
    });
    link.on('close', () => {
      clearTimeout(identifyTimer);
      this.innerLinks.delete(link);
      if (worker) {
        this.router.remove(worker);
        this.logger.log(`worker ${worker.workerKey} disconnected (${this.router.size} worker(s) left)`);
      }
    });
  }
}
