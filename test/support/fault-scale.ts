/**
 * The size of the fault scenarios (test/faults/) and fuzz targets (test/fuzz/): `FAULT_SCALE=short` (the default,
 * what `npm test` runs: a few minutes for the whole suite) or `FAULT_SCALE=long` (`npm run test:faults` and
 * `npm run test:fuzz`: more churn cycles, messages, fuzz connections and inputs; minutes, not hours).
 */
export type FaultScale = 'short' | 'long';

export function faultScale(): FaultScale {
  const value = process.env.FAULT_SCALE ?? 'short';
  if (value !== 'short' && value !== 'long') {
    throw new Error(`FAULT_SCALE=${JSON.stringify(value)} is invalid: expected "short" or "long"`);
  }
  return value;
}

/** The value for the current scale. */
export function byScale<T>(values: Record<FaultScale, T>): T {
  return values[faultScale()];
}
