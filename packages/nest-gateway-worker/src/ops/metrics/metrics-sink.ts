import type { DurationHistogram } from './duration-histogram';

/** One sample of a counter or gauge: label values (bounded sets only) and the value. */
export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

/** One series of a histogram: its label values and where its figures are kept. */
export interface HistogramSeries {
  labels: Record<string, string>;
  histogram: DurationHistogram;
}

/**
 * Where a role declares its metrics, every one read at scrape time (nothing is counted here; a scrape reads). The
 * admin listener's implementation is a prom-client Registry (MetricsBuilder); this interface keeps prom-client, an
 * optional peer dependency, out of the types of everything that declares metrics.
 */
export interface MetricsSink {
  /** A counter (`name` ends in `_total`) whose samples `read` returns at every scrape. */
  counter(name: string, help: string, labelNames: readonly string[], read: () => Sample[] | number): void;
  /** A gauge whose samples `read` returns at every scrape. */
  gauge(name: string, help: string, labelNames: readonly string[], read: () => Sample[] | number): void;
  /** A histogram whose series `read` returns at every scrape. */
  histogram(name: string, help: string, read: () => HistogramSeries[]): void;
}
