/**
 * The commands the shell runs itself, each defined once: how it reads and
 * checks its arguments (pure, so that `nsh export` reports the same errors
 * as the shell), what it does in a session, and how `nsh export` writes it
 * as TypeScript (see export.ts, which calls {@linkcode Builtin.translate}).
 *
 * @module
 */

import type { NamespaceType } from "../../lib/namespaces.ts";
import { NAMESPACES } from "../../lib/namespaces.ts";
import { Context } from "../../lib/context.ts";
import type { Sandbox } from "../../lib/sandbox.ts";
import type { NsenterOptions, UnshareOptions } from "../../lib/util_linux_options.ts";
import * as steps from "../../lib/steps.ts";
import type { Step } from "../../lib/steps.ts";
import { COMMANDS } from "../commands.ts";
import { UsageError, ValueError } from "../usage.ts";
import { isName, quote } from "./parse.ts";
import { call, type Doc } from "./layout.ts";
import { MS } from "../../ffi/constants.ts";
import { asValueError } from "../plan_command.ts";
import { LIMIT_OPTIONS, parseLimit, parseRestrict, RESTRICT_OPTIONS } from "../unshare.ts";
import { formatOptions, type OptionSpec } from "../getopt.ts";
import { normalizePath } from "../../lib/files.ts";
import type { RLIMIT } from "../../ffi/constants.ts";
import {
  formatLimit,
  formatUmask,
  getopts,
  type GetoptsState,
  leadingOptions,
  type Limit,
  newLimit,
  parseUlimit,
  parseUmask,
  timesText,
  type UlimitRequest,
  ULIMITS,
} from "./posix.ts";

/** The options of mount(8) that are flags of mount(2), by name. */
const MOUNT_FLAGS: Readonly<Record<string, number>> = {
  ro: MS.RDONLY,
  rw: 0,
  nosuid: MS.NOSUID,
  nodev: MS.NODEV,
  noexec: MS.NOEXEC,
  noatime: MS.NOATIME,
  relatime: MS.RELATIME,
};

// ---------------------------------------------------------------------------
// How control leaves a command: exceptions the session catches where sh's
// shell would act.

/** `exit`, an error that ends a non-interactive shell, or `set -e`: the (sub)shell ends with `status`. */
export class ShellExit extends Error {
  /**
   * @param status The status the shell ends with.
   */
  constructor(readonly status: number) {
    super(`exit ${status}`);
    this.name = "ShellExit";
  }
}

/**
 * Ctrl-C at an interactive shell: what runs in the foreground stops (the
 * rest of a loop or of a line too) and the prompt comes back, with status 130.
 */
export class Interrupted extends Error {
  constructor() {
    super("interrupted");
    this.name = "Interrupted";
  }
}

/** `break N` or `continue N`. */
export class LoopControl extends Error {
  /**
   * @param kind Which one.
   * @param levels How many loops it leaves (1 is the innermost).
   */
  constructor(readonly kind: "break" | "continue", readonly levels: number) {
    super(kind);
    this.name = "LoopControl";
  }
}

/** `return N`: the function ends with `status`. */
export class FunctionReturn extends Error {
  /**
   * @param status The function's status.
   */
  constructor(readonly status: number) {
    super(`return ${status}`);
    this.name = "FunctionReturn";
  }
}

// ---------------------------------------------------------------------------
// What builtins act on.

/** The shell's options that `set` changes. */
export interface Options {
  /** `-e`: a failing command ends the script. */
  errexit: boolean;
  /** `-u`: expanding an unset parameter is an error. */
  nounset: boolean;
  /** `-o pipefail`: a pipeline fails when any of its commands does. */
  pipefail: boolean;
}

/** A job the shell started, as `jobs` lists it. */
export interface JobInfo {
  /** Its number, `%N`. */
  readonly id: number;
  /** Its command line. */
  readonly text: string;
  /** `Running`, `Stopped` or `Done`. */
  readonly state: string;
  /** Whether it is the current job (`+`) or the previous (`-`). */
  readonly mark: "+" | "-" | " ";
}

/** What a builtin reads and changes of the session that runs it. */
export interface Shell {
  /** Writes to the command's standard output. */
  out(text: string): Promise<void>;
  /** Writes to the command's standard error. */
  err(text: string): Promise<void>;
  /** Reads a line of the command's standard input; `undefined` at its end. */
  readLine(): Promise<{ line: string; newline: boolean } | undefined>;
  /** The innermost context, or `undefined` at the host. */
  readonly context: Context | undefined;
  /** The working directory of programs, as the context sees it. */
  readonly cwd: string;
  /**
   * Changes the working directory of the current context (or of the shell
   * at the host), and PWD and OLDPWD.
   *
   * @param path The new directory, absolute and normalized.
   */
  setCwd(path: string): void;
  /**
   * The path by which nsh reaches a file that programs here name `path`.
   *
   * @param path The path as programs see it.
   * @returns The path from nsh.
   */
  hostPath(path: string): string;
  /** A variable's value, `undefined` when unset. */
  getVar(name: string): string | undefined;
  /** Sets a variable (exported when it was). */
  setVar(name: string, value: string): void;
  /** Unsets a variable. */
  unsetVar(name: string): void;
  /** Marks a variable exported, setting it when a value is given. */
  exportVar(name: string, value?: string): void;
  /** The exported variables that are set, sorted by name. */
  exportedVars(): [string, string][];
  /** Every variable that is set, sorted by name. */
  allVars(): [string, string][];
  /** Removes a function. */
  unsetFunction(name: string): void;
  /** The options, which `set` changes. */
  readonly options: Options;
  /** The positional parameters. */
  args: readonly string[];
  /** The status of the command before (`$?`). */
  readonly status: number;
  /**
   * Enters a context made by `unshare` or `nsenter`: it becomes the current
   * one, with its own directory and variables.
   *
   * @param context The context.
   * @param made What it made, for the prompt.
   * @param cwd Its working directory.
   */
  enter(context: Context, made: string, cwd: string): void;
  /**
   * `exit`: closes the innermost context this shell made, or, with none,
   * ends the shell (throws {@linkcode ShellExit}).
   *
   * @param status The status.
   * @returns The status, once the context is closed.
   */
  leave(status: number): Promise<number>;
  /** The sandbox programs run in: the current context's, in its directory. */
  sandbox(): Sandbox;
  /** The environment of programs, or `undefined` when it is this process's, unchanged. */
  programEnv(): Record<string, string> | undefined;
  /**
   * Runs a program in the foreground, with the command's standard streams.
   *
   * @param box Where.
   * @param argv The program and its arguments.
   * @param env Its environment.
   * @returns Its status.
   */
  runProgram(box: Sandbox, argv: readonly string[], env?: Record<string, string>): Promise<number>;
  /** Runs a script as `sh FILE` would: in a session of its own, in the current context. */
  runScript(file: string, args: readonly string[]): Promise<number>;
  /** Writes what the session did as a script. */
  save(file: string): Promise<void>;
  /** The jobs. */
  jobs(): JobInfo[];
  /**
   * Waits for jobs (all when none is given) or processes.
   *
   * @param ids `%N` job specs or pids.
   * @returns The status of the last one.
   */
  wait(ids: readonly string[]): Promise<number>;
  /**
   * Continues a job in the foreground (`fg`) or the background (`bg`).
   *
   * @param id A job spec, or `undefined` for the current job.
   * @param foreground Whether to wait for it.
   * @returns Its status (fg), or 0.
   */
  resume(id: string | undefined, foreground: boolean): Promise<number>;
  /**
   * Sends a signal to jobs and processes.
   *
   * @param signal The signal number.
   * @param targets `%N` job specs or pids.
   */
  signal(signal: number, targets: readonly string[]): void;
  /** How many loops enclose the command. */
  readonly loops: number;
  /** Whether a function runs the command. */
  readonly inFunction: boolean;
  /** Whether `.` runs the command (`return` ends the file). */
  readonly sourcing: boolean;
  /**
   * `.`: runs the commands of a file in this session.
   *
   * @param file The file, looked for in PATH when its name has no slash.
   * @returns The status of its last command.
   */
  source(file: string): Promise<number>;
  /** `eval`: runs text as commands in this session. */
  evaluate(text: string): Promise<number>;
  /** `exec PROGRAM`: runs it; the shell then ends with its status. */
  exec(argv: readonly string[]): Promise<number>;
  /** `exec` without a program: the command's redirections stay for the shell's later commands. */
  keepRedirections(): void;
  /** `command NAME`: runs a builtin or program of that name, not a function. */
  runCommand(argv: readonly string[]): Promise<number>;
  /** What a command's name runs: a keyword, a function, a builtin, nsh's command, a program (its path). */
  lookup(name: string): Lookup | undefined;
  /** Sets (or, with `undefined`, resets) what a signal or EXIT runs. */
  setTrap(condition: string, action: string | undefined): void;
  /** The traps, as `trap` lists them: condition and action, EXIT first, then by signal number. */
  traps(): [string, string][];
  /** Marks a variable read-only, setting it first when a value is given. */
  setReadonly(name: string, value?: string): void;
  /** The read-only variables, sorted by name, and their values (`undefined`: unset). */
  readonlyVars(): [string, string | undefined][];
  /** `local`: the variable is the function's, put back when it returns; set when a value is given. */
  makeLocal(name: string, value?: string): void;
  /** Where `getopts` is in the arguments. */
  readonly getopts: GetoptsState;
  /** The limit programs started here get (`ulimit`). */
  limit(resource: keyof typeof RLIMIT): Limit;
  /** Changes it, for the programs started from now on. */
  setLimit(resource: keyof typeof RLIMIT, limit: Limit): void;
}

