/**
 * `nsh export FILE.nsh`: translates a script of the shell into an equivalent
 * TypeScript program on `mod.ts`. The translation is pure (source text in,
 * program text out) and keeps the shell's semantics: contexts become
 * {@linkcode Context}s closed when the script ends or fails, commands run in
 * the current context, pipelines become `.pipe()`, redirections
 * `.stdout({ file })` and the like, `if`, `while`, `for`, `case` and
 * functions become TypeScript's, variables expand when the program runs,
 * from where the shell reads them. What it cannot translate faithfully is a
 * {@linkcode ParseError} at the command's position, which says why.
 *
 * Each builtin's translation is defined with the builtin (builtins.ts,
 * `translate`), through the {@linkcode Translation} this module implements.
 *
 * The output is `deno fmt`-clean with deno's default settings (layout.ts).
 *
 * @module
 */

import {
  type AndOr,
  type Command,
  type FunctionDef,
  type Item,
  type List,
  parse,
  ParseError,
  type Part,
  type Pipeline,
  type Position,
  type Redirect,
  type SimpleCommand,
  simpleCommands,
  type Word,
} from "./parse.ts";
import { parseUnshare } from "../unshare.ts";
import { parseNsenter } from "../nsenter.ts";
import { lowerFirst, UsageError, ValueError } from "../usage.ts";
import type { Io } from "../commands.ts";
import { type NsenterOptions, nsenterSteps, type UnshareOptions, unshareSteps } from "../../lib/util_linux_options.ts";
import { NAMESPACES, type NamespaceType } from "../../lib/namespaces.ts";
import type { Step } from "../../lib/steps.ts";
import { netnsSubcommand } from "../netns.ts";
import { kindOf } from "../../lib/steps/_registry.ts";
import { BUILTINS, isCommand, nsenterFiles, type Translation } from "./builtins.ts";
import { readScript } from "./session.ts";
import { escapePattern, hasMagic } from "../../lib/patterns.ts";
import { normalizePath } from "../../lib/files.ts";
import {
  type Block,
  call,
  callWithObject,
  type Doc,
  flat,
  group,
  type Line,
  object,
  render,
  str,
  templateText,
  wrap,
} from "./layout.ts";

/** Options of {@linkcode exportScript}. */
export interface ExportOptions {
  /** The script's name as the user gave it: for comments, and `$0`. */
  readonly file: string;
  /** The URL the program imports `mod.ts` from (`cli.ts` is found beside it). */
  readonly from: string;
}

/** An expression of a string as a template literal shows it: `String(n)` as `n`. */
function inTemplate(expr: string): string {
  return /^String\(([^()]*)\)$/.exec(expr)?.[1] ?? expr;
}

/** An expression of a string as a number: `String(n)` as `n`. */
function numeric(expr: string): string {
  const inner = /^String\(([^()]*)\)$/.exec(expr)?.[1];
  return inner ?? `Number(${expr})`;
}

/**
 * An argument as the translation sees it: one string (its text may hold
 * placeholders that stand for expressions, so that the CLI's own parsers can
 * read it), or a spread of words known only at run time.
 */
type Arg =
  | { readonly kind: "one"; readonly text: string }
  | { readonly kind: "spread"; readonly expr: string }
  | { readonly kind: "expr"; readonly expr: string };

/** Helpers a program may need, written into it after its statements. */
type Helper = "ok" | "split" | "output" | "globbed" | "trim" | "required" | "around" | "restoreEnv" | "restoreVars";

/** What a translated script needs besides its statements. */
interface Needs {
  imports: Set<string>;
  helpers: Set<Helper>;
  /** nsh's CLI as a program, for run: a script runs in a new nsh. */
  nsh: boolean;
  /** nsh's CLI in this process, for lsns. */
  cli: boolean;
  /** The lines of netns list. */
  netnsList: boolean;
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
  /** The block it was made in: an `exit` must come in the same one. */
  readonly frame: Frame;
}

/** A block of the program being written. */
interface Frame {
  readonly lines: Line[];
  readonly kind: "top" | "block" | "loop" | "function" | "subshell";
}

/** Where a stream goes: an expression (`"null"`, `"stdout"`), or a file object's keys. */
type Target = string | readonly [string, Doc][];

/** The streams of a program as its redirections leave them: a target each, or `undefined` when untouched. */
interface Streams {
  /** `.stdin(target)`, or `.stdinText(text)` for a here-document. */
  stdin?: readonly ["stdin" | "stdinText", Target];
  stdout?: Target;
  stderr?: Target;
}

/** `.method(target)`: `.stdout("null")`, `.stdout({ file: "x" })`. */
function streamCall(method: string, target: Target): Doc {
  return typeof target === "string" ? call(`.${method}`, [target]) : callWithObject(`.${method}`, target);
}

const UNTRANSLATABLE: Readonly<Record<string, string>> = {
  save: "it writes what an interactive session did",
  help: "it is the interactive shell's help",
  jobs: "job control is the interactive shell's",
  fg: "job control is the interactive shell's",
  bg: "job control is the interactive shell's",
  read: "it reads this process's input line by line: read it in TypeScript",
};

/** Words TypeScript reserves, and the names the program itself uses: shell variables of these names get a `$`. */
const TAKEN = new Set([
  "break",
  "case",
  "catch",
  "class",
  "const",
  "continue",
  "debugger",
  "default",
  "delete",
  "do",
  "else",
  "enum",
  "export",
  "extends",
  "false",
  "finally",
  "for",
  "function",
  "if",
  "import",
  "in",
  "instanceof",
  "new",
  "null",
  "return",
  "super",
  "switch",
  "this",
  "throw",
  "true",
  "try",
  "typeof",
  "var",
  "void",
  "while",
  "with",
  "yield",
  "let",
  "static",
  "implements",
  "interface",
  "package",
  "private",
  "protected",
  "public",
  "await",
  "async",
  "of",
  "args",
  "here",
  "nsh",
  "code",
  "error",
  "split",
  "output",
  "globbed",
  "trim",
  "required",
  "around",
  "result",
  "restoreEnv",
  "restoreVars",
  "env",
  "vars",
  "cwd",
  "OpenFile",
  "resolve",
  "sandbox",
  "unshare",
  "nsenter",
  "glob",
  "matches",
  "escapePattern",
  "Context",
  "Deno",
  "String",
  "Number",
  "Object",
  "console",
]);

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

/** The text of a word that is literal text only, else `undefined`. */
function literal(word: Word): string | undefined {
  const [part, ...more] = word.parts;
  if (!more.length && part?.kind === "text") return part.value;
  return word.parts.length === 0 ? "" : undefined;
}

/**
 * Whether a part of a word is an unquoted expansion whose value the shell
 * splits into words (`$?`, `$$`, `$#` and `$0` never hold blanks).
 */
function splitsAtRunTime(part: Part): boolean {
  if (part.quoted) return false;
  if (part.kind === "command" || part.kind === "arith") return part.kind === "command";
  return part.kind === "var" && part.op !== "length" && !["?", "$", "#", "0"].includes(part.name);
}

/** Whether a word has unquoted pattern characters that match more than themselves, so that the shell globs it. */
function globs(word: Word): boolean {
  const pattern = word.parts.map((p) => p.kind !== "text" ? "x" : p.quoted ? escapePattern(p.value) : p.value).join("");
  return hasMagic(pattern);
}

/** An expression without the parentheses around all of it. */
function bare(expr: string): string {
  if (!expr.startsWith("(") || !expr.endsWith(")")) return expr;
  let depth = 0;
  for (let i = 0; i < expr.length; i++) {
    if (expr[i] === "(") depth++;
    else if (expr[i] === ")") depth--;
    if (depth === 0 && i < expr.length - 1) return expr;
  }
  return expr.slice(1, -1);
}

