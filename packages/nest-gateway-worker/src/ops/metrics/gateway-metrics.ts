import type { GatewayServer } from '../../gateway/gateway-server';
import { gatewayBackplaneMetrics } from './backplane-metrics';
import { closeCodeLabel, commandLabel } from './label-bounds';
import type { MetricsSink, Sample } from './metrics-sink';
import { rejectionMetric } from './rejection-metric';

/** Why the gateway dropped or closed client connections, from its counters (`reason` label values). */
const DISCONNECT_REASONS = {
  slow_consumer: 'slowConsumerDisconnects',
  oversize: 'oversizeDisconnects',
  malformed: 'malformedDisconnects',
  rate_limit: 'rateLimitDisconnects',
  heartbeat: 'heartbeatDisconnects',
  no_worker: 'pendingDisconnects',
  rejected_by_worker: 'connectionsRejected',
  handshake_timeout: 'handshakeTimeouts',
} as const;

/**
 * The gateway's metrics (README, "Metrics"), every one read at scrape time from what the gateway counts anyway:
 * its GatewayCounters, the listeners' connection counts, the close tally, the command table's counts, event
 * delivery and the router. Labels: listener URLs, close codes, command names, reasons, worker keys (the workers
 * linked now): bounded by the configuration and the cluster, never by clients.
 */
