/**
 * Commands: an immutable, thenable builder for running one program in a
 * sandbox, with capture helpers in the manner of dax.
 *
 * @module
 */

import { type Child, type ExitStatus, start, type StdioMode } from "./engine.ts";
import { type Plan, planHere } from "./plan.ts";
import type { Step } from "./steps.ts";
import { requireSignal } from "../ffi/signals.ts";
import type { Usage } from "./cgroup.ts";

/** What the program reads on standard input: a mode, or bytes or a stream to feed. */
export type StdinInput = StdioMode | Uint8Array | ReadableStream<Uint8Array>;

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

/** A command failed: a non-zero exit, a signal, a timeout or an abort. */
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
  readonly stdout: StdioMode;
  readonly stderr: StdioMode;
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
 */
export class CommandChild extends Promise<CommandResult> {
  /** Promises derived from a child are plain promises. */
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  #child: Child | undefined;
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

  /** The program's standard output, when piped. */
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
          const stream = pick(await this.#started!);
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
   * @param signal A signal name or number.
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
      run(state, capture, (child) => {
        promise.#child = child;
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

async function run(state: State, capture: boolean, onStart: (child: Child) => void): Promise<CommandResult> {
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
  const input = state.stdin;
  const isMode = input === "inherit" || input === "piped" || input === "null";
  const feed = isMode ? undefined : "text" in input ? new TextEncoder().encode(input.text) : input;
  state.signal?.throwIfAborted();
  const child = await start(p, {
    argv: state.argv,
    ...(env ? { env } : {}),
    stdin: isMode ? input : "piped",
    stdout: state.stdout,
    stderr: state.stderr,
    ...(state.fds.length ? { fds: state.fds } : {}),
  });
  onStart(child);
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
    const piped = state.stdout === "piped" || state.stderr === "piped";
    const [status, [stdout, stderr]] = capture && piped || feed !== undefined
      ? await Promise.all([
        child.status,
        capture ? child.capture() : [EMPTY, EMPTY] as const,
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

/**
 * One program to run in a sandbox. Immutable: each method returns a new
 * command. Awaiting it runs the program and resolves to its result; a non-zero
 * exit rejects with {@linkcode CommandError} unless {@linkcode Command.noThrow}.
 */
export class Command implements PromiseLike<CommandResult> {
  #state: State;

  /**
   * Creates a command; {@linkcode Sandbox.run} is the usual way.
   *
   * @param steps The sandbox's steps.
   * @param argv The program and its arguments.
   * @param guards The sandbox's checks, run before each start.
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
   * child's stream), or bytes or a stream to feed.
   *
   * @param input What the program reads.
   * @returns A new command.
   */
  stdin(input: StdinInput): Command {
    return this.#with({ stdin: input });
  }

  /**
   * Feeds text to standard input.
   *
   * @param text The text.
   * @returns A new command.
   */
  stdinText(text: string): Command {
    return this.#with({ stdin: { text } });
  }

  /**
   * Standard output.
   *
   * @param mode `"inherit"`, `"piped"` or `"null"`.
   * @returns A new command.
   */
  stdout(mode: StdioMode): Command {
    return this.#with({ stdout: mode });
  }

  /**
   * Standard error.
   *
   * @param mode `"inherit"`, `"piped"` or `"null"`.
   * @returns A new command.
   */
  stderr(mode: StdioMode): Command {
    return this.#with({ stderr: mode });
  }

  /**
   * Passes descriptors of this process on to the program, at the same
   * numbers. Without it, the program gets none above 2: not those this
   * process inherited, nor those it opened.
   *
   * @example Give the program a descriptor nsh inherited
   * ```ts ignore
   * import { unshare } from "./mod.ts";
   *
   * // Run as `deno run -A script.ts 3<secret.txt`: `cat` reads fd 3.
   * await unshare({ user: true, mapRootUser: true }).run("cat", "/dev/fd/3").passFds(3);
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
   * @param value Whether to throw.
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
