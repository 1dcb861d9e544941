/**
 * What `audit()` reads of a process from outside: /proc/PID/status, its id
 * maps, its mounts, and files inside its root (resolved there with
 * openat2's RESOLVE_IN_ROOT, so that a link the process made cannot send
 * nsh's reads to the host's files).
 *
 * @module
 */

import { cstring, errno, exists, libc, statAt } from "../../ffi/libc.ts";
import { routine } from "../../ffi/routine.ts";
import { nativeAbi, syscallTable } from "../../ffi/syscall_table.ts";
import { SyscallError } from "../../ffi/error.ts";
import {
  AT_EMPTY_PATH,
  CAPABILITY_NAMES,
  EACCES,
  ENOENT,
  EPERM,
  ESRCH,
  O_CLOEXEC,
  O_DIRECTORY,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  RESOLVE_IN_ROOT,
  S_IFMT,
} from "../../ffi/constants.ts";
import { osErrno } from "../../ffi/error.ts";
import { ids } from "../system.ts";
import type { IdRange } from "../steps/users.ts";

/**
 * The fields of /proc/PID/status.
 *
 * @param pid The process.
 * @returns The fields by name.
 * @throws {SyscallError} When there is no such process, or it may not be read.
 */
export function readStatus(pid: number): Map<string, string> {
  const text = readProcFile(pid, "status");
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/**
 * A file of /proc/PID, as text. A failure says whether there is no such
 * process, or whether it is not the caller's to inspect.
 *
 * @param pid The process.
 * @param name The file, such as `"status"`.
 * @returns Its text.
 * @throws {SyscallError} When it cannot be read.
 */
export function readProcFile(pid: number, name: string): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/${name}`);
  } catch (error) {
    throw processError(pid, osErrno(error) ?? ENOENT, "open", `/proc/${pid}/${name}`);
  }
}

/**
 * The error for a file of a process that cannot be opened: no such process,
 * or one the caller may not inspect, in one line with a hint.
 *
 * @param pid The process.
 * @param code The errno.
 * @param syscall The call that failed.
 * @param path The file.
 * @returns The error.
 */
export function processError(pid: number, code: number, syscall: string, path: string): SyscallError {
  let hint: string | undefined;
  const gone = !exists(`/proc/${pid}`);
  if (gone || code === ESRCH) hint = `there is no process ${pid}`;
  else if (code === EACCES || code === EPERM) {
    // The files of a process are reached with ptrace access to it (ptrace(2),
    // "ptrace access mode checking").
    hint = ids().euid === 0
      ? `process ${pid} may not be inspected, even by root: a security module or a kernel rule protects it`
      : `process ${pid} is not yours to inspect (another user's, or protected): run nsh audit as root`;
  } else if (code === ENOENT && /^State:\s*Z/m.test(readOr(`/proc/${pid}/status`))) {
    // A zombie keeps its pid and status, but no namespaces, root or memory.
    hint = `process ${pid} has ended: it is a zombie its parent has not reaped`;
  }
  return new SyscallError(syscall, gone ? ESRCH : code, {
    operation: `audit process ${pid}`,
    path,
    hint,
  });
}

function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/**
 * The ranges of a uid_map or gid_map.
 *
 * @param text The file's text.
 * @returns The ranges.
 */
export function parseIdMap(text: string): IdRange[] {
  return text.trim().split("\n").filter((line) => line.trim()).map((line) => {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    return { inside: inside!, outside: outside!, count: count! };
  });
}

/**
 * Translates an id as the reader sees it into the namespace of a map.
 *
 * @param map The namespace's map, as the reader reads it.
 * @param outside The id in the reader's namespace.
 * @returns The id inside, or `undefined` when the namespace does not map it.
 */
export function insideId(map: readonly IdRange[], outside: number): number | undefined {
  const range = map.find((r) => outside >= r.outside && outside < r.outside + r.count);
  return range ? range.inside + outside - range.outside : undefined;
}

/** Whether an id map is the initial user namespace's: every id maps to itself. */
export function isIdentityMap(map: readonly IdRange[]): boolean {
  return map.length === 1 && map[0]!.inside === 0 && map[0]!.outside === 0 && map[0]!.count === 4294967295;
}

/**
 * The capabilities of a `Cap*` field of /proc/PID/status.
 *
 * @param hex The field, such as `"000001ffffffffff"`.
 * @returns Their names, `CAP_CHOWN` first.
 */
export function capabilityNames(hex: string | undefined): string[] {
  if (!hex) return [];
  const bits = BigInt(`0x${hex}`);
  const names: string[] = [];
  for (let cap = 0; cap < 64; cap++) {
    if (bits & (1n << BigInt(cap))) names.push(CAPABILITY_NAMES[cap] ?? `CAP_${cap}`);
  }
  return names;
}

