/**
 * Mounts in the child's mount namespace: bind mounts, tmpfs, any mount(2),
 * unmounts, proc for a new PID namespace, the propagation of the tree, and
 * namespaces bound to files.
 *
 * @module
 */

import type { NamespaceType } from "../namespaces.ts";
import type { OpInfo, StepKind } from "./_kind.ts";
import { NEEDS_ROOT } from "./_hints.ts";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  EACCES,
  EBUSY,
  EINVAL,
  ENOENT,
  ENOTDIR,
  EPERM,
  MNT_DETACH,
  MOVE_MOUNT_F_EMPTY_PATH,
  MS,
  O_CLOEXEC,
  O_CREAT,
  O_RDONLY,
  OPEN_TREE_CLONE,
  UMOUNT_NOFOLLOW,
} from "../../ffi/constants.ts";

/** How the mount tree of a new mount namespace propagates events. */
export type Propagation = "private" | "shared" | "slave" | "unchanged";

/** The propagation of a new mount tree. */
export interface PropagationStep {
  /** The kind of step. */
  readonly kind: "propagation";
  /** The propagation. */
  readonly mode: Propagation;
}

/** A proc for the program's PID namespace. */
export interface MountProcStep {
  /** The kind of step. */
  readonly kind: "mount-proc";
  /** The mount point. */
  readonly target: string;
}

/** A bind mount. */
export interface BindStep {
  /** The kind of step. */
  readonly kind: "bind";
  /** What to show. */
  readonly source: string;
  /** Where. */
  readonly target: string;
  /** Read-only. */
  readonly readonly: boolean;
}

/** A tmpfs. */
export interface TmpfsStep {
  /** The kind of step. */
  readonly kind: "tmpfs";
  /** The mount point. */
  readonly target: string;
  /** tmpfs options. */
  readonly options: string;
}

/** Any mount(2). */
export interface MountStep {
  /** The kind of step. */
  readonly kind: "mount";
  /** The source, such as a device or `"none"`. */
  readonly source: string;
  /** The mount point. */
  readonly target: string;
  /** The filesystem type. */
  readonly type: string;
  /** `MS_*` flags. */
  readonly flags: number;
  /** Filesystem options. */
  readonly data: string;
}

/** A lazy unmount. */
export interface UmountStep {
  /** The kind of step. */
  readonly kind: "umount";
  /** The mount point. */
  readonly target: string;
  /** Go on when nothing is mounted there. */
  readonly ignoreErrors: boolean;
  /** Refuse a symbolic link as the mount point (`UMOUNT_NOFOLLOW`). */
  readonly noFollow?: boolean;
}

/** A namespace open in this process, bound to a file in the child's mount namespace. */
export interface BindNamespaceStep {
  /** The kind of step. */
  readonly kind: "bind-namespace";
  /** The descriptor of the namespace, in this process. */
  readonly fd: number;
  /** Its type, for messages. */
  readonly type: NamespaceType;
  /** The file to bind it to. */
  readonly file: string;
}

/**
 * Sets the propagation of the whole mount tree in the new mount namespace
 * (which it does not imply: ask for one).
 *
 * @example Private unless told: here shared
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, namespaces, propagation, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(mapRootUser(), namespaces("mnt"));
 * assert.equal(await box.run("findmnt", "-no", "PROPAGATION", "/").text(), "private"); // when not told
 * assert.equal(await box.with(propagation("shared")).run("findmnt", "-no", "PROPAGATION", "/").text(), "shared");
 * ```
 *
 * @param mode The propagation; nsh makes the tree private when not told.
 * @returns The step.
 */
export function propagation(mode: Propagation): PropagationStep {
  return { kind: "propagation", mode };
}

/**
 * Mounts a proc filesystem that shows the new PID namespace, after the root
 * changed (`--mount-proc`). Implies a mount namespace.
 *
 * @example A proc that shows the box's own PID namespace, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, mountProc, namespaces, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(mapRootUser(), namespaces("pid"), mountProc());
 * assert.equal(await box.run("readlink", "/proc/self").text(), "1"); // the program is its init
 * ```
 *
 * @param target The mount point; `/proc` when left out.
 * @returns The step.
 */
export function mountProc(target = "/proc"): MountProcStep {
  return { kind: "mount-proc", target };
}

/** Options of {@linkcode bindMount}. */
export interface BindOptions {
  /**
   * Make the bind mount read-only.
   *
   * @default {false}
   */
  readonly?: boolean;
}

