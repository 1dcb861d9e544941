/**
 * The shell's children and jobs: the signals that the programs in the
 * foreground get while nsh waits for them (as cli/foreground.ts does for
 * one program, here for the stages of pipelines), and the table of jobs
 * started with `&` (or stopped with Ctrl-Z) that `jobs`, `fg`, `bg`, `wait`
 * and `kill %N` act on.
 *
 * @module
 */

import type { Child } from "../../lib/child.ts";
import { deliver } from "../foreground.ts";
import { signalNumber } from "../../ffi/signals.ts";
import { foregroundGroup, processGroup, setForegroundGroup, stopped } from "../../ffi/terminal.ts";
import { SyscallError } from "../../ffi/error.ts";
import { errno, libc } from "../../ffi/libc.ts";
import { ESRCH } from "../../ffi/constants.ts";

/** The signals nsh passes on, and whether the terminal sends them to its foreground programs itself. */
const FORWARDED = [["SIGINT", true], ["SIGQUIT", true], ["SIGTERM", false], ["SIGHUP", false]] as const;

/** Which of the terminal's signals reach a program without nsh (not when it has a session of its own). */
export interface Reach {
  /** Ctrl-C (SIGINT); not with `unshare --forward-signals`, which passes it on anyway. */
  readonly interrupt: boolean;
  /** Ctrl-\ (SIGQUIT). */
  readonly quit: boolean;
}

/**
 * The programs nsh waits for in the foreground. While there are some, nsh
 * survives Ctrl-C and Ctrl-\ (the terminal sends them to the programs too)
 * and passes SIGTERM and SIGHUP on; a program that is PID 1 of a new PID
 * namespace, which the kernel shields from them, is killed on their behalf.
 */
class Foreground {
  #depth = 0;
  readonly #children = new Map<Child, Reach>();
  /** Signals that came while programs started, delivered once they run. */
  #early: [Deno.Signal, boolean][] = [];
  /** What a child was killed for on a signal's behalf: its status is then 128 + that signal. */
  readonly #emulated = new WeakMap<Child, number>();
  #listeners: [Deno.Signal, () => void][] = [];
  /** Signals the shell traps (`trap`): its action runs, the programs do not get them from nsh. */
  readonly trapped = new Set<string>();

