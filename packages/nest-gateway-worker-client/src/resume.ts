import { RESUME_OFFSET_FIELD, RESUME_QUERY_PARAM } from './conventions.js';

export type ResumeOffset = string | number;

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
 */
export class ResumeOffsetTracker {
  private last: ResumeOffset | undefined;
  private readonly query: string;
  private readonly onOffset: ((offset: ResumeOffset) => void) | undefined;

  constructor(options: ResumeOptions) {
    this.last = options.offset;
    this.query = options.query ?? RESUME_QUERY_PARAM;
    this.onOffset = options.onOffset;
  }

  get offset(): ResumeOffset | undefined {
    return this.last;
  }

  /** Looks at a received JSON message for an offset. */
  received(message: Record<string, unknown>): void {
    const offset = message[RESUME_OFFSET_FIELD];
    if ((typeof offset === 'string' && offset !== '') || (typeof offset === 'number' && Number.isFinite(offset))) {
      this.last = offset;
      this.onOffset?.(offset);
    }
  }

  /** `url` with the last offset in its query, if there is one. */
  urlFor(url: string): string {
    return this.last === undefined ? url : withQueryParam(url, this.query, String(this.last));
  }
}

/** Adds `name=value` to a URL's query (before any #fragment), without parsing the rest of it. */
export function withQueryParam(url: string, name: string, value: string): string {
  const hash = url.indexOf('#');
  const base = hash < 0 ? url : url.slice(0, hash);
  const fragment = hash < 0 ? '' : url.slice(hash);
  const separator = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
  return `${base}${separator}${encodeURIComponent(name)}=${encodeURIComponent(value)}${fragment}`;
}
