/**
 * Seccomp filters loaded for real: children started with ffi/program.ts load
 * a filter as their last step and exec a probe (tests/seccomp_probe.c) that
 * makes raw system calls through each x86-64 ABI, or ordinary programs.
 * As root, and as an unprivileged user through a user namespace.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { hasProgram, IS_ROOT, REPO, runUnprivileged } from "./_env.ts";
import { buildProbe, type ChildResult, runChild } from "./_seccomp_run.ts";
import { launch, type Op } from "../ffi/program.ts";
import { KINDS, seccomp, seccompBpf, seccompProfile, type SeccompStep } from "../lib/steps/seccomp.ts";
import type { Emitter, OpInfo, PlanView } from "../lib/steps/_kind.ts";
import { libc } from "../ffi/libc.ts";
import { EACCES } from "../ffi/constants.ts";
import { syscallTable } from "../ffi/syscall_table.ts";
import {
  compileSeccomp,
  filterBytes,
  readBpfFilter,
  readSeccompProfile,
  type SeccompFilter,
  seccompHint,
  type SeccompPolicy,
  seccompSteps,
  type SeccompStepsOptions,
} from "../lib/seccomp/mod.ts";
import { CLONE_NEWUSER, SIGCHLD, SIGSEGV, SIGSYS } from "../ffi/constants.ts";

const probe = Deno.build.arch === "x86_64" ? await buildProbe() : undefined;
if (!probe) console.warn("seccomp tests: no gcc, or not x86-64: the tests that run the probe are ignored");
const root = { ignore: !IS_ROOT || !probe };
const anyone = { ignore: !probe };

const NR = Object.fromEntries(syscallTable("x86_64").numbers);
const I386_GETPID = syscallTable("i386").numbers.get("getpid")!;

/** Runs argv in a child that loads the filters last. */
function run(
  filters: SeccompFilter | SeccompFilter[],
  argv: string[],
  options: SeccompStepsOptions & { cloneFlags?: number } = {},
): Promise<ChildResult> {
  const ops: Op[] = seccompSteps(filters, options).map((step) => step.op);
  return runChild({ launch, libc }, ops, argv, options.cloneFlags ?? SIGCHLD);
}

/** Runs the probe with calls such as "64:39"; returns the results it printed. */
async function calls(filter: SeccompFilter, ...list: string[]): Promise<number[] | { signal: number }> {
  const result = await run(filter, [probe!, ...list]);
  assertEquals(result.failure, null);
  if (result.signal !== undefined) return { signal: result.signal };
  assertEquals(result.code, 0, result.stdout);
  return result.stdout.trim().split("\n").map(Number);
}

/**
 * Whether int $0x80 works here without a filter. A kernel without the i386
 * entry (CONFIG_IA32_EMULATION off, or ia32_emulation=0) ends the caller with
 * SIGSEGV before any filter runs.
 */
async function hasI386Entry(): Promise<boolean> {
  const bare = await runChild({ launch, libc }, [], [probe!, `32:${I386_GETPID}`], SIGCHLD);
  if (Number(bare.stdout) > 0) return true;
  assertEquals(bare.signal, SIGSEGV, `int $0x80 getpid without a filter: ${bare.stdout}`);
  return false;
}

const allow = (rules: SeccompPolicy["rules"] = [], more: Partial<SeccompPolicy> = {}) =>
  compileSeccomp({ defaultAction: "allow", rules, ...more });

Deno.test({
  name: "a loaded filter shows in /proc/self/status as Seccomp 2, with NoNewPrivs as asked",
  ...root,
  async fn() {
    const filter = allow([{ syscalls: "@swap", action: { errno: 1 } }]);
    const plain = await run(filter, [probe!, "status"]);
    assertEquals(plain.stdout, "NoNewPrivs:\t0\nSeccomp:\t2\n");
    const nnp = await run(filter, [probe!, "status"], { noNewPrivs: true });
    assertEquals(nnp.stdout, "NoNewPrivs:\t1\nSeccomp:\t2\n");
  },
});

Deno.test({
  name: "a denied call returns the errno asked for, and only for the arguments asked for",
  ...root,
  async fn() {
    const filter = allow([
      { syscalls: "getppid", action: { errno: 42 } },
      { syscalls: "getuid", action: { errno: "EPERM" } },
      { syscalls: "close", action: { errno: 77 }, args: [{ index: 0, op: "==", value: 9999 }] },
      { syscalls: "gettid", action: { errno: 0 } },
    ]);
    const [getppid, getuid, close9999, close9998, gettid, getpid] = await calls(
      filter,
      `64:${NR.getppid}`,
      `64:${NR.getuid}`,
      `64:${NR.close}:9999`,
      `64:${NR.close}:9998`,
      `64:${NR.gettid}`,
      `64:${NR.getpid}`,
    ) as number[];
    assertEquals([getppid, getuid, close9999, close9998, gettid], [-42, -1, -77, -9, 0]);
    assert(getpid! > 0, `getpid gave ${getpid}`);
  },
});

