import { FrameFlag } from './command';
import { HEADER_LENGTH } from './frame';

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
  out.writeUInt32BE(packLength, 0);
  out[4] = cmd;
  // local_ip, local_port, client_ip, client_port: zero (bytes 5-16), byte by byte (cheaper than fill here).
  for (let i = 5; i < 17; i++) out[i] = 0;
  out.writeUInt32BE(connectionId >>> 0, 17);
  out[21] = FrameFlag.BodyIsScalar | (binary ? FrameFlag.Binary : 0);
  // gateway_port and ext_len: zero.
  for (let i = 22; i < HEADER_LENGTH; i++) out[i] = 0;
  if (typeof body === 'string') out.write(body, HEADER_LENGTH, bodyLength, 'utf8');
  else body.copy(out, HEADER_LENGTH);
  return out;
}
