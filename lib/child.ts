/**
 * A child of this process that nsh started: its exit status, its pipes,
 * signals sent to it (through the shield the kernel puts around PID 1 of a
 * new PID namespace), the report of nsh's init on the program under it, and
 * what its steps hold for it (a box's cgroup), ended once it is reaped.
 * lib/engine.ts starts children; this module only supervises them.
 *
 * @module
 */

import { errno, libc } from "../ffi/libc.ts";
import { CLD_EXITED, EAGAIN, EINTR, ESRCH, P_PID, SIGKILL, WEXITED, WNOHANG, WNOWAIT } from "../ffi/constants.ts";
import { routine } from "../ffi/routine.ts";
import { SyscallError } from "../ffi/error.ts";
import { requireSignal, signalName } from "../ffi/signals.ts";
import type { Plan } from "./plan.ts";
import type { Step } from "./steps.ts";
import type { Held, HeldReport } from "./steps/_kind.ts";
import type { Usage } from "./cgroup.ts";
import { signalIfSame, startTime } from "./system.ts";
import { READABLE, type Wait, waitFor } from "./reactor.ts";

/** How a child ended. */
export interface ExitStatus {
  /** The exit code, or 128 + the signal number when a signal ended it. */
  readonly code: number;
  /** The name of the signal that ended it, or `null`. */
  readonly signal: string | null;
  /** Whether the code is 0. */
  readonly success: boolean;
  /** What the program's box used, when it had one (`limits()`): read once it had ended. */
  readonly usage?: Usage;
  /** The OOM killer killed the program (its box reached its memory limit). */
  readonly oomKilled?: boolean;
}

/** Signals whose default action ends a process (all but CHLD, CONT, STOP, TSTP, TTIN, TTOU, URG, WINCH; KILL is never shielded). */
const ENDS_A_PROCESS = new Set([1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 24, 25, 26, 27, 29, 30, 31]);

const running = new Set<Child>();
/** This process's name and program, as /proc shows them. */
let own: { name: string; exe: string } | undefined;

/**
 * The children nsh started (each a {@linkcode Child}) that have not been
 * reaped yet.
 *
 * @returns A snapshot of them.
 */
export function runningChildren(): Child[] {
  return [...running];
}

/**
 * A program running in new namespaces, started by `start()` of lib/engine.ts (a command's `started` gives it).
 *
 * @example The child behind a command: its pid, its plan, its status
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, sandbox } from "@nsh/nsh";
 *
 * const command = sandbox(mapRootUser()).run("sleep", "60").noThrow().spawn();
 * const child = await command.started;
 * assert.equal(child.pid, command.pid);
 * assert.deepEqual(child.plan.namespaces, ["user"]); // implied by mapRootUser()
 * child.kill("SIGTERM");
 * assert.equal((await child.status).signal, "SIGTERM");
 * await command;
 * ```
 */
export class Child {
  /** The pid, as this process sees it. */
  readonly pid: number;
  /** Settles once the child has ended and has been reaped. */
  readonly status: Promise<ExitStatus>;
  /** The plan the child was set up with. */
  readonly plan: Plan;
  #ended = false;
  /** The parent ends of piped stdin, stdout and stderr. */
  readonly #fds: readonly (number | undefined)[];
  readonly #io: typeof import("./fdstream.ts") | undefined;
  #stdin: WritableStream<Uint8Array> | undefined;
  #stdout: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #stderr: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #captured = false;
  #ref: boolean;
  #waiting: Wait | undefined;
  /** Made when pipes need it: most children have none. */
  #abandoned: AbortController | undefined;
  /** What its steps hold for it (a box's cgroup), ended once it is reaped. */
  readonly #held: readonly Held[];
  /** Whether this process sent it SIGKILL. */
  #killed = false;
  /** The wait for nsh's init's report. */
  #reporting: Wait | undefined;
  /** Where nsh's init reports the program's status, when the child is one. */
  readonly #report: number | undefined;
  /** The program's pid, under nsh's init. */
  #program: { pid: number; start: number } | undefined;
  /** nsh's init reported the program's status: it has ended. */
  #programEnded = false;

