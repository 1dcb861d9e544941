/**
 * Filter expressions of util-linux's table library, libsmartcols
 * (`lsns -Q`, `lsblk --filter`; see scols-filter(5)): parsed and evaluated
 * as libsmartcols does, with its scanner's tokens, its grammar's precedences
 * (`&&` and `||` bind alike and group from the left; comparisons and `!` bind
 * tighter), and its rules for casting between strings, numbers, floats and
 * booleans.
 *
 * @module
 */

/** The data types of libsmartcols (`SCOLS_DATA_*`). */
export type FilterType = "string" | "number" | "float" | "boolean";

/** A value during evaluation; `empty` for a cell without data. */
interface Value {
  readonly type: FilterType;
  readonly str?: string | undefined;
  readonly num?: bigint;
  readonly float?: number;
  readonly bool?: boolean;
  readonly empty: boolean;
}

type Operator = "and" | "or" | "eq" | "ne" | "le" | "lt" | "ge" | "gt" | "re" | "nre";

/** A node of a parsed expression. */
export type FilterNode =
  | { readonly kind: "param"; readonly value: Value }
  | { readonly kind: "holder"; readonly name: string }
  | { readonly kind: "not"; readonly operand: FilterNode }
  | {
    readonly kind: "binary";
    readonly op: Operator;
    readonly left: FilterNode;
    readonly right: FilterNode;
    readonly regex?: RegExp;
  };

/** A filter expression that cannot be parsed or applied: the message util-linux would print after its prefix. */
export class FilterError extends Error {
  /**
   * @param message What is wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "FilterError";
  }
}

/** The limits of libsmartcols: expression bytes, nodes, regular expression bytes, repetition bounds. */
const MAX_EXPRESSION = 1024, MAX_NODES = 256, MAX_REGEX = 256, MAX_REPEAT = 1024;

type Token =
  | { readonly t: "(" | ")" | "'" | "end" }
  | { readonly t: "op"; readonly op: Operator }
  | { readonly t: "not" }
  | { readonly t: "number"; readonly value: bigint }
  | { readonly t: "float"; readonly value: number }
  | { readonly t: "bool"; readonly value: boolean }
  | { readonly t: "holder"; readonly name: string }
  | { readonly t: "string"; readonly text: string };

const WORDS: Readonly<Record<string, Token>> = {
  and: { t: "op", op: "and" },
  AND: { t: "op", op: "and" },
  or: { t: "op", op: "or" },
  OR: { t: "op", op: "or" },
  not: { t: "not" },
  NOT: { t: "not" },
  eq: { t: "op", op: "eq" },
  EQ: { t: "op", op: "eq" },
  ne: { t: "op", op: "ne" },
  NE: { t: "op", op: "ne" },
  le: { t: "op", op: "le" },
  LE: { t: "op", op: "le" },
  lt: { t: "op", op: "lt" },
  LT: { t: "op", op: "lt" },
  ge: { t: "op", op: "ge" },
  GE: { t: "op", op: "ge" },
  gt: { t: "op", op: "gt" },
  GT: { t: "op", op: "gt" },
  true: { t: "bool", value: true },
  TRUE: { t: "bool", value: true },
  false: { t: "bool", value: false },
  FALSE: { t: "bool", value: false },
};

const SYMBOLS: readonly [string, Token][] = [
  ["&&", { t: "op", op: "and" }],
  ["||", { t: "op", op: "or" }],
  ["==", { t: "op", op: "eq" }],
  ["!=", { t: "op", op: "ne" }],
  ["<=", { t: "op", op: "le" }],
  [">=", { t: "op", op: "ge" }],
  ["=~", { t: "op", op: "re" }],
  ["!~", { t: "op", op: "nre" }],
  ["<", { t: "op", op: "lt" }],
  [">", { t: "op", op: "gt" }],
  ["!", { t: "not" }],
  ["(", { t: "(" }],
  [")", { t: ")" }],
  ["'", { t: "'" }],
];

const SUFFIX = "KMGTPEZY";

/**
 * The tokens of an expression, as libsmartcols's flex scanner makes them:
 * the longest match, the first rule on a tie (so `andx` is a column name and
 * `and` an operator). A character no rule matches is skipped.
 */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < text.length;) {
    const rest = text.slice(i);
    const blank = /^[ \t\n]+/.exec(rest);
    if (blank) {
      i += blank[0].length;
      continue;
    }
    const candidates: [number, Token][] = [];
    for (const [symbol, token] of SYMBOLS) if (rest.startsWith(symbol)) candidates.push([symbol.length, token]);
    const word = /^[a-zA-Z][a-zA-Z_.%:/\-0-9]*/.exec(rest)?.[0];
    const keyword = /^[a-zA-Z]+/.exec(rest)?.[0];
    if (keyword !== undefined && Object.hasOwn(WORDS, keyword)) candidates.push([keyword.length, WORDS[keyword]!]);
    const float = /^[0-9]+\.[0-9]+/.exec(rest)?.[0];
    if (float !== undefined) candidates.push([float.length, { t: "float", value: Number(float) }]);
    const sized = /^([0-9]+)([KMGTPEZY])(iB)?/.exec(rest);
    if (sized) {
      const value = BigInt(sized[1]!) * 1024n ** BigInt(SUFFIX.indexOf(sized[2]!) + 1);
      if (value > 0xffffffffffffffffn) {
        throw new FilterError(`"${sized[0]}" token error: Numerical result out of range`);
      }
      candidates.push([sized[0].length, { t: "number", value }]);
    }
    const integer = /^[0-9]+/.exec(rest)?.[0];
    if (integer !== undefined) {
      // strtoumax: a value too large is ULLONG_MAX.
      const value = BigInt(integer);
      candidates.push([integer.length, {
        t: "number",
        value: value > 0xffffffffffffffffn ? 0xffffffffffffffffn : value,
      }]);
    }
    if (word !== undefined) candidates.push([word.length, { t: "holder", name: word }]);
    const quoted = /^("[^"\n]*"|'[^'\n]*')/.exec(rest)?.[0];
    if (quoted !== undefined) candidates.push([quoted.length, { t: "string", text: quoted.slice(1, -1) }]);
    if (!candidates.length) {
      i++;
      continue;
    }
    // The longest; among equals, the first rule (the order above follows the scanner's).
    const longest = Math.max(...candidates.map(([n]) => n));
    const [length, token] = candidates.find(([n]) => n === longest)!;
    tokens.push(token);
    i += length;
  }
  tokens.push({ t: "end" });
  return tokens;
}

