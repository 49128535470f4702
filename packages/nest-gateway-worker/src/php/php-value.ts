/**
 * PHP values as PHP's serialize() and the GatewayWorker wire know them, held so that decoding and encoding again
 * gives the same bytes:
 *  - PHP strings are byte strings: here a JS string with one character (0-255) per byte (what Buffer's 'latin1'
 *    encoding gives), so a string that is not valid UTF-8 survives; {@link bytesOf} / {@link utf8Of} convert;
 *  - ints are numbers while safe, bigints beyond (PHP ints are 64-bit);
 *  - floats are {@link PhpFloat}, so `d:2;` stays a float and `i:2;` an int;
 *  - arrays are ordered maps (`Map`) whose keys are normalised as PHP normalises them (see {@link phpKey}).
 */
export type PhpValue = null | boolean | number | bigint | PhpFloat | string | PhpArray;

/** A PHP array: an ordered map; int keys are numbers (bigints beyond the safe range), string keys byte strings. */
export type PhpArray = Map<PhpKey, PhpValue>;

export type PhpKey = number | bigint | string;

/** A PHP float (a double), kept apart from ints: PHP's serialize writes `d:2;` for 2.0 and `i:2;` for 2. */
export class PhpFloat {
  constructor(readonly value: number) {}
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** PHP's rule for a string array key that becomes an int: canonical decimal, no "-0", no leading zeros. */
const CANONICAL_INT = /^(0|-?[1-9][0-9]*)$/;

/** A PHP int from a bigint (a number while it is safe); undefined outside PHP's 64-bit range. */
export function phpInt(n: bigint): number | bigint | undefined {
  if (n < INT64_MIN || n > INT64_MAX) return undefined;
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/**
 * The key PHP uses for a string key (a byte string): an int when the string is a canonical decimal within 64 bits
 * ("42" ⇒ 42, "-5" ⇒ -5; "042", "-0", "1.5" and "9223372036854775808" stay strings), as PHP's arrays do on every
 * insert and unserialize() does for `s:` keys.
 */
export function phpKey(key: string): PhpKey {
  if (key.length > 20 || !CANONICAL_INT.test(key)) return key;
  return phpInt(BigInt(key)) ?? key;
}

/** The key of an id (a uid or group the gateway holds as text) in a PHP array: {@link phpKey} of its UTF-8 bytes. */
export function idKey(id: string): PhpKey {
  return phpKey(byteString(id));
}

/** The byte string (one character per byte) of a JS text's UTF-8 encoding. */
export function byteString(text: string): string {
  // ASCII (the common case for keys and ids) is its own byte string.
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}

/** The bytes of a byte string. */
export function bytesOf(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** A byte string read as UTF-8 text (invalid sequences become U+FFFD, as Buffer decoding does). */
export function utf8Of(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, 'latin1').toString('utf8');
}

/** Whether a PHP array is a list: keys 0, 1, 2 … in order (PHP's array_is_list). */
export function isList(a: PhpArray): boolean {
  let i = 0;
  for (const key of a.keys()) if (key !== i++) return false;
  return true;
}

/** A PHP list of `values` (keys 0 … n-1). */
export function phpList(values: Iterable<PhpValue>): PhpArray {
  const out: PhpArray = new Map();
  for (const v of values) out.set(out.size, v);
  return out;
}

/**
 * A JSON value (what JSON.parse returns) as PHP's json_decode($json, true) would hold it: objects and arrays become
 * arrays (object keys normalised), integers within 64 bits become ints, other numbers floats, text byte strings.
 */
export function fromJson(value: unknown): PhpValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'boolean':
      return value;
    case 'number':
      if (Number.isSafeInteger(value)) return value;
      if (Number.isInteger(value)) {
        const n = phpInt(BigInt(value));
        if (n !== undefined) return n;
      }
      return new PhpFloat(value);
    case 'bigint':
      return phpInt(value) ?? new PhpFloat(Number(value));
    case 'string':
      return byteString(value);
    case 'object': {
      const out: PhpArray = new Map();
      if (Array.isArray(value)) {
        for (const item of value) out.set(out.size, fromJson(item));
      } else {
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) out.set(idKey(k), fromJson(v));
      }
      return out;
    }
    default:
      return null;
  }
}

/**
 * A PHP value as a JSON value: lists (and the empty array) become arrays, other arrays objects, floats numbers
 * (INF and NAN null, as JSON cannot hold them), bigints numbers, byte strings UTF-8 text.
 */
export function toJson(value: PhpValue): unknown {
  if (value === null || typeof value === 'boolean' || typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') return utf8Of(value);
  if (value instanceof PhpFloat) return Number.isFinite(value.value) ? value.value : null;
  if (isList(value)) return [...value.values()].map(toJson);
  const out: Record<string, unknown> = {};
  for (const [k, v] of value) out[typeof k === 'string' ? utf8Of(k) : String(k)] = toJson(v);
  return out;
}

/**
 * A PHP session (what $_SESSION holds: an array, or nothing) as the JSON object a Nest handler's `@Session()` gets:
 * an array becomes an object (a list by its indexes), anything that is not an array null.
 */
export function toJsonSession(value: PhpValue): Record<string, unknown> | null {
  if (!(value instanceof Map)) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of value) out[typeof k === 'string' ? utf8Of(k) : String(k)] = toJson(v);
  return out;
}

/**
 * PHP's array_replace_recursive(base, patch): every key of `patch` replaces the one of `base` (appended when new),
 * except where both hold arrays, which merge the same way; lists therefore merge by index.
 */
export function replaceRecursive(base: PhpArray, patch: PhpArray): PhpArray {
  const out: PhpArray = new Map(base);
  for (const [key, value] of patch) {
    const current = out.get(key);
    out.set(key, current instanceof Map && value instanceof Map ? replaceRecursive(current, value) : value);
  }
  return out;
}
