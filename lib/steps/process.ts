/**
 * The program's process: its root and working directory, its resource limits, the signals it
 * ignores, and the signal it gets when nsh dies.
 *
 * @module
 */

import type { StepKind } from "./_kind.ts";
import { EPERM, RLIM_INFINITY, RLIMIT, SIGKILL, SIGSTOP } from "../../ffi/constants.ts";
import { signalNumber } from "../../ffi/signals.ts";

/** A new root directory. */
export interface RootStep {
  /** The kind of step. */
  readonly kind: "root";
  /** The directory. */
  readonly dir: string;
}

/** A new working directory. */
export interface WdStep {
  /** The kind of step. */
  readonly kind: "wd";
  /** The directory. */
  readonly dir: string;
}

/** The signal the program gets when the process that started it dies. */
export interface KillChildStep {
  /** The kind of step. */
  readonly kind: "kill-child";
  /** The signal number. */
  readonly signal: number;
}

/** The program waits until a descriptor can be read. */
export interface WaitForDescriptorStep {
  /** The kind of step. */
  readonly kind: "wait-fd";
  /** The descriptor, open in this process. */
  readonly fd: number;
}

/** The program's working directory, the first of some that it can enter. */
export interface ProgramWorkdirStep {
  /** The kind of step. */
  readonly kind: "program-wd";
  /** The directories, in the order they are tried. */
  readonly dirs: readonly string[];
}

/** A new session for the program, without a controlling terminal. */
export interface NewSessionStep {
  /** The kind of step. */
  readonly kind: "new-session";
}

/**
 * Starts the program in a new session (setsid(2)), so that it has no
 * controlling terminal: it cannot push input into the terminal it came from
 * (the TIOCSTI hole). nsh still passes Ctrl-C on to it.
 *
 * @example The program leads a session of its own, without a terminal
 * ```ts
 * import assert from "node:assert/strict";
 * import { newSession, sandbox } from "@nsh/nsh";
 *
 * // /proc/PID/stat: pid (comm) state ppid pgrp session tty_nr …
 * const [pid, , , , , session, tty] = (await sandbox(newSession()).run("cat", "/proc/self/stat").text()).split(" ");
 * assert.equal(session, pid);
 * assert.equal(tty, "0");
 * ```
 *
 * @returns The step.
 */
export function newSession(): NewSessionStep {
  return { kind: "new-session" };
}

/**
 * Makes the box wait, once it is set up and before the program runs, until
 * one byte can be read from a descriptor of this process (which it reads,
 * then closes): another process decides when the program starts
 * (bubblewrap's `--block-fd`). End of file lets it go on too. The start
 * returns only once the program runs, so the byte comes from another
 * process, or is written before.
 *
 * @example The program starts once another program has written its line
 * ```ts
 * import assert from "node:assert/strict";
 * import { OpenFile, sandbox, waitForDescriptor } from "@nsh/nsh";
 *
 * const dir = await Deno.makeTempDir();
 * await sandbox().run("mkfifo", `${dir}/go`);
 * using gate = new OpenFile(`${dir}/go`, "readwrite"); // a read waits for a write
 * const first = sandbox().run("sh", "-c", `echo first >> ${dir}/log; printf ! > ${dir}/go`).spawn();
 * await sandbox(waitForDescriptor(gate.fd)).run("sh", "-c", `echo second >> ${dir}/log`);
 * await first;
 * assert.equal(await Deno.readTextFile(`${dir}/log`), "first\nsecond\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param fd The descriptor, open in this process (a pipe's read end).
 * @returns The step.
 */
export function waitForDescriptor(fd: number): WaitForDescriptorStep {
  return { kind: "wait-fd", fd };
}

/**
 * Changes the program's working directory once the box is set up and the
 * program's ids are taken (bubblewrap's order, where {@linkcode workdir} changes
 * it before): to the first of `dirs` that exists in the box and that the
 * program may enter. The last one must work.
 *
 * @example The first directory the box has: $HOME here, else /
 * ```ts
 * import assert from "node:assert/strict";
 * import { programWorkdir, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(programWorkdir("/no/such/dir", Deno.env.get("HOME") ?? "/", "/"));
 * assert.equal(await box.run("pwd").text(), Deno.env.get("HOME") ?? "/");
 * ```
 *
 * @param dirs The directories, as the box sees them, in the order to try them.
 * @returns The step.
 */
