'use strict';
/**
 * Saves the current build as a root another run can compare against (bench scenario 7's
 * BENCH_BACKPLANE_BASE_ROOT, BENCH_C_ROOT, echo-cpu.js's ECHO_CPU_ROOTS):
 *
 *   node bench/tools/save-build.js /tmp/base     (after `npm run build`)
 *
 * <dir>/dist/apps is a copy of dist/apps; <dir>/node_modules/nest-gateway-worker a copy of the package's
 * package.json and dist/; every other entry of the workspace's node_modules is a symlink to it. So the apps in
 * <dir> and a sender given `root: <dir>` load the saved package, and everything else from this checkout.
 */
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const PACKAGE = 'nest-gateway-worker';
const dir = process.argv[2];
if (!dir) {
  console.error('usage: node bench/tools/save-build.js <dir>');
  process.exit(2);
}
const out = path.resolve(dir);
if (fs.existsSync(out)) {
  console.error(`${out} exists: choose a new directory`);
  process.exit(2);
}
const pkg = path.join(ROOT, 'packages', PACKAGE);
for (const need of [path.join(ROOT, 'dist', 'apps'), path.join(pkg, 'dist')])
  if (!fs.existsSync(need)) {
    console.error(`${need} missing: run \`npm run build\` first`);
    process.exit(2);
  }
fs.mkdirSync(path.join(out, 'node_modules', PACKAGE), { recursive: true });
fs.cpSync(path.join(ROOT, 'dist', 'apps'), path.join(out, 'dist', 'apps'), { recursive: true });
fs.cpSync(path.join(pkg, 'package.json'), path.join(out, 'node_modules', PACKAGE, 'package.json'));
fs.cpSync(path.join(pkg, 'dist'), path.join(out, 'node_modules', PACKAGE, 'dist'), { recursive: true });
if (fs.existsSync(path.join(pkg, 'internal')))
  fs.cpSync(path.join(pkg, 'internal'), path.join(out, 'node_modules', PACKAGE, 'internal'), { recursive: true });
for (const entry of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
  if (entry === PACKAGE) continue;
  fs.symlinkSync(path.join(ROOT, 'node_modules', entry), path.join(out, 'node_modules', entry));
}
console.log(`saved the build of ${ROOT} to ${out}`);
