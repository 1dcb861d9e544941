/**
 * Namespaces bound to files (by `persist()`, `unshare --net=FILE`,
 * `ip netns add`): binding a new namespace of a child to a file, telling such
 * a file from any other, and releasing it.
 *
 * nsh often runs as root on paths that other users can change. A path that
 * is checked and then unmounted by name is resolved twice, and a user who
 * controls a directory on it can swap that directory between the two (with
 * `renameat2(RENAME_EXCHANGE)`) to have root detach another mount. So a file
 * is opened once (`O_PATH`, its last component with `O_NOFOLLOW`), checked
 * through that descriptor (an `nsfs` file that is the root of a mount), and
 * unmounted through it: `umount2("/proc/self/fd/N")`, which the kernel
 * follows to that very mount. In a context with mounts of its own, a child
 * that joins it unmounts the name from the directory opened before
 * (`fchdir` to it, `UMOUNT_NOFOLLOW`): only a mount on that name can be
 * detached, and nobody but who may mount there can put one there.
 *
 * @module
 */

import { SyscallError } from "../ffi/error.ts";
import { cstring, errno, libc } from "../ffi/libc.ts";
import { closeQuietly, type FileStatus, fileStatus, fileSystemType, openAt, unlinkAt, unmountFd } from "../ffi/fs.ts";
import {
  AT_EMPTY_PATH,
  EACCES,
  EINVAL,
  EISDIR,
  ELOOP,
  ENOENT,
  EPERM,
  MNT_DETACH,
  MS,
  NSFS_MAGIC,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  STATX_SIZE,
  STATX_TYPE,
} from "../ffi/constants.ts";
import type { NamespaceType } from "./namespaces.ts";
import { openForChild } from "./namespace_files.ts";
import { type ContextOptions, Place } from "./place.ts";
import type { Plan } from "./plan.ts";
import * as steps from "./steps.ts";

/** A name opened once: its directory, the name in it, and the file (`O_PATH`, not followed). */
export interface OpenedName {
  /** The directory, `O_PATH`. */
  readonly dir: number;
  /** The last component of the path. */
  readonly name: string;
  /** The file itself, `O_PATH | O_NOFOLLOW`: a symbolic link is opened as one. */
  readonly fd: number;
  /** What the file is. */
  readonly status: FileStatus;
}

/**
 * Opens the directory of `path` (following symbolic links, as a path is
 * resolved), then its last component in it without following one.
 *
 * @param place Where the path is seen.
 * @param path The path.
 * @param operation What was attempted, for errors.
 * @returns The descriptors; close them with {@linkcode closeName}.
 * @throws {SyscallError} When either cannot be opened.
 */
export function openName(place: Place, path: string, operation: string): OpenedName {
  const slash = path.lastIndexOf("/");
  const dirPath = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  const name = path.slice(slash + 1);
  const dir = place.open(dirPath, O_PATH | O_DIRECTORY, operation);
  // A path that ends in "/", "." or ".." names a directory: open it as it is.
  const fd = openAt(
    dir,
    name === "" ? "." : name,
    O_PATH | (name === "" || name === "." || name === ".." ? 0 : O_NOFOLLOW),
  );
  if (fd < 0) {
    closeQuietly(dir);
    throw new SyscallError("open", -fd, { operation, path });
  }
  const status = fileStatus(fd);
  if (typeof status === "number") {
    closeQuietly(fd);
    closeQuietly(dir);
    throw new SyscallError("statx", -status, { operation, path });
  }
  return { dir, name, fd, status };
}

/**
 * Closes what {@linkcode openName} opened.
 *
 * @param opened The descriptors.
 */
export function closeName(opened: OpenedName): void {
  closeQuietly(opened.fd);
  closeQuietly(opened.dir);
}

/**
 * Whether an opened file is a namespace bound to a file: a file of `nsfs`
 * (only a bind mount puts one in the tree) that is the root of a mount.
 *
 * @param opened The file.
 * @returns `true` for a binding.
 */
export function isBinding(opened: OpenedName): boolean {
  if ((opened.status.mode & S_IFMT) === S_IFLNK) return false;
  return fileSystemType(opened.fd) === NSFS_MAGIC && opened.status.mountRoot !== false;
}

/**
 * Checks that an opened file is a namespace binding, with the error a user
 * understands when it is not.
 *
 * @param opened The file.
 * @param path The path the user gave.
 * @param operation What was attempted.
 * @throws {SyscallError} For a symbolic link (ELOOP) or any other file (EINVAL).
 */