  /**
   * Wraps a started child and begins waiting for it; `start()` of lib/engine.ts makes these.
   *
   * @param pid The child's pid.
   * @param plan Its plan.
   * @param fds The parent ends of its piped stdin, stdout and stderr; none when left out.
   * @param io The pipe streams module, when something is piped.
   * @param ref Whether waiting for it keeps this process alive; `true` when left out.
   * @param held What its steps hold for it, to end once it is reaped; nothing when left out.
   * @param report When the child is nsh's init: the pipe it reports the program's status on.
   */
  constructor(
    pid: number,
    plan: Plan,
    fds: readonly (number | undefined)[] = [],
    io?: typeof import("./fdstream.ts"),
    ref = true,
    held: readonly Held[] = [],
    report?: number,
  ) {
    this.pid = pid;
    this.plan = plan;
    this.#fds = fds;
    this.#io = io;
    this.#ref = ref;
    this.#held = held;
    this.#report = report;
    running.add(this);
    // Known now, while the init has it as its first child: later, that pid
    // may be another process's.
    if (report !== undefined) this.#programPid();
    this.status = this.#wait();
  }

  /**
   * Makes waiting for the child keep Deno's event loop alive (the default for
   * programs), as a running `Deno.Command` child does.
   */
  ref(): void {
    this.#ref = true;
    if (this.#waiting) this.#waiting.ref = true;
    if (this.#reporting) this.#reporting.ref = true;
  }

  /**
   * Lets this process end while the child runs (the default for holders, which
   * die with it). Awaiting `status` does not keep the process alive then.
   */
  unref(): void {
    this.#ref = false;
    if (this.#waiting) this.#waiting.ref = false;
    if (this.#reporting) this.#reporting.ref = false;
  }

  /** The write end of the child's stdin, when piped. */
  get stdin(): WritableStream<Uint8Array> | null {
    const fd = this.#fds[0];
    if (fd === undefined) return null;
    return this.#stdin ??= this.#io!.fdWritable(fd, "the program's standard input", this.pipesAbandoned);
  }

  /** The read end of the child's stdout, when piped. */
  get stdout(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    const fd = this.#fds[1];
    if (fd === undefined || this.#captured) return null;
    return this.#stdout ??= this.#io!.fdReadable(fd, "the program's standard output", this.pipesAbandoned);
  }

  /** The read end of the child's stderr, when piped. */
  get stderr(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    const fd = this.#fds[2];
    if (fd === undefined || this.#captured) return null;
    return this.#stderr ??= this.#io!.fdReadable(fd, "the program's standard error", this.pipesAbandoned);
  }

  /**
   * Reads piped stdout and stderr to their ends, both at once. Only before
   * their streams were taken.
   *
   * @returns What each gave (empty when not piped).
   * @throws {TypeError} When a stream was taken already.
   */
  async capture(): Promise<[Uint8Array, Uint8Array]> {
    if (this.#stdout || this.#stderr || this.#captured) {
      throw new TypeError("Cannot capture the output: its streams were taken");
    }
    this.#captured = true;
    const which = [1, 2].filter((i) => this.#fds[i] !== undefined);
    if (!which.length) return [new Uint8Array(), new Uint8Array()];
    const read = await this.#io!.drain(which.map((i) => this.#fds[i]!), "the program's output", this.pipesAbandoned);
    const out: [Uint8Array, Uint8Array] = [new Uint8Array(), new Uint8Array()];
    which.forEach((i, k) => (out[i - 1] = read[k]!));
    return out;
  }

  /**
   * Stops waiting on the child's pipes: a pending read ends as at end of file
   * (a capture with what it had), a pending write fails with an AbortError,
   * and the descriptors close. For a timeout: a process that the program
   * left behind can hold its pipes open for ever.
   */
  abandonPipes(): void {
    (this.#abandoned ??= new AbortController()).abort();
  }

  /** Aborts when {@linkcode Child.abandonPipes} is called. */
  get pipesAbandoned(): AbortSignal {
    return (this.#abandoned ??= new AbortController()).signal;
  }

  /** Whether the child has ended (it may still be a zombie until `status` settles). */
  get ended(): boolean {
    // Asked, not only told: a wait that is not referenced learns of the end
    // only when the event loop has turned (a SIGCHLD, or another wait).
    try {
      if (!this.#ended) this.#look(new Uint8Array(128), false);
    } catch {
      this.#ended = true; // Reaped by someone else: it is not running.
    }
    return this.#ended;
  }

  /**
   * Sends a signal to the child. Does nothing once it has ended: its pid stays
   * reserved until it is reaped, so the signal never reaches another process.
   *
   * A program that is PID 1 of a new PID namespace is shielded by the kernel
   * from every signal it has no handler for (see {@linkcode Child.shielded}):
   * a signal that would end an ordinary process is sent as SIGKILL then, so
   * that `kill()` ends it as it ends any program.
   *
   * SIGKILL kills the whole box at once when the child's steps hold one
   * (`limits()`: every process of its cgroup, also those it forks meanwhile).
   *
   * Under nsh's init (as `nsh bwrap` runs programs), the signal goes to the
   * program while it runs, checked by its start time, never to a later
   * process with its pid; once it has ended, SIGKILL ends the init (with a
   * PID namespace, every process the program left) and other signals do
   * nothing.
   *
   * @param signal A signal name or number; `"SIGTERM"` when left out.
   * @throws {TypeError} For an unknown signal.
   */
  kill(signal: string | number = "SIGTERM"): void {
    let signo = requireSignal(signal);
    if (this.#ended) return;
    // Under nsh's init, the signal is the program's: the init blocks them all.
    if (this.shielded(signo)) signo = SIGKILL;
    if (signo === SIGKILL) {
      this.#killed = true;
      for (const held of this.#held) held.kill?.();
    }
    // Under nsh's init, the program, while it runs; its pid is checked with
    // its start time, as the init reaps it. Once it has ended, SIGKILL ends
    // the init (and, as PID 1, the box); other signals have no one to reach.
    // The child itself is this process's, unreaped until #ended: its pid is its own.
    let program = this.#report === undefined ? undefined : this.#programPid();
    if (this.#report !== undefined && (program === undefined || this.#programEnded)) {
      if (signo !== SIGKILL) return;
      program = undefined;
    }
    let e = 0;
    if (program) e = signalIfSame(program.pid, program.start, signo);
    else if (libc().kill(this.pid, signo) < 0) e = errno();
    if (e && e !== ESRCH) {
      throw new SyscallError("kill", e, { operation: `send ${signalName(signo)} to ${program?.pid ?? this.pid}` });
    }
  }

  /**
   * The program's pid under nsh's init: the init's child, which it made
   * before anything else. (The init reaps it, so a pid of its children list
   * is never another process's.)
   */
  #programPid(): { pid: number; start: number } | undefined {
    if (this.#program !== undefined) return this.#program;
    try {
      const children = Deno.readTextFileSync(`/proc/${this.pid}/task/${this.pid}/children`).trim().split(" ");
      const pids = children.filter(Boolean).map(Number).sort((a, b) => a - b);
      // The program came first; orphans the init reaps came after it.
      const pid = pids[0], start = pid === undefined ? undefined : startTime(pid);
      if (pid !== undefined && start !== undefined) this.#program = { pid, start };
    } catch {
      // The init has ended.
    }
    return this.#program;
  }

  /**
   * Whether the kernel keeps a signal that would end an ordinary process from
   * the child: the child is PID 1 of a new PID namespace and has no handler
   * for it (`SigCgt` in `/proc/PID/status`).
   *
   * @param signo The signal number.
   * @returns `true` when sending it would do nothing.
   */
  shielded(signo: number): boolean {
    // Under nsh's init the program is PID 2, which the kernel does not shield.
    if (this.#report !== undefined) return false;
    if (!this.plan.namespaces.includes("pid") || !ENDS_A_PROCESS.has(signo)) return false;
    try {
      const status = Deno.readTextFileSync(`/proc/${this.pid}/status`);
      // vfork lets this process go on as soon as the child's execve has
      // replaced its memory; the child shows the name of the thread that
      // made it, and this process's signal handlers, until execve ends
      // (measured: up to 5 ms on a busy machine). Its program has run
      // nothing yet then: it will have no handlers.
      own ??= {
        name: Deno.readTextFileSync("/proc/thread-self/comm").trim(),
        exe: Deno.readLinkSync("/proc/self/exe"),
      };
      if (/^Name:\s*(.*)$/m.exec(status)?.[1] === own.name && Deno.readLinkSync(`/proc/${this.pid}/exe`) !== own.exe) {
        return true;
      }
      const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1];
      return mask === undefined || ((BigInt(`0x${mask}`) >> BigInt(signo - 1)) & 1n) === 0n;
    } catch {
      return false; // Gone: nothing to shield.
    }
  }

  /**
   * Steps by which another child joins what this child's steps hold instead
   * of making its own: the programs of a context join its holder's box.
   *
   * @returns The steps (none when nothing is held).
   */
  joinSteps(): Step[] {
    return this.#held.flatMap((held) => (held.joinSteps ?? []) as Step[]);
  }

  /**
   * Changes what the child's steps hold for a later step of the same kind,
   * while it runs: new limits for a context's box.
   *
   * @param step The step.
   * @returns Whether something held took it.
   * @throws {Error} When it cannot be changed so.
   */
  changeHeld(step: Step): boolean {
    return this.#held.some((held) => held.change?.(step) ?? false);
  }

  async #wait(): Promise<ExitStatus> {
    const reaped = this.#reaped();
    if (this.#report === undefined) return await reaped;
    const reported = await this.#reported(this.#report);
    this.#programEnded = true;
    if (!reported) return await reaped;
    // The init lives on while processes the program left run; it is reaped when it ends.
    reaped.catch(() => {});
    return reported;
  }

  /**
   * The program's status as nsh's init reports it: its wait status, as an
   * 8-byte word, on a pipe the init closes then; none when the init ended
   * first (killed, or the program never started).
   */
  async #reported(fd: number): Promise<ExitStatus | undefined> {
    const word = new Uint8Array(8);
    let got = 0;
    try {
      while (got < word.length) {
        const n = Number(libc().read(fd, word.subarray(got), BigInt(word.length - got)));
        if (n === 0) return undefined;
        if (n > 0) {
          got += n;
          continue;
        }
        const e = errno();
        if (e === EINTR) continue;
        if (e !== EAGAIN) return undefined;
        await (this.#reporting = waitFor(fd, READABLE, this.#ref)).ready;
        this.#reporting = undefined;
      }
    } finally {
      libc().close(fd);
    }
    const status = new DataView(word.buffer).getInt32(0, true);
    const signal = status & 0x7f;
    if (signal === 0) {
      const code = (status >> 8) & 0xff;
      return { code, signal: null, success: code === 0 };
    }
    return { code: 128 + signal, signal: signalName(signal), success: false };
  }

  /** The child's own status, once it has been reaped (and what its steps held, ended). */
  async #reaped(): Promise<ExitStatus> {
    const info = new Uint8Array(new ArrayBuffer(128));
    try {
      await this.#untilReaped(info);
    } finally {
      running.delete(this);
    }
    const view = new DataView(info.buffer);
    const how = view.getInt32(8, true);
    const value = view.getInt32(24, true);
    const status: ExitStatus = how === CLD_EXITED
      ? { code: value, signal: null, success: value === 0 }
      : { code: 128 + value, signal: signalName(value), success: false };
    if (!this.#held.length) return status;
    let report: HeldReport = {};
    for (const held of this.#held) {
      try {
        report = { ...report, ...await held.end({ signal: status.signal, killedByNsh: this.#killed }) };
      } catch {
        // What could not be ended (a cgroup still busy) is left for the next
        // nsh to remove: the child's status stands.
      }
    }
    return { ...status, ...report };
  }

  /**
   * Waits for the child to end, and reaps it: its pidfd becomes readable
   * then. The epoll wait of lib/reactor.ts waits for it with every other
   * child and pipe. Without pidfds (Linux before 5.3, or a seccomp filter), a
   * waitid of its own on the pool.
   */
  async #untilReaped(info: Uint8Array<ArrayBuffer>): Promise<void> {
    const { sysno, syscall } = routine();
    const pidfd = syscall(sysno.pidfd_open, this.pid, 0);
    if (pidfd < 0) {
      let r: number;
      do r = await routine().waitid(this.pid, info, WEXITED | WNOWAIT); while (r === -EINTR);
      if (r < 0) throw new SyscallError("waitid", -r, { operation: `wait for ${this.pid}` });
      this.#look(new Uint8Array(128), true);
      return;
    }
    try {
      // A pidfd is ready once the child has ended, and stays ready: a child
      // that ended before the wait began is reported at once, referenced or
      // not. The loop is a guard; the first look finds it.
      for (;;) {
        await (this.#waiting = waitFor(pidfd, READABLE, this.#ref)).ready;
        if (this.#look(info, true)) return;
      }
    } finally {
      this.#waiting = undefined;
      libc().close(pidfd);
    }
  }

  /**
   * Whether the child has ended, filling `info` (a siginfo_t) when it has;
   * with `reap`, it is also reaped, and marked ended at once, before any
   * other JavaScript runs: `kill()` never reaches a process that took its pid.
   */
  #look(info: Uint8Array<ArrayBuffer>, reap: boolean): boolean {
    info.fill(0);
    const options = WEXITED | WNOHANG | (reap ? 0 : WNOWAIT);
    while (libc().waitid(P_PID, this.pid, info, options) < 0) {
      const e = errno();
      if (e !== EINTR) throw new SyscallError("waitid", e, { operation: `wait for ${this.pid}` });
    }
    // si_pid is set only when a child was found.
    if (new DataView(info.buffer).getInt32(16, true) === 0) return false;
    this.#ended = true;
    return true;
  }
}
