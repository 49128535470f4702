import {
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  type ArgumentsHost,
  type CallHandler,
  type ExceptionFilter,
  type ExecutionContext,
  type PipeTransform,
} from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import { GATEWAY_TRANSPORT } from './client-event.decorators';
import { clientIdFactory, ClientId } from './client-param.decorators';

/**
 * The reflect-metadata keys under which Nest's public decorators store what the handler fast path
 * (handler-fast-path.ts) must know about a handler: its enhancers, its parameters and its pattern. Nest keeps them
 * in deep-import constants (not exported from the packages' entries, which Nest 12 restricts); their values are
 * facts of Nest 11 and 12, and {@link nestMetadataKeysHold} checks them once against the decorators themselves.
 */
export const NEST_METADATA = {
  guards: '__guards__',
  interceptors: '__interceptors__',
  pipes: '__pipes__',
  filters: '__exceptionFilters__',
  /** Parameter decorators of a method: on the class, with the method name as property key. */
  routeArgs: '__routeArguments__',
  /** Part of the key of a createParamDecorator() parameter ("<id>__customRouteArgs__:<index>"). */
  customArg: '__customRouteArgs__',
  pattern: 'microservices:pattern',
  transport: 'microservices:transport',
  handlerType: 'microservices:handler_type',
} as const;

/** Values of `microservices:handler_type` (Nest's PatternHandler). */
export const MESSAGE_HANDLER_TYPE = 1;
/** The parameter types of `@Payload()` and `@Ctx()` in route-args keys ("<type>:<index>"; Nest's RpcParamtype). */
export const PAYLOAD_PARAM = 3;
export const CONTEXT_PARAM = 6;

/** One entry of a method's route-args metadata, as Nest's parameter decorators write it. */
export interface RouteArgEntry {
  index: number;
  data?: unknown;
  pipes?: unknown[];
  factory?: unknown;
}

class ProbeGuard {
  canActivate(_: ExecutionContext): boolean {
    return true;
  }
}
class ProbeInterceptor {
  intercept(_: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}
class ProbePipe implements PipeTransform {
  transform(value: unknown): unknown {
    return value;
  }
}
class ProbeFilter implements ExceptionFilter {
  catch(_: unknown, __: ArgumentsHost): void {}
}

/** A class decorated the way handlers are, to read back where the decorators put things. */
@UseGuards(ProbeGuard)
@UseInterceptors(ProbeInterceptor)
@UsePipes(ProbePipe)
@UseFilters(ProbeFilter)
class ProbeController {
  @UseGuards(ProbeGuard)
  @UseInterceptors(ProbeInterceptor)
  @UsePipes(ProbePipe)
  @UseFilters(ProbeFilter)
  @MessagePattern({ gw: 'probe' }, GATEWAY_TRANSPORT)
  message(@Payload() _body: unknown, @Ctx() _ctx: unknown, @ClientId() _id: string): void {}

  @EventPattern({ gw: 'probe' }, GATEWAY_TRANSPORT)
  event(): void {}
}

let checked: boolean | undefined;

/**
 * Whether {@link NEST_METADATA} matches what the installed Nest's decorators write (checked once). When it does not
 * (a Nest that stores them elsewhere), the fast path cannot tell what applies to a handler and is not taken.
 */
export function nestMetadataKeysHold(): boolean {
  checked ??= probe();
  return checked;
}

function probe(): boolean {
  const proto = ProbeController.prototype;
  const method = proto.message;
  const only = (v: unknown, t: unknown): boolean => Array.isArray(v) && v.length === 1 && v[0] === t;
  const enhancers =
    only(Reflect.getMetadata(NEST_METADATA.guards, method), ProbeGuard) &&
    only(Reflect.getMetadata(NEST_METADATA.guards, ProbeController), ProbeGuard) &&
    only(Reflect.getMetadata(NEST_METADATA.interceptors, method), ProbeInterceptor) &&
    only(Reflect.getMetadata(NEST_METADATA.interceptors, ProbeController), ProbeInterceptor) &&
    only(Reflect.getMetadata(NEST_METADATA.pipes, method), ProbePipe) &&
    only(Reflect.getMetadata(NEST_METADATA.pipes, ProbeController), ProbePipe) &&
    only(Reflect.getMetadata(NEST_METADATA.filters, method), ProbeFilter) &&
    only(Reflect.getMetadata(NEST_METADATA.filters, ProbeController), ProbeFilter);
  const patterns: unknown = Reflect.getMetadata(NEST_METADATA.pattern, method);
  const pattern =
    Array.isArray(patterns) &&
    patterns.length === 1 &&
    (patterns[0] as { gw?: unknown }).gw === 'probe' &&
    Reflect.getMetadata(NEST_METADATA.transport, method) === GATEWAY_TRANSPORT &&
    Reflect.getMetadata(NEST_METADATA.handlerType, method) === MESSAGE_HANDLER_TYPE &&
    Reflect.getMetadata(NEST_METADATA.handlerType, proto.event) !== MESSAGE_HANDLER_TYPE;
  const args = Reflect.getMetadata(NEST_METADATA.routeArgs, ProbeController, 'message') as
    Record<string, RouteArgEntry> | undefined;
  const custom = Object.entries(args ?? {}).filter(([k]) => k.includes(NEST_METADATA.customArg));
  const params =
    args !== undefined &&
    Object.keys(args).length === 3 &&
    args[`${PAYLOAD_PARAM}:0`]?.index === 0 &&
    args[`${CONTEXT_PARAM}:1`]?.index === 1 &&
    custom.length === 1 &&
    custom[0][1].index === 2 &&
    custom[0][1].factory === clientIdFactory;
  return enhancers && pattern && params;
}
