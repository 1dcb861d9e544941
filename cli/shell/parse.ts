/**
 * The front end of nsh's language, which is sh's: simple commands with
 * assignments and redirections (`<`, `>`, `>>`, `>|`, `<>`, `<&`, `>&`, `<<`,
 * `<<-`, and bash's `&>`, `&>>`), pipelines (`|`, bash's `|&`, `!`), lists
 * (`;`, `&`, `&&`, `||`), `{ …; }`, `( … )`, `if`, `while`, `until`, `for`,
 * `case` and functions; in words, quotes, backslashes, parameters
 * (`$NAME`, `${NAME:-word}` and the other POSIX forms), command
 * substitution (`$(…)` and backquotes) and arithmetic (`$((…))`). Bash's
 * other extensions (`[[`, `$'…'`, `<(…)`, `${NAME/a/b}`…) are a
 * {@linkcode ParseError} that says so, never a silent misparse.
 *
 * One hand-written pass over the source, so parsing is linear in its length
 * (a here-document or a backquoted command is read once more, as text).
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
 * What `${NAME<op>word}` does: `-` `=` `?` `+` (with `:`, also when NAME is
 * empty) use a default, assign it, fail or use an alternative; `%` `%%` `#`
 * `##` remove the shortest or longest matching suffix or prefix; `length` is
 * `${#NAME}`.
 */
export type ParamOp = "-" | ":-" | "=" | ":=" | "?" | ":?" | "+" | ":+" | "%" | "%%" | "#" | "##" | "length";

/** Literal text of a word. */
export interface TextPart {
  /** The kind of part. */
  readonly kind: "text";
  /** The text, quotes and backslashes removed. */
  readonly value: string;
  /** Whether it came from quotes or a backslash: then it is neither split, globbed nor tilde-expanded. */
  readonly quoted: boolean;
}

/** A parameter: `$NAME`, `$1`, `$@`, `${NAME}`, `${NAME:-word}`… */
export interface ParamPart {
  /** The kind of part. */
  readonly kind: "var";
  /** A name (`HOME`), digits (`1`, `10`), or one of `# @ * ? $ ! -`. */
  readonly name: string;
  /** Inside `"..."`: not field-split. */
  readonly quoted: boolean;
  /** The operator of `${NAME<op>word}`, when there is one. */
  readonly op?: ParamOp;
  /** Its word (the default, the pattern…); absent for `length`. */
  readonly word?: Word;
}

/** A command substitution: `$(…)` or a backquoted command. */
export interface CommandPart {
  /** The kind of part. */
  readonly kind: "command";
  /** The commands. */
  readonly body: List;
  /** Inside `"..."`: not field-split. */
  readonly quoted: boolean;
  /** Where the `$` or the backquote is. */
  readonly start: Position;
  /** Its source, `$(` or the backquotes included. */
  readonly text: string;
}

/** An arithmetic expansion: `$((…))`. */
export interface ArithPart {
  /** The kind of part. */
  readonly kind: "arith";
  /** The expression, whose parameters and substitutions expand first. */
  readonly expr: Word;
  /** Inside `"..."`: not field-split. */
  readonly quoted: boolean;
  /** Where the `$` is. */
  readonly start: Position;
}

/** A piece of a word before expansion. */
export type Part = TextPart | ParamPart | CommandPart | ArithPart;

/** A word, before expansion. */
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

/** The operators of redirections. */
export type RedirectOp = "<" | ">" | ">>" | ">|" | "<>" | "<&" | ">&" | "&>" | "&>>" | "<<" | "<<-";

/** A redirection of a command. */
export interface Redirect {
  /** The descriptor redirected: the number before the operator, else 0 for input, 1 for output. */
  readonly fd: number;
  /** The operator. */
  readonly op: RedirectOp;
  /**
   * The file, or the descriptor of `<&` and `>&`; for a here-document, its
   * body (one quoted text when its delimiter was quoted, else parsed as
   * `"..."` is, but `"` is an ordinary character).
   */
  readonly target: Word;
  /** Where the operator (or its number) is. */
  readonly start: Position;
  /** For a here-document: the line that ends it. */
  readonly delimiter?: string;
}

/** `NAME=value` before a command's name. */
export interface Assignment {
  /** The variable. */
  readonly name: string;
  /** The value, after the `=`. */
  readonly value: Word;
  /** Where the name is. */
  readonly start: Position;
  /** The raw source. */
  readonly text: string;
}

/** What every command has: where it is, its source, its redirections. */
interface Located {
  /** Where it starts. */
  readonly start: Position;
  /** Its raw source (no comment or separator after it; no here-document body). */
  readonly text: string;
}

/** A simple command: assignments, words and redirections; at least one of them. */
export interface SimpleCommand extends Located {
  /** The kind of command. */
  readonly kind: "simple";
  /** `NAME=value` words before its name. */
  readonly assigns: readonly Assignment[];
  /** Its words: the name, then the arguments. */
  readonly words: readonly Word[];
  /** Its redirections, in order. */
  readonly redirects: readonly Redirect[];
}

/** `{ list; }` or `( list )`. */
export interface Group extends Located {
  /** `group` for braces, `subshell` for parentheses. */
  readonly kind: "group" | "subshell";
  /** The commands. */
  readonly body: List;
  /** Redirections after it. */
  readonly redirects: readonly Redirect[];
}

/** `if test; then body; elif …; else …; fi`. */
export interface If extends Located {
  /** The kind of command. */
  readonly kind: "if";
  /** The `if` and each `elif`: its test and its body. */
  readonly clauses: readonly { readonly test: List; readonly body: List }[];
  /** The `else` body. */
  readonly otherwise?: List;
  /** Redirections after `fi`. */
  readonly redirects: readonly Redirect[];
}

/** `while test; do body; done` or `until …`. */
export interface Loop extends Located {
  /** `while` or `until`. */
  readonly kind: "while" | "until";
  /** The test. */
  readonly test: List;
  /** The body. */
  readonly body: List;
  /** Redirections after `done`. */
  readonly redirects: readonly Redirect[];
}