/** One line of /proc/PID/mountinfo. */
export interface MountEntry {
  /** The root of the mount within its filesystem. */
  readonly root: string;
  /** Where it is mounted, relative to the process's root. */
  readonly mountPoint: string;
  /** Per-mount options (`rw`, `ro`, `nosuid`…). */
  readonly options: readonly string[];
  /** The filesystem type. */
  readonly fstype: string;
  /** The source. */
  readonly source: string;
  /** Per-filesystem options (for cgroup v1, the controllers). */
  readonly superOptions: readonly string[];
}

/** Undoes mountinfo's octal escapes (`\040` for a space). */
function unescape(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * The mounts of a process, as its /proc/PID/mountinfo lists them.
 *
 * @param pid The process.
 * @returns The mounts, in mount order.
 */
export function readMounts(pid: number | "self"): MountEntry[] {
  const text = Deno.readTextFileSync(`/proc/${pid}/mountinfo`);
  const mounts: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [left, right] = line.split(" - ");
    const fields = left!.split(" ");
    const [fstype, source, superOptions] = (right ?? "").split(" ");
    mounts.push({
      root: unescape(fields[3] ?? ""),
      mountPoint: unescape(fields[4] ?? ""),
      options: (fields[5] ?? "").split(","),
      fstype: fstype ?? "",
      source: unescape(source ?? ""),
      superOptions: (superOptions ?? "").split(","),
    });
  }
  return mounts;
}

/**
 * The mount a path is on: the last mount whose mount point is the path or
 * one of its parents (later mounts hide earlier ones).
 *
 * @param mounts The mounts.
 * @param path An absolute path, without `..`.
 * @returns The mount, if any.
 */
export function mountOf(mounts: readonly MountEntry[], path: string): MountEntry | undefined {
  let found: MountEntry | undefined;
  for (const m of mounts) {
    const point = m.mountPoint;
    if (path === point || point === "/" || path.startsWith(point + "/")) {
      if (!found || point.length >= found.mountPoint.length) found = m;
    }
  }
  return found;
}

/** The namespace link of a process: `net:[4026531840]`, or the errno that refused it. */
export function namespaceLink(pid: number, name: string): string | number {
  try {
    return Deno.readLinkSync(`/proc/${pid}/ns/${name}`);
  } catch (error) {
    return osErrno(error) ?? ENOENT;
  }
}

/** The inode number of a namespace link such as `net:[4026531840]`. */
export function linkInode(link: string): number {
  return Number(/\[(\d+)\]$/.exec(link)?.[1] ?? NaN);
}

/**
 * Opens a process's root directory, to resolve paths in it.
 *
 * @param pid The process.
 * @returns The descriptor (O_PATH), or -errno.
 */
export function openRoot(pid: number): number {
  const fd = libc().open(cstring(`/proc/${pid}/root`), O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  return fd < 0 ? -errno() : fd;
}

/**
 * Opens a path as seen from a root directory: openat2(2) with
 * RESOLVE_IN_ROOT, so that absolute links and `..` stay inside it.
 *
 * @param rootFd The root, from {@linkcode openRoot}.
 * @param path The path, absolute as the process sees it.
 * @param flags open(2) flags (O_CLOEXEC is added).
 * @returns The descriptor, or -errno.
 */
export function openInRoot(rootFd: number, path: string, flags: number): number {
  const table = syscallTable(nativeAbi() ?? "x86_64");
  const name = cstring(path.replace(/^\/+/, "") || ".");
  const how = new BigUint64Array([BigInt(flags | O_CLOEXEC), 0n, BigInt(RESOLVE_IN_ROOT)]);
  return routine().syscall(table.numbers.get("openat2")!, rootFd, address(name), address(how), 24);
}

/** The address of a buffer, for a raw system call made while it is alive. */
export function address(buffer: ArrayBufferView): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer as Uint8Array<ArrayBuffer>)));
}

/**
 * A small file inside a root, as text.
 *
 * @param rootFd The root.
 * @param path The path, as the process sees it.
 * @returns The text, or `undefined` when it cannot be read.
 */
export function readInRoot(rootFd: number, path: string): string | undefined {
  const fd = openInRoot(rootFd, path, O_RDONLY | O_NONBLOCK);
  if (fd < 0) return undefined;
  try {
    const buffer = new Uint8Array(4096);
    const n = Number(libc().read(fd, buffer, BigInt(buffer.length)));
    return n < 0 ? undefined : new TextDecoder().decode(buffer.subarray(0, n));
  } finally {
    libc().close(fd);
  }
}

/**
 * The type of a file inside a root (`st_mode & S_IFMT`), following links inside it.
 *
 * @param rootFd The root.
 * @param path The path, as the process sees it.
 * @returns The type bits, or -errno.
 */
export function typeInRoot(rootFd: number, path: string): number {
  const fd = openInRoot(rootFd, path, O_PATH);
  if (fd < 0) return fd;
  try {
    const info = statAt(fd, "", AT_EMPTY_PATH);
    return typeof info === "number" ? info : info.mode & S_IFMT;
  } finally {
    libc().close(fd);
  }
}
