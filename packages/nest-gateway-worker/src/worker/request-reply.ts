import {
  MAX_REQUEST_ID_LENGTH,
  REPLY_DATA_FIELD,
  REPLY_ERROR_FIELD,
  REPLY_STATUS_FIELD,
  REQUEST_ID_FIELD,
} from '../protocol/client-conventions';

/**
 * Request/response on the worker side (README "Browser client"): a client message routed by its `type` that
 * carries `$rid` is a request. The id is taken out of the message before pipes and the handler see it (so
 * `forbidNonWhitelisted` DTOs keep working), and the handler's result goes back wrapped in a reply envelope that
 * echoes it. Messages without the field are untouched: clients that send no ids see no difference, and the gateway
 * never looks inside a message for any of this.
 */

/** A request id as a client sends it: a number, or a short string. */
export type RequestId = number | string;

function isRequestId(value: unknown): value is RequestId {
  return (
    (typeof value === 'number' && Number.isFinite(value)) ||
    (typeof value === 'string' && value.length <= MAX_REQUEST_ID_LENGTH)
  );
}

/**
 * The request id of a parsed client message, removed from it; undefined when it has none (or one that is not a
 * number or a string of at most 64 characters, which is then left in place as an ordinary field).
 */
export function takeRequestId(message: object): RequestId | undefined {
  const id = (message as Record<string, unknown>)[REQUEST_ID_FIELD];
  if (id === undefined || !isRequestId(id)) return undefined;
  delete (message as Record<string, unknown>)[REQUEST_ID_FIELD];
  return id;
}

/** `{"$rid": id, "data": value}`; without `data` when the handler returned nothing. */
export function replyEnvelope(id: RequestId, value: unknown): Record<string, unknown> {
  return value === undefined ? { [REQUEST_ID_FIELD]: id } : { [REQUEST_ID_FIELD]: id, [REPLY_DATA_FIELD]: value };
}

/** `{"$rid": id, "error": message, "statusCode"?: status}`. */
export function errorEnvelope(id: RequestId, message: string, statusCode?: number): Record<string, unknown> {
  const envelope: Record<string, unknown> = { [REQUEST_ID_FIELD]: id, [REPLY_ERROR_FIELD]: message };
  if (statusCode !== undefined) envelope[REPLY_STATUS_FIELD] = statusCode;
  return envelope;
}
