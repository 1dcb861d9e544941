/**
 * File system calls that act through descriptors, for code that runs as root
 * on paths other users can change: open a name once (`O_PATH`,
 * `O_NOFOLLOW`), check what it is through the descriptor, then act on that
 * descriptor. Raw system calls through the spawn routine's `nsh_syscall`
 * entry; each returns the result or `-errno`, as the kernel does.
 *
 * @module
 */

import { cstring, errno, libc } from "./libc.ts";
import { routine } from "./routine.ts";
import {
  AT_EMPTY_PATH,
  AT_SYMLINK_NOFOLLOW,
  ENOSYS,
  MNT_DETACH,
  O_CLOEXEC,
  RESOLVE_IN_ROOT,
  STATX_ATTR_MOUNT_ROOT,
  STATX_INO,
  STATX_MNT_ID,
  STATX_MODE,
  STATX_SIZE,
  STATX_TYPE,
} from "./constants.ts";

function address(buffer: Uint8Array<ArrayBuffer>): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
}

/**
 * `openat(2)`.
 *
 * @param dirfd The directory a relative path starts from, or `AT_FDCWD`.
 * @param path The path.
 * @param flags `O_*` flags; `O_CLOEXEC` is always added.
 * @param mode The mode of a created file.
 * @returns The descriptor, or `-errno`.
 */
export function openAt(dirfd: number, path: string, flags: number, mode = 0): number {
  const { syscall, sysno } = routine();
  const name = cstring(path);
  return syscall(sysno.openat, dirfd, address(name), flags | O_CLOEXEC, mode);
}

/**
 * `openat2(2)` (Linux 5.6): opens `path` as seen from `dirfd` with the
 * `RESOLVE_*` rules, such as `RESOLVE_IN_ROOT`, which treats
 * `dirfd` as the root for absolute symbolic links and `..`.
 *
 * @param dirfd The directory.
 * @param path The path.
 * @param flags `O_*` flags; `O_CLOEXEC` is always added.
 * @param resolve `RESOLVE_*` flags.
 * @returns The descriptor, or `-errno` (`-ENOSYS` on older kernels).
 */
export function openAt2(dirfd: number, path: string, flags: number, resolve: number): number {
  const { syscall, sysno } = routine();
  const name = cstring(path);
  const how = new Uint8Array(24);
  const view = new DataView(how.buffer);
  view.setBigUint64(0, BigInt(flags | O_CLOEXEC), true);
  view.setBigUint64(16, BigInt(resolve), true);
  return syscall(sysno.openat2, dirfd, address(name), address(how), 24);
}

/**
 * Opens `path` below the directory `root` as a process whose root is `root`
 * would: absolute symbolic links and `..` stay inside it
 * (`RESOLVE_IN_ROOT`). Without openat2 (before Linux 5.6), the
 * path is opened as `/proc/self/fd/ROOT/path` instead, where absolute links
 * leave it.
 *
 * @param root A descriptor of the directory that is the root.
 * @param path The path, as seen from that root.
 * @param flags `O_*` flags.
 * @returns The descriptor, or `-errno`.
 */
export function openInRoot(root: number, path: string, flags: number): number {
  const fd = openAt2(root, path, flags, RESOLVE_IN_ROOT);
  if (fd !== -ENOSYS) return fd;
  return openAt(root, path.replace(/^\/+/, "") || ".", flags);
}

/**
 * The type of the file system of an open file: `fstatfs(2)`'s `f_type`.
 *
 * @param fd The descriptor (`O_PATH` will do).
 * @returns The magic number, such as `NSFS_MAGIC`, or `-errno`.
 */
export function fileSystemType(fd: number): number {
  const { syscall, sysno } = routine();
  const buffer = new Uint8Array(128);
  const r = syscall(sysno.fstatfs, fd, address(buffer));
  return r < 0 ? r : Number(new DataView(buffer.buffer).getBigInt64(0, true));
}

