/**
 * Seccomp filters as steps: a policy, an OCI/Docker profile file, or raw BPF
 * (bubblewrap's `--seccomp FD`), compiled when the step is made, so once per
 * sandbox value, and loaded by the child as its last step before execve.
 *
 * @module
 */

import { noNewPrivsBefore, type StepKind } from "./_kind.ts";
import {
  bpfFilter,
  compileSeccomp,
  readBpfFilter,
  readSeccompProfile,
  type SeccompFilter,
  seccompHint,
  type SeccompPolicy,
  seccompSteps,
} from "../seccomp/mod.ts";
import { makeFilter, ownBytes } from "../seccomp/compile.ts";
import { checkBpf } from "../seccomp/bpf.ts";

/** What a filter was made from, for `nsh export`. */
export type SeccompSource =
  | { readonly policy: SeccompPolicy }
  | { readonly profile: string; readonly capabilities: readonly string[] }
  | { readonly bpf: string | number | Uint8Array };

/** A seccomp filter the program runs under. */
export interface SeccompStep {
  /** The kind of step. */
  readonly kind: "seccomp";
  /** What the filter was made from. */
  readonly source: SeccompSource;
  /** The compiled filter. */
  readonly filter: SeccompFilter;
  /** Set no_new_privs right before loading it. */
  readonly noNewPrivs: boolean;
  /** Load it with prctl(2), as bubblewrap does, rather than seccomp(2). */
  readonly prctl: boolean;
}

/** Options of the seccomp steps. */
export interface SeccompStepOptions {
  /**
   * Set no_new_privs right before the filter is loaded, as bubblewrap does.
   * Loading needs it unless the child holds CAP_SYS_ADMIN in its user
   * namespace at that point (root that kept its capabilities, or a box with
   * its own user namespace); without it setuid programs keep working in the
   * box.
   *
   * @default {true}
   */
  readonly noNewPrivs?: boolean;
  /**
   * Load the filter with `prctl(PR_SET_SECCOMP)`, as bubblewrap does,
   * rather than seccomp(2): a filter loaded before another must allow the
   * call that loads it, prctl(2) then (bubblewrap's contract for
   * `--add-seccomp-fd`).
   *
   * @default {false}
   */
  readonly prctl?: boolean;
}

/** Options of {@linkcode seccompProfile}. */
export interface SeccompProfileStepOptions extends SeccompStepOptions {
  /**
   * The capabilities the program keeps, for Docker's rules that depend on
   * them (`includes.caps`): with `CAP_SYS_ADMIN`, mount and unshare are allowed.
   *
   * @default {[]}
   */
  readonly capabilities?: readonly string[];
}

/**
 * Runs the program under a seccomp filter compiled from a policy: rules by
 * system call name and group, with argument conditions. Calls through other
 * ABIs (i386, x32) are denied.
 *
 * @example Mounts and the keyring fail with EPERM
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, namespaces, sandbox, seccomp } from "@nsh/nsh";
 *
 * const policy = { defaultAction: "allow", rules: [{ syscalls: ["@mount", "@keyring"], action: { errno: "EPERM" } }] } as const;
 * const box = sandbox(mapRootUser(), namespaces("mnt"), seccomp(policy)); // root of its own mounts, yet
 * const result = await box.run("mount", "-t", "tmpfs", "scratch", "/mnt").noThrow().output();
 * assert.match(result.stderrText, /permission denied/);
 * ```
 *
 * @param policy The policy.
 * @param options Whether to set no_new_privs.
 * @returns The step.
 * @throws {TypeError} For an unknown system call, group or action, naming the nearest valid one.
 * @throws {RangeError} For a value out of range.
 */
export function seccomp(policy: SeccompPolicy, options: SeccompStepOptions = {}): SeccompStep {
  return step({ policy }, compileSeccomp(policy), options);
}

