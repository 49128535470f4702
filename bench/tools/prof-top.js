'use strict';
/**
 * Top self-time frames of a .cpuprofile: node bench/tools/prof-top.js file.cpuprofile [n=25]
 * Shares are of non-idle samples; each frame is tagged ours / nest / ws / rxjs / node / native.
 */
const fs = require('node:fs');
const [file, nArg] = process.argv.slice(2);
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const counts = new Map();
for (const id of prof.samples) counts.set(id, (counts.get(id) || 0) + 1);
const tag = (url) =>
  !url
    ? 'native'
    : /nest-gateway-worker|dist\/apps|perf-base\/pkg/.test(url)
      ? 'ours'
      : /@nestjs/.test(url)
        ? 'nest'
        : /node_modules\/ws\//.test(url)
          ? 'ws'
          : /rxjs/.test(url)
            ? 'rxjs'
            : /^node:/.test(url)
              ? 'node'
              : 'other';
const self = new Map();
const cats = new Map();
let total = 0,
  idle = 0;
for (const [id, c] of counts) {
  const n = byId.get(id);
  const cf = n.callFrame;
  if (cf.functionName === '(idle)') {
    idle += c;
    continue;
  }
  total += c;
  const key = `${cf.functionName || '(anon)'} ${cf.url ? cf.url.replace(/.*node_modules\//, '').replace(/.*\/(packages|dist)\//, '$1/') + ':' + (cf.lineNumber + 1) : ''}`;
  self.set(key, (self.get(key) || 0) + c);
  const t = cf.functionName === '(garbage collector)' ? 'gc' : tag(cf.url);
  cats.set(t, (cats.get(t) || 0) + c);
}
console.log(`${file}: ${total} busy samples, idle ${((idle / (idle + total)) * 100).toFixed(1)} %`);
console.log(
  'by origin: ' +
    [...cats]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${((v / total) * 100).toFixed(1)}%`)
      .join(', '),
);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(nArg || 25)))
  console.log(`${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