function describe(token: Token): string {
  switch (token.t) {
    case "end":
      return "end of file";
    case "(":
    case ")":
      return `'${token.t}'`;
    case "'":
      // The scanner returns it, but the grammar has no such token.
      return "invalid token";
    case "op":
      return token.op === "re" ? "REG" : token.op === "nre" ? "NREG" : token.op.toUpperCase();
    case "not":
      return "NEG";
    case "number":
      return "NUMBER";
    case "float":
      return "FLOAT";
    case "bool":
      return token.value ? "TRUE" : "FALSE";
    case "holder":
      return "HOLDER";
    case "string":
      return "STRING";
  }
}

const LEVEL: Readonly<Record<Operator, number>> = {
  and: 1,
  or: 1,
  eq: 2,
  ne: 2,
  le: 2,
  lt: 2,
  ge: 2,
  gt: 2,
  re: 2,
  nre: 2,
};

/** A string as libsmartcols stores it: without blanks at either end. */
function trimmed(text: string): string {
  return text.replace(/^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g, "");
}

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alpha: "a-zA-Z",
  digit: "0-9",
  alnum: "a-zA-Z0-9",
  upper: "A-Z",
  lower: "a-z",
  space: " \\t\\n\\r\\f\\v",
  blank: " \\t",
  punct: "!-\\/:-@\\[-`{-~",
  xdigit: "0-9A-Fa-f",
  cntrl: "\\x00-\\x1f\\x7f",
  print: "\\x20-\\x7e",
  graph: "\\x21-\\x7e",
};

/**
 * A POSIX extended regular expression as a JavaScript one: the bracket
 * classes (`[[:digit:]]`) translated; refused when libsmartcols refuses it
 * (too long, or repetitions that blow up the POSIX compiler).
 */
