import { Logger } from '@nestjs/common';
import { RateLimitedWarning } from '../../logging/rate-limited-warning';
import type { ClientHandshake } from '../../protocol/client-handshake';
import type { ClientConnection } from '../client-connection';
import { healthScore, type WorkerChannel, type WorkerInfo } from './worker-channel';

export type { WorkerInfo } from './worker-channel';

/** What a custom router function sees of the client being placed. */
export interface RoutedClient {
  /** The client_id (20 hex characters). */
  readonly clientId: string;
  /** The upgrade request / connection data of the client (listener, remote address, url, query, headers). */
  readonly handshake: ClientHandshake;
  /** The uid bound to the client, null when none (usually none yet: routing happens on the first event). */
  readonly uid: string | null;
}

/**
 * Picks the worker for a client that has none (its first event, or its worker went away or is draining).
 * `workers` are the workers able to take it now (connected, not draining, not past their unacked bound), never
 * empty. Return one of them; `undefined` means "no preference" (least connections decides). A function that
 * throws or returns anything else is logged (rate-limited) and least connections decides.
 */
export type WorkerRouterFunction = (workers: readonly WorkerInfo[], client: RoutedClient) => WorkerInfo | undefined;

/**
 * How a gateway spreads clients over workers (env GATEWAY_ROUTER for the named ones). Every strategy is
 * sticky: a client keeps its worker until it disconnects, the worker goes away, or the worker drains.
 *  - 'least-connections' (default): the worker with the fewest clients on this gateway (PHP's default);
 *  - 'random': uniformly at random (PHP's `Gateway::$selectLoadBalancingMode = 'router_random'`);
 *  - 'latency': weighted least connections, weight = health score 1 / (1 + 1.5 · ack delay in s): the worker
 *    with the smallest (clients + 1) / score, so a worker acknowledging in 1 s gets 0.4 times the clients of an
 *    instant one, and equally healthy workers share evenly;
 *  - a function: your own pick (see {@link WorkerRouterFunction}).
 */
export type WorkerRouterStrategy = 'least-connections' | 'random' | 'latency' | WorkerRouterFunction;

export const WORKER_ROUTER_NAMES = ['least-connections', 'random', 'latency'] as const;

/**
 * Sticky routing of clients to workers. A client's first event picks a worker by the strategy and the client
 * stays there, so its events are handled in order; it moves only when that worker goes away, or drains (and then
 * only once the draining worker has acknowledged all its events, so the order still holds).
 */
export class WorkerRouter {
  /** A custom router's misbehaviour, logged at most once per 10 s. */
  private readonly warning = new RateLimitedWarning(new Logger('Gateway'));
  private readonly workers = new Map<string, WorkerChannel>();
  /** Workers picked for clients that had none (a client's first event, or its worker went away or drains). */
  picks = 0;

  constructor(
    private readonly strategy: WorkerRouterStrategy = 'least-connections',
    /** client_id of a connection (for custom router functions). */
    private readonly clientIdOf: (client: ClientConnection) => string = (c) => String(c.id),
    private readonly random: () => number = Math.random,
  ) {}

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

  /** The strategy's name: 'least-connections', 'random', 'latency', or 'custom' for a function. */
  get strategyName(): string {
    return typeof this.strategy === 'function' ? 'custom' : this.strategy;
  }

  /** Every worker linked now. */
  channels(): IterableIterator<WorkerChannel> {
    return this.workers.values();
  }

  /** Workers that can take new clients now (connected, not draining); full ones included. */
  get available(): number {
    let n = 0;
    for (const w of this.workers.values()) if (this.usable(w)) n++;
    return n;
  }

