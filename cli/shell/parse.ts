/**
 * The front end of nsh's script language: simple commands as a POSIX shell
 * reads them (words, quotes, backslashes, `$` variables, `~`, comments, `;`
 * and newlines), and their expansion into argv. Everything else a shell
 * parses (pipes, `&&`, redirections, `$(...)`, subshells, keywords) is a
 * {@linkcode ParseError} that suggests `sh -c '...'`, never a silent misparse.
 *
 * One hand-written pass over the source, so parsing is linear in its length.
 * Pathname expansion (`*`, `?`, `[`) is not done: such characters stay as
 * they are.
 *
 * @module
 */

/** A position in the source, 1-based; columns count UTF-16 code units (a tab is one column). */
export interface Position {
  /** The line, from {@linkcode ParseOptions.firstLine}. */
  readonly line: number;
  /** The column, from 1, in UTF-16 code units. */
  readonly column: number;
}

/**
 * A piece of a word before expansion: literal text, or a variable.
 *
 * A text part is `quoted` when it came from quotes or a backslash (so it is
 * neither split nor tilde-expanded); a variable is `quoted` inside `"..."`
 * (so it is not field-split). Variable names are a name (`HOME`), digits
 * (`1`, `10`), or one of `#`, `@`, `*`, `?`, `$`.
 */
export type Part =
  | { readonly kind: "text"; readonly value: string; readonly quoted: boolean }
  | { readonly kind: "var"; readonly name: string; readonly quoted: boolean };

/** A word of a command, before expansion. */
export interface Word {
  /**
   * Its parts; adjacent text parts of the same quoting are merged. Quotes
   * with nothing inside (`""`, `''`) are an empty quoted text part.
   */
  readonly parts: readonly Part[];
  /** Where its first character is. */
  readonly start: Position;
  /** Its raw source, quotes and backslashes included. */
  readonly text: string;
}

/** A simple command: one or more words. */
export interface Command {
  /** Its words; never empty. */
  readonly words: readonly Word[];
  /** Where its first word is. */
  readonly start: Position;
  /** Its raw source, from the start of its first word to the end of its last (no comment, no separator). */
  readonly text: string;
}

/** Options for {@linkcode parse}. */
export interface ParseOptions {
  /**
   * The number of the source's first line, for positions when the source is
   * part of a larger one (a line typed at a prompt, a chunk of a script).
   *
   * @default {1}
   */
  readonly firstLine?: number;
}

/** What a {@linkcode ParseError} carries beyond its position and reason. */
export interface ParseErrorOptions {
  /** What was expected instead, such as `'` or `a name`. */
  readonly expected?: string;
  /** Whether more input could complete the source (an open quote, a trailing backslash). */
  readonly incomplete?: boolean;
}

/**
 * A syntax error, or syntax that nsh does not support. The message is
 * `LINE:COLUMN: what is wrong (expected X)`, the part in parentheses only when
 * something definite was expected.
 */
export class ParseError extends Error {
  /** The line of the offending character. */
  readonly line: number;
  /** Its column, in UTF-16 code units from 1. */
  readonly column: number;
  /** What was expected there, such as the closing quote; `undefined` when nothing definite. */
  readonly expected: string | undefined;
  /** Whether the source is only incomplete: an open quote or a trailing backslash (see {@linkcode isIncomplete}). */
  readonly incomplete: boolean;

