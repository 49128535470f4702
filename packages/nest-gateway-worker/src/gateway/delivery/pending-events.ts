import type { ClientConnection } from '../client-connection';

export interface PendingEvent {
  cmd: number;
  flag: number;
  body: Buffer;
  /** When it started waiting (epoch ms), for the age bound. */
  heldAt: number;
  /** Worker deaths it was in flight at (0 for an event never delivered; see DeliveryLimit). */
  deaths: number;
  /** It must go alone to a worker with nothing unacknowledged (DeliveryLimit.isolates). */
  isolated: boolean;
}

/**
 * Client events the gateway holds instead of sending: no worker can take them (none connected, all draining or
 * past their unacked bound), or the client's worker is draining and has not acknowledged the client's earlier
 * events yet. Kept per client, in order (only a client's own order matters), bounded by count and bytes in
 * total; the age bound is applied by event delivery's sweep through {@link expired}. A client with nothing held
 * costs nothing here.
 */
export class PendingEvents {
  /** Insertion order: clients roughly by how long they have been waiting. */
  private readonly byClient = new Map<ClientConnection, PendingEvent[]>();
  private events = 0;
  private bytes = 0;
  private isolatedEvents = 0;

  constructor(
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {}

  /** Events held in total. */
  get size(): number {
    return this.events;
  }

  /** Body bytes held in total (the figure the byte bound applies to). */
  get byteCount(): number {
    return this.bytes;
  }

  /** Held events that must go alone to an idle worker. */
  get isolatedCount(): number {
    return this.isolatedEvents;
  }

  /** Clients with held events, in the order they started waiting. */
  clients(): IterableIterator<ClientConnection> {
    return this.byClient.keys();
  }

  /**
   * Queues an event behind the client's held ones; false when a bound would be exceeded (the caller closes that
   * client). `always` skips the bounds: a close event (empty body) must never be lost behind its client's held
   * events, or the worker would keep that client's state and the router its count.
   */
  push(client: ClientConnection, event: PendingEvent, always = false): boolean {
    if (!always && (this.events >= this.maxEvents || this.bytes + event.body.length > this.maxBytes)) return false;
    const queue = this.byClient.get(client);
    if (queue) queue.push(event);
    else this.byClient.set(client, [event]);
    this.count(client, 1, event.body.length, event.isolated ? 1 : 0);
    return true;
  }

  /**
   * Puts events back in front of the client's held ones (a redelivery: they were accepted before and are older
   * than anything held), whatever the bounds: refusing them would lose them.
   */
  pushFront(client: ClientConnection, events: PendingEvent[]): void {
    if (events.length === 0) return;
    const queue = this.byClient.get(client);
    this.byClient.set(client, queue ? events.concat(queue) : events);
    let bytes = 0;
    let isolated = 0;
    for (const e of events) {
      bytes += e.body.length;
      if (e.isolated) isolated++;
    }
    this.count(client, events.length, bytes, isolated);
  }

  /** The client's oldest held event, left in place. */
  peek(client: ClientConnection): PendingEvent | undefined {
    return this.byClient.get(client)?.[0];
  }

  /** Removes and returns the client's oldest held event. */
  shift(client: ClientConnection): PendingEvent | undefined {
    const queue = this.byClient.get(client);
    if (!queue) return undefined;
    const event = queue.shift()!;
    if (queue.length === 0) this.byClient.delete(client);
    this.count(client, -1, -event.body.length, event.isolated ? -1 : 0);
    return event;
  }

  /** Removes every event held for the client; returns how many there were. */
  discard(client: ClientConnection): number {
    return this.discardWhere(client, () => true);
  }

  /** Removes the client's held events that pass `drop`, keeping the others in order; returns how many it removed. */
  discardWhere(client: ClientConnection, drop: (event: PendingEvent) => boolean): number {
    const queue = this.byClient.get(client);
    if (!queue) return 0;
    const kept: PendingEvent[] = [];
    let bytes = 0;
    let isolated = 0;
    for (const e of queue) {
      if (!drop(e)) {
        kept.push(e);
        continue;
      }
      bytes += e.body.length;
      if (e.isolated) isolated++;
    }
    const removed = queue.length - kept.length;
    if (removed === 0) return 0;
    if (kept.length === 0) this.byClient.delete(client);
    else this.byClient.set(client, kept);
    this.count(client, -removed, -bytes, -isolated);
    return removed;
  }

  /** Clients whose oldest held event started waiting before `cutoff` (epoch ms). */
  expired(cutoff: number): ClientConnection[] {
    const out: ClientConnection[] = [];
    for (const [client, queue] of this.byClient) if (queue[0].heldAt < cutoff) out.push(client);
    return out;
  }

  private count(client: ClientConnection, events: number, bytes: number, isolated: number): void {
    this.events += events;
    this.bytes += bytes;
    this.isolatedEvents += isolated;
    client.pendingEvents += events;
  }
}
