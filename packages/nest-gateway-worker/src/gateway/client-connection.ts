import type { ClientHandshake } from '../protocol/client-handshake';
import { ipv4ToString, parseIPv4 } from '../protocol/client-id';
import type { ClientSocket } from './client-socket';
import { BUCKET_UNUSED, type RateLimitedEntry } from './connection-limits';
import type { HeartbeatEntry } from './heartbeat-wheel';
import type { WorkerChannel } from './delivery/worker-channel';

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
  /**
   * The close code of the first close the gateway started on this connection (0 while none: the client's own
   * close, or a cut, then tells the code); see CloseTally. Set by the socket's close.
   */
  closeCode = 0;
  /** One of its events was dead-lettered (DeliveryLimit): its close is under way; its messages go nowhere. */
  deadLettered = false;
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
  /** The peer's port (event frames carry it in every header). */
  readonly remotePort: number;
  /** The peer's address as text when `remoteIp` cannot give it (IPv6), else null: see {@link remoteAddress}. */
  private readonly otherAddress: string | null;
  /**
   * The handshake as JSON, built once when the connection opens: it travels to every worker that receives the
   * client's first event, and it is all the connection keeps of the handshake (not the headers and query
   * objects: an idle connection holds one string instead of a tree of small objects).
   */
  readonly serializedHandshake: string;

  // The heartbeat wheel's links and the message token bucket live here, as plain fields, so
  // that watching a connection allocates nothing and needs no timer of its own (see HeartbeatWheel).
  heartbeatTick = 0;
  wheelSlot = -1;
  wheelPrev: HeartbeatEntry | null = null;
  wheelNext: HeartbeatEntry | null = null;
  rateTokens = BUCKET_UNUSED;
  rateRefilledAt = 0;

  constructor(
    readonly id: number,
    readonly socket: ClientSocket,
    /** Remote IPv4 as u32, 0 for IPv6 (the frame header field). */
    readonly remoteIp: number,
    handshake: ClientHandshake,
  ) {
    this.remotePort = handshake.remotePort;
    const address = handshake.remoteAddress;
    // ipv4ToString(remoteIp) === address, without building the string: parseIPv4 takes only the canonical dotted
    // form, the one ipv4ToString writes.
    this.otherAddress = remoteIp !== 0 && parseIPv4(address, 0) === remoteIp ? null : address;
    // JSON.stringify returns a rope (a tree of string pieces, several hundred bytes more than the text itself);
    // a round trip through UTF-8 bytes gives one flat string, for good.
    this.serializedHandshake = Buffer.from(JSON.stringify(handshake), 'utf8').toString('utf8');
  }

  /** The peer's address as text (per-address limits, getClientInfo): rebuilt from `remoteIp` for IPv4 peers. */
  get remoteAddress(): string {
    return this.otherAddress ?? ipv4ToString(this.remoteIp);
  }

  /**
   * The handshake, parsed again from its JSON: a fresh object on every call, for the rare readers (getClientInfo,
   * a custom router function); the hot paths use the fields above.
   */
  get handshake(): ClientHandshake {
    return JSON.parse(this.serializedHandshake) as ClientHandshake;
  }
}
