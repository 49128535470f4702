import type { ClientConnection } from './client-connection';

export interface PendingEvent {
  client: ClientConnection;
  cmd: number;
  flag: number;
  body: Buffer;
}

/**
 * Client events that arrived while no worker was connected, in arrival order, bounded by count and bytes.
 * They are delivered once a worker connects, so a worker restart or a gateway that starts first loses nothing.
 */
export class PendingEvents {
  private queue: PendingEvent[] = [];
  private bytes = 0;

  constructor(
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {}

  /** Queues an event; false when a bound would be exceeded (the caller closes that client). */
  push(event: PendingEvent): boolean {
    if (this.queue.length >= this.maxEvents || this.bytes + event.body.length > this.maxBytes) return false;
    this.queue.push(event);
    this.bytes += event.body.length;
    event.client.pendingEvents++;
    return true;
  }

  get size(): number {
    return this.queue.length;
  }

  /** Removes and returns everything queued, oldest first. */
  drain(): PendingEvent[] {
    const out = this.queue;
    this.queue = [];
    this.bytes = 0;
    for (const e of out) e.client.pendingEvents--;
    return out;
  }
}
