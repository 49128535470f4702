'use strict';
/**
 * Latency histograms: 10 µs buckets up to 10 s plus one overflow bucket. The load generators keep them dense
 * (Uint32Array) or as Maps, send them as sparse [bucket, count] pairs, and run.js merges them across
 * generator processes before taking percentiles (upper edge of the bucket).
 */
const BUCKET_MS = 0.01;
const BUCKETS = 1_000_000;

function toSparse(dense) {
  const out = [];
  for (let i = 0; i < dense.length; i++) if (dense[i] !== 0) out.push([i, dense[i]]);
  return out;
}

function percentileOfDense(hist, total, p) {
  if (total === 0) return null;
  const rank = Math.ceil(total * p);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i];
    if (seen >= rank) return i === BUCKETS ? Infinity : (i + 1) * BUCKET_MS;
  }
  return null;
}

/** Merges sparse histograms into one sorted sparse histogram. */
function mergeSparse(list) {
  const m = new Map();
  for (const h of list) for (const [b, c] of h || []) m.set(b, (m.get(b) || 0) + c);
  return [...m.entries()].sort((a, b) => a[0] - b[0]);
}

function percentileOfSparse(sparse, p) {
  const total = sparse.reduce((s, [, c]) => s + c, 0);
  if (total === 0) return null;
  const rank = Math.ceil(total * p);
  let seen = 0;
  for (const [b, c] of sparse) {
    seen += c;
    if (seen >= rank) return b >= BUCKETS ? Infinity : (b + 1) * BUCKET_MS;
  }
  return null;
}

module.exports = { BUCKET_MS, BUCKETS, toSparse, percentileOfDense, mergeSparse, percentileOfSparse };