  /**
   * Makes the error, its message from the position, the reason and what was expected.
   *
   * @param position Where the offending character is.
   * @param reason What is wrong, lowercase, without position.
   * @param options What was expected, and whether more input could complete it.
   */
  constructor(position: Position, reason: string, options: ParseErrorOptions = {}) {
    const expected = options.expected;
    const shown = expected === undefined ? "" : ` (expected ${expected.length === 1 ? `\`${expected}\`` : expected})`;
    super(`${position.line}:${position.column}: ${reason}${shown}`);
    this.name = "ParseError";
    this.line = position.line;
    this.column = position.column;
    this.expected = expected;
    this.incomplete = options.incomplete ?? false;
  }
}

/** Variables and positional parameters for {@linkcode expand}. */
export interface Scope {
  /**
   * The value of a variable, `undefined` when unset.
   *
   * @param name Its name.
   * @returns Its value.
   */
  get(name: string): string | undefined;
  /** The positional parameters: `$1` is `args[0]`. */
  readonly args: readonly string[];
  /** `$0`. */
  readonly argv0: string;
  /** `$?`, the status of the last command. */
  readonly status: number;
  /** `$$`, the shell's process id. */
  readonly pid: number;
}

const SH_HINT = " (run it with sh -c '...')";

/** Words that start compound commands in sh (and bash), unsupported as a command's first word. */
const KEYWORDS: ReadonlySet<string> = new Set([
  "!",
  "{",
  "}",
  "case",
  "do",
  "done",
  "elif",
  "else",
  "esac",
  "fi",
  "for",
  "if",
  "then",
  "until",
  "while",
  "function",
  "select",
  "[[",
  "]]",
]);

/** The special parameters after `$`, besides digits. */
const SPECIALS = "#@*?$";

/** The operators of `${NAME<op>...}` that nsh does not support, by their first character. */
const BRACE_OPERATORS = ":-=?+%#/^,[@";

function isBlank(c: string | undefined): boolean {
  return c === " " || c === "\t";
}

function isNameStart(c: string | undefined): boolean {
  return c !== undefined && (c === "_" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z"));
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

function isNameChar(c: string | undefined): boolean {
  return isNameStart(c) || isDigit(c);
}

/** Characters that end a word and start an unsupported operator. */
function isOperator(c: string | undefined): boolean {
  return c === "|" || c === "&" || c === "<" || c === ">" || c === "(" || c === ")";
}

/** A character as a message shows it. */
function describe(c: string): string {
  if (c === " ") return "space";
  if (c === "\t") return "tab";
  if (c === "\n") return "newline";
  // Other control characters as escapes, so that the message stays on one line.
  return `\`${c < " " ? JSON.stringify(c).slice(1, -1) : c}\``;
}

/** The source and a cursor into it, which knows its line and column. */
class Scanner {
  readonly source: string;
  #index = 0;
  #line: number;
  #column = 1;
  #end = 0;

  constructor(source: string, firstLine: number) {
    this.source = source;
    this.#line = firstLine;
  }

  /** The index of the next character. */
  get index(): number {
    return this.#index;
  }

  /** The index after the last character taken with {@linkcode next} (line continuations excluded). */
  get end(): number {
    return this.#end;
  }

