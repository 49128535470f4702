import { Logger } from '@nestjs/common';
import type { MessageHandler, Server } from '@nestjs/microservices';
import { isObservable } from 'rxjs';
import type { GatewayClient } from '../client/gateway-client';
import type { HandlerTimings } from '../ops/metrics/handler-timings';
import type { ClientHandshake } from '../protocol/client-handshake';
import { gatewayAddressOf, type ClientAddress } from '../protocol/client-id';
import { encodeReplyFrame, writeReplyFrame } from '../protocol/client-message';
import { Cmd, FrameFlag } from '../protocol/command';
import { decodeEventEnvelope, peekEventSeq, type EventEnvelope } from '../protocol/event-envelope';
import { encodeFrame, frame, type GatewayFrame } from '../protocol/frame';
import { encodeRequest } from '../protocol/gateway-request';
import type { InnerLink } from '../protocol/inner-link';
import type { ClientEvent, ClientEventKind } from './client-event';
import { ClientIds } from './client-ids';
import { ClientTracker, EMPTY_SESSION, NO_HANDSHAKE } from './client-tracker';
import { connectionRejection, type ConnectionRejection } from './connection-rejected.exception';
import { deadLetterOf, runDeadLetterHandler } from './dead-letter-run';
import type { DeadLetter } from './dead-letter';
import { DirectRoute } from './direct-route';
import { EventAckBatcher } from './event-ack-batcher';
import type { GatewaySender } from './gateway-sender';
import { GatewayContext } from './gateway.context';
import type { ClientRoute, HandlerRoutes } from './handler-routes';
import { errorEnvelope, replyEnvelope, type RequestId } from './request-reply';
import { sessionJson, type HandledSession, type SessionWriteBack } from './session-write-back';
import type { EventsInFlight } from './worker-drain';

const KIND_BY_CMD: Partial<Record<number, ClientEventKind>> = {
  [Cmd.OnConnect]: 'connect',
  [Cmd.OnMessage]: 'message',
  [Cmd.OnClose]: 'close',
};

/** What the runner is built with (the transport's parts). */
export interface EventRunnerParts {
  /** The worker's links: replies and the commands an event leads to (SetSession, RejectConnection). */
  links: GatewaySender;
  /** The sessions of the handlers running now, and their write-back. */
  sessions: SessionWriteBack;
  /** What `GatewayContext` gives handlers (the worker's GatewayClient). */
  client: GatewayClient;
  /** Delivers the values of an Observable a handler returned (Nest's `Server.send`: the transport). */
  observables: Pick<Server, 'send'>;
}

/**
 * Runs the client events a worker receives: one {@link EventRun} per event, in order per client (ClientTracker),
 * acknowledged to the gateway once its handler is over (EventAckBatcher). Owns the per-client bookkeeping, the
 * clients whose connection a handler rejected, and the acks. See EventRun for the life of one event.
 */
export class EventRunner implements EventsInFlight {
  private readonly log = new Logger('Worker');
  // The fields below are read by EventRun (this file), which keeps one reference to its runner instead of a copy
  // of each per event.
  readonly tracker = new ClientTracker();
  /** Acknowledgements of finished events, sent once per turn per link. */
  readonly acks = new EventAckBatcher();
  /**
   * Clients whose connection a handler rejected: their later events (already on their way) reach no handler.
   * Each entry goes with the client's close event, or with its gateway's link.
   */
  readonly rejected = new Set<string>();
  /** The client_id string of each connection, formatted once (see ClientIds). */
  readonly ids = new ClientIds();
  readonly links: GatewaySender;
  readonly sessions: SessionWriteBack;
  readonly client: GatewayClient;
  readonly observables: Pick<Server, 'send'>;
  /** Set by {@link route} when the transport listens (Nest registers the handlers after building the transport). */
  routes: HandlerRoutes | null = null;
  /** Where the handlers' durations go (the admin listener's metrics); null: not measured. */
  timings: HandlerTimings | null = null;

  constructor(parts: EventRunnerParts) {
    this.links = parts.links;
    this.sessions = parts.sessions;
    this.client = parts.client;
    this.observables = parts.observables;
  }

  /** The handlers events go to from now on. */
  route(routes: HandlerRoutes): void {
    this.routes = routes;
  }

  /** Events queued or running, all clients together. */
  get inFlight(): number {
    return this.tracker.inFlight;
  }

