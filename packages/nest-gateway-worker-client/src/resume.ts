import { RESUME_OFFSET_FIELD, RESUME_QUERY_PARAM } from './conventions.js';

export type ResumeOffset = string | number;

/** How many recent messages with an offset the client remembers to drop duplicates (one received twice). */
export const RESUME_DEDUPE_WINDOW = 1_000;

export interface ResumeOptions {
  /** The offset to send on the first connection (e.g. one kept in sessionStorage); later ones send the last seen. */
  offset?: ResumeOffset;
  /** The query parameter the offset is sent in (default "resume"). */
  query?: string;
  /** Called with every new offset (to keep it across page loads). */
  onOffset?: (offset: ResumeOffset) => void;
}

/**
 * The optional resume hook: pushed JSON messages may carry an offset (`"$offset"`, a string or a number, e.g. a
 * history stream's id); the client keeps the last one and sends it in the query of its next connection
 * (`ws://host:7272/?resume=1700000000123-0`), where the worker's `@OnClientConnect()` reads it from the handshake
 * and can send what the client missed. The server side decides what an offset means; nothing is sent before an
 * offset is known.
 *
 * A message that arrives again with the same `$offset` and the same text (a resend that raced live delivery: a
 * recovery replays from the history while the same message is delivered live) is a duplicate: dropped, among the
 * last {@link RESUME_DEDUPE_WINDOW} offsets.
 */
export class ResumeOffsetTracker {
  private last: ResumeOffset | undefined;
  private readonly query: string;
  private readonly onOffset: ((offset: ResumeOffset) => void) | undefined;
  /** Recent messages with an offset, as `<offset>|<hash of the text>`, oldest first (one offset may carry several). */
  private readonly recent = new Set<string>();

  constructor(options: ResumeOptions) {
    this.last = options.offset;
    this.query = options.query ?? RESUME_QUERY_PARAM;
    this.onOffset = options.onOffset;
  }

  get offset(): ResumeOffset | undefined {
    return this.last;
  }

  /**
   * Looks at a received JSON message for an offset; false when it is a duplicate (the same offset and `text` seen
   * recently): the caller drops it.
   */
  received(message: Record<string, unknown>, text?: string): boolean {
    const offset = message[RESUME_OFFSET_FIELD];
    if ((typeof offset === 'string' && offset !== '') || (typeof offset === 'number' && Number.isFinite(offset))) {
      if (text !== undefined) {
        const key = `${typeof offset}:${String(offset)}|${textHash(text)}`;
        if (this.recent.has(key)) return false;
        this.recent.add(key);
        if (this.recent.size > RESUME_DEDUPE_WINDOW) this.recent.delete(this.recent.values().next().value as string);
      }
      this.last = offset;
      this.onOffset?.(offset);
    }
    return true;
  }

  /** `url` with the last offset in its query, if there is one. */
  urlFor(url: string): string {
    return this.last === undefined ? url : withQueryParam(url, this.query, String(this.last));
  }
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
