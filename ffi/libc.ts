/**
 * libc, through `Deno.dlopen`. Every call here runs synchronously on the
 * calling JavaScript thread, so errno is read back right after the call from
 * that thread's `__errno_location()`.
 *
 * Symbols are bound on first use: `Deno.dlopen` compiles a trampoline for each
 * symbol it is given (about 0.1 ms each), so only `dlopen` and `dlsym` are
 * given to it, and each symbol of the table below is looked up with dlsym(3)
 * and wrapped in a `Deno.UnsafeFnPointer` when the engine first calls it. A
 * one-shot `nsh unshare` uses six of them.
 *
 * No environment variable changes which library is loaded: nsh often runs as
 * root, and a variable a user can set must never make it load code. The
 * soname comes first: the dynamic linker answers it with the libc that Deno
 * itself runs on, already loaded.
 *
 * @module
 */

import { SyscallError, type SyscallErrorOptions } from "./error.ts";
import { encodeText } from "./bytes.ts";
import { AT_FDCWD, STATX_GID, STATX_INO, STATX_MODE, STATX_NLINK, STATX_TYPE, STATX_UID } from "./constants.ts";

const SYMBOLS = {
  // int *__errno_location(void);
  __errno_location: { parameters: [], result: "pointer" },
  // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  // int munmap(void *addr, size_t length);
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  // int mprotect(void *addr, size_t len, int prot);
  mprotect: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  // int pipe2(int pipefd[2], int flags);
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  // int close(int fd);
  close: { parameters: ["i32"], result: "i32" },
  // ssize_t read(int fd, void *buf, size_t count);
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // ssize_t write(int fd, const void *buf, size_t count);
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // int fcntl(int fd, int cmd, ... /* int arg */);
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // int open(const char *pathname, int flags, ... /* mode_t mode */);
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  // int openat(int dirfd, const char *pathname, int flags, ... /* mode_t mode */);
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  // int mkdirat(int dirfd, const char *pathname, mode_t mode);
  mkdirat: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // int fstatfs(int fd, struct statfs *buf);
  fstatfs: { parameters: ["i32", "buffer"], result: "i32" },
  // ssize_t readlinkat(int dirfd, const char *pathname, char *buf, size_t bufsiz);
  readlinkat: { parameters: ["i32", "buffer", "buffer", "usize"], result: "isize" },
  // off_t lseek(int fd, off_t offset, int whence);
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  // ssize_t tee(int fd_in, int fd_out, size_t len, unsigned int flags);
  tee: { parameters: ["i32", "i32", "usize", "u32"], result: "isize" },
  // int ftruncate(int fd, off_t length);
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  // ssize_t pread(int fd, void *buf, size_t count, off_t offset);
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  // ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset);
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  // int kill(pid_t pid, int sig);
  kill: { parameters: ["i32", "i32"], result: "i32" },
  // int waitid(idtype_t idtype, id_t id, siginfo_t *infop, int options);
  waitid: { parameters: ["i32", "u32", "buffer", "i32"], result: "i32" },
  // int mount(const char *source, const char *target, const char *filesystemtype,
  //           unsigned long mountflags, const void *data);
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "buffer"], result: "i32" },
  // int socket(int domain, int type, int protocol);
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // ssize_t send(int sockfd, const void *buf, size_t len, int flags);
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  // ssize_t recv(int sockfd, void *buf, size_t len, int flags);
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  // int memfd_create(const char *name, unsigned int flags);
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  // int unlink(const char *pathname);
  unlink: { parameters: ["buffer"], result: "i32" },
  // int unlinkat(int dirfd, const char *pathname, int flags);
  unlinkat: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  // int umount2(const char *target, int flags);
  umount2: { parameters: ["buffer", "i32"], result: "i32" },
  // int statx(int dirfd, const char *pathname, int flags, unsigned int mask,
  //           struct statx *statxbuf);
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  // int ioctl(int fd, unsigned long request, ... /* void *argp */);
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  // uid_t getuid(void);
  getuid: { parameters: [], result: "u32" },
  // uid_t geteuid(void);
  geteuid: { parameters: [], result: "u32" },
  // gid_t getgid(void);
  getgid: { parameters: [], result: "u32" },
  // gid_t getegid(void);
  getegid: { parameters: [], result: "u32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Symbols = typeof SYMBOLS;

/** The typed symbols of libc, called like C functions. */
export type Libc = { readonly [K in keyof Symbols]: Deno.UnsafeFnPointer<Symbols[K]>["call"] };

const LOADER = {
  // void *dlopen(const char *filename, int flags);
  dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
  // void *dlsym(void *handle, const char *symbol);
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

const CANDIDATES = [
  "libc.so.6",
  "/lib/x86_64-linux-gnu/libc.so.6",
  "/lib/aarch64-linux-gnu/libc.so.6",
  "/lib64/libc.so.6",
];
const RTLD_NOW = 2;

let lib: Libc | undefined;
let errnoView: Deno.UnsafePointerView | undefined;
let symbolAddress: ((name: string) => bigint) | undefined;

function cstr(text: string): Uint8Array<ArrayBuffer> {
  return encodeText(text + "\0");
}

/**
 * The libc symbols, loaded on first use.
 *
 * @returns The symbol table.
 * @throws {Error} When no libc can be loaded: names every path tried.
 */
export function libc(): Libc {
  if (lib) return lib;
  if (Deno.build.os !== "linux") {
    throw new Error(`Cannot load libc: nsh needs Linux, this is ${Deno.build.os}`);
  }
  const failures: string[] = [];
  for (const path of CANDIDATES) {
    let loader: Deno.DynamicLibrary<typeof LOADER>["symbols"];
    try {
      loader = Deno.dlopen(path, LOADER).symbols;
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) throw error;
      failures.push(`${path} (${(error as Error).message.split("\n")[0]})`);
      continue;
    }
    const handle = loader.dlopen(cstr(path), RTLD_NOW);
    symbolAddress = (name) => BigInt(Deno.UnsafePointer.value(loader.dlsym(handle, cstr(name))));
    const table: Record<string, unknown> = {};
    for (const name of Object.keys(SYMBOLS) as (keyof Symbols)[]) {
      Object.defineProperty(table, name, {
        configurable: true,
        get() {
          const address = loader.dlsym(handle, cstr(name));
          if (address === null) throw new Error(`Cannot call ${name}(): ${path} has no such symbol`);
          const fn = new Deno.UnsafeFnPointer(address as Deno.PointerObject<never>, SYMBOLS[name]);
          const call = fn.call.bind(fn);
          Object.defineProperty(table, name, { value: call });
          return call;
        },
      });
    }
    lib = table as Libc;
    errnoView = new Deno.UnsafePointerView(lib.__errno_location()!);
    return lib;
  }
  throw new Error(`Cannot load libc: tried ${failures.join(", ")}; nsh needs glibc`);
}

/**
 * The address of libc's `environ` variable (a `char **`): a child that shares
 * this process's memory can load it and pass this process's environment to
 * execve as it is at that moment, without a copy.
 *
 * @returns The address.
 */
export function environAddress(): number {
  libc();
  return Number(symbolAddress!("environ"));
}

/**
 * The errno of the last failed libc call on this thread.
 *
 * @returns The errno value.
 */
export function errno(): number {
  libc();
  return errnoView!.getInt32();
}

/**
 * Turns a libc return value into a result or a {@linkcode SyscallError}. Call it
 * right after the call, before anything else can change errno.
 *
 * @param result The value the call returned; negative means failure.
 * @param syscall The name of the call.
 * @param options What was attempted, for the error message.
 * @returns The result when it is not negative.
 * @throws {SyscallError} When the result is negative.
 */
export function unwrap(result: number | bigint, syscall: string, options?: SyscallErrorOptions): number {
  if (result < 0) throw new SyscallError(syscall, errno(), options);
  return Number(result);
}

const statxBuffer = new Uint8Array(256);

/**
 * The mode of a file (type and permission bits), following symbolic links.
 *
 * @param path The file.
 * @returns `st_mode`, or -errno when it cannot be read.
 */
export function fileMode(path: string): number {
  const c = libc();
  if (c.statx(AT_FDCWD, cstr(path), 0, STATX_TYPE | STATX_MODE, statxBuffer) < 0) return -errno();
  return statxBuffer[28]! | (statxBuffer[29]! << 8);
}

/**
 * Whether a path names a file that this process can stat (following symbolic
 * links): for `/proc/PID`, whether there is such a process.
 *
 * @param path The file.
 * @returns `true` when statx(2) succeeds.
 */
export function exists(path: string): boolean {
  return fileMode(path) >= 0;
}

/** What statx(2) tells of a file, as nsh uses it. */
export interface FileStat {
  /** `st_mode`: type and permission bits. */
  readonly mode: number;
  /** The owner. */
  readonly uid: number;
  /** The group. */
  readonly gid: number;
  /** The number of hard links. */
  readonly nlink: number;
  /** The inode number (exact below 2^53). */
  readonly ino: number;
  /** The device, as `major:minor`. */
  readonly dev: string;
}

/**
 * statx(2) of a file relative to a directory descriptor (or of the descriptor
 * itself, with an empty path and {@linkcode AT_EMPTY_PATH}).
 *
 * @param dirfd A directory descriptor, or -100 (`AT_FDCWD`).
 * @param path The path, or `""`.
 * @param flags `AT_*` flags.
 * @returns What it tells, or -errno.
 */
export function statAt(dirfd: number, path: string, flags: number): FileStat | number {
  const c = libc();
  const mask = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID | STATX_INO;
  if (c.statx(dirfd, cstr(path), flags, mask, statxBuffer) < 0) return -errno();
  const view = new DataView(statxBuffer.buffer);
  return {
    mode: view.getUint16(28, true),
    uid: view.getUint32(20, true),
    gid: view.getUint32(24, true),
    nlink: view.getUint32(16, true),
    ino: view.getUint32(32, true) + view.getUint32(36, true) * 2 ** 32,
    dev: `${view.getUint32(136, true)}:${view.getUint32(140, true)}`,
  };
}

/**
 * A string as a NUL-terminated C string.
 *
 * @param text The string.
 * @returns Its UTF-8 bytes followed by a NUL.
 */
export function cstring(text: string): Uint8Array<ArrayBuffer> {
  return cstr(text);
}
