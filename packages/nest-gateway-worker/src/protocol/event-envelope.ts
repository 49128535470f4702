import type { ClientHandshake } from './client-handshake';
import { HEADER_LENGTH, writeHeader, type FrameHeader } from './frame';
import type { CommitTiming } from './inner-link';

/**
 * ext_data of client events (OnConnect, OnMessage, OnClose) in the native profile: a JSON object
 *   {"q"?: <event seq>, "v": <session version>, "session": <session JSON or null>, "uid"?: <bound uid>, "handshake"?: <ClientHandshake>}
 * The gateway stores each session as JSON text and splices it in without parsing; `handshake` travels only
 * with the first event a worker receives for a client. `v` counts session writes on the gateway, so a worker
 * can tell a session snapshot taken before its own write-back from one taken after (see SessionTracker).
 */
export interface EventEnvelope {
  /**
   * The event's sequence number on its gateway link (u32, from 1); the worker acknowledges it with EventAck
   * once the event's handler has finished. Absent from gateways that do not track acknowledgements.
   */
  q?: number;
  v: number;
  session: Record<string, unknown> | null;
  /** The uid bound to the client when the event left the gateway; absent when none. */
  uid?: string;
  handshake?: ClientHandshake;
}

/** Builds the ext bytes from already-serialised JSON parts (no parse on the gateway's hot path). */
export function encodeEventEnvelope(
  version: number,
  sessionJson: string,
  handshakeJson?: string,
  uid?: string | null,
  seq?: number,
): Buffer {
  return Buffer.from(envelopeText(version, sessionJson, handshakeJson, uid, seq), 'utf8');
}

/** The envelope's JSON text, spliced from already-serialised parts ("q" first: decodePlainEnvelope relies on it). */
function envelopeText(
  version: number,
  sessionJson: string,
  handshakeJson?: string,
  uid?: string | null,
  seq?: number,
): string {
  return (
    (seq === undefined ? '{' : `{"q":${seq},`) +
    `"v":${version},"session":${sessionJson}` +
    (uid == null ? '' : `,"uid":${JSON.stringify(uid)}`) +
    (handshakeJson === undefined ? '}' : `,"handshake":${handshakeJson}}`)
  );
}

/** Header fields of a client event frame (OnConnect, OnMessage, OnClose) as the gateway fills them. */
export type EventFrameHeader = FrameHeader;

/**
 * The whole event frame (header, envelope as ext, client message as body) in one allocation: the same bytes as
 * `encodeFrame({...header, ext: encodeEventEnvelope(version, sessionJson, handshakeJson, uid, seq), body})`
 * without the intermediate envelope buffer and frame object, once per client message on the gateway.
 */
export function encodeEventFrame(
  header: EventFrameHeader,
  body: Buffer,
  version: number,
  sessionJson: string,
  handshakeJson?: string,
  uid?: string | null,
  seq?: number,
): Buffer {
  const text = envelopeText(version, sessionJson, handshakeJson, uid, seq);
  const extLength = Buffer.byteLength(text, 'utf8');
  const packLength = HEADER_LENGTH + extLength + body.length;
  const out = Buffer.allocUnsafe(packLength);
  writeHeader(out, header, packLength, extLength);
  out.write(text, HEADER_LENGTH, extLength, 'utf8');
  body.copy(out, HEADER_LENGTH + extLength);
  return out;
}

/** Where {@link writeEventFrame} encodes: an InnerLink's batch (InnerLink.reserve / reservedAt / commit). */
export interface FrameBatch {
  reserve(length: number): Buffer | null;
  readonly reservedAt: number;
  commit(length: number, deferrable?: CommitTiming): void;
}

/**
 * {@link encodeEventFrame} written straight into `batch` (the link's buffer for this turn): no buffer of its own,
 * no copy into the turn's record. Returns false when the batch takes nothing (the link is closed). `deferrable`: whether
 * the frame may wait briefly for later ones instead of leaving at the end of this turn (see CommitTiming).
 */
