/**
 * sh's patterns: `*`, `?` and bracket expressions, as `case`, pathname
 * expansion (globbing) and `${NAME%pattern}` match them; and globbing
 * itself, against the file system a program sees (a context's, through its
 * mounts and root).
 *
 * @module
 */

import { type FileView, hostView } from "./files.ts";

/**
 * A string as a pattern that matches only itself: `*`, `?`, `[`, `]` and
 * `\\` quoted with a backslash.
 *
 * @example A file name with brackets, matched as it is
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapePattern, matches } from "@nsh/nsh";
 *
 * assert.equal(escapePattern("notes[1].txt"), "notes\\[1\\].txt");
 * assert.ok(matches(escapePattern("notes[1].txt"), "notes[1].txt"));
 * assert.ok(!matches(escapePattern("notes[1].txt"), "notes1.txt")); // unlike the pattern notes[1].txt
 * ```
 *
 * @param text The string.
 * @returns The pattern.
 */
export function escapePattern(text: string): string {
  return text.replace(/[\\*?[\]]/g, "\\$&");
}

const CLASSES: Readonly<Record<string, string>> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  blank: " \\t",
  cntrl: "\\x00-\\x1f\\x7f",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: " \\t\\n\\r\\f\\v",
  upper: "A-Z",
  xdigit: "0-9A-Fa-f",
};

/** A character as a regexp (with the `u` flag) matches it, outside a class. */
function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

/** A character as a regexp (with the `u` flag) matches it, inside a class. */
function escapeInClass(c: string): string {
  return /[\\^\]\[-]/.test(c) ? `\\${c}` : c;
}

/** The bracket expression at `i` (after its `[`) as a regexp class, and where it ends; `undefined` when unclosed. */
function bracket(chars: readonly string[], i: number): { re: string; end: number } | undefined {
  let j = i;
  let negate = false;
  if (chars[j] === "!" || chars[j] === "^") {
    negate = true;
    j++;
  }
  let body = "";
  let first = true;
  for (; j < chars.length; j++) {
    let c = chars[j]!;
    if (c === "]" && !first) return { re: `[${negate ? "^" : ""}${body}]`, end: j };
    first = false;
    if (c === "[" && chars[j + 1] === ":") {
      const close = chars.indexOf(":", j + 2);
      const name = close > 0 && chars[close + 1] === "]" ? chars.slice(j + 2, close).join("") : undefined;
      if (name !== undefined && CLASSES[name] !== undefined) {
        body += CLASSES[name];
        j = close + 1;
        continue;
      }
    }
    if (c === "\\" && j + 1 < chars.length) c = chars[++j]!;
    if (chars[j + 1] === "-" && chars[j + 2] !== undefined && chars[j + 2] !== "]") {
      let to = chars[j + 2]!;
      let skip = 2;
      if (to === "\\" && chars[j + 3] !== undefined) {
        to = chars[j + 3]!;
        skip = 3;
      }
      // A range whose ends are out of order matches nothing, as in sh (not a regexp error).
      if ((to.codePointAt(0) ?? 0) >= (c.codePointAt(0) ?? 0)) body += `${escapeInClass(c)}-${escapeInClass(to)}`;
      j += skip;
      continue;
    }
    body += escapeInClass(c);
  }
  return undefined;
}

/**
 * A pattern as a regular expression that matches whole strings: `*` any
 * string, `?` any character, `[...]` a bracket expression (`!` or `^`
 * negates; ranges and `[:class:]`), `\` quotes the next character.
 *
 * @param pattern The pattern.
 * @returns The expression.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { patternRegExp } from "@nsh/nsh";
 *
 * const re = patternRegExp("[!a-c]*.ts");
 * assert.ok(re.test("mod.ts"));
 * assert.ok(!re.test("cli.ts"));
 * ```
 */
export function patternRegExp(pattern: string): RegExp {
  const chars = [...pattern];
  let re = "";
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === "*") re += "[^]*";
    else if (c === "?") re += "[^]";
    else if (c === "\\") re += i + 1 < chars.length ? escapeRegExp(chars[++i]!) : "\\\\";
    else if (c === "[") {
      const b = bracket(chars, i + 1);
      if (b) {
        re += b.re === "[]" ? "(?!)" : b.re === "[^]" ? "[^]" : b.re;
        i = b.end;
      } else re += "\\[";
    } else re += escapeRegExp(c);
  }
  return new RegExp(`^(?:${re})$`, "u");
}

