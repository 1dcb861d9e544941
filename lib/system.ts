/**
 * Facts about the machine and the calling process that plans depend on, read
 * once and cached.
 *
 * @module
 */

import { libc } from "../ffi/libc.ts";
import { ESRCH, F_GETFD } from "../ffi/constants.ts";
import { routine } from "../ffi/routine.ts";

/** The ids of the calling process. */
export interface Ids {
  /** Real user id. */
  readonly uid: number;
  /** Real group id. */
  readonly gid: number;
  /** Effective user id. */
  readonly euid: number;
  /** Effective group id. */
  readonly egid: number;
}

let cachedIds: Ids | undefined;

/**
 * The real and effective ids of this process.
 *
 * @returns The ids.
 */
export function ids(): Ids {
  if (cachedIds) return cachedIds;
  // Deno knows the real ids; only the effective ones need libc.
  const c = libc();
  cachedIds = { uid: Deno.uid() ?? c.getuid(), gid: Deno.gid() ?? c.getgid(), euid: c.geteuid(), egid: c.getegid() };
  return cachedIds;
}

/**
 * The kernel's version as numbers.
 *
 * @returns `[major, minor]`, such as `[6, 18]`.
 */
export function kernelVersion(): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(Deno.osRelease());
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/**
 * The content of a small file such as a sysctl under `/proc/sys`, trimmed.
 *
 * @param path The file.
 * @returns Its content, or `undefined` when it cannot be read.
 */
export function readSmallFile(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}

let cachedCapLastCap: number | undefined;

/**
 * The highest capability number this kernel knows.
 *
 * @returns `CAP_LAST_CAP`, from `/proc/sys/kernel/cap_last_cap`.
 */
export function capLastCap(): number {
  cachedCapLastCap ??= Number(readSmallFile("/proc/sys/kernel/cap_last_cap") ?? 40);
  return cachedCapLastCap;
}

let inherited: readonly number[] | undefined;

/**
 * The descriptors above 2 that this process has without close-on-exec: those
 * it inherited from its parent (Deno opens its own with O_CLOEXEC). A
 * command-line tool passes them on to the programs it runs, as util-linux
 * `unshare` and sh do (`nsh unshare prog 3<file`).
 *
 * @returns The descriptors, read once.
 */
export function inheritedFds(): readonly number[] {
  if (inherited) return inherited;
  const c = libc();
  const fds: number[] = [];
  try {
    for (const entry of Deno.readDirSync("/proc/self/fd")) {
      const fd = Number(entry.name);
      if (fd > 2 && c.fcntl(fd, F_GETFD, 0) === 0) fds.push(fd);
    }
  } catch {
    // No /proc: nothing is passed on.
  }
  inherited = fds.sort((a, b) => a - b);
  return inherited;
}

/**
 * This process's permitted capabilities.
 *
 * @returns `CapPrm` of /proc/self/status as a bit set; none when unreadable.
 */
export function capPermitted(): bigint {
  const hex = /^CapPrm:\s*([0-9a-f]+)$/m.exec(readSmallFile("/proc/self/status") ?? "")?.[1];
  return hex ? BigInt(`0x${hex}`) : 0n;
}

/**
 * The start time of a process, in clock ticks since boot: with its pid, it
 * tells it from a later process that got the same pid.
 *
 * @param pid The process.
 * @returns Field 22 of /proc/PID/stat, or `undefined` when there is no such process.
 */
export function startTime(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  } catch {
    return undefined;
  }
}

/**
 * Sends a signal to a process only if it is still the one that started at
 * `start`: the pidfd is made first and the start time read after, so a
 * process that ended meanwhile and left its pid to another gets nothing (the
 * pidfd is the ended one's).
 *
 * @param pid The process.
 * @param start Its start time, from {@linkcode startTime}.
 * @param signo The signal.
 * @returns 0, or the errno of pidfd_send_signal(2); ESRCH when it is gone.
 */
export function signalIfSame(pid: number, start: number, signo: number): number {
  const r = routine();
  const pidfd = r.syscall(r.sysno.pidfd_open, pid, 0);
  if (pidfd < 0) return -pidfd;
  try {
    if (startTime(pid) !== start) return ESRCH;
    const sent = r.syscall(r.sysno.pidfd_send_signal, pidfd, signo, 0, 0);
    return sent < 0 ? -sent : 0;
  } finally {
    libc().close(pidfd);
  }
}
