/**
 * Seccomp profiles in the JSON of the OCI runtime spec (`linux.seccomp`) and
 * of Docker (`docker run --security-opt seccomp=FILE`), read into nsh's policy
 * model with the meaning runc gives them:
 *
 * - `SCMP_ACT_KILL` kills the thread; `errnoRet` (and `defaultErrnoRet`) is
 *   the errno of `SCMP_ACT_ERRNO` and the message of `SCMP_ACT_TRACE`, EPERM
 *   when absent;
 * - a rule whose action is the default one is dropped (libseccomp refuses it);
 * - conditions on different arguments must all hold; several conditions on
 *   the same argument are alternatives (each becomes a rule of its own);
 * - names this machine's ABI lacks, or that nsh does not know, are skipped;
 * - with a default action other than allow, log or trace, calls numbered
 *   above every call the profile names fail with ENOSYS, so that a C library
 *   falls back from a call the profile predates;
 * - Docker's `includes`/`excludes` choose rules by the container's bounding
 *   capabilities, the architecture and the kernel version.
 *
 * One difference: runc also filters the ABIs a profile lists under
 * `architectures` or `archMap` (x86 and x32 on x86-64) with the same rules;
 * nsh filters the native ABI and denies the others (`otherAbis`).
 *
 * @module
 */

import { ENOSYS } from "../../ffi/constants.ts";
import { nativeAbi } from "../../ffi/syscall_table.ts";
import { nearest } from "../nearest.ts";
import type { SeccompAction, SeccompArgCondition, SeccompOperator, SeccompPolicy, SeccompRule } from "./policy.ts";

/** Options of {@linkcode seccompProfilePolicy}. */
export interface SeccompProfileOptions {
  /**
   * The capabilities in the program's bounding set, for Docker's
   * `includes.caps`/`excludes.caps` (`CAP_SYS_ADMIN` or `sys_admin`).
   *
   * @default {[] (none)}
   */
  readonly capabilities?: Iterable<string>;
  /**
   * The kernel release for `minKernel`, such as `"6.1.0-18-amd64"`.
   *
   * @default {Deno.osRelease()}
   */
  readonly kernel?: string;
  /**
   * The architecture, as `Deno.build.arch` names it.
   *
   * @default {Deno.build.arch}
   */
  readonly arch?: string;
  /** Where the profile came from, for error messages (a file name). */
  readonly source?: string;
}

/** Docker's names of architectures in `includes.arches`, by `Deno.build.arch`. */
const DOCKER_ARCH: Readonly<Record<string, string>> = { x86_64: "amd64", aarch64: "arm64" };

const ACTIONS = [
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",
];

const OPERATORS: Readonly<Record<string, SeccompOperator>> = {
  SCMP_CMP_NE: "!=",
  SCMP_CMP_LT: "<",
  SCMP_CMP_LE: "<=",
  SCMP_CMP_EQ: "==",
  SCMP_CMP_GE: ">=",
  SCMP_CMP_GT: ">",
  SCMP_CMP_MASKED_EQ: "masked==",
};

const ARCHES = [
  "SCMP_ARCH_NATIVE",
  "SCMP_ARCH_X86",
  "SCMP_ARCH_X86_64",
  "SCMP_ARCH_X32",
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_LOONGARCH64",
  "SCMP_ARCH_M68K",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_RISCV64",
  "SCMP_ARCH_SH",
  "SCMP_ARCH_SHEB",
];

/** The flags runc knows; TSYNC means nothing for a single-threaded child. */
const FLAGS: Readonly<Record<string, boolean>> = {
  SECCOMP_FILTER_FLAG_TSYNC: false,
  SECCOMP_FILTER_FLAG_LOG: true,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: false,
};

/** The fields each object of a profile may have (Docker's and the OCI spec's). */
const FIELDS = {
  profile: [
    "defaultAction",
    "defaultErrnoRet",
    "architectures",
    "archMap",
    "flags",
    "listenerPath",
    "listenerMetadata",
    "syscalls",
    "comment",
  ],
  syscall: ["names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes"],
  arg: ["index", "value", "valueTwo", "op"],
  filter: ["caps", "arches", "minKernel"],
  archMap: ["architecture", "subArchitectures"],
} as const;

/** Reads a profile, naming the field of every mistake. */
class Reader {
  readonly #source: string;

  constructor(source: string | undefined) {
    this.#source = source ? `the seccomp profile "${source}"` : "the seccomp profile";
  }

  fail(field: string, why: string): never {
    throw new TypeError(`Cannot use ${this.#source}: ${field}: ${why}`);
  }

