/**
 * The seccomp layer without processes: system call tables, groups, policies
 * and their errors, the compiler's output run through the BPF interpreter,
 * OCI/Docker profiles and raw BPF.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { REPO } from "./_env.ts";
import { generate } from "../ffi/gen_syscalls.ts";
import { SYSCALLS } from "../ffi/sysno.ts";
import { syscallTable } from "../ffi/syscall_table.ts";
import {
  AUDIT_ARCH_I386,
  AUDIT_ARCH_X86_64,
  BPF_ABS,
  BPF_ALU,
  BPF_DIV,
  BPF_JA,
  BPF_JEQ,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_MEM,
  BPF_MOD,
  BPF_RET,
  BPF_ST,
  BPF_W,
  SECCOMP_RET_ALLOW,
} from "../ffi/constants.ts";
import {
  actionResult,
  bpfFilter,
  type BpfInstruction,
  checkBpf,
  compileSeccomp,
  decodeBpf,
  encodeBpf,
  expandGroup,
  filterBytes,
  parseSeccompAction,
  readBpfFilter,
  readSeccompProfile,
  runBpf,
  type SeccompPolicy,
  seccompProfilePolicy,
  seccompSteps,
  seccompVerdict,
  SYSCALL_GROUPS,
} from "../lib/seccomp/mod.ts";
import { exists, libc } from "../ffi/libc.ts";
import { holds } from "./_seccomp_run.ts";
import { disassembleBpf } from "../lib/seccomp/bpf.ts";

const DOCKER = `${REPO}tests/fixtures/docker-default.json`;
const X86 = { abi: "x86_64" } as const;

// System call tables

Deno.test({
  name: "ffi/syscall_data.ts holds exactly what `deno task syscalls` generates from this machine's headers",
  ignore: !exists("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
  async fn() {
    const text = await generate();
    const file = await Deno.makeTempFile({ suffix: ".ts" });
    try {
      await Deno.writeTextFile(file, text);
      const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", file] }).output();
      assert(fmt.success);
      assertEquals(await Deno.readTextFile(file), await Deno.readTextFile(`${REPO}ffi/syscall_data.ts`));
    } finally {
      await Deno.remove(file);
    }
  },
});

Deno.test("syscallTable() agrees with the engine's own numbers in ffi/sysno.ts", () => {
  for (const abi of ["x86_64", "aarch64"] as const) {
    const table = syscallTable(abi);
    for (const [name, nr] of Object.entries(SYSCALLS[abi]!)) assertEquals([name, table.numbers.get(name)], [name, nr]);
  }
  assertEquals(SYSCALLS.x86_64!.seccomp, 317);
  assertEquals(SYSCALLS.aarch64!.seccomp, 277);
});

Deno.test("syscallTable() knows calls newer than the installed headers and tells ABIs apart", () => {
  const x86 = syscallTable("x86_64"), i386 = syscallTable("i386"), arm = syscallTable("aarch64");
  assertEquals(x86.numbers.get("mseal"), 462);
  assertEquals(x86.numbers.get("file_setattr"), 469);
  assertEquals(x86.numbers.get("uretprobe"), 335);
  assertEquals(i386.numbers.get("mseal"), 462);
  assertEquals(arm.numbers.get("mseal"), 462);
  assertEquals(x86.numbers.get("getpid"), 39);
  assertEquals(i386.numbers.get("getpid"), 20);
  assertEquals(arm.numbers.get("getpid"), 172);
  assertEquals(x86.numbers.has("chown32"), false);
  assertEquals(i386.numbers.get("chown32"), 212);
  assertEquals(arm.numbers.has("open"), false);
  assertEquals(arm.numbers.get("openat"), 56);
  assertEquals(arm.numbers.has("arch_specific_syscall"), false);
  assertEquals(x86.names.get(165), "mount");
  assertEquals([x86.auditArch, i386.auditArch], [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386]);
});

// Groups

Deno.test("SYSCALL_GROUPS has systemd's groups, each with calls on x86-64", () => {
  for (
    const name of [
      "@mount",
      "@module",
      "@reboot",
      "@swap",
      "@raw-io",
      "@clock",
      "@debug",
      "@privileged",
      "@obsolete",
      "@keyring",
      "@cpu-emulation",
      "@default",
      "@system-service",
      "@sandbox",
    ]
  ) {
    assert(SYSCALL_GROUPS.has(name), name);
    assert(expandGroup(name, "x86_64").length > 0, `${name} is empty on x86_64`);
  }
  for (const group of SYSCALL_GROUPS.values()) {
    for (const member of group.members) {
      if (member.startsWith("@")) assert(SYSCALL_GROUPS.has(member), `${group.name} names ${member}`);
    }
  }
});

Deno.test("expandGroup() follows nested groups and leaves out calls the ABI lacks", () => {
  const privileged = expandGroup("@privileged", "x86_64");
  for (const call of ["chown", "init_module", "iopl", "reboot", "swapon", "settimeofday", "capset"]) {
    assert(privileged.includes(call), call);
  }
  assert(!privileged.includes("chown32"));
  assert(expandGroup("@privileged", "i386").includes("chown32"));
  assertEquals(expandGroup("@mount", "x86_64"), [
    "chroot",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "mount",
    "mount_setattr",
    "move_mount",
    "open_tree_attr",
    "pivot_root",
    "umount2",
  ]);
  assertEquals(expandGroup("@known", "x86_64").length, syscallTable("x86_64").numbers.size);
});

Deno.test("expandGroup() names the nearest group for an unknown one", () => {
  assertThrows(
    () => expandGroup("@mounts", "x86_64"),
    TypeError,
    'Cannot use the system call group "@mounts": no such group; did you mean "@mount"?',
  );
});

// Policies and their errors

function policyError(policy: unknown): string {
  const error = assertThrows(() => compileSeccomp(policy as SeccompPolicy, X86)) as Error;
  assert(error instanceof TypeError || error instanceof RangeError, `${error}`);
  assert(!error.message.includes("\n"), "one line");
  return error.message;
}

Deno.test("compileSeccomp() names an unknown system call, its field and the nearest valid name", () => {
  assertEquals(
    policyError({
      defaultAction: "allow",
      rules: [{ syscalls: ["read"], action: "allow" }, { syscalls: ["mout"], action: "kill-process" }],
    }),
    'Cannot filter "mout" (rules[1].syscalls[0]): no such system call on x86_64; did you mean "mount"?',
  );
  assertEquals(
    policyError({ defaultAction: "allow", rules: [{ syscalls: "@mont", action: "trap" }] }),
    'Cannot filter the group "@mont" (rules[0].syscalls[0]): no such group; did you mean "@mount"?',
  );
});

Deno.test("compileSeccomp() names an unknown action, operator or errno with the nearest valid one", () => {
  assertMatch(
    policyError({ defaultAction: "deny" }),
    /^Cannot use the seccomp action "deny" \(defaultAction\): no such action; did you mean "[a-z-]+"\?/,
  );
  assertEquals(
    policyError({ defaultAction: "allow", rules: [{ syscalls: "read", action: "kill-proces" }] }),
    'Cannot use the seccomp action "kill-proces" (rules[0].action): no such action; did you mean "kill-process"? ' +
      "(or { errno: N }, { trace: N })",
  );
  assertEquals(
    policyError({ defaultAction: "allow", rules: [{ syscalls: "read", action: { errno: "EPREM" } }] }),
    'Cannot use errno "EPREM" (rules[0].action): no such errno name',
  );
  assertEquals(
    policyError({ defaultAction: { errno: 4096 } }),
    "Cannot use errno 4096 (defaultAction): it must be 0 to 4095",
  );
  assertEquals(
    policyError({
      defaultAction: "allow",
      rules: [{ syscalls: "read", action: "trap", args: [{ index: 0, op: "=", value: 1 }] }],
    }),
    'Cannot compare with "=" (rules[0].args[0].op): no such operator; did you mean "=="?',
  );
  assertEquals(
    policyError({
      defaultAction: "allow",
      rules: [{ syscalls: "read", action: "trap", args: [{ index: 6, op: "==", value: 1 }] }],
    }),
    "Cannot compare argument 6 (rules[0].args[0].index): system calls have arguments 0 to 5",
  );
  assertEquals(
    policyError({
      defaultAction: "allow",
      rules: [{ syscalls: "read", action: "trap", args: [{ index: 0, op: "masked==", value: 1 }] }],
    }),
    'Cannot compare with "masked==" (rules[0].args[0].mask): a mask is needed',
  );
  assertEquals(
    policyError({ defaultAction: "allow", otherAbis: "allow" }),
    "Cannot allow other ABIs (otherAbis): the filter checks the native ABI only, so their calls would pass unchecked",
  );
});

Deno.test("compileSeccomp() skips calls of other ABIs and lists them", () => {
  const filter = compileSeccomp(
    { defaultAction: "allow", rules: [{ syscalls: ["chown32", "chown"], action: "trap" }] },
    X86,
  );
  assertEquals(filter.skipped, ["chown32"]);
  assertEquals(seccompVerdict(filter, "chown"), "trap");
});

Deno.test("parseSeccompAction() reads the shell's spellings", () => {
  assertEquals(parseSeccompAction("allow"), "allow");
  assertEquals(parseSeccompAction("KILL"), "kill-process");
  assertEquals(parseSeccompAction("kill-thread"), "kill-thread");
  assertEquals(parseSeccompAction("errno"), { errno: "EPERM" });
  assertEquals(parseSeccompAction("errno:38"), { errno: 38 });
  assertEquals(parseSeccompAction("trace:7"), { trace: 7 });
  assertThrows(() => parseSeccompAction("errno:EFOO"), TypeError, 'Cannot use errno "EFOO"');
  assertThrows(
    () => parseSeccompAction("alow"),
    TypeError,
    'Cannot use the seccomp action "alow": no such action; did you mean "allow"?',
  );
});

Deno.test("actionResult() gives the kernel's SECCOMP_RET values", () => {
  assertEquals(actionResult("allow"), 0x7fff0000);
  assertEquals(actionResult("log"), 0x7ffc0000);
  assertEquals(actionResult("kill-process"), 0x80000000);
  assertEquals(actionResult("kill-thread"), 0);
  assertEquals(actionResult("trap"), 0x00030000);
  assertEquals(actionResult({ errno: 38 }), 0x00050026);
  assertEquals(actionResult({ errno: "enosys" }), 0x00050026);
  assertEquals(actionResult({ trace: 65535 }), 0x7ff0ffff);
});

// The compiler, run through the interpreter

const SAMPLES: readonly bigint[] = [
  0n,
  1n,
  9n,
  10n,
  11n,
  0xffffffffn,
  0x100000000n,
  0x10000000an,
  0xffffffff0000000an,
  0xfffffffffffffff6n,
  0xffffffffffffffffn,
];

Deno.test("compileSeccomp() compares all 64 bits of each argument, unsigned", () => {
  const cases: [string, bigint, bigint][] = [];
  for (const op of ["==", "!=", "<", "<=", ">", ">="]) for (const value of SAMPLES) cases.push([op, value, 0n]);
  for (const mask of [0xffn, 0xffffffff00000000n, 0x7e020000n, 0n]) cases.push(["masked==", 0n, mask]);
  cases.push(["masked==", 0x10n, 0xf0n], ["masked==", 0x100000000n, 0x100000000n], ["masked==", 1n, 0n]);
  for (const [op, value, mask] of cases) {
    for (const index of [0, 5]) {
      const filter = compileSeccomp({
        defaultAction: "allow",
        rules: [{
          syscalls: "getpid",
          action: { errno: 9 },
          args: [op === "masked==" ? { index, op, value, mask } : { index, op: op as "==", value }],
        }],
      }, X86);
      for (const arg of [...SAMPLES, value - 1n, value + 1n].map((v) => BigInt.asUintN(64, v))) {
        const args = [0n, 0n, 0n, 0n, 0n, 0n];
        args[index] = arg;
        const expected = holds(op, arg, value, mask) ? "errno EBADF" : "allow";
        assertEquals(seccompVerdict(filter, "getpid", { args }), expected, `arg${index}=${arg} ${op} ${value}/${mask}`);
      }
    }
  }
});

Deno.test("compileSeccomp() takes negative values in two's complement and bigints beyond 2^53", () => {
  const filter = compileSeccomp({
    defaultAction: "allow",
    rules: [
      { syscalls: "openat", action: { errno: 13 }, args: [{ index: 0, op: "==", value: -100 }] },
      { syscalls: "close", action: { errno: 9 }, args: [{ index: 0, op: "==", value: 0xfedcba9876543210n }] },
    ],
  }, X86);
  assertEquals(seccompVerdict(filter, "openat", { args: [0xffffffffffffff9cn] }), "errno EACCES");
  assertEquals(seccompVerdict(filter, "openat", { args: [0xffffff9cn] }), "allow");
  assertEquals(seccompVerdict(filter, "close", { args: [0xfedcba9876543210n] }), "errno EBADF");
  assertThrows(
    () =>
      compileSeccomp({
        defaultAction: "allow",
        rules: [{ syscalls: "read", action: "trap", args: [{ index: 0, op: "==", value: 2 ** 60 }] }],
      }),
    RangeError,
    "beyond 2^53, pass a bigint",
  );
});

Deno.test("compileSeccomp() denies i386 and x32 calls, but lets a tracer's -1 through", () => {
  const filter = compileSeccomp({ defaultAction: { errno: 1 }, rules: [{ syscalls: "getpid", action: "allow" }] }, X86);
  assertEquals(seccompVerdict(filter, "getpid"), "allow");
  assertEquals(seccompVerdict(filter, "getpid", { abi: "i386" }), "kill-process");
  assertEquals(seccompVerdict(filter, "getpid", { abi: "x32" }), "kill-process");
  assertEquals(seccompVerdict(filter, 0x40000000 + 600), "kill-process");
  assertEquals(seccompVerdict(filter, 0xffffffff), "errno EPERM");
  const errno = compileSeccomp({ defaultAction: "allow", otherAbis: { errno: "ENOSYS" } }, X86);
  assertEquals(seccompVerdict(errno, "getpid", { abi: "i386" }), "errno ENOSYS");
  const arm = compileSeccomp({ defaultAction: "allow" }, { abi: "aarch64" });
  assertEquals(seccompVerdict(arm, "getpid"), "allow");
  assertEquals(runBpf(arm.program, { nr: 20, arch: 0x40000028 }), 0x80000000);
});

Deno.test("compileSeccomp(): when rules overlap the most severe action wins, whatever their order", () => {
  const rules: SeccompPolicy["rules"] = [
    { syscalls: "getpid", action: { errno: 5 }, args: [{ index: 1, op: "==", value: 1 }] },
    { syscalls: "getpid", action: "kill-process", args: [{ index: 0, op: ">", value: 10 }] },
    { syscalls: "getpid", action: "log" },
  ];
  for (const order of [rules, rules.toReversed()]) {
    const filter = compileSeccomp({ defaultAction: "allow", rules: order }, X86);
    assertEquals(seccompVerdict(filter, "getpid", { args: [37, 1] }), "kill-process");
    assertEquals(seccompVerdict(filter, "getpid", { args: [5, 1] }), "errno EIO");
    assertEquals(seccompVerdict(filter, "getpid", { args: [37, 0] }), "kill-process");
    assertEquals(seccompVerdict(filter, "getpid", { args: [5, 0] }), "log");
  }
});

Deno.test("compileSeccomp() answers ENOSYS above every named call when asked (runc's rule)", () => {
  const filter = compileSeccomp({
    defaultAction: { errno: 1 },
    newerSyscalls: { errno: "ENOSYS" },
    rules: [{ syscalls: ["read", "setns"], action: "allow" }],
  }, X86);
  assertEquals(seccompVerdict(filter, "setns"), "allow");
  assertEquals(seccompVerdict(filter, "getcpu"), "errno ENOSYS"); // 309, above setns (308)
  assertEquals(seccompVerdict(filter, "unshare"), "errno EPERM"); // 272, below
  assertEquals(seccompVerdict(filter, 0x3fffffff), "errno ENOSYS");
  assertEquals(seccompVerdict(filter, 0xffffffff), "errno EPERM");
});

Deno.test("compileSeccomp() compiles a policy once per content, and anew once it changed", () => {
  const policy = { defaultAction: "allow", rules: [{ syscalls: "@mount", action: "trap" }] } satisfies SeccompPolicy;
  const first = compileSeccomp(policy, X86);
  assert(compileSeccomp(policy, X86) === first);
  assert(compileSeccomp(structuredClone(policy), X86) === first);
  assert(compileSeccomp(policy, { abi: "aarch64" }) !== first);
  (policy.rules as SeccompPolicy["rules"] & object[]).push({ syscalls: "read", action: "trap" });
  const changed = compileSeccomp(policy, X86);
  assert(changed !== first);
  assertEquals(seccompVerdict(changed, "read"), "trap");
  assert(Object.isFrozen(first) && Object.isFrozen(first.program));
  const bytes = filterBytes(first);
  bytes.fill(0);
  assertEquals(decodeBpf(filterBytes(first)), [...first.program]);
});

Deno.test("compileSeccomp() places a jump trampoline when a target is more than 255 instructions away", () => {
  // Conditions on many calls make blocks long enough to push returns out of an 8-bit jump.
  const names = [...syscallTable("x86_64").numbers.keys()].slice(0, 120);
  const filter = compileSeccomp({
    defaultAction: { errno: 1 },
    rules: names.map((name, i) => ({
      syscalls: name,
      action: "allow",
      args: [{ index: i % 6, op: "<=" as const, value: 1000 + i }],
    })),
  }, X86);
  assert(filter.program.length > 600, `${filter.program.length}`);
  assert(filter.program.some((insn) => insn.code === (BPF_JMP | BPF_JA)), "has a ja");
  names.forEach((name, i) => {
    const args = [0, 0, 0, 0, 0, 0];
    args[i % 6] = 1000 + i;
    assertEquals(seccompVerdict(filter, name, { args }), "allow", name);
    args[i % 6] = 1001 + i;
    assertEquals(seccompVerdict(filter, name, { args }), "errno EPERM", name);
  });
});

Deno.test("compileSeccomp() refuses a policy larger than one filter holds", () => {
  const names = [...syscallTable("x86_64").numbers.keys()];
  const rules = names.flatMap((name) =>
    [1, 2, 3, 4].map((v) => ({
      syscalls: name,
      action: "allow" as const,
      args: [{ index: 0, op: "==" as const, value: v }],
    }))
  );
  assertThrows(
    () => compileSeccomp({ defaultAction: "kill-process", rules }, X86),
    RangeError,
    "Cannot compile the seccomp policy: it needs",
  );
});

// Docker's default profile

Deno.test("readSeccompProfile() loads Docker's default profile and it decides as under Docker", () => {
  const filter = compileSeccomp(readSeccompProfile(DOCKER, { arch: "x86_64", kernel: "6.18.0" }), X86);
  assert(filter.program.length < 200, `${filter.program.length} instructions`);
  for (
    const call of ["read", "write", "openat", "execve", "clone3", "ptrace", "personality", "arch_prctl", "seccomp"]
  ) {
    if (call === "clone3") assertEquals(seccompVerdict(filter, call), "errno ENOSYS", call);
    else assertEquals(seccompVerdict(filter, call), "allow", call);
  }
  for (
    const call of [
      "mount",
      "umount2",
      "unshare",
      "setns",
      "keyctl",
      "add_key",
      "reboot",
      "init_module",
      "swapon",
      "chroot",
      "bpf",
      "perf_event_open",
      "iopl",
      "open_by_handle_at",
    ]
  ) {
    assertEquals(seccompVerdict(filter, call), "errno EPERM", call);
  }
  // clone without namespace flags, socket without AF_VSOCK (40), personality with the listed values.
  assertEquals(seccompVerdict(filter, "clone", { args: [0x3d0f00] }), "allow");
  assertEquals(seccompVerdict(filter, "clone", { args: [0x10000000 | 17] }), "errno EPERM");
  assertEquals(seccompVerdict(filter, "socket", { args: [2] }), "allow");
  assertEquals(seccompVerdict(filter, "socket", { args: [40] }), "errno EPERM");
  assertEquals(seccompVerdict(filter, "personality", { args: [0xffffffff] }), "allow");
  assertEquals(seccompVerdict(filter, "personality", { args: [1] }), "errno EPERM");
  assertEquals(seccompVerdict(filter, "getpid", { abi: "i386" }), "kill-process");
  assertEquals(seccompVerdict(filter, 470), "errno ENOSYS");
  assert(filter.skipped.includes("chown32") && filter.skipped.includes("recv"));
});

Deno.test("Docker's default profile follows the capabilities given, and the kernel for minKernel", () => {
  const admin = compileSeccomp(
    readSeccompProfile(DOCKER, { arch: "x86_64", capabilities: ["CAP_SYS_ADMIN", "sys_chroot"] }),
    X86,
  );
  for (const call of ["mount", "unshare", "setns", "clone3", "chroot"]) {
    assertEquals(seccompVerdict(admin, call), "allow");
  }
  assertEquals(seccompVerdict(admin, "clone", { args: [0x10000000 | 17] }), "allow");
  assertEquals(seccompVerdict(admin, "reboot"), "errno EPERM");
  const old = compileSeccomp(readSeccompProfile(DOCKER, { arch: "x86_64", kernel: "4.4.0-generic" }), X86);
  assertEquals(seccompVerdict(old, "ptrace"), "errno EPERM");
  const arm = compileSeccomp(readSeccompProfile(DOCKER, { arch: "aarch64", kernel: "6.1" }), { abi: "aarch64" });
  assertEquals(seccompVerdict(arm, "openat"), "allow");
  assertEquals(seccompVerdict(arm, "mount"), "errno EPERM");
});

// Profile errors

function profileError(profile: unknown): string {
  const error = assertThrows(() => seccompProfilePolicy(profile, { arch: "x86_64", source: "p.json" })) as Error;
  assert(error instanceof TypeError || error instanceof RangeError, `${error}`);
  assert(!error.message.includes("\n"), "one line");
  return error.message;
}

const RULE = { names: ["read"], action: "SCMP_ACT_ALLOW" };

Deno.test("seccompProfilePolicy() names the JSON field of every mistake", () => {
  assertEquals(
    profileError({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [RULE, RULE, RULE, { names: ["x"], action: "SCMP_ACT_FOO" }],
    }),
    'Cannot use the seccomp profile "p.json": syscalls[3].action: unknown action "SCMP_ACT_FOO"; did you mean "SCMP_ACT_LOG"?',
  );
  assertEquals(profileError({ syscalls: [] }), 'Cannot use the seccomp profile "p.json": defaultAction: missing');
  assertEquals(
    profileError({ defaultAction: "SCMP_ACT_ALLOW", syscals: [] }),
    'Cannot use the seccomp profile "p.json": syscals: unknown field; did you mean "syscalls"?',
  );
  assertEquals(
    profileError({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQQ" }] }],
    }),
    'Cannot use the seccomp profile "p.json": syscalls[0].args[0].op: unknown operator "SCMP_CMP_EQQ"; did you mean "SCMP_CMP_EQ"?',
  );
  assertEquals(
    profileError({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 7, value: 1, op: "SCMP_CMP_EQ" }] }],
    }),
    'Cannot use the seccomp profile "p.json": syscalls[0].args[0].index: 7 is above 5',
  );
  assertEquals(
    profileError({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, op: "SCMP_CMP_EQ" }] }],
    }),
    'Cannot use the seccomp profile "p.json": syscalls[0].args[0].value: missing',
  );
  assertEquals(
    profileError({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: -1 }),
    'Cannot use the seccomp profile "p.json": defaultErrnoRet: must be a non-negative integer, not -1',
  );
  assertEquals(
    profileError({ defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_46"] }),
    'Cannot use the seccomp profile "p.json": architectures[0]: unknown architecture "SCMP_ARCH_X86_46"; did you mean "SCMP_ARCH_X86_64"?',
  );
  assertEquals(
    profileError({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ ...RULE, includes: { cap: ["CAP_SYS_ADMIN"] } }] }),
    'Cannot use the seccomp profile "p.json": syscalls[0].includes.cap: unknown field; did you mean "caps"?',
  );
  assertEquals(
    profileError({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ ...RULE, excludes: { minKernel: "4" } }] }),
    'Cannot use the seccomp profile "p.json": syscalls[0].excludes.minKernel: must be "<kernel>.<major>" such as "4.8", not "4"',
  );
  assertEquals(
    profileError({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read"], action: "SCMP_ACT_NOTIFY" }] }),
    'Cannot use the seccomp profile "p.json": syscalls[0].action: SCMP_ACT_NOTIFY needs a seccomp agent, which nsh does not run',
  );
  assertEquals(
    profileError({ defaultAction: "SCMP_ACT_ERRNO", flags: ["SECCOMP_FILTER_FLAG_NEW_LISTENER"] }),
    'Cannot use the seccomp profile "p.json": flags[0]: unknown or unsupported flag "SECCOMP_FILTER_FLAG_NEW_LISTENER"; ' +
      "nsh knows SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  );
});

Deno.test("readSeccompProfile() says when the file is not JSON, in one line", () => {
  const file = Deno.makeTempFileSync({ suffix: ".json" });
  try {
    Deno.writeTextFileSync(file, '{"defaultAction": "SCMP_ACT_ALLOW",\n');
    assertThrows(
      () => readSeccompProfile(file),
      TypeError,
      `Cannot use the seccomp profile "${file}": it is not JSON: `,
    );
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("seccompProfilePolicy() follows runc: errnoRet, KILL, same-as-default rules, OR of one argument", () => {
  const policy = seccompProfilePolicy({
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 38,
    flags: ["SECCOMP_FILTER_FLAG_LOG"],
    syscalls: [
      { names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }, // the default: dropped
      { names: ["getppid"], action: "SCMP_ACT_KILL" },
      { names: ["gettid"], action: "SCMP_ACT_ERRNO" },
      { names: ["getuid"], action: "SCMP_ACT_TRACE", errnoRet: 4 },
      {
        names: ["kill"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 1, value: 0, op: "SCMP_CMP_EQ" }, { index: 1, value: 15, op: "SCMP_CMP_EQ" }],
      },
      {
        names: ["tkill"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }, { index: 1, value: 15, op: "SCMP_CMP_EQ" }],
      },
      { name: "setsid", action: "SCMP_ACT_ALLOW" },
      {
        names: ["clone"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 0xff, valueTwo: 17, op: "SCMP_CMP_MASKED_EQ" }],
      },
    ],
  }, { arch: "x86_64" });
  const filter = compileSeccomp(policy, X86);
  assertEquals(filter.flags, 2);
  assertEquals(seccompVerdict(filter, "getpid"), "errno ENOSYS");
  assertEquals(seccompVerdict(filter, "getppid"), "kill-thread");
  assertEquals(seccompVerdict(filter, "gettid"), "errno EPERM");
  assertEquals(seccompVerdict(filter, "getuid"), "trace 4");
  assertEquals(seccompVerdict(filter, "kill", { args: [9, 0] }), "allow");
  assertEquals(seccompVerdict(filter, "kill", { args: [9, 15] }), "allow");
  assertEquals(seccompVerdict(filter, "kill", { args: [9, 9] }), "errno ENOSYS");
  assertEquals(seccompVerdict(filter, "tkill", { args: [1, 15] }), "allow");
  assertEquals(seccompVerdict(filter, "tkill", { args: [2, 15] }), "errno ENOSYS");
  assertEquals(seccompVerdict(filter, "setsid"), "allow");
  assertEquals(seccompVerdict(filter, "clone", { args: [0x100011] }), "allow");
  assertEquals(seccompVerdict(filter, "clone", { args: [0x100012] }), "errno ENOSYS");
});

// BPF

const ret = (k: number): BpfInstruction => ({ code: BPF_RET | BPF_K, jt: 0, jf: 0, k });
const insn = (code: number, k = 0, jt = 0, jf = 0): BpfInstruction => ({ code, jt, jf, k });

Deno.test("checkBpf() refuses what the kernel refuses, naming the instruction", () => {
  const refused: [BpfInstruction[], string][] = [
    [[], "Cannot use a seccomp filter of 0 instructions: the kernel takes 1 to 4096"],
    [[insn(BPF_LD | BPF_W | BPF_ABS, 2), ret(0)], "instruction 0 loads offset 2, outside struct seccomp_data"],
    [[insn(BPF_LD | BPF_W | BPF_ABS, 64), ret(0)], "instruction 0 loads offset 64"],
    [[insn(BPF_ALU | BPF_MOD | BPF_K, 3), ret(0)], "instruction 0 has opcode 0x94, which seccomp does not allow"],
    [[insn(BPF_LD | 0x08 | BPF_ABS, 0), ret(0)], "which seccomp does not allow"],
    [[insn(BPF_ALU | BPF_DIV | BPF_K, 0), ret(0)], "instruction 0 divides by zero"],
    [[insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), ret(0)], "instruction 0 jumps past the end of the program"],
    [[insn(BPF_JMP | BPF_JA, 1), ret(0)], "instruction 0 jumps past the end of the program"],
    [[ret(0), insn(BPF_LD | BPF_W | BPF_ABS, 0)], "it does not end with a return"],
    [[insn(BPF_LD | BPF_MEM, 3), ret(0)], "instruction 0 reads scratch word 3 before any write"],
    [[insn(BPF_ST, 16), ret(0)], "instruction 0 uses scratch word 16; there are 16"],
  ];
  for (const [program, message] of refused) assertThrows(() => checkBpf(program), RangeError, message);
  checkBpf([insn(BPF_ST, 3), insn(BPF_LD | BPF_MEM, 3), ret(SECCOMP_RET_ALLOW)]);
});

Deno.test("encodeBpf() and decodeBpf() write struct sock_filter, little-endian", () => {
  const program = [insn(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003e, 1, 2), ret(SECCOMP_RET_ALLOW)];
  const bytes = encodeBpf(program);
  assertEquals([...bytes], [0x15, 0, 1, 2, 0x3e, 0, 0, 0xc0, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]);
  assertEquals(decodeBpf(bytes), program);
  assertThrows(() => decodeBpf(bytes.subarray(0, 9)), RangeError, "9 bytes");
});

// Raw BPF

Deno.test("bpfFilter() checks the length and the program; readBpfFilter() reads a file and a pipe", () => {
  const compiled = compileSeccomp(
    { defaultAction: "allow", rules: [{ syscalls: "mount", action: { errno: 1 } }] },
    X86,
  );
  const bytes = filterBytes(compiled);
  assertThrows(
    () => bpfFilter(bytes.subarray(0, 13), { source: "descriptor 3" }),
    RangeError,
    "Cannot use the seccomp filter from descriptor 3: 13 bytes is not a whole number of 8-byte instructions",
  );
  assertThrows(() => bpfFilter(new Uint8Array(8 * 4097)), RangeError, "4097 instructions, the kernel takes 4096");
  // Eight zero bytes are `ld #0`: no return at the end.
  assertThrows(
    () => bpfFilter(new Uint8Array(8)),
    RangeError,
    "Cannot use the seccomp filter: it does not end with a return",
  );
  const file = Deno.makeTempFileSync();
  try {
    Deno.writeFileSync(file, bytes);
    assertEquals(seccompVerdict(readBpfFilter(file, X86), "mount"), "errno EPERM");
  } finally {
    Deno.removeSync(file);
  }
  const fds = new Int32Array(2);
  assertEquals(libc().pipe2(fds, 0o2000000), 0);
  try {
    assertEquals(Number(libc().write(fds[1]!, new Uint8Array(bytes), BigInt(bytes.length))), bytes.length);
    libc().close(fds[1]!);
    fds[1] = -1;
    const filter = readBpfFilter(fds[0]!, X86);
    assertEquals([...filterBytes(filter)], [...bytes]);
    assertEquals(seccompVerdict(filter, "mount"), "errno EPERM");
  } finally {
    for (const fd of fds) if (fd >= 0) libc().close(fd);
  }
});

// Steps

Deno.test("seccompSteps() sets no_new_privs first when asked and loads each filter with its flags", () => {
  const a = compileSeccomp({ defaultAction: "allow", log: true }, X86);
  const b = compileSeccomp({ defaultAction: "allow", rules: [{ syscalls: "mount", action: "trap" }] }, X86);
  const steps = seccompSteps([a, b], { noNewPrivs: true });
  assertEquals(steps.map((s) => [s.op.call, s.op.args.slice(0, 2)]), [
    ["prctl", [38, 1]],
    ["seccomp", [1, 2]],
    ["seccomp", [1, 0]],
  ]);
  assertEquals(steps[2]!.operation, `load seccomp filter 2 of 2 (${b.program.length} instructions)`);
  assertEquals(seccompSteps(b).map((s) => s.op.call), ["seccomp"]);
});

Deno.test("seccompSteps() refuses a filter under which the child could not exit", () => {
  const filter = compileSeccomp(
    { defaultAction: "allow", rules: [{ syscalls: "exit_group", action: { errno: 1 } }] },
    X86,
  );
  assertThrows(() => seccompSteps(filter), TypeError, "Cannot load seccomp filter 1: it makes exit_group return");
  const kill = compileSeccomp(
    { defaultAction: "allow", rules: [{ syscalls: "exit_group", action: "kill-process" }] },
    X86,
  );
  assertEquals(seccompSteps(kill).length, 1);
  assertThrows(
    () => seccompSteps({ abi: "x86_64", program: [ret(0)], flags: 0, skipped: [] }),
    TypeError,
    "was not made by",
  );
});

Deno.test("compileSeccomp() tests rules that each need one bit of the same argument with one jset", () => {
  const [NEWNS, NEWUSER, NEWNET] = [0x00020000, 0x10000000, 0x40000000];
  const rule = (flag: number) => ({
    syscalls: "clone",
    action: { errno: "EPERM" } as const,
    args: [{ index: 0, op: "masked==" as const, value: flag, mask: flag }],
  });
  const filter = compileSeccomp({
    defaultAction: "allow",
    rules: [rule(NEWNS), rule(NEWUSER), rule(NEWNET), {
      syscalls: "clone",
      action: { errno: "EINVAL" },
      args: [{ index: 0, op: "masked==", value: 0x100, mask: 0x100 }],
    }],
  });
  const text = disassembleBpf(filter.program).join("\n");
  assertMatch(text, /jset #0x50020000\b/);
  assertMatch(text, /jset #0x100\b/);
  const verdict = (flags: number) => seccompVerdict(filter, "clone", { args: [flags] });
  assertEquals(verdict(0x11), "allow");
  for (const flag of [NEWNS, NEWUSER, NEWNET, NEWUSER | NEWNET | 0x11]) assertEquals(verdict(flag), "errno EPERM");
  assertEquals(verdict(0x100), "errno EINVAL");
  // Where both match, the one given first decides: both are errno actions, equally severe.
  assertEquals(verdict(0x100 | NEWNET), verdict(NEWNET));
  // A bit of the high half, or a value other than the mask, keeps the general test.
  const wide = compileSeccomp({
    defaultAction: "allow",
    rules: [{
      syscalls: "clone",
      action: { errno: "EPERM" },
      args: [{ index: 0, op: "masked==", value: 0, mask: NEWNS }],
    }],
  });
  assert(!disassembleBpf(wide.program).some((line) => line.includes("jset")));
  assertEquals(seccompVerdict(wide, "clone", { args: [NEWNS] }), "allow");
  assertEquals(seccompVerdict(wide, "clone", { args: [0] }), "errno EPERM");
});
