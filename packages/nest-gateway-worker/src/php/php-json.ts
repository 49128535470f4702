import { phpFloatText } from './php-float';
import { PhpFloat, isList, type PhpValue } from './php-value';

/**
 * PHP's json_encode($value, JSON_UNESCAPED_UNICODE): what workerman 5's WebSocket protocol sends a client when a
 * PHP peer hands the gateway a non-scalar message (a serialize()d body, flag 0). Lists are JSON arrays, other arrays
 * objects; "/" is escaped as "\/", non-ASCII text is kept (U+2028 and U+2029 escaped). Returns the bytes, or null
 * where PHP's json_encode fails (a string that is not UTF-8, INF or NAN): workerman then sends an empty message.
 */
export function phpJsonEncode(value: PhpValue): Buffer | null {
  const parts: string[] = [];
  return encode(value, parts) ? Buffer.from(parts.join(''), 'utf8') : null;
}

function encode(v: PhpValue, out: string[]): boolean {
  if (v === null) out.push('null');
  else if (typeof v === 'boolean') out.push(v ? 'true' : 'false');
  else if (typeof v === 'number' || typeof v === 'bigint') out.push(String(v));
  else if (v instanceof PhpFloat) {
    if (!Number.isFinite(v.value)) return false;
    out.push(phpFloatText(v.value, 'e'));
  } else if (typeof v === 'string') {
    const text = jsonString(v);
    if (text === null) return false;
    out.push(text);
  } else if (isList(v)) {
    out.push('[');
    let first = true;
    for (const item of v.values()) {
      if (!first) out.push(',');
      first = false;
      if (!encode(item, out)) return false;
    }
    out.push(']');
  } else {
    out.push('{');
    let first = true;
    for (const [key, item] of v) {
      if (!first) out.push(',');
      first = false;
      const k = jsonString(typeof key === 'string' ? key : String(key));
      if (k === null) return false;
      out.push(k, ':');
      if (!encode(item, out)) return false;
    }
    out.push('}');
  }
  return true;
}

const ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '/': '\\/',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** A byte string as a JSON string literal, or null when its bytes are not UTF-8. */
function jsonString(bytes: string): string | null {
  const buffer = Buffer.from(bytes, 'latin1');
  const text = buffer.toString('utf8');
  // Invalid UTF-8 decodes to U+FFFD and does not encode back to the same bytes.
  if (!Buffer.from(text, 'utf8').equals(buffer)) return null;
  // eslint-disable-next-line no-control-regex
  return `"${text.replace(/["\\/\u0000-\u001f\u2028\u2029]/g, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}
