/**
 * Commands: an immutable, thenable builder for running one program in a
 * sandbox, with capture helpers, redirections to files and pipelines in the
 * manner of dax.
 *
 * @module
 */

import type { Child, ExitStatus } from "./child.ts";
import { start, type StdioMode, type StdioSpec } from "./engine.ts";
import { type Plan, planHere } from "./plan.ts";
import type { Step } from "./steps.ts";
import { requireSignal } from "../ffi/signals.ts";
import type { Usage } from "./cgroup.ts";
import { SyscallError } from "../ffi/error.ts";
import { errno, libc } from "../ffi/libc.ts";
import { O_CLOEXEC } from "../ffi/constants.ts";
import { type FileView, hostView, openFile, type OpenMode } from "./files.ts";

/**
 * A file for a standard stream: read (stdin), or written, truncated first
 * or appended to (stdout, stderr). A relative path is relative to the
 * working directory of this process, or, for a command of a context (see
 * {@linkcode Command.within}), of the context, whose mounts and root it is
 * opened through.
 */
export interface FileTarget {
  /** The file: a path, or a `file:` URL. */
  readonly file: string | URL;
  /**
   * Append to the file instead of truncating it (output only).
   *
   * @default {false}
   */
  readonly append?: boolean;
}

/** A descriptor of this process that the program gets as a standard stream. */
export interface FdTarget {
  /** The descriptor; the caller keeps it, and closes it after the start. */
  readonly fd: number;
}

/** What the program reads on standard input: a mode, a file, a descriptor, or bytes or a stream to feed. */
export type StdinInput = StdioMode | FileTarget | FdTarget | Uint8Array | ReadableStream<Uint8Array>;

/** Where standard output goes: a mode, a file, a descriptor, or wherever standard error goes (`2>&1`'s twin, `>&2`). */
export type StdoutTarget = StdioMode | FileTarget | FdTarget | "stderr";

/** Where standard error goes: a mode, a file, a descriptor, or wherever standard output goes (`2>&1`). */
export type StderrTarget = StdioMode | FileTarget | FdTarget | "stdout";

/** The outcome of a command. */
export interface CommandResult extends ExitStatus {
  /** Standard output, when captured (empty otherwise). */
  readonly stdout: Uint8Array;
  /** Standard error, when captured (empty otherwise). */
  readonly stderr: Uint8Array;
  /** Standard output as UTF-8 text. */
  readonly stdoutText: string;
  /** Standard error as UTF-8 text. */
  readonly stderrText: string;
}

/** Options of {@linkcode CommandError}. */
export interface CommandErrorOptions {
  /** How the program ended. */
  readonly status: ExitStatus;
  /** Captured standard error. */
  readonly stderr?: string;
  /** The program was killed because its time ran out. */
  readonly timedOut?: boolean;
  /** The program was killed because the abort signal fired. */
  readonly aborted?: boolean;
}

/**
 * A command failed: a non-zero exit, a signal, a timeout or an abort.
 *
 * @example A program that failed, and why, in one line
 * ```ts
 * import assert from "node:assert/strict";
 * import { CommandError, sandbox } from "@nsh/nsh";
 *
 * const error = await sandbox().run("ls", "/no/such/dir").output().catch((error) => error);
 * assert.ok(error instanceof CommandError);
 * assert.equal(error.code, 2);
 * assert.match(error.message, /^Command "ls \/no\/such\/dir" exited with code 2: ls: cannot access/);
 * ```
 */
export class CommandError extends Error {
  /** The program and its arguments. */
  readonly argv: readonly string[];
  /** The exit code (128 + N for signal N). */
  readonly code: number;
  /** The signal that ended it, or `null`. */
  readonly signal: string | null;
  /** Captured standard error, if it was captured. */
  readonly stderr: string;
  /** Whether the timeout killed it. */
  readonly timedOut: boolean;
  /** Whether the abort signal killed it. */
  readonly aborted: boolean;
  /** Whether the OOM killer killed it (its box reached its memory limit). */
  readonly oomKilled: boolean;
  /** What its box used, when it had one (`limits()`). */
  readonly usage: Usage | undefined;

  /**
   * Creates the error for a command that ended badly.
   *
   * @param argv The program and its arguments.
   * @param options How it ended.
   */
  constructor(argv: readonly string[], options: CommandErrorOptions) {
    const { status } = options;
    const what = options.timedOut
      ? "timed out"
      : options.aborted
      ? "was aborted"
      : status.oomKilled
      ? "was killed by the OOM killer (its box reached its memory limit)"
      : status.signal
      ? `was killed by ${status.signal}`
      : `exited with code ${status.code}`;
    const tail = options.stderr?.trim().split("\n").pop();
    super(`Command "${argv.map(shellWord).join(" ")}" ${what}${tail ? `: ${tail}` : ""}`);
    this.name = "CommandError";
    this.argv = argv;
    this.code = status.code;
    this.signal = status.signal;
    this.stderr = options.stderr ?? "";
    this.timedOut = options.timedOut ?? false;
    this.aborted = options.aborted ?? false;
    this.oomKilled = status.oomKilled ?? false;
    this.usage = status.usage;
  }
}

