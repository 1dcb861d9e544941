/**
 * Every system call of the ABIs nsh filters, by name and by number, for
 * seccomp filters (ffi/sysno.ts lists only the calls the spawn engine makes).
 * The numbers come from ffi/syscall_data.ts, generated from kernel headers.
 *
 * @module
 */

import { AARCH64, I386, X86_64 } from "./syscall_data.ts";
import { AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64 } from "./constants.ts";

/** A system call ABI nsh has a table for. */
export type SyscallAbi = "x86_64" | "i386" | "aarch64";

/** The system calls of one ABI. */
export interface SyscallTable {
  /** The ABI. */
  readonly abi: SyscallAbi;
  /** The `arch` value of `struct seccomp_data` for it (linux/audit.h). */
  readonly auditArch: number;
  /** Numbers by name. */
  readonly numbers: ReadonlyMap<string, number>;
  /** Names by number. */
  readonly names: ReadonlyMap<number, string>;
  /** The highest number in the table. */
  readonly max: number;
}

const SOURCES: Readonly<Record<SyscallAbi, readonly [string, number]>> = {
  x86_64: [X86_64, AUDIT_ARCH_X86_64],
  i386: [I386, AUDIT_ARCH_I386],
  aarch64: [AARCH64, AUDIT_ARCH_AARCH64],
};

const tables = new Map<SyscallAbi, SyscallTable>();

function parse(abi: SyscallAbi): SyscallTable {
  const [text, auditArch] = SOURCES[abi];
  const numbers = new Map<string, number>();
  const names = new Map<number, string>();
  for (const line of text.split("\n")) {
    const [first, ...words] = line.trim().split(/\s+/);
    if (!first) continue;
    words.forEach((word, i) => {
      if (word === "-") return;
      const nr = Number(first) + i;
      for (const name of word.split("|")) numbers.set(name, nr);
      names.set(nr, word.split("|")[0]!);
    });
  }
  return { abi, auditArch, numbers, names, max: Math.max(...names.keys()) };
}

/**
 * The system call table of an ABI, read on first use.
 *
 * @param abi The ABI.
 * @returns Its table.
 */
export function syscallTable(abi: SyscallAbi): SyscallTable {
  let table = tables.get(abi);
  if (!table) tables.set(abi, table = parse(abi));
  return table;
}

/**
 * The native system call ABI of an architecture as `Deno.build.arch` names it.
 *
 * @param arch The architecture, this machine's by default.
 * @returns The ABI, or `undefined` when nsh has no table for it.
 */
export function nativeAbi(arch: string = Deno.build.arch): SyscallAbi | undefined {
  return arch === "x86_64" || arch === "aarch64" ? arch : undefined;
}
