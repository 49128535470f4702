import { Logger } from '@nestjs/common';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import type { EventEmitter } from 'node:events';
import { isObservable } from 'rxjs';
import { decodeClientId, encodeClientId, gatewayAddress, gatewayAddressOf } from '../protocol/client-id';
import { encodeReplyFrame } from '../protocol/client-message';
import { Cmd, FrameFlag } from '../protocol/command';
import { decodeEventEnvelope, peekEventSeq, type EventEnvelope } from '../protocol/event-envelope';
import { encodeFrame, frame, type GatewayFrame } from '../protocol/frame';
import { encodeRequest } from '../protocol/gateway-request';
import type { InnerLink } from '../protocol/inner-link';
import { GatewayClient, type LocalSessions, type ClientSession } from '../client/gateway-client';
import { clientPartsOf } from '../client/gateway-client-options';
import { workerHello } from '../client/gateway-hello';
import { GatewayLinkPool } from '../client/gateway-link-pool';
import { GATEWAY_TRANSPORT, type ClientEventPattern } from './client-event.decorators';
import type { ClientEvent, ClientEventKind } from './client-event';
import { ClientTracker } from './client-tracker';
import { connectionRejection, type ConnectionRejection } from './connection-rejected.exception';
import { EventAckBatcher } from './event-ack-batcher';
import { GatewayContext } from './gateway.context';
import { SessionStoreSync } from './session-store-sync';
import type { ResolvedWorkerOptions } from './worker-options';

const KIND_BY_CMD: Partial<Record<number, ClientEventKind>> = {
  [Cmd.OnConnect]: 'connect',
  [Cmd.OnMessage]: 'message',
  [Cmd.OnClose]: 'close',
};

interface Routes {
  connect?: MessageHandler;
  close?: MessageHandler;
  message?: MessageHandler;
  typed: Map<string, MessageHandler>;
}

/**
 * The worker side of the cluster as a Nest microservice transport: it learns gateways from the register,
 * keeps a link to every one, and dispatches client events to `@OnClientConnect()`, `@OnClientMessage()` and
 * `@OnClientClose()` handlers. A handler's return value goes back to the client; its session changes are
 * written back to the gateway afterwards. Written against the `Server` API Nest 11 and 12 share.
 */
export class GatewayTransport extends Server implements CustomTransportStrategy, LocalSessions {
  override transportId = GATEWAY_TRANSPORT;
  // Our own logger: the base class's protected members are not part of the API Nest 11 and 12 share.
  private readonly log = new Logger('Worker');
  readonly links: GatewayLinkPool;
  /** The GatewayClient of this worker (what `@Inject(GatewayClient)` gives), riding {@link links}. */
  readonly client: GatewayClient;
  private readonly tracker = new ClientTracker();
  /** The `@Session()` objects of the handlers running now, by client_id. */
  private readonly activeSessions = new Map<string, ClientSession>();
  private routes: Routes = { typed: new Map() };
  private readonly warned = new Set<string>();
  /**
   * Clients whose connection a handler rejected: their later events (already on their way) reach no handler.
   * Each entry goes with the client's close event, or with its gateway's link.
   */
  private readonly rejected = new Set<string>();
  /** Only with a session store configured (WorkerOptions.sessionStore): otherwise sessions cost nothing more. */
  private readonly sessionStore: SessionStoreSync | null;
  /** Acknowledgements of finished events, sent once per turn per link. */
  private readonly acks = new EventAckBatcher();
  private listening = false;
  private drainPromise: Promise<void> | null = null;
  /** While draining: gateways that have not answered WorkerDraining yet, and who to tell when none is left. */
  private drainWaiting: Set<string> | null = null;
  private drainAnswered: (() => void) | null = null;

