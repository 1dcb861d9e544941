/**
 * Compiles a seccomp policy to a classic BPF program, in TypeScript, in the
 * parent: the child only hands the bytes to seccomp(2).
 *
 * The program, for x86-64 (aarch64 has no x32 check):
 *
 * ```text
 *   ld  [arch]
 *   jeq AUDIT_ARCH_X86_64, 0, other     ; i386 (int $0x80) and anything else
 *   ld  [nr]
 *   jge 0x40000000, x32, tree           ; x32 calls have bit 30 set…
 * x32: jeq 0xffffffff, tree, other      ; …but -1 is a tracer's skipped call (libseccomp lets it through)
 * tree: a binary search on ranges of numbers (jge), whose leaves are returns
 *       or, for calls with argument conditions, blocks that compare both 32-bit
 *       halves of each argument and fall back from rule to rule
 *   ret …                               ; one return per distinct result
 * ```
 *
 * The code is generated backwards, from the returns to the first
 * instruction, so every jump target is placed before the jump is: a target
 * more than 255 instructions away gets a `ja` trampoline next to the jump.
 *
 * @module
 */

import {
  BPF_ABS,
  BPF_ALU,
  BPF_AND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_MAXINSNS,
  BPF_RET,
  BPF_W,
  SECCOMP_RET_ACTION_FULL,
  X32_SYSCALL_BIT,
} from "../../ffi/constants.ts";
import { nativeAbi, type SyscallAbi, syscallTable } from "../../ffi/syscall_table.ts";
import { type BpfInstruction, checkBpf, describeSeccompResult, encodeBpf, runBpf } from "./bpf.ts";
import { type ResolvedCondition, type ResolvedPolicy, type ResolvedRule, resolvePolicy } from "./policy.ts";
import type { SeccompPolicy } from "./policy.ts";

/** A filter ready to load: compiled from a policy, or raw BPF that passed the kernel's checks. */
export interface SeccompFilter {
  /** The ABI it was compiled for. */
  readonly abi: SyscallAbi;
  /** The instructions. */
  readonly program: readonly BpfInstruction[];
  /** `SECCOMP_FILTER_FLAG_*` to load it with. */
  readonly flags: number;
  /** Names the policy gave that this ABI lacks or nsh does not know, left out. */
  readonly skipped: readonly string[];
}

/** The bytes of each filter, kept out of reach of callers so a cached filter cannot be changed. */
const BYTES = new WeakMap<SeccompFilter, Uint8Array>();

/**
 * The bytes of a filter, as seccomp(2) reads them (a copy).
 *
 * @param filter The filter.
 * @returns 8 bytes per instruction.
 */
export function filterBytes(filter: SeccompFilter): Uint8Array {
  return new Uint8Array(ownBytes(filter));
}

/** @internal The filter's own bytes, for the loading step (ffi/program.ts copies them). */
export function ownBytes(filter: SeccompFilter): Uint8Array {
  const bytes = BYTES.get(filter);
  if (!bytes) throw new TypeError("Cannot load the seccomp filter: it was not made by compileSeccomp() or bpfFilter()");
  return bytes;
}

/**
 * Makes a filter object from a checked program.
 *
 * @internal
 */
export function makeFilter(
  abi: SyscallAbi,
  program: readonly BpfInstruction[],
  flags: number,
  skipped: readonly string[],
): SeccompFilter {
  const filter: SeccompFilter = Object.freeze({
    abi,
    program: Object.freeze(program.map((insn) => Object.freeze({ ...insn }))),
    flags,
    skipped: Object.freeze([...skipped]),
  });
  BYTES.set(filter, encodeBpf(program));
  return filter;
}

/** Options of {@linkcode compileSeccomp}. */
export interface CompileSeccompOptions {
  /**
   * The ABI to compile for.
   *
   * @default {the machine's native ABI}
   */
  readonly abi?: SyscallAbi;
}

const U32 = 0xffffffff;

/** Severity of a result when rules overlap: lower wins, as the kernel ranks stacked filters. */
function severity(ret: number): number {
  return (ret & SECCOMP_RET_ACTION_FULL) | 0;
}

/** A program written from its end to its start. */
class Backward {
  /** The instructions, last first: a label is an index here. */
  readonly rev: BpfInstruction[] = [];
  readonly #rets = new Map<number, number>();