export function requireBinding(opened: OpenedName, path: string, operation: string): void {
  if ((opened.status.mode & S_IFMT) === S_IFLNK) {
    throw new SyscallError("open", ELOOP, {
      operation,
      path,
      hint:
        `"${path}" is a symbolic link: nsh does not follow one here, since whoever may change it could point it at another mount; give the file it points to`,
    });
  }
  if (!isBinding(opened)) {
    throw new SyscallError("umount2", EINVAL, { operation, path, hint: `"${path}" is not a namespace binding` });
  }
}

/**
 * Unmounts an opened binding: through its descriptor where the mounts are
 * this process's own, else from a child that joins the context and unmounts
 * the name from the opened directory without following a link.
 *
 * @param place Where it is.
 * @param opened The binding, checked by {@linkcode requireBinding}.
 * @param path The path the user gave.
 * @param operation What was attempted.
 * @throws {SyscallError} When it cannot be unmounted.
 */
export async function unbind(place: Place, opened: OpenedName, path: string, operation: string): Promise<void> {
  const hint = (e: number) =>
    e === EPERM || e === EACCES ? "releasing needs root in the mount namespace of the file" : undefined;
  if (!place.ownMounts) {
    const r = unmountFd(opened.fd);
    if (r < 0) throw new SyscallError("umount2", -r, { operation, path, hint: hint(-r) });
    return;
  }
  try {
    await place.apply(
      steps.enterWorkdir(`/proc/self/fd/${opened.dir}`),
      steps.umount(opened.name, { noFollow: true }),
    );
  } catch (error) {
    if (!(error instanceof SyscallError)) throw error;
    throw new SyscallError(error.syscall, error.errno, { operation, path, hint: hint(error.errno) ?? error.hint });
  }
}

/**
 * Unbinds a namespace bound to a file (by `persist()` or
 * `unshare --net=FILE`), so that the namespace ends once no process is in
 * it. The file stays. The path's directories are resolved once; its last
 * component must be the binding itself, not a symbolic link to one.
 *
 * @param file The file.
 * @param options The context to act in, as `release` run there would.
 * @throws {SyscallError} When the file does not exist (ENOENT), is a symbolic
 *   link (ELOOP) or no namespace binding (EINVAL), or the caller may not
 *   unmount it.
 *
 * @example Bind a network namespace to a file, then release it (root)
 * ```ts ignore
 * import { releaseNamespace, unshare } from "@nsh/nsh";
 *
 * await unshare({ net: "/run/mynet" }).run("true");
 * await releaseNamespace("/run/mynet");
 * ```
 */
export async function releaseNamespace(file: string, options: ContextOptions = {}): Promise<void> {
  const place = Place.of(options);
  const operation = `release the namespace bound to "${file}"`;
  const opened = openName(place, file, operation);
  try {
    requireBinding(opened, file, operation);
    await unbind(place, opened, file, operation);
  } finally {
    closeName(opened);
  }
}

/**
 * Removes a name from the directory opened with it, never following a link;
 * for cleanup: a failure is returned, not thrown.
 *
 * @param opened The name.
 * @returns 0, or `-errno`.
 */
export function removeName(opened: OpenedName): number {
  return unlinkAt(opened.dir, opened.name);
}

/** The file in /proc/PID/ns/ that names a new namespace of the child. */
function nsFile(type: NamespaceType): string {
  return type === "pid" ? "pid_for_children" : type === "time" ? "time_for_children" : type;
}

/**
 * The steps by which a child binds new namespaces of a waiting child to files
 * in the mount namespace the plan joins (a shell context's): it joins the
 * plan's user and mount namespaces, and binds there. Each file is checked
 * first, through the root of the waiting child, which sees the files; the
 * child then creates it when missing and binds it by path.
 *
 * @param pid The waiting child.
 * @param p Its plan, which binds namespaces to files and joins a mount namespace.
 * @param fds Where the namespaces' descriptors are added, for the caller to
 *   close once the steps have run.
 * @returns The steps.
 * @throws {SyscallError} When a namespace cannot be opened, or a file is refused.
 */
export function joinedBindingSteps(pid: number, p: Plan, fds: number[]): steps.Step[] {
  const list: steps.Step[] = p.enter.filter((e) => e.type === "user" || e.type === "mnt")
    .map((e) => steps.enter(e.type, e.path));
  for (const { type, file } of p.persist) {
    if (file.startsWith("/")) {
      const target = openBindTarget(type, file, `/proc/${pid}/root${file}`, false);
      if (target) libc().close(target.fd);
    }
    const source = `/proc/${pid}/ns/${nsFile(type)}`;
    list.push(
      steps.bindNamespace(openForChild(source, O_RDONLY, `open the ${type} namespace "${source}"`, fds), type, file),
    );
  }
  return list;
}

