/**
 * PHP's secretKey check, as its Register and Gateway apply it: strict equality of the `secret_key` a peer sent
 * (missing = '' for the register's hellos; the caller decides what missing means elsewhere) with the configured
 * key; a value of another JSON type never matches. Not a constant-time comparison: the key travels in clear text
 * on this wire anyway.
 */
export function phpSecretKeyMatches(sent: unknown, configured: string): boolean {
  return (sent ?? '') === configured;
}
