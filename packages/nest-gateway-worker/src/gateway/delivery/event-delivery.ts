import { Logger } from '@nestjs/common';
import { Cmd } from '../../protocol/command';
import { decodeEventAcks } from '../../protocol/event-ack';
import { writeEventFrame, type EventFrameHeader } from '../../protocol/event-envelope';
import { encodeFrame, frame, type GatewayFrame } from '../../protocol/frame';
import type { InnerLink } from '../../protocol/inner-link';
import type { ClientConnection } from '../client-connection';
import type { ClientHub } from '../client-hub';
import { DEAD_LETTER_CLOSE, NO_WORKER_CLOSE } from '../close-codes';
import type { ResolvedGatewayOptions } from '../gateway-options';
import { DeadLetters } from './dead-letters';
import { DeliveryLimit } from './delivery-limit';
import { PendingEvents, type PendingEvent } from './pending-events';
import { WorkerChannel, type UnackedEvent, type WorkerWire } from './worker-channel';
import { WorkerRouter } from './worker-router';

/** The options event delivery reads. */
export type EventDeliveryOptions = Pick<
  ResolvedGatewayOptions,
  | 'pendingEventsLimit'
  | 'pendingBytesLimit'
  | 'pendingMaxAgeMs'
  | 'maxUnackedBytesPerWorker'
  | 'maxEventDeaths'
  | 'router'
>;

/**
 * Delivery of client events to workers: routes each client's events to its worker (sticky), and makes sure none
 * is lost while workers come and go:
 *  - every event sent on a worker link is numbered and kept until the worker acknowledges it (EventAck); when
 *    the link closes (the worker crashed or was killed), the unacknowledged events are sent again, in order and
 *    ahead of the clients' newer events, through the normal routing (at-least-once);
 *  - a worker that announces it is shutting down (WorkerDraining) gets no new events; each of its clients moves
 *    to another worker once the draining worker has acknowledged that client's earlier events;
 *  - events that no worker can take are held per client, bounded by count, bytes and age; past a bound the
 *    client is closed through the hub with 1013;
 *  - redelivery is bounded (DeliveryLimit): an event in flight at maxEventDeaths worker deaths is dead-lettered
 *    (DeadLetters: at most once to a worker's `@OnDeadLetter()` handler), its client's later events are dropped
 *    (its close event excepted) and the client is closed with 4010; an event one death short of the limit is sent
 *    alone to an idle worker, so that a death blames only it.
 * The inner listener tells it which links are workers, and hands it their acknowledgements and drain requests.
 */
export class EventDelivery {
  private readonly logger = new Logger('Gateway');
  private readonly router: WorkerRouter;
  private readonly pending: PendingEvents;
  private readonly limit: DeliveryLimit;
  private readonly deadLetters: DeadLetters;
  private pendingWarned = false;
  private readonly pendingMaxAgeMs: number;
  private readonly maxUnackedBytes: number;
  private sweepTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /**
   * The header of the event frame being written, filled in for each event: writeEventFrame copies its fields into
   * the link's batch at once, so one object serves every event (no header object per client message).
   */
  private readonly header: EventFrameHeader;

  constructor(
    /** The clients' side: their address for event headers, and the close of clients no worker takes. */
    private readonly hub: ClientHub,
    options: EventDeliveryOptions,
  ) {
    this.pending = new PendingEvents(options.pendingEventsLimit, options.pendingBytesLimit);
    this.pendingMaxAgeMs = options.pendingMaxAgeMs;
    this.maxUnackedBytes = options.maxUnackedBytesPerWorker;
    this.limit = new DeliveryLimit(options.maxEventDeaths);
    this.deadLetters = new DeadLetters(hub.address, hub.counters, options.pendingMaxAgeMs);
    this.router = new WorkerRouter(options.router, (client) => hub.address.clientId(client));
    this.header = {
      cmd: 0,
      localIp: 0,
      localPort: 0,
      clientIp: 0,
      clientPort: 0,
      connectionId: 0,
      flag: 0,
      gatewayPort: 0,
    };
  }

  /** Workers linked now. */
  get workerCount(): number {
    return this.router.size;
  }

  /** Client events held at the gateway (no worker could take them yet). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Body bytes of the client events held at the gateway. */
  get pendingBytes(): number {
    return this.pending.byteCount;
  }

