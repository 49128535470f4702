import { Catch, HttpException, Logger, type ArgumentsHost } from '@nestjs/common';
import { BaseRpcExceptionFilter, RpcException } from '@nestjs/microservices';
import { throwError, type Observable } from 'rxjs';

/**
 * Turns exceptions thrown in client event handlers into messages the client can read. Without it Nest's
 * RPC layer reports every HttpException (a failed ValidationPipe included) as "Internal server error".
 *  - HttpException (e.g. BadRequestException from ValidationPipe): its message(s), e.g. "text must be a string";
 *  - RpcException, or any exception with a `getError()` (such as @nestjs/websockets' WsException, which this
 *    package does not depend on): their error;
 *  - anything else: "Internal server error", logged with its stack (never sent to the client).
 * Register it on the worker app: `app.useGlobalFilters(new GatewayExceptionFilter())`.
 */
@Catch()
export class GatewayExceptionFilter extends BaseRpcExceptionFilter {
  private readonly logger = new Logger('GatewayExceptionFilter');

  override catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    if (exception instanceof HttpException) {
      const response = exception.getResponse();
      const message =
        typeof response === 'string' ? response : ((response as { message?: unknown }).message ?? exception.message);
      return throwError(() => ({ status: 'error', statusCode: exception.getStatus(), message }));
    }
    if (exception instanceof RpcException || hasGetError(exception)) {
      const error = exception.getError();
      return throwError(() =>
        typeof error === 'object' && error !== null ? error : { status: 'error', message: error },
      );
    }
    this.logger.error(
      `client handler failed: ${(exception as Error)?.message ?? String(exception)}`,
      (exception as Error)?.stack,
    );
    void host;
    return throwError(() => ({ status: 'error', message: 'Internal server error' }));
  }
}

/** An RpcException-like error (WsException has the same shape) without importing the package that defines it. */
function hasGetError(exception: unknown): exception is { getError(): unknown } {
  return exception instanceof Error && typeof (exception as { getError?: unknown }).getError === 'function';
}
