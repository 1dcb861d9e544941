/**
 * The sensitive system calls `audit()` probes, each with arguments that make
 * it harmless: a call that passes the seccomp filter and the permission
 * checks then fails on an argument (EINVAL, EFAULT, EBADF…) before it acts,
 * or acts only on the probing child's own private state (its session, its
 * I/O privilege level, a namespace of its own), which ends with it.
 *
 * The list covers every call amicontained reports as blocked under Docker's
 * default profile, and the newer ones that matter for a breakout (the mount
 * API, bpf, userfaultfd, io_uring, pidfd_getfd). amicontained itself calls
 * every number from 0 to rseq with three zero arguments and counts EPERM and
 * EACCES as blocked: with zeros, acct(NULL) turns process accounting off,
 * kexec_load(0, 0, NULL, 0) unloads a loaded kernel image, vhangup() hangs up
 * the caller's terminal and a process that leads its group reads setsid's
 * EPERM as "blocked". Here each call has arguments of its own, and a call
 * counts as denied by seccomp only when the filter changes its result (see
 * {@linkcode classifyProbe}).
 *
 * @module
 */

import type { Arg } from "../../ffi/program.ts";
import {
  ADJ_TICK,
  AT_FDCWD,
  CLOCK_REALTIME,
  CLONE_NEWUSER,
  EACCES,
  EBADF,
  EFAULT,
  EINVAL,
  ENOEXEC,
  ENOSYS,
  EOPNOTSUPP,
  EPERM,
  ESRCH,
  ESTALE,
  IPC_NOWAIT,
  MNT_DETACH,
  MNT_EXPIRE,
  MS,
  OPEN_TREE_CLONE,
  PTRACE_PEEKDATA,
} from "../../ffi/constants.ts";

/**
 * An address no process can map (the top page of the kernel's half): a
 * pointer argument that makes a call fail with EFAULT once it reads it.
 */
export const BAD_ADDRESS = -4096;

/** What a probe's arguments may depend on. */
export interface ProbeContext {
  /** The pid of nsh, a process of the host, as the probing child names it. */
  readonly nshPid: number;
  /**
   * The address of 16 bytes of nsh's memory, which the probing child has a
   * private copy of: a local buffer for process_vm_readv and _writev.
   */
  readonly scratch: number;
}

/** One system call probed, and how. */
export interface SyscallProbe {
  /** The call, as the kernel's table names it. */
  readonly name: string;
  /** Its arguments. */
  readonly args: (context: ProbeContext) => readonly Arg[];
  /**
   * The errnos (0 for success) that mean the call went through seccomp and
   * every permission check: it would have acted with other arguments.
   */
  readonly pass: readonly number[];
  /**
   * The capability the kernel checks before the failure the arguments
   * cause, so that EPERM means it is missing; `undefined` when the probe
   * cannot reach a capability check harmlessly (then it tests the seccomp
   * filter only).
   */
  readonly capability?: string;
  /** Why it is probed this way, and why it is harmless. */
  readonly how: string;
  /**
   * Probed in a child that has left nsh's terminal first (setsid), in a
   * group of its own: vhangup() hangs up the caller's terminal.
   */
  readonly detached?: boolean;
}

const bad = BAD_ADDRESS;

/** struct __kernel_timex with modes = ADJ_TICK and tick = 0: refused as out of range once CAP_SYS_TIME is checked. */
function timexBadTick(): Uint8Array {
  const bytes = new Uint8Array(208);
  new DataView(bytes.buffer).setUint32(0, ADJ_TICK, true);
  return bytes;
}

/** struct file_handle with 8 bytes of handle and a type no filesystem decodes. */
function fileHandle(): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 8, true);
  view.setInt32(4, 254, true);
  return bytes;
}

/**
 * The probes, in the order the child makes them. `unshare` comes last: it
 * moves the child into a user namespace of its own, after which every other
 * check would be made against it.
 */