  range(field: string, why: string): never {
    throw new RangeError(`Cannot use ${this.#source}: ${field}: ${why}`);
  }

  object(value: unknown, field: string, fields: readonly string[]): Record<string, unknown> {
    if (!value || typeof value !== "object" || Array.isArray(value)) this.fail(field, "must be an object");
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!fields.includes(key)) {
        this.fail(`${field ? `${field}.` : ""}${key}`, `unknown field; did you mean "${nearest(key, fields)}"?`);
      }
    }
    return record;
  }

  list(value: unknown, field: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) this.fail(field, "must be a list");
    return value;
  }

  strings(value: unknown, field: string): string[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) this.fail(field, "must be a list of strings");
    value.forEach((item, i) => {
      if (typeof item !== "string") this.fail(`${field}[${i}]`, `must be a string, not ${JSON.stringify(item)}`);
    });
    return value as string[];
  }

  uint(value: unknown, field: string, max: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
      this.fail(field, `must be a non-negative integer, not ${JSON.stringify(value)}`);
    }
    if (value > max) this.range(field, `${value} is above ${max}`);
    return value;
  }

  /** A 64-bit value: JSON numbers beyond 2^53 lose digits, so a string of digits is taken too. */
  u64(value: unknown, field: string): number | bigint {
    if (typeof value === "string" && /^\d+$/.test(value)) {
      const big = BigInt(value);
      if (big >= 1n << 64n) this.range(field, `${value} is not a 64-bit value`);
      return big;
    }
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
      this.fail(field, `must be a non-negative integer, not ${JSON.stringify(value)}`);
    }
    if (!Number.isSafeInteger(value)) {
      this.range(field, `${value} is beyond 2^53, where JSON numbers lose digits; write it as a string`);
    }
    return value;
  }

  action(value: unknown, errnoRet: unknown, field: string, errnoField: string): SeccompAction {
    if (typeof value !== "string") this.fail(field, `must be a string such as "SCMP_ACT_ERRNO"`);
    if (!ACTIONS.includes(value)) {
      this.fail(field, `unknown action "${value}"; did you mean "${nearest(value, ACTIONS)}"?`);
    }
    if (value === "SCMP_ACT_NOTIFY") {
      this.fail(field, "SCMP_ACT_NOTIFY needs a seccomp agent, which nsh does not run");
    }
    const ret = errnoRet === undefined || errnoRet === null ? undefined : this.uint(errnoRet, errnoField, 0xffff);
    switch (value) {
      case "SCMP_ACT_KILL":
      case "SCMP_ACT_KILL_THREAD":
        return "kill-thread";
      case "SCMP_ACT_KILL_PROCESS":
        return "kill-process";
      case "SCMP_ACT_TRAP":
        return "trap";
      case "SCMP_ACT_ALLOW":
        return "allow";
      case "SCMP_ACT_LOG":
        return "log";
      case "SCMP_ACT_TRACE":
        return { trace: ret ?? 1 };
      default:
        if (ret !== undefined && ret > 4095) this.range(errnoField, `errno ${ret} is above 4095`);
        return { errno: ret ?? 1 };
    }
  }
}

/** "CAP_SYS_ADMIN" for "sys_admin", "CAP_SYS_ADMIN" or "cap_sys_admin". */
function capName(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
}

