/**
 * Counters of one gateway process since it started, exposed to workers and SDK clients (getGatewayStats) and
 * to metrics. Plain numbers incremented on the hot path; never reset.
 */
export class GatewayCounters {
  /** Client connections accepted (all listeners). */
  connectionsAccepted = 0;
  /** Client connections refused by the total or per-IP connection limit (dropped at their TCP accept). */
  connectionsRefused = 0;
  /**
   * Client connections dropped for not completing their handshake within handshakeTimeoutMs of their accept: no
   * WebSocket upgrade (TLS included), or nothing sent on a raw TCP listener.
   */
  handshakeTimeouts = 0;
  /** Client messages received (all listeners). */
  messagesIn = 0;
  /** Messages sent to clients. */
  messagesOut = 0;
  /** Payload bytes of the client messages received (without WebSocket or framing bytes). */
  bytesIn = 0;
  /** Payload bytes of the messages sent to clients (without WebSocket or framing bytes). */
  bytesOut = 0;
  /** Messages handed to clients by the multi-target sends (SendToAll, SendToUid, SendToGroup): one per recipient. */
  broadcastDeliveries = 0;
  /** Client events sent to workers (connect, message, close), redeliveries and PHP BusinessWorkers included. */
  eventsForwarded = 0;
  /** Client events workers acknowledged. */
  eventsAcked = 0;
  /** Clients disconnected because their unsent bytes exceeded the bound (close 4008). */
  slowConsumerDisconnects = 0;
  /** Clients disconnected for sending a message over the size limit (close 1009). */
  oversizeDisconnects = 0;
  /** Clients disconnected for exceeding the message rate limit. */
  rateLimitDisconnects = 0;
  /** Clients disconnected by the heartbeat (silent too long). */
  heartbeatDisconnects = 0;
  /** Clients closed because no worker took their events in time (pending queue full or too old, close 1013). */
  pendingDisconnects = 0;
  /** Client connections rejected by a worker's connect handler. */
  connectionsRejected = 0;
  /** Client events sent again to another worker because the first one went away before acknowledging them. */
  eventsRedelivered = 0;
  /**
   * Client events dead-lettered: in flight at maxEventDeaths worker deaths (GATEWAY_MAX_EVENT_DEATHS), never
   * delivered again; their clients closed with 4010.
   */
  deadLetteredEvents = 0;
  /**
   * Of those, the ones no `@OnDeadLetter()` handler received: the workers linked have none, or none linked in
   * time (held at most pendingMaxAgeMs), or too many waited.
   */
  deadLettersDropped = 0;
  /** Raw TCP clients disconnected for bytes their framing cannot decode (e.g. a frame:// length below 4). */
  malformedDisconnects = 0;
  /**
   * Inner connections (workers, SDK clients, anyone reaching the inner port) closed for bad input: not the inner
   * protocol, a wrong SECRET_KEY, a failed record, a malformed frame, no identification in time. Their warnings
   * are rate-limited (one line per reason every 10 s, with a count).
   */
  innerLinksRejected = 0;
  /**
   * Commands and queries addressed to named groups that reached this gateway: SendToGroup, Ungroup, and the
   * per-group queries (sessions, client_ids, uids, counts of named groups). Counted here, not derived from the
   * per-command counts: GetClientCountByGroup, BatchGetClientCountByGroup and Select ask for named groups or for
   * every client under the same command code. (GetGatewayStats' `uidCommands` is derived: see uidCommandCount.)
   */
  groupCommands = 0;
}
