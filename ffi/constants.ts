/**
 * Kernel constants, in one place: errno numbers, open(2), `AT_*`, mount(2)
 * and clone(2) flags, and the other values the engine and the commands pass
 * to system calls. The values are the asm-generic ones, which x86-64 and
 * aarch64 share; names are spelled as in C.
 *
 * @module
 */

// errno (asm-generic/errno-base.h, errno.h); names and texts in errno.ts.
/** Operation not permitted. */
export const EPERM = 1;
/** No such file or directory. */
export const ENOENT = 2;
/** No such process. */
export const ESRCH = 3;
/** Interrupted system call. */
export const EINTR = 4;
/** Input/output error. */
export const EIO = 5;
/** Argument list too long. */
export const E2BIG = 7;
/** Exec format error. */
export const ENOEXEC = 8;
/** Bad file descriptor. */
export const EBADF = 9;
/** No child processes. */
export const ECHILD = 10;
/** Resource temporarily unavailable. */
export const EAGAIN = 11;
/** Cannot allocate memory. */
export const ENOMEM = 12;
/** Permission denied. */
export const EACCES = 13;
/** Bad address. */
export const EFAULT = 14;
/** Device or resource busy. */
export const EBUSY = 16;
/** File exists. */
export const EEXIST = 17;
/** Invalid cross-device link. */
export const EXDEV = 18;
/** No such device (a cgroup that was removed). */
export const ENODEV = 19;
/** Not a directory. */
export const ENOTDIR = 20;
/** Is a directory. */
export const EISDIR = 21;
/** Invalid argument. */
export const EINVAL = 22;
/** Too many open files. */
export const EMFILE = 24;
/** Inappropriate ioctl for device. */
export const ENOTTY = 25;
/** No space left on device. */
export const ENOSPC = 28;
/** Read-only file system. */
export const EROFS = 30;
/** Broken pipe. */
export const EPIPE = 32;
/** Numerical result out of range. */
export const ERANGE = 34;
/** Function not implemented. */
export const ENOSYS = 38;
/** Too many levels of symbolic links. */
export const ELOOP = 40;
/** No message of desired type. */
export const ENOMSG = 42;
/** Value too large for defined data type (an id a user namespace does not map). */
export const EOVERFLOW = 75;
/** File descriptor in bad state. */
export const EBADFD = 77;
/** Too many users. */
export const EUSERS = 87;
/** Socket operation on non-socket. */
export const ENOTSOCK = 88;
/** Operation not supported. */
export const EOPNOTSUPP = 95;
/** Address family not supported by protocol. */
export const EAFNOSUPPORT = 97;
/** Operation canceled. */
export const ECANCELED = 125;

// open(2)
/** Read only. */
export const O_RDONLY = 0;
/** Write only. */
export const O_WRONLY = 1;
/** Read and write. */
export const O_RDWR = 2;
/** Create the file when missing. */
export const O_CREAT = 0o100;
/** With O_CREAT: fail when the file exists. */
export const O_EXCL = 0o200;
/** Do not make a terminal the controlling one. */
export const O_NOCTTY = 0o400;
/** Truncate. */
export const O_TRUNC = 0o1000;
/** Append. */
export const O_APPEND = 0o2000;
/** Nonblocking I/O. */
export const O_NONBLOCK = 0o4000;
/** Fail unless a directory. */
export const O_DIRECTORY = 0o200000;
/** Do not follow a symbolic link in the last component. */
export const O_NOFOLLOW = 0o400000;
/** Close on execve. */
export const O_CLOEXEC = 0o2000000;
/** A descriptor that only names a file (no I/O). */
export const O_PATH = 0o10000000;

// *at(2)
/** The current directory, as a directory descriptor. */
export const AT_FDCWD = -100;
/** Act on a symbolic link itself. */
export const AT_SYMLINK_NOFOLLOW = 0x100;
/** unlinkat(2): remove a directory. */
export const AT_REMOVEDIR = 0x200;
/** Act on the descriptor itself when the path is empty. */
export const AT_EMPTY_PATH = 0x1000;

