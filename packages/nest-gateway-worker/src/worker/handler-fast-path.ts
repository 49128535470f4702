import { Logger, Scope } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR, APP_PIPE, MetadataScanner } from '@nestjs/core';
import { BaseRpcExceptionFilter } from '@nestjs/microservices';
import type { ClientEventPattern } from './client-event.decorators';
import { GATEWAY_TRANSPORT } from './client-event.decorators';
import { clientIdFactory, handshakeFactory, sessionFactory } from './client-param.decorators';
import { DirectRoute, type DirectCall, type RpcErrorFilter } from './direct-route';
import { GatewayExceptionFilter } from './gateway-exception.filter';
import type { GatewayContext } from './gateway.context';
import {
  CONTEXT_PARAM,
  MESSAGE_HANDLER_TYPE,
  NEST_METADATA,
  nestMetadataKeysHold,
  PAYLOAD_PARAM,
  type RouteArgEntry,
} from './nest-handler-metadata';

/** A controller as Nest's container holds it (an InstanceWrapper; only what the fast path reads). */
export interface NestControllerWrapper {
  instance: unknown;
  scope?: unknown;
  isDependencyTreeStatic?(): boolean;
}

/** A module of Nest's container (ModulesContainer's values; only what the fast path reads). */
export interface NestModuleLike {
  controllers: Map<unknown, NestControllerWrapper>;
  providers: Map<unknown, unknown>;
}

/** The global enhancers Nest hands every handler (ApplicationConfig; only what the fast path reads). */
export interface NestGlobalsLike {
  getGlobalFilters(): unknown[];
  getGlobalPipes(): unknown[];
  getGlobalInterceptors(): unknown[];
  getGlobalGuards(): unknown[];
  getGlobalRequestFilters(): unknown[];
  getGlobalRequestPipes(): unknown[];
  getGlobalRequestInterceptors(): unknown[];
  getGlobalRequestGuards(): unknown[];
}

/**
 * What the transport needs from the Nest app to find its handlers' methods: the app's ModulesContainer and
 * ApplicationConfig (GatewayModule.forWorker injects both).
 */
export interface NestHandlerSources {
  modules: Iterable<NestModuleLike>;
  config: NestGlobalsLike;
  /**
   * Whether the app is a hybrid one (an HTTP app with connectMicroservice()): its microservices may have their own
   * ApplicationConfig (without `inheritAppConfig`), so global filters seen on `config` may not be theirs.
   */
  hybrid(): boolean;
}

/** Why a route stays on Nest's wrapper, or DIRECT. */
export const DIRECT = 'direct';

/** A controller method bound to a client event pattern. */
interface Candidate {
  wrapper: NestControllerWrapper;
  instance: object;
  methodName: string;
  method: (...args: unknown[]) => unknown;
}

/** Global enhancers seen on the app while Nest registered the handlers (see {@link HandlerFastPath.registered}). */
interface GlobalsSeen {
  /** What makes every handler go through Nest's wrapper (e.g. "global guards"), or null when nothing does. */
  blocker: string | null;
  filters: unknown[];
}

/**
 * Decides, per client event handler, whether Nest's RPC wrapper (RpcContextCreator: guards, interceptors, pipes,
 * parameter resolution, exception filters; several promises per call) has anything to do, and when it has not
 * builds a {@link DirectRoute} that calls the method directly. Anything that needs the wrapper keeps it:
 *  - guards, interceptors or pipes at method, controller or global level (useGlobal*() on the app that registers
 *    the handlers, APP_GUARD / APP_INTERCEPTOR / APP_PIPE / APP_FILTER providers, request-scoped ones included);
 *  - exception filters other than the default (Nest's BaseRpcExceptionFilter) and GatewayExceptionFilter;
 *  - a parameter decorator other than @MessageBody()/@Payload() (without pipes), @Ctx(), @ClientId(),
 *    @Session() and @Handshake() (without pipes);
 *  - a controller that is not a plain singleton (request-scoped or transient, or depending on such a provider);
 *  - a pattern served by several methods, an event handler (@EventPattern), a method not found;
 *  - a Nest whose decorators store their metadata elsewhere than this file expects (nestMetadataKeysHold).
 * Global enhancers are read when Nest registers the handlers (the proxies it builds capture them then): the
 * transport calls {@link registered} from its addHandler().
 */
export class HandlerFastPath {
  private readonly log = new Logger('Worker');
  private readonly candidates = new Map<string, Candidate[]>();
  private globals: GlobalsSeen = { blocker: null, filters: [] };
  private readonly unavailable: string | null;
  private scanned = false;

  constructor(private readonly sources: NestHandlerSources | null) {
    this.unavailable = !sources
      ? 'the transport was not built by GatewayModule (no Nest container to read handlers from)'
      : !nestMetadataKeysHold()
        ? "this Nest version's decorator metadata is not where the fast path looks"
        : null;
  }

  /** Nest registers a handler on the transport: note the global enhancers its proxy captured. */
  registered(): void {
    if (this.unavailable || !this.sources) return;
    const seen = globalsOf(this.sources);
    this.globals = {
      blocker: this.globals.blocker ?? seen.blocker,
      filters: [...new Set([...this.globals.filters, ...seen.filters])],
    };
  }