  /** `options`: resolved (resolveWorkerOptions, workerOptionsFromEnv); GatewayModule.forWorker resolves them. */
  constructor(readonly options: ResolvedWorkerOptions) {
    super();
    const { links, settings } = clientPartsOf(options, { hello: workerHello(options.name), maxFrameSize: options.maxFrameSize });
    this.links = new GatewayLinkPool(links);
    this.client = new GatewayClient(this.links, settings, this);
    this.sessionStore = options.sessionStore
      ? new SessionStoreSync({
          store: options.sessionStore,
          activeSession: (clientId) => this.activeSessions.get(clientId),
          updateOnGateway: (clientId, patch) => {
            const target = decodeClientId(clientId);
            this.sendCommand(gatewayAddress(target), {
              cmd: Cmd.UpdateSession,
              connectionId: target.connectionId,
              ext: Buffer.from(JSON.stringify(patch)),
            });
          },
          readFromGateway: async (clientId) => {
            const [uid, session] = await Promise.all([this.client.getUidByClientId(clientId), this.client.getSession(clientId)]);
            return { uid, session };
          },
        })
      : null;
    this.links.on('gateway', (address: string, state: 'up' | 'down') => {
      if (state !== 'down' || this.rejected.size === 0) return;
      for (const clientId of this.rejected) if (gatewayAddressOf(clientId) === address) this.rejected.delete(clientId);
    });
  }

  /** LocalSessions: the live session of a client whose handler is running in this worker. */
  activeSession(clientId: string): ClientSession | undefined {
    return this.activeSessions.get(clientId);
  }

  /** LocalSessions: a uid was bound through this worker's GatewayClient (session store: load and merge). */
  async uidBound(clientId: string, uid: string): Promise<void> {
    if (this.sessionStore) await this.sessionStore.uidBound(clientId, uid);
  }

  /** LocalSessions: a session was written through this worker's GatewayClient (session store: save). */
  sessionWritten(clientId: string): void {
    this.sessionStore?.sessionWritten(clientId);
  }

  listen(callback: (...optionalParams: unknown[]) => void): void {
    this.routes = this.collectRoutes();
    this.links.on('frame', (f: GatewayFrame, address: string, link: InnerLink<GatewayFrame>) => this.onFrame(f, address, link));
    this.links.on('gateway', (address: string, state: 'up' | 'down') => {
      if (state === 'down') this.tracker.forgetGateway(address);
      if (this.drainWaiting) {
        // A gateway (re)linked while draining must not start routing clients here; a lost one has nothing to answer.
        if (state === 'up') this.askToStopSending(address);
        else this.drained(address);
      }
    });
    this.listening = true;
    this.links.start();
    this.log.log(
      `Worker ${this.links.key} started: ${this.routes.typed.size} typed message handler(s)` +
        (this.routes.message ? ' + untyped handler' : '') +
        (this.options.secret ? '' : ' (plaintext inner links)'),
    );
    callback();
  }

  /**
   * Nest calls this on app.close() (and on SIGTERM with enableShutdownHooks) and awaits it: the worker drains
   * ({@link drain}), then closes its links.
   */
  async close(): Promise<void> {
    await this.drain();
    this.links.stop();
  }

  /**
   * Graceful stop of event handling, bounded by `drainTimeoutMs`: tells every gateway to stop sending events
   * here (its clients move to other workers), waits until each has answered (every event it sent is then
   * received), waits for the handlers in flight, and sends their acks. The links stay open (GatewayClient calls
   * keep working) until close(). Idempotent; call it yourself before app.close() to drain while the app's other
   * providers are still alive (in a hybrid app Nest destroys them before it closes the microservice).
   */
  drain(): Promise<void> {
    return (this.drainPromise ??= this.runDrain());
  }

