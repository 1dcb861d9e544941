/**
 * The shell's interpreter: runs the nsh language (sh's, with contexts) in
 * this process. Programs start as children set up by the engine; pipelines
 * connect them with pipes, and redirections give them files opened where
 * the context sees them; builtins, compound commands and functions run here,
 * and a subshell (`( … )`, a stage of a pipeline, a substitution, a job) is
 * a copy of the session whose contexts, variables and directory end with
 * it. The REPL, `-c`, `run FILE` and stdin all drive one of these.
 *
 * @module
 */

import {
  type AndOr,
  type Command,
  type FunctionDef,
  type List,
  parse,
  ParseError,
  type Pipeline,
  quote,
  type Redirect,
  RESERVED,
  type SimpleCommand,
} from "./parse.ts";
import { type GetoptsState, type Limit, processLimits } from "./posix.ts";
import type { RLIMIT } from "../../ffi/constants.ts";
import { signalName, signalNumber } from "../../ffi/signals.ts";
import { expandPattern, expandWord, expandWords, ExpansionError, matches, type Scope } from "./expand.ts";
import {
  BUILTINS,
  FunctionReturn,
  hostnameArgument,
  Interrupted,
  isBuiltin,
  isCommand,
  type JobInfo,
  type Lookup,
  LoopControl,
  nsenterFiles,
  type Options,
  parseMount,
  type Shell,
  ShellExit,
  shellHelp,
  type Where,
} from "./builtins.ts";
import { BrokenPipe, closeAll, Fds, type OpenMode, openRedirect, pipe, readLine, textFd, writeFd } from "./io.ts";
import type { FileView } from "../../lib/files.ts";
import { foreground, Group, interrupts, type Job, Jobs } from "./jobs.ts";
import { setForegroundGroup } from "../../ffi/terminal.ts";
import type { Io } from "../commands.ts";
import { COMMANDS } from "../commands.ts";
import { describeError, exitStatusOf, lowerFirst, UsageError, ValueError } from "../usage.ts";
import { asValueError, planCommand } from "../plan_command.ts";
import { ESRCH, SIGCONT, SIGINT, SIGPIPE, SIGTSTP } from "../../ffi/constants.ts";
import { keptEnvironment, parseUnshare, unshareSandbox } from "../unshare.ts";
import { parseNsenter, processEnvironment } from "../nsenter.ts";
import { VERSION } from "../version.ts";
import { Context } from "../../lib/context.ts";
import { nsenterSteps } from "../../lib/util_linux_options.ts";
import { Sandbox } from "../../lib/sandbox.ts";
import { changesRoot } from "../../lib/plan.ts";
import * as steps from "../../lib/steps.ts";
import type { Step } from "../../lib/steps.ts";
import type { Child } from "../../lib/child.ts";
import { start } from "../../lib/engine.ts";
import { inheritedFds } from "../../lib/system.ts";
import { drain } from "../../lib/fdstream.ts";
import { nonblocking } from "../../lib/reactor.ts";
import { asSyscallError, SyscallError } from "../../ffi/error.ts";
import { decodeBytes, encodeText } from "../../ffi/bytes.ts";
import { errno, libc } from "../../ffi/libc.ts";

export { hostnameArgument, parseMount, shellHelp };

/** Where a session writes, and how it lends the terminal to programs. */
export interface ShellIo extends Io {
  /** Called before a program runs in the foreground (leave raw mode). */
  handOver?(): void;
  /** Called after it ended (enter raw mode again). */
  takeBack?(): void;
}

/** Where commands come from, for messages. */
export interface Origin {
  /** The file, `-c` or `-` (stdin); `undefined` when typed at the prompt. */
  readonly file?: string;
  /** The line the source starts on. */
  readonly firstLine?: number;
}

/** The commands the shell runs itself, with one line of help each. */
export { BUILTINS };

/** How deep functions may call each other: deeper is an error, not a stack overflow. */
const MAX_CALLS = 500;

/** A variable: its value (`undefined`: declared exported but unset) and whether programs get it. */
interface Var {
  readonly value: string | undefined;
  readonly exported: boolean;
}

/**
 * One level of the session: the host (or the context a script or subshell
 * started in), or a context the session made. Each has its own working
 * directory and variables, which end with it.
 */
interface Level {
  readonly context: Context | undefined;
  /** Whether this session made the context (and closes it). */
  readonly own: boolean;
  cwd: string;
  /** Variables set at this level; `null` unsets one of an outer level. */
  readonly vars: Map<string, Var | null>;
  /** What it made, for the prompt. */
  readonly made: string;
}

/** Options of a {@linkcode Session}. */
export interface SessionOptions {
  /** `$1`…: the script's arguments. */
  readonly args?: readonly string[];
  /** `$0`: the script's name. */
  readonly argv0?: string;
  /** Stop at the first failing command (`set -e`). */
  readonly errexit?: boolean;
  /** The context a script or subshell starts in: not its own to close. */
  readonly base?: Context | undefined;
  /** The working directory it starts in. */
  readonly cwd?: string;
  /** Variables it starts with (`undefined` unsets; all exported). */
  readonly vars?: ReadonlyMap<string, string | undefined>;
  /** Whether it reads commands from a terminal (job control, notices). */
  readonly interactive?: boolean;
}

/** What a subshell takes from its parent. */
interface Inherited {
  readonly vars: Map<string, Var | null>;
  readonly functions: Map<string, FunctionDef>;
  readonly options: Options;
  readonly status: number;
  readonly lastBackground: number | undefined;
  readonly readonly: Set<string>;
  readonly limits: Map<keyof typeof RLIMIT, Limit>;
  readonly getopts: GetoptsState;
}

/** A command's standard streams, and what the shell opened for it (closed after it). */
interface Redirected {
  readonly fds: Fds;
  readonly owned: number[];
}

/** Builtins that only print or only act on the session's jobs: `save` leaves them out. */
const NOT_SAVED = new Set(["save", "help", "pwd", "jobs", "fg", "bg", "wait", "kill"]);

/** An nsh shell session. */
export class Session {
  readonly #io: ShellIo;
  readonly #levels: Level[];
  readonly #functions: Map<string, FunctionDef>;
  readonly #log: string[] = [];
  readonly #jobs = new Jobs();
  /** The variables `readonly` marked. */
  readonly #readonly: Set<string>;
  /** What `trap` set: the action of EXIT and of signals (by name without SIG). */
  readonly #traps = new Map<string, string>();
  /**
   * Signals (by name without SIG) this shell's programs start with ignored
   * whatever its traps say, as a shell that started with them ignored: the
   * parent's, and SIGINT and SIGQUIT in a background job of a shell without
   * job control, as in sh.
   */
  #ignoredOnEntry: ReadonlySet<string> = new Set();
  readonly #trapListeners = new Map<string, () => void>();
  /** Signals that came, whose traps run after the command that runs. */
  readonly #pendingTraps: string[] = [];
  /** The limits `ulimit` changed, which the programs started here get. */
  readonly #limits: Map<keyof typeof RLIMIT, Limit>;
  readonly #getopts: GetoptsState;
  /** The streams `exec` redirected, for the shell's later commands, and the descriptors it opened for them. */
  readonly #execFds = new Map<number, number | undefined>();
  readonly #execOwned: number[] = [];
  /** Changes when `exec` redirects: the lists that run see it after each command. */
  #execGeneration = 0;
  /** The streams this (sub)shell runs with, for its traps. */
  #runFds = new Fds();
  #sourceDepth = 0;
  /** The variables `local` made, per function call, and what they were. */
  readonly #localFrames: { level: Level; saved: Map<string, { had: boolean; value: Var | null | undefined }> }[] = [];
  readonly #interactive: boolean;
  /** The options `set` changes. */
  readonly options: Options;
  /** The status of the last command (`$?`). */
  status = 0;
  /** `$1`…: the script's arguments. */
  args: readonly string[];
  /** `$0`: the script's name. */
  argv0: string;
  /** Set by `exit` at the top level (or a failure under `set -e`): the shell should end with this status. */
  exitStatus: number | undefined;
  #lastBackground: number | undefined;
  /** The status of the last command substitution, for a command of assignments only. */
  #substStatus: number | undefined;
  /** Whether the session said why the last command failed (then `set -e` adds nothing). */
  #reported = false;
  #loops = 0;
  #functionDepth = 0;
  /** The children this session started, to know what a job runs. */
  #onChild: ((child: Child) => void) | undefined;
  /**
   * Job control at a terminal: the process group of the job that runs, as
   * the code of each job sees it across its awaits (a loop that `fg`
   * resumed goes on in its group whatever the prompt ran meanwhile).
   */
  #groups: { getStore(): Group | undefined; run<T>(group: Group, f: () => T): T } | undefined;

