/**
 * The holder program: a tiny ELF executable (holder_x86_64.S) that keeps a
 * shell context's namespaces alive and reaps orphans as PID 1. It lives in a
 * sealed memfd, so that a child can execute it with execveat(2) whatever its
 * root directory and mounts are.
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

const CODE: Readonly<Record<string, Uint8Array>> = { x86_64: HOLDER_X86_64 };

let fd: number | undefined;

/**
 * A descriptor of the holder program, made on first use and kept open.
 *
 * @returns The memfd (close-on-exec; execveat(fd, "", …, AT_EMPTY_PATH) runs it).
 * @throws {Error} On an architecture without a holder.
 * @throws {SyscallError} When the memfd cannot be made.
 */
export function holderFd(): number {
  if (fd !== undefined) return fd;
  const code = CODE[Deno.build.arch];
  if (!code) throw new Error(`Cannot hold namespaces open on ${Deno.build.arch}: nsh's holder exists for x86_64 only`);
  const c = libc();
  const name = cstring("nsh-holder");
  // Since Linux 6.3 a memfd may need MFD_EXEC to be executable (vm.memfd_noexec);
  // older kernels refuse the flag.
  let memfd = c.memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (memfd < 0 && errno() === EINVAL) memfd = c.memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (memfd < 0) throw new SyscallError("memfd_create", errno(), { operation: "make the holder program" });
  const bytes = new Uint8Array(code);
  if (Number(c.write(memfd, bytes, BigInt(bytes.length))) !== bytes.length) {
    const e = errno();
    c.close(memfd);
    throw new SyscallError("write", e, { operation: "write the holder program" });
  }
  c.fcntl(memfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
  fd = memfd;
  return fd;
}
