import type { GatewayLinkPool } from '../../client/gateway-link-pool';
import type { MetricsSink } from './metrics-sink';
import { QueryTimings } from './query-timings';

/** Which GatewayClient a pool serves: a worker's own, or a standalone one (`GatewayModule.forClient`). */
export type ClientKind = 'worker' | 'sdk';

/**
 * The metrics of a GatewayClient's link pool (a worker's, or forClient's): its gateway links and the durations of
 * its requests. The durations are observed where a reply settles a request (RequestTracker), so this turns their
 * measurement on.
 */
export function clientMetrics(m: MetricsSink, links: GatewayLinkPool, client: ClientKind): void {
  const timings = new QueryTimings();
  links.measureRequests(timings);
  m.gauge('gatewayworker_client_gateway_links', 'Gateways this process has an open link to now.', ['client'], () => [
    { labels: { client }, value: links.openAddresses().length },
  ]);
  m.gauge(
    'gatewayworker_client_gateways_listed',
    'Gateways the registers list now (0 until the first list arrives).',
    ['client'],
    () => [{ labels: { client }, value: links.directory.listedAddresses().length }],
  );
  m.gauge('gatewayworker_client_pending_queries', 'Queries waiting for their reply now.', ['client'], () => [
    { labels: { client }, value: links.pendingRequests },
  ]);
  m.histogram(
    'gatewayworker_client_query_duration_seconds',
    'GatewayClient queries and confirmed sends, per gateway asked: time from sending to the reply, the timeout ' +
      '(outcome "timeout") or the lost link ("unavailable"); "error" is a reply refusing the request.',
    () => timings.series().map(({ outcome, histogram }) => ({ labels: { client, outcome }, histogram })),
  );
}
