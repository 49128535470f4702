import type { GatewayFrame } from '../../protocol/frame';
import type { InnerLink } from '../../protocol/inner-link';
import { MAX_EVENT_SEQ } from '../../protocol/event-ack';
import type { ClientConnection } from '../client-connection';
import type { GatewayAddress } from '../gateway-address';

/**
 * A client event sent to a worker and not acknowledged yet. It keeps what is needed to send the event again
 * (not the encoded frame: a redelivery re-encodes it with the client's current session and, for a worker that
 * has not seen the client, its handshake).
 */
export interface UnackedEvent {
  client: ClientConnection;
  cmd: number;
  flag: number;
  body: Buffer;
  /** When it was sent (epoch ms), for the ack delay. */
  sentAt: number;
  /** Worker deaths it was in flight at before this delivery (see DeliveryLimit). */
  deaths: number;
}

/** Bytes an unacked event costs beyond its body (the bookkeeping), so empty events count against the bound too. */
export const UNACKED_EVENT_OVERHEAD = 64;

/** Weight of one new ack-delay sample in the moving average. */
const EWMA_ALPHA = 0.1;

/**
 * What a custom router function sees of a worker: read-only figures, no access to the link itself.
 * The same object for a worker's whole connection, so a router may keep it (e.g. in a WeakMap).
 */
export interface WorkerInfo {
  /** "<remote ip>:<worker_key>", unique per worker process and gateway. */
  readonly key: string;
  /** The worker_key the worker sent ("name:pid-n"). */
  readonly workerKey: string;
  /** The worker's remote IP address as this gateway sees it. */
  readonly address: string;
  /** Clients of this gateway currently routed to the worker. */
  readonly clients: number;
  /** Events sent to the worker and not acknowledged yet. */
  readonly unackedEvents: number;
  /**
   * How long the worker takes to acknowledge an event, in ms: a moving average of the ack delays, or the age
   * of its oldest unacknowledged event when that is larger (a stuck worker gets no acks to average).
   */
  readonly ackDelayMs: number;
  /** 1 / (1 + 1.5 · ackDelaySeconds): 1 for an instant worker, 0.4 at one second, towards 0 for a stuck one. */
  readonly healthScore: number;
}

/**
 * How client events reach a worker that speaks another wire (the php profile's PHP BusinessWorkers): the wire encodes
 * them, and they are never tracked for acknowledgement (such a worker sends none), so they are not redelivered when
 * it goes away and never count against its unacked bound.
 */
export interface WorkerWire {
  /** Sends one client event on the worker's link; `address` is this gateway's. */
  sendEvent(
    worker: WorkerChannel,
    client: ClientConnection,
    cmd: number,
    flag: number,
    body: Buffer,
    address: GatewayAddress,
  ): void;
}

/** An authenticated worker link as the gateway's router sees it, with the events it has not acknowledged. */
export class WorkerChannel {
  /** Clients currently routed to this worker (least-connections counter). */
  assigned = 0;
  /** Set once the worker announced it is shutting down (WorkerDraining): no new events go to it. */
  draining = false;
  /**
   * An isolated event (see DeliveryLimit) waits at the gateway for this worker to have nothing unacknowledged:
   * until then no other event goes to it, so that it becomes idle. Recomputed on every flush of held events.
   */
  awaitingIdle = false;
  /** Unacknowledged events by sequence number; a Map keeps them in the order they were sent. */
  private readonly unacked = new Map<number, UnackedEvent>();
  private unackedBytes = 0;
  private lastSeq = 0;
  /** Sequence number of the isolated event outstanding on this link, 0 when none. */
  private isolatedSeq = 0;
  /** Moving average of ack delays, in ms; the first sample seeds it (a new worker is not assumed instant). */
  private ewmaMs = 0;
  private sampled = false;
  private infoView: WorkerInfo | null = null;

  /** "<remote ip>:<worker_key>", unique per worker process; the router's key. */
  readonly key: string;

  constructor(
    /** The worker_key the worker sent ("name:pid-n"), used in logs. */
    readonly workerKey: string,
    readonly remoteIp: string,
    readonly link: InnerLink<GatewayFrame>,
    /** Unacked bytes (bodies + {@link UNACKED_EVENT_OVERHEAD} each) past which the worker takes no more events. */
    private readonly maxUnackedBytes = Infinity,
    /** The worker has an `@OnDeadLetter()` handler (WorkerConnect `"dead_letters": true`). */
    readonly takesDeadLetters = false,
    /** Null: the native wire (events in envelopes, acknowledged). */
    readonly wire: WorkerWire | null = null,
  ) {
    this.key = `${remoteIp}:${workerKey}`;
  }