// fcntl(2)
/** Duplicate to the lowest free descriptor at or above the argument, close-on-exec. */
export const F_DUPFD_CLOEXEC = 1030;
/** Read the descriptor flags. */
export const F_GETFD = 1;
/** Set the descriptor flags. */
export const F_SETFD = 2;
/** Read the status flags. */
export const F_GETFL = 3;
/** Set the status flags. */
export const F_SETFL = 4;
/** The close-on-exec descriptor flag. */
export const FD_CLOEXEC = 1;
/** Place a lock owned by the open file description, without waiting (Linux 3.15). */
export const F_OFD_SETLK = 37;
/** `struct flock` on x86-64 and aarch64: type, whence, start, length, pid. */
export const FLOCK_SIZE = 32;
/** A shared (read) lock, in `struct flock`'s `l_type`. */
export const F_RDLCK = 0;

// socket(2) and netdevice(7)
/** A datagram socket. */
export const SOCK_DGRAM = 2;
/** ioctl(2) on a socket: set an interface's flags. */
export const SIOCSIFFLAGS = 0x8914;
/** `struct ifreq`: a 16-byte name and a 24-byte union. */
export const IFREQ_SIZE = 40;
/** The interface is up. */
export const IFF_UP = 0x1;
/** The interface is a loopback. */
export const IFF_LOOPBACK = 0x8;
/** The interface's resources are allocated. */
export const IFF_RUNNING = 0x40;

// close_range(2)
/** Mark the range close-on-exec instead of closing it (Linux 5.11). */
export const CLOSE_RANGE_CLOEXEC = 4;

// stat(2) modes
/** The file type bits. */
export const S_IFMT = 0o170000;
/** A directory. */
export const S_IFDIR = 0o040000;
/** A regular file. */
export const S_IFREG = 0o100000;
/** A symbolic link. */
export const S_IFLNK = 0o120000;
/** The sticky bit. */
export const S_ISVTX = 0o1000;

// mount(2), umount2(2) and the new mount API
/** `MS_*` flags of mount(2). */
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  REMOUNT: 32,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOSYMFOLLOW: 256,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  MOVE: 8192,
  REC: 16384,
  SILENT: 32768,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
} as const;
/** umount2(2): detach now, clean up once unused. */
export const MNT_DETACH = 2;
/** umount2(2): do not follow a symbolic link in the last component. */
export const UMOUNT_NOFOLLOW = 8;
/** open_tree(2): a detached copy of the mount (a bind mount to be). */
export const OPEN_TREE_CLONE = 1;
/** move_mount(2): the source is the descriptor itself. */
export const MOVE_MOUNT_F_EMPTY_PATH = 4;
/** move_mount(2): follow a symbolic link at the destination, as mount(2) does. */
export const MOVE_MOUNT_T_SYMLINKS = 0x10;
/** open_tree(2), mount_setattr(2): the whole tree below. */
export const AT_RECURSIVE = 0x8000;

// Capabilities (linux/capability.h) and prctl(2)
/** The capabilities by number, as linux/capability.h names them. */
export const CAPABILITY_NAMES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];
/** capset(2) and capget(2): version 3, two 32-bit words per set. */
export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;
/** prctl(2): the signal the process gets when its parent dies. */
export const PR_SET_PDEATHSIG = 1;
/** prctl(2): read the calling thread's parent-death signal. */
export const PR_GET_PDEATHSIG = 2;
/** prctl(2): keep the permitted capabilities when the uid stops being 0. */
export const PR_SET_KEEPCAPS = 8;
/** prctl(2): drop a capability from the bounding set. */
export const PR_CAPBSET_DROP = 24;
/** prctl(2): no execve may grant privileges again (setuid bits, file capabilities). */
export const PR_SET_NO_NEW_PRIVS = 38;
/** prctl(2): the ambient capability set. */
export const PR_CAP_AMBIENT = 47;
/** PR_CAP_AMBIENT: raise one. */
export const PR_CAP_AMBIENT_RAISE = 2;
/** PR_CAP_AMBIENT: clear them all. */
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;

/** `MOUNT_ATTR_*` of mount_setattr(2): flags of a mount. */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
} as const;
/** The size of `struct mount_attr` in its first version. */
export const MOUNT_ATTR_SIZE_VER0 = 32;

// prctl(2) for seccomp (PR_SET_NO_NEW_PRIVS is with the capabilities above)
/** Read the seccomp mode of the calling thread. */
export const PR_GET_SECCOMP = 21;
/** Set the seccomp mode (strict, or a filter). */
export const PR_SET_SECCOMP = 22;
/** Read no_new_privs. */
export const PR_GET_NO_NEW_PRIVS = 39;

