import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The byte vectors captured from PHP GatewayWorker (packages/nest-gateway-worker/src/protocol/testdata), by kind
 * ("gateway_frame", "register_line", "reply"): real encodings the fuzz targets start their mutations from.
 */
const FILE = resolve(
  __dirname,
  '../../packages/nest-gateway-worker/src/protocol/testdata/php-gatewayworker-vectors.json',
);

export function phpVectors(kind: string): Buffer[] {
  const { vectors } = JSON.parse(readFileSync(FILE, 'utf8')) as { vectors: { kind: string; hex: string }[] };
  const found = vectors.filter((v) => v.kind === kind).map((v) => Buffer.from(v.hex, 'hex'));
  if (found.length === 0) throw new Error(`no "${kind}" vectors in ${FILE}`);
  return found;
}
