/**
 * Seccomp policies: a default action, rules by system call name or group with
 * argument conditions, and what becomes of the calls of other ABIs. This
 * module checks a policy and resolves its names to the numbers of one ABI;
 * compile.ts turns the result into BPF.
 *
 * @module
 */

import {
  SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
} from "../../ffi/constants.ts";
import { errnoNumber } from "../../ffi/errno.ts";
import { type SyscallAbi, syscallTable } from "../../ffi/syscall_table.ts";
import { nearest } from "../nearest.ts";
import { expandGroup, SYSCALL_GROUPS } from "./groups.ts";

/**
 * What a filter does with a system call:
 *
 * - `"allow"`: the call runs;
 * - `"log"`: the call runs and the kernel logs it (audit);
 * - `{ errno: N }`: the call does not run and fails with errno N (a number
 *   from 0 to 4095 or a name such as `"EPERM"`);
 * - `"kill-process"`: the whole process dies of SIGSYS, uncatchable;
 * - `"kill-thread"`: the calling thread dies of SIGSYS (the process too when
 *   it is its last thread);
 * - `"trap"`: a SIGSYS the program may catch;
 * - `{ trace: N }`: a ptrace tracer is told, with message N (0 to 65535);
 *   without a tracer the call fails with ENOSYS.
 */
export type SeccompAction =
  | "allow"
  | "log"
  | "kill-process"
  | "kill-thread"
  | "trap"
  | { readonly errno: number | string }
  | { readonly trace: number };

/**
 * How an argument is compared, as the unsigned 64-bit value the register
 * holds: `"masked=="` compares `(arg & mask) == (value & mask)` (the OCI
 * spec's `SCMP_CMP_MASKED_EQ`, as libseccomp defines it: bits of `value`
 * outside the mask do not count); the others compare `arg OP value`.
 */
export type SeccompOperator = "==" | "!=" | "<" | "<=" | ">" | ">=" | "masked==";

/** A condition on one argument of a system call. */
export interface SeccompArgCondition {
  /** Which argument, 0 to 5. */
  readonly index: number;
  /** The comparison. */
  readonly op: SeccompOperator;
  /**
   * The value compared with. A negative number is taken in two's complement
   * (`-100` is `AT_FDCWD` as a 64-bit register holds it); beyond 2^53, pass a
   * bigint.
   */
  readonly value: number | bigint;
  /** For `"masked=="`: the bits of the argument that are compared. */
  readonly mask?: number | bigint;
}

/** A rule: what happens to some system calls, maybe only for some arguments. */
export interface SeccompRule {
  /** System call names, and groups such as `"@mount"` (see {@linkcode SYSCALL_GROUPS}). */
  readonly syscalls: string | readonly string[];
  /** The action. */
  readonly action: SeccompAction;
  /** Conditions that must all hold for the rule to apply; none means always. */
  readonly args?: readonly SeccompArgCondition[];
}

/**
 * A seccomp policy for the native ABI.
 *
 * When several rules match a call, the most severe action wins, in the order
 * the kernel ranks actions when filters are stacked: kill-process,
 * kill-thread, trap, errno, trace, log, allow. A call no rule matches gets
 * `defaultAction`.
 *
 * @example Refuse mounts and the keyring with EPERM, kill on ptrace
 * ```ts
 * import type { SeccompPolicy } from "@nsh/nsh";
 *
 * const policy: SeccompPolicy = {
 *   defaultAction: "allow",
 *   rules: [
 *     { syscalls: ["@mount", "@keyring"], action: { errno: "EPERM" } },
 *     { syscalls: "ptrace", action: "kill-process" },
 *     // personality(2) only with PER_LINUX
 *     { syscalls: "personality", action: { errno: "EPERM" }, args: [{ index: 0, op: "!=", value: 0 }] },
 *   ],
 * };
 * ```
 */