  whenIdle(): Promise<void> {
    return this.tracker.whenIdle();
  }

  flushAcks(): void {
    this.acks.flush();
  }

  /**
   * One frame from a gateway (on `link`, the connection its sequence number belongs to): a client event is run
   * after the client's earlier ones, and so is a dead letter; anything else (Ping, commands a worker does not
   * handle) is ignored.
   */
  frame(f: GatewayFrame, gatewayAddress: string, link: InnerLink<GatewayFrame>): void {
    const kind = KIND_BY_CMD[f.cmd];
    if (!kind) {
      if (f.cmd === Cmd.DeadLetter) this.deadLetter(f, gatewayAddress);
      return;
    }
    let envelope: EventEnvelope;
    try {
      envelope = decodeEventEnvelope(f.ext);
    } catch (err) {
      this.log.warn(`event from gateway ${gatewayAddress} dropped: ${(err as Error).message}`);
      // Dropped is final: acknowledge it, or the gateway would send it again to another worker.
      const seq = peekEventSeq(f.ext);
      if (seq !== undefined) this.acks.add(link, seq);
      return;
    }
    const clientId = this.ids.of(f);
    // The run is the task itself (its start()): no closure per event.
    this.tracker.schedule(clientId, new EventRun(this, kind, clientId, gatewayAddress, link, f, envelope));
  }

  /**
   * The link to a gateway went down: the gateway routes its clients to other workers and no close event will come
   * here for them, so their bookkeeping goes.
   */
  gatewayLost(address: string): void {
    if (this.rejected.size > 0) {
      for (const clientId of this.rejected) if (gatewayAddressOf(clientId) === address) this.rejected.delete(clientId);
    }
    this.tracker.forgetGateway(address);
    this.ids.forgetGateway(address);
  }

  /** A client's close event was handled (or dropped): its ordering state and its cached client_id go. */
  clientClosed(clientId: string, address: ClientAddress): void {
    this.tracker.forget(clientId);
    this.ids.forget(address);
  }

  /**
   * Closes a rejected client with its code and reason (RejectConnection) and drops its later events here: those
   * already queued behind this one, and its close event.
   */
  reject(run: EventRun, rejection: ConnectionRejection): void {
    this.rejected.add(run.clientId);
    this.links.send(
      run.gatewayAddress,
      encodeFrame(
        frame({
          cmd: Cmd.RejectConnection,
          connectionId: run.connectionId,
          ext: encodeRequest({ code: rejection.code, reason: rejection.reason }),
        }),
      ),
    );
    this.log.debug(`client ${run.clientId} rejected (close ${rejection.code})`);
  }

  /**
   * A dead letter (Cmd.DeadLetter): to the `@OnDeadLetter()` handler, after the client's events already here. Never
   * acknowledged (the gateway sends it once and forgets it), never to an ordinary handler.
   */
  private deadLetter(f: GatewayFrame, gatewayAddress: string): void {
    let letter: DeadLetter;
    try {
      letter = deadLetterOf(f, gatewayAddress);
    } catch (err) {
      this.log.warn(`dead letter from gateway ${gatewayAddress} dropped: ${(err as Error).message}`);
      return;
    }
    const handler = this.routes?.deadLetter;
    if (!handler) {
      // Gateways send dead letters only to workers that announced a handler; an older gateway might not know.
      this.log.warn(`dead letter of client ${letter.clientId} dropped: this worker has no @OnDeadLetter() handler`);
      return;
    }
    const clientId = letter.clientId;
    const event: ClientEvent = {
      kind: letter.kind,
      clientId,
      gatewayAddress,
      body: letter,
      binary: letter.binary,
      session: {},
      handshake: this.tracker.handshake(clientId, undefined),
    };
    const ctx = new GatewayContext(event, this.client);
    this.tracker.schedule(clientId, () =>
      runDeadLetterHandler(handler, letter, ctx).then(
        () => this.tracker.forget(clientId),
        (err: unknown) => {
          this.log.error(
            `@OnDeadLetter() handler failed for client ${clientId}: ${(err as Error)?.message}`,
            (err as Error)?.stack,
          );
          this.tracker.forget(clientId);
        },
      ),
    );
  }

  eventFailed(run: EventRun, err: unknown): void {
    this.log.error(
      `${run.kind} event of client ${run.clientId} failed: ${(err as Error)?.message}`,
      (err as Error)?.stack,
    );
  }
}

