/**
 * The WebSocket close codes a client of a nest-gateway-worker gateway can see (README "Close codes"), and which of
 * them the client reconnects after. The numbers are the server's; server-agreement.spec.ts checks them against it.
 */
export const CloseCode = {
  /** `closeClient` / `closeCurrentClient` without a code, or the client's own `close()`. */
  NORMAL: 1000,
  /** The gateway shuts down gracefully: reconnect (to another gateway). */
  GATEWAY_SHUTTING_DOWN: 1001,
  /** A WebSocket protocol error (ws's own close). */
  PROTOCOL_ERROR: 1002,
  /** The connection ended without a close frame: network loss, a dead peer, a failed connection attempt. */
  ABNORMAL: 1006,
  /** A text message that is not valid UTF-8. */
  INVALID_UTF8: 1007,
  /** Over the gateway's message rate limit (reason "message rate limit exceeded"). */
  RATE_LIMITED: 1008,
  /** A message over the gateway's size limit. */
  MESSAGE_TOO_BIG: 1009,
  /** A standard code proxies and servers use for a restart. */
  SERVICE_RESTART: 1012,
  /** No worker took the client's events in time ("no worker available"): reconnect later. */
  NO_WORKER: 1013,
  /** A standard code proxies use when the server behind them failed. */
  BAD_GATEWAY: 1014,
  /** The client did not read its messages fast enough. */
  SLOW_CONSUMER: 4008,
  /** The client was silent past the gateway's heartbeat limit. */
  HEARTBEAT_TIMEOUT: 4009,
  /**
   * One of the client's events was dead-lettered (it was in flight at every worker death the gateway allows) and its
   * later events were dropped. Reconnecting is fine; sending that message again most likely fails the same way.
   */
  EVENT_NOT_HANDLED: 4010,
} as const;

export type CloseCodeName = keyof typeof CloseCode;

/**
 * Codes after which the client reconnects by default: the gateway's own reconnectable closes (1001, 1013, 4008, 4009,
 * 4010; the client never sends a message again by itself), a lost connection or failed attempt (1006), and the
 * standard "try again" codes of proxies (1012, 1014). Never after
 * a normal close (1000), a rejection by the worker (4000 + HTTP status, 4401, 4403, ...), a message too big (1009) or
 * a rate limit (1008): connecting again would meet the same answer.
 */
export const RECONNECTABLE_CLOSE_CODES: readonly number[] = [
  CloseCode.GATEWAY_SHUTTING_DOWN,
  CloseCode.ABNORMAL,
  CloseCode.SERVICE_RESTART,
  CloseCode.NO_WORKER,
  CloseCode.BAD_GATEWAY,
  CloseCode.SLOW_CONSUMER,
  CloseCode.HEARTBEAT_TIMEOUT,
  CloseCode.EVENT_NOT_HANDLED,
];

/** Whether the default policy reconnects after a close with this code. */
export function isReconnectable(code: number): boolean {
  return RECONNECTABLE_CLOSE_CODES.includes(code);
}

/** Whether a code is a worker's rejection of the connection: 4000 + an HTTP status (4400-4599). */
export function isRejection(code: number): boolean {
  return code >= 4400 && code <= 4599;
}
