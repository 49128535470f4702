import type { ClientConnection } from './client-connection';
import type { WorkerChannel } from './worker-channel';

/**
 * Sticky least-connections routing: a client's first event picks the worker with the fewest clients and
 * the client stays there, so its events are handled in order; only if that worker goes away is it re-routed.
 */
export class WorkerRouter {
  private readonly workers = new Map<string, WorkerChannel>();

  /** Adds a worker; returns the channel it replaces (same key: a restarted process), if any. */
  add(worker: WorkerChannel): WorkerChannel | undefined {
    const previous = this.workers.get(worker.key);
    this.workers.set(worker.key, worker);
    return previous;
  }

  remove(worker: WorkerChannel): void {
    if (this.workers.get(worker.key) === worker) this.workers.delete(worker.key);
  }

  get size(): number {
    return this.workers.size;
  }

  /** The client's worker, picking one if it has none or its worker is gone; undefined if none is connected. */
  route(client: ClientConnection): WorkerChannel | undefined {
    const current = client.worker;
    if (current && current.isOpen && this.workers.get(current.key) === current) return current;
    if (current) current.assigned--;
    client.worker = null;
    let best: WorkerChannel | undefined;
    for (const w of this.workers.values()) {
      if (w.isOpen && (!best || w.assigned < best.assigned)) best = w;
    }
    if (best) {
      best.assigned++;
      client.worker = best;
    }
    return best;
  }

  /** A closed client no longer counts against its worker. */
  release(client: ClientConnection): void {
    if (client.worker) client.worker.assigned--;
    client.worker = null;
  }
}
