import type { Registry } from 'prom-client';
import { HistogramMetric, type HistogramSeries } from './histogram-metric';
import type { PromClient } from './prom-client-loader';

/** One sample of a counter or gauge: label values (bounded sets only) and the value. */
export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

/**
 * Declares the metrics of one process in its Registry, every one read at scrape time: counters and gauges through
 * prom-client's `collect` callbacks from the counters the parts keep anyway, histograms from their
 * DurationHistograms. Nothing is counted here; a scrape reads.
 */
export class MetricsBuilder {
  constructor(
    readonly prom: PromClient,
    readonly registry: Registry,
  ) {}

  /** A counter (`name` ends in `_total`) whose samples `read` returns at every scrape. */
  counter(name: string, help: string, labelNames: readonly string[], read: () => Sample[] | number): void {
    new this.prom.Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of samples(read())) {
          if (s.labels) this.inc(s.labels, s.value);
          else this.inc(s.value);
        }
      },
    });
  }

  /** A gauge whose samples `read` returns at every scrape. */
  gauge(name: string, help: string, labelNames: readonly string[], read: () => Sample[] | number): void {
    new this.prom.Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of samples(read())) {
          if (s.labels) this.set(s.labels, s.value);
          else this.set(s.value);
        }
      },
    });
  }

  /** A histogram whose series `read` returns at every scrape (see HistogramMetric). */
  histogram(name: string, help: string, read: () => HistogramSeries[]): void {
    new HistogramMetric(name, help, read).registerIn(this.registry);
  }
}

function samples(read: Sample[] | number): Sample[] {
  return typeof read === 'number' ? [{ value: read }] : read;
}
