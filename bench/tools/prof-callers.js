'use strict';
// node bench/tools/prof-callers.js file.cpuprofile 'frameName' [depth=6]: stacks leading to a frame, by samples
const fs = require('node:fs');
const [file, name, d] = process.argv.slice(2);
const depth = Number(d || 6);
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children || []) parent.set(c, n.id);
const counts = new Map();
for (const id of prof.samples) counts.set(id, (counts.get(id) || 0) + 1);
const stacks = new Map();
let total = 0;
for (const [id, c] of counts) {
  if (byId.get(id).callFrame.functionName !== name) continue;
  total += c;
  const parts = [];
  let p = parent.get(id);
  for (let i = 0; i < depth && p; i++, p = parent.get(p)) {
    const cf = byId.get(p).callFrame;
    parts.push(
      `${cf.functionName || '(anon)'}${cf.url ? '@' + cf.url.replace(/.*\//, '') + ':' + (cf.lineNumber + 1) : ''}`,
    );
  }
  const k = parts.join(' < ');
  stacks.set(k, (stacks.get(k) || 0) + c);
}
console.log(`${name}: ${total} samples`);
for (const [k, v] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 12))
  console.log(`${String(v).padStart(5)}  ${k}`);
