import type { ClientEventKind } from '../../worker/client-event';
import { DurationHistogram } from './duration-histogram';

/** The `type` label of events that are not messages (connect, close). */
export const NO_MESSAGE_TYPE = 'none';
/** The `type` label of messages handled by the untyped `@OnClientMessage()` handler (any type, binary, not JSON). */
export const OTHER_MESSAGE_TYPE = 'other';

/** One series of {@link HandlerTimings}: its labels and its histogram. */
export interface HandlerSeries {
  event: ClientEventKind;
  type: string;
  histogram: DurationHistogram;
}

/**
 * How long a worker's handlers take, from the event's turn (after the client's earlier events) to its
 * acknowledgement, by event and message type (`gatewayworker_worker_handler_duration_seconds`). The type label is
 * bounded by the code, not by clients: it is the type of a typed `@OnClientMessage(type)` handler that took the
 * message, {@link OTHER_MESSAGE_TYPE} for the untyped handler, {@link NO_MESSAGE_TYPE} for connect and close.
 */
export class HandlerTimings {
  private readonly connect = new DurationHistogram();
  private readonly close = new DurationHistogram();
  private readonly untyped = new DurationHistogram();
  private readonly typed = new Map<string, DurationHistogram>();

  /** `route`: the type of the typed handler that ran, undefined for any other handler. */
  observe(kind: ClientEventKind, route: string | undefined, seconds: number): void {
    if (kind === 'message') {
      if (route === undefined) return this.untyped.observe(seconds);
      let histogram = this.typed.get(route);
      if (histogram === undefined) this.typed.set(route, (histogram = new DurationHistogram()));
      histogram.observe(seconds);
    } else {
      (kind === 'connect' ? this.connect : this.close).observe(seconds);
    }
  }

  /** Every series with at least one observation. */
  series(): HandlerSeries[] {
    const out: HandlerSeries[] = [];
    const add = (event: ClientEventKind, type: string, histogram: DurationHistogram): void => {
      if (histogram.count > 0) out.push({ event, type, histogram });
    };
    add('connect', NO_MESSAGE_TYPE, this.connect);
    for (const [type, histogram] of this.typed) add('message', type, histogram);
    add('message', OTHER_MESSAGE_TYPE, this.untyped);
    add('close', NO_MESSAGE_TYPE, this.close);
    return out;
  }
}
