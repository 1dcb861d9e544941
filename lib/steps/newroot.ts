/**
 * A new root, assembled from nothing: the program sees only what was put
 * there. The steps of this module build it in a tmpfs and then make it the
 * root with pivot_root(2), detaching the old root (a chroot could be
 * escaped; a pivot leaves nothing to escape to), as bubblewrap does:
 *
 * 1. a tmpfs on /tmp becomes the root, with the old root at /oldroot and the
 *    new one being filled at /newroot (a directory of it, bound to itself);
 * 2. each step adds to /newroot: bind mounts from /oldroot (sources
 *    resolved by the parent first), a tmpfs, a /dev, proc, directories,
 *    symbolic links, files from data; the mount points and their parents
 *    are created, mode 0755 (0444 for a file that something is bound on);
 * 3. the old root is detached, and /newroot becomes the root.
 *
 * Bind mounts use open_tree(2), mount_setattr(2) and move_mount(2) (Linux
 * 5.12): read-only, nosuid and nodev are applied to the whole tree at once,
 * also to mounts that a user namespace may not remount one by one.
 *
 * @module
 */

import type { Emitter, Frame, OpInfo, PlanView, StepKind } from "./_kind.ts";
import type { NamespaceType } from "../namespaces.ts";
import { mountHint } from "./mounts.ts";
import { encodeText } from "../../ffi/bytes.ts";
import { SyscallError } from "../../ffi/error.ts";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_RECURSIVE,
  EACCES,
  EEXIST,
  ENOENT,
  EPERM,
  MNT_DETACH,
  MOUNT_ATTR,
  MOUNT_ATTR_SIZE_VER0,
  MOVE_MOUNT_F_EMPTY_PATH,
  MOVE_MOUNT_T_SYMLINKS,
  MS,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_RDONLY,
  O_TRUNC,
  O_WRONLY,
  OPEN_TREE_CLONE,
} from "../../ffi/constants.ts";

/** What a step of the new root binds: a path of the old root. */
export interface RootBindStep {
  /** The kind of step. */
  readonly kind: "root-bind";
  /** The source, as the caller sees it. */
  readonly source: string;
  /** Where it appears in the new root. */
  readonly dest: string;
  /** Read-only. */
  readonly readonly: boolean;
  /** Devices on it work (nodev otherwise). */
  readonly devices: boolean;
  /** A missing source is skipped. */
  readonly optional: boolean;
  /** The source resolved by the parent (its symbolic links followed), and whether it is a directory. */
  readonly resolved?: { readonly path: string; readonly directory: boolean };
}

/** A tmpfs in the new root. */
export interface RootTmpfsStep {
  /** The kind of step. */
  readonly kind: "root-tmpfs";
  /** Where. */
  readonly dest: string;
  /** The mode of its root directory. */
  readonly mode: number;
  /** Its size in bytes, or 0 for the kernel's default (half of memory). */
  readonly size: number;
}

/** A minimal /dev. */
export interface RootDevStep {
  /** The kind of step. */
  readonly kind: "root-dev";
  /** Where. */
  readonly dest: string;
  /** The terminal of the program's stdout, bound as console, as the parent found it. */
  readonly console?: string;
}

/** A proc. */
export interface RootProcStep {
  /** The kind of step. */
  readonly kind: "root-proc";
  /** Where. */
  readonly dest: string;
}

/** A POSIX message queue filesystem. */
export interface RootMqueueStep {
  /** The kind of step. */
  readonly kind: "root-mqueue";
  /** Where. */
  readonly dest: string;
}

/** A directory. */
export interface RootDirStep {
  /** The kind of step. */
  readonly kind: "root-dir";
  /** Where. */
  readonly dest: string;
  /** Its mode. */
  readonly mode: number;
}

/** A symbolic link. */
export interface RootSymlinkStep {
  /** The kind of step. */
  readonly kind: "root-symlink";
  /** What it points to. */
  readonly target: string;
  /** Where it is. */
  readonly dest: string;
}

/** A file with content. */
export interface RootFileStep {
  /** The kind of step. */
  readonly kind: "root-file";
  /** Where. */
  readonly dest: string;
  /** Its content. */
  readonly data: Uint8Array;
  /** Its mode. */
  readonly mode: number;
  /** Read-only, so that not even root in the box may change it (and bound, as `bind`). */
  readonly readonly: boolean;
  /**
   * Written outside the new root and bound on `dest`, as bubblewrap's
   * `--bind-data` makes it: over a file there, also in a read-only directory.
   */
  readonly bind: boolean;
}

/** A mount made read-only. */
export interface RootRemountReadonlyStep {
  /** The kind of step. */
  readonly kind: "root-remount-ro";
  /** The mount point, in the new root. */
  readonly dest: string;
}

/** A change of mode. */
export interface RootChmodStep {
  /** The kind of step. */
  readonly kind: "root-chmod";
  /** The file, in the new root. */
  readonly dest: string;
  /** The mode. */
  readonly mode: number;
}

/** An overlay. */
export interface RootOverlayStep {
  /** The kind of step. */
  readonly kind: "root-overlay";
  /** Where. */
  readonly dest: string;
  /** The lower layers, paths of the caller's, the lowest first. */
  readonly lower: readonly string[];
  /**
   * Where writes go: a directory and an empty work directory of the caller's
   * on the same filesystem, `"tmpfs"` for a throwaway one, or `"none"` for a
   * read-only overlay.
   */
  readonly upper: { readonly dir: string; readonly work: string } | "tmpfs" | "none";
}

