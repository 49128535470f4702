import { Cmd } from './command';
import { encodeFrame, frame, type FrameHeader } from './frame';

/** The kinds of client events, as a dead letter names them. */
export type DeadLetterKind = 'connect' | 'message' | 'close';

const KIND_BY_CMD: Partial<Record<number, DeadLetterKind>> = {
  [Cmd.OnConnect]: 'connect',
  [Cmd.OnMessage]: 'message',
  [Cmd.OnClose]: 'close',
};

/** The kind of a client event command (OnConnect, OnMessage, OnClose); undefined for any other command. */
export function deadLetterKindOf(cmd: number): DeadLetterKind | undefined {
  return KIND_BY_CMD[cmd];
}

/**
 * ext_data of a DeadLetter frame (G→W), JSON: `{"kind": "message", "deaths": 3, "uid"?: "..."}`. The header is the
 * event's (so the client_id is read from it as from an event), with cmd DeadLetter; the body is the event's body as
 * the client sent it (flag Binary for a binary message).
 */
export interface DeadLetterMeta {
  kind: DeadLetterKind;
  /** Worker deaths the event was in flight at. */
  deaths: number;
  /** The uid bound to the client when its event was dead-lettered; absent when none. */
  uid?: string;
}

/** The whole DeadLetter frame: `header` is the event's header (its cmd is replaced), `body` the event's body. */
export function encodeDeadLetterFrame(header: Omit<FrameHeader, 'cmd'>, meta: DeadLetterMeta, body: Buffer): Buffer {
  const ext: DeadLetterMeta = { kind: meta.kind, deaths: meta.deaths };
  if (meta.uid !== undefined) ext.uid = meta.uid;
  return encodeFrame(frame({ ...header, cmd: Cmd.DeadLetter, ext: Buffer.from(JSON.stringify(ext), 'utf8'), body }));
}

/** Reads a DeadLetter frame's ext; throws an Error saying what is wrong when it is not one. */
export function decodeDeadLetterMeta(ext: Buffer): DeadLetterMeta {
  let value: unknown;
  try {
    value = JSON.parse(ext.toString('utf8'));
  } catch {
    throw new Error('dead letter ext_data is not JSON');
  }
  const v = value as Partial<DeadLetterMeta> | null;
  if (typeof v !== 'object' || v === null) throw new Error('dead letter ext_data is not an object');
  if (v.kind !== 'connect' && v.kind !== 'message' && v.kind !== 'close') {
    throw new Error('dead letter ext_data has no valid "kind"');
  }
  if (typeof v.deaths !== 'number' || !Number.isInteger(v.deaths) || v.deaths < 0) {
    throw new Error('dead letter ext_data has no valid "deaths"');
  }
  if (v.uid !== undefined && typeof v.uid !== 'string') throw new Error('dead letter ext_data has an invalid "uid"');
  return v.uid === undefined ? { kind: v.kind, deaths: v.deaths } : { kind: v.kind, deaths: v.deaths, uid: v.uid };
}
