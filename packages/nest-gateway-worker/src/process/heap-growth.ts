import { setFlagsFromString } from 'node:v8';
import type { Env } from '../config/environment';
import { readInteger } from '../config/option-checks';

/** The variable that sets it; read by every role process that {@link runRole} starts. */
export const HEAP_GROWING_PERCENT_VARIABLE = 'HEAP_GROWING_PERCENT';
/**
 * By default a role process lets its old generation grow to 4× what survived the last full GC (V8's
 * `--heap-growing-percent=300`) before it starts the next one.
 *
 * Why: V8 starts incremental marking as soon as the room left under the old generation's limit is smaller than the
 * young generation's capacity. A gateway or worker keeps a small live heap (15–20 MB) and allocates fast, so V8
 * grows the young generation to its maximum (two 16 MB semi-spaces) while its own growing factor leaves only
 * 20–35 MB of room after a full GC: every check then finds "not enough room" and a mark-compact follows nearly every
 * scavenge (up to 22 per 5 s at 1 000 connections × 1 message in flight, each freeing under 1 MB); without them
 * the worker's CPU per message there was 5–36 % lower (bench/RESULTS.md, session 21). With 4× the live size the room is
 * above the young generation's capacity until the heap really grows. The price is memory: the old generation may
 * hold up to 3× its live size in garbage before a full GC (V8 allows 4× on its own when it judges allocation fast).
 */
export const DEFAULT_HEAP_GROWING_PERCENT = 300;
/** The largest value accepted (V8 takes any; past this the heap would mostly hold garbage). */
export const MAX_HEAP_GROWING_PERCENT = 1000;

/** HEAP_GROWING_PERCENT: 0 = V8's own heuristic, 1 … {@link MAX_HEAP_GROWING_PERCENT}; default {@link DEFAULT_HEAP_GROWING_PERCENT}. */
export function readHeapGrowingPercent(env: Env): number {
  return readInteger(env, HEAP_GROWING_PERCENT_VARIABLE, DEFAULT_HEAP_GROWING_PERCENT, 0, MAX_HEAP_GROWING_PERCENT);
}

/**
 * Sets V8's heap growing factor for this process (it applies from the next full GC on). Does nothing for 0, or when
 * the process was started with its own `--heap-growing-percent` (a node command-line flag wins). Returns whether it
 * set the flag.
 */
export function applyHeapGrowingPercent(percent: number, execArgv: readonly string[] = process.execArgv): boolean {
  if (percent === 0 || execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return false;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return true;
}
