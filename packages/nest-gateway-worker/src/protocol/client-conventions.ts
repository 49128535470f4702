/**
 * The few client messages and fields the server side gives a meaning of its own (README "Browser client"). The
 * browser/Node client library `nest-gateway-worker-client` defines the same names without depending on this
 * package; a unit spec there checks that both agree. Clients that never send them see no difference.
 *
 * - Liveness: a text message that is exactly {@link CLIENT_PING} is answered by the gateway itself with the text
 *   {@link CLIENT_PONG}; it reaches no worker. A browser cannot see WebSocket pings, so this is how it tells a live
 *   gateway from a dead link.
 * - Request/response: a JSON message routed by its `type` that carries {@link REQUEST_ID_FIELD} is a request; the
 *   worker removes the field before the handler sees the message and answers with one reply envelope:
 *   `{"$rid": id, "data": value}` (the handler's first value; no `data` when it returned nothing) or
 *   `{"$rid": id, "error": message, "statusCode"?: n}` (what GatewayExceptionFilter made of the exception).
 * - Resume: a pushed JSON message may carry {@link RESUME_OFFSET_FIELD} (and {@link RESUME_STREAM_FIELD}: which
 *   history it belongs to), or a map of them in {@link RESUME_OFFSETS_FIELD}; the client library keeps the last offset
 *   and the last one of each stream and sends them in the query of its next connection (`resume=<last>` and
 *   `resume.<stream>=<offset>`), where the worker's connect handler reads them from the handshake.
 */

/** The liveness ping a client sends (text frame, exactly these bytes). */
export const CLIENT_PING = '$ping';
/** The gateway's answer to {@link CLIENT_PING}. */
export const CLIENT_PONG = '$pong';

/** The field of a client message that makes it a request, and of the reply envelope that answers it. */
export const REQUEST_ID_FIELD = '$rid';
/** The reply envelope's field holding the handler's value. */
export const REPLY_DATA_FIELD = 'data';
/** The reply envelope's field holding the error message when the handler failed. */
export const REPLY_ERROR_FIELD = 'error';
/** The reply envelope's field holding the HTTP-like status of a failed handler (400 for a failed validation). */
export const REPLY_STATUS_FIELD = 'statusCode';
/** A request id is a number, or a string of at most this many characters. */
export const MAX_REQUEST_ID_LENGTH = 64;

/** The field of a pushed JSON message holding its resume offset (a string or a number). */
export const RESUME_OFFSET_FIELD = '$offset';
/** The query parameter the client library sends the last offset in when it connects again. */
export const RESUME_QUERY_PARAM = 'resume';
/**
 * The field of a pushed JSON message naming the history its `$offset` belongs to: `uid:<uid>` or `group:<group>`
 * (a history send sets it). The client library keeps one offset per stream and sends each back as
 * `resume.<stream>=<offset>`.
 */
export const RESUME_STREAM_FIELD = '$stream';
/** The field of a pushed JSON message holding several streams' offsets at once, `{ "<stream>": "<offset>" }`. */
export const RESUME_OFFSETS_FIELD = '$offsets';
