/**
 * Upper bounds of the duration buckets, in seconds: 100 µs to 10 s, about three per decade (handler runs and
 * GatewayClient queries on a LAN sit in the low milliseconds; a timeout shows in the last ones).
 */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * A Prometheus histogram's figures for one label set, kept where the durations are measured: an observation is a
 * scan of {@link DURATION_BUCKETS_SECONDS} and three additions, no allocation and no label hashing (prom-client's
 * own `observe` hashes the labels on every call, about 40 times the cost). The bucket counts are per bucket, not
 * cumulative; {@link cumulative} gives Prometheus's `le` view at scrape time.
 */
export class DurationHistogram {
  /** Observations per bucket; the last one is above every bound (+Inf). */
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[] = DURATION_BUCKETS_SECONDS) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** One duration, in seconds. */
  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    this.counts[i]++;
    this.sum += seconds;
    this.count++;
  }

  /** Observations at or below each bound, in bound order, then the total (the `+Inf` bucket). */
  cumulative(): number[] {
    const out: number[] = [];
    let running = 0;
    for (const n of this.counts) out.push((running += n));
    return out;
  }
}
