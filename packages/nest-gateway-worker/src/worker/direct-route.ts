import type { ArgumentsHost } from '@nestjs/common';
import { catchError, isObservable, type Observable } from 'rxjs';
import type { GatewayContext } from './gateway.context';

/** Calls a handler method with its parameters resolved (built by HandlerFastPath). */
export type DirectCall = (body: unknown, ctx: GatewayContext) => unknown;

/** What a handler's exception filters do: an Observable that errors with the payload for the client. */
export interface RpcErrorFilter {
  catch(exception: unknown, host: ArgumentsHost): Observable<unknown>;
}

/**
 * A handler that needs none of Nest's RPC wrapper (no guard, interceptor, pipe, foreign parameter decorator or
 * exception filter other than the default ones; see HandlerFastPath): the EventRun calls its method directly, and
 * turns what it throws, rejects with or errors with into what the exception filter Nest would have run makes of
 * it (the same filter object's catch(), so the same payload and the same log line).
 */
export class DirectRoute {
  constructor(
    /** Controller and method, for logs ("ChatController.send"). */
    readonly name: string,
    readonly call: DirectCall,
    private readonly filter: RpcErrorFilter,
    /**
     * Whether {@link call} reads its context (a parameter is @Ctx(), @ClientId(), @Session() or @Handshake()); when
     * not, the caller may pass none (null) and save making it.
     */
    readonly usesContext = true,
  ) {}

  /**
   * The error payload the exception filter makes of `exception` (its Observable errors synchronously; Nest's
   * BaseRpcExceptionFilter and our GatewayExceptionFilter both use throwError).
   */
  failure(exception: unknown, body: unknown, ctx: GatewayContext): unknown {
    const out = this.filter.catch(exception, new DirectArgumentsHost(body, ctx));
    let payload: unknown = FILTER_GAVE_NOTHING;
    out.subscribe({ error: (e: unknown) => (payload = e) }).unsubscribe();
    return payload;
  }

  /** An Observable the handler returned, its error filtered as Nest's wrapper does (catchError → the filter). */
  filtered(value$: Observable<unknown>, body: unknown, ctx: GatewayContext): Observable<unknown> {
    return value$.pipe(
      catchError((e: unknown) => {
        const out = this.filter.catch(e, new DirectArgumentsHost(body, ctx));
        return isObservable(out) ? out : [];
      }),
    );
  }
}

/** What a filter that did not error yields (only a user's filter could; those never take the fast path). */
const FILTER_GAVE_NOTHING = { status: 'error', message: 'Internal server error' };

/** The ArgumentsHost an exception filter gets on the fast path: the handler's arguments, as Nest's rpc host. */
class DirectArgumentsHost implements ArgumentsHost {
  constructor(
    private readonly body: unknown,
    private readonly ctx: GatewayContext,
  ) {}

  getArgs<T extends unknown[] = unknown[]>(): T {
    return [this.body, this.ctx] as T;
  }

  getArgByIndex<T = unknown>(index: number): T {
    return this.getArgs()[index] as T;
  }

  switchToRpc(): ReturnType<ArgumentsHost['switchToRpc']> {
    return {
      getData: <T>() => this.body as T,
      getContext: <T>() => this.ctx as T,
    };
  }

  switchToHttp(): ReturnType<ArgumentsHost['switchToHttp']> {
    return {
      getRequest: <T>() => this.body as T,
      getResponse: <T>() => this.ctx as T,
      getNext: <T>() => undefined as T,
    };
  }

  switchToWs(): ReturnType<ArgumentsHost['switchToWs']> {
    return {
      getData: <T>() => this.ctx as T,
      getClient: <T>() => this.body as T,
      getPattern: () => '',
    };
  }

  getType<T extends string = string>(): T {
    return 'rpc' as T;
  }
}