/**
 * Bind-mounts `source` (and what is mounted below it) on `target` in a new mount
 * namespace (implied).
 *
 * @example A directory of the caller's, read-only at /mnt in the box, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { bindMount, mapRootUser, sandbox } from "@nsh/nsh";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/note`, "hello\n");
 * const box = sandbox(mapRootUser(), bindMount(dir, "/mnt", { readonly: true }));
 * assert.equal(await box.run("cat", "/mnt/note").text(), "hello");
 * const write = await box.run("touch", "/mnt/note").noThrow().output();
 * assert.match(write.stderrText, /Read-only file system/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param source The file or directory to show.
 * @param target Where to show it.
 * @param options Read-only or not.
 * @returns The step.
 */
export function bindMount(source: string, target: string, options: BindOptions = {}): BindStep {
  return { kind: "bind", source, target, readonly: options.readonly ?? false };
}

/**
 * Mounts a new tmpfs on `target` in a new mount namespace (implied).
 *
 * @example An empty /tmp of the box's own, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, sandbox, tmpfs } from "@nsh/nsh";
 *
 * const box = sandbox(mapRootUser(), tmpfs("/tmp", "size=16m"));
 * assert.equal(await box.run("ls", "-A", "/tmp").text(), "");
 * assert.match(await box.run("findmnt", "-no", "OPTIONS", "/tmp").text(), /size=16384k/);
 * ```
 *
 * @param target The mount point.
 * @param options tmpfs options, such as `"size=64m,mode=0755"`; none (`""`) when left out.
 * @returns The step.
 */
export function tmpfs(target: string, options = ""): TmpfsStep {
  return { kind: "tmpfs", target, options };
}

/** A mount(2) call. */
export interface MountOptions {
  /** The source, such as a device or `"none"`. */
  source: string;
  /** The mount point. */
  target: string;
  /** The filesystem type. */
  type: string;
  /**
   * `MS_*` flags.
   *
   * @default {0}
   */
  flags?: number;
  /**
   * Filesystem options.
   *
   * @default {""}
   */
  data?: string;
}

/**
 * Any mount(2) call, in a new mount namespace (implied).
 *
 * @example A tmpfs of 1 MiB on /mnt, as mount(2) is called, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, mount, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(mapRootUser(), mount({ source: "scratch", target: "/mnt", type: "tmpfs", data: "size=1m" }));
 * assert.equal(await box.run("findmnt", "-no", "SOURCE,FSTYPE", "/mnt").text(), "scratch tmpfs");
 * ```
 *
 * @param options What to mount where.
 * @returns The step.
 */
export function mount(options: MountOptions): MountStep {
  return {
    kind: "mount",
    source: options.source,
    target: options.target,
    type: options.type,
    flags: options.flags ?? 0,
    data: options.data ?? "",
  };
}

/** Options of {@linkcode umount}. */
export interface UmountOptions {
  /**
   * Go on when nothing is mounted there.
   *
   * @default {false}
   */
  ignoreErrors?: boolean;
  /**
   * Refuse a symbolic link as the mount point instead of following it
   * (`UMOUNT_NOFOLLOW`), for a path other users may change.
   *
   * @default {false}
   */
  noFollow?: boolean;
}

/**
 * Detaches what is mounted on `target` (and below it) in a new mount
 * namespace (implied), as `umount --lazy` does.
 *
 * @example A box without /proc (as root: the mounts a user namespace inherits are locked)
 * ```ts
 * import assert from "node:assert/strict";
 * import { sandbox, umount } from "@nsh/nsh";
 *
 * assert.equal(await sandbox(umount("/proc")).run("ls", "-A", "/proc").text(), "");
 * assert.notEqual(Array.from(Deno.readDirSync("/proc")).length, 0); // the host's is still there
 * ```
 *
 * @param target The mount point.
 * @param options Whether a failure stops the setup, and whether to follow a
 *   symbolic link.
 * @returns The step.
 */
export function umount(target: string, options: UmountOptions = {}): UmountStep {
  return {
    kind: "umount",
    target,
    ignoreErrors: options.ignoreErrors ?? false,
    ...(options.noFollow ? { noFollow: true } : {}),
  };
}