export function writeEventFrame(
  batch: FrameBatch,
  header: EventFrameHeader,
  body: Buffer,
  version: number,
  sessionJson: string,
  handshakeJson?: string,
  uid?: string | null,
  seq?: number,
  deferrable: CommitTiming = false,
): boolean {
  const text = envelopeText(version, sessionJson, handshakeJson, uid, seq);
  const worst = HEADER_LENGTH + MAX_UTF8_PER_UNIT * text.length + body.length;
  if (worst <= MAX_WORST_CASE_RESERVE) {
    // Room for the longest UTF-8 the envelope can take, then the header once the write says how long it was: no
    // Buffer.byteLength pass over the text (as costly as the write itself for short text). The unused room stays
    // in the batch for the next frame.
    const out = batch.reserve(worst);
    if (out === null) return false;
    const at = batch.reservedAt;
    const extLength = out.write(text, at + HEADER_LENGTH, 'utf8');
    const packLength = HEADER_LENGTH + extLength + body.length;
    body.copy(out, at + HEADER_LENGTH + extLength);
    writeHeader(out, header, packLength, extLength, at);
    batch.commit(packLength, deferrable);
    return true;
  }
  const extLength = Buffer.byteLength(text, 'utf8');
  const packLength = HEADER_LENGTH + extLength + body.length;
  const out = batch.reserve(packLength);
  if (out === null) return false;
  const at = batch.reservedAt;
  writeHeader(out, header, packLength, extLength, at);
  out.write(text, at + HEADER_LENGTH, extLength, 'utf8');
  body.copy(out, at + HEADER_LENGTH + extLength);
  batch.commit(packLength, deferrable);
  return true;
}

/** UTF-8 bytes one UTF-16 code unit can take at most (a lone surrogate: 3, as U+FFFD; a pair: 4 for 2 units). */
const MAX_UTF8_PER_UNIT = 3;
/**
 * Largest worst case (header, 3 bytes per envelope UTF-16 unit, body) {@link writeEventFrame} reserves without
 * measuring the envelope first; past it the envelope's UTF-8 length is measured, so a large event does not grow the
 * batch to three times its envelope.
 */
const MAX_WORST_CASE_RESERVE = 64 * 1024;

export function decodeEventEnvelope(ext: Buffer): EventEnvelope {
  const fast = decodePlainEnvelope(ext);
  if (fast) return fast;
  const value = JSON.parse(ext.toString('utf8')) as EventEnvelope;
  if (typeof value !== 'object' || value === null || typeof value.v !== 'number') {
    throw new Error('event ext_data is not an event envelope');
  }
  return value;
}

const SESSION_NULL_END = Buffer.from('"session":null}', 'latin1');
const CH_QUOTE = 0x22;
const CH_COMMA = 0x2c;
const CH_0 = 0x30;

/**
 * The envelope of most events, `{"q":<n>,"v":<n>,"session":null}` (a client without a session, no uid, no
 * handshake), read straight from the bytes as encodeEventEnvelope writes them: no string decode, no JSON.parse.
 * Anything else (or any deviation from that exact layout) returns null and takes the JSON path.
 */
function decodePlainEnvelope(ext: Buffer): EventEnvelope | null {
  const n = ext.length;
  if (n < 22 || ext[0] !== 0x7b /* { */ || ext[1] !== CH_QUOTE || ext[3] !== CH_QUOTE || ext[4] !== 0x3a /* : */)
    return null;
  // A byte loop: Buffer#compare with offsets costs more than these 15 comparisons.
  for (let i = 0, at = n - SESSION_NULL_END.length; i < SESSION_NULL_END.length; i++, at++) {
    if (ext[at] !== SESSION_NULL_END[i]) return null;
  }
  let at = 5;
  let q: number | undefined;
  if (ext[2] === 0x71 /* q */) {
    q = 0;
    const start = at;
    for (; at < n && ext[at] !== CH_COMMA; at++) {
      const d = ext[at] - CH_0;
      if (d < 0 || d > 9) return null;
      q = q * 10 + d;
    }
    if (at === start || at - start > 10) return null;
    // `,"v":` must follow.
    if (ext[at + 1] !== CH_QUOTE || ext[at + 2] !== 0x76 /* v */ || ext[at + 3] !== CH_QUOTE || ext[at + 4] !== 0x3a)
      return null;
    at += 5;
  } else if (ext[2] !== 0x76 /* v */) {
    return null;
  }
  let v = 0;
  const start = at;
  for (; at < n && ext[at] !== CH_COMMA; at++) {
    const d = ext[at] - CH_0;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  if (at === start || at - start > 15) return null;
  // What is left must be exactly `,"session":null}`.
  if (at + 1 !== n - SESSION_NULL_END.length) return null;
  return q === undefined ? { v, session: null } : { q, v, session: null };
}

/**
 * The sequence number of an event whose envelope does not decode: the gateway writes `{"q":<n>,` first, so it
 * can be read without parsing the rest, and such an event can still be acknowledged (it is dropped).
 */
export function peekEventSeq(ext: Buffer): number | undefined {
  const m = /^\{"q":(\d{1,10}),/.exec(ext.subarray(0, 20).toString('latin1'));
  return m ? Number(m[1]) : undefined;
}