  /**
   * Creates a session.
   *
   * @param io Where to write.
   * @param options Script arguments, whether to stop at the first failure,
   *   and, for a script that `run` starts in a context, that context, the
   *   working directory and the variables it starts with.
   */
  constructor(io: ShellIo, options: SessionOptions = {}, inherited?: Inherited) {
    this.#io = io;
    this.args = options.args ?? [];
    this.argv0 = options.argv0 ?? "nsh";
    this.#interactive = options.interactive ?? false;
    const vars = inherited?.vars ?? new Map<string, Var | null>();
    for (const [k, v] of options.vars ?? []) vars.set(k, v === undefined ? null : { value: v, exported: true });
    this.#levels = [{ context: options.base, own: false, cwd: options.cwd ?? Deno.cwd(), vars, made: "" }];
    this.#functions = inherited?.functions ?? new Map();
    this.options = inherited?.options ?? { errexit: options.errexit ?? false, nounset: false, pipefail: false };
    if (inherited) {
      this.status = inherited.status;
      this.#lastBackground = inherited.lastBackground;
    }
    this.#readonly = inherited?.readonly ?? new Set();
    this.#limits = inherited?.limits ?? new Map();
    this.#getopts = inherited?.getopts ?? { optind: undefined, offset: 0 };
  }

  /**
   * Turns job control on, for a shell at a terminal: each pipeline is a job
   * with a process group of its own, which gets the terminal; Ctrl-Z stops
   * it and gives the prompt back; `jobs`, `fg`, `bg` and `kill %N` act on
   * jobs. (It loads node:async_hooks, which only the REPL pays for.)
   */
  async enableJobControl(): Promise<void> {
    const { AsyncLocalStorage } = await import("node:async_hooks");
    this.#groups = new AsyncLocalStorage<Group>();
  }

  /** `set -e`. */
  get errexit(): boolean {
    return this.options.errexit;
  }

  set errexit(value: boolean) {
    this.options.errexit = value;
  }

