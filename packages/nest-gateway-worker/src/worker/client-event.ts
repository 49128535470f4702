import type { ClientHandshake } from '../protocol/client-handshake';

export type ClientEventKind = 'connect' | 'message' | 'close';

/** One client event as a worker handler sees it. */
export interface ClientEvent {
  kind: ClientEventKind;
  clientId: string;
  /** Inner address ("ip:port") of the gateway holding the client. */
  gatewayAddress: string;
  /** The message: parsed object for typed messages, text for other text, Buffer for binary. */
  body: unknown;
  /** True when the client sent a binary frame. */
  binary: boolean;
  /**
   * The client's session, mutable: what the handler changes is written back to the gateway after it
   * completes. An empty object when the client has none yet.
   */
  session: Record<string, unknown>;
  handshake: ClientHandshake;
}
