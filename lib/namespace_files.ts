/**
 * The files a start opens in this process for its child to join: namespace
 * files (`/proc/PID/ns/TYPE`, a file a namespace is bound to, or a socket of
 * a process, which stands for its network namespace), checked for their
 * type before any process starts, or a process's pidfd that joins several of
 * its namespaces at once; and files of processes (`/proc/PID/…`), whose
 * errors say whether the process exists and whether it may be inspected.
 *
 * @module
 */

import { cstring, errno, exists, fileMode, libc } from "../ffi/libc.ts";
import {
  EACCES,
  EBADF,
  EINVAL,
  ENOENT,
  ENOSYS,
  ENOTSOCK,
  ENOTTY,
  EPERM,
  ESRCH,
  F_SETFD,
  FD_CLOEXEC,
  NS_GET_NSTYPE,
  O_CLOEXEC,
  O_RDONLY,
  S_IFMT,
  S_IFSOCK,
  SIOCGSKNS,
} from "../ffi/constants.ts";
import { routine } from "../ffi/routine.ts";
import { SyscallError } from "../ffi/error.ts";
import type { ExecSpec } from "./compile.ts";
import { NAMESPACES, type NamespaceType } from "./namespaces.ts";
import type { Plan } from "./plan.ts";
import { ids, kernelVersion } from "./system.ts";

/**
 * Opens a file for a child, as {@linkcode openPath} does, and adds it to the
 * descriptors that the caller closes once the child has its copies.
 *
 * @param path The file.
 * @param flags open(2) flags.
 * @param operation What was attempted, for the error.
 * @param fds Where the descriptor is added.
 * @returns The descriptor.
 * @throws {SyscallError} When open(2) fails.
 */
export function openForChild(path: string, flags: number, operation: string, fds: number[]): number {
  const fd = openPath(path, flags, operation);
  fds.push(fd);
  return fd;
}

/**
 * Opens a file with `O_CLOEXEC`. A failure for a file of a process
 * (`/proc/PID/…`) says whether there is no such process, or whether it is
 * not the caller's to inspect.
 *
 * @param path The file.
 * @param flags open(2) flags.
 * @param operation What was attempted, for the error.
 * @returns The descriptor.
 * @throws {SyscallError} When open(2) fails.
 */
export function openPath(path: string, flags: number, operation: string): number {
  const fd = libc().open(cstring(path), flags | O_CLOEXEC, 0);
  if (fd >= 0) return fd;
  const e = errno();
  const pid = /^\/proc\/(\d+)\//.exec(path)?.[1];
  let hint: string | undefined;
  const descriptor = /^\/proc\/\d+\/fd\/(\d+)$/.exec(path)?.[1];
  if (pid && e === ENOENT && !exists(`/proc/${pid}`)) hint = `there is no process ${pid}`;
  else if (descriptor && e === ENOENT) hint = `process ${pid} has no descriptor ${descriptor}`;
  else if (pid && (e === EACCES || e === EPERM)) {
    // The files of a process are reached with ptrace access to it (ptrace(2),
    // "ptrace access mode checking"): another user's process, one that made
    // itself undumpable, or a security module's rule refuses it.
    hint = ids().euid === 0
      ? `process ${pid} may not be inspected, even by root: a security module or a kernel rule protects it`
      : `process ${pid} is not yours to inspect (another user's, or protected by a security module)`;
  }
  throw new SyscallError("open", e, { operation, path, hint });
}

/**
 * Opens the namespace files to join and checks that each is a namespace of the
 * right type, so that a wrong file is reported before any process starts.
 * The files are opened as named, as util-linux does, also those of a process
 * (`nsenter --target`): a failure names the file and the real cause (a
 * process that may not be inspected says EACCES there, where a join through
 * its pidfd would only say EPERM).
 *
 * @param p The plan, whose `enter` lists the namespaces to join.
 * @param fds Where the descriptors are added, for the caller to close once the child has its copies.
 * @returns What the child joins: a descriptor each, or a pidfd for a group of one process's namespaces.
 * @throws {SyscallError} When a file cannot be opened or is no namespace of its type.
 */
export function openNamespaces(p: Plan, fds: number[]): NonNullable<ExecSpec["enter"]>[number][] {
  const out: NonNullable<ExecSpec["enter"]>[number][] = [];
  for (const group of new Set(p.enter.map((e) => e.group))) {
    const members = p.enter.filter((e) => e.group === group);
    const opened = members.map(({ type, path }) => ({ type, fd: openNamespace(type, path, fds), path, group }));
    const atomic = pidfdJoin(members, fds);
    if (atomic) {
      // The files were for the checks: the pidfd joins them all at once.
      for (const { fd } of opened) {
        fds.splice(fds.indexOf(fd), 1);
        libc().close(fd);
      }
      out.push({ ...atomic, group });
    } else out.push(...opened);
  }
  return out;
}

/**
 * When every namespace of a group is a process's own (`/proc/PID/ns/TYPE`,
 * as `nsenter --target` gives them), one setns(2) on a pidfd joins them all at
 * once (Linux 5.8+): the process cannot change namespaces between two joins.
 */
