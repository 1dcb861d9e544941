/**
 * Raw BPF filters, as bubblewrap's `--seccomp FD` takes them: the bytes of a
 * `struct sock_filter` array, from memory, a file or a descriptor, checked as
 * the kernel will check them.
 *
 * @module
 */

import { BPF_MAXINSNS, EINTR } from "../../ffi/constants.ts";
import { errno, libc, unwrap } from "../../ffi/libc.ts";
import { nativeAbi, type SyscallAbi } from "../../ffi/syscall_table.ts";
import { checkBpf, decodeBpf } from "./bpf.ts";
import { makeFilter, type SeccompFilter } from "./compile.ts";

/** Options of {@linkcode bpfFilter}. */
export interface BpfFilterOptions {
  /** Where the bytes came from, for messages (a file name, "descriptor 3"). */
  readonly source?: string;
  /**
   * The ABI the filter is meant for, for `seccompVerdict`; the kernel runs a
   * raw filter on every call whatever its ABI.
   *
   * @default {the machine's native ABI}
   */
  readonly abi?: SyscallAbi;
}

/**
 * A filter from the bytes of a BPF program, checked as the kernel will check
 * it: whole 8-byte instructions, 1 to 4096 of them, only the opcodes seccomp
 * allows, jumps inside the program, a return at the end.
 *
 * @param bytes The program.
 * @param options Its source, for messages.
 * @returns The filter.
 * @throws {RangeError} For a program the kernel would refuse, saying why.
 *
 * @example A filter that allows everything
 * ```ts
 * import { equal, throws } from "node:assert/strict";
 * import { bpfFilter, seccompVerdict } from "./mod.ts";
 *
 * const allow = new Uint8Array([0x06, 0, 0, 0, 0x00, 0x00, 0xff, 0x7f]); // ret ALLOW
 * equal(seccompVerdict(bpfFilter(allow, { abi: "x86_64" }), "mount"), "allow");
 * throws(() => bpfFilter(allow.subarray(0, 5)), /5 bytes is not a whole number of 8-byte instructions/);
 * ```
 */
export function bpfFilter(bytes: Uint8Array, options: BpfFilterOptions = {}): SeccompFilter {
  const what = options.source ? `the seccomp filter from ${options.source}` : "the seccomp filter";
  if (bytes.length % 8 || bytes.length === 0) {
    throw new RangeError(`Cannot use ${what}: ${bytes.length} bytes is not a whole number of 8-byte instructions`);
  }
  if (bytes.length / 8 > BPF_MAXINSNS) {
    throw new RangeError(`Cannot use ${what}: ${bytes.length / 8} instructions, the kernel takes ${BPF_MAXINSNS}`);
  }
  const program = decodeBpf(bytes);
  try {
    checkBpf(program);
  } catch (error) {
    throw new RangeError((error as Error).message.replace("the seccomp filter", what));
  }
  const abi = options.abi ?? nativeAbi() ?? "x86_64";
  return makeFilter(abi, program, 0, []);
}

/**
 * Reads a BPF filter from a file, or from a descriptor to its end (a pipe a
 * caller writes the program into, as bubblewrap's `--seccomp FD`). The
 * descriptor is read on this thread and left open.
 *
 * @param source A path, or a descriptor number.
 * @param options As {@linkcode bpfFilter}.
 * @returns The filter.
 * @throws {RangeError} For a program the kernel would refuse.
 * @throws {SyscallError} When the descriptor cannot be read.
 */
export function readBpfFilter(source: string | number, options: BpfFilterOptions = {}): SeccompFilter {
  if (typeof source === "string") return bpfFilter(Deno.readFileSync(source), { source, ...options });
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(new ArrayBuffer(65536));
  for (;;) {
    const n = Number(libc().read(source, buffer, BigInt(buffer.length)));
    if (n < 0 && errno() === EINTR) continue;
    if (n < 0) unwrap(n, "read", { operation: `read a seccomp filter from descriptor ${source}` });
    if (n === 0) break;
    chunks.push(buffer.slice(0, n));
    total += n;
    // More than the largest program the kernel takes: stop reading, refuse below.
    if (total > BPF_MAXINSNS * 8) break;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bpfFilter(bytes, { source: `descriptor ${source}`, ...options });
}
