/**
 * What the worker's parts need of its links to the gateways (GatewayLinkPool provides it): queue bytes on the open
 * link to one gateway, false when none is open. A port of its own so that the event runner, the drain and the
 * session write-back depend on this one method rather than on the whole link pool.
 */
export interface GatewaySender {
  send(gatewayAddress: string, bytes: Buffer): boolean;
}
