/**
 * The nearest valid name for a mistyped one, for "did you mean" hints.
 *
 * @module
 */

/**
 * The edit distance between two strings: insertions, deletions,
 * substitutions and transpositions of neighbours each cost 1.
 */
function distance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0]![j] = j;
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The candidate closest to `name`: a case-insensitive match first, then one
 * that `name` is a prefix of, then the least edit distance (the first of
 * equals, so the order of `candidates` breaks ties).
 *
 * @param name What was given.
 * @param candidates The valid names.
 * @param within The largest edit distance to suggest (a name that begins
 *   with `name`, three letters or more, is always near).
 * @returns The nearest candidate, or `undefined` when there are none (within that distance).
 *
 * @example A typo
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { nearest } from "./nearest.ts";
 *
 * equal(nearest("mout", ["mount", "umount2", "move_mount"]), "mount");
 * equal(nearest("CHOWN", ["chmod", "chown"]), "chown");
 * ```
 */
export function nearest(name: string, candidates: Iterable<string>, within = Infinity): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    const score = c === lower ? -2 : c.startsWith(lower) && lower.length >= 3 ? -1 : distance(lower, c);
    if (score < bestScore && score <= within) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}
