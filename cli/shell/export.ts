/**
 * `nsh export FILE.nsh`: translates a script of the shell into an equivalent
 * TypeScript program on `mod.ts`. The translation is pure (source text in,
 * program text out) and keeps the shell's semantics: contexts become
 * {@linkcode Context}s closed when the script ends or fails, commands run in
 * the current context, variables expand when the program runs, from where the
 * shell reads them. What it cannot translate faithfully is a
 * {@linkcode ParseError} at the command's position.
 *
 * The output is `deno fmt`-clean with deno's default settings: lines are
 * laid out for 80 columns and broken into one item a line where deno fmt
 * would break them.
 *
 * @module
 */

import { type Command as Parsed, parse, ParseError, type Position, type Word } from "./parse.ts";
import { parseLimit, parseUnshare } from "../unshare.ts";
import { parseNsenter } from "../nsenter.ts";
import { lowerFirst, UsageError, ValueError } from "../usage.ts";
import type { Io } from "../commands.ts";
import { type NsenterOptions, nsenterSteps, type UnshareOptions, unshareSteps } from "../../lib/options.ts";
import { NAMESPACES, type NamespaceType } from "../../lib/namespaces.ts";
import type { Step } from "../../lib/steps.ts";
import { kindOf } from "../../lib/steps/_registry.ts";
import { netnsSubcommand } from "../netns.ts";
import { hostnameArgument, normalizePath, parseMount, readScript } from "./session.ts";

/** Options of {@linkcode exportScript}. */
export interface ExportOptions {
  /** The script's name as the user gave it: for comments, and `$0`. */
  readonly file: string;
  /** The URL the program imports `mod.ts` from (`cli.ts` is found beside it). */
  readonly from: string;
}

// ---------------------------------------------------------------------------
// Layout: documents printed the way deno fmt prints them.

const WIDTH = 80;

/** A bracketed list that may be broken one item a line, with a trailing comma. */
interface Group {
  readonly open: string;
  readonly close: string;
  readonly items: readonly Doc[];
  /** A space inside the brackets when on one line (`{ a }`, not `[a]`). */
  readonly pad: boolean;
}

/** Code to print: text, a group, or a sequence of them. */
type Doc = string | Group | readonly Doc[];

function group(open: string, items: readonly Doc[], close: string, pad = false): Group {
  return { open, close, items, pad };
}

function pieces(doc: Doc): (string | Group)[] {
  if (typeof doc === "string") return [doc];
  if (Array.isArray(doc)) return (doc as readonly Doc[]).flatMap(pieces);
  return [doc as Group];
}

function flat(doc: Doc): string {
  return pieces(doc).map((p) => {
    if (typeof p === "string") return p;
    if (!p.items.length) return p.open + p.close;
    const space = p.pad ? " " : "";
    return p.open + space + p.items.map(flat).join(", ") + space + p.close;
  }).join("");
}

function fits(text: string, indent: number): boolean {
  return text.split("\n").every((line, i) => (i === 0 ? indent : 0) + line.length <= WIDTH);
}

/**
 * Lays out a document whose first line starts at column `indent` (not
 * included in the result; later lines carry their own indentation): on one
 * line when it fits, else with one group broken (the last one that makes it
 * fit), else with the last group broken and what comes before laid out again.
 */
function layout(doc: Doc, indent: number, suffix: string): string {
  const list = pieces(doc);
  const oneLine = flat(list) + suffix;
  if (indent + oneLine.length <= WIDTH) return oneLine;
  const breakable = list.flatMap((p, i) => typeof p !== "string" && p.items.length ? [i] : []);
  if (!breakable.length) return oneLine;
  for (const i of [...breakable].reverse()) {
    const text = breakAt(list, i, indent, suffix, false);
    if (fits(text, indent)) return text;
  }
  return breakAt(list, breakable.at(-1)!, indent, suffix, true);
}

function breakAt(list: (string | Group)[], index: number, indent: number, suffix: string, again: boolean): string {
  const g = list[index] as Group;
  const head = again ? layout(list.slice(0, index), indent, g.open) : flat(list.slice(0, index)) + g.open;
  const inner = " ".repeat(indent + 2);
  const items = g.items.map((item) => inner + layout(item, indent + 2, ","));
  const close = " ".repeat(indent) + g.close + flat(list.slice(index + 1)) + suffix;
  return [head, ...items, close].join("\n");
}

/** An expression of a string as a template literal shows it: `String(n)` as `n`. */
function inTemplate(expr: string): string {
  return /^String\((.*)\)$/.exec(expr)?.[1] ?? expr;
}

/** An expression of a string as a number: `String(n)` as `n`. */
function numeric(expr: string): string {
  const inner = /^String\((.*)\)$/.exec(expr)?.[1];
  return inner ?? `Number(${expr})`;
}

/** A string literal. */
function str(s: string): string {
  return JSON.stringify(s);
}

/** The text of a template literal between its backquotes. */
function templateText(s: string): string {
  return JSON.stringify(s).slice(1, -1).replace(
    /\\"|`|\$\{|\\./g,
    (m) => m === '\\"' ? '"' : m === "`" ? "\\`" : m === "${" ? "\\${" : m,
  );
}

function call(callee: string, args: readonly Doc[]): Doc {
  return [callee, group("(", args, ")")];
}

/** `f({ key: value, … })`, or `f()` for no keys. */
function callWithObject(callee: string, entries: readonly [string, Doc][]): Doc {
  if (!entries.length) return callee + "()";
  return [callee, group("({", entries.map(([k, v]) => [`${k}: `, v]), "})", true)];
}

function object(entries: readonly [string, Doc][]): Doc {
  return group("{", entries.map(([k, v]) => [`${k}: `, v]), "}", true);
}

// ---------------------------------------------------------------------------
// Arguments: words turned into expressions.

/**
 * An argument as the translation sees it: one string (its text may hold
 * placeholders that stand for expressions, so that the CLI's own parsers can
 * read it), or a spread of words known only at run time.
 */
type Arg =
  | { readonly kind: "one"; readonly text: string }
  | { readonly kind: "spread"; readonly expr: string }
  | { readonly kind: "expr"; readonly expr: string };

