/**
 * Landlock: what the kernel enforces, rules resolved for each ABI (best
 * effort, strict, optional), the child's steps, and real children restricted
 * by them, as root and as `nobody` in a user namespace.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { hasProgram, IS_ROOT, REPO, runUnprivileged } from "./_env.ts";
import { type RunResult, runScenarios, SCENARIOS } from "./_landlock_probe.ts";
import {
  foldLandlockPolicies,
  type LandlockPolicy,
  landlockReport,
  landlockSupport,
  resolveLandlock,
} from "../lib/landlock.ts";
import { landlockScratchFd, landlockSteps } from "../lib/landlock_steps.ts";
import { KINDS, landlock } from "../lib/steps/landlock.ts";
import { routine } from "../ffi/routine.ts";
import { EACCES } from "../ffi/constants.ts";

const support = landlockSupport();
const ABI = support.abi;
const canDrop = !IS_ROOT || hasProgram("setpriv");

// ---------------------------------------------------------------- the kernel

Deno.test({
  name: "landlockSupport() lists exactly the rights the kernel accepts in a ruleset",
  ignore: ABI === 0,
  fn() {
    // An independent check of the version answer: create (and close) a
    // ruleset handling each right alone; the kernel refuses rights it does not know.
    const r = routine();
    const accepts = (offset: number, bit: number): boolean => {
      const attr = new BigUint64Array(3);
      attr[offset] = BigInt(bit);
      const pointer = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(attr)));
      const fd = r.syscall(r.sysno.landlock_create_ruleset, pointer, (offset + 1) * 8, 0);
      if (fd >= 0) r.syscall(r.sysno.close, fd);
      return fd >= 0;
    };
    const fsBits = 16, netBits = 2, scopeBits = 2;
    const all = landlockSupport(7);
    const accepted = {
      fs: all.fs.filter((_, i) => i < fsBits && accepts(0, 1 << i)),
      net: all.net.filter((_, i) => i < netBits && accepts(1, 1 << i)),
      scopes: all.scopes.filter((_, i) => i < scopeBits && accepts(2, 1 << i)),
    };
    assertEquals(accepted, { fs: [...support.fs], net: [...support.net], scopes: [...support.scopes] });
    // The next bit after what nsh knows: a kernel of a later ABI may accept it.
    if (ABI <= 7) assert(!accepts(0, 1 << fsBits), "an unknown filesystem right was accepted");
  },
});

Deno.test("landlockSupport() of an ABI lists what each ABI adds", () => {
  assertEquals(landlockSupport(1).fs.length, 13);
  assertEquals(landlockSupport(2).fs.at(-1), "refer");
  assertEquals(landlockSupport(3).fs.at(-1), "truncate");
  assertEquals(landlockSupport(3).net, []);
  assertEquals(landlockSupport(4).net, ["bind_tcp", "connect_tcp"]);
  assertEquals(landlockSupport(5).fs.at(-1), "ioctl_dev");
  assertEquals(landlockSupport(5).scopes, []);
  assertEquals(landlockSupport(6).scopes, ["abstract_unix_socket", "signal"]);
  assertEquals(landlockSupport(6).logFlags, false);
  assertEquals(landlockSupport(7).logFlags, true);
  assertEquals(landlockSupport(0).unavailable, "Landlock is not available (ABI 0)");
  assertThrows(() => landlockSupport(-1), RangeError, "Cannot use Landlock ABI -1: not a version number");
});

Deno.test("landlockReport() says what the running kernel enforces, one line per ABI", () => {
  const lines = landlockReport(support);
  if (ABI === 0) {
    assertMatch(lines[0]!, /^Landlock is not available: /);
    return;
  }
  assertMatch(lines[0]!, new RegExp(`^Landlock ABI ${ABI} \\(Linux [0-9.]+ or later\\)$`));
  assertEquals(lines.slice(1, 8).map((line) => line.slice(0, 14)), [
    ...[1, 2, 3, 4, 5, 6, 7].map((abi) => `  ${ABI >= abi ? "yes" : "no "}  ABI ${abi}  `),
  ]);
  assertEquals(lines[1], `  yes  ABI 1  filesystem: ${landlockSupport(1).fs.join(", ")}`);
  assertEquals(lines[7], "  " + (ABI >= 7 ? "yes" : "no ") + "  ABI 7  audit logging flags of landlock_restrict_self");
  for (const n of support.errata) assert(lines.some((line) => line.startsWith(`  erratum ${n} fixed`)));
});

// ---------------------------------------------------------------- resolving for an ABI

const port80: LandlockPolicy = { rules: [{ kind: "port", port: 80, access: "connect" }] };
const rwTmp: LandlockPolicy = { rules: [{ kind: "path", path: "/tmp", access: "rw" }] };

Deno.test("resolveLandlock() says which ABI a rule needs, one line", () => {
  assertThrows(
    () => resolveLandlock(port80, { abi: 3 }),
    Error,
    "Cannot restrict TCP connect to port 80: Landlock ABI 4 is needed, this kernel has ABI 3",
  );
  const error = assertThrows(() => resolveLandlock(port80, { abi: 3 })) as Error;
  assertEquals(error.constructor, Error); // the CLI prints a plain Error as one line
  assertEquals(error.message.includes("\n"), false);
  assertThrows(
    () => resolveLandlock({ rules: [{ kind: "scope", scope: "signal" }] }, { abi: 5 }),
    Error,
    "Cannot restrict signals to processes outside the sandbox: Landlock ABI 6 is needed, this kernel has ABI 5",
  );
  assertThrows(
    () => resolveLandlock({ rules: [{ kind: "port", port: 8080, access: ["bind_tcp", "connect_tcp"] }] }, { abi: 1 }),
    Error,
    "Cannot restrict TCP bind and connect on port 8080: Landlock ABI 4 is needed, this kernel has ABI 1",
  );
  assertThrows(
    () => resolveLandlock({ rules: [], handledNet: "all" }, { abi: 3 }),
    Error,
    "Cannot restrict bind_tcp, connect_tcp: Landlock ABI 4 is needed, this kernel has ABI 3",
  );
});

Deno.test("resolveLandlock() in best effort drops the filesystem rights an ABI lacks", () => {
  const bits = (abi: number) => resolveLandlock(rwTmp, { abi });
  assertEquals(bits(1).handledFs, 0x1fff);
  assertEquals(bits(2).handledFs, 0x3fff);
  assertEquals(bits(3).handledFs, 0x7fff);
  assertEquals(bits(4).handledFs, 0x7fff);
  assertEquals(bits(5).handledFs, 0xffff);
  assertEquals(bits(7).handledFs, 0xffff);
  assertEquals(bits(7).dropped, []);
  assertEquals(bits(4).dropped, [
    "the right to use ioctl on devices is not restricted: Landlock ABI 5 is needed, this kernel has ABI 4",
  ]);
  // Before ABI 2 a rename or link into another directory is always denied.
  assertEquals(bits(1).dropped, [
    "the right to truncate files is not restricted: Landlock ABI 3 is needed, this kernel has ABI 1",
    "the right to use ioctl on devices is not restricted: Landlock ABI 5 is needed, this kernel has ABI 1",
    'renaming or linking files into other directories beneath "/tmp" stays denied: Landlock ABI 2 is needed, ' +
    "this kernel has ABI 1",
  ]);
  assertEquals(bits(1).paths, [{ path: "/tmp", access: 0x1ffe, label: "read-write" }]);
  // An ABI newer than nsh knows restricts what nsh knows.
  assertEquals(bits(9).handledFs, 0xffff);
});

Deno.test("resolveLandlock() in strict mode refuses what the ABI lacks", () => {
  const strict = (policy: LandlockPolicy): LandlockPolicy => ({ ...policy, compat: "strict" });
  assertThrows(
    () => resolveLandlock(strict(rwTmp), { abi: 4 }),
    Error,
    "Cannot restrict the right to use ioctl on devices: Landlock ABI 5 is needed, this kernel has ABI 4",
  );
  assertThrows(
    () => resolveLandlock(strict({ ...rwTmp, handledFs: ["write_file"] }), { abi: 1 }),
    Error,
    'Cannot let the program link or rename files into other directories beneath "/tmp": Landlock ABI 2 is needed',
  );
  // Before ABI 2 reparenting is denied everywhere: stricter, so a read-only policy holds.
  const ro = resolveLandlock(
    strict({ rules: [{ kind: "path", path: "/usr", access: "rox" }], handledFs: ["execute", "read_file", "refer"] }),
    { abi: 1 },
  );
  assertEquals([ro.handledFs, ro.dropped], [0x5, []]);
  assertThrows(
    () =>
      resolveLandlock(
        strict({ rules: [{ kind: "path", path: "/x", access: ["truncate"] }], handledFs: ["read_file"] }),
        {
          abi: 2,
        },
      ),
    Error,
    'Cannot let the program truncate files beneath "/x": Landlock ABI 3 is needed, this kernel has ABI 2',
  );
  assertThrows(
    () => resolveLandlock(strict({ rules: [], handledFs: "all", log: { sameExec: false } }), { abi: 6 }),
    Error,
    "Cannot change Landlock's audit logging: Landlock ABI 7 is needed, this kernel has ABI 6",
  );
  assertEquals(resolveLandlock(strict(rwTmp), { abi: 7 }).handledFs, 0xffff);
});

Deno.test("resolveLandlock() in optional mode drops whole rules, down to no Landlock", () => {
  const policy: LandlockPolicy = {
    compat: "optional",
    rules: [...rwTmp.rules, ...port80.rules, { kind: "scope", scope: "abstract_unix_socket" }],
    log: { newExec: true },
  };
  const three = resolveLandlock(policy, { abi: 3 });
  assertEquals(three.handledNet, 0);
  assertEquals(three.scoped, 0);
  assertEquals(three.restrictFlags, 0);
  assertEquals(three.dropped, [
    "the right to use ioctl on devices is not restricted: Landlock ABI 5 is needed, this kernel has ABI 3",
    "restrict TCP connect to port 80: Landlock ABI 4 is needed, this kernel has ABI 3",
    "restrict connections to abstract unix sockets made outside the sandbox: Landlock ABI 6 is needed, " +
    "this kernel has ABI 3",
    "the audit logging flags are left out: Landlock ABI 7 is needed, this kernel has ABI 3",
  ]);
  const none = resolveLandlock(policy, { abi: 0 });
  assertEquals(none.dropped, ["every Landlock rule: Landlock is not available (ABI 0)"]);
  assertEquals(landlockSteps(none, { scratchFd: 9 }).ops, []);
  assertThrows(
    () => resolveLandlock({ ...policy, compat: "best-effort" }, { abi: 0 }),
    Error,
    'Cannot add a Landlock rule for "/tmp" (read-write): Landlock is not available (ABI 0)',
  );
  const seven = resolveLandlock(policy, { abi: 7 });
  assertEquals([seven.handledNet, seven.scoped, seven.restrictFlags, seven.dropped], [2, 1, 2, []]);
});

Deno.test("resolveLandlock() names a bad rule, with the nearest valid name", () => {
  const path = (access: unknown): LandlockPolicy => ({
    rules: [{ kind: "path", path: "/usr", access } as LandlockPolicy["rules"][number]],
  });
  assertThrows(
    () => resolveLandlock(path("rx"), { abi: 7 }),
    TypeError,
    'Unknown Landlock access "rx" for "/usr"; the nearest is "rox" (ro, rw, x, rox, rwx or a list of rights)',
  );
  assertThrows(() => resolveLandlock(path("toString"), { abi: 7 }), TypeError, 'Unknown Landlock access "toString"');
  assertThrows(
    () => resolveLandlock(path(["read_file", "truncat"]), { abi: 7 }),
    TypeError,
    'Unknown Landlock right "truncat" for "/usr"; the nearest is "truncate"',
  );
  assertThrows(
    () => resolveLandlock(path([]), { abi: 7 }),
    TypeError,
    'Cannot add a Landlock rule for "/usr": it allows nothing',
  );
  assertThrows(
    () => resolveLandlock({ rules: [{ kind: "path", path: "", access: "ro" }] }, { abi: 7 }),
    TypeError,
    "Cannot add a Landlock rule for an empty path",
  );
  assertThrows(
    () => resolveLandlock({ rules: [{ kind: "port", port: 70000, access: "bind" }] }, { abi: 7 }),
    RangeError,
    "Cannot add a Landlock rule for TCP port 70000: a port is 0 to 65535",
  );
  assertThrows(
    () => resolveLandlock({ rules: [{ kind: "scope", scope: "signals" as "signal" }] }, { abi: 7 }),
    TypeError,
    'Unknown Landlock scope "signals"; the nearest is "signal"',
  );
  assertThrows(
    () => resolveLandlock({ ...rwTmp, compat: "lenient" as "strict" }, { abi: 7 }),
    TypeError,
    'Unknown Landlock compatibility "lenient"',
  );
});

// ---------------------------------------------------------------- the child's steps

/** The bytes of a `{ bytes }` argument. */
function bytesOf(arg: unknown): number[] {
  return [...(arg as { bytes: Uint8Array }).bytes];
}