/**
 * One client event, from its frame to its ack: pick the handler, invoke it (Nest's wrapper: pipes, guards,
 * interceptors, filters), reply with what it returns, settle (rejection, then the session write-back or the
 * client's cleanup), and acknowledge it however it ended (handled, failed, dropped or ignored).
 *
 * The event's state lives here instead of in closures and positional arguments. Allocation is the point: this
 * object replaces the closures, the pair and the promise chain the event used to cost. The work around the handler
 * runs synchronously; the only promises are the one Nest's wrapper returns and one `.then` on it (none when there
 * is no handler).
 */
export class EventRun implements HandledSession {
  /** The `@Session()` object (the gateway's snapshot, or this worker's own fresher write-back). */
  session: Record<string, unknown> = EMPTY_SESSION;
  sessionBefore = '{}';
  /** The gateway's session version {@link session} corresponds to. */
  version = 0;
  /** What the handler receives (HandlerRoutes.pick sets it). */
  body: unknown = undefined;
  /** The type of the typed `@OnClientMessage(type)` handler that takes it (HandlerRoutes.pick sets it). */
  route: string | undefined = undefined;
  /** performance.now() at the event's turn, when handler durations are measured. */
  private startedAt = 0;
  /**
   * The request id of a message sent as a request (HandlerRoutes.pick sets it), until it is answered: the first
   * reply goes out in a reply envelope echoing it, later ones (an Observable's) as plain messages. See
   * request-reply.ts.
   */
  requestId: RequestId | undefined = undefined;
  /**
   * The handler's GatewayContext: made before the handler when it takes one (Nest's wrapper always does; a direct
   * route only when a parameter reads it), otherwise only if something needs it afterwards (an exception filter's
   * host). See {@link context}.
   */
  private ctx: GatewayContext | null = null;
  /** The handshake the event's context carries (ClientTracker.begin). */
  private handshake: ClientHandshake = NO_HANDSHAKE;
  /** Whether a handler was called (its duration is then measured). */
  private handled = false;
  /** Set by a connect handler that failed, or by GatewayContext.rejectConnection() (read when settling). */
  private rejection: ConnectionRejection | undefined = undefined;

  constructor(
    private readonly runner: EventRunner,
    readonly kind: ClientEventKind,
    readonly clientId: string,
    readonly gatewayAddress: string,
    private readonly link: InnerLink<GatewayFrame>,
    private readonly f: GatewayFrame,
    private readonly envelope: EventEnvelope,
  ) {}

  get connectionId(): number {
    return this.f.connectionId;
  }

  get uid(): string | undefined {
    return this.envelope.uid;
  }

  /** The client's turn came (ClientTracker). Returns a promise only when the handler is asynchronous; it never rejects. */
  start(): Promise<void> | void {
    if (this.runner.timings !== null) this.startedAt = performance.now();
    let pending: Promise<void> | void = undefined;
    try {
      pending = this.handle();
    } catch (err) {
      this.runner.eventFailed(this, err);
    }
    if (pending) return pending; // it acknowledges the event at its end
    this.ack();
  }

  /**
   * Runs the handler, if any. Returns nothing once everything but the ack is done (a throw is the event's failure),
   * or a promise that settles and acknowledges the event at its end.
   */
  private handle(): Promise<void> | void {
    const r = this.runner;
    if (r.rejected.size > 0 && r.rejected.has(this.clientId)) {
      // A handler rejected this client: what it sent before the gateway closed it reaches no handler.
      if (this.kind === 'close') {
        r.rejected.delete(this.clientId);
        r.clientClosed(this.clientId, this.f);
      }
      return;
    }
    const f = this.f;
    // Sets this.session and this.version.
    this.handshake = r.tracker.begin(this.clientId, this.envelope, this);
    this.sessionBefore = sessionJson(this.session);
    const handler = r.routes?.pick(this.kind, f.body, (f.flag & FrameFlag.Binary) !== 0, this);
    if (!handler) {
      if (this.requestId !== undefined) this.replyError(NO_HANDLER);
      return this.finish();
    }
    if (!(handler instanceof DirectRoute) || handler.usesContext) this.context();
    this.handled = true;
    r.sessions.handlerStarted(this.clientId, this.session);
    let pending: Promise<void> | void;
    try {
      pending = this.invoke(handler);
    } catch (err) {
      this.abandon();
      throw err;
    }
    if (!pending) return this.settle();
    return pending;
  }