/** What a translated script needs besides its statements. */
interface Needs {
  imports: Set<string>;
  /** nsh's CLI as a program, for run. */
  nsh: boolean;
  /** nsh's CLI in this process, for lsns. */
  cli: boolean;
  /** The lines of netns list. */
  netnsList: boolean;
  split: boolean;
  resolve: boolean;
  /** A statement may reject with a CommandError. */
  commandError: boolean;
  /** A statement may reject with a SyscallError: a program or a step that fails to start. */
  setupError: boolean;
}

/** A context of the script while it is open. */
interface ContextInfo {
  readonly name: string;
  /** The namespaces it has of its own or from its parents, as far as the script says. */
  readonly types: ReadonlySet<NamespaceType>;
  /** Variables the script set or unset in it. */
  readonly vars: Set<string>;
}

type Line = { readonly kind: "blank" } | { readonly kind: "comment"; readonly text: string } | {
  readonly kind: "statement";
  readonly doc: Doc;
};

/** How many arguments each netns subcommand that export translates takes after its own name. */
const NETNS_ARITY: Readonly<Record<string, readonly [number, number]>> = {
  list: [0, 0],
  set: [2, 2],
  add: [1, 1],
  attach: [2, 2],
  delete: [1, 1],
  identify: [0, 1],
  pids: [1, 1],
  exec: [2, Infinity],
};

const UNTRANSLATABLE: Readonly<Record<string, string>> = {
  save: "it writes what an interactive session did",
  help: "it is the interactive shell's help",
};

/** Namespace types that steps create or imply, as lib/plan.ts implies them. */
function stepTypes(list: readonly Step[]): NamespaceType[] {
  const types = new Set<NamespaceType>();
  for (const step of list) {
    if (step.kind === "namespaces") step.types.forEach((t) => types.add(t));
    else if (step.kind === "persist") types.add(step.type);
    else if (step.kind.startsWith("map-") || step.kind === "setgroups" || step.kind === "keep-caps") types.add("user");
    else if (step.kind === "time-offset") types.add("time");
    else if (step.kind === "hostname" || step.kind === "domainname") types.add("uts");
    else if (["mount-proc", "bind", "tmpfs", "mount", "umount"].includes(step.kind)) types.add("mnt");
  }
  return [...types];
}

/** One script being translated. */
class Translator {
  readonly #file: string;
  readonly #lines: Line[] = [];
  readonly #contexts: ContextInfo[] = [];
  readonly needs: Needs = {
    imports: new Set(),
    nsh: false,
    cli: false,
    netnsList: false,
    split: false,
    resolve: false,
    commandError: false,
    setupError: false,
  };
  #names = 0;
  #codes = 0;
  #errexit = true;
  /** The expression of `$?`: the status of the command before. */
  #status = "0";
  /** Placeholders of the current command: text that stands for an expression. */
  #placeholders = new Map<string, string>();
  /** How the script wrote what each placeholder stands for. */
  #shownAs = new Map<string, string>();
  readonly #prefix: string;

  constructor(source: string, file: string) {
    this.#file = file;
    // Placeholders are digits, so that options that take numbers (a pid, an
    // offset) parse them too; the prefix is one the script does not contain.
    let prefix = 400000;
    while (source.includes(String(prefix))) prefix += 1000;
    this.#prefix = String(prefix);
  }

  get lines(): readonly Line[] {
    return this.#lines;
  }

  comment(text: string): void {
    this.#lines.push({ kind: "comment", text });
  }

  blank(): void {
    if (this.#lines.length && this.#lines.at(-1)!.kind !== "blank") this.#lines.push({ kind: "blank" });
  }

  #statement(doc: Doc): void {
    // What nsh does (start a program, make a context, mount) can fail to start.
    const first = pieces(doc)[0];
    if (typeof first === "string" && /^(await |const \w+ = await |await using )/.test(first)) {
      this.needs.setupError = true;
    }
    this.#lines.push({ kind: "statement", doc });
  }