Deno.test("landlockSteps() writes the attributes the kernel reads, sized by what is used", () => {
  const u64 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >> 24) & 0xff, 0, 0, 0, 0];
  const fsOnly = landlockSteps(resolveLandlock(rwTmp, { abi: 3 }), { scratchFd: 300, noNewPrivs: false });
  assertEquals(fsOnly.ops[0]!.call, "landlock_create_ruleset");
  assertEquals(bytesOf(fsOnly.ops[0]!.args[0]), u64(0x7fff));
  assertEquals(fsOnly.ops[0]!.args[1], 8);
  // A read-write rule holds directory rights: first what a file may hold, then all, ignored on a file.
  const adds = fsOnly.ops.filter((op) => op.call === "landlock_add_rule");
  assertEquals(adds.map((op) => [bytesOf(op.args[2]), op.ignore ?? false]), [
    [[...u64(0x4002 | 0x4), 44, 1, 0, 0], false],
    [[...u64(0x7ffe), 44, 1, 0, 0], true],
  ]);
  assertEquals(fsOnly.ops.find((op) => op.call === "dup3")!.args[1], 300);

  const all = landlockSteps(
    resolveLandlock({ rules: [...port80.rules, { kind: "scope", scope: "signal" }] }, { abi: 7 }),
    { firstStep: 40 },
  );
  assertEquals(all.ops.map((op) => op.call), [
    "prctl",
    "landlock_create_ruleset",
    "landlock_add_rule",
    "landlock_restrict_self",
    "close",
  ]);
  assertEquals(bytesOf(all.ops[1]!.args[0]), [...u64(0), ...u64(2), ...u64(2)]);
  assertEquals(all.ops[1]!.args[1], 24);
  assertEquals(bytesOf(all.ops[2]!.args[2]), [...u64(2), ...u64(80)]);
  // Results are loaded by index in the whole program.
  assertEquals(all.ops[2]!.args[0], { result: 41 });
  assertEquals(all.ops[3]!.args[0], { result: 41 });
  assertEquals(all.infos.map((info) => info.role), ["landlock", "landlock", "landlock", "landlock", "landlock"]);

  const execute = landlockSteps(
    resolveLandlock({ rules: [{ kind: "path", path: "/bin/x", access: "x" }] }, { abi: 7 }),
    {
      scratchFd: 5,
    },
  );
  assertEquals(execute.ops.filter((op) => op.call === "landlock_add_rule").length, 1);
  assertThrows(
    () => landlockSteps(resolveLandlock(rwTmp, { abi: 7 })),
    TypeError,
    "Cannot prepare Landlock path rules: no scratch descriptor is given (scratchFd)",
  );
  assertThrows(() => landlockSteps(resolveLandlock(rwTmp, { abi: 7 }), { scratchFd: 1 }), RangeError);
});

