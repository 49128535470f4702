import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { byScale } from './fault-scale';
import { formatSeed, fuzzSeed } from './fuzz-seed';
import { prng } from './seeded-random';

/**
 * The loop of a seeded fuzz target (test/fuzz/): feeds `inputs` generated inputs from one PRNG (seed printed,
 * `FUZZ_SEED` reproduces it), stops at the first input that breaks a property with the seed and the input's number,
 * measures the heap before and after (with a full garbage collection each time) and prints one line: inputs, time,
 * inputs/s, the seed, the target's own tallies and the heap figures.
 *
 * Inputs per target: `FUZZ_INPUTS`, else 20 000 (short scale, `npm test`) or 1 000 000 (`FAULT_SCALE=long`,
 * `npm run test:fuzz`).
 */

/** A full garbage collection (V8's gc(), exposed at run time so that no node flag is needed). */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

export function fuzzInputs(): number {
  const text = process.env.FUZZ_INPUTS;
  if (text === undefined || text === '') return byScale({ short: 20_000, long: 1_000_000 });
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`FUZZ_INPUTS=${JSON.stringify(text)} is invalid: expected n ≥ 1`);
  return n;
}

/** What a fuzz target reports: its input count and how the inputs ended (e.g. `{ roundTripped: 812, FrameError: 19188 }`). */
export interface FuzzReport {
  inputs: number;
  seconds: number;
  /** Heap used after the run minus before, both after a full collection, in bytes. */
  heapDelta: number;
  /** Largest heap used seen during the run (sampled), in bytes. */
  heapPeak: number;
  tallies: Record<string, number>;
}

/** A property an input broke; the message names the input (hex) and what was expected. */
export class FuzzFailure extends Error {
  override name = 'FuzzFailure';
}

/** Throws a FuzzFailure with `what` and the input's bytes (at most 256 shown) when `ok` is false. */
export function check(ok: boolean, what: string, input: Buffer | string): asserts ok {
  if (ok) return;
  const shown =
    typeof input === 'string'
      ? JSON.stringify(input.length > 256 ? `${input.slice(0, 256)}…` : input)
      : `${input.subarray(0, 256).toString('hex')}${input.length > 256 ? '…' : ''} (${input.length} bytes)`;
  throw new FuzzFailure(`${what}; input: ${shown}`);
}

const MiB = 1024 * 1024;

/**
 * Runs `body` once per input with the run's PRNG; `body` generates the input, feeds it and checks the properties
 * (throwing, e.g. with {@link check}), and returns the name of the outcome, which is tallied.
 */
export function runFuzz(target: string, body: (rand: () => number, index: number) => string): FuzzReport {
  const seed = fuzzSeed();
  const inputs = fuzzInputs();
  const rand = prng(seed);
  const tallies: Record<string, number> = {};
  const sampleEvery = Math.max(1, Math.floor(inputs / 50));
  collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  const started = performance.now();
  for (let i = 0; i < inputs; i++) {
    let outcome: string;
    try {
      outcome = body(rand, i);
    } catch (err) {
      const e = err as Error;
      throw new Error(
        `fuzz ${target}: input #${i} of seed ${formatSeed(seed)} (FUZZ_SEED=${formatSeed(seed)} reproduces it) ` +
          `broke a property: ${e.name}: ${e.message}`,
        { cause: err },
      );
    }
    tallies[outcome] = (tallies[outcome] ?? 0) + 1;
    if (i % sampleEvery === 0) heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }
  const seconds = (performance.now() - started) / 1000;
  collectGarbage();
  const heapDelta = process.memoryUsage().heapUsed - heapBefore;
  const outcomes = Object.entries(tallies)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${n} ${name}`)
    .join(', ');
  console.log(
    `fuzz ${target}: ${inputs} inputs in ${seconds.toFixed(1)} s (${Math.round(inputs / seconds)} inputs/s), ` +
      `seed ${formatSeed(seed)}; ${outcomes}; heap ${heapDelta >= 0 ? '+' : ''}${(heapDelta / MiB).toFixed(1)} MiB ` +
      `after the run (peak ${(heapPeak / MiB).toFixed(0)} MiB)`,
  );
  return { inputs, seconds, heapDelta, heapPeak, tallies };
}

/** The jest timeout for a fuzz target: generous for the number of inputs (the long run takes minutes). */
export function fuzzTimeoutMs(msPerThousandInputs: number): number {
  return Math.max(60_000, Math.ceil((fuzzInputs() / 1000) * msPerThousandInputs * 4));
}

/** Heap a fuzz run may keep after a full collection: the decoders under test must not hold on to their inputs. */
export const HEAP_DELTA_BOUND = 32 * MiB;
