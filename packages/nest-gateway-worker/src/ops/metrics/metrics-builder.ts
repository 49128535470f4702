import type { Registry } from 'prom-client';
import { HistogramMetric } from './histogram-metric';
import type { HistogramSeries, MetricsSink, Sample } from './metrics-sink';
import type { PromClient } from './prom-client-loader';

/**
 * The MetricsSink of one process's Registry: counters and gauges are prom-client's, filled by their `collect`
 * callbacks from the counters the parts keep anyway; histograms are HistogramMetrics over DurationHistograms.
 */
export class MetricsBuilder implements MetricsSink {
  constructor(
    private readonly prom: PromClient,
    private readonly registry: Registry,
  ) {}

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

  histogram(name: string, help: string, read: () => HistogramSeries[]): void {
    new HistogramMetric(name, help, read).registerIn(this.registry);
  }
}

function samples(read: Sample[] | number): Sample[] {
  return typeof read === 'number' ? [{ value: read }] : read;
}