  /** The DirectRoute for a client event pattern, or why it stays on Nest's wrapper (a reason, never DIRECT). */
  route(pattern: ClientEventPattern): DirectRoute | string {
    if (this.unavailable) return this.unavailable;
    if (!this.scanned) this.scan();
    if (this.globals.blocker) return this.globals.blocker;
    const found = this.candidates.get(patternKey(pattern)) ?? [];
    if (found.length !== 1) return found.length === 0 ? 'its method was not found' : 'several methods serve it';
    return directRoute(found[0], this.globals.filters);
  }

  /** Finds every controller method with a client event pattern of this transport. */
  private scan(): void {
    this.scanned = true;
    const scanner = new MetadataScanner();
    for (const module of this.sources!.modules) {
      for (const key of module.providers.keys()) {
        const blocker = appEnhancerProvider(key);
        if (blocker) this.globals = { ...this.globals, blocker: this.globals.blocker ?? blocker };
      }
      for (const wrapper of module.controllers.values()) {
        const instance = wrapper.instance;
        if (typeof instance !== 'object' || instance === null) continue;
        const proto = Object.getPrototypeOf(instance) as Record<string, unknown>;
        for (const methodName of scanner.getAllMethodNames(proto)) {
          const method = proto[methodName];
          if (typeof method !== 'function') continue;
          const patterns: unknown = Reflect.getMetadata(NEST_METADATA.pattern, method);
          if (!Array.isArray(patterns)) continue;
          const transport: unknown = Reflect.getMetadata(NEST_METADATA.transport, method);
          if (transport !== undefined && transport !== GATEWAY_TRANSPORT) continue;
          for (const p of patterns) {
            const key = patternKey(p as ClientEventPattern);
            const list = this.candidates.get(key) ?? [];
            list.push({ wrapper, instance, methodName, method: method as Candidate['method'] });
            this.candidates.set(key, list);
          }
        }
      }
    }
    this.log.debug(`fast path: ${this.candidates.size} client event pattern(s) found on controllers`);
  }
}

/** A key equal for equal client event patterns (Nest's route strings may order fields differently). */
function patternKey(p: ClientEventPattern | null | undefined): string {
  if (typeof p !== 'object' || p === null) return JSON.stringify(p);
  return JSON.stringify([p.gw, p.type, Object.keys(p).length]);
}

/**
 * An APP_GUARD / APP_INTERCEPTOR / APP_PIPE provider token ("APP_GUARD (UUID: …)"), named. APP_FILTER providers are
 * not listed: their instances show among the global filters, where a GatewayExceptionFilter keeps the fast path.
 */
function appEnhancerProvider(token: unknown): string | null {
  if (typeof token !== 'string') return null;
  if (token.startsWith(APP_GUARD)) return 'an APP_GUARD provider';
  if (token.startsWith(APP_INTERCEPTOR)) return 'an APP_INTERCEPTOR provider';
  if (token.startsWith(APP_PIPE)) return 'an APP_PIPE provider';
  return null;
}

function globalsOf(sources: NestHandlerSources): GlobalsSeen {
  const c = sources.config;
  try {
    if (c.getGlobalGuards().length > 0 || c.getGlobalRequestGuards().length > 0) return blocked('global guards');
    if (c.getGlobalInterceptors().length > 0 || c.getGlobalRequestInterceptors().length > 0)
      return blocked('global interceptors');
    if (c.getGlobalPipes().length > 0 || c.getGlobalRequestPipes().length > 0) return blocked('global pipes');
    if (c.getGlobalRequestFilters().length > 0) return blocked('request-scoped global exception filters');
    const filters = [...c.getGlobalFilters()];
    // A hybrid app's microservice may not have the app's filters: which one Nest applies is unknown.
    if (filters.length > 0 && sources.hybrid()) return blocked('global exception filters of a hybrid app');
    return { blocker: null, filters };
  } catch {
    return blocked("the app's global enhancers could not be read");
  }
}

function blocked(why: string): GlobalsSeen {
  return { blocker: why, filters: [] };
}

/** The DirectRoute of a handler method, or why it stays on Nest's wrapper. */
function directRoute(c: Candidate, globalFilters: unknown[]): DirectRoute | string {
  const cls = (c.instance as { constructor: object }).constructor;
  const name = `${(cls as { name?: string }).name ?? 'controller'}.${c.methodName}`;
  const scope = c.wrapper.scope;
  if ((scope !== undefined && scope !== Scope.DEFAULT) || c.wrapper.isDependencyTreeStatic?.() !== true)
    return `${name}: request-scoped or transient controller`;
  if (Reflect.getMetadata(NEST_METADATA.handlerType, c.method) !== MESSAGE_HANDLER_TYPE)
    return `${name}: not a message handler`;
  for (const [key, what] of [
    [NEST_METADATA.guards, 'guards'],
    [NEST_METADATA.interceptors, 'interceptors'],
    [NEST_METADATA.pipes, 'pipes'],
  ] as const) {
    if (bound(Reflect.getMetadata(key, c.method)) || bound(Reflect.getMetadata(key, cls))) return `${name}: ${what}`;
  }
  const filters = [
    ...listOf(Reflect.getMetadata(NEST_METADATA.filters, c.method)),
    ...listOf(Reflect.getMetadata(NEST_METADATA.filters, cls)),
    ...globalFilters,
  ];
  if (!filters.every(isGatewayExceptionFilter)) return `${name}: exception filters`;
  const filter: RpcErrorFilter = filters.length > 0 ? GATEWAY_FILTER : BASE_FILTER;
  const call = directCall(c, name);
  return typeof call === 'string' ? call : new DirectRoute(name, call.call, filter, call.usesContext);
}

