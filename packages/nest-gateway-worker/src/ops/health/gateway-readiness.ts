import type { GatewayServer } from '../../gateway/gateway-server';
import { readiness, type Readiness } from './readiness';

/**
 * A gateway is ready when it can take clients and have their events handled: its listeners are bound and it is
 * not stopping, it is linked to (so announced to) at least one register or announced on the Redis backplane (a live
 * lease), and at least one worker is linked and not draining. A graceful stop makes it not ready at once.
 */
export function gatewayReadiness(server: GatewayServer): Readiness {
  const phase = server.phase;
  const { register, hub } = server.parts;
  const checks = {
    phase,
    registersConnected: register?.connectedCount ?? 0,
    registers: register?.registerCount ?? 0,
    workersLinked: hub.delivery.workerCount,
    workersAvailable: hub.delivery.availableWorkerCount,
    backplaneAnnounced: server.backplane?.announced ?? false,
  };
  if (phase === 'stopping') return readiness(checks, 'the gateway is shutting down');
  if (phase !== 'running') return readiness(checks, 'the gateway is starting');
  if (checks.registersConnected === 0 && !checks.backplaneAnnounced)
    return readiness(
      checks,
      server.backplane
        ? `not announced: ${checks.registers > 0 ? 'no register linked, and ' : ''}no live lease on the backplane`
        : 'not registered with any register',
    );
  if (checks.workersLinked === 0) return readiness(checks, 'no worker linked');
  if (checks.workersAvailable === 0)
    return readiness(checks, `all ${checks.workersLinked} linked worker(s) are draining`);
  return readiness(checks);
}
