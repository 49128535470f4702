import type { ClientHandshake } from '../protocol/client-handshake';
import type { ClientSocket } from './client-socket';
import { BUCKET_UNUSED, type RateLimitedEntry } from './connection-limits';
import type { HeartbeatEntry } from './heartbeat-wheel';
import type { WorkerChannel } from './worker-channel';

/**
 * Everything the gateway keeps for one client connection. Kept small: idle connections must be cheap.
 */
export class ClientConnection implements HeartbeatEntry, RateLimitedEntry {
  /** Session as JSON text ("null" until something sets it); the gateway does not parse it to forward it. */
  session = 'null';
  /** Incremented on every session write; travels with events as the envelope's `v`. */
  sessionVersion = 0;
  /** The worker this client is routed to (sticky), null until its first event. */
  worker: WorkerChannel | null = null;
  /** The worker that has received this client's handshake. */
  handshakeSentTo: WorkerChannel | null = null;
  /** Events of this client waiting in the pending queue. */
  pendingEvents = 0;
  /** Events of this client sent to its worker and not acknowledged yet (delivery: drain keeps order on them). */
  unacked = 0;
  closed = false;
  /** A worker rejected this connection (RejectConnection): its close is under way; its messages go nowhere. */
  rejected = false;
  /** The uid bound to this connection (at most one), null when unbound; maintained by MembershipIndex. */
  uid: string | null = null;
  /**
   * The groups this connection is in, maintained by MembershipIndex. Null, not an empty Set, while it is in none:
   * most connections never join a group, and a Set per idle connection would cost memory for nothing.
   */
  groups: Set<string> | null = null;
  /** When the connection was accepted (epoch ms). */
  readonly connectedAt = Date.now();
  /** Messages received from / sent to this client. */
  messagesIn = 0;
  messagesOut = 0;
  private handshakeJson: string | null = null;

  // ---- liveness: the heartbeat wheel's links and the message token bucket live here, as plain fields, so
  // that watching a connection allocates nothing and needs no timer of its own (see HeartbeatWheel).
  heartbeatTick = 0;
  wheelSlot = -1;
  wheelPrev: HeartbeatEntry | null = null;
  wheelNext: HeartbeatEntry | null = null;
  rateTokens = BUCKET_UNUSED;
  rateRefilledAt = 0;
  // ---- end liveness

  constructor(
    readonly id: number,
    readonly socket: ClientSocket,
    /** Remote IPv4 as u32, 0 for IPv6 (the frame header field). */
    readonly remoteIp: number,
    readonly handshake: ClientHandshake,
  ) {}

  get serializedHandshake(): string {
    return (this.handshakeJson ??= JSON.stringify(this.handshake));
  }
}