/** Options of {@linkcode rootBind}. */
export interface RootBindOptions {
  /**
   * Read-only (bubblewrap's `--ro-bind`).
   *
   * @default {false}
   */
  readonly?: boolean;
  /**
   * Device files work (bubblewrap's `--dev-bind`); otherwise it is nodev.
   *
   * @default {false}
   */
  devices?: boolean;
  /**
   * Skip it when the source is missing (bubblewrap's `-try` forms).
   *
   * @default {false}
   */
  optional?: boolean;
}

/**
 * Binds a path of the caller's on `dest` in a new root (and starts one). The
 * source's symbolic links are followed by nsh before the child starts, so an
 * absolute link works; the whole tree below it is bound, nosuid, and nodev
 * unless `devices`.
 *
 * @example A new root with nothing but /usr, read-only, and its links, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, rootBind, rootSymlink, sandbox } from "@nsh/nsh";
 *
 * const links = ["bin", "lib", "lib64"].map((dir) => rootSymlink(`usr/${dir}`, `/${dir}`));
 * const box = sandbox(mapRootUser(), rootBind("/usr", "/usr", { readonly: true }), ...links);
 * assert.deepEqual(await box.run("ls", "/").lines(), ["bin", "lib", "lib64", "usr"]);
 * ```
 *
 * @param source The path to show, as the caller sees it.
 * @param dest Where in the new root (the same path when not given).
 * @param options Read-only, devices, optional.
 * @returns The step.
 */
export function rootBind(source: string, dest: string = source, options: RootBindOptions = {}): RootBindStep {
  return {
    kind: "root-bind",
    source,
    dest,
    readonly: options.readonly ?? false,
    devices: options.devices ?? false,
    optional: options.optional ?? false,
  };
}

/** Options of {@linkcode rootTmpfs}. */
export interface RootTmpfsOptions {
  /**
   * The mode of its root directory.
   *
   * @default {0o755}
   */
  mode?: number;
  /**
   * Its size in bytes; the kernel's default (half of memory) when not given.
   *
   * @default {0}
   */
  size?: number;
}

/**
 * A tmpfs on `dest` in a new root.
 *
 * @example A /tmp anyone may write, in a new root, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, rootBind, rootSymlink, rootTmpfs, sandbox } from "@nsh/nsh";
 *
 * const links = ["bin", "lib", "lib64"].map((dir) => rootSymlink(`usr/${dir}`, `/${dir}`));
 * const box = sandbox(mapRootUser(), rootBind("/usr"), ...links, rootTmpfs("/tmp", { mode: 0o1777 }));
 * assert.equal(await box.run("stat", "-f", "-c", "%T", "/tmp").text(), "tmpfs");
 * assert.equal(await box.run("stat", "-c", "%a", "/tmp").text(), "1777");
 * ```
 *
 * @param dest Where.
 * @param options Its mode and size.
 * @returns The step.
 */
export function rootTmpfs(dest: string, options: RootTmpfsOptions = {}): RootTmpfsStep {
  return { kind: "root-tmpfs", dest, mode: options.mode ?? 0o755, size: options.size ?? 0 };
}

/**
 * A minimal /dev in a new root: a tmpfs with null, zero, full, random,
 * urandom and tty bound from the host, the stdio links and fd, a private
 * devpts with ptmx, shm, and the terminal as console when stdout is one.
 *
 * @example Devices a program expects, and no others, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, rootBind, rootDev, rootSymlink, sandbox } from "@nsh/nsh";
 *
 * const links = ["bin", "lib", "lib64"].map((dir) => rootSymlink(`usr/${dir}`, `/${dir}`));
 * const devices = await sandbox(mapRootUser(), rootBind("/usr"), ...links, rootDev()).run("ls", "/dev").lines();
 * assert.ok(devices.includes("null") && devices.includes("urandom") && devices.includes("pts"));
 * assert.ok(!devices.includes("vda") && !devices.includes("kmsg"));
 * ```
 *
 * @param dest Where; `/dev` when left out.
 * @returns The step.
 */
export function rootDev(dest = "/dev"): RootDevStep {
  return { kind: "root-dev", dest };
}

/**
 * A proc in a new root: of the box's PID namespace when it has one (else the
 * host's, bound), with /proc/sys, sysrq-trigger, irq and bus read-only.
 *
 * @example The box's processes and no others, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, namespaces, rootBind, rootProc, rootSymlink, sandbox } from "@nsh/nsh";
 *
 * const links = ["bin", "lib", "lib64"].map((dir) => rootSymlink(`usr/${dir}`, `/${dir}`));
 * const box = sandbox(mapRootUser(), namespaces("pid"), rootBind("/usr"), ...links, rootProc());
 * assert.equal(await box.run("readlink", "/proc/self").text(), "1");
 * ```
 *
 * @param dest Where; `/proc` when left out.
 * @returns The step.
 */
export function rootProc(dest = "/proc"): RootProcStep {
  return { kind: "root-proc", dest };
}

/**
 * A POSIX message queue filesystem in a new root (implies an IPC namespace).
 *
 * @example The box's own POSIX message queues, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, rootBind, rootMqueue, rootSymlink, sandbox } from "@nsh/nsh";
 *
 * const links = ["bin", "lib", "lib64"].map((dir) => rootSymlink(`usr/${dir}`, `/${dir}`));
 * const box = sandbox(mapRootUser(), rootBind("/usr"), ...links, rootMqueue());
 * assert.equal(await box.run("stat", "-f", "-c", "%T", "/dev/mqueue").text(), "mqueue");
 * ```
 *
 * @param dest Where; `/dev/mqueue` when left out.
 * @returns The step.
 */
export function rootMqueue(dest = "/dev/mqueue"): RootMqueueStep {
  return { kind: "root-mqueue", dest };
}

