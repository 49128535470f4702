#!/usr/bin/env node
'use strict';
/**
 * `node scripts/pack-package.js [dest-dir] [package]`: packs an already built workspace package (default
 * nest-gateway-worker, from `npm run build:package` or `npm run build`; also nest-gateway-worker-client, from
 * `npm run build:client`) with `npm pack` into dest-dir (default: a new temporary directory) and prints the tarball's
 * absolute path as the only line on stdout. Builds nothing itself.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
/** The workspace packages that are published, each in packages/<name>. */
const PACKAGES = ['nest-gateway-worker', 'nest-gateway-worker-client'];

/** Packs the package `name` into `destDir` (created if missing); returns the tarball's absolute path. */
function packPackage(destDir, name = PACKAGES[0]) {
  if (!PACKAGES.includes(name)) throw new Error(`unknown package ${name}: expected one of ${PACKAGES.join(', ')}`);
  const packageDir = path.join(root, 'packages', name);
  const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  const built = [manifest.main, ...Object.values(manifest.bin ?? {})].map((f) => path.join(packageDir, f));
  const missing = built.filter((f) => !fs.existsSync(f));
  if (missing.length > 0) {
    throw new Error(`${missing.map((f) => path.relative(root, f)).join(', ')} not built: run \`npm run build\` first`);
  }
  fs.mkdirSync(destDir, { recursive: true });
  const out = execFileSync('npm', ['pack', '-w', manifest.name, '--pack-destination', destDir, '--json'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // npm prints the JSON report after any output of lifecycle scripts: parse from the first line opening it.
  const [report] = JSON.parse(out.slice(out.search(/^\[/m)));
  const tarball = path.resolve(destDir, report.filename);
  if (!fs.existsSync(tarball)) throw new Error(`npm pack reported ${report.filename}, but ${tarball} does not exist`);
  return tarball;
}

if (require.main === module) {
  try {
    const dest = process.argv[2]
      ? path.resolve(process.argv[2])
      : fs.mkdtempSync(path.join(os.tmpdir(), 'nest-gateway-worker-pack-'));
    console.log(packPackage(dest, process.argv[3]));
  } catch (err) {
    console.error(`pack-package: ${err.message}`);
    process.exit(1);
  }
}

module.exports = { packPackage, PACKAGES };
