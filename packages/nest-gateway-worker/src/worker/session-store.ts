/**
 * Session persistence (go-mqant's StorageHandler): where a worker keeps the session of each uid so that a user's
 * session survives a reconnect, to this gateway or another one. Implement it over Redis, a database or anything
 * else; the library ships {@link InMemorySessionStore} (one process, for tests and single-worker setups).
 *
 * What the worker does with it (nothing at all when no store is configured):
 *  - load: when a uid is bound through the worker's GatewayClient (`bindUid`, in a handler or anywhere in the
 *    worker app), the stored session of that uid is merged into the client's session: into the live `@Session()`
 *    object when a handler of that client is running, and on the gateway (UpdateSession). Stored keys win over
 *    keys the client's session already has, so set fresh values after `bindUid`.
 *  - save: after a handler changed the session of a client that has a uid (bound before the event or during the
 *    handler), and after `setSession` / `updateSession` through the worker's GatewayClient on a client with a uid
 *    (outside that client's handlers: best effort, one extra query to the gateway for the uid and the session).
 *
 * Calls are not awaited by event handling: a slow store does not hold up a client's events, and a failing one is
 * logged (rate-limited) and never fails a handler. Saves are issued in event order.
 */
export interface SessionStore {
  /** The stored session of `uid`, or null when there is none. */
  load(uid: string): Promise<Record<string, unknown> | null>;
  /** Stores the whole session of `uid`, replacing what was stored. */
  save(uid: string, session: Record<string, unknown>): Promise<void>;
}

/**
 * Injection token of the worker's SessionStore when it comes from DI:
 * `GatewayModule.forWorker(options, { imports: [RedisModule], sessionStore: { useClass: RedisSessionStore } })`
 * registers it under this token; inject it elsewhere with `@Inject(GATEWAY_SESSION_STORE)`.
 */
export const GATEWAY_SESSION_STORE = Symbol('GATEWAY_SESSION_STORE');