/**
 * A directory in a new root, with its parents: mode 0755, less what `mode`
 * denies the group and the others, as bubblewrap makes them.
 *
 * @example A private directory in a new root, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, rootBind, rootDir, rootSymlink, sandbox } from "@nsh/nsh";
 *
 * const links = ["bin", "lib", "lib64"].map((dir) => rootSymlink(`usr/${dir}`, `/${dir}`));
 * const box = sandbox(mapRootUser(), rootBind("/usr"), ...links, rootDir("/srv/data", 0o700));
 * assert.equal(await box.run("stat", "-c", "%a", "/srv/data").text(), "700");
 * assert.equal(await box.run("stat", "-c", "%a", "/srv").text(), "700"); // its parent, made for it
 * ```
 *
 * @param dest Where.
 * @param mode Its mode; 0755 when left out.
 * @returns The step.
 */
export function rootDir(dest: string, mode = 0o755): RootDirStep {
  return { kind: "root-dir", dest, mode };
}

/**
 * A symbolic link in a new root.
 *
 * @example /bin as a link to usr/bin, as merged-/usr systems have it, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, rootBind, rootSymlink, sandbox } from "@nsh/nsh";
 *
 * const links = ["bin", "lib", "lib64"].map((dir) => rootSymlink(`usr/${dir}`, `/${dir}`));
 * const box = sandbox(mapRootUser(), rootBind("/usr"), ...links);
 * assert.equal(await box.run("readlink", "/bin").text(), "usr/bin");
 * ```
 *
 * @param target What it points to, as written in the link.
 * @param dest Where the link is.
 * @returns The step.
 */
export function rootSymlink(target: string, dest: string): RootSymlinkStep {
  return { kind: "root-symlink", target, dest };
}

/** Options of {@linkcode rootFile}. */
export interface RootFileOptions {
  /**
   * The file's mode.
   *
   * @default {0o666}
   */
  mode?: number;
  /**
   * Read-only: bound read-only on `dest` (bubblewrap's `--ro-bind-data`).
   *
   * @default {false}
   */
  readonly?: boolean;
  /**
   * Written outside the new root and bound on `dest` (bubblewrap's
   * `--bind-data`): over a file that is there, also in a read-only directory.
   *
   * @default {false}
   */
  bind?: boolean;
}

/**
 * A file with the given content in a new root.
 *
 * @example A file written into a new root, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, rootBind, rootFile, rootSymlink, sandbox } from "@nsh/nsh";
 *
 * const links = ["bin", "lib", "lib64"].map((dir) => rootSymlink(`usr/${dir}`, `/${dir}`));
 * const box = sandbox(mapRootUser(), rootBind("/usr"), ...links, rootFile("/etc/hostname", "box\n", { mode: 0o644 }));
 * assert.equal(await box.run("cat", "/etc/hostname").text(), "box");
 * assert.equal(await box.run("stat", "-c", "%a", "/etc/hostname").text(), "644");
 * ```
 *
 * @param dest Where.
 * @param data Its content.
 * @param options Its mode, and whether it is read-only.
 * @returns The step.
 */
export function rootFile(dest: string, data: string | Uint8Array, options: RootFileOptions = {}): RootFileStep {
  return {
    kind: "root-file",
    dest,
    data: typeof data === "string" ? encodeText(data) : data,
    mode: options.mode ?? 0o666,
    readonly: options.readonly ?? false,
    bind: options.bind ?? false,
  };
}

/**
 * Makes a mount of the new root read-only, that mount only (not those below).
 *
 * @example A new root that even root in the box cannot write, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, rootBind, rootRemountReadonly, rootSymlink, sandbox } from "@nsh/nsh";
 *
 * const links = ["bin", "lib", "lib64"].map((dir) => rootSymlink(`usr/${dir}`, `/${dir}`));
 * const box = sandbox(mapRootUser(), rootBind("/usr"), ...links, rootRemountReadonly("/"));
 * const result = await box.run("touch", "/file").noThrow().output();
 * assert.match(result.stderrText, /Read-only file system/);
 * ```
 *
 * @param dest The mount point, in the new root.
 * @returns The step.
 */
export function rootRemountReadonly(dest: string): RootRemountReadonlyStep {
  return { kind: "root-remount-ro", dest };
}

/**
 * Changes the mode of a file of the new root.
 *
 * @example A new root's own /tmp made writable by all, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, rootBind, rootChmod, rootDir, rootSymlink, sandbox } from "@nsh/nsh";
 *
 * const links = ["bin", "lib", "lib64"].map((dir) => rootSymlink(`usr/${dir}`, `/${dir}`));
 * const box = sandbox(mapRootUser(), rootBind("/usr"), ...links, rootDir("/tmp"), rootChmod("/tmp", 0o1777));
 * assert.equal(await box.run("stat", "-c", "%a", "/tmp").text(), "1777");
 * ```
 *
 * @param dest The file, in the new root.
 * @param mode The mode.
 * @returns The step.
 */
export function rootChmod(dest: string, mode: number): RootChmodStep {
  return { kind: "root-chmod", dest, mode };
}

/** Options of {@linkcode rootOverlay}. */
export interface RootOverlayOptions {
  /**
   * Where writes go: a directory and an empty work directory on the same
   * filesystem (`{ dir, work }`), `"tmpfs"` for a throwaway layer, or
   * `"none"` for a read-only overlay.
   *
   * @default {"none"}
   */
  upper?: { readonly dir: string; readonly work: string } | "tmpfs" | "none";
}