/** Whether the kernel `release` is at least `version` ("4.8"), comparing major and minor as Docker does. */
function kernelAtLeast(release: string, version: string): boolean {
  const [major = 0, minor = 0] = release.split(/[.-]/).map(Number);
  const [wantMajor = 0, wantMinor = 0] = version.split(".").map(Number);
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

function sameAction(a: SeccompAction, b: SeccompAction): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Reads an OCI or Docker seccomp profile (already parsed from JSON) into a
 * policy for the native ABI.
 *
 * @param profile The profile, as `JSON.parse` returns it.
 * @param options The program's capabilities, the kernel and architecture, and
 *   the file name for messages.
 * @returns The policy (compile it with `compileSeccomp`).
 * @throws {TypeError} For a mistake in the profile, naming the JSON field:
 *   `syscalls[3].action: unknown action "SCMP_ACT_FOO"; did you mean "SCMP_ACT_LOG"?`.
 * @throws {RangeError} For a value out of range, naming the field.
 *
 * @example A rule for holders of CAP_SYS_CHROOT, as Docker's profile has
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { compileSeccomp, seccompProfilePolicy, seccompVerdict } from "@nsh/nsh";
 *
 * const profile = {
 *   defaultAction: "SCMP_ACT_ERRNO",
 *   defaultErrnoRet: 1,
 *   syscalls: [
 *     { names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" },
 *     { names: ["chroot"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_CHROOT"] } },
 *   ],
 * };
 * const plain = compileSeccomp(seccompProfilePolicy(profile, { arch: "x86_64" }), { abi: "x86_64" });
 * equal(seccompVerdict(plain, "chroot"), "errno EPERM");
 * const chroot = seccompProfilePolicy(profile, { arch: "x86_64", capabilities: ["sys_chroot"] });
 * equal(seccompVerdict(compileSeccomp(chroot, { abi: "x86_64" }), "chroot"), "allow");
 * // Numbered above every call the profile names: ENOSYS, as runc answers.
 * equal(seccompVerdict(plain, "unshare"), "errno ENOSYS");
 * ```
 */
export function seccompProfilePolicy(profile: unknown, options: SeccompProfileOptions = {}): SeccompPolicy {
  const r: Reader = new Reader(options.source);
  const arch = options.arch ?? Deno.build.arch;
  if (!nativeAbi(arch)) {
    throw new Error(`Cannot use a seccomp profile on ${arch}: nsh has system call tables for x86_64 and aarch64`);
  }
  const dockerArch = DOCKER_ARCH[arch]!;
  const caps = new Set([...(options.capabilities ?? [])].map(capName));
  // Read only when a rule asks for a kernel version.
  let release = options.kernel;
  const kernel = () => (release ??= Deno.osRelease());
  const top = r.object(profile, "", FIELDS.profile);
  if (top.defaultAction === undefined) r.fail("defaultAction", "missing");
  const defaultAction = r.action(top.defaultAction, top.defaultErrnoRet, "defaultAction", "defaultErrnoRet");
  if (top.architectures !== undefined && top.archMap !== undefined) {
    r.fail("archMap", "a profile has either architectures or archMap, not both");
  }
  for (const [i, name] of r.strings(top.architectures, "architectures").entries()) {
    if (!ARCHES.includes(name)) {
      r.fail(`architectures[${i}]`, `unknown architecture "${name}"; did you mean "${nearest(name, ARCHES)}"?`);
    }
  }
  {
    r.list(top.archMap, "archMap").forEach((entry, i) => {
      const map = r.object(entry, `archMap[${i}]`, FIELDS.archMap);
      const names = [map.architecture, ...r.strings(map.subArchitectures, `archMap[${i}].subArchitectures`)];
      names.forEach((name, j) => {
        const field = j === 0 ? `archMap[${i}].architecture` : `archMap[${i}].subArchitectures[${j - 1}]`;
        if (typeof name !== "string" || !ARCHES.includes(name)) {
          r.fail(
            field,
            `unknown architecture ${JSON.stringify(name)}; did you mean "${nearest(String(name), ARCHES)}"?`,
          );
        }
      });
    });
  }
  let log = false;
  for (const [i, flag] of r.strings(top.flags, "flags").entries()) {
    if (!(flag in FLAGS)) {
      r.fail(`flags[${i}]`, `unknown or unsupported flag "${flag}"; nsh knows ${Object.keys(FLAGS).join(", ")}`);
    }
    log ||= FLAGS[flag]!;
  }
  if (top.listenerPath !== undefined && top.listenerPath !== "") {
    r.fail("listenerPath", "a seccomp agent (SCMP_ACT_NOTIFY) is not supported by nsh");
  }
  const rules: SeccompRule[] = [];
  r.list(top.syscalls, "syscalls").forEach((item, i) => {
    const at = `syscalls[${i}]`;
    const call = r.object(item, at, FIELDS.syscall);
    let names = r.strings(call.names, `${at}.names`);
    if (call.name !== undefined) {
      if (names.length) r.fail(`${at}.name`, "give either name or names, not both");
      if (typeof call.name !== "string") r.fail(`${at}.name`, "must be a string");
      names = [call.name as string];
    }
    names.forEach((name, j) => {
      if (name === "") r.fail(`${at}.names[${j}]`, "an empty name");
    });
    if (call.action === undefined) r.fail(`${at}.action`, "missing");
    const action = r.action(call.action, call.errnoRet, `${at}.action`, `${at}.errnoRet`);
    const args: SeccompArgCondition[] = [];
    {
      r.list(call.args, `${at}.args`).forEach((entry, j) => {
        const field = `${at}.args[${j}]`;
        const arg = r.object(entry, field, FIELDS.arg);
        const index = r.uint(arg.index, `${field}.index`, 5);
        if (arg.value === undefined) r.fail(`${field}.value`, "missing");
        const value = r.u64(arg.value, `${field}.value`);
        const valueTwo = arg.valueTwo === undefined || arg.valueTwo === null
          ? 0
          : r.u64(arg.valueTwo, `${field}.valueTwo`);
        if (typeof arg.op !== "string" || !(arg.op in OPERATORS)) {
          r.fail(
            `${field}.op`,
            `unknown operator ${JSON.stringify(arg.op)}; did you mean "${
              nearest(String(arg.op), Object.keys(OPERATORS))
            }"?`,
          );
        }
        const op = OPERATORS[arg.op as string]!;
        // SCMP_CMP_MASKED_EQ: value is the mask, valueTwo the datum.
        args.push(op === "masked==" ? { index, op, mask: value, value: valueTwo } : { index, op, value });
      });
    }
    if (!chosen(r, call.includes, `${at}.includes`, true, caps, dockerArch, kernel)) return;
    if (!chosen(r, call.excludes, `${at}.excludes`, false, caps, dockerArch, kernel)) return;
    if (!names.length || sameAction(action, defaultAction)) return;
    // runc: conditions on the same argument are alternatives.
    const counts = new Map<number, number>();
    for (const arg of args) counts.set(arg.index, (counts.get(arg.index) ?? 0) + 1);
    if ([...counts.values()].some((n) => n > 1)) {
      for (const arg of args) rules.push({ syscalls: names, action, args: [arg] });
    } else rules.push({ syscalls: names, action, ...(args.length ? { args } : {}) });
  });
  const allows = defaultAction === "allow" || defaultAction === "log" ||
    (typeof defaultAction === "object" && "trace" in defaultAction);
  return {
    defaultAction,
    rules,
    ...(allows ? {} : { newerSyscalls: { errno: ENOSYS } }),
    ...(log ? { log } : {}),
    skipUnknown: true,
  };
}

