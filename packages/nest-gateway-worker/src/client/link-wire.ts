import type { Cmd } from '../protocol/command';
import type { GatewayFrame } from '../protocol/frame';
import type { GatewayRequest } from '../protocol/gateway-request';

/**
 * A wire other than the native one that a GatewayLinkPool speaks to its gateways (the php profile: PHP GatewayWorker's
 * wire, src/php/php-link-wire.ts). The worker and GatewayClient keep producing native frames and reading native
 * results; the wire translates at the pool's edge, so nothing above the pool knows which wire is spoken.
 */
export interface LinkWire {
  /** secret_key of the register hellos (PHP registers check it); undefined: none sent. */
  readonly registerSecretKey?: string;
  /**
   * The bytes to write for a native frame (`bytes`, one encoded frame) sent to `address`; null when nothing goes out
   * (a native-only command). `answer` delivers a frame as if the gateway had sent it (e.g. WorkerDrained for a drain
   * the other wire has no exchange for).
   */
  outgoing(bytes: Buffer, address: string, answer: (f: GatewayFrame) => void): Buffer | null;
  /**
   * A request to `address`, whose link is open (the gateway is registered and reachable): resolves with the result in
   * the native shape (see protocol/gateway-request.ts), within `timeoutMs`.
   */
  request(
    address: string,
    fields: Partial<GatewayFrame> & { cmd: Cmd },
    params: GatewayRequest,
    timeoutMs: number,
  ): Promise<unknown>;
  /** A frame from `address` (an event, a keep-alive): `emit` each native frame it stands for, in order. */
  incoming(f: GatewayFrame, address: string, emit: (f: GatewayFrame) => void): void;
  /** The link to `address` went down: what the wire keeps for it goes. */
  gatewayDown(address: string): void;
  /** The pool stopped. */
  stop(): void;
}