/**
 * An overlay of directories of the caller's on `dest` in a new root
 * (bubblewrap's `--overlay`, `--tmp-overlay`, `--ro-overlay`). Rootless, the
 * kernel allows it in a user namespace with the `userxattr` option, which nsh
 * adds there.
 *
 * @example A directory the box may change, its changes thrown away, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, rootBind, rootOverlay, rootSymlink, sandbox } from "@nsh/nsh";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/kept`, "");
 * const links = ["bin", "lib", "lib64"].map((dir) => rootSymlink(`usr/${dir}`, `/${dir}`));
 * const box = sandbox(mapRootUser(), rootBind("/usr"), ...links, rootOverlay("/work", [dir], { upper: "tmpfs" }));
 * assert.deepEqual(await box.run("sh", "-c", "touch /work/new && ls /work").lines(), ["kept", "new"]);
 * assert.deepEqual(Array.from(Deno.readDirSync(dir), (entry) => entry.name), ["kept"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param dest Where.
 * @param lower The layers, the lowest first.
 * @param options Where writes go.
 * @returns The step.
 */
export function rootOverlay(dest: string, lower: readonly string[], options: RootOverlayOptions = {}): RootOverlayStep {
  return { kind: "root-overlay", dest, lower, upper: options.upper ?? "none" };
}

// ---------------------------------------------------------------------------
// Compiling

/** Where the new root is filled, and where the old one is, during the setup. */
const NEW = "/newroot", OLD = "/oldroot";
/** Where bubblewrap and nsh assemble it: a tmpfs mounted here becomes the root for the setup. */
const BASE = "/tmp";

/** A path of the new root as `dest` names it, normalized and absolute. */
function inRoot(dest: string): string {
  const parts: string[] = [];
  for (const part of dest.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}

/** The step's info. */
function info(role: string, operation: string, dest: string, syscall = "mount"): OpInfo {
  return { syscall, operation, path: dest, role };
}

/**
 * The mode of the parents made for a file or directory of mode `mode`, as
 * bubblewrap makes them: 0755, without search and read for the group or the
 * others when the file denies them everything (a directory of mode 0700 gets
 * parents of mode 0700).
 */
function parentMode(mode: number): number {
  let parent = 0o755;
  if ((mode & 0o070) === 0) parent &= ~0o050;
  if ((mode & 0o007) === 0) parent &= ~0o005;
  return parent;
}

/** Makes the parents of `dest` in the new root, mode 0755 unless given (errors show at the mount that needs them). */
function parents(out: Emitter, dest: string, role: string, mode = 0o755): void {
  const parts = inRoot(dest).split("/").filter(Boolean);
  for (let i = 1; i < parts.length; i++) {
    const dir = "/" + parts.slice(0, i).join("/");
    out.add({ call: "mkdirat", args: [AT_FDCWD, { str: NEW + dir }, mode], ignore: true }, {
      syscall: "mkdir",
      operation: `create "${dir}" in the new root`,
      path: dir,
      role,
    });
  }
}

/** A mount point: a directory (or a file, 0444) that may exist already. */
function mountPoint(out: Emitter, dest: string, role: string, file = false, parentsMode = 0o755): void {
  parents(out, dest, role, parentsMode);
  const path = NEW + inRoot(dest);
  if (!file) {
    out.add({ call: "mkdirat", args: [AT_FDCWD, { str: path }, 0o755], ignore: true }, {
      syscall: "mkdir",
      operation: `create "${dest}" in the new root`,
      path: dest,
      role,
    });
    return;
  }
  const made = out.add({
    call: "openat",
    args: [AT_FDCWD, { str: path }, O_RDONLY | O_CREAT | O_CLOEXEC, 0o444],
    ignore: true,
  }, { syscall: "open", operation: `create "${dest}" in the new root`, path: dest, role });
  out.add({ call: "close", args: [{ result: made }], ignore: true }, {
    syscall: "close",
    operation: `create "${dest}" in the new root`,
    path: dest,
    role,
  });
}

/** `struct mount_attr` with `attr_set`. */
function mountAttr(set: number): Uint8Array {
  const bytes = new Uint8Array(MOUNT_ATTR_SIZE_VER0);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(set), true);
  return bytes;
}

/**
 * Binds `from` on `to` with open_tree, mount_setattr and move_mount: the
 * whole tree at once, the flags given on every mount of it.
 */
function bindTree(
  out: Emitter,
  from: string,
  to: string,
  set: number,
  what: OpInfo,
  options: { recursive?: boolean; ignore?: boolean } = {},
): void {
  const recursive = options.recursive ?? true;
  const ignore = options.ignore ? { ignore: true } : {};
  const tree = out.add({
    call: "open_tree",
    args: [AT_FDCWD, { str: from }, OPEN_TREE_CLONE | O_CLOEXEC | (recursive ? AT_RECURSIVE : 0)],
    ...ignore,
  }, { ...what, syscall: "open_tree" });
  if (set) {
    out.add({
      call: "mount_setattr",
      args: [
        { result: tree },
        { str: "" },
        AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0),
        { bytes: mountAttr(set) },
        32,
      ],
      ...ignore,
    }, { ...what, syscall: "mount_setattr" });
  }
  out.add({
    call: "move_mount",
    // A link at the destination is followed, as mount(2) and bubblewrap follow it.
    args: [{ result: tree }, { str: "" }, AT_FDCWD, { str: to }, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS],
    ...ignore,
  }, { ...what, syscall: "move_mount" });
  out.add({ call: "close", args: [{ result: tree }], ignore: true }, { ...what, syscall: "close" });
}

/**
 * The staging and the final pivot around the steps of the new root. umask is
 * 0 meanwhile, so that modes are the ones asked for, and restored after.
 */
