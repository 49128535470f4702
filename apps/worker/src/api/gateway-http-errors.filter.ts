import {
  GatewayArgumentError,
  GatewayPartialFailureError,
  GatewayRequestError,
  GatewayUnavailableError,
  InvalidClientIdError,
} from 'nest-gateway-worker';
import { Catch, HttpStatus, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';

/** The part of the platform's response object used here (express and fastify both have it). */
interface JsonResponse {
  status(code: number): { json(body: unknown): void };
}

/**
 * GatewayClient errors as HTTP answers: bad arguments are the caller's fault (400), an unreachable gateway is
 * a temporary server-side condition (503). Messages name the gateway or argument, never bodies or secrets.
 */
@Catch(
  InvalidClientIdError,
  GatewayArgumentError,
  GatewayRequestError,
  GatewayUnavailableError,
  GatewayPartialFailureError,
)
export class GatewayHttpErrorsFilter implements ExceptionFilter {
  catch(err: Error, host: ArgumentsHost): void {
    const status =
      err instanceof GatewayUnavailableError || err instanceof GatewayPartialFailureError
        ? HttpStatus.SERVICE_UNAVAILABLE
        : HttpStatus.BAD_REQUEST;
    host
      .switchToHttp()
      .getResponse<JsonResponse>()
      .status(status)
      .json({ statusCode: status, error: err.name, message: err.message });
  }
}
