/**
 * Named groups of system calls, as systemd's `SystemCallFilter=` knows them
 * (`systemd-analyze syscall-filter`). The member lists are those of systemd's
 * main branch in 2025 (src/shared/seccomp-util.c); a group may name another
 * with `@`. Names that an architecture lacks (`chown32` on x86-64) are skipped
 * when a group is used there, as systemd does.
 *
 * @module
 */

import { syscallTable } from "../../ffi/syscall_table.ts";
import type { SyscallAbi } from "../../ffi/syscall_table.ts";
import { nearest } from "../nearest.ts";

/** A named group of system calls. */
export interface SyscallGroup {
  /** Its name, with the `@`. */
  readonly name: string;
  /** What it is for, as systemd describes it. */
  readonly help: string;
  /** Its members: system call names and other groups (with `@`). */
  readonly members: readonly string[];
}

const DATA: readonly (readonly [name: string, help: string, members: string])[] = [
  [
    "@default",
    "System calls that are always permitted",
    "@sandbox arch_prctl brk cacheflush clock_getres clock_getres_time64 clock_gettime clock_gettime64 " +
    "clock_nanosleep clock_nanosleep_time64 execve exit exit_group futex futex_time64 futex_waitv " +
    "get_robust_list get_thread_area getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups " +
    "getgroups32 getpgid getpgrp getpid getppid getrandom getresgid getresgid32 getresuid getresuid32 " +
    "getrlimit getsid gettid gettimeofday getuid getuid32 lsm_get_self_attr lsm_list_modules membarrier " +
    "mmap mmap2 mprotect mseal munmap nanosleep pause prlimit64 restart_syscall riscv_flush_icache " +
    "riscv_hwprobe rseq rt_sigreturn sched_getaffinity sched_yield set_robust_list set_thread_area " +
    "set_tid_address set_tls sigreturn time ugetrlimit uretprobe",
  ],
  [
    "@aio",
    "Asynchronous IO",
    "io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup io_submit io_uring_enter " +
    "io_uring_register io_uring_setup",
  ],
  [
    "@basic-io",
    "Basic IO",
    "_llseek close close_range dup dup2 dup3 llseek lseek pread64 preadv preadv2 pwrite64 pwritev pwritev2 " +
    "read readv write writev",
  ],
  ["@chown", "Change ownership of files and directories", "chown chown32 fchown fchown32 fchownat lchown lchown32"],
  [
    "@clock",
    "Change the system time",
    "adjtimex clock_adjtime clock_adjtime64 clock_settime clock_settime64 settimeofday",
  ],
  [
    "@cpu-emulation",
    "System calls for CPU emulation functionality",
    "modify_ldt subpage_prot switch_endian vm86 vm86old",
  ],
  [
    "@debug",
    "Debugging, performance monitoring and tracing functionality",
    "lookup_dcookie perf_event_open pidfd_getfd ptrace rtas s390_runtime_instr sys_debug_setcontext",
  ],
  [
    "@file-system",
    "File system operations",
    "access chdir chmod close creat faccessat faccessat2 fallocate fchdir fchmod fchmodat fchmodat2 fcntl " +
    "fcntl64 fgetxattr file_getattr file_setattr flistxattr fremovexattr fsetxattr fstat fstat64 fstatat " +
    "fstatat64 fstatfs fstatfs64 ftruncate ftruncate64 futimesat getcwd getdents getdents64 getxattr " +
    "getxattrat inotify_add_watch inotify_init inotify_init1 inotify_rm_watch lgetxattr link linkat " +
    "listmount listxattr listxattrat llistxattr lremovexattr lsetxattr lstat lstat64 mkdir mkdirat mknod " +
    "mknodat newfstat newfstatat oldfstat oldlstat oldstat open open_tree openat openat2 readlink " +
    "readlinkat removexattr removexattrat rename renameat renameat2 rmdir setxattr setxattrat stat stat64 " +
    "statfs statfs64 statmount statx symlink symlinkat truncate truncate64 unlink unlinkat utime utimensat " +
    "utimensat_time64 utimes",
  ],
  [
    "@io-event",
    "Event loop system calls",
    "_newselect epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait " +
    "epoll_wait_old eventfd eventfd2 poll ppoll ppoll_time64 pselect6 pselect6_time64 select",
  ],
  [
    "@ipc",
    "SysV IPC, POSIX Message Queues or other IPC",
    "ipc memfd_create mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend " +
    "mq_timedsend_time64 mq_unlink msgctl msgget msgrcv msgsnd pipe pipe2 process_madvise process_vm_readv " +
    "process_vm_writev semctl semget semop semtimedop semtimedop_time64 shmat shmctl shmdt shmget",
  ],
  ["@keyring", "Kernel keyring access", "add_key keyctl request_key"],
  ["@memlock", "Memory locking control", "mlock mlock2 mlockall munlock munlockall"],
  ["@module", "Loading and unloading of kernel modules", "delete_module finit_module init_module"],
  [
    "@mount",
    "Mounting and unmounting of file systems",
    "chroot fsconfig fsmount fsopen fspick mount mount_setattr move_mount open_tree_attr pivot_root umount " +
    "umount2",
  ],
  [
    "@network-io",
    "Network or Unix socket IO, should not be needed if not network facing",
    "accept accept4 bind connect getpeername getsockname getsockopt listen recv recvfrom recvmmsg " +
    "recvmmsg_time64 recvmsg send sendmmsg sendmsg sendto setsockopt shutdown socket socketcall socketpair",
  ],
  [
    "@obsolete",
    "Unusual, obsolete or unimplemented system calls",
    "_sysctl afs_syscall bdflush break create_module ftime get_kernel_syms getpmsg gtty idle lock mpx prof " +
    "profil putpmsg query_module security sgetmask ssetmask stime stty sysfs tuxcall ulimit uselib ustat " +
    "vserver",
  ],
  ["@pkey", "System calls used for memory protection keys", "pkey_alloc pkey_free pkey_mprotect"],
  [
    "@privileged",
    "All system calls which need super-user capabilities",
    "@chown @clock @module @raw-io @reboot @swap _sysctl acct bpf capset chroot fanotify_init fanotify_mark " +
    "nfsservctl open_by_handle_at pivot_root quotactl quotactl_fd setdomainname setfsuid setfsuid32 " +
    "setgroups setgroups32 sethostname setresuid setresuid32 setreuid setreuid32 setuid setuid32 vhangup",
  ],
  [
    "@process",
    "Process control, execution, namespacing operations",
    "capget clone clone3 execveat fork getrusage kill pidfd_open pidfd_send_signal prctl rt_sigqueueinfo " +
    "rt_tgsigqueueinfo setns swapcontext tgkill times tkill unshare vfork wait4 waitid waitpid",
  ],
  [
    "@raw-io",
    "Raw I/O port access",
    "ioperm iopl pciconfig_iobase pciconfig_read pciconfig_write s390_pci_mmio_read s390_pci_mmio_write",
  ],
  ["@reboot", "Reboot and reboot preparation/kexec", "kexec_file_load kexec_load reboot"],
  [
    "@resources",
    "Alter resource settings",
    "ioprio_set mbind migrate_pages move_pages nice sched_setaffinity sched_setattr sched_setparam " +
    "sched_setscheduler set_mempolicy set_mempolicy_home_node setpriority setrlimit",
  ],
  [
    "@sandbox",
    "Sandbox functionality",
    "landlock_add_rule landlock_create_ruleset landlock_restrict_self seccomp",
  ],
  [
    "@setuid",
    "Operations for changing user/group credentials",
    "setgid setgid32 setgroups setgroups32 setregid setregid32 setresgid setresgid32 setresuid setresuid32 " +
    "setreuid setreuid32 setuid setuid32",
  ],
  [
    "@signal",
    "Process signal handling",
    "rt_sigaction rt_sigpending rt_sigprocmask rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 sigaction " +
    "sigaltstack signal signalfd signalfd4 sigpending sigprocmask sigsuspend",
  ],
  ["@swap", "Enable/disable swap devices", "swapoff swapon"],
  [
    "@sync",
    "Synchronize files and memory to storage",
    "fdatasync fsync msync sync sync_file_range sync_file_range2 syncfs",
  ],
  [
    "@system-service",
    "General system service operations",
    "@aio @basic-io @chown @default @file-system @io-event @ipc @keyring @memlock @network-io @process " +
    "@resources @setuid @signal @sync @timer arm_fadvise64_64 capget capset copy_file_range fadvise64 " +
    "fadvise64_64 flock get_mempolicy getcpu getpriority ioctl ioprio_get kcmp madvise mremap " +
    "name_to_handle_at oldolduname olduname personality readahead readdir remap_file_pages " +
    "sched_get_priority_max sched_get_priority_min sched_getattr sched_getparam sched_getscheduler " +
    "sched_rr_get_interval sched_rr_get_interval_time64 sched_yield sendfile sendfile64 setfsgid setfsgid32 " +
    "setfsuid setfsuid32 setpgid setsid splice sysinfo tee umask uname userfaultfd vmsplice",
  ],
  [
    "@timer",
    "Schedule operations by time",
    "alarm getitimer setitimer timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 " +
    "timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime " +
    "timerfd_settime64 times",
  ],
];

