/**
 * Files of the user's own that nsh keeps (its history), opened so that
 * another user cannot redirect them. nsh often runs as root with a user's
 * environment (`sudo -E`): `$HOME` or `$XDG_STATE_HOME` may then name a
 * directory that the user controls, and a symbolic link planted there would
 * make root write wherever it points. The kernel's `fs.protected_symlinks` is
 * off on some machines, so nsh protects itself.
 *
 * The path is walked one component at a time through directory descriptors,
 * never resolved twice: every directory on the way must belong to root or to
 * the caller and be writable by nobody else (unless sticky, as /tmp), a
 * symbolic link is followed only inside such directories and only when root
 * or the caller owns it, directories that are missing are made (mode 0700)
 * and checked to be the caller's, and the file itself must be a regular file
 * of the caller's with one link, opened with `O_NOFOLLOW`.
 *
 * @module
 */

import { cstring, errno, type FileStat, libc, statAt } from "../ffi/libc.ts";
import { SyscallError } from "../ffi/error.ts";
import { decodeBytes } from "../ffi/bytes.ts";
import {
  AT_EMPTY_PATH,
  EEXIST,
  ELOOP,
  ENOENT,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  O_RDWR,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_ISVTX,
} from "../ffi/constants.ts";
import { ids } from "./system.ts";

/** How many symbolic links a walk follows, as the kernel's MAXSYMLINKS. */
const MAX_LINKS = 40;

/** Options of {@linkcode openOwnedFile}. */
export interface OwnedFileOptions {
  /**
   * Create the file and the missing directories on its way.
   *
   * @default {true}
   */
  create?: boolean;
}

function fail(path: string, why: string): never {
  throw new Error(`Cannot use "${path}": ${why}`);
}

function statFd(fd: number, path: string, what: string): FileStat {
  const st = statAt(fd, "", AT_EMPTY_PATH);
  if (typeof st === "number") throw new SyscallError("statx", -st, { operation: `inspect ${what}`, path });
  return st;
}

const trustedBy = (euid: number) => (uid: number) => uid === 0 || uid === euid;
const ownerName = (uid: number) => uid === 0 ? "root" : `uid ${uid}`;

/**
 * Walks the directories of `path` (all of its components) from `/`, through
 * descriptors, as the module's description says; makes those that are
 * missing when `create`.
 *
 * @returns An `O_PATH` descriptor of the last directory.
 */
