/**
 * The shell's interpreter: runs commands of the nsh language one after the
 * other, keeping contexts (namespaces held open), variables and the working
 * directory between them. The REPL, `-c`, `run FILE` and stdin all drive one
 * of these.
 *
 * @module
 */

import { type Command as Parsed, expand, parse, ParseError, type Scope } from "./parse.ts";
import type { Io } from "../commands.ts";
import { COMMANDS } from "../commands.ts";
import { describeError, exitStatusOf, UsageError, ValueError } from "../usage.ts";
import { runForeground } from "../foreground.ts";
import { asValueError, planCommand } from "../plan_command.ts";
import { keptEnvironment, parseLimit, parseUnshare, unshareSandbox } from "../unshare.ts";
import { parseNsenter, processEnvironment } from "../nsenter.ts";
import { Context } from "../../lib/context.ts";
import { nsenterSteps } from "../../lib/options.ts";
import { Sandbox } from "../../lib/sandbox.ts";
import { changesRoot } from "../../lib/plan.ts";
import * as steps from "../../lib/steps.ts";
import type { Step } from "../../lib/steps.ts";
import { asSyscallError, SyscallError } from "../../ffi/error.ts";
import { decodeBytes } from "../../ffi/bytes.ts";
import { MS, SIGPIPE } from "../../ffi/constants.ts";

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
export const BUILTINS: Readonly<Record<string, { usage: string; help: string }>> = {
  "mount-proc": { usage: "mount-proc [<dir>]", help: "mount a proc that shows the context's PID namespace" },
  mount: {
    usage: "mount [-t <type>] [-o <options>] [--bind] <source> <target>",
    help: "mount in the context's mount namespace (bind, ro bind, tmpfs, proc…)",
  },
  umount: { usage: "umount <target>", help: "detach a mount in the context" },
  hostname: { usage: "hostname [<name>]", help: "print, or set, the context's hostname" },
  limit: {
    usage: "limit [--memory-max <size>] [--pids-max <n>] [--cpu-max <q/p>|<n>%]…",
    help: "change the limits of the context's box (made with unshare --memory-max… and the like)",
  },
  enter: { usage: "enter <name>", help: "join the context named so (unshare --name), here or in another nsh" },
  cd: { usage: "cd [<dir>]", help: "change the working directory of the context's programs" },
  pwd: { usage: "pwd", help: "print that working directory" },
  export: { usage: "export <name>=<value>...", help: "set variables for the programs that follow" },
  unset: { usage: "unset <name>...", help: "remove variables" },
  set: { usage: "set -e | set +e", help: "stop, or go on, after a failing command in a script" },
  exit: { usage: "exit [<status>]", help: "leave the context (ending its namespaces), or the shell" },
  save: { usage: "save <file>", help: "write what this session did as a script that reproduces it" },
  run: {
    usage: "run <script.nsh> [<argument>...]",
    help: "run a script in this context, as sh FILE does: its variables, cd and exit are its own",
  },
  help: { usage: "help [<command>]", help: "show this help, or a command's" },
};

const NOT_LOGGED = new Set(["save", "help", "pwd"]);

/** An nsh shell session. */
export class Session {
  readonly #io: ShellIo;
  /** The context a script run by `run` starts in: not its own to close. */
  readonly #base: Context | undefined;
  /** The contexts this session made, innermost last. */
  readonly #contexts: Context[] = [];
  /** What each context made, for the prompt: its new namespaces. */
  readonly #made = new WeakMap<Context, string>();
  readonly #vars = new Map<string, string | undefined>();
  readonly #log: string[] = [];
  #cwd: string = Deno.cwd();
  /** The status of the last command (`$?`). */
  status = 0;
  /** Stop a script at the first failing command (`set -e`). */
  errexit: boolean;
  /** `$1`…: the script's arguments. */
  args: readonly string[];
  /** `$0`: the script's name. */
  argv0: string;
  /** Set by `exit` at the top level: the shell should end with this status. */
  exitStatus: number | undefined;

