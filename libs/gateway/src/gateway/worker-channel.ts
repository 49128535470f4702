import type { GatewayFrame } from '../protocol/frame';
import type { InnerLink } from '../protocol/inner-link';

/** An authenticated worker link as the gateway's router sees it. */
export class WorkerChannel {
  /** Clients currently routed to this worker (least-connections counter). */
  assigned = 0;

  /** "<remote ip>:<worker_key>", unique per worker process; the router's key. */
  readonly key: string;

  constructor(
    /** The worker_key the worker sent ("name:pid-n"), used in logs. */
    readonly workerKey: string,
    remoteIp: string,
    readonly link: InnerLink<GatewayFrame>,
  ) {
    this.key = `${remoteIp}:${workerKey}`;
  }

  get isOpen(): boolean {
    return this.link.isOpen;
  }
}
