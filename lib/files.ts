/**
 * Files opened for a program's standard streams where the program sees
 * them: relative to its working directory, through the mounts and root of
 * its context. The shell's redirections and the commands' `.stdout({ file })`
 * both open files here.
 *
 * @module
 */

import { errno, libc } from "../ffi/libc.ts";
import { routine } from "../ffi/routine.ts";
import { SyscallError } from "../ffi/error.ts";
import { encodeText } from "../ffi/bytes.ts";
import {
  EINTR,
  ENOENT,
  ENOSYS,
  EOVERFLOW,
  EPERM,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_PATH,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  RESOLVE_IN_ROOT,
} from "../ffi/constants.ts";

/**
 * Where a program sees files: its working directory, and how this process
 * reaches a path of its (a context is one: `/proc/HOLDER/root/…`
 * when it has mounts of its own).
 */
export interface FileView {
  /** The working directory of programs, where relative paths start. */
  readonly cwd: string;
  /**
   * The path by which this process reaches a path of the view.
   *
   * @param path The path as programs see it.
   * @returns The path from this process.
   */
  hostPath(path: string): string;
  /**
   * The ids its programs have, as this process sees them, when they are not
   * this process's own (a user namespace that maps its root elsewhere): the
   * file is opened with them, so that what it creates belongs to whom a
   * program there would make it belong, and what it may read or write is
   * what such a program may.
   */
  programIds?(): { readonly uid: number; readonly gid: number } | undefined;
}

/** This process's own view: its working directory, and paths as they are. */
export function hostView(): FileView {
  return { cwd: Deno.cwd(), hostPath: (path) => path };
}

/** How a redirection opens its file. */
export type OpenMode = "read" | "write" | "append" | "readwrite";

const FLAGS: Readonly<Record<OpenMode, number>> = {
  read: O_RDONLY,
  write: O_WRONLY | O_CREAT | O_TRUNC,
  append: O_WRONLY | O_CREAT | O_APPEND,
  readwrite: O_RDWR | O_CREAT,
};

const WHAT: Readonly<Record<OpenMode, string>> = {
  read: "reading",
  write: "writing",
  append: "appending",
  readwrite: "reading and writing",
};

/**
 * Opens a file for a redirection where the program sees it: `path` is
 * resolved against `cwd` and, when `root` is not `/` (a context with a mount
 * namespace of its own, reached through `/proc/HOLDER/root`), inside that
 * root with openat2(2)'s `RESOLVE_IN_ROOT`, so that its mounts count and a
 * symbolic link in it that points to `/etc/...` means the context's, never
 * this process's. Linux before 5.6 opens `root + path` instead.
 *
 * @param path The path as the command wrote it.
 * @param mode How to open it.
 * @param view Where the program sees files.
 * @returns The descriptor, close-on-exec.
 * @throws {SyscallError} When the file cannot be opened (the path as written).
 */
export function openFile(path: string, mode: OpenMode, view: FileView): number {
  const ids = view.programIds?.();
  const as = <T>(open: () => T): T => ids ? asFileIds(ids, path, open) : open();
  return openIn(path, mode, view, as);
}

/**
 * Runs `open` with the filesystem ids set to `ids` on this thread (setfsuid(2)
 * and setfsgid(2) change the calling thread's alone, and the call is
 * synchronous: no other code of this process runs on it meanwhile), then
 * puts this process's back. Changing them from root drops the capabilities
 * that bypass file permissions for that time, as the kernel does.
 */
function asFileIds<T>(ids: { readonly uid: number; readonly gid: number }, path: string, open: () => T): T {
  const { sysno, syscall } = routine();
  const own = { uid: syscall(sysno.setfsuid, -1), gid: syscall(sysno.setfsgid, -1) };
  if (own.uid === ids.uid && own.gid === ids.gid) return open();
  syscall(sysno.setfsgid, ids.gid);
  syscall(sysno.setfsuid, ids.uid);
  try {
    // Neither call reports a failure: ask again what they are.
    if (syscall(sysno.setfsuid, -1) !== ids.uid || syscall(sysno.setfsgid, -1) !== ids.gid) {
      throw new SyscallError("setfsuid", EPERM, {
        operation: `open "${path}" as the context's programs would (uid ${ids.uid}, gid ${ids.gid})`,
        hint: "changing the filesystem ids needs CAP_SETUID and CAP_SETGID",
      });
    }
    return open();
  } finally {
    syscall(sysno.setfsuid, own.uid);
    syscall(sysno.setfsgid, own.gid);
  }
}