/** What a command's name runs, for `type` and `command -v`. */
export type Lookup =
  | { readonly kind: "keyword" | "function" | "command" }
  | { readonly kind: "builtin"; readonly special: boolean }
  | { readonly kind: "program"; readonly path: string };

/** What a builtin's checks know of where it runs: the namespaces of the current context, or none at the host. */
export interface Where {
  /** The namespace types the current context has of its own or from its parents; `undefined` at the host. */
  readonly types: readonly NamespaceType[] | undefined;
}

/**
 * What a builtin's translation writes into the program `nsh export` makes
 * (export.ts implements it). Strings are expressions of the program; the
 * `text` of an argument may hold placeholders for the script's expansions,
 * which {@linkcode Translation.string} turns into expressions.
 */
export interface Translation {
  /** The current context's variable in the program, and its namespaces; `undefined` at the top. */
  readonly context: { readonly name: string; readonly types: ReadonlySet<NamespaceType> } | undefined;
  /** Adds a statement. */
  statement(doc: Doc): void;
  /** Imports names of mod.ts. */
  import(...names: string[]): void;
  /** A statement may reject with a CommandError: the program's frame handles it. */
  mayFail(): void;
  /** The expression of an argument's text. */
  string(text: string): string;
  /** The expression of a number an argument gave. */
  number(n: number): string;
  /** Refuses what cannot be translated faithfully: the error says why, at the command. */
  refuse(why: string): Error;
  /** The expression of the working directory of programs here. */
  cwd(): string;
  /** `cd`: changes the working directory of programs here (`undefined`: to HOME). */
  chdir(target: string | undefined): void;
  /** Sets (or, with `undefined`, unsets) a variable, where the shell keeps it. */
  assign(name: string, value: string | undefined, exported: boolean): void;
  /** `set -e` and the others, from here on. */
  setOption(option: keyof Options, on: boolean): void;
  /** `exit`: leaves the context, or ends the script; `status` is the argument's text. */
  exit(status: string | undefined): void;
  /** lsns, netns, release and run: as nsh's CLI, or mod.ts's functions. */
  nshCommand(name: string, args: readonly string[]): void;
  /** `break` and `continue`. */
  loopControl(kind: "break" | "continue", levels: number): void;
  /** `return`; `status` is the argument's text. */
  returnFrom(status: string | undefined): void;
  /** `shift`. */
  shift(n: number): void;
  /** A mount step as the context's method or `apply()`. */
  mountStep(step: Step): Doc;
  /** A step as the call of mod.ts's function that makes it (`limits({ pidsMax: 3 })`). */
  step(step: Step): Doc;
  /** Prints the hostname, as programs here read it. */
  printHostname(): void;
  /** `wait`. */
  wait(ids: readonly string[]): void;
  /** A command that ends with `status`: under `set -e` (outside a condition) the script ends with it. */
  fail(status: number): void;
  /** `enter NAME`: joins a named context, as `Context.enter()`. */
  enterNamed(name: string): void;
}

/**
 * A builtin: its help, its parser (pure; the shell and `nsh export` report
 * the same errors), what it does in a session, and how `nsh export` writes it.
 */
export interface Builtin<R = unknown> {
  /** Its synopsis. */
  readonly usage: string;
  /** One line of help. */
  readonly help: string;
  /** The options it takes, listed by `help NAME` after the line of help. */
  readonly options?: readonly OptionSpec[];
  /** A special builtin of sh: assignments before it stay. */
  readonly special?: boolean;
  /** It only prints: `save` leaves it out. */
  readonly quiet?: boolean;
  /** It is hidden from `help`'s list (sh's own, such as `:` and `true`). */
  readonly hidden?: boolean;
  /**
   * Reads and checks the arguments.
   *
   * @param args The arguments.
   * @param where The namespaces of the current context.
   * @returns What to do.
   * @throws {UsageError} For arguments it cannot take.
   */
  parse(args: readonly string[], where: Where): R;
  /**
   * Does it.
   *
   * @param request What {@linkcode Builtin.parse} returned.
   * @param sh The session.
   * @returns The status.
   */
  run(request: R, sh: Shell): Promise<number> | number;
  /**
   * Writes it into an exported program; absent for what only an
   * interactive shell does.
   *
   * @param request What {@linkcode Builtin.parse} returned.
   * @param t The translation.
   * @param args The arguments' texts (with placeholders for expansions).
   */
  translate?(request: R, t: Translation, args: readonly string[]): void;
}

// ---------------------------------------------------------------------------
// Checks shared by the shell and export.

/**
 * Refuses a step that would change the host: `mount-proc`, `mount`,
 * `umount` need a context with a mount namespace of its own, `hostname NAME`
 * one with a UTS namespace.
 *
 * @param command The builtin.
 * @param type The namespace it acts on.
 * @param where Where it runs.
 * @throws {UsageError} When the context lacks it.
 */
export function requireNamespace(command: string, type: "mnt" | "uts", where: Where): void {
  if (where.types?.includes(type)) return;
  const what = type === "mnt" ? "mount" : "UTS";
  const option = type === "mnt" ? "--mount" : "--uts";
  throw new UsageError(
    command,
    `not in a context with a ${what} namespace of its own: it would change the host's (run unshare ${option} first)`,
  );
}

