import type { Logger } from '@nestjs/common';
import type { Socket } from 'node:net';
import { encodeClientId } from '../protocol/client-id';
import { Cmd, cmdName } from '../protocol/command';
import { decodeEventAcks } from '../protocol/event-ack';
import { encodeEventFrame } from '../protocol/event-envelope';
import { encodeFrame, frame, type GatewayFrame } from '../protocol/frame';
import { DEFAULT_MAX_FRAME_SIZE, FrameDecoder } from '../protocol/frame-decoder';
import { DEFAULT_MAX_UNACKED_BYTES_PER_WORKER, DEFAULT_PENDING_MAX_AGE_MS } from './gateway-options';
import { InnerLink } from '../protocol/inner-link';
import type { ClientConnection } from './client-connection';
import { NO_WORKER_CLOSE } from './close-codes';
import type { ClientSocket } from './client-socket';
import type { GatewayCounters } from './gateway-stats';
import { PendingEvents, type PendingEvent } from './pending-events';
import { WorkerChannel } from './worker-channel';
import { WorkerRouter, type WorkerRouterStrategy } from './worker-router';


export interface WorkerDispatcherOptions {
  secret: Buffer | null;
  /** Header fields every event carries. */
  lanIp: number;
  innerPort: () => number;
  clientPort: () => number;
  pendingEventsLimit: number;
  pendingBytesLimit: number;
  /** Oldest a held event may get, in ms, before its client is closed with 1013. Default 30 000. */
  pendingMaxAgeMs?: number;
  /** Unacked bytes per worker past which its clients' events wait at the gateway. Default 32 MiB. */
  maxUnackedBytesPerWorker?: number;
  /** How clients are spread over workers. Default 'least-connections'. */
  router?: WorkerRouterStrategy;
  maxFrameSize?: number;
  counters: GatewayCounters;
  logger: Logger;
  /** Runs a command frame from an identified worker or SDK link. */
  execute: (f: GatewayFrame, link: InnerLink<GatewayFrame>) => void;
  /** Closes a client (the gateway's SocketReaper: cut after a grace period). Default: a plain close. */
  closeClient?: (socket: ClientSocket, code: number, reason: string) => void;
}


/**
 * The gateway's worker side: accepts inner links (workers and SDK clients), routes client events to workers
 * (sticky), and makes sure none is lost while workers come and go:
 *  - every event sent on a worker link is numbered and kept until the worker acknowledges it (EventAck); when
 *    the link closes (the worker crashed or was killed), the unacknowledged events are sent again, in order and
 *    ahead of the clients' newer events, through the normal routing (at-least-once);
 *  - a worker that announces it is shutting down (WorkerDraining) gets no new events; each of its clients moves
 *    to another worker once the draining worker has acknowledged that client's earlier events;
 *  - events that no worker can take are held per client, bounded by count, bytes and age.
 */
export class WorkerDispatcher {
  private readonly router: WorkerRouter;
  private readonly pending: PendingEvents;
  readonly links = new Set<InnerLink<GatewayFrame>>();
  private pendingWarned = false;
  private readonly pendingMaxAgeMs: number;
  private readonly maxUnackedBytes: number;
  private sweepTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  private readonly closeClient: NonNullable<WorkerDispatcherOptions['closeClient']>;

  constructor(private readonly options: WorkerDispatcherOptions) {
    this.closeClient = options.closeClient ?? ((socket, code, reason) => socket.close(code, reason));
    this.pending = new PendingEvents(options.pendingEventsLimit, options.pendingBytesLimit);
    this.pendingMaxAgeMs = options.pendingMaxAgeMs ?? DEFAULT_PENDING_MAX_AGE_MS;
    this.maxUnackedBytes = options.maxUnackedBytesPerWorker ?? DEFAULT_MAX_UNACKED_BYTES_PER_WORKER;
    this.router = new WorkerRouter(options.router, (client) =>
      encodeClientId({ localIp: options.lanIp, localPort: options.innerPort(), connectionId: client.id }),
    );
  }

