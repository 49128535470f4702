import type { ClientConnection } from '../gateway/client-connection';
import { PhpSerializeError, phpSerialize, phpUnserialize } from './php-serialize';
import { fromJson, replaceRecursive, toJsonSession } from './php-value';

const EMPTY = Buffer.alloc(0);

/**
 * One session, two views, so PHP and Nest workers of one cluster share it:
 *  - the gateway keeps every session as JSON text on the connection (`client.session`, what native workers get);
 *  - PHP peers read and write PHP serialize() strings, and a PHP BusinessWorker compares the crc32 of the string an
 *    event carries with the one it last saw or wrote: the string must come back byte for byte, or it fetches the
 *    session again (CMD 203) on every event.
 * So a PHP write stores the JSON view on the connection (sessionVersion++, as any write) and keeps the exact bytes
 * here, tagged with that JSON text; PHP readers get those bytes while the JSON text is still the one they were
 * stored with, and serialize() of the JSON view once a native write replaced it.
 */
interface PhpForm {
  /** The connection's JSON text when these bytes were stored or derived. */
  json: string;
  bytes: Buffer;
}

const phpForms = new WeakMap<ClientConnection, PhpForm>();

/** The session as PHP stores it: '' when none (never set, or cleared), else a serialize() string. */
export function phpSessionOf(client: ClientConnection): Buffer {
  const json = client.session;
  const cached = phpForms.get(client);
  if (cached && cached.json === json) return cached.bytes;
  const bytes = json === 'null' ? EMPTY : phpSerialize(fromJson(JSON.parse(json)));
  phpForms.set(client, { json, bytes });
  return bytes;
}

/**
 * CMD_SET_SESSION from a PHP peer: `bytes` (a serialize() string, '' = none) become the session as they are. The JSON
 * view is what they decode to; a string that is not a PHP array we can read (objects, garbage) leaves native readers
 * a null session while PHP readers still get it back unchanged. Returns the decoding problem, if any, for a warning.
 */
export function setPhpSession(client: ClientConnection, bytes: Buffer): string | null {
  let json = 'null';
  let problem: string | null = null;
  if (bytes.length > 0) {
    try {
      const session = toJsonSession(phpUnserialize(bytes));
      if (session === null) problem = 'the session is not a PHP array';
      else json = JSON.stringify(session);
    } catch (err) {
      if (!(err instanceof PhpSerializeError)) throw err;
      problem = err.message;
    }
  }
  client.session = json;
  client.sessionVersion++;
  // A copy: the frame's bytes are a view into a receive buffer that is reused.
  phpForms.set(client, { json, bytes: Buffer.from(bytes) });
  return problem;
}

/**
 * CMD_UPDATE_SESSION from a PHP peer, as PHP's gateway does it: an empty session takes `patch` as it is; otherwise both
 * are unserialized, merged with array_replace_recursive (lists merge by index) and serialized again. Throws
 * PhpSerializeError (nothing changed) when either is not a PHP array.
 */
export function updatePhpSession(client: ClientConnection, patch: Buffer): string | null {
  const current = phpSessionOf(client);
  if (current.length === 0) return setPhpSession(client, patch);
  const base = phpUnserialize(current);
  const update = phpUnserialize(patch);
  if (!(base instanceof Map) || !(update instanceof Map)) {
    throw new PhpSerializeError('both the session and the update must be PHP arrays');
  }
  return setPhpSession(client, phpSerialize(replaceRecursive(base, update)));
}
