import {
  BadRequestException,
  GatewayTimeoutException,
  Injectable,
  ServiceUnavailableException,
  type CallHandler,
  type ExecutionContext,
  type HttpException,
  type NestInterceptor,
} from '@nestjs/common';
import { catchError, throwError, type Observable } from 'rxjs';
import {
  GatewayArgumentError,
  GatewayPartialFailureError,
  GatewayTimeoutError,
  GatewayUnavailableError,
  RegisterUnavailableError,
} from '../../client/gateway-errors';
import { InvalidClientIdError } from '../../protocol/client-id';
import { GatewayRequestError } from '../../protocol/gateway-request';

/**
 * GatewayClient errors as the dashboard's HTTP answers, whatever the app's own exception filters: a bad argument
 * is 400, a gateway that did not answer in time 504, an unreachable gateway or register 503. Their messages name
 * the gateway or argument, never message bodies or secrets. Other errors pass through unchanged.
 */
@Injectable()
export class DashboardErrorsInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(catchError((err: unknown) => throwError(() => dashboardHttpError(err) ?? err)));
  }
}

/** The HTTP exception a GatewayClient error maps to, or null for any other error. */
export function dashboardHttpError(err: unknown): HttpException | null {
  if (err instanceof InvalidClientIdError || err instanceof GatewayArgumentError || err instanceof GatewayRequestError)
    return new BadRequestException(err.message);
  if (err instanceof GatewayTimeoutError) return new GatewayTimeoutException(err.message);
  if (
    err instanceof GatewayUnavailableError ||
    err instanceof GatewayPartialFailureError ||
    err instanceof RegisterUnavailableError
  )
    return new ServiceUnavailableException(err.message);
  return null;
}