/**
 * Binds the namespace open at descriptor `fd` (of this process) to `file`, in
 * the mount namespace the child is in, creating the file when missing. This
 * is how a namespace made inside a shell context is bound in that context's
 * mount namespace, where an unprivileged user may mount. Implies nothing.
 *
 * @example Keep a box's UTS namespace in a file after the box ends (as root, who may mount here)
 * ```ts
 * import assert from "node:assert/strict";
 * import { bindNamespace, enter, hostname, mapRootUser, OpenFile, releaseNamespace, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(mapRootUser(), hostname("box")).run("sleep", "60").noThrow().spawn();
 * const dir = await Deno.makeTempDir();
 * using uts = new OpenFile(`/proc/${(await box.started).pid}/ns/uts`);
 * await sandbox(bindNamespace(uts.fd, "uts", `${dir}/uts`)).apply();
 * box.kill();
 * await box;
 * assert.equal(await sandbox(enter("uts", `${dir}/uts`)).run("hostname").text(), "box");
 * await releaseNamespace(`${dir}/uts`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param fd A descriptor of a namespace file, open in this process.
 * @param type Its type, for messages.
 * @param file Where to bind it.
 * @returns The step.
 */
export function bindNamespace(fd: number, type: NamespaceType, file: string): BindNamespaceStep {
  return { kind: "bind-namespace", fd, type, file };
}

/** A mount step implies a mount namespace, unless it changes a joined one (a shell context's). */
function impliesMnt(_step: unknown, joined: ReadonlySet<NamespaceType>): readonly NamespaceType[] {
  return joined.has("mnt") ? [] : ["mnt"];
}

/** The hint for a failed mount, unmount or propagation change. */
export function mountHint(info: OpInfo, errno: number, rootless: boolean): string | undefined {
  const proc = info.role === "mount-proc";
  if (errno === EPERM || errno === EACCES) {
    return proc
      ? "mounting proc needs a PID namespace owned by your user namespace (--pid with --user) and an unobstructed /proc"
      : rootless
      ? "mounting needs a mount namespace owned by your user namespace (--user --map-root-user --mount)"
      : NEEDS_ROOT;
  }
  if (info.syscall === "umount2") {
    if (errno !== EINVAL) return undefined;
    if (info.path === "/") return "the root of a mount namespace cannot be unmounted";
    // umount2(2): EINVAL also for a mount locked into a user namespace's mount
    // namespace with the ones under it, as it came from its parent.
    return "nothing is mounted there, or, in a user namespace, the mount came locked from the parent's (only a process outside can unmount it)";
  }
  if (errno === ENOENT || errno === ENOTDIR) {
    if (proc) return "the mount point must exist (inside the new root, for proc)";
    return info.operation.startsWith("bind-mount")
      ? "the source and the mount point must exist"
      : "the mount point must exist";
  }
  if (errno === EBUSY) return "something is already mounted there";
  return undefined;
}

/** The kind of {@linkcode propagation} steps (planned by lib/plan.ts: a new tree is private unless told). */
const PROPAGATION: StepKind<PropagationStep> = {
  kind: "propagation",
  phase: "core",
  repeats: "last",
  code: (step) => ({ fn: "propagation", args: [step.mode] }),
  hint: mountHint,
};

/** The kind of {@linkcode mountProc} steps. */
const MOUNT_PROC: StepKind<MountProcStep> = {
  kind: "mount-proc",
  phase: "proc",
  repeats: "last",
  implies: impliesMnt,
  compile(step, out) {
    const info = { operation: `mount proc on "${step.target}"`, path: step.target, role: "mount-proc" };
    // The old proc shows the old PID namespace; detach it first (a locked mount
    // of a rootless namespace refuses, and the new one then covers it).
    out.add({ call: "umount2", args: [{ str: step.target }, MNT_DETACH], ignore: true }, {
      ...info,
      syscall: "umount2",
      operation: `unmount "${step.target}"`,
    });
    out.add({
      call: "mount",
      args: [{ str: "proc" }, { str: step.target }, { str: "proc" }, MS.NOSUID | MS.NODEV | MS.NOEXEC, 0],
    }, { ...info, syscall: "mount" });
  },
  code: (step) => ({ fn: "mountProc", args: step.target === "/proc" ? [] : [step.target] }),
  hint: mountHint,
};

