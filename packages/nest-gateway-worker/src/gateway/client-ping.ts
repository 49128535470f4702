import { CLIENT_PING, CLIENT_PONG } from '../protocol/client-conventions';
import { OutgoingMessage } from './outgoing-message';

/**
 * The application-level liveness ping (README "Browser client", liveness): a text message that is exactly
 * `$ping` is answered by the gateway itself with `$pong` and goes to no worker. Browsers can neither send nor see
 * WebSocket ping frames, so without it a client that keeps sending cannot tell a dead link from a quiet one.
 * Checking costs one length comparison for every other message; the payload is never parsed.
 */
const PING = Buffer.from(CLIENT_PING, 'utf8');

/** The length of the ping's payload: a message of any other length is not a ping (the one test on the hot path). */
export const CLIENT_PING_LENGTH = PING.length;

/** Whether a client message (its length already checked against {@link CLIENT_PING_LENGTH}) is the liveness ping. */
export function isClientPing(data: Buffer, binary: boolean): boolean {
  return !binary && data.equals(PING);
}

/** The answer, framed once for every client that ever pings (OutgoingMessage keeps its encodings). */
export const CLIENT_PONG_MESSAGE = new OutgoingMessage(Buffer.from(CLIENT_PONG, 'utf8'), false);