export const SYSCALL_PROBES: readonly SyscallProbe[] = [
  {
    name: "mount",
    args: () => [0, { str: "/" }, 0, MS.MOVE, 0],
    pass: [EINVAL],
    capability: "CAP_SYS_ADMIN",
    how: 'mount(NULL, "/", NULL, MS_MOVE, NULL): may_mount() is checked, then the missing source fails with EINVAL',
  },
  {
    name: "umount2",
    args: () => [{ str: "/" }, MNT_EXPIRE | MNT_DETACH],
    pass: [EINVAL],
    capability: "CAP_SYS_ADMIN",
    how: 'umount2("/", MNT_EXPIRE|MNT_DETACH): after may_mount(), expiring the root (and with MNT_DETACH) is EINVAL',
  },
  {
    name: "pivot_root",
    args: () => [0, 0],
    pass: [EFAULT],
    capability: "CAP_SYS_ADMIN",
    how: "pivot_root(NULL, NULL): may_mount() first, then the NULL path is EFAULT",
  },
  {
    name: "move_mount",
    args: () => [-1, 0, -1, 0, 0x80000000],
    pass: [EINVAL],
    capability: "CAP_SYS_ADMIN",
    how: "move_mount with an unknown flag: may_mount() first, then EINVAL",
  },
  {
    name: "open_tree",
    args: () => [AT_FDCWD, bad, OPEN_TREE_CLONE],
    pass: [EFAULT],
    capability: "CAP_SYS_ADMIN",
    how: "open_tree(AT_FDCWD, <bad address>, OPEN_TREE_CLONE): may_mount() for a clone, then EFAULT",
  },
  {
    name: "fsopen",
    args: () => [0, 0xffff],
    pass: [EINVAL],
    capability: "CAP_SYS_ADMIN",
    how: "fsopen(NULL, <unknown flags>): may_mount() first, then EINVAL",
  },
  {
    name: "fsmount",
    args: () => [-1, 0xffff, 0],
    pass: [EINVAL],
    capability: "CAP_SYS_ADMIN",
    how: "fsmount(-1, <unknown flags>, 0): may_mount() first, then EINVAL",
  },
  {
    name: "fspick",
    args: () => [AT_FDCWD, 0, 0xffff],
    pass: [EINVAL],
    capability: "CAP_SYS_ADMIN",
    how: "fspick(AT_FDCWD, NULL, <unknown flags>): may_mount() first, then EINVAL",
  },
  {
    name: "sethostname",
    args: () => [0, -1],
    pass: [EINVAL],
    capability: "CAP_SYS_ADMIN",
    how: "sethostname(NULL, -1): CAP_SYS_ADMIN over the UTS namespace, then the length is EINVAL",
  },
  {
    name: "setdomainname",
    args: () => [0, -1],
    pass: [EINVAL],
    capability: "CAP_SYS_ADMIN",
    how: "setdomainname(NULL, -1): as sethostname",
  },
  {
    name: "reboot",
    args: () => [0, 0, 0, 0],
    pass: [EINVAL],
    capability: "CAP_SYS_BOOT",
    how: "reboot(0, 0, 0, 0): CAP_SYS_BOOT, then the missing magic numbers are EINVAL (checked in nsh's PID namespace)",
  },
  {
    name: "swapon",
    args: () => [0, 0],
    pass: [EFAULT],
    capability: "CAP_SYS_ADMIN",
    how: "swapon(NULL, 0): CAP_SYS_ADMIN, then the NULL path is EFAULT",
  },
  {
    name: "swapoff",
    args: () => [0],
    pass: [EFAULT],
    capability: "CAP_SYS_ADMIN",
    how: "swapoff(NULL): CAP_SYS_ADMIN, then EFAULT",
  },
  {
    name: "init_module",
    args: () => [0, 0, 0],
    pass: [ENOEXEC],
    capability: "CAP_SYS_MODULE",
    how: "init_module(NULL, 0, NULL): CAP_SYS_MODULE, then an image of 0 bytes is ENOEXEC",
  },
  {
    name: "finit_module",
    args: () => [-1, 0, 0],
    pass: [EBADF],
    capability: "CAP_SYS_MODULE",
    how: "finit_module(-1, NULL, 0): CAP_SYS_MODULE, then EBADF",
  },
  {
    name: "delete_module",
    args: () => [0, 0],
    pass: [EFAULT],
    capability: "CAP_SYS_MODULE",
    how: "delete_module(NULL, 0): CAP_SYS_MODULE, then EFAULT",
  },
  {
    name: "kexec_load",
    args: () => [0, 1000, 0, 0],
    pass: [EINVAL],
    capability: "CAP_SYS_BOOT",
    how: "kexec_load(0, 1000, NULL, 0): CAP_SYS_BOOT, then too many segments is EINVAL (0 segments would unload)",
  },
  {
    name: "kexec_file_load",
    args: () => [-1, -1, 0, 0, 1 << 30],
    pass: [EINVAL],
    capability: "CAP_SYS_BOOT",
    how: "kexec_file_load with an unknown flag: CAP_SYS_BOOT, then EINVAL",
  },
  {
    name: "acct",
    args: () => [bad],
    pass: [EFAULT],
    capability: "CAP_SYS_PACCT",
    how: "acct(<bad address>): CAP_SYS_PACCT, then EFAULT (acct(NULL) would turn accounting off)",
  },
  {
    name: "settimeofday",
    args: () => [0, 0],
    pass: [0],
    capability: "CAP_SYS_TIME",
    how: "settimeofday(NULL, NULL): CAP_SYS_TIME is checked, then nothing is set",
  },
  {
    name: "clock_settime",
    args: () => [CLOCK_REALTIME, bad],
    pass: [EFAULT],
    how: "clock_settime(CLOCK_REALTIME, <bad address>): EFAULT before any check; tests the filter only",
  },
  {
    name: "clock_adjtime",
    args: () => [CLOCK_REALTIME, { bytes: timexBadTick() }],
    pass: [EINVAL],
    capability: "CAP_SYS_TIME",
    how: "clock_adjtime(CLOCK_REALTIME, {modes: ADJ_TICK, tick: 0}): CAP_SYS_TIME, then the tick is EINVAL",
  },
  {
    name: "iopl",
    args: () => [3],
    pass: [0],
    capability: "CAP_SYS_RAWIO",
    how: "iopl(3): CAP_SYS_RAWIO; it raises the I/O privilege of the probing child only, which ends with it",
  },
  {
    name: "ioperm",
    args: () => [0, 1, 1],
    pass: [0],
    capability: "CAP_SYS_RAWIO",
    how: "ioperm(0, 1, 1): CAP_SYS_RAWIO; one port for the probing child only",
  },
  {
    name: "quotactl",
    args: () => [-1, 0, 0, 0],
    pass: [EINVAL],
    how: "quotactl with an unknown quota type: EINVAL before any check; tests the filter only",
  },
  {
    name: "syslog",
    args: () => [0, 0, 0],
    pass: [0],
    capability: "CAP_SYSLOG",
    how: "syslog(SYSLOG_ACTION_CLOSE): CAP_SYSLOG is checked, and closing the log does nothing",
  },
  {
    name: "ptrace",
    args: () => [PTRACE_PEEKDATA, 0, 0, 0],
    pass: [ESRCH],
    how: "ptrace(PTRACE_PEEKDATA, 0): no process 0 is traced, ESRCH; tests the filter only (access: process_vm_readv)",
  },
  {
    name: "process_vm_readv",
    args: (c) => [c.nshPid, { bytes: iovec(c.scratch) }, 1, { bytes: iovec(bad) }, 1, 0],
    pass: [EFAULT],
    capability: "ptrace access to nsh",
    how: "process_vm_readv(nsh, 1 byte at <bad address>): the ptrace attach check on nsh, then EFAULT",
  },
  {
    name: "process_vm_writev",
    args: (c) => [c.nshPid, { bytes: iovec(c.scratch) }, 1, { bytes: iovec(bad) }, 1, 0],
    pass: [EFAULT],
    capability: "ptrace access to nsh",
    how: "process_vm_writev(nsh, 1 byte at <bad address>): the ptrace attach check, then EFAULT; nothing is written",
  },
  {
    name: "kcmp",
    args: (c) => [c.nshPid, c.nshPid, 99, 0, 0],
    pass: [EINVAL],
    capability: "ptrace access to nsh",
    how: "kcmp(nsh, nsh, <unknown type>): the ptrace read check on nsh, then EINVAL",
  },
  {
    name: "pidfd_getfd",
    args: () => [-1, 0, 0],
    pass: [EBADF],
    how: "pidfd_getfd(-1, 0, 0): EBADF; tests the filter only",
  },
  {
    name: "perf_event_open",
    args: () => [bad, 0, -1, -1, 0],
    pass: [EFAULT],
    how: "perf_event_open(<bad address>): EFAULT before any check; tests the filter only",
  },
  {
    name: "bpf",
    args: () => [9999, 0, 0],
    pass: [EINVAL],
    how:
      "bpf(<unknown command>): EINVAL; tests the filter only (unprivileged use depends on kernel.unprivileged_bpf_disabled)",
  },
  {
    name: "userfaultfd",
    args: () => [1 << 28],
    pass: [EINVAL],
    capability: "CAP_SYS_PTRACE",
    how: "userfaultfd(<unknown flag>): vm.unprivileged_userfaultfd or CAP_SYS_PTRACE, then EINVAL",
  },
  {
    name: "io_uring_setup",
    args: () => [0, 0],
    pass: [EFAULT],
    how: "io_uring_setup(0, NULL): kernel.io_uring_disabled, then EFAULT",
  },
  {
    name: "add_key",
    args: () => [0, 0, 0, 0, 0],
    pass: [EFAULT],
    how: "add_key(NULL…): EFAULT; tests the filter only",
  },
  {
    name: "request_key",
    args: () => [0, 0, 0, 0],
    pass: [EFAULT],
    how: "request_key(NULL…): EFAULT; tests the filter only",
  },
  {
    name: "keyctl",
    args: () => [9999, 0, 0, 0, 0],
    pass: [EOPNOTSUPP],
    how: "keyctl(<unknown operation>): EOPNOTSUPP; tests the filter only",
  },
  {
    name: "name_to_handle_at",
    args: () => [AT_FDCWD, 0, 0, 0, -1],
    pass: [EINVAL],
    how: "name_to_handle_at with unknown flags: EINVAL; tests the filter only",
  },
  {
    name: "open_by_handle_at",
    args: () => [AT_FDCWD, { bytes: fileHandle() }, 0],
    pass: [ESTALE, EINVAL],
    capability: "CAP_DAC_READ_SEARCH",
    how: "open_by_handle_at(AT_FDCWD, <a handle of unknown type>, O_RDONLY): CAP_DAC_READ_SEARCH, then ESTALE",
  },
  {
    name: "fanotify_init",
    args: () => [0x80000000, 0],
    pass: [EINVAL],
    capability: "CAP_SYS_ADMIN",
    how: "fanotify_init(<unknown flag>): CAP_SYS_ADMIN (else only limited groups), then EINVAL",
  },
  {
    name: "lookup_dcookie",
    args: () => [0, 0, 0],
    pass: [EINVAL, EFAULT],
    capability: "CAP_SYS_ADMIN",
    how: "lookup_dcookie(0, NULL, 0): CAP_SYS_ADMIN, then no such cookie (removed in Linux 6.8)",
  },
  {
    name: "mbind",
    args: () => [0, 0, 99, 0, 0, 0],
    pass: [EINVAL],
    how: "mbind with an unknown mode: EINVAL; tests the filter only",
  },
  {
    name: "set_mempolicy",
    args: () => [99, 0, 0],
    pass: [EINVAL],
    how: "set_mempolicy(<unknown mode>): EINVAL; tests the filter only",
  },
  {
    name: "get_mempolicy",
    args: () => [0, 0, 0, 0, 0],
    pass: [0],
    how: "get_mempolicy(NULL…): reads nothing; tests the filter only",
  },
  {
    name: "migrate_pages",
    args: () => [0, 0, 0, 0],
    pass: [EINVAL],
    how: "migrate_pages(self, 0 nodes): EINVAL; tests the filter only",
  },
  {
    name: "move_pages",
    args: () => [0, 0, 0, 0, 0, 0],
    pass: [0],
    how: "move_pages(self, 0 pages): moves nothing; tests the filter only",
  },
  {
    name: "msgrcv",
    args: () => [-1, 0, 0, 0, IPC_NOWAIT],
    pass: [EINVAL],
    how: "msgrcv(-1…): no such queue, EINVAL; tests the filter only",
  },
  {
    name: "setpgid",
    args: () => [0, -1],
    pass: [EINVAL],
    how: "setpgid(0, -1): EINVAL; tests the filter only",
  },
  {
    name: "setsid",
    args: () => [],
    pass: [0],
    how: "setsid(): a new session for the probing child only",
  },
  {
    name: "sysfs",
    args: () => [0, 0, 0],
    pass: [EINVAL],
    how: "sysfs(0): an unknown option, EINVAL; tests the filter only",
  },
  {
    name: "ustat",
    args: () => [0, bad],
    pass: [EINVAL],
    how: "ustat(0, …): no such device, EINVAL; tests the filter only",
  },
  {
    name: "uselib",
    args: () => [0],
    pass: [EFAULT],
    how: "uselib(NULL): EFAULT (removed from most kernels); tests the filter only",
  },
  { name: "_sysctl", args: () => [0], pass: [EFAULT], how: "removed in Linux 5.5: ENOSYS unless a filter answers" },
  { name: "create_module", args: () => [0], pass: [], how: "removed in Linux 2.6" },
  { name: "get_kernel_syms", args: () => [0], pass: [], how: "removed in Linux 2.6" },
  { name: "query_module", args: () => [0], pass: [], how: "removed in Linux 2.6" },
  { name: "nfsservctl", args: () => [0], pass: [], how: "removed in Linux 3.1" },
  { name: "getpmsg", args: () => [0], pass: [], how: "never implemented" },
  { name: "putpmsg", args: () => [0], pass: [], how: "never implemented" },
  { name: "afs_syscall", args: () => [0], pass: [], how: "never implemented" },
  { name: "tuxcall", args: () => [0], pass: [], how: "never implemented" },
  { name: "security", args: () => [0], pass: [], how: "never implemented" },
  { name: "vserver", args: () => [0], pass: [], how: "never implemented" },
  {
    name: "vhangup",
    args: () => [],
    pass: [0],
    capability: "CAP_SYS_TTY_CONFIG",
    how:
      "vhangup() in a child that left nsh's terminal first (setsid): CAP_SYS_TTY_CONFIG, then no terminal to hang up",
    detached: true,
  },
  {
    name: "setns",
    args: () => [-1, 0],
    pass: [EBADF],
    how: "setns(-1, 0): EBADF; tests the filter only (joining the host's namespaces is probed on its own)",
  },
  {
    name: "chroot",
    args: () => [{ str: "/" }],
    pass: [0],
    capability: "CAP_SYS_CHROOT",
    how: 'chroot("/"): CAP_SYS_CHROOT; the probing child\'s root stays where it was',
  },
  {
    name: "unshare",
    args: () => [CLONE_NEWUSER],
    pass: [0],
    how:
      "unshare(CLONE_NEWUSER): a user namespace for the probing child only (made last, as it changes the child's capabilities)",
  },
];