export function programWorkdir(...dirs: string[]): ProgramWorkdirStep {
  return { kind: "program-wd", dirs };
}

/**
 * Changes the root directory of the program (`--root`), after the mounts.
 *
 * @example A root of the caller's making, with /usr bound in, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { bindMount, mapRootUser, root, sandbox } from "@nsh/nsh";
 *
 * const dir = await Deno.makeTempDir();
 * for (const sub of ["usr", "etc"]) await Deno.mkdir(`${dir}/${sub}`);
 * for (const link of ["bin", "lib", "lib64"]) await Deno.symlink(`usr/${link}`, `${dir}/${link}`);
 * await Deno.writeTextFile(`${dir}/etc/hostname`, "mine\n");
 * const box = sandbox(mapRootUser(), bindMount("/usr", `${dir}/usr`, { readonly: true }), root(dir));
 * assert.equal(await box.run("cat", "/etc/hostname").text(), "mine");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param dir The new root.
 * @returns The step.
 */
export function root(dir: string): RootStep {
  return { kind: "root", dir };
}

/**
 * Changes the working directory of the program (`--wd`), after the root.
 *
 * @example The program starts in /usr/share
 * ```ts
 * import assert from "node:assert/strict";
 * import { sandbox, workdir } from "@nsh/nsh";
 *
 * assert.equal(await sandbox(workdir("/usr/share")).run("pwd").text(), "/usr/share");
 * ```
 *
 * @param dir The directory.
 * @returns The step.
 */
export function workdir(dir: string): WdStep {
  return { kind: "wd", dir };
}

/**
 * The program gets `signal` when the process that started it dies
 * (`--kill-child`).
 *
 * @example A server that must not outlive this process
 * ```ts
 * import assert from "node:assert/strict";
 * import { killChild, sandbox, signalNumber } from "@nsh/nsh";
 *
 * // SIGKILL when not told; a server that should stop cleanly gets SIGTERM.
 * assert.equal(killChild().signal, signalNumber("SIGKILL"));
 * const box = sandbox(killChild(signalNumber("SIGTERM")));
 * assert.equal(await box.run("echo", "serving").text(), "serving");
 * ```
 *
 * @param signal The signal number (SIGKILL when not given).
 * @returns The step.
 */
export function killChild(signal = 9): KillChildStep {
  return { kind: "kill-child", signal };
}

/** A resource of setrlimit(2), as in RLIMIT_NOFILE without RLIMIT_, lower case. */
export type ResourceName =
  | "cpu"
  | "fsize"
  | "data"
  | "stack"
  | "core"
  | "rss"
  | "nproc"
  | "nofile"
  | "memlock"
  | "as"
  | "locks"
  | "sigpending"
  | "msgqueue"
  | "nice"
  | "rtprio"
  | "rttime";

/** A resource limit of the program: setrlimit(2) of one resource. */
export interface ResourceLimitStep {
  /** The kind of step. */
  readonly kind: "rlimit";
  /** The resource, as in RLIMIT_NOFILE without RLIMIT_, lower case (`nofile`, `nproc`, `as`…). */
  readonly resource: ResourceName;
  /** The soft limit: bytes, a count or seconds as the resource counts; `"unlimited"`. */
  readonly soft: number | "unlimited";
  /** The hard limit, which the soft one may not exceed. */
  readonly hard: number | "unlimited";
}

/**
 * Sets a resource limit of the program (setrlimit(2), as `ulimit` does in a
 * shell), right before it runs: only the program and what it starts get it,
 * not this process. Raising a hard limit needs CAP_SYS_RESOURCE.
 *
 * @example At most 64 open files
 * ```ts
 * import { resourceLimit } from "@nsh/nsh";
 *
 * const step = resourceLimit("nofile", 64);
 * if (step.hard !== 64) throw new Error("both limits");
 * ```
 *
 * @param resource The resource (`nofile`, `nproc`, `as`, `core`, `stack`…).
 * @param soft The soft limit, or `"unlimited"`.
 * @param hard The hard limit (the soft one when not given).
 * @returns The step.
 */