// ---------------------------------------------------------------- real children

/** What each scenario must show; `ctx` has the directory and the ports it ran with. */
const CHECKS: Record<string, (r: RunResult, ctx: { dir: string; ports: { allowed: number; denied: number } }) => void> =
  {
    readOnly(r, { dir }) {
      assertEquals(r.output, `hello\n/bin/sh: 1: cannot create ${dir}/ro/new: Permission denied\nstatus=2\n`);
    },
    readOnlyLogFlags(r, { dir }) {
      assertEquals(r.output, `hello\n/bin/sh: 1: cannot create ${dir}/ro/new: Permission denied\nstatus=2\n`);
    },
    readOnlyStep(r, { dir }) {
      assertEquals(r.output, `hello\n/bin/sh: 1: cannot create ${dir}/ro/new: Permission denied\nstatus=2\ndata\n`);
    },
    missingPathStep(r, { dir }) {
      assertEquals(
        r.error,
        `Cannot open "${dir}/no-such-dir" for a Landlock rule: open() failed with ENOENT (No such file or directory); ` +
          "the path must exist in the sandbox, as the program sees it (after its mounts and root change)",
      );
    },
    readOnlyAbi1(r, { dir }) {
      assertEquals(r.output, `hello\n/bin/sh: 1: cannot create ${dir}/ro/new: Permission denied\nstatus=2\n`);
    },
    hostRo(r) {
      assertEquals(r.output, "existing");
    },
    readWrite(r) {
      assertEquals([r.status, r.output], [0, "data\ndone\n"]);
    },
    fileRule(r, { dir }) {
      assertEquals(r.output, `hello\nmore\nls: cannot open directory '${dir}/file': Permission denied\nstatus=2\n`);
    },
    noExecute(r, { dir }) {
      assertEquals(r.output, `/bin/sh: 1: ${dir}/x/true: Permission denied\nstatus=126\n`);
    },
    execute(r) {
      assertEquals(r.output, "status=0\n");
    },
    execveDenied(r) {
      assertEquals([r.errno, r.status], [EACCES, 127]);
    },
    tcp(r, { ports }) {
      assertEquals(
        r.output,
        `connected ${ports.allowed}\n/bin/bash: connect: Permission denied\n` +
          `/bin/bash: line 1: /dev/tcp/127.0.0.1/${ports.denied}: Permission denied\nend\n`,
      );
    },
    tcpUnrestricted(r, { ports }) {
      assertEquals(r.output, `connected ${ports.denied}\n`);
    },
    status(r) {
      // Linux 6.18 shows no Landlock field in /proc/PID/status: no_new_privs is what it shows.
      assertMatch(r.output, /^NoNewPrivs:\t1\n/);
    },
    statusWithoutNoNewPrivs(r) {
      assertEquals(r.output, "NoNewPrivs:\t0\n");
    },
    plainWithoutNoNewPrivs(r) {
      // As root: CAP_SYS_ADMIN lets it restrict itself without no_new_privs.
      assertEquals(r.output, "NoNewPrivs:\t0\n");
    },
    signalScoped(r) {
      assertEquals(r.output, "/bin/sh: 1: kill: Operation not permitted\n\nstatus=1\n");
    },
    signalUnscoped(r) {
      assertEquals(r.output, "signalled\nstatus=0\n");
    },
    childPath(r, { dir }) {
      assertEquals(r.output, `x\n/bin/sh: 1: cannot create ${dir}/tmpfs/other: Permission denied\nend\n`);
    },
    hostTmpfs(r) {
      assertEquals(r.output, "");
    },
    plainReadOnly(r, { dir }) {
      assertEquals(r.output, `hello\n/bin/sh: 1: cannot create ${dir}/ro/new: Permission denied\nstatus=2\n`);
    },
    missingPath(r, { dir }) {
      assertEquals(r.status, 127);
      assertEquals(
        r.error,
        `Cannot open "${dir}/no-such-dir" for a Landlock rule: open() failed with ENOENT (No such file or directory); ` +
          "the path must exist in the sandbox, as the program sees it (after its mounts and root change)",
      );
    },
  };