  private async runDrain(): Promise<void> {
    if (!this.listening) return;
    const timeoutMs = this.options.drainTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const answered = new Promise<void>((resolve) => (this.drainAnswered = resolve));
    this.drainWaiting = new Set();
    const gateways = this.links.openAddresses();
    this.log.log(`draining: asking ${gateways.length} gateway(s) to stop sending events; ${this.tracker.inFlight} in flight`);
    for (const address of gateways) this.askToStopSending(address);
    this.drained(undefined);
    const allAnswered = await untilDeadline(answered, deadline);
    const idle = await untilDeadline(this.tracker.whenIdle(), deadline);
    this.acks.flush();
    if (allAnswered && idle) {
      this.log.log('drained: every event received was handled and acknowledged');
    } else {
      this.log.warn(
        `drain timed out after ${timeoutMs} ms` +
          (allAnswered ? '' : ` (gateway(s) ${[...this.drainWaiting].join(', ')} did not answer)`) +
          (idle ? '' : ` with ${this.tracker.inFlight} event(s) unfinished; the gateways send them to other workers`),
      );
    }
  }

  private askToStopSending(address: string): void {
    if (this.links.send(address, encodeFrame(frame({ cmd: Cmd.WorkerDraining })))) this.drainWaiting?.add(address);
  }

  /** A gateway answered WorkerDraining (or its link went away); `undefined` only re-checks. */
  private drained(address: string | undefined): void {
    const waiting = this.drainWaiting;
    if (!waiting) return;
    if (address !== undefined) waiting.delete(address);
    if (waiting.size === 0) this.drainAnswered?.();
  }

  on(event: string, callback: Function): void {
    // Nest's Server.on takes any event name: forwarded, untyped as before, to the link pool's typed events.
    (this.links as EventEmitter).on(event, callback as (...args: unknown[]) => void);
  }

  unwrap<T>(): T {
    return this.links as T;
  }

  /**
   * Sends one command frame to a gateway over this worker's link (what GatewayClient rides on); false when no
   * link to that gateway is open.
   */
  sendCommand(gatewayAddress: string, fields: Partial<GatewayFrame> & { cmd: Cmd }): boolean {
    return this.links.send(gatewayAddress, encodeFrame(frame(fields)));
  }

  private collectRoutes(): Routes {
    const routes: Routes = { typed: new Map() };
    for (const [route, handler] of this.getHandlers()) {
      let pattern: ClientEventPattern;
      try {
        pattern = JSON.parse(route) as ClientEventPattern;
      } catch {
        continue;
      }
      if (pattern.gw === 'message' && typeof pattern.type === 'string') routes.typed.set(pattern.type, handler);
      else if (pattern.gw === 'message') routes.message = handler;
      else if (pattern.gw === 'connect') routes.connect = handler;
      else if (pattern.gw === 'close') routes.close = handler;
    }
    return routes;
  }

  private onFrame(f: GatewayFrame, gatewayAddress: string, link: InnerLink<GatewayFrame>): void {
    if (f.cmd === Cmd.WorkerDrained) return this.drained(gatewayAddress);
    const kind = KIND_BY_CMD[f.cmd];
    if (!kind) return; // Ping, and commands this worker does not handle.
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
    const clientId = encodeClientId(f);
    const seq = envelope.q;
    // Acknowledged when its task is over, however it ended (handled, failed, dropped or ignored by handle()).
    this.tracker.schedule(clientId, () => {
      let pending: Promise<void> | void = undefined;
      try {
        pending = this.handle(kind, clientId, gatewayAddress, f, envelope);
      } catch (err) {
        this.eventFailed(kind, clientId, err);
      }
      if (!pending) {
        if (seq !== undefined) this.acks.add(link, seq);
        return;
      }
      return pending.then(
        () => {
          if (seq !== undefined) this.acks.add(link, seq);
        },
        (err: unknown) => {
          this.eventFailed(kind, clientId, err);
          if (seq !== undefined) this.acks.add(link, seq);
        },
      );
    });
  }

  private eventFailed(kind: ClientEventKind, clientId: string, err: unknown): void {
    this.log.error(`${kind} event of client ${clientId} failed: ${(err as Error)?.message}`, (err as Error)?.stack);
  }

