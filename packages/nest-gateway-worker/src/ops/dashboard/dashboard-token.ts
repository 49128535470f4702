import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The dashboard's bearer token check: `Authorization: Bearer <token>` against the configured token. Both sides are
 * hashed (SHA-256) before a constant-time comparison, so neither the token's characters nor its length can be
 * learned from response times.
 */
export class DashboardToken {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = sha256(token);
  }

  /** The token of an Authorization header value (`Bearer <token>`, scheme case-insensitive), or null. */
  static fromHeader(header: string | string[] | undefined): string | null {
    const value = Array.isArray(header) ? header[0] : header;
    if (typeof value !== 'string') return null;
    const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(value);
    return m ? m[1] : null;
  }

  /** Whether `given` is the token (constant time in the token's content and length). */
  matches(given: string): boolean {
    return timingSafeEqual(sha256(given), this.digest);
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