  /**
   * Creates a session.
   *
   * @param io Where to write.
   * @param options Script arguments, whether to stop at the first failure,
   *   and, for a script that `run` starts in a context, that context, the
   *   working directory and the variables it starts with.
   */
  constructor(
    io: ShellIo,
    options: {
      args?: readonly string[];
      argv0?: string;
      errexit?: boolean;
      base?: Context | undefined;
      cwd?: string;
      vars?: ReadonlyMap<string, string | undefined>;
    } = {},
  ) {
    this.#io = io;
    this.args = options.args ?? [];
    this.argv0 = options.argv0 ?? "nsh";
    this.errexit = options.errexit ?? false;
    this.#base = options.base;
    if (options.cwd !== undefined) this.#cwd = options.cwd;
    for (const [k, v] of options.vars ?? []) this.#vars.set(k, v);
  }

  /** The innermost context, or `undefined` at the host. */
  get context(): Context | undefined {
    return this.#contexts.at(-1) ?? this.#base;
  }

  /** How deep contexts are nested. */
  get depth(): number {
    return this.#contexts.length;
  }

  /** The commands that succeeded, as typed, for `save`. */
  get log(): readonly string[] {
    return this.#log;
  }

  /**
   * The prompt: `nsh> ` at the host, `nsh[mnt pid user]> ` in a context,
   * `nsh[mnt pid user > uts]> ` in a context made in it: the namespaces each
   * level made (or joined).
   */
  prompt(color = false): string {
    const where = this.#contexts.map((c) => this.#made.get(c) || c.types.join(" ") || "joined").join(" > ");
    const text = where ? `nsh[${where}]> ` : "nsh> ";
    return color ? `\x1b[1;${where ? "36" : "32"}m${text.trimEnd()}\x1b[0m ` : text;
  }

  /** The working directory programs get, as seen in the current context. */
  get cwd(): string {
    return this.#contexts.at(-1)?.cwd ?? this.#cwd;
  }