/** `for NAME in words; do body; done`. */
export interface For extends Located {
  /** The kind of command. */
  readonly kind: "for";
  /** The variable. */
  readonly name: string;
  /** The words after `in`; absent without `in` (then `"$@"`). */
  readonly words?: readonly Word[];
  /** The body. */
  readonly body: List;
  /** Redirections after `done`. */
  readonly redirects: readonly Redirect[];
}

/** One `pattern | pattern) body ;;` of a `case`. */
export interface CaseItem {
  /** The patterns. */
  readonly patterns: readonly Word[];
  /** The commands (maybe none). */
  readonly body: List;
}

/** `case word in …) …;; esac`. */
export interface Case extends Located {
  /** The kind of command. */
  readonly kind: "case";
  /** The word matched. */
  readonly word: Word;
  /** The items, in order. */
  readonly items: readonly CaseItem[];
  /** Redirections after `esac`. */
  readonly redirects: readonly Redirect[];
}

/** `NAME() compound-command`. */
export interface FunctionDef extends Located {
  /** The kind of command. */
  readonly kind: "function";
  /** The function's name. */
  readonly name: string;
  /** Its body. */
  readonly body: Command;
}

/** A command of a pipeline. */
export type Command = SimpleCommand | Group | If | Loop | For | Case | FunctionDef;

/** Commands joined by `|` (or `|&`), maybe after `!`. */
export interface Pipeline extends Located {
  /** Whether `!` inverts its status. */
  readonly negate: boolean;
  /** Its commands: one, or more connected by pipes. */
  readonly commands: readonly Command[];
  /** For each pipe, whether it is `|&` (standard error goes through it too). */
  readonly pipeStderr: readonly boolean[];
}

/** Pipelines joined by `&&` and `||`. */
export interface AndOr extends Located {
  /** The first pipeline. */
  readonly first: Pipeline;
  /** The pipelines after it, each with its operator. */
  readonly rest: readonly { readonly op: "&&" | "||"; readonly pipeline: Pipeline }[];
}

/** One item of a list: an and-or list, run in the background when it ended with `&`. */
export interface Item {
  /** The commands. */
  readonly command: AndOr;
  /** Whether `&` ended it. */
  readonly background: boolean;
}

/** A list of commands, as a script, a body or a substitution holds them. */
export type List = readonly Item[];

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
  /** What was expected instead, such as `'`, `fi` or `a name`. */
  readonly expected?: string;
  /** Whether more input could complete the source (an open quote, an open `if`). */
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
  /** Whether the source is only incomplete: an open quote or construct (see {@linkcode isIncomplete}). */
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
    const shown = expected === undefined ? "" : ` (expected ${expected.includes(" ") ? expected : `\`${expected}\``})`;
    super(`${position.line}:${position.column}: ${reason}${shown}`);
    this.name = "ParseError";
    this.line = position.line;
    this.column = position.column;
    this.expected = expected;
    this.incomplete = options.incomplete ?? false;
  }
}

/** The hint for what sh has and nsh does not. */
const BASH_HINT = " (a bash extension; nsh reads sh's language)";

/** Reserved words: they start or end compound commands where a command's name may stand. */
export const RESERVED: ReadonlySet<string> = new Set([
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
  "in",
  "then",
  "until",
  "while",
]);

/** Words that start bash's compound commands: refused, not run as programs. */
const BASH_KEYWORDS: ReadonlySet<string> = new Set(["function", "select", "[[", "]]", "coproc"]);

/** The special parameters after `$`, besides digits. */
const SPECIALS = "#@*?$!-";

/** How deep commands, substitutions and quotes may nest: deeper input is refused, not a stack overflow. */
const MAX_DEPTH = 1000;

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

/** Characters that end a word: blanks, newlines and the operators' first characters. */
function endsWord(c: string | undefined): boolean {
  return c === undefined || c === " " || c === "\t" || c === "\n" || c === ";" || c === "&" || c === "|" ||
    c === "<" || c === ">" || c === "(" || c === ")";
}

/** For each code unit below 128, 0 when it ends a word or starts a quote, an escape or an expansion. */
const ORDINARY: Uint8Array = (() => {
  const table = new Uint8Array(65536).fill(1);
  for (const c of " \t\n;&|<>()'\"\\$`") table[c.charCodeAt(0)] = 0;
  return table;
})();