const NEWROOT: Frame = {
  begin(out) {
    const role = "newroot";
    const umask = out.add({ call: "umask", args: [0] }, { syscall: "umask", operation: "clear the umask", role });
    out.add({ call: "mount", args: [{ str: "tmpfs" }, { str: BASE }, { str: "tmpfs" }, MS.NODEV | MS.NOSUID, 0] }, {
      syscall: "mount",
      operation: `mount a tmpfs on "${BASE}" to assemble the new root in`,
      path: BASE,
      role,
    });
    const at = (operation: string, syscall: string): OpInfo => ({ syscall, operation, path: BASE, role });
    out.add({ call: "chdir", args: [{ str: BASE }] }, at(`change to "${BASE}"`, "chdir"));
    out.add({ call: "mkdirat", args: [AT_FDCWD, { str: "newroot" }, 0o755] }, at("create the new root", "mkdir"));
    out.add({ call: "mount", args: [{ str: "newroot" }, { str: "newroot" }, 0, MS.BIND | MS.REC, 0] }, {
      ...at("make the new root a mount point", "mount"),
    });
    out.add(
      { call: "mkdirat", args: [AT_FDCWD, { str: "oldroot" }, 0o755] },
      at("make room for the old root", "mkdir"),
    );
    out.add(
      { call: "pivot_root", args: [{ str: BASE }, { str: "oldroot" }] },
      at("move the old root aside", "pivot_root"),
    );
    out.add({ call: "chdir", args: [{ str: "/" }] }, at('change to "/"', "chdir"));
    return umask;
  },
  end(out, _plan, umask) {
    const role = "newroot";
    const at = (operation: string, syscall: string): OpInfo => ({ syscall, operation, path: "/", role });
    // The old root is made private first: its unmount must not reach the
    // caller's mount namespace.
    out.add({ call: "mount", args: [{ str: "oldroot" }, { str: OLD }, 0, MS.REC | MS.PRIVATE, 0] }, {
      ...at("detach the old root", "mount"),
    });
    out.add({ call: "umount2", args: [{ str: OLD }, MNT_DETACH] }, at("detach the old root", "umount2"));
    const base = out.add({
      call: "openat",
      args: [AT_FDCWD, { str: "/" }, O_DIRECTORY | O_RDONLY | O_CLOEXEC, 0],
    }, at("open the assembly's root", "open"));
    out.add({ call: "chdir", args: [{ str: NEW }] }, at("change to the new root", "chdir"));
    out.add({ call: "pivot_root", args: [{ str: "." }, { str: "." }] }, at("make the new root the root", "pivot_root"));
    out.add({ call: "fchdir", args: [{ result: base }] }, at("change to the assembly's root", "fchdir"));
    out.add({ call: "umount2", args: [{ str: "." }, MNT_DETACH] }, at("detach the assembly's root", "umount2"));
    out.add({ call: "chdir", args: [{ str: "/" }] }, at('change to "/"', "chdir"));
    out.add({ call: "close", args: [{ result: base }] }, at("close the assembly's root", "close"));
    out.add({ call: "umask", args: [{ result: umask }] }, at("restore the umask", "umask"));
  },
};

/** A kind of this module: the new root's phase and frame, a mount namespace implied. */
function rootKind<S extends { readonly kind: string; readonly dest: string }>(
  kind: S["kind"],
  parts:
    & Required<Pick<StepKind<S>, "compile" | "code">>
    & Partial<Pick<StepKind<S>, "check" | "prepare" | "implies" | "hint">>,
): StepKind<S> {
  return {
    kind,
    phase: "newroot",
    repeats: "each",
    frame: NEWROOT,
    implies: (
      step,
      joined,
    ) => [...(joined.has("mnt") ? [] : ["mnt" as const]), ...(parts.implies?.(step, joined) ?? [])],
    hint: (op, errno, rootless) => parts.hint?.(op, errno, rootless) ?? newrootHint(op, errno, rootless),
    ...(parts.check ? { check: parts.check } : {}),
    ...(parts.prepare ? { prepare: parts.prepare } : {}),
    compile: parts.compile,
    code: parts.code,
  };
}

function newrootHint(info: OpInfo, errno: number, rootless: boolean): string | undefined {
  if (info.path === BASE && errno === ENOENT) return `the new root is assembled on ${BASE}, which must exist`;
  if (info.syscall === "pivot_root" && errno === EPERM) return NEEDS_NS;
  if (info.syscall === "open_tree" && errno === ENOENT) return "the source must exist";
  // The child looks the source up with the box's credentials, not the caller's.
  if (info.syscall === "open_tree" && errno === EACCES) {
    return "a directory on the source's path is not searchable by the box's user (nobody, for --isolate as root)";
  }
  if ((info.syscall === "mount_setattr" || info.syscall === "open_tree") && errno === 38) {
    return "bind mounts in a new root need Linux 5.12 or later (mount_setattr)";
  }
  return mountHint(info, errno, rootless);
}

const NEEDS_NS = "a new root needs a mount namespace of the box's own (--mount), and root or a user namespace";

/** A mode as octal, for messages and code. */
function octal(mode: number): string {
  return `0o${mode.toString(8)}`;
}

function checkMode(what: string, mode: number): void {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new RangeError(`Cannot use mode ${mode} for ${what}: a mode is from 0 to 0o7777`);
  }
}