/** Nest's default rpc filter (what its RpcExceptionsHandler falls back to), and ours: one object each, stateless. */
const BASE_FILTER: RpcErrorFilter = new BaseRpcExceptionFilter();
const GATEWAY_FILTER: RpcErrorFilter = new GatewayExceptionFilter();

function bound(v: unknown): boolean {
  return v !== undefined && v !== null && (!Array.isArray(v) || v.length > 0);
}

function listOf(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** GatewayExceptionFilter itself (class or instance), not a subclass: its behaviour is known. */
function isGatewayExceptionFilter(f: unknown): boolean {
  return (
    f === GatewayExceptionFilter ||
    (typeof f === 'object' && f !== null && Object.getPrototypeOf(f) === GatewayExceptionFilter.prototype)
  );
}

/** A parameter's value from the event (the body and the GatewayContext). */
type ArgSource = (body: unknown, ctx: GatewayContext) => unknown;

const bodyArg: ArgSource = (body) => body;
const noArg: ArgSource = () => undefined;
/** The sources that read only the body (a call made of them never reads its context). */
const bodyOnly = new WeakSet<ArgSource>([bodyArg, noArg]);
const ctxArg: ArgSource = (_, ctx) => ctx;
const clientIdArg: ArgSource = (_, ctx) => ctx.clientId;
const sessionArg: ArgSource = (_, ctx) => ctx.session;
const handshakeArg: ArgSource = (_, ctx) => ctx.handshake;

/**
 * The method called with its parameters resolved as Nest's RpcContextCreator would (without pipes): parameters
 * with no decorator are undefined, a method without any parameter decorator gets the body alone.
 */
function directCall(c: Candidate, name: string): { call: DirectCall; usesContext: boolean } | string {
  const meta = Reflect.getMetadata(NEST_METADATA.routeArgs, c.instance.constructor, c.methodName) as
    Record<string, RouteArgEntry> | undefined;
  const entries = meta && Object.keys(meta).length > 0 ? meta : { [`${PAYLOAD_PARAM}:0`]: { index: 0 } };
  const sources: ArgSource[] = [];
  for (const [key, entry] of Object.entries(entries)) {
    if (bound(entry.pipes)) return `${name}: parameter pipes`;
    const source = argSource(key, entry);
    if (!source) return `${name}: a parameter decorator the fast path does not resolve`;
    if (!Number.isInteger(entry.index) || entry.index < 0 || sources[entry.index]) return `${name}: parameters`;
    sources[entry.index] = source;
  }
  for (let i = 0; i < sources.length; i++) sources[i] ??= noArg;
  return { call: callOf(c, sources), usesContext: !sources.every((s) => bodyOnly.has(s)) };
}

function callOf(c: Candidate, sources: ArgSource[]): DirectCall {
  const { instance, method } = c;
  const n = sources.length;
  if (n === 1) {
    const s0 = sources[0];
    if (s0 === bodyArg) return (body) => method.call(instance, body);
    return (body, ctx) => method.call(instance, s0(body, ctx));
  }
  if (n === 2) {
    const [s0, s1] = sources;
    return (body, ctx) => method.call(instance, s0(body, ctx), s1(body, ctx));
  }
  if (n === 3) {
    const [s0, s1, s2] = sources;
    return (body, ctx) => method.call(instance, s0(body, ctx), s1(body, ctx), s2(body, ctx));
  }
  return (body, ctx) => {
    const args = new Array<unknown>(n);
    for (let i = 0; i < n; i++) args[i] = sources[i](body, ctx);
    return method.apply(instance, args);
  };
}

function argSource(key: string, entry: RouteArgEntry): ArgSource | null {
  const data = entry.data;
  if (key.includes(NEST_METADATA.customArg)) {
    if (entry.factory === clientIdFactory) return clientIdArg;
    if (entry.factory === sessionFactory) return sessionArg;
    if (entry.factory === handshakeFactory) {
      if (!data) return handshakeArg;
      return (_, ctx) => ctx.handshake[data as keyof GatewayContext['handshake']];
    }
    return null;
  }
  const type = Number(key.slice(0, key.indexOf(':')));
  if (type === PAYLOAD_PARAM) {
    if (!data) return bodyArg;
    const field: ArgSource = (body) => (body as Record<string, unknown> | null | undefined)?.[data as string];
    bodyOnly.add(field);
    return field;
  }
  if (type === CONTEXT_PARAM) return ctxArg;
  return null;
}
