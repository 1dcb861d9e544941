/**
 * Namespaces bound to files (by `persist()`, `unshare --net=FILE`,
 * `ip netns add`): telling such a file from any other, and releasing it.
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
import { closeQuietly, type FileStatus, fileStatus, fileSystemType, openAt, unlinkAt, unmountFd } from "../ffi/fs.ts";
import {
  EACCES,
  EINVAL,
  ELOOP,
  EPERM,
  NSFS_MAGIC,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  S_IFLNK,
  S_IFMT,
} from "../ffi/constants.ts";
import { type ContextOptions, Place } from "./place.ts";
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