/**
 * Runs the program under an OCI or Docker seccomp profile (a JSON file, such
 * as Docker's `profiles/seccomp/default.json`), read and compiled now.
 *
 * @example A profile in Docker's format that denies mkdir
 * ```ts
 * import assert from "node:assert/strict";
 * import { sandbox, seccompProfile } from "@nsh/nsh";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/profile.json`, JSON.stringify({
 *   defaultAction: "SCMP_ACT_ALLOW",
 *   syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
 * }));
 * const result = await sandbox(seccompProfile(`${dir}/profile.json`)).run("mkdir", `${dir}/new`).noThrow().output();
 * assert.match(result.stderrText, /Operation not permitted/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param path The profile.
 * @param options The capabilities the program keeps, and whether to set no_new_privs.
 * @returns The step.
 * @throws {TypeError} For a mistake in the profile, naming the JSON field.
 * @throws {Deno.errors.NotFound} When there is no such file.
 */
export function seccompProfile(path: string, options: SeccompProfileStepOptions = {}): SeccompStep {
  const capabilities = [...(options.capabilities ?? [])];
  return step({ profile: path, capabilities }, compileSeccomp(readSeccompProfile(path, { capabilities })), options);
}

/**
 * Runs the program under a filter given as raw BPF (`struct sock_filter`
 * bytes): the bytes, or a file, or a descriptor read now to its end, as
 * bubblewrap's `--seccomp FD`.
 *
 * @example The smallest filter: one instruction that allows every call
 * ```ts
 * import assert from "node:assert/strict";
 * import { sandbox, seccompBpf } from "@nsh/nsh";
 *
 * // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }, little-endian: BPF_RET|BPF_K, SECCOMP_RET_ALLOW
 * const allow = new Uint8Array([0x06, 0x00, 0, 0, 0x00, 0x00, 0xff, 0x7f]);
 * const box = sandbox(seccompBpf(allow));
 * assert.equal(await box.run("grep", "Seccomp:", "/proc/self/status").text(), "Seccomp:\t2"); // 2: filtered
 * ```
 *
 * @param source The bytes, a path, or a descriptor number.
 * @param options Whether to set no_new_privs.
 * @returns The step.
 * @throws {RangeError} For a program the kernel would refuse, saying why.
 */
export function seccompBpf(source: string | number | Uint8Array, options: SeccompStepOptions = {}): SeccompStep {
  return step({ bpf: source }, source instanceof Uint8Array ? bpfFilter(source) : readBpfFilter(source), options);
}

function step(source: SeccompSource, filter: SeccompFilter, options: SeccompStepOptions): SeccompStep {
  const made: SeccompStep = {
    kind: "seccomp",
    source,
    filter,
    noNewPrivs: options.noNewPrivs ?? true,
    prctl: options.prctl ?? false,
  };
  // Refused now, not when a child starts: a filter under which it could not exit.
  seccompSteps(filter);
  return made;
}

/** The kind of seccomp steps: each loads its filter, in order (filters stack). */
const SECCOMP: StepKind<SeccompStep> = {
  kind: "seccomp",
  phase: "seccomp",
  repeats: "each",
  check(step) {
    ownBytes(step.filter);
  },
  compile(step, out, plan) {
    const noNewPrivs = step.noNewPrivs && !noNewPrivsBefore(plan, step);
    for (const { op, syscall, operation } of seccompSteps(step.filter, { noNewPrivs, prctl: step.prctl })) {
      out.add(op, { syscall, operation, role: "seccomp" });
    }
  },
  revive(step) {
    // The bytes are made again from the instructions, checked as raw BPF is.
    const { abi, program, flags, skipped } = step.filter;
    checkBpf(program);
    return { ...step, filter: makeFilter(abi, program, flags, skipped) };
  },
  code(step) {
    const options = { ...(step.noNewPrivs ? {} : { noNewPrivs: false }), ...(step.prctl ? { prctl: true } : {}) };
    const rest = (more: object) => (Object.keys({ ...options, ...more }).length ? [{ ...options, ...more }] : []);
    const { source } = step;
    if ("policy" in source) return { fn: "seccomp", args: [source.policy, ...rest({})] };
    if ("profile" in source) {
      const caps = source.capabilities.length ? { capabilities: source.capabilities } : {};
      return { fn: "seccompProfile", args: [source.profile, ...rest(caps)] };
    }
    return { fn: "seccompBpf", args: [source.bpf, ...rest({})] };
  },
  hint(_info, errno) {
    return seccompHint(errno);
  },
};

/** The kinds of steps this module defines, for lib/steps/_registry.ts. */
export const KINDS = [SECCOMP] as const;
