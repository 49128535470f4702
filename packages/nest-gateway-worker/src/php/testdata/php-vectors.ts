import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The frames, replies and register lines captured from the real PHP GatewayWorker v4.0.0 (our own capture, see
 * /work/shared/reference/php-gatewayworker-vectors.json; the repository's copy is protocol/testdata). For specs.
 */
export const VECTORS_FILE = path.join(__dirname, '..', '..', 'protocol', 'testdata', 'php-gatewayworker-vectors.json');

export interface PhpVector {
  id: string;
  title: string;
  kind: 'register_line' | 'gateway_frame' | 'reply';
  direction: string;
  run: string;
  hex: string;
  text?: string;
  fields?: Record<string, unknown> & { cmd?: number; ext_data?: string; body?: string; payload?: string };
}

export const PHP_VECTORS: readonly PhpVector[] = (
  JSON.parse(fs.readFileSync(VECTORS_FILE, 'utf8')) as { vectors: PhpVector[] }
).vectors;

/** One vector by id (throws when missing, naming the file). */
export function phpVector(id: string): PhpVector {
  const v = PHP_VECTORS.find((x) => x.id === id);
  if (!v) throw new Error(`vector ${id} missing from ${VECTORS_FILE}`);
  return v;
}

/** A vector's bytes as captured. */
export function vectorBytes(id: string): Buffer {
  return Buffer.from(phpVector(id).hex, 'hex');
}
