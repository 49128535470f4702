/**
 * Every close the gateway itself starts, in one place: the codes and reasons are part of the client contract
 * (README, "close codes"). Closes a worker or the SDK asks for (kick, rejection) carry their own code; their
 * defaults are in protocol/close-reason.ts. Raw TCP clients see only the connection end.
 */

/** A WebSocket close code and reason. */
export interface CloseReason {
  code: number;
  reason: string;
}

/** Graceful shutdown: reconnect, to another gateway. */
export const SHUTDOWN_CLOSE: CloseReason = { code: 1001, reason: 'gateway shutting down' };
/** No worker took the client's events in time (pending queue full or too old): reconnect later. */
export const NO_WORKER_CLOSE: CloseReason = { code: 1013, reason: 'no worker available' };
/** The client did not read its messages fast enough (reconnectable). */
export const SLOW_CONSUMER_CLOSE: CloseReason = { code: 4008, reason: 'slow consumer' };
/** Silent past pingNotResponseLimit (reconnectable). */
export const HEARTBEAT_CLOSE: CloseReason = { code: 4009, reason: 'heartbeat timeout' };
/**
 * One of the client's events was in flight at maxEventDeaths worker deaths and was dead-lettered (DeliveryLimit);
 * the client's later events were dropped. Reconnecting is possible, sending the same event again is not advised.
 */
export const DEAD_LETTER_CLOSE: CloseReason = { code: 4010, reason: 'event could not be handled' };
/** The gateway's limits. */
export const RATE_LIMIT_CLOSE: CloseReason = { code: 1008, reason: 'message rate limit exceeded' };
export const TOO_MANY_CONNECTIONS: CloseReason = { code: 1013, reason: 'too many connections' };
export const TOO_MANY_FROM_ADDRESS: CloseReason = { code: 1008, reason: 'too many connections from this address' };

/**
 * A raw TCP client whose bytes its framing rejected (malformed or oversize). Raw TCP carries no close code: the
 * number is what the close-code counters and metrics record for it.
 */
export const MALFORMED_STREAM_CLOSE_CODE = 1008;
