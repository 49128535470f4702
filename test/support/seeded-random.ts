// Read once: inside jest's test environment every lookup of the global `Math` is slow (~150 ns), which made the
// PRNG itself the main cost of the fuzz targets.
const { floor, imul } = Math;

/** Deterministic PRNG (mulberry32), so every run of a randomised test feeds the same inputs. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max] from `rand`. */
export function randomInt(rand: () => number, min: number, max: number): number {
  return min + floor(rand() * (max - min + 1));
}
