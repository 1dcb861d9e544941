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
/** Device or resource busy. */
export const EBUSY = 16;
/** File exists. */
export const EEXIST = 17;
/** Invalid cross-device link. */
export const EXDEV = 18;
/** Not a directory. */
export const ENOTDIR = 20;
/** Is a directory. */
export const EISDIR = 21;
/** Invalid argument. */
export const EINVAL = 22;
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
/** Too many users. */
export const EUSERS = 87;
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
/** SIGCHLD, the exit signal of a child. */
export const SIGCHLD = 17;

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
/** Operation not supported (errno). */
export const EOPNOTSUPP = 95;