export function resourceLimit(
  resource: ResourceName,
  soft: number | "unlimited",
  hard: number | "unlimited" = soft,
): ResourceLimitStep {
  return { kind: "rlimit", resource, soft, hard };
}

/** Signals the program starts with ignored. */
export interface IgnoreSignalsStep {
  /** The kind of step. */
  readonly kind: "ignore-signals";
  /** The signals, by name (`"SIGINT"`). */
  readonly signals: readonly Deno.Signal[];
}

/**
 * Starts the program with signals ignored (SIG_IGN), as sh starts the
 * programs that follow `trap '' INT`, and the background jobs of a script
 * with SIGINT and SIGQUIT ignored: execve(2) keeps an ignored signal
 * ignored, so the program and what it starts do not die of them unless
 * they catch them again. Without this step a program starts with every
 * signal at its default.
 *
 * @example A job that Ctrl-C does not end
 * ```ts
 * import { ignoreSignals } from "@nsh/nsh";
 *
 * const step = ignoreSignals("SIGINT", "SIGQUIT");
 * if (step.signals.length !== 2) throw new Error("both");
 * ```
 *
 * @param signals The signals (not SIGKILL nor SIGSTOP, which cannot be ignored).
 * @returns The step.
 */
export function ignoreSignals(...signals: Deno.Signal[]): IgnoreSignalsStep {
  return { kind: "ignore-signals", signals };
}

/** The kind of {@linkcode root} steps. */
const ROOT: StepKind<RootStep> = {
  kind: "root",
  phase: "core",
  repeats: "last",
  code: (step) => ({ fn: "root", args: [step.dir] }),
};

/** The kind of {@linkcode workdir} steps. */
const WD: StepKind<WdStep> = {
  kind: "wd",
  phase: "core",
  repeats: "last",
  code: (step) => ({ fn: "workdir", args: [step.dir] }),
};

/** The kind of {@linkcode killChild} steps. */
const KILL_CHILD: StepKind<KillChildStep> = {
  kind: "kill-child",
  phase: "core",
  repeats: "last",
  check(step) {
    if (!Number.isInteger(step.signal) || step.signal < 1 || step.signal > 64) {
      throw new RangeError(`Cannot use signal ${step.signal} for kill-child: not a signal number`);
    }
  },
  code: (step) => ({ fn: "killChild", args: step.signal === 9 ? [] : [step.signal] }),
};

/** The kind of {@linkcode newSession} steps. */
const NEW_SESSION: StepKind<NewSessionStep> = {
  kind: "new-session",
  phase: "harden",
  repeats: "last",
  compile(_step, out) {
    out.add({ call: "setsid", args: [] }, {
      syscall: "setsid",
      operation: "start a new session",
      role: "new-session",
    });
  },
  code: () => ({ fn: "newSession", args: [] }),
};

/** The kind of {@linkcode waitForDescriptor} steps. */
const WAIT_FD: StepKind<WaitForDescriptorStep> = {
  kind: "wait-fd",
  phase: "harden",
  repeats: "each",
  check(step) {
    if (!Number.isInteger(step.fd) || step.fd < 0) throw new RangeError(`Cannot wait for descriptor ${step.fd}`);
  },
  compile(step, out) {
    const operation = `wait for descriptor ${step.fd}`;
    // What is read, or an error, lets the program go on, as in bubblewrap.
    out.add({ call: "read", args: [step.fd, { zeros: 8 }, 1], ignore: true }, {
      syscall: "read",
      operation,
      role: "wait-fd",
    });
    out.add({ call: "close", args: [step.fd], ignore: true }, { syscall: "close", operation, role: "wait-fd" });
  },
  code: (step) => ({ fn: "waitForDescriptor", args: [step.fd] }),
};

/** The kind of {@linkcode programWorkdir} steps. */
const PROGRAM_WD: StepKind<ProgramWorkdirStep> = {
  kind: "program-wd",
  phase: "harden",
  repeats: "last",
  check(step) {
    if (!step.dirs.length) throw new TypeError("Cannot change the working directory: no directory given");
  },
  compile(step, out) {
    let before: number | undefined;
    step.dirs.forEach((dir, i) => {
      const last = i === step.dirs.length - 1;
      // Each runs only when the one before failed (one that was skipped has result 0).
      before = out.add({
        call: "chdir",
        args: [{ str: dir }],
        ...(last ? {} : { ignore: true }),
        ...(before === undefined ? {} : { onlyIf: { step: before, result: "negative" as const } }),
      }, { syscall: "chdir", operation: `change the working directory to "${dir}"`, path: dir, role: "program-wd" });
    });
  },
  code: (step) => ({ fn: "programWorkdir", args: step.dirs }),
};