  get workerCount(): number {
    return this.router.size;
  }

  /** Client events held at the gateway (no worker could take them yet). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Sends a client event to the client's worker, or holds it (in order) while no worker can take it. */
  forward(client: ClientConnection, cmd: Cmd, flag: number, body: Buffer): void {
    const worker = client.pendingEvents === 0 ? this.router.route(client) : undefined;
    if (worker) return this.deliver(worker, client, cmd, flag, body);
    if (this.pending.push(client, { cmd, flag, body, heldAt: Date.now() }, cmd === Cmd.OnClose)) {
      if (!this.pendingWarned && this.router.available === 0) {
        this.options.logger.warn(
          this.router.size === 0
            ? 'no worker connected: holding client events until one connects'
            : 'no worker available (all draining or past their unacked bound): holding client events',
        );
        this.pendingWarned = true;
      }
      this.startSweep();
      return;
    }
    if (!client.closed) {
      this.options.logger.warn(`client ${client.id} closed: no worker available and the pending-event queue is full`);
      this.options.counters.pendingDisconnects++;
      this.closeClient(client.socket, NO_WORKER_CLOSE.code, NO_WORKER_CLOSE.reason);
    }
  }

  private deliver(worker: WorkerChannel, client: ClientConnection, cmd: number, flag: number, body: Buffer): void {
    const withHandshake = client.handshakeSentTo !== worker;
    if (withHandshake) client.handshakeSentTo = worker;
    const seq = worker.track(client, cmd, flag, body, Date.now());
    worker.link.send(
      encodeEventFrame(
        {
          cmd,
          localIp: this.options.lanIp,
          localPort: this.options.innerPort(),
          clientIp: client.remoteIp,
          clientPort: client.remotePort,
          connectionId: client.id,
          flag,
          gatewayPort: this.options.clientPort(),
        },
        body,
        client.sessionVersion,
        client.session,
        withHandshake ? client.serializedHandshake : undefined,
        client.uid,
        seq,
      ),
    );
    if (cmd === Cmd.OnClose) this.router.release(client);
  }

  /** Sends whatever held events can go now, each client's in order. */
  private flushPending(): void {
    if (this.pending.size === 0) return;
    const waitedForAWorker = this.pendingWarned;
    let delivered = 0;
    for (const client of this.pending.clients()) {
      while (client.pendingEvents > 0) {
        const worker = this.router.route(client);
        if (!worker) break;
        const e = this.pending.shift(client)!;
        this.deliver(worker, client, e.cmd, e.flag, e.body);
        delivered++;
      }
    }
    if (this.pending.size === 0) {
      this.pendingWarned = false;
      this.stopSweep();
    }
    if (delivered > 0 && waitedForAWorker) {
      this.options.logger.log(`delivering ${delivered} client event(s) held while no worker was available`);
    }
  }

  // ---- acknowledgements, drain, redelivery ----------------------------------------------------------

  private onAck(worker: WorkerChannel, f: GatewayFrame): void {
    const wasFull = worker.full;
    const now = Date.now();
    try {
      decodeEventAcks(f.body, (first, last) => worker.acknowledge(first, last, now));
    } catch (err) {
      return worker.link.destroy(`bad EventAck from worker ${worker.workerKey}: ${(err as Error).message}`);
    }
    // Clients waiting on this worker (it was full, or it drains and they wait for their last acks) may go on.
    if ((wasFull || worker.draining) && this.pending.size > 0) this.flushPending();
  }

  private onDraining(worker: WorkerChannel): void {
    if (worker.draining) return;
    worker.draining = true;
    this.options.logger.log(
      `worker ${worker.workerKey} is draining: no new events go to it; its ${worker.assigned} client(s) move to ` +
        `other workers once their ${worker.unackedCount} unacknowledged event(s) are handled`,
    );
    // Every event this gateway will ever send on this link is already queued ahead of this answer.
    worker.link.send(encodeFrame(frame({ cmd: Cmd.WorkerDrained })));
    this.flushPending();
  }