/** The scenarios this kernel's ABI can run. */
function runnable(names: readonly string[]): string[] {
  return names.filter((name) => {
    if (!SCENARIOS.includes(name)) return false;
    if (name.startsWith("tcp")) return ABI >= 4;
    if (name.startsWith("signal")) return ABI >= 6;
    if (name === "readOnlyLogFlags") return ABI >= 7;
    return true;
  });
}

/** Runs scenarios as root and applies their checks. */
async function rootCheck(names: string[]): Promise<void> {
  const { results, dir, ports } = await runScenarios(runnable(names), false);
  for (const name of [...runnable(names), ...names.filter((n) => n.startsWith("host"))]) {
    CHECKS[name]!(results[name]!, { dir, ports });
  }
}

const asRoot = { ignore: !IS_ROOT || ABI === 0 };

Deno.test({
  name: "landlockSteps(): a write beneath a read-only path fails with EACCES, root included",
  ...asRoot,
  fn: () => rootCheck(["readOnly", "readOnlyAbi1", "readOnlyLogFlags", "hostRo"]),
});

Deno.test({
  name: "landlockSteps(): a read-write path allows writing, creating and removing, on a directory or a file",
  ...asRoot,
  fn: () => rootCheck(["readWrite", "fileRule"]),
});

Deno.test({
  name: "landlockSteps(): without the execute right execve fails with EACCES",
  ...asRoot,
  fn: () => rootCheck(["noExecute", "execute", "execveDenied"]),
});