/** Every name has its number. */
const _NAMES_MATCH: Record<ResourceName, number> = RLIMIT;

/** A limit as prlimit64(2) reads it: a 64-bit number, all bits set for none. */
function rlim(value: number | "unlimited"): bigint {
  return value === "unlimited" ? RLIM_INFINITY : BigInt(value);
}

/** The kind of {@linkcode resourceLimit} steps. */
const RLIMIT_KIND: StepKind<ResourceLimitStep> = {
  kind: "rlimit",
  phase: "harden",
  repeats: "each",
  check(step) {
    if (!Object.hasOwn(RLIMIT, step.resource)) {
      throw new TypeError(`Unknown resource "${step.resource}": use one of ${Object.keys(RLIMIT).join(", ")}`);
    }
    for (const value of [step.soft, step.hard]) {
      if (value !== "unlimited" && (!Number.isSafeInteger(value) || value < 0)) {
        throw new RangeError(`Cannot limit ${step.resource} to ${value}: give a count of 0 or more, or "unlimited"`);
      }
    }
    if (rlim(step.soft) > rlim(step.hard)) {
      throw new RangeError(
        `Cannot limit ${step.resource} to ${step.soft}: the soft limit is above the hard ${step.hard}`,
      );
    }
  },
  compile(step, out) {
    const bytes = new Uint8Array(16);
    const view = new DataView(bytes.buffer);
    view.setBigUint64(0, rlim(step.soft), true);
    view.setBigUint64(8, rlim(step.hard), true);
    out.add({ call: "prlimit64", args: [0, RLIMIT[step.resource], { bytes }, 0] }, {
      syscall: "prlimit64",
      operation: `limit ${step.resource} to ${step.soft} (hard ${step.hard})`,
      role: "rlimit",
    });
  },
  code: (step) => ({
    fn: "resourceLimit",
    args: [step.resource, step.soft, ...(step.hard === step.soft ? [] : [step.hard])],
  }),
  hint: (_info, errno) => errno === EPERM ? "raising a hard limit needs CAP_SYS_RESOURCE (root)" : undefined,
};

/** SIG_IGN as the kernel's struct sigaction holds it: the handler (first, on x86-64 and aarch64) is 1, the rest 0. */
const IGNORE_ACTION = new Uint8Array(32).fill(1, 0, 1);

/** The kind of {@linkcode ignoreSignals} steps. */
const IGNORE_SIGNALS: StepKind<IgnoreSignalsStep> = {
  kind: "ignore-signals",
  phase: "harden",
  repeats: "each",
  check(step) {
    if (!Array.isArray(step.signals)) throw new TypeError("Cannot ignore signals: give their names");
    for (const name of step.signals) {
      const n = typeof name === "string" && name.startsWith("SIG") ? signalNumber(name) : undefined;
      if (n === undefined) throw new TypeError(`Cannot ignore ${Deno.inspect(name)}: not a signal's name (SIGINT…)`);
      if (n === SIGKILL || n === SIGSTOP) {
        throw new RangeError(`Cannot ignore ${name}: it cannot be caught nor ignored`);
      }
    }
  },
  compile(step, out) {
    for (const name of step.signals) {
      out.add({ call: "rt_sigaction", args: [signalNumber(name)!, { bytes: IGNORE_ACTION }, 0, 8] }, {
        syscall: "rt_sigaction",
        operation: `ignore ${name}`,
        role: "ignore-signals",
      });
    }
  },
  code: (step) => ({ fn: "ignoreSignals", args: step.signals }),
};

/** The kinds of steps this module defines, for lib/steps/_registry.ts. */
export const KINDS = [ROOT, WD, KILL_CHILD, NEW_SESSION, WAIT_FD, PROGRAM_WD, RLIMIT_KIND, IGNORE_SIGNALS] as const;
