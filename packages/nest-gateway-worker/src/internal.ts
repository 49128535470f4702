/**
 * The internal entry point, `nest-gateway-worker/internal`: codecs, links, listeners, cluster messages and the
 * helpers the tests and benchmarks of this repository use. Not part of the public API: names here may change in
 * any release. Applications import from `nest-gateway-worker`.
 */
export * from './gateway.module';
export * from './config/environment';
export * from './config/option-checks';
export * from './config/environment-variables';
export * from './module/async-options';
export * from './protocol/command';
export * from './protocol/frame';
export * from './protocol/frame-decoder';
export * from './protocol/client-id';
export * from './protocol/client-handshake';
export * from './protocol/client-message';
export * from './protocol/record-layer';
export * from './protocol/inner-link';
export * from './protocol/register-message';
export * from './register/register-options';
export * from './register/register-server';
export * from './register/register-client';
export * from './gateway/gateway-options';
export * from './gateway/gateway-server';
export * from './worker/worker-options';
export * from './worker/gateway-transport';
export * from './worker/gateway.context';
export * from './worker/client-event';
export * from './worker/dead-letter';
export * from './protocol/dead-letter-frame';
export * from './worker/client-event.decorators';
export * from './worker/client-param.decorators';
export * from './worker/gateway-exception.filter';
export * from './client/gateway-client';
export * from './client/gateway-calls';
export * from './client/delivery-receipt';
export * from './client/gateway-client-options';
export * from './client/gateway-client-pool';
export * from './client/gateway-errors';
export * from './client/gateway-link-pool';
export * from './client/gateway-directory';
export * from './client/gateway-hello';
export * from './client/request-tracker';
export * from './link/reconnect-backoff';
export * from './protocol/gateway-request';
export * from './config/run-or-exit';
// Connection rejection, connection statistics, session persistence
export * from './protocol/close-reason';
export * from './protocol/connection-stats';
export * from './worker/connection-rejected.exception';
export * from './worker/session-store';
export * from './worker/session-store.memory';
// The closes the gateway starts (codes and reasons of the client contract)
export * from './gateway/close-codes';
// The client library's conventions (liveness ping, request ids, resume offsets)
export * from './protocol/client-conventions';
export * from './worker/request-reply';
// Worker routing strategies
export type {
  WorkerInfo,
  RoutedClient,
  WorkerRouterFunction,
  WorkerRouterStrategy,
} from './gateway/delivery/worker-router';
// Client listeners and framings
export * from './gateway/listeners/listener-options';
export * from './gateway/listeners/client-framing';
export * from './gateway/listeners/message-parts';
export * from './gateway/listeners/text-framing';
export * from './gateway/listeners/frame-framing';
export * from './gateway/listeners/gateway-websocket';
// Processes: GATEWAY_COUNT / WORKER_COUNT clusters, graceful exits
export * from './process/run-role';
export * from './process/cluster-primary';
export * from './process/graceful-shutdown';
export * from './process/process-count';
export * from './process/cluster-messages';
// Operations: admin listener, metrics, readiness
export * from './ops/admin/admin-options';
export * from './ops/admin/admin-server';
export * from './ops/admin/admin-target';
export * from './ops/health/readiness';
export * from './ops/metrics/duration-histogram';
export * from './ops/metrics/metrics-builder';
export * from './ops/metrics/backplane-metrics';
export * from './ops/metrics/prom-client-loader';
export * from './ops/metrics/label-bounds';
export * from './process/process-index';
// Operations: the dashboard
export * from './ops/dashboard/dashboard-options';
export * from './ops/dashboard/dashboard-token';
export * from './ops/dashboard/dashboard-auth.guard';
export * from './ops/dashboard/dashboard-errors.interceptor';
export * from './ops/dashboard/dashboard-page';
export * from './ops/dashboard/dashboard-api';
export * from './ops/dashboard/message-rates';
export * from './ops/dashboard/gateway-dashboard.service';
export * from './ops/dashboard/gateway-dashboard.module';
// The Redis backplane's parts
export * from './backplane/backplane-options';
export * from './backplane/backplane-tls';
export * from './backplane/backplane-url';
export * from './backplane/redis-topology';
export * from './backplane/redis-batch';
export * from './backplane/backplane-keys';
export * from './backplane/backplane-warnings';
export * from './backplane/redis-connection';
export * from './backplane/gateway-lease';
export * from './backplane/janitor';
export * from './backplane/presence-publisher';
export * from './backplane/lease-keeper';
export * from './backplane/gateway-backplane';
export * from './backplane/gateway-watch';
export * from './backplane/directory-reader';
export * from './backplane/directory-read-batch';
export * from './backplane/directory-cache';
export * from './backplane/connection-heartbeat';
export * from './backplane/directory-tracking';
export * from './backplane/recent-memberships';
export * from './backplane/backplane-targeting';
export * from './backplane/client-backplane';
export * from './backplane/redis-session-store';
export * from './backplane/history-store';
export * from './backplane/history-position';
export * from './backplane/at-rest-cipher';
export * from './client/history-message';
export * from './client/history-options';
export * from './client/history-replay';
export * from './client/gateway-targeting';
export * from './gateway/membership-index';
