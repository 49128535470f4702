import { MessagePattern } from '@nestjs/microservices';

/** Transport id of the gateway worker transport: these decorators bind handlers to it alone. */
export const GATEWAY_TRANSPORT = Symbol('GatewayWorkerTransport');

/** Route patterns; also how the transport finds handlers in getHandlers(). */
export interface ClientEventPattern {
  gw: 'connect' | 'message' | 'close';
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
