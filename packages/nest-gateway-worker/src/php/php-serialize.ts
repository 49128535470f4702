import { phpFloatText } from './php-float';
import { PhpFloat, phpInt, phpKey, type PhpArray, type PhpKey, type PhpValue } from './php-value';

/**
 * PHP's serialize() / unserialize() for the values GatewayWorker puts on the wire (sessions, message bodies,
 * replies): `N;`, `b:`, `i:`, `d:`, `s:` and `a:`. Objects, references and the legacy forms (`O:`, `C:`, `r:`, `R:`,
 * `E:`, `S:`) are refused: GatewayWorker's data never needs them, and instantiating objects from the wire is what
 * PHP itself turns off for message bodies.
 *
 * The decoder is total: any bytes give a value or a {@link PhpSerializeError}; array sizes are checked against the
 * bytes left before anything is allocated, and nesting is bounded.
 */

/** Deepest nesting of arrays unserialize accepts. */
export const MAX_PHP_DEPTH = 64;

/** Bytes that are not a PHP serialize() value we accept. */
export class PhpSerializeError extends Error {
  override name = 'PhpSerializeError';
}

/** serialize($value): the bytes PHP writes for it. */
export function phpSerialize(value: PhpValue): Buffer {
  const parts: string[] = [];
  write(value, parts);
  return Buffer.from(parts.join(''), 'latin1');
}

function write(v: PhpValue, out: string[]): void {
  if (v === null) out.push('N;');
  else if (typeof v === 'boolean') out.push(v ? 'b:1;' : 'b:0;');
  else if (typeof v === 'number' || typeof v === 'bigint') out.push(`i:${v};`);
  else if (typeof v === 'string') out.push(`s:${v.length}:"`, v, '";');
  else if (v instanceof PhpFloat) out.push(`d:${phpFloatText(v.value)};`);
  else {
    out.push(`a:${v.size}:{`);
    for (const [key, item] of v) {
      writeKey(key, out);
      write(item, out);
    }
    out.push('}');
  }
}

function writeKey(key: PhpKey, out: string[]): void {
  if (typeof key === 'string') out.push(`s:${key.length}:"`, key, '";');
  else out.push(`i:${key};`);
}

/** unserialize($bytes) for the forms above; throws PhpSerializeError with the offset of the problem. */
export function phpUnserialize(bytes: Buffer): PhpValue {
  const reader = new Reader(bytes.toString('latin1'));
  const value = reader.value(0);
  if (reader.at !== reader.text.length) reader.fail('data after the value');
  return value;
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

class Reader {
  at = 0;

  constructor(readonly text: string) {}

  fail(why: string): never {
    throw new PhpSerializeError(`not a PHP serialize() value: ${why} at offset ${this.at} of ${this.text.length}`);
  }

  value(depth: number): PhpValue {
    const type = this.text[this.at];
    if (type === 'N') {
      this.expect('N;');
      return null;
    }
    if (type === undefined) this.fail('unexpected end');
    if (this.text[this.at + 1] !== ':') this.fail(`unknown type ${JSON.stringify(type)}`);
    this.at += 2;
    switch (type) {
      case 'b': {
        const t = this.until(';');
        if (t !== '0' && t !== '1') this.fail('a boolean must be 0 or 1');
        return t === '1';
      }
      case 'i':
        return this.int(this.until(';'));
      case 'd': {
        const t = this.until(';');
        if (t === 'INF') return new PhpFloat(Infinity);
        if (t === '-INF') return new PhpFloat(-Infinity);
        if (t === 'NAN') return new PhpFloat(NaN);
        if (!DECIMAL.test(t)) this.fail('bad float');
        return new PhpFloat(Number(t));
      }
      case 's':
        return this.string();
      case 'a':
        return this.array(depth);
      default:
        this.at -= 2;
        return this.fail(`unsupported type ${JSON.stringify(type)} (only N, b, i, d, s and a)`);
    }
  }

  private int(t: string): number | bigint {
    if (!INTEGER.test(t) || t.length > 21) this.fail('bad integer');
    const n = phpInt(BigInt(t));
    return n ?? this.fail('integer outside 64 bits');
  }

  /** The text up to `end` (consumed with it). */
  private until(end: string): string {
    const stop = this.text.indexOf(end, this.at);
    // Numbers are short: a missing terminator within a few dozen bytes is an error, not a scan of the rest.
    if (stop < 0 || stop - this.at > 400) this.fail(`${JSON.stringify(end)} expected`);
    const t = this.text.slice(this.at, stop);
    this.at = stop + 1;
    return t;
  }

  private expect(s: string): void {
    if (!this.text.startsWith(s, this.at)) this.fail(`${JSON.stringify(s)} expected`);
    this.at += s.length;
  }

  private length(): number {
    const t = this.until(':');
    if (!/^\d{1,10}$/.test(t)) this.fail('bad length');
    return Number(t);
  }

  private string(): string {
    const n = this.length();
    this.expect('"');
    if (this.at + n > this.text.length) this.fail(`string of ${n} bytes past the end`);
    const s = this.text.slice(this.at, this.at + n);
    this.at += n;
    this.expect('";');
    return s;
  }

  private array(depth: number): PhpArray {
    if (depth >= MAX_PHP_DEPTH) this.fail(`arrays nested deeper than ${MAX_PHP_DEPTH}`);
    const n = this.length();
    // Every element takes at least 4 bytes ("i:0;N;" is 6): a count the bytes cannot hold is refused up front.
    if (n * 4 > this.text.length - this.at) this.fail(`array of ${n} elements past the end`);
    this.expect('{');
    const out: PhpArray = new Map();
    for (let i = 0; i < n; i++) {
      const keyType = this.text[this.at];
      let key: PhpKey;
      if (keyType === 'i' && this.text[this.at + 1] === ':') {
        this.at += 2;
        key = this.int(this.until(';'));
      } else if (keyType === 's' && this.text[this.at + 1] === ':') {
        this.at += 2;
        key = phpKey(this.string());
      } else {
        this.fail('an array key must be i: or s:');
      }
      out.set(key, this.value(depth + 1));
    }
    this.expect('}');
    return out;
  }
}