  /**
   * Runs the handler of one event and writes the session back. Not an async function: the work around the
   * handler (session snapshot, write-back) runs synchronously, and the only promise is the one the handler's
   * Nest wrapper returns (or none when there is no handler).
   */
  private handle(
    kind: ClientEventKind,
    clientId: string,
    gatewayAddress: string,
    f: GatewayFrame,
    envelope: EventEnvelope,
  ): Promise<void> | void {
    if (this.rejected.size > 0 && this.rejected.has(clientId)) {
      // A handler rejected this client: what it sent before the gateway closed it reaches no handler.
      if (kind === 'close') {
        this.rejected.delete(clientId);
        this.tracker.forget(clientId);
      }
      return;
    }
    const binary = (f.flag & FrameFlag.Binary) !== 0;
    const { session, version } = this.tracker.session(clientId, envelope);
    const handshake = this.tracker.handshake(clientId, envelope.handshake);
    const before = sessionJson(session);
    const [handler, body] = this.pick(kind, f.body, binary);
    if (!handler) return this.finishEvent(kind, clientId, gatewayAddress, f.connectionId, envelope, session, before, version, undefined);
    const event: ClientEvent = { kind, clientId, gatewayAddress, body, binary, session, handshake };
    const ctx = new GatewayContext(event, this.client);
    let rejection: ConnectionRejection | undefined;
    // After the handler, however it ended: rejection, then the session write-back (or the client's cleanup).
    const settle = (): void => {
      try {
        if (kind !== 'close') rejection = ctx.rejection ?? rejection;
        if (rejection) this.reject(clientId, gatewayAddress, f.connectionId, rejection);
      } finally {
        this.activeSessions.delete(clientId);
        this.finishEvent(kind, clientId, gatewayAddress, f.connectionId, envelope, session, before, version, rejection);
      }
    };
    this.activeSessions.set(clientId, session);
    let pending: Promise<void> | void;
    try {
      pending = this.invoke(
        handler,
        body,
        ctx,
        (value) => {
          const bytes = kind === 'close' || ctx.rejection ? null : encodeReplyFrame(Cmd.SendToOne, f.connectionId, value);
          if (bytes) this.links.send(gatewayAddress, bytes);
        },
        // A connect handler that throws (or whose guard refuses) rejects the connection.
        kind === 'connect' ? (err) => (rejection ??= connectionRejection(err)) : undefined,
      );
    } catch (err) {
      this.activeSessions.delete(clientId);
      this.finishEvent(kind, clientId, gatewayAddress, f.connectionId, envelope, session, before, version, rejection);
      throw err;
    }
    if (!pending) return settle();
    return pending.then(settle, (err: unknown) => {
      this.activeSessions.delete(clientId);
      this.finishEvent(kind, clientId, gatewayAddress, f.connectionId, envelope, session, before, version, rejection);
      throw err;
    });
  }

  /** The end of every handled event: the session write-back when it changed, or the client's cleanup. */
  private finishEvent(
    kind: ClientEventKind,
    clientId: string,
    gatewayAddress: string,
    connectionId: number,
    envelope: EventEnvelope,
    session: Record<string, unknown>,
    before: string,
    version: number,
    rejection: ConnectionRejection | undefined,
  ): void {
    if (kind === 'close') {
      this.tracker.forget(clientId);
      this.sessionStore?.handlerFinished(clientId, envelope.uid, null);
    } else if (rejection) {
      // The client is going away: its session is neither written back nor saved.
      this.sessionStore?.handlerFinished(clientId, undefined, null);
    } else {
      // Compared as JSON every time: a handler may have mutated the session object in place.
      const after = sessionJson(session);
      const changed = after !== before;
      if (changed) {
        this.sendCommand(gatewayAddress, { cmd: Cmd.SetSession, connectionId, ext: Buffer.from(after) });
        this.tracker.wrote(clientId, after, version);
      }
      this.sessionStore?.handlerFinished(clientId, envelope.uid, changed ? session : null);
    }
  }