// seccomp(2) (linux/seccomp.h)
/** seccomp(2) operation: only read, write, _exit and sigreturn. */
export const SECCOMP_SET_MODE_STRICT = 0;
/** seccomp(2) operation: install a classic BPF filter. */
export const SECCOMP_SET_MODE_FILTER = 1;
/** seccomp(2) operation: ask whether the kernel knows an action. */
export const SECCOMP_GET_ACTION_AVAIL = 2;
/** The seccomp mode in /proc/PID/status and PR_GET_SECCOMP: filtered. */
export const SECCOMP_MODE_FILTER = 2;
/** Filter flag: install on every thread of the process. */
export const SECCOMP_FILTER_FLAG_TSYNC = 1;
/** Filter flag: log every action but ALLOW (Linux 4.14). */
export const SECCOMP_FILTER_FLAG_LOG = 2;
/** Filter flag: keep the speculative store bypass mitigation off (Linux 4.17). */
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 4;
/** Filter flag: return a user-notification descriptor (Linux 5.0). */
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;
/** Kill the whole process, as if by an uncatchable SIGSYS (Linux 4.14). */
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
/** Kill the calling thread with SIGSYS. */
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
/** Send a catchable SIGSYS. */
export const SECCOMP_RET_TRAP = 0x00030000;
/** Fail with the errno in the low 16 bits. */
export const SECCOMP_RET_ERRNO = 0x00050000;
/** Let a user-space supervisor decide (Linux 5.0). */
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
/** Let a ptrace tracer decide; the low 16 bits are its message. */
export const SECCOMP_RET_TRACE = 0x7ff00000;
/** Allow, and log (Linux 4.14). */
export const SECCOMP_RET_LOG = 0x7ffc0000;
/** Allow. */
export const SECCOMP_RET_ALLOW = 0x7fff0000;
/** The action bits of a filter's result. */
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
/** The data bits of a filter's result (the errno, the tracer's message). */
export const SECCOMP_RET_DATA = 0x0000ffff;
/** x32 system calls are x86-64 ones with this bit set in their number. */
export const X32_SYSCALL_BIT = 0x40000000;

// linux/audit.h: the `arch` field of struct seccomp_data
/** x86-64 (and x32, told apart by X32_SYSCALL_BIT). */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
/** i386, as `int $0x80` from a 64-bit process also reports. */
export const AUDIT_ARCH_I386 = 0x40000003;
/** 64-bit ARM. */
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;
/** 32-bit ARM (a compat task on aarch64). */
export const AUDIT_ARCH_ARM = 0x40000028;