/** Whether a list reads `$?` before any command of it sets it. */
function readsStatus(item: Item | undefined): boolean {
  if (!item) return false;
  return /\$\{?\?/.test(item.command.text);
}

/** The line after the last line of a command. */
function endLine(item: Item): number {
  return item.command.start.line + (item.command.text.match(/\n/g)?.length ?? 0) + 1;
}

/**
 * The comment that shows a command's source, line continuations joined, with
 * the comment that ends its line.
 */
function sourceComment(file: string, command: { start: Position; text: string }, lines: readonly string[]): string {
  // A newline inside quotes is shown as \n: a comment is one line.
  const text = command.text.replace(/[ \t]*\\\n[ \t]*/g, " ").replaceAll("\n", "\\n");
  const single = !command.text.includes("\n");
  const after = single ? lines[command.start.line - 1]!.slice(command.start.column - 1 + command.text.length) : "";
  const note = /^\s*#.*$/.test(after) ? `  ${after.trim()}` : "";
  return `${file}:${command.start.line}  ${text}${note}`;
}

/** The names the script assigns, and those it exports. */
function variablesOf(list: List): { assigned: Set<string>; exported: Set<string> } {
  const assigned = new Set<string>();
  const exported = new Set<string>();
  const visit = (l: List): void => {
    for (const item of l) {
      for (const p of [item.command.first, ...item.command.rest.map((r) => r.pipeline)]) p.commands.forEach(command);
    }
  };
  const command = (c: Command): void => {
    switch (c.kind) {
      case "simple": {
        for (const a of c.assigns) assigned.add(a.name);
        const name = c.words[0] && literal(c.words[0]);
        const args = c.words.slice(1).map((w) => literal(w) ?? "");
        if (name === "export") { for (const a of args) exported.add(a.split("=")[0]!); }
        if (name === "read") { for (const a of args) if (!a.startsWith("-")) assigned.add(a); }
        if (name === "unset") { for (const a of args) if (!a.startsWith("-")) assigned.add(a); }
        for (const w of c.words) {
          for (const p of w.parts) if (p.kind === "var" && (p.op === ":=" || p.op === "=")) assigned.add(p.name);
        }
        return;
      }
      case "for":
        assigned.add(c.name);
        return visit(c.body);
      case "group":
      case "subshell":
        return visit(c.body);
      case "if":
        for (const clause of c.clauses) {
          visit(clause.test);
          visit(clause.body);
        }
        if (c.otherwise) visit(c.otherwise);
        return;
      case "while":
      case "until":
        visit(c.test);
        return visit(c.body);
      case "case":
        for (const item of c.items) visit(item.body);
        return;
      case "function":
        return command(c.body);
    }
  };
  visit(list);
  return { assigned, exported };
}

/** One script being translated. */
class Translator implements Translation {
  readonly #file: string;
  readonly #frames: Frame[] = [{ lines: [], kind: "top" }];
  readonly #contexts: ContextInfo[] = [];
  readonly needs: Needs = {
    imports: new Set(),
    helpers: new Set(),
    nsh: false,
    cli: false,
    netnsList: false,
    resolve: false,
    commandError: false,
    setupError: false,
  };
  #names = 0;
  #codes = 0;
  #jobs: string[] = [];
  #jobCount = 0;
  #errexit = true;
  #pipefail = false;
  /** The expression of `$?`: the status of the command before; `undefined` when the translation does not know it. */
  #status: string | undefined = "0";
  /** Placeholders of the current command: text that stands for an expression. */
  #placeholders = new Map<string, string>();
  /** How the script wrote what each placeholder stands for. */
  #shownAs = new Map<string, string>();
  readonly #prefix: string;
  /** Shell variables that are variables of the program (assigned, never exported), by their name there. */
  readonly #locals = new Map<string, string>();
  /** The positional parameters: `Deno.args`, or a function's `args`. */
  #positional = "Deno.args";
  /** Inside a function: what its commands run in. */
  #inFunction = false;
  /** Whether the programs translated now are a background job's, which start with SIGINT and SIGQUIT ignored. */
  #jobSignals = false;
  /** The streams of the redirected blocks the translation is in. */
  readonly #scopes: Streams[] = [];
  /** The names of subshells' copies of variables. */
  readonly #copies = new Set<string>();
  #files = 0;
  #results = 0;
  #loops = 0;
  readonly #functions = new Set<string>();

  constructor(source: string, file: string, list: List) {
    this.#file = file;
    // Placeholders are digits, so that options that take numbers (a pid, an
    // offset) parse them too; the prefix is one the script does not contain.
    let prefix = 400000;
    while (source.includes(String(prefix))) prefix += 1000;
    this.#prefix = String(prefix);
    const { assigned, exported } = variablesOf(list);
    for (const name of assigned) {
      // A name in capitals is the environment's by convention: programs get it, as when sh got it from there.
      if (exported.has(name) || /^[A-Z_][A-Z0-9_]*$/.test(name)) continue;
      this.#locals.set(name, TAKEN.has(name) ? `$${name}` : name);
    }
  }

  get lines(): readonly Line[] {
    return this.#frames[0]!.lines;
  }

  /** The program's variables, declared before its statements. */
  get declarations(): Line[] {
    return [...this.#locals].map(([name, id]) => ({
      kind: "statement",
      doc: `let ${id} = Deno.env.get(${str(name)})`,
    }));
  }

  get #frame(): Frame {
    return this.#frames.at(-1)!;
  }

  comment(text: string): void {
    this.#frame.lines.push({ kind: "comment", text });
  }

  blank(): void {
    const lines = this.#frame.lines;
    if (lines.length && lines.at(-1)!.kind !== "blank") lines.push({ kind: "blank" });
  }

  // --- Translation, for builtins.ts -------------------------------------

  get context(): { readonly name: string; readonly types: ReadonlySet<NamespaceType> } | undefined {
    return this.#contexts.at(-1);
  }

  statement(doc: Doc): void {
    // What nsh does (start a program, make a context, mount) can fail to start.
    const first = typeof doc === "string" ? doc : flat(doc);
    if (/^(await |const .* = await |await using |if \(\(await )/.test(first)) this.needs.setupError = true;
    this.#frame.lines.push({ kind: "statement", doc });
  }

  import(...names: string[]): void {
    for (const name of names) this.needs.imports.add(name);
  }

  mayFail(): void {
    this.needs.commandError = true;
  }

  string(text: string): string {
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

  number(n: number): string {
    const expr = this.#placeholders.get(String(n));
    return expr === undefined ? String(n) : numeric(expr);
  }

  refuse(why: string): ParseError {
    return new ParseError(this.#at, `cannot translate \`${this.#name}\`: ${why}`);
  }

  cwd(): string {
    const ctx = this.#contexts.at(-1);
    return ctx ? `${ctx.name}.cwd` : "Deno.cwd()";
  }

  chdir(target: string | undefined): void {
    const ctx = this.#contexts.at(-1);
    const value = target === undefined ? `${this.#raw("HOME")} ?? "/"` : this.string(target);
    if (!ctx) {
      this.statement(call("Deno.chdir", [value]));
    } else if (target !== undefined && target.startsWith("/") && !this.#placeholders.size) {
      this.statement(`${ctx.name}.cwd = ${str(normalizePath(target))}`);
    } else {
      this.needs.resolve = true;
      this.statement([`${ctx.name}.cwd = `, call("resolve", [`${ctx.name}.cwd`, value])]);
    }
  }

  assign(name: string, value: string | undefined, exported: boolean): void {
    const local = this.#locals.get(name);
    if (local !== undefined && !exported) {
      this.statement(`${local} = ${value ?? "undefined"}`);
      return;
    }
    const ctx = this.#contexts.at(-1);
    if (ctx) {
      ctx.vars.add(name);
      this.statement(call(`${ctx.name}.vars.set`, [str(name), value ?? "undefined"]));
    } else if (value === undefined) {
      this.statement(call("Deno.env.delete", [str(name)]));
    } else {
      this.statement(call("Deno.env.set", [str(name), value]));
    }
  }

  variable(name: string): string {
    return this.#variable(name);
  }

  setOption(option: "errexit" | "nounset" | "pipefail", on: boolean): void {
    if (option === "errexit") this.#errexit = on;
    else if (option === "pipefail") this.#pipefail = on;
    else if (on) throw this.refuse("-u: nsh export does not check unset variables");
  }

  exit(status: string | undefined): void {
    this.#exit(status);
  }

  nshCommand(name: string, args: readonly string[]): void {
    this.#nshCommand(name, args);
  }

  loopControl(kind: "break" | "continue", levels: number): void {
    if (!this.#loops) throw this.refuse("it is not in a loop");
    if (levels !== 1) throw this.refuse(`${kind} ${levels}: only the innermost loop`);
    this.statement(kind);
  }

  returnFrom(status: string | undefined): void {
    if (!this.#inFunction) throw this.refuse("it is not in a function");
    this.statement(`return ${status === undefined ? this.#status ?? "0" : this.number(Number(status))}`);
  }

  enterNamed(name: string): void {
    if (this.#inFunction) throw this.refuse("a context entered in a function");
    // A named context, joined as the shell joins it.
    this.import("Context");
    const parent = this.#contexts.at(-1);
    const join = call("Context.enter", [this.string(name), ...(parent ? [parent.name] : [])]);
    // Which namespaces it has is known when it runs: all of them, for the steps that need one.
    const ctx = this.#newContext(new Set(NAMESPACES.map((info) => info.type)));
    this.statement([`await using ${ctx} = `, join]);
  }

  fail(status: number): void {
    if (this.#errexit || (this.#last && !this.#statusUsed)) this.#exit(String(status), true);
    else this.#status = String(status);
  }

  shift(n: number): void {
    if (this.#positional === "Deno.args") throw this.refuse("the script's arguments: only a function's");
    this.statement(`${this.#positional}.splice(0, ${n})`);
  }

  /** A mount step as `ctx.mountProc()`, `ctx.apply(tmpfs(…))` and the like. */
  mountStep(step: Step): Doc {
    const ctx = this.#contexts.at(-1)!.name;
    switch (step.kind) {
      case "mount-proc":
        return call(`${ctx}.mountProc`, step.target === "/proc" ? [] : [this.string(step.target)]);
      case "tmpfs":
        this.import("tmpfs");
        return call(`${ctx}.apply`, [
          call("tmpfs", [this.string(step.target), ...(step.options ? [this.string(step.options)] : [])]),
        ]);
      case "bind":
        this.import("bindMount");
        return call(`${ctx}.apply`, [
          call("bindMount", [
            this.string(step.source),
            this.string(step.target),
            ...(step.readonly ? [object([["readonly", "true"]])] : []),
          ]),
        ]);
      default: {
        const s = step as Extract<Step, { kind: "mount" }>;
        const entries: [string, Doc][] = [
          ["source", this.string(s.source)],
          ["target", this.string(s.target)],
          ["type", this.string(s.type)],
        ];
        if (s.flags) entries.push(["flags", String(s.flags)]);
        if (s.data) entries.push(["data", this.string(s.data)]);
        return callWithObject(`${ctx}.mount`, entries);
      }
    }
  }

  /** `console.log` of a context's hostname (as a program there reads it), or this host's. */
  printHostname(): void {
    const ctx = this.#contexts.at(-1);
    if (!ctx) {
      this.statement(call("console.log", ["Deno.hostname()"]));
      return;
    }
    this.mayFail();
    const read = ["await ", call(`${ctx.name}.run`, [str("cat"), str("/proc/sys/kernel/hostname")]), ".text()"];
    this.statement(call("console.log", [read]));
  }

  // --- expressions -------------------------------------------------------

  /** Where a variable's value is: a program variable, the innermost context that set it, else the environment. */
  #raw(name: string): string {
    const local = this.#locals.get(name);
    if (local !== undefined) return local;
    for (let i = this.#contexts.length - 1; i >= 0; i--) {
      const c = this.#contexts[i]!;
      if (c.vars.has(name)) return `${c.name}.vars.get(${str(name)})`;
    }
    return `Deno.env.get(${str(name)})`;
  }

  /** The expression of a parameter's value, `undefined` when unset. */
  #param(name: string): string {
    switch (name) {
      case "?":
        if (this.#status === undefined) throw this.refuse("$? after a compound command: test it in an if instead");
        return this.#status === "0" ? str("0") : `String(${this.#status})`;
      case "$":
        return "String(Deno.pid)";
      case "#":
        return `String(${this.#positional}.length)`;
      case "@":
      case "*":
        return `${this.#positional}.join(" ")`;
      case "!":
      case "-":
        throw this.refuse(`$${name} is the shell's own`);
    }
    if (/^\d+$/.test(name)) {
      const n = Number(name);
      return n === 0 ? str(this.#file) : `${this.#positional}[${n - 1}]`;
    }
    return this.#raw(name);
  }

  /** The expression of a variable as a string (`""` when unset). */
  #variable(name: string): string {
    if ("?$#@*".includes(name) || name === "0") return this.#param(name);
    return `${this.#param(name)} ?? ""`;
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

  /** The expression of an expansion part (a parameter, a substitution, arithmetic). */
  #partExpr(part: Exclude<Part, { kind: "text" }>): string {
    switch (part.kind) {
      case "command":
        return this.#substitution(part.body);
      case "arith":
        return `String(${bare(this.#arith(part.expr))})`;
      case "var":
        return this.#paramExpr(part);
    }
  }

  /** `${NAME<op>word}` as an expression. */
  #paramExpr(part: Extract<Part, { kind: "var" }>): string {
    const { name, op } = part;
    if (op === undefined) return this.#variable(name);
    if (name === "@" || name === "*" || name === "#" || name === "?" || name === "$") {
      throw this.refuse(`\${${name}${op}...}`);
    }
    const raw = this.#param(name);
    if (op === "length") return `String([...(${raw} ?? "")].length)`;
    const word = this.#wordExpr(part.word!);
    switch (op) {
      case ":-":
        return `${raw} || ${word}`;
      case "-":
        return `${raw} ?? ${word}`;
      case ":+":
        return `${raw} ? ${word} : ""`;
      case "+":
        return `${raw} !== undefined ? ${word} : ""`;
      case "=":
      case ":=":
        throw this.refuse(`\${${name}${op}...} assigns: assign before`);
      case "?":
      case ":?":
        this.needs.helpers.add("required");
        return flat(call("required", [`${raw}${op === ":?" ? " || undefined" : ""}`, str(name), word]));
      default:
        this.needs.helpers.add("trim");
        this.import("patternRegExp");
        return `trim(${raw} ?? "", ${this.#patternExpr(part.word!)}, ${str(op)})`;
    }
  }

  /** A word as one string expression (no splitting, no globbing). */
  #wordExpr(word: Word): string {
    const pieces: string[] = [];
    for (const part of word.parts) {
      if (part.kind === "text") pieces.push(templateText(part.value));
      else pieces.push("${" + inTemplate(this.#partExpr(part)) + "}");
    }
    if (!word.parts.length) return str("");
    if (word.parts.length === 1 && word.parts[0]!.kind === "text") {
      return str((word.parts[0] as { value: string }).value);
    }
    if (word.parts.length === 1) return this.#partExpr(word.parts[0] as Exclude<Part, { kind: "text" }>);
    return "`" + pieces.join("") + "`";
  }

  /** A word as a pattern expression: quoted text matches itself. */
  #patternExpr(word: Word): string {
    const pieces: string[] = [];
    let dynamic = false;
    for (const part of word.parts) {
      if (part.kind === "text") pieces.push(templateText(part.quoted ? escapePattern(part.value) : part.value));
      else {
        dynamic = true;
        const expr = this.#partExpr(part);
        if (part.quoted) {
          this.import("escapePattern");
          pieces.push("${" + `escapePattern(${expr})` + "}");
        } else pieces.push("${" + inTemplate(expr) + "}");
      }
    }
    return dynamic
      ? "`" + pieces.join("") + "`"
      : str(word.parts.map((p) => p.kind === "text" ? (p.quoted ? escapePattern(p.value) : p.value) : "").join(""));
  }

  /** `$(...)`: the output of a program or pipeline of the current place, trailing newlines removed. */
  #substitution(body: List): string {
    const pipeline = body.length === 1 && !body[0]!.background && !body[0]!.command.rest.length
      ? body[0]!.command.first
      : undefined;
    if (!pipeline || pipeline.negate) throw this.refuse("a substitution of more than one program or pipeline");
    const run = this.#runnable(pipeline);
    this.needs.helpers.add("output");
    return flat(["await ", call("output", [run])]);
  }

  /** `$((...))` as a TypeScript expression of a number. */
  #arith(word: Word): string {
    // The expression's parameters are expressions of strings: in it, numbers.
    let text = "";
    const values: string[] = [];
    for (const part of word.parts) {
      if (part.kind === "text") text += part.value;
      else {
        values.push(
          part.kind === "var" && part.op === undefined && /^[A-Za-z_]/.test(part.name)
            ? `Number(${this.#variable(part.name)})`
            : numeric(this.#partExpr(part)),
        );
        text += ` #${values.length - 1} `;
      }
    }
    return new ArithTranslator(text, values, (name) => `Number(${this.#variable(name)})`, (why) => this.refuse(why))
      .translate();
  }

  /**
   * The arguments of a word. Programs get sh's field splitting of unquoted
   * expansions (at run time) and pathname expansion; nsh's own commands take
   * such a variable as one argument.
   */
  #arg(word: Word, split: boolean): Arg {
    const parts = word.parts;
    if (parts.some((p) => p.kind === "var" && p.name === "@" && p.quoted && p.op === undefined)) {
      if (parts.length === 1 && split) return { kind: "spread", expr: this.#positional };
      // "x$@y": the first parameter after x, the last before y.
      const at = parts.findIndex((p) => p.kind === "var" && p.name === "@" && p.quoted && p.op === undefined);
      const plain = (p: Part) => p.kind === "text" ? p.quoted || !/[*?[~]/.test(p.value) : p.quoted;
      if (split && parts.filter((p) => p.kind === "var" && p.name === "@").length === 1 && parts.every(plain)) {
        this.needs.helpers.add("around");
        const side = (list: readonly Part[]) => this.#wordExpr({ ...word, parts: list });
        return {
          kind: "spread",
          expr: `around(${side(parts.slice(0, at))}, ${this.#positional}, ${side(parts.slice(at + 1))})`,
        };
      }
      throw new ParseError(word.start, 'cannot translate "$@" here: only as a whole argument of a program');
    }
    if (split && globs(word)) {
      this.needs.helpers.add("globbed");
      this.import("glob");
      const ctx = this.#contexts.at(-1);
      return { kind: "spread", expr: flat(call("globbed", [this.#patternExpr(word), ...(ctx ? [ctx.name] : [])])) };
    }
    const chunks: ({ text: string } | { expr: string; split: boolean; shown: string })[] = [];
    parts.forEach((part, i) => {
      if (part.kind === "text") {
        const tilde = i === 0 && !part.quoted &&
          ((part.value === "~" && parts.length === 1) || part.value.startsWith("~/"));
        if (tilde) {
          chunks.push({ expr: `${this.#raw("HOME")} || "~"`, split: false, shown: "~" });
          if (part.value.length > 1) chunks.push({ text: part.value.slice(1) });
        } else {
          chunks.push({ text: part.value });
        }
      } else {
        const shown = part.kind === "var" ? `$${part.name}` : part.kind === "command" ? part.text : "$((...))";
        chunks.push({ expr: this.#partExpr(part), split: splitsAtRunTime(part), shown });
      }
    });
    if (split && chunks.some((c) => "expr" in c && c.split)) {
      // Splitting the whole word at run time is sh's splitting when its
      // literal text has no blanks and is not empty quotes.
      if (chunks.some((c) => "text" in c && (c.text === "" || /[ \t\n]/.test(c.text)))) {
        throw new ParseError(word.start, `cannot translate ${word.text}: quote the expansion ("$NAME")`);
      }
      this.needs.helpers.add("split");
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

  /** The arguments as expressions; a program's name (`program`, the first) is one string. */
  #argDocs(args: readonly Arg[], program = true): Doc[] {
    return args.map((a, i) =>
      a.kind === "one" ? this.string(a.text) : a.kind === "expr" || (program && i === 0) ? a.expr : `...${a.expr}`
    );
  }

  /** The arguments of a program's words: unquoted expansions split and globbed when it runs. */
  #args(words: readonly Word[]): Arg[] {
    return words.map((w) => this.#arg(w, true));
  }

  /** The arguments of nsh's own commands: each word one argument. */
  #words(words: readonly Word[]): string[] {
    return words.map((w) => (this.#arg(w, false) as { text: string }).text);
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

  /** What programs run in: the current context, a function's `here`, or a sandbox of no steps at the top. */
  #runner(): Doc {
    const ctx = this.#contexts.at(-1);
    if (ctx) return ctx.name;
    if (this.#inFunction) return "here";
    this.import("sandbox");
    return "sandbox()";
  }

  /**
   * Translates the items of a list into the current block.
   *
   * @returns `false` when the script ends there (`exit` at the top).
   */
  list(list: List, top: boolean, lines?: readonly string[], name?: string, onItem?: (item: Item) => void): boolean {
    for (const [i, item] of list.entries()) {
      onItem?.(item);
      if (top && lines && name) this.comment(sourceComment(name, item.command, lines));
      const next = list[i + 1];
      this.#statusUsed = readsStatus(next);
      // A bare `exit` at the top ends the script with this command's status.
      this.#last = top && (next === undefined ||
        (!this.#contexts.length && next.command.text.trim() === "exit"));
      if (!this.#item(item)) return false;
    }
    return true;
  }

  #item(item: Item): boolean {
    this.#placeholders = new Map();
    this.#shownAs = new Map();
    this.#at = item.command.start;
    if (item.background) {
      this.#background(item.command);
      return true;
    }
    return this.#andOr(item.command);
  }

  #background(command: AndOr): void {
    this.#name = "&";
    if (command.rest.length) throw this.refuse("a background list of more than one pipeline");
    // A script's job ignores Ctrl-C and Ctrl-\, as sh starts it: its programs start with them ignored.
    this.#jobSignals = true;
    let run: Doc;
    try {
      run = this.#runnable(command.first);
    } finally {
      this.#jobSignals = false;
    }
    // Named once each: a job started after `wait` is another constant.
    const job = this.#jobCount++ ? `job${this.#jobCount}` : "job";
    this.#jobs.push(job);
    this.statement([`const ${job} = `, run, ".noThrow().spawn()"]);
    this.#status = "0";
  }

  wait(ids: readonly string[]): void {
    if (ids.length) throw this.refuse("wait for given jobs: wait for all");
    if (!this.#jobs.length) return;
    this.statement(["await ", call("Promise.all", [group("[", this.#jobs, "]")])]);
    this.#jobs = [];
  }

  #andOr(command: AndOr): boolean {
    if (!command.rest.length) return this.#pipeline(command.first);
    // All but the last are conditions; the last runs when they say so.
    const pipelines = [command.first, ...command.rest.map((r) => r.pipeline)];
    const last = pipelines.pop()!;
    const lastOp = command.rest.at(-1)!.op;
    let cond = this.#condition(command.first, true);
    command.rest.slice(0, -1).forEach(({ op, pipeline }, i) => {
      const previous = command.rest[i - 1]?.op;
      const left = previous !== undefined && previous !== op ? `(${cond})` : cond;
      cond = `${left} ${op} ${this.#condition(pipeline)}`;
    });
    const test = lastOp === "&&" ? cond : command.rest.length > 1 ? `!(${cond})` : negateCondition(cond);
    const status = this.#status;
    if (test === "true" || test === "false") {
      // `true && x`, `false || x`: x runs, unconditionally; `false && x`: it never does.
      if (test === "true") this.#pipeline(last);
      this.#status = this.#statusUsed ? undefined : status;
      return true;
    }
    this.#block({ kind: "block", head: ["if ", group("(", [test], ")", false, false)], body: [] }, "block", () => {
      this.#pipeline(last);
    });
    // The list's status is known only when it does not matter.
    this.#status = this.#statusUsed ? undefined : status;
    if (this.#last && !this.#errexit) {
      throw new ParseError(
        command.start,
        "cannot translate a list ending the script without set -e: its status is the script's",
      );
    }
    return true;
  }

  /** Opens a block, translates into it, closes it. */
  #block(block: Block, kind: Frame["kind"], body: () => void): void {
    this.#frame.lines.push(block);
    this.#frames.push({ lines: block.body, kind });
    const contexts = this.#contexts.length;
    try {
      body();
    } finally {
      this.#frames.pop();
    }
    if (this.#contexts.length !== contexts && kind !== "subshell") {
      throw new ParseError(this.#at, "cannot translate a context that outlives the block that made it: exit it there");
    }
  }

  /**
   * The boolean expression of a pipeline that succeeds. A builtin that comes
   * first (`cd dir && make`) runs as a statement before, and is taken as
   * having succeeded: its translation throws when it fails; a context's
   * program (`unshare -m make && …`) keeps its status.
   */
  #condition(p: Pipeline, first = false): string {
    const only = p.commands.length === 1 ? p.commands[0]! : undefined;
    const name = only?.kind === "simple" && only.words[0] ? literal(only.words[0]) : undefined;
    if (first && only?.kind === "simple" && name !== undefined && !["true", ":", "false"].includes(name)) {
      // cd and a context that fail end the exported program, where sh goes on after `||`.
      const rest = only.words.slice(1).map((w) => literal(w));
      const makesContext = (name === "unshare" || name === "nsenter") && !rest.some((w) => w && !w.startsWith("-"));
      if (name === "cd" || makesContext) {
        this.#name = name;
        throw this.refuse("in a condition, where its failure would end the program: write it on a line of its own");
      }
      if (Object.hasOwn(BUILTINS, name) || name === "unshare" || name === "nsenter") {
        const [statusUsed, last] = [this.#statusUsed, this.#last];
        [this.#statusUsed, this.#last] = [true, false];
        this.#simple(only);
        [this.#statusUsed, this.#last] = [statusUsed, last];
        if (this.#status === "0") return p.negate ? "false" : "true";
        return `${this.#status ?? "0"} ${p.negate ? "!==" : "==="} 0`;
      }
    }
    // `x=$(cmd) || …`: the assignment's status is the substitution's.
    const value = only?.kind === "simple" && !only.words.length && only.assigns.length === 1 && !only.redirects.length
      ? only.assigns[0]!.value.parts
      : undefined;
    if (first && value?.length === 1 && value[0]!.kind === "command") {
      this.#name = (only as SimpleCommand).assigns[0]!.name;
      const body = value[0]!.body;
      const pipeline = body.length === 1 && !body[0]!.background && !body[0]!.command.rest.length
        ? body[0]!.command.first
        : undefined;
      if (!pipeline || pipeline.negate) throw this.refuse("a substitution of more than one program or pipeline");
      const result = ++this.#results === 1 ? "result" : `result${this.#results}`;
      this.statement([`const ${result} = await `, this.#runnable(pipeline, true), ".noThrow()"]);
      this.assign(this.#name, `${result}.stdoutText.replace(/\\n+$/, "")`, false);
      return `${result}.code ${p.negate ? "!==" : "==="} 0`;
    }
    let expr: string;
    if (
      only?.kind === "simple" && only.words.length === 1 &&
      ["true", ":", "false"].includes(literal(only.words[0]!) ?? "")
    ) {
      expr = literal(only.words[0]!) === "false" ? "false" : "true";
    } else if (only?.kind === "simple" && this.#functions.has(literal(only.words[0]!) ?? "")) {
      expr = `(${flat(["await ", this.#callDoc(only)])}) === 0`;
    } else {
      this.needs.helpers.add("ok");
      expr = flat(["await ", call("ok", [this.#runnable(p)])]);
    }
    return p.negate ? negateCondition(expr) : expr;
  }

  /** A pipeline of programs as a command or a `.pipe()` of them. */
  #runnable(p: Pipeline, capture = false): Doc {
    const stages = p.commands.map((command, i) => {
      const stage = { first: i === 0, last: i === p.commands.length - 1 };
      if (capture && stage.last) {
        if (command.kind === "simple" && command.redirects.some((r) => r.fd === 1 || r.op.startsWith("&"))) {
          throw new ParseError(command.start, "cannot translate a substitution whose output is redirected");
        }
        const doc = this.#runnable({ ...p, commands: [command], pipeStderr: [p.pipeStderr[i] ?? false] });
        return [doc, '.stdout("piped")'];
      }
      if (command.kind !== "simple") {
        throw new ParseError(command.start, "cannot translate a pipeline stage that is a compound command");
      }
      const name = literal(command.words[0] ?? { parts: [], start: command.start, text: "" });
      if (name === undefined || !command.words.length) {
        throw new ParseError(command.start, "cannot translate a command whose name is an expansion: write it out");
      }
      const stderr = p.pipeStderr[i] ?? false;
      const extra: Streams = stderr ? { stderr: str("stdout") } : {};
      if (name === "unshare" || name === "nsenter") {
        this.#name = name;
        if (command.assigns.length) throw this.refuse("assignments before it");
        const streams = { ...this.#streams(command.redirects), ...extra };
        const rest = command.words.slice(1);
        const run = name === "unshare" ? this.#unshare(rest, true) : this.#nsenter(rest, true);
        return this.#withStreams(run!, streams, true, stage);
      }
      // `true` and `false` as stages: the programs of the same names do the same.
      if ((name === "true" || name === "false") && command.words.length === 1 && !command.assigns.length) {
        return this.#programDoc(command, extra, stage);
      }
      if (Object.hasOwn(BUILTINS, name) || isCommand(name) || this.#functions.has(name)) {
        throw new ParseError(
          command.start,
          `cannot translate \`${name}\` in a pipeline or substitution: only programs`,
        );
      }
      return this.#programDoc(command, extra, stage);
    });
    let doc: Doc = stages[0]!;
    for (const stage of stages.slice(1)) doc = [doc, call(".pipe", [stage])];
    if (stages.length > 1 && this.#pipefail) doc = [doc, ".pipefail()"];
    return doc;
  }

  #pipeline(p: Pipeline): boolean {
    if (p.commands.length > 1) {
      this.#name = "|";
      this.#status = this.#run(this.#runnable(p), p.negate);
      return true;
    }
    const command = p.commands[0]!;
    if (command.kind === "simple") {
      if (p.negate) {
        this.#status = this.#run(this.#runnable(p), true);
        return true;
      }
      return this.#simple(command);
    }
    if (p.negate) throw new ParseError(p.start, "cannot translate `!` before a compound command");
    this.#compound(command);
    return true;
  }

  /**
   * A program: `await runner.run(argv)`, `.noThrow()` after `set +e`, its
   * status kept when `$?` reads it.
   *
   * @returns The expression of its status, for `$?`.
   */
  #run(run: Doc, negate = false): string {
    // A failure of the last command ends the script with its status either
    // way: only commands that the script goes on after need .noThrow().
    if (!negate && (this.#errexit || (this.#last && !this.#statusUsed))) {
      this.mayFail();
      this.statement(["await ", run]);
      return "0";
    }
    if (!this.#statusUsed) {
      this.statement(["await ", run, ".noThrow()"]);
      return "0";
    }
    const code = ++this.#codes === 1 ? "code" : `code${this.#codes}`;
    this.statement([`const { ${code === "code" ? code : `code: ${code}`} } = await `, run, ".noThrow()"]);
    return negate ? `(${code} === 0 ? 1 : 0)` : code;
  }

  #simple(command: SimpleCommand): boolean {
    this.#at = command.start;
    if (!command.words.length) {
      this.#name = command.assigns[0]?.name ?? "";
      if (command.redirects.length) throw this.refuse("a redirection without a command");
      for (const a of command.assigns) this.assign(a.name, this.#wordExpr(a.value), false);
      this.#status = "0";
      return true;
    }
    const [first, ...rest] = command.words;
    const name = literal(first!);
    if (name === undefined) {
      throw new ParseError(command.start, "cannot translate a command whose name is an expansion: write it out");
    }
    this.#name = name;
    if (this.#functions.has(name)) {
      if (this.#scopes.length) throw this.refuse("a function call in a redirected block: redirect its programs");
      this.#callStatement(command);
      return true;
    }
    if (Object.hasOwn(UNTRANSLATABLE, name)) throw this.refuse(UNTRANSLATABLE[name]!);
    if (name === ":" && this.#defaults(rest)) return true;
    const builtin = Object.hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined;
    if (name === "unshare" || name === "nsenter") {
      if (command.assigns.length) throw this.refuse("assignments before it");
      const streams = this.#streams(command.redirects);
      const run = name === "unshare" ? this.#unshare(rest) : this.#nsenter(rest);
      if (run === undefined && command.redirects.length) throw this.refuse("a redirection of a context");
      this.#status = run === undefined ? "0" : this.#run(this.#withStreams(run, streams, true));
      return true;
    }
    if (builtin) {
      if (builtin.quiet || (["hostname", "export", "mount", "set"].includes(name) && !rest.length)) {
        this.#printsHere(`\`${name}\``);
      }
      if (command.redirects.length) throw this.refuse("a redirection of a builtin");
      if (command.assigns.length) throw this.refuse("assignments before a builtin");
      const args = this.#words(rest);
      const request = this.#parsing(() => builtin!.parse(args, this.#where()));
      if (!builtin!.translate) throw this.refuse("it is the interactive shell's");
      this.#status = "0";
      this.#parsing(() => builtin!.translate!(request, this, args));
      return !this.#stopped;
    }
    if (isCommand(name)) {
      if (command.redirects.length) throw this.refuse("a redirection of nsh's own command");
      this.#printsHere(`\`${name}\``);
      this.#status = this.#nshCommand(name, this.#words(rest));
      return true;
    }
    this.#status = this.#run(this.#programDoc(command));
    return true;
  }

  /**
   * `: ${NAME:=default}`, sh's idiom for a default value: an `if` that
   * assigns it. Returns false for other arguments of `:`.
   */
  #defaults(words: readonly Word[]): boolean {
    const parts = words.map((w) => w.parts.length === 1 ? w.parts[0]! : undefined);
    const assigns = (p: Part | undefined): p is Extract<Part, { kind: "var" }> =>
      p?.kind === "var" && (p.op === ":=" || p.op === "=") && /^[A-Za-z_]/.test(p.name);
    if (!parts.length || !parts.every(assigns)) return false;
    for (const part of parts as Extract<Part, { kind: "var" }>[]) {
      const raw = this.#param(part.name);
      const test = part.op === ":=" ? `!${raw}` : `${raw} === undefined`;
      this.#block({ kind: "block", head: ["if ", group("(", [test], ")", false, false)], body: [] }, "block", () => {
        this.assign(part.name, this.#wordExpr(part.word!), false);
      });
    }
    this.#status = "0";
    return true;
  }

  /** Where the current context is, for builtins' checks. */
  #where(): { types: readonly NamespaceType[] | undefined } {
    const ctx = this.#contexts.at(-1);
    return { types: ctx ? [...ctx.types] : undefined };
  }

  /** A program with its arguments, environment and redirections. */
  #programDoc(command: SimpleCommand, extra: Streams = {}, stage?: { first: boolean; last: boolean }): Doc {
    const args = this.#args(command.words);
    // A job's program needs a sandbox with one more step: made from the context's, as `ctx.run()` makes it.
    if (this.#jobSignals && !this.#contexts.length && this.#inFunction) {
      throw this.refuse("a background job in a function: its programs ignore SIGINT and SIGQUIT, start it outside");
    }
    let doc: Doc = this.#jobSignals
      ? this.#programIn(undefined, args)
      : [this.#runner(), call(".run", this.#argDocs(args))];
    if (command.assigns.length) {
      doc = [doc, call(".env", [object(command.assigns.map((a) => [a.name, this.#wordExpr(a.value)]))])];
    }
    return this.#withStreams(doc, { ...this.#streams(command.redirects), ...extra }, this.#jobSignals, stage);
  }

  /** The steps a program of a background job adds to its sandbox: SIGINT and SIGQUIT ignored. */
  #jobSteps(): Doc[] {
    if (!this.#jobSignals) return [];
    this.import("ignoreSignals");
    return [call("ignoreSignals", [str("SIGINT"), str("SIGQUIT")])];
  }

  /**
   * A command with its redirections; one made from a context's sandbox
   * (`sandboxed`) opens its files where the context sees them, as the
   * context's own commands do.
   */
  #withStreams(command: Doc, own: Streams, sandboxed: boolean, stage?: { first: boolean; last: boolean }): Doc {
    const streams = { ...this.#scoped(stage), ...own };
    let doc = command;
    const ctx = this.#contexts.at(-1);
    const files = [streams.stdin?.[1], streams.stdout, streams.stderr].some((t) =>
      t !== undefined && typeof t !== "string"
    );
    if (sandboxed && ctx && files) doc = [doc, call(".within", [ctx.name])];
    if (streams.stdin) doc = [doc, streamCall(streams.stdin[0], streams.stdin[1])];
    if (streams.stdout) doc = [doc, streamCall("stdout", streams.stdout)];
    if (streams.stderr) doc = [doc, streamCall("stderr", streams.stderr)];
    return doc;
  }

  /** The targets of a program's redirections, as sh applies them in order. */
  #streams(redirects: readonly Redirect[]): Streams {
    const out: Streams = {};
    /** Whether stderr follows stdout (`2>&1` while stdout was still inherited), or stdout stderr (`>&2`). */
    let follows = false;
    let followed = false;
    for (const r of redirects) {
      if (r.fd > 2) throw new ParseError(r.start, `cannot redirect descriptor ${r.fd}: nsh redirects 0, 1 and 2`);
      if (r.op === "<<" || r.op === "<<-") {
        out.stdin = ["stdinText", this.#wordExpr(r.target)];
        continue;
      }
      if (r.op === "<&" || r.op === ">&") {
        const target = literal(r.target);
        if (r.fd === 2 && target === "1") {
          out.stderr = out.stdout ?? str("stdout");
          follows = out.stdout === undefined;
        } else if (r.fd === 1 && target === "2") {
          out.stdout = out.stderr ?? str("stderr");
          followed = out.stderr === undefined;
        } else if (String(r.fd) !== target) {
          throw new ParseError(r.start, `cannot translate ${r.fd}${r.op}${r.target.text}: only 2>&1 and >&2`);
        }
        continue;
      }
      const file = this.#wordExpr(r.target);
      const append = r.op === ">>" || r.op === "&>>";
      const target: Target = file === str("/dev/null")
        ? str("null")
        : [["file", file], ...(append ? [["append", "true"] as [string, Doc]] : [])];
      if (r.op === "<") {
        out.stdin = ["stdin", target];
      } else if (r.op === "<>") {
        throw new ParseError(r.start, "cannot translate `<>`: open for reading and writing");
      } else if (r.op === "&>" || r.op === "&>>") {
        out.stdout = target;
        out.stderr = str("stdout");
      } else if (r.fd === 2) {
        // `>&2` before this keeps stdout where stderr was: this process's.
        if (followed) out.stdout = "{ fd: 2 }";
        out.stderr = target;
        follows = followed = false;
      } else {
        if (follows) throw new ParseError(r.start, "cannot translate 2>&1 before >FILE: write >FILE 2>&1");
        out.stdout = target;
      }
    }
    return out;
  }

  #callDoc(command: SimpleCommand): Doc {
    const [, ...rest] = command.words;
    return call(literal(command.words[0]!)!, [this.#runner(), ...this.#argDocs(this.#args(rest))]);
  }

  /** A call of a function of the script: its status ends the script under set -e. */
  #callStatement(command: SimpleCommand): void {
    if (command.redirects.length || command.assigns.length) {
      throw this.refuse("redirections or assignments of a function call");
    }
    const doc = this.#callDoc(command);
    if (this.#errexit || this.#statusUsed || this.#last) {
      const code = ++this.#codes === 1 ? "code" : `code${this.#codes}`;
      this.statement([`const ${code} = await `, doc]);
      if (this.#errexit || (this.#last && !this.#statusUsed)) this.statement(`if (${code} !== 0) Deno.exit(${code})`);
      this.#status = code;
    } else {
      this.statement(["await ", doc]);
      this.#status = "0";
    }
  }

  #compound(command: Exclude<Command, SimpleCommand>): void {
    this.#at = command.start;
    this.#name = command.kind;
    if (command.kind === "function") {
      this.#function(command);
      this.#status = "0";
      return;
    }
    if (command.redirects.length) {
      this.#redirected(command);
      return;
    }
    const last = this.#last;
    this.#last = false;
    switch (command.kind) {
      case "group":
        this.#inline(command.body);
        break;
      case "subshell":
        this.#subshell(command.body);
        break;
      case "if":
        this.#if(command);
        break;
      case "while":
      case "until":
        this.#while(command.kind, command.test, command.body);
        break;
      case "for":
        this.#for(command.name, command.words, command.body);
        break;
      case "case":
        this.#case(command.word, command.items);
        break;
    }
    this.#last = last;
    this.#status = undefined;
  }

  /** Translates a list at the current place, each command as at the top. */
  #inline(list: List): void {
    const saved = [this.#statusUsed, this.#last] as const;
    for (const [i, item] of list.entries()) {
      this.#statusUsed = readsStatus(list[i + 1]);
      this.#last = false;
      this.#placeholders = new Map();
      this.#shownAs = new Map();
      if (!this.#item(item)) break;
    }
    [this.#statusUsed, this.#last] = saved;
  }

  /**
   * A compound command with redirections (`{ …; } > FILE`, `while …; done <
   * FILE`): a block that opens each file once, as an {@linkcode OpenFile}
   * that its programs share (so they write one after another), closed at
   * its end.
   */
  #redirected(command: Exclude<Command, SimpleCommand | FunctionDef>): void {
    const streams = this.#streams(command.redirects);
    if (streams.stdin?.[0] === "stdinText") {
      throw this.refuse("a here-document of a compound command: give it to a program");
    }
    const ctx = this.#contexts.at(-1);
    this.#block({ kind: "block", head: "", body: [] }, "block", () => {
      const opened = new Map<Target, string>();
      const open = (target: Target, mode: string): Target => {
        if (typeof target === "string") return target;
        let name = opened.get(target);
        if (name === undefined) {
          const file = target[0]![1];
          const append = target.length > 1;
          const kind = mode === "read" ? "read" : append ? "append" : "write";
          const used = new Set(this.#locals.values());
          do name = ++this.#files === 1 ? (mode === "read" ? "input" : "out") : `file${this.#files}`; while (
            used.has(name)
          );
          this.import("OpenFile");
          this.statement([
            `using ${name} = new OpenFile`,
            group("(", [file, str(kind), ...(ctx ? [ctx.name] : [])], ")"),
          ]);
          opened.set(target, name);
        }
        return name;
      };
      const scope: Streams = {};
      if (streams.stdin) scope.stdin = ["stdin", open(streams.stdin[1], "read")];
      if (streams.stdout) scope.stdout = open(streams.stdout, "write");
      if (streams.stderr) scope.stderr = open(streams.stderr, "write");
      this.#scopes.push(scope);
      try {
        this.#compound({ ...command, redirects: [] });
      } finally {
        this.#scopes.pop();
      }
    });
  }

  /** The streams that redirected blocks around give a program, the innermost first; a pipeline's ends only. */
  #scoped(stage: { first: boolean; last: boolean } = { first: true, last: true }): Streams {
    const out: Streams = {};
    for (const scope of this.#scopes) {
      if (scope.stdin && stage.first) out.stdin = scope.stdin;
      if (scope.stdout && stage.last) out.stdout = scope.stdout;
      if (scope.stderr) out.stderr = scope.stderr;
    }
    return out;
  }

  /** Refuses what would print from this process in a redirected block: its output would not go there. */
  #printsHere(what: string): void {
    if (this.#scopes.some((s) => s.stdout !== undefined || s.stderr !== undefined)) {
      throw this.refuse(`${what} in a redirected block: it prints from this process, not to the file`);
    }
  }

  /** `( ... )`: a block, whose contexts are closed at its end, and whose directory changes are undone. */
  #subshell(body: List): void {
    const changes = simpleCommands(body).some((c) => c.words[0] && literal(c.words[0]) === "cd");
    const ctx = this.#contexts.at(-1);
    const before = this.#contexts.length;
    const { assigned, exported } = variablesOf(body);
    const names = new Set([...assigned, ...exported]);
    // The subshell's own copies: variables of the program shadowed in its
    // block, the environment (or the context's variables) put back after it.
    const shadowed = [...names].filter((n) => this.#locals.has(n) && !exported.has(n));
    const environment = [...names].some((n) => !this.#locals.has(n) || exported.has(n));
    const saved = new Map(shadowed.map((n) => [n, this.#locals.get(n)!]));
    const options = [this.#errexit, this.#pipefail] as const;
    this.#block({ kind: "block", head: "", body: [] }, "subshell", () => {
      for (const name of shadowed) {
        const id = this.#fresh(saved.get(name)!);
        this.statement(`let ${id} = ${saved.get(name)!}`);
        this.#locals.set(name, id);
      }
      const restores: Line[] = [];
      if (changes) {
        this.statement(`const cwd = ${ctx ? `${ctx.name}.cwd` : "Deno.cwd()"}`);
        restores.push({ kind: "statement", doc: ctx ? `${ctx.name}.cwd = cwd` : "Deno.chdir(cwd)" });
      }
      if (environment) {
        this.needs.helpers.add(ctx ? "restoreVars" : "restoreEnv");
        const [save, restore] = ctx
          ? [`const vars = new Map(${ctx.name}.vars)`, `restoreVars(${ctx.name}.vars, vars)`]
          : ["const env = Deno.env.toObject()", "restoreEnv(env)"];
        this.statement(save);
        restores.push({ kind: "statement", doc: restore });
      }
      try {
        if (restores.length) {
          const inner: Block = { kind: "block", head: "try", body: [] };
          this.#frame.lines.push({ ...inner, next: { kind: "block", head: "finally", body: restores } });
          this.#frames.push({ lines: inner.body, kind: "subshell" });
          try {
            this.#inline(body);
          } finally {
            this.#frames.pop();
          }
        } else {
          this.#inline(body);
        }
      } finally {
        for (const [name, id] of saved) this.#locals.set(name, id);
        [this.#errexit, this.#pipefail] = options;
      }
      // What the subshell made ends with it (`await using` closes them at the block's end).
      this.#contexts.splice(before);
    });
  }

  /** A name for a copy of a variable that the program does not use yet. */
  #fresh(base: string): string {
    const used = new Set(this.#locals.values());
    for (let i = 2;; i++) {
      const name = `${base.replace(/\d+$/, "")}${i}`;
      if (!used.has(name) && !this.#copies.has(name) && !TAKEN.has(name)) {
        this.#copies.add(name);
        return name;
      }
    }
  }

  /** A test list: its commands but the last run first, the last is the condition. */
  #test(list: List): { pre: List; cond: string } {
    const pre = list.slice(0, -1);
    const last = list.at(-1)!;
    if (last.background) throw this.refuse("a test that runs in the background");
    const a = last.command;
    let cond = this.#condition(a.first);
    a.rest.forEach(({ op, pipeline }, i) => {
      const previous = a.rest[i - 1]?.op;
      const left = previous !== undefined && previous !== op ? `(${cond})` : cond;
      cond = `${left} ${op} ${this.#condition(pipeline)}`;
    });
    return { pre, cond };
  }

  #if(command: Extract<Command, { kind: "if" }>): void {
    const clauses = command.clauses;
    const first = this.#test(clauses[0]!.test);
    this.#inline(first.pre);
    const head: Block = { kind: "block", head: ["if ", group("(", [first.cond], ")", false, false)], body: [] };
    this.#frame.lines.push(head);
    this.#into(head.body, "block", () => this.#inline(clauses[0]!.body));
    let tail = head as { next?: Block };
    for (const clause of clauses.slice(1)) {
      const test = this.#test(clause.test);
      let block: Block;
      if (test.pre.length) {
        // `elif a; b; then`: else { a; if (b) … }
        block = { kind: "block", head: "else", body: [] };
        tail.next = block;
        this.#into(block.body, "block", () => {
          this.#inline(test.pre);
          const inner: Block = { kind: "block", head: ["if ", group("(", [test.cond], ")", false, false)], body: [] };
          this.#frame.lines.push(inner);
          this.#into(inner.body, "block", () => this.#inline(clause.body));
          tail = inner as { next?: Block };
        });
        continue;
      }
      block = { kind: "block", head: ["else if ", group("(", [test.cond], ")", false, false)], body: [] };
      tail.next = block;
      this.#into(block.body, "block", () => this.#inline(clause.body));
      tail = block as { next?: Block };
    }
    if (command.otherwise) {
      const block: Block = { kind: "block", head: "else", body: [] };
      tail.next = block;
      this.#into(block.body, "block", () => this.#inline(command.otherwise!));
    }
  }

  /** Translates into a block already placed. */
  #into(lines: Line[], kind: Frame["kind"], body: () => void): void {
    this.#frames.push({ lines, kind });
    const contexts = this.#contexts.length;
    try {
      body();
    } finally {
      this.#frames.pop();
    }
    if (this.#contexts.length !== contexts) {
      throw new ParseError(this.#at, "cannot translate a context that outlives the block that made it: exit it there");
    }
  }

  #while(kind: "while" | "until", test: List, body: List): void {
    this.#loops++;
    try {
      const t = this.#test(test);
      const cond = kind === "while" ? t.cond : negateCondition(t.cond);
      if (!t.pre.length) {
        this.#block(
          { kind: "block", head: ["while ", group("(", [cond], ")", false, false)], body: [] },
          "loop",
          () => this.#inline(body),
        );
        return;
      }
      this.#block({ kind: "block", head: "while (true)", body: [] }, "loop", () => {
        this.#inline(t.pre);
        this.statement(`if (!(${cond})) break`);
        this.#inline(body);
      });
    } finally {
      this.#loops--;
    }
  }

  #for(name: string, words: readonly Word[] | undefined, body: List): void {
    const list: Doc = words === undefined ? this.#positional : group("[", this.#argDocs(this.#args(words), false), "]");
    const local = this.#locals.get(name);
    const head = local !== undefined ? ["for (", local, " of ", list, ")"] : ["for (const value of ", list, ")"];
    this.#loops++;
    try {
      this.#block({ kind: "block", head, body: [] }, "loop", () => {
        if (local === undefined) this.assign(name, "value", false);
        this.#inline(body);
      });
    } finally {
      this.#loops--;
    }
  }

  #case(word: Word, items: readonly { patterns: readonly Word[]; body: List }[]): void {
    this.import("matches");
    const value = this.#wordExpr(word);
    const subject = /^[\w.$]+$/.test(value) || value.startsWith('"') ? value : "word";
    if (subject === "word") this.statement(`const word = ${value}`);
    let first: Block | undefined;
    let tail: { next?: Block } | undefined;
    for (const item of items) {
      const test = item.patterns.map((p) => {
        const pattern = this.#patternExpr(p);
        return pattern === str("*") ? "true" : `matches(${pattern}, ${subject})`;
      }).join(" || ");
      if (test === "true" && !first) {
        // The first pattern is `*`: its body runs, always.
        this.#inline(item.body);
        break;
      }
      const head: Doc = test === "true" ? "else" : [first ? "else if " : "if ", group("(", [test], ")", false, false)];
      const block: Block = { kind: "block", head, body: [] };
      if (tail) tail.next = block;
      else this.#frame.lines.push(block);
      first ??= block;
      tail = block as { next?: Block };
      this.#into(block.body, "block", () => this.#inline(item.body));
      if (test === "true") break;
    }
  }

  #function(fn: FunctionDef): void {
    if (this.#inFunction) throw this.refuse("a function defined in a function");
    this.#functions.add(fn.name);
    this.import("type Context", "type Sandbox");
    const head = [
      "async function ",
      fn.name,
      group("(", ["here: Sandbox | Context", "...args: string[]"], ")", false, true, false),
      ": Promise<number>",
    ];
    const saved = [this.#positional, this.#inFunction, this.#errexit, this.#status] as const;
    this.#positional = "args";
    this.#inFunction = true;
    try {
      this.#block({ kind: "block", head, body: [] }, "function", () => {
        const body = fn.body;
        if (body.kind !== "group") throw this.refuse("a function whose body is not { ...; }");
        if (body.redirects.length) throw this.refuse("a redirection of a function's body");
        this.#inline(body.body);
        const last = this.#frame.lines.at(-1);
        if (!(last?.kind === "statement" && flat(last.doc).startsWith("return "))) {
          this.statement(`return ${this.#status ?? "0"}`);
        }
      });
    } finally {
      [this.#positional, this.#inFunction, this.#errexit, this.#status] = saved;
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
    if (request.kind !== "run") throw this.refuse(`--${request.kind} is for the command line`);
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

  #options(options: UnshareOptions | NsenterOptions): [string, Doc][] {
    return Object.entries(options).map(([k, v]) => [k, this.#value(v)]);
  }

  #value(value: unknown): Doc {
    if (typeof value === "boolean") return String(value);
    if (typeof value === "number") return this.number(value);
    if (typeof value === "string") return this.string(value);
    if (Array.isArray(value)) return group("[", value.map((v) => this.#value(v)), "]");
    return object(Object.entries(value as object).map(([k, v]) => [k, this.#value(v)]));
  }

  /**
   * `unshare`: with a program, the command that runs it (returned); without,
   * a context, made (a `stage` of a pipeline must have a program).
   */
  #unshare(rest: readonly Word[], stage = false): Doc | undefined {
    const { request, program } = this.#split(rest, parseUnshare);
    if (request.keepEnv) {
      throw this.refuse("--clear-env and --whitelist-env are not translated: use .clearEnv() and .env()");
    }
    if (request.forwardSignals) {
      throw this.refuse("--forward-signals is about nsh's own signals, which a program has not");
    }
    const options = this.#options(request.options);
    let box: Doc;
    if (request.isolate) {
      this.import("isolate");
      box = call("isolate", request.isolate.network ? [object([["network", "true"]])] : []);
      if (options.length) {
        this.import("unshare");
        box = [box, call(".with", [callWithObject("unshare", options)])];
      }
    } else {
      this.import("unshare");
      box = callWithObject("unshare", options);
    }
    if (request.steps.length) box = [box, call(".with", request.steps.map((step) => this.#step(step)))];
    if (program.length) return this.#programIn(box, program);
    if (stage) throw this.refuse("a context in a pipeline: give it a program");
    const parent = this.#contexts.at(-1);
    const types = new Set([...(parent?.types ?? []), ...stepTypes(unshareSteps(request.options))]);
    if (this.#inFunction) throw this.refuse("a context made in a function");
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
    this.statement([`await using ${name} = `, hold]);
    return undefined;
  }

  /** A step as the call of mod.ts that makes it: `dropCapabilities("ALL")`. */
  step(step: Step): Doc {
    return this.#step(step);
  }

  #step(step: Step): Doc {
    const { fn, args } = kindOf(step).code(step);
    this.import(fn);
    return call(fn, args.map((a) => this.#value(a)));
  }

  /**
   * A program in a sandbox made in the current context:
   * `ctx.sandbox().with(box).run(argv)`, given the context's variables as
   * `ctx.run()` gives them.
   */
  #programIn(box: Doc | undefined, argv: readonly Arg[]): Doc {
    const more = this.#jobSteps();
    const ctx = this.#contexts.at(-1);
    if (!ctx) {
      if (box === undefined) this.import("sandbox");
      const here: Doc = box === undefined ? call("sandbox", more) : more.length ? [box, call(".with", more)] : box;
      return [here, call(".run", this.#argDocs(argv))];
    }
    const vars = this.#contexts.some((c) => c.vars.size > 0);
    const env = vars ? [call(".env", [call("Object.fromEntries", [`${ctx.name}.env()`])])] : [];
    const steps = box === undefined ? more : [box, ...more];
    return [`${ctx.name}.sandbox()`, call(".with", steps), call(".run", this.#argDocs(argv)), ...env];
  }

  #newContext(types: ReadonlySet<NamespaceType>): string {
    const name = ++this.#names === 1 ? "ctx" : `ctx${this.#names}`;
    this.#contexts.push({ name, types, vars: new Set(), frame: this.#frame });
    return name;
  }

  /** `nsenter`, as {@linkcode Translator.#unshare}. */
  #nsenter(rest: readonly Word[], stage = false): Doc | undefined {
    const { request, program } = this.#split(rest, parseNsenter);
    if (request.env) throw this.refuse("--env reads another process's environment, which mod.ts does not offer");
    // In a context, files given to nsenter are where the context sees them,
    // as the shell takes them: reached through the context's root.
    const ctx = this.#contexts.at(-1);
    const options = ctx
      ? nsenterFiles(
        request.options,
        (file) => this.#placeholder(`${ctx.name}.hostPath(${this.string(file)})`, this.#shown(file)),
      )
      : request.options;
    if (program.length) {
      this.import("nsenter");
      let box: Doc = callWithObject("nsenter", this.#options(options));
      if (request.wdns !== undefined) box = [box, call(".workdir", [this.string(request.wdns)])];
      return this.#programIn(box, program);
    }
    if (stage) throw this.refuse("a context in a pipeline: give it a program");
    // Without a program: a context of the namespaces, as the shell makes it
    // (only the namespaces count, not --root, --wd or ids).
    if (this.#inFunction) throw this.refuse("a context made in a function");
    this.import("Context");
    const parentArg = ctx ? [ctx.name] : [];
    let join: Doc;
    let joined: NamespaceType[];
    if (options.all) {
      if (options.target === undefined) throw this.#usage("nsenter", "--all needs --target");
      join = call("Context.joinProcess", [this.number(options.target), ...parentArg]);
      joined = NAMESPACES.map((info) => info.type).filter((t) => t !== "user");
    } else {
      const entries = this.#parsing(() => nsenterSteps(options))
        .flatMap((s) => s.kind === "enter" ? [{ type: s.type, path: s.path }] : []);
      joined = entries.map((e) => e.type);
      const list = entries.map((e) => object([["type", str(e.type)], ["path", this.string(e.path)]]));
      join = call("Context.join", [group("[", list, "]"), ...parentArg]);
    }
    const name = this.#newContext(new Set([...(ctx?.types ?? []), ...joined]));
    this.statement([`await using ${name} = `, join]);
    if (request.wdns !== undefined) this.statement(`${name}.cwd = ${this.string(request.wdns)}`);
    return undefined;
  }

  /** Whether an `exit` at the top ended the translation. */
  #stopped = false;

  #exit(given: string | undefined, failed = false): void {
    const dynamic = given !== undefined && this.#placeholders.has(given);
    const ctx = failed ? undefined : this.#contexts.at(-1);
    if (ctx) {
      if (ctx.frame !== this.#frame) throw this.refuse("an exit in another block than the context's");
      this.#contexts.pop();
      // As `(exit N)` in sh: what follows gets N as `$?`, and under set -e a
      // status other than 0 ends the script with it.
      this.statement(`await ${ctx.name}.close()`);
      const status = dynamic
        ? `${numeric(this.#placeholders.get(given!)!)} & 255`
        : given !== undefined
        ? String(Number(given) & 255)
        : this.#status ?? "0";
      const ends = this.#errexit || (this.#last && !this.#statusUsed);
      if (status !== "0" && ends) {
        if (/^\d+$/.test(status) && this.#frame.kind === "top") {
          this.statement(`Deno.exitCode = ${status}`);
          this.#stopped = true;
          return;
        }
        const code = ++this.#codes === 1 ? "code" : `code${this.#codes}`;
        this.statement(`const ${code} = ${status}`);
        this.statement(`if (${code} !== 0) Deno.exit(${code})`);
        this.#status = "0";
        return;
      }
      this.#status = status;
      return;
    }
    if (this.#frames.some((f) => f.kind === "subshell")) throw this.refuse("an exit that ends a subshell");
    const status = dynamic
      ? `${numeric(this.#placeholders.get(given!)!)} & 255`
      : given !== undefined
      ? String(Number(given) & 255)
      : this.#status ?? "0";
    if (this.#frame.kind !== "top") {
      // Inside a block or a function: the script ends here.
      this.statement(`Deno.exit(${status})`);
      return;
    }
    // At the top, exit ends the script, with the last command's status
    // unless given (a failing last command has ended it with its own).
    if (status !== "0") this.statement(`Deno.exitCode = ${status}`);
    this.#stopped = true;
  }

  /**
   * lsns, netns, release and run. netns and release are mod.ts's functions,
   * given the context in one (`{ context: ctx }`), as the shell runs them in
   * its own process; lsns, whose table is the CLI's, is the CLI's command,
   * run in this process with the context; run, a new nsh, runs as nsh's CLI.
   */
  #nshCommand(name: string, args: readonly string[]): string {
    this.#name = name;
    const ctx = this.#contexts.at(-1)?.name;
    if (name === "run") {
      this.needs.nsh = true;
      return this.#run([this.#runner(), call(".run", ["nsh", str(name), ...args.map((a) => this.string(a))])]);
    }
    if (name !== "lsns" && name !== "netns" && name !== "release") throw this.refuse("it is nsh's own command");
    const where: Doc[] = ctx ? [object([["context", ctx]])] : [];
    if (name === "lsns") {
      this.needs.cli = true;
      const command = call("main", [
        group("[", [str("lsns"), ...args.map((a) => this.string(a))], "]"),
        "stdio",
        ...where,
      ]);
      if (this.#errexit || (this.#last && !this.#statusUsed)) {
        // main() has said why: end with its status, as nsh run does.
        const code = ++this.#codes === 1 ? "code" : `code${this.#codes}`;
        this.statement([`const ${code} = await `, command]);
        this.statement(`if (${code} !== 0) Deno.exit(${code})`);
        return "0";
      }
      if (!this.#statusUsed) {
        this.statement(["await ", command]);
        return "0";
      }
      const code = ++this.#codes === 1 ? "code" : `code${this.#codes}`;
      this.statement([`const ${code} = await `, command]);
      return code;
    }
    this.needs.setupError = true;
    if (name === "release") {
      if (!args.length || args.some((a) => a.startsWith("-"))) throw this.refuse("it takes files only");
      this.import("releaseNamespace");
      for (const file of args) this.statement(["await ", call("releaseNamespace", [this.string(file), ...where])]);
      return "0";
    }
    const [word, ...more] = args;
    const sub = word === undefined ? "list" : netnsSubcommand(word);
    if (!sub) throw this.#usage("netns", `unknown subcommand '${word}'`);
    if (!Object.hasOwn(NETNS_ARITY, sub)) throw this.refuse(`netns ${sub} has no counterpart in mod.ts`);
    const [min, max] = NETNS_ARITY[sub]!;
    if (more.length < min || more.length > max) throw this.#usage("netns", `${sub}: wrong number of arguments`);
    const arg = (i: number) => this.string(more[i]!);
    const print = (what: string, list: Doc) =>
      this.statement([`for (const ${what} of `, list, `) console.log(${what})`]);
    switch (sub) {
      case "list":
        // As netns list: each name, with the id the network namespace gives it.
        this.import("listNetns");
        this.import("netnsIds");
        if (ctx) this.import("type ContextOptions");
        this.needs.netnsList = true;
        print("line", call("netnsList", where));
        break;
      case "set":
        this.import("setNetnsId");
        this.statement(
          call("setNetnsId", [arg(0), more[1] === "auto" ? str("auto") : this.number(Number(more[1])), ...where]),
        );
        break;
      case "add":
        this.import("addNetns");
        this.statement(["await ", call("addNetns", [arg(0), ...where])]);
        break;
      case "attach":
        this.import("attachNetns");
        this.statement(["await ", call("attachNetns", [arg(0), this.number(Number(more[1])), ...where])]);
        break;
      case "delete":
        this.import("deleteNetns");
        this.statement(["await ", call("deleteNetns", [arg(0), ...where])]);
        break;
      case "identify":
        this.import("identifyNetns");
        // As ip netns identify: the last name found, or an empty line.
        this.statement([
          "console.log(",
          call("identifyNetns", [more.length ? this.number(Number(more[0])) : str("self"), ...where]),
          '.at(-1) ?? "")',
        ]);
        break;
      case "pids":
        this.import("netnsPids");
        print("pid", call("netnsPids", [arg(0), ...where]));
        break;
      default: {
        this.import("netnsExec");
        const box: Doc = ctx
          ? call(`${ctx}.sandbox().with`, [[call("netnsExec", [arg(0), ...where]), ".sandbox"]])
          : [call("netnsExec", [arg(0)]), ".sandbox"];
        return this.#run([box, call(".run", more.slice(1).map((a) => this.string(a)))]);
      }
    }
    return "0";
  }
}

/** `!(cond)`, simplified where it can be. */
function negateCondition(cond: string): string {
  if (cond === "true") return "false";
  if (cond === "false") return "true";
  if (/^\([^]*\) === 0$/.test(cond) && bare(cond.slice(0, -6)) !== cond.slice(0, -6)) {
    return cond.replace(/ === 0$/, " !== 0");
  }
  if (cond.startsWith("!(") && bare(cond.slice(1)) !== cond.slice(1)) return bare(cond.slice(1));
  return `!(${cond})`;
}

/** How many arguments each netns subcommand takes after its own name. */
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

/** sh's arithmetic as a TypeScript expression of numbers: C's operators, division truncated. */
class ArithTranslator {
  #i = 0;
  readonly #tokens: string[];

  constructor(
    text: string,
    readonly values: readonly string[],
    readonly variable: (name: string) => string,
    readonly refuse: (why: string) => Error,
  ) {
    this.#tokens =
      text.match(/#\d+|0[xX][0-9a-fA-F]+|\d+|[A-Za-z_]\w*|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%()<>!~&|^?:]|\S/g) ?? [];
  }

  translate(): string {
    if (!this.#tokens.length) return "0";
    const expr = this.#ternary();
    if (this.#i < this.#tokens.length) throw this.refuse(`$((...)): unexpected \`${this.#tokens[this.#i]}\``);
    return expr;
  }

  #peek(): string | undefined {
    return this.#tokens[this.#i];
  }

  #ternary(): string {
    const test = this.#binary(0);
    if (this.#peek() !== "?") return test;
    this.#i++;
    const yes = this.#ternary();
    if (this.#tokens[this.#i++] !== ":") throw this.refuse("$((...)): expected `:`");
    const no = this.#ternary();
    return `(${test} ? ${yes} : ${no})`;
  }

  static readonly LEVELS: readonly (readonly string[])[] = [
    ["||"],
    ["&&"],
    ["|"],
    ["^"],
    ["&"],
    ["==", "!="],
    ["<", "<=", ">", ">="],
    ["<<", ">>"],
    ["+", "-"],
    ["*", "/", "%"],
  ];

  #binary(level: number): string {
    if (level >= ArithTranslator.LEVELS.length) return this.#unary();
    let left = this.#binary(level + 1);
    for (;;) {
      const op = this.#peek();
      if (op === undefined || !ArithTranslator.LEVELS[level]!.includes(op)) return left;
      this.#i++;
      const right = this.#binary(level + 1);
      switch (op) {
        case "/":
          left = `Math.trunc(${left} / ${right})`;
          break;
        case "==":
        case "!=":
          left = `Number(${left} ${op}= ${right})`;
          break;
        case "<":
        case "<=":
        case ">":
        case ">=":
          left = `Number(${left} ${op} ${right})`;
          break;
        case "&&":
        case "||":
          left = `Number(Boolean(${left}) ${op} Boolean(${right}))`;
          break;
        default:
          left = `(${left} ${op} ${right})`;
      }
    }
  }

  #unary(): string {
    const t = this.#tokens[this.#i++];
    if (t === undefined) throw this.refuse("$((...)): expected a number");
    if (t === "-" || t === "+" || t === "~") return `(${t}${this.#unary()})`;
    if (t === "!") return `Number(!${this.#unary()})`;
    if (t === "(") {
      const inner = this.#ternary();
      if (this.#tokens[this.#i++] !== ")") throw this.refuse("$((...)): expected `)`");
      return `(${inner})`;
    }
    if (t.startsWith("#")) return this.values[Number(t.slice(1))]!;
    if (/^\d/.test(t)) return String(Number(/^0[0-7]+$/.test(t) ? `0o${t.slice(1)}` : t));
    if (/^[A-Za-z_]/.test(t)) {
      if (this.#peek() === "=" || (this.#peek()?.length === 1 && this.#tokens[this.#i + 1] === "=")) {
        throw this.refuse("$((...)): an assignment: assign the value instead");
      }
      return this.variable(t);
    }
    throw this.refuse(`$((...)): unexpected \`${t}\``);
  }
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
 * const program = exportScript("unshare --net ip addr | grep inet\n", { file: "a.nsh", from: "file:///nsh/mod.ts" });
 * if (!program.includes('await unshare({ net: true }).run("ip", "addr").pipe(')) throw new Error(program);
 * ```
 */
export function exportScript(source: string, options: ExportOptions): string {
  const list = parse(source);
  const t = new Translator(source, options.file, list);
  const lines = source.split("\n");
  const name = options.file.slice(options.file.lastIndexOf("/") + 1);
  const comment = (n: number) => {
    const text = lines[n - 1]!.trim();
    return text.startsWith("#") && !(n === 1 && text.startsWith("#!")) ? text.replace(/^# ?/, "") : undefined;
  };
  // The script's opening comments, up to the last blank line before its
  // first command, open the program too.
  const first = list[0]?.command.start.line ?? lines.length + 1;
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
  const finished = t.list(list, true, lines, name, (item) => {
    carry(item.command.start.line);
    nextLine = Math.max(nextLine, endLine(item));
  });
  if (!finished) {
    ended = true;
    const last = list.findIndex((item) => endLine(item) > nextLine - 1 && item.command.start.line >= nextLine);
    const next = last >= 0 ? list[last] : list.find((item) => item.command.start.line >= nextLine);
    if (next) t.comment(`${name}:${next.command.start.line} and after: never run, exit ended the script`);
  }
  if (!ended) carry(lines.length + 1);
  return renderProgram(t, header, options);
}

function renderProgram(t: Translator, header: readonly string[], options: ExportOptions): string {
  const { needs } = t;
  const out: string[] = [];
  const guarded = needs.commandError || needs.setupError;
  const indent = guarded ? 2 : 0;
  if (needs.commandError) needs.imports.add("CommandError");
  if (needs.setupError) needs.imports.add("SyscallError");
  // As deno fmt sorts them: by name, case aside, then capitals first.
  const names = [...needs.imports].sort((a, b) => {
    const [x, y] = [a.replace(/^type /, ""), b.replace(/^type /, "")];
    const [kx, ky] = [x.toLowerCase(), y.toLowerCase()];
    return kx !== ky ? (kx < ky ? -1 : 1) : x < y ? -1 : x > y ? 1 : 0;
  });
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
    out.push(
      ...render([{ kind: "statement", doc: ["import ", group("{", names, "}", true), ` from ${str(options.from)}`] }]),
      "",
    );
  }
  if (needs.cli) {
    out.push(`import { main, stdio } from ${str(new URL("cli/main.ts", options.from).href)};`, "");
  }
  if (needs.nsh) {
    const cli = new URL("cli.ts", options.from).href;
    out.push(
      "// nsh's command line, for run: a script runs in a new nsh.",
      ...render([{
        kind: "statement",
        doc: ["const nsh = ", group("[", ["Deno.execPath()", '"run"', '"-A"', '"--quiet"', str(cli)], "]")],
      }]),
      "",
    );
  }
  const body = render(
    [...t.declarations, ...(t.declarations.length ? [{ kind: "blank" } as Line] : []), ...t.lines],
    indent,
  );
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
      ...wrap(`End as nsh run does: ${why.join(", or ")}.`, 80 - 2).map((l) => `  ${l}`),
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
  out.push(...helpers(needs.helpers));
  return out.join("\n").replace(/\n+$/, "") + "\n";
}

/** The helpers a program needs, after its statements. */
function helpers(needed: ReadonlySet<Helper>): string[] {
  const out: string[] = [];
  if (needed.has("ok")) {
    out.push(
      "",
      "/** Whether a command or pipeline succeeds, as sh's if, while, && and || test it. */",
      "async function ok(",
      "  command: { noThrow(): PromiseLike<{ success: boolean }> },",
      "): Promise<boolean> {",
      "  return (await command.noThrow()).success;",
      "}",
    );
  }
  if (needed.has("split")) {
    out.push(
      "",
      "/** The words of an unquoted expansion, split on blanks as sh splits them. */",
      "function split(text: string): string[] {",
      '  return text.split(/[ \\t\\n]+/).filter((word) => word !== "");',
      "}",
    );
  }
  if (needed.has("restoreEnv")) {
    out.push(
      "",
      "/** Puts the environment back as a subshell found it: its changes stay in it. */",
      "function restoreEnv(saved: Record<string, string>): void {",
      "  for (const name of Object.keys(Deno.env.toObject())) {",
      "    if (!Object.hasOwn(saved, name)) Deno.env.delete(name);",
      "  }",
      "  for (const [name, value] of Object.entries(saved)) Deno.env.set(name, value);",
      "}",
    );
  }
  if (needed.has("restoreVars")) {
    out.push(
      "",
      "/** Puts a context's variables back as a subshell found them: its changes stay in it. */",
      "function restoreVars(",
      "  vars: Map<string, string | undefined>,",
      "  saved: Map<string, string | undefined>,",
      "): void {",
      "  vars.clear();",
      "  for (const [name, value] of saved) vars.set(name, value);",
      "}",
    );
  }
  if (needed.has("around")) {
    out.push(
      "",
      '/** "before$@after": the parameters, the first after before, the last before after. */',
      "function around(before: string, args: string[], after: string): string[] {",
      "  if (!args.length) return [before + after];",
      "  const words = [...args];",
      "  words[0] = before + words[0];",
      "  words[words.length - 1] += after;",
      "  return words;",
      "}",
    );
  }
  if (needed.has("output")) {
    out.push(
      "",
      "/** What a command wrote, without its last newlines, as sh's $(...). */",
      "async function output(",
      "  command: { noThrow(): { text(): Promise<string> } },",
      "): Promise<string> {",
      '  return (await command.noThrow().text()).replace(/\\n+$/, "");',
      "}",
    );
  }
  if (needed.has("globbed")) {
    out.push(
      "",
      "/** The paths a pattern matches, or the pattern itself (unquoted) when none, as sh expands it. */",
      "function globbed(",
      "  pattern: string,",
      "  where?: Parameters<typeof glob>[1],",
      "): string[] {",
      "  const found = glob(pattern, where);",
      '  return found.length ? found : [pattern.replace(/\\\\(.)/g, "$1")];',
      "}",
    );
  }
  if (needed.has("trim")) {
    out.push(
      "",
      "/** ${NAME%pattern} and the others: the value without the shortest or longest matching suffix or prefix. */",
      "function trim(",
      "  value: string,",
      "  pattern: string,",
      '  op: "%" | "%%" | "#" | "##",',
      "): string {",
      "  const re = patternRegExp(pattern);",
      "  const chars = [...value];",
      "  const n = chars.length;",
      '  const order = op === "%" || op === "##"',
      "    ? [...Array(n + 1).keys()].reverse()",
      "    : [...Array(n + 1).keys()];",
      "  for (const k of order) {",
      '    const [kept, cut] = op.startsWith("#")',
      '      ? [chars.slice(k).join(""), chars.slice(0, k).join("")]',
      '      : [chars.slice(0, k).join(""), chars.slice(k).join("")];',
      "    if (re.test(cut)) return kept;",
      "  }",
      "  return value;",
      "}",
    );
  }
  if (needed.has("required")) {
    out.push(
      "",
      "/** ${NAME?message}: the value, or the script ends with the message and status 2, as in sh. */",
      "function required(value: string | undefined, name: string, message: string): string {",
      "  if (value !== undefined) return value;",
      '  console.error(`${name}: ${message || "parameter not set"}`);',
      "  Deno.exit(2);",
      "}",
    );
  }
  return out;
}

/** The help text of `nsh export`. */
export function exportHelp(): string {
  return `
Usage:
 nsh export [--from <url>] <script.nsh>

Print a TypeScript program that does what the script does, on nsh's module:
contexts become Contexts, programs run in them, pipelines and redirections
become .pipe() and .stdout({ file }), and the program exits as the script
would. Run it with deno run -A.

Options:
 --from <url>               import mod.ts from <url> (default: this nsh's)
 -h, --help                 display this help
`;
}

/**
 * The program as `deno fmt` lays it out, when nsh runs on deno (not a
 * compiled nsh): {@linkcode exportScript}'s own layout is deno fmt's but for
 * long template literals, which deno fmt breaks inside their `${…}`.
 *
 * @param program The program.
 * @returns It, formatted; as it is when deno is not at hand or fails.
 */
async function formatted(program: string): Promise<string> {
  const deno = Deno.execPath();
  if (!/^deno(\.exe)?$/.test(deno.split("/").at(-1)!)) return program;
  try {
    const child = new Deno.Command(deno, {
      args: ["fmt", "--no-config", "--ext=ts", "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(program));
    await writer.close();
    const { success, stdout } = await child.output();
    return success ? new TextDecoder().decode(stdout) : program;
  } catch {
    return program;
  }
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
    io.out(await formatted(exportScript(source, { file, from })));
    return 0;
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    io.err(`nsh export: ${file}:${error.message}\n`);
    return 2;
  }
}