  #push(code: number, k: number, jt = 0, jf = 0): number {
    this.rev.push({ code, jt, jf, k: k >>> 0 });
    return this.rev.length - 1;
  }

  /** A return of `k`, shared by every jump to it. */
  ret(k: number): number {
    let label = this.#rets.get(k);
    if (label === undefined) this.#rets.set(k, label = this.#push(BPF_RET | BPF_K, k));
    return label;
  }

  /** Loads the 32-bit word at `offset` of struct seccomp_data; falls through to the last label. */
  load(offset: number): number {
    return this.#push(BPF_LD | BPF_W | BPF_ABS, offset);
  }

  /** A &= k; falls through. */
  and(k: number): number {
    return this.#push(BPF_ALU | BPF_AND | BPF_K, k);
  }

  /** An unconditional jump. */
  #ja(target: number): number {
    return this.#push(BPF_JMP | BPF_JA, this.rev.length - target - 1);
  }

  /** Makes the next instruction placed fall through to `target`: a jump unless it is the last placed. */
  goto(target: number): number {
    return target === this.rev.length - 1 ? target : this.#ja(target);
  }

  /** A conditional jump on A compared with `k`; both targets already placed. */
  jump(op: number, k: number, whenTrue: number, whenFalse: number): number {
    if (whenTrue === whenFalse) return whenTrue;
    let t = whenTrue, f = whenFalse;
    // jt and jf are 8 bits: a farther target is reached through a ja placed
    // right after this jump.
    for (;;) {
      const at = this.rev.length;
      if (at - f - 1 > 255) f = this.#ja(f);
      else if (at - t - 1 > 255) t = this.#ja(t);
      else return this.#push(BPF_JMP | op | BPF_K, k, at - t - 1, at - f - 1);
    }
  }
}

/** Offsets in struct seccomp_data (little-endian: the low half of an argument first). */
const NR = 0, ARCH = 4, ARGS = 16;

/**
 * A condition as the compiler tests it: one of the policy's, or "any of these
 * bits of the low half is set" (one `jset`), which rules that each test one
 * bit of the same argument become.
 */
type Test = ResolvedCondition | { readonly index: number; readonly op: "any-bit"; readonly mask: number };

/** The bit a `masked==` condition tests, when it tests one bit of the low half for being set. */
function bitOf(c: ResolvedCondition): number | undefined {
  if (c.op !== "masked==" || c.value !== c.mask || c.mask > 0xffffffffn) return undefined;
  const bit = Number(c.mask);
  return bit && (bit & (bit - 1)) === 0 ? bit : undefined;
}

/**
 * The rules of one call, those with one result that each test one bit of the
 * same argument for being set (`masked==` with value = mask, as "clone with
 * CLONE_NEWUSER" or "…with CLONE_NEWNET") made one rule with one `jset`:
 * any of them decides the same.
 */
function mergeBitRules(rules: readonly ResolvedRule[]): { ret: number; args: readonly Test[] }[] {
  const merged: { ret: number; args: Test[] }[] = [];
  const byBit = new Map<string, { ret: number; args: Test[] }>();
  for (const rule of rules) {
    const bit = rule.args.length === 1 ? bitOf(rule.args[0]!) : undefined;
    if (bit === undefined) {
      merged.push({ ret: rule.ret, args: [...rule.args] });
      continue;
    }
    const key = `${rule.ret} ${rule.args[0]!.index}`;
    const into = byBit.get(key);
    if (into) {
      const test = into.args[0] as { index: number; op: "any-bit"; mask: number };
      into.args[0] = { ...test, mask: (test.mask | bit) >>> 0 };
    } else {
      const made = { ret: rule.ret, args: [{ index: rule.args[0]!.index, op: "any-bit" as const, mask: bit }] };
      byBit.set(key, made);
      merged.push(made);
    }
  }
  return merged;
}

/** Emits the test of one condition; returns its first instruction. */
function condition(b: Backward, c: Test, whenTrue: number, whenFalse: number): number {
  const lo = ARGS + 8 * c.index, hi = lo + 4;
  if (c.op === "any-bit") {
    b.jump(BPF_JSET, c.mask, whenTrue, whenFalse);
    return b.load(lo);
  }
  const vlo = Number(c.value & 0xffffffffn), vhi = Number(c.value >> 32n);
  // Equality of both halves.
  const equal = (t: number, f: number) => {
    const low = b.jump(BPF_JEQ, vlo, t, f);
    if (low === t) return t;
    b.load(lo);
    b.jump(BPF_JEQ, vhi, b.rev.length - 1, f);
    return b.load(hi);
  };
  // Unsigned arg > value (JGT) or arg >= value (JGE): decided by the high
  // half unless it is equal, then by the low half.
  const above = (op: number, t: number, f: number) => {
    b.jump(op, vlo, t, f);
    const low = b.load(lo);
    const same = b.jump(BPF_JEQ, vhi, low, f);
    b.jump(BPF_JGT, vhi, t, same);
    return b.load(hi);
  };
  switch (c.op) {
    case "==":
      return equal(whenTrue, whenFalse);
    case "!=":
      return equal(whenFalse, whenTrue);
    case ">":
      return above(BPF_JGT, whenTrue, whenFalse);
    case ">=":
      return above(BPF_JGE, whenTrue, whenFalse);
    case "<":
      return above(BPF_JGE, whenFalse, whenTrue);
    case "<=":
      return above(BPF_JGT, whenFalse, whenTrue);
    case "masked==": {
      // (arg & mask) == (value & mask), as libseccomp defines SCMP_CMP_MASKED_EQ;
      // a half whose mask is 0 always matches.
      const value = c.value & c.mask;
      const mlo = Number(c.mask & 0xffffffffn), mhi = Number(c.mask >> 32n);
      const dlo = Number(value & 0xffffffffn), dhi = Number(value >> 32n);
      let next = whenTrue;
      if (mlo !== 0) {
        b.jump(BPF_JEQ, dlo, next, whenFalse);
        if (mlo !== U32) b.and(mlo);
        next = b.load(lo);
      }
      if (mhi !== 0) {
        b.jump(BPF_JEQ, dhi, next, whenFalse);
        if (mhi !== U32) b.and(mhi);
        next = b.load(hi);
      }
      return next;
    }
  }
}

