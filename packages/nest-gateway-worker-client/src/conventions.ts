/**
 * The messages and fields the server side gives a meaning of its own (README "Browser client"). The same names are
 * defined in the server package (`nest-gateway-worker`, protocol/client-conventions.ts); this library does not depend
 * on it at run time, and a unit spec (server-agreement.spec.ts) checks that both agree.
 */

/** The liveness ping: a text message the gateway answers itself with {@link CLIENT_PONG}. */
export const CLIENT_PING = '$ping';
/** The gateway's answer to {@link CLIENT_PING}. */
export const CLIENT_PONG = '$pong';

/** The field that makes a message a request, and that the reply envelope echoes. */
export const REQUEST_ID_FIELD = '$rid';
/** The reply envelope's field holding the handler's value (absent when it returned nothing). */
export const REPLY_DATA_FIELD = 'data';
/** The reply envelope's field holding the error message when the handler failed. */
export const REPLY_ERROR_FIELD = 'error';
/** The reply envelope's field holding the HTTP-like status of a failed handler (400: a failed validation). */
export const REPLY_STATUS_FIELD = 'statusCode';

/** The field of a pushed JSON message holding its resume offset (a string or a number). */
export const RESUME_OFFSET_FIELD = '$offset';
/** The query parameter the last offset is sent in when the client connects again (default). */
export const RESUME_QUERY_PARAM = 'resume';
/** The field of a pushed JSON message naming the history its `$offset` belongs to (e.g. `group:room1`). */
export const RESUME_STREAM_FIELD = '$stream';
/** The field of a pushed JSON message holding several streams' offsets at once, `{ "<stream>": "<offset>" }`. */
export const RESUME_OFFSETS_FIELD = '$offsets';
