/**
 * Word expansion as sh does it, in its order: tilde, parameters (with the
 * POSIX `${NAME<op>word}` forms), command substitution, arithmetic, field
 * splitting on IFS, pathname expansion, quote removal. What needs the shell
 * (running a substitution, reading a directory of the context) comes through
 * the {@linkcode Scope}.
 *
 * @module
 */

import type { List, ParamPart, Part, Word } from "./parse.ts";
import { escapePattern, glob, patternRegExp } from "../../lib/patterns.ts";
import type { FileView } from "../../lib/files.ts";

export { escapePattern, matches, patternRegExp } from "../../lib/patterns.ts";

/** What expansion reads and does: variables, parameters, and the shell's help for the rest. */
export interface Scope {
  /**
   * The value of a variable, `undefined` when unset.
   *
   * @param name Its name.
   * @returns Its value.
   */
  get(name: string): string | undefined;
  /**
   * Assigns a variable (`${NAME:=word}`, arithmetic assignments).
   *
   * @param name Its name.
   * @param value The value.
   */
  set?(name: string, value: string): void;
  /** The positional parameters: `$1` is `args[0]`. */
  readonly args: readonly string[];
  /** `$0`. */
  readonly argv0: string;
  /** `$?`, the status of the last command. */
  readonly status: number;
  /** `$$`, the shell's process id. */
  readonly pid: number;
  /** `$!`, the process id of the last background job; empty when none. */
  readonly lastBackground?: number;
  /** `$-`, the letters of the options set. */
  readonly flags?: string;
  /** `set -u`: an unset parameter is an error. */
  readonly nounset?: boolean;
  /**
   * Runs the commands of a substitution and returns what they wrote.
   *
   * @param body The commands.
   * @returns Their standard output.
   */
  substitute?(body: List): Promise<string>;
  /**
   * The file system where programs run, for pathname expansion: relative
   * patterns start at its `cwd`. Without it, patterns stay as they are.
   */
  readonly files?: FileView;
  /**
   * The home directory of a user, for `~user`.
   *
   * @param user The user's name.
   * @returns The directory, or `undefined` when unknown.
   */
  home?(user: string): string | undefined;
}

/**
 * A failed expansion: `${NAME?message}`, an unset parameter under `set -u`,
 * bad arithmetic, an assignment to a parameter that cannot take one. sh
 * reports it and a non-interactive shell exits with status 2.
 */
export class ExpansionError extends Error {
  /**
   * @param message What failed, such as `x: parameter not set`.
   */
  constructor(message: string) {
    super(message);
    this.name = "ExpansionError";
  }
}

/** One piece of a field: its text, and whether its characters are pattern characters when unquoted. */
interface Segment {
  readonly text: string;
  readonly quoted: boolean;
}

/** The fields of words as they expand: sh's field splitting and `"$@"`. */
class Fields {
  readonly done: Segment[][] = [];
  #current: Segment[] = [];
  /** Whether the current field has characters. */
  #chars = false;
  /** Whether it has a quoted part, so that it is a field even when empty (`""`). */
  #quoted = false;
  readonly #ifs: string;

  constructor(ifs: string) {
    this.#ifs = ifs;
  }

  /** Appends literal text or a quoted expansion. */
  append(text: string, quoted: boolean): void {
    if (text !== "") {
      this.#current.push({ text, quoted });
      this.#chars = true;
    }
    if (quoted) this.#quoted = true;
  }

