// The last step of `npm run build` in this package (after tsc's ESM build into dist/esm and CommonJS build into
// dist/cjs): marks dist/cjs as CommonJS for Node (this package is "type": "module"), and bundles the ESM build into one
// minified file for pages without a bundler, dist/browser/nest-gateway-worker-client.min.js. Prints that file's size,
// minified and gzipped.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(join(root, 'dist', 'cjs', 'package.json'), '{ "type": "commonjs" }\n');

const outfile = join(root, 'dist', 'browser', 'nest-gateway-worker-client.min.js');
mkdirSync(dirname(outfile), { recursive: true });
await build({
  entryPoints: [join(root, 'dist', 'esm', 'index.js')],
  outfile,
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const bytes = readFileSync(outfile);
console.log(
  `nest-gateway-worker-client: dist/browser/${outfile.split('/').pop()} ${bytes.length} bytes minified, ` +
    `${gzipSync(bytes, { level: 9 }).length} bytes gzipped`,
);