  /** Starts a section in which programs run in the foreground. */
  enter(): void {
    if (this.#depth++ > 0) return;
    this.#listeners = FORWARDED.map(([signal, fromTerminal]) => [signal, () => this.#handle(signal, fromTerminal)]);
    for (const [signal, listener] of this.#listeners) Deno.addSignalListener(signal, listener);
  }

  /** Ends it. */
  leave(): void {
    if (--this.#depth > 0) return;
    for (const [signal, listener] of this.#listeners) Deno.removeSignalListener(signal, listener);
    this.#listeners = [];
    this.#early = [];
  }

  /**
   * A program started in the foreground: the signals that came while it
   * started reach it.
   *
   * @param child The program.
   * @param reach Which of the terminal's signals reach it without nsh.
   */
  add(child: Child, reach: Reach = { interrupt: true, quit: true }): void {
    this.#children.set(child, reach);
    for (const [signal] of this.#early) this.#deliver(child, signal, false);
  }

  /** A program ended, or went to the background. */
  remove(child: Child): void {
    this.#children.delete(child);
  }

  /**
   * The status of a child that ended: 128 + the signal nsh killed it for,
   * when it did.
   *
   * @param child The child.
   * @param code Its status.
   * @param signal The signal that ended it.
   * @returns The status the shell reports.
   */
  statusOf(child: Child, code: number, signal: string | null): number {
    const emulated = this.#emulated.get(child);
    return emulated !== undefined && signal === "SIGKILL" ? 128 + emulated : code;
  }

  #handle(signal: Deno.Signal, fromTerminal: boolean): void {
    if (this.trapped.has(signal)) return;
    if (!this.#children.size) this.#early.push([signal, fromTerminal]);
    for (const [child, reach] of this.#children) {
      const reached = fromTerminal && (signal === "SIGINT" ? reach.interrupt : reach.quit);
      this.#deliver(child, signal, reached);
    }
  }

  #deliver(child: Child, signal: Deno.Signal, fromTerminal: boolean): void {
    if (deliver(child, signal, fromTerminal) && !this.#emulated.has(child)) {
      this.#emulated.set(child, signalNumber(signal)!);
    }
  }
}

/** The programs in the foreground of this process. */
export const foreground: Foreground = new Foreground();

/**
 * Ctrl-C at a terminal, counted: nsh got SIGINT (its group had the terminal),
 * or a program of the foreground job died of it. The interactive shell marks
 * the count when a line starts (`seen`); what runs in the foreground stops
 * once it differs.
 */
export const interrupts: { count: number; seen: number } = { count: 0, seen: 0 };

/** How a job that a signal ended is listed, by signal number, as bash lists it. */
const SIGNAL_TEXT: Readonly<Record<number, string>> = {
  1: "Hangup",
  2: "Interrupt",
  3: "Quit",
  4: "Illegal instruction",
  6: "Aborted",
  7: "Bus error",
  8: "Floating point exception",
  9: "Killed",
  10: "User defined signal 1",
  11: "Segmentation fault",
  12: "User defined signal 2",
  13: "Broken pipe",
  14: "Alarm clock",
  15: "Terminated",
};

/** Above PID_MAX_LIMIT (2^22): the `$!` of a job that ran no program names no process. */
const NO_PID = 2 ** 22;

/**
 * The process group of a job, for job control at a terminal: the programs
 * of a pipeline (or of a list started with `&`) join the group the first of
 * them leads; a foreground group gets the terminal, and Ctrl-Z stops it.
 */
export class Group {
  /** The group's id: the pid of its first program, once started. */
  pgid: number | undefined;
  /** Its programs. */
  readonly children: Child[] = [];
  /** Whether it has the terminal (fg), or runs in the background (bg, &). */
  foreground: boolean;
  /** Whether a program of it stopped. */
  isStopped = false;
  #stopped!: Promise<void>;
  #stop!: () => void;
  /** The pid of the first program once it started (undefined: it failed to), while one is starting. */
  #leader: Promise<number | undefined> | undefined;

  /**
   * @param foreground Whether it gets the terminal.
   */
  constructor(foreground: boolean) {
    this.foreground = foreground;
    this.#arm();
  }

  #arm(): void {
    this.isStopped = false;
    this.#stopped = new Promise((resolve) => this.#stop = resolve);
  }

  /**
   * Starts a program in the group: the first leads it (and gets the
   * terminal, in the foreground); the stages after it wait until it has
   * started, to join its group.
   *
   * @param start Starts the program in the group given (`0`: a new one), giving it the terminal or not.
   * @returns The program.
   */
  async join(start: (pgid: number, terminal: boolean) => Promise<Child>): Promise<Child> {
    return await this.#join(start, this.foreground);
  }

  async #join(start: (pgid: number, terminal: boolean) => Promise<Child>, terminal: boolean): Promise<Child> {
    if (this.pgid === undefined && this.#leader === undefined) {
      // Claimed before any await: the stages start at once, and one leads.
      let settle!: (pid: number | undefined) => void;
      this.#leader = new Promise((resolve) => settle = resolve);
      try {
        const child = await start(0, terminal);
        this.pgid = child.pid;
        settle(child.pid);
        return this.#add(child);
      } catch (error) {
        this.#leader = undefined;
        settle(undefined);
        throw error;
      }
    }
    const leader = this.pgid ?? await this.#leader;
    // The first failed to start: the next one leads.
    if (leader === undefined) return await this.#join(start, terminal);
    try {
      return this.#add(await start(leader, false));
    } catch (error) {
      // Every program of the group has ended and been reaped (a quick first stage of a
      // pipeline, the program before this one in a loop): the group is gone with them, and
      // setpgid() refuses to name it. This program leads a new one, which gets the terminal
      // if the group that is gone had it (not when the job was stopped or sent to the background).
      if (!(error instanceof SyscallError && error.syscall === "setpgid" && error.code === "EPERM")) throw error;
      if (libc().kill(-leader, 0) === 0 || errno() !== ESRCH) throw error;
      // nsh took the terminal back when the group emptied (see release()): a job in the foreground gets it again.
      const had = this.foreground;
      if (this.pgid === leader) {
        this.pgid = undefined;
        this.#leader = undefined;
      }
      return await this.#join(start, had);
    }
  }

  /**
   * A program of the group ended: when none is left and the group has the
   * terminal, nsh takes it back, so that a Ctrl-C typed before the job's next
   * program starts (a loop's) reaches nsh, not a group without processes.
   */
  release(): void {
    const pgid = this.pgid;
    if (!this.foreground || pgid === undefined) return;
    if (libc().kill(-pgid, 0) === 0 || errno() !== ESRCH) return;
    if (foregroundGroup(0) === pgid) setForegroundGroup(0, processGroup());
  }

  #add(child: Child): Child {
    this.children.push(child);
    return child;
  }

  /** Settles when a program of the group stops (see {@linkcode Group.watch}). */
  get stopped(): Promise<void> {
    return this.#stopped;
  }

  /** Whether a program of the group has stopped since last asked; marks the group stopped. */
  check(): boolean {
    // Every report is taken: one left would say "stopped" again after fg.
    let any = false;
    for (const child of this.children) if (!child.ended && stopped(child.pid)) any = true;
    if (any) {
      this.isStopped = true;
      this.#stop();
    }
    return any;
  }

  /** Forgets the stops reported so far (before the group is continued). */
  forget(): void {
    for (const child of this.children) if (!child.ended) stopped(child.pid);
    this.#arm();
  }

  /**
   * Watches for a program of the group to stop: on SIGCHLD, and once now.
   *
   * @returns What ends the watch.
   */
  watch(): () => void {
    const look = () => void this.check();
    Deno.addSignalListener("SIGCHLD", look);
    look();
    return () => Deno.removeSignalListener("SIGCHLD", look);
  }
}

/** A job: a pipeline or list the shell runs in the background, or stopped. */
export class Job {
  /** Its number, `%N`. */
  readonly id: number;
  /** Its command line. */
  readonly text: string;
  /** The programs it started. */
  readonly children: Child[];
  /** Settles with its status when it has ended. */
  readonly done: Promise<number>;
  /** Its status, once it ended. */
  status: number | undefined;
  /** Whether it is stopped (Ctrl-Z, SIGSTOP). */
  stopped = false;
  /** Its process group, when it has one of its own (job control). */
  pgid: number | undefined;
  /** Whether `jobs` or a notice reported its end already. */
  reported = false;
  /** Its process group, under job control. */
  group: Group | undefined;