  /** Workers that can take new clients now (linked, not draining). */
  get availableWorkerCount(): number {
    return this.router.available;
  }

  /** The router (strategy, picks) and its workers, for metrics. */
  get workerRouter(): WorkerRouter {
    return this.router;
  }

  /** Dead letters held at the gateway until a worker is linked. */
  get heldDeadLetters(): number {
    return this.deadLetters.size;
  }

  /** Sends a client event to the client's worker, or holds it (in order) while no worker can take it. */
  forward(client: ClientConnection, cmd: Cmd, flag: number, body: Buffer): void {
    const worker = client.pendingEvents === 0 ? this.router.route(client) : undefined;
    if (worker) return this.deliver(worker, client, cmd, flag, body);
    const held: PendingEvent = { cmd, flag, body, heldAt: Date.now(), deaths: 0, isolated: false };
    if (this.pending.push(client, held, cmd === Cmd.OnClose)) {
      if (!this.pendingWarned && this.router.available === 0) {
        this.logger.warn(
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
      this.hub.closeWarnings.warn(
        'pending full',
        `client ${client.id} closed: no worker available and the pending-event queue is full`,
      );
      this.hub.counters.pendingDisconnects++;
      this.hub.close(client, NO_WORKER_CLOSE);
    }
  }

  /** `deaths`, `isolated`: of an event sent again (see DeliveryLimit; never for a PHP worker, which is not acked). */
  private deliver(
    worker: WorkerChannel,
    client: ClientConnection,
    cmd: number,
    flag: number,
    body: Buffer,
    deaths = 0,
    isolated = false,
  ): void {
    this.hub.counters.eventsForwarded++;
    if (worker.wire) {
      worker.wire.sendEvent(worker, client, cmd, flag, body, this.hub.address);
      if (cmd === Cmd.OnClose) this.router.release(client);
      return;
    }
    const withHandshake = client.handshakeSentTo !== worker;
    if (withHandshake) client.handshakeSentTo = worker;
    const seq = worker.track(client, cmd, flag, body, Date.now(), deaths, isolated);
    const address = this.hub.address;
    const header = this.header;
    header.cmd = cmd;
    header.localIp = address.lanIp;
    header.localPort = address.innerPort;
    header.clientIp = client.remoteIp;
    header.clientPort = client.remotePort;
    header.connectionId = client.id;
    header.flag = flag;
    header.gatewayPort = address.clientPort;
    writeEventFrame(
      worker.link,
      header,
      body,
      client.sessionVersion,
      client.session,
      withHandshake ? client.serializedHandshake : undefined,
      client.uid,
      seq,
      // Connect and close events may wait a moment for others (DEFERRED_FLUSH_MS): handshakes and closes often
      // arrive one per event-loop turn, and a write and a record each cost more than the event itself. A message
      // joins a flush already waiting, else leaves at the end of its turn on a link that has not written for
      // BUSY_LINK_MS (no delay when quiet), and waits up to DEFERRED_FLUSH_MS on a busy one: fewer, larger records,
      // and a worker woken less often (its CPU per echo −29–46 % at 100 clients × 10 in flight in paired runs).
      // Order is kept either way.
      cmd === Cmd.OnMessage ? 'when-busy' : true,
    );
    if (cmd === Cmd.OnClose) this.router.release(client);
  }

  /**
   * Sends whatever held events can go now, each client's in order. Isolated events first: each goes alone to an
   * idle worker, and a worker one of them waits for takes nothing else meanwhile (`awaitingIdle`, recomputed here).
   */
  private flushPending(): void {
    if (this.pending.size === 0) return;
    const waitedForAWorker = this.pendingWarned;
    let delivered = 0;
    for (const w of this.router.channels()) w.awaitingIdle = false;
    if (this.pending.isolatedCount > 0) {
      for (const client of this.pending.clients()) {
        if (this.pending.peek(client)!.isolated) delivered += this.sendHeld(client);
      }
    }
    for (const client of this.pending.clients()) delivered += this.sendHeld(client);
    if (this.pending.size === 0) {
      this.pendingWarned = false;
      if (this.deadLetters.size === 0) this.stopSweep();
    }
    if (delivered > 0 && waitedForAWorker) {
      this.logger.log(`delivering ${delivered} client event(s) held while no worker was available`);
    }
  }

  /** Sends the client's held events, in order, while its worker can take them; returns how many went. */
  private sendHeld(client: ClientConnection): number {
    let sent = 0;
    for (let e = this.pending.peek(client); e; e = this.pending.peek(client)) {
      const worker = this.router.route(client, e.isolated);
      if (!worker) break;
      if (e.isolated && worker.unackedCount > 0) {
        worker.awaitingIdle = true;
        break;
      }
      this.pending.shift(client);
      this.deliver(worker, client, e.cmd, e.flag, e.body, e.deaths, e.isolated);
      sent++;
    }
    return sent;
  }

  // ---- workers: the inner listener reports them ------------------------------------------------------

  /**
   * A link identified itself as worker `key` (WorkerConnect): it takes events from now on. `remoteAddress` is the
   * worker's address (WorkerInfo), `peer` its "address:port" for the log; `takesDeadLetters`: it has an
   * `@OnDeadLetter()` handler (WorkerConnect `"dead_letters": true`); `wire` the other wire it speaks (a PHP
   * BusinessWorker's), if any.
   */
  addWorker(
    key: string,
    link: InnerLink<GatewayFrame>,
    remoteAddress: string,
    peer: string,
    takesDeadLetters = false,
    wire?: WorkerWire,
  ): WorkerChannel {
    const worker = new WorkerChannel(key, remoteAddress, link, this.maxUnackedBytes, takesDeadLetters, wire ?? null);
    const replaced = this.router.add(worker);
    replaced?.link.destroy(`replaced by a new link from worker ${key}`);
    this.logger.log(`worker ${key} connected from ${peer} (${this.router.size} worker(s))`);
    this.flushPending();
    this.deadLetters.flush(this.router.channels());
    return worker;
  }

  /** An EventAck from `worker`: its acknowledged events are done with. A bad one closes the link. */
  acknowledge(worker: WorkerChannel, f: GatewayFrame): void {
    const wasFull = worker.full;
    const wasIsolating = worker.isolating;
    const now = Date.now();
    const counters = this.hub.counters;
    try {
      decodeEventAcks(f.body, (first, last) => {
        counters.eventsAcked += worker.acknowledge(first, last, now);
      });
    } catch (err) {
      return worker.link.destroy(`bad EventAck from worker ${worker.workerKey}: ${(err as Error).message}`);
    }
    // Clients waiting on this worker (it was full, or busy with an isolated event, or it drains and they wait for
    // their last acks) may go on; so may an isolated event that waited for this worker to be idle.
    const idleForIsolated = worker.awaitingIdle && worker.unackedCount === 0;
    if ((wasFull || wasIsolating || idleForIsolated || worker.draining) && this.pending.size > 0) this.flushPending();
  }

  /** WorkerDraining: `worker` takes no new events; its clients move on once it has acknowledged theirs. */
  drain(worker: WorkerChannel): void {
    if (worker.draining) return;
    worker.draining = true;
    this.logger.log(
      `worker ${worker.workerKey} is draining: no new events go to it; its ${worker.assigned} client(s) move to ` +
        `other workers once their ${worker.unackedCount} unacknowledged event(s) are handled`,
    );
    // Every event this gateway will ever send on this link is already queued ahead of this answer.
    worker.link.send(encodeFrame(frame({ cmd: Cmd.WorkerDrained })));
    this.flushPending();
  }

  /**
   * A worker link closed: the events it had not acknowledged go out again, through the normal routing, ahead
   * of their clients' newer events (synchronously, before any newer client event can be forwarded). Unless the
   * worker was draining, that is a death of each of them (DeliveryLimit): one that reaches the limit is
   * dead-lettered instead, with what follows it (see {@link deadLetter}).
   */
  workerClosed(worker: WorkerChannel): void {
    this.router.remove(worker);
    this.logger.log(`worker ${worker.workerKey} disconnected (${this.router.size} worker(s) left)`);
    const events = worker.takeUnacked();
    if (this.stopped) return;
    // Clients that waited for this link to hand back their events (see WorkerRouter.route) may go on.
    if (events.length === 0) return this.flushPending();
    const graceful = worker.draining;
    const byClient = new Map<ClientConnection, UnackedEvent[]>();
    for (const e of events) {
      const list = byClient.get(e.client);
      if (list) list.push(e);
      else byClient.set(e.client, [e]);
    }
    let redelivered = 0;
    let deadLettered = 0;
    let dropped = 0;
    for (const [client, list] of byClient) {
      const again: PendingEvent[] = [];
      for (let i = 0; i < list.length; i++) {
        const e = list[i];
        const deaths = this.limit.afterLinkLoss(e.deaths, graceful);
        if (this.limit.deadLetters(deaths)) {
          deadLettered++;
          dropped += this.deadLetter(client, e, deaths, list.slice(i + 1), graceful, again);
          break;
        }
        again.push(this.heldAgain(e, deaths));
      }
      this.pending.pushFront(client, again);
      redelivered += again.length;
    }
    this.hub.counters.eventsRedelivered += redelivered;
    this.logger.warn(
      `worker ${worker.workerKey} ${graceful ? 'stopped draining' : 'went away'} with ${events.length} ` +
        `unacknowledged event(s) of ${byClient.size} client(s): sending ${redelivered} again to other workers ` +
        '(at-least-once)' +
        (deadLettered > 0
          ? `; ${deadLettered} dead-lettered, ${dropped} later event(s) of their client(s) dropped`
          : ''),
    );
    this.startSweep();
    this.flushPending();
  }

  /** An event to send again after a link loss, with its deaths so far. */
  private heldAgain(e: UnackedEvent, deaths: number): PendingEvent {
    return { cmd: e.cmd, flag: e.flag, body: e.body, heldAt: e.sentAt, deaths, isolated: this.limit.isolates(deaths) };
  }

  /**
   * `e`, an event of `client`, reached the death limit: it goes to the dead letters (never to an ordinary handler
   * again), the client's later events (`later`, handed back with it, and those held) are dropped, and the client is
   * closed with 4010. Its close event is kept (appended to `again`, or left held): the worker's `@OnClientClose()` and
   * the router's count depend on it. Returns how many events were dropped.
   */
  private deadLetter(
    client: ClientConnection,
    e: UnackedEvent,
    deaths: number,
    later: UnackedEvent[],
    graceful: boolean,
    again: PendingEvent[],
  ): number {
    let dropped = this.pending.discardWhere(client, (held) => held.cmd !== Cmd.OnClose);
    for (const l of later) {
      if (l.cmd === Cmd.OnClose) again.push(this.heldAgain(l, this.limit.afterLinkLoss(l.deaths, graceful)));
      else dropped++;
    }
    client.deadLettered = true;
    this.deadLetters.post(client, e.cmd, e.flag, e.body, deaths, this.router.channels());
    if (!client.closed) this.hub.close(client, DEAD_LETTER_CLOSE);
    return dropped;
  }

  /** The gateway is stopping: its links are ending, so nothing is redelivered or swept from now on. */
  stop(): void {
    this.stopped = true;
    this.stopSweep();
  }

  // ---- age bound ------------------------------------------------------------------------------------

  /** One timer for all held events (and held dead letters), running only while something is held. */
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

  /** Whether the age-bound sweep is running (it runs only while events are held). */
  get sweeping(): boolean {
    return this.sweepTimer !== null;
  }

  /**
   * Closes clients whose oldest held event has waited longer than the age bound (1013 "no worker available")
   * and drops their held events: answering them much later would surprise everyone. A client already closed
   * only has its held events dropped.
   */
  sweep(now = Date.now()): void {
    this.deadLetters.sweep(now);
    for (const client of this.pending.expired(now - this.pendingMaxAgeMs)) {
      const dropped = this.pending.discard(client);
      if (client.closed) {
        // Its close event was among the dropped ones: it no longer counts against its worker.
        this.router.release(client);
        continue;
      }
      this.logger.warn(
        `client ${client.id} closed: no worker took its events within ${this.pendingMaxAgeMs} ms (${dropped} dropped)`,
      );
      this.hub.counters.pendingDisconnects++;
      this.hub.close(client, NO_WORKER_CLOSE);
    }
    if (this.pending.size === 0) {
      this.pendingWarned = false;
      if (this.deadLetters.size === 0) this.stopSweep();
    }
  }
}