export interface SeccompPolicy {
  /** The action for calls that no rule matches. */
  readonly defaultAction: SeccompAction;
  /** The rules. */
  readonly rules?: readonly SeccompRule[];
  /**
   * The action for calls through another ABI: i386 (`int $0x80`) and x32 on
   * x86-64, 32-bit ARM on aarch64. The filter checks the native ABI only, so
   * these are never allowed.
   *
   * @default {"kill-process"}
   */
  readonly otherAbis?: SeccompAction;
  /**
   * The action for calls numbered above every call the policy names: runc
   * answers them with ENOSYS so that a C library falls back from a call newer
   * than the profile (clone3 → clone). Without it they get `defaultAction`.
   */
  readonly newerSyscalls?: SeccompAction;
  /** Ask the kernel to log every action but allow (`SECCOMP_FILTER_FLAG_LOG`). */
  readonly log?: boolean;
  /**
   * Skip system call names that no table of nsh knows instead of refusing
   * them, as runc does: profiles name calls of other architectures and calls
   * newer than nsh. Skipped names are listed in the filter's `skipped`.
   *
   * @default {false}
   */
  readonly skipUnknown?: boolean;
}

/** A condition with its values as unsigned 64-bit integers. */
export interface ResolvedCondition {
  /** The argument, 0 to 5. */
  readonly index: number;
  /** The comparison. */
  readonly op: SeccompOperator;
  /** The value, 0 to 2^64 - 1. */
  readonly value: bigint;
  /** The mask, for `"masked=="`; all ones otherwise. */
  readonly mask: bigint;
}

/** A rule for one system call of one ABI. */
export interface ResolvedRule {
  /** The system call number. */
  readonly nr: number;
  /** Its name. */
  readonly name: string;
  /** The filter result: `SECCOMP_RET_*` with its data. */
  readonly ret: number;
  /** Conditions that must all hold. */
  readonly args: readonly ResolvedCondition[];
}

/** A policy with its names resolved for one ABI. */
export interface ResolvedPolicy {
  /** The ABI. */
  readonly abi: SyscallAbi;
  /** The result for calls no rule matches. */
  readonly defaultRet: number;
  /** The result for calls through other ABIs. */
  readonly otherAbisRet: number;
  /** The result for calls numbered above `newer.above`, if asked. */
  readonly newer?: { readonly above: number; readonly ret: number };
  /** The rules, one per system call and rule. */
  readonly rules: readonly ResolvedRule[];
  /** Names known on other ABIs only, left out (`chown32` on x86-64). */
  readonly skipped: readonly string[];
  /** `SECCOMP_FILTER_FLAG_*` for seccomp(2). */
  readonly flags: number;
}

const SIMPLE: Readonly<Record<string, number>> = {
  "allow": SECCOMP_RET_ALLOW,
  "log": SECCOMP_RET_LOG,
  "kill-process": SECCOMP_RET_KILL_PROCESS,
  "kill-thread": SECCOMP_RET_KILL_THREAD,
  "trap": SECCOMP_RET_TRAP,
};

/** The highest errno a filter may return (the kernel's MAX_ERRNO). */
const MAX_ERRNO = 4095;

/**
 * The filter result of an action.
 *
 * @param action The action.
 * @param where What it belongs to, for errors (`"defaultAction"`, `"rules[2].action"`).
 * @returns `SECCOMP_RET_*` with its data.
 * @throws {TypeError} For an unknown action or errno name.
 * @throws {RangeError} For an errno or trace value out of range.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { actionResult } from "./policy.ts";
 *
 * equal(actionResult({ errno: "EPERM" }), 0x00050001);
 * equal(actionResult("allow"), 0x7fff0000);
 * ```
 */
export function actionResult(action: SeccompAction, where = "action"): number {
  if (typeof action === "string") {
    const ret = SIMPLE[action];
    if (ret !== undefined) return ret;
    const near = nearest(action, Object.keys(SIMPLE));
    throw new TypeError(
      `Cannot use the seccomp action "${action}" (${where}): no such action; did you mean "${near}"? ` +
        "(or { errno: N }, { trace: N })",
    );
  }
  if (action && typeof action === "object" && "errno" in action) {
    let errno = action.errno;
    if (typeof errno === "string") {
      const number = errnoNumber(errno.toUpperCase());
      if (number === undefined) {
        throw new TypeError(`Cannot use errno "${errno}" (${where}): no such errno name`);
      }
      errno = number;
    }
    if (!Number.isInteger(errno) || errno < 0 || errno > MAX_ERRNO) {
      throw new RangeError(`Cannot use errno ${errno} (${where}): it must be 0 to ${MAX_ERRNO}`);
    }
    return (SECCOMP_RET_ERRNO | errno) >>> 0;
  }
  if (action && typeof action === "object" && "trace" in action) {
    if (!Number.isInteger(action.trace) || action.trace < 0 || action.trace > 0xffff) {
      throw new RangeError(`Cannot use trace message ${action.trace} (${where}): it must be 0 to 65535`);
    }
    return (SECCOMP_RET_TRACE | action.trace) >>> 0;
  }
  throw new TypeError(`Cannot use ${JSON.stringify(action)} as a seccomp action (${where}): no such action`);
}

