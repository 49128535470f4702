/** Sessions as the gateway stores them: JSON text, checked and merged only where a command needs it. */

/**
 * Parses session JSON written by a worker or client (SetSession, UpdateSession): it must be a JSON object or
 * null (empty ext = null). Throws with a reason otherwise.
 */
export function parseSessionJson(ext: Buffer): Record<string, unknown> | null {
  if (ext.length === 0) return null;
  const value: unknown = JSON.parse(ext.toString('utf8'));
  if (value !== null && (typeof value !== 'object' || Array.isArray(value))) {
    throw new Error('a session must be a JSON object or null');
  }
  return value as Record<string, unknown> | null;
}

/**
 * What UpdateSession applies: objects merge key by key, recursively (PHP's array_replace_recursive);
 * anything else in `patch`, arrays included, replaces what was there (PHP would merge lists by index).
 */
export function mergeSession(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) out[key] = mergeSession(out[key], value);
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