/**
 * Whether a string matches a pattern, as sh's `case` matches it.
 *
 * @param pattern The pattern (see {@linkcode patternRegExp}).
 * @param text The string.
 * @returns `true` when the whole string matches.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matches } from "@nsh/nsh";
 *
 * assert.ok(matches("*.tar.[gx]z", "backup.tar.gz"));
 * assert.ok(!matches("*.tar.[gx]z", "backup.tar.bz"));
 * ```
 */
export function matches(pattern: string, text: string): boolean {
  return patternRegExp(pattern).test(text);
}

/**
 * Whether a pattern has a character that matches more than itself (an
 * unquoted `*`, `?` or a closed bracket expression): only such words are
 * globbed.
 *
 * @param pattern The pattern.
 * @returns Whether it is one.
 */
export function hasMagic(pattern: string): boolean {
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === "\\") i++;
    else if (c === "*" || c === "?") return true;
    else if (c === "[" && bracket(chars, i + 1)) return true;
  }
  return false;
}

/** A pattern without its quoting backslashes. */
function unescape(pattern: string): string {
  return pattern.replace(/\\([^])/g, "$1");
}

/**
 * Pathname expansion, as sh does it: the paths that match a pattern, sorted
 * as strcmp(3) sorts them in the C locale, or none. Each component with
 * pattern characters is matched against the entries of its directory; `*`,
 * `?` and brackets do not match a leading `.` (a pattern that starts with
 * `.` matches `.` and `..` too); `\\` quotes the next character.
 *
 * @param pattern The pattern.
 * @param view Where the files are: a context, or this process's view by default.
 * @returns The matching paths, written as the pattern writes them (relative or absolute).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { glob } from "@nsh/nsh";
 *
 * assert.ok(glob("/etc/host*").includes("/etc/hostname"));
 * assert.deepEqual(glob("/no/such/*"), []); // none, where sh leaves the word as it is
 * ```
 */
export function glob(pattern: string, view: FileView = hostView()): string[] {
  const readdir = (dir: string): string[] | undefined => {
    try {
      return [...Deno.readDirSync(view.hostPath(dir))].map((entry) => entry.name);
    } catch {
      return undefined;
    }
  };
  if (!hasMagic(pattern)) return [];
  const absolute = pattern.startsWith("/");
  const components = pattern.split("/");
  // What was matched so far: the path as written, and as a directory to read.
  let paths: string[] = [absolute ? "/" : ""];
  const cwd = view.cwd;
  const dirOf = (written: string) =>
    written.startsWith("/") ? written : `${cwd.replace(/\/$/, "")}/${written}`.replace(/\/$/, "") || "/";
  const comps = absolute ? components.slice(1) : components;
  for (const [i, comp] of comps.entries()) {
    const last = i === comps.length - 1;
    const next: string[] = [];
    if (comp === "") {
      // Repeated or trailing slashes stay.
      for (const p of paths) next.push(p.endsWith("/") ? p : p + "/");
      paths = next;
      continue;
    }
    const join = (p: string, name: string) => (p === "" ? name : p.endsWith("/") ? p + name : `${p}/${name}`);
    if (!hasMagic(comp)) {
      const name = unescape(comp);
      for (const p of paths) {
        const path = join(p, name);
        if (!last || readdir(dirOf(path).replace(/\/[^/]*$/, "") || "/")?.includes(name)) next.push(path);
      }
    } else {
      const re = patternRegExp(comp);
      const dotted = comp.startsWith(".") || comp.startsWith("\\.");
      for (const p of paths) {
        const entries = readdir(p === "" ? cwd : dirOf(p));
        if (!entries) continue;
        const names = dotted ? [".", "..", ...entries] : entries.filter((e) => !e.startsWith("."));
        for (const name of names.filter((n) => re.test(n)).sort(byBytes)) next.push(join(p, name));
      }
    }
    paths = next;
    if (!paths.length) return [];
  }
  return paths.sort(byBytes);
}

/** Sorts as strcmp(3) in the C locale does: by code points. */
function byBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
