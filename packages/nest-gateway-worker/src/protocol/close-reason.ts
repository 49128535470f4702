/**
 * WebSocket close codes and reasons a worker or SDK client may ask a gateway to close a client with
 * (CloseWithReason, RejectConnection).
 */

/** A close frame's reason is limited to 123 bytes of UTF-8 (RFC 6455 §5.5: 125-byte control payload minus the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

/** Close code of a rejected connection when the rejection names none: 4403, "Forbidden" in the HTTP-like 4xxx range. */
export const DEFAULT_REJECT_CODE = 4403;

/** Close code of CloseWithReason when none is given: 1000, normal closure (what closeClient uses). */
export const DEFAULT_CLOSE_CODE = 1000;

/**
 * Codes an application may send (RFC 6455 §7.4): 1000 (normal), 1001 (going away), 1008 (policy violation),
 * 1011 (internal error), 1013 (try again later), and the registered/private ranges 3000-4999. Others are reserved
 * for the protocol itself (1005, 1006, 1015 must never be sent) and `ws` refuses them.
 */
export function isSendableCloseCode(code: unknown): code is number {
  return (
    typeof code === 'number' &&
    Number.isInteger(code) &&
    (code === 1000 ||
      code === 1001 ||
      code === 1008 ||
      code === 1011 ||
      code === 1013 ||
      (code >= 3000 && code <= 4999))
  );
}

/**
 * `reason` cut to at most {@link MAX_CLOSE_REASON_BYTES} bytes of UTF-8, never inside a character (a close frame
 * whose reason is not valid UTF-8 is a protocol error for the client).
 */
export function truncateCloseReason(reason: string): string {
  if (Buffer.byteLength(reason, 'utf8') <= MAX_CLOSE_REASON_BYTES) return reason;
  let out = '';
  let bytes = 0;
  for (const ch of reason) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (bytes + size > MAX_CLOSE_REASON_BYTES) break;
    out += ch;
    bytes += size;
  }
  return out;
}
