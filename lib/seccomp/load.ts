/**
 * The steps by which a child loads seccomp filters, as ffi/program.ts ops.
 *
 * Where they go: last before execve. After the filter is loaded, every system
 * call the child makes goes through it, so everything else the child must do
 * (mounts, setuid, capability changes, no_new_privs, the signal mask) comes
 * first. What the child still does afterwards, and so what a filter must
 * allow for the program to start at all: `execve` (or `execveat`) of each PATH
 * candidate, `faccessat` after an EACCES from one of them, and on failure
 * `write` of the error record and `exit_group`.
 *
 * Loading needs no_new_privs, or CAP_SYS_ADMIN in the child's user namespace
 * (root before capabilities are dropped, or any user in a new user
 * namespace): ask `noNewPrivs`, or load the filter while the capability is
 * still held (runc does the latter when no_new_privs is off; then the steps
 * after it must pass the filter).
 *
 * @module
 */

import type { Op } from "../../ffi/program.ts";
import {
  EACCES,
  EFAULT,
  EINVAL,
  ENOMEM,
  ENOSYS,
  PR_SET_NO_NEW_PRIVS,
  PR_SET_SECCOMP,
  SECCOMP_MODE_FILTER,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_TRACE,
  SECCOMP_SET_MODE_FILTER,
} from "../../ffi/constants.ts";
import { syscallTable } from "../../ffi/syscall_table.ts";
import { runBpf } from "./bpf.ts";
import { ownBytes, type SeccompFilter } from "./compile.ts";

/** Options of {@linkcode seccompSteps}. */
export interface SeccompStepsOptions {
  /**
   * Set no_new_privs before loading (`prctl(PR_SET_NO_NEW_PRIVS, 1)`): needed
   * when the child has no CAP_SYS_ADMIN in its user namespace by then.
   *
   * @default {false}
   */
  readonly noNewPrivs?: boolean;
  /**
   * Load with `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)`, as
   * bubblewrap does, instead of seccomp(2): then each filter after the first
   * must be allowed prctl(2) by those before (bubblewrap's documented
   * contract for `--add-seccomp-fd`), not seccomp(2). A filter with flags
   * needs seccomp(2).
   *
   * @default {false}
   */
  readonly prctl?: boolean;
}

/** A step of the child, with what it does for error messages. */
export interface SeccompStep {
  /** The system call and its arguments. */
  readonly op: Op;
  /** The system call, as an error names it. */
  readonly syscall: "prctl" | "seccomp";
  /** What was attempted, as a verb phrase: "load seccomp filter 1 of 2 (114 instructions)". */
  readonly operation: string;
}

/** Filters already checked by {@linkcode checkExit}: steps are made for every spawn. */
const exits = new WeakSet<SeccompFilter>();

/**
 * Refuses a filter under which nsh's child could not end: when execve fails
 * the child calls exit_group, and a filter that makes exit_group return
 * (an errno, or trace without a tracer) would let it run past its code.
 */
function checkExit(filter: SeccompFilter, index: number): void {
  if (exits.has(filter)) return;
  const table = syscallTable(filter.abi);
  const nr = table.numbers.get("exit_group")!;
  for (const status of [0n, 127n]) {
    const ret = runBpf(filter.program, { nr, arch: table.auditArch, args: [status] });
    const action = (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
    if (action === SECCOMP_RET_ERRNO || action === SECCOMP_RET_TRACE) {
      throw new TypeError(
        `Cannot load seccomp filter ${index + 1}: it makes exit_group return instead of ending the process, ` +
          "which the child needs when execve fails; allow or kill on exit_group",
      );
    }
  }
  exits.add(filter);
}

/**
 * The child's steps that load filters: no_new_privs if asked, then one
 * seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog) per filter, the filter and
 * its `struct sock_fprog` written into the program's memory. Filters stack:
 * for each call the kernel runs them all and the most severe result wins, so
 * each after the first must be allowed to call seccomp(2) by those before.
 *
 * @param filters The filters, in the order to load them.
 * @param options Whether to set no_new_privs first.
 * @returns The steps, to place last before execve.
 * @throws {TypeError} For a filter made elsewhere than compileSeccomp() or
 *   bpfFilter(), or one under which the child could not exit.
 *
 * @example Steps for a compiled policy
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { compileSeccomp, seccompSteps } from "./mod.ts";
 *
 * const filter = compileSeccomp({ defaultAction: "allow", rules: [{ syscalls: "@mount", action: { errno: 1 } }] });
 * const steps = seccompSteps(filter, { noNewPrivs: true });
 * equal(steps.map((s) => s.op.call).join(" "), "prctl seccomp");
 * ```
 */
export function seccompSteps(
  filters: SeccompFilter | readonly SeccompFilter[],
  options: SeccompStepsOptions = {},
): SeccompStep[] {
  const list: readonly SeccompFilter[] = Array.isArray(filters) ? filters : [filters as SeccompFilter];
  const steps: SeccompStep[] = [];
  if (options.noNewPrivs) {
    steps.push({
      op: { call: "prctl", args: [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0] },
      syscall: "prctl",
      operation: "set no_new_privs",
    });
  }
  list.forEach((filter, i) => {
    const bytes = ownBytes(filter);
    checkExit(filter, i);
    const which = list.length > 1 ? `seccomp filter ${i + 1} of ${list.length}` : "the seccomp filter";
    const operation = `load ${which} (${bytes.length / 8} instructions)`;
    if (options.prctl) {
      if (filter.flags) throw new TypeError(`Cannot ${operation} with prctl(2): its flags need seccomp(2)`);
      steps.push({
        op: { call: "prctl", args: [PR_SET_SECCOMP, SECCOMP_MODE_FILTER, { fprog: bytes }] },
        syscall: "prctl",
        operation,
      });
      return;
    }
    steps.push({
      op: { call: "seccomp", args: [SECCOMP_SET_MODE_FILTER, filter.flags, { fprog: bytes }] },
      syscall: "seccomp",
      operation,
    });
  });
  return steps;
}

/**
 * A hint for a failed step of {@linkcode seccompSteps}, by its errno.
 *
 * @param errno The errno the step failed with.
 * @returns The hint, or `undefined` when there is nothing to add.
 */
export function seccompHint(errno: number): string | undefined {
  switch (errno) {
    case EACCES:
      return "loading a filter needs no_new_privs or CAP_SYS_ADMIN in the user namespace: set no_new_privs " +
        "(it must come before the filter), or load the filter before capabilities are dropped";
    case EINVAL:
      return "the kernel refused the filter or its flags: SECCOMP_FILTER_FLAG_LOG needs Linux 4.14, " +
        "and a kernel without CONFIG_SECCOMP_FILTER has no filters at all";
    case ENOMEM:
      return "the filters stacked on the process exceed the kernel's 32768 instructions (a filter inherited " +
        "from nsh's own process counts too)";
    case ENOSYS:
      return "the kernel has no seccomp(2) (Linux 3.17), or a filter nsh itself runs under refuses it";
    case EFAULT:
      return "nsh passed a bad address for the filter: a bug in nsh";
  }
  return undefined;
}