function pidfdJoin(
  members: readonly { type: NamespaceType; path: string }[],
  fds: number[],
): { type: NamespaceType; fd: number; path: string; all: NamespaceType[] } | undefined {
  const pids = new Set(members.map((m) => /^\/proc\/(\d+)\/ns\/(\w+)$/.exec(m.path)).map((m) => m?.[1]));
  const [pid] = pids;
  if (pids.size !== 1 || pid === undefined || !members.every((m) => m.path.endsWith(`/ns/${m.type}`))) return undefined;
  const [major, minor] = kernelVersion();
  if (major < 5 || (major === 5 && minor < 8)) return undefined;
  const r = routine();
  const fd = r.syscall(r.sysno.pidfd_open, Number(pid), 0);
  if (fd < 0) {
    throw new SyscallError("pidfd_open", -fd, {
      operation: `join the namespaces of process ${pid}`,
      path: `/proc/${pid}`,
      hint: fd === -ESRCH ? `there is no process ${pid}` : undefined,
    });
  }
  // A pidfd is not close-on-exec by default: the child closes it at exec.
  libc().fcntl(fd, F_SETFD, FD_CLOEXEC);
  fds.push(fd);
  const all = members.map((m) => m.type);
  // One namespace is named by its file; several by their process.
  return { type: all[0]!, fd, path: all.length === 1 ? members[0]!.path : `/proc/${pid}`, all };
}

/**
 * Opens the network namespace of a socket of a process, `/proc/PID/fd/N`
 * (`nsenter --net-socket`): a socket cannot be opened by its path, so its
 * descriptor is copied with pidfd_getfd(2) (Linux 5.6+), and SIOCGSKNS gives
 * its namespace.
 */
function openSocketNamespace(pid: number, socket: number, path: string, fds: number[]): number {
  const operation = `join the network namespace of socket ${socket} of process ${pid}`;
  const r = routine();
  const pidfd = r.syscall(r.sysno.pidfd_open, pid, 0);
  if (pidfd < 0) {
    throw new SyscallError("pidfd_open", -pidfd, {
      operation,
      path,
      hint: pidfd === -ESRCH ? `there is no process ${pid}` : undefined,
    });
  }
  const sk = r.syscall(r.sysno.pidfd_getfd, pidfd, socket, 0);
  libc().close(pidfd);
  if (sk < 0) {
    throw new SyscallError("pidfd_getfd", -sk, {
      operation,
      path,
      hint: sk === -EPERM
        ? `taking a descriptor of process ${pid} needs the right to ptrace it (root, or your own process where the Yama ptrace_scope allows)`
        : sk === -EBADF
        ? `process ${pid} has no descriptor ${socket}`
        : sk === -ENOSYS
        ? "this kernel has no pidfd_getfd (Linux 5.6+)"
        : undefined,
    });
  }
  const ns = libc().ioctl(sk, BigInt(SIOCGSKNS), null);
  const e = ns < 0 ? errno() : 0;
  libc().close(sk);
  if (ns < 0) {
    throw new SyscallError("ioctl", e, {
      operation,
      path,
      hint: e === ENOTTY || e === ENOTSOCK
        ? `descriptor ${socket} of process ${pid} is not a socket`
        : e === EPERM
        ? "reading a socket's namespace needs CAP_NET_ADMIN over it"
        : undefined,
    });
  }
  libc().fcntl(ns, F_SETFD, FD_CLOEXEC);
  fds.push(ns);
  return ns;
}

/**
 * Opens one namespace file and checks that it is a namespace of the right
 * type; for a network namespace, a socket of a process (`/proc/PID/fd/N`)
 * stands for the namespace it was made in.
 *
 * @param type The namespace type expected.
 * @param path The file.
 * @param fds Where the descriptor is added, for the caller to close.
 * @returns The descriptor.
 * @throws {SyscallError} When the file cannot be opened or is no namespace of that type.
 */
export function openNamespace(type: NamespaceType, path: string, fds: number[]): number {
  // A socket of a process stands for its network namespace.
  const socket = type === "net" ? /^\/proc\/(\d+)\/fd\/(\d+)$/.exec(path) : null;
  if (socket && (fileMode(path) & S_IFMT) === S_IFSOCK) {
    return openSocketNamespace(Number(socket[1]), Number(socket[2]), path, fds);
  }
  const fd = openForChild(path, O_RDONLY, `open the ${type} namespace "${path}"`, fds);
  const actual = libc().ioctl(fd, BigInt(NS_GET_NSTYPE), null);
  if (actual < 0) {
    const e = errno();
    throw new SyscallError("ioctl", e, {
      operation: `join the ${type} namespace of "${path}"`,
      path,
      hint: e !== ENOTTY
        ? undefined
        : type === "net" && socket
        ? `"${path}" is neither a namespace nor a socket`
        : `"${path}" is not a namespace file (such as /proc/PID/ns/${type})`,
    });
  }
  const found = NAMESPACES.find((info) => info.flag === actual);
  if (found && found.type !== type) {
    throw new SyscallError("setns", EINVAL, {
      operation: `join the ${type} namespace of "${path}"`,
      path,
      hint: `"${path}" is a ${found.type} namespace`,
    });
  }
  return fd;
}
