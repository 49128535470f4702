/**
 * Connection statistics a gateway answers with (GetClientInfo, GetGatewayStats); what
 * GatewayClient.getClientInfo / getGatewayStats and GatewayContext.getClientInfo return.
 */

/** One client connection as its gateway sees it. */
export interface ClientInfo {
  clientId: string;
  /** When the gateway accepted the connection (epoch milliseconds). */
  connectedAt: number;
  /** Messages received from the client so far. */
  messagesIn: number;
  /** Messages sent to the client so far (counted when handed to the socket). */
  messagesOut: number;
  /** The listener it came through, as configured ("ws://0.0.0.0:7272"). */
  listener: string;
  /** "ws", "wss", "text", "frame" or a custom framing's name. */
  protocol: string;
  remoteAddress: string;
  remotePort: number;
  /** The bound uid, or null. */
  uid: string | null;
  /** The groups it is in ([] when none). */
  groups: string[];
}

/** The counters of one gateway process since it started (see GatewayCounters for each field's meaning). */
export interface GatewayCountersSnapshot {
  connectionsAccepted: number;
  connectionsRefused: number;
  handshakeTimeouts: number;
  messagesIn: number;
  messagesOut: number;
  /** Payload bytes received from / sent to clients. */
  bytesIn: number;
  bytesOut: number;
  /** Messages handed to clients by SendToAll, SendToUid and SendToGroup (one per recipient). */
  broadcastDeliveries: number;
  /** Client events sent to workers (redeliveries included), and those the workers acknowledged. */
  eventsForwarded: number;
  eventsAcked: number;
  slowConsumerDisconnects: number;
  oversizeDisconnects: number;
  rateLimitDisconnects: number;
  heartbeatDisconnects: number;
  pendingDisconnects: number;
  connectionsRejected: number;
  eventsRedelivered: number;
  /** Client events dead-lettered after maxEventDeaths worker deaths (their clients closed with 4010). */
  deadLetteredEvents: number;
  /** Dead-lettered events no `@OnDeadLetter()` handler received (none on the workers linked, or none linked in time). */
  deadLettersDropped: number;
  /** Raw TCP clients disconnected for bytes their framing cannot decode. */
  malformedDisconnects: number;
  /** Inner connections closed for bad input (not the protocol, wrong secret, bad record or frame, no identification). */
  innerLinksRejected: number;
  /** Commands and queries addressed to uids (SendToUid, GetClientIdByUid, BatchGetClientIdByUid). */
  uidCommands: number;
  /** Commands and queries addressed to named groups (SendToGroup, Ungroup, per-group queries). */
  groupCommands: number;
  /** Counters added by later versions appear here too. */
  [counter: string]: number;
}

/** One gateway process. */
export interface GatewayStats {
  /** Its inner address "lanIp:port" (the one in its client_ids). */
  address: string;
  /** Client connections open now. */
  connections: number;
  /** Workers linked to it now. */
  workers: number;
  /** Milliseconds since it started. */
  uptimeMs: number;
  counters: GatewayCountersSnapshot;
  /** Resident set size of the gateway process, in bytes (process.memoryUsage().rss). */
  memoryRss: number;
  /** Its part of the Redis backplane; null without one (absent from gateways of older versions). */
  backplane?: GatewayBackplaneState | null;
}

/** A gateway's state on the Redis backplane, as GetGatewayStats reports it. */
export interface GatewayBackplaneState {
  /** The Redis it uses, as displayed (never a password). */
  url: string;
  /** Its id on the backplane, `<address>/<boot>.<epoch>` ("" before it first announced). */
  id: string;
  /** How many times it had to announce again under a new id (its lease was lost). */
  epoch: number;
  /** Whether it has a live lease: workers and GatewayClients can find it through Redis. */
  announced: boolean;
  /** Whether its lease says its directory entries are all written under its current id (senders rely on them). */
  synced: boolean;
  /** Full rewrites of its directory entries, failed directory writes (retried), leases lost. */
  resyncs: number;
  writeFailures: number;
  leasesLost: number;
}
