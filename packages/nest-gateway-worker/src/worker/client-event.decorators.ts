import { MessagePattern } from '@nestjs/microservices';

/** Transport id of the gateway worker transport: these decorators bind handlers to it alone. */
export const GATEWAY_TRANSPORT = Symbol('GatewayWorkerTransport');

/** Route patterns; also how the transport finds handlers in getHandlers(). */
export interface ClientEventPattern {
  gw: 'connect' | 'message' | 'close' | 'dead-letter';
  type?: string;
}

/** Handles a client's connection (PHP `onConnect`). A returned value is sent to the client. */
export function OnClientConnect(): MethodDecorator {
  return MessagePattern<ClientEventPattern>({ gw: 'connect' }, GATEWAY_TRANSPORT);
}

/**
 * Handles client messages (PHP `onMessage`). With `type`, only text messages that are a JSON object whose
 * `type` equals it (the handler receives the parsed object); without, every other message: other text as a
 * string, binary as a Buffer. A returned value (value, Promise or Observable) is sent to the sender.
 */
export function OnClientMessage(type?: string): MethodDecorator {
  // Leave `type` out when undefined, or the route would contain "type":undefined.
  return MessagePattern<ClientEventPattern>(
    type === undefined ? { gw: 'message' } : { gw: 'message', type },
    GATEWAY_TRANSPORT,
  );
}

/** Handles a client's disconnection (PHP `onClose`); the session is the last one. Return values are dropped. */
export function OnClientClose(): MethodDecorator {
  return MessagePattern<ClientEventPattern>({ gw: 'close' }, GATEWAY_TRANSPORT);
}

/**
 * Handles dead letters: client events the gateway gave up on after they were in flight at `maxEventDeaths` worker
 * deaths (GATEWAY_MAX_EVENT_DEATHS, default 3), because their handler (or something beside it) kept killing
 * workers. The handler receives a `DeadLetter` (worker/dead-letter.ts) as `@MessageBody()` (`@ClientId()` works too), at most once,
 * on one live worker that has such a handler; return values are dropped, errors logged. Record it, alert, keep the
 * body for a post-mortem; do not hand the body to the handler that died on it. One per worker app; a worker
 * without one announces none, and gateways send it no dead letters.
 */
export function OnDeadLetter(): MethodDecorator {
  return MessagePattern<ClientEventPattern>({ gw: 'dead-letter' }, GATEWAY_TRANSPORT);
}
