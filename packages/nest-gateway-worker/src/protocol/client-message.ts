import { FrameFlag } from './command';
import type { FrameBatch } from './event-envelope';
import { HEADER_LENGTH, putU32 } from './frame';

/**
 * How a value a handler returns (or the SDK is asked to send) becomes a client message:
 * a string is a text frame; a Buffer, typed array or ArrayBuffer a binary frame; anything else is sent as
 * JSON text. `undefined` and `null` send nothing.
 */
export interface OutgoingMessage {
  body: Buffer;
  binary: boolean;
}

export function toOutgoingMessage(value: unknown): OutgoingMessage | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return { body: Buffer.from(value, 'utf8'), binary: false };
  if (Buffer.isBuffer(value)) return { body: value, binary: true };
  if (ArrayBuffer.isView(value))
    return { body: Buffer.from(value.buffer, value.byteOffset, value.byteLength), binary: true };
  if (value instanceof ArrayBuffer) return { body: Buffer.from(value), binary: true };
  return { body: Buffer.from(JSON.stringify(value), 'utf8'), binary: false };
}

/** The frame flag and body that carry a message (binary messages set {@link FrameFlag.Binary}). */
export function messageFrameFields(message: OutgoingMessage): { flag: number; body: Buffer } {
  return { flag: FrameFlag.BodyIsScalar | (message.binary ? FrameFlag.Binary : 0), body: message.body };
}

/**
 * Encodes a worker→gateway frame carrying one client message (SendToOne and the like: header fields zero but
 * `cmd`, `connectionId` and the flag; empty ext) in one allocation. What a reply costs per message on the
 * worker: no intermediate frame object, and a string handler result is written straight into the frame.
 */
export function encodeClientMessageFrame(cmd: number, connectionId: number, message: OutgoingMessage): Buffer {
  return encodeMessageFrame(cmd, connectionId, message.body, message.binary);
}

/** Like {@link encodeClientMessageFrame} for a value a handler returned; null when it sends nothing. */
export function encodeReplyFrame(cmd: number, connectionId: number, value: unknown): Buffer | null {
  if (typeof value === 'string') return encodeMessageFrame(cmd, connectionId, value, false);
  const message = toOutgoingMessage(value);
  return message && encodeMessageFrame(cmd, connectionId, message.body, message.binary);
}

function encodeMessageFrame(cmd: number, connectionId: number, body: Buffer | string, binary: boolean): Buffer {
  const bodyLength = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  const packLength = HEADER_LENGTH + bodyLength;
  const out = Buffer.allocUnsafe(packLength);
  writeMessageFrame(out, 0, packLength, cmd, connectionId, body, bodyLength, binary);
  return out;
}

/**
 * Largest reply frame {@link writeReplyFrame} writes into a link's batch; a longer one gets a buffer of its own (the
 * batch would grow to twice its size for one message, and not be kept).
 */
export const MAX_BATCHED_REPLY_BYTES = 64 * 1024;

/**
 * {@link encodeReplyFrame} written straight into `batch` (the link's buffer for this turn, see InnerLink.reserve):
 * the same bytes, without a buffer of their own nor the copy of it into the turn's record. Returns 'sent' (or
 * nothing to send), 'closed' when the batch takes nothing (the link is closed), or the encoded frame when it is too
 * long for the batch ({@link MAX_BATCHED_REPLY_BYTES}): the caller sends it as before.
 */
export function writeReplyFrame(
  batch: FrameBatch,
  cmd: number,
  connectionId: number,
  value: unknown,
): 'sent' | 'closed' | Buffer {
  let body: Buffer | string;
  let binary = false;
  // A JSON value is written as its text (not through a Buffer of it, as toOutgoingMessage makes).
  const json = typeof value === 'string' || !isJsonValue(value) ? undefined : JSON.stringify(value);
  if (typeof value === 'string') body = value;
  else if (typeof json === 'string') body = json;
  else {
    const message = toOutgoingMessage(value);
    if (message === null) return 'sent';
    body = message.body;
    binary = message.binary;
  }
  if (typeof body === 'string' && HEADER_LENGTH + MAX_UTF8_PER_UNIT * body.length <= MAX_BATCHED_REPLY_BYTES) {
    // Room for the longest UTF-8 the text can take, then the header once the write says how long it was: no
    // Buffer.byteLength pass over the text (as costly as the write itself for short text).
    const out = batch.reserve(HEADER_LENGTH + MAX_UTF8_PER_UNIT * body.length);
    if (out === null) return 'closed';
    const at = batch.reservedAt;
    const written = out.write(body, at + HEADER_LENGTH, 'utf8');
    writeMessageHeader(out, at, HEADER_LENGTH + written, cmd, connectionId, false);
    batch.commit(HEADER_LENGTH + written);
    return 'sent';
  }
  const bodyLength = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  const packLength = HEADER_LENGTH + bodyLength;
  if (packLength > MAX_BATCHED_REPLY_BYTES) return encodeMessageFrame(cmd, connectionId, body, binary);
  const out = batch.reserve(packLength);
  if (out === null) return 'closed';
  writeMessageFrame(out, batch.reservedAt, packLength, cmd, connectionId, body, bodyLength, binary);
  batch.commit(packLength);
  return 'sent';
}

/** A value toOutgoingMessage sends as JSON text (not nothing, not bytes). */
function isJsonValue(value: unknown): boolean {
  return (
    value !== undefined &&
    value !== null &&
    !Buffer.isBuffer(value) &&
    !ArrayBuffer.isView(value) &&
    !(value instanceof ArrayBuffer)
  );
}

/** UTF-8 bytes one UTF-16 code unit can take at most (a lone surrogate: 3, as U+FFFD; a pair: 4 for 2 units). */
const MAX_UTF8_PER_UNIT = 3;

function writeMessageFrame(
  out: Buffer,
  at: number,
  packLength: number,
  cmd: number,
  connectionId: number,
  body: Buffer | string,
  bodyLength: number,
  binary: boolean,
): void {
  writeMessageHeader(out, at, packLength, cmd, connectionId, binary);
  if (typeof body === 'string') out.write(body, at + HEADER_LENGTH, bodyLength, 'utf8');
  else body.copy(out, at + HEADER_LENGTH);
}

/**
 * The 28-byte header of a client message frame at `at` of `out` (which the caller made room for), byte by byte
 * (Buffer#writeUInt32BE checks offset and value on every call).
 */
function writeMessageHeader(
  out: Buffer,
  at: number,
  packLength: number,
  cmd: number,
  connectionId: number,
  binary: boolean,
): void {
  putU32(out, at, packLength);
  out[at + 4] = cmd;
  // local_ip, local_port, client_ip, client_port: zero (bytes 5-16), byte by byte (cheaper than fill here).
  for (let i = at + 5; i < at + 17; i++) out[i] = 0;
  putU32(out, at + 17, connectionId);
  out[at + 21] = FrameFlag.BodyIsScalar | (binary ? FrameFlag.Binary : 0);
  // gateway_port and ext_len: zero.
  for (let i = at + 22; i < at + HEADER_LENGTH; i++) out[i] = 0;
}
