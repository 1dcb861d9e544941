/**
 * nsh's own tiny programs, each an ELF executable written in assembly: the
 * holder (holder_x86_64.S), which keeps a shell context's namespaces alive
 * and reaps orphans as PID 1, and the init (init_x86_64.S), which runs as
 * the parent of a sandbox's program (bubblewrap's PID 1), reaps, and reports
 * the program's status. Each lives in a sealed memfd, so that a child can
 * execute it with execveat(2) whatever its root directory and mounts are.
 *
 * @module
 */

import { cstring, errno, libc } from "./libc.ts";
import { SyscallError } from "./error.ts";
import { HOLDER_X86_64 } from "./holder_x86_64.ts";
import {
  EINVAL,
  F_ADD_SEALS,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MFD_EXEC,
} from "./constants.ts";
import { INIT_X86_64 } from "./init_x86_64.ts";

/** Each program's machine code by architecture, what it is for, and its short name. */
const PROGRAMS: Readonly<
  Record<"nsh-holder" | "nsh-init", { code: Readonly<Record<string, Uint8Array>>; what: string; noun: string }>
> = {
  "nsh-holder": { code: { x86_64: HOLDER_X86_64 }, what: "hold namespaces open", noun: "holder" },
  "nsh-init": { code: { x86_64: INIT_X86_64 }, what: "run a program under an init of nsh's", noun: "init" },
};

const fds = new Map<keyof typeof PROGRAMS, number>();

/** A sealed memfd holding one of nsh's programs, made on first use and kept open. */
function programFd(name: keyof typeof PROGRAMS): number {
  const made = fds.get(name);
  if (made !== undefined) return made;
  const { code: codes, what, noun } = PROGRAMS[name];
  const code = codes[Deno.build.arch];
  if (!code) throw new Error(`Cannot ${what} on ${Deno.build.arch}: nsh's ${noun} exists for x86_64 only`);
  const c = libc();
  const cname = cstring(name);
  // Since Linux 6.3 a memfd may need MFD_EXEC to be executable (vm.memfd_noexec);
  // older kernels refuse the flag.
  let memfd = c.memfd_create(cname, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (memfd < 0 && errno() === EINVAL) memfd = c.memfd_create(cname, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (memfd < 0) throw new SyscallError("memfd_create", errno(), { operation: `make the ${name} program` });
  const bytes = new Uint8Array(code);
  if (Number(c.write(memfd, bytes, BigInt(bytes.length))) !== bytes.length) {
    const e = errno();
    c.close(memfd);
    throw new SyscallError("write", e, { operation: `write the ${name} program` });
  }
  c.fcntl(memfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
  fds.set(name, memfd);
  return memfd;
}

/**
 * A descriptor of the holder program, made on first use and kept open.
 *
 * @returns The memfd (close-on-exec; execveat(fd, "", …, AT_EMPTY_PATH) runs it).
 * @throws {Error} On an architecture without a holder.
 * @throws {SyscallError} When the memfd cannot be made.
 */
export function holderFd(): number {
  return programFd("nsh-holder");
}

/**
 * A descriptor of the init program, made on first use and kept open.
 *
 * @returns The memfd (close-on-exec; execveat(fd, "", …, AT_EMPTY_PATH) runs it).
 * @throws {Error} On an architecture without an init.
 * @throws {SyscallError} When the memfd cannot be made.
 */
export function initFd(): number {
  return programFd("nsh-init");
}