/**
 * struct iovec for one byte at an address. A local vector of 0 bytes would
 * end process_vm_readv before its ptrace check, so the local byte is real.
 */
function iovec(base: number): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setBigInt64(0, BigInt(base), true);
  view.setBigUint64(8, 1n, true);
  return bytes;
}

/** What a probed call showed. */
export type ProbeStatus =
  /** It went through the filter and every permission check: it would act. */
  | "allowed"
  /** The seccomp filter refused it (or killed the process for it). */
  | "seccomp"
  /** It needs a capability (or, for ptrace access, a relation) that the process lacks. */
  | "capability"
  /** Refused, for a reason the probe cannot tell (no filter-less run to compare with). */
  | "denied"
  /** This kernel does not have it (ENOSYS without the filter as with it). */
  | "absent"
  /** Not probed, or the probe did not get this far. */
  | "unknown";

/** The raw outcome of one probe, as the child recorded it. */
export interface ProbeRun {
  /** The raw result (-errno on failure), or `undefined` when the call never returned. */
  readonly result: number | undefined;
  /** Whether the filter killed the child at this call. */
  readonly killed: boolean;
}

/**
 * Classifies a probe's result, comparing it with the same call made without
 * the seccomp filter (same namespaces, credentials and capabilities) when
 * there was such a run.
 *
 * @param probe The probe.
 * @param run What the call returned with the filter (or in the process itself).
 * @param baseline What it returned without the filter, when there was such a run.
 * @returns Its status.
 */
export function classifyProbe(probe: SyscallProbe, run: ProbeRun, baseline?: ProbeRun): ProbeStatus {
  if (run.killed) return "seccomp";
  if (run.result === undefined) return "unknown";
  const errno = run.result < 0 ? -run.result : 0;
  if (probe.pass.includes(errno)) return "allowed";
  if (baseline?.result !== undefined && baseline.result !== run.result) return "seccomp";
  if (errno === ENOSYS) return baseline || !probe.pass.length ? "absent" : "denied";
  if ((errno === EPERM || errno === EACCES) && probe.capability) return baseline ? "capability" : "denied";
  return "denied";
}
