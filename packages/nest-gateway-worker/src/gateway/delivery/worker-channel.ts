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

/** Ring size from which a ring that is mostly holes spills its oldest events instead of growing. */
const SPILL_SPAN = 4096;

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
  /**
   * Unacknowledged events in the order they were sent, in a ring of parallel arrays (one slot = one event, no
   * object per event): slot `(head + i) & mask` holds the event numbered `headSeq + i` (sequence numbers wrap from
   * MAX_EVENT_SEQ to 1); its client is undefined once it is settled. `span` slots from `head` on are in use, the
   * first of them always unsettled. Sequence numbers are consecutive, so an ack finds its event by arithmetic: no
   * hash lookup, no per-event map entry; settling reads the slot's figures, not an event object per ack.
   */
  private clients: (ClientConnection | undefined)[] = new Array<ClientConnection | undefined>(16).fill(undefined);
  private bodies: (Buffer | undefined)[] = new Array<Buffer | undefined>(16).fill(undefined);
  /** cmd | flag << 8 (both one header byte). */
  private codes = new Int32Array(16);
  private deathCounts = new Int32Array(16);
  /** Body bytes + {@link UNACKED_EVENT_OVERHEAD}, as counted in `unackedBytes`. */
  private costs = new Int32Array(16);
  private sentAts = new Float64Array(16);
  private mask = 15;
  private head = 0;
  private headSeq = 1;
  private span = 0;
  /** Unsettled events in the ring. */
  private live = 0;
  /**
   * Events that stayed unsettled while the ring filled up behind them (a slow handler among fast ones), moved out
   * so that the ring does not grow with the holes after them: older than every event in the ring, in order.
   */
  private stragglers: Map<number, UnackedEvent> | null = null;
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
    return this.live + (this.stragglers?.size ?? 0);
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
    if (this.span === 0) this.headSeq = seq;
    else if (this.span > this.mask) {
      if (this.span >= SPILL_SPAN && this.live * 2 < this.span) this.spill();
      else this.grow();
    }
    const at = (this.head + this.span) & this.mask;
    const cost = body.length + UNACKED_EVENT_OVERHEAD;
    this.clients[at] = client;
    this.bodies[at] = body;
    this.codes[at] = cmd | (flag << 8);
    this.deathCounts[at] = deaths;
    this.costs[at] = cost;
    this.sentAts[at] = now;
    this.span++;
    this.live++;
    if (isolated) this.isolatedSeq = seq;
    this.unackedBytes += cost;
    client.unacked++;
    return seq;
  }

  /**
   * Settles the acknowledged events first..last (inclusive); unknown numbers are ignored (already settled).
   * Returns how many were settled.
   */
  acknowledge(first: number, last: number, now: number): number {
    let settled = 0;
    const stragglers = this.stragglers;
    if (stragglers !== null) {
      if (last - first + 1 <= stragglers.size) {
        for (let seq = first; seq <= last; seq++) {
          const e = stragglers.get(seq);
          if (e === undefined) continue;
          stragglers.delete(seq);
          this.settled(e, seq, now);
          settled++;
        }
      } else {
        for (const [seq, e] of stragglers) {
          if (seq < first || seq > last) continue;
          stragglers.delete(seq);
          this.settled(e, seq, now);
          settled++;
        }
      }
      if (stragglers.size === 0) this.stragglers = null;
    }
    if (this.live === 0) return settled;
    if (last - first + 1 > this.span) {
      // A range wider than the ring (a bogus or very old ack): look at the ring's events, not at 2^32 numbers.
      for (let i = 0, seq = this.headSeq; i < this.span; i++, seq = seq >= MAX_EVENT_SEQ ? 1 : seq + 1) {
        if (seq >= first && seq <= last && this.settle(i, seq, now)) settled++;
      }
    } else {
      for (let seq = first; seq <= last; seq++) {
        const i = this.offsetOf(seq);
        if (i >= 0 && this.settle(i, seq, now)) settled++;
      }
    }
    // The first slot in use always holds an unsettled event.
    while (this.span > 0 && this.clients[this.head] === undefined) {
      this.head = (this.head + 1) & this.mask;
      this.headSeq = this.headSeq >= MAX_EVENT_SEQ ? 1 : this.headSeq + 1;
      this.span--;
    }
    return settled;
  }

  /** The ring offset of event `seq`, or -1 when it is not in the ring. */
  private offsetOf(seq: number): number {
    let i = seq - this.headSeq;
    if (i < 0) i += MAX_EVENT_SEQ; // numbered after the wrap back to 1
    return i < this.span ? i : -1;
  }

  /** Settles event `seq`, at ring offset `i`; false when it was already settled. */
  private settle(i: number, seq: number, now: number): boolean {
    const at = (this.head + i) & this.mask;
    const client = this.clients[at];
    if (client === undefined) return false;
    this.clients[at] = undefined;
    this.bodies[at] = undefined;
    this.live--;
    this.settledFigures(client, this.costs[at], this.sentAts[at], seq, now);
    return true;
  }

  private settled(e: UnackedEvent, seq: number, now: number): void {
    this.settledFigures(e.client, e.body.length + UNACKED_EVENT_OVERHEAD, e.sentAt, seq, now);
  }

  private settledFigures(client: ClientConnection, cost: number, sentAt: number, seq: number, now: number): void {
    if (seq === this.isolatedSeq) this.isolatedSeq = 0;
    this.unackedBytes -= cost;
    client.unacked--;
    if (this.sampled) this.ewmaMs += EWMA_ALPHA * (now - sentAt - this.ewmaMs);
    else this.ewmaMs = now - sentAt;
    this.sampled = true;
  }

  /** The event in ring slot `at` as an object (it leaves the ring: a spill or a link loss), its slot cleared. */
  private takeSlot(at: number): UnackedEvent {
    const code = this.codes[at];
    const e: UnackedEvent = {
      client: this.clients[at]!,
      cmd: code & 0xff,
      flag: code >>> 8,
      body: this.bodies[at]!,
      sentAt: this.sentAts[at],
      deaths: this.deathCounts[at],
    };
    this.clients[at] = undefined;
    this.bodies[at] = undefined;
    return e;
  }

  /**
   * The ring is full and mostly holes: its first half moves out (the unsettled events in it to the stragglers, in
   * order), which frees that half for new events.
   */
  private spill(): void {
    const stragglers = (this.stragglers ??= new Map());
    for (let n = this.span >> 1; n > 0 || (this.span > 0 && this.clients[this.head] === undefined); n--) {
      if (this.clients[this.head] !== undefined) {
        stragglers.set(this.headSeq, this.takeSlot(this.head));
        this.live--;
      }
      this.head = (this.head + 1) & this.mask;
      this.headSeq = this.headSeq >= MAX_EVENT_SEQ ? 1 : this.headSeq + 1;
      this.span--;
    }
  }

  /** Twice the slots, the events moved to the front in order. */
  private grow(): void {
    const size = (this.mask + 1) * 2;
    const clients = new Array<ClientConnection | undefined>(size).fill(undefined);
    const bodies = new Array<Buffer | undefined>(size).fill(undefined);
    const codes = new Int32Array(size);
    const deathCounts = new Int32Array(size);
    const costs = new Int32Array(size);
    const sentAts = new Float64Array(size);
    for (let i = 0; i < this.span; i++) {
      const at = (this.head + i) & this.mask;
      clients[i] = this.clients[at];
      bodies[i] = this.bodies[at];
      codes[i] = this.codes[at];
      deathCounts[i] = this.deathCounts[at];
      costs[i] = this.costs[at];
      sentAts[i] = this.sentAts[at];
    }
    this.clients = clients;
    this.bodies = bodies;
    this.codes = codes;
    this.deathCounts = deathCounts;
    this.costs = costs;
    this.sentAts = sentAts;
    this.mask = size - 1;
    this.head = 0;
  }

  /** Removes and returns every unacknowledged event, oldest first (the link is gone: they will be sent again). */
  takeUnacked(): UnackedEvent[] {
    const events: UnackedEvent[] = this.stragglers ? [...this.stragglers.values()] : [];
    for (const e of events) e.client.unacked--;
    this.stragglers = null;
    for (let i = 0; i < this.span; i++) {
      const at = (this.head + i) & this.mask;
      if (this.clients[at] === undefined) continue;
      const e = this.takeSlot(at);
      e.client.unacked--;
      events.push(e);
    }
    this.head = 0;
    this.span = 0;
    this.live = 0;
    this.unackedBytes = 0;
    this.isolatedSeq = 0;
    return events;
  }

  /** See {@link WorkerInfo.ackDelayMs}. */
  ackDelayMs(now: number): number {
    const oldest = this.stragglers
      ? this.stragglers.values().next().value!.sentAt
      : this.span > 0
        ? this.sentAts[this.head]
        : undefined;
    return oldest === undefined ? this.ewmaMs : Math.max(this.ewmaMs, now - oldest);
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
        return channel.unackedCount;
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
