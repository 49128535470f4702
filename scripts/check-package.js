#!/usr/bin/env node
'use strict';
/**
 * `npm run check:package`: packs each built package (scripts/pack-package.js: nest-gateway-worker and
 * nest-gateway-worker-client) into a temporary directory and runs the two package linters on each tarball, i.e. on
 * exactly what `npm publish` would upload:
 *  - publint (--strict: warnings fail too): package.json fields, exports, files that exist in the tarball;
 *  - @arethetypeswrong/cli (profile "strict": node10, node16 from CJS and ESM, bundler): that the types
 *    TypeScript resolves for every entry point ("." and "./internal" of the server package, "." of the client, and
 *    "./package.json") match the JavaScript Node loads (the client's CommonJS and ES module builds alike).
 * Exits 1 if any reports a problem. The temporary directory is removed.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { packPackage, PACKAGES } = require('./pack-package');

const root = path.resolve(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nest-gateway-worker-check-'));
let failed = [];
try {
  for (const pkg of PACKAGES) {
    const tarball = packPackage(dir, pkg);
    console.log(`\ncheck-package: ${path.basename(tarball)} (${fs.statSync(tarball).size} bytes)`);
    const checks = [
      ['publint', [bin('publint'), 'run', tarball, '--strict']],
      ['attw', [bin('attw'), tarball, '--profile', 'strict', '--no-emoji', '--no-color']],
    ];
    for (const [name, [command, ...args]] of checks) {
      console.log(`\ncheck-package: ${name} ${pkg}`);
      const result = spawnSync(command, args, { cwd: dir, stdio: 'inherit' });
      if (result.error || result.status !== 0)
        failed.push(`${name} ${pkg} (${result.error ? result.error.message : `exit ${result.status}`})`);
    }
  }
} catch (err) {
  failed.push(err.message);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
if (failed.length > 0) {
  console.error(`\ncheck-package: FAILED: ${failed.join('; ')}`);
  process.exit(1);
}
console.log(`\ncheck-package: publint and attw pass for ${PACKAGES.join(' and ')}`);
