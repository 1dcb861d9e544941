/**
 * Named contexts: a register of contexts by name, so that another terminal
 * or script can join one (`nsh enter web`) with its working directory and
 * environment. An entry is a small JSON file in a directory of the user's
 * own — `/run/nsh/contexts` for root, `$XDG_RUNTIME_DIR/nsh/contexts` (or
 * `/tmp/nsh-UID/contexts`) for others — reached as lib/owned_file.ts reaches
 * files, never through another user's directory or link. The holder's pid
 * and start time tell it from a later process that took its pid.
 *
 * @module
 */

import { cstring, libc } from "../ffi/libc.ts";
import { EEXIST } from "../ffi/constants.ts";
import type { NamespaceType } from "./namespaces.ts";
import { openOwnedAt, openOwnedDirectory, readAll, replaceAll } from "./owned_file.ts";
import { ids, startTime } from "./system.ts";

export { startTime };

/** A context as the register keeps it. */
export interface NamedContext {
  /** Its name. */
  readonly name: string;
  /** The pid of its holder. */
  readonly holder: number;
  /** The holder's start time (clock ticks since boot), which a later process with its pid has not. */
  readonly start: number;
  /** The namespaces it holds (those that differ from the host's). */
  readonly namespaces: readonly NamespaceType[];
  /** Whether its programs have a root of its own (reached through the holder's). */
  readonly ownRoot: boolean;
  /** Its working directory, as programs there see it. */
  readonly cwd: string;
  /** Variables set in it (`null`: unset). */
  readonly env: Readonly<Record<string, string | null>>;
  /** Whether it outlives the shell that made it (closed by name only). */
  readonly persisted: boolean;
  /** Where its namespaces are bound to files, when persisted by root. */
  readonly files?: Readonly<Partial<Record<NamespaceType, string>>>;
  /**
   * The restrictions of its programs (capabilities, no_new_privs, seccomp,
   * Landlock), as steps in JSON: a program run in it from another nsh gets
   * them too.
   */
  readonly policy?: readonly unknown[];
}

/** A name: letters, digits, `.`, `_` and `-`, as a file name that needs no quoting. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,62}$/;

/**
 * Checks a context's name.
 *
 * @param name The name.
 * @throws {TypeError} When it is not one.
 */
export function checkContextName(name: string): void {
  if (!NAME.test(name)) {
    throw new TypeError(
      `Cannot name a context "${name}": use up to 63 letters, digits, '.', '_' and '-', not starting with '.' or '-'`,
    );
  }
}

/**
 * The directory of the register of this user.
 *
 * @returns Its path.
 */
export function contextsDirectory(): string {
  const { euid } = ids();
  if (euid === 0) return "/run/nsh/contexts";
  const runtime = Deno.env.get("XDG_RUNTIME_DIR");
  // A runtime directory that is not the user's own is passed over (openOwned* refuses it anyway).
  if (runtime?.startsWith("/")) {
    try {
      const info = Deno.statSync(runtime);
      if (info.uid === euid && info.isDirectory) return `${runtime}/nsh/contexts`;
    } catch {
      // Missing: the fallback below.
    }
  }
  return `/tmp/nsh-${euid}/contexts`;
}

function withDirectory<T>(create: boolean, fn: (dir: number) => T): T | undefined {
  let dir: number;
  try {
    dir = openOwnedDirectory(contextsDirectory(), { create });
  } catch (error) {
    if (!create && error instanceof Deno.errors.NotFound) return undefined;
    if (!create && (error as { errno?: number }).errno === 2) return undefined;
    throw error;
  }
  try {
    return fn(dir);
  } finally {
    libc().close(dir);
  }
}

/**
 * Whether the holder of an entry is still the process that was registered,
 * and running: a holder killed with its nsh stays a zombie until its new
 * parent reaps it, with its pid and start time, but no namespaces to join.
 */
function alive(entry: NamedContext): boolean {
  if (startTime(entry.holder) !== entry.start) return false;
  try {
    const stat = Deno.readTextFileSync(`/proc/${entry.holder}/stat`);
    const state = stat[stat.lastIndexOf(")") + 2];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

function read(dir: number, name: string): NamedContext | undefined {
  const fd = openOwnedAt(dir, `${name}.json`, { create: false, path: `${contextsDirectory()}/${name}.json` });
  if (fd === undefined) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(readAll(fd))) as NamedContext;
  } catch {
    return undefined; // Half written by a process that died: as if absent.
  } finally {
    libc().close(fd);
  }
}

function remove(dir: number, name: string): void {
  // Through the directory opened and checked: gone already is fine.
  libc().unlinkat(dir, cstring(`${name}.json`), 0);
}

/**
 * Registers a context under its name.
 *
 * @param entry The context.
 * @throws {TypeError} For an invalid name.
 * @throws {Error} When a live context has the name already.
 */
export function registerContext(entry: NamedContext): void {
  checkContextName(entry.name);
  withDirectory(true, (dir) => {
    const old = read(dir, entry.name);
    if (old && alive(old)) {
      const error = new Error(
        `Cannot name a context "${entry.name}": a context of that name exists (its holder is ${old.holder})`,
      );
      (error as { errno?: number }).errno = EEXIST;
      throw error;
    }
    write(dir, entry);
  });
}

function write(dir: number, entry: NamedContext): void {
  const fd = openOwnedAt(dir, `${entry.name}.json`, { path: `${contextsDirectory()}/${entry.name}.json` })!;
  try {
    replaceAll(fd, new TextEncoder().encode(JSON.stringify(entry, null, 2) + "\n"));
  } finally {
    libc().close(fd);
  }
}

/**
 * Updates what a named context remembers for those who join it later.
 *
 * @param name The name.
 * @param changes Its working directory and variables now.
 */
export function updateContext(name: string, changes: Partial<Pick<NamedContext, "cwd" | "env" | "policy">>): void {
  withDirectory(false, (dir) => {
    const entry = read(dir, name);
    if (entry) write(dir, { ...entry, ...changes });
  });
}

/**
 * A named context, if it exists and its holder lives (a stale entry is removed).
 *
 * @param name The name.
 * @returns The entry, or `undefined`.
 */
export function findContext(name: string): NamedContext | undefined {
  checkContextName(name);
  return withDirectory(false, (dir) => {
    const entry = read(dir, name);
    if (!entry) return undefined;
    if (alive(entry)) return entry;
    remove(dir, name);
    return undefined;
  });
}

/**
 * The named contexts of this user whose holders live, by name; stale entries
 * are removed.
 *
 * @returns The entries.
 */
export function listContexts(): NamedContext[] {
  return withDirectory(false, (dir) => {
    const out: NamedContext[] = [];
    for (const file of Deno.readDirSync(`/proc/self/fd/${dir}`)) {
      const name = /^(.+)\.json$/.exec(file.name)?.[1];
      if (!name || !NAME.test(name)) continue;
      const entry = read(dir, name);
      if (entry && alive(entry)) out.push(entry);
      else remove(dir, name);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }) ?? [];
}

/**
 * Removes a name from the register.
 *
 * @param name The name.
 */
export function unregisterContext(name: string): void {
  withDirectory(false, (dir) => remove(dir, name));
}