// linux/filter.h, linux/bpf_common.h: classic BPF
/** Instruction class: load into A. */
export const BPF_LD = 0x00;
/** Instruction class: load into X. */
export const BPF_LDX = 0x01;
/** Instruction class: store A to scratch memory. */
export const BPF_ST = 0x02;
/** Instruction class: store X to scratch memory. */
export const BPF_STX = 0x03;
/** Instruction class: arithmetic on A. */
export const BPF_ALU = 0x04;
/** Instruction class: jumps. */
export const BPF_JMP = 0x05;
/** Instruction class: return. */
export const BPF_RET = 0x06;
/** Instruction class: register transfers. */
export const BPF_MISC = 0x07;
/** Load size: 32-bit word. */
export const BPF_W = 0x00;
/** Load size: 16-bit half word. */
export const BPF_H = 0x08;
/** Load size: byte. */
export const BPF_B = 0x10;
/** Load mode: immediate. */
export const BPF_IMM = 0x00;
/** Load mode: absolute offset in the data. */
export const BPF_ABS = 0x20;
/** Load mode: offset X + k. */
export const BPF_IND = 0x40;
/** Load mode: scratch memory. */
export const BPF_MEM = 0x60;
/** Load mode: length of the data. */
export const BPF_LEN = 0x80;
/** Load mode: IP header length (socket filters only). */
export const BPF_MSH = 0xa0;
/** ALU operation: add. */
export const BPF_ADD = 0x00;
/** ALU operation: subtract. */
export const BPF_SUB = 0x10;
/** ALU operation: multiply. */
export const BPF_MUL = 0x20;
/** ALU operation: divide. */
export const BPF_DIV = 0x30;
/** ALU operation: or. */
export const BPF_OR = 0x40;
/** ALU operation: and. */
export const BPF_AND = 0x50;
/** ALU operation: shift left. */
export const BPF_LSH = 0x60;
/** ALU operation: shift right. */
export const BPF_RSH = 0x70;
/** ALU operation: negate. */
export const BPF_NEG = 0x80;
/** ALU operation: modulo (not allowed in seccomp filters). */
export const BPF_MOD = 0x90;
/** ALU operation: exclusive or. */
export const BPF_XOR = 0xa0;
/** Jump: always, by k. */
export const BPF_JA = 0x00;
/** Jump: if A == operand. */
export const BPF_JEQ = 0x10;
/** Jump: if A > operand (unsigned). */
export const BPF_JGT = 0x20;
/** Jump: if A >= operand (unsigned). */
export const BPF_JGE = 0x30;
/** Jump: if A & operand. */
export const BPF_JSET = 0x40;
/** Operand: the constant k. */
export const BPF_K = 0x00;
/** Operand: register X. */
export const BPF_X = 0x08;
/** Return operand: register A. */
export const BPF_A = 0x10;
/** Misc: copy A to X. */
export const BPF_TAX = 0x00;
/** Misc: copy X to A. */
export const BPF_TXA = 0x80;
/** The most instructions one filter may have. */
export const BPF_MAXINSNS = 4096;
/** Words of scratch memory. */
export const BPF_MEMWORDS = 16;
// Landlock (linux/landlock.h). Debian 12's header stops at ABI 2: the later
// values are those of the kernel's include/uapi/linux/landlock.h.
/** landlock_create_ruleset(NULL, 0, flag) returns the highest ABI version. */
export const LANDLOCK_CREATE_RULESET_VERSION = 1 << 0;
/** landlock_create_ruleset(NULL, 0, flag) returns the bitmask of fixed errata (Linux 6.15, backported). */
export const LANDLOCK_CREATE_RULESET_ERRATA = 1 << 1;
/** Rule type: `struct landlock_path_beneath_attr`. */
export const LANDLOCK_RULE_PATH_BENEATH = 1;
/** Rule type: `struct landlock_net_port_attr` (ABI 4). */
export const LANDLOCK_RULE_NET_PORT = 2;
/** Execute a file. */
export const LANDLOCK_ACCESS_FS_EXECUTE = 1 << 0;
/** Open a file with write access. */
export const LANDLOCK_ACCESS_FS_WRITE_FILE = 1 << 1;
/** Open a file with read access. */
export const LANDLOCK_ACCESS_FS_READ_FILE = 1 << 2;
/** Open a directory or list its content. */
export const LANDLOCK_ACCESS_FS_READ_DIR = 1 << 3;
/** Remove an empty directory or rename one. */
export const LANDLOCK_ACCESS_FS_REMOVE_DIR = 1 << 4;
/** Unlink (or rename) a file. */
export const LANDLOCK_ACCESS_FS_REMOVE_FILE = 1 << 5;
/** Create (or rename or link) a character device. */
export const LANDLOCK_ACCESS_FS_MAKE_CHAR = 1 << 6;
/** Create (or rename) a directory. */
export const LANDLOCK_ACCESS_FS_MAKE_DIR = 1 << 7;
/** Create (or rename or link) a regular file. */
export const LANDLOCK_ACCESS_FS_MAKE_REG = 1 << 8;
/** Create (or rename or link) a UNIX domain socket. */
export const LANDLOCK_ACCESS_FS_MAKE_SOCK = 1 << 9;
/** Create (or rename or link) a named pipe. */
export const LANDLOCK_ACCESS_FS_MAKE_FIFO = 1 << 10;
/** Create (or rename or link) a block device. */
export const LANDLOCK_ACCESS_FS_MAKE_BLOCK = 1 << 11;
/** Create (or rename or link) a symbolic link. */
export const LANDLOCK_ACCESS_FS_MAKE_SYM = 1 << 12;
/** Link or rename a file from or to a different directory (ABI 2). */
export const LANDLOCK_ACCESS_FS_REFER = 1 << 13;
/** Truncate a file (ABI 3). */
export const LANDLOCK_ACCESS_FS_TRUNCATE = 1 << 14;
/** Use ioctl(2) on a character or block device (ABI 5). */
export const LANDLOCK_ACCESS_FS_IOCTL_DEV = 1 << 15;
/** Bind a TCP socket to a local port (ABI 4). */
export const LANDLOCK_ACCESS_NET_BIND_TCP = 1 << 0;
/** Connect a TCP socket to a remote port (ABI 4). */
export const LANDLOCK_ACCESS_NET_CONNECT_TCP = 1 << 1;
/** Deny connecting to abstract UNIX sockets made outside the domain (ABI 6). */
export const LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0;
/** Deny sending signals to processes outside the domain (ABI 6). */
export const LANDLOCK_SCOPE_SIGNAL = 1 << 1;
/** landlock_restrict_self(): no audit log of denials before the next execve (ABI 7). */
export const LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF = 1 << 0;
/** landlock_restrict_self(): audit denials after execve too (ABI 7). */
export const LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON = 1 << 1;
/** landlock_restrict_self(): no audit log for domains nested in this one (ABI 7). */
export const LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF = 1 << 2;
// stat(2) modes, more; statx(2)
/** A socket. */
export const S_IFSOCK = 0o140000;
/** statx(2) mask: the file type. */
export const STATX_TYPE = 0x1;
/** statx(2) mask: the mode. */
export const STATX_MODE = 0x2;
/** statx(2) mask: the inode number. */
export const STATX_INO = 0x100;
/** statx(2) mask: the mount id (Linux 5.8). */
export const STATX_MNT_ID = 0x1000;
/** statx(2) attribute: the file is the root of a mount (Linux 5.8). */
export const STATX_ATTR_MOUNT_ROOT = 0x2000;

