import { RpcException } from '@nestjs/microservices';
import { DEFAULT_REJECT_CODE, isSendableCloseCode } from '../protocol/close-reason';

/** How a rejected client's connection is closed: WebSocket close code and reason. */
export interface ConnectionRejection {
  code: number;
  reason: string;
}

/** The error payload of a {@link ConnectionRejectedException} (what exception filters pass on). */
interface RejectionError {
  status: 'error';
  message: string;
  closeCode: number;
}

/**
 * Thrown by a client event handler (usually `@OnClientConnect()`) to reject the client's connection with a given
 * WebSocket close code (default 4403) and reason: `throw new ConnectionRejectedException('bad token', 4401)`.
 * The client's later events reach no handler. Any other exception thrown by a connect handler rejects too (see
 * {@link connectionRejection}); this one picks the exact code.
 */
export class ConnectionRejectedException extends RpcException {
  constructor(reason = 'Forbidden', code = DEFAULT_REJECT_CODE) {
    if (!isSendableCloseCode(code)) {
      throw new RangeError(
        `ConnectionRejectedException: ${code} is not a close code an application may send (1000, 1001, 1008, 1011, 1013, 3000-4999)`,
      );
    }
    super({ status: 'error', message: reason, closeCode: code } satisfies RejectionError);
  }
}

/**
 * The close code and reason for an error that came out of a connect handler, after Nest's exception filters:
 *  - ConnectionRejectedException: its code and reason;
 *  - an HttpException turned into `{statusCode, message}` by GatewayExceptionFilter (a guard returning false
 *    gives ForbiddenException): 4000 + the HTTP status (UnauthorizedException → 4401, ForbiddenException → 4403,
 *    a 500 → 4500) and its message;
 *  - anything else: 4403 and the filtered message ("Internal server error" for unexpected errors, never their text).
 */
export function connectionRejection(err: unknown): ConnectionRejection {
  const e = (typeof err === 'object' && err !== null ? err : { message: err }) as {
    closeCode?: unknown;
    statusCode?: unknown;
    message?: unknown;
  };
  const m = e.message;
  const reason = Array.isArray(m) ? m.join('; ') : typeof m === 'string' ? m : 'Forbidden';
  if (isSendableCloseCode(e.closeCode)) return { code: e.closeCode, reason };
  const status = e.statusCode;
  if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599)
    return { code: 4000 + status, reason };
  return { code: DEFAULT_REJECT_CODE, reason };
}
