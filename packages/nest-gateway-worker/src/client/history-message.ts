import type { HistoryFormat } from '../backplane/history-store';
import { RESUME_OFFSET_FIELD, RESUME_STREAM_FIELD } from '../protocol/client-conventions';
import { messageFrameFields, toOutgoingMessage } from '../protocol/client-message';
import { GatewayArgumentError } from './gateway-errors';

/** A message as a history keeps it: its format and its bytes (a JSON object without `$offset` / `$stream` of its own). */
export interface KeptMessage {
  format: HistoryFormat;
  body: Buffer;
}

/**
 * How a history send keeps `message`: an object (not an array), or a string holding a JSON object, is `json`, and
 * is delivered with its position in `$offset` and its history in `$stream` (any of its own are replaced); a Buffer /
 * typed array /
 * ArrayBuffer is `binary` (replayed as a binary frame); anything else (other text, arrays, numbers) is `text`,
 * kept and replayed as sent, without a position in it.
 */
export function keptMessage(message: unknown): KeptMessage {
  if (typeof message === 'string') {
    const object = jsonObjectIn(message);
    return object ? jsonMessage(object) : { format: 'text', body: Buffer.from(message, 'utf8') };
  }
  if (isPlainObject(message)) return jsonMessage(message);
  const outgoing = toOutgoingMessage(message);
  if (!outgoing)
    throw new GatewayArgumentError('message must be a string, a Buffer/Uint8Array, or a JSON-serialisable object');
  return { format: outgoing.binary ? 'binary' : 'text', body: outgoing.body };
}

/** The history a message belongs to, as its `$stream` says and the client library keys its offsets: `group:room1`. */
export function historyStreamOf(kind: 'uid' | 'group', target: string): string {
  return `${kind}:${target}`;
}

/**
 * The frame fields that deliver a kept message, with `position` in a JSON message's `$offset` and `stream` (see
 * {@link historyStreamOf}) in its `$stream`.
 */
export function deliveredFields(kept: KeptMessage, position: string, stream: string): { flag: number; body: Buffer } {
  if (kept.format !== 'json' || position === '')
    return messageFrameFields({ body: kept.body, binary: kept.format === 'binary' });
  // `{"$offset":"<position>","$stream":"<stream>",` + the rest of the object (or `}` for an empty one): no parse,
  // no second stringify.
  const head =
    `{${JSON.stringify(RESUME_OFFSET_FIELD)}:${JSON.stringify(position)},` +
    `${JSON.stringify(RESUME_STREAM_FIELD)}:${JSON.stringify(stream)}${kept.body.length > 2 ? ',' : ''}`;
  return messageFrameFields({ body: Buffer.concat([Buffer.from(head, 'utf8'), kept.body.subarray(1)]), binary: false });
}

function jsonMessage(object: object): KeptMessage {
  const own = (field: string) => Object.prototype.hasOwnProperty.call(object, field);
  const value =
    own(RESUME_OFFSET_FIELD) || own(RESUME_STREAM_FIELD)
      ? { ...object, [RESUME_OFFSET_FIELD]: undefined, [RESUME_STREAM_FIELD]: undefined }
      : object;
  const text = JSON.stringify(value) as string | undefined;
  if (typeof text !== 'string')
    throw new GatewayArgumentError('message must be a string, a Buffer/Uint8Array, or a JSON-serialisable object');
  // An object whose toJSON gives something else (a Date: a string) is kept as that text.
  return { format: text.startsWith('{') ? 'json' : 'text', body: Buffer.from(text, 'utf8') };
}

function jsonObjectIn(text: string): object | null {
  if (!text.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(text);
    return isPlainObject(value) ? value : null;
  } catch {
    return null;
  }
}

function isPlainObject(value: unknown): value is object {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !Buffer.isBuffer(value) &&
    !ArrayBuffer.isView(value) &&
    !(value instanceof ArrayBuffer)
  );
}