/** `exit`'s and `return`'s argument: a status, 0 to 255, or `undefined` for the last status. */
function statusArgument(command: string, args: readonly string[]): number | undefined {
  if (args.length > 1) throw new UsageError(command, "too many arguments");
  const given = args[0];
  if (given === undefined) return undefined;
  if (!/^\d+$/.test(given)) throw new UsageError(command, `expected a status, got '${given}'`);
  return Number(given) & 255;
}

function count(command: string, args: readonly string[], fallback: number, min: number): number {
  if (args.length > 1) throw new UsageError(command, "too many arguments");
  const given = args[0];
  if (given === undefined) return fallback;
  if (!/^\d+$/.test(given) || Number(given) < min) throw new ValueError(command, `'${given}' is not a count`);
  return Number(given);
}

/**
 * The name the `hostname` builtin is given, checked as hostname(1) checks it:
 * letters, digits, `-`, `_` and dots between labels. The builtin takes no
 * options: `hostname -f` must not name the host "-f".
 *
 * @param args The arguments.
 * @returns The name, or `undefined` to print the hostname.
 * @throws {UsageError} For an option, a bad name or more than one argument.
 */
export function hostnameArgument(args: readonly string[]): string | undefined {
  if (args.length > 1) throw new UsageError("hostname", "too many arguments");
  const name = args[0];
  if (name === undefined) return undefined;
  if (name.startsWith("-")) {
    throw new UsageError("hostname", `the builtin takes no options ('${name}'): run /bin/hostname ${name} for that`);
  }
  if (!/^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*$/.test(name)) {
    throw new ValueError(
      "hostname",
      `invalid name '${name}': use letters, digits, '-' and '_', with dots between labels`,
    );
  }
  return name;
}

/**
 * Parses `mount` arguments into a step: `--bind SRC DST` (with `-o ro`),
 * `-t tmpfs [-o size=…] tmpfs DIR`, `-t proc proc DIR`, or any `-t TYPE`.
 *
 * @param args The arguments (at least one).
 * @returns The step.
 * @throws {UsageError} For what it does not understand.
 */
export function parseMount(args: readonly string[]): Step {
  let type: string | undefined;
  const options: string[] = [];
  let bind = false;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-t" || a === "--types") type = args[++i];
    else if (a.startsWith("-t") && a.length > 2) type = a.slice(2);
    else if (a === "-o" || a === "--options") options.push(...(args[++i] ?? "").split(","));
    else if (a.startsWith("-o") && a.length > 2) options.push(...a.slice(2).split(","));
    else if (a === "--bind" || a === "-B" || a === "--rbind" || a === "-R") bind = true;
    else if (a.startsWith("-")) throw new UsageError("mount", `unknown option '${a}'`);
    else rest.push(a);
  }
  if (rest.length !== 2) throw new UsageError("mount", "expected a source and a target");
  const [source, target] = rest as [string, string];
  const flags = options.filter((o) => o in MOUNT_FLAGS);
  const data = options.filter((o) => o !== "" && !(o in MOUNT_FLAGS) && o !== "bind" && o !== "rbind");
  if (bind || options.includes("bind") || options.includes("rbind")) {
    if (data.length) throw new UsageError("mount", `a bind mount takes no options but ro: '${data.join(",")}'`);
    return steps.bindMount(source, target, { readonly: flags.includes("ro") });
  }
  if (type === undefined) throw new UsageError("mount", "expected -t TYPE or --bind");
  if (type === "proc" && !flags.length && !data.length) return steps.mountProc(target);
  if (type === "tmpfs" && !flags.length) return steps.tmpfs(target, data.join(","));
  return steps.mount({
    source,
    target,
    type,
    flags: flags.reduce((f, o) => f | MOUNT_FLAGS[o]!, 0),
    data: data.join(","),
  });
}

/** The keys of `nsenter`'s options that may name a namespace file. */
export const NSENTER_FILE_KEYS: readonly (keyof NsenterOptions)[] = NAMESPACES.map((info) =>
  info.option as keyof NsenterOptions
);

/**
 * `nsenter`'s namespace files as the current context sees them: each path
 * given through `map` (the context's view, in the shell; an expression of
 * it, in export).
 *
 * @param options The options.
 * @param map How a file is reached.
 * @returns The options with the files mapped.
 */
export function nsenterFiles(options: NsenterOptions, map: (file: string) => string): NsenterOptions {
  const out: NsenterOptions = { ...options };
  for (const key of NSENTER_FILE_KEYS) {
    const file = out[key];
    if (typeof file === "string") (out as Record<string, unknown>)[key] = map(file);
  }
  return out;
}

// ---------------------------------------------------------------------------
// The builtins.

/** What `unshare` and `nsenter` do in the shell. */
export type ContextRequest =
  | { readonly kind: "help" | "version"; readonly args: readonly string[] }
  | { readonly kind: "run"; readonly options: UnshareOptions; readonly argv: string[]; readonly program: boolean };

/** `set`'s request: options to change, and maybe new positional parameters. */
export interface SetRequest {
  /** Options to set (`true`) or clear. */
  readonly changes: readonly [keyof Options, boolean][];
  /** New positional parameters, after `--` or the first word that is no option. */
  readonly args?: readonly string[];
  /** Print the variables (`set` alone). */
  readonly list: boolean;
  /** Print the options: as a table (`set -o` alone) or as the commands that set them again (`set +o`). */
  readonly listOptions?: "table" | "commands";
}

const OPTION_LETTERS: Readonly<Record<string, keyof Options>> = { e: "errexit", u: "nounset" };
const OPTION_NAMES: Readonly<Record<string, keyof Options>> = {
  errexit: "errexit",
  nounset: "nounset",
  pipefail: "pipefail",
};

/**
 * Parses `set`'s arguments.
 *
 * @param args The arguments.
 * @returns The request.
 * @throws {UsageError} For an option nsh does not have.
 */
export function parseSet(args: readonly string[]): SetRequest {
  const changes: [keyof Options, boolean][] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") return { changes, args: args.slice(i + 1), list: false };
    if (!/^[-+]./.test(a)) return { changes, args: args.slice(i), list: false };
    const on = a[0] === "-";
    if (a.slice(1) === "o") {
      if (i === args.length - 1) return { changes, list: false, listOptions: on ? "table" : "commands" };
      const name = args[++i];
      const option = name === undefined ? undefined : OPTION_NAMES[name];
      if (option === undefined) {
        throw new UsageError("set", `unknown option name '${name ?? ""}': nsh has errexit, nounset and pipefail`);
      }
      changes.push([option, on]);
      continue;
    }
    for (const letter of a.slice(1)) {
      const option = OPTION_LETTERS[letter];
      if (option === undefined) {
        throw new UsageError("set", `unknown option '${a[0]}${letter}': nsh has -e, -u and -o pipefail`);
      }
      changes.push([option, on]);
    }
  }
  return { changes, list: args.length === 0 };
}

/** The options as `set -o` lists them (dash's table) or as `set +o` does (commands that set them again). */
function optionsText(options: Options, how: "table" | "commands"): string {
  const names = Object.keys(OPTION_NAMES) as (keyof Options)[];
  if (how === "commands") return names.map((name) => `set ${options[name] ? "-" : "+"}o ${name}\n`).join("");
  return "Current option settings\n" +
    names.map((name) => `${name.padEnd(16)}${options[name] ? "on" : "off"}\n`).join("");
}

/** `read`'s request. */
export interface ReadRequest {
  /** `-r`: backslashes are ordinary characters. */
  readonly raw: boolean;
  /** The variables, `REPLY` when none is given. */
  readonly names: readonly string[];
}