/**
 * Reads an action written as text, as the shell and CLI take it: `allow`,
 * `log`, `kill` (`kill-process`), `kill-process`, `kill-thread`, `trap`,
 * `errno` (EPERM), `errno:ENOSYS` or `errno:38`, `trace:N`.
 *
 * @param text The action.
 * @returns The action.
 * @throws {TypeError} For an unknown action, naming the nearest one.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseSeccompAction } from "./policy.ts";
 *
 * deepEqual(parseSeccompAction("errno:ENOSYS"), { errno: "ENOSYS" });
 * deepEqual(parseSeccompAction("kill"), "kill-process");
 * ```
 */
export function parseSeccompAction(text: string): SeccompAction {
  const [word, data] = text.split(":", 2) as [string, string | undefined];
  const name = word.toLowerCase();
  if (data === undefined) {
    if (name === "kill") return "kill-process";
    if (name === "errno") return { errno: "EPERM" };
    if (name in SIMPLE) return name as SeccompAction;
  } else if (name === "errno") {
    const action = { errno: /^\d+$/.test(data) ? Number(data) : data };
    actionResult(action, text);
    return action;
  } else if (name === "trace" && /^\d+$/.test(data)) {
    const action = { trace: Number(data) };
    actionResult(action, text);
    return action;
  }
  const near = nearest(text, [...Object.keys(SIMPLE), "kill", "errno:EPERM", "trace:0"]);
  throw new TypeError(`Cannot use the seccomp action "${text}": no such action; did you mean "${near}"?`);
}

const OPERATORS: readonly SeccompOperator[] = ["==", "!=", "<", "<=", ">", ">=", "masked=="];
const U64 = (1n << 64n) - 1n;

function u64(value: unknown, where: string): bigint {
  if (typeof value === "bigint") {
    if (value < -(1n << 63n) || value > U64) {
      throw new RangeError(`Cannot compare with ${value} (${where}): not 64-bit`);
    }
    return BigInt.asUintN(64, value);
  }
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`Cannot compare with ${JSON.stringify(value)} (${where}): it must be an integer`);
  }
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`Cannot compare with ${value} (${where}): beyond 2^53, pass a bigint`);
  }
  return BigInt.asUintN(64, BigInt(value));
}

/**
 * Checks an argument condition and gives its values as unsigned 64-bit integers.
 *
 * @param condition The condition.
 * @param where What it belongs to, for errors.
 * @returns The condition, resolved.
 * @throws {TypeError} For an unknown operator or a value that is no integer.
 * @throws {RangeError} For an argument index out of 0 to 5, or a value out of range.
 */
export function resolveCondition(condition: SeccompArgCondition, where: string): ResolvedCondition {
  const { index, op } = condition;
  if (!Number.isInteger(index) || index < 0 || index > 5) {
    throw new RangeError(`Cannot compare argument ${index} (${where}.index): system calls have arguments 0 to 5`);
  }
  if (!OPERATORS.includes(op)) {
    const near = nearest(String(op), OPERATORS);
    throw new TypeError(`Cannot compare with "${op}" (${where}.op): no such operator; did you mean "${near}"?`);
  }
  const value = u64(condition.value, `${where}.value`);
  if (op === "masked==") {
    if (condition.mask === undefined) {
      throw new TypeError(`Cannot compare with "masked==" (${where}.mask): a mask is needed`);
    }
    return { index, op, value, mask: u64(condition.mask, `${where}.mask`) };
  }
  if (condition.mask !== undefined) {
    throw new TypeError(`Cannot use a mask with "${op}" (${where}.mask): only "masked==" takes one`);
  }
  return { index, op, value, mask: U64 };
}

const OTHER_ABIS: Readonly<Record<SyscallAbi, readonly SyscallAbi[]>> = {
  x86_64: ["i386", "aarch64"],
  i386: ["x86_64", "aarch64"],
  aarch64: ["x86_64", "i386"],
};

/** Options of {@linkcode resolvePolicy}. */
export interface ResolveOptions {
  /** The ABI to resolve for. */
  readonly abi: SyscallAbi;
  /** Names each rule for errors; `rules[i]` by default. */
  readonly label?: (rule: number) => string;
}

