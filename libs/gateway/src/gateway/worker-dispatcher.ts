import type { Logger } from '@nestjs/common';
import type { Socket } from 'node:net';
import { Cmd, cmdName } from '../protocol/command';
import { encodeEventEnvelope } from '../protocol/event-envelope';
import { encodeFrame, type GatewayFrame } from '../protocol/frame';
import { DEFAULT_MAX_FRAME_SIZE, FrameDecoder } from '../protocol/frame-decoder';
import { InnerLink } from '../protocol/inner-link';
import type { ClientConnection } from './client-connection';
import type { GatewayCounters } from './gateway-stats';
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

export interface WorkerDispatcherOptions {
  secret: Buffer | null;
  /** Header fields every event carries. */
  lanIp: number;
  innerPort: () => number;
  clientPort: () => number;
  pendingEventsLimit: number;
  pendingBytesLimit: number;
  maxFrameSize?: number;
  counters: GatewayCounters;
  logger: Logger;
  /** Runs a command frame from an identified worker or SDK link. */
  execute: (f: GatewayFrame, link: InnerLink<GatewayFrame>) => void;
}

/**
 * The gateway's worker side: accepts inner links (workers and SDK clients), routes client events to workers
 * (sticky), and holds events while no worker can take them.
 */
export class WorkerDispatcher {
  private readonly router = new WorkerRouter();
  private readonly pending: PendingEvents;
  readonly links = new Set<InnerLink<GatewayFrame>>();
  private pendingWarned = false;

  constructor(private readonly options: WorkerDispatcherOptions) {
    this.pending = new PendingEvents(options.pendingEventsLimit, options.pendingBytesLimit);
  }

  get workerCount(): number {
    return this.router.size;
  }

  /** Sends a client event to the client's worker, or queues it (in order) while no worker is available. */
  forward(client: ClientConnection, cmd: Cmd, flag: number, body: Buffer): void {
    const worker = client.pendingEvents === 0 ? this.router.route(client) : undefined;
    if (worker) return this.deliver(worker, client, cmd, flag, body);
    if (this.pending.push({ client, cmd, flag, body })) {
      if (!this.pendingWarned) {
        this.options.logger.warn('no worker connected: holding client events until one connects');
        this.pendingWarned = true;
      }
      return;
    }
    if (!client.closed) {
      this.options.logger.warn(`client ${client.id} closed: no worker connected and the pending-event queue is full`);
      this.options.counters.pendingDisconnects++;
      client.socket.close(CloseCode.TryAgainLater, 'no worker available');
    }
  }

  private deliver(worker: WorkerChannel, client: ClientConnection, cmd: Cmd, flag: number, body: Buffer): void {
    const withHandshake = client.handshakeSentTo !== worker;
    if (withHandshake) client.handshakeSentTo = worker;
    const ext = encodeEventEnvelope(
      client.sessionVersion,
      client.session,
      withHandshake ? client.serializedHandshake : undefined,
      client.uid,
    );
    worker.link.send(
      encodeFrame({
        cmd,
        localIp: this.options.lanIp,
        localPort: this.options.innerPort(),
        clientIp: client.remoteIp,
        clientPort: client.handshake.remotePort,
        connectionId: client.id,
        flag,
        gatewayPort: this.options.clientPort(),
        ext,
        body,
      }),
    );
    if (cmd === Cmd.OnClose) this.router.release(client);
  }

  private drainPending(): void {
    if (this.pending.size === 0) return;
    const events = this.pending.drain();
    this.options.logger.log(`delivering ${events.length} client event(s) held while no worker was connected`);
    this.pendingWarned = false;
    for (const e of events) this.forward(e.client, e.cmd, e.flag, e.body);
  }

  /** A new inner connection: a worker (WorkerConnect) or an SDK client (GatewayClientConnect). */
  accept(socket: Socket): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const logger = this.options.logger;
    const link = new InnerLink<GatewayFrame>(socket, {
      secret: this.options.secret,
      role: 'responder',
      decoder: new FrameDecoder(this.options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE),
      label: `inner peer ${peer}`,
      logger,
    });
    this.links.add(link);
    let worker: WorkerChannel | null = null;
    let identified = false;
    const identifyTimer = setTimeout(() => link.destroy('did not identify itself within 10 s'), 10_000);
    identifyTimer.unref();

    link.on('message', (f: GatewayFrame) => {
      if (identified) return this.options.execute(f, link);
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
        logger.log(`worker ${key} connected from ${peer} (${this.router.size} worker(s))`);
        this.drainPending();
      } else if (f.cmd === Cmd.GatewayClientConnect) {
        identified = true;
      } else {
        link.destroy(`first frame must be WorkerConnect or GatewayClientConnect, got ${cmdName(f.cmd)}`);
      }
    });
    link.on('close', () => {
      clearTimeout(identifyTimer);
      this.links.delete(link);
      if (worker) {
        this.router.remove(worker);
        logger.log(`worker ${worker.workerKey} disconnected (${this.router.size} worker(s) left)`);
      }
    });
  }

  /** Ends every inner link (after their queued frames). */
  endLinks(): void {
    for (const link of this.links) link.end();
  }
}
