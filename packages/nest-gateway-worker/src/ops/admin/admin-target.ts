import type { Readiness } from '../health/readiness';
import type { MetricsSink } from '../metrics/metrics-sink';

/** What an admin listener serves for one role: its readiness, its metrics, and when it has stopped. */
export interface AdminTarget {
  /** The role's name in log lines: "Register", "Gateway", "Worker", "GatewayClient". */
  readonly role: string;
  /** The role's verdict now (GET /health/ready). */
  readiness(): Readiness;
  /** Declares the role's metrics (read at scrape time; histograms start measuring from here). */
  metrics(m: MetricsSink): void;
  /** Resolves once the role's graceful stop is over (the admin listener serves 503 until then). */
  stopped(): Promise<void>;
}
