/**
 * A double as PHP prints it with `serialize_precision = -1` (its default; serialize() and json_encode()): the
 * shortest digits that read back as the same double (JavaScript's toExponential() gives the same digits), laid out
 * as PHP's php_gcvt does with a precision of 17: plain decimal while the decimal exponent is between -4 and 17, else
 * `1.0E+25` / `1.5E-7` (one digit, a point, at least one more digit, the exponent without leading zeros). `INF`,
 * `-INF`, `NAN`; -0.0 is `-0`. serialize() uses `E`, json_encode() `e`.
 *
 * With `precision` (PHP's `precision` ini, 14 by default: a float converted to a string, `(string)$f`), the digits are
 * rounded to that many significant ones, trailing zeros dropped, and the switch to exponent notation is at it.
 */
export function phpFloatText(value: number, exponentMark: 'E' | 'e' = 'E', precision?: number): string {
  if (Number.isNaN(value)) return 'NAN';
  if (value === Infinity) return 'INF';
  if (value === -Infinity) return '-INF';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const sign = value < 0 ? '-' : '';
  // "d.ddde±x": the shortest round-trip digits and the exponent of the first one.
  const [mantissa, exponent] = Math.abs(value)
    .toExponential(precision === undefined ? undefined : precision - 1)
    .split('e');
  const digits = mantissa.replace('.', '').replace(/(?<=.)0+$/, '');
  // PHP's decpt: the value is 0.<digits> × 10^decpt.
  const decpt = Number(exponent) + 1;
  if (decpt < -3 || decpt > (precision ?? SHORTEST_PRECISION)) {
    const e = decpt - 1;
    const rest = digits.length > 1 ? digits.slice(1) : '0';
    return `${sign}${digits[0]}.${rest}${exponentMark}${e < 0 ? '-' : '+'}${Math.abs(e)}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (digits.length <= decpt) return sign + digits + '0'.repeat(decpt - digits.length);
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/** The precision php_gcvt uses in mode 0 (serialize_precision = -1): the switch to exponent notation. */
const SHORTEST_PRECISION = 17;

/** PHP's default `precision` ini: the significant digits of `(string)$float`. */
export const PHP_STRING_PRECISION = 14;