/**
 * Opens the file to bind a namespace to, or creates it when missing (where
 * util-linux fails with ENOENT: nsh creates it, as `ip netns add` does), and
 * checks it: an empty regular file, never a directory, a symbolic link, a
 * device, or a file with content, which the binding would hide (util-linux
 * binds over /etc/passwd as well). The descriptor is what is bound to, so
 * that the file checked is the file bound to, whatever the path names later.
 *
 * @param via The path to reach the file by (through a process's root), when not `file`.
 * @param create Create the file when missing (else return `undefined` then).
 * @returns The descriptor (O_PATH), and whether the file was created.
 */
function openBindTarget(type: NamespaceType, file: string): { fd: number; created: boolean };
function openBindTarget(
  type: NamespaceType,
  file: string,
  via: string,
  create: false,
): { fd: number; created: boolean } | undefined;
function openBindTarget(
  type: NamespaceType,
  file: string,
  via = file,
  create = true,
): { fd: number; created: boolean } | undefined {
  const c = libc();
  const operation = `bind the ${type} namespace to "${file}"`;
  let created = false;
  let fd = c.open(cstring(via), O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0 && errno() === ENOENT && !create) return undefined;
  if (fd < 0 && errno() === ENOENT) {
    fd = c.open(cstring(file), O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o444);
    if (fd < 0) throw new SyscallError("open", errno(), { operation: `create "${file}"`, path: file });
    created = true;
  } else if (fd < 0) throw new SyscallError("open", errno(), { operation, path: file });
  const stat = new Uint8Array(256);
  const e = c.statx(fd, cstring(""), AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, stat) < 0 ? errno() : 0;
  const view = new DataView(stat.buffer);
  const kind = view.getUint16(28, true) & S_IFMT;
  const size = Number(view.getBigUint64(40, true));
  let refusal: string | undefined;
  if (e) {
    c.close(fd);
    throw new SyscallError("statx", e, { operation, path: file });
  } else if (kind === S_IFDIR) {
    c.close(fd);
    throw new SyscallError("mount", EISDIR, {
      operation,
      path: file,
      hint: "a namespace is bound to a file, not a directory",
    });
  } else if (kind === S_IFLNK) refusal = "it is a symbolic link: name the file itself";
  else if (kind !== S_IFREG) refusal = "it is not a regular file";
  else if (size > 0) {
    refusal = `it holds ${size} bytes, which the binding would hide: bind to an empty file, or to a missing one, ` +
      "which nsh creates";
  }
  if (refusal) {
    c.close(fd);
    throw new Error(`Cannot ${operation}: ${refusal}`);
  }
  return { fd, created };
}

/**
 * Binds new namespaces of a waiting child to files of this process's mount
 * namespace, creating the files when missing. On failure, unbinds what it
 * bound and removes what it created.
 *
 * @param pid The waiting child.
 * @param persist Which of its namespaces to bind, and to which file.
 * @throws {SyscallError} When a file is refused or cannot be bound to.
 */
export function bindToFiles(pid: number, persist: Plan["persist"]): void {
  const c = libc();
  const done: { file: string; created: boolean }[] = [];
  try {
    for (const { type, file } of persist) {
      const { fd, created } = openBindTarget(type, file);
      done.push({ file, created });
      const source = `/proc/${pid}/ns/${nsFile(type)}`;
      // Through the descriptor: the mount lands on the file that was checked.
      const bound = c.mount(cstring(source), cstring(`/proc/self/fd/${fd}`), null, BigInt(MS.BIND), null);
      const e = bound < 0 ? errno() : 0;
      c.close(fd);
      if (bound < 0) {
        done.pop();
        if (created) c.unlink(cstring(file));
        throw new SyscallError("mount", e, {
          operation: `bind the ${type} namespace to "${file}"`,
          path: file,
          hint: e === EPERM || e === EACCES
            ? "binding needs root in the mount namespace of the file"
            : e === EINVAL
            ? "the file must not be on a shared mount (see --propagation), and a mount namespace cannot be bound inside itself"
            : undefined,
        });
      }
    }
  } catch (error) {
    for (const { file, created } of done.reverse()) {
      c.umount2(cstring(file), MNT_DETACH);
      if (created) c.unlink(cstring(file));
    }
    throw error;
  }
}
