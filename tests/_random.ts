/**
 * A small seeded generator (mulberry32) for the fuzz tests: the same seed
 * gives the same cases, so a failure can be reproduced from its seed.
 *
 * @module
 */

/**
 * A generator of numbers in [0, 1).
 *
 * @param seed The seed.
 * @returns The next number, at each call.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
