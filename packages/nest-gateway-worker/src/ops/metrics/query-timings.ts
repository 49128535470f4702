import { DurationHistogram } from './duration-histogram';

/** How a GatewayClient request ended: answered, answered with an error, no answer in time, link lost or never open. */
export type QueryOutcome = 'ok' | 'error' | 'timeout' | 'unavailable';

export const QUERY_OUTCOMES: readonly QueryOutcome[] = ['ok', 'error', 'timeout', 'unavailable'];

/**
 * How long a GatewayClient's requests to one gateway take, from sending to the reply (or the timeout, or the lost
 * link), by outcome (`gatewayworker_client_query_duration_seconds`): the queries and the confirmed sends, every
 * call a gateway answers with a Reply. One per link pool (a worker's, or a forClient's).
 */
export class QueryTimings {
  private readonly byOutcome = new Map<QueryOutcome, DurationHistogram>(
    QUERY_OUTCOMES.map((outcome) => [outcome, new DurationHistogram()]),
  );

  observe(outcome: QueryOutcome, seconds: number): void {
    this.byOutcome.get(outcome)!.observe(seconds);
  }

  /** Every outcome with its histogram (outcomes never seen included, with zero counts). */
  series(): { outcome: QueryOutcome; histogram: DurationHistogram }[] {
    return QUERY_OUTCOMES.map((outcome) => ({ outcome, histogram: this.byOutcome.get(outcome)! }));
  }
}