/** Whether a string is a variable name. */
export function isName(s: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s);
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

  constructor(source: string, firstLine: number, firstColumn = 1) {
    this.source = source;
    this.#line = firstLine;
    this.#column = firstColumn;
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

  /** Takes `n` characters that hold no newline. */
  skip(n: number): void {
    this.#index += n;
    this.#column += n;
    this.#end = this.#index;
  }

  /** Skips a comment up to, not including, the end of its line. */
  skipComment(): void {
    while (this.#index < this.source.length && this.peek() !== "\n") this.#advance();
  }

  /** Takes the rest of the line and its newline; returns the line without it, or `undefined` at the end. */
  line(): string | undefined {
    if (this.#index >= this.source.length) return undefined;
    let end = this.source.indexOf("\n", this.#index);
    if (end < 0) end = this.source.length;
    const text = this.source.slice(this.#index, end);
    this.#index = end < this.source.length ? end + 1 : end;
    if (end < this.source.length) {
      this.#line++;
      this.#column = 1;
    } else {
      this.#column += text.length;
    }
    this.#end = this.#index;
    return text;
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
  /** Text not yet pushed: strings are joined once, not one character at a time. */
  #pending: string[] = [];
  #quoted = false;

  text(value: string, quoted: boolean): void {
    if (this.#pending.length && this.#quoted !== quoted) this.#flush();
    if (!this.#pending.length) {
      // Merge with a text part pushed before (a part of another kind came between? no: flushed at each).
      const last = this.parts.at(-1);
      if (last?.kind === "text" && last.quoted === quoted) {
        this.parts.pop();
        this.#pending.push(last.value);
      }
    }
    this.#quoted = quoted;
    this.#pending.push(value);
  }

  push(part: Exclude<Part, TextPart>): void {
    this.#flush();
    this.parts.push(part);
  }

  get length(): number {
    return this.parts.length + (this.#pending.length ? 1 : 0);
  }

  done(): Part[] {
    this.#flush();
    return this.parts;
  }

  #flush(): void {
    if (!this.#pending.length) return;
    this.parts.push({ kind: "text", value: this.#pending.join(""), quoted: this.#quoted });
    this.#pending = [];
  }
}

/** The operators, longest first for each first character. */
const OPERATORS: readonly string[] = [
  "&&",
  "&>>",
  "&>",
  "&",
  "||",
  "|&",
  "|",
  ";;",
  ";",
  "<<-",
  "<<",
  "<&",
  "<>",
  "<",
  ">>",
  ">&",
  ">|",
  ">",
  "(",
  ")",
];

const REDIRECT_OPS: ReadonlySet<string> = new Set([
  "<",
  ">",
  ">>",
  ">|",
  "<>",
  "<&",
  ">&",
  "&>",
  "&>>",
  "<<",
  "<<-",
]);

type Token =
  | { readonly t: "word"; readonly word: Word; readonly index: number }
  | { readonly t: "op"; readonly op: string; readonly at: Position; readonly index: number; readonly io?: number }
  | { readonly t: "newline"; readonly at: Position; readonly index: number }
  | { readonly t: "eof"; readonly at: Position; readonly index: number };

/** A here-document whose body is read after the next newline. */
interface PendingHeredoc {
  readonly delimiter: string;
  readonly quoted: boolean;
  readonly strip: boolean;
  readonly start: Position;
  /** The redirection whose target its body becomes. */
  readonly redirect: { target: Word };
}

/** The token as a message shows it. */
function tokenText(tok: Token): string {
  switch (tok.t) {
    case "word":
      return `\`${tok.word.text}\``;
    case "op":
      return `\`${tok.io === undefined ? "" : tok.io}${tok.op}\``;
    case "newline":
      return "newline";
    case "eof":
      return "end of input";
  }
}

/** The reserved word a token is, when it is one word of plain text. */
function reserved(tok: Token): string | undefined {
  if (tok.t !== "word") return undefined;
  const [part, ...rest] = tok.word.parts;
  if (rest.length || part?.kind !== "text" || part.quoted || tok.word.text !== part.value) return undefined;
  return RESERVED.has(part.value) || BASH_KEYWORDS.has(part.value) ? part.value : undefined;
}

/** The literal text of a word, when it is unquoted text only. */
function plainText(word: Word): string | undefined {
  const [part, ...rest] = word.parts;
  if (rest.length || part?.kind !== "text" || part.quoted) return undefined;
  return part.value;
}

class Parser {
  readonly s: Scanner;
  #peeked: Token | undefined;
  #heredocs: PendingHeredoc[] = [];
  #depth: number;

  constructor(source: string, firstLine: number, depth = 0, firstColumn = 1) {
    this.s = new Scanner(source, firstLine, firstColumn);
    this.#depth = depth;
  }

  get source(): string {
    return this.s.source;
  }

  // --- tokens ----------------------------------------------------------

  peek(): Token {
    return this.#peeked ??= this.#read();
  }

  next(): Token {
    const tok = this.peek();
    this.#peeked = undefined;
    return tok;
  }

  #read(): Token {
    const s = this.s;
    for (;;) {
      s.skipContinuations();
      const c = s.peek();
      if (isBlank(c)) s.next();
      else if (c === "#") s.skipComment();
      else break;
    }
    const at = s.position();
    const index = s.index;
    const c = s.peek();
    if (c === undefined) {
      if (this.#heredocs.length) {
        const h = this.#heredocs[0]!;
        throw new ParseError(h.start, "unterminated here-document", { expected: h.delimiter, incomplete: true });
      }
      return { t: "eof", at, index };
    }
    if (c === "\n") {
      s.next();
      this.#readHeredocs();
      return { t: "newline", at, index };
    }
    if (endsWord(c)) return this.#operator(at, index, undefined);
    const word = this.#word();
    // Digits right before `<` or `>` name the descriptor redirected (`2>`).
    const n = s.peek();
    if ((n === "<" || n === ">") && /^\d+$/.test(word.text) && plainText(word) === word.text) {
      return this.#operator(at, index, Number(word.text));
    }
    return { t: "word", word, index };
  }

  #operator(at: Position, index: number, io: number | undefined): Token {
    const s = this.s;
    const c = s.peek()!;
    const n = s.peek(1);
    // What bash has and sh does not, refused by name.
    if ((c === "<" || c === ">") && n === "(") {
      throw new ParseError(s.position(), `process substitution \`${c}(...)\` is not supported${BASH_HINT}`);
    }
    if (c === "<" && n === "<" && s.peek(2) === "<") {
      throw new ParseError(s.position(), `here-strings (\`<<<\`) are not supported${BASH_HINT}`);
    }
    if (c === ";" && n === "&") throw new ParseError(s.position(), `\`;&\` is not supported${BASH_HINT}`);
    const op = OPERATORS.find((o) =>
      o[0] === c && (o.length < 2 || o[1] === n) && (o.length < 3 || o[2] === s.peek(2))
    )!;
    for (let i = 0; i < op.length; i++) s.next();
    return io === undefined ? { t: "op", op, at, index } : { t: "op", op, at, index, io };
  }

  // --- words -----------------------------------------------------------

  #enter(at: Position): void {
    if (++this.#depth > MAX_DEPTH) throw new ParseError(at, `nested more than ${MAX_DEPTH} deep`);
  }

  #leave(): void {
    this.#depth--;
  }

  #word(): Word {
    const s = this.s;
    const start = s.position();
    const startIndex = s.index;
    // Most words are ordinary characters only: one slice, one part.
    const source = s.source;
    let i = startIndex;
    while (i < source.length && ORDINARY[source.charCodeAt(i)] !== 0) i++;
    if (i > startIndex && (i === source.length || endsWord(source[i]))) {
      s.skip(i - startIndex);
      const text = source.slice(startIndex, i);
      return { parts: [{ kind: "text", value: text, quoted: false }], start, text };
    }
    const parts = new PartList();
    for (;;) {
      s.skipContinuations();
      const c = s.peek();
      if (endsWord(c)) break;
      if (c === "'") this.#singleQuoted(parts);
      else if (c === '"') this.#doubleQuoted(parts);
      else if (c === "\\") this.#escaped(parts);
      else if (c === "$") this.#dollar(parts, false);
      else if (c === "`") this.#backquoted(parts, false);
      else parts.text(s.next(), false);
    }
    return { parts: parts.done(), start, text: s.source.slice(startIndex, s.end) };
  }

  #singleQuoted(parts: PartList): void {
    const s = this.s;
    const open = s.position();
    s.next();
    const end = s.source.indexOf("'", s.index);
    if (end < 0) throw new ParseError(open, "unterminated single-quoted string", { expected: "'", incomplete: true });
    let value = "";
    // One slice, not a character at a time; the scanner still counts lines.
    const from = s.index;
    while (s.index < end) s.next();
    value = s.source.slice(from, end);
    s.next();
    parts.text(value, true);
  }

  #doubleQuoted(parts: PartList): void {
    const s = this.s;
    const open = s.position();
    const unterminated = () =>
      new ParseError(open, "unterminated double-quoted string", { expected: '"', incomplete: true });
    s.next();
    this.#enter(open);
    const before = parts.length;
    for (;;) {
      const c = s.peek();
      if (c === undefined) throw unterminated();
      if (c === '"') {
        s.next();
        // `""` is an empty argument; `"$@"` is none when there are no parameters.
        if (parts.length === before) parts.text("", true);
        this.#leave();
        return;
      }
      if (c === "$") {
        this.#dollar(parts, true);
      } else if (c === "`") {
        this.#backquoted(parts, true);
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

  #escaped(parts: PartList): void {
    const s = this.s;
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

  /** Reads what starts with `$`: a parameter, a substitution, arithmetic, or a literal `$`. */
  #dollar(parts: PartList, quoted: boolean): void {
    const s = this.s;
    const at = s.position();
    const from = s.index;
    s.next();
    s.skipContinuations();
    const c = s.peek();
    if (isNameStart(c)) {
      parts.push({ kind: "var", name: this.#name(), quoted });
    } else if (isDigit(c) || (c !== undefined && SPECIALS.includes(c))) {
      parts.push({ kind: "var", name: s.next(), quoted });
    } else if (c === "{") {
      this.#braced(parts, quoted, at);
    } else if (c === "(" && s.peek(1) === "(") {
      this.#arithmetic(parts, quoted, at);
    } else if (c === "(") {
      s.next();
      this.#enter(at);
      const body = this.#list(new Set(), true);
      const close = this.next();
      if (close.t !== "op" || close.op !== ")") {
        if (close.t === "eof") throw new ParseError(at, "unterminated `$(`", { expected: ")", incomplete: true });
        throw new ParseError(this.#at(close), `unexpected ${tokenText(close)} in \`$(...)\``, { expected: ")" });
      }
      this.#leave();
      parts.push({ kind: "command", body, quoted, start: at, text: s.source.slice(from, s.end) });
    } else if (c === "'" && !quoted) {
      throw new ParseError(at, `\`$'...'\` quoting is not supported${BASH_HINT}`);
    } else {
      parts.text("$", quoted);
    }
  }

  #name(): string {
    const s = this.s;
    let name = "";
    for (;;) {
      s.skipContinuations();
      if (!isNameChar(s.peek())) return name;
      name += s.next();
    }
  }

  #digits(): string {
    const s = this.s;
    let digits = "";
    for (;;) {
      s.skipContinuations();
      if (!isDigit(s.peek())) return digits;
      digits += s.next();
    }
  }

  /** Reads `${...}` after its `$`, which is at `at`. */
  #braced(parts: PartList, quoted: boolean, at: Position): void {
    const s = this.s;
    s.next();
    s.skipContinuations();
    const unterminated = () => new ParseError(at, "unterminated `${`", { expected: "}", incomplete: true });
    let c = s.peek();
    // ${#NAME} is a length; ${#} the number of parameters.
    if (c === "#") {
      const n = s.peek(1);
      if (isNameStart(n) || isDigit(n) || (n !== undefined && n !== "}" && SPECIALS.includes(n))) {
        s.next();
        const name = this.#bracedName(at);
        s.skipContinuations();
        if (s.peek() === undefined) throw unterminated();
        if (s.peek() !== "}") {
          throw new ParseError(s.position(), `unexpected ${describe(s.peek()!)} in \`\${#${name}...}\``, {
            expected: "}",
          });
        }
        s.next();
        parts.push({ kind: "var", name, quoted, op: "length" });
        return;
      }
    }
    const name = this.#bracedName(at);
    s.skipContinuations();
    c = s.peek();
    if (c === "}") {
      s.next();
      parts.push({ kind: "var", name, quoted });
      return;
    }
    if (c === undefined) throw unterminated();
    const n = s.peek(1);
    let op: ParamOp | undefined;
    if (c === ":" && n !== undefined && "-=?+".includes(n)) op = (c + n) as ParamOp;
    else if ("-=?+".includes(c)) op = c as ParamOp;
    else if ((c === "%" || c === "#") && n === c) op = (c + n) as ParamOp;
    else if (c === "%" || c === "#") op = c as ParamOp;
    if (op === undefined) {
      if (c === ":" || c === "/" || c === "^" || c === ",") {
        const shown = c === ":" ? ":N" : c + (n === c ? c : "");
        throw new ParseError(s.position(), `\`\${${name}${shown}...}\` is not supported${BASH_HINT}`);
      }
      throw new ParseError(s.position(), `unexpected ${describe(c)} in \`\${${name}...}\``, { expected: "}" });
    }
    for (let i = 0; i < op.length; i++) s.next();
    // Double quotes around `${NAME%pattern}` do not quote its pattern (POSIX,
    // and dash: "${x#*.}" removes up to the first dot; "${x#'*'}" a star).
    const pattern = op.startsWith("%") || op.startsWith("#");
    const word = this.#bracedWord(quoted && !pattern, at);
    parts.push({ kind: "var", name, quoted, op, word });
  }

  #bracedName(at: Position): string {
    const s = this.s;
    const c = s.peek();
    if (isNameStart(c)) return this.#name();
    if (isDigit(c)) return this.#digits();
    if (c === "!" && s.peek(1) !== "}") {
      throw new ParseError(s.position(), `indirect expansion \`\${!...}\` is not supported${BASH_HINT}`);
    }
    if (c !== undefined && SPECIALS.includes(c)) return s.next();
    if (c === undefined) throw new ParseError(at, "unterminated `${`", { expected: "}", incomplete: true });
    throw new ParseError(s.position(), `unexpected ${describe(c)} after \`\${\``, { expected: "a name" });
  }

  /** The word of `${NAME<op>word}`, up to the `}`. */
  #bracedWord(quoted: boolean, at: Position): Word {
    const s = this.s;
    const start = s.position();
    const startIndex = s.index;
    const parts = new PartList();
    this.#enter(at);
    for (;;) {
      s.skipContinuations();
      const c = s.peek();
      if (c === undefined) throw new ParseError(at, "unterminated `${`", { expected: "}", incomplete: true });
      if (c === "}") break;
      if (c === "'" && !quoted) this.#singleQuoted(parts);
      else if (c === '"') this.#doubleQuoted(parts);
      else if (c === "\\") {
        if (quoted) {
          s.next();
          const n = s.peek();
          if (n === undefined) throw new ParseError(at, "unterminated `${`", { expected: "}", incomplete: true });
          if ('$`"\\}'.includes(n)) parts.text(s.next(), true);
          else parts.text("\\", true);
        } else {
          this.#escaped(parts);
        }
      } else if (c === "$") this.#dollar(parts, quoted);
      else if (c === "`") this.#backquoted(parts, quoted);
      else parts.text(s.next(), quoted);
    }
    const word = { parts: parts.done(), start, text: s.source.slice(startIndex, s.index) };
    s.next();
    this.#leave();
    return word;
  }

  /** Reads `$((...))` after its `$`, which is at `at`. */
  #arithmetic(parts: PartList, quoted: boolean, at: Position): void {
    const s = this.s;
    s.next();
    s.next();
    this.#enter(at);
    const start = s.position();
    const startIndex = s.index;
    const inner = new PartList();
    let depth = 0;
    for (;;) {
      s.skipContinuations();
      const c = s.peek();
      if (c === undefined) throw new ParseError(at, "unterminated `$((`", { expected: "))", incomplete: true });
      if (c === ")" && depth === 0) {
        if (s.peek(1) !== ")") throw new ParseError(s.position(), "unexpected `)` in `$((...))`", { expected: "))" });
        break;
      }
      if (c === "(") depth++;
      if (c === ")") depth--;
      if (c === "$") this.#dollar(inner, true);
      else if (c === "`") this.#backquoted(inner, true);
      else if (c === "\\") {
        s.next();
        const n = s.peek();
        if (n !== undefined && "$`\\".includes(n)) inner.text(s.next(), true);
        else inner.text("\\", true);
      } else inner.text(s.next(), true);
    }
    const expr = { parts: inner.done(), start, text: s.source.slice(startIndex, s.index) };
    s.next();
    s.next();
    this.#leave();
    parts.push({ kind: "arith", expr, quoted, start: at });
  }

  /** Reads a backquoted command: its text, backslashes removed as sh removes them, parsed as a script. */
  #backquoted(parts: PartList, quoted: boolean): void {
    const s = this.s;
    const at = s.position();
    const from = s.index;
    s.next();
    let inner = "";
    let innerLine: number | undefined;
    let innerColumn = 1;
    for (;;) {
      const c = s.peek();
      if (c === undefined) {
        throw new ParseError(at, "unterminated backquoted command", { expected: "`", incomplete: true });
      }
      if (innerLine === undefined) {
        const p = s.position();
        innerLine = p.line;
        innerColumn = p.column;
      }
      if (c === "`") {
        s.next();
        break;
      }
      if (c === "\\") {
        s.next();
        const n = s.peek();
        if (n === undefined) {
          throw new ParseError(at, "unterminated backquoted command", { expected: "`", incomplete: true });
        }
        if (n === "$" || n === "`" || n === "\\" || (quoted && n === '"')) inner += s.next();
        else inner += "\\";
      } else {
        inner += s.next();
      }
    }
    this.#enter(at);
    const parser = new Parser(inner, innerLine ?? at.line, this.#depth, innerColumn);
    const body = parser.program();
    this.#leave();
    parts.push({ kind: "command", body, quoted, start: at, text: s.source.slice(from, s.end) });
  }

  /** The body of a here-document whose delimiter was not quoted: expansions, and `\` before `$`, `` ` ``, `\`. */
  heredocBody(): Word {
    const s = this.s;
    const start = s.position();
    const parts = new PartList();
    for (;;) {
      const c = s.peek();
      if (c === undefined) break;
      if (c === "$") this.#dollar(parts, true);
      else if (c === "`") this.#backquoted(parts, true);
      else if (c === "\\") {
        s.next();
        const n = s.peek();
        if (n === "\n") s.next();
        else if (n !== undefined && "$`\\".includes(n)) parts.text(s.next(), true);
        else parts.text("\\", true);
      } else parts.text(s.next(), true);
    }
    if (!parts.length) parts.text("", true);
    return { parts: parts.done(), start, text: s.source };
  }

  #readHeredocs(): void {
    const pending = this.#heredocs;
    this.#heredocs = [];
    for (const h of pending) {
      const s = this.s;
      const start = s.position();
      const lines: string[] = [];
      for (;;) {
        const raw = s.line();
        if (raw === undefined) {
          throw new ParseError(h.start, "unterminated here-document", { expected: h.delimiter, incomplete: true });
        }
        const line = h.strip ? raw.replace(/^\t+/, "") : raw;
        if (line === h.delimiter) break;
        lines.push(line + "\n");
      }
      const text = lines.join("");
      h.redirect.target = h.quoted
        ? { parts: [{ kind: "text", value: text, quoted: true }], start, text }
        : new Parser(text, start.line, this.#depth + 1).heredocBody();
    }
  }

  // --- grammar ---------------------------------------------------------

  #at(tok: Token): Position {
    return tok.t === "word" ? tok.word.start : tok.at;
  }

  #unexpected(tok: Token, expected?: string, opener?: { at: Position; what: string }): ParseError {
    if (tok.t === "eof" && opener) {
      return new ParseError(opener.at, `unterminated \`${opener.what}\``, {
        ...(expected === undefined ? {} : { expected }),
        incomplete: true,
      });
    }
    if (tok.t === "eof") {
      return new ParseError(tok.at, "unexpected end of input", {
        ...(expected === undefined ? {} : { expected }),
        incomplete: true,
      });
    }
    const word = reserved(tok);
    if (word !== undefined && BASH_KEYWORDS.has(word)) {
      return new ParseError(this.#at(tok), `\`${word}\` is not supported${BASH_HINT}`);
    }
    return new ParseError(this.#at(tok), `unexpected ${tokenText(tok)}`, expected === undefined ? {} : { expected });
  }

  #skipNewlines(): void {
    while (this.peek().t === "newline") this.next();
  }

  /** A whole script: a list up to the end of the source. */
  program(): List {
    const list = this.#list(new Set(), false);
    const tok = this.peek();
    if (tok.t !== "eof") throw this.#unexpected(tok);
    return list;
  }

  /**
   * A list, up to a reserved word of `ends`, a `)` (when `paren`), a `;;`,
   * or the end: those are left for the caller.
   */
  #list(ends: ReadonlySet<string>, paren: boolean): List {
    const items: Item[] = [];
    for (;;) {
      this.#skipNewlines();
      const tok = this.peek();
      if (tok.t === "eof") break;
      if (tok.t === "op" && ((tok.op === ")" && paren) || tok.op === ";;")) break;
      const word = reserved(tok);
      if (word !== undefined && ends.has(word)) break;
      const command = this.#andOr();
      const sep = this.peek();
      if (sep.t === "op" && (sep.op === ";" || sep.op === "&")) {
        this.next();
        items.push({ command, background: sep.op === "&" });
      } else {
        items.push({ command, background: false });
        if (sep.t !== "newline") break;
      }
    }
    return items;
  }

  #andOr(): AndOr {
    const first = this.#pipeline();
    const rest: { op: "&&" | "||"; pipeline: Pipeline }[] = [];
    for (;;) {
      const tok = this.peek();
      if (tok.t !== "op" || (tok.op !== "&&" && tok.op !== "||")) break;
      this.next();
      this.#skipNewlines();
      rest.push({ op: tok.op, pipeline: this.#pipeline() });
    }
    const last = rest.at(-1)?.pipeline ?? first;
    return { first, rest, start: first.start, text: this.#text(first, last) };
  }

  #text(first: Located, last: Located): string {
    // Both are texts of this source, sliced from it: the span from one to the other.
    const from = this.#offsets.get(first);
    const to = this.#offsets.get(last);
    if (from === undefined || to === undefined) return first.text;
    return this.source.slice(from[0], to[1]);
  }

  /** Where each node's text starts and ends in the source, for the texts of lists. */
  readonly #offsets = new WeakMap<object, [number, number]>();

  #located<T extends Located>(node: T, from: number, to: number): T {
    this.#offsets.set(node, [from, to]);
    return node;
  }

  #pipeline(): Pipeline {
    const tok = this.peek();
    const from = tok.index;
    const at = this.#at(tok);
    let negate = false;
    if (reserved(tok) === "!") {
      this.next();
      negate = true;
    }
    const commands = [this.#command()];
    const pipeStderr: boolean[] = [];
    for (;;) {
      const op = this.peek();
      if (op.t !== "op" || (op.op !== "|" && op.op !== "|&")) break;
      this.next();
      this.#skipNewlines();
      pipeStderr.push(op.op === "|&");
      commands.push(this.#command());
    }
    const to = this.#offsets.get(commands.at(-1)!)![1];
    return this.#located({ negate, commands, pipeStderr, start: at, text: this.source.slice(from, to) }, from, to);
  }

  #command(): Command {
    const tok = this.peek();
    const word = reserved(tok);
    const at = this.#at(tok);
    const from = tok.index;
    if (tok.t === "op" && tok.op === "(") {
      this.next();
      this.#enter(at);
      const body = this.#list(new Set(), true);
      const close = this.next();
      if (close.t !== "op" || close.op !== ")") throw this.#unexpected(close, ")", { at, what: "(" });
      if (!body.length) throw this.#unexpected(close);
      this.#leave();
      return this.#compound({ kind: "subshell", body }, from, at);
    }
    switch (word) {
      case "{": {
        this.next();
        this.#enter(at);
        const body = this.#list(new Set(["}"]), false);
        const close = this.next();
        if (reserved(close) !== "}") throw this.#unexpected(close, "}", { at, what: "{" });
        if (!body.length) throw this.#unexpected(close);
        this.#leave();
        return this.#compound({ kind: "group", body }, from, at);
      }
      case "if":
        return this.#if(from, at);
      case "while":
      case "until": {
        this.next();
        this.#enter(at);
        const test = this.#nonEmpty(new Set(["do"]), { at, what: word, closer: "do" });
        this.#expect("do", { at, what: word });
        const body = this.#nonEmpty(new Set(["done"]), { at, what: word, closer: "done" });
        this.#expect("done", { at, what: word });
        this.#leave();
        return this.#compound({ kind: word, test, body }, from, at);
      }
      case "for":
        return this.#for(from, at);
      case "case":
        return this.#case(from, at);
      case "!":
      case "}":
      case "do":
      case "done":
      case "elif":
      case "else":
      case "esac":
      case "fi":
      case "then":
      case "function":
      case "select":
      case "[[":
      case "]]":
      case "coproc":
        throw this.#unexpected(tok);
    }
    return this.#simple();
  }

  /** A list that must hold a command, before one of `ends`, in the construct `opener` opened. */
  #nonEmpty(ends: ReadonlySet<string>, opener: { at: Position; what: string; closer: string }): List {
    const list = this.#list(ends, false);
    const tok = this.peek();
    if (tok.t === "eof") throw this.#unexpected(tok, opener.closer, opener);
    if (!list.length) throw this.#unexpected(tok);
    return list;
  }

  #expect(word: string, opener: { at: Position; what: string }): void {
    const tok = this.next();
    if (reserved(tok) !== word) throw this.#unexpected(tok, word, opener);
  }

  #compound<T extends { kind: string }>(
    node: T,
    from: number,
    at: Position,
  ): T & { start: Position; text: string; redirects: Redirect[] } {
    const redirects: Redirect[] = [];
    let to = this.s.end;
    for (;;) {
      const tok = this.peek();
      if (tok.t !== "op" || !REDIRECT_OPS.has(tok.op)) break;
      redirects.push(this.#redirect());
      to = this.s.end;
    }
    return this.#located({ ...node, redirects, start: at, text: this.source.slice(from, to) }, from, to);
  }

  #if(from: number, at: Position): If {
    this.next();
    this.#enter(at);
    const clauses: { test: List; body: List }[] = [];
    let otherwise: List | undefined;
    const opener = { at, what: "if", closer: "fi" };
    for (;;) {
      const test = this.#nonEmpty(new Set(["then"]), { ...opener, closer: "then" });
      this.#expect("then", opener);
      const body = this.#nonEmpty(new Set(["elif", "else", "fi"]), opener);
      clauses.push({ test, body });
      const tok = this.next();
      const word = reserved(tok);
      if (word === "elif") continue;
      if (word === "else") {
        otherwise = this.#nonEmpty(new Set(["fi"]), opener);
        this.#expect("fi", opener);
      } else if (word !== "fi") throw this.#unexpected(tok, "fi", opener);
      break;
    }
    this.#leave();
    return this.#compound(otherwise ? { kind: "if", clauses, otherwise } : { kind: "if", clauses }, from, at);
  }

  #for(from: number, at: Position): For {
    this.next();
    this.#enter(at);
    const opener = { at, what: "for" };
    const nameTok = this.next();
    const name = nameTok.t === "word" ? plainText(nameTok.word) : undefined;
    if (name === undefined || !isName(name)) throw this.#unexpected(nameTok, "a name", opener);
    let words: Word[] | undefined;
    this.#skipNewlines();
    if (reserved(this.peek()) === "in") {
      this.next();
      words = [];
      for (;;) {
        const tok = this.peek();
        if (tok.t !== "word") break;
        this.next();
        words.push(tok.word);
      }
      const sep = this.next();
      if (!(sep.t === "newline" || (sep.t === "op" && sep.op === ";"))) throw this.#unexpected(sep, "do", opener);
    } else if (this.peek().t === "op" && (this.peek() as { op: string }).op === ";") {
      this.next();
    }
    this.#skipNewlines();
    this.#expect("do", opener);
    const body = this.#nonEmpty(new Set(["done"]), { ...opener, closer: "done" });
    this.#expect("done", opener);
    this.#leave();
    return this.#compound(words ? { kind: "for", name, words, body } : { kind: "for", name, body }, from, at);
  }

  #case(from: number, at: Position): Case {
    this.next();
    this.#enter(at);
    const opener = { at, what: "case" };
    const wordTok = this.next();
    if (wordTok.t !== "word") throw this.#unexpected(wordTok, "a word", opener);
    this.#skipNewlines();
    this.#expect("in", opener);
    const items: CaseItem[] = [];
    for (;;) {
      this.#skipNewlines();
      let tok = this.peek();
      if (reserved(tok) === "esac") {
        this.next();
        break;
      }
      if (tok.t === "op" && tok.op === "(") {
        this.next();
        tok = this.peek();
      }
      const patterns: Word[] = [];
      for (;;) {
        const p = this.next();
        if (p.t !== "word") throw this.#unexpected(p, p.t === "eof" ? "esac" : "a pattern", opener);
        patterns.push(p.word);
        const sep = this.next();
        if (sep.t === "op" && sep.op === ")") break;
        if (!(sep.t === "op" && sep.op === "|")) throw this.#unexpected(sep, ")", opener);
      }
      const body = this.#list(new Set(["esac"]), false);
      items.push({ patterns, body });
      const end = this.peek();
      if (end.t === "op" && end.op === ";;") {
        this.next();
        continue;
      }
      if (reserved(end) === "esac") {
        this.next();
        break;
      }
      throw this.#unexpected(end, "esac", opener);
    }
    this.#leave();
    return this.#compound({ kind: "case", word: wordTok.word, items }, from, at);
  }

  #redirect(): Redirect {
    const tok = this.next() as Extract<Token, { t: "op" }>;
    const op = tok.op as RedirectOp;
    const fd = tok.io ?? (op[0] === "<" ? 0 : 1);
    const target = this.next();
    if (target.t !== "word") {
      throw this.#unexpected(target, op === "<<" || op === "<<-" ? "a delimiter" : "a file name");
    }
    if (op === "<<" || op === "<<-") {
      const word = target.word;
      const quoted = word.parts.some((p) => p.kind !== "text" || p.quoted) || word.text.includes("\\");
      const delimiter = word.parts.map((p) => p.kind === "text" ? p.value : "").join("") ||
        word.text.replace(/["'\\]/g, "");
      // The body is read after the next newline, into this redirection.
      const redirect = { fd, op, target: { parts: [], start: tok.at, text: "" } as Word, start: tok.at, delimiter };
      this.#heredocs.push({ delimiter, quoted, strip: op === "<<-", start: tok.at, redirect });
      return redirect;
    }
    return { fd, op, target: target.word, start: tok.at };
  }

  #simple(): Command {
    const first = this.peek();
    const from = first.index;
    const at = this.#at(first);
    const assigns: Assignment[] = [];
    const words: Word[] = [];
    const redirects: Redirect[] = [];
    let to = from;
    for (;;) {
      const tok = this.peek();
      if (tok.t === "op" && REDIRECT_OPS.has(tok.op)) {
        redirects.push(this.#redirect());
        to = this.s.end;
        continue;
      }
      if (tok.t !== "word") break;
      this.next();
      to = this.s.end;
      const assignment = words.length ? undefined : assignmentOf(tok.word);
      if (assignment) {
        assigns.push(assignment);
        continue;
      }
      words.push(tok.word);
      // NAME() starts a function.
      const paren = this.peek();
      if (words.length === 1 && !assigns.length && !redirects.length && paren.t === "op" && paren.op === "(") {
        return this.#function(tok.word, from, at);
      }
    }
    if (!assigns.length && !words.length && !redirects.length) throw this.#unexpected(this.peek());
    const tok = this.peek();
    if (tok.t === "op" && tok.op === "(") {
      // NAME=(a b): bash's array.
      const last = assigns.at(-1);
      if (!words.length && last && !last.value.parts.length && tok.index === to) {
        throw new ParseError(this.#at(tok), `arrays (\`${last.name}=(...)\`) are not supported${BASH_HINT}`);
      }
      throw this.#unexpected(tok);
    }
    const text = this.source.slice(from, to);
    return this.#located({ kind: "simple", assigns, words, redirects, start: at, text }, from, to);
  }

  #function(nameWord: Word, from: number, at: Position): FunctionDef {
    const name = plainText(nameWord);
    if (name === undefined || !isName(name) || RESERVED.has(name)) {
      throw new ParseError(nameWord.start, `\`${nameWord.text}\` cannot name a function`);
    }
    this.next();
    const close = this.next();
    if (close.t !== "op" || close.op !== ")") throw this.#unexpected(close, ")");
    this.#skipNewlines();
    const tok = this.peek();
    const word = reserved(tok);
    const compound = (tok.t === "op" && tok.op === "(") ||
      ["{", "if", "while", "until", "for", "case"].includes(word ?? "");
    if (!compound) throw this.#unexpected(tok, "{");
    const body = this.#command();
    const to = this.#offsets.get(body)![1];
    return this.#located({ kind: "function", name, body, start: at, text: this.source.slice(from, to) }, from, to);
  }
}

