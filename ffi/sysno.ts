/**
 * System call numbers of the architectures nsh knows. Only the calls that the
 * engine's programs, the nonblocking entry and the raw calls of ffi/fs.ts use
 * are listed.
 *
 * @module
 */

/** The system calls a program step can make. */
export type SyscallName =
  | "read"
  | "write"
  | "close"
  | "ioctl"
  | "fcntl"
  | "getpid"
  | "clone"
  | "execve"
  | "exit_group"
  | "kill"
  | "chdir"
  | "fchdir"
  | "setresuid"
  | "setresgid"
  | "setgroups"
  | "pivot_root"
  | "prctl"
  | "chroot"
  | "mount"
  | "umount2"
  | "sethostname"
  | "setdomainname"
  | "rt_sigaction"
  | "rt_sigprocmask"
  | "waitid"
  | "wait4"
  | "openat"
  | "mkdirat"
  | "unshare"
  | "dup3"
  | "setns"
  | "pidfd_open"
  | "pidfd_send_signal"
  | "pidfd_getfd"
  | "capset"
  | "close_range"
  | "unlinkat"
  | "mount_setattr"
  | "fchmodat"
  | "symlinkat"
  | "umask"
  | "execveat"
  | "setsid"
  | "setpgid"
  | "getpgid"
  | "open_tree"
  | "move_mount"
  | "epoll_create1"
  | "epoll_ctl"
  | "epoll_pwait"
  | "seccomp"
  | "landlock_create_ruleset"
  | "landlock_add_rule"
  | "landlock_restrict_self"
  | "openat2"
  | "fstatfs"
  | "flock"
  | "socket";

const X86_64: Readonly<Record<SyscallName, number>> = {
  read: 0,
  write: 1,
  close: 3,
  ioctl: 16,
  fcntl: 72,
  getpid: 39,
  clone: 56,
  execve: 59,
  exit_group: 231,
  kill: 62,
  chdir: 80,
  fchdir: 81,
  setresuid: 117,
  setresgid: 119,
  setgroups: 116,
  pivot_root: 155,
  prctl: 157,
  chroot: 161,
  mount: 165,
  umount2: 166,
  sethostname: 170,
  setdomainname: 171,
  rt_sigaction: 13,
  rt_sigprocmask: 14,
  waitid: 247,
  wait4: 61,
  openat: 257,
  mkdirat: 258,
  unshare: 272,
  dup3: 292,
  setns: 308,
  pidfd_open: 434,
  pidfd_send_signal: 424,
  pidfd_getfd: 438,
  capset: 126,
  close_range: 436,
  unlinkat: 263,
  mount_setattr: 442,
  fchmodat: 268,
  symlinkat: 266,
  umask: 95,
  execveat: 322,
  setsid: 112,
  setpgid: 109,
  getpgid: 121,
  open_tree: 428,
  move_mount: 429,
  epoll_create1: 291,
  epoll_ctl: 233,
  epoll_pwait: 281,
  seccomp: 317,
  landlock_create_ruleset: 444,
  landlock_add_rule: 445,
  landlock_restrict_self: 446,
  openat2: 437,
  fstatfs: 138,
  flock: 73,
  socket: 41,
};

const AARCH64: Readonly<Record<SyscallName, number>> = {
  read: 63,
  write: 64,
  close: 57,
  ioctl: 29,
  fcntl: 25,
  getpid: 172,
  clone: 220,
  execve: 221,
  exit_group: 94,
  kill: 129,
  chdir: 49,
  fchdir: 50,
  setresuid: 147,
  setresgid: 149,
  setgroups: 159,
  pivot_root: 41,
  prctl: 167,
  chroot: 51,
  mount: 40,
  umount2: 39,
  sethostname: 161,
  setdomainname: 162,
  rt_sigaction: 134,
  rt_sigprocmask: 135,
  waitid: 95,
  wait4: 260,
  openat: 56,
  mkdirat: 34,
  unshare: 97,
  dup3: 24,
  setns: 268,
  pidfd_open: 434,
  pidfd_send_signal: 424,
  pidfd_getfd: 438,
  capset: 91,
  close_range: 436,
  unlinkat: 35,
  mount_setattr: 442,
  fchmodat: 53,
  symlinkat: 36,
  umask: 166,
  execveat: 281,
  setsid: 157,
  setpgid: 154,
  getpgid: 155,
  open_tree: 428,
  move_mount: 429,
  epoll_create1: 20,
  epoll_ctl: 21,
  epoll_pwait: 22,
  seccomp: 277,
  landlock_create_ruleset: 444,
  landlock_add_rule: 445,
  landlock_restrict_self: 446,
  openat2: 437,
  fstatfs: 44,
  flock: 32,
  socket: 198,
};

/** System call numbers by architecture, as `Deno.build.arch` names it. */
export const SYSCALLS: Readonly<Record<string, Readonly<Record<SyscallName, number>>>> = {
  x86_64: X86_64,
  aarch64: AARCH64,
};
