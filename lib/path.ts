/**
 * Finds a program the way execvp(3) does, in the filesystem the child will see
 * (under its new root), so that the child only makes one execve.
 *
 * @module
 */

import { SyscallError } from "../ffi/error.ts";
import { fileMode } from "../ffi/libc.ts";

/** The search path execvp uses when PATH is unset. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const ENOENT = 2, EACCES = 13;
const S_IFMT = 0o170000, S_IFREG = 0o100000;

/**
 * The path to execute for a program name.
 *
 * @param name A program name, or a path when it contains a slash.
 * @param searchPath The PATH of the child.
 * @param root The child's root directory, if it changes.
 * @returns The path as the child sees it.
 * @throws {SyscallError} ENOENT when no directory has it, EACCES when only
 *   files without execute permission were found.
 */
export function findProgram(name: string, searchPath: string | undefined, root?: string): string {
  if (name.includes("/")) return name;
  if (name === "") {
    throw new SyscallError("execve", ENOENT, { operation: `execute ""`, hint: "the program name is empty" });
  }
  let denied: string | undefined;
  for (const dir of (searchPath ?? DEFAULT_PATH).split(":")) {
    const candidate = `${dir || "."}/${name}`;
    const onDisk = root !== undefined && candidate.startsWith("/")
      ? `${root.replace(/\/+$/, "")}${candidate}`
      : candidate;
    const mode = fileMode(onDisk);
    if (mode < 0 || (mode & S_IFMT) !== S_IFREG) continue;
    if (mode & 0o111) return candidate;
    denied ??= candidate;
  }
  if (denied) {
    throw new SyscallError("execve", EACCES, {
      operation: `execute "${name}"`,
      path: denied,
      hint: `${denied} is not executable`,
    });
  }
  throw new SyscallError("execve", ENOENT, {
    operation: `execute "${name}"`,
    path: name,
    hint: "no such program in PATH",
  });
}
