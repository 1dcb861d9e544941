/**
 * Process groups and the terminal's foreground group, for a shell's job
 * control: raw system calls, as the rest of ffi/ makes them.
 *
 * @module
 */

import { routine } from "./routine.ts";
import { errno, libc } from "./libc.ts";
import { SyscallError } from "./error.ts";
import {
  CLD_STOPPED,
  ECHO,
  EINTR,
  FIONREAD,
  ICANON,
  ICRNL,
  IEXTEN,
  ISIG,
  P_PID,
  SIG_BLOCK,
  SIG_SETMASK,
  SIGTTOU,
  TCGETS,
  TCSETS,
  TIOCGPGRP,
  TIOCSPGRP,
  VMIN,
  VTIME,
  WNOHANG,
  WSTOPPED,
} from "./constants.ts";

function address(buffer: ArrayBufferView): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
}

/**
 * Puts a process in a process group: setpgid(2). The parent of a child that
 * has not called execve yet may.
 *
 * @param pid The process, as this process sees it.
 * @param pgid The group (a pid of this namespace), or the process's own pid for a new group.
 * @throws {SyscallError} When it cannot.
 */
export function setProcessGroup(pid: number, pgid: number): void {
  const { sysno, syscall } = routine();
  const r = syscall(sysno.setpgid, pid, pgid);
  if (r < 0) throw new SyscallError("setpgid", -r, { operation: `put process ${pid} in process group ${pgid}` });
}

/**
 * The process group of a process: getpgid(2).
 *
 * @param pid The process, 0 for this one.
 * @returns Its group.
 */
export function processGroup(pid = 0): number {
  const { sysno, syscall } = routine();
  return syscall(sysno.getpgid, pid);
}

/**
 * The foreground process group of a terminal.
 *
 * @param fd A descriptor of the terminal.
 * @returns The group, or -1 when the descriptor is no terminal of this session.
 */
export function foregroundGroup(fd: number): number {
  const pgrp = new Int32Array(1);
  return libc().ioctl(fd, BigInt(TIOCGPGRP), pgrp) < 0 ? -1 : pgrp[0]!;
}

/**
 * Makes a process group the terminal's foreground group: tcsetpgrp(3), with
 * SIGTTOU blocked, since a shell that is in the background then would stop
 * itself otherwise.
 *
 * @param fd A descriptor of the terminal.
 * @param pgid The group.
 * @returns Whether it worked (not, when the descriptor is no terminal of this session).
 */
export function setForegroundGroup(fd: number, pgid: number): boolean {
  const { sysno, syscall } = routine();
  const block = new BigUint64Array([1n << BigInt(SIGTTOU - 1)]);
  const old = new BigUint64Array(1);
  // The raw call changes the mask of this thread, the one that calls ioctl.
  syscall(sysno.rt_sigprocmask, SIG_BLOCK, address(block), address(old), 8);
  try {
    return libc().ioctl(fd, BigInt(TIOCSPGRP), new Int32Array([pgid])) === 0;
  } finally {
    syscall(sysno.rt_sigprocmask, SIG_SETMASK, address(old), 0, 8);
  }
}

/**
 * Whether a child has stopped (Ctrl-Z, SIGSTOP) since last asked: waitid(2)
 * with `WSTOPPED`, which takes the report.
 *
 * @param pid The child.
 * @returns `true` when it stopped.
 */
export function stopped(pid: number): boolean {
  const info = new Uint8Array(128);
  while (libc().waitid(P_PID, pid, info, WSTOPPED | WNOHANG) < 0) {
    if (errno() !== EINTR) return false;
  }
  const view = new DataView(info.buffer);
  // si_pid is set when a child was found; si_code says what it did.
  return view.getInt32(16, true) !== 0 && view.getInt32(8, true) === CLD_STOPPED;
}

/**
 * How many bytes wait to be read on a descriptor (a terminal, a pipe).
 *
 * @param fd The descriptor.
 * @returns The count, 0 when it cannot tell.
 */
export function bytesWaiting(fd: number): number {
  const n = new Int32Array(1);
  return libc().ioctl(fd, BigInt(FIONREAD), n) < 0 ? 0 : n[0]!;
}

/** The size of the kernel's `struct termios`: four flags, the line discipline, 19 control characters. */
const TERMIOS_SIZE = 36;
/** Where `c_cc` starts in it. */
const CC = 17;

/**
 * The modes of a terminal, to set them back later.
 *
 * @param fd A descriptor of the terminal.
 * @returns The kernel's `struct termios`, or `undefined` when it is no terminal.
 */
export function terminalModes(fd: number): Uint8Array | undefined {
  const modes = new Uint8Array(TERMIOS_SIZE);
  return libc().ioctl(fd, BigInt(TCGETS), modes) < 0 ? undefined : modes;
}

/**
 * Sets the modes of a terminal at once (TCSETS): what was typed and not yet
 * read stays, as it was typed (a later mode does not change it).
 *
 * @param fd A descriptor of the terminal.
 * @param modes A `struct termios` from {@linkcode terminalModes} or {@linkcode rawModes}.
 */
export function setTerminalModes(fd: number, modes: Uint8Array): void {
  libc().ioctl(fd, BigInt(TCSETS), modes);
}

/**
 * The modes a line editor reads the terminal in: a byte at a time, no echo
 * and no signals (it handles Ctrl-C itself), but a carriage return still
 * read as a newline and output as it was: bash's readline does so. A mode
 * without `ICRNL` (cfmakeraw's) leaves Enter typed ahead as `\r` in the
 * terminal, where a program that reads lines waits for a newline for ever.
 *
 * @param cooked The terminal's usual modes.
 * @returns The raw modes.
 */
export function rawModes(cooked: Uint8Array): Uint8Array {
  const raw = cooked.slice();
  const view = new DataView(raw.buffer);
  view.setUint32(0, view.getUint32(0, true) | ICRNL, true);
  view.setUint32(12, view.getUint32(12, true) & ~(ICANON | ECHO | ISIG | IEXTEN), true);
  raw[CC + VMIN] = 1;
  raw[CC + VTIME] = 0;
  return raw;
}