const ROOT_BIND: StepKind<RootBindStep> = rootKind<RootBindStep>("root-bind", {
  prepare(step, view) {
    if (!view.sameMounts) return step;
    let path: string;
    let directory: boolean;
    try {
      path = Deno.realPathSync(step.source);
      directory = Deno.statSync(path).isDirectory;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        if (step.optional) return undefined;
        throw new SyscallError("stat", ENOENT, {
          operation: `bind "${step.source}" into the new root`,
          path: step.source,
          hint: "the source must exist (or be optional: the -try forms)",
        });
      }
      if (error instanceof Deno.errors.PermissionDenied) {
        throw new SyscallError("stat", EACCES, {
          operation: `bind "${step.source}" into the new root`,
          path: step.source,
        });
      }
      throw error;
    }
    return { ...step, resolved: { path, directory } };
  },
  compile(step, out) {
    const role = "root-bind";
    const source = step.resolved?.path ?? step.source;
    mountPoint(out, step.dest, role, step.resolved ? !step.resolved.directory : false);
    const set = MOUNT_ATTR.NOSUID | (step.devices ? 0 : MOUNT_ATTR.NODEV) | (step.readonly ? MOUNT_ATTR.RDONLY : 0);
    bindTree(
      out,
      OLD + inRoot(source),
      NEW + inRoot(step.dest),
      set,
      info(role, `bind "${step.source}" on "${step.dest}" in the new root`, step.dest),
      { ignore: step.optional && !step.resolved },
    );
  },
  code: (step) => {
    const options = {
      ...(step.readonly ? { readonly: true } : {}),
      ...(step.devices ? { devices: true } : {}),
      ...(step.optional ? { optional: true } : {}),
    };
    const args: unknown[] = [step.source];
    if (step.dest !== step.source || Object.keys(options).length) args.push(step.dest);
    if (Object.keys(options).length) args.push(options);
    return { fn: "rootBind", args };
  },
});

const ROOT_TMPFS: StepKind<RootTmpfsStep> = rootKind<RootTmpfsStep>("root-tmpfs", {
  check(step) {
    checkMode(`a tmpfs on "${step.dest}"`, step.mode);
    if (!Number.isSafeInteger(step.size) || step.size < 0) {
      throw new RangeError(`Cannot make a tmpfs of ${step.size} bytes on "${step.dest}"`);
    }
  },
  compile(step, out) {
    mountPoint(out, step.dest, "root-tmpfs", false, parentMode(step.mode));
    const data = `mode=0${step.mode.toString(8)}${step.size ? `,size=${step.size}` : ""}`;
    out.add({
      call: "mount",
      args: [{ str: "tmpfs" }, { str: NEW + inRoot(step.dest) }, { str: "tmpfs" }, MS.NOSUID | MS.NODEV, { str: data }],
    }, info("root-tmpfs", `mount a tmpfs on "${step.dest}" in the new root`, step.dest));
  },
  code: (step) => ({
    fn: "rootTmpfs",
    args: step.mode === 0o755 && !step.size
      ? [step.dest]
      : [step.dest, { ...(step.mode !== 0o755 ? { mode: step.mode } : {}), ...(step.size ? { size: step.size } : {}) }],
  }),
});

/** The device files a minimal /dev has, bound from the host's. */
const DEVICES = ["null", "zero", "full", "random", "urandom", "tty"];

const ROOT_DEV: StepKind<RootDevStep> = rootKind<RootDevStep>("root-dev", {
  prepare(step) {
    // As bubblewrap: the terminal of stdout is the box's console.
    if (!Deno.stdout.isTerminal()) return step;
    try {
      return { ...step, console: Deno.readLinkSync("/proc/self/fd/1") };
    } catch {
      return step;
    }
  },
  compile(step, out) {
    const role = "root-dev";
    const dev = NEW + inRoot(step.dest);
    mountPoint(out, step.dest, role);
    out.add({
      call: "mount",
      args: [{ str: "tmpfs" }, { str: dev }, { str: "tmpfs" }, MS.NOSUID | MS.NODEV, { str: "mode=0755" }],
    }, info(role, `mount a tmpfs for /dev on "${step.dest}"`, step.dest));
    const nodes: [string, string][] = DEVICES.map((name) => [`/dev/${name}`, name]);
    if (step.console) nodes.push([step.console, "console"]);
    for (const [source, name] of nodes) {
      const dest = `${inRoot(step.dest)}/${name}`;
      mountPoint(out, dest, role, true);
      bindTree(out, OLD + source, NEW + dest, MOUNT_ATTR.NOSUID, info(role, `bind ${source} on "${dest}"`, dest), {
        recursive: false,
      });
    }
    const links: [string, string][] = [
      ["/proc/self/fd/0", "stdin"],
      ["/proc/self/fd/1", "stdout"],
      ["/proc/self/fd/2", "stderr"],
      ["/proc/self/fd", "fd"],
      ["/proc/kcore", "core"],
      ["pts/ptmx", "ptmx"],
    ];
    for (const dir of ["shm", "pts"]) {
      out.add({ call: "mkdirat", args: [AT_FDCWD, { str: `${dev}/${dir}` }, 0o755] }, {
        syscall: "mkdir",
        operation: `create "${step.dest}/${dir}"`,
        path: `${step.dest}/${dir}`,
        role,
      });
    }
    out.add({
      call: "mount",
      args: [{ str: "devpts" }, { str: `${dev}/pts` }, { str: "devpts" }, MS.NOSUID | MS.NOEXEC, {
        str: "newinstance,ptmxmode=0666,mode=620",
      }],
    }, info(role, `mount a devpts of its own on "${step.dest}/pts"`, `${step.dest}/pts`));
    for (const [target, name] of links) {
      out.add({ call: "symlinkat", args: [{ str: target }, AT_FDCWD, { str: `${dev}/${name}` }] }, {
        syscall: "symlink",
        operation: `link "${step.dest}/${name}" to ${target}`,
        path: `${step.dest}/${name}`,
        role,
      });
    }
  },
  code: (step) => ({ fn: "rootDev", args: step.dest === "/dev" ? [] : [step.dest] }),
});