/** A word as sh would need it typed: single-quoted unless it is plain. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

interface State {
  readonly steps: readonly Step[];
  readonly guards: readonly (() => void)[];
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly clearEnv: boolean;
  readonly stdin: StdinInput | { readonly text: string };
  readonly stdout: StdoutTarget;
  readonly stderr: StderrTarget;
  readonly view: FileView | undefined;
  readonly fds: readonly number[];
  readonly noThrow: boolean;
  readonly timeout: number | undefined;
  readonly signal: AbortSignal | undefined;
}

const decoder = new TextDecoder();
const EMPTY = new Uint8Array();
/** The longest delay `setTimeout` takes. */
const MAX_TIMEOUT = 2 ** 31 - 1;

function result(status: ExitStatus, stdout: Uint8Array, stderr: Uint8Array): CommandResult {
  return {
    ...status,
    stdout,
    stderr,
    get stdoutText() {
      return decoder.decode(stdout);
    },
    get stderrText() {
      return decoder.decode(stderr);
    },
  };
}

/**
 * A running command: a promise of its result, with its pid, its streams and
 * `kill()`. Streams that are piped belong to the caller: the result holds no
 * output for them (use {@linkcode Command.output} to capture).
 *
 * @example A program that runs while this process reads its output, then stops it
 * ```ts
 * import assert from "node:assert/strict";
 * import { sandbox } from "@nsh/nsh";
 *
 * const child = sandbox().run("sh", "-c", "echo ready; exec sleep 60").stdout("piped").noThrow().spawn();
 * const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
 * assert.equal((await reader.read()).value, "ready\n");
 * child.kill(); // SIGTERM
 * const result = await child;
 * assert.equal(result.signal, "SIGTERM");
 * assert.equal(result.code, 143); // 128 + 15, as sh says it
 * await reader.cancel();
 * ```
 */
export class CommandChild extends Promise<CommandResult> {
  /** Promises derived from a child are plain promises. */
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  #child: Child | undefined;
  /** The read end of the pipe stdout and stderr share, when `.stderr("stdout")` merged them. */
  #merged: number | undefined;
  #pendingSignal: string | number | undefined;
  #unref = false;
  #started: Promise<Child> | undefined;
  #stdin: WritableStream<Uint8Array> | undefined;
  #stdout: ReadableStream<Uint8Array> | undefined;
  #stderr: ReadableStream<Uint8Array> | undefined;

  /** The pid, once the program has started. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Resolves to the running child once the program has started. */
  get started(): Promise<Child> {
    return this.#started!;
  }

  /** The program's standard output, when piped (with its standard error, after `.stderr("stdout")`). */
  get stdout(): ReadableStream<Uint8Array> {
    return this.#stdout ??= this.#relay((child) => child.stdout, "stdout");
  }

  /** The program's standard error, when piped. */
  get stderr(): ReadableStream<Uint8Array> {
    return this.#stderr ??= this.#relay((child) => child.stderr, "stderr");
  }

  /** The program's standard input, when piped. */
  get stdin(): WritableStream<Uint8Array> {
    return this.#stdin ??= this.#stdinRelay();
  }