/** `kill`'s request. */
export interface KillRequest {
  /** The signal number, or `undefined` for `-l`. */
  readonly signal: number | undefined;
  /** `%N` job specs and pids. */
  readonly targets: readonly string[];
}

async function loadSignals(): Promise<typeof import("../../ffi/signals.ts")> {
  return await import("../../ffi/signals.ts");
}

/** Splits a line into the variables of `read`, as sh does: IFS fields, the rest of the line to the last. */
function readFields(line: string, count: number, ifs: string): string[] {
  const white = [...ifs].filter((c) => c === " " || c === "\t" || c === "\n").join("");
  const isWhite = (c: string) => white.includes(c);
  const isIfs = (c: string) => ifs.includes(c);
  let i = 0;
  while (i < line.length && isWhite(line[i]!)) i++;
  const out: string[] = [];
  while (out.length < count - 1 && i < line.length) {
    let j = i;
    while (j < line.length && !isIfs(line[j]!)) j++;
    out.push(line.slice(i, j));
    i = j;
    // The delimiter: white space, and at most one other IFS character.
    while (i < line.length && isWhite(line[i]!)) i++;
    if (i < line.length && isIfs(line[i]!) && !isWhite(line[i]!) && j < line.length && isWhite(line[j]!)) {
      i++;
      while (i < line.length && isWhite(line[i]!)) i++;
    } else if (j < line.length && !isWhite(line[j]!)) {
      i = j + 1;
      while (i < line.length && isWhite(line[i]!)) i++;
    }
  }
  if (out.length < count) {
    let rest = line.slice(i);
    // Trailing IFS white space goes.
    let end = rest.length;
    while (end > 0 && isWhite(rest[end - 1]!)) end--;
    rest = rest.slice(0, end);
    out.push(rest);
  }
  while (out.length < count) out.push("");
  return out;
}

/** `trap`'s request. */
export interface TrapRequest {
  /** List the traps. */
  readonly list: boolean;
  /** The action, `undefined` to reset (`-`), `""` to ignore. */
  readonly action: string | undefined;
  /** The conditions: EXIT or a signal's name without SIG. */
  readonly conditions: readonly string[];
}

/**
 * Parses `trap`'s arguments as sh does: an action and conditions (`EXIT` or
 * 0, a signal's name with or without SIG, or its number); `-`, or a first
 * argument that is a number, resets them.
 *
 * @param args The arguments.
 * @returns The request.
 * @throws {ValueError} For a condition that is no signal.
 */
export function parseTrap(args: readonly string[]): TrapRequest {
  let rest = args[0] === "--" ? args.slice(1) : args;
  if (!rest.length || (rest.length === 1 && rest[0] === "-p")) return { list: true, action: undefined, conditions: [] };
  let action: string | undefined;
  if (/^\d+$/.test(rest[0]!) || rest[0] === "-") {
    if (rest[0] === "-") rest = rest.slice(1);
  } else {
    action = rest[0]!;
    rest = rest.slice(1);
  }
  const conditions = rest.map((c) => {
    if (c === "0" || c.toUpperCase() === "EXIT") return "EXIT";
    const n = /^\d+$/.test(c) ? Number(c) : signalByName(c);
    if (n === undefined || n < 1 || n > 31) throw new ValueError("trap", `${c}: bad trap`, 1);
    return signalNames()[n - 1]!;
  });
  return { list: false, action, conditions };
}