Deno.test({
  name: "landlockSteps(): a TCP connect to a port without a rule fails with EACCES",
  ignore: asRoot.ignore || ABI < 4,
  fn: () => rootCheck(["tcp", "tcpUnrestricted"]),
});

Deno.test({
  name: "landlockSteps(): /proc/self/status of the program shows no_new_privs",
  ...asRoot,
  fn: () => rootCheck(["status", "statusWithoutNoNewPrivs", "plainWithoutNoNewPrivs"]),
});

Deno.test({
  name: "landlockSteps(): the signal scope denies signals to processes outside the sandbox",
  ignore: asRoot.ignore || ABI < 6,
  fn: () => rootCheck(["signalScoped", "signalUnscoped"]),
});

Deno.test({
  name: "landlockSteps(): paths are those the child sees, after its mounts",
  ...asRoot,
  fn: () => rootCheck(["childPath", "hostTmpfs"]),
});

Deno.test({
  name: "landlockSteps(): a missing path is named in one line with a hint",
  ...asRoot,
  fn: () => rootCheck(["missingPath"]),
});

Deno.test({
  name: "landlock() steps fold, compile through an emitter with the process's scratch descriptor, restrict a child",
  ...asRoot,
  fn: () => rootCheck(["readOnlyStep", "missingPathStep"]),
});