  #stdinRelay(): WritableStream<Uint8Array> {
    let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
    const open = async () => {
      const child = await this.#started!;
      if (!child.stdin) throw new TypeError("Cannot write to stdin: it is not piped");
      writer ??= child.stdin.getWriter();
      return writer;
    };
    return new WritableStream<Uint8Array>({
      write: async (chunk) => await (await open()).write(chunk),
      close: async () => await (await open()).close(),
      abort: async (reason) => await (await open()).abort(reason),
    });
  }

  #relay(
    pick: (child: Child) => ReadableStream<Uint8Array> | null,
    name: string,
  ): ReadableStream<Uint8Array> {
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (!reader) {
          const child = await this.#started!;
          const merged = name === "stdout" ? this.#merged : undefined;
          const stream = merged === undefined
            ? pick(child)
            : (await import("./fdstream.ts")).fdReadable(merged, "the program's output", child.pipesAbandoned);
          if (!stream) throw new TypeError(`Cannot read ${name}: it is not piped`);
          reader = stream.getReader();
        }
        const { value, done } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      // Cancelling a stream never read still closes the pipe.
      cancel: async (reason) => await (reader ?? pick(await this.#started!))?.cancel(reason),
    }, { highWaterMark: 0 });
  }

  /**
   * Sends a signal to the program (once it has started, if it has not yet).
   *
   * @param signal A signal name or number; `"SIGTERM"` when left out.
   * @throws {TypeError} For an unknown signal.
   */
  kill(signal: string | number = "SIGTERM"): void {
    if (this.#child) this.#child.kill(signal);
    else this.#pendingSignal = requireSignal(signal);
  }

  /** Makes the running program keep this process alive (the default), as `Deno.ChildProcess.ref()`. */
  ref(): void {
    this.#unref = false;
    this.#child?.ref();
  }

  /**
   * Lets this process end while the program runs, as `Deno.ChildProcess.unref()`;
   * awaiting the command does not keep it alive then.
   */
  unref(): void {
    this.#unref = true;
    this.#child?.unref();
  }

  /** @internal Starts the program of a command. */
  static _start(state: State, capture: boolean): CommandChild {
    let onStart!: (child: Child) => void;
    let onFail!: (error: unknown) => void;
    const started = new Promise<Child>((resolve, reject) => {
      onStart = resolve;
      onFail = reject;
    });
    started.catch(() => {});
    const promise = new CommandChild((resolve, reject) => {
      run(state, capture, (child, merged) => {
        promise.#child = child;
        promise.#merged = merged;
        if (promise.#unref) child.unref();
        if (promise.#pendingSignal !== undefined) child.kill(promise.#pendingSignal);
        onStart(child);
      }).then(resolve, (error) => {
        onFail(error);
        reject(error);
      });
    });
    promise.#started = started;
    return promise;
  }
}

/** Runs a command to its end when nobody needs the running child: no CommandChild to make. */
function runToEnd(state: State): Promise<CommandResult> {
  return run(state, true, () => {});
}

/** The standard streams of a start: what the engine gets, what to feed, what to close once it started. */
interface Stdio {
  readonly stdin: StdioSpec;
  readonly stdout: StdioSpec;
  readonly stderr: StdioSpec;
  readonly feed: Uint8Array | ReadableStream<Uint8Array> | undefined;
  /** Descriptors opened for the start: the child gets copies, these are closed once it started. */
  readonly opened: number[];
  /** The read end of a pipe that stdout and stderr share (`.stderr("stdout")` with stdout piped). */
  readonly merged: number | undefined;
}

function isFile(target: unknown): target is FileTarget {
  return typeof target === "object" && target !== null && "file" in target;
}

function isFd(target: unknown): target is FdTarget {
  return typeof target === "object" && target !== null && "fd" in target && !("file" in target);
}

/** Opens a file of a redirection, where the command's view sees it. */
function openTarget(target: FileTarget, mode: OpenMode, view: FileView | undefined): number {
  let path: string;
  if (target.file instanceof URL) {
    if (target.file.protocol !== "file:") {
      throw new TypeError(`Cannot open "${target.file.href}": only file: URLs name files`);
    }
    path = decodeURIComponent(target.file.pathname);
  } else {
    path = target.file;
  }
  return openFile(path, mode, view ?? hostView());
}

/** A pipe, close-on-exec: `[read, write]`. */
function pipeFds(): [number, number] {
  const fds = new Int32Array(2);
  if (libc().pipe2(fds, O_CLOEXEC) < 0) throw new SyscallError("pipe2", errno(), { operation: "create a pipe" });
  return [fds[0]!, fds[1]!];
}

function closeFds(fds: readonly (number | undefined)[]): void {
  for (const fd of fds) if (fd !== undefined) libc().close(fd);
}

/** Resolves a command's standard streams into what the engine takes, opening its files. */
async function resolveStdio(state: State): Promise<Stdio> {
  const opened: number[] = [];
  try {
    const input = state.stdin;
    let stdin: StdioSpec;
    let feed: Uint8Array | ReadableStream<Uint8Array> | undefined;
    if (input === "inherit" || input === "piped" || input === "null") stdin = input;
    else if (isFd(input)) stdin = { fd: input.fd };
    else if (isFile(input)) {
      const fd = openTarget(input, "read", state.view);
      opened.push(fd);
      stdin = { fd };
    } else {
      stdin = "piped";
      feed = "text" in input ? new TextEncoder().encode(input.text) : input as Uint8Array | ReadableStream<Uint8Array>;
    }
    const output = (target: StdioMode | FileTarget | FdTarget): StdioSpec => {
      if (typeof target === "string") return target;
      if (isFd(target)) return { fd: target.fd };
      const fd = openTarget(target, target.append ? "append" : "write", state.view);
      opened.push(fd);
      return { fd };
    };
    if (state.stdout === "stderr" && state.stderr === "stdout") {
      throw new TypeError("Cannot send standard output to standard error and standard error to standard output");
    }
    let stdout = state.stdout === "stderr" ? undefined : output(state.stdout);
    let stderr = state.stderr === "stdout" ? undefined : output(state.stderr);
    let merged: number | undefined;
    // One stream follows the other: its descriptor, its mode, or one pipe for both.
    const follow = (other: StdioSpec, own: number): StdioSpec => {
      if (other === "inherit") return { fd: own };
      if (other !== "piped") return other;
      const [read, write] = pipeFds();
      opened.push(write);
      merged = read;
      return { fd: write };
    };
    if (stdout === undefined) stdout = stderr = follow(stderr!, 2);
    else if (stderr === undefined) stderr = stdout = follow(stdout, 1);
    if (merged !== undefined) (await import("./reactor.ts")).nonblocking(merged);
    return { stdin, stdout, stderr, feed, opened, merged };
  } catch (error) {
    closeFds(opened);
    throw error;
  }
}

async function run(
  state: State,
  capture: boolean,
  onStart: (child: Child, merged: number | undefined) => void,
): Promise<CommandResult> {
  for (const guard of state.guards) guard();
  const p = planOf(state.steps);
  // Unchanged, this process's environment goes to the child as it is.
  let env: Record<string, string> | undefined;
  if (state.clearEnv || Object.keys(state.env).length) {
    env = state.clearEnv ? {} : Deno.env.toObject();
    for (const [k, v] of Object.entries(state.env)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
  }
  state.signal?.throwIfAborted();
  const simple = typeof state.stdin === "string" && typeof state.stdout === "string" &&
    typeof state.stderr === "string" && state.stdout !== "stderr" && state.stderr !== "stdout";
  const stdio: Stdio = simple
    ? {
      stdin: state.stdin as StdioMode,
      stdout: state.stdout as StdioMode,
      stderr: state.stderr as StdioMode,
      feed: undefined,
      opened: [],
      merged: undefined,
    }
    : await resolveStdio(state);
  let child: Child;
  try {
    child = await start(p, {
      argv: state.argv,
      ...(env ? { env } : {}),
      stdin: stdio.stdin,
      stdout: stdio.stdout,
      stderr: stdio.stderr,
      ...(state.fds.length ? { fds: state.fds } : {}),
    });
  } catch (error) {
    closeFds([...stdio.opened, stdio.merged]);
    throw error;
  } finally {
    // The child has its copies: these would keep its pipes open.
    closeFds(stdio.opened.splice(0));
  }
  const feed = stdio.feed;
  onStart(child, capture ? undefined : stdio.merged);
  let timedOut = false;
  let aborted = false;
  // A program that ended can leave its pipes open (a background process of
  // its own holds them): then the limit ends the reading and the writing too.
  const end = () => {
    child.kill("SIGKILL");
    child.abandonPipes();
  };
  const timer = state.timeout === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    end();
  }, state.timeout);
  const onAbort = () => {
    aborted = true;
    end();
  };
  state.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const piped = stdio.stdout === "piped" || stdio.stderr === "piped";
    const merged = capture && stdio.merged !== undefined;
    const [status, [stdout, stderr]] = capture && (piped || merged) || feed !== undefined
      ? await Promise.all([
        child.status,
        merged
          ? captureMerged(child, stdio.merged!, state.stdout === "stderr")
          : capture
          ? child.capture()
          : [EMPTY, EMPTY] as const,
        feed === undefined ? undefined : feedStdin(child, feed),
      ])
      : [await child.status, [EMPTY, EMPTY] as const];
    if (timedOut || aborted || (!status.success && !state.noThrow)) {
      throw new CommandError(state.argv, {
        status,
        stderr: decoder.decode(stderr),
        timedOut,
        aborted,
      });
    }
    return result(status, stdout, stderr);
  } finally {
    clearTimeout(timer);
    state.signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Reads the pipe stdout and stderr share to its end: it is stdout (2>&1),
 * or stderr when stdout follows stderr (`>&2`); the other is empty.
 */
async function captureMerged(child: Child, fd: number, toStderr: boolean): Promise<readonly [Uint8Array, Uint8Array]> {
  const { drain } = await import("./fdstream.ts");
  const [bytes] = await drain([fd], "the program's output", child.pipesAbandoned);
  return toStderr ? [EMPTY, bytes!] : [bytes!, EMPTY];
}

async function feedStdin(child: Child, input: Uint8Array | ReadableStream<Uint8Array>): Promise<void> {
  const sink = child.stdin!;
  // A source that has nothing more to give must not outlive the program.
  const exited = new AbortController();
  void child.status.finally(() => exited.abort()).catch(() => {});
  try {
    if (input instanceof ReadableStream) {
      await input.pipeTo(sink, { signal: AbortSignal.any([child.pipesAbandoned, exited.signal]) });
    } else {
      const writer = sink.getWriter();
      await writer.write(input);
      await writer.close();
    }
  } catch {
    // The program may exit without reading all its input, like `head`.
  }
}

function planOf(steps: readonly Step[]): Plan {
  return planHere(steps);
}

/** Reads the state of a command, for pipelines (set by {@linkcode Command}'s static block). */
let stateOf: (command: Command) => State;

/**
 * One program to run in a sandbox. Immutable: each method returns a new
 * command. Awaiting it runs the program and resolves to its result; a non-zero
 * exit rejects with {@linkcode CommandError} unless {@linkcode Command.noThrow}.
 *
 * @example Nothing runs until it is awaited; each method makes a new command
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, sandbox } from "@nsh/nsh";
 *
 * const greet = sandbox(mapRootUser()).run("sh", "-c", 'echo "$GREETING from uid $(id -u)"');
 * assert.equal(await greet.env({ GREETING: "hello" }).text(), "hello from uid 0");
 * const { code } = await sandbox().run("sh", "-c", "exit 3").noThrow(); // awaiting runs it
 * assert.equal(code, 3);
 * ```
 */
export class Command implements PromiseLike<CommandResult> {
  #state: State;

  /**
   * Creates a command; {@linkcode Sandbox.run} is the usual way.
   *
   * @param steps The sandbox's steps.
   * @param argv The program and its arguments.
   * @param guards The sandbox's checks, run before each start; none when left out.
   */
  constructor(steps: readonly Step[], argv: readonly string[], guards: readonly (() => void)[] = []) {
    this.#state = {
      steps,
      guards,
      argv,
      env: {},
      clearEnv: false,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
      view: undefined,
      fds: [],
      noThrow: false,
      timeout: undefined,
      signal: undefined,
    };
  }

  #with(change: Partial<State>): Command {
    const next = new Command(this.#state.steps, this.#state.argv, this.#state.guards);
    next.#state = { ...this.#state, ...change };
    return next;
  }

  /** The program and its arguments. */
  get argv(): readonly string[] {
    return this.#state.argv;
  }

  /**
   * Standard input: `"inherit"`, `"null"`, `"piped"` (write to the running
   * child's stream), a file (`{ file }`, as sh's `<`), a descriptor of this
   * process (`{ fd }`), or bytes or a stream to feed.
   *
   * @example Read a file, as `wc -l < /etc/passwd`
   * ```ts
   * import assert from "node:assert/strict";
   * import { sandbox } from "@nsh/nsh";
   *
   * const lines = await sandbox().run("wc", "-l").stdin({ file: "/etc/passwd" }).text();
   * assert.match(lines, /^\d+$/);
   * ```
   *
   * @param input What the program reads.
   * @returns A new command.
   */
  stdin(input: StdinInput): Command {
    return this.#with({ stdin: input });
  }

  /**
   * Feeds text to standard input (sh's here-document).
   *
   * @param text The text.
   * @returns A new command.
   */
  stdinText(text: string): Command {
    return this.#with({ stdin: { text } });
  }

  /**
   * Standard output: `"inherit"`, `"piped"`, `"null"`, a file (`{ file }`
   * truncates it, as sh's `>`; `{ file, append: true }` appends, as `>>`),
   * a descriptor of this process (`{ fd }`), or `"stderr"`: wherever
   * standard error goes (`>&2`; with `.output()`, both are captured as
   * stderr).
   *
   * @example Write a program's output to a file, then append to it
   * ```ts
   * import assert from "node:assert/strict";
   * import { sandbox } from "@nsh/nsh";
   *
   * const box = sandbox();
   * const file = await Deno.makeTempFile();
   * await box.run("echo", "one").stdout({ file });
   * await box.run("echo", "two").stdout({ file, append: true });
   * assert.equal(await Deno.readTextFile(file), "one\ntwo\n");
   * await Deno.remove(file);
   * ```
   *
   * @param target Where it goes.
   * @returns A new command.
   */
  stdout(target: StdoutTarget): Command {
    return this.#with({ stdout: target });
  }

  /**
   * Standard error: `"inherit"`, `"piped"`, `"null"`, a file (`{ file }`,
   * `{ file, append: true }`), a descriptor (`{ fd }`), or `"stdout"`:
   * wherever standard output goes, after its own redirection (sh's `2>&1`;
   * with `.output()` or `.text()`, both are captured as stdout).
   *
   * @example Capture both streams as one, as `2>&1`
   * ```ts
   * import assert from "node:assert/strict";
   * import { sandbox } from "@nsh/nsh";
   *
   * const text = await sandbox().run("sh", "-c", "echo out; echo err >&2").stderr("stdout").text();
   * assert.equal(text, "out\nerr");
   * ```
   *
   * @param target Where it goes.
   * @returns A new command.
   */
  stderr(target: StderrTarget): Command {
    return this.#with({ stderr: target });
  }

  /**
   * Opens the files of its redirections where a context sees them: relative
   * to the context's working directory, through its mounts and root. A
   * command of {@linkcode Context.run} has its context already.
   *
   * @example A file in the context's own /tmp
   * ```ts
   * import assert from "node:assert/strict";
   * import { unshare } from "@nsh/nsh";
   *
   * await using ctx = await unshare({ user: true, mapRootUser: true, mount: true }).tmpfs("/tmp").hold();
   * ctx.cwd = "/"; // (a checkout under /tmp is hidden by the new /tmp)
   * // A program of the context's sandbox with a namespace more, its output in the context's /tmp.
   * await ctx.sandbox().with(unshare({ uts: true })).hostname("inner").run("hostname").within(ctx)
   *   .stdout({ file: "/tmp/name" });
   * assert.equal(await ctx.run("cat", "/tmp/name").text(), "inner");
   * ```
   *
   * @param view The context (or anything with a `cwd` and a `hostPath()`).
   * @returns A new command.
   */
  within(view: FileView): Command {
    return this.#with({ view });
  }

  /**
   * Connects this command's standard output to the standard input of
   * another, as sh's `|`: both run at once, the data goes from one to the
   * other through a pipe, and the pipeline's status is the last command's
   * (see {@linkcode Pipeline.pipefail}).
   *
   * @example Count the processes that a new PID namespace holds
   * ```ts
   * import assert from "node:assert/strict";
   * import { unshare } from "@nsh/nsh";
   *
   * // Each program gets namespaces of its own: ls sees its own process alone.
   * const box = unshare({ user: true, mapRootUser: true, pid: true, mountProc: true });
   * const count = await box.run("ls", "/proc").pipe(box.run("grep", "-c", "^[0-9]")).text();
   * assert.equal(count, "1");
   * ```
   *
   * @param next The command that reads what this one writes, or a pipeline that starts with it.
   * @returns The pipeline.
   */
  pipe(next: Command | Pipeline): Pipeline {
    return new Pipeline([this]).pipe(next);
  }

  static {
    stateOf = (command) => command.#state;
  }

  /**
   * Passes descriptors of this process on to the program, at the same
   * numbers. Without it, the program gets none above 2: not those this
   * process inherited, nor those it opened.
   *
   * @example Give the program a file this process opened, at its number
   * ```ts
   * import assert from "node:assert/strict";
   * import { OpenFile, unshare } from "@nsh/nsh";
   *
   * using file = new OpenFile("/etc/hostname");
   * const box = unshare({ user: true, mapRootUser: true });
   * assert.equal(await box.run("cat", `/dev/fd/${file.fd}`).passFds(file.fd).text(), Deno.readTextFileSync("/etc/hostname").trim());
   * ```
   *
   * @param fds The descriptors.
   * @returns A new command.
   * @throws {RangeError} For a number that is no descriptor above 2.
   */
  passFds(...fds: number[]): Command {
    for (const fd of fds) {
      if (!Number.isInteger(fd) || fd < 3 || fd > 0x7fffffff) {
        throw new RangeError(`Cannot pass descriptor ${fd} on: descriptors 0 to 2 are stdin(), stdout() and stderr()`);
      }
    }
    return this.#with({ fds: [...this.#state.fds, ...fds] });
  }

  /**
   * Sets environment variables, on top of this process's environment unless
   * {@linkcode Command.clearEnv} was called. `undefined` removes a variable.
   *
   * @param vars The variables.
   * @returns A new command.
   */
  env(vars: Record<string, string | undefined>): Command {
    return this.#with({ env: { ...this.#state.env, ...vars } });
  }

  /**
   * Starts from an empty environment instead of this process's.
   *
   * @returns A new command.
   */
  clearEnv(): Command {
    return this.#with({ clearEnv: true });
  }

  /**
   * Resolves instead of rejecting when the program exits non-zero or is killed
   * by a signal. Timeouts and aborts still reject.
   *
   * @param value `true` (when left out) to resolve with the status, `false` to reject again.
   * @returns A new command.
   */
  noThrow(value = true): Command {
    return this.#with({ noThrow: value });
  }

  /**
   * Kills the program with SIGKILL after `ms` milliseconds; the command then
   * rejects with a {@linkcode CommandError} whose `timedOut` is true. Output
   * that is still open then (a process the program left behind holds it) is
   * read no further.
   *
   * @param ms The time limit.
   * @returns A new command.
   * @throws {RangeError} When `ms` is negative, not a number or above 2^31 - 1.
   */
  timeout(ms: number): Command {
    if (!(ms >= 0 && ms <= MAX_TIMEOUT)) {
      throw new RangeError(`Cannot set a timeout of ${ms} ms: it must be from 0 to ${MAX_TIMEOUT}`);
    }
    return this.#with({ timeout: ms });
  }

  /**
   * Kills the program with SIGKILL when `signal` aborts; the command then
   * rejects with a {@linkcode CommandError} whose `aborted` is true. A signal
   * that aborted before the start starts nothing: the command rejects with its
   * reason, as `fetch()` does.
   *
   * @param signal The abort signal.
   * @returns A new command.
   */
  signal(signal: AbortSignal): Command {
    return this.#with({ signal });
  }

  /**
   * Starts the program. Piped streams are the caller's to read and write.
   *
   * @returns The running command.
   */
  spawn(): CommandChild {
    return CommandChild._start(this.#state, false);
  }

  /**
   * Runs the program and captures stdout and stderr unless told otherwise.
   *
   * @returns The result.
   */
  output(): Promise<CommandResult> {
    const s = this.#state;
    return runToEnd({
      ...s,
      stdout: s.stdout === "inherit" ? "piped" : s.stdout,
      stderr: s.stderr === "inherit" ? "piped" : s.stderr,
    });
  }

  /**
   * Runs the program and resolves to its standard output, without the final
   * newline.
   *
   * @returns The text.
   */
  async text(): Promise<string> {
    const r = await runToEnd({ ...this.#state, stdout: "piped" });
    return r.stdoutText.replace(/\r?\n$/, "");
  }

  /**
   * Runs the program and resolves to the lines of its standard output.
   *
   * @returns The lines, without a last empty one.
   */
  async lines(): Promise<string[]> {
    const text = await this.text();
    return text === "" ? [] : text.split(/\r?\n/);
  }

  /**
   * Runs the program and resolves to its standard output as bytes.
   *
   * @returns The bytes.
   */
  async bytes(): Promise<Uint8Array> {
    return (await runToEnd({ ...this.#state, stdout: "piped" })).stdout;
  }

  /**
   * Runs the program and parses its standard output as JSON.
   *
   * @returns The parsed value.
   */
  async json<T = unknown>(): Promise<T> {
    return JSON.parse(await this.text()) as T;
  }

  /**
   * Runs the program (captures nothing that was not piped).
   *
   * @param onfulfilled Called with the result.
   * @param onrejected Called with the error.
   * @returns A promise of what the callbacks return.
   */
  then<A = CommandResult, B = never>(
    onfulfilled?: ((value: CommandResult) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return runToEnd(this.#state).then(onfulfilled, onrejected);
  }

  /**
   * Runs the program and handles a failure.
   *
   * @param onrejected Called with the error.
   * @returns A promise of the result or of what the callback returns.
   */
  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<CommandResult | B> {
    return this.then(undefined, onrejected);
  }

  /**
   * Runs the program and calls `onfinally` when it has ended, either way.
   *
   * @param onfinally Called without arguments.
   * @returns A promise of the result.
   */
  finally(onfinally?: (() => void) | null): Promise<CommandResult> {
    return runToEnd(this.#state).finally(onfinally);
  }
}

/**
 * The outcome of a pipeline: its status (its last command's; with
 * {@linkcode Pipeline.pipefail}, the last one's that failed), what its last
 * command wrote when captured, and how each command ended.
 */
export interface PipelineResult extends CommandResult {
  /**
   * How each command ended, in order. A command that could not start has
   * the status sh gives it: 127 when not found, 126 when it cannot be
   * executed, 1 when a setup step failed.
   */
  readonly statuses: readonly ExitStatus[];
}

/** Options of a {@linkcode Pipeline}. */
interface PipelineOptions {
  readonly noThrow: boolean;
  readonly pipefail: boolean;
}

/** What a pipeline captures of its last command. */
type Capture = "none" | "stdout" | "output";

/**
 * Commands connected by pipes, as sh's `a | b | c`: each command's standard
 * output is the next one's standard input (unless the command redirects it
 * itself), they all run at once, and the data goes between them directly,
 * through the kernel. Made by {@linkcode Command.pipe}. Immutable and
 * thenable, like a command: awaiting it runs it; a status other than 0
 * rejects with a {@linkcode CommandError} unless {@linkcode Pipeline.noThrow}.
 *
 * @example Three programs, as `printf … | sort -u | wc -l`
 * ```ts
 * import assert from "node:assert/strict";
 * import { sandbox } from "@nsh/nsh";
 *
 * const box = sandbox();
 * const pipeline = box.run("printf", "b\\na\\nb\\n").pipe(box.run("sort", "-u")).pipe(box.run("wc", "-l"));
 * assert.equal(await pipeline.text(), "2");
 * // The status is the last program's, as in sh; with pipefail, the last that failed.
 * const { code } = await box.run("false").pipe(box.run("true")).pipefail().noThrow();
 * assert.equal(code, 1);
 * ```
 */
export class Pipeline implements PromiseLike<PipelineResult> {
  readonly #commands: readonly Command[];
  readonly #options: PipelineOptions;

  /**
   * Creates a pipeline; {@linkcode Command.pipe} is the usual way.
   *
   * @param commands The commands, in order (at least one).
   * @throws {TypeError} When there is none.
   */
  constructor(commands: readonly Command[]) {
    if (!commands.length) throw new TypeError("Cannot make a pipeline of no command");
    this.#commands = [...commands];
    this.#options = { noThrow: false, pipefail: false };
  }

  #with(change: Partial<PipelineOptions>, commands = this.#commands): Pipeline {
    const next = new Pipeline(commands);
    Object.assign(next.#options, this.#options, change);
    return next;
  }

  /** The commands, in order. */
  get commands(): readonly Command[] {
    return this.#commands;
  }

  /**
   * Adds a command (or the commands of a pipeline) at the end.
   *
   * @param next What reads this pipeline's output.
   * @returns A new pipeline.
   */
  pipe(next: Command | Pipeline): Pipeline {
    const more = next instanceof Pipeline ? next.#commands : [next];
    return this.#with({}, [...this.#commands, ...more]);
  }

  /**
   * Resolves instead of rejecting when the pipeline's status is not 0.
   *
   * @param value `true` (when left out) to resolve with the status, `false` to reject again.
   * @returns A new pipeline.
   */
  noThrow(value = true): Pipeline {
    return this.#with({ noThrow: value });
  }

  /**
   * Makes the pipeline's status the last non-zero status of its commands,
   * as sh's `set -o pipefail` does, instead of the last command's.
   *
   * @param value Whether to; `true` when left out.
   * @returns A new pipeline.
   */
  pipefail(value = true): Pipeline {
    return this.#with({ pipefail: value });
  }

  /**
   * Starts the commands. The result is the pipeline's; `kill()` signals
   * every command.
   *
   * @returns The running pipeline.
   */
  spawn(): PipelineChild {
    return PipelineChild._start(this.#commands, this.#options);
  }

  /**
   * Runs the pipeline and captures its last command's stdout and stderr,
   * unless they are redirected.
   *
   * @returns The result.
   */
  output(): Promise<PipelineResult> {
    return runPipeline(this.#commands, this.#options, "output");
  }

  /**
   * Runs the pipeline and resolves to its last command's standard output,
   * without the final newline.
   *
   * @returns The text.
   */
  async text(): Promise<string> {
    const r = await runPipeline(this.#commands, this.#options, "stdout");
    return r.stdoutText.replace(/\r?\n$/, "");
  }

  /**
   * Runs the pipeline and resolves to the lines of its last command's output.
   *
   * @returns The lines, without a last empty one.
   */
  async lines(): Promise<string[]> {
    const text = await this.text();
    return text === "" ? [] : text.split(/\r?\n/);
  }

  /**
   * Runs the pipeline and resolves to its last command's output as bytes.
   *
   * @returns The bytes.
   */
  async bytes(): Promise<Uint8Array> {
    return (await runPipeline(this.#commands, this.#options, "stdout")).stdout;
  }

  /**
   * Runs the pipeline (captures nothing that was not piped).
   *
   * @param onfulfilled Called with the result.
   * @param onrejected Called with the error.
   * @returns A promise of what the callbacks return.
   */
  then<A = PipelineResult, B = never>(
    onfulfilled?: ((value: PipelineResult) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return runPipeline(this.#commands, this.#options, "none").then(onfulfilled, onrejected);
  }

  /**
   * Runs the pipeline and handles a failure.
   *
   * @param onrejected Called with the error.
   * @returns A promise of the result or of what the callback returns.
   */
  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<PipelineResult | B> {
    return this.then(undefined, onrejected);
  }

  /**
   * Runs the pipeline and calls `onfinally` when it has ended, either way.
   *
   * @param onfinally Called without arguments.
   * @returns A promise of the result.
   */
  finally(onfinally?: (() => void) | null): Promise<PipelineResult> {
    return runPipeline(this.#commands, this.#options, "none").finally(onfinally);
  }
}

/**
 * A running pipeline: a promise of its result, with `kill()` for all its commands.
 *
 * @example A running pipeline, stopped as a whole
 * ```ts
 * import assert from "node:assert/strict";
 * import { sandbox } from "@nsh/nsh";
 *
 * const box = sandbox();
 * const child = box.run("sleep", "60").pipe(box.run("sleep", "60")).noThrow().spawn();
 * child.kill(); // every command, also those not started yet
 * const { statuses } = await child;
 * assert.deepEqual(statuses.map((status) => status.signal), ["SIGTERM", "SIGTERM"]);
 * ```
 */
export class PipelineChild extends Promise<PipelineResult> {
  /** Promises derived from a pipeline are plain promises. */
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  #children: (Child | undefined)[] = [];
  #pendingSignal: number | undefined;

  /** The pids of its commands, in order, once each has started. */
  get pids(): (number | undefined)[] {
    return this.#children.map((child) => child?.pid);
  }

  /**
   * Sends a signal to every command (to those that start later too).
   *
   * @param signal A signal name or number; `"SIGTERM"` when left out.
   * @throws {TypeError} For an unknown signal.
   */
  kill(signal: string | number = "SIGTERM"): void {
    const signo = requireSignal(signal);
    this.#pendingSignal = signo;
    for (const child of this.#children) child?.kill(signo);
  }

  /** @internal Starts the commands of a pipeline. */
  static _start(commands: readonly Command[], options: PipelineOptions): PipelineChild {
    const children: (Child | undefined)[] = [];
    const promise: PipelineChild = new PipelineChild((resolve, reject) => {
      runPipeline(commands, options, "none", (i, child) => {
        children[i] = child;
        if (promise.#pendingSignal !== undefined) child.kill(promise.#pendingSignal);
      }).then(resolve, reject);
    });
    promise.#children = children;
    return promise;
  }
}

/** The status sh gives a command that could not start. */
function startStatus(error: unknown): ExitStatus {
  const code = error instanceof SyscallError && error.syscall === "execve" ? (error.code === "ENOENT" ? 127 : 126) : 1;
  return { code, signal: null, success: false };
}

async function runPipeline(
  commands: readonly Command[],
  options: PipelineOptions,
  capture: Capture,
  track?: (index: number, child: Child) => void,
): Promise<PipelineResult> {
  const states = commands.map((command) => stateOf(command));
  const n = states.length;
  const pipes: [number, number][] = [];
  try {
    for (let i = 0; i < n - 1; i++) pipes.push(pipeFds());
  } catch (error) {
    closeFds(pipes.flat());
    throw error;
  }
  const stages = states.map((state, i) => {
    // The pipes first; a command's own redirection wins, as in sh.
    const ends: number[] = [];
    let s: State = { ...state, noThrow: true };
    if (i > 0) {
      ends.push(pipes[i - 1]![0]);
      if (s.stdin === "inherit") s = { ...s, stdin: { fd: pipes[i - 1]![0] } };
    }
    if (i < n - 1) {
      ends.push(pipes[i]![1]);
      if (s.stdout === "inherit") s = { ...s, stdout: { fd: pipes[i]![1] } };
    } else if (capture !== "none") {
      s = {
        ...s,
        stdout: capture === "stdout" || s.stdout === "inherit" ? "piped" : s.stdout,
        stderr: capture === "output" && s.stderr === "inherit" ? "piped" : s.stderr,
      };
    }
    // Once a command has its copies, these ends would keep its pipes open.
    let closed = false;
    const close = () => {
      if (!closed) closeFds(ends);
      closed = true;
    };
    return run(s, capture !== "none" && i === n - 1, (child) => {
      close();
      track?.(i, child);
    }).finally(close);
  });
  const settled = await Promise.allSettled(stages);
  const statuses: ExitStatus[] = [];
  const failures: (unknown | undefined)[] = [];
  for (const outcome of settled) {
    if (outcome.status === "fulfilled") {
      const { code, signal, success } = outcome.value;
      statuses.push({ code, signal, success });
      failures.push(undefined);
    } else {
      // A timeout or an abort ends the pipeline's wait as it ends a command's.
      if (outcome.reason instanceof CommandError) throw outcome.reason;
      if (!(outcome.reason instanceof SyscallError)) throw outcome.reason;
      statuses.push(startStatus(outcome.reason));
      failures.push(outcome.reason);
    }
  }
  const failed = statuses.findLastIndex((status) => !status.success);
  const deciding = options.pipefail && failed >= 0 ? failed : n - 1;
  if (failures[deciding] !== undefined) throw failures[deciding];
  const last = settled[n - 1]!;
  const captured = last.status === "fulfilled" ? last.value : undefined;
  const status = statuses[deciding]!;
  const stderr = captured?.stderr ?? EMPTY;
  if (!status.success && !options.noThrow) {
    throw new CommandError(states[deciding]!.argv, { status, stderr: decoder.decode(stderr) });
  }
  return Object.assign(result(status, captured?.stdout ?? EMPTY, stderr), { statuses });
}