Deno.test({
  name: "kill-process, kill-thread and trap end the program with SIGSYS; log lets the call run",
  ...root,
  async fn() {
    for (const action of ["kill-process", "kill-thread", "trap"] as const) {
      assertEquals(
        await calls(allow([{ syscalls: "getppid", action }]), `64:${NR.getppid}`),
        { signal: SIGSYS },
        action,
      );
    }
    const [ppid] = await calls(allow([{ syscalls: "getppid", action: "log" }]), `64:${NR.getppid}`) as number[];
    assertEquals(ppid, Deno.pid);
  },
});

Deno.test({
  name: "an i386 call (int $0x80) and an x32 call are denied, whatever the rules allow",
  ...root,
  async fn() {
    // Where the kernel has the i386 entry, the denial below is the filter's.
    const i386 = await hasI386Entry();
    const filter = allow();
    assertEquals(await calls(filter, `32:${I386_GETPID}`), { signal: i386 ? SIGSYS : SIGSEGV });
    assertEquals(await calls(filter, `x32:${NR.getpid}`), { signal: SIGSYS });
    const errno = allow([], { otherAbis: { errno: 77 } });
    assertEquals(
      await calls(errno, `x32:${NR.getpid}`, `64:${NR.getpid}`).then((r) => (r as number[]).slice(0, 1)),
      [-77],
    );
    assertEquals(await calls(errno, `32:${I386_GETPID}`), i386 ? [-77] : { signal: SIGSEGV });
  },
});

Deno.test({
  name: "stacked filters all apply: the most severe result wins",
  ...root,
  async fn() {
    const first = allow([{ syscalls: ["getuid", "getgid"], action: { errno: 5 } }]);
    const second = allow([{ syscalls: "getgid", action: { errno: 6 } }, { syscalls: "geteuid", action: { errno: 7 } }]);
    const result = await run([first, second], [probe!, `64:${NR.getuid}`, `64:${NR.getgid}`, `64:${NR.geteuid}`]);
    // The kernel runs both; for getgid both say ERRNO, and the first seen lowest value wins.
    const [uid, gid, euid] = result.stdout.trim().split("\n").map(Number);
    assertEquals([uid, euid], [-5, -7]);
    assert(gid === -5 || gid === -6, `${gid}`);
  },
});

Deno.test({
  name: "Docker's default profile: mount, unshare, keyctl fail with EPERM, clone3 with ENOSYS; sh, ls and cat run",
  ...root,
  async fn() {
    const docker = compileSeccomp(readSeccompProfile(`${REPO}tests/fixtures/docker-default.json`));
    const results = await calls(
      docker,
      `64:${NR.mount}`,
      `64:${NR.unshare}:${CLONE_NEWUSER}`,
      `64:${NR.keyctl}`,
      `64:${NR.setns}:0:0`,
      `64:${NR.clone3}`,
      `64:${NR.getpid}`,
    ) as number[];
    assertEquals(results.slice(0, 5), [-1, -1, -1, -1, -38]);
    assert(results[5]! > 0);
    const sh = await run(docker, [
      "/bin/sh",
      "-c",
      "ls / >/dev/null && cat /proc/self/status | grep ^Seccomp: && echo ok",
    ]);
    assertEquals([sh.code, sh.stdout], [0, "Seccomp:\t2\nok\n"]);
    if (hasProgram("unshare")) {
      const unshare = await run(docker, ["/bin/sh", "-c", "unshare --user true 2>&1; echo status $?"]);
      assertMatch(unshare.stdout, /unshare failed: Operation not permitted\nstatus 1\n$/);
    }
  },
});

Deno.test({
  name: "a raw BPF filter read from a pipe is loaded as it is",
  ...root,
  async fn() {
    const bytes = filterBytes(allow([{ syscalls: "getppid", action: { errno: 13 } }]));
    const fds = new Int32Array(2);
    assertEquals(libc().pipe2(fds, 0o2000000), 0);
    libc().write(fds[1]!, new Uint8Array(bytes), BigInt(bytes.length));
    libc().close(fds[1]!);
    let filter: SeccompFilter;
    try {
      filter = readBpfFilter(fds[0]!);
    } finally {
      libc().close(fds[0]!);
    }
    assertEquals(await calls(filter, `64:${NR.getppid}`), [-EACCES]);
  },
});