/** Emits the rules of one system call; returns where the tree jumps for it. */
function block(b: Backward, rules: readonly ResolvedRule[], defaultRet: number): number {
  const ordered = mergeBitRules(rules).sort((x, y) => severity(x.ret) - severity(y.ret));
  // Rules after one without conditions can never decide anything.
  const always = ordered.findIndex((rule) => rule.args.length === 0);
  const live = always < 0 ? ordered : ordered.slice(0, always + 1);
  const last = live.at(-1)!;
  let next = last.args.length === 0 ? b.ret(last.ret) : b.ret(defaultRet);
  for (const rule of live.toReversed()) {
    if (rule.args.length === 0) continue;
    const match = b.ret(rule.ret);
    let test = match;
    for (const c of rule.args.toReversed()) test = condition(b, c, test, next);
    next = test;
  }
  return next;
}

/** A range of system call numbers and where the tree sends it. */
interface Range {
  lo: number;
  hi: number;
  target: number;
}

/** The binary search over ranges; returns its first instruction. */
function tree(b: Backward, ranges: readonly Range[], from: number, to: number): number {
  if (from === to) return ranges[from]!.target;
  const mid = (from + to + 1) >> 1;
  const right = tree(b, ranges, mid, to);
  const left = tree(b, ranges, from, mid - 1);
  return b.jump(BPF_JGE, ranges[mid]!.lo, right, left);
}

/** Compiles a resolved policy; the program passes the kernel's checks. */
export function compileResolved(policy: ResolvedPolicy): BpfInstruction[] {
  const b = new Backward();
  const table = syscallTable(policy.abi);
  const other = b.ret(policy.otherAbisRet);
  const fallback = b.ret(policy.defaultRet);
  const byNr = new Map<number, ResolvedRule[]>();
  for (const rule of policy.rules) {
    const list = byNr.get(rule.nr);
    if (list) list.push(rule);
    else byNr.set(rule.nr, [rule]);
  }
  const targets = new Map<number, number>();
  for (const nr of [...byNr.keys()].sort((x, y) => x - y)) targets.set(nr, block(b, byNr.get(nr)!, policy.defaultRet));
  // Ranges over every 32-bit number: the calls with rules, and the gaps
  // between them (the default, or the newer-calls result above them).
  const ranges: Range[] = [];
  const add = (lo: number, hi: number, target: number) => {
    if (lo > hi) return;
    const last = ranges.at(-1);
    if (last && last.target === target && last.hi + 1 === lo) last.hi = hi;
    else ranges.push({ lo, hi, target });
  };
  const newer = policy.newer ? b.ret(policy.newer.ret) : fallback;
  const above = policy.newer ? policy.newer.above : U32;
  const gap = (lo: number, hi: number) => {
    add(lo, Math.min(hi, above), fallback);
    add(Math.max(lo, above + 1), Math.min(hi, X32_SYSCALL_BIT - 1), newer);
    add(Math.max(lo, X32_SYSCALL_BIT), hi, fallback);
  };
  let next = 0;
  for (const [nr, target] of targets) {
    gap(next, nr - 1);
    add(nr, nr, target);
    next = nr + 1;
  }
  gap(next, U32);
  const start = tree(b, ranges, 0, ranges.length - 1);
  let afterNr = start;
  if (policy.abi === "x86_64") {
    const x32 = b.jump(BPF_JEQ, U32, start, other);
    afterNr = b.jump(BPF_JGE, X32_SYSCALL_BIT, x32, start);
  }
  b.goto(afterNr);
  b.load(NR);
  b.jump(BPF_JEQ, table.auditArch, b.rev.length - 1, other);
  b.load(ARCH);
  return b.rev.toReversed();
}

