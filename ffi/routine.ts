/**
 * The spawn routine: machine code that starts a child with clone(2) and runs a
 * prepared step table in it until execve(2). See routine_x86_64.S for what it
 * does and why it is written in assembly.
 *
 * @module
 */

import { libc, unwrap } from "./libc.ts";
import { ROUTINE_X86_64 } from "./routine_x86_64.ts";
import { type SyscallName, SYSCALLS } from "./sysno.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE } from "./constants.ts";

const CODE: Readonly<Record<string, Uint8Array>> = { x86_64: ROUTINE_X86_64 };

/** Offset of `nsh_spawn` in the code; `nsh_syscall` is at 0. */
const SPAWN_OFFSET = 32;

const SYSCALL7 = ["i64", "i64", "i64", "i64", "i64", "i64", "i64"] as const;

/** The loaded routine. */
export interface Routine {
  /** System call numbers of this architecture. */
  readonly sysno: Readonly<Record<SyscallName, number>>;
  /**
   * Starts a child as the header describes.
   *
   * @returns The child's pid, or -errno when clone failed.
   */
  spawn(header: Deno.PointerObject): number;
  /** A raw system call on this thread; returns -errno on failure. */
  syscall(nr: number, a0?: number, a1?: number, a2?: number, a3?: number): number;
  /** read(2) on a pool thread; resolves to the count or -errno. */
  read(fd: number, buffer: Uint8Array<ArrayBuffer>, length: number): Promise<number>;
  /** waitid(P_PID, pid, info, options) on a pool thread; resolves to 0 or -errno. */
  waitid(pid: number, info: Uint8Array<ArrayBuffer>, options: number): Promise<number>;
  /** epoll_pwait(epfd, events, max, -1, NULL) on a pool thread; resolves to the event count or -errno. */
  epollWait(epfd: number, events: Uint8Array<ArrayBuffer>, max: number): Promise<number>;
}

let loaded: Routine | undefined;

/**
 * The routine for this machine's architecture, loaded into executable memory
 * on first use.
 *
 * @returns The routine.
 * @throws {Error} On an architecture that nsh has no routine for.
 */
export function routine(): Routine {
  loaded ??= loadRoutine(Deno.build.arch);
  return loaded;
}

/**
 * Loads the routine of an architecture into executable memory.
 *
 * @param arch The architecture, as `Deno.build.arch` names it.
 * @returns The routine.
 * @throws {Error} When nsh has no routine for `arch`: a clear message, never a crash.
 */
export function loadRoutine(arch: string): Routine {
  const code = CODE[arch];
  const sysno = SYSCALLS[arch];
  if (!code || !sysno) {
    throw new Error(
      `Cannot start processes in new namespaces on ${arch}: nsh's spawn routine exists for ${
        Object.keys(CODE).join(", ")
      } only`,
    );
  }
  const { mmap, mprotect } = libc();
  const size = 4096;
  const memory = mmap(null, BigInt(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
  if (memory === null || Deno.UnsafePointer.value(memory) === 0xffffffffffffffffn) {
    unwrap(-1, "mmap", { operation: "map memory for the spawn routine" });
  }
  new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(memory!, size)).set(code);
  unwrap(mprotect(memory, BigInt(size), PROT_READ | PROT_EXEC), "mprotect", {
    operation: "make the spawn routine executable",
  });
  const base = BigInt(Deno.UnsafePointer.value(memory));
  const entry = (offset: number) => Deno.UnsafePointer.create(base + BigInt(offset)) as Deno.PointerObject<never>;
  const spawn = new Deno.UnsafeFnPointer(entry(SPAWN_OFFSET), { parameters: ["pointer"], result: "i64" } as const);
  const sync = new Deno.UnsafeFnPointer(entry(0), { parameters: SYSCALL7, result: "i64" } as const);
  const io = new Deno.UnsafeFnPointer(
    entry(0),
    {
      parameters: ["i64", "i64", "buffer", "i64", "i64", "i64", "i64"],
      result: "i64",
      nonblocking: true,
    } as const,
  );
  const wait = new Deno.UnsafeFnPointer(
    entry(0),
    {
      parameters: ["i64", "i64", "i64", "buffer", "i64", "i64", "i64"],
      result: "i64",
      nonblocking: true,
    } as const,
  );
  const P_PID = 1n;
  const n = BigInt;
  const READ = n(sysno.read), WAITID = n(sysno.waitid), EPOLL_PWAIT = n(sysno.epoll_pwait);
  return {
    sysno,
    spawn: (header) => Number(spawn.call(header)),
    syscall: (nr, a0 = 0, a1 = 0, a2 = 0, a3 = 0) => Number(sync.call(n(nr), n(a0), n(a1), n(a2), n(a3), 0n, 0n)),
    read: async (fd, buffer, length) => Number(await io.call(READ, n(fd), buffer, n(length), 0n, 0n, 0n)),
    waitid: async (pid, info, options) => Number(await wait.call(WAITID, P_PID, n(pid), info, n(options), 0n, 0n)),
    epollWait: async (epfd, events, max) => Number(await io.call(EPOLL_PWAIT, n(epfd), events, n(max), -1n, 0n, 8n)),
  };
}
