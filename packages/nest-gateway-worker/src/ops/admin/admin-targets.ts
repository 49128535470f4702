import type { GatewayClientPool } from '../../client/gateway-client-pool';
import type { GatewayServer } from '../../gateway/gateway-server';
import type { RegisterServer } from '../../register/register-server';
import type { GatewayTransport } from '../../worker/gateway-transport';
import { gatewayReadiness } from '../health/gateway-readiness';
import { registerReadiness } from '../health/register-readiness';
import { linkReadiness, workerReadiness } from '../health/worker-readiness';
import { clientBackplaneMetrics } from '../metrics/backplane-metrics';
import { clientMetrics } from '../metrics/client-metrics';
import { gatewayMetrics } from '../metrics/gateway-metrics';
import { registerMetrics } from '../metrics/register-metrics';
import { workerMetrics } from '../metrics/worker-metrics';
import type { AdminTarget } from './admin-target';

/** The admin target of each role's Nest provider (GatewayModule wires one to the role's AdminServer). */

export function registerAdminTarget(server: RegisterServer): AdminTarget {
  return {
    role: 'Register',
    readiness: () => registerReadiness(server),
    metrics: (m) => registerMetrics(m, server),
    stopped: () => Promise.resolve(),
  };
}

export function gatewayAdminTarget(server: GatewayServer): AdminTarget {
  return {
    role: 'Gateway',
    readiness: () => gatewayReadiness(server),
    metrics: (m) => gatewayMetrics(m, server),
    // Idempotent: during Nest's shutdown hooks it is the stop already under way (or starts it).
    stopped: () => server.stop(),
  };
}

export function workerAdminTarget(transport: GatewayTransport): AdminTarget {
  return {
    role: 'Worker',
    readiness: () => workerReadiness(transport),
    metrics: (m) => workerMetrics(m, transport),
    // Idempotent: the drain that app.close() (or the app's own drain()) has run, or runs now.
    stopped: () => transport.drain(),
  };
}

export function clientAdminTarget(pool: GatewayClientPool): AdminTarget {
  return {
    role: 'GatewayClient',
    readiness: () => linkReadiness(pool.links, {}),
    metrics: (m) => {
      clientMetrics(m, pool.links, 'sdk');
      if (pool.backplane) clientBackplaneMetrics(m, pool.backplane, 'sdk');
    },
    stopped: () => Promise.resolve(),
  };
}