Deno.test({
  name: "rootless: loading needs no_new_privs or a user namespace, else EACCES with a hint; then calls are denied",
  ...anyone,
  async fn() {
    const source = `
      import { launch } from "$REPO/ffi/program.ts";
      import { libc } from "$REPO/ffi/libc.ts";
      import { compileSeccomp, seccompSteps } from "$REPO/lib/seccomp/mod.ts";
      const runChild = ${runChild.toString()};
      const filter = compileSeccomp({ defaultAction: "allow", rules: [{ syscalls: "getppid", action: { errno: 42 } }] });
      const out = {};
      for (const [name, nnp, flags] of [["plain", false, ${SIGCHLD}], ["nnp", true, ${SIGCHLD}], ["userns", false, ${
      SIGCHLD | CLONE_NEWUSER
    }]]) {
        const ops = seccompSteps(filter, { noNewPrivs: nnp }).map((s) => s.op);
        const r = await runChild({ launch, libc }, ops, [Deno.args[0], "status", ], flags);
        const calls = await runChild({ launch, libc }, ops, [Deno.args[0], "64:${NR.getppid}"], flags);
        const i386 = await runChild({ launch, libc }, ops, [Deno.args[0], "32:${I386_GETPID}"], flags);
        out[name] = { failure: r.failure, status: r.stdout, getppid: calls.stdout.trim(), i386: i386.signal ?? null, ops: ops.length };
      }
      console.log(JSON.stringify(out));
    `;
    const output = await runUnprivileged(source, { args: [probe!] });
    assertEquals(output.code, 0, output.stderr);
    const out = JSON.parse(output.stdout);
    // Unprivileged, no user namespace, no no_new_privs: the kernel refuses the filter.
    assertEquals(out.plain.failure, { step: 1, errno: EACCES });
    assertEquals(out.plain.getppid, "");
    assertMatch(seccompHint(EACCES)!, /no_new_privs or CAP_SYS_ADMIN/);
    const i386Denial = await hasI386Entry() ? SIGSYS : SIGSEGV;
    assertEquals(out.nnp, {
      failure: null,
      status: "NoNewPrivs:\t1\nSeccomp:\t2\n",
      getppid: "-42",
      i386: i386Denial,
      ops: 2,
    });
    // In its own user namespace the child holds CAP_SYS_ADMIN there: no no_new_privs needed.
    assertEquals(out.userns, {
      failure: null,
      status: "NoNewPrivs:\t0\nSeccomp:\t2\n",
      getppid: "-42",
      i386: i386Denial,
      ops: 1,
    });
  },
});

Deno.test("launch() refuses an fprog that is no whole number of instructions before taking anything", () => {
  const before = [...Deno.readDirSync("/proc/self/fd")].length;
  assertThrows(
    () => launch([{ call: "seccomp", args: [1, 0, { fprog: new Uint8Array(13) }] }], SIGCHLD, "exec"),
    RangeError,
    "Cannot pass a BPF program of 13 bytes: it must be 1 to 65535 instructions of 8 bytes",
  );
  assertThrows(
    () => launch([{ call: "seccomp", args: [1, 0, { fprog: new Uint8Array(0) }] }], SIGCHLD, "async"),
    RangeError,
  );
  assertEquals([...Deno.readDirSync("/proc/self/fd")].length, before);
});

/** The calls a step kind writes, recorded as lib/compile.ts would receive them. */
function compileStep(step: SeccompStep): { ops: Op[]; infos: OpInfo[] } {
  const ops: Op[] = [], infos: OpInfo[] = [];
  const out: Emitter = {
    add(op, info) {
      ops.push(op);
      infos.push(info);
      return ops.length - 1;
    },
    writeFile() {
      throw new Error("a seccomp step writes no file");
    },
    facts: { capLastCap: 40, euid: 0, egid: 0, capabilitiesHeld: () => new Set() },
  };
  KINDS[0].check!(step);
  KINDS[0].compile!(step, out, { actions: [step] } as unknown as PlanView, "seccomp");
  return { ops, infos };
}

Deno.test({
  name: "the seccomp step kind sets no_new_privs, loads its filter, and nsh export can write it back",
  ...anyone,
  async fn() {
    const policy: SeccompPolicy = { defaultAction: "allow", rules: [{ syscalls: "getppid", action: { errno: 42 } }] };
    const step = seccomp(policy);
    const { ops, infos } = compileStep(step);
    assertEquals(infos.map((i) => [i.syscall, i.role]), [["prctl", "seccomp"], ["seccomp", "seccomp"]]);
    const result = await runChild({ launch, libc }, ops, [probe!, `64:${NR.getppid}`], SIGCHLD);
    assertEquals(result.stdout, "-42\n");
    assertEquals(KINDS[0].code(step), { fn: "seccomp", args: [policy] });
    const docker = seccompProfile(`${REPO}tests/fixtures/docker-default.json`, {
      capabilities: ["CAP_SYS_ADMIN"],
      noNewPrivs: false,
    });
    assertEquals(compileStep(docker).ops.map((op) => op.call), ["seccomp"]);
    assertEquals(KINDS[0].code(docker), {
      fn: "seccompProfile",
      args: [`${REPO}tests/fixtures/docker-default.json`, { noNewPrivs: false, capabilities: ["CAP_SYS_ADMIN"] }],
    });
    assertMatch(KINDS[0].hint!(infos[1]!, EACCES, false)!, /no_new_privs/);
    const file = await Deno.makeTempFile();
    try {
      await Deno.writeFile(file, filterBytes(step.filter));
      assertEquals(KINDS[0].code(seccompBpf(file)), { fn: "seccompBpf", args: [file] });
    } finally {
      await Deno.remove(file);
    }
    assertThrows(
      () => seccomp({ defaultAction: "allow", rules: [{ syscalls: "exit_group", action: { errno: 1 } }] }),
      TypeError,
      "it makes exit_group return",
    );
  },
});