  /** Ends the current field when it has characters or quotes (between the parameters of an unquoted `$@`). */
  boundary(): void {
    if (this.#chars || this.#quoted) this.force();
  }

  /** Ends the current field whatever it holds (between the parameters of `"$@"`). */
  force(): void {
    this.done.push(this.#current);
    this.#reset();
  }

  /** Appends an unquoted expansion, split on IFS as sh splits it. */
  split(value: string): void {
    const ifs = this.#ifs;
    if (ifs === "") {
      this.append(value, false);
      return;
    }
    let from = 0;
    let i = 0;
    const flush = (to: number) => {
      if (to > from) {
        this.#current.push({ text: value.slice(from, to), quoted: false });
        this.#chars = true;
      }
    };
    while (i < value.length) {
      const c = value[i]!;
      if (!ifs.includes(c)) {
        i++;
        continue;
      }
      flush(i);
      const white = c === " " || c === "\t" || c === "\n";
      i++;
      if (white && !this.#chars && !this.#quoted) {
        // IFS white space before anything of the field (even "") is ignored.
        from = i;
        continue;
      }
      this.done.push(this.#current);
      this.#reset();
      // Adjacent IFS white space, and one other IFS character after white space, belong to this delimiter.
      let other = !white;
      while (i < value.length && ifs.includes(value[i]!)) {
        const w = value[i] === " " || value[i] === "\t" || value[i] === "\n";
        if (!w) {
          if (other) break;
          other = true;
        }
        i++;
      }
      from = i;
    }
    flush(value.length);
  }

  /** Ends a word: its last field, when it has characters or quotes. */
  endWord(): void {
    if (this.#chars || this.#quoted) this.done.push(this.#current);
    this.#reset();
  }

  #reset(): void {
    this.#current = [];
    this.#chars = false;
    this.#quoted = false;
  }
}

/** IFS as splitting uses it: its value, or space, tab and newline when unset. */
function ifsOf(scope: Scope): string {
  return scope.get("IFS") ?? " \t\n";
}

/** How `"$*"` joins the parameters: with the first character of IFS. */
function joiner(scope: Scope): string {
  const ifs = scope.get("IFS");
  return ifs === undefined ? " " : ifs.slice(0, 1);
}

/**
 * The value of a special or positional parameter, or a variable.
 *
 * @param name The parameter.
 * @param scope Where values are.
 * @returns The value, `undefined` when unset.
 */
export function paramValue(name: string, scope: Scope): string | undefined {
  switch (name) {
    case "#":
      return String(scope.args.length);
    case "?":
      return String(scope.status);
    case "$":
      return String(scope.pid);
    case "!":
      return scope.lastBackground === undefined ? undefined : String(scope.lastBackground);
    case "-":
      return scope.flags ?? "";
    case "@":
    case "*":
      return scope.args.length ? scope.args.join(joiner(scope)) : undefined;
  }
  if (name[0]! >= "0" && name[0]! <= "9") {
    const n = Number(name);
    return n === 0 ? scope.argv0 : scope.args[n - 1];
  }
  return scope.get(name);
}

/** Splits off what a tilde prefix names: `~` and `~/…` are HOME, `~user/…` the user's home. */
function tilde(text: string, scope: Scope, assignment: boolean): string | undefined {
  if (!text.startsWith("~")) return undefined;
  let end = text.indexOf("/");
  if (assignment) {
    const colon = text.indexOf(":");
    if (colon >= 0 && (end < 0 || colon < end)) end = colon;
  }
  const user = end < 0 ? text.slice(1) : text.slice(1, end);
  const home = user === "" ? scope.get("HOME") : scope.home?.(user);
  if (home === undefined || (user === "" && home === "")) return undefined;
  return home + (end < 0 ? "" : text.slice(end));
}

/** What the expansion of one word needs besides the scope. */
interface WordMode {
  /** Split unquoted expansions into fields (not in assignments, redirections, case words). */
  readonly split: boolean;
  /** The word is an assignment's value: tilde after `:` too. */
  readonly assignment?: boolean;
}

/**
 * Expands a word into fields. Synchronous unless a part needs the shell (a
 * substitution): then it returns the promise to wait for, so that the
 * common word costs no turn of the event loop.
 */
function expandInto(word: Word, scope: Scope, fields: Fields, mode: WordMode): Promise<void> | undefined {
  // A tilde prefix runs to the first unquoted slash; a quoted or expanded
  // character in it (`~\/x`, `~"/x"`, `~$X`) means no tilde expansion.
  const head = word.parts[0];
  const tildeOk = head?.kind === "text" && !head.quoted &&
    (word.parts.length === 1 || head.value.includes("/") || (mode.assignment === true && head.value.includes(":")));
  const parts = word.parts;
  for (let i = 0; i < parts.length; i++) {
    const pending = expandPart(parts[i]!, i === 0 && tildeOk, scope, fields, mode);
    if (pending) return rest(pending, i + 1);
  }
  return undefined;
  async function rest(pending: Promise<void>, from: number): Promise<void> {
    await pending;
    for (let i = from; i < parts.length; i++) {
      const next = expandPart(parts[i]!, false, scope, fields, mode);
      if (next) await next;
    }
  }
}

/** A value now, or once the shell has computed it. */
type Maybe<T> = T | Promise<T>;

/** Applies `f` to a value that may be pending: at once when it is not. */
function then<T, R>(value: Maybe<T>, f: (value: T) => Maybe<R>): Maybe<R> {
  return value instanceof Promise ? value.then(f) : f(value);
}

/** A word as one string (no splitting); a pattern (quoted characters escaped) with `pattern`. */
function wordString(word: Word, scope: Scope, pattern: boolean, assignment = false): Maybe<string> {
  const fields = new Fields("");
  const pending = expandInto(word, scope, fields, { split: false, assignment });
  const join = () => {
    fields.endWord();
    return fields.done.map((f) => f.map((s) => pattern && s.quoted ? escapePattern(s.text) : s.text).join("")).join(
      " ",
    );
  };
  return pending ? pending.then(join) : join();
}

function expandPart(
  part: Part,
  first: boolean,
  scope: Scope,
  fields: Fields,
  mode: WordMode,
): Promise<void> | undefined {
  switch (part.kind) {
    case "text": {
      const expanded = first && !part.quoted ? tilde(part.value, scope, mode.assignment ?? false) : undefined;
      // What a tilde gave is not split nor globbed.
      if (expanded !== undefined) {
        const end = part.value.search(mode.assignment ? /[/:]/ : /\//);
        const rest = end < 0 ? "" : part.value.slice(end);
        fields.append(expanded.slice(0, expanded.length - rest.length), true);
        fields.append(rest, false);
      } else {
        fields.append(part.value, part.quoted);
      }
      return undefined;
    }
    case "var":
      return expandParam(part, scope, fields, mode);
    case "command":
      return (async () => {
        const output = scope.substitute ? await scope.substitute(part.body) : "";
        const value = output.replace(/\n+$/, "");
        // Not split, it keeps its pattern characters unless quoted (`case`, `${x#$p}`).
        if (part.quoted || !mode.split) fields.append(value, part.quoted);
        else fields.split(value);
      })();
    case "arith": {
      const done = then(wordString(part.expr, scope, false), (expr) => {
        const value = arithmetic(expr, scope);
        // Not split, it keeps its pattern characters unless quoted (`case`, `${x#$p}`).
        if (part.quoted || !mode.split) fields.append(value, part.quoted);
        else fields.split(value);
      });
      return done instanceof Promise ? done : undefined;
    }
  }
}

function isSet(value: string | undefined, colon: boolean): boolean {
  return value !== undefined && (!colon || value !== "");
}

function expandParam(part: ParamPart, scope: Scope, fields: Fields, mode: WordMode): Promise<void> | undefined {
  const { name, op } = part;
  const quoted = part.quoted || !mode.split;
  const put = (value: string): undefined => {
    if (quoted) fields.append(value, part.quoted);
    else fields.split(value);
    return undefined;
  };
  // "$@" and $@, $*: one field per parameter.
  if ((name === "@" || name === "*") && (op === undefined || op === "-" || op === "+")) {
    const args = scope.args;
    const present = args.length > 0;
    if (op === "-") return present ? undefined : expandInto(part.word!, scope, fields, mode);
    if (op === "+") return present ? expandInto(part.word!, scope, fields, mode) : undefined;
    if (name === "*" && part.quoted) return put(args.join(joiner(scope)));
    args.forEach((arg, i) => {
      if (part.quoted) {
        if (i > 0) fields.force();
        fields.append(arg, true);
      } else {
        if (i > 0) fields.boundary();
        fields.split(arg);
      }
    });
    return undefined;
  }
  const value = paramValue(name, scope);
  if (op === undefined || op === "length") {
    if (value === undefined && scope.nounset && name !== "@" && name !== "*") {
      throw new ExpansionError(`${name}: parameter not set`);
    }
    return put(op === "length" ? String([...(value ?? "")].length) : value ?? "");
  }
  const colon = op.startsWith(":");
  const settled = (done: Maybe<void>) => done instanceof Promise ? done : undefined;
  switch (op) {
    case "-":
    case ":-":
      return isSet(value, colon) ? put(value!) : expandInto(part.word!, scope, fields, mode);
    case "+":
    case ":+":
      return isSet(value, colon) ? expandInto(part.word!, scope, fields, mode) : undefined;
    case "=":
    case ":=": {
      if (isSet(value, colon)) return put(value!);
      if (!/^[A-Za-z_]/.test(name)) throw new ExpansionError(`${name}: cannot assign in this way`);
      return settled(then(wordString(part.word!, scope, false), (assigned) => {
        if (!scope.set) throw new ExpansionError(`${name}: cannot assign here`);
        scope.set(name, assigned);
        put(assigned);
      }));
    }
    case "?":
    case ":?": {
      if (isSet(value, colon)) return put(value!);
      return settled(then(wordString(part.word!, scope, false), (message) => {
        throw new ExpansionError(
          `${name}: ${message || (value === undefined ? "parameter not set" : "parameter null")}`,
        );
      }));
    }
    default: {
      if (value === undefined && scope.nounset) throw new ExpansionError(`${name}: parameter not set`);
      return settled(then(wordString(part.word!, scope, true), (pattern) => {
        put(removeMatch(value ?? "", pattern, op));
      }));
    }
  }
}

/** `${NAME%pattern}` and the others: the value without the shortest or longest matching suffix or prefix. */
function removeMatch(value: string, pattern: string, op: "%" | "%%" | "#" | "##"): string {
  const re = patternRegExp(pattern);
  const chars = [...value];
  const n = chars.length;
  const prefix = (k: number) => chars.slice(0, k).join("");
  const suffix = (k: number) => chars.slice(k).join("");
  switch (op) {
    case "#":
      for (let k = 0; k <= n; k++) if (re.test(prefix(k))) return suffix(k);
      break;
    case "##":
      for (let k = n; k >= 0; k--) if (re.test(prefix(k))) return suffix(k);
      break;
    case "%":
      for (let k = n; k >= 0; k--) if (re.test(suffix(k))) return prefix(k);
      break;
    case "%%":
      for (let k = 0; k <= n; k++) if (re.test(suffix(k))) return prefix(k);
      break;
  }
  return value;
}

/**
 * Expands words into fields, as the words of a command: everything, field
 * splitting and pathname expansion included. A word that expands to
 * nothing unquoted gives no field; `""` gives an empty one.
 *
 * @param words The words.
 * @param scope Variables, parameters, and how to substitute and glob.
 * @returns The fields.
 * @throws {ExpansionError} When an expansion fails.
 *
 * @example
 * ```ts
 * import { expandWords } from "./expand.ts";
 * import { parse, type SimpleCommand } from "./parse.ts";
 *
 * const scope = {
 *   get: (name: string) => name === "X" ? "hello world" : undefined,
 *   args: ["a b", "c"],
 *   argv0: "nsh",
 *   status: 0,
 *   pid: 1,
 * };
 * const command = parse('echo "$X" $X "$@" ""')[0]!.command.first.commands[0] as SimpleCommand;
 * const argv = await expandWords(command.words, scope);
 * if (argv.join("|") !== "echo|hello world|hello|world|a b|c|") throw new Error(argv.join("|"));
 * ```
 */
export async function expandWords(words: readonly Word[], scope: Scope): Promise<string[]> {
  const fields = new Fields(ifsOf(scope));
  // `export` is a declaration utility (POSIX 2024, bash, dash): its NAME=value
  // words expand as assignments do, without splitting or globbing.
  const first = words[0]?.parts[0];
  const declares = words[0]?.parts.length === 1 && first?.kind === "text" && !first.quoted && first.value === "export";
  const out: string[] = [];
  for (const word of words) {
    const head = word.parts[0];
    // Most words are literal text: quoted, or with no tilde or pattern character to expand.
    if (head?.kind === "text" && word.parts.length === 1 && (head.quoted || !/^~|[*?[]/.test(head.value))) {
      out.push(head.value);
      continue;
    }
    const assignment = declares && word !== words[0] && head?.kind === "text" && !head.quoted &&
      /^[A-Za-z_][A-Za-z0-9_]*=/.test(head.value);
    const pending = expandInto(word, scope, fields, { split: !assignment, assignment });
    if (pending) await pending;
    fields.endWord();
    for (const field of fields.done.splice(0)) {
      const literal = field.map((s) => s.text).join("");
      const globbed = !assignment && scope.files && field.some((s) => !s.quoted && /[*?[]/.test(s.text))
        ? glob(field.map((s) => s.quoted ? escapePattern(s.text) : s.text).join(""), scope.files)
        : [];
      if (globbed.length) out.push(...globbed);
      else out.push(literal);
    }
  }
  return out;
}

/**
 * Expands a word into one string, without field splitting or pathname
 * expansion: an assignment's value, a redirection's file, a here-document,
 * the word of `case`.
 *
 * @param word The word.
 * @param scope Variables, parameters, and how to substitute.
 * @param assignment Whether it is an assignment's value (a tilde after `:` expands too).
 * @returns The string.
 * @throws {ExpansionError} When an expansion fails.
 */
export async function expandWord(word: Word, scope: Scope, assignment = false): Promise<string> {
  return await wordString(word, scope, false, assignment);
}

/**
 * Expands a word into a pattern (for `case` and `${NAME%pattern}`): quoted
 * characters are escaped with a backslash so that they match themselves.
 *
 * @param word The word.
 * @param scope Variables, parameters, and how to substitute.
 * @returns The pattern.
 * @throws {ExpansionError} When an expansion fails.
 */
export async function expandPattern(word: Word, scope: Scope): Promise<string> {
  return await wordString(word, scope, true);
}

// ---------------------------------------------------------------------------
// Arithmetic: sh's $((...)), on 64-bit signed integers.

const BINARY: Readonly<Record<string, number>> = {
  "||": 1,
  "&&": 2,
  "|": 3,
  "^": 4,
  "&": 5,
  "==": 6,
  "!=": 6,
  "<": 7,
  "<=": 7,
  ">": 7,
  ">=": 7,
  "<<": 8,
  ">>": 8,
  "+": 9,
  "-": 9,
  "*": 10,
  "/": 10,
  "%": 10,
};

const ASSIGN_OPS = ["<<=", ">>=", "*=", "/=", "%=", "+=", "-=", "&=", "^=", "|=", "="];

class Arith {
  #i = 0;
  readonly #text: string;
  readonly #scope: Scope;
  /** Whether this branch is evaluated (the other side of `&&`, `||`, `?:` is parsed only). */
  #live = true;

  constructor(text: string, scope: Scope) {
    this.#text = text;
    this.#scope = scope;
  }

  evaluate(): bigint {
    this.#blanks();
    if (this.#i >= this.#text.length) return 0n;
    const value = this.#assignment();
    this.#blanks();
    if (this.#i < this.#text.length) throw this.#error(`unexpected \`${this.#text.slice(this.#i)}\``);
    return value;
  }

  #error(why: string): ExpansionError {
    return new ExpansionError(`arithmetic expression: ${why}: "${this.#text}"`);
  }

  #blanks(): void {
    while (/\s/.test(this.#text[this.#i] ?? "")) this.#i++;
  }

  #peekOp(list: readonly string[]): string | undefined {
    this.#blanks();
    return list.find((op) => this.#text.startsWith(op, this.#i));
  }

  #assignment(): bigint {
    this.#blanks();
    const save = this.#i;
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.#text.slice(this.#i))?.[0];
    if (name) {
      this.#i += name.length;
      const op = this.#peekOp(ASSIGN_OPS);
      if (op && !(op === "=" && this.#text[this.#i + 1] === "=")) {
        this.#i += op.length;
        const right = this.#assignment();
        const value = op === "=" ? right : this.#apply(op.slice(0, -1), this.#variable(name), right);
        if (this.#live) {
          if (!this.#scope.set) throw this.#error(`cannot assign to ${name} here`);
          this.#scope.set(name, String(value));
        }
        return value;
      }
      this.#i = save;
    }
    return this.#conditional();
  }

  #conditional(): bigint {
    const test = this.#binary(1);
    if (this.#peekOp(["?"]) === undefined) return test;
    this.#i++;
    const live = this.#live;
    this.#live = live && test !== 0n;
    const yes = this.#assignment();
    if (this.#peekOp([":"]) === undefined) throw this.#error("expected `:`");
    this.#i++;
    this.#live = live && test === 0n;
    const no = this.#conditional();
    this.#live = live;
    return test !== 0n ? yes : no;
  }

  #binary(level: number): bigint {
    let left = this.#unary();
    for (;;) {
      this.#blanks();
      const op = Object.keys(BINARY).filter((o) =>
        this.#text.startsWith(o, this.#i)
      ).sort((a, b) => b.length - a.length)[0];
      if (op === undefined || BINARY[op]! < level) return left;
      // `+=`, `<<=` and the like assign: only to a name, which #assignment took.
      if (this.#text[this.#i + op.length] === "=" && ASSIGN_OPS.includes(op + "=")) return left;
      this.#i += op.length;
      if (op === "&&" || op === "||") {
        const live = this.#live;
        if ((op === "&&" && left === 0n) || (op === "||" && left !== 0n)) this.#live = false;
        const right = this.#binary(BINARY[op]! + 1);
        this.#live = live;
        left = op === "&&" ? (left !== 0n && right !== 0n ? 1n : 0n) : (left !== 0n || right !== 0n ? 1n : 0n);
        continue;
      }
      const right = this.#binary(BINARY[op]! + 1);
      left = this.#apply(op, left, right);
    }
  }

  #apply(op: string, a: bigint, b: bigint): bigint {
    const int = (v: bigint) => BigInt.asIntN(64, v);
    switch (op) {
      case "+":
        return int(a + b);
      case "-":
        return int(a - b);
      case "*":
        return int(a * b);
      case "/":
      case "%":
        if (b === 0n) {
          if (!this.#live) return 0n;
          throw this.#error("division by zero");
        }
        return int(op === "/" ? a / b : a % b);
      case "<<":
        return int(a << (b & 63n));
      case ">>":
        return int(a >> (b & 63n));
      case "&":
        return a & b;
      case "|":
        return a | b;
      case "^":
        return a ^ b;
      case "==":
        return a === b ? 1n : 0n;
      case "!=":
        return a !== b ? 1n : 0n;
      case "<":
        return a < b ? 1n : 0n;
      case "<=":
        return a <= b ? 1n : 0n;
      case ">":
        return a > b ? 1n : 0n;
      case ">=":
        return a >= b ? 1n : 0n;
    }
    throw this.#error(`unknown operator \`${op}\``);
  }

  #unary(): bigint {
    this.#blanks();
    const c = this.#text[this.#i];
    if (c === "+" || c === "-" || c === "!" || c === "~") {
      this.#i++;
      const v = this.#unary();
      return c === "+" ? v : c === "-" ? BigInt.asIntN(64, -v) : c === "!" ? (v === 0n ? 1n : 0n) : ~v;
    }
    if (c === "(") {
      this.#i++;
      const v = this.#assignment();
      if (this.#peekOp([")"]) === undefined) throw this.#error("expected `)`");
      this.#i++;
      return v;
    }
    const rest = this.#text.slice(this.#i);
    const number = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\b/.exec(rest)?.[0];
    if (number !== undefined) {
      this.#i += number.length;
      return this.#number(number);
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest)?.[0];
    if (name !== undefined) {
      this.#i += name.length;
      return this.#variable(name);
    }
    if (c === undefined) throw this.#error("expected a number");
    throw this.#error(`unexpected \`${rest}\``);
  }

  #number(text: string): bigint {
    try {
      if (/^0[0-7]+$/.test(text)) return BigInt.asIntN(64, BigInt(`0o${text.slice(1)}`));
      return BigInt.asIntN(64, BigInt(text));
    } catch {
      throw this.#error(`bad number \`${text}\``);
    }
  }

  #variable(name: string): bigint {
    const value = this.#scope.get(name);
    if (value === undefined || value.trim() === "") {
      if (this.#scope.nounset && value === undefined) throw new ExpansionError(`${name}: parameter not set`);
      return 0n;
    }
    const text = value.trim();
    if (/^[-+]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.test(text)) {
      const negative = text.startsWith("-");
      const digits = text.replace(/^[-+]/, "");
      const n = this.#number(digits);
      return negative ? BigInt.asIntN(64, -n) : n;
    }
    throw this.#error(`${name}: not a number (\`${value}\`)`);
  }
}

/**
 * Evaluates an arithmetic expression as `$((...))` does, after its
 * parameters were expanded: 64-bit integers, C's operators, variables by
 * name, assignments.
 *
 * @param expr The expression.
 * @param scope Variables to read and assign.
 * @returns The value, in decimal.
 * @throws {ExpansionError} For a syntax error or a division by zero.
 *
 * @example
 * ```ts
 * import { arithmetic } from "./expand.ts";
 *
 * const scope = { get: (name: string) => name === "x" ? "4" : undefined, args: [], argv0: "nsh", status: 0, pid: 1 };
 * if (arithmetic("1 + 2 * x", scope) !== "9") throw new Error("1 + 2 * 4 is 9");
 * ```
 */
export function arithmetic(expr: string, scope: Scope): string {
  return String(new Arith(expr, scope).evaluate());
}
