import { FrameFlag } from './command';

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
  if (ArrayBuffer.isView(value)) return { body: Buffer.from(value.buffer, value.byteOffset, value.byteLength), binary: true };
  if (value instanceof ArrayBuffer) return { body: Buffer.from(value), binary: true };
  return { body: Buffer.from(JSON.stringify(value), 'utf8'), binary: false };
}

/** The frame flag and body that carry a message (binary messages set {@link FrameFlag.Binary}). */
export function messageFrameFields(message: OutgoingMessage): { flag: number; body: Buffer } {
  return { flag: FrameFlag.BodyIsScalar | (message.binary ? FrameFlag.Binary : 0), body: message.body };
}