Deno.test("foldLandlockPolicies() keeps every restriction and every allowance of the policies", () => {
  const folded = foldLandlockPolicies([
    { rules: [{ kind: "path", path: "/usr", access: "rox" }], log: { sameExec: false } },
    { rules: [{ kind: "port", port: 443, access: "connect" }], handledNet: ["bind_tcp"], compat: "optional" },
    { rules: [{ kind: "scope", scope: "signal" }], compat: "strict", log: { newExec: true } },
  ]);
  assertEquals(folded.rules.length, 3);
  assertEquals(folded.handledFs, "auto");
  assertEquals(folded.handledNet, ["bind_tcp"]);
  assertEquals(folded.compat, "strict");
  assertEquals(folded.log, { sameExec: false, newExec: true });
  const ruleset = resolveLandlock(folded, { abi: 7 });
  assertEquals([ruleset.handledFs, ruleset.scoped, ruleset.paths.length], [0xffff, 2, 1]);
  // The one policy that named what it restricts on TCP named bind only: the connect rule allows nothing more.
  assertEquals(ruleset.ports, []);
  const both = foldLandlockPolicies([
    { rules: [{ kind: "port", port: 443, access: "connect" }] },
    { rules: [], handledFs: ["read_file"] },
  ]);
  assertEquals([both.handledFs, both.handledNet], [["read_file"], "auto"]);
  const mixed = foldLandlockPolicies([
    { rules: [{ kind: "path", path: "/usr", access: "ro" }] },
    { rules: [], handledFs: ["read_file"] },
  ]);
  assertEquals((mixed.handledFs as string[]).length, 16);
  assertEquals(foldLandlockPolicies([]), { rules: [], handledFs: "auto", handledNet: "auto", compat: "best-effort" });
});

