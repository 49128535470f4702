import type { GatewayFrame } from '../protocol/frame';
import type { InnerLink } from '../protocol/inner-link';

/** An authenticated worker link as the gateway's router sees it. */
export class WorkerChannel {
  /** Clients currently routed to this worker (least-connections counter). */
  assigned = 0;

  constructor(
    /** "<remote ip>:<worker_key>", unique per worker process. */
    readonly key: string,
    readonly link: InnerLink<GatewayFrame>,
  ) {}

  get isOpen(): boolean {
    return this.link.isOpen;
  }
}
