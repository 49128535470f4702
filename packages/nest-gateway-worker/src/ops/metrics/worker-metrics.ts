import type { GatewayTransport } from '../../worker/gateway-transport';
import { clientBackplaneMetrics } from './backplane-metrics';
import { clientMetrics } from './client-metrics';
import { HandlerTimings } from './handler-timings';
import type { MetricsSink } from './metrics-sink';

/**
 * A worker's metrics (README, "Metrics"): its handlers' durations (measured from now on), the events in flight,
 * the drain, and its GatewayClient's links and queries.
 */
export function workerMetrics(m: MetricsSink, transport: GatewayTransport): void {
  const timings = new HandlerTimings();
  transport.runner.timings = timings;
  m.histogram(
    'gatewayworker_worker_handler_duration_seconds',
    "Time from a client event's turn to its acknowledgement, for events a handler took, by event (connect, " +
      'message, close) and message type (the type of a typed @OnClientMessage handler; "other" for the untyped ' +
      'one; "none" for connect and close).',
    () => timings.series().map(({ event, type, histogram }) => ({ labels: { event, type }, histogram })),
  );
  m.gauge(
    'gatewayworker_worker_events_in_flight',
    'Client events queued or running in this worker now.',
    [],
    () => transport.runner.inFlight,
  );
  m.gauge('gatewayworker_worker_draining', '1 once the worker has begun to drain, else 0.', [], () =>
    transport.draining ? 1 : 0,
  );
  clientMetrics(m, transport.links, 'worker');
  if (transport.backplane) clientBackplaneMetrics(m, transport.backplane, 'worker');
}