export function gatewayMetrics(m: MetricsSink, server: GatewayServer): void {
  const parts = () => server.parts;
  const counters = () => server.parts.counters;
  const delivery = () => server.parts.hub.delivery;

  m.gauge('gatewayworker_gateway_connections', 'Client connections open now, by listener.', ['listener'], () =>
    parts().listeners.map((l) => ({ labels: { listener: l.url }, value: l.openConnections })),
  );
  m.counter(
    'gatewayworker_gateway_connections_opened_total',
    'Client connections opened (WebSocket upgraded, raw TCP accepted), by listener.',
    ['listener'],
    () => parts().listeners.map((l) => ({ labels: { listener: l.url }, value: l.openedConnections })),
  );
  m.counter(
    'gatewayworker_gateway_connections_closed_total',
    "Client connections closed, by close code: the one the gateway sent when it closed them, else the client's " +
      '(1000-1015; "other" for any other code, "none" for a raw TCP client that ended it).',
    ['code'],
    () => [...parts().hub.closes.entries()].map(([key, n]) => ({ labels: { code: closeCodeLabel(key) }, value: n })),
  );
  m.counter(
    'gatewayworker_gateway_connections_refused_total',
    'Client connections refused at their TCP accept by GATEWAY_MAX_CONNECTIONS or GATEWAY_MAX_CONNECTIONS_PER_IP.',
    [],
    () => counters().connectionsRefused,
  );
  m.counter(
    'gatewayworker_gateway_disconnects_total',
    'Client connections the gateway dropped or closed on its own, by reason.',
    ['reason'],
    () =>
      Object.entries(DISCONNECT_REASONS).map(([reason, field]) => ({
        labels: { reason },
        value: counters()[field],
      })),
  );
  m.counter(
    'gatewayworker_gateway_received_messages_total',
    'Client messages received.',
    [],
    () => counters().messagesIn,
  );
  m.counter('gatewayworker_gateway_sent_messages_total', 'Messages sent to clients.', [], () => counters().messagesOut);
  m.counter(
    'gatewayworker_gateway_received_bytes_total',
    'Payload bytes of the client messages received (without WebSocket or framing bytes).',
    [],
    () => counters().bytesIn,
  );
  m.counter(
    'gatewayworker_gateway_sent_bytes_total',
    'Payload bytes of the messages sent to clients (without WebSocket or framing bytes).',
    [],
    () => counters().bytesOut,
  );
  m.counter(
    'gatewayworker_gateway_broadcast_deliveries_total',
    'Messages handed to clients by SendToAll, SendToUid and SendToGroup, one per recipient.',
    [],
    () => counters().broadcastDeliveries,
  );
  m.counter(
    'gatewayworker_gateway_events_forwarded_total',
    'Client events (connect, message, close) sent to workers, redeliveries included.',
    [],
    () => counters().eventsForwarded,
  );
  m.counter(
    'gatewayworker_gateway_events_acked_total',
    'Client events workers acknowledged.',
    [],
    () => counters().eventsAcked,
  );
  m.counter(
    'gatewayworker_gateway_events_redelivered_total',
    'Client events sent again to another worker because theirs went away before acknowledging them.',
    [],
    () => counters().eventsRedelivered,
  );
  m.counter(
    'gatewayworker_gateway_dead_lettered_events_total',
    'Client events dead-lettered: in flight at GATEWAY_MAX_EVENT_DEATHS worker deaths, never delivered again.',
    [],
    () => counters().deadLetteredEvents,
  );
  m.counter(
    'gatewayworker_gateway_dead_letters_dropped_total',
    'Dead letters no @OnDeadLetter() handler received (none linked in time, or too many waited).',
    [],
    () => counters().deadLettersDropped,
  );
  m.gauge(
    'gatewayworker_gateway_dead_letters_held',
    'Dead letters held until a worker with an @OnDeadLetter() handler is linked.',
    [],
    () => delivery().heldDeadLetters,
  );
  m.gauge(
    'gatewayworker_gateway_pending_events',
    'Client events held at the gateway because no worker can take them now.',
    [],
    () => delivery().pendingCount,
  );
  m.gauge(
    'gatewayworker_gateway_pending_bytes',
    'Body bytes of the client events held at the gateway.',
    [],
    () => delivery().pendingBytes,
  );
  m.gauge('gatewayworker_gateway_worker_links', 'Workers linked now.', [], () => delivery().workerCount);
  m.gauge(
    'gatewayworker_gateway_workers_available',
    'Workers that can take new clients now (linked, not draining).',
    [],
    () => delivery().availableWorkerCount,
  );
  const perWorker = (value: (w: WorkerFigures) => number) => (): Sample[] =>
    [...delivery().workerRouter.channels()].map((w) => ({ labels: { worker: w.key }, value: value(w) }));
  m.gauge(
    'gatewayworker_gateway_worker_unacked_bytes',
    'Unacknowledged event bytes (bodies + 64 each) per worker linked now (GATEWAY_WORKER_UNACKED_BYTES bounds it).',
    ['worker'],
    perWorker((w) => w.unackedByteCount),
  );
  m.gauge(
    'gatewayworker_gateway_worker_unacked_events',
    'Unacknowledged events per worker linked now.',
    ['worker'],
    perWorker((w) => w.unackedCount),
  );
  m.gauge(
    'gatewayworker_gateway_worker_clients',
    'Clients of this gateway routed to each worker linked now.',
    ['worker'],
    perWorker((w) => w.assigned),
  );
  m.counter(
    'gatewayworker_gateway_router_picks_total',
    'Workers picked for clients that had none (a first event, or their worker went away or drains), by strategy.',
    ['strategy'],
    () => {
      const router = delivery().workerRouter;
      return [{ labels: { strategy: router.strategyName }, value: router.picks }];
    },
  );
  m.counter(
    'gatewayworker_gateway_commands_total',
    'Command frames received from workers and SDK clients, by command (EventAck and WorkerDraining excluded).',
    ['command'],
    () => {
      const out = new Map<string, number>();
      parts().commands.received.forEach((n, code) => {
        if (n === 0) return;
        const command = commandLabel(code);
        out.set(command, (out.get(command) ?? 0) + n);
      });
      return [...out].map(([command, value]) => ({ labels: { command }, value }));
    },
  );
  m.counter(
    'gatewayworker_gateway_group_commands_total',
    'Commands and queries addressed to named groups (SendToGroup, Ungroup, per-group queries): with the backplane, ' +
      'only the gateways holding members get them.',
    [],
    () => counters().groupCommands,
  );
  m.gauge(
    'gatewayworker_gateway_inner_links',
    'Inner links open now on the inner port (workers, SDK clients, peers not identified yet).',
    [],
    () => parts().inner.linkCount,
  );
  m.gauge(
    'gatewayworker_gateway_registers_connected',
    'Registers this gateway is linked to (and announced to) now.',
    [],
    () => parts().register?.connectedCount ?? 0,
  );
  rejectionMetric(m, () => parts().inner.rejections);
  if (server.backplane) gatewayBackplaneMetrics(m, server.backplane);
}

/** What the per-worker gauges read of a worker channel. */
interface WorkerFigures {
  readonly unackedByteCount: number;
  readonly unackedCount: number;
  readonly assigned: number;
}
