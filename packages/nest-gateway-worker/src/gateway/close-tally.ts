import type { ClientConnection } from './client-connection';

/** Tally key of a connection that ended without any close code: a raw TCP client that ended it itself. */
export const NO_CLOSE_CODE = 0;
/** Tally key of a close code a client chose outside the standard range 1000-1015 (kept out: clients pick them). */
export const OTHER_CLOSE_CODE = -1;

/** The standard WebSocket close codes (RFC 6455 and its registry) a client's own close is counted under. */
const FIRST_STANDARD_CODE = 1000;
const LAST_STANDARD_CODE = 1015;

/**
 * Client connections closed, by close code: for metrics (`gatewayworker_gateway_connections_closed_total`). A
 * close the gateway started (its own limits and shutdown, a worker's or SDK's close or rejection, the `ws`
 * library's protocol errors) counts under the code the gateway sent ({@link ClientConnection.closeCode}); one a
 * client started counts under the code it sent when that is a standard one (1000-1015, 1006 for no close frame),
 * else under {@link OTHER_CLOSE_CODE}, so a client cannot grow the set of codes; a raw TCP client that ended the
 * connection itself counts under {@link NO_CLOSE_CODE}. One Map update per close, nothing per message.
 */
export class CloseTally {
  private readonly byCode = new Map<number, number>();

  /** `client` is gone; `peerCode`: the code its close event reported (WebSocket), undefined for raw TCP. */
  count(client: ClientConnection, peerCode: number | undefined): void {
    const key = client.closeCode !== 0 ? client.closeCode : peerKey(peerCode);
    this.byCode.set(key, (this.byCode.get(key) ?? 0) + 1);
  }

  /** [key, closes] pairs since the gateway started: a close code, {@link NO_CLOSE_CODE} or {@link OTHER_CLOSE_CODE}. */
  entries(): IterableIterator<[number, number]> {
    return this.byCode.entries();
  }
}

function peerKey(code: number | undefined): number {
  if (code === undefined) return NO_CLOSE_CODE;
  return code >= FIRST_STANDARD_CODE && code <= LAST_STANDARD_CODE ? code : OTHER_CLOSE_CODE;
}