  get isOpen(): boolean {
    return this.link.isOpen;
  }

  /** Past its unacked-bytes bound: events wait at the gateway until acks free room. */
  get full(): boolean {
    return this.unackedBytes >= this.maxUnackedBytes;
  }

  get unackedCount(): number {
    return this.unacked.size;
  }

  /** Unacknowledged event bytes (bodies + {@link UNACKED_EVENT_OVERHEAD} each), the figure the bound applies to. */
  get unackedByteCount(): number {
    return this.unackedBytes;
  }

  /** An isolated event is outstanding: the worker gets nothing else until it acknowledges it. */
  get isolating(): boolean {
    return this.isolatedSeq !== 0;
  }

  /**
   * Records an event about to be sent; returns its sequence number (for the envelope's `q`). `deaths`: the worker
   * deaths it was in flight at before; `isolated`: it goes alone (the caller made sure nothing else is unacked).
   */
  track(
    client: ClientConnection,
    cmd: number,
    flag: number,
    body: Buffer,
    now: number,
    deaths = 0,
    isolated = false,
  ): number {
    const seq = (this.lastSeq = this.lastSeq >= MAX_EVENT_SEQ ? 1 : this.lastSeq + 1);
    this.unacked.set(seq, { client, cmd, flag, body, sentAt: now, deaths });
    if (isolated) this.isolatedSeq = seq;
    this.unackedBytes += body.length + UNACKED_EVENT_OVERHEAD;
    client.unacked++;
    return seq;
  }

  /**
   * Settles the acknowledged events first..last (inclusive); unknown numbers are ignored (already settled).
   * Returns how many were settled.
   */
  acknowledge(first: number, last: number, now: number): number {
    let settled = 0;
    const settle = (seq: number): void => {
      const e = this.unacked.get(seq);
      if (!e) return;
      this.unacked.delete(seq);
      if (seq === this.isolatedSeq) this.isolatedSeq = 0;
      this.unackedBytes -= e.body.length + UNACKED_EVENT_OVERHEAD;
      e.client.unacked--;
      if (this.sampled) this.ewmaMs += EWMA_ALPHA * (now - e.sentAt - this.ewmaMs);
      else this.ewmaMs = now - e.sentAt;
      this.sampled = true;
      settled++;
    };
    // A range wider than what is outstanding (a bogus or very old ack) must not loop over 2^32 numbers.
    if (last - first + 1 > this.unacked.size) {
      for (const seq of [...this.unacked.keys()]) if (seq >= first && seq <= last) settle(seq);
    } else {
      for (let seq = first; seq <= last; seq++) settle(seq);
    }
    return settled;
  }

  /** Removes and returns every unacknowledged event, oldest first (the link is gone: they will be sent again). */
  takeUnacked(): UnackedEvent[] {
    const events = [...this.unacked.values()];
    for (const e of events) e.client.unacked--;
    this.unacked.clear();
    this.unackedBytes = 0;
    this.isolatedSeq = 0;
    return events;
  }

  /** See {@link WorkerInfo.ackDelayMs}. */
  ackDelayMs(now: number): number {
    const oldest = this.unacked.values().next();
    return oldest.done ? this.ewmaMs : Math.max(this.ewmaMs, now - oldest.value.sentAt);
  }

  /** Test hook and seed for a worker's measured delay. */
  setAckDelayMs(ms: number): void {
    this.ewmaMs = ms;
    this.sampled = true;
  }

  /** The read-only view given to custom router functions. */
  get info(): WorkerInfo {
    if (this.infoView) return this.infoView;
    // The frozen view's getters read the live channel (an arrow function cannot be a getter).
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const channel = this;
    this.infoView = Object.freeze({
      key: channel.key,
      workerKey: channel.workerKey,
      address: channel.remoteIp,
      get clients() {
        return channel.assigned;
      },
      get unackedEvents() {
        return channel.unacked.size;
      },
      get ackDelayMs() {
        return channel.ackDelayMs(Date.now());
      },
      get healthScore() {
        return healthScore(channel.ackDelayMs(Date.now()));
      },
    });
    return this.infoView;
  }
}

/** minotaur's health score: 1 / (1 + 1.5 · delay in seconds). */
export function healthScore(delayMs: number): number {
  return 1 / (1 + 1.5 * (delayMs / 1000));
}