  /**
   * The worker the client's next event goes to, picking one when needed; undefined when the event must wait at
   * the gateway: no worker can take it, its worker is past its unacked bound or busy with an isolated event (see
   * DeliveryLimit), or its worker is draining and has not acknowledged all of the client's earlier events yet.
   * `isolated`: the event is an isolated one; it may go to a worker that other isolated events are waiting for (the
   * caller still waits until that worker is idle), and a new pick prefers idle workers.
   */
  route(client: ClientConnection, isolated = false): WorkerChannel | undefined {
    const current = client.worker;
    if (current) {
      if (this.usable(current)) return open(current, isolated) ? current : undefined;
      // The client's earlier events are still with that worker: it drains and has not acknowledged them, or its
      // link is closing and about to hand them back for redelivery. Moving the client now would reorder them.
      if (client.unacked > 0) return undefined;
      this.release(client);
    }
    const picked = this.pick(client, isolated);
    if (picked) {
      picked.assigned++;
      client.worker = picked;
      this.picks++;
    }
    return picked;
  }

  /** A closed client no longer counts against its worker. */
  release(client: ClientConnection): void {
    if (client.worker) client.worker.assigned--;
    client.worker = null;
  }

  private usable(w: WorkerChannel): boolean {
    return w.isOpen && !w.draining && this.workers.get(w.key) === w;
  }

  private pick(client: ClientConnection, isolated: boolean): WorkerChannel | undefined {
    let candidates: WorkerChannel[] = [];
    for (const w of this.workers.values()) if (this.usable(w) && open(w, isolated)) candidates.push(w);
    if (isolated && candidates.length > 1) {
      // An isolated event goes only to a worker with nothing unacknowledged: one that is idle now if there is one.
      const idle = candidates.filter((w) => w.unackedCount === 0);
      if (idle.length > 0) candidates = idle;
    }
    if (candidates.length <= 1) return candidates[0];
    const strategy = this.strategy;
    if (strategy === 'random') return candidates[Math.floor(this.random() * candidates.length)];
    if (strategy === 'latency') return leastWeightedConnections(candidates);
    if (typeof strategy === 'function')
      return this.custom(strategy, candidates, client) ?? leastConnections(candidates);
    return leastConnections(candidates);
  }

  private custom(
    fn: WorkerRouterFunction,
    candidates: WorkerChannel[],
    client: ClientConnection,
  ): WorkerChannel | undefined {
    const infos = candidates.map((w) => w.info);
    const clientIdOf = this.clientIdOf;
    const routed: RoutedClient = {
      get clientId() {
        return clientIdOf(client);
      },
      // Parsed from the connection's JSON only if the function reads it.
      get handshake() {
        return client.handshake;
      },
      uid: client.uid,
    };
    let chosen: unknown;
    try {
      chosen = fn(infos, routed);
    } catch (err) {
      this.warning.warn(
        `the router function threw (${(err as Error)?.message ?? String(err)}); using least connections`,
      );
      return undefined;
    }
    if (chosen === undefined || chosen === null) return undefined;
    const index = infos.indexOf(chosen as WorkerInfo);
    if (index < 0) {
      this.warning.warn(
        'the router function returned something that is not one of the workers it was given; using least connections',
      );
      return undefined;
    }
    return candidates[index];
  }
}

/**
 * Whether a usable worker can take an event now: not past its unacked bound, not busy with an isolated event, and,
 * for an ordinary event, not held free for an isolated one that waits for it to go idle.
 */
function open(w: WorkerChannel, isolated: boolean): boolean {
  return !w.full && !w.isolating && (isolated || !w.awaitingIdle);
}

function leastConnections(candidates: WorkerChannel[]): WorkerChannel {
  let best = candidates[0];
  for (const w of candidates) if (w.assigned < best.assigned) best = w;
  return best;
}

/**
 * Weighted least connections with the health score as weight. Not "best score wins": the assigned counter
 * moves with every pick, so a burst of new clients does not herd onto the one fastest worker, and a slower
 * worker keeps getting a share, which keeps its delay measurement fresh.
 */
function leastWeightedConnections(candidates: WorkerChannel[]): WorkerChannel {
  const now = Date.now();
  let best = candidates[0];
  let bestCost = Infinity;
  for (const w of candidates) {
    const cost = (w.assigned + 1) / healthScore(w.ackDelayMs(now));
    if (cost < bestCost || (cost === bestCost && w.assigned < best.assigned)) {
      best = w;
      bestCost = cost;
    }
  }
  return best;
}