  get #level(): Level {
    return this.#levels.at(-1)!;
  }

  /** The innermost context, or `undefined` at the host. */
  get context(): Context | undefined {
    return this.#level.context;
  }

  /** How many contexts this session made and still has open. */
  get depth(): number {
    return this.#levels.length - 1;
  }

  /** The commands that succeeded, as typed, for `save`. */
  get log(): readonly string[] {
    return this.#log;
  }

  /**
   * The prompt: `nsh> ` at the host, `nsh[mnt pid user]> ` in a context,
   * `nsh[mnt pid user > uts]> ` in a context made in it: the namespaces each
   * level made (or joined); `nsh[web]> ` in a shell that `nsh enter web`
   * started there.
   */
  prompt(color = false): string {
    const base = this.#levels[0]!.context;
    const shown = base && this.#interactive ? this.#levels : this.#levels.slice(1);
    const where = shown.map((l) => l.made || l.context!.name || l.context!.types.join(" ") || "joined").join(" > ");
    const text = where ? `nsh[${where}]> ` : "nsh> ";
    return color ? `\x1b[1;${where ? "36" : "32"}m${text.trimEnd()}\x1b[0m ` : text;
  }

  /** The working directory programs get, as seen in the current context. */
  get cwd(): string {
    return this.#level.cwd;
  }

  /** The path by which nsh reaches a file that programs here name `path`. */
  #hostPath(path: string): string {
    const absolute = path.startsWith("/") ? path : `${this.cwd.replace(/\/$/, "")}/${path}`;
    return this.context ? this.context.hostPath(absolute) : absolute;
  }

  /** Files as programs here see them: for globs and redirections, opened with the ids programs here have. */
  #files(): FileView {
    const context = this.context;
    return { cwd: this.cwd, hostPath: (path) => this.#hostPath(path), programIds: () => context?.programIds() };
  }

  // --- variables ---------------------------------------------------------

  #lookup(name: string): Var | undefined {
    for (let i = this.#levels.length - 1; i >= 0; i--) {
      const v = this.#levels[i]!.vars.get(name);
      if (v === null) return undefined;
      if (v !== undefined) return v;
    }
    const env = Deno.env.get(name);
    return env === undefined ? undefined : { value: env, exported: true };
  }

  #get(name: string): string | undefined {
    return this.#lookup(name)?.value;
  }

  #set(name: string, value: string | undefined, exported?: boolean): void {
    if (this.#readonly.has(name)) throw new ValueError(name, "is read only", 2);
    const was = this.#lookup(name);
    const v = { value, exported: exported ?? was?.exported ?? false };
    this.#level.vars.set(name, v);
    // A context's own variables are its: one joined from elsewhere (enter NAME) sees them.
    if (v.exported) this.#owned()?.vars.set(name, value);
  }

  /** The context of the current level, when this session made or joined it (not a subshell's base). */
  #owned(): Context | undefined {
    const level = this.#level;
    return level.own ? level.context : undefined;
  }

  /** Enters a context this session made or joined: a level of its own, with the context's directory and variables. */
  #push(context: Context, cwd: string, made: string): void {
    const vars = new Map<string, Var | null>();
    for (const [k, v] of context.vars) vars.set(k, v === undefined ? null : { value: v, exported: true });
    this.#levels.push({ context, own: true, cwd, vars, made });
    if (context.cwd !== cwd) context.cwd = cwd;
  }

  /** Every variable visible here, the innermost winning, with the environment's. */
  #visible(): Map<string, Var> {
    const all = new Map<string, Var>();
    for (const [k, v] of Object.entries(Deno.env.toObject())) all.set(k, { value: v, exported: true });
    for (const level of this.#levels) {
      for (const [k, v] of level.vars) v === null ? all.delete(k) : all.set(k, v);
    }
    return all;
  }

  /** The environment of programs, or `undefined` when it is this process's, unchanged. */
  #programEnv(): Record<string, string> | undefined {
    let changed = false;
    for (const level of this.#levels) {
      for (const v of level.vars.values()) {
        if (v === null || v.exported) changed = true;
      }
    }
    if (!changed) return undefined;
    const env: Record<string, string> = {};
    for (const [k, v] of this.#visible()) if (v.exported && v.value !== undefined) env[k] = v.value;
    return env;
  }

  #scope(fds: Fds): Scope {
    return {
      get: (name) => this.#get(name),
      set: (name, value) => this.#set(name, value),
      args: this.args,
      argv0: this.argv0,
      status: this.status,
      pid: Deno.pid,
      ...(this.#lastBackground === undefined ? {} : { lastBackground: this.#lastBackground }),
      flags: (this.options.errexit ? "e" : "") + (this.options.nounset ? "u" : ""),
      nounset: this.options.nounset,
      substitute: (body) => this.#substitute(body, fds),
      files: this.#files(),
      home: (user) => homeOf(user),
    };
  }

  // --- running -------------------------------------------------------------

  /**
   * Runs source text: one or many commands. Parse errors and failing
   * commands print one line; in a script (errexit) the first failure stops it.
   *
   * @param source The text.
   * @param origin Where it comes from.
   * @returns The status of the last command run.
   */
  async runSource(source: string, origin: Origin = {}): Promise<number> {
    let list: List;
    try {
      list = parse(source, { firstLine: origin.firstLine ?? 1 });
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      await this.#report(origin.file ? `${origin.file}:${error.message}` : `nsh: ${error.message}`, this.#shellFds());
      this.status = 2;
      // A syntax error ends a non-interactive shell, as in sh.
      if (origin.file !== undefined) this.exitStatus ??= 2;
      return this.status;
    }
    return await this.runCommands(list, origin);
  }

  /**
   * Runs parsed commands, as {@linkcode Session.runSource} does.
   *
   * @param list The commands.
   * @param origin Where they come from.
   * @returns The status of the last command run.
   */
  async runCommands(list: List, origin: Origin = {}): Promise<number> {
    const saved = this.#origin;
    this.#origin = origin;
    // Ctrl-C from here on stops what this line runs.
    if (this.#groups) interrupts.seen = interrupts.count;
    try {
      for (const item of list) {
        this.#reported = false;
        this.status = await this.#item(item, this.#shellFds(), false);
        if (this.#pendingTraps.length) await this.#runPendingTraps();
        if (this.status === 0 && this.#saves(item.command)) {
          this.#log.push(loggedText(item.command) + (item.background ? " &" : ""));
        }
      }
    } catch (error) {
      if (error instanceof Interrupted) {
        // The rest of the line is not run; the prompt comes back.
        this.status = 128 + SIGINT;
      } else {
        if (!(error instanceof ShellExit)) throw error;
        this.status = error.status;
        this.exitStatus = error.status;
      }
    } finally {
      this.#origin = saved;
    }
    // Before the next prompt, not between the line's commands: the jobs that ended.
    if (this.#interactive) this.#notify();
    return this.status;
  }

  /** Whether Ctrl-C stops what runs here: at a terminal, in the foreground, once it was typed. */
  #checkInterrupt(): void {
    if (!this.#groups || interrupts.count === interrupts.seen) return;
    const group = this.#groups.getStore();
    if (group && !group.foreground) return;
    throw new Interrupted();
  }

  #origin: Origin = {};

  /** Whether `save` keeps a command: not one that reads `$?`, nor a builtin that only prints. */
  #saves(command: AndOr): boolean {
    if (/\$\{?[?!]/.test(command.text)) return false;
    const pipelines = [command.first, ...command.rest.map((r) => r.pipeline)];
    if (pipelines.length !== 1 || command.first.commands.length !== 1) return true;
    const only = command.first.commands[0]!;
    if (only.kind !== "simple") return true;
    const name = only.words[0]?.text;
    if (name === undefined) return true;
    if (NOT_SAVED.has(name) || BUILTINS[name]?.quiet) return false;
    // Those that print when given nothing.
    return !(["export", "set", "mount", "hostname"].includes(name) && only.words.length === 1);
  }

  /**
   * Says a message of the shell or of a command on the standard error of
   * `fds`: where the command's redirections (and `exec`'s) send it, as sh's
   * messages go. A message that cannot be written is lost, as in sh.
   */
  async #report(text: string, fds: Fds): Promise<void> {
    this.#reported = true;
    try {
      await this.#write(fds, 2, text.endsWith("\n") ? text : text + "\n");
    } catch (error) {
      if (!(error instanceof BrokenPipe || error instanceof SyscallError)) throw error;
    }
  }

  /** The streams of the shell itself: those it runs with, and what `exec` redirected. */
  #shellFds(): Fds {
    return this.#standing(this.#runFds);
  }

  /**
   * Reports an error of a command as the shell reports it: `FILE:LINE: ...`
   * in a script, `nsh: ...` at the prompt, on the standard error of `fds`
   * (the command's, once its redirections are open).
   */
  async #fail(error: unknown, name: string, line: number, fds: Fds): Promise<number> {
    if (
      error instanceof ShellExit || error instanceof LoopControl || error instanceof FunctionReturn ||
      error instanceof Interrupted
    ) {
      throw error;
    }
    if (error instanceof BrokenPipe) return 128 + SIGPIPE;
    let text: string;
    if (
      error instanceof SyscallError && error.syscall === "execve" && error.code === "ENOENT" && !name.includes("/")
    ) {
      text = `nsh: ${name}: command not found`;
    } else if (error instanceof UsageError && (isCommand(error.command) || isBuiltin(error.command))) {
      // In the shell, a command's help is `NAME --help`, a builtin's `help NAME`.
      const hint = isBuiltin(error.command) ? `help ${error.command}` : `${error.command} --help`;
      text = `nsh ${error.command}: ${error.message}${error.help ? `\nTry '${hint}' for more information.` : ""}`;
    } else if (error instanceof ExpansionError || error instanceof RedirectError) {
      text = `nsh: ${error.message}`;
    } else {
      text = describeError(isCommand(name) || isBuiltin(name) ? name : "", error);
    }
    const file = this.#origin.file;
    if (file !== undefined) {
      text = text.replace(/^nsh:? ?/, "");
      text = text.split("\n").map((l, i) => i === 0 ? `${file}:${line}: ${l}` : l).join("\n");
    }
    if (text) await this.#report(text, fds);
    if (error instanceof ExpansionError) {
      // As sh: a failed expansion ends a non-interactive shell.
      if (!this.#interactive) throw new ShellExit(2);
      return 2;
    }
    if (error instanceof RedirectError) return 2;
    return exitStatusOf(error);
  }

  /**
   * `set -e`: a command that failed outside a condition ends the shell,
   * saying where, unless it said why itself (or a closed pipe ended it).
   */
  async #check(status: number, tested: boolean, name: string, line: number, fds: Fds): Promise<void> {
    const pending = this.#pending;
    this.#pending = undefined;
    if (status === 0 || tested || !this.options.errexit) return;
    const file = this.#origin.file;
    let message = pending;
    if (message === undefined && file !== undefined && !this.#reported && status !== 128 + SIGPIPE) {
      const what = status > 128 ? `was ended by signal ${status - 128}` : `exited with status ${status}`;
      message = `${file}:${line}: ${name} ${what}`;
    }
    // A subshell's (or a substitution's) line waits for its parent: said
    // when the parent ends too, not when a condition tested the status.
    if (this.#isSubshell) this.#pending = message;
    else if (message !== undefined) await this.#report(message, fds);
    throw new ShellExit(status);
  }

  /** The line of a subshell's `set -e` failure, not yet said: see {@linkcode Session.#check}. */
  #pending: string | undefined;
  #isSubshell = false;

  /** Takes on what a subshell that ended with `status` did not say yet. */
  #after(sub: Session, status: number): void {
    this.#pending = status !== 0 ? sub.#pending : undefined;
  }

  async #list(list: List, fds: Fds, tested: boolean): Promise<number> {
    let status = 0;
    let streams = fds;
    for (const item of list) {
      const generation = this.#execGeneration;
      status = this.status = await this.#item(item, streams, tested);
      this.#checkInterrupt();
      // `exec >file` redirected the shell: what follows writes there.
      if (this.#execGeneration !== generation) streams = this.#standing(streams);
      if (this.#pendingTraps.length) await this.#runPendingTraps();
    }
    return status;
  }

  /** The streams with what `exec` redirected in their place. */
  #standing(fds: Fds): Fds {
    let out = fds;
    for (const [n, fd] of this.#execFds) out = out.with(n, fd);
    return out;
  }

  /** `exec` without a program: the streams its redirections changed stay so. */
  #keepRedirections(before: Fds, after: Fds, owned: number[]): void {
    for (const n of [0, 1, 2]) if (after.get(n) !== before.get(n)) this.#execFds.set(n, after.get(n));
    this.#execOwned.push(...owned.splice(0));
    // What no stream uses any more is closed.
    const used = new Set(this.#execFds.values());
    for (const fd of [...this.#execOwned]) {
      if (!used.has(fd)) {
        closeAll(fd);
        this.#execOwned.splice(this.#execOwned.indexOf(fd), 1);
      }
    }
    this.#execGeneration++;
  }

  // --- traps ---------------------------------------------------------------

  #setTrap(condition: string, action: string | undefined): void {
    const old = this.#trapListeners.get(condition);
    if (old) Deno.removeSignalListener(`SIG${condition}` as Deno.Signal, old);
    if (old) foreground.trapped.delete(`SIG${condition}`);
    this.#trapListeners.delete(condition);
    if (action === undefined) {
      this.#traps.delete(condition);
      return;
    }
    this.#traps.set(condition, action);
    // A subshell is no process of its own here: a signal sent to $$ is for the shell, as in sh.
    if (condition === "EXIT" || this.#isSubshell) return;
    const listener = () => void this.#pendingTraps.push(condition);
    try {
      Deno.addSignalListener(`SIG${condition}` as Deno.Signal, listener);
      this.#trapListeners.set(condition, listener);
      foreground.trapped.add(`SIG${condition}`);
    } catch {
      // KILL and STOP cannot be caught (dash takes them and nothing happens).
    }
  }

  /** The signals programs started here start with ignored (`trap '' SIG`), as `ignoreSignals()` names them. */
  #ignoredSignals(): Deno.Signal[] {
    const names = new Set(this.#ignoredOnEntry);
    for (const [condition, action] of this.#traps) if (action === "" && condition !== "EXIT") names.add(condition);
    return [...names].map((name) => `SIG${name}` as Deno.Signal);
  }

  #trapList(): [string, string][] {
    const order = (c: string) => c === "EXIT" ? 0 : signalNumber(`SIG${c}`) ?? 99;
    return [...this.#traps].sort(([a], [b]) => order(a) - order(b));
  }

  /** Runs the traps of the signals that came, after the command that was running. */
  async #runPendingTraps(): Promise<void> {
    while (this.#pendingTraps.length) {
      const action = this.#traps.get(this.#pendingTraps.shift()!);
      if (action) await this.#runTrap(action);
    }
  }

  /** Runs a trap's action: `$?` is as it was after it, unless it exits. */
  async #runTrap(action: string): Promise<void> {
    let list: List;
    try {
      list = parse(action);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      await this.#report(`nsh: trap: ${error.message}`, this.#shellFds());
      return;
    }
    const saved = this.status;
    await this.#list(list, this.#standing(this.#runFds), false);
    this.status = saved;
  }

  /** Runs the EXIT trap, once: its `exit` sets the shell's status. */
  async #exitTrap(): Promise<void> {
    const action = this.#traps.get("EXIT");
    if (action === undefined) return;
    this.#traps.delete("EXIT");
    this.status = this.exitStatus ?? this.status;
    try {
      if (action) await this.#runTrap(action);
    } catch (error) {
      if (!(error instanceof ShellExit)) throw error;
      this.exitStatus = this.status = error.status;
    }
  }

  /**
   * Ends the shell's commands: runs the EXIT trap (`trap … EXIT`).
   *
   * @returns The status the shell ends with.
   */
  async finish(): Promise<number> {
    await this.#exitTrap();
    return this.exitStatus ?? this.status;
  }

  async #item(item: List[number], fds: Fds, tested: boolean): Promise<number> {
    if (item.background) return await this.#background(item.command, fds);
    return await this.#andOr(item.command, fds, tested);
  }

  async #andOr(command: AndOr, fds: Fds, tested: boolean): Promise<number> {
    const rest = command.rest;
    let status = this.status = await this.#pipeline(command.first, fds, tested || rest.length > 0);
    for (const [i, { op, pipeline }] of rest.entries()) {
      this.#checkInterrupt();
      if ((op === "&&") !== (status === 0)) continue;
      status = this.status = await this.#pipeline(pipeline, fds, tested || i < rest.length - 1);
    }
    return status;
  }

  async #pipeline(p: Pipeline, fds: Fds, tested: boolean): Promise<number> {
    if (this.#groups && !this.#groups.getStore()) return await this.#job(p, fds, tested);
    return await this.#pipelineNow(p, fds, tested);
  }

  /**
   * A pipeline at a terminal: a job in the foreground, its programs in a
   * process group that gets the terminal. When one of them stops (Ctrl-Z),
   * the prompt comes back with status 148 and the job waits in the table.
   */
  async #job(p: Pipeline, fds: Fds, tested: boolean): Promise<number> {
    const group = new Group(true);
    const unwatch = group.watch();
    this.#io.handOver?.();
    try {
      const running = this.#groups!.run(group, () => this.#pipelineNow(p, fds, tested));
      const outcome = await Promise.race([running.then((status) => ({ status })), group.stopped]);
      if (outcome) return outcome.status;
      const job = this.#jobs.add(p.text, running.catch((error) => error instanceof ShellExit ? error.status : 1));
      job.group = group;
      job.pgid = group.pgid;
      job.stopped = true;
      job.children.push(...group.children);
      this.#io.err(`\n[${job.id}]+  ${"Stopped".padEnd(24)}${job.text}\n`);
      return 128 + SIGTSTP;
    } finally {
      unwatch();
      this.#io.takeBack?.();
    }
  }

  async #pipelineNow(p: Pipeline, fds: Fds, tested: boolean): Promise<number> {
    const inner = tested || p.negate;
    let status: number;
    if (p.commands.length === 1) {
      status = await this.#command(p.commands[0]!, fds, inner);
    } else {
      status = await this.#pipe(p, fds);
      await this.#check(status, inner, commandName(p.commands.at(-1)!), p.start.line, fds);
    }
    return p.negate ? (status === 0 ? 1 : 0) : status;
  }

  /** A pipeline of several commands: each a subshell, connected by pipes, all running at once. */
  async #pipe(p: Pipeline, fds: Fds): Promise<number> {
    const n = p.commands.length;
    const pipes: [number, number][] = [];
    try {
      for (let i = 0; i < n - 1; i++) pipes.push(pipe());
    } catch (error) {
      closeAll(...pipes.flat());
      return await this.#fail(error, "", p.start.line, fds);
    }
    const stages = p.commands.map((command, i) => {
      let io = fds;
      const owned: number[] = [];
      if (i > 0) {
        io = io.with(0, pipes[i - 1]![0]);
        owned.push(pipes[i - 1]![0]);
      }
      if (i < n - 1) {
        io = io.with(1, pipes[i]![1]);
        if (p.pipeStderr[i]) io = io.with(2, pipes[i]![1]);
        owned.push(pipes[i]![1]);
      }
      return this.#stage(command, io, owned);
    });
    const statuses = await Promise.all(stages);
    if (this.options.pipefail) return statuses.findLast((s) => s !== 0) ?? 0;
    return statuses.at(-1)!;
  }

  /** One stage of a pipeline, in a subshell that owns its pipe ends and closes them when it no longer needs them. */
  async #stage(command: Command, fds: Fds, owned: number[]): Promise<number> {
    const sub = this.#subshell();
    let released = false;
    const release = () => {
      if (!released) closeAll(...owned);
      released = true;
    };
    try {
      return await sub.#run(
        [{ command: single(command), background: false }],
        fds,
        command.kind === "simple" ? release : undefined,
      );
    } finally {
      release();
    }
  }

  /**
   * Runs a list in this subshell session, then closes what it made. `exit`
   * and a failure under `set -e` end the subshell only.
   */
  async #run(list: List, fds: Fds, release?: () => void): Promise<number> {
    this.#release = release;
    this.#runFds = fds;
    // Its umask is its own, as a forked sh's.
    const mask = Deno.umask();
    try {
      try {
        this.status = await this.#list(list, fds, false);
      } catch (error) {
        if (error instanceof ShellExit) this.exitStatus = this.status = error.status;
        else if (error instanceof BrokenPipe) this.status = 128 + SIGPIPE;
        // The parent, which runs in the foreground too, stops after it.
        else if (error instanceof Interrupted) this.status = 128 + SIGINT;
        else throw error;
      }
      return await this.finish();
    } finally {
      Deno.umask(mask);
      await this.close();
    }
  }

  /** Closes the pipe ends of a stage once its one program has them (they would keep the pipe open). */
  #release: (() => void) | undefined;

  #subshell(): Session {
    const vars = new Map<string, Var | null>();
    for (const level of this.#levels) for (const [k, v] of level.vars) vars.set(k, v);
    const sub = new Session(this.#io, {
      args: this.args,
      argv0: this.argv0,
      base: this.context,
      cwd: this.cwd,
    }, {
      vars,
      functions: new Map(this.#functions),
      options: { ...this.options },
      status: this.status,
      lastBackground: this.#lastBackground,
      readonly: new Set(this.#readonly),
      limits: new Map(this.#limits),
      getopts: { ...this.#getopts },
    });
    sub.#origin = this.#origin;
    sub.#onChild = this.#onChild;
    sub.#groups = this.#groups;
    sub.#functionDepth = this.#functionDepth;
    sub.#isSubshell = true;
    // Signals ignored stay ignored in a subshell, as in sh; the traps that run code do not.
    for (const [condition, action] of this.#traps) {
      if (action === "" && condition !== "EXIT") sub.#traps.set(condition, "");
    }
    sub.#ignoredOnEntry = this.#ignoredOnEntry;
    return sub;
  }

  async #command(command: Command, fds: Fds, tested: boolean): Promise<number> {
    if (command.kind === "simple") return await this.#simple(command, fds, tested);
    if (command.kind === "function") {
      this.#functions.set(command.name, command);
      return 0;
    }
    let redirected: Redirected;
    try {
      redirected = await this.#redirect(command.redirects, fds);
    } catch (error) {
      const status = await this.#fail(error, "", command.start.line, fds);
      await this.#check(status, tested, commandName(command), command.start.line, fds);
      return status;
    }
    try {
      return await this.#compound(command, redirected.fds, tested);
    } finally {
      closeAll(...redirected.owned);
    }
  }

  async #compound(command: Exclude<Command, SimpleCommand | FunctionDef>, fds: Fds, tested: boolean): Promise<number> {
    switch (command.kind) {
      case "group":
        return await this.#list(command.body, fds, tested);
      case "subshell": {
        const sub = this.#subshell();
        const status = await sub.#run(command.body, fds);
        if (status !== 0 && sub.#reported) this.#reported = true;
        this.#after(sub, status);
        await this.#check(status, tested, "subshell", command.start.line, fds);
        return status;
      }
      case "if": {
        for (const clause of command.clauses) {
          if (await this.#list(clause.test, fds, true) === 0) return await this.#list(clause.body, fds, tested);
        }
        return command.otherwise ? await this.#list(command.otherwise, fds, tested) : 0;
      }
      case "while":
      case "until": {
        let status = 0;
        this.#loops++;
        try {
          for (;;) {
            const test = await this.#list(command.test, fds, true);
            if ((test === 0) !== (command.kind === "while")) break;
            const next = await this.#loopBody(command.body, fds, tested);
            if (next.status !== undefined) status = next.status;
            if (next.exit) break;
          }
        } finally {
          this.#loops--;
        }
        return status;
      }
      case "for": {
        let words: readonly string[];
        try {
          words = command.words ? await expandWords(command.words, this.#scope(fds)) : this.args;
        } catch (error) {
          return await this.#fail(error, "for", command.start.line, fds);
        }
        let status = 0;
        this.#loops++;
        try {
          for (const word of words) {
            this.#set(command.name, word);
            const next = await this.#loopBody(command.body, fds, tested);
            if (next.status !== undefined) status = next.status;
            if (next.exit) break;
          }
        } finally {
          this.#loops--;
        }
        return status;
      }
      case "case": {
        try {
          const scope = this.#scope(fds);
          const word = await expandWord(command.word, scope);
          for (const item of command.items) {
            for (const pattern of item.patterns) {
              if (matches(await expandPattern(pattern, scope), word)) return await this.#list(item.body, fds, tested);
            }
          }
        } catch (error) {
          if (!(error instanceof ExpansionError)) throw error;
          return await this.#fail(error, "case", command.start.line, fds);
        }
        return 0;
      }
    }
  }

  /** When the loops of this process last let the event loop run. */
  static #yielded = performance.now();

  /**
   * One round of a loop's body; `break` and `continue` end it. A loop of
   * builtins never waits for a program: every 20 ms it lets the event loop
   * run (signals, jobs, pipes), and Ctrl-C at a terminal ends it.
   */
  async #loopBody(body: List, fds: Fds, tested: boolean): Promise<{ status?: number; exit: boolean }> {
    if (performance.now() - Session.#yielded > 20) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      Session.#yielded = performance.now();
    }
    this.#checkInterrupt();
    try {
      return { status: await this.#list(body, fds, tested), exit: false };
    } catch (error) {
      if (!(error instanceof LoopControl)) throw error;
      if (error.levels > 1) throw new LoopControl(error.kind, error.levels - 1);
      return { exit: error.kind === "break" };
    }
  }

  async #simple(command: SimpleCommand, fds: Fds, tested: boolean): Promise<number> {
    const line = command.start.line;
    let name = "";
    let status: number;
    try {
      this.#substStatus = undefined;
      const scope = this.#scope(fds);
      const argv = await expandWords(command.words, scope);
      // A substitution that Ctrl-C stopped: the command does not run.
      this.#checkInterrupt();
      name = argv[0] ?? "";
      if (!argv.length) {
        for (const a of command.assigns) this.#set(a.name, await expandWord(a.value, scope, true));
        const redirected = await this.#redirect(command.redirects, fds);
        closeAll(...redirected.owned);
        status = this.#substStatus ?? 0;
      } else {
        const assigns: [string, string][] = [];
        for (const a of command.assigns) assigns.push([a.name, await expandWord(a.value, scope, true)]);
        status = await this.#dispatch(argv as [string, ...string[]], assigns, command.redirects, fds, line);
      }
    } catch (error) {
      status = await this.#fail(error, name, line, fds);
    }
    await this.#check(status, tested, command.words[0]?.text ?? name, line, fds);
    return status;
  }

  /**
   * Runs a command once its words are expanded: a function, a builtin,
   * nsh's command or a program, with its redirections open. What it reports
   * when it fails goes where they send its standard error, as in sh; with
   * no `line`, its errors are its caller's to report (`command NAME`).
   */
  async #dispatch(
    argv: [string, ...string[]],
    assigns: readonly [string, string][],
    redirects: readonly Redirect[],
    fds: Fds,
    line: number | undefined,
    functions = true,
  ): Promise<number> {
    const [name, ...args] = argv;
    // Only the program a stage's command names may close the stage's pipe ends early.
    const release = this.#release;
    this.#release = undefined;
    const fn = functions ? this.#functions.get(name) : undefined;
    const builtin = Object.hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined;
    const program = !fn && !builtin && !Object.hasOwn(CONTEXT_COMMANDS, name) && !isCommand(name);
    const redirected = await this.#redirect(redirects, fds);
    // Assignments before a builtin or function last for it only, but before a special builtin.
    const special = builtin?.special ?? false;
    let restore: (() => void) | undefined;
    try {
      if (program) {
        // A program: its assignments are its environment.
        let env = this.#programEnv();
        if (assigns.length) {
          env ??= Deno.env.toObject();
          for (const [k, v] of assigns) env[k] = v;
        }
        return await this.#program(this.#sandbox(), argv, env, redirected.fds, redirected.owned, release);
      }
      if (special) { for (const [k, v] of assigns) this.#set(k, v); }
      else restore = this.#assignFor(assigns);
      if (fn) return await this.#call(fn, args, redirected.fds);
      if (builtin) {
        const keep = () => this.#keepRedirections(fds, redirected.fds, redirected.owned);
        return await this.#builtin(name, builtin, args, redirected.fds, keep);
      }
      if (Object.hasOwn(CONTEXT_COMMANDS, name)) return await this.#contextCommand(name, args, redirected.fds);
      return await this.#nshCommand(name, args, redirected.fds);
    } catch (error) {
      if (line === undefined) throw error;
      return await this.#fail(error, name, line, redirected.fds);
    } finally {
      restore?.();
      closeAll(...redirected.owned);
    }
  }

  /** Sets variables for one command; returns what puts them back. */
  #assignFor(assigns: readonly [string, string][]): (() => void) | undefined {
    if (!assigns.length) return undefined;
    const vars = this.#level.vars;
    const before = assigns.map(([k]) => [k, vars.has(k), vars.get(k)] as const);
    for (const [k, v] of assigns) this.#set(k, v, true);
    return () => {
      for (const [k, had, v] of before) had ? vars.set(k, v!) : vars.delete(k);
    };
  }

  async #call(fn: FunctionDef, args: readonly string[], fds: Fds): Promise<number> {
    if (this.#functionDepth >= MAX_CALLS) {
      throw new ValueError(fn.name, `functions call each other more than ${MAX_CALLS} deep`);
    }
    const saved = this.args;
    this.args = args;
    this.#functionDepth++;
    const loops = this.#loops;
    this.#loops = 0;
    const frame = { level: this.#level, saved: new Map<string, { had: boolean; value: Var | null | undefined }>() };
    this.#localFrames.push(frame);
    try {
      return await this.#command(fn.body, fds, false);
    } catch (error) {
      if (error instanceof FunctionReturn) return error.status;
      throw error;
    } finally {
      this.args = saved;
      this.#functionDepth--;
      this.#loops = loops;
      this.#localFrames.pop();
      // The function's own variables are put back as they were.
      for (const [name, { had, value }] of frame.saved) {
        had ? frame.level.vars.set(name, value!) : frame.level.vars.delete(name);
      }
    }
  }

  /** `local NAME[=VALUE]`: saved in the frame of the function that runs, set when a value is given. */
  #makeLocal(name: string, value: string | undefined): void {
    const frame = this.#localFrames.at(-1)!;
    if (!frame.saved.has(name)) {
      const vars = frame.level.vars;
      frame.saved.set(name, { had: vars.has(name), value: vars.get(name) });
    }
    if (value !== undefined) this.#set(name, value);
  }

  /** `.`: the commands of a file, run in this session; `return` ends them. */
  async #source(file: string, fds: Fds): Promise<number> {
    let path: string | undefined = file;
    // As dash: a name without a slash is looked for in PATH only.
    if (!file.includes("/")) path = this.#searchPath(file, (info) => info.isFile);
    if (path === undefined) throw new ValueError(".", `${file}: not found`, 2);
    let text: string;
    try {
      text = await readScript(this.#hostPath(path), file);
    } catch (error) {
      if (error instanceof SyscallError) {
        throw new ValueError(".", `cannot open ${file}: ${error.code === "ENOENT" ? "no such file" : error.code}`, 2);
      }
      throw error;
    }
    let list: List;
    try {
      list = parse(text);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      throw new ValueError(".", `${file}:${error.message}`, 2);
    }
    const savedOrigin = this.#origin;
    this.#origin = { file };
    this.#sourceDepth++;
    try {
      return await this.#list(list, fds, false);
    } catch (error) {
      if (error instanceof FunctionReturn) return error.status;
      throw error;
    } finally {
      this.#sourceDepth--;
      this.#origin = savedOrigin;
    }
  }

  /** `eval`: the text as commands of this session. */
  async #evaluate(text: string, fds: Fds): Promise<number> {
    let list: List;
    try {
      list = parse(text);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      throw new ValueError("eval", error.message, 2);
    }
    return await this.#list(list, fds, false);
  }

  /** The first file of that name in PATH (as programs here see it) that `accept` takes. */
  #searchPath(name: string, accept: (info: Deno.FileInfo) => boolean): string | undefined {
    for (const dir of (this.#get("PATH") ?? "").split(":")) {
      const path = `${dir || "."}/${name}`;
      try {
        if (accept(Deno.statSync(this.#hostPath(path)))) return path;
      } catch {
        // Not there.
      }
    }
    return undefined;
  }

  /** What a name runs, for `type` and `command -v`. */
  #lookupName(name: string): Lookup | undefined {
    if (RESERVED.has(name)) return { kind: "keyword" };
    if (this.#functions.has(name)) return { kind: "function" };
    if (isBuiltin(name)) return { kind: "builtin", special: BUILTINS[name]!.special ?? false };
    if (isCommand(name)) return { kind: "command" };
    const executable = (info: Deno.FileInfo) => info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
    if (!name.includes("/")) {
      const path = this.#searchPath(name, executable);
      return path === undefined ? undefined : { kind: "program", path };
    }
    try {
      return executable(Deno.statSync(this.#hostPath(name))) ? { kind: "program", path: name } : undefined;
    } catch {
      return undefined;
    }
  }

  /** Where the current context is, for builtins' checks. */
  #where(): Where {
    return { types: this.context ? this.context.types : undefined };
  }

  async #builtin(
    name: string,
    builtin: (typeof BUILTINS)[string],
    args: readonly string[],
    fds: Fds,
    keep?: () => void,
  ): Promise<number> {
    const request = builtin.parse(args, this.#where());
    try {
      return await builtin.run(request, this.#shell(fds, keep));
    } catch (error) {
      // The plan's checks of values (a hostname too long), as for one-shot commands.
      throw asValueError(name, error);
    }
  }

  /** What a builtin sees of this session, writing to its streams. */
  #shell(fds: Fds, keep?: () => void): Shell {
    // deno-lint-ignore no-this-alias
    const self = this;
    return {
      out: (text) => this.#write(fds, 1, text),
      err: (text) => this.#write(fds, 2, text),
      readLine: () => readLine(fds.real(0)),
      get context() {
        return self.context;
      },
      get cwd() {
        return self.cwd;
      },
      setCwd: (path) => {
        const old = this.cwd;
        this.#level.cwd = path;
        const owned = this.#owned();
        if (owned) owned.cwd = path;
        this.#set("OLDPWD", old);
        this.#set("PWD", path);
      },
      hostPath: (path) => this.#hostPath(path),
      getVar: (name) => this.#get(name),
      setVar: (name, value) => this.#set(name, value),
      unsetVar: (name) => {
        if (this.#readonly.has(name)) throw new ValueError("unset", `${name}: is read only`, 2);
        this.#level.vars.set(name, null);
        this.#owned()?.vars.set(name, undefined);
      },
      exportVar: (name, value) => this.#set(name, value ?? this.#get(name), true),
      exportedVars: () =>
        [...this.#visible()].filter(([, v]) => v.exported && v.value !== undefined).map(([k, v]) =>
          [k, v.value!] as [string, string]
        ).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0),
      allVars: () =>
        [...this.#visible()].filter(([, v]) => v.value !== undefined).map(([k, v]) => [k, v.value!] as [string, string])
          .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0),
      unsetFunction: (name) => this.#functions.delete(name),
      options: this.options,
      get args() {
        return self.args;
      },
      set args(value) {
        self.args = value;
      },
      get status() {
        return self.status;
      },
      enter: (context, made, cwd) => this.#push(context, cwd, made),
      leave: (status) => this.#leave(status),
      sandbox: () => this.#sandbox(),
      programEnv: () => this.#programEnv(),
      runProgram: (box, argv, env) => this.#program(box, argv, env ?? this.#programEnv(), fds, []),
      runScript: (file, args) => this.#runScript(file, args, fds),
      save: (file) => this.#save(file),
      jobs: () => this.#jobList(),
      wait: (ids) => this.#wait(ids),
      resume: (id, fg) => this.#resume(id, fg, fds),
      signal: (signo, targets) => this.#signal(signo, targets),
      get loops() {
        return self.#loops;
      },
      get inFunction() {
        return self.#functionDepth > 0;
      },
      get sourcing() {
        return self.#sourceDepth > 0;
      },
      source: (file) => this.#source(file, fds),
      evaluate: (text) => this.#evaluate(text, fds),
      exec: async (argv) => {
        throw new ShellExit(await this.#program(this.#sandbox(), argv, this.#programEnv(), fds, []));
      },
      keepRedirections: () => keep?.(),
      runCommand: ([name, ...args]) => this.#dispatch([name!, ...args], [], [], fds, undefined, false),
      lookup: (name) => this.#lookupName(name),
      setTrap: (condition, action) => this.#setTrap(condition, action),
      traps: () => this.#trapList(),
      setReadonly: (name, value) => {
        if (value !== undefined) this.#set(name, value);
        this.#readonly.add(name);
      },
      readonlyVars: () => [...this.#readonly].sort().map((name) => [name, this.#get(name)]),
      makeLocal: (name, value) => this.#makeLocal(name, value),
      getopts: this.#getopts,
      limit: (resource) => this.#limits.get(resource) ?? processLimits().get(resource)!,
      setLimit: (resource, limit) => void this.#limits.set(resource, limit),
    };
  }

  async #write(fds: Fds, n: 1 | 2, text: string): Promise<void> {
    const fd = fds.get(n);
    if (fd === undefined) {
      (n === 1 ? this.#io.out : this.#io.err)(text);
      return;
    }
    await writeFd(fd, encodeText(text));
  }

  async #leave(status: number): Promise<number> {
    if (this.#levels.length > 1) {
      const level = this.#levels.pop()!;
      // As `(exit 3)` in sh: leaving the context gives its status to what
      // follows, and a script that stops there says nothing more.
      await level.context?.close();
      this.#reported = true;
      return status;
    }
    throw new ShellExit(status);
  }

  /**
   * The sandbox programs run in: the current context's, in the current
   * directory. At the host the directory is set when the plan is made:
   * steps added after (a new root) may make it mean another one.
   */
  #sandbox(): Sandbox {
    const context = this.context;
    const box = context ? context.sandbox().workdir(this.cwd) : new Sandbox();
    // What `ulimit` set: in the program, right before it runs, not in nsh (whose Deno needs its threads and memory).
    const more: Step[] = [...this.#limits].map(([resource, l]) => steps.resourceLimit(resource, l.soft, l.hard));
    // What `trap ''` ignores, the program ignores too (execve keeps it so).
    const ignored = this.#ignoredSignals();
    if (ignored.length) more.push(steps.ignoreSignals(...ignored));
    return more.length ? box.with(...more) : box;
  }

  /**
   * Runs a program and waits for it: in the foreground, with signals passed
   * on. `owned` are descriptors only it needs: closed once it has them.
   */
  async #program(
    box: Sandbox,
    argv: readonly string[],
    env: Record<string, string> | undefined,
    fds: Fds,
    owned: number[],
    release?: () => void,
    forwardSignals = false,
  ): Promise<number> {
    const planned = planCommand(argv[0]!, box.steps);
    // At the host, programs start in the session's directory, unless they change root.
    const p = this.context || changesRoot(planned) ? planned : { ...planned, wd: planned.wd ?? this.cwd };
    // Under job control the job has the terminal; else the program gets it while it runs.
    // PID 1 of a new PID namespace stays in nsh's group: the kernel shields it
    // from the terminal's signals (Ctrl-Z too), and nsh, which gets them, ends it.
    const group = p.namespaces.includes("pid") ? undefined : this.#groups?.getStore();
    const terminal = !group && fds.get(0) === undefined && this.#io.handOver !== undefined;
    // A program in a session of its own is out of the terminal's reach: nsh passes Ctrl-C and Ctrl-\ on.
    const detached = p.actions.some((s) => s.kind === "new-session");
    foreground.enter();
    if (terminal) this.#io.handOver?.();
    let child: Child | undefined;
    try {
      const options = {
        argv,
        ...(env ? { env } : {}),
        stdin: fds.spec(0),
        stdout: fds.spec(1),
        stderr: fds.spec(2),
        fds: inheritedFds(),
      };
      child = group
        ? await group.join((pgid, terminal) => start(p, { ...options, job: { group: pgid, foreground: terminal } }))
        : await start(p, options);
      foreground.add(child, { interrupt: !forwardSignals && !detached, quit: !detached });
      this.#onChild?.(child);
      // The program has its copies: a pipe end held here would keep its pipe open.
      closeAll(...owned.splice(0));
      release?.();
      const status = await child.status;
      // Ctrl-C reached the job's programs, not nsh: the job stops as if nsh had got it, as in sh.
      if (status.signal === "SIGINT" && (group ? group.foreground : terminal)) interrupts.count++;
      group?.release();
      return foreground.statusOf(child, status.code, status.signal);
    } finally {
      if (child) foreground.remove(child);
      foreground.leave();
      if (terminal) this.#io.takeBack?.();
    }
  }

  // --- redirections --------------------------------------------------------

  /** Opens the files of redirections where the context sees them; returns the streams and what to close after. */
  async #redirect(list: readonly Redirect[], fds: Fds): Promise<Redirected> {
    const owned: number[] = [];
    let out = fds;
    try {
      for (const r of list) {
        const scope = this.#scope(out);
        if (r.fd > 2) throw new RedirectError(`cannot redirect descriptor ${r.fd}: nsh redirects 0, 1 and 2`);
        if (r.op === "<<" || r.op === "<<-") {
          const fd = textFd(await expandWord(r.target, scope));
          owned.push(fd);
          out = out.with(r.fd, fd);
          continue;
        }
        const target = await expandWord(r.target, scope);
        if (r.op === "<&" || r.op === ">&") {
          if (!/^[0-2]$/.test(target)) {
            throw new RedirectError(
              target === "-"
                ? `cannot close descriptor ${r.fd} (${r.op}-): nsh redirects it to a file or descriptor only`
                : `cannot redirect descriptor ${r.fd} to '${target}': nsh duplicates 0, 1 and 2`,
            );
          }
          out = out.with(r.fd, out.real(Number(target)));
          continue;
        }
        const mode: OpenMode = r.op === "<"
          ? "read"
          : r.op === "<>"
          ? "readwrite"
          : r.op === ">>" || r.op === "&>>"
          ? "append"
          : "write";
        const fd = openRedirect(target, mode, this.#files());
        owned.push(fd);
        out = out.with(r.op === "&>" || r.op === "&>>" ? 1 : r.fd, fd);
        if (r.op === "&>" || r.op === "&>>") out = out.with(2, fd);
      }
    } catch (error) {
      closeAll(...owned);
      if (error instanceof SyscallError) throw new RedirectError(lowerFirst(error.message), error);
      throw error;
    }
    return { fds: out, owned };
  }

  // --- substitution and background ----------------------------------------

  async #substitute(body: List, fds: Fds): Promise<string> {
    const [read, write] = pipe();
    nonblocking(read);
    const sub = this.#subshell();
    const output = drain([read], "the output of a command substitution");
    let status: number;
    try {
      status = await sub.#run(body, fds.with(1, write));
    } finally {
      closeAll(write);
    }
    const [bytes] = await output;
    this.#substStatus = status;
    if (status !== 0 && sub.#reported) this.#reported = true;
    this.#after(sub, status);
    return decodeBytes(bytes!);
  }

  /** `command &`: runs in a subshell, as a job; `$!` is its first program, once started. */
  async #background(command: AndOr, fds: Fds): Promise<number> {
    const sub = this.#subshell();
    // Without job control, Ctrl-C and Ctrl-\ are not for a job, as in sh: its programs ignore them.
    if (!this.#groups) sub.#ignoredOnEntry = new Set([...this.#ignoredOnEntry, "INT", "QUIT"]);
    // Without job control, a job reads nothing of the terminal, as in sh.
    let stdin: number | undefined;
    if (!this.#interactive && fds.get(0) === undefined) {
      stdin = libc().open(encodeText("/dev/null\0"), 0o2000000, 0);
    }
    const io = stdin === undefined ? fds : fds.with(0, stdin);
    // The job's programs, as they start.
    const children: Child[] = [];
    let started: () => void = () => {};
    const first = new Promise<void>((resolve) => started = resolve);
    sub.#onChild = (child) => {
      children.push(child);
      started();
    };
    // At a terminal, a job of its own: a process group that does not get the terminal.
    const group = this.#groups ? new Group(false) : undefined;
    const runJob = () => sub.#run([{ command, background: false }], io);
    const done = (group ? this.#groups!.run(group, runJob) : runJob()).finally(() => closeAll(stdin));
    const job = this.#jobs.add(command.text, done, children);
    job.group = group;
    // sh knows $! at once (fork); here the job's first program starts soon after.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([first, done.catch(() => {}), new Promise((r) => timer = setTimeout(r, 100))]);
    clearTimeout(timer);
    this.#lastBackground = job.pid;
    if (this.#interactive) this.#io.err(`[${job.id}] ${job.pid ?? ""}\n`);
    done.catch(() => {});
    return 0;
  }

  /** At the prompt: the jobs that ended since, as sh reports them. */
  #notify(): void {
    const current = this.#jobs.current;
    const previous = this.#jobs.find("%-");
    const mark = (job: Job) => job === current ? "+" : job === previous ? "-" : " ";
    for (const job of this.#jobs.list) {
      // A background job that read the terminal (SIGTTIN) stops.
      if (job.status === undefined && !job.stopped && job.group?.check()) {
        job.stopped = true;
        this.#io.err(`[${job.id}]${mark(job)}  ${"Stopped".padEnd(24)}${job.text}\n`);
      }
      if (job.status !== undefined && !job.reported) {
        job.reported = true;
        this.#io.err(`[${job.id}]${mark(job)}  ${job.state.padEnd(24)}${job.text}\n`);
      }
    }
    this.#jobs.prune();
  }

  #jobList(): JobInfo[] {
    const current = this.#jobs.current;
    const list = this.#jobs.list.map((job): JobInfo => {
      if (job.status !== undefined) job.reported = true;
      return { id: job.id, text: job.text, state: job.state, mark: job === current ? "+" : " " };
    });
    this.#jobs.prune();
    return list;
  }

  async #wait(ids: readonly string[]): Promise<number> {
    if (!ids.length) {
      for (const job of [...this.#jobs.list]) {
        await job.done;
        job.reported = true;
      }
      this.#jobs.prune();
      return 0;
    }
    let status = 0;
    for (const id of ids) {
      const job = this.#jobs.find(id);
      if (!job) {
        status = 127;
        continue;
      }
      status = await job.done;
      job.reported = true;
    }
    this.#jobs.prune();
    return status;
  }

  async #resume(id: string | undefined, fg: boolean, fds: Fds): Promise<number> {
    const command = fg ? "fg" : "bg";
    const job = id === undefined ? this.#jobs.current : this.#jobs.find(id);
    // Status 2, as dash's.
    if (!job) throw new ValueError(command, id === undefined ? "no current job" : `${id}: no such job`, 2);
    const group = job.group;
    if (!this.#groups || !group) {
      throw new ValueError(command, "no job control: it needs a terminal, where each job has a process group", 2);
    }
    const pgid = group.pgid ?? job.pgid;
    if (!fg) {
      group.foreground = false;
      group.forget();
      if (pgid !== undefined) libc().kill(-pgid, SIGCONT);
      job.stopped = false;
      await this.#write(fds, 1, `[${job.id}]+ ${job.text} &\n`);
      return 0;
    }
    await this.#write(fds, 1, `${job.text}\n`);
    group.forget();
    const unwatch = group.watch();
    this.#io.handOver?.();
    try {
      group.foreground = true;
      if (pgid !== undefined) {
        setForegroundGroup(0, pgid);
        libc().kill(-pgid, SIGCONT);
      }
      job.stopped = false;
      const outcome = await Promise.race([job.done.then((status) => ({ status })), group.stopped]);
      if (outcome) {
        job.reported = true;
        this.#jobs.prune();
        return outcome.status;
      }
      job.stopped = true;
      this.#io.err(`\n[${job.id}]+  ${"Stopped".padEnd(24)}${job.text}\n`);
      return 128 + SIGTSTP;
    } finally {
      unwatch();
      this.#io.takeBack?.();
    }
  }

  #signal(signo: number, targets: readonly string[]): void {
    for (const target of targets) {
      const job = this.#jobs.find(target);
      if (target.startsWith("%") || (job && !job.children.some((c) => String(c.pid) === target))) {
        if (!job) throw new ValueError("kill", `${target}: no such job`);
        this.#signalJob(job, signo);
        continue;
      }
      const trapped = Number(target) === Deno.pid && !this.#isSubshell
        ? signalName(signo).replace(/^SIG/, "")
        : undefined;
      if (trapped !== undefined && this.#traps.has(trapped)) {
        // Its own trap runs after this command, as dash's would: the signal is not sent.
        if (this.#traps.get(trapped)) this.#pendingTraps.push(trapped);
        continue;
      }
      if (libc().kill(Number(target), signo) < 0 && errno() === ESRCH) {
        throw new ValueError("kill", `(${target}): no such process`);
      }
    }
  }

  /** Sends a signal to a job: to its process group, or to each of its programs; a stopped job is woken to get it. */
  #signalJob(job: Job, signo: number): void {
    const pgid = job.group?.pgid ?? job.pgid;
    if (pgid !== undefined) {
      libc().kill(-pgid, signo);
      if (job.stopped && signo !== SIGCONT) libc().kill(-pgid, SIGCONT);
    } else {
      for (const child of job.children) child.kill(signo);
    }
  }

  // --- nsh's commands ---------------------------------------------------------

  /** `unshare` and `nsenter`: a program in new or joined namespaces, or, without one, a context. */
  async #contextCommand(name: string, args: readonly string[], fds: Fds): Promise<number> {
    const shell = this.#get("SHELL") || "/bin/sh";
    const shellOps = this.#shell(fds);
    if (name === "unshare") {
      const request = parseUnshare(args, shell);
      if (request.kind !== "run") return await this.#helpOrVersion(name, request.kind, shellOps);
      const box = unshareSandbox(request);
      const made = planCommand("unshare", box.steps).namespaces; // checks the options before anything starts
      if (request.program) {
        const env = request.keepEnv
          ? keptEnvironment(this.#programEnv() ?? Deno.env.toObject(), request.keepEnv)
          : this.#programEnv();
        const sandbox = this.#sandbox().with(box);
        return await this.#program(sandbox, request.argv, env, fds, [], undefined, request.forwardSignals ?? false);
      }
      if (request.keepEnv || request.forwardSignals) {
        const option = request.keepEnv ? "--clear-env and --whitelist-env" : "--forward-signals";
        throw new UsageError("unshare", `${option} apply to a program: name one (a context has no program of its own)`);
      }
      const parent = this.context;
      const named = request.name === undefined ? {} : { name: request.name, persist: request.persist ?? false };
      const context = parent ? await parent.hold(box, named) : await Context.hold(box, undefined, named);
      // A context starts in the session's directory, unless told.
      const cwd = !context.ownRoot && box.plan().wd === undefined ? this.cwd : context.cwd;
      this.#push(context, cwd, made.join(" "));
      return 0;
    }
    const request = parseNsenter(args, shell);
    if (request.kind !== "run") return await this.#helpOrVersion(name, request.kind, shellOps);
    // Files given to nsenter are where the context sees them (bound there).
    const current = this.context;
    const options = current ? nsenterFiles(request.options, (file) => current.hostPath(file)) : request.options;
    let list: Step[];
    try {
      list = nsenterSteps(options);
    } catch (error) {
      throw asValueError("nsenter", error);
    }
    if (request.wdns !== undefined) list.push(steps.workdir(request.wdns));
    if (request.program) {
      const env = request.env ? processEnvironment(request.options.target!) : this.#programEnv();
      return await this.#program(this.#sandbox().with(...list), request.argv, env, fds, []);
    }
    const entries = list.flatMap((s) => s.kind === "enter" ? [{ type: s.type, path: s.path }] : []);
    const context = Context.join(entries, current);
    const cwd = request.wdns ?? context.cwd;
    this.#push(context, cwd, "");
    return 0;
  }

  async #helpOrVersion(name: string, kind: "help" | "version", sh: Shell): Promise<number> {
    if (kind === "help") await sh.out((await COMMANDS[name]!.load()).help());
    else await sh.out(`nsh ${name} ${VERSION}\n`);
    return 0;
  }

  /**
   * lsns, netns, release, contexts, landlock: in this process, also in a
   * context: they read its /proc and files through a process in it and
   * change its mounts from a child that joins it (lib/place.ts), so that
   * they work whatever the context hides of nsh's files or of Deno. What
   * they print goes to the command's streams.
   */
  async #nshCommand(name: string, args: readonly string[], fds: Fds): Promise<number> {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t) };
    const flush = async () => {
      if (out.length) await this.#write(fds, 1, out.splice(0).join(""));
      if (err.length) await this.#write(fds, 2, err.splice(0).join(""));
    };
    try {
      return await (await COMMANDS[name]!.load()).run(args, io, {
        context: this.context,
        cwd: this.cwd,
        foreground: async (box, argv) => {
          // What it said so far comes before what the program says.
          await flush();
          return await this.#program(box, argv, this.#programEnv(), fds, []);
        },
      });
    } finally {
      await flush();
    }
  }

  /**
   * `run FILE args…`: the script runs as sh FILE would, in a session of its
   * own: its variables, `cd` and `exit` are its own, and its contexts nest in
   * the current one and end with it. It runs in this process, so a context
   * that hides nsh's files or Deno cannot stop it; its path is the context's.
   */
  async #runScript(file: string, args: readonly string[], fds: Fds): Promise<number> {
    const source = await readScript(this.#hostPath(file), file);
    const env = new Map<string, string | undefined>();
    for (const [k, v] of this.#visible()) if (v.exported) env.set(k, v.value);
    const script = new Session(this.#io, {
      args,
      argv0: file,
      errexit: true,
      base: this.context,
      cwd: this.cwd,
      vars: env,
    });
    // Its programs belong to the job that runs it; its streams are the command's, its ignored signals this shell's.
    script.#groups = this.#groups;
    script.#runFds = fds;
    script.#ignoredOnEntry = new Set(this.#ignoredSignals().map((name) => name.slice(3)));
    try {
      await script.runSource(source, { file });
      const status = await script.finish();
      // It said why it failed itself.
      if (status !== 0 && status < 128) this.#reported = true;
      return status;
    } finally {
      await script.close();
    }
  }

  async #save(file: string): Promise<void> {
    const header = `#!/usr/bin/env -S ${quote(Deno.execPath())} run -A ${quote(cliPath())} run\n` +
      `# Saved by nsh on ${new Date().toISOString()}: what the session did, in order.\n` +
      `# Run it with nsh run ${file.replace(/^.*\//, "")}, or as a program (it names this nsh and its Deno).\n`;
    const body = this.#log.join("\n") + (this.#log.length ? "\n" : "");
    // Leave the contexts still open, so that the script cleans up as it goes.
    const tail = "exit\n".repeat(this.depth);
    // A relative path is where `cd` went, as for a program's files.
    const path = this.#hostPath(file);
    try {
      await Deno.writeTextFile(path, header + body + tail, { mode: 0o755 });
    } catch (error) {
      throw asSyscallError(error, "open", { operation: `write the script "${file}"`, path: file });
    }
  }

  /** Ends every context it made (holders die with the shell in any case). */
  async close(): Promise<void> {
    for (const condition of [...this.#trapListeners.keys()]) this.#setTrap(condition, undefined);
    closeAll(...this.#execOwned.splice(0));
    this.#execFds.clear();
    while (this.#levels.length > 1) {
      const level = this.#levels.pop()!;
      if (level.own) await level.context?.close();
    }
  }
}

/** A failed redirection: sh reports it and gives the command status 2. */
export class RedirectError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "RedirectError";
  }
}

