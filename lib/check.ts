/**
 * Checks of the option objects the API takes, for callers without a type
 * checker (JavaScript, JSON): a misspelt key is an error, not a silent
 * default.
 *
 * @module
 */

import { nearest } from "./nearest.ts";

/**
 * Refuses a key an options object does not have.
 *
 * @param options The object the caller gave.
 * @param known Its keys.
 * @param fn The function it was given to, for the message.
 * @param what What a key is, for the message.
 * @throws {TypeError} For an unknown key, naming the nearest known one.
 */
export function checkKeys(options: object, known: readonly string[], fn: string, what = "option"): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    // A slip of a letter or two, not any name at all.
    const near = nearest(key, known, Math.max(1, Math.floor(key.length / 3)));
    throw new TypeError(
      `Unknown ${what} "${key}" of ${fn}()${near ? `; did you mean ${near}?` : ""} The ${what}s are ${
        known.join(", ")
      }`,
    );
  }
}