  #import(...names: string[]): void {
    for (const name of names) this.needs.imports.add(name);
  }

  get #context(): ContextInfo | undefined {
    return this.#contexts.at(-1);
  }

  // --- expressions -------------------------------------------------------

  /** The expression of a variable, read where the shell reads it. */
  #variable(name: string): string {
    switch (name) {
      case "?":
        return this.#status === "0" ? str("0") : `String(${this.#status})`;
      case "$":
        return "String(Deno.pid)";
      case "#":
        return "String(Deno.args.length)";
      case "@":
      case "*":
        return 'Deno.args.join(" ")';
    }
    if (/^\d+$/.test(name)) {
      const n = Number(name);
      return n === 0 ? str(this.#file) : `Deno.args[${n - 1}] ?? ""`;
    }
    return `${this.#lookup(name)} ?? ""`;
  }

  /** Where a variable's value is: the innermost context that set it, else the environment. */
  #lookup(name: string): string {
    for (let i = this.#contexts.length - 1; i >= 0; i--) {
      const c = this.#contexts[i]!;
      if (c.vars.has(name)) return `${c.name}.vars.get(${str(name)})`;
    }
    return `Deno.env.get(${str(name)})`;
  }

  #placeholder(expr: string, shown: string): string {
    const key = this.#prefix + String(this.#placeholders.size).padStart(4, "0");
    this.#placeholders.set(key, expr);
    this.#shownAs.set(key, shown);
    return key;
  }

  /** Text with its placeholders shown as the script wrote them, for messages. */
  #shown(text: string): string {
    return text.replace(new RegExp(`${this.#prefix}\\d{4}`, "g"), (key) => this.#shownAs.get(key) ?? key);
  }

  /**
   * The arguments of a word. Programs get sh's field splitting of unquoted
   * variables (at run time); nsh's own commands take such a variable as one
   * argument.
   */
  #arg(word: Word, split: boolean): Arg {
    const parts = word.parts;
    if (parts.some((p) => p.kind === "var" && p.name === "@" && p.quoted)) {
      if (parts.length === 1 && split) return { kind: "spread", expr: "Deno.args" };
      throw new ParseError(word.start, 'cannot translate "$@" here: only as a whole argument of a program');
    }
    const chunks: ({ text: string } | { expr: string; split: boolean; shown: string })[] = [];
    parts.forEach((part, i) => {
      if (part.kind === "text") {
        const tilde = i === 0 && !part.quoted &&
          ((part.value === "~" && parts.length === 1) || part.value.startsWith("~/"));
        if (tilde) {
          chunks.push({ expr: `${this.#lookup("HOME")} || "~"`, split: false, shown: "~" });
          if (part.value.length > 1) chunks.push({ text: part.value.slice(1) });
        } else {
          chunks.push({ text: part.value });
        }
      } else {
        chunks.push({ expr: this.#variable(part.name), split: splitsAtRunTime(part), shown: `$${part.name}` });
      }
    });
    if (split && chunks.some((c) => "expr" in c && c.split)) {
      // Splitting the whole word at run time is sh's splitting when its
      // literal text has no blanks and is not empty quotes.
      if (chunks.some((c) => "text" in c && (c.text === "" || /[ \t\n]/.test(c.text)))) {
        throw new ParseError(word.start, `cannot translate ${word.text}: quote the variable ("$NAME")`);
      }
      this.needs.split = true;
      const only = chunks.length === 1 ? chunks[0] as { expr: string } : undefined;
      const expr = only ? only.expr : "`" +
        chunks.map((c) => "text" in c ? templateText(c.text) : "${" + inTemplate(c.expr) + "}").join("") + "`";
      return { kind: "spread", expr: `split(${expr})` };
    }
    return {
      kind: "one",
      text: chunks.map((c) => "text" in c ? c.text : this.#placeholder(c.expr, c.shown)).join(""),
    };
  }

  /** The expression of a string that may hold placeholders. */
  #string(text: string): string {
    const re = new RegExp(`${this.#prefix}\\d{4}`, "g");
    const found = [...text.matchAll(re)].filter((m) => this.#placeholders.has(m[0]));
    if (!found.length) return str(text);
    if (found.length === 1 && found[0]![0] === text) return this.#placeholders.get(text)!;
    let out = "";
    let at = 0;
    for (const m of found) {
      out += templateText(text.slice(at, m.index)) + "${" + inTemplate(this.#placeholders.get(m[0])!) + "}";
      at = m.index! + m[0].length;
    }
    return "`" + out + templateText(text.slice(at)) + "`";
  }

  #number(n: number): string {
    const expr = this.#placeholders.get(String(n));
    return expr === undefined ? String(n) : numeric(expr);
  }

  #value(value: unknown): Doc {
    if (typeof value === "boolean") return String(value);
    if (typeof value === "number") return this.#number(value);
    if (typeof value === "string") return this.#string(value);
    if (Array.isArray(value)) return group("[", value.map((v) => this.#value(v)), "]");
    return object(Object.entries(value as object).map(([k, v]) => [k, this.#value(v)]));
  }

  /** A step as the call of mod.ts that makes it: `dropCapabilities("ALL")`. */
  #step(step: Step): Doc {
    const { fn, args } = kindOf(step).code(step);
    this.#import(fn);
    return call(fn, args.map((a) => this.#value(a)));
  }

  #options(options: UnshareOptions | NsenterOptions): [string, Doc][] {
    return Object.entries(options).map(([k, v]) => [k, this.#value(v)]);
  }

  /** The arguments of `run()`; its first is the program, or the whole argv when an array. */
  #argDocs(args: readonly Arg[]): Doc[] {
    return args.map((a, i) =>
      a.kind === "one" ? this.#string(a.text) : a.kind === "expr" || i === 0 ? a.expr : `...${a.expr}`
    );
  }

  // --- commands ----------------------------------------------------------

  /** Where the current command starts. */
  #at: Position = { line: 1, column: 1 };
  /** The current command's name. */
  #name = "";
  /** Whether the next command reads `$?`. */
  #statusUsed = false;
  /** Whether the script's status is the current command's. */
  #last = false;

  #fail(why: string): ParseError {
    return new ParseError(this.#at, `cannot translate \`${this.#name}\`: ${why}`);
  }

  #usage(command: string, message: string): ParseError {
    return new ParseError(this.#at, `${command}: ${message}`);
  }

  /** Runs one of the CLI's parsers, its usage errors reported at the command. */
  #parsing<T>(f: () => T): T {
    try {
      return f();
    } catch (error) {
      if (!(error instanceof UsageError || error instanceof TypeError)) throw error;
      const variables = this.#placeholders.size ? " (a variable stands where nsh needs a literal)" : "";
      const message = this.#shown(lowerFirst(error.message)) + variables;
      throw this.#usage(error instanceof UsageError && error.command || this.#name, message);
    }
  }

  /**
   * Translates one command.
   *
   * @param command The command.
   * @param next The command after it, if any.
   * @returns `false` when the script ends here (`exit` at the top).
   */
  command(command: Parsed, next: Parsed | undefined): boolean {
    this.#placeholders = new Map();
    this.#shownAs = new Map();
    this.#at = command.start;
    const [first, ...rest] = command.words;
    const name = literal(first!);
    if (name === undefined) {
      throw new ParseError(command.start, "cannot translate a command whose name is a variable: write it out");
    }
    this.#name = name;
    this.#statusUsed = next !== undefined && readsStatus(next);
    // A bare `exit` at the top ends the script with this command's status.
    this.#last = next === undefined ||
      (!this.#contexts.length && literal(next.words[0]!) === "exit" && next.words.length === 1);
    let status = "0";
    switch (name) {
      case "unshare":
        status = this.#unshare(rest);
        break;
      case "nsenter":
        status = this.#nsenter(rest);
        break;
      case "enter": {
        // A named context, joined as the shell joins it: Context.enter.
        const args = this.#words(rest);
        if (args.length !== 1) throw this.#usage("enter", "expected the name of a context");
        this.#import("Context");
        const parent = this.#context;
        const join = call("Context.enter", [this.#string(args[0]!), ...(parent ? [parent.name] : [])]);
        // Which namespaces it has is known when it runs: all of them, for the steps that need one.
        const name = this.#newContext(new Set(NAMESPACES.map((info) => info.type)));
        this.#statement([`await using ${name} = `, join]);
        break;
      }
      case "exit":
        return this.#exit(this.#words(rest));
      case "mount-proc": {
        const args = this.#words(rest);
        if (args.length > 1) throw this.#usage(name, "too many arguments");
        const ctx = this.#needing("mnt");
        this.#statement(["await ", call(`${ctx}.mountProc`, args[0] === undefined ? [] : [this.#string(args[0])])]);
        break;
      }
      case "mount": {
        const step = this.#parsing(() => parseMount(this.#words(rest)));
        this.#statement(["await ", this.#mountStep(step, this.#needing("mnt"))]);
        break;
      }
      case "umount": {
        const args = this.#words(rest);
        if (args.length !== 1) throw this.#usage(name, "expected one mount point");
        const ctx = this.#needing("mnt");
        this.#import("umount");
        this.#statement(["await ", call(`${ctx}.apply`, [call("umount", [this.#string(args[0]!)])])]);
        break;
      }
      case "hostname":
        this.#hostname(this.#words(rest));
        break;
      case "limit": {
        const list = this.#parsing(() => parseLimit(this.#words(rest)));
        const ctx = this.#context;
        if (!ctx) throw this.#usage(name, "not in a context: limits are given to unshare, which makes one");
        this.#statement(["await ", call(`${ctx.name}.apply`, list.map((step) => this.#step(step)))]);
        break;
      }
      case "cd":
        this.#cd(this.#words(rest));
        break;
      case "pwd":
        this.#statement(call("console.log", [this.#context ? `${this.#context.name}.cwd` : "Deno.cwd()"]));
        break;
      case "export":
        this.#export(this.#words(rest));
        break;
      case "unset":
        for (const n of this.#words(rest)) this.#setVariable(n, undefined);
        break;
      case "set": {
        const args = this.#words(rest);
        if (args.length !== 1 || (args[0] !== "-e" && args[0] !== "+e")) throw this.#usage(name, "expected -e or +e");
        this.#errexit = args[0] === "-e";
        break;
      }
      case "lsns":
      case "netns":
      case "release":
      case "run":
        status = this.#nshCommand(rest);
        break;
      default:
        if (Object.hasOwn(UNTRANSLATABLE, name)) throw this.#fail(UNTRANSLATABLE[name]!);
        status = this.#program(this.#runner(), this.#args(command.words));
    }
    this.#status = status;
    return true;
  }

  /** The arguments of a program's words: unquoted variables split when it runs. */
  #args(words: readonly Word[]): Arg[] {
    return words.map((w) => this.#arg(w, true));
  }

  /** The arguments of nsh's own commands: each word one argument. */
  #words(words: readonly Word[]): string[] {
    return words.map((w) => (this.#arg(w, false) as { text: string }).text);
  }

  /** What programs run in: the current context, or a sandbox of no steps at the top. */
  #runner(): Doc {
    if (this.#context) return this.#context.name;
    this.#import("sandbox");
    return "sandbox()";
  }

  /**
   * A program: `await runner.run(argv)`, `.noThrow()` after `set +e`, its
   * status kept when `$?` reads it.
   *
   * @returns The expression of its status, for `$?`.
   */
  #program(runner: Doc, argv: readonly Arg[], options: readonly Doc[] = []): string {
    const command: Doc = [runner, call(".run", this.#argDocs(argv)), ...options];
    // A failure of the last command ends the script with its status either
    // way: only commands that the script goes on after need .noThrow().
    if (this.#errexit || (this.#last && !this.#statusUsed)) {
      this.needs.commandError = true;
      this.#statement(["await ", command]);
      return "0";
    }
    if (!this.#statusUsed) {
      this.#statement(["await ", command, ".noThrow()"]);
      return "0";
    }
    const code = ++this.#codes === 1 ? "code" : `code${this.#codes}`;
    this.#statement([`const { ${code === "code" ? code : `code: ${code}`} } = await `, command, ".noThrow()"]);
    return code;
  }

  /** The name of the current context, which must have a namespace of `type`. */
  #needing(type: "mnt" | "uts"): string {
    const ctx = this.#context;
    if (!ctx || !ctx.types.has(type)) {
      const what = type === "mnt" ? "mount" : "UTS";
      const option = type === "mnt" ? "--mount" : "--uts";
      throw this.#usage(
        this.#name,
        `not in a context with a ${what} namespace of its own: it would change the host's (run unshare ${option} first)`,
      );
    }
    return ctx.name;
  }

  #mountStep(step: Step, ctx: string): Doc {
    switch (step.kind) {
      case "mount-proc":
        return call(`${ctx}.mountProc`, step.target === "/proc" ? [] : [this.#string(step.target)]);
      case "tmpfs":
        this.#import("tmpfs");
        return call(`${ctx}.apply`, [
          call("tmpfs", [this.#string(step.target), ...(step.options ? [this.#string(step.options)] : [])]),
        ]);
      case "bind":
        this.#import("bindMount");
        return call(`${ctx}.apply`, [
          call("bindMount", [
            this.#string(step.source),
            this.#string(step.target),
            ...(step.readonly ? [object([["readonly", "true"]])] : []),
          ]),
        ]);
      default: {
        const s = step as Extract<Step, { kind: "mount" }>;
        const entries: [string, Doc][] = [
          ["source", this.#string(s.source)],
          ["target", this.#string(s.target)],
          ["type", this.#string(s.type)],
        ];
        if (s.flags) entries.push(["flags", String(s.flags)]);
        if (s.data) entries.push(["data", this.#string(s.data)]);
        return callWithObject(`${ctx}.mount`, entries);
      }
    }
  }

  /**
   * The options and the program of `unshare`/`nsenter`. Options are read as
   * nsh's own commands read their words (a variable is one word, which
   * starts the program unless an option takes it as its value); the program's
   * words are a program's (split when it runs). A `"$@"` starts the program.
   */
  #split<R extends { kind: string }>(
    rest: readonly Word[],
    parser: (args: readonly string[]) => R,
  ): { request: R & { kind: "run"; program: boolean; argv: string[] }; program: Arg[] } {
    let end = rest.findIndex((w) => w.parts.some((p) => p.kind === "var" && p.name === "@" && p.quoted));
    if (end < 0) end = rest.length;
    const words = this.#words(rest.slice(0, end));
    const request = this.#parsing(() => parser(words));
    if (request.kind !== "run") throw this.#fail(`--${request.kind} is for the command line`);
    const run = request as R & { kind: "run"; program: boolean; argv: string[] };
    const start = run.program ? end - run.argv.length : end;
    // The shell splits an unquoted variable before it parses the options: its
    // words may be options, which only the values known at run time decide.
    const parsed = rest.slice(0, Math.min(start + 1, end)).find((w) => w.parts.some(splitsAtRunTime));
    if (parsed) {
      throw new ParseError(
        parsed.start,
        `cannot translate ${parsed.text} here: nsh splits it and parses its words as ${this.#name}'s options; ` +
          `write them out, or quote it ("$NAME") when it is one word`,
      );
    }
    return { request: run, program: this.#args(rest.slice(start)) };
  }

  #unshare(rest: readonly Word[]): string {
    const { request, program } = this.#split(rest, parseUnshare);
    if (request.keepEnv) {
      throw this.#fail("--clear-env and --whitelist-env are not translated: use .clearEnv() and .env()");
    }
    if (request.forwardSignals) {
      throw this.#fail("--forward-signals is about nsh's own signals, which a program has not");
    }
    const options = this.#options(request.options);
    let box: Doc;
    if (request.isolate) {
      this.#import("isolate");
      box = call("isolate", request.isolate.network ? [object([["network", "true"]])] : []);
      if (options.length) {
        this.#import("unshare");
        box = [box, call(".with", [callWithObject("unshare", options)])];
      }
    } else {
      this.#import("unshare");
      box = callWithObject("unshare", options);
    }
    if (request.steps.length) box = [box, call(".with", request.steps.map((step) => this.#step(step)))];
    if (program.length) return this.#programIn(box, program);
    const parent = this.#context;
    const types = new Set([...(parent?.types ?? []), ...stepTypes(unshareSteps(request.options))]);
    const name = this.#newContext(types);
    const named: Doc[] = request.name === undefined ? [] : [
      object([
        ["name", str(request.name)],
        ...(request.persist ? [["persist", "true"] as [string, Doc]] : []),
      ]),
    ];
    const hold = parent
      ? ["await ", call(`${parent.name}.hold`, [box, ...named])]
      : ["await ", box, call(".hold", named)];
    this.#statement([`await using ${name} = `, hold]);
    return "0";
  }

  /**
   * A program in a sandbox made in the current context:
   * `ctx.sandbox().with(box).run(argv)`, given the context's variables as
   * `ctx.run()` gives them.
   */
  #programIn(box: Doc, argv: readonly Arg[]): string {
    const ctx = this.#context;
    if (!ctx) return this.#program(box, argv);
    const vars = this.#contexts.some((c) => c.vars.size > 0);
    const env = vars ? [call(".env", [call("Object.fromEntries", [`${ctx.name}.env()`])])] : [];
    return this.#program([`${ctx.name}.sandbox()`, call(".with", [box])], argv, env);
  }

  #newContext(types: ReadonlySet<NamespaceType>): string {
    const name = ++this.#names === 1 ? "ctx" : `ctx${this.#names}`;
    this.#contexts.push({ name, types, vars: new Set() });
    return name;
  }

  #nsenter(rest: readonly Word[]): string {
    const { request, program } = this.#split(rest, parseNsenter);
    if (request.env) throw this.#fail("--env reads another process's environment, which mod.ts does not offer");
    // In a context, files given to nsenter are where the context sees them,
    // as the shell takes them: reached through the context's root.
    const options: NsenterOptions = { ...request.options };
    const ctx = this.#context;
    for (const key of ["mount", "uts", "ipc", "net", "pid", "user", "cgroup", "time"] as const) {
      const file = options[key];
      if (ctx && typeof file === "string") {
        options[key] = this.#placeholder(`${ctx.name}.hostPath(${this.#string(file)})`, this.#shown(file));
      }
    }
    if (program.length) {
      this.#import("nsenter");
      let box: Doc = callWithObject("nsenter", this.#options(options));
      if (request.wdns !== undefined) box = [box, call(".workdir", [this.#string(request.wdns)])];
      return this.#programIn(box, program);
    }
    // Without a program: a context of the namespaces, as the shell makes it
    // (only the namespaces count, not --root, --wd or ids).
    this.#import("Context");
    const parent = this.#context;
    const parentArg = parent ? [parent.name] : [];
    let join: Doc;
    let joined: NamespaceType[];
    if (options.all) {
      if (options.target === undefined) throw this.#usage("nsenter", "--all needs --target");
      join = call("Context.joinProcess", [this.#number(options.target), ...parentArg]);
      joined = NAMESPACES.map((info) => info.type).filter((t) => t !== "user");
    } else {
      const entries = this.#parsing(() => nsenterSteps(options))
        .flatMap((s) => s.kind === "enter" ? [{ type: s.type, path: s.path }] : []);
      joined = entries.map((e) => e.type);
      const list = entries.map((e) => object([["type", str(e.type)], ["path", this.#string(e.path)]]));
      join = call("Context.join", [group("[", list, "]"), ...parentArg]);
    }
    const name = this.#newContext(new Set([...(parent?.types ?? []), ...joined]));
    this.#statement([`await using ${name} = `, join]);
    if (request.wdns !== undefined) this.#statement(`${name}.cwd = ${this.#string(request.wdns)}`);
    return "0";
  }

  #exit(args: string[]): boolean {
    const given = args[0];
    const dynamic = given !== undefined && this.#placeholders.has(given);
    if (args.length > 1 || (given !== undefined && !dynamic && !/^\d+$/.test(given))) {
      throw this.#usage("exit", `expected a status, got '${args.join(" ")}'`);
    }
    const ctx = this.#contexts.pop();
    if (ctx) {
      // As `(exit N)` in sh: what follows gets N as `$?`, and under set -e a
      // status other than 0 ends the script with it.
      this.#statement(`await ${ctx.name}.close()`);
      const status = dynamic
        ? `${numeric(this.#placeholders.get(given)!)} & 255`
        : given !== undefined
        ? String(Number(given) & 255)
        : this.#status;
      const ends = this.#errexit || (this.#last && !this.#statusUsed);
      if (status !== "0" && ends) {
        if (/^\d+$/.test(status)) {
          this.#statement(`Deno.exitCode = ${status}`);
          return false;
        }
        const code = ++this.#codes === 1 ? "code" : `code${this.#codes}`;
        this.#statement(`const ${code} = ${status}`);
        this.#statement(`if (${code} !== 0) Deno.exit(${code})`);
        this.#status = "0";
        return true;
      }
      this.#status = status;
      return true;
    }
    // At the top, exit ends the script, with the last command's status
    // unless given (a failing last command has ended it with its own).
    if (dynamic) this.#statement(`Deno.exitCode = ${numeric(this.#placeholders.get(given)!)} & 255`);
    else if (given !== undefined && (Number(given) & 255) !== 0) {
      this.#statement(`Deno.exitCode = ${Number(given) & 255}`);
    } else if (given === undefined && this.#status !== "0") this.#statement(`Deno.exitCode = ${this.#status}`);
    return false;
  }

  #hostname(args: string[]): void {
    const name = this.#parsing(() => hostnameArgument(args));
    if (name !== undefined) {
      const ctx = this.#needing("uts");
      this.#statement(["await ", call(`${ctx}.hostname`, [this.#string(name)])]);
      return;
    }
    const ctx = this.#context;
    if (!ctx) {
      this.#statement(call("console.log", ["Deno.hostname()"]));
      return;
    }
    // As the shell does: the context's hostname is what a program there reads.
    this.needs.commandError = true;
    const read = ["await ", call(`${ctx.name}.run`, [str("cat"), str("/proc/sys/kernel/hostname")]), ".text()"];
    this.#statement(call("console.log", [read]));
  }

  #cd(args: string[]): void {
    if (args.length > 1) throw this.#usage("cd", "too many arguments");
    const ctx = this.#context;
    const target = args[0] === undefined ? `${this.#lookup("HOME")} ?? "/"` : this.#string(args[0]);
    if (!ctx) {
      this.#statement(call("Deno.chdir", [target]));
    } else if (args[0] !== undefined && args[0].startsWith("/") && !this.#placeholders.size) {
      this.#statement(`${ctx.name}.cwd = ${str(normalizePath(args[0]))}`);
    } else {
      this.needs.resolve = true;
      this.#statement([`${ctx.name}.cwd = `, call("resolve", [`${ctx.name}.cwd`, target])]);
    }
  }

  #export(args: string[]): void {
    if (!args.length) throw this.#fail("without arguments it lists variables; write them out");
    for (const arg of args) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg : arg.slice(0, eq);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw this.#usage("export", `'${name}' is not a valid name`);
      // `export NAME` keeps the value NAME has: programs get it already.
      if (eq >= 0) this.#setVariable(name, this.#string(arg.slice(eq + 1)));
    }
  }

  #setVariable(name: string, value: string | undefined): void {
    const ctx = this.#context;
    if (ctx) {
      ctx.vars.add(name);
      this.#statement(call(`${ctx.name}.vars.set`, [str(name), value ?? "undefined"]));
    } else if (value === undefined) {
      this.#statement(call("Deno.env.delete", [str(name)]));
    } else {
      this.#statement(call("Deno.env.set", [str(name), value]));
    }
  }

  /**
   * lsns, netns, release and run. netns and release are mod.ts's functions,
   * given the context in one (`{ context: ctx }`), as the shell runs them in
   * its own process; lsns, whose table is the CLI's, is the CLI's command,
   * run in this process with the context; run, a new nsh, runs as nsh's CLI.
   */
  #nshCommand(rest: readonly Word[]): string {
    const name = this.#name;
    const ctx = this.#context?.name;
    if (name === "run") {
      this.needs.nsh = true;
      return this.#program(this.#runner(), [
        { kind: "expr", expr: "nsh" },
        { kind: "one", text: name },
        ...this.#args(rest),
      ]);
    }
    const args = this.#words(rest);
    const where: Doc[] = ctx ? [object([["context", ctx]])] : [];
    if (name === "lsns") {
      this.needs.cli = true;
      const command = call("main", [
        group("[", [str("lsns"), ...args.map((a) => this.#string(a))], "]"),
        "stdio",
        ...where,
      ]);
      if (this.#errexit || (this.#last && !this.#statusUsed)) {
        // main() has said why: end with its status, as nsh run does.
        const code = ++this.#codes === 1 ? "code" : `code${this.#codes}`;
        this.#statement([`const ${code} = await `, command]);
        this.#statement(`if (${code} !== 0) Deno.exit(${code})`);
        return "0";
      }
      if (!this.#statusUsed) {
        this.#statement(["await ", command]);
        return "0";
      }
      const code = ++this.#codes === 1 ? "code" : `code${this.#codes}`;
      this.#statement([`const ${code} = await `, command]);
      return code;
    }
    this.needs.setupError = true;
    if (name === "release") {
      if (!args.length || args.some((a) => a.startsWith("-"))) throw this.#fail("it takes files only");
      this.#import("releaseNamespace");
      for (const file of args) this.#statement(["await ", call("releaseNamespace", [this.#string(file), ...where])]);
      return "0";
    }
    const [word, ...more] = args;
    const sub = word === undefined ? "list" : netnsSubcommand(word);
    if (!sub) throw this.#usage("netns", `unknown subcommand '${word}'`);
    if (!Object.hasOwn(NETNS_ARITY, sub)) throw this.#fail(`netns ${sub} has no counterpart in mod.ts`);
    const [min, max] = NETNS_ARITY[sub]!;
    if (more.length < min || more.length > max) throw this.#usage("netns", `${sub}: wrong number of arguments`);
    const arg = (i: number) => this.#string(more[i]!);
    const print = (what: string, list: Doc) =>
      this.#statement([`for (const ${what} of `, list, `) console.log(${what})`]);
    switch (sub) {
      case "list":
        // As netns list: each name, with the id the network namespace gives it.
        this.#import("listNetns");
        this.#import("netnsIds");
        if (ctx) this.#import("type ContextOptions");
        this.needs.netnsList = true;
        print("line", call("netnsList", where));
        break;
      case "set":
        this.#import("setNetnsId");
        this.#statement(
          call("setNetnsId", [arg(0), more[1] === "auto" ? str("auto") : this.#number(Number(more[1])), ...where]),
        );
        break;
      case "add":
        this.#import("addNetns");
        this.#statement(["await ", call("addNetns", [arg(0), ...where])]);
        break;
      case "attach":
        this.#import("attachNetns");
        this.#statement(["await ", call("attachNetns", [arg(0), this.#number(Number(more[1])), ...where])]);
        break;
      case "delete":
        this.#import("deleteNetns");
        this.#statement(["await ", call("deleteNetns", [arg(0), ...where])]);
        break;
      case "identify":
        this.#import("identifyNetns");
        // As ip netns identify: the last name found, or an empty line.
        this.#statement([
          "console.log(",
          call("identifyNetns", [more.length ? this.#number(Number(more[0])) : str("self"), ...where]),
          '.at(-1) ?? "")',
        ]);
        break;
      case "pids":
        this.#import("netnsPids");
        print("pid", call("netnsPids", [arg(0), ...where]));
        break;
      default: {
        this.#import("netnsExec");
        const argv = this.#args(rest).slice(2);
        const box: Doc = ctx
          ? call(`${ctx}.sandbox().with`, [[call("netnsExec", [arg(0), ...where]), ".sandbox"]])
          : [call("netnsExec", [arg(0)]), ".sandbox"];
        return this.#program(box, argv);
      }
    }
    return "0";
  }
}

/** The text of a word that is literal text only, else `undefined`. */
/**
 * Whether a part of a word is an unquoted variable whose value the shell
 * splits into words (`$?`, `$$`, `$#` and `$0` never hold blanks).
 */
function splitsAtRunTime(part: Word["parts"][number]): boolean {
  return part.kind === "var" && !part.quoted && !["?", "$", "#", "0"].includes(part.name);
}

function literal(word: Word): string | undefined {
  const [part, ...more] = word.parts;
  return !more.length && part?.kind === "text" ? part.value : undefined;
}

/** Whether a command reads `$?`. */
function readsStatus(command: Parsed): boolean {
  return command.words.some((w) => w.parts.some((p) => p.kind === "var" && p.name === "?"));
}

/** The line after the last line of a command. */
function endLine(command: Parsed): number {
  return command.start.line + (command.text.match(/\n/g)?.length ?? 0) + 1;
}

/**
 * The comment that shows a command's source, line continuations joined, with
 * the comment that ends its line.
 */
function sourceComment(file: string, command: Parsed, lines: readonly string[]): string {
  // A newline inside quotes is shown as \n: a comment is one line.
  const text = command.text.replace(/[ \t]*\\\n[ \t]*/g, " ").replaceAll("\n", "\\n");
  const single = !command.text.includes("\n");
  const after = single ? lines[command.start.line - 1]!.slice(command.start.column - 1 + command.text.length) : "";
  const note = /^\s*#.*$/.test(after) ? `  ${after.trim()}` : "";
  return `${file}:${command.start.line}  ${text}${note}`;
}

/**
 * Translates a script of nsh's shell into a TypeScript program that uses
 * `mod.ts` and does the same: the same programs in the same namespaces, with
 * the same output and exit status.
 *
 * @param source The script.
 * @param options Its name, and where the program imports mod.ts from.
 * @returns The program's source, formatted as deno fmt formats it.
 * @throws {ParseError} For a syntax error, or a command that cannot be
 *   translated faithfully (the message says why).
 *
 * @example
 * ```ts
 * import { exportScript } from "./export.ts";
 *
 * const program = exportScript("unshare --net ip addr\n", { file: "a.nsh", from: "file:///nsh/mod.ts" });
 * console.log(program.includes('await unshare({ net: true }).run("ip", "addr");')); // true
 * ```
 */
export function exportScript(source: string, options: ExportOptions): string {
  const commands = parse(source);
  const t = new Translator(source, options.file);
  const lines = source.split("\n");
  const name = options.file.slice(options.file.lastIndexOf("/") + 1);
  const comment = (n: number) => {
    const text = lines[n - 1]!.trim();
    return text.startsWith("#") && !(n === 1 && text.startsWith("#!")) ? text.replace(/^# ?/, "") : undefined;
  };
  // The script's opening comments, up to the last blank line before its
  // first command, open the program too.
  const first = commands[0]?.start.line ?? lines.length + 1;
  let nextLine = 1;
  for (let n = 1; n < first; n++) if (lines[n - 1]!.trim() === "") nextLine = n + 1;
  const header: string[] = [];
  for (let n = 1; n < nextLine; n++) {
    const text = comment(n);
    if (text !== undefined) header.push(text);
    else if (header.length && lines[n - 1]!.trim() === "") header.push("");
  }
  while (header.at(-1) === "") header.pop();
  const carry = (until: number) => {
    // Comments and blank lines between commands come along.
    for (let n = nextLine; n < until; n++) {
      const text = comment(n);
      if (text !== undefined) t.comment(text);
      else if (lines[n - 1]!.trim() === "") t.blank();
    }
  };
  let ended = false;
  for (const [i, command] of commands.entries()) {
    carry(command.start.line);
    nextLine = Math.max(nextLine, endLine(command));
    t.comment(sourceComment(name, command, lines));
    const next = commands[i + 1];
    if (!t.command(command, next)) {
      ended = true;
      if (next) t.comment(`${name}:${next.start.line} and after: never run, exit ended the script`);
      break;
    }
  }
  if (!ended) carry(lines.length + 1);
  return render(t, header, options);
}

/** Words joined into comment lines of at most `width` columns. */
function wrap(text: string, width = WIDTH): string[] {
  const out: string[] = [];
  let line = "//";
  for (const word of text.split(" ")) {
    if (line.length + 1 + word.length > width && line !== "//") {
      out.push(line);
      line = "//";
    }
    line += " " + word;
  }
  return [...out, line];
}

function render(t: Translator, header: readonly string[], options: ExportOptions): string {
  const { needs } = t;
  const out: string[] = [];
  const guarded = needs.commandError || needs.setupError;
  const indent = guarded ? 2 : 0;
  const pad = " ".repeat(indent);
  if (needs.commandError) needs.imports.add("CommandError");
  if (needs.setupError) needs.imports.add("SyscallError");
  const key = (name: string) => name.replace(/^type /, "").toLowerCase();
  const names = [...needs.imports].sort((a, b) => key(a) < key(b) ? -1 : 1);
  out.push(
    "#!/usr/bin/env -S deno run -A",
    ...header.map((text) => text === "" ? "//" : `// ${text}`),
    ...(header.length ? ["//"] : []),
    ...wrap(
      `Exported by nsh from ${options.file}: the same commands as a program on nsh's module. ` +
        "Run it with deno run -A, and the script's arguments after it.",
    ),
    "",
  );
  if (needs.resolve) out.push('import { resolve } from "node:path";');
  if (names.length) {
    out.push(layout(["import ", group("{", names, "}", true), ` from ${str(options.from)}`], 0, ";"), "");
  }
  if (needs.cli) {
    out.push(`import { main, stdio } from ${str(new URL("cli/main.ts", options.from).href)};`, "");
  }
  if (needs.nsh) {
    const cli = new URL("cli.ts", options.from).href;
    out.push(
      "// nsh's command line, for run: a script runs in a new nsh.",
      layout(["const nsh = ", group("[", ["Deno.execPath()", '"run"', '"-A"', '"--quiet"', str(cli)], "]")], 0, ";"),
      "",
    );
  }
  const body: string[] = [];
  const lines = [...t.lines];
  while (lines.length && lines[0]!.kind === "blank") lines.shift();
  while (lines.length && lines.at(-1)!.kind === "blank") lines.pop();
  for (const line of lines) {
    if (line.kind === "blank") body.push("");
    else if (line.kind === "comment") body.push(line.text === "" ? pad + "//" : `${pad}// ${line.text}`);
    else body.push(pad + layout(line.doc, indent, ";"));
  }
  if (guarded) {
    const why = [
      ...(needs.commandError ? ["with the status of a program that failed"] : []),
      ...(needs.setupError
        ? ["with one line and 127 (not found), 126 (not executable) or 1 for what did not start"]
        : []),
    ];
    out.push(
      "try {",
      ...body,
      "} catch (error) {",
      ...wrap(`End as nsh run does: ${why.join(", or ")}.`, WIDTH - 2).map((l) => `  ${l}`),
      // One chain of if / else if / else, laid out as deno fmt lays it out.
      ...[
        ...(needs.commandError
          ? [[
            "if (error instanceof CommandError) {",
            '  if (error.signal !== "SIGPIPE") console.error(error.message);',
            "  Deno.exitCode = error.code;",
          ]]
          : []),
        ...(needs.setupError
          ? [[
            "if (error instanceof SyscallError) {",
            "  console.error(error.message);",
            '  if (error.syscall !== "execve") Deno.exitCode = 1;',
            '  else Deno.exitCode = error.code === "ENOENT" ? 127 : 126;',
          ]]
          : []),
      ].flatMap((branch, i) => [i ? `} else ${branch[0]}` : branch[0]!, ...branch.slice(1)].map((l) => `  ${l}`)),
      "  } else throw error;",
      "}",
    );
  } else {
    out.push(...body);
  }
  if (needs.netnsList) {
    const typed = needs.imports.has("type ContextOptions");
    out.push(
      "",
      "/** The lines of netns list: each name, with its id (id: N) when it has one. */",
      `function netnsList(${typed ? "options?: ContextOptions" : ""}): string[] {`,
      `  const names = listNetns(${typed ? "options" : ""});`,
      `  const ids = netnsIds(names${typed ? ", options" : ""});`,
      "  return names.map((name, i) =>",
      '    typeof ids[i] === "number" ? `${name} (id: ${ids[i]})` : name',
      "  );",
      "}",
    );
  }
  if (needs.split) {
    out.push(
      "",
      "/** The words of an unquoted variable, split on blanks as sh splits them. */",
      "function split(text: string): string[] {",
      '  return text.split(/[ \\t\\n]+/).filter((word) => word !== "");',
      "}",
    );
  }
  return out.join("\n").replace(/\n+$/, "") + "\n";
}

/** The help text of `nsh export`. */
export function exportHelp(): string {
  return `
Usage:
 nsh export [--from <url>] <script.nsh>

Print a TypeScript program that does what the script does, on nsh's module:
contexts become Contexts, programs run in them, and the program exits as the
script would. Run it with deno run -A.

Options:
 --from <url>               import mod.ts from <url> (default: this nsh's)
 -h, --help                 display this help
`;
}

/**
 * `nsh export [--from URL] FILE`: prints the program.
 *
 * @param args The arguments after `export`.
 * @param io Where to write.
 * @returns The exit status: 2 when the script cannot be translated.
 * @throws {UsageError} For a malformed command line.
 */
export async function exportFile(args: readonly string[], io: Io): Promise<number> {
  let from = new URL("../../mod.ts", import.meta.url).href;
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-h" || a === "--help") {
      io.out(exportHelp());
      return 0;
    }
    if (a === "--from" || a.startsWith("--from=")) {
      const value = a === "--from" ? args[++i] : a.slice("--from=".length);
      if (value === undefined) throw new UsageError("export", "--from needs a URL");
      try {
        from = new URL(value).href;
      } catch {
        throw new ValueError("export", `--from: '${value}' is not a URL (such as file:///path/to/mod.ts)`);
      }
    } else if (a.startsWith("-")) {
      throw new UsageError("export", `unrecognized option '${a}'`);
    } else if (file === undefined) {
      file = a;
    } else {
      throw new UsageError("export", `unexpected argument '${a}'`);
    }
  }
  if (file === undefined) throw new UsageError("export", "no script given");
  const source = await readScript(file);
  try {
    io.out(exportScript(source, { file, from }));
    return 0;
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    io.err(`nsh export: ${file}:${error.message}\n`);
    return 2;
  }
}
