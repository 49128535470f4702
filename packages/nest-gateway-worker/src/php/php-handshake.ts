import type { IncomingHttpHeaders } from 'node:http';
import type { ClientHandshake } from '../protocol/client-handshake';
import { byteString, phpKey, toJson, utf8Of, type PhpArray, type PhpValue } from './php-value';

/**
 * The WebSocket handshake of a client in the two forms: ours (ClientHandshake, sent with a client's first event to a
 * native worker) and PHP's `onWebSocketConnect` data (the body of CMD 205: `["get" => …, "server" => …, "cookie" => …]`
 * in workerman 5's layout, reference/php-gatewayworker-spec.md §6.7).
 */

/** PHP's onWebSocketConnect data for a client that came through a WebSocket listener on `serverPort`. */
export function phpWebSocketConnectData(h: ClientHandshake, serverPort: number): PhpArray {
  const at = h.url.indexOf('?');
  const queryString = at < 0 ? '' : h.url.slice(at + 1);
  const header = (name: string): string | undefined => headerText(h.headers[name]);
  const server: PhpArray = new Map<string, PhpValue>([
    ['QUERY_STRING', byteString(queryString)],
    ['REQUEST_METHOD', 'GET'],
    ['REQUEST_URI', byteString(h.url)],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['SERVER_NAME', byteString(header('host') ?? '')],
    ['CONTENT_TYPE', header('content-type') === undefined ? null : byteString(header('content-type')!)],
    ['REMOTE_ADDR', byteString(h.remoteAddress)],
    ['REMOTE_PORT', h.remotePort],
    ['SERVER_PORT', serverPort],
  ]);
  for (const [name, value] of Object.entries(h.headers)) {
    const text = headerText(value);
    if (text !== undefined) server.set(byteString(`HTTP_${name.toUpperCase().replace(/-/g, '_')}`), byteString(text));
  }
  const cookie = header('cookie');
  return new Map<string, PhpValue>([
    ['get', parseStr(queryString)],
    ['server', server],
    ['cookie', cookie === undefined ? new Map() : parseStr(cookie.replace(/; ?/g, '&'))],
  ]);
}

/** A header value as one text (Node gives repeated set-cookie as a list). */
function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * PHP's parse_str() for what clients send (query strings, cookies): `a=1&b=2`, `+` and %XX decoded, a repeated key
 * keeps the last value, `a[]=1&a[]=2` and `a[x][y]=1` build arrays, and "." or " " in the top name become "_".
 */
export function parseStr(text: string): PhpArray {
  const out: PhpArray = new Map();
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = decodeComponent(eq < 0 ? pair : pair.slice(0, eq)).replace(/^ +/, '');
    const value = byteString(eq < 0 ? '' : decodeComponent(pair.slice(eq + 1)));
    // An opening bracket without a closing one is part of the name (PHP turns it into "_", like "." and " ").
    const bracket = rawKey.indexOf('[');
    const open = bracket > 0 && rawKey.indexOf(']', bracket) > 0 ? bracket : -1;
    const base = (open > 0 ? rawKey.slice(0, open) : rawKey.replace('[', '_')).replace(/[. ]/g, '_');
    if (base === '') continue;
    const path: (string | null)[] = [];
    if (open > 0) {
      const re = /\[([^\]]*)\]/gy;
      re.lastIndex = open;
      for (let m = re.exec(rawKey); m; m = re.exec(rawKey)) path.push(m[1] === '' ? null : m[1]);
    }
    assign(out, [base, ...path], value);
  }
  return out;
}

function assign(target: PhpArray, path: (string | null)[], value: PhpValue): void {
  const [head, ...rest] = path;
  const key = head === null ? nextIndex(target) : phpKey(byteString(head));
  if (rest.length === 0) {
    target.set(key, value);
    return;
  }
  let child = target.get(key);
  if (!(child instanceof Map)) target.set(key, (child = new Map()));
  assign(child, rest, value);
}

/** PHP's next index for `$a[] = …`: one above the largest int key, 0 when none. */
function nextIndex(a: PhpArray): number {
  let next = 0;
  for (const k of a.keys()) if (typeof k === 'number' && k >= next) next = k + 1;
  return next;
}

function decodeComponent(s: string): string {
  const plus = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

/**
 * Our ClientHandshake from a PHP gateway's onWebSocketConnect data (a worker of the php profile): the request target,
 * query and headers (from the `HTTP_*` entries, `HTTP_X_REAL_IP` → `x-real-ip`), and the peer's address.
 */
export function handshakeFromPhp(data: PhpValue, gatewayAddress: string): ClientHandshake {
  const get = (a: PhpValue, key: string): PhpValue => (a instanceof Map ? (a.get(key) ?? null) : null);
  const server = get(data, 'server');
  const text = (v: PhpValue): string => (typeof v === 'string' ? utf8Of(v) : typeof v === 'number' ? String(v) : '');
  const headers: IncomingHttpHeaders = {};
  if (server instanceof Map) {
    for (const [key, value] of server) {
      if (typeof key === 'string' && key.startsWith('HTTP_') && typeof value === 'string') {
        headers[key.slice(5).toLowerCase().replace(/_/g, '-')] = utf8Of(value);
      }
    }
  }
  const query: Record<string, string | string[]> = {};
  const params = toJson(get(data, 'get'));
  if (typeof params === 'object' && params !== null) {
    for (const [key, value] of Object.entries(params)) {
      if (typeof value === 'string') query[key] = value;
      else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) query[key] = value as string[];
    }
  }
  const port = get(server, 'REMOTE_PORT');
  return {
    listener: `php-gateway ${gatewayAddress}`,
    protocol: 'ws',
    remoteAddress: text(get(server, 'REMOTE_ADDR')),
    remotePort: typeof port === 'number' ? port : Number(text(port)) || 0,
    url: text(get(server, 'REQUEST_URI')),
    query,
    headers,
  };
}
