import { createParamDecorator, type ExecutionContext, type PipeTransform, type Type } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { ClientHandshake } from '../protocol/client-handshake';
import { GatewayContext } from './gateway.context';

function contextOf(ctx: ExecutionContext): GatewayContext {
  const rpc = ctx.switchToRpc().getContext<unknown>();
  if (!(rpc instanceof GatewayContext)) {
    throw new Error('gateway parameter decorators work only in @OnClient…() handlers of the gateway worker transport');
  }
  return rpc;
}

/** The message body (parsed object, text or Buffer). Pipes apply: use a class-validator DTO as its type. */
export function MessageBody(...pipes: (Type<PipeTransform> | PipeTransform)[]): ParameterDecorator {
  return Payload(...pipes);
}

// The factories are named so that the handler fast path (handler-fast-path.ts) recognises our decorators in a
// handler's parameter metadata and resolves them itself, from the same GatewayContext.
export const clientIdFactory = (_: unknown, ctx: ExecutionContext): string => contextOf(ctx).clientId;
export const sessionFactory = (_: unknown, ctx: ExecutionContext): Record<string, unknown> => contextOf(ctx).session;
export const handshakeFactory = (field: keyof ClientHandshake | undefined, ctx: ExecutionContext): unknown => {
  const handshake = contextOf(ctx).handshake;
  return field ? handshake[field] : handshake;
};

/** The client_id of the client the event is about (20 hex characters). */
export const ClientId = createParamDecorator(clientIdFactory);

/** The client's mutable session object; changes are written back to the gateway after the handler. */
export const Session = createParamDecorator(sessionFactory);

/** The connection's handshake (remote address, headers, query), or one field of it: `@Handshake('query')`. */
export const Handshake = createParamDecorator(handshakeFactory);
