import type { RegisterServer } from '../../register/register-server';
import type { MetricsSink } from './metrics-sink';
import { rejectionMetric } from './rejection-metric';

/** The register's metrics (README, "Metrics"), read at scrape time. */
export function registerMetrics(m: MetricsSink, server: RegisterServer): void {
  m.gauge(
    'gatewayworker_register_peers',
    'Peers of this register now: gateways announced (distinct addresses) and subscribers (workers, SDK clients).',
    ['kind'],
    () => [
      { labels: { kind: 'gateway' }, value: server.addresses.length },
      { labels: { kind: 'subscriber' }, value: server.subscriberCount },
    ],
  );
  m.gauge('gatewayworker_register_links', 'Links open now, identified or not.', [], () => server.linkCount);
  m.counter(
    'gatewayworker_register_list_pushes_total',
    'Gateway lists sent to subscribers: one per subscriber on every change, and one per new subscription.',
    [],
    () => server.listPushes,
  );
  rejectionMetric(m, () => server.rejections);
}