  /**
   * Calls the handler and replies with each value it produces. Returns nothing when it finished synchronously
   * (the caller settles), or a promise that settles and acknowledges the event at its end.
   *
   * Nest's wrapper resolves to the handler's plain value (its exception filters turn a failure into an Observable
   * that errors). A plain value is replied at once; only an Observable goes through Nest's send(), which
   * subscribes and delivers each value it emits. Wrapping every result in rxjs (from, mergeMap, catchError,
   * finalize, a nextTick per packet) cost more worker CPU per echo than anything else we do.
   */
  private invoke(handler: ClientRoute): Promise<void> | void {
    if (handler instanceof DirectRoute) return this.invokeDirect(handler);
    let result: ReturnType<MessageHandler>;
    try {
      result = handler(this.body, this.context());
    } catch (err) {
      return this.failed(err);
    }
    if (!isPromiseLike(result)) return this.deliver(result);
    return (result as PromiseLike<unknown>).then(
      (value) => this.resolved(value),
      (err: unknown) => this.failedLater(err),
    ) as Promise<void>;
  }

  /**
   * The fast path (HandlerFastPath: nothing of Nest's wrapper applies): the method itself. What it throws or
   * rejects with goes through the exception filter the wrapper would have run (route.failure: same payload, same
   * log); an Observable it returns gets that filter as the wrapper's catchError. A synchronous result takes no
   * promise at all.
   */
  private invokeDirect(route: DirectRoute): Promise<void> | void {
    let result: unknown;
    try {
      // ctx is null when no parameter reads it (route.usesContext false): the call then never looks at it.
      result = route.call(this.body, this.ctx as GatewayContext);
    } catch (err) {
      return this.failed(route.failure(err, this.body, this.context()));
    }
    if (isPromiseLike(result)) {
      return (result as PromiseLike<unknown>).then(
        (value) => this.resolved(isObservable(value) ? route.filtered(value, this.body, this.context()) : value),
        (err: unknown) => this.failedDirectLater(route, err),
      ) as Promise<void>;
    }
    return this.deliver(isObservable(result) ? route.filtered(result, this.body, this.context()) : result);
  }

  /** The handler's GatewayContext, made on first use. */
  private context(): GatewayContext {
    if (this.ctx !== null) return this.ctx;
    const event: ClientEvent = {
      kind: this.kind,
      clientId: this.clientId,
      gatewayAddress: this.gatewayAddress,
      body: this.body,
      binary: (this.f.flag & FrameFlag.Binary) !== 0,
      session: this.session,
      handshake: this.handshake,
    };
    return (this.ctx = new GatewayContext(event, this.runner.client));
  }

  /** The method's promise rejected (fast path): filtered as Nest's wrapper would, then as on the Nest path. */
  private failedDirectLater(route: DirectRoute, err: unknown): void {
    let payload: unknown;
    try {
      payload = route.failure(err, this.body, this.context());
    } catch (e) {
      return this.aborted(e);
    }
    this.failedLater(payload);
  }

  /**
   * Replies with a value the handler produced. Returns nothing when done, or a promise (a Promise or an Observable
   * to wait for) that settles and acknowledges the event at its end.
   */
  private deliver(value: unknown): Promise<void> | void {
    if (isPromiseLike(value)) {
      return (value as PromiseLike<unknown>).then(
        (v) => this.resolved(v),
        (err: unknown) => this.failedLater(err),
      ) as Promise<void>;
    }
    if (!isObservable(value)) {
      if (value !== undefined) this.reply(value);
      return;
    }
    return new Promise<void>((resolve) => {
      this.runner.observables.send(value, (packet) => {
        if (packet.err !== undefined) this.failed(packet.err);
        else if (packet.response !== undefined) this.reply(packet.response);
        if (packet.isDisposed) resolve();
      });
    }).then(() => this.settled());
  }

  /** The handler's promise resolved (asynchronous path). */
  private resolved(value: unknown): Promise<void> | void {
    let pending: Promise<void> | void;
    try {
      pending = this.deliver(value);
    } catch (err) {
      return this.aborted(err);
    }
    if (pending) return pending;
    this.settled();
  }

  /** The handler's promise rejected (asynchronous path). */
  private failedLater(err: unknown): void {
    try {
      this.failed(err);
    } catch (e) {
      return this.aborted(e);
    }
    this.settled();
  }

