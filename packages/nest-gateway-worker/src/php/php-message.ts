import { OutgoingMessage } from '../gateway/outgoing-message';
import type { ClientFraming } from '../gateway/listeners/client-framing';
import { FrameFlag } from '../protocol/command';
import type { GatewayFrame } from '../protocol/frame';
import { PHP_STRING_PRECISION, phpFloatText } from './php-float';
import { phpJsonEncode } from './php-json';
import { PhpSerializeError, phpUnserialize } from './php-serialize';
import { PhpFloat, bytesOf, type PhpValue } from './php-value';

const EMPTY = Buffer.alloc(0);

/**
 * A message whose bytes a PHP peer framed itself (`$raw = true`: flag FLAG_NOT_CALL_ENCODE, 0x02): written to the
 * client as they are, without the listener's framing, like workerman's `send($body, true)`.
 */
export class RawOutgoingMessage extends OutgoingMessage {
  constructor(bytes: Buffer) {
    super(bytes, false);
  }

  override get joined(): boolean {
    return true;
  }

  override webSocketFrame(): Buffer {
    return this.body;
  }

  override encodedFor(framing: ClientFraming): Buffer {
    void framing;
    return this.body;
  }
}

/**
 * The client message of a command from a PHP peer (SendToOne/All/Uid/Group, Kick), by PHP's body rule:
 *  - flag 0x01 (FLAG_BODY_IS_SCALAR): the body is the message, raw bytes;
 *  - flag 0x01 + 0x02 (FLAG_NOT_CALL_ENCODE): already framed for the client, written as is;
 *  - no 0x01: the body is serialize()d: `N;` is no message (Kick's null; a send of it gives "null", as workerman's
 *    json_encode does), a scalar its PHP text, an array its json_encode (workerman 5's WebSocket protocol), and
 *    bytes that do not unserialize an empty message (PHP's unserialize gives false).
 * PHP sends every message as text: a PHP peer's messages never become binary WebSocket frames.
 */
export function phpClientMessage(f: GatewayFrame): OutgoingMessage | null {
  if ((f.flag & FrameFlag.BodyIsScalar) !== 0) {
    // The body is a view into the receive buffer; the message may wait in a socket's queue: copy it.
    const body = Buffer.from(f.body);
    return (f.flag & FrameFlag.NotCallEncode) !== 0 ? new RawOutgoingMessage(body) : new OutgoingMessage(body, false);
  }
  let value: PhpValue;
  try {
    value = phpUnserialize(f.body);
  } catch (err) {
    if (!(err instanceof PhpSerializeError)) throw err;
    return new OutgoingMessage(EMPTY, false);
  }
  return value === null ? null : new OutgoingMessage(phpText(value), false);
}

/** What workerman writes for a non-null PHP value handed to send(). */
function phpText(value: Exclude<PhpValue, null>): Buffer {
  if (typeof value === 'string') return bytesOf(value);
  if (typeof value === 'boolean') return value ? Buffer.from('1') : EMPTY;
  if (typeof value === 'number' || typeof value === 'bigint') return Buffer.from(String(value));
  if (value instanceof PhpFloat) return Buffer.from(phpFloatText(value.value, 'E', PHP_STRING_PRECISION));
  return phpJsonEncode(value) ?? EMPTY;
}

/** The text a send of `N;` gives a client (json_encode(null)). */
export const PHP_NULL_MESSAGE = Buffer.from('null');