  /** The path by which nsh reaches a file that programs here name `path`. */
  #hostPath(path: string): string {
    const absolute = path.startsWith("/") ? path : `${this.cwd.replace(/\/$/, "")}/${path}`;
    return this.context ? this.context.hostPath(absolute) : absolute;
  }

  #scope(): Scope {
    const env = this.#env();
    return {
      get: (name) => env.has(name) ? env.get(name) ?? undefined : Deno.env.get(name),
      args: this.args,
      argv0: this.argv0,
      status: this.status,
      pid: Deno.pid,
    };
  }

  /** Variables set in the session and its contexts (`undefined`: unset). */
  #env(): Map<string, string | undefined> {
    const env = new Map(this.#vars);
    for (const ctx of this.#contexts) for (const [k, v] of ctx.vars) env.set(k, v);
    return env;
  }

  /** The environment of programs, or `undefined` when it is this process's, unchanged. */
  #programEnv(): Record<string, string> | undefined {
    const changes = this.#env();
    if (!changes.size) return undefined;
    const env = Deno.env.toObject();
    for (const [k, v] of changes) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    return env;
  }

  /**
   * Runs source text: one or many commands. Parse errors and failing
   * commands print one line; in a script (errexit) the first failure stops it.
   *
   * @param source The text.
   * @param origin Where it comes from.
   * @returns The status of the last command run.
   */
  async runSource(source: string, origin: Origin = {}): Promise<number> {
    let commands: Parsed[];
    try {
      commands = parse(source, { firstLine: origin.firstLine ?? 1 });
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      this.#report(origin.file ? `${origin.file}:${error.message}` : `nsh: ${error.message}`);
      this.status = 2;
      return this.status;
    }
    return await this.runCommands(commands, origin);
  }

  /**
   * Runs parsed commands, as {@linkcode Session.runSource} does.
   *
   * @param commands The commands.
   * @param origin Where they come from.
   * @returns The status of the last command run.
   */
  async runCommands(commands: readonly Parsed[], origin: Origin = {}): Promise<number> {
    for (const command of commands) {
      this.#reported = false;
      this.status = await this.runCommand(command, origin);
      if (this.exitStatus !== undefined) break;
      if (this.status !== 0 && this.errexit && origin.file !== undefined) {
        // A program that failed said why itself, if at all: say where the
        // script stopped. As sh, not for a program that a closed pipe ended
        // (SIGPIPE: the reader had enough, as `head` does).
        if (!this.#reported && this.status !== 128 + SIGPIPE) {
          const what = this.status > 128
            ? `was ended by signal ${this.status - 128}`
            : `exited with status ${this.status}`;
          this.#report(`${origin.file}:${command.start.line}: ${command.words[0]?.text ?? ""} ${what}`);
        }
        break;
      }
    }
    return this.status;
  }

  #reported = false;

  #report(text: string): void {
    this.#reported = true;
    this.#io.err(text.endsWith("\n") ? text : text + "\n");
  }

  /**
   * Runs one parsed command.
   *
   * @param command The command.
   * @param origin Where it comes from.
   * @returns Its status.
   */
  async runCommand(command: Parsed, origin: Origin = {}): Promise<number> {
    const argv = expand(command.words, this.#scope());
    if (!argv.length) return 0;
    const [name, ...args] = argv as [string, ...string[]];
    try {
      const status = await this.#dispatch(name, args);
      if (status === 0 && !NOT_LOGGED.has(name)) this.#log.push(command.text);
      return status;
    } catch (error) {
      let text: string;
      if (
        error instanceof SyscallError && error.syscall === "execve" && error.code === "ENOENT" && !name.includes("/")
      ) {
        text = `nsh: ${name}: command not found`;
      } else if (error instanceof UsageError && (isCommand(error.command) || isBuiltin(error.command))) {
        // In the shell, a command's help is `NAME --help`, a builtin's `help NAME`.
        const hint = isBuiltin(error.command) ? `help ${error.command}` : `${error.command} --help`;
        text = `nsh ${error.command}: ${error.message}${error.help ? `\nTry '${hint}' for more information.` : ""}`;
      } else {
        text = describeError(isCommand(name) || isBuiltin(name) ? name : "", error);
      }
      if (origin.file !== undefined) {
        text = text.replace(/^nsh:? ?/, "");
        const line = command.start.line;
        text = text.split("\n").map((l, i) => i === 0 ? `${origin.file}:${line}: ${l}` : l).join("\n");
      }
      if (text) this.#report(text);
      return exitStatusOf(error);
    }
  }

  async #dispatch(name: string, args: string[]): Promise<number> {
    switch (name) {
      case "unshare":
        return await this.#unshare(args);
      case "enter":
        return this.#enter(args);
      case "nsenter":
        return await this.#nsenter(args);
      case "exit":
        return await this.#exit(args);
      case "mount-proc":
        return await this.#apply("mount-proc", "mnt", [steps.mountProc(args[0] ?? "/proc")], args.length > 1);
      case "mount":
        return await this.#apply("mount", "mnt", [parseMount(args)], false);
      case "umount":
        if (args.length !== 1) throw new UsageError("umount", "expected one mount point");
        return await this.#apply("umount", "mnt", [steps.umount(args[0]!)], false);
      case "hostname":
        return await this.#hostname(args);
      case "limit":
        return await this.#limit(args);
      case "cd":
        return await this.#cd(args);
      case "pwd":
        this.#io.out(this.cwd + "\n");
        return 0;
      case "export":
        return this.#export(args);
      case "unset":
        for (const n of args) this.#scopeVars().set(n, undefined);
        return 0;
      case "set":
        if (args.length === 1 && (args[0] === "-e" || args[0] === "+e")) {
          this.errexit = args[0] === "-e";
          return 0;
        }
        throw new UsageError("set", "expected -e or +e");
      case "save":
        return await this.#save(args);
      case "run":
        return await this.#run(args);
      case "help":
        this.#io.out(await shellHelp(args[0]));
        return 0;
    }
    if (isCommand(name)) {
      // lsns, netns and release run in this process, also in a context: they
      // read its /proc and files through a process in it and change its
      // mounts from a child that joins it (lib/place.ts), so that they work
      // whatever the context hides of nsh's files or of Deno.
      return await (await COMMANDS[name]!.load()).run(args, this.#io, {
        context: this.context,
        cwd: this.#cwd,
        foreground: (box, argv) => this.#foreground(box, [...argv]),
      });
    }
    return await this.#foreground(this.#sandbox(), [name, ...args]);
  }

  /** The sandbox programs run in: the current context's, or an empty one. */
  #sandbox(): Sandbox {
    const own = this.#contexts.at(-1);
    if (own) return own.sandbox();
    // A script's own working directory, in the context it was run in.
    return this.#base ? this.#base.sandbox().workdir(this.#cwd) : new Sandbox();
  }

  /**
   * `run FILE args…`: the script runs as sh FILE would, in a session of its
   * own: its variables, `cd` and `exit` are its own, and its contexts nest in
   * the current one and end with it. It runs in this process, so a context
   * that hides nsh's files or Deno cannot stop it; its path is the context's.
   */
  async #run(args: string[]): Promise<number> {
    const [file, ...rest] = args;
    if (file === undefined) throw new UsageError("run", "no script given");
    const source = await readScript(this.#hostPath(file), file);
    const script = new Session(this.#io, {
      args: rest,
      argv0: file,
      errexit: true,
      base: this.context,
      cwd: this.cwd,
      vars: this.#env(),
    });
    try {
      const status = await script.runSource(source, { file });
      // It said why it failed itself.
      if (status !== 0 && status < 128) this.#reported = true;
      return script.exitStatus ?? status;
    } finally {
      await script.close();
    }
  }

  async #foreground(box: Sandbox, argv: string[], env = this.#programEnv(), forwardSignals = false): Promise<number> {
    const p = planCommand(argv[0]!, box.steps);
    this.#io.handOver?.();
    try {
      // At the host, programs start in the session's directory.
      const list = this.context || changesRoot(p) ? p : { ...p, wd: p.wd ?? this.#cwd };
      return await runForeground(list, argv, env, { forwardSignals });
    } finally {
      this.#io.takeBack?.();
    }
  }

  async #unshare(args: string[]): Promise<number> {
    const request = parseUnshare(args, Deno.env.get("SHELL") || "/bin/sh");
    if (request.kind === "help") {
      this.#io.out((await COMMANDS.unshare!.load()).help());
      return 0;
    }
    if (request.kind === "version") return await (await COMMANDS.unshare!.load()).run(args, this.#io);
    const box = unshareSandbox(request);
    const made = planCommand("unshare", box.steps).namespaces; // checks the options before anything starts
    if (request.program) {
      const env = request.keepEnv
        ? keptEnvironment(this.#programEnv() ?? Deno.env.toObject(), request.keepEnv)
        : undefined;
      return await this.#foreground(this.#sandbox().with(box), request.argv, env, request.forwardSignals);
    }
    if (request.keepEnv || request.forwardSignals) {
      const option = request.keepEnv ? "--clear-env and --whitelist-env" : "--forward-signals";
      throw new UsageError("unshare", `${option} apply to a program: name one (a context has no program of its own)`);
    }
    const parent = this.context;
    const named = request.name === undefined ? {} : { name: request.name, persist: request.persist ?? false };
    const context = parent ? await parent.hold(box, named) : await Context.hold(box, undefined, named);
    // A context starts in the session's directory, unless told.
    const p = box.plan();
    if (!context.ownRoot && p.wd === undefined) context.cwd = this.cwd;
    this.#made.set(context, made.join(" "));
    this.#contexts.push(context);
    return 0;
  }

  /** `enter NAME`: joins a named context as a context of this session; exit leaves it as it is. */
  #enter(args: string[]): number {
    if (args.length !== 1) throw new UsageError("enter", "expected the name of a context (nsh contexts lists them)");
    let context: Context;
    try {
      context = Context.enter(args[0]!, this.context);
    } catch (error) {
      throw error instanceof TypeError ? asValueError("enter", error) : error;
    }
    this.#made.set(context, args[0]!);
    this.#contexts.push(context);
    return 0;
  }

  async #nsenter(args: string[]): Promise<number> {
    const request = parseNsenter(args, Deno.env.get("SHELL") || "/bin/sh");
    if (request.kind !== "run") return await (await COMMANDS.nsenter!.load()).run(args, this.#io);
    let list: Step[];
    // Files given to nsenter are where the context sees them (bound there).
    const options = { ...request.options };
    const current = this.context;
    if (current) {
      for (const key of ["mount", "uts", "ipc", "net", "pid", "user", "cgroup", "time"] as const) {
        const file = options[key];
        if (typeof file === "string") options[key] = current.hostPath(file);
      }
    }
    try {
      list = nsenterSteps(options);
    } catch (error) {
      throw asValueError("nsenter", error);
    }
    if (request.wdns !== undefined) list.push(steps.workdir(request.wdns));
    if (request.program) {
      const env = request.env ? processEnvironment(request.options.target!) : this.#programEnv();
      return await this.#foreground(this.#sandbox().with(...list), request.argv, env);
    }
    const entries = list.flatMap((s) => s.kind === "enter" ? [{ type: s.type, path: s.path }] : []);
    const context = Context.join(entries, this.context);
    if (request.wdns !== undefined) context.cwd = request.wdns;
    this.#contexts.push(context);
    return 0;
  }

  async #exit(args: string[]): Promise<number> {
    if (args.length > 1) throw new UsageError("exit", "too many arguments");
    if (args[0] !== undefined && !/^\d+$/.test(args[0])) {
      throw new UsageError("exit", `expected a status, got '${args[0]}'`);
    }
    const status = args[0] === undefined ? this.status : Number(args[0]) & 255;
    const context = this.#contexts.pop();
    if (context) {
      // As `(exit 3)` in sh: leaving the context gives its status to what
      // follows, and a script that stops there says nothing more.
      await context.close();
      this.#reported = true;
      return status;
    }
    this.exitStatus = status;
    return status;
  }

  async #apply(command: string, type: "mnt" | "uts", list: Step[], extra: boolean): Promise<number> {
    if (extra) throw new UsageError(command, "too many arguments");
    const context = this.context;
    if (!context || !context.types.includes(type)) {
      const what = type === "mnt" ? "mount" : "UTS";
      const option = type === "mnt" ? "--mount" : "--uts";
      throw new UsageError(
        command,
        `not in a context with a ${what} namespace of its own: it would change the host's (run unshare ${option} first)`,
      );
    }
    try {
      await context.apply(...list);
    } catch (error) {
      // The plan's checks of values (a hostname too long), as for one-shot commands.
      throw asValueError(command, error);
    }
    return 0;
  }

  /** `limit --pids-max N…`: new limits for the current context's box, which covers everything run in it. */
  async #limit(args: string[]): Promise<number> {
    const list = parseLimit(args);
    if (!this.context) {
      throw new UsageError(
        "limit",
        "not in a context: limits are given to unshare, which makes one (unshare --pids-max 100)",
      );
    }
    await this.context.apply(...list);
    return 0;
  }

  async #hostname(args: string[]): Promise<number> {
    const name = hostnameArgument(args);
    if (name !== undefined) return await this.#apply("hostname", "uts", [steps.hostname(name)], false);
    if (!this.context) {
      this.#io.out(Deno.hostname() + "\n");
      return 0;
    }
    const current = await this.context.run("cat", "/proc/sys/kernel/hostname").text();
    this.#io.out(current + "\n");
    return 0;
  }

  async #cd(args: string[]): Promise<number> {
    if (args.length > 1) throw new UsageError("cd", "too many arguments");
    const target = args[0] ?? this.#scope().get("HOME") ?? "/";
    const path = normalizePath(target.startsWith("/") ? target : `${this.cwd}/${target}`);
    const own = this.#contexts.at(-1);
    if (this.context) {
      // The directory must exist there: a child that joins the context changes to it.
      await this.context.apply(steps.workdir(path));
      if (own) own.cwd = path;
      else this.#cwd = path;
    } else {
      try {
        if (!Deno.statSync(path).isDirectory) throw new Deno.errors.NotADirectory(path);
      } catch {
        throw new ValueError("cd", `${target}: no such directory`);
      }
      this.#cwd = path;
    }
    return 0;
  }

  #scopeVars(): Map<string, string | undefined> {
    return this.#contexts.at(-1)?.vars ?? this.#vars;
  }

  #export(args: string[]): number {
    if (!args.length) {
      for (const [k, v] of [...this.#env()].sort(([a], [b]) => a.localeCompare(b))) {
        if (v !== undefined) this.#io.out(`export ${k}=${quoteValue(v)}\n`);
      }
      return 0;
    }
    for (const arg of args) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg : arg.slice(0, eq);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ValueError("export", `'${name}' is not a valid name`);
      if (eq >= 0) this.#scopeVars().set(name, arg.slice(eq + 1));
      else {
        const value = this.#scope().get(name);
        if (value !== undefined) this.#scopeVars().set(name, value);
      }
    }
    return 0;
  }

  async #save(args: string[]): Promise<number> {
    if (args.length !== 1) throw new UsageError("save", "expected one file");
    const header = `#!/usr/bin/env -S deno run -A ${new URL("../../cli.ts", import.meta.url).pathname} run\n` +
      `# Saved by nsh on ${new Date().toISOString()}: what the session did, in order.\n`;
    const body = this.#log.join("\n") + (this.#log.length ? "\n" : "");
    // Leave the contexts still open, so that the script cleans up as it goes.
    const tail = "exit\n".repeat(this.#contexts.length);
    // A relative path is where `cd` went, as for a program's files.
    const file = this.#hostPath(args[0]!);
    try {
      await Deno.writeTextFile(file, header + body + tail, { mode: 0o755 });
    } catch (error) {
      throw asSyscallError(error, "open", { operation: `write the script "${args[0]}"`, path: args[0] });
    }
    return 0;
  }

  /** Ends every context it made (holders die with the shell in any case). */
  async close(): Promise<void> {
    while (this.#contexts.length) await this.#contexts.pop()!.close();
  }
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

function isCommand(name: string): boolean {
  return Object.hasOwn(COMMANDS, name);
}

function isBuiltin(name: string): boolean {
  return Object.hasOwn(BUILTINS, name) && !isCommand(name);
}

/** A value as `export` prints it: plain when it is safe, else single-quoted. */
function quoteValue(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]*$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * A path with `.`, `..` and repeated slashes resolved, as `cd` resolves it.
 *
 * @param path An absolute path.
 * @returns It normalized.
 */
export function normalizePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}

