import type { ClientBackplane } from '../../backplane/client-backplane';
import type { GatewayBackplane } from '../../backplane/gateway-backplane';
import type { ClientKind } from './client-metrics';
import type { MetricsSink } from './metrics-sink';

/**
 * A gateway's Redis backplane metrics (README, "Metrics"), read at scrape time from its counters: whether it is
 * announced (a live lease), its directory writes and their failures, resyncs, lost leases, and the dead gateways
 * its janitor purged.
 */
export function gatewayBackplaneMetrics(m: MetricsSink, backplane: GatewayBackplane): void {
  m.gauge(
    'gatewayworker_backplane_announced',
    '1 while this gateway has a live lease on the Redis backplane (workers and GatewayClients can find it).',
    [],
    () => (backplane.announced ? 1 : 0),
  );
  m.counter(
    'gatewayworker_backplane_directory_writes_total',
    'Pipelines of presence-directory changes this gateway wrote.',
    [],
    () => backplane.stats.flushes,
  );
  m.counter(
    'gatewayworker_backplane_write_failures_total',
    'Presence-directory writes that failed (written again later).',
    [],
    () => backplane.stats.failures,
  );
  m.counter(
    'gatewayworker_backplane_resyncs_total',
    "Full rewrites of this gateway's directory entries (start, lost lease, Redis reconnected, periodic).",
    [],
    () => backplane.stats.resyncs,
  );
  m.counter(
    'gatewayworker_backplane_leases_lost_total',
    'Times this gateway found its lease gone and announced itself again under a new epoch.',
    [],
    () => backplane.stats.leasesLost,
  );
  m.counter(
    'gatewayworker_backplane_janitor_purges_total',
    'Dead gateways whose entries this process purged.',
    [],
    () => backplane.stats.purged,
  );
}

/**
 * A worker's or GatewayClient's Redis backplane metrics: directory reads, the calls the directory narrowed, the
 * fallbacks to the full mesh, the directory cache's hits, misses and drops, and the dead gateways its janitor purged.
 */
export function clientBackplaneMetrics(m: MetricsSink, backplane: ClientBackplane, client: ClientKind): void {
  m.counter(
    'gatewayworker_backplane_directory_reads_total',
    'Presence-directory reads that answered within their budget.',
    ['client'],
    () => [{ labels: { client }, value: backplane.stats.reads }],
  );
  m.counter(
    'gatewayworker_backplane_targeted_calls_total',
    'Calls about uids or groups sent to fewer gateways than the full mesh.',
    ['client'],
    () => [{ labels: { client }, value: backplane.stats.narrowed }],
  );
  m.counter(
    'gatewayworker_backplane_fallbacks_total',
    'Calls sent to every gateway because the directory could not answer (failed, over budget, Redis down).',
    ['client'],
    () => [{ labels: { client }, value: backplane.stats.fallbacks }],
  );
  m.counter(
    'gatewayworker_backplane_directory_cache_hits_total',
    'Uids and groups the directory cache answered (no Redis read).',
    ['client'],
    () => [{ labels: { client }, value: backplane.stats.cacheHits }],
  );
  m.counter(
    'gatewayworker_backplane_directory_cache_misses_total',
    'Uids and groups the directory cache could not answer (read from Redis); 0 with the cache off.',
    ['client'],
    () => [{ labels: { client }, value: backplane.stats.cacheMisses }],
  );
  m.counter(
    'gatewayworker_backplane_directory_cache_drops_total',
    'Times the directory cache was emptied while in use (armed or holding entries): a flush notice, a connection closed or silent, a failed read, tracking re-armed or lost.',
    ['client'],
    () => [{ labels: { client }, value: backplane.stats.cacheDrops }],
  );
  m.counter(
    'gatewayworker_backplane_janitor_purges_total',
    'Dead gateways whose entries this process purged.',
    ['client'],
    () => [{ labels: { client }, value: backplane.stats.purged }],
  );
}