// openat2(2)
/** Resolve as if the directory were the root: absolute links and ".." stay inside it. */
export const RESOLVE_IN_ROOT = 0x10;

// flock(2)
/** An exclusive lock. */
export const LOCK_EX = 2;
/** Unlock. */
export const LOCK_UN = 8;

// statfs(2) f_type
/** The namespace file system, whose files are namespaces (`/proc/PID/ns/*`, and what is bound from them). */
export const NSFS_MAGIC = 0x6e736673;
/** A cgroup v1 hierarchy. */
export const CGROUP_SUPER_MAGIC = 0x27e0eb;
/** The cgroup v2 hierarchy. */
export const CGROUP2_SUPER_MAGIC = 0x63677270;

// ioctl_ns(2): _IO(0xb7, n)
/** The owning user namespace, as a new descriptor. */
export const NS_GET_USERNS = 0xb701;
/** The parent namespace (PID and user), as a new descriptor. */
export const NS_GET_PARENT = 0xb702;
/** The kind of namespace, as its CLONE_NEW* flag. */
export const NS_GET_NSTYPE = 0xb703;
/** The uid that created a user namespace. */
export const NS_GET_OWNER_UID = 0xb704;
/** sockios.h: the network namespace of a socket, as a new descriptor (Linux 4.9). */
export const SIOCGSKNS = 0x894c;

// clone(2), signals
/** Share the descriptor table with the parent. */
export const CLONE_FILES = 0x400;
/** Interrupt from the terminal (Ctrl-C). */
export const SIGINT = 2;
/** The signal that cannot be caught, blocked or ignored. */
export const SIGKILL = 9;
/** SIGCHLD, the exit signal of a child. */
export const SIGCHLD = 17;
/** SIGCONT: a stopped process goes on. */
export const SIGCONT = 18;
/** SIGSTOP: stops a process; like SIGKILL, it cannot be caught or ignored. */
export const SIGSTOP = 19;
/** SIGTSTP: the terminal's Ctrl-Z. */
export const SIGTSTP = 20;

// waitid(2)
/** `si_code` of a child stopped by a signal. */
export const CLD_STOPPED = 5;

// Terminals (asm-generic/ioctls.h)
/** The number of bytes waiting to be read. */
export const FIONREAD = 0x541b;
/** Reads the terminal's modes (a kernel `struct termios`). */
export const TCGETS = 0x5401;
/** Sets them at once, keeping what waits to be read. */
export const TCSETS = 0x5402;
/** `c_iflag`: a carriage return reads as a newline. */
export const ICRNL = 0o400;
/** `c_lflag`: signals from Ctrl-C, Ctrl-\, Ctrl-Z. */
export const ISIG = 0o1;
/** `c_lflag`: lines, edited by the terminal. */
export const ICANON = 0o2;
/** `c_lflag`: echo of what is typed. */
export const ECHO = 0o10;
/** `c_lflag`: the implementation's extensions (Ctrl-V). */
export const IEXTEN = 0o100000;
/** `c_cc` index: the time a read waits, in tenths of a second. */
export const VTIME = 5;
/** `c_cc` index: the bytes a read waits for. */
export const VMIN = 6;