/** What {@linkcode fileStatus} tells of a file. */
export interface FileStatus {
  /** `st_mode`: type and permission bits. */
  readonly mode: number;
  /** The inode number. */
  readonly ino: number;
  /** The size in bytes. */
  readonly size: number;
  /** The device, as `major:minor`. */
  readonly dev: string;
  /** Whether the file is the root of a mount (the kernel tells since Linux 5.8). */
  readonly mountRoot: boolean | undefined;
  /** The id of its mount, as in `/proc/PID/mountinfo` (Linux 5.8), when the kernel tells. */
  readonly mountId: number | undefined;
}

/**
 * `statx(2)` of an open file, or of a name in a directory without following
 * a symbolic link there.
 *
 * @param fd The descriptor, or the directory of `name`.
 * @param name A name in that directory, or `""` for the descriptor itself.
 * @returns The status, or `-errno`.
 */
export function fileStatus(fd: number, name = ""): FileStatus | number {
  const buffer = new Uint8Array(256);
  const flags = name === "" ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW;
  const mask = STATX_TYPE | STATX_MODE | STATX_INO | STATX_SIZE | STATX_MNT_ID;
  if (libc().statx(fd, cstring(name), flags, mask, buffer) < 0) {
    return -errno();
  }
  const view = new DataView(buffer.buffer);
  const got = view.getUint32(0, true);
  const attributesMask = Number(view.getBigUint64(56, true));
  return {
    mode: view.getUint16(28, true),
    ino: Number(view.getBigUint64(32, true)),
    size: Number(view.getBigUint64(40, true)),
    dev: `${view.getUint32(136, true)}:${view.getUint32(140, true)}`,
    mountRoot: attributesMask & STATX_ATTR_MOUNT_ROOT
      ? (Number(view.getBigUint64(8, true)) & STATX_ATTR_MOUNT_ROOT) !== 0
      : undefined,
    mountId: got & STATX_MNT_ID ? Number(view.getBigUint64(144, true)) : undefined,
  };
}

/**
 * `unlinkat(2)`: removes a name from a directory, never following a
 * symbolic link (one is removed itself).
 *
 * @param dirfd The directory.
 * @param name The name.
 * @param flags `AT_REMOVEDIR` for a directory.
 * @returns 0, or `-errno`.
 */
export function unlinkAt(dirfd: number, name: string, flags = 0): number {
  const { syscall, sysno } = routine();
  return syscall(sysno.unlinkat, dirfd, address(cstring(name)), flags);
}

/**
 * `mkdirat(2)`.
 *
 * @param dirfd The directory.
 * @param name The name.
 * @param mode The permission bits (before the umask).
 * @returns 0, or `-errno`.
 */
export function mkdirAt(dirfd: number, name: string, mode: number): number {
  const { syscall, sysno } = routine();
  return syscall(sysno.mkdirat, dirfd, address(cstring(name)), mode);
}

/**
 * `flock(2)`.
 *
 * @param fd A descriptor opened for reading (not `O_PATH`).
 * @param operation `LOCK_EX` or `LOCK_UN`.
 * @returns 0, or `-errno`.
 */
export function flock(fd: number, operation: number): number {
  const { syscall, sysno } = routine();
  return syscall(sysno.flock, fd, operation);
}

/**
 * Detaches the mount whose root an open descriptor is (`umount2` of
 * `/proc/self/fd/N` with `MNT_DETACH`): the kernel follows that link to the
 * very mount the descriptor holds, so nothing renamed meanwhile can take
 * its place.
 *
 * @param fd A descriptor of the mount's root (`O_PATH` will do).
 * @returns 0, or `-errno`.
 */
export function unmountFd(fd: number): number {
  if (libc().umount2(cstring(`/proc/self/fd/${fd}`), MNT_DETACH) < 0) return -errno();
  return 0;
}

/**
 * Closes a descriptor, ignoring a failure (for cleanup).
 *
 * @param fd The descriptor; negative ones are skipped.
 */
export function closeQuietly(fd: number): void {
  if (fd >= 0) libc().close(fd);
}
