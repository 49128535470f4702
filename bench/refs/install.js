'use strict';
/**
 * References with dependencies of their own (bench/refs/<name>/package.json + package-lock.json, not workspaces of
 * the monorepo): installed with `npm ci --prefix bench/refs/<name>` the first time a run needs one, so a fresh
 * clone's `npm run bench` works without a step of its own. Nothing is installed when the reference's
 * node_modules is already there; delete it to reinstall.
 */
const path = require('node:path');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

const INSTALL_TIMEOUT_MS = 300_000;

/** The reference's directory, after `npm ci` if `probe` (a file under its node_modules) is missing. */
function ensureReference(name, probe, log = (msg) => process.stderr.write(`bench: ${msg}\n`)) {
  const dir = path.join(__dirname, name);
  if (fs.existsSync(path.join(dir, 'node_modules', probe))) return dir;
  log(`installing the ${name} reference (npm ci --prefix ${path.relative(process.cwd(), dir) || dir}; first use only)`);
  try {
    execFileSync('npm', ['ci', '--prefix', dir, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: dir,
      timeout: INSTALL_TIMEOUT_MS,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (err) {
    const stderr = err.stderr ? err.stderr.toString().trim().split('\n').slice(-5).join('\n  ') : err.message;
    throw new Error(`npm ci --prefix ${dir} failed (the ${name} reference needs the npm registry once):\n  ${stderr}`, {
      cause: err,
    });
  }
  if (!fs.existsSync(path.join(dir, 'node_modules', probe)))
    throw new Error(`npm ci --prefix ${dir} ran but ${probe} is still missing`);
  return dir;
}

module.exports = { ensureReference };