  /**
   * @param id Its number.
   * @param text Its command line.
   * @param done Its status, when it ends.
   * @param children Its programs, which the caller adds to as they start.
   */
  constructor(id: number, text: string, done: Promise<number>, children: Child[] = []) {
    this.id = id;
    this.text = text;
    this.children = children;
    this.done = done.then((status) => {
      this.status = status;
      return status;
    });
  }

  /** `Running`, `Stopped`, `Done`, `Exit N`, or how a signal ended it (`Terminated`, `Killed`…), as bash says. */
  get state(): string {
    const status = this.status;
    if (status === undefined) return this.stopped ? "Stopped" : "Running";
    if (status === 0) return "Done";
    const signal = status - 128;
    if (signal >= 1 && signal <= 31) return SIGNAL_TEXT[signal] ?? `Signal ${signal}`;
    return `Exit ${status}`;
  }

  /**
   * The pid `$!` names: of its last program, or, for a job that has run
   * none (a subshell of builtins), a number above any pid, which only this
   * shell's `wait` and `kill` know.
   */
  get pid(): number {
    return this.children.at(-1)?.pid ?? NO_PID + this.id;
  }
}

/** The jobs of a shell. */
export class Jobs {
  readonly #jobs: Job[] = [];

  /**
   * Adds a job.
   *
   * @param text Its command line.
   * @param done Its status, when it ends.
   * @param children Its programs, as they start.
   * @returns The job.
   */
  add(text: string, done: Promise<number>, children: Child[] = []): Job {
    const id = (this.#jobs.at(-1)?.id ?? 0) + 1;
    const job = new Job(id, text, done, children);
    this.#jobs.push(job);
    return job;
  }

  /** The jobs, oldest first. */
  get list(): readonly Job[] {
    return this.#jobs;
  }

  /** The current job (`%+`, `%%`): the newest stopped one, else the newest. */
  get current(): Job | undefined {
    return [...this.#jobs].reverse().find((j) => j.stopped && j.status === undefined) ?? this.#jobs.at(-1);
  }

  /**
   * The job a spec names: `%N`, `%+`, `%%`, `%-`, `%string` (its command
   * starts so), or a pid of one of its programs.
   *
   * @param spec The spec.
   * @returns The job, or `undefined`.
   */
  find(spec: string): Job | undefined {
    if (spec === "%%" || spec === "%+" || spec === "%") return this.current;
    if (spec === "%-") {
      const current = this.current;
      return [...this.#jobs].reverse().find((j) => j !== current);
    }
    if (/^%\d+$/.test(spec)) return this.#jobs.find((j) => j.id === Number(spec.slice(1)));
    if (spec.startsWith("%")) return this.#jobs.find((j) => j.text.startsWith(spec.slice(1)));
    if (/^\d+$/.test(spec)) {
      const pid = Number(spec);
      return this.#jobs.find((j) => j.pid === pid || j.children.some((c) => c.pid === pid));
    }
    return undefined;
  }

  /** Forgets a job. */
  remove(job: Job): void {
    const i = this.#jobs.indexOf(job);
    if (i >= 0) this.#jobs.splice(i, 1);
  }

  /** Forgets the jobs that ended and were reported. */
  prune(): void {
    for (const job of [...this.#jobs]) if (job.status !== undefined && job.reported) this.remove(job);
  }
}
