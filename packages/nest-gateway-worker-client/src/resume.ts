import { RESUME_OFFSET_FIELD, RESUME_OFFSETS_FIELD, RESUME_QUERY_PARAM, RESUME_STREAM_FIELD } from './conventions.js';

export type ResumeOffset = string | number;

/** How many recent messages with an offset the client remembers to drop duplicates (one received twice). */
export const RESUME_DEDUPE_WINDOW = 1_000;
/** How many streams' offsets the client keeps (the ones updated longest ago are forgotten first). */
export const RESUME_MAX_STREAMS = 32;
/** Longest stream name the client keeps an offset for (longer ones are ignored: they would bloat the URL). */
export const RESUME_MAX_STREAM_NAME = 256;

export interface ResumeOptions {
  /** The offset to send on the first connection (e.g. one kept in sessionStorage); later ones send the last seen. */
  offset?: ResumeOffset;
  /** Per-stream offsets to send on the first connection (e.g. the `offsets` kept from an earlier page). */
  offsets?: Record<string, ResumeOffset>;
  /** The query parameter the offset is sent in (default "resume"); each stream's as `<query>.<stream>`. */
  query?: string;
  /**
   * Called with every new offset (to keep it across page loads), and the stream it belongs to when the message
   * named one (`$stream`, or a key of `$offsets`).
   */
  onOffset?: (offset: ResumeOffset, stream?: string) => void;
}

/**
 * The optional resume hook: pushed JSON messages may carry an offset (`"$offset"`, a string or a number, e.g. a
 * history stream's id), and the stream it belongs to (`"$stream"`, e.g. `group:room1`: a history send sets both);
 * a message may also carry several streams' offsets at once (`"$offsets": { "<stream>": <offset> }`, e.g. a welcome
 * after recovering several histories). The client keeps the last offset, and the last one of each stream, and sends
 * them in the query of its next connection (`ws://host:7272/?resume=e1:9&resume.group:room1=e1:9&resume.uid:7=e4:2`),
 * where the worker's `@OnClientConnect()` reads them from the handshake (`resumePosition(query, kind, target)` on the
 * server picks one stream's) and can send what the client missed. The server side decides what an offset means;
 * nothing is sent before an offset is known.
 *
 * A message that arrives again with the same `$offset` and the same text (a resend that raced live delivery: a
 * recovery replays from the history while the same message is delivered live) is a duplicate: dropped, among the
 * last {@link RESUME_DEDUPE_WINDOW} offsets.
 */
export class ResumeOffsetTracker {
  private last: ResumeOffset | undefined;
  /** The last offset of each stream, the one updated longest ago first. */
  private readonly streams = new Map<string, ResumeOffset>();
  private readonly query: string;
  private readonly onOffset: ((offset: ResumeOffset, stream?: string) => void) | undefined;
  /** Recent messages with an offset, as `<offset>|<hash of the text>`, oldest first (one offset may carry several). */
  private readonly recent = new Set<string>();

  constructor(options: ResumeOptions) {
    this.last = options.offset;
    this.query = options.query ?? RESUME_QUERY_PARAM;
    this.onOffset = options.onOffset;
    for (const [stream, offset] of Object.entries(options.offsets ?? {}))
      if (isStreamName(stream) && isOffset(offset)) this.keep(stream, offset);
  }

  get offset(): ResumeOffset | undefined {
    return this.last;
  }

  /** The last offset of each stream (a copy). */
  get offsets(): Record<string, ResumeOffset> {
    return Object.fromEntries(this.streams);
  }

  /**
   * Looks at a received JSON message for an offset; false when it is a duplicate (the same offset and `text` seen
   * recently): the caller drops it.
   */
  received(message: Record<string, unknown>, text?: string): boolean {
    const offset = message[RESUME_OFFSET_FIELD];
    if (isOffset(offset)) {
      if (text !== undefined) {
        const key = `${typeof offset}:${String(offset)}|${textHash(text)}`;
        if (this.recent.has(key)) return false;
        this.recent.add(key);
        if (this.recent.size > RESUME_DEDUPE_WINDOW) this.recent.delete(this.recent.values().next().value as string);
      }
      this.last = offset;
      const stream = message[RESUME_STREAM_FIELD];
      if (isStreamName(stream)) {
        this.keep(stream, offset);
        this.onOffset?.(offset, stream);
      } else {
        this.onOffset?.(offset);
      }
    }
    const several = message[RESUME_OFFSETS_FIELD];
    if (typeof several === 'object' && several !== null && !Array.isArray(several)) {
      for (const [stream, value] of Object.entries(several as Record<string, unknown>)) {
        if (!isStreamName(stream) || !isOffset(value)) continue;
        this.keep(stream, value);
        this.onOffset?.(value, stream);
      }
    }
    return true;
  }

  /** `url` with the last offset and each stream's in its query, if there are any. */
  urlFor(url: string): string {
    let out = this.last === undefined ? url : withQueryParam(url, this.query, String(this.last));
    for (const [stream, offset] of this.streams) out = withQueryParam(out, `${this.query}.${stream}`, String(offset));
    return out;
  }

  private keep(stream: string, offset: ResumeOffset): void {
    this.streams.delete(stream);
    this.streams.set(stream, offset);
    if (this.streams.size > RESUME_MAX_STREAMS) this.streams.delete(this.streams.keys().next().value as string);
  }
}

function isOffset(value: unknown): value is ResumeOffset {
  return (typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value));
}

function isStreamName(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= RESUME_MAX_STREAM_NAME;
}

/** A 32-bit FNV-1a hash of a text (not cryptographic: it only tells two texts with the same offset apart). */
function textHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Adds `name=value` to a URL's query (before any #fragment), without parsing the rest of it. */
export function withQueryParam(url: string, name: string, value: string): string {
  const hash = url.indexOf('#');
  const base = hash < 0 ? url : url.slice(0, hash);
  const fragment = hash < 0 ? '' : url.slice(hash);
  const separator = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
  return `${base}${separator}${encodeURIComponent(name)}=${encodeURIComponent(value)}${fragment}`;
}
