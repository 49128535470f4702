/**
 * nest-gateway-worker: the public API. What an application configures, injects, decorates and extends; every
 * name here is documented in the README and kept stable across minor releases. Codecs, links, listeners and
 * test hooks live behind `nest-gateway-worker/internal`, which applications should not import.
 */

// The module: one static method per role and its async variant (options from DI)
export {
  GatewayModule,
  GATEWAY_REGISTER_OPTIONS,
  GATEWAY_SERVER_OPTIONS,
  GATEWAY_WORKER_OPTIONS,
  GATEWAY_CLIENT_OPTIONS,
} from './gateway.module';
export type {
  RegisterAsyncOptions,
  GatewayAsyncOptions,
  WorkerAsyncOptions,
  GatewayClientAsyncOptions,
  WorkerModuleExtras,
} from './gateway.module';
export type { RoleAsyncOptions, RoleOptionsFactory } from './module/async-options';

// Options of each role, read from the environment or given in code: one vocabulary, one check per role
export { ConfigError } from './config/environment';
export type { HostPort } from './config/environment';
export type { Registers } from './register/register-options';
export { registerOptionsFromEnv, resolveRegisterOptions } from './register/register-options';
export type { RegisterOptions, ResolvedRegisterOptions } from './register/register-options';
export { gatewayOptionsFromEnv, resolveGatewayOptions } from './gateway/gateway-options';
export type { GatewayOptions, ResolvedGatewayOptions } from './gateway/gateway-options';
export { workerOptionsFromEnv, resolveWorkerOptions } from './worker/worker-options';
export type { WorkerOptions, ResolvedWorkerOptions } from './worker/worker-options';
export { gatewayClientOptionsFromEnv, resolveGatewayClientOptions } from './client/gateway-client-options';
export type { GatewayClientOptions, ResolvedGatewayClientOptions } from './client/gateway-client-options';
export type { ListenerOptions } from './gateway/listeners/listener-options';
export type { WireProfile, WireProfileOptions } from './php/wire-profile-options';

// The roles as Nest providers
export { RegisterServer } from './register/register-server';
export { GatewayServer } from './gateway/gateway-server';
export { GatewayTransport } from './worker/gateway-transport';

// Worker handlers: decorators, context, errors for clients
export { OnClientConnect, OnClientMessage, OnClientClose, OnDeadLetter } from './worker/client-event.decorators';
export type { DeadLetter } from './worker/dead-letter';
export { MessageBody, ClientId, Session, Handshake } from './worker/client-param.decorators';
export { GatewayContext } from './worker/gateway.context';
export { GatewayExceptionFilter } from './worker/gateway-exception.filter';
export { ConnectionRejectedException } from './worker/connection-rejected.exception';
export type { ClientHandshake } from './protocol/client-handshake';

// The SDK: push, bind, groups, sessions, queries from any process
export { GatewayClient } from './client/gateway-client';
export type { ClientMessage, ClientSession, CloseOptions, Id } from './client/gateway-client';
export type { ConfirmOption, DeliveryReceipt, SendOptions } from './client/delivery-receipt';
export {
  CommandNotSentError,
  GatewayUnavailableError,
  GatewayTimeoutError,
  RegisterUnavailableError,
  GatewayArgumentError,
  GatewayPartialFailureError,
} from './client/gateway-errors';
export type { GatewayFailure } from './client/gateway-errors';
export { GatewayRequestError } from './protocol/gateway-request';
export { InvalidClientIdError, isClientId } from './protocol/client-id';
export type { ClientInfo, GatewayBackplaneState, GatewayStats } from './protocol/connection-stats';
export type { RegisterStatus } from './register/register-client';
export type { BackplaneStatus } from './client/backplane-status';

// The dashboard: a page and JSON API of the cluster, mounted in any app that has a GatewayClient
export { GatewayDashboardModule } from './ops/dashboard/gateway-dashboard.module';
export type { GatewayDashboardAsyncOptions } from './ops/dashboard/gateway-dashboard.module';
export { GatewayDashboardService } from './ops/dashboard/gateway-dashboard.service';
export { GATEWAY_DASHBOARD_OPTIONS, DEFAULT_DASHBOARD_PATH } from './ops/dashboard/dashboard-options';
export type {
  DashboardAuth,
  GatewayDashboardOptions,
  ResolvedGatewayDashboardOptions,
} from './ops/dashboard/dashboard-options';
export type {
  DashboardBackplane,
  DashboardClient,
  DashboardGateway,
  DashboardGroup,
  DashboardGroups,
  DashboardKicked,
  DashboardOverview,
  DashboardSent,
  DashboardUid,
} from './ops/dashboard/dashboard-api';
export type { GatewayMessageRates } from './ops/dashboard/message-rates';