const byText = new Map<string, SeccompFilter>();
const TEXT_CACHE = 32;

function serialize(policy: SeccompPolicy, abi: SyscallAbi): string {
  return abi + JSON.stringify(policy, (_, value) => (typeof value === "bigint" ? `${value}n` : value));
}

/**
 * Compiles a policy into a filter for one ABI. The result is cached by the
 * policy's content (the last 32), not by the object, which a caller may still
 * change; a step keeps its compiled filter, so a sandbox compiles once, not
 * once per program it starts.
 *
 * @param policy The policy.
 * @param options The ABI.
 * @returns The filter.
 * @throws {TypeError} For an unknown system call, group, action or operator,
 *   naming the field and the nearest valid name.
 * @throws {RangeError} For a value out of range, or a policy too large for one filter.
 * @throws {Error} On an architecture nsh has no system call table for.
 *
 * @example Deny mount(2) with EPERM, and ask the filter without loading it
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { compileSeccomp, seccompVerdict } from "@nsh/nsh";
 *
 * const filter = compileSeccomp({
 *   defaultAction: "allow",
 *   rules: [{ syscalls: ["@mount"], action: { errno: "EPERM" } }],
 * }, { abi: "x86_64" });
 * equal(seccompVerdict(filter, "mount"), "errno EPERM");
 * equal(seccompVerdict(filter, "read"), "allow");
 * ```
 */
export function compileSeccomp(policy: SeccompPolicy, options: CompileSeccompOptions = {}): SeccompFilter {
  const abi = options.abi ?? nativeAbi();
  if (!abi) {
    throw new Error(
      `Cannot compile a seccomp filter on ${Deno.build.arch}: nsh has system call tables for x86_64 and aarch64`,
    );
  }
  const text = serialize(policy, abi);
  let filter = byText.get(text);
  if (filter) byText.delete(text);
  else {
    const resolved = resolvePolicy(policy, { abi });
    filter = fromResolved(resolved);
  }
  byText.set(text, filter);
  if (byText.size > TEXT_CACHE) byText.delete(byText.keys().next().value!);
  return filter;
}

/**
 * Compiles a resolved policy into a filter.
 *
 * @internal
 */
export function fromResolved(resolved: ResolvedPolicy): SeccompFilter {
  const program = compileResolved(resolved);
  if (program.length > BPF_MAXINSNS) {
    throw new RangeError(
      `Cannot compile the seccomp policy: it needs ${program.length} instructions, one filter holds ${BPF_MAXINSNS}`,
    );
  }
  checkBpf(program);
  return makeFilter(resolved.abi, program, resolved.flags, resolved.skipped);
}

/** Options of {@linkcode seccompVerdict}. */
export interface SeccompVerdictOptions {
  /** The arguments of the call (unsigned 64-bit; negative numbers in two's complement). */
  readonly args?: readonly (number | bigint)[];
  /**
   * The ABI the call is made through: the filter's own by default; `"i386"`
   * as `int $0x80` from an x86-64 process, `"x32"` as an x32 call.
   */
  readonly abi?: SyscallAbi | "x32";
}

/**
 * What a filter does with a system call, found by running it as the kernel
 * would, without loading it.
 *
 * @param filter The filter.
 * @param call A system call name (of `options.abi`) or number.
 * @param options The arguments, and the ABI of the call.
 * @returns The action: `"allow"`, `"errno EPERM"`, `"kill-process"`, `"trace 7"`…
 * @throws {TypeError} For a name the ABI has no call for.
 *
 * @example Other ABIs are denied
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { compileSeccomp, seccompVerdict } from "@nsh/nsh";
 *
 * const filter = compileSeccomp({ defaultAction: "allow" }, { abi: "x86_64" });
 * equal(seccompVerdict(filter, "getpid"), "allow");
 * equal(seccompVerdict(filter, "getpid", { abi: "i386" }), "kill-process");
 * equal(seccompVerdict(filter, "getpid", { abi: "x32" }), "kill-process");
 * ```
 */
export function seccompVerdict(
  filter: SeccompFilter,
  call: string | number,
  options: SeccompVerdictOptions = {},
): string {
  const abi = options.abi ?? filter.abi;
  const table = syscallTable(abi === "x32" ? "x86_64" : abi);
  let nr = typeof call === "number" ? call : table.numbers.get(call);
  if (nr === undefined) {
    throw new TypeError(`Cannot ask about "${call}": no such system call on ${abi}`);
  }
  if (abi === "x32") nr = (nr | X32_SYSCALL_BIT) >>> 0;
  const args = (options.args ?? []).map((arg) => BigInt.asUintN(64, BigInt(arg)));
  return describeSeccompResult(runBpf(filter.program, { nr, arch: table.auditArch, args }));
}
