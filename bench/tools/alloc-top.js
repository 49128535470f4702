'use strict';
// node bench/tools/alloc-top.js file.heapprofile [n=30]: bytes allocated by function (with its two callers), as
// shares of everything sampled (alloc-hook.js writes the file)
const fs = require('node:fs');
const [file, nArg] = process.argv.slice(2);
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const short = (cf) =>
  `${cf.functionName || '(anon)'} ${(cf.url || '').replace(/.*\/(node_modules|dist)\//, '')}:${cf.lineNumber}`;
const self = new Map();
let total = 0;
const walk = (node, callers) => {
  total += node.selfSize;
  if (node.selfSize) {
    const key = `${short(node.callFrame)}  <  ${callers.join(' < ')}`;
    self.set(key, (self.get(key) || 0) + node.selfSize);
  }
  const name = node.callFrame.functionName || '(anon)';
  for (const child of node.children) walk(child, [name, ...callers].slice(0, 2));
};
walk(prof.head, []);
console.log(`${file}: ${(total / 1048576).toFixed(1)} MB sampled`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(nArg || 30)))
  console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
