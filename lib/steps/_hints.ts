/**
 * Hints that several kinds of steps share.
 *
 * @module
 */

/** For a call that needs privilege over a namespace. */
export const NEEDS_ROOT = "it needs root, or a user namespace that owns it (--user --map-root-user)";