/**
 * The groups, by name. `@known` (every call of the architecture's table) is
 * not listed here; {@linkcode expandGroup} knows it.
 *
 * @example What a group names, as systemd-analyze syscall-filter shows it
 * ```ts
 * import assert from "node:assert/strict";
 * import { SYSCALL_GROUPS } from "@nsh/nsh";
 *
 * const mount = SYSCALL_GROUPS.get("@mount")!;
 * assert.equal(mount.help, "Mounting and unmounting of file systems");
 * assert.ok(mount.members.includes("pivot_root") && mount.members.includes("umount2"));
 * ```
 */
export const SYSCALL_GROUPS: ReadonlyMap<string, SyscallGroup> = new Map(
  DATA.map(([name, help, members]) => [name, { name, help, members: members.split(" ") }]),
);

/** `@known` is every system call nsh's table has for the architecture. */
const KNOWN = "@known";

/**
 * The system calls of a group on an ABI, with the groups it names expanded.
 * Members the ABI lacks are left out.
 *
 * @param name The group, with its `@`.
 * @param abi The ABI whose calls to list.
 * @returns The call names, sorted, without duplicates.
 * @throws {TypeError} For an unknown group, naming the nearest known one.
 *
 * @example Groups on x86-64 and i386
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { expandGroup } from "./groups.ts";
 *
 * deepEqual(expandGroup("@swap", "x86_64"), ["swapoff", "swapon"]);
 * // x86-64 has umount2 only; i386 has umount too.
 * deepEqual(expandGroup("@mount", "x86_64").includes("umount"), false);
 * deepEqual(expandGroup("@mount", "i386").includes("umount"), true);
 * ```
 */
export function expandGroup(name: string, abi: SyscallAbi): string[] {
  const table = syscallTable(abi);
  if (name === KNOWN) return [...table.numbers.keys()].sort();
  const found = new Set<string>();
  const visit = (group: string, path: readonly string[]) => {
    const info = SYSCALL_GROUPS.get(group);
    if (!info) {
      const near = nearest(group, [...SYSCALL_GROUPS.keys(), KNOWN]);
      throw new TypeError(`Cannot use the system call group "${group}": no such group; did you mean "${near}"?`);
    }
    for (const member of info.members) {
      if (member.startsWith("@")) {
        if (!path.includes(member)) visit(member, [...path, member]);
      } else if (table.numbers.has(member)) found.add(member);
    }
  };
  visit(name, [name]);
  return [...found].sort();
}