/** The kind of {@linkcode bindMount} steps. */
const BIND: StepKind<BindStep> = {
  kind: "bind",
  phase: "mount",
  repeats: "each",
  implies: impliesMnt,
  compile(step, out) {
    const info = { path: step.target, role: "bind", syscall: "mount" };
    out.add({ call: "mount", args: [{ str: step.source }, { str: step.target }, 0, MS.BIND | MS.REC, 0] }, {
      ...info,
      operation: `bind-mount "${step.source}" on "${step.target}"`,
    });
    if (step.readonly) {
      out.add({
        call: "mount",
        args: [0, { str: step.target }, 0, MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV, 0],
      }, { ...info, operation: `make "${step.target}" read-only` });
    }
  },
  code: (step) => ({
    fn: "bindMount",
    args: step.readonly ? [step.source, step.target, { readonly: true }] : [step.source, step.target],
  }),
  hint: mountHint,
};

/** The kind of {@linkcode tmpfs} steps. */
const TMPFS: StepKind<TmpfsStep> = {
  kind: "tmpfs",
  phase: "mount",
  repeats: "each",
  implies: impliesMnt,
  compile(step, out) {
    out.add({
      call: "mount",
      args: [{ str: "tmpfs" }, { str: step.target }, { str: "tmpfs" }, MS.NOSUID | MS.NODEV, { str: step.options }],
    }, { syscall: "mount", operation: `mount a tmpfs on "${step.target}"`, path: step.target, role: "tmpfs" });
  },
  code: (step) => ({ fn: "tmpfs", args: step.options ? [step.target, step.options] : [step.target] }),
  hint: mountHint,
};

/** The kind of {@linkcode mount} steps. */
const MOUNT: StepKind<MountStep> = {
  kind: "mount",
  phase: "mount",
  repeats: "each",
  implies: impliesMnt,
  compile(step, out) {
    out.add({
      call: "mount",
      args: [{ str: step.source }, { str: step.target }, { str: step.type }, step.flags, { str: step.data }],
    }, {
      syscall: "mount",
      operation: `mount "${step.source}" (${step.type}) on "${step.target}"`,
      path: step.target,
      role: "mount",
    });
  },
  code: (step) => ({
    fn: "mount",
    args: [{
      source: step.source,
      target: step.target,
      type: step.type,
      ...(step.flags ? { flags: step.flags } : {}),
      ...(step.data ? { data: step.data } : {}),
    }],
  }),
  hint: mountHint,
};

/** The kind of {@linkcode umount} steps. */
const UMOUNT: StepKind<UmountStep> = {
  kind: "umount",
  phase: "mount",
  repeats: "each",
  implies: impliesMnt,
  compile(step, out) {
    const flags = MNT_DETACH | (step.noFollow ? UMOUNT_NOFOLLOW : 0);
    out.add({ call: "umount2", args: [{ str: step.target }, flags], ignore: step.ignoreErrors }, {
      syscall: "umount2",
      operation: `unmount "${step.target}"`,
      path: step.target,
      role: "umount",
    });
  },
  code: (step) => {
    const options = {
      ...(step.ignoreErrors ? { ignoreErrors: true } : {}),
      ...(step.noFollow ? { noFollow: true } : {}),
    };
    return { fn: "umount", args: Object.keys(options).length ? [step.target, options] : [step.target] };
  },
  hint: mountHint,
};

/** The kind of {@linkcode bindNamespace} steps. */
const BIND_NAMESPACE: StepKind<BindNamespaceStep> = {
  kind: "bind-namespace",
  phase: "mount",
  repeats: "each",
  compile(step, out) {
    // open_tree + move_mount bind the namespace from a descriptor, with no
    // path through /proc, which may show another PID namespace here.
    const info = { operation: `bind the ${step.type} namespace to "${step.file}"`, path: step.file, role: "bind" };
    const made = out.add({
      call: "openat",
      args: [AT_FDCWD, { str: step.file }, O_RDONLY | O_CREAT | O_CLOEXEC, 0o444],
    }, { ...info, syscall: "open" });
    out.add({ call: "close", args: [{ result: made }] }, { ...info, syscall: "close" });
    const tree = out.add({
      call: "open_tree",
      args: [step.fd, { str: "" }, OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH],
    }, { ...info, syscall: "open_tree" });
    out.add({
      call: "move_mount",
      args: [{ result: tree }, { str: "" }, AT_FDCWD, { str: step.file }, MOVE_MOUNT_F_EMPTY_PATH],
    }, { ...info, syscall: "move_mount" });
  },
  code: (step) => ({ fn: "bindNamespace", args: [step.fd, step.type, step.file] }),
  hint: mountHint,
};

/** The kinds of steps this module defines, for lib/steps/_registry.ts. */
export const KINDS = [PROPAGATION, MOUNT_PROC, BIND, TMPFS, MOUNT, UMOUNT, BIND_NAMESPACE] as const;
