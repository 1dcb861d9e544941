/**
 * Joining existing namespaces (nsenter): the namespace files, the root and
 * working directory opened before joining, and whose ids the program takes.
 *
 * @module
 */

import type { NamespaceType } from "../namespaces.ts";
import type { StepKind } from "./_kind.ts";

/** An existing namespace to join. */
export interface EnterStep {
  /** The kind of step. */
  readonly kind: "enter";
  /** Its type. */
  readonly type: NamespaceType;
  /** Its file. */
  readonly path: string;
}

/** The root directory to change to after joining. */
export interface EnterRootStep {
  /** The kind of step. */
  readonly kind: "enter-root";
  /** The directory, as the caller sees it. */
  readonly dir: string;
}

/** The working directory to change to after joining. */
export interface EnterWdStep {
  /** The kind of step. */
  readonly kind: "enter-wd";
  /** The directory, as the caller sees it. */
  readonly dir: string;
}

/** Keep the caller's ids in a joined user namespace. */
export interface PreserveCredentialsStep {
  /** The kind of step. */
  readonly kind: "preserve-credentials";
}

/**
 * Joins an existing namespace before anything else (`nsenter --net=PATH`):
 * `path` is a namespace file such as `/proc/PID/ns/net` or a file a
 * namespace was bound to. New namespaces asked for too are created inside the
 * joined ones.
 *
 * @example Join the user and UTS namespaces of a running box (as nsenter -t PID -U -u)
 * ```ts
 * import assert from "node:assert/strict";
 * import { enter, hostname, mapRootUser, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(mapRootUser(), hostname("box")).run("sleep", "60").noThrow().spawn();
 * const { pid } = await box.started;
 * const joined = sandbox(enter("user", `/proc/${pid}/ns/user`), enter("uts", `/proc/${pid}/ns/uts`));
 * assert.equal(await joined.run("hostname").text(), "box");
 * box.kill();
 * await box;
 * ```
 *
 * @param type The namespace type.
 * @param path The namespace file.
 * @returns The step.
 */
export function enter(type: NamespaceType, path: string): EnterStep {
  return { kind: "enter", type, path };
}

/**
 * Changes the root directory to `dir` after joining namespaces
 * (`nsenter --root`); `dir` is opened before joining, so `/proc/PID/root` is
 * the root of process PID.
 *
 * @example See the files of a box that has a root of its own
 * ```ts
 * import assert from "node:assert/strict";
 * import { enter, enterRoot, sandbox, unshare } from "@nsh/nsh";
 *
 * const box = unshare({ user: true, mapRootUser: true }).rootBind("/usr").rootSymlink("usr/bin", "/bin")
 *   .rootSymlink("usr/lib", "/lib").rootSymlink("usr/lib64", "/lib64").rootFile("/motd", "inside\n")
 *   .run("sleep", "60").noThrow().spawn();
 * const { pid } = await box.started;
 * // Its root, reached through /proc without joining its mounts; its user namespace lets a rootless caller chroot.
 * const joined = sandbox(enter("user", `/proc/${pid}/ns/user`), enterRoot(`/proc/${pid}/root`));
 * assert.equal(await joined.run("cat", "/motd").text(), "inside");
 * box.kill();
 * await box;
 * ```
 *
 * @param dir The directory, as the caller sees it.
 * @returns The step.
 */
export function enterRoot(dir: string): EnterRootStep {
  return { kind: "enter-root", dir };
}

/**
 * Changes the working directory to `dir` after joining namespaces
 * (`nsenter --wd`); `dir` is opened before joining, so `/proc/PID/cwd` is the
 * working directory of process PID.
 *
 * @example Start where a running program is
 * ```ts
 * import assert from "node:assert/strict";
 * import { enterWorkdir, sandbox, workdir } from "@nsh/nsh";
 *
 * const sleeper = sandbox(workdir("/usr/share")).run("sleep", "60").noThrow().spawn();
 * const { pid } = await sleeper.started;
 * assert.equal(await sandbox(enterWorkdir(`/proc/${pid}/cwd`)).run("pwd").text(), "/usr/share");
 * sleeper.kill();
 * await sleeper;
 * ```
 *
 * @param dir The directory, as the caller sees it.
 * @returns The step.
 */
export function enterWorkdir(dir: string): EnterWdStep {
  return { kind: "enter-wd", dir };
}

/**
 * Keeps the caller's uid and gid when joining a user namespace
 * (`nsenter --preserve-credentials`); otherwise the program runs as root of
 * the joined namespace.
 *
 * @example Join a box's user namespace as the uid the caller has there
 * ```ts
 * import assert from "node:assert/strict";
 * import { enter, mapUser, preserveCredentials, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(mapUser(1000)).run("sleep", "60").noThrow().spawn();
 * const { pid } = await box.started;
 * const joined = sandbox(enter("user", `/proc/${pid}/ns/user`), preserveCredentials());
 * assert.equal(await joined.run("id", "-u").text(), "1000"); // not 0, root of the namespace
 * box.kill();
 * await box;
 * ```
 *
 * @returns The step.
 */
export function preserveCredentials(): PreserveCredentialsStep {
  return { kind: "preserve-credentials" };
}

/** The kind of {@linkcode enter} steps. */
const ENTER: StepKind<EnterStep> = {
  kind: "enter",
  phase: "core",
  repeats: "each",
  code: (step) => ({ fn: "enter", args: [step.type, step.path] }),
};

/** The kind of {@linkcode enterRoot} steps. */
const ENTER_ROOT: StepKind<EnterRootStep> = {
  kind: "enter-root",
  phase: "core",
  repeats: "last",
  code: (step) => ({ fn: "enterRoot", args: [step.dir] }),
};

/** The kind of {@linkcode enterWorkdir} steps. */
const ENTER_WD: StepKind<EnterWdStep> = {
  kind: "enter-wd",
  phase: "core",
  repeats: "last",
  code: (step) => ({ fn: "enterWorkdir", args: [step.dir] }),
};

/** The kind of {@linkcode preserveCredentials} steps. */
const PRESERVE_CREDENTIALS: StepKind<PreserveCredentialsStep> = {
  kind: "preserve-credentials",
  phase: "core",
  repeats: "last",
  code: () => ({ fn: "preserveCredentials", args: [] }),
};

/** The kinds of steps this module defines, for lib/steps/_registry.ts. */
export const KINDS = [ENTER, ENTER_ROOT, ENTER_WD, PRESERVE_CREDENTIALS] as const;