const ROOT_PROC: StepKind<RootProcStep> = rootKind<RootProcStep>("root-proc", {
  compile(step, out, plan) {
    const role = "root-proc";
    const proc = NEW + inRoot(step.dest);
    mountPoint(out, step.dest, role);
    const what = info(role, `mount proc on "${step.dest}" in the new root`, step.dest);
    if (plan.namespaces.includes("pid") || plan.enter.some((e) => e.type === "pid")) {
      out.add({
        call: "mount",
        args: [{ str: "proc" }, { str: proc }, { str: "proc" }, MS.NOSUID | MS.NOEXEC | MS.NODEV, 0],
      }, what);
    } else {
      // The host's PID namespace: its proc, as it is (bubblewrap does the same).
      bindTree(out, `${OLD}/proc`, proc, MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC, what);
    }
    // Old corners of proc that could change the host (sysrq-trigger) are read-only.
    for (const sub of ["sys", "sysrq-trigger", "irq", "bus"]) {
      bindTree(out, `${proc}/${sub}`, `${proc}/${sub}`, MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV, {
        ...what,
        operation: `make "${step.dest}/${sub}" read-only`,
      }, { ignore: true });
    }
  },
  code: (step) => ({ fn: "rootProc", args: step.dest === "/proc" ? [] : [step.dest] }),
});

const ROOT_MQUEUE: StepKind<RootMqueueStep> = rootKind<RootMqueueStep>("root-mqueue", {
  implies: (_step, joined) => joined.has("ipc") ? [] : ["ipc" as NamespaceType],
  compile(step, out) {
    mountPoint(out, step.dest, "root-mqueue");
    out.add({
      call: "mount",
      args: [
        { str: "mqueue" },
        { str: NEW + inRoot(step.dest) },
        { str: "mqueue" },
        MS.NOSUID | MS.NODEV | MS.NOEXEC,
        0,
      ],
    }, info("root-mqueue", `mount a message queue filesystem on "${step.dest}" in the new root`, step.dest));
  },
  code: (step) => ({ fn: "rootMqueue", args: step.dest === "/dev/mqueue" ? [] : [step.dest] }),
});

const ROOT_DIR: StepKind<RootDirStep> = rootKind<RootDirStep>("root-dir", {
  check: (step) => checkMode(`the directory "${step.dest}"`, step.mode),
  compile(step, out) {
    parents(out, step.dest, "root-dir", parentMode(step.mode));
    // An existing directory is kept, as bubblewrap's --dir keeps it.
    out.add({ call: "mkdirat", args: [AT_FDCWD, { str: NEW + inRoot(step.dest) }, step.mode], ignore: true }, {
      syscall: "mkdir",
      operation: `create the directory "${step.dest}" in the new root`,
      path: step.dest,
      role: "root-dir",
    });
  },
  code: (step) => ({ fn: "rootDir", args: step.mode === 0o755 ? [step.dest] : [step.dest, step.mode] }),
});

const ROOT_SYMLINK: StepKind<RootSymlinkStep> = rootKind<RootSymlinkStep>("root-symlink", {
  compile(step, out) {
    parents(out, step.dest, "root-symlink");
    out.add({ call: "symlinkat", args: [{ str: step.target }, AT_FDCWD, { str: NEW + inRoot(step.dest) }] }, {
      syscall: "symlink",
      operation: `link "${step.dest}" to "${step.target}" in the new root`,
      path: step.dest,
      role: "root-symlink",
    });
  },
  code: (step) => ({ fn: "rootSymlink", args: [step.target, step.dest] }),
  hint: (_info, errno) => errno === EEXIST ? "something is there already" : undefined,
});

let boundFiles = 0;

const ROOT_FILE: StepKind<RootFileStep> = rootKind<RootFileStep>("root-file", {
  check: (step) => checkMode(`the file "${step.dest}"`, step.mode),
  compile(step, out) {
    const role = "root-file";
    const dest = NEW + inRoot(step.dest);
    const bound = step.bind || step.readonly;
    // A bound file is written where nothing else reaches (the assembly's
    // root, which the program never sees), then bound on `dest`: over a file
    // there, also in a read-only directory.
    const path = bound ? `/nsh-file-${boundFiles++}` : dest;
    if (!bound) parents(out, step.dest, role, parentMode(step.mode));
    const what = info(role, `write the file "${step.dest}" in the new root`, step.dest, "open");
    const fd = out.add({
      call: "openat",
      args: [AT_FDCWD, { str: path }, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, step.mode],
    }, what);
    out.add({ call: "write", args: [{ result: fd }, { bytes: step.data }, step.data.length] }, {
      ...what,
      syscall: "write",
    });
    out.add({ call: "close", args: [{ result: fd }] }, { ...what, syscall: "close" });
    if (!bound) return;
    mountPoint(out, step.dest, role, true, parentMode(step.mode));
    const flags = MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | (step.readonly ? MOUNT_ATTR.RDONLY : 0);
    bindTree(out, path, dest, flags, {
      ...what,
      operation: `bind the file "${step.dest}"${step.readonly ? " read-only" : ""} in the new root`,
    }, { recursive: false });
    out.add({ call: "unlinkat", args: [AT_FDCWD, { str: path }, 0] }, {
      ...what,
      syscall: "unlink",
      operation: `remove the copy of "${step.dest}" that was bound`,
    });
  },
  code: (step) => {
    const options = {
      ...(step.mode !== 0o666 ? { mode: step.mode } : {}),
      ...(step.readonly ? { readonly: true } : {}),
      ...(step.bind && !step.readonly ? { bind: true } : {}),
    };
    const data = new TextDecoder().decode(step.data);
    return { fn: "rootFile", args: Object.keys(options).length ? [step.dest, data, options] : [step.dest, data] };
  },
});