  /**
   * Closes a rejected client with its code and reason (RejectConnection) and drops its later events here: those
   * already queued behind this one, and its close event.
   */
  private reject(clientId: string, gatewayAddress: string, connectionId: number, rejection: ConnectionRejection): void {
    this.rejected.add(clientId);
    this.sendCommand(gatewayAddress, {
      cmd: Cmd.RejectConnection,
      connectionId,
      ext: encodeRequest({ code: rejection.code, reason: rejection.reason }),
    });
    this.log.debug(`client ${clientId} rejected (close ${rejection.code})`);
  }

  /** Chooses the handler and the body it receives (see OnClientMessage for the rules). */
  private pick(kind: ClientEventKind, raw: Buffer, binary: boolean): [MessageHandler | undefined, unknown] {
    if (kind !== 'message') return [this.routes[kind], undefined];
    if (binary) return [this.routes.message, raw];
    const text = raw.toString('utf8');
    if (this.routes.typed.size > 0 && text.charCodeAt(0) === 0x7b /* { */) {
      try {
        const parsed: unknown = JSON.parse(text);
        const type = (parsed as { type?: unknown }).type;
        if (typeof type === 'string') {
          const typed = this.routes.typed.get(type);
          if (typed) return [typed, parsed];
        }
      } catch {
        // Not JSON: an untyped message.
      }
    }
    if (!this.routes.message) this.warnOnce('untyped', 'a client message matched no @OnClientMessage() handler; dropped');
    return [this.routes.message, text];
  }

  /**
   * Runs a Nest handler (pipes, guards, interceptors and filters included) and hands each value it produces
   * to `reply`. Errors, already turned into data by the exception filters, go to `onError`; by default they
   * reach the client as {"type":"error","message":...}.
   */
  private invoke(
    handler: MessageHandler,
    body: unknown,
    ctx: GatewayContext,
    reply: (value: unknown) => void,
    onError: (err: unknown) => void = (err) => reply(errorMessage(err)),
  ): Promise<void> | void {
    let result: ReturnType<MessageHandler>;
    try {
      result = handler(body, ctx);
    } catch (err) {
      return onError(err);
    }
    // Fast path: Nest's wrapper resolves to the handler's plain value (its exception filters turn a failure into
    // an Observable that errors). A plain value is replied at once; only an Observable goes through Nest's
    // send(), which subscribes and delivers each value it emits. Wrapping every result in rxjs (from, mergeMap,
    // catchError, finalize, a nextTick per packet) cost more worker CPU per echo than anything else we do.
    if (!isPromiseLike(result)) return this.settleResult(result, reply, onError);
    return (result as PromiseLike<unknown>).then(
      (value) => this.settleResult(value, reply, onError),
      (err: unknown) => onError(err),
    ) as Promise<void>;
  }

  private settleResult(value: unknown, reply: (value: unknown) => void, onError: (err: unknown) => void): Promise<void> | void {
    if (isPromiseLike(value)) {
      return (value as PromiseLike<unknown>).then(
        (v) => this.settleResult(v, reply, onError),
        (err: unknown) => onError(err),
      ) as Promise<void>;
    }
    if (!isObservable(value)) {
      if (value !== undefined) reply(value);
      return;
    }
    return new Promise<void>((resolve) => {
      this.send(value, (packet) => {
        if (packet.err !== undefined) onError(packet.err);
        else if (packet.response !== undefined) reply(packet.response);
        if (packet.isDisposed) resolve();
      });
    });
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(message);
  }
}

/** Resolves true when `promise` settles before `deadline` (epoch ms), false otherwise; leaves no timer behind. */
async function untilDeadline(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([promise.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** JSON of a session; the empty object (the common case: no session yet) without JSON.stringify. */
function sessionJson(session: Record<string, unknown>): string {
  for (const _ in session) return JSON.stringify(session);
  return '{}';
}

/** The client-facing form of a handler error. */
function errorMessage(err: unknown): { type: 'error'; message: string } {
  const m = (err as { message?: unknown } | null)?.message;
  const message = Array.isArray(m) ? m.join('; ') : typeof m === 'string' ? m : 'Internal server error';
  return { type: 'error', message };
}
