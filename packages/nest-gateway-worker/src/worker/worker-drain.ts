import { Logger } from '@nestjs/common';
import { Cmd } from '../protocol/command';
import { encodeFrame, frame } from '../protocol/frame';
import type { GatewaySender } from './gateway-sender';

/** What the drain needs of the worker's links. */
export interface DrainLinks extends GatewaySender {
  /** The gateways with an open link now. */
  openAddresses(): string[];
}

/** What the drain needs of the events this worker is running (the event runner has it). */
export interface EventsInFlight {
  /** Events queued or running. */
  readonly inFlight: number;
  /** Resolves once no event is queued or running. */
  whenIdle(): Promise<void>;
  /** Sends the acknowledgements collected so far now. */
  flushAcks(): void;
}

/**
 * The worker's graceful stop of event handling (WorkerDraining / WorkerDrained), bounded by a deadline: tells
 * every gateway to stop sending events here (its clients move to other workers), waits until each has answered
 * (every event it sent is then received), waits for the handlers in flight, and sends their acks. The links stay
 * open (GatewayClient calls keep working); closing them is the transport's.
 */
export class WorkerDrain {
  private readonly log = new Logger('Worker');
  /** False until the transport listens: before that there is nothing to drain. */
  private started = false;
  private running: Promise<void> | null = null;
  /** While draining: gateways that have not answered WorkerDraining yet, and who to tell when none is left. */
  private waiting: Set<string> | null = null;
  private allAnswered: (() => void) | null = null;

  constructor(
    private readonly links: DrainLinks,
    private readonly events: EventsInFlight,
    private readonly timeoutMs: number,
  ) {}

  /** Whether a drain has begun (it stays true: a drained worker takes no events again). */
  get draining(): boolean {
    return this.running !== null;
  }

  /** The worker listens: from now on a drain has gateways to ask and events to wait for. */
  start(): void {
    this.started = true;
  }

  /** Runs the drain once; later calls return the same promise. */
  drain(): Promise<void> {
    return (this.running ??= this.run());
  }

  /**
   * A gateway's link came up or went down. While draining, a gateway (re)linked must not start routing clients
   * here, and a lost one has nothing left to answer.
   */
  gatewayChanged(address: string, state: 'up' | 'down'): void {
    if (!this.waiting) return;
    if (state === 'up') this.askToStopSending(address);
    else this.answered(address);
  }

  /** A gateway answered WorkerDraining (WorkerDrained): it sends no more events here. */
  answered(address: string | undefined): void {
    const waiting = this.waiting;
    if (!waiting) return;
    if (address !== undefined) waiting.delete(address);
    if (waiting.size === 0) this.allAnswered?.();
  }

  private async run(): Promise<void> {
    if (!this.started) return;
    const deadline = Date.now() + this.timeoutMs;
    const answered = new Promise<void>((resolve) => (this.allAnswered = resolve));
    this.waiting = new Set();
    const gateways = this.links.openAddresses();
    this.log.log(
      `draining: asking ${gateways.length} gateway(s) to stop sending events; ${this.events.inFlight} in flight`,
    );
    for (const address of gateways) this.askToStopSending(address);
    this.answered(undefined); // no gateway to ask: done at once
    const allAnswered = await untilDeadline(answered, deadline);
    const idle = await untilDeadline(this.events.whenIdle(), deadline);
    this.events.flushAcks();
    if (allAnswered && idle) {
      this.log.log('drained: every event received was handled and acknowledged');
    } else {
      this.log.warn(
        `drain timed out after ${this.timeoutMs} ms` +
          (allAnswered ? '' : ` (gateway(s) ${[...this.waiting].join(', ')} did not answer)`) +
          (idle ? '' : ` with ${this.events.inFlight} event(s) unfinished; the gateways send them to other workers`),
      );
    }
  }

  private askToStopSending(address: string): void {
    if (this.links.send(address, encodeFrame(frame({ cmd: Cmd.WorkerDraining })))) this.waiting?.add(address);
  }
}

/** Resolves true when `promise` settles before `deadline` (epoch ms), false otherwise; leaves no timer behind. */
async function untilDeadline(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>(
    (resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))),
  );
  try {
    return await Promise.race([promise.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
}