  /**
   * A handler error, already turned into data by the exception filters: by default it reaches the client as
   * {"type":"error","message":...}; a connect handler that throws (or whose guard refuses) rejects the connection.
   */
  private failed(err: unknown): void {
    if (this.kind === 'connect') this.rejection ??= connectionRejection(err);
    else if (this.requestId !== undefined) this.replyError(err);
    else this.reply(errorMessage(err));
  }

  /**
   * Sends a value to the client of this event; nothing after a close or once the connection is rejected. The
   * first value answering a request goes in its reply envelope.
   */
  private reply(value: unknown): void {
    if (this.kind === 'close' || this.ctx?.rejection) return;
    if (this.requestId !== undefined) {
      value = replyEnvelope(this.requestId, value);
      this.requestId = undefined;
    }
    this.send(value);
  }

  /**
   * A value to the client, encoded straight into its gateway link's batch when the links allow it (no buffer of
   * its own, no copy into the turn's record), else as a frame of its own.
   */
  private send(value: unknown): void {
    const links = this.runner.links;
    const batch = links.batchFor?.(this.gatewayAddress);
    if (batch) {
      const out = writeReplyFrame(batch, Cmd.SendToOne, this.f.connectionId, value);
      if (typeof out !== 'string') links.send(this.gatewayAddress, out);
      return;
    }
    const bytes = encodeReplyFrame(Cmd.SendToOne, this.f.connectionId, value);
    if (bytes) links.send(this.gatewayAddress, bytes);
  }

  /** Answers a request with an error envelope: the message (and status) of what the exception filters made of it. */
  private replyError(err: unknown): void {
    const id = this.requestId!;
    this.requestId = undefined;
    if (this.ctx?.rejection) return;
    const { message } = errorMessage(err);
    const status = (err as { statusCode?: unknown } | null)?.statusCode;
    this.send(errorEnvelope(id, message, typeof status === 'number' ? status : undefined));
  }

  /** After the handler, however it ended: rejection, then the session write-back (or the client's cleanup). */
  private settle(): void {
    try {
      // A request whose handler produced nothing is still answered (an envelope without data), so the client's
      // promise resolves instead of timing out.
      if (this.requestId !== undefined) this.reply(undefined);
      if (this.kind !== 'close') this.rejection = this.ctx?.rejection ?? this.rejection;
      if (this.rejection) this.runner.reject(this, this.rejection);
    } finally {
      this.runner.sessions.handlerEnded(this.clientId);
      this.finish();
    }
  }

  /** The run broke outside the handler (a value that cannot be sent): no rejection is applied, the session is finished. */
  private abandon(): void {
    this.runner.sessions.handlerEnded(this.clientId);
    this.finish();
  }

  /** The end of the asynchronous path when all went well. */
  private settled(): void {
    try {
      this.settle();
    } catch (err) {
      this.runner.eventFailed(this, err);
    }
    this.ack();
  }

  /** The end of the asynchronous path when the run broke. */
  private aborted(err: unknown): void {
    try {
      this.abandon();
    } catch (e) {
      err = e;
    }
    this.runner.eventFailed(this, err);
    this.ack();
  }

  /** The end of every handled event: the session write-back when it changed, or the client's cleanup. */
  private finish(): void {
    const r = this.runner;
    if (this.kind === 'close') {
      r.clientClosed(this.clientId, this.f);
      r.sessions.clientClosed(this.clientId, this.envelope.uid);
    } else if (this.rejection) {
      r.sessions.clientRejected(this.clientId);
    } else {
      const written = r.sessions.writeBack(this);
      if (written !== null) r.tracker.wrote(this.clientId, written, this.version);
    }
  }

  private ack(): void {
    // A handler ran: its duration, from the event's turn to here.
    const timings = this.runner.timings;
    if (timings !== null && this.handled)
      timings.observe(this.kind, this.route, (performance.now() - this.startedAt) / 1000);
    const seq = this.envelope.q;
    if (seq !== undefined) this.runner.acks.add(this.link, seq);
  }
}

/** The answer to a request no handler takes (no typed handler for its type and no untyped one). */
const NO_HANDLER = { message: 'no handler for this message' };

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

/** The client-facing form of a handler error. */
function errorMessage(err: unknown): { type: 'error'; message: string } {
  const m = (err as { message?: unknown } | null)?.message;
  const message = Array.isArray(m) ? m.join('; ') : typeof m === 'string' ? m : 'Internal server error';
  return { type: 'error', message };
}
