import type { Metric, Registry } from 'prom-client';
import type { HistogramSeries } from './metrics-sink';

/** A sample as prom-client's registry formats it. */
interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * A Prometheus histogram whose figures are kept by {@link DurationHistogram}s where the durations are measured, and
 * read only at scrape time: a metric object for prom-client's Registry (which formats what `get()` returns, as for
 * its own Histogram: `_bucket` with `le`, `_sum`, `_count`). prom-client's Histogram would hash the labels on every
 * observation; these are observed on the message path.
 */
export class HistogramMetric {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly series: () => HistogramSeries[],
  ) {}

  /** Adds it to `registry`, as prom-client's own metrics do with `registers: [registry]`. */
  registerIn(registry: Registry): this {
    // The registry only calls get() (and reset()) and reads name, help, type: what a prom-client metric offers.
    registry.registerMetric(this as unknown as Metric);
    return this;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: Sample[] } {
    const values: Sample[] = [];
    for (const { labels, histogram } of this.series()) {
      const cumulative = histogram.cumulative();
      histogram.bounds.forEach((le, i) =>
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: cumulative[i] }),
      );
      values.push({
        metricName: `${this.name}_bucket`,
        labels: { ...labels, le: '+Inf' },
        value: cumulative[cumulative.length - 1],
      });
      values.push({ metricName: `${this.name}_sum`, labels, value: histogram.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: histogram.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Registry.resetMetrics(): the figures belong to the process's parts, which are never reset. */
  reset(): void {}
}