/** A text in single quotes, as dash's `trap` and `readonly` list it. */
function singleQuoted(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** `type NAME`, and `command -V`: what a name runs, as dash says it; 127 when nothing. */
async function describeName(name: string, found: Lookup | undefined, sh: Shell): Promise<number> {
  if (!found) {
    await sh.out(`${name}: not found\n`);
    return 127;
  }
  const what = found.kind === "keyword"
    ? "a shell keyword"
    : found.kind === "function"
    ? "a shell function"
    : found.kind === "builtin"
    ? found.special ? "a special shell builtin" : "a shell builtin"
    : found.kind === "program"
    ? found.path
    : "an nsh command";
  await sh.out(`${name} is ${what}\n`);
  return 0;
}

function noArgs(command: string, args: readonly string[]): void {
  if (args.length) throw new UsageError(command, "takes no arguments");
}

/** A builtin, typed by its request. */
function builtin<R>(b: Builtin<R>): Builtin {
  return b as Builtin;
}

/**
 * A builtin that applies steps of nsh's options to the current context
 * (`limit`, `restrict`), as `ctx.apply()` in export.
 */
function contextSteps(
  usage: string,
  help: string,
  options: readonly OptionSpec[],
  parse: (args: readonly string[]) => Step[],
  outside: string,
): Builtin {
  const name = usage.split(" ")[0]!;
  return builtin<Step[]>({
    usage,
    help,
    options,
    parse(args, where) {
      const list = parse(args);
      if (where.types === undefined) throw new UsageError(name, `not in a context: ${outside}`);
      return list;
    },
    async run(list, sh) {
      await sh.context!.apply(...list);
      return 0;
    },
    translate(list, t) {
      t.statement(["await ", call(`${t.context!.name}.apply`, list.map((step) => t.step(step)))]);
    },
  });
}

/** The commands the shell runs itself, by name. */
export const BUILTINS: Readonly<Record<string, Builtin>> = {
  "mount-proc": builtin<string | undefined>({
    usage: "mount-proc [<dir>]",
    help: "mount a proc that shows the context's PID namespace",
    parse(args, where) {
      if (args.length > 1) throw new UsageError("mount-proc", "too many arguments");
      requireNamespace("mount-proc", "mnt", where);
      return args[0];
    },
    async run(dir, sh) {
      await sh.context!.apply(steps.mountProc(dir ?? "/proc"));
      return 0;
    },
    translate(dir, t) {
      t.statement(["await ", call(`${t.context!.name}.mountProc`, dir === undefined ? [] : [t.string(dir)])]);
    },
  }),
  mount: builtin<Step | undefined>({
    usage: "mount [-t <type>] [-o <options>] [--bind] <source> <target>",
    help: "mount in the context (bind, ro bind, tmpfs, proc…); alone, list its mounts",
    parse(args, where) {
      if (!args.length) return undefined;
      const step = parseMount(args);
      requireNamespace("mount", "mnt", where);
      return step;
    },
    async run(step, sh) {
      if (step) {
        await sh.context!.apply(step);
        return 0;
      }
      await sh.out(await mountTable(sh.context));
      return 0;
    },
    translate(step, t) {
      if (!step) throw t.refuse("without arguments it lists the mounts; read /proc/self/mounts instead");
      t.statement(["await ", t.mountStep(step)]);
    },
  }),
  umount: builtin<string>({
    usage: "umount <target>",
    help: "detach a mount in the context",
    parse(args, where) {
      if (args.length !== 1) throw new UsageError("umount", "expected one mount point");
      requireNamespace("umount", "mnt", where);
      return args[0]!;
    },
    async run(target, sh) {
      await sh.context!.apply(steps.umount(target));
      return 0;
    },
    translate(target, t) {
      t.import("umount");
      t.statement(["await ", call(`${t.context!.name}.apply`, [call("umount", [t.string(target)])])]);
    },
  }),
  hostname: builtin<string | undefined>({
    usage: "hostname [<name>]",
    help: "print, or set, the context's hostname",
    parse(args, where) {
      const name = hostnameArgument(args);
      if (name !== undefined) requireNamespace("hostname", "uts", where);
      return name;
    },
    async run(name, sh) {
      if (name !== undefined) {
        await sh.context!.apply(steps.hostname(name));
        return 0;
      }
      // The context's hostname is what a program there reads.
      const current = sh.context ? await sh.context.run("cat", "/proc/sys/kernel/hostname").text() : Deno.hostname();
      await sh.out(current + "\n");
      return 0;
    },
    translate(name, t) {
      if (name === undefined) return t.printHostname();
      t.statement(["await ", call(`${t.context!.name}.hostname`, [t.string(name)])]);
    },
  }),
  limit: contextSteps(
    "limit [--memory-max <size>] [--pids-max <n>] [--cpu-max <q/p>|<n>%]…",
    // The box covers everything run in the context, its holder too.
    "change the limits of the context's box (made with unshare --memory-max… and the like)",
    LIMIT_OPTIONS,
    parseLimit,
    "limits are given to unshare, which makes one (unshare --pids-max 100)",
  ),
  restrict: contextSteps(
    "restrict [--cap-drop <caps>] [--no-new-privs] [--seccomp-deny <calls>] [--landlock-ro <paths>]…",
    // The context's holder keeps what it needs to serve later commands.
    "restrict the programs run in the context from now on (capabilities, seccomp, Landlock…)",
    RESTRICT_OPTIONS,
    parseRestrict,
    "give restrictions to unshare, which makes one (unshare -Ur --cap-drop ALL)",
  ),
  enter: builtin<string>({
    usage: "enter <name>",
    help: "join the context named so (unshare --name), here or in another nsh",
    parse(args) {
      if (args.length !== 1) throw new UsageError("enter", "expected the name of a context (nsh contexts lists them)");
      return args[0]!;
    },
    run(name, sh) {
      let context: Context;
      try {
        context = Context.enter(name, sh.context);
      } catch (error) {
        throw error instanceof TypeError ? asValueError("enter", error) : error;
      }
      sh.enter(context, name, context.cwd);
      return 0;
    },
    translate(name, t) {
      t.enterNamed(name);
    },
  }),
  cd: builtin<string | undefined>({
    usage: "cd [<dir> | -]",
    help: "change the directory of the context's programs (-: the one before)",
    parse(args) {
      const rest = args[0] === "-L" || args[0] === "-P" ? args.slice(1) : args;
      if (rest.length > 1) throw new UsageError("cd", "too many arguments");
      return rest[0];
    },
    async run(target, sh) {
      let dir = target ?? sh.getVar("HOME") ?? "/";
      if (target === "-") {
        const old = sh.getVar("OLDPWD");
        if (old === undefined) throw new ValueError("cd", "OLDPWD not set", 2);
        dir = old;
      }
      const path = normalizePath(dir.startsWith("/") ? dir : `${sh.cwd}/${dir}`);
      let info: Deno.FileInfo;
      try {
        info = Deno.statSync(sh.hostPath(path));
      } catch (error) {
        const why = error instanceof Deno.errors.PermissionDenied ? "permission denied" : "no such directory";
        // Status 2, as dash's cd.
        throw new ValueError("cd", `${dir}: ${why}`, 2);
      }
      if (!info.isDirectory) throw new ValueError("cd", `${dir}: not a directory`, 2);
      try {
        // Looking up "." in it needs the search permission that chdir needs.
        Deno.statSync(`${sh.hostPath(path).replace(/\/$/, "")}/.`);
      } catch {
        throw new ValueError("cd", `${dir}: permission denied`, 2);
      }
      sh.setCwd(path);
      if (target === "-") await sh.out(path + "\n");
      return 0;
    },
    translate(target, t) {
      if (target === "-") throw t.refuse("cd -: name the directory");
      t.chdir(target);
    },
  }),
  pwd: builtin<void>({
    usage: "pwd",
    help: "print that working directory",
    quiet: true,
    parse(args) {
      noArgs("pwd", args.filter((a) => a !== "-L" && a !== "-P"));
    },
    async run(_, sh) {
      await sh.out(sh.cwd + "\n");
      return 0;
    },
    translate(_, t) {
      t.statement(call("console.log", [t.cwd()]));
    },
  }),
  export: builtin<readonly { name: string; value?: string }[] | undefined>({
    usage: "export [<name>[=<value>]...]",
    help: "set variables for the programs that follow; alone, list them",
    special: true,
    parse(args) {
      if (!args.length || (args.length === 1 && args[0] === "-p")) return undefined;
      return args.map((arg) => {
        const eq = arg.indexOf("=");
        const name = eq < 0 ? arg : arg.slice(0, eq);
        if (!isName(name)) {
          // `export box.nsh` at the prompt: nsh's export command has the same name.
          const file = eq < 0 && /[./]/.test(arg)
            ? ` (to print the script ${arg} as a TypeScript program, run nsh export ${arg} from your shell)`
            : "";
          throw new ValueError("export", `'${name}' is not a valid name${file}`);
        }
        return eq < 0 ? { name } : { name, value: arg.slice(eq + 1) };
      });
    },
    async run(list, sh) {
      if (!list) {
        for (const [k, v] of sh.exportedVars()) await sh.out(`export ${k}=${quote(v)}\n`);
        return 0;
      }
      for (const { name, value } of list) sh.exportVar(name, value);
      return 0;
    },
    translate(list, t) {
      if (!list) throw t.refuse("without arguments it lists variables; write them out");
      // `export NAME` keeps the value NAME has: programs get it already.
      for (const { name, value } of list) if (value !== undefined) t.assign(name, t.string(value), true);
    },
  }),
  unset: builtin<{ functions: boolean; names: readonly string[] }>({
    usage: "unset [-f | -v] <name>...",
    help: "remove variables (or, with -f, functions)",
    special: true,
    parse(args) {
      let functions = false;
      let names = args;
      while (names[0] === "-f" || names[0] === "-v") {
        functions = names[0] === "-f";
        names = names.slice(1);
      }
      for (const name of names) if (!isName(name)) throw new ValueError("unset", `'${name}' is not a valid name`);
      return { functions, names };
    },
    run({ functions, names }, sh) {
      for (const name of names) functions ? sh.unsetFunction(name) : sh.unsetVar(name);
      return 0;
    },
    translate({ functions, names }, t) {
      if (functions) throw t.refuse("unset -f: a function of the program stays");
      for (const name of names) t.assign(name, undefined, false);
    },
  }),
  set: builtin<SetRequest>({
    usage: "set [-eu] [+eu] [-o pipefail] [-o | +o] [-- <argument>...]",
    help: "stop (-e) or go on (+e) after a failure; -u; -o pipefail; set $1…",
    special: true,
    parse: parseSet,
    async run(request, sh) {
      for (const [option, on] of request.changes) sh.options[option] = on;
      if (request.args) sh.args = request.args;
      if (request.list) { for (const [k, v] of sh.allVars()) await sh.out(`${k}=${quote(v)}\n`); }
      if (request.listOptions) await sh.out(optionsText(sh.options, request.listOptions));
      return 0;
    },
    translate(request, t) {
      if (request.list) throw t.refuse("without arguments it lists variables");
      if (request.listOptions) throw t.refuse("set -o and set +o list the shell's options, which a program has not");
      if (request.args) throw t.refuse("set -- replaces the script's arguments: pass them to the program");
      for (const [option, on] of request.changes) t.setOption(option, on);
    },
  }),
  exit: builtin<number | undefined>({
    usage: "exit [<status>]",
    help: "leave the context (ending its namespaces), or the shell",
    special: true,
    parse: (args) => statusArgument("exit", args),
    async run(status, sh) {
      return await sh.leave(status ?? sh.status);
    },
    translate(_, t, args) {
      t.exit(args[0]);
    },
  }),
  save: builtin<string>({
    usage: "save <file>",
    help: "write what this session did as a script that reproduces it",
    quiet: true,
    parse(args) {
      if (args.length !== 1) throw new UsageError("save", "expected one file");
      return args[0]!;
    },
    async run(file, sh) {
      await sh.save(file);
      return 0;
    },
  }),
  run: builtin<readonly string[]>({
    usage: "run <script.nsh> [<argument>...]",
    help: "run a script in this context, as sh FILE does: its variables, cd and exit are its own",
    parse(args) {
      if (!args.length) throw new UsageError("run", "no script given");
      return args;
    },
    async run([file, ...args], sh) {
      return await sh.runScript(file!, args);
    },
    translate(args, t) {
      t.nshCommand("run", args);
    },
  }),
  help: builtin<string | undefined>({
    usage: "help [<command>]",
    help: "show this help, or a command's",
    quiet: true,
    parse(args) {
      if (args.length > 1) throw new UsageError("help", "too many arguments");
      const name = args[0];
      if (name !== undefined && !Object.hasOwn(COMMANDS, name) && !Object.hasOwn(BUILTINS, name)) {
        throw new UsageError("help", `no such command: ${name}`);
      }
      return name;
    },
    async run(name, sh) {
      await sh.out(await shellHelp(name));
      return 0;
    },
  }),
  read: builtin<ReadRequest>({
    usage: "read [-r] [<name>...]",
    help: "read a line of standard input into variables",
    parse(args) {
      let raw = false;
      let names = args;
      while (names[0] === "-r") {
        raw = true;
        names = names.slice(1);
      }
      if (names[0]?.startsWith("-")) throw new UsageError("read", `unknown option '${names[0]}'`);
      for (const name of names) if (!isName(name)) throw new ValueError("read", `'${name}' is not a valid name`);
      return { raw, names: names.length ? names : ["REPLY"] };
    },
    async run({ raw, names }, sh) {
      let text = "";
      let ended = false;
      for (;;) {
        const got = await sh.readLine();
        if (!got) {
          ended = true;
          break;
        }
        let line = got.line;
        if (!raw) {
          // A backslash quotes the next character; at the end, it joins the next line.
          const continued = /(^|[^\\])(\\\\)*\\$/.test(line) && got.newline;
          if (continued) line = line.slice(0, -1);
          text += line.replace(/\\([^])/g, "$1");
          if (continued) continue;
        } else {
          text += line;
        }
        if (!got.newline) ended = true;
        break;
      }
      const values = readFields(text, names.length, sh.getVar("IFS") ?? " \t\n");
      names.forEach((name, i) => sh.setVar(name, values[i]!));
      return ended ? 1 : 0;
    },
  }),
  shift: builtin<number>({
    usage: "shift [<n>]",
    help: "drop the first n arguments",
    special: true,
    hidden: true,
    parse: (args) => count("shift", args, 1, 0),
    run(n, sh) {
      if (n > sh.args.length) {
        throw new ValueError("shift", `cannot shift ${n}: there are ${sh.args.length} arguments`, 2);
      }
      sh.args = sh.args.slice(n);
      return 0;
    },
    translate(n, t) {
      t.shift(n);
    },
  }),
  break: builtin<number>({
    usage: "break [<n>]",
    help: "leave the innermost loop, or n loops",
    special: true,
    hidden: true,
    parse: (args) => count("break", args, 1, 1),
    run(n, sh) {
      if (!sh.loops) return 0;
      throw new LoopControl("break", n);
    },
    translate(n, t) {
      t.loopControl("break", n);
    },
  }),
  continue: builtin<number>({
    usage: "continue [<n>]",
    help: "start the next round of the innermost loop, or of the nth",
    special: true,
    hidden: true,
    parse: (args) => count("continue", args, 1, 1),
    run(n, sh) {
      if (!sh.loops) return 0;
      throw new LoopControl("continue", n);
    },
    translate(n, t) {
      t.loopControl("continue", n);
    },
  }),
  return: builtin<number | undefined>({
    usage: "return [<status>]",
    help: "end the function",
    special: true,
    hidden: true,
    parse: (args) => statusArgument("return", args),
    run(status, sh) {
      // Outside a function it ends the script, as in dash.
      if (!sh.inFunction && !sh.sourcing) throw new ShellExit(status ?? sh.status);
      throw new FunctionReturn(status ?? sh.status);
    },
    translate(_, t, args) {
      t.returnFrom(args[0]);
    },
  }),
  ":": builtin<void>({
    usage: ": [<argument>...]",
    help: "do nothing, successfully",
    special: true,
    hidden: true,
    parse() {},
    run: () => 0,
    translate() {},
  }),
  true: builtin<void>({ usage: "true", help: "succeed", hidden: true, parse() {}, run: () => 0, translate() {} }),
  false: builtin<void>({
    usage: "false",
    help: "fail",
    hidden: true,
    parse() {},
    run: () => 1,
    translate(_, t) {
      t.fail(1);
    },
  }),
  wait: builtin<readonly string[]>({
    usage: "wait [%<job> | <pid>...]",
    help: "wait for background jobs",
    parse: (args) => args,
    async run(ids, sh) {
      return await sh.wait(ids);
    },
    translate(ids, t) {
      t.wait(ids);
    },
  }),
  jobs: builtin<void>({
    usage: "jobs",
    help: "list the jobs",
    quiet: true,
    parse: (args) => noArgs("jobs", args.filter((a) => a !== "-l")),
    async run(_, sh) {
      for (const job of sh.jobs()) await sh.out(`[${job.id}]${job.mark}  ${job.state.padEnd(24)}${job.text}\n`);
      return 0;
    },
  }),
  fg: builtin<string | undefined>({
    usage: "fg [%<job>]",
    help: "continue a job in the foreground",
    parse(args) {
      if (args.length > 1) throw new UsageError("fg", "too many arguments");
      return args[0];
    },
    async run(id, sh) {
      return await sh.resume(id, true);
    },
  }),
  bg: builtin<string | undefined>({
    usage: "bg [%<job>]",
    help: "continue a stopped job in the background",
    parse(args) {
      if (args.length > 1) throw new UsageError("bg", "too many arguments");
      return args[0];
    },
    async run(id, sh) {
      return await sh.resume(id, false);
    },
  }),
  kill: builtin<KillRequest>({
    usage: "kill [-s <signal> | -<signal>] %<job> | <pid>...",
    help: "send a signal (TERM by default) to jobs or processes; -l lists signals",
    parse(args) {
      let signal: number | undefined = 15;
      let rest = args;
      const first = rest[0];
      if (first === "-l" || first === "-L") return { signal: undefined, targets: [] };
      const number = (name: string) => {
        const n = /^\d+$/.test(name) ? Number(name) : signalByName(name);
        if (n === undefined || n < 1 || n > 64) throw new ValueError("kill", `unknown signal '${name}'`);
        return n;
      };
      if (first === "-s" || first === "-n") {
        if (rest[1] === undefined) throw new UsageError("kill", `${first} needs a signal`);
        signal = number(rest[1]);
        rest = rest.slice(2);
      } else if (first?.startsWith("-") && first !== "--" && !/^-\d+$/.test(first.slice(0, 2) + "x")) {
        signal = number(first.slice(1));
        rest = rest.slice(1);
      }
      if (rest[0] === "--") rest = rest.slice(1);
      if (!rest.length) throw new UsageError("kill", "no job or process given");
      for (const target of rest) {
        if (!/^(%.*|-?\d+)$/.test(target)) throw new ValueError("kill", `'${target}' is neither a job (%N) nor a pid`);
      }
      return { signal, targets: rest };
    },
    async run({ signal, targets }, sh) {
      if (signal === undefined) {
        const { signalName } = await loadSignals();
        const names = Array.from({ length: 31 }, (_, i) => signalName(i + 1).replace(/^SIG/, ""));
        await sh.out(names.join(" ") + "\n");
        return 0;
      }
      sh.signal(signal, targets);
      return 0;
    },
  }),
  ".": builtin<string>({
    usage: ". <file>",
    help: "run a file's commands in this shell (its variables, cd and functions stay)",
    special: true,
    parse(args) {
      // As dash: words after the file are not its arguments.
      const file = (args[0] === "--" ? args.slice(1) : args)[0];
      if (file === undefined) throw new UsageError(".", "no file given");
      return file;
    },
    async run(file, sh) {
      return await sh.source(file);
    },
    translate(_, t) {
      throw t.refuse("it runs another script's commands here: export that script and call it");
    },
  }),
  eval: builtin<string>({
    usage: "eval [<argument>...]",
    help: "run the arguments, joined by spaces, as commands of this shell",
    special: true,
    parse: (args) => args.join(" "),
    async run(text, sh) {
      return await sh.evaluate(text);
    },
    translate(_, t) {
      throw t.refuse("the commands it runs are known only when it runs");
    },
  }),
  exec: builtin<readonly string[]>({
    usage: "exec [<program> [<argument>...]]",
    help: "run a program, then end with its status; alone, keep the redirections",
    special: true,
    parse: (args) => args[0] === "--" ? args.slice(1) : args,
    async run(argv, sh) {
      if (!argv.length) {
        sh.keepRedirections();
        return 0;
      }
      return await sh.exec(argv);
    },
    translate(argv, t) {
      if (!argv.length) throw t.refuse("redirections of the shell itself: redirect each program");
      throw t.refuse("run the program, then end with Deno.exit() and its status");
    },
  }),
  trap: builtin<TrapRequest>({
    usage: "trap [<action> <condition>...] | [- <condition>...]",
    help: "run an action on a signal (INT, TERM…) or at EXIT; alone, list them",
    special: true,
    parse: parseTrap,
    async run(request, sh) {
      if (request.list) {
        for (const [condition, action] of sh.traps()) await sh.out(`trap -- ${singleQuoted(action)} ${condition}\n`);
        return 0;
      }
      for (const condition of request.conditions) sh.setTrap(condition, request.action);
      return 0;
    },
    translate(request, t) {
      if (!request.list && !request.conditions.includes("EXIT") && request.action !== undefined && !request.action) {
        throw t.refuse(
          "it ignores signals in this process and in every later program: give ignoreSignals() to their sandbox",
        );
      }
      throw t.refuse("traps run shell code on signals: use Deno.addSignalListener() and try/finally");
    },
  }),
  command: builtin<{ describe: "" | "-v" | "-V"; argv: readonly string[] }>({
    usage: "command [-v | -V] <name> [<argument>...]",
    help: "run a builtin or program, not a function; -v: what a name runs",
    parse(args) {
      let describe: "" | "-v" | "-V" = "";
      const argv = leadingOptions(args, (a) => {
        if (a === "-v" || a === "-V") describe = a;
        else if (a !== "-p") throw new UsageError("command", `unknown option '${a}'`);
      });
      return { describe, argv };
    },
    async run({ describe, argv }, sh) {
      if (!argv.length) return 0;
      if (!describe) return await sh.runCommand(argv);
      // As dash: the first name only.
      const name = argv[0]!;
      const found = sh.lookup(name);
      if (describe === "-V") return await describeName(name, found, sh);
      if (!found) return 127;
      await sh.out(`${found.kind === "program" ? found.path : name}\n`);
      return 0;
    },
    translate({ describe }, t) {
      if (describe) throw t.refuse("it says what a name runs, which the program knows when it is written");
      throw t.refuse("write the program's name alone");
    },
  }),
  type: builtin<readonly string[]>({
    usage: "type <name>...",
    help: "say what each name runs: keyword, function, builtin or program",
    quiet: true,
    parse: (args) => args,
    async run(names, sh) {
      let status = 0;
      for (const name of names) status = Math.max(status, await describeName(name, sh.lookup(name), sh));
      return status;
    },
    translate(_, t) {
      throw t.refuse("it says what a name runs, which the program knows when it is written");
    },
  }),
  umask: builtin<{ symbolic: boolean; mode: string | undefined }>({
    usage: "umask [-S] [<mode>]",
    help: "print, or set, what new files' permissions lack (0022; -S: u=rwx,g=rx,o=rx)",
    parse(args) {
      let rest = args;
      let symbolic = false;
      while (rest[0] === "-S") {
        symbolic = true;
        rest = rest.slice(1);
      }
      if (rest[0] === "--") rest = rest.slice(1);
      if (rest.length > 1) throw new UsageError("umask", "too many arguments");
      const mode = rest[0];
      if (mode !== undefined) parseUmask(mode, 0o022); // checked here, applied when it runs
      return { symbolic, mode };
    },
    async run({ symbolic, mode }, sh) {
      // The process's own mask: programs inherit it, and the files redirections make get it.
      const current = Deno.umask();
      if (mode === undefined) {
        await sh.out(formatUmask(current, symbolic) + "\n");
        return 0;
      }
      Deno.umask(parseUmask(mode, current));
      return 0;
    },
    translate({ mode }, t) {
      if (mode === undefined) throw t.refuse("without a mode it prints the mask: call Deno.umask()");
      if (!/^[0-7]+$/.test(mode)) throw t.refuse("a symbolic mode: give the mask in octal");
      t.statement(call("Deno.umask", [`0o${parseInt(mode, 8).toString(8)}`]));
    },
  }),
  readonly: builtin<readonly { name: string; value?: string }[] | undefined>({
    usage: "readonly [<name>[=<value>]...]",
    help: "make variables read-only, setting them first; alone, list them",
    special: true,
    parse(args) {
      if (!args.length || (args.length === 1 && args[0] === "-p")) return undefined;
      return args.map((arg) => {
        const eq = arg.indexOf("=");
        const name = eq < 0 ? arg : arg.slice(0, eq);
        if (!isName(name)) throw new ValueError("readonly", `'${name}' is not a valid name`, 2);
        return eq < 0 ? { name } : { name, value: arg.slice(eq + 1) };
      });
    },
    async run(list, sh) {
      if (!list) {
        for (const [name, value] of sh.readonlyVars()) {
          await sh.out(`readonly ${name}${value === undefined ? "" : `=${singleQuoted(value)}`}\n`);
        }
        return 0;
      }
      for (const { name, value } of list) sh.setReadonly(name, value);
      return 0;
    },
    translate(list, t) {
      if (!list) throw t.refuse("without arguments it lists variables");
      // The program assigns nothing else to them: what stays is the value.
      for (const { name, value } of list) if (value !== undefined) t.assign(name, t.string(value), false);
    },
  }),
  local: builtin<readonly { name: string; value?: string }[]>({
    usage: "local <name>[=<value>]...",
    help: "make variables the function's own: their values come back when it returns",
    parse(args) {
      return args.map((arg) => {
        const eq = arg.indexOf("=");
        const name = eq < 0 ? arg : arg.slice(0, eq);
        if (!isName(name)) throw new ValueError("local", `'${name}' is not a valid name`, 2);
        return eq < 0 ? { name } : { name, value: arg.slice(eq + 1) };
      });
    },
    run(list, sh) {
      if (!sh.inFunction) throw new ValueError("local", "not in a function", 2);
      for (const { name, value } of list) sh.makeLocal(name, value);
      return 0;
    },
    translate(_, t) {
      throw t.refuse("a function's variables are its let's: give them names of their own");
    },
  }),
  getopts: builtin<{ spec: string; name: string; args: readonly string[] | undefined }>({
    usage: "getopts <optstring> <name> [<argument>...]",
    help: "read the next option of $@ into a variable, its argument into OPTARG",
    parse(args) {
      const [spec, name, ...rest] = args;
      if (spec === undefined || name === undefined) {
        throw new UsageError("getopts", "expected an option string and a name");
      }
      if (!isName(name)) throw new ValueError("getopts", `'${name}' is not a valid name`, 2);
      return { spec, name, args: rest.length ? rest : undefined };
    },
    async run({ spec, name, args }, sh) {
      const result = getopts(spec, args ?? sh.args, sh.getVar("OPTIND"), sh.getopts);
      if (result.message !== undefined) await sh.err(`${result.message}\n`);
      if (result.optarg === null) sh.unsetVar("OPTARG");
      else if (result.optarg !== undefined) sh.setVar("OPTARG", result.optarg);
      sh.setVar("OPTIND", String(result.optind));
      sh.setVar(name, result.name);
      return result.status;
    },
    translate(_, t) {
      throw t.refuse("read the options in TypeScript (parseArgs of @std/cli)");
    },
  }),
  times: builtin<void>({
    usage: "times",
    help: "print the time the shell and its programs used, user then system",
    special: true,
    quiet: true,
    parse: (args) => noArgs("times", args),
    async run(_, sh) {
      await sh.out(timesText());
      return 0;
    },
    translate(_, t) {
      throw t.refuse("the times are this process's: read them from /proc/self/stat");
    },
  }),
  ulimit: builtin<UlimitRequest>({
    usage: "ulimit [-H | -S] [-a | -n | -u | -v | -c | -s | -t | -f | -d | -l…] [<limit>]",
    help: "print, or set, a limit of the programs started from now on",
    parse: parseUlimit,
    async run(request, sh) {
      if (request.kind === "all") {
        for (const r of ULIMITS) {
          const limit = sh.limit(r.resource);
          await sh.out(`${r.label.padEnd(20)} ${formatLimit(request.hard ? limit.hard : limit.soft, r.unit)}\n`);
        }
        return 0;
      }
      const { resource, which, value } = request;
      const current = sh.limit(resource.resource);
      if (value === undefined) {
        await sh.out(formatLimit(which === "hard" ? current.hard : current.soft, resource.unit) + "\n");
        return 0;
      }
      sh.setLimit(resource.resource, newLimit(current, { resource, which, value }, Deno.uid() === 0));
      return 0;
    },
    translate(request, t) {
      if (request.kind === "one" && request.value !== undefined) {
        throw t.refuse("a limit of every later program: give resourceLimit() to their sandbox");
      }
      throw t.refuse("it prints the limits");
    },
  }),
};

/** A signal's number by its name, with or without SIG (only the common ones, for `kill`). */
function signalByName(name: string): number | undefined {
  const i = signalNames().indexOf(name.toUpperCase().replace(/^SIG/, ""));
  return i < 0 ? undefined : i + 1;
}

/** The names of signals 1 to 31, without SIG. */
function signalNames(): readonly string[] {
  return [
    "HUP",
    "INT",
    "QUIT",
    "ILL",
    "TRAP",
    "ABRT",
    "BUS",
    "FPE",
    "KILL",
    "USR1",
    "SEGV",
    "USR2",
    "PIPE",
    "ALRM",
    "TERM",
    "STKFLT",
    "CHLD",
    "CONT",
    "STOP",
    "TSTP",
    "TTIN",
    "TTOU",
    "URG",
    "XCPU",
    "XFSZ",
    "VTALRM",
    "PROF",
    "WINCH",
    "IO",
    "PWR",
    "SYS",
  ];
}

/** The mounts of a context (or the host) as mount(8) lists them: `SOURCE on TARGET type TYPE (OPTIONS)`. */
async function mountTable(context: Context | undefined): Promise<string> {
  const root = context?.hostPath("/") ?? "/";
  const holder = /^\/proc\/(\d+)\/root/.exec(root)?.[1];
  let text: string;
  if (holder) text = await Deno.readTextFile(`/proc/${holder}/mounts`);
  else if (context) text = await context.run("cat", "/proc/self/mounts").text();
  else text = await Deno.readTextFile("/proc/self/mounts");
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8)));
  return text.split("\n").filter(Boolean).map((line) => {
    const [source, target, type, options] = line.split(" ").map(unescape);
    return `${source} on ${target} type ${type} (${options})\n`;
  }).join("");
}

