/**
 * Seccomp for nsh: policies (rules by system call name and group, with
 * argument conditions), OCI/Docker JSON profiles, raw BPF, a compiler to
 * classic BPF, and the child's steps that load a filter.
 *
 * @module
 */

export * from "./policy.ts";
export * from "./groups.ts";
export * from "./bpf.ts";
export * from "./compile.ts";
export * from "./oci.ts";
export * from "./raw.ts";
export * from "./load.ts";
export type { Arg, Op } from "../../ffi/program.ts";
export type { SyscallName } from "../../ffi/sysno.ts";
export { nativeAbi, type SyscallAbi, type SyscallTable, syscallTable } from "../../ffi/syscall_table.ts";
