import type { ClientHandshake } from '../protocol/client-handshake';
import { gatewayAddressOf } from '../protocol/client-id';
import type { EventEnvelope } from '../protocol/event-envelope';

/** One event's work: it may finish at once (returns nothing) or later (returns a promise). */
export type ClientTask = (() => Promise<void> | void) | StartableTask;

/** A task as an object whose start() does the work (an EventRun): no closure per event to wrap it in. */
export interface StartableTask {
  start(): Promise<void> | void;
}

interface TrackedClient {
  /** True while one of the client's events runs; later ones wait in {@link queue}. */
  busy: boolean;
  /** Events waiting for the running one, oldest first (allocated only when a client has a backlog). */
  queue: ClientTask[] | null;
  /** Events queued or running. */
  inFlight: number;
  handshake?: ClientHandshake;
  /** The session this worker last wrote back, and the gateway version that write produces. */
  written?: { json: string; version: number };
}

/** The session of a client this worker has none for (frozen: a placeholder, never written). */
export const EMPTY_SESSION: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/** The handshake of a client this worker has not seen one for (also a placeholder before an event's is known). */
export const NO_HANDSHAKE: ClientHandshake = {
  listener: '',
  protocol: '',
  remoteAddress: '',
  remotePort: 0,
  url: '',
  query: {},
  headers: {},
};

/**
 * Per-client bookkeeping on a worker:
 *  - order: a client's events run one after another, even when handlers are async;
 *  - handshake: the gateway sends it with the first event a worker gets for a client; later events reuse it;
 *  - session freshness: events already on the wire when this worker wrote a session back carry the older
 *    snapshot (their version is below the write's); those get the written session instead, so a handler never
 *    sees its own client's session go back in time.
 *
 * Ordering uses a plain per-client queue, not a promise chain: an event of an idle client starts at once
 * (synchronously), and a task that finishes synchronously costs no promise at all. A promise chain cost three
 * promises and as many microtask hops per event, a measurable share of the worker's CPU per echo message.
 */
export class ClientTracker {
  private readonly clients = new Map<string, TrackedClient>();
  /** Events queued or running, all clients together. */
  private running = 0;
  private idleWaiters: (() => void)[] = [];

  get size(): number {
    return this.clients.size;
  }

  /** Events queued or running, all clients together. */
  get inFlight(): number {
    return this.running;
  }

  /** Resolves once no event is queued or running (at once if none is). */
  whenIdle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Runs `task` after every earlier event of this client: at once when the client has nothing running. A task
   * that throws or rejects does not stop the client's later tasks (tasks handle their own errors).
   */
  schedule(clientId: string, task: ClientTask): void {
    let client = this.clients.get(clientId);
    if (!client) {
      client = { busy: false, queue: null, inFlight: 0 };
      this.clients.set(clientId, client);
    }
    client.inFlight++;
    this.running++;
    if (client.busy) (client.queue ??= []).push(task);
    else this.runFrom(client, task);
  }

  /** {@link schedule}, with a promise that resolves once `task` has finished (never rejects). */
  enqueue(clientId: string, task: ClientTask): Promise<void> {
    return new Promise<void>((resolve) =>
      this.schedule(clientId, () => {
        let result: Promise<void> | void;
        try {
          result = typeof task === 'function' ? task() : task.start();
        } catch {
          return resolve();
        }
        if (!result) return resolve();
        return result.then(resolve, () => resolve());
      }),
    );
  }

  /** Runs `task` and then the client's queued tasks, in a loop (no recursion) while they finish synchronously. */
  private runFrom(client: TrackedClient, task: ClientTask): void {
    client.busy = true;
    for (;;) {
      let result: Promise<void> | void;
      try {
        result = typeof task === 'function' ? task() : task.start();
      } catch {
        result = undefined;
      }
      if (result) {
        const next = (): void => {
          this.finished(client);
          const queued = client.queue?.shift();
          if (queued) this.runFrom(client, queued);
          else client.busy = false;
        };
        result.then(next, next);
        return;
      }
      this.finished(client);
      const queued = client.queue?.shift();
      if (!queued) {
        client.busy = false;
        return;
      }
      task = queued;
    }
  }

  private finished(client: TrackedClient): void {
    client.inFlight--;
    if (--this.running === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** The handshake for an event: the one it carries (remembered), else the remembered one. */
  handshake(clientId: string, carried: ClientHandshake | undefined): ClientHandshake {
    const client = this.clients.get(clientId);
    if (carried) {
      if (client) client.handshake = carried;
      return carried;
    }
    return client?.handshake ?? NO_HANDSHAKE;
  }

  /** The freshest session for an event and the gateway version it corresponds to. */
  session(clientId: string, envelope: EventEnvelope): { session: Record<string, unknown>; version: number } {
    const out = { session: EMPTY_SESSION, version: 0 };
    this.begin(clientId, envelope, out);
    return out;
  }

  /**
   * {@link session} and {@link handshake} of one event with one lookup of its client, once per event: the session
   * and its version go into `into` (no pair allocated), the handshake is returned.
   */
  begin(
    clientId: string,
    envelope: EventEnvelope,
    into: { session: Record<string, unknown>; version: number },
  ): ClientHandshake {
    const client = this.clients.get(clientId);
    if (client?.written && envelope.v < client.written.version) {
      into.session = JSON.parse(client.written.json) as Record<string, unknown>;
      into.version = client.written.version;
    } else {
      if (client) client.written = undefined;
      into.session = envelope.session ?? {};
      into.version = envelope.v;
    }
    const carried = envelope.handshake;
    if (carried) {
      if (client) client.handshake = carried;
      return carried;
    }
    return client?.handshake ?? NO_HANDSHAKE;
  }

  /** Records a write-back of `json` made on top of session version `baseVersion`. */
  wrote(clientId: string, json: string, baseVersion: number): void {
    const client = this.clients.get(clientId);
    if (client) client.written = { json, version: baseVersion + 1 };
  }

  /**
   * Forgets every client of a gateway this worker lost its link to: the gateway routes those clients to
   * other workers, and no close event will come here for them.
   */
  forgetGateway(gatewayAddress: string): void {
    for (const clientId of this.clients.keys()) {
      if (gatewayAddressOf(clientId) === gatewayAddress) this.clients.delete(clientId);
    }
  }

  /** Forgets a client once its close event has been handled and nothing else is queued. */
  forget(clientId: string): void {
    const client = this.clients.get(clientId);
    if (client && client.inFlight <= 1) this.clients.delete(clientId);
  }
}