/** `NAME=value` as the parser finds it: a word whose unquoted start is a name and `=`. */
function assignmentOf(word: Word): Assignment | undefined {
  const first = word.parts[0];
  if (first?.kind !== "text" || first.quoted) return undefined;
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(first.value);
  if (!m) return undefined;
  const name = m[1]!;
  const rest = first.value.slice(name.length + 1);
  const parts: Part[] = rest ? [{ ...first, value: rest }, ...word.parts.slice(1)] : word.parts.slice(1);
  const valueStart = { line: word.start.line, column: word.start.column + name.length + 1 };
  const value: Word = {
    parts: parts.length ? parts : [],
    start: valueStart,
    text: word.text.slice(word.text.indexOf("=") + 1),
  };
  return { name, value, start: word.start, text: word.text };
}

/**
 * Parses a script. Empty commands (blank lines, comments) are skipped.
 *
 * @param source The script: one line or many, joined with `\n`.
 * @param options Where its lines start.
 * @returns Its commands, as a list.
 * @throws {ParseError} For a syntax error or unsupported syntax; its
 * `incomplete` is `true` when more lines could complete the source.
 *
 * @example Two commands on one line
 * ```ts
 * import { parse } from "./parse.ts";
 *
 * const list = parse("hostname box; echo 'a b' $HOME | wc -c # done");
 * const texts = list.map((item) => item.command.text);
 * if (texts.join(";") !== "hostname box;echo 'a b' $HOME | wc -c") throw new Error(texts.join(";"));
 * ```
 */