Deno.test("landlock() steps are checked when planned, folded, written back by export, and hinted", () => {
  const [kind] = KINDS;
  const step = landlock({ rules: [{ kind: "path", path: "/srv", access: "ro" }] });
  assertEquals([kind.phase, kind.repeats], ["harden", "fold"]);
  const folded = kind.fold!([
    step,
    landlock({ rules: [{ kind: "path", path: "/tmp", access: "rw" }] }, { noNewPrivs: false }),
  ]);
  assertEquals([folded.policy.rules.length, folded.noNewPrivs], [2, true]);
  assertEquals(kind.code(step), { fn: "landlock", args: [step.policy] });
  assertEquals(kind.code(landlock(step.policy, { noNewPrivs: false })), {
    fn: "landlock",
    args: [step.policy, { noNewPrivs: false }],
  });
  assertThrows(
    () => kind.check!(landlock({ rules: [{ kind: "path", path: "/srv", access: "rx" as "rox" }] })),
    TypeError,
    'Unknown Landlock access "rx" for "/srv"',
  );
  const open = { syscall: "open", operation: 'open "/srv" for a Landlock rule', path: "/srv", role: "landlock" };
  assertMatch(kind.hint!(open, 2, false)!, /^the path must exist in the sandbox/);
  assertEquals(
    kind.hint!({ ...open, syscall: "landlock_restrict_self" }, 7, false),
    "a process can be in at most 16 nested Landlock domains",
  );
  assertEquals(kind.hint!({ ...open, syscall: "landlock_restrict_self" }, 5, false), undefined);
  // The scratch descriptor is this process's for its life: one number, open.
  assertEquals(landlockScratchFd(), landlockScratchFd());
  assertEquals(Deno.readLinkSync(`/proc/self/fd/${landlockScratchFd()}`), "/");
});

Deno.test({
  name: "landlockSteps(): the restriction stays in the child; nothing is left behind",
  ...asRoot,
  async fn() {
    const fds = () => [...Deno.readDirSync("/proc/self/fd")].length;
    landlockScratchFd(); // held for the process's life, by design: opened before counting
    const before = fds();
    const { dir } = await runScenarios(runnable(SCENARIOS), false);
    // runScenarios removed the directory the children could not write: this process can.
    assertEquals(fds(), before);
    assertMatch(Deno.readTextFileSync("/proc/self/status"), /\nNoNewPrivs:\t0\n/);
    let gone = false;
    try {
      Deno.statSync(dir);
    } catch (error) {
      gone = error instanceof Deno.errors.NotFound;
    }
    assert(gone, `${dir} is left`);
  },
});

Deno.test({
  name: "landlockSteps() as an unprivileged user restricts a child in a user namespace",
  ignore: !canDrop || ABI === 0,
  async fn() {
    const source = Deno.readTextFileSync(`${REPO}tests/_landlock_probe.ts`).replaceAll('from "../', 'from "$REPO/');
    const out = await runUnprivileged(source);
    assertEquals(out.code, 0, out.stderr);
    const { results, dir, ports } = JSON.parse(out.stdout) as {
      results: Record<string, RunResult>;
      dir: string;
      ports: { allowed: number; denied: number };
    };
    assert(dir.startsWith("/tmp/nsh-landlock-"), dir);
    for (const name of [...runnable(SCENARIOS), "hostTmpfs", "hostRo"]) {
      if (name === "plainWithoutNoNewPrivs") continue;
      CHECKS[name]!(results[name]!, { dir, ports });
    }
    // Without a user namespace, Landlock needs no_new_privs.
    assertEquals(
      results.plainWithoutNoNewPrivs!.error,
      "Cannot restrict the program with Landlock: landlock_restrict_self() failed with EPERM (Operation not " +
        "permitted); Landlock needs no_new_privs, or CAP_SYS_ADMIN in the user namespace (leave noNewPrivs on)",
    );
  },
});
