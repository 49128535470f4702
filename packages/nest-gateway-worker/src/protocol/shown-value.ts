/**
 * A caller's bad argument as an error message shows it: its JSON when it has one. A BigInt, a circular object or a
 * throwing `toJSON` must not replace the error being built with JSON.stringify's own TypeError.
 */
export function shownValue(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(typeof value);
  } catch {
    return `a ${typeof value} that is not JSON`;
  }
}
