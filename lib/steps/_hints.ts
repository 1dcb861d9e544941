/**
 * Hints that several kinds of steps share.
 *
 * @module
 */

/** For a call that needs privilege over a namespace. */
export const NEEDS_ROOT = "it needs root, or a user namespace that owns it (--user --map-root-user)";

/**
 * The known name nearest to a misspelt one, if one is near enough to be
 * meant (an edit distance of at most a third of its length, and 3).
 *
 * @param name The name given.
 * @param known The names that exist.
 * @returns The nearest, or `undefined`.
 */
export function nearest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  for (const candidate of known) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d <= bestDistance && (best === undefined || d < bestDistance)) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** The Levenshtein distance of two strings. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
