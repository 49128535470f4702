import { ConfigError } from '../config/environment';

/** The URL schemes the backplane accepts now. */
export const BACKPLANE_URL_SCHEMES = ['redis:', 'rediss:'];
/** Forms that are planned, refused with a clear message until they are supported. */
const LATER_SCHEMES = ['redis+sentinel:', 'redis+cluster:', 'rediss+sentinel:', 'rediss+cluster:'];

/**
 * Checks a backplane URL, `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS), and returns it with
 * what logs may show instead: the same URL with the password replaced by "***". The password never appears in an
 * error message either.
 */
export function parseBackplaneUrl(name: string, raw: unknown): { url: string; display: string } {
  if (typeof raw !== 'string') throw new ConfigError(`${name} is invalid: expected a redis:// or rediss:// URL`);
  const text = raw.trim();
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(text)?.[1].toLowerCase();
  if (scheme !== undefined && LATER_SCHEMES.includes(scheme)) {
    throw new ConfigError(
      `${name} is not supported yet (${scheme}//): Sentinel and Cluster come in a later version; use redis:// or rediss://`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    // The text may hold a password: say what is wrong without quoting it.
    throw new ConfigError(`${name} is invalid: not a URL (expected redis://[user:password@]host[:port][/db])`);
  }
  const display = redactedUrl(parsed);
  if (!BACKPLANE_URL_SCHEMES.includes(parsed.protocol)) {
    throw new ConfigError(`${name}=${display} is invalid: expected a redis:// or rediss:// (TLS) URL`);
  }
  if (parsed.hostname === '') throw new ConfigError(`${name}=${display} is invalid: the host is missing`);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,5}$/.test(db)) {
    throw new ConfigError(`${name}=${display} is invalid: the path must be a database number, e.g. /0`);
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    throw new ConfigError(`${name}=${display} is invalid: query parameters and fragments are not supported`);
  }
  return { url: text, display };
}

/** The URL with its password (if any) replaced by "***". */
function redactedUrl(url: URL): string {
  if (url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.password = '***';
  return copy.href;
}

/** Whether the URL's host is a loopback address (plain redis:// to another host deserves a warning). */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
}