function walk(path: string, parts: string[], create: boolean): number {
  const c = libc();
  const trusted = trustedBy(ids().euid);
  const root = () => {
    const fd = c.openat(-100, cstring("/"), O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) throw new SyscallError("open", errno(), { operation: 'open "/"', path: "/" });
    return fd;
  };
  let dir = root();
  let where = "/";
  let links = 0;
  try {
    while (parts.length) {
      const part = parts.shift()!;
      let fd = c.openat(dir, cstring(part), O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
      if (fd < 0 && errno() === ENOENT && create && part !== "..") {
        if (c.mkdirat(dir, cstring(part), 0o700) < 0 && errno() !== EEXIST) {
          throw new SyscallError("mkdir", errno(), { operation: `create "${where}${part}"`, path: `${where}${part}` });
        }
        fd = c.openat(dir, cstring(part), O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
      }
      if (fd < 0) {
        throw new SyscallError("open", errno(), { operation: `open "${where}${part}"`, path: `${where}${part}` });
      }
      const st = statFd(fd, `${where}${part}`, "a directory on the way");
      if ((st.mode & S_IFMT) === S_IFLNK) {
        // Only root or the caller could have put it in a trusted directory;
        // its owner is checked as fs.protected_symlinks would.
        const target = new Uint8Array(4096);
        const n = Number(c.readlinkat(fd, cstring(""), target, BigInt(target.length)));
        const e = errno();
        c.close(fd);
        if (!trusted(st.uid)) fail(path, `the link "${where}${part}" belongs to ${ownerName(st.uid)}`);
        if (n < 0) throw new SyscallError("readlink", e, { operation: `read the link "${where}${part}"` });
        if (++links > MAX_LINKS) fail(path, "too many levels of symbolic links");
        const text = decodeBytes(target.subarray(0, n));
        parts.unshift(...text.split("/").filter((p) => p !== "" && p !== "."));
        if (text.startsWith("/")) {
          c.close(dir);
          dir = root();
          where = "/";
        }
        continue;
      }
      if ((st.mode & S_IFMT) !== S_IFDIR) {
        c.close(fd);
        fail(path, `"${where}${part}" is not a directory`);
      }
      c.close(dir);
      dir = fd;
      where = part === ".." ? where.replace(/[^/]+\/$/, "") : `${where}${part}/`;
      if (!trusted(st.uid)) {
        fail(path, `the directory "${where}" belongs to ${ownerName(st.uid)}, not to you or root`);
      }
      if ((st.mode & 0o022) !== 0 && (st.mode & S_ISVTX) === 0) {
        fail(path, `the directory "${where}" is writable by others`);
      }
    }
    return dir;
  } catch (error) {
    c.close(dir);
    throw error;
  }
}

/**
 * Opens a directory of the caller's (made, mode 0700, when missing and
 * `create`), refusing anything another user could have placed or could swap
 * on the way (see the module's description).
 *
 * @param path An absolute path.
 * @param options Whether to create it.
 * @returns A close-on-exec `O_PATH` descriptor of it: open its files with
 *   {@linkcode openOwnedAt}.
 * @throws {Error} When a directory on the way or a link is not trusted.
 * @throws {SyscallError} When a system call fails.
 */
export function openOwnedDirectory(path: string, options: OwnedFileOptions = {}): number {
  if (!path.startsWith("/")) fail(path, "not an absolute path");
  return walk(path, path.split("/").filter((p) => p !== "" && p !== "."), options.create ?? true);
}

/**
 * Opens a file of the caller's in a directory opened with
 * {@linkcode openOwnedDirectory}: a regular file of the caller's with one
 * link, never through a symbolic link.
 *
 * @param dir The directory's descriptor.
 * @param name The file's name in it (no slash).
 * @param options Whether to create it, and the flags to open it with.
 * @returns A close-on-exec descriptor, or `undefined` when it is missing and
 *   not to be created.
 * @throws {Error} When the file is not trusted.
 * @throws {SyscallError} When a system call fails.
 */
export function openOwnedAt(
  dir: number,
  name: string,
  options: { create?: boolean; path?: string } = {},
): number | undefined {
  const path = options.path ?? name;
  if (name.includes("/") || name === "" || name === "." || name === "..") fail(path, "not a file name");
  const c = libc();
  const create = options.create ?? true;
  const fd = c.openat(dir, cstring(name), O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0o600);
  if (fd < 0) {
    const e = errno();
    if (e === ENOENT && !create) return undefined;
    if (e === ELOOP) fail(path, "it is a symbolic link");
    throw new SyscallError("open", e, { operation: `open "${path}"`, path });
  }
  const st = statFd(fd, path, "the file");
  const euid = ids().euid;
  const why = (st.mode & S_IFMT) !== S_IFREG
    ? "it is not a regular file"
    : st.uid !== euid
    ? `it belongs to ${ownerName(st.uid)}, not to you`
    : st.nlink !== 1
    ? "it has other hard links"
    : undefined;
  if (why) {
    c.close(fd);
    fail(path, why);
  }
  return fd;
}

/**
 * Opens a file that belongs to the caller, read and write, refusing anything
 * another user could have placed or could swap on the way (see the module's
 * description).
 *
 * @param path An absolute path.
 * @param options Whether to create it.
 * @returns A close-on-exec descriptor of the file; close it with libc's close.
 * @throws {Error} When a directory on the way, a link or the file is not
 *   trusted: one line that names it and its owner.
 * @throws {SyscallError} When a system call fails (ENOENT without `create`).
 */
export function openOwnedFile(path: string, options: OwnedFileOptions = {}): number {
  if (!path.startsWith("/")) fail(path, "not an absolute path");
  const create = options.create ?? true;
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  const name = parts.pop();
  if (name === undefined || name === "..") fail(path, "it names a directory");
  const dir = walk(path, parts, create);
  try {
    const fd = openOwnedAt(dir, name, { create, path });
    if (fd === undefined) throw new SyscallError("open", ENOENT, { operation: `open "${path}"`, path });
    return fd;
  } finally {
    libc().close(dir);
  }
}

/**
 * Reads a whole file from a descriptor, from its start.
 *
 * @param fd The descriptor.
 * @returns The bytes.
 * @throws {SyscallError} When read(2) fails.
 */
export function readAll(fd: number): Uint8Array {
  const c = libc();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const chunk = new Uint8Array(65536);
    const n = Number(c.pread(fd, chunk, BigInt(chunk.length), BigInt(size)));
    if (n < 0) throw new SyscallError("read", errno(), { operation: "read a file" });
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    size += n;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Replaces the content of the file at a descriptor.
 *
 * @param fd The descriptor, open for writing.
 * @param bytes The new content.
 * @throws {SyscallError} When a write fails.
 */
export function replaceAll(fd: number, bytes: Uint8Array): void {
  const c = libc();
  if (c.ftruncate(fd, 0n) < 0) throw new SyscallError("ftruncate", errno(), { operation: "empty a file" });
  for (let at = 0; at < bytes.length;) {
    const n = Number(c.pwrite(fd, bytes.subarray(at), BigInt(bytes.length - at), BigInt(at)));
    if (n < 0) throw new SyscallError("write", errno(), { operation: "write a file" });
    at += n;
  }
}