// Sockets and rtnetlink (linux/netlink.h, linux/rtnetlink.h, linux/net_namespace.h)
/** IPv4. */
export const AF_INET = 2;
/** Netlink. */
export const AF_NETLINK = 16;
/** A stream socket. */
export const SOCK_STREAM = 1;
/** A raw socket. */
export const SOCK_RAW = 3;
/** Close on execve, for socket(2). */
export const SOCK_CLOEXEC = 0o2000000;
/** The routing family of netlink. */
export const NETLINK_ROUTE = 0;
/** `NLMSG_*` message types of netlink. */
export const NLMSG = { ERROR: 2, DONE: 3 } as const;
/** `NLM_F_*` flags of netlink. */
export const NLM_F = { REQUEST: 1, MULTI: 2, ACK: 4, DUMP: 0x300 } as const;
/** rtnetlink's messages about the ids of network namespaces. */
export const RTM = { NEWNSID: 88, DELNSID: 89, GETNSID: 90 } as const;
/** `NETNSA_*` attributes of those messages. */
export const NETNSA = { NSID: 1, PID: 2, FD: 3, TARGET_NSID: 4, CURRENT_NSID: 5 } as const;

// waitid(2)
/** idtype of waitid(2): one process. */
export const P_PID = 1;
/** Wait for children that ended. */
export const WEXITED = 4;
/** Do not wait: report only what is there. */
export const WNOHANG = 1;
/** Leave the child waitable. */
export const WNOWAIT = 0x01000000;
/** si_code of a child that exited (not killed). */
export const CLD_EXITED = 1;

// ioctl(2) on namespace files and sockets

// statx(2)
/** statx mask: the size. */
export const STATX_SIZE = 0x200;

// clone(2): how the child shares, and the CLONE_NEW* flags (lib/namespaces.ts names them)
/** Share the address space. */
export const CLONE_VM = 0x100;
/** The parent sleeps until the child's execve or exit. */
export const CLONE_VFORK = 0x4000;
/** The child's parent is the caller's parent. */
export const CLONE_PARENT = 0x8000;
/** A new time namespace (unshare(2) only: in clone's flags it is part of the exit signal). */
export const CLONE_NEWTIME = 0x80;
/** A new mount namespace. */
export const CLONE_NEWNS = 0x00020000;
/** A new cgroup namespace. */
export const CLONE_NEWCGROUP = 0x02000000;
/** clone3(2) only (Linux 5.7): the child starts in the cgroup v2 directory of a descriptor. */
export const CLONE_INTO_CGROUP = 2 ** 33;
/** A new UTS namespace. */
export const CLONE_NEWUTS = 0x04000000;
/** A new IPC namespace. */
export const CLONE_NEWIPC = 0x08000000;
/** A new user namespace. */
export const CLONE_NEWUSER = 0x10000000;
/** A new PID namespace. */
export const CLONE_NEWPID = 0x20000000;
/** A new network namespace. */
export const CLONE_NEWNET = 0x40000000;

// Signals and their masks
/** A write to a pipe without readers. */
export const SIGPIPE = 13;
/** rt_sigprocmask(2): replace the mask. */
export const SIG_SETMASK = 2;
/** rt_sigprocmask(2): add to the mask. */
export const SIG_BLOCK = 0;
/** A background process wrote to its terminal. */
export const SIGTTOU = 22;
/** A bad system call (seccomp's kill and trap actions). */
export const SIGSYS = 31;
/** A bad memory access, or int $0x80 on a kernel without the i386 entry. */
export const SIGSEGV = 11;

// epoll(7)
/** epoll_ctl(2): register. */
export const EPOLL_CTL_ADD = 1;
/** epoll_ctl(2): unregister. */
export const EPOLL_CTL_DEL = 2;
/** epoll_ctl(2): change. */
export const EPOLL_CTL_MOD = 3;
/** Readable (a pipe with data, a pidfd of a child that ended). */
export const EPOLLIN = 1;
/** Writable. */
export const EPOLLOUT = 4;
/** Report once, then wait for a new registration. */
export const EPOLLONESHOT = 1 << 30;

// mmap(2)
/** Readable memory. */
export const PROT_READ = 1;
/** Writable memory. */
export const PROT_WRITE = 2;
/** Executable memory. */
export const PROT_EXEC = 4;
/** A private mapping. */
export const MAP_PRIVATE = 0x02;
/** Memory not backed by a file. */
export const MAP_ANONYMOUS = 0x20;

