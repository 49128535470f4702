import type { GatewayFailure } from './gateway-errors';

/** Options of a send or close (sendToClient, sendToUid, sendToGroup, sendToAll, closeClient, destroyClient). */
export interface SendOptions {
  /**
   * Resolve only after the gateways executed the command, with a {@link DeliveryReceipt}. Without it the call
   * is fire-and-forget: it resolves once the command is queued on the gateway's link.
   */
  confirm?: boolean;
}

/** `{ confirm: true }`. */
export interface ConfirmOption extends SendOptions {
  confirm: true;
}

/**
 * What the gateways did with a confirmed send or close.
 *
 * `delivered` counts the connections the message was handed to: the gateway wrote it to the connection's socket
 * (the same moment `messagesOut` counts it). It says nothing about whether the client read it: bytes in the
 * gateway's or the kernel's buffers are lost if the connection breaks afterwards. A client skipped as a slow
 * consumer, or already closing, is not counted. For closeClient / destroyClient it is 1 when the gateway held the
 * open connection and closed it, 0 when there was no such connection.
 */
export interface DeliveryReceipt {
  /** Connections reached, summed over the gateways that answered. */
  delivered: number;
  /**
   * Gateways that did not confirm within the timeout (unreachable, link lost, no answer): whether they executed
   * the command is unknown, and it is not retried. Always empty for single-client methods, which reject instead.
   */
  failedGateways: GatewayFailure[];
}