function compileRegex(pattern: string): RegExp {
  if (new TextEncoder().encode(pattern).length > MAX_REGEX) throw new FilterError("regular expression is too long");
  for (let i = 0; i + 1 < pattern.length; i++) {
    const c = pattern[i]!, next = pattern[i + 1]!;
    if ((c === "+" || c === "*") && (next === "+" || next === "*")) {
      throw new FilterError(`unsafe regular expression: ${pattern}`);
    }
    if (c === ")" && (next === "+" || next === "*")) {
      for (let j = i - 1; j >= 0 && pattern[j] !== "("; j--) {
        if (pattern[j] === "+" || pattern[j] === "*") throw new FilterError(`unsafe regular expression: ${pattern}`);
      }
    }
  }
  for (const bound of pattern.matchAll(/\{([0-9,]*)\}/g)) {
    if (bound[1]!.split(",").some((n) => n !== "" && Number(n) > MAX_REPEAT)) {
      throw new FilterError(`unsafe regular expression: ${pattern}`);
    }
  }
  const source = pattern.replace(/\[:([a-z]+):\]/g, (all, name: string) => POSIX_CLASSES[name] ?? all);
  try {
    return new RegExp(source, "u");
  } catch (error) {
    throw new FilterError(`invalid regular expression: ${(error as Error).message}`);
  }
}

/** Parses tokens with the grammar of libsmartcols (filter-parser.y). */
class Parser {
  readonly #tokens: Token[];
  #at = 0;
  #nodes = 0;

  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }

  #peek(): Token {
    return this.#tokens[this.#at]!;
  }

  #node<T extends FilterNode>(node: T): T {
    if (++this.#nodes > MAX_NODES) throw new FilterError(`more than ${MAX_NODES} nodes in the expression`);
    return node;
  }

  /**
   * Bison's verbose message: the token, and what was expected when the
   * state that found the error expects one thing only (the end, once a whole
   * expression is read); for more it names none.
   */
  #unexpected(expecting?: string): FilterError {
    const more = expecting === undefined ? "" : `, expecting ${expecting}`;
    return new FilterError(`syntax error, unexpected ${describe(this.#peek())}${more}`);
  }

  parse(): FilterNode {
    const node = this.#expr(1);
    if (this.#peek().t !== "end") throw this.#unexpected("end of file");
    return node;
  }

  #primary(): FilterNode {
    const token = this.#tokens[this.#at++]!;
    switch (token.t) {
      case "not":
        // `!` has the precedence of the comparisons: it takes one operand.
        return this.#node({ kind: "not", operand: this.#primary() });
      case "(": {
        const inner = this.#expr(1);
        if (this.#peek().t !== ")") throw this.#unexpected();
        this.#at++;
        return inner;
      }
      case "number":
        return this.#node({ kind: "param", value: { type: "number", num: token.value, empty: false } });
      case "float":
        return this.#node({ kind: "param", value: { type: "float", float: token.value, empty: false } });
      case "bool":
        return this.#node({ kind: "param", value: { type: "boolean", bool: token.value, empty: false } });
      case "string":
        return this.#node({ kind: "param", value: { type: "string", str: trimmed(token.text), empty: false } });
      case "holder":
        return this.#node({ kind: "holder", name: token.name });
      default:
        this.#at--;
        throw this.#unexpected();
    }
  }

  #expr(min: number): FilterNode {
    let left = this.#primary();
    for (;;) {
      const token = this.#peek();
      if (token.t !== "op" || LEVEL[token.op] < min) return left;
      this.#at++;
      const right = this.#expr(LEVEL[token.op] + 1);
      let regex: RegExp | undefined;
      if (token.op === "re" || token.op === "nre") {
        if (right.kind !== "param" || right.value.type !== "string") {
          throw new FilterError(`the right side of ${token.op === "re" ? "=~" : "!~"} must be a string`);
        }
        regex = compileRegex(right.value.str ?? "");
      }
      left = this.#node({ kind: "binary", op: token.op, left, right, ...(regex ? { regex } : {}) });
    }
  }
}

