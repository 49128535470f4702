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

/** The client_id of the client the event is about (20 hex characters). */
export const ClientId = createParamDecorator((_: unknown, ctx: ExecutionContext) => contextOf(ctx).clientId);

/** The client's mutable session object; changes are written back to the gateway after the handler. */
export const Session = createParamDecorator((_: unknown, ctx: ExecutionContext) => contextOf(ctx).session);

/** The connection's handshake (remote address, headers, query), or one field of it: `@Handshake('query')`. */
export const Handshake = createParamDecorator((field: keyof ClientHandshake | undefined, ctx: ExecutionContext) => {
  const handshake = contextOf(ctx).handshake;
  return field ? handshake[field] : handshake;
});
