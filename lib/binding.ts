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
  AT_FDCWD,
  EACCES,
  EINVAL,
  EISDIR,
  ELOOP,
  ENOENT,
  EPERM,
  MNT_DETACH,
  MS,
  NSFS_MAGIC,
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
  UMOUNT_NOFOLLOW,
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

/** A path's directory (`.` for a bare name) and its last component (empty after a final `/`). */
function splitPath(path: string): { dirPath: string; name: string } {
  const slash = path.lastIndexOf("/");
  return { dirPath: slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash), name: path.slice(slash + 1) };
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
  const { dirPath, name } = splitPath(path);
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
 * @example Bind a network namespace to a file, then release it (as root, who may bind it here)
 * ```ts
 * import assert from "node:assert/strict";
 * import { nsenter, releaseNamespace, unshare } from "@nsh/nsh";
 *
 * const dir = await Deno.makeTempDir();
 * await unshare({ net: `${dir}/net` }).run("true"); // the program ended, the namespace stays
 * assert.equal((await nsenter({ net: `${dir}/net` }).run("ip", "-brief", "link").lines()).length, 1);
 * await releaseNamespace(`${dir}/net`);
 * await assert.rejects(releaseNamespace(`${dir}/net`), /is not a namespace binding/);
 * await Deno.remove(dir, { recursive: true });
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
    if (file.startsWith("/")) checkJoinedBindTarget(type, file, `/proc/${pid}/root${file}`);
    const source = `/proc/${pid}/ns/${nsFile(type)}`;
    list.push(
      steps.bindNamespace(openForChild(source, O_RDONLY, `open the ${type} namespace "${source}"`, fds), type, file),
    );
  }
  return list;
}

/**
 * Checks an opened file to bind a namespace to: an empty regular file, never
 * a directory, a symbolic link, a device, or a file with content, which the
 * binding would hide (util-linux binds over /etc/passwd as well).
 *
 * @throws {SyscallError} For a directory (EISDIR), or when it cannot be examined.
 * @throws {Error} For any other file that is refused.
 */
function checkBindTarget(fd: number, file: string, operation: string): void {
  const status = fileStatus(fd);
  if (typeof status === "number") throw new SyscallError("statx", -status, { operation, path: file });
  const kind = status.mode & S_IFMT;
  if (kind === S_IFDIR) {
    throw new SyscallError("mount", EISDIR, {
      operation,
      path: file,
      hint: "a namespace is bound to a file, not a directory",
    });
  }
  const refusal = kind === S_IFLNK
    ? "it is a symbolic link: name the file itself"
    : kind !== S_IFREG
    ? "it is not a regular file"
    : status.size > 0
    ? `it holds ${status.size} bytes, which the binding would hide: bind to an empty file, or to a missing one, ` +
      "which nsh creates"
    : undefined;
  if (refusal) throw new Error(`Cannot ${operation}: ${refusal}`);
}

/**
 * Checks the file a child will bind a namespace to in a mount namespace this
 * process is not in, reached through a path that leads there (the root of a
 * process in it); a missing file is for the child to create.
 */
function checkJoinedBindTarget(type: NamespaceType, file: string, via: string): void {
  const operation = `bind the ${type} namespace to "${file}"`;
  const fd = openAt(AT_FDCWD, via, O_PATH | O_NOFOLLOW);
  if (fd === -ENOENT) return;
  if (fd < 0) throw new SyscallError("open", -fd, { operation, path: file });
  try {
    checkBindTarget(fd, file, operation);
  } finally {
    closeQuietly(fd);
  }
}

/** A file to bind a namespace to, opened once: its directory and name, and the file. */
interface BindTarget {
  /** The directory, `O_PATH`. */
  readonly dir: number;
  /** The name in it. */
  readonly name: string;
  /** The file, what the namespace is bound onto. */
  readonly fd: number;
  /** Whether nsh created it. */
  readonly created: boolean;
}

/**
 * Opens the file to bind a namespace to, or creates it when missing (where
 * util-linux fails with ENOENT: nsh creates it, as `ip netns add` does), and
 * checks it. The descriptor is what is bound to, so that the file checked is
 * the file bound to, whatever the path names later; the directory is held to
 * undo the binding by name without resolving the path again.
 */
function openBindTarget(type: NamespaceType, file: string): BindTarget {
  const operation = `bind the ${type} namespace to "${file}"`;
  const { dirPath, name } = splitPath(file);
  const dir = openAt(AT_FDCWD, dirPath, O_PATH | O_DIRECTORY);
  if (dir < 0) {
    // A missing directory: the file could not be created in it.
    throw new SyscallError("open", -dir, { operation: dir === -ENOENT ? `create "${file}"` : operation, path: file });
  }
  let created = false;
  // A path that ends in "/", "." or ".." names a directory, which the check refuses.
  const directory = name === "" || name === "." || name === "..";
  let fd = openAt(dir, directory ? name || "." : name, O_PATH | (directory ? 0 : O_NOFOLLOW));
  if (fd === -ENOENT) {
    fd = openAt(dir, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o444);
    created = fd >= 0;
    if (fd < 0) {
      closeQuietly(dir);
      throw new SyscallError("open", -fd, { operation: `create "${file}"`, path: file });
    }
  } else if (fd < 0) {
    closeQuietly(dir);
    throw new SyscallError("open", -fd, { operation, path: file });
  }
  try {
    checkBindTarget(fd, file, operation);
  } catch (error) {
    closeQuietly(fd);
    if (created) unlinkAt(dir, name);
    closeQuietly(dir);
    throw error;
  }
  return { dir, name, fd, created };
}

/**
 * Namespaces that a start bound to files, held until it knows whether it
 * succeeded: kept then, else undone.
 */
export interface Bindings {
  /** Keeps the bindings, and closes what was held to undo them. */
  keep(): void;
  /**
   * Undoes the bindings, last first: each is unmounted by its name in the
   * directory opened before, without following a link (only a mount on that
   * name can be detached, and only who may mount there can put one there),
   * and a file nsh created for it is removed.
   */
  undo(): void;
}

/**
 * Binds new namespaces of a waiting child to files of this process's mount
 * namespace, creating the files when missing. On failure, unbinds what it
 * bound and removes what it created.
 *
 * @param pid The waiting child.
 * @param persist Which of its namespaces to bind, and to which file.
 * @returns The bindings: to keep once the start succeeded, or to undo.
 * @throws {SyscallError} When a file cannot be bound to.
 * @throws {Error} When a file is refused.
 */
export function bindToFiles(pid: number, persist: Plan["persist"]): Bindings {
  const c = libc();
  const bound: { dir: number; name: string; created: boolean }[] = [];
  const bindings: Bindings = {
    keep() {
      for (const { dir } of bound.splice(0)) closeQuietly(dir);
    },
    undo() {
      for (const { dir, name, created } of bound.splice(0).reverse()) {
        c.umount2(cstring(`/proc/self/fd/${dir}/${name}`), MNT_DETACH | UMOUNT_NOFOLLOW);
        if (created) unlinkAt(dir, name);
        closeQuietly(dir);
      }
    },
  };
  try {
    for (const { type, file } of persist) {
      const target = openBindTarget(type, file);
      const source = `/proc/${pid}/ns/${nsFile(type)}`;
      // Through the descriptor: the mount lands on the file that was checked.
      const r = c.mount(cstring(source), cstring(`/proc/self/fd/${target.fd}`), null, BigInt(MS.BIND), null);
      const e = r < 0 ? errno() : 0;
      closeQuietly(target.fd);
      if (r < 0) {
        if (target.created) unlinkAt(target.dir, target.name);
        closeQuietly(target.dir);
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
      bound.push(target);
    }
  } catch (error) {
    bindings.undo();
    throw error;
  }
  return bindings;
}
