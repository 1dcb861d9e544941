/**
 * libc, loaded once through `Deno.dlopen`. Every call here runs synchronously on
 * the calling JavaScript thread, so errno is read back right after the call from
 * that thread's `__errno_location()`.
 *
 * Set `NSH_LIBC` to the path of another libc to override the search.
 *
 * @module
 */

import { SyscallError, type SyscallErrorOptions } from "./error.ts";

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
  // int kill(pid_t pid, int sig);
  kill: { parameters: ["i32", "i32"], result: "i32" },
  // int waitid(idtype_t idtype, id_t id, siginfo_t *infop, int options);
  waitid: { parameters: ["i32", "u32", "buffer", "i32"], result: "i32" },
  // int mount(const char *source, const char *target, const char *filesystemtype,
  //           unsigned long mountflags, const void *data);
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "buffer"], result: "i32" },
  // int umount2(const char *target, int flags);
  umount2: { parameters: ["buffer", "i32"], result: "i32" },
  // uid_t getuid(void);
  getuid: { parameters: [], result: "u32" },
  // uid_t geteuid(void);
  geteuid: { parameters: [], result: "u32" },
  // gid_t getgid(void);
  getgid: { parameters: [], result: "u32" },
  // gid_t getegid(void);
  getegid: { parameters: [], result: "u32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The typed symbols of libc. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

const CANDIDATES = ["libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6", "/usr/lib/libc.so.6", "/lib64/libc.so.6"];

let lib: Libc | undefined;
let errnoView: Deno.UnsafePointerView | undefined;

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
  const override = Deno.env.get("NSH_LIBC");
  const tried = override ? [override] : CANDIDATES;
  const failures: string[] = [];
  for (const path of tried) {
    try {
      lib = Deno.dlopen(path, SYMBOLS).symbols;
      errnoView = new Deno.UnsafePointerView(lib.__errno_location()!);
      return lib;
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) throw error;
      failures.push(`${path} (${(error as Error).message.split("\n")[0]})`);
    }
  }
  throw new Error(`Cannot load libc: tried ${failures.join(", ")}; set NSH_LIBC to its path`);
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

const encoder = new TextEncoder();

/**
 * A string as a NUL-terminated C string.
 *
 * @param text The string.
 * @returns Its UTF-8 bytes followed by a NUL.
 */
export function cstring(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(text.length * 3 + 1);
  const { written } = encoder.encodeInto(text, bytes);
  return bytes.subarray(0, written + 1);
}