/**
 * The numbers of the system calls a rule names, on one ABI.
 *
 * @returns The calls, and the names another ABI has but this one lacks.
 */
function resolveNames(
  names: readonly string[],
  abi: SyscallAbi,
  where: string,
  lenient: boolean,
): { calls: [string, number][]; skipped: string[] } {
  const table = syscallTable(abi);
  const calls: [string, number][] = [];
  const skipped: string[] = [];
  names.forEach((name, i) => {
    if (typeof name !== "string") {
      throw new TypeError(`Cannot filter ${JSON.stringify(name)} (${where}[${i}]): a system call name is a string`);
    }
    if (name.startsWith("@")) {
      if (!SYSCALL_GROUPS.has(name) && name !== "@known") {
        const near = nearest(name, [...SYSCALL_GROUPS.keys(), "@known"]);
        throw new TypeError(
          `Cannot filter the group "${name}" (${where}[${i}]): no such group; did you mean "${near}"?`,
        );
      }
      for (const call of expandGroup(name, abi)) calls.push([call, table.numbers.get(call)!]);
      return;
    }
    const nr = table.numbers.get(name);
    if (nr !== undefined) calls.push([name, nr]);
    else if (lenient || OTHER_ABIS[abi].some((other) => syscallTable(other).numbers.has(name))) skipped.push(name);
    else {
      const near = nearest(name, table.numbers.keys());
      throw new TypeError(
        `Cannot filter "${name}" (${where}[${i}]): no such system call on ${abi}; did you mean "${near}"?`,
      );
    }
  });
  return { calls, skipped };
}

/**
 * Checks a policy and resolves its names and actions for one ABI.
 *
 * @param policy The policy.
 * @param options The ABI, and how to name rules in errors.
 * @returns The resolved policy.
 * @throws {TypeError} For an unknown system call, group, action or operator,
 *   naming the field and the nearest valid name.
 * @throws {RangeError} For a value out of range.
 */
export function resolvePolicy(policy: SeccompPolicy, options: ResolveOptions): ResolvedPolicy {
  const { abi } = options;
  const label = options.label ?? ((i: number) => `rules[${i}]`);
  if (!policy || typeof policy !== "object") throw new TypeError("Cannot use the seccomp policy: it is no object");
  const defaultRet = actionResult(policy.defaultAction, "defaultAction");
  const otherAbisRet = actionResult(policy.otherAbis ?? "kill-process", "otherAbis");
  if (otherAbisRet === SECCOMP_RET_ALLOW || otherAbisRet === SECCOMP_RET_LOG) {
    throw new TypeError(
      "Cannot allow other ABIs (otherAbis): the filter checks the native ABI only, so their calls would pass unchecked",
    );
  }
  const rules: ResolvedRule[] = [];
  const skipped = new Set<string>();
  (policy.rules ?? []).forEach((rule, i) => {
    const where = label(i);
    if (!rule || typeof rule !== "object") throw new TypeError(`Cannot use the seccomp rule ${where}: it is no object`);
    const ret = actionResult(rule.action, `${where}.action`);
    const args = (rule.args ?? []).map((c, j) => resolveCondition(c, `${where}.args[${j}]`));
    const names = typeof rule.syscalls === "string" ? [rule.syscalls] : rule.syscalls;
    if (!Array.isArray(names)) {
      throw new TypeError(`Cannot use the seccomp rule ${where}: syscalls must be a name or a list of names`);
    }
    const resolved = resolveNames(names, abi, `${where}.syscalls`, policy.skipUnknown ?? false);
    for (const name of resolved.skipped) skipped.add(name);
    for (const [name, nr] of resolved.calls) rules.push({ nr, name, ret, args });
  });
  const newerRet = policy.newerSyscalls === undefined ? undefined : actionResult(policy.newerSyscalls, "newerSyscalls");
  // As runc: a policy that names no call has nothing to be newer than.
  const newer = newerRet !== undefined && rules.length
    ? { above: Math.max(...rules.map((rule) => rule.nr)), ret: newerRet }
    : undefined;
  return {
    abi,
    defaultRet,
    otherAbisRet,
    ...(newer ? { newer } : {}),
    rules,
    skipped: [...skipped].sort(),
    flags: policy.log ? SECCOMP_FILTER_FLAG_LOG : 0,
  };
}