/** Whether Docker's `includes` (all must hold) or `excludes` (none may hold) keeps a rule. */
function chosen(
  r: Reader,
  value: unknown,
  field: string,
  include: boolean,
  caps: ReadonlySet<string>,
  arch: string,
  kernel: () => string,
): boolean {
  if (value === undefined || value === null) return true;
  const filter = r.object(value, field, FIELDS.filter);
  const arches = r.strings(filter.arches, `${field}.arches`);
  const needCaps = r.strings(filter.caps, `${field}.caps`);
  let minKernel: string | undefined;
  if (filter.minKernel !== undefined && filter.minKernel !== null && filter.minKernel !== "") {
    if (typeof filter.minKernel !== "string" || !/^\d+\.\d+$/.test(filter.minKernel)) {
      r.fail(`${field}.minKernel`, `must be "<kernel>.<major>" such as "4.8", not ${JSON.stringify(filter.minKernel)}`);
    }
    minKernel = filter.minKernel;
  }
  if (include) {
    if (arches.length && !arches.includes(arch)) return false;
    if (needCaps.some((cap) => !caps.has(capName(cap)))) return false;
    if (minKernel && !kernelAtLeast(kernel(), minKernel)) return false;
    return true;
  }
  if (arches.length && arches.includes(arch)) return false;
  if (needCaps.some((cap) => caps.has(capName(cap)))) return false;
  if (minKernel && kernelAtLeast(kernel(), minKernel)) return false;
  return true;
}

/**
 * Reads an OCI or Docker seccomp profile file into a policy.
 *
 * @example A profile in Docker's format, as a policy nsh compiles
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileSeccomp, readSeccompProfile, seccompVerdict } from "@nsh/nsh";
 *
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(path, JSON.stringify({
 *   defaultAction: "SCMP_ACT_ALLOW",
 *   syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }],
 * }));
 * const filter = compileSeccomp(readSeccompProfile(path), { abi: "x86_64" });
 * assert.equal(seccompVerdict(filter, "mkdir"), "errno EACCES");
 * assert.equal(seccompVerdict(filter, "rmdir"), "allow");
 * await Deno.remove(path);
 * ```
 *
 * @param path The JSON file.
 * @param options As {@linkcode seccompProfilePolicy}; `source` defaults to `path`.
 * @returns The policy.
 * @throws {TypeError} For a file that is not JSON, or a mistake in the profile (naming the field).
 * @throws {Deno.errors.NotFound} When there is no such file.
 */
export function readSeccompProfile(path: string, options: SeccompProfileOptions = {}): SeccompPolicy {
  const text = Deno.readTextFileSync(path);
  let profile: unknown;
  try {
    profile = JSON.parse(text);
  } catch (error) {
    throw new TypeError(`Cannot use the seccomp profile "${path}": it is not JSON: ${(error as Error).message}`);
  }
  return seccompProfilePolicy(profile, { source: path, ...options });
}