/** Opens a file of the view; `as` runs the opens themselves (with the view's ids). */
function openIn(path: string, mode: OpenMode, view: FileView, as: <T>(open: () => T) => T): number {
  const c = libc();
  const absolute = path.startsWith("/") ? path : `${view.cwd.replace(/\/$/, "")}/${path}`;
  const root = view.hostPath("/");
  const flags = FLAGS[mode] | O_CLOEXEC;
  let fd: number;
  let e = 0;
  if (root === "/" || root === "") {
    fd = as(() => c.open(encodeText(absolute + "\0"), flags, 0o666));
    if (fd < 0) e = errno();
  } else {
    const rootFd = c.open(encodeText(root + "\0"), O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (rootFd < 0) {
      throw new SyscallError("open", errno(), { operation: `open the root of the context "${root}"` });
    }
    try {
      // openat2 refuses a mode without O_CREAT.
      fd = as(() => openat2(rootFd, absolute.replace(/^\/+/, "") || ".", flags, mode === "read" ? 0 : 0o666));
      if (fd === -ENOSYS) {
        fd = as(() => c.open(encodeText(root.replace(/\/$/, "") + absolute + "\0"), flags, 0o666));
        if (fd < 0) e = errno();
      } else if (fd < 0) {
        e = -fd;
      }
    } finally {
      c.close(rootFd);
    }
  }
  if (fd < 0) {
    throw new SyscallError(root === "/" ? "open" : "openat2", e, {
      operation: `open "${path}" for ${WHAT[mode]}`,
      path,
      hint: e === ENOENT && mode !== "read"
        ? "its directory does not exist"
        : e === EOVERFLOW
        ? "the context's user namespace maps no id for the file's owner, its programs' user or group (map them: -r, --map-group)"
        : undefined,
    });
  }
  return fd;
}

/** openat2(2) with `RESOLVE_IN_ROOT`; returns the descriptor or -errno. */
function openat2(dirfd: number, path: string, flags: number, mode: number): number {
  const { sysno, syscall } = routine();
  const name = encodeText(path + "\0");
  // struct open_how { u64 flags; u64 mode; u64 resolve; }
  const how = new BigUint64Array([BigInt(flags), BigInt(mode), BigInt(RESOLVE_IN_ROOT)]);
  const pointer = (buffer: ArrayBufferView) => Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
  for (;;) {
    const fd = syscall(sysno.openat2, dirfd, pointer(name), pointer(how), 24);
    if (fd !== -EINTR) return fd;
  }
}

/**
 * A file opened once for the standard streams of several commands, as sh
 * opens it for `{ …; } > FILE` or `while …; done < FILE`: the commands share
 * its offset, so that each writes after the one before, or reads on from
 * where it stopped. Give it to `.stdout()`, `.stderr()` or `.stdin()` (it is
 * an `{ fd }`); `using` closes it.
 *
 * @example Two programs write one file, as `{ echo one; echo two; } > log`
 * ```ts
 * import assert from "node:assert/strict";
 * import { OpenFile, sandbox } from "@nsh/nsh";
 *
 * const log = await Deno.makeTempFile();
 * {
 *   using out = new OpenFile(log, "write");
 *   await sandbox().run("echo", "one").stdout(out);
 *   await sandbox().run("echo", "two").stdout(out);
 * }
 * assert.equal(await Deno.readTextFile(log), "one\ntwo\n");
 * await Deno.remove(log);
 * ```
 */
export class OpenFile implements Disposable {
  /** The descriptor, close-on-exec: the commands get copies of it. */
  readonly fd: number;
  #closed = false;

  /**
   * Opens it.
   *
   * @param path The path; a relative one from the working directory of `where`.
   * @param mode `"read"`, `"write"` (truncated first, made when missing), `"append"` or `"readwrite"`; `"read"` when left out.
   * @param where Where the programs see files: a {@linkcode FileView} such as a context (its
   *   mounts and root, its working directory); this process's own by default.
   * @throws {SyscallError} When it cannot be opened.
   */
  constructor(path: string, mode: OpenMode = "read", where: FileView = hostView()) {
    this.fd = openFile(path, mode, where);
  }

  /** Closes it; the commands that started keep their copies. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libc().close(this.fd);
  }

  /** Closes it, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A path with `.`, `..` and repeated slashes resolved as text, as `cd` and
 * bubblewrap resolve a path of a root they do not look into.
 *
 * @param path A path (relative ones are taken from `/`).
 * @returns It absolute and normalized.
 */
export function normalizePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}