/** `unshare` and `nsenter`: nsh's commands that the shell runs itself (they make contexts). */
const CONTEXT_COMMANDS: Readonly<Record<string, true>> = { unshare: true, nsenter: true };

/** A command as a one-command pipeline, for a stage's subshell. */
function single(command: Command): AndOr {
  const pipeline: Pipeline = {
    negate: false,
    commands: [command],
    pipeStderr: [],
    start: command.start,
    text: command.text,
  };
  return { first: pipeline, rest: [], start: command.start, text: command.text };
}

/** The name a message gives a command that failed. */
function commandName(command: Command): string {
  if (command.kind === "simple") return command.words[0]?.text ?? "";
  if (command.kind === "subshell") return "subshell";
  return command.kind;
}

/** A command's text for `save`, with the bodies of its here-documents after it, as it was typed. */
function loggedText(command: AndOr): string {
  const bodies: string[] = [];
  const redirects = (list: readonly Redirect[]) => {
    for (const r of list) if (r.delimiter !== undefined) bodies.push(`${r.target.text}${r.delimiter}`);
  };
  const visit = (c: Command): void => {
    if (c.kind === "simple") return redirects(c.redirects);
    if (c.kind === "function") return visit(c.body);
    const lists = c.kind === "if"
      ? [...c.clauses.flatMap((clause) => [clause.test, clause.body]), ...(c.otherwise ? [c.otherwise] : [])]
      : c.kind === "case"
      ? c.items.map((item) => item.body)
      : c.kind === "while" || c.kind === "until"
      ? [c.test, c.body]
      : [c.body];
    for (const list of lists) {
      for (const item of list) {
        for (const p of [item.command.first, ...item.command.rest.map((r) => r.pipeline)]) p.commands.forEach(visit);
      }
    }
    redirects(c.redirects);
  };
  for (const p of [command.first, ...command.rest.map((r) => r.pipeline)]) p.commands.forEach(visit);
  return bodies.length ? `${command.text}\n${bodies.join("\n")}` : command.text;
}

/** The home directory of a user, from /etc/passwd. */
function homeOf(user: string): string | undefined {
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const fields = line.split(":");
      if (fields[0] === user) return fields[5];
    }
  } catch {
    // No passwd: no home.
  }
  return undefined;
}

/** The path of cli.ts. */
function cliPath(): string {
  return new URL("../../cli.ts", import.meta.url).pathname;
}

/**
 * The text of a script file.
 *
 * @param path Its path.
 * @param name Its name for messages, when `path` is how nsh reaches it.
 * @returns Its text.
 * @throws {SyscallError} When it cannot be read.
 * @throws {ValueError} When it is a binary file (status 126).
 */
export async function readScript(path: string, name = path): Promise<string> {
  let text: string;
  try {
    // Bytes that are not UTF-8 pass through to programs, as in sh.
    text = decodeBytes(await Deno.readFile(path));
  } catch (error) {
    const syscall = error instanceof Deno.errors.IsADirectory ? "read" : "open";
    throw asSyscallError(error, syscall, { operation: `read the script "${name}"`, path: name });
  }
  // As sh: a program given as a script is refused, with 126, not parsed.
  if (text.includes("\0")) throw new ValueError("run", `${name}: cannot execute binary file`, 126);
  return text;
}
