import type { GatewayLinkPool } from '../../client/gateway-link-pool';
import type { GatewayTransport } from '../../worker/gateway-transport';
import { readiness, type Readiness } from './readiness';

/** The link side of readiness, shared by workers and standalone GatewayClients: every listed gateway linked. */
export function linkReadiness(links: GatewayLinkPool, checks: Readiness['checks']): Readiness {
  const listed = links.directory.listedAddresses();
  const open = new Set(links.openAddresses());
  const unlinked = listed.filter((address) => !open.has(address));
  const all = {
    ...checks,
    listReceived: links.directory.listReceived,
    gatewaysListed: listed.length,
    gatewaysLinked: listed.length - unlinked.length,
  };
  if (!links.directory.listReceived) return readiness(all, 'no gateway list from any register yet');
  if (unlinked.length > 0) return readiness(all, `not linked to gateway(s) ${unlinked.sort().join(', ')}`);
  return readiness(all);
}

/**
 * A worker is ready when it listens, is not draining, and is linked to every gateway the registers list (with no
 * gateway listed it is ready: there is nothing it could be missing). A drain makes it not ready at once.
 */
export function workerReadiness(transport: GatewayTransport): Readiness {
  const checks = { listening: transport.running || transport.draining, draining: transport.draining };
  if (transport.draining) return readiness(checks, 'the worker is draining');
  if (!transport.running) return readiness(checks, 'the worker transport is not listening yet');
  return linkReadiness(transport.links, checks);
}