  /**
   * A worker link closed: the events it had not acknowledged go out again, through the normal routing, ahead
   * of their clients' newer events (synchronously, before any newer client event can be forwarded).
   */
  private onWorkerClosed(worker: WorkerChannel): void {
    this.router.remove(worker);
    const logger = this.options.logger;
    logger.log(`worker ${worker.workerKey} disconnected (${this.router.size} worker(s) left)`);
    const events = worker.takeUnacked();
    if (this.stopped) return;
    // Clients that waited for this link to hand back their events (see WorkerRouter.route) may go on.
    if (events.length === 0) return this.flushPending();
    const byClient = new Map<ClientConnection, PendingEvent[]>();
    for (const e of events) {
      const held: PendingEvent = { cmd: e.cmd, flag: e.flag, body: e.body, heldAt: e.sentAt };
      const list = byClient.get(e.client);
      if (list) list.push(held);
      else byClient.set(e.client, [held]);
    }
    for (const [client, list] of byClient) this.pending.pushFront(client, list);
    this.options.counters.eventsRedelivered += events.length;
    logger.warn(
      `worker ${worker.workerKey} went away with ${events.length} unacknowledged event(s) of ${byClient.size} client(s): ` +
        'sending them again to other workers (at-least-once)',
    );
    this.startSweep();
    this.flushPending();
  }

  // ---- age bound ------------------------------------------------------------------------------------

  /** One timer for all held events, running only while something is held. */
  private startSweep(): void {
    if (this.sweepTimer || this.stopped) return;
    const interval = Math.max(50, Math.min(1_000, Math.floor(this.pendingMaxAgeMs / 4)));
    this.sweepTimer = setInterval(() => this.sweep(), interval);
    this.sweepTimer.unref();
  }

  private stopSweep(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  /**
   * Closes clients whose oldest held event has waited longer than the age bound (1013 "no worker available")
   * and drops their held events: answering them much later would surprise everyone. A client already closed
   * only has its held events dropped.
   */
  sweep(now = Date.now()): void {
    for (const client of this.pending.expired(now - this.pendingMaxAgeMs)) {
      const dropped = this.pending.discard(client);
      if (client.closed) {
        // Its close event was among the dropped ones: it no longer counts against its worker.
        this.router.release(client);
        continue;
      }
      this.options.logger.warn(
        `client ${client.id} closed: no worker took its events within ${this.pendingMaxAgeMs} ms (${dropped} dropped)`,
      );
      this.options.counters.pendingDisconnects++;
      this.closeClient(client.socket, NO_WORKER_CLOSE.code, NO_WORKER_CLOSE.reason);
    }
    if (this.pending.size === 0) {
      this.pendingWarned = false;
      this.stopSweep();
    }
  }

  // ---- inner links ----------------------------------------------------------------------------------

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
      if (identified) {
        if (worker && f.cmd === Cmd.EventAck) return this.onAck(worker, f);
        if (worker && f.cmd === Cmd.WorkerDraining) return this.onDraining(worker);
        return this.options.execute(f, link);
      }
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
        worker = new WorkerChannel(key, socket.remoteAddress ?? '', link, this.maxUnackedBytes);
        const replaced = this.router.add(worker);
        replaced?.link.destroy(`replaced by a new link from worker ${key}`);
        logger.log(`worker ${key} connected from ${peer} (${this.router.size} worker(s))`);
        this.flushPending();
      } else if (f.cmd === Cmd.GatewayClientConnect) {
        identified = true;
      } else {
        link.destroy(`first frame must be WorkerConnect or GatewayClientConnect, got ${cmdName(f.cmd)}`);
      }
    });
    link.on('close', () => {
      clearTimeout(identifyTimer);
      this.links.delete(link);
      if (worker) this.onWorkerClosed(worker);
    });
  }

  /** Ends every inner link (after their queued frames); the gateway is stopping, so nothing is redelivered. */
  endLinks(): void {
    this.stopped = true;
    this.stopSweep();
    for (const link of this.links) link.end();
  }
}
