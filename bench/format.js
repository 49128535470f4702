'use strict';
/** Number formatting for the report: 'n/a' for anything missing. */
const finite = (x) => typeof x === 'number' && Number.isFinite(x);

const fmt = {
  int: (x) => (finite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a'),
  num: (x) =>
    finite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2)) : 'n/a',
  ms: (x) => (typeof x === 'number' ? (Number.isFinite(x) ? x.toFixed(2) : '>10000') : 'n/a'),
  kib: (x) => (finite(x) ? x.toFixed(1) : 'n/a'),
  mib: (x) => (finite(x) ? (x / 1024).toFixed(1) : 'n/a'),
  pct: (x) => (finite(x) ? `${Math.round(x)}%` : 'n/a'),
  x: (x) => (finite(x) ? `${x.toFixed(2)}x` : 'n/a'),
};

module.exports = { fmt, finite };
