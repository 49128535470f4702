import type { ClientEventKind } from './client-event';

/**
 * A client event that was in flight at the gateway's `maxEventDeaths` worker deaths (GATEWAY_MAX_EVENT_DEATHS):
 * its handler, or something running beside it, kept killing workers, so the gateway delivers it to no ordinary
 * handler again. An `@OnDeadLetter()` handler receives it as its `@MessageBody()`, at most once (never
 * redelivered, never acknowledged); by then the client has been closed with 4010 and its later messages dropped.
 */
export interface DeadLetter {
  /** The client_id of the client that sent it (20 hex characters). */
  clientId: string;
  /** Which event it was: 'message' for a client message, 'connect' / 'close' when those handlers killed workers. */
  kind: ClientEventKind;
  /** The event's body exactly as the client sent it (empty for connect and close). Do not run it through the handler that died on it. */
  body: Buffer;
  /** `body.length`, in bytes. */
  size: number;
  /** True when the client sent a binary frame. */
  binary: boolean;
  /** Worker deaths it was in flight at. */
  deaths: number;
  /** The uid bound to the client when its event was dead-lettered, null when none. */
  uid: string | null;
  /** Inner address ("ip:port") of the gateway that held the client. */
  gatewayAddress: string;
}
