import { Logger } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import type { ClientEventPattern } from './client-event.decorators';
import type { ClientEventKind } from './client-event';
import { DirectRoute } from './direct-route';
import { DIRECT, type HandlerFastPath } from './handler-fast-path';
import { takeRequestId, type RequestId } from './request-reply';

/**
 * The worker's handlers by client event: `@OnClientConnect()`, `@OnClientClose()`, the untyped
 * `@OnClientMessage()` and the typed `@OnClientMessage(type)` ones, and `@OnDeadLetter()`. Built once, when the
 * transport listens, from
 * the routes Nest registered for it; {@link pick} runs once per event.
 */
export class HandlerRoutes {
  private readonly log = new Logger('Worker');
  private connect: ClientRoute | undefined;
  private close: ClientRoute | undefined;
  /** The untyped `@OnClientMessage()` handler. */
  private message: ClientRoute | undefined;
  /** The `@OnDeadLetter()` handler (always Nest's wrapper: dead letters are rare). */
  readonly deadLetter: MessageHandler | undefined;
  private readonly typed = new Map<string, ClientRoute>();
  private warnedUnmatched = false;
  /**
   * How each client event route is run: {@link DIRECT} (the fast path: the method is called directly) or why it
   * goes through Nest's wrapper. Keyed by Nest's route string.
   */
  readonly paths = new Map<string, string>();

  /**
   * `routes`: Nest's `getHandlers()` of the transport, keyed by normalised pattern. A route that is not a client
   * event pattern (a `@MessagePattern('sum')` registered without a transport id reaches every transport of the
   * app, ours included) gets a warning naming it and no events. `fastPath`: decides which routes skip Nest's
   * wrapper (none without it).
   */
  constructor(routes: Iterable<[string, MessageHandler]>, fastPath: HandlerFastPath | null = null) {
    let deadLetter: MessageHandler | undefined;
    for (const [route, nestHandler] of routes) {
      const pattern = clientEventPattern(route);
      let handler: ClientRoute = nestHandler;
      if (pattern && pattern.gw !== 'dead-letter') {
        const direct = fastPath ? fastPath.route(pattern) : 'the fast path is off';
        if (direct instanceof DirectRoute) handler = direct;
        this.paths.set(route, direct instanceof DirectRoute ? DIRECT : direct);
      }
      if (pattern?.gw === 'message' && typeof pattern.type === 'string') this.typed.set(pattern.type, handler);
      else if (pattern?.gw === 'message') this.message = handler;
      else if (pattern?.gw === 'connect') this.connect = handler;
      else if (pattern?.gw === 'close') this.close = handler;
      else if (pattern?.gw === 'dead-letter') deadLetter = nestHandler;
      else
        this.log.warn(
          `handler pattern ${route} is not a client event (@OnClientConnect/Message/Close); it gets no events from gateways`,
        );
    }
    this.deadLetter = deadLetter;
  }

  /** How many typed `@OnClientMessage(type)` handlers there are. */
  get typedCount(): number {
    return this.typed.size;
  }

  /** How many client event routes take the fast path. */
  get directCount(): number {
    let n = 0;
    for (const path of this.paths.values()) if (path === DIRECT) n++;
    return n;
  }

  get hasUntypedMessage(): boolean {
    return this.message !== undefined;
  }

  /**
   * The handler of an event and, through `into.body`, the body it receives (see OnClientMessage for the rules);
   * `into.route` is set to the type of a typed handler that takes it (untouched otherwise).
   * The body goes into the caller's object rather than a returned pair: this runs once per event, and the pair
   * would be one more allocation each time. A parsed JSON message that carries a request id (`$rid`) is a request:
   * the id is taken out of the message into `into.requestId` (see request-reply.ts).
   */
  pick(
    kind: ClientEventKind,
    raw: Buffer,
    binary: boolean,
    into: { body: unknown; requestId: RequestId | undefined; route?: string },
  ): ClientRoute | undefined {
    if (kind !== 'message') {
      into.body = undefined;
      return kind === 'connect' ? this.connect : this.close;
    }
    if (binary) {
      into.body = raw;
      return this.message;
    }
    const text = raw.toString('utf8');
    if (this.typed.size > 0 && text.charCodeAt(0) === 0x7b /* { */) {
      try {
        const parsed: unknown = JSON.parse(text);
        into.requestId = takeRequestId(parsed as object);
        const type = (parsed as { type?: unknown }).type;
        if (typeof type === 'string') {
          const typed = this.typed.get(type);
          if (typed) {
            into.body = parsed;
            into.route = type;
            return typed;
          }
        }
      } catch {
        // Not JSON: an untyped message.
      }
    }
    if (!this.message && !this.warnedUnmatched) {
      this.warnedUnmatched = true;
      this.log.warn('a client message matched no @OnClientMessage() handler; dropped');
    }
    into.body = text;
    return this.message;
  }
}

/** A handler as the EventRun calls it: Nest's wrapper, or the method itself (the fast path). */
export type ClientRoute = MessageHandler | DirectRoute;

/** The client event pattern a route stands for, or null when it is not JSON or not one of ours. */
function clientEventPattern(route: string): ClientEventPattern | null {
  let pattern: unknown;
  try {
    pattern = JSON.parse(route);
  } catch {
    return null;
  }
  const gw = (pattern as { gw?: unknown } | null)?.gw;
  return gw === 'connect' || gw === 'message' || gw === 'close' || gw === 'dead-letter'
    ? (pattern as ClientEventPattern)
    : null;
}
