/** Errors the client's promises reject with; each has its own `name` for `catch` blocks that test it. */

/** The worker's handler failed: `message` is what its exception filter made of it (e.g. a failed validation). */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    message: string,
    /** The HTTP-like status the worker gave (400 for a failed validation), when it gave one. */
    readonly statusCode: number | undefined,
    /** The type of the request. */
    readonly type: string,
  ) {
    super(message);
  }
}

/** No reply within the request's timeout (the request may still be handled: the reply is then dropped). */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
  constructor(
    readonly type: string,
    readonly timeoutMs: number,
  ) {
    super(`no reply to "${type}" within ${timeoutMs} ms`);
  }
}

/** A request or send needs an open connection, and there is none now (connecting, reconnecting or closed). */
export class NotConnectedError extends Error {
  override readonly name = 'NotConnectedError';
  constructor(readonly state: string) {
    super(`not connected (${state})`);
  }
}

/**
 * The connection ended (with this close code and reason) before a request was answered, or before `connect()`
 * opened one; a request may or may not have been handled.
 */
export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`connection closed (${code}${reason ? ` ${reason}` : ''})`);
  }
}
