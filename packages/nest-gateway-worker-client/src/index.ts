/**
 * nest-gateway-worker-client: the browser and Node client of nest-gateway-worker gateways. See the README's
 * "Browser client".
 */
export { GatewayWorkerClient, DEFAULT_CONNECT_TIMEOUT_MS } from './gateway-worker-client.js';
export type {
  ClientHooks,
  ClientState,
  GatewayWorkerClientOptions,
  ReconnectOptions,
} from './gateway-worker-client.js';
export { CloseCode, RECONNECTABLE_CLOSE_CODES, isReconnectable, isRejection } from './close-codes.js';
export type { CloseCodeName } from './close-codes.js';
export { ReconnectBackoff, DEFAULT_INITIAL_DELAY_MS, DEFAULT_MAX_DELAY_MS } from './reconnect-backoff.js';
export type { BackoffOptions } from './reconnect-backoff.js';
export { LivenessWatch, DEFAULT_LIVENESS_INTERVAL_MS, DEFAULT_LIVENESS_TIMEOUT_MS } from './liveness.js';
export type { LivenessOptions } from './liveness.js';
export { DEFAULT_REQUEST_TIMEOUT_MS } from './pending-requests.js';
export { ConnectionClosedError, NotConnectedError, RequestError, RequestTimeoutError } from './errors.js';
export type { ResumeOffset, ResumeOptions } from './resume.js';
export {
  CLIENT_PING,
  CLIENT_PONG,
  REQUEST_ID_FIELD,
  REPLY_DATA_FIELD,
  REPLY_ERROR_FIELD,
  REPLY_STATUS_FIELD,
  RESUME_OFFSET_FIELD,
  RESUME_OFFSETS_FIELD,
  RESUME_QUERY_PARAM,
  RESUME_STREAM_FIELD,
} from './conventions.js';
export type {
  ClientSchema,
  JsonObject,
  UntypedMessage,
  ReceivedType,
  ReceivedMessage,
  SentMessage,
  RequestType,
  RequestMessage,
  ResponseOf,
} from './schema.js';
export type { WebSocketLike, WebSocketConstructor } from './websocket.js';