/** Whether a name is one of nsh's commands (unshare, nsenter, lsns, netns, release). */
export function isCommand(name: string): boolean {
  return Object.hasOwn(COMMANDS, name);
}

/** Whether a name is a builtin of the shell (and not a command). */
export function isBuiltin(name: string): boolean {
  return Object.hasOwn(BUILTINS, name) && !isCommand(name);
}

/**
 * The help of the shell, or of one command.
 *
 * @param command A command's name.
 * @returns The text.
 * @throws {UsageError} For an unknown command.
 */
export async function shellHelp(command?: string): Promise<string> {
  if (command !== undefined) {
    // A builtin first: the shell's enter takes a name only, nsh enter a program too.
    const b = Object.hasOwn(BUILTINS, command) ? BUILTINS[command] : undefined;
    if (b) {
      const text = b.help.charAt(0).toUpperCase() + b.help.slice(1) + (b.help.endsWith("…") ? "" : ".");
      const options = b.options ? `\nOptions:\n${formatOptions(b.options)}\n` : "";
      return `\nUsage:\n ${b.usage}\n\n${text}\n${options}`;
    }
    if (isCommand(command)) {
      const help = (await COMMANDS[command]!.load()).help();
      // What the command-line help cannot say: without a program, the shell keeps the namespaces.
      const context = command === "unshare" || command === "nsenter"
        ? `\nIn the shell, without a program, ${command} makes a context: the namespaces stay\n` +
          "open and the commands that follow run in them, until exit (or Ctrl-D).\n"
        : "";
      return help.replace(/\n\nOptions:\n/, `\n${context}\nOptions:\n`);
    }
    throw new UsageError("help", `no such command: ${command}`);
  }
  const width = 28;
  const line = (usage: string, help: string) =>
    usage.length + 2 <= width ? ` ${usage.padEnd(width - 1)}${help}` : ` ${usage}\n${" ".repeat(width)}${help}`;
  const commands = Object.entries(COMMANDS).map(([name, c]) => line(`${name} ${c.synopsis}`.trimEnd(), c.summary));
  const builtins = Object.values(BUILTINS).filter((b) => !b.hidden).map((b) => line(b.usage, b.help));
  return `
nsh is a shell whose commands make and enter namespaces. unshare without a
program makes a context: new namespaces held open, which the commands that
follow act on, until exit. Any other word runs as a program in the context.

Commands:
${commands.join("\n")}

In a context:
${builtins.join("\n")}

The language is sh's: pipes, redirections (files as the context sees them),
&& || ; &, if, while, for, case, functions, \$VAR and \${VAR:-default},
\$(command), globs, and job control at a terminal. help <command> tells more.
`;
}