// memfd_create(2) and file seals
/** Close on execve. */
export const MFD_CLOEXEC = 1;
/** Seals may be added. */
export const MFD_ALLOW_SEALING = 2;
/** Executable (Linux 6.3, where vm.memfd_noexec may ask for it). */
export const MFD_EXEC = 0x10;
/** fcntl(2): add seals. */
export const F_ADD_SEALS = 1033;
/** No more seals. */
export const F_SEAL_SEAL = 1;
/** No shrinking. */
export const F_SEAL_SHRINK = 2;
/** No growing. */
export const F_SEAL_GROW = 4;
/** No writing. */
export const F_SEAL_WRITE = 8;

// More file types and statx(2) fields
/** A FIFO (a pipe). */
export const S_IFIFO = 0o010000;
/** statx mask: the number of links. */
export const STATX_NLINK = 4;
/** statx mask: the owner. */
export const STATX_UID = 8;
/** statx mask: the group. */
export const STATX_GID = 16;

// Terminals (ioctl_tty(2))
/** Push a byte into the terminal's input. */
export const TIOCSTI = 0x5412;
/** The console's special requests. */
export const TIOCLINUX = 0x541c;
/** The terminal's foreground process group. */
export const TIOCGPGRP = 0x540f;
/** Set the terminal's foreground process group. */
export const TIOCSPGRP = 0x5410;
// What `audit()` (lib/audit.ts) passes to the calls it probes and reads with.
/** No such device or address. */
export const ENXIO = 6;
/** Connection refused. */
export const ECONNREFUSED = 111;
/** Stale file handle. */
export const ESTALE = 116;
/** prctl(2): whether the process may dump core and be ptrace'd by its owner. */
export const PR_SET_DUMPABLE = 4;
/** prlimit64(2): the largest core file. */
export const RLIMIT_CORE = 4;
/** prlimit64(2): the resources, by their names in <sys/resource.h> (without RLIMIT_), lower case. */
export const RLIMIT = {
  cpu: 0,
  fsize: 1,
  data: 2,
  stack: 3,
  core: RLIMIT_CORE,
  rss: 5,
  nproc: 6,
  nofile: 7,
  memlock: 8,
  as: 9,
  locks: 10,
  sigpending: 11,
  msgqueue: 12,
  nice: 13,
  rtprio: 14,
  rttime: 15,
} as const;
/** prlimit64(2): no limit (RLIM_INFINITY, all 64 bits set). */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;
/** ptrace(2): read a word of the tracee's memory. */
export const PTRACE_PEEKDATA = 2;
/** ptrace(2): end tracing. */
export const PTRACE_DETACH = 17;
/** ptrace(2): trace without stopping the tracee (Linux 3.4). */
export const PTRACE_SEIZE = 0x4206;
/** ptrace(2): stop a seized tracee. */
export const PTRACE_INTERRUPT = 0x4207;
/** ptrace(2): a classic BPF seccomp filter of the tracee, 0 the newest (Linux 4.4). */
export const PTRACE_SECCOMP_GET_FILTER = 0x420c;
/** ptrace(2): the flags a seccomp filter of the tracee was loaded with (Linux 4.16). */
export const PTRACE_SECCOMP_GET_METADATA = 0x420d;
/** waitid(2): report stopped children, ptrace stops included. */
export const WSTOPPED = 2;
/** waitid(2): children of any kind, clone children and tracees included. */
export const __WALL = 0x40000000;
/** faccessat(2): test for write permission. */
export const W_OK = 2;
/** faccessat2(2): check with the effective ids, as open(2) does. */
export const AT_EACCESS = 0x200;
/** socket(2): local (UNIX domain) sockets. */
export const AF_UNIX = 1;
/** socket(2): the socket is nonblocking (a full backlog fails instead of waiting). */
export const SOCK_NONBLOCK = 0o4000;
/** umount2(2): mark an unused mount expired (two calls unmount it). */
export const MNT_EXPIRE = 4;
/** clock_gettime(2) and friends: the settable system-wide clock. */
export const CLOCK_REALTIME = 0;
/** adjtimex(2): set the tick length. */
export const ADJ_TICK = 0x4000;
/** msgrcv(2): return at once when no message waits. */
export const IPC_NOWAIT = 0o4000;
