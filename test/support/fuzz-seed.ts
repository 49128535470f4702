import { randomInt } from 'node:crypto';

/**
 * The seed of a randomised fault or fuzz run: `FUZZ_SEED` (decimal or 0x-hex, a 32-bit number) reproduces a run;
 * without it every run draws a new one, so repeated runs cover more inputs. The specs print it.
 */
export function fuzzSeed(): number {
  const text = process.env.FUZZ_SEED;
  if (text === undefined || text === '') return randomInt(0, 2 ** 32);
  const seed = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new Error(`FUZZ_SEED=${JSON.stringify(text)} is invalid: expected a 32-bit number (decimal or 0x-hex)`);
  }
  return seed;
}

/** "0x1a2b3c4d": how seeds are printed (and accepted back by FUZZ_SEED). */
export function formatSeed(seed: number): string {
  return `0x${seed.toString(16).padStart(8, '0')}`;
}