const ROOT_REMOUNT_RO: StepKind<RootRemountReadonlyStep> = rootKind<RootRemountReadonlyStep>("root-remount-ro", {
  compile(step, out) {
    const what = info("root-remount-ro", `make "${step.dest}" read-only in the new root`, step.dest, "open_tree");
    // Without OPEN_TREE_CLONE: the mount that is there, not a copy.
    const tree = out.add({
      call: "open_tree",
      args: [AT_FDCWD, { str: NEW + inRoot(step.dest) }, O_CLOEXEC],
    }, what);
    out.add({
      call: "mount_setattr",
      args: [{ result: tree }, { str: "" }, AT_EMPTY_PATH, { bytes: mountAttr(MOUNT_ATTR.RDONLY) }, 32],
    }, { ...what, syscall: "mount_setattr" });
    out.add({ call: "close", args: [{ result: tree }] }, { ...what, syscall: "close" });
  },
  code: (step) => ({ fn: "rootRemountReadonly", args: [step.dest] }),
});

const ROOT_CHMOD: StepKind<RootChmodStep> = rootKind<RootChmodStep>("root-chmod", {
  check: (step) => checkMode(`"${step.dest}"`, step.mode),
  compile(step, out) {
    out.add({ call: "fchmodat", args: [AT_FDCWD, { str: NEW + inRoot(step.dest) }, step.mode, 0] }, {
      syscall: "chmod",
      operation: `change the mode of "${step.dest}" to ${octal(step.mode)} in the new root`,
      path: step.dest,
      role: "root-chmod",
    });
  },
  code: (step) => ({ fn: "rootChmod", args: [step.dest, step.mode] }),
});

/** Escapes a path for overlayfs's options: a comma, a colon and a backslash are special. */
function overlayPath(path: string): string {
  return path.replace(/[\\,:]/g, (c) => `\\${c}`);
}

let overlays = 0;

/** A directory of the caller's as it really is (its links followed), for a layer of an overlay. */
function layer(path: string, dest: string): string {
  try {
    return Deno.realPathSync(path);
  } catch (error) {
    const errno = error instanceof Deno.errors.NotFound
      ? ENOENT
      : error instanceof Deno.errors.PermissionDenied
      ? EACCES
      : undefined;
    if (errno === undefined) throw error;
    throw new SyscallError("stat", errno, { operation: `use "${path}" in the overlay on "${dest}"`, path });
  }
}

const ROOT_OVERLAY: StepKind<RootOverlayStep> = rootKind<RootOverlayStep>("root-overlay", {
  // Relative paths and links are the caller's: resolved here, as for binds.
  prepare(step, view) {
    if (!view.sameMounts) return step;
    const lower = step.lower.map((l) => layer(l, step.dest));
    const upper = typeof step.upper === "object"
      ? { dir: layer(step.upper.dir, step.dest), work: layer(step.upper.work, step.dest) }
      : step.upper;
    return { ...step, lower, upper };
  },
  check(step) {
    if (!step.lower.length) throw new TypeError(`Cannot make an overlay on "${step.dest}": it needs a lower layer`);
    if (step.upper === "none" && step.lower.length < 2) {
      throw new TypeError(
        `Cannot make a read-only overlay on "${step.dest}" of one layer: overlayfs needs two or more (bind it read-only instead)`,
      );
    }
  },
  compile(step, out, plan: PlanView) {
    const role = "root-overlay";
    mountPoint(out, step.dest, role);
    // overlayfs lists the top layer first.
    const lower = [...step.lower].reverse().map((l) => overlayPath(OLD + inRoot(l))).join(":");
    const options = [`lowerdir=${lower}`];
    if (step.upper === "tmpfs") {
      // The throwaway layer lives on the assembly's tmpfs, which nothing else reaches.
      const n = overlays++;
      for (const dir of [`/overlay-upper-${n}`, `/overlay-work-${n}`]) {
        out.add({ call: "mkdirat", args: [AT_FDCWD, { str: dir }, 0o755] }, {
          syscall: "mkdir",
          operation: `make the throwaway layer of "${step.dest}"`,
          path: step.dest,
          role,
        });
      }
      options.push(`upperdir=/overlay-upper-${n}`, `workdir=/overlay-work-${n}`);
    } else if (step.upper !== "none") {
      options.push(
        `upperdir=${overlayPath(OLD + inRoot(step.upper.dir))}`,
        `workdir=${overlayPath(OLD + inRoot(step.upper.work))}`,
      );
    }
    // In a user namespace the kernel keeps overlay's attributes as user.* (Linux 5.11).
    if (plan.namespaces.includes("user") || plan.enter.some((e) => e.type === "user")) options.push("userxattr");
    out.add({
      call: "mount",
      args: [{ str: "overlay" }, { str: NEW + inRoot(step.dest) }, { str: "overlay" }, MS.NOSUID | MS.NODEV, {
        str: options.join(","),
      }],
    }, info(role, `mount an overlay on "${step.dest}" in the new root`, step.dest));
  },
  code: (step) => ({
    fn: "rootOverlay",
    args: step.upper === "none" ? [step.dest, step.lower] : [step.dest, step.lower, { upper: step.upper }],
  }),
});

/** The kinds of steps this module defines, for lib/steps/_registry.ts. */
export const KINDS = [
  ROOT_BIND,
  ROOT_TMPFS,
  ROOT_DEV,
  ROOT_PROC,
  ROOT_MQUEUE,
  ROOT_DIR,
  ROOT_SYMLINK,
  ROOT_FILE,
  ROOT_REMOUNT_RO,
  ROOT_CHMOD,
  ROOT_OVERLAY,
] as const;