// Session persistence
export { GATEWAY_SESSION_STORE } from './worker/session-store';
export type { SessionStore } from './worker/session-store';
export { InMemorySessionStore } from './worker/session-store.memory';

// The optional Redis backplane: discovery leases, presence directory (targeted sends), session store
export {
  DEFAULT_BACKPLANE_PREFIX,
  DEFAULT_BACKPLANE_LEASE_MS,
  DEFAULT_BACKPLANE_TIMEOUT_MS,
  DEFAULT_SESSION_TTL_SECONDS,
  DEFAULT_SESSION_MAX_BYTES,
} from './backplane/backplane-options';
export type {
  BackplaneClusterOptions,
  BackplaneOptions,
  BackplaneSentinelOptions,
  ResolvedBackplaneOptions,
} from './backplane/backplane-options';
export type { BackplaneTlsOptions } from './backplane/backplane-tls';
export type { RedisEndpoint, RedisMode, RedisTopology } from './backplane/redis-topology';
export type { RedisClientLike } from './backplane/redis-connection';
export { RedisSessionStore, SessionTooLargeError } from './backplane/redis-session-store';
export type {
  HistoryPosition,
  HistoryEntry,
  HistoryFormat,
  HistoryAppendOptions,
  HistoryRecovery,
} from './backplane/history-store';
export { DEFAULT_HISTORY_SIZE, DEFAULT_HISTORY_TTL_MS } from './backplane/history-store';
export { formatHistoryPosition, parseHistoryPosition } from './backplane/history-position';
export { DEFAULT_RECOVER_LIMIT } from './client/history-options';
export type { HistorySendOptions, HistorySent, RecoverOptions, RecoverResult } from './client/history-options';
export { resumePosition } from './client/resume-position';
export { AtRestDecryptError } from './backplane/at-rest-cipher';
export type { RedisSessionStoreOptions } from './backplane/redis-session-store';

// The closes the gateway starts: codes and reasons of the client contract
export {
  SHUTDOWN_CLOSE,
  NO_WORKER_CLOSE,
  SLOW_CONSUMER_CLOSE,
  HEARTBEAT_CLOSE,
  DEAD_LETTER_CLOSE,
  RATE_LIMIT_CLOSE,
  TOO_MANY_CONNECTIONS,
  TOO_MANY_FROM_ADDRESS,
} from './gateway/close-codes';
export type { CloseReason } from './gateway/close-codes';

// What the client library (nest-gateway-worker-client) relies on: the liveness ping, request ids, resume offsets
export {
  CLIENT_PING,
  CLIENT_PONG,
  REQUEST_ID_FIELD,
  RESUME_OFFSET_FIELD,
  RESUME_OFFSETS_FIELD,
  RESUME_QUERY_PARAM,
  RESUME_STREAM_FIELD,
} from './protocol/client-conventions';

// Extension points: raw TCP framings, worker routing
export { FramingError } from './gateway/listeners/client-framing';
export type { ClientFraming, FramingDecoder } from './gateway/listeners/client-framing';
export { TextFraming } from './gateway/listeners/text-framing';
export { FrameFraming } from './gateway/listeners/frame-framing';
export type { FrameFramingOptions } from './gateway/listeners/frame-framing';
export type {
  WorkerInfo,
  RoutedClient,
  WorkerRouterFunction,
  WorkerRouterStrategy,
} from './gateway/delivery/worker-router';

// Operations: the admin listener (ADMIN_LISTEN / `admin` option): Prometheus metrics, liveness, readiness
export { AdminServer } from './ops/admin/admin-server';
export type { AdminOptions } from './ops/admin/admin-options';
export type { Readiness } from './ops/health/readiness';

// Processes: a role's main.ts (signals, exit codes, GATEWAY_COUNT / WORKER_COUNT clusters)
export { runRole } from './process/run-role';
export type { RoleSpec } from './process/run-role';
export { runRegister, runGateway } from './process/roles';
export type { RegisterRoleExtras, GatewayRoleExtras } from './process/roles';