  /** The position of the next character. */
  position(): Position {
    return { line: this.#line, column: this.#column };
  }

  /** The character `offset` code units ahead, as it is in the source. */
  peek(offset = 0): string | undefined {
    return this.source[this.#index + offset];
  }

  /** Takes the next character. */
  next(): string {
    const c = this.#advance();
    this.#end = this.#index;
    return c;
  }

  /** Skips line continuations (backslash-newline), which the shell removes before anything else. */
  skipContinuations(): void {
    while (this.peek() === "\\" && this.peek(1) === "\n") {
      this.#advance();
      this.#advance();
    }
  }

  /** Skips a comment up to, not including, the end of its line. */
  skipComment(): void {
    while (this.#index < this.source.length && this.peek() !== "\n") this.#advance();
  }

  #advance(): string {
    const c = this.source[this.#index++]!;
    if (c === "\n") {
      this.#line++;
      this.#column = 1;
    } else {
      this.#column++;
    }
    return c;
  }
}

/** Collects the parts of one word, merging adjacent text of the same quoting. */
class PartList {
  readonly parts: Part[] = [];

  text(value: string, quoted: boolean): void {
    const last = this.parts.at(-1);
    if (last?.kind === "text" && last.quoted === quoted) {
      this.parts[this.parts.length - 1] = { kind: "text", value: last.value + value, quoted };
    } else {
      this.parts.push({ kind: "text", value, quoted });
    }
  }

  variable(name: string, quoted: boolean): void {
    this.parts.push({ kind: "var", name, quoted });
  }
}

/**
 * Parses a script into its simple commands, in order. Empty commands (blank
 * lines, comments, stray `;`) are skipped.
 *
 * @param source The script: one line or many, joined with `\n`.
 * @param options Where its lines start.
 * @returns The commands.
 * @throws {ParseError} For a syntax error or unsupported syntax; its
 * `incomplete` is `true` when more lines could complete the source.
 *
 * @example Two commands on one line
 * ```ts
 * import { parse } from "./parse.ts";
 *
 * const commands = parse("hostname box; echo 'a b' $HOME # done");
 * console.log(commands.map((c) => c.text)); // ["hostname box", "echo 'a b' $HOME"]
 * ```
 */
export function parse(source: string, options: ParseOptions = {}): Command[] {
  const s = new Scanner(source, options.firstLine ?? 1);
  const commands: Command[] = [];
  let words: Word[] = [];
  let startIndex = 0;
  let endIndex = 0;
  const finish = () => {
    const first = words[0];
    if (first) commands.push({ words, start: first.start, text: source.slice(startIndex, endIndex) });
    words = [];
  };
  for (;;) {
    skipBlanks(s);
    const c = s.peek();
    if (c === undefined) break;
    if (c === "\n" || c === ";") {
      s.next();
      finish();
    } else if (c === "#") {
      s.skipComment();
    } else if (isOperator(c)) {
      throw unsupportedOperator(s, s.position(), "");
    } else {
      if (words.length === 0) startIndex = s.index;
      const word = readWord(s);
      if (words.length === 0) checkKeyword(word);
      words.push(word);
      endIndex = s.end;
    }
  }
  finish();
  return commands;
}

/**
 * Whether `source` is incomplete (an open quote, a trailing backslash), so
 * that an interactive shell should read another line, join it with `\n` and
 * try again. A complete source, or one with a syntax error before the point
 * where it is incomplete, is not.
 *
 * @param source The lines read so far, joined with `\n`.
 * @returns `true` when more lines could complete it.
 *
 * @example
 * ```ts
 * import { isIncomplete } from "./parse.ts";
 *
 * console.log(isIncomplete("echo 'it is")); // true
 * console.log(isIncomplete("echo a | b 'c")); // false: the pipe is an error
 * ```
 */
export function isIncomplete(source: string): boolean {
  try {
    parse(source);
    return false;
  } catch (error) {
    if (error instanceof ParseError) return error.incomplete;
    throw error;
  }
}

function skipBlanks(s: Scanner): void {
  for (;;) {
    s.skipContinuations();
    if (!isBlank(s.peek())) return;
    s.next();
  }
}

/**
 * The first word of a command must not be a shell keyword (`if x; then` would
 * misparse) nor an assignment (`A=1 prog` would run a program named `A=1`).
 */
function checkKeyword(word: Word): void {
  const [part, ...rest] = word.parts;
  if (rest.length === 0 && part?.kind === "text" && !part.quoted && KEYWORDS.has(part.value)) {
    throw new ParseError(word.start, `the shell keyword \`${part.value}\` is not supported${SH_HINT}`);
  }
  const name = part?.kind === "text" && !part.quoted ? /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(part.value)?.[1] : undefined;
  if (name !== undefined) {
    throw new ParseError(word.start, `assignments are not supported: use export ${name}=… on a line of its own`);
  }
}

function readWord(s: Scanner): Word {
  const start = s.position();
  const startIndex = s.index;
  const parts = new PartList();
  for (;;) {
    s.skipContinuations();
    const c = s.peek();
    if (c === undefined || isBlank(c) || c === "\n" || c === ";") break;
    if (isOperator(c)) {
      const ioNumber = redirectionNumber(parts.parts, c);
      throw unsupportedOperator(s, ioNumber === "" ? s.position() : start, ioNumber);
    }
    if (c === "'") readSingleQuoted(s, parts);
    else if (c === '"') readDoubleQuoted(s, parts);
    else if (c === "\\") readEscaped(s, parts);
    else if (c === "$") readDollar(s, parts, false);
    else if (c === "`") throw backquote(s);
    else parts.text(s.next(), false);
  }
  return { parts: parts.parts, start, text: s.source.slice(startIndex, s.end) };
}

/** The digits before `>` or `<` when they are the whole word so far (`2>`), else "". */
function redirectionNumber(parts: readonly Part[], c: string): string {
  if (c !== "<" && c !== ">") return "";
  const [part, ...rest] = parts;
  if (rest.length > 0 || part?.kind !== "text" || part.quoted) return "";
  for (const d of part.value) if (!isDigit(d)) return "";
  return part.value;
}

function unsupportedOperator(s: Scanner, at: Position, ioNumber: string): ParseError {
  const c = s.peek()!;
  const n = s.peek(1);
  let reason: string;
  if (c === "|") reason = n === "|" ? "`||` is not supported" : "pipes are not supported";
  else if (c === "&" && n === "&") reason = "`&&` is not supported";
  else if (c === "&" && n === ">") reason = "redirection `&>` is not supported";
  else if (c === "&") reason = "background jobs (`&`) are not supported";
  else if (c === "(" || c === ")") reason = "parentheses (subshells, functions) are not supported";
  else if (n === "(") reason = `process substitution \`${c}(...)\` is not supported`;
  else if (c === "<" && n === "<") {
    reason = `${s.peek(2) === "<" ? "here-strings" : "here-documents"} are not supported`;
  } else {
    const op = c === ">" && (n === ">" || n === "&" || n === "|") || c === "<" && (n === "&" || n === ">") ? c + n : c;
    reason = `redirection \`${ioNumber}${op}\` is not supported`;
  }
  return new ParseError(at, reason + SH_HINT);
}

function backquote(s: Scanner): ParseError {
  return new ParseError(s.position(), `command substitution with backquotes is not supported${SH_HINT}`);
}

function readSingleQuoted(s: Scanner, parts: PartList): void {
  const open = s.position();
  s.next();
  let value = "";
  for (;;) {
    const c = s.peek();
    if (c === undefined) {
      throw new ParseError(open, "unterminated single-quoted string", { expected: "'", incomplete: true });
    }
    s.next();
    if (c === "'") break;
    value += c;
  }
  parts.text(value, true);
}

function readDoubleQuoted(s: Scanner, parts: PartList): void {
  const open = s.position();
  const unterminated = () =>
    new ParseError(open, "unterminated double-quoted string", { expected: '"', incomplete: true });
  s.next();
  const before = parts.parts.length;
  for (;;) {
    const c = s.peek();
    if (c === undefined) throw unterminated();
    if (c === '"') {
      s.next();
      // `""` is an empty argument; `"$@"` is none when there are no parameters.
      if (parts.parts.length === before) parts.text("", true);
      return;
    }
    if (c === "$") {
      readDollar(s, parts, true);
    } else if (c === "`") {
      throw backquote(s);
    } else if (c === "\\") {
      s.next();
      const n = s.peek();
      if (n === undefined) throw unterminated();
      if (n === "\n") s.next();
      else if (n === "$" || n === "`" || n === '"' || n === "\\") parts.text(s.next(), true);
      else parts.text("\\", true);
    } else {
      parts.text(s.next(), true);
    }
  }
}

function readEscaped(s: Scanner, parts: PartList): void {
  const at = s.position();
  s.next();
  const c = s.peek();
  if (c === undefined) {
    throw new ParseError(at, "unexpected end of input after `\\`", { expected: "another line", incomplete: true });
  }
  // An escaped astral character stays whole (a backslash-newline never gets here).
  let value = s.next();
  const low = s.peek();
  if (value >= "\ud800" && value <= "\udbff" && low !== undefined && low >= "\udc00" && low <= "\udfff") {
    value += s.next();
  }
  parts.text(value, true);
}

/** Reads what starts with `$`: a variable, or a literal `$`. */
function readDollar(s: Scanner, parts: PartList, quoted: boolean): void {
  const at = s.position();
  s.next();
  s.skipContinuations();
  const c = s.peek();
  if (isNameStart(c)) {
    parts.variable(readName(s), quoted);
  } else if (isDigit(c) || (c !== undefined && SPECIALS.includes(c))) {
    parts.variable(s.next(), quoted);
  } else if (c === "{") {
    readBraced(s, parts, quoted, at);
  } else if (c === "(") {
    const reason = s.peek(1) === "("
      ? "arithmetic expansion `$((...))` is not supported"
      : "command substitution `$(...)` is not supported";
    throw new ParseError(at, reason + SH_HINT);
  } else if (c === "'" && !quoted) {
    throw new ParseError(at, `\`$'...'\` quoting is not supported${SH_HINT}`);
  } else {
    parts.text("$", quoted);
  }
}

function readName(s: Scanner): string {
  let name = "";
  for (;;) {
    s.skipContinuations();
    if (!isNameChar(s.peek())) return name;
    name += s.next();
  }
}

function readDigits(s: Scanner): string {
  let digits = "";
  for (;;) {
    s.skipContinuations();
    if (!isDigit(s.peek())) return digits;
    digits += s.next();
  }
}

/** Reads `${NAME}` after its `$`, which is at `at`. */
function readBraced(s: Scanner, parts: PartList, quoted: boolean, at: Position): void {
  s.next();
  s.skipContinuations();
  const name = readBracedName(s, at);
  s.skipContinuations();
  const c = s.peek();
  if (c === "}") {
    s.next();
    parts.variable(name, quoted);
    return;
  }
  if (c === undefined || c === "\n") throw new ParseError(at, "unterminated `${`", { expected: "}" });
  if (BRACE_OPERATORS.includes(c)) {
    const n = s.peek(1);
    const op = (c === ":" && n !== undefined && "-=?+".includes(n)) || ("%#/^,".includes(c) && n === c) ? c + n : c;
    throw new ParseError(s.position(), `the \`${op}\` operator in \`\${${name}${op}...}\` is not supported${SH_HINT}`);
  }
  throw new ParseError(s.position(), `unexpected ${describe(c)} in \`\${${name}...}\``, { expected: "}" });
}

function readBracedName(s: Scanner, at: Position): string {
  const c = s.peek();
  if (isNameStart(c)) return readName(s);
  if (isDigit(c)) return readDigits(s);
  if (c === "#") {
    const position = s.position();
    s.next();
    s.skipContinuations();
    if (s.peek() === "}") return "#";
    throw new ParseError(position, `the length operator \`\${#...}\` is not supported${SH_HINT}`);
  }
  if (c !== undefined && SPECIALS.includes(c)) return s.next();
  if (c === "!") throw new ParseError(s.position(), `indirect expansion \`\${!...}\` is not supported${SH_HINT}`);
  if (c === undefined || c === "\n") throw new ParseError(at, "unterminated `${`", { expected: "}" });
  throw new ParseError(s.position(), `unexpected ${describe(c)} after \`\${\``, { expected: "a name" });
}

/**
 * Expands the words of a command into argv, as sh does: variables and
 * positional parameters (unset ones are empty), `"$@"` into one argument per
 * parameter, a leading `~` or `~/` into `HOME` (kept when `HOME` is unset or
 * empty), field splitting of unquoted expansions on spaces, tabs and
 * newlines (the default IFS; not in the NAME=value words of `export`, as in
 * an assignment), and quote removal. A word that expands to
 * nothing unquoted is dropped; `""` stays an empty argument. No pathname
 * expansion is done.
 *
 * @param words The words, from {@linkcode parse}.
 * @param scope The variables and parameters.
 * @returns The arguments.
 *
 * @example
 * ```ts
 * import { expand, parse } from "./parse.ts";
 *
 * const scope = { get: () => "hello world", args: ["a b", "c"], argv0: "nsh", status: 0, pid: 1 };
 * console.log(expand(parse('echo "$X" $X "$@" ""')[0]!.words, scope));
 * // ["echo", "hello world", "hello", "world", "a b", "c", ""]
 * ```
 */
export function expand(words: readonly Word[], scope: Scope): string[] {
  const fields = new Fields();
  // `export` is a declaration utility (POSIX 2024, bash, dash): in its
  // NAME=value words a variable is not split, as in an assignment.
  const declares = words[0]?.parts.length === 1 && wordText(words[0]) === "export";
  for (const word of words) {
    const assignment = declares && word !== words[0] && ASSIGNMENT.test(wordText(word) ?? "");
    word.parts.forEach((part, i) => {
      if (part.kind === "text") {
        const tilde = i === 0 && !part.quoted ? expandTilde(part.value, word.parts.length === 1, scope) : undefined;
        fields.append(tilde ?? part.value);
      } else if (part.name === "@" && part.quoted) {
        fields.appendEach(scope.args);
      } else {
        const value = valueOf(part.name, scope);
        part.quoted || assignment ? fields.append(value) : fields.split(value);
      }
    });
    fields.endWord();
  }
  return fields.done;
}

/** How a variable assignment starts: `NAME=`. */
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** The literal text a word starts with, when its first part is unquoted text. */
function wordText(word: Word): string | undefined {
  const first = word.parts[0];
  return first?.kind === "text" && !first.quoted ? first.value : undefined;
}

/** `~` alone or `~/...` with `HOME`, else `undefined`. */
function expandTilde(value: string, alone: boolean, scope: Scope): string | undefined {
  if (!(value === "~" && alone) && !value.startsWith("~/")) return undefined;
  const home = scope.get("HOME");
  return home ? home + value.slice(1) : undefined;
}

function valueOf(name: string, scope: Scope): string {
  switch (name) {
    case "#":
      return String(scope.args.length);
    case "?":
      return String(scope.status);
    case "$":
      return String(scope.pid);
    case "@":
    case "*":
      return scope.args.join(" ");
  }
  if (isDigit(name[0])) {
    const n = Number(name);
    return n === 0 ? scope.argv0 : scope.args[n - 1] ?? "";
  }
  return scope.get(name) ?? "";
}

/** The fields of a command as its words expand: the current one, and whether it exists yet. */
class Fields {
  readonly done: string[] = [];
  #current = "";
  #exists = false;

  /** Appends to the current field, which then is an argument even when empty (`""`, `"$E"`). */
  append(value: string): void {
    this.#current += value;
    this.#exists = true;
  }

  /** Appends `"$@"`: the first to the current field, each further one a field of its own. */
  appendEach(values: readonly string[]): void {
    values.forEach((value, i) => {
      if (i > 0) this.#end();
      this.append(value);
    });
  }

  /** Appends an unquoted expansion, split on blanks and newlines. */
  split(value: string): void {
    for (const c of value) {
      if (c === " " || c === "\t" || c === "\n") this.#end();
      else this.append(c);
    }
  }

  endWord(): void {
    this.#end();
  }

  #end(): void {
    if (this.#exists) this.done.push(this.#current);
    this.#current = "";
    this.#exists = false;
  }
}

/**
 * Quotes a string as one word of the language, so that parsing and expanding
 * it gives it back: as it is when it holds only safe characters (letters,
 * digits, `_ @ % + = : , . / -`) and is no keyword, else in single quotes,
 * a `'` written `'\''`.
 *
 * @param s The string.
 * @returns The word.
 *
 * @example
 * ```ts
 * import { quote } from "./parse.ts";
 *
 * console.log(["echo", "it's", "a b", ""].map(quote).join(" ")); // echo 'it'\''s' 'a b' ''
 * ```
 */
export function quote(s: string): string {
  const assignment = ASSIGNMENT.test(s);
  if (s !== "" && !KEYWORDS.has(s) && !assignment && [...s].every(isSafe)) return s;
  return `'${s.replaceAll("'", "'\\''")}'`;
}

function isSafe(c: string): boolean {
  return isNameChar(c) || "@%+=:,./-".includes(c);
}