/**
 * Parses a filter expression.
 *
 * @param text The expression; an empty one keeps every line.
 * @returns The expression, or `undefined` for an empty one.
 * @throws {FilterError} When it cannot be parsed.
 */
export function parseFilter(text: string): FilterNode | undefined {
  if (text === "") return undefined;
  if (new TextEncoder().encode(text).length > MAX_EXPRESSION) {
    throw new FilterError(`the expression is longer than ${MAX_EXPRESSION} bytes`);
  }
  return new Parser(tokenize(text)).parse();
}

/**
 * The column names an expression uses, in order of first use.
 *
 * @param node The expression.
 * @returns The names as written.
 */
export function filterHolders(node: FilterNode | undefined): string[] {
  const names: string[] = [];
  const visit = (n: FilterNode): void => {
    if (n.kind === "holder") {
      if (!names.includes(n.name)) names.push(n.name);
    } else if (n.kind === "not") visit(n.operand);
    else if (n.kind === "binary") {
      visit(n.left);
      visit(n.right);
    }
  };
  if (node) visit(node);
  return names;
}

/** What a line gives the filter: the text of a column's cell (`undefined` when empty), and the column's type. */
export interface FilterLine {
  /**
   * The cell of a column.
   *
   * @param name The column, as the expression names it.
   * @returns Its text, or `undefined` for an empty cell.
   */
  cell(name: string): string | undefined;
  /**
   * The type of a column: `"number"` for those JSON prints as numbers.
   *
   * @param name The column.
   * @returns Its type.
   */
  type(name: string): FilterType;
}

const U64_MAX = 0xffffffffffffffffn;

/** strtoumax as util-linux checks it: digits only, the whole string. */
function toNumber(text: string): bigint {
  if (!/^[ \t]*[+]?[0-9]+$/.test(text)) throw new FilterError(`cannot use "${text}" as a number`);
  const n = BigInt(text.trim());
  if (n > U64_MAX) throw new FilterError(`"${text}" is out of range`);
  return n;
}

function toFloat(text: string): number {
  const n = Number(text.trim());
  if (text.trim() === "" || Number.isNaN(n)) throw new FilterError(`cannot use "${text}" as a float`);
  return n;
}

