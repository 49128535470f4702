import type { FrameBatch } from '../protocol/event-envelope';

/**
 * What the worker's parts need of its links to the gateways (GatewayLinkPool provides it): queue bytes on the open
 * link to one gateway, false when none is open. A port of its own so that the event runner, the drain and the
 * session write-back depend on this one method rather than on the whole link pool.
 */
export interface GatewaySender {
  send(gatewayAddress: string, bytes: Buffer): boolean;
  /**
   * Where frames for one gateway may be encoded in place (InnerLink.reserve/commit: no buffer of their own), or null
   * when they must go through {@link send} (no open link, or a wire profile that translates frames). Optional: a
   * sender without it takes every frame through send.
   */
  batchFor?(gatewayAddress: string): FrameBatch | null;
}
