'use strict';
/**
 * Writes the READMEs npm shows for the two packages from the repository's README:
 *  - packages/nest-gateway-worker/README.md: its title, the introduction, "Install" and "Five minutes to a working
 *    app", then a pointer to the full documentation;
 *  - packages/nest-gateway-worker-client/README.md: the "Browser client" section, its subsections one level up.
 * `node scripts/package-readme.js --check` exits 1 when a file is not what it would write (the unit spec
 * package-readme.spec.ts runs the same check).
 */
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const TARGET = path.join(ROOT, 'packages', 'nest-gateway-worker', 'README.md');
const CLIENT_TARGET = path.join(ROOT, 'packages', 'nest-gateway-worker-client', 'README.md');

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/**
 * In-page links whose section is not on the package page become plain text, and so do links to other files of
 * the repository (README.zh-CN.md): the package does not ship them, so npm's page could not follow them.
 */
function unlinkMissingAnchors(text) {
  const anchors = new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1])));
  return text
    .replace(/\[([^\]]+)\]\(#([^)]+)\)/g, (link, label, anchor) => (anchors.has(anchor) ? link : label))
    .replace(/\[([^\]]+)\]\((?![a-z]+:|#)[^)]+\)/g, (_link, label) => label);
}

function packageReadme(rootReadme) {
  const start = rootReadme.indexOf('## Install');
  const end = rootReadme.indexOf('## This repository');
  if (start < 0 || end < start) throw new Error('README.md has no "## Install" ... "## This repository" sections');
  const intro = rootReadme.slice(0, rootReadme.indexOf('\n## '));
  return unlinkMissingAnchors(
    `${intro.trimEnd()}\n\n${rootReadme.slice(start, end).trimEnd()}\n\n` +
      '## Documentation\n\n' +
      'Everything else (configuration, writing workers, the GatewayClient API, listeners, heartbeat and limits,\n' +
      'delivery guarantees, processes and signals, the inner protocol, coming from PHP GatewayWorker, benchmarks)\n' +
      "is in the repository's README, of which this page is the beginning. The package ships its TypeScript\n" +
      'sources and declaration maps, so "go to definition" in an editor lands on documented code.\n',
  );
}

function clientPackageReadme(rootReadme) {
  const start = rootReadme.indexOf('\n## Browser client\n');
  const end = rootReadme.indexOf('\n## ', start + 1);
  if (start < 0 || end < 0) throw new Error('README.md has no "## Browser client" section followed by another');
  const body = rootReadme.slice(start, end).replace('\n## Browser client\n', '').replace(/^### /gm, '## ');
  return unlinkMissingAnchors(
    `# nest-gateway-worker-client\n${body.trimEnd()}\n\n` +
      '## Documentation\n\n' +
      'The gateways, workers and the register this client talks to are the package `nest-gateway-worker`; its\n' +
      'repository\'s README, of which this page is the "Browser client" section, documents the close codes, the\n' +
      'heartbeat and everything on the server side.\n',
  );
}

function main() {
  const root = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const pages = [
    [TARGET, packageReadme(root)],
    [CLIENT_TARGET, clientPackageReadme(root)],
  ];
  for (const [target, expected] of pages) {
    if (process.argv.includes('--check')) {
      const actual = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
      if (actual !== expected) {
        console.error(`${path.relative(ROOT, target)} is out of date: run \`node scripts/package-readme.js\``);
        process.exitCode = 1;
      }
    } else {
      fs.writeFileSync(target, expected);
    }
  }
}

module.exports = { packageReadme, clientPackageReadme, TARGET, CLIENT_TARGET, ROOT };
if (require.main === module) main();