export function parse(source: string, options: ParseOptions = {}): List {
  return new Parser(source, options.firstLine ?? 1).program();
}

/**
 * Whether `source` is incomplete (an open quote or construct, a trailing
 * backslash, `|` or `&&`, a here-document without its delimiter), so that
 * an interactive shell should read another line, join it with `\n` and try
 * again. A complete source, or one with a syntax error before the point
 * where it is incomplete, is not.
 *
 * @param source The lines read so far, joined with `\n`.
 * @returns `true` when more lines could complete it.
 *
 * @example
 * ```ts
 * import { isIncomplete } from "./parse.ts";
 *
 * if (!isIncomplete("echo 'it is") || !isIncomplete("if true; then")) throw new Error("they are incomplete");
 * if (isIncomplete("echo a | b )")) throw new Error("the `)` is an error, not incomplete");
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

/**
 * The simple commands of a list, depth first and in order (those inside
 * compound commands, functions and substitutions too).
 *
 * @param list The list.
 * @returns The simple commands.
 */
export function simpleCommands(list: List): SimpleCommand[] {
  const out: SimpleCommand[] = [];
  const words = (ws: readonly Word[]) => {
    for (const w of ws) word(w);
  };
  const word = (w: Word) => {
    for (const p of w.parts) {
      if (p.kind === "command") visitList(p.body);
      else if (p.kind === "var" && p.word) word(p.word);
      else if (p.kind === "arith") word(p.expr);
    }
  };
  const redirects = (rs: readonly Redirect[]) => rs.forEach((r) => word(r.target));
  const command = (c: Command): void => {
    switch (c.kind) {
      case "simple":
        out.push(c);
        c.assigns.forEach((a) => word(a.value));
        words(c.words);
        redirects(c.redirects);
        return;
      case "group":
      case "subshell":
        visitList(c.body);
        break;
      case "if":
        for (const clause of c.clauses) {
          visitList(clause.test);
          visitList(clause.body);
        }
        if (c.otherwise) visitList(c.otherwise);
        break;
      case "while":
      case "until":
        visitList(c.test);
        visitList(c.body);
        break;
      case "for":
        words(c.words ?? []);
        visitList(c.body);
        break;
      case "case":
        word(c.word);
        for (const item of c.items) {
          words(item.patterns);
          visitList(item.body);
        }
        break;
      case "function":
        command(c.body);
        return;
    }
    redirects(c.redirects);
  };
  const visitList = (l: List) => {
    for (const item of l) {
      for (const p of [item.command.first, ...item.command.rest.map((r) => r.pipeline)]) p.commands.forEach(command);
    }
  };
  visitList(list);
  return out;
}

/**
 * Quotes a string as one word of the language, so that parsing and expanding
 * it gives it back: as it is when it holds only safe characters (letters,
 * digits, `_ @ % + = : , . / -`) and is no reserved word, else in single
 * quotes, a `'` written `'\''`.
 *
 * @param s The string.
 * @returns The word.
 *
 * @example
 * ```ts
 * import { quote } from "./parse.ts";
 *
 * const line = ["echo", "it's", "a b", ""].map(quote).join(" ");
 * if (line !== "echo 'it'\\''s' 'a b' ''") throw new Error(line);
 * ```
 */
export function quote(s: string): string {
  const assignment = /^[A-Za-z_][A-Za-z0-9_]*=/.test(s);
  if (s !== "" && !RESERVED.has(s) && !BASH_KEYWORDS.has(s) && !assignment && [...s].every(isSafe)) return s;
  return `'${s.replaceAll("'", "'\\''")}'`;
}

function isSafe(c: string): boolean {
  return isNameChar(c) || "@%+=:,./-".includes(c);
}