/** printf("%Lg"): six significant digits, exponent form for large or small magnitudes. */
function formatG(n: number): string {
  if (n === 0) return "0";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  const exponent = Math.floor(Math.log10(Math.abs(n)));
  if (exponent < -4 || exponent >= 6) {
    const [mantissa, exp] = n.toExponential(5).split("e") as [string, string];
    const m = mantissa.includes(".") ? mantissa.replace(/0+$/, "").replace(/\.$/, "") : mantissa;
    const e = Number(exp);
    return `${m}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  const fixed = n.toFixed(Math.max(0, 5 - exponent));
  return fixed.includes(".") ? fixed.replace(/0+$/, "").replace(/\.$/, "") : fixed;
}

/** Casts a value as libsmartcols's cast_param() does. */
function cast(value: Value, type: FilterType): Value {
  if (value.type === type) return value;
  const empty = value.empty;
  switch (value.type) {
    case "string": {
      const str = value.str;
      switch (type) {
        case "number":
          return { type, num: str === undefined ? 0n : toNumber(str), empty };
        case "float":
          return { type, float: str === undefined ? 0 : toFloat(str), empty };
        default: {
          // "1", "true" in any case, or rpmatch(3)'s yes of the C locale.
          const bool = str !== undefined && str !== "" && (str === "1" || /^true$/i.test(str) || /^[yY]/.test(str));
          return { type, bool, empty };
        }
      }
    }
    case "number": {
      const num = value.num ?? 0n;
      if (type === "string") return { type, str: String(num), empty };
      if (type === "float") return { type, float: Number(num), empty };
      return { type, bool: num > 0n, empty };
    }
    case "float": {
      const float = value.float ?? 0;
      if (type === "string") return { type, str: formatG(float), empty };
      if (type === "number") return { type, num: float <= 0 ? 0n : BigInt(Math.trunc(float)), empty };
      return { type, bool: float > 0, empty };
    }
    case "boolean": {
      const bool = value.bool ?? false;
      if (type === "string") return { type, str: bool ? "true" : "false", empty };
      if (type === "number") return { type, num: bool ? 1n : 0n, empty };
      return { type, float: bool ? 1 : 0, empty };
    }
  }
}

function compare(a: bigint | number | boolean | string, b: typeof a): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares two values of one type, as libsmartcols's *_opers() do. */
function compareValues(op: Operator, l: Value, r: Value, regex: RegExp | undefined): boolean {
  if (l.type === "string") {
    if (op === "re" || op === "nre") return regex!.test(l.str ?? "") === (op === "re");
    // xstrcmp: an empty cell sorts before every string.
    const c = l.str === undefined ? (r.str === undefined ? 0 : -1) : r.str === undefined ? 1 : compare(l.str, r.str);
    return test(op, c);
  }
  if (op === "re" || op === "nre") throw new FilterError("=~ and !~ compare strings only");
  // An empty cell is neither equal nor unequal to anything.
  if (l.empty || r.empty) return false;
  const pick = (v: Value) => v.type === "number" ? v.num! : v.type === "float" ? v.float! : v.bool!;
  return test(op, compare(pick(l), pick(r)));
}

function test(op: Operator, c: number): boolean {
  switch (op) {
    case "eq":
      return c === 0;
    case "ne":
      return c !== 0;
    case "le":
      return c <= 0;
    case "lt":
      return c < 0;
    case "ge":
      return c >= 0;
    default:
      return c > 0;
  }
}

/** The type of a node for guessing a comparison's type. */
function nodeType(node: FilterNode, line: FilterLine): FilterType {
  if (node.kind === "param") return node.value.type;
  if (node.kind === "holder") return line.type(node.name);
  return "boolean";
}

/** A holder's value: its cell's text, trimmed, cast to the column's type. */
function fetch(name: string, line: FilterLine): Value {
  const text = line.cell(name);
  const value: Value = text === undefined
    ? { type: "string", str: undefined, empty: true }
    : { type: "string", str: trimmed(text), empty: false };
  return cast(value, line.type(name));
}

function valueOf(node: FilterNode, type: FilterType, line: FilterLine): Value {
  if (node.kind === "param") return cast(node.value, type);
  if (node.kind === "holder") return cast(fetch(node.name, line), type);
  return cast({ type: "boolean", bool: evaluate(node, line), empty: false }, type);
}

/**
 * Whether a line passes an expression.
 *
 * @param node The expression; `undefined` passes every line.
 * @param line The line's cells.
 * @returns `true` when the line is kept.
 * @throws {FilterError} When a cell cannot be cast to the type the
 *   comparison needs (libsmartcols fails the whole command then).
 */
export function evaluate(node: FilterNode | undefined, line: FilterLine): boolean {
  if (node === undefined) return true;
  switch (node.kind) {
    case "param":
    case "holder": {
      const value = node.kind === "param" ? node.value : fetch(node.name, line);
      if (value.empty) return false;
      switch (value.type) {
        case "string":
          return value.str !== undefined && value.str !== "";
        case "number":
          return value.num !== 0n;
        case "float":
          return value.float !== 0;
        default:
          return value.bool === true;
      }
    }
    case "not":
      return !evaluate(node.operand, line);
    case "binary": {
      if (node.op === "and") return evaluate(node.left, line) && evaluate(node.right, line);
      if (node.op === "or") return evaluate(node.left, line) || evaluate(node.right, line);
      const l = nodeType(node.left, line), r = nodeType(node.right, line);
      let type: FilterType;
      if (l === r) type = l;
      else {
        // "FOO > 5.5": the type of a real value wins over a column's.
        const lHolder = node.left.kind === "holder", rHolder = node.right.kind === "holder";
        type = lHolder && !rHolder ? r : rHolder && !lHolder ? l : l;
        if (type === "number" && (l === "float" || r === "float")) type = "float";
      }
      return compareValues(node.op, valueOf(node.left, type, line), valueOf(node.right, type, line), node.regex);
    }
  }
}