/** The options of mount(8) that are flags of mount(2). */
const MOUNT_FLAGS: Readonly<Record<string, number>> = {
  ro: MS.RDONLY,
  rw: 0,
  nosuid: MS.NOSUID,
  nodev: MS.NODEV,
  noexec: MS.NOEXEC,
  noatime: MS.NOATIME,
  relatime: MS.RELATIME,
};

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
 * @param args The arguments.
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

/**
 * The help of the shell, or of one command.
 *
 * @param command A command's name.
 * @returns The text.
 */
export async function shellHelp(command?: string): Promise<string> {
  if (command !== undefined) {
    if (isCommand(command)) {
      const help = (await COMMANDS[command]!.load()).help();
      // What the command-line help cannot say: without a program, the shell keeps the namespaces.
      const context = command === "unshare" || command === "nsenter"
        ? `\nIn the shell, without a program, ${command} makes a context: the namespaces stay\n` +
          "open and the commands that follow run in them, until exit (or Ctrl-D).\n"
        : "";
      return help.replace(/\n\nOptions:\n/, `\n${context}\nOptions:\n`);
    }
    const builtin = BUILTINS[command];
    if (builtin) {
      return `\nUsage:\n ${builtin.usage}\n\n${builtin.help.charAt(0).toUpperCase()}${builtin.help.slice(1)}.\n`;
    }
    throw new UsageError("help", `no such command: ${command}`);
  }
  const width = 28;
  const line = (usage: string, help: string) =>
    usage.length + 2 <= width ? ` ${usage.padEnd(width - 1)}${help}` : ` ${usage}\n${" ".repeat(width)}${help}`;
  const commands = Object.entries(COMMANDS).map(([name, c]) => line(`${name} ${c.synopsis}`, c.summary));
  const builtins = Object.values(BUILTINS).map((b) => line(b.usage, b.help));
  return `
nsh is a shell whose commands make and enter namespaces. unshare without a
program makes a context: new namespaces held open, which the commands that
follow act on, until exit. Any other word runs as a program in the context.

Commands:
${commands.join("\n")}

In a context:
${builtins.join("\n")}

Quoting, \$VAR and # comments work as in sh. help <command> tells more.
`;
}
