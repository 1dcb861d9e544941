/**
 * The program's process: its root and working directory, and the signal it
 * gets when nsh dies.
 *
 * @module
 */

import type { StepKind } from "./_kind.ts";

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

/** The kinds of steps this module defines, for lib/steps/_registry.ts. */
export const KINDS = [ROOT, WD, KILL_CHILD, NEW_SESSION, WAIT_FD, PROGRAM_WD] as const;
