/**
 * Limits with cgroups, on the real kernel: a memory hog stopped and reported
 * as killed by the OOM killer, a bounded fork bomb stopped at the process
 * limit, a CPU quota measured from inside, placement before the program's
 * first instruction (and `/` with a cgroup namespace), the whole box killed
 * as one, nothing left under /sys/fs/cgroup (also after SIGKILL of nsh), as
 * root and rootless (the clear error where nothing is delegated, and a
 * delegated v2 directory).
 *
 * The cgroups these tests make are named after the nsh process that made
 * them (`nsh-PID-N`): a test looks only at its own, other tests may run.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "./_assert.ts";
import { CLI, hasProgram, IS_ROOT, NOBODY, nsh, type Output, run, runUnprivileged, skipping } from "./_env.ts";
import { CommandError, limits, sandbox, seccomp, unshare } from "../mod.ts";
import { Box, type CgroupLayout, cgroupLayout, parseCgroupLayout, parseCpuMax, parseSize } from "../lib/cgroup.ts";
import { exportScript } from "../cli/shell/export.ts";

const LAYOUT = cgroupLayout();

/** Whether a controller is there for nsh: in the v2 tree it may use, or in a v1 hierarchy that shows its cgroup. */
function controller(name: string): boolean {
  return LAYOUT.v2?.controllers.includes(name) === true ||
    LAYOUT.v1.some((h) => h.controllers.includes(name) && h.dir !== undefined);
}

const HIERARCHY = LAYOUT.v2?.dir !== undefined || LAYOUT.v1.some((h) => h.dir !== undefined);
const CGROUPS = IS_ROOT && HIERARCHY;
const MEMORY = CGROUPS && controller("memory");
const PIDS = CGROUPS && controller("pids");
const CPU = CGROUPS && controller("cpu");
/** A v2 tree this process's cgroup shows in: placement and cgroup.kill can be tried rootless there. */
const V2 = IS_ROOT && LAYOUT.v2?.dir !== undefined;
for (
  const [ok, key, why] of [
    [
      IS_ROOT,
      "cgroups:root",
      "the cgroup tests need root (they make cgroups, and drop to nobody for the rootless ones)",
    ],
    [HIERARCHY, "cgroups:none", "no cgroup hierarchy shows this process's cgroup: the cgroup tests are ignored"],
    [controller("memory"), "cgroups:memory", "no memory controller here: the memory tests are ignored"],
    [controller("pids"), "cgroups:pids", "no pids controller here: the fork bomb test is ignored"],
    [controller("cpu"), "cgroups:cpu", "no cpu controller here: the CPU quota test is ignored"],
  ] as const
) {
  if (!ok) skipping(key, `nsh tests: ${why}`);
}

/** Every directory a cgroup hierarchy shows this process's cgroup at: where boxes go. */
function bases(layout: CgroupLayout = LAYOUT): string[] {
  return [layout.v2?.dir, ...layout.v1.map((h) => h.dir)].filter((d): d is string => d !== undefined);
}

/** The cgroups that the nsh process `pid` made, in any hierarchy (and in a directory given). */
function boxesOf(pid: number, more: string[] = []): string[] {
  const found: string[] = [];
  for (const base of [...bases(), ...more]) {
    try {
      for (const entry of Deno.readDirSync(base)) {
        if (entry.isDirectory && entry.name.startsWith(`nsh-${pid}-`)) found.push(`${base}/${entry.name}`);
      }
    } catch {
      // A hierarchy this user cannot read.
    }
  }
  return found;
}

/** A `sleep` with an argument no other process has, to find it in /proc. */
function marker(): string {
  return `${1000 + Math.floor(Math.random() * 1000)}.${Math.floor(Math.random() * 1e6)}`;
}

/** The processes running `sleep SECONDS`. */
function sleepers(seconds: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${entry.name}/cmdline`) === `sleep\0${seconds}\0`) pids.push(Number(entry.name));
    } catch {
      // Gone while we looked.
    }
  }
  return pids;
}

/** Polls until `check` holds or ten seconds pass. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const root = { ignore: !CGROUPS };

// ---------------------------------------------------------------- pure

const HYBRID_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw`;

Deno.test("parseCgroupLayout() reads a hybrid system: v1 hierarchies and the v2 tree, with this process's cgroups", () => {
  const layout = parseCgroupLayout(
    HYBRID_MOUNTINFO,
    "9:name=systemd:/user.slice\n8:pids:/\n4:memory:/box/a b\n1:cpu,cpuacct:/\n0::/\n",
    (dir) => dir === "/sys/fs/cgroup/unified" ? "hugetlb\n" : undefined,
  );
  assertEquals(layout.v2, {
    version: 2,
    controllers: ["hugetlb"],
    mount: "/sys/fs/cgroup/unified",
    cgroup: "/",
    dir: "/sys/fs/cgroup/unified",
  });
  assertEquals(layout.v1.map((h) => [h.controllers, h.dir]), [
    [[], "/sys/fs/cgroup/systemd/user.slice"],
    [["pids"], "/sys/fs/cgroup/pids"],
    [["memory"], "/sys/fs/cgroup/memory/box/a b"],
    [["cpu", "cpuacct"], "/sys/fs/cgroup/cpu,cpuacct"],
  ]);
});

Deno.test("parseCgroupLayout() finds a cgroup under a mount of part of the tree, and none outside it", () => {
  const mountinfo = "50 40 0:40 /user.slice /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n" +
    "51 40 0:41 /a /mnt/mem\\040x rw - cgroup cgroup rw,memory";
  const layout = parseCgroupLayout(mountinfo, "4:memory:/a/b\n0::/user.slice/session-1.scope\n", () => "memory pids");
  assertEquals(layout.v2?.dir, "/sys/fs/cgroup/session-1.scope");
  assertEquals(layout.v2?.controllers, ["memory", "pids"]);
  assertEquals(layout.v1[0]?.dir, "/mnt/mem x/b");
  const outside = parseCgroupLayout(mountinfo, "4:memory:/other\n0::/system.slice\n");
  assertEquals([outside.v2?.dir, outside.v1[0]?.dir], [undefined, undefined]);
});

Deno.test("parseSize() and parseCpuMax() take what the cgroup files and util-linux take", () => {
  assertEquals([parseSize("64M"), parseSize("1g"), parseSize("512KiB"), parseSize(4096), parseSize("max")], [
    64 * 2 ** 20,
    2 ** 30,
    512 * 1024,
    4096,
    "max",
  ]);
  assertEquals(parseCpuMax("50%"), { quota: 50000, period: 100000 });
  assertEquals(parseCpuMax("150%"), { quota: 150000, period: 100000 });
  assertEquals(parseCpuMax("20000/50000"), { quota: 20000, period: 50000 });
  assertEquals(parseCpuMax("20000 50000"), { quota: 20000, period: 50000 });
  assertEquals(parseCpuMax("max"), { quota: "max", period: 100000 });
  assertEquals(parseCpuMax("30000"), { quota: 30000, period: 100000 });
});

Deno.test("limits() refuses bad values with one line each", () => {
  const cases: [() => unknown, string][] = [
    [
      () => limits({ memoryMax: "64Q" }),
      "Cannot use '64Q' as memory.max: give bytes, or a size such as 64M, 1G, or max",
    ],
    [() => limits({ memoryMax: -1 }), "Cannot use '-1' as memory.max: give bytes, or a size such as 64M, 1G, or max"],
    [
      () => limits({ cpuMax: "0.5%" }),
      "Cannot use '0.5%' as cpu.max: the quota is at least 1000 microseconds (1 ms) per period",
    ],
    [
      () => limits({ cpuMax: "1000/10" }),
      "Cannot use '1000/10' as cpu.max: the period is from 1000 to 1000000 microseconds",
    ],
    [
      () => limits({ cpuMax: "fast" }),
      "Cannot use 'fast' as cpu.max: give QUOTA/PERIOD in microseconds (50000/100000), a share of one CPU (50%), or max",
    ],
    [() => limits({ pidsMax: 5_000_000 }), "Cannot set pids.max to 5000000: it takes 0 to 4194304"],
    [() => limits({ cpuWeight: 0 }), "Cannot set cpu.weight to 0: it takes 1 to 10000"],
    [() => limits({ ioWeight: 10001 }), "Cannot set io.weight to 10001: it takes 1 to 10000"],
    [
      () => limits({ memory: 5 } as never),
      'Unknown limit "memory" of limits(); did you mean memoryMax? The limits are memoryMax, memorySwapMax, pidsMax, cpuMax, cpuWeight, ioWeight, parent, usage',
    ],
  ];
  for (const [fn, message] of cases) {
    const error = assertThrows(fn) as Error;
    assertEquals(error.message, message);
  }
});

Deno.test("nsh unshare refuses bad limits with one line and status 1", async () => {
  const cases: [string[], string][] = [
    [
      ["--memory-max", "lots"],
      "nsh unshare: cannot use 'lots' as memory.max: give bytes, or a size such as 64M, 1G, or max",
    ],
    [["--pids-max", "-3"], "nsh unshare: cannot use '-3' as pids.max: give a number, or max"],
    [
      ["--cpu-max", "200/100"],
      "nsh unshare: cannot use '200/100' as cpu.max: the period is from 1000 to 1000000 microseconds",
    ],
    [["--cpu-weight", "heavy"], "nsh unshare: cannot use 'heavy' as cpu.weight: give 1 to 10000"],
    [["--cgroup-parent", "box"], 'nsh unshare: cannot use "box" as the cgroup parent: give an absolute path'],
    [
      ["--uts", "--name", "nsh-test-limits", "--persist", "--pids-max", "5"],
      "nsh unshare: --persist does not go with limits: the box's cgroup ends with the nsh that made it",
    ],
  ];
  for (const [args, line] of cases) {
    const out = await nsh(["unshare", ...args, "true"]);
    assertEquals([out.code, out.stderr], [1, `${line}\n`], args.join(" "));
  }
});

// ---------------------------------------------------------------- limits

Deno.test({
  name: "limits() stops a memory hog at its limit and reports it killed by the OOM killer",
  ignore: !MEMORY,
  async fn() {
    // 100 MiB read into one buffer, in a box of 32 MiB without swap.
    const hog = ["dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"];
    const box = sandbox(limits({ memoryMax: "32M", memorySwapMax: 0 }));
    const result = await box.run(hog).noThrow().output();
    assertEquals([result.signal, result.code, result.oomKilled], ["SIGKILL", 137, true]);
    assert((result.usage?.oomKills ?? 0) >= 1, `oom kills: ${Deno.inspect(result.usage)}`);
    assert(result.usage!.memoryPeak! <= 32 * 2 ** 20, `peak ${result.usage!.memoryPeak}`);
    const error = await assertRejects(() => box.run(hog).output(), CommandError);
    assert(error.oomKilled, "CommandError.oomKilled");
    assertMatch(error.message, /^Command "dd .*" was killed by the OOM killer \(its box reached its memory limit\)/);
    assertEquals(boxesOf(Deno.pid), []);
  },
});

Deno.test({
  name: "nsh unshare --memory-max names the OOM killer in one line and dies of its SIGKILL",
  ignore: !MEMORY,
  async fn() {
    const out = await nsh([
      "unshare",
      "--memory-max",
      "32M",
      "--memory-swap-max",
      "0",
      "dd",
      "if=/dev/zero",
      "of=/dev/null",
      "bs=100M",
      "count=1",
    ]);
    assertEquals(out.code, 137);
    assertEquals(
      out.stderr.split("\n").filter((l) => l.startsWith("nsh")),
      ["nsh unshare: the program was killed by the OOM killer: its box reached its memory limit (memory.max)"],
    );
  },
});

Deno.test({
  name: "limits() stops a bounded fork bomb at the process limit",
  ignore: !PIDS,
  async fn() {
    // Without a limit, 2^7 - 1 shells and as many sleeps: bounded, in case.
    const bomb = "b() { if [ $1 -gt 0 ]; then b $(($1 - 1)) & b $(($1 - 1)) & fi; sleep 1; wait; }; b 6 2>/dev/null";
    const result = await sandbox(limits({ pidsMax: 12 })).run("sh", "-c", bomb).noThrow().output();
    const usage = result.usage!;
    assert(usage.pidsRefused! > 0, `refused: ${Deno.inspect(usage)}`);
    if (usage.pidsPeak !== undefined) assert(usage.pidsPeak <= 12, `peak ${usage.pidsPeak}`);
    assertEquals(boxesOf(Deno.pid), []);
  },
});

Deno.test({
  name: "limits() gives a busy loop about its CPU quota, as the loop itself measures it",
  ignore: !CPU,
  async fn() {
    // One second of a busy loop; `times` prints the CPU time of the shell's
    // children, measured inside the box.
    const script = "timeout 1 sh -c 'while :; do :; done'; times";
    const result = await sandbox(limits({ cpuMax: "20%" })).run("sh", "-c", script).noThrow().output();
    const [, children] = result.stdoutText.trim().split("\n");
    const [user, system] = [...children!.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
    const cpu = user! + system!;
    assert(cpu >= 0.05 && cpu <= 0.3, `a 20% quota over one second gave ${cpu} s of CPU`);
    // The box counted the same time.
    const counted = result.usage!.userTime! + result.usage!.systemTime!;
    assert(Math.abs(counted - cpu) < 0.05, `the box counted ${counted} s, the shell ${cpu} s`);
  },
});

Deno.test({
  name: "cpuWeight, ioWeight and a swap limit are accepted where their controllers are",
  ignore: !CGROUPS || !controller("cpu") || !(controller("io") || controller("blkio")),
  async fn() {
    const box = sandbox(limits({ cpuWeight: 50, ioWeight: 200, memoryMax: "1G", memorySwapMax: "64M" }));
    assertEquals(await box.run("true").output().then((r) => r.code), 0);
  },
});

// ---------------------------------------------------------------- placement

Deno.test({
  name: "the program is in its box's cgroups at its first read of /proc/self/cgroup",
  ...root,
  async fn() {
    // With usage: the memory hierarchy too, on a hybrid system.
    const text = await sandbox(limits({ usage: true })).run("cat", "/proc/self/cgroup").text();
    const lines = Object.fromEntries(text.split("\n").map((l) => [l.split(":")[1], l.split(":")[2]]));
    if (LAYOUT.v2?.dir !== undefined) assertMatch(lines[""]!, new RegExp(`/nsh-${Deno.pid}-\\d+-\\d+$`));
    if (controller("memory") && !LAYOUT.v2?.controllers.includes("memory")) {
      assertMatch(lines["memory"]!, new RegExp(`/nsh-${Deno.pid}-\\d+-\\d+$`));
    }
    assertEquals(boxesOf(Deno.pid), []);
  },
});

Deno.test({
  name: "where clone3 is refused (a seccomp filter answering ENOSYS), the program moves itself into its box",
  ...root,
  async fn() {
    // nsh under a filter as container runtimes set it: clone3 says ENOSYS.
    const filter = seccomp({ defaultAction: "allow", rules: [{ syscalls: ["clone3"], action: { errno: "ENOSYS" } }] });
    const out = await sandbox(filter).run(
      Deno.execPath(),
      ...["run", "-A", "--quiet", CLI, "unshare", "--pids-max", "10", "cat", "/proc/self/cgroup"],
    ).output();
    assertEquals(out.stderrText, "");
    const pid = /nsh-(\d+)-1-\d+$/m.exec(out.stdoutText)?.[1];
    assert(pid !== undefined, out.stdoutText);
    if (LAYOUT.v2?.dir !== undefined) assertMatch(out.stdoutText, new RegExp(`^0::.*/nsh-${pid}-1-\\d+$`, "m"));
    assertEquals(boxesOf(Number(pid)), []);
  },
});

Deno.test({
  name: "with a cgroup namespace the box sees its own cgroup as /",
  ...root,
  async fn() {
    const text = await unshare({ cgroup: true }).with(limits({ pidsMax: 50 })).run("cat", "/proc/self/cgroup").text();
    for (const line of text.split("\n")) assert(line.endsWith(":/"), `not the root: ${line}\n${text}`);
    // The box is there all the same, seen from outside.
    const outside = await sandbox(limits({})).run("sh", "-c", "cat /proc/$$/cgroup").text();
    assertMatch(outside, new RegExp(`/nsh-${Deno.pid}-\\d+`));
  },
});

// ---------------------------------------------------------------- killed as one

Deno.test({
  name: "a timeout, an abort and kill() end the whole box: no process escapes by forking",
  ...root,
  async fn() {
    for (const how of ["timeout", "abort", "kill"] as const) {
      const seconds = marker();
      // setsid: out of the program's process group and session; the loop forks on.
      const script = `setsid sleep ${seconds} & while :; do sleep ${seconds} & sleep 0.05; done`;
      let command = sandbox(limits({ pidsMax: 200 })).run("sh", "-c", script);
      const controller = new AbortController();
      if (how === "timeout") command = command.timeout(400);
      if (how === "abort") command = command.signal(controller.signal);
      const child = command.spawn();
      await eventually(() => sleepers(seconds).length >= 3, "the program to fork");
      if (how === "abort") controller.abort();
      if (how === "kill") child.kill("SIGKILL");
      const error = await assertRejects(() => child, CommandError);
      assertEquals([error.timedOut, error.aborted, error.signal], [how === "timeout", how === "abort", "SIGKILL"], how);
      assertEquals(sleepers(seconds), [], how);
      assertEquals(boxesOf(Deno.pid), [], how);
    }
  },
});

Deno.test({
  name: "when the program ends, what it left running in its box is killed",
  ...root,
  async fn() {
    const seconds = marker();
    const result = await sandbox(limits({})).run("sh", "-c", `setsid sleep ${seconds} & echo started`).output();
    assertEquals(result.stdoutText, "started\n");
    assertEquals(sleepers(seconds), []);
    assertEquals(boxesOf(Deno.pid), []);
  },
});

Deno.test({
  name: "Ctrl-C that ends the program ends its box",
  ignore: !CGROUPS || !hasProgram("tmux"),
  async fn() {
    const seconds = marker();
    const socket = `nsh-cgroup-test-${Deno.pid}`;
    const tmux = (...args: string[]) => run("tmux", ["-L", socket, ...args]);
    const line =
      `${Deno.execPath()} run -A --quiet ${CLI} unshare --pids-max 50 sh -c 'setsid sleep ${seconds} & sleep ${seconds}'`;
    try {
      await tmux("-f", "/dev/null", "new-session", "-d", "-x", "100", "-y", "20", `${line}; sleep 600`);
      await eventually(() => sleepers(seconds).length === 2, "both sleeps");
      await tmux("send-keys", "C-c");
      await eventually(() => sleepers(seconds).length === 0, "the box to end");
    } finally {
      await tmux("kill-server");
    }
  },
});

// ---------------------------------------------------------------- left behind

Deno.test({
  name: "the next nsh removes the cgroups of one killed by SIGKILL, and kills what ran in them",
  ...root,
  async fn() {
    const seconds = marker();
    const killed = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        CLI,
        "unshare",
        "--pids-max",
        "50",
        "sh",
        "-c",
        `sleep ${seconds} & sleep ${seconds}`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await eventually(() => sleepers(seconds).length === 2, "the box to run");
    const left = boxesOf(killed.pid);
    assert(left.length >= 2, `boxes of ${killed.pid}: ${left}`);
    killed.kill("SIGKILL");
    await killed.status;
    // Its program outlives it, in its box, until another nsh makes a box.
    assertEquals(boxesOf(killed.pid), left);
    assertEquals(sleepers(seconds).length, 2);
    const next = await nsh(["unshare", "--pids-max", "10", "true"]);
    assertEquals([next.code, next.stderr], [0, ""]);
    assertEquals(boxesOf(killed.pid), []);
    await eventually(() => sleepers(seconds).length === 0, "the box's processes to die");
  },
});

Deno.test({
  name: "cgroup v1 alone: the box is frozen, killed and thawed as one",
  ignore: !CGROUPS || !LAYOUT.v1.some((h) => h.controllers.includes("freezer") && h.dir !== undefined),
  async fn() {
    const v1Only: CgroupLayout = { v2: undefined, v1: LAYOUT.v1 };
    const box = Box.create({}, { layout: v1Only });
    try {
      assert(box.paths.some((p) => p.includes("freezer")), `${box.paths}`);
      const seconds = marker();
      // Waits until it is in the box, then forks sleeps in sessions of their own.
      const child = new Deno.Command("sh", {
        args: ["-c", `read go; for i in 1 2 3 4 5 6 7 8; do setsid sleep ${seconds} & done; wait`],
        stdin: "piped",
      }).spawn();
      for (const { path } of box.places) Deno.writeTextFileSync(`${path}/cgroup.procs`, String(child.pid));
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("go\n"));
      await writer.close();
      await eventually(() => sleepers(seconds).length === 8, "the sleeps");
      box.kill();
      assertEquals((await child.status).signal, "SIGKILL");
      await eventually(() => sleepers(seconds).length === 0, "the sleeps to die");
    } finally {
      await box.end();
    }
    for (const path of box.paths) assertEquals(boxesOf(Deno.pid).includes(path), false);
  },
});

// ---------------------------------------------------------------- contexts

Deno.test({
  name: "a context's limits cover its holder and every program run in it, change, and go at close",
  ignore: !PIDS,
  async fn() {
    const context = await unshare({ pid: true, mount: true, mountProc: true }).with(limits({ pidsMax: 20 })).hold();
    try {
      const holder = context.holderPid!;
      const box = Deno.readTextFileSync(`/proc/${holder}/cgroup`).match(/^0::(.*)$/m)?.[1] ??
        Deno.readTextFileSync(`/proc/${holder}/cgroup`).match(/pids:(.*)$/m)![1]!;
      assertMatch(box, new RegExp(`/nsh-${Deno.pid}-\\d+-\\d+$`));
      assert(
        (await context.run("cat", "/proc/self/cgroup").text()).includes(box),
        "the program joins the holder's box",
      );
      // The holder, the shell and its sleeps: three may run, not more.
      await context.apply(limits({ pidsMax: 3 }));
      const forks = await context.run("sh", "-c", "sleep 0.2 & sleep 0.2 & sleep 0.2 & wait").noThrow().output();
      assertEquals(forks.code, 2, forks.stderrText);
      assertMatch(forks.stderrText, /fork/i);
    } finally {
      await context.close();
    }
    assertEquals(boxesOf(Deno.pid), []);
  },
});

Deno.test({
  name: "a context made in a context with limits has its box inside the other's, in every hierarchy",
  ignore: !PIDS,
  async fn() {
    const outer = await unshare({ uts: true }).with(limits({ pidsMax: 50 })).hold();
    try {
      const inner = await outer.hold(sandbox(limits({})));
      try {
        const text = await inner.run("cat", "/proc/self/cgroup").text();
        const nested = new RegExp(`/nsh-${Deno.pid}-\\d+-\\d+/nsh-${Deno.pid}-\\d+-\\d+$`);
        if (LAYOUT.v2?.dir !== undefined) assertMatch(/^0::(.*)$/m.exec(text)![1]!, nested);
        assertMatch(/^\d+:pids:(.*)$/m.exec(text)?.[1] ?? /^0::(.*)$/m.exec(text)![1]!, nested);
      } finally {
        await inner.close();
      }
    } finally {
      await outer.close();
    }
    assertEquals(boxesOf(Deno.pid), []);
  },
});

Deno.test({
  name: "Context.apply() of limits in a context made without them says so",
  ...root,
  async fn() {
    await using context = await unshare({ uts: true }).hold();
    await assertRejects(
      () => context.apply(limits({ pidsMax: 3 })),
      Error,
      "Cannot change the limits of this context: it was made without them",
    );
  },
});

// ---------------------------------------------------------------- errors

Deno.test({
  name: "a limit whose controller is missing is one line that names it",
  ...root,
  fn() {
    const without: CgroupLayout = {
      v2: LAYOUT.v2 && { ...LAYOUT.v2, controllers: LAYOUT.v2.controllers.filter((c) => c !== "memory") },
      v1: LAYOUT.v1.filter((h) => !h.controllers.includes("memory")),
    };
    const error = assertThrows(() => Box.create({ memoryMax: 2 ** 20 }, { layout: without })) as Error;
    assertMatch(error.message, /^Cannot set memory\.max: this system has no memory controller for nsh \(.*\)$/);
    assertMatch(error.message, /no cgroup v1 hierarchy is mounted with memory/);
  },
});

Deno.test({
  name: "a cgroup parent that is no cgroup v2 directory, or a link, is one line",
  ...root,
  async fn() {
    const notCgroup = await nsh(["unshare", "--cgroup-parent", "/tmp", "true"]);
    assertEquals([notCgroup.code, notCgroup.stderr], [
      1,
      'nsh unshare: cannot use "/tmp" as the cgroup parent: it is not a cgroup v2 directory\n',
    ]);
    const link = `/tmp/nsh-test-cgroup-link-${Deno.pid}`;
    Deno.symlinkSync(LAYOUT.v2?.dir ?? "/sys/fs/cgroup", link);
    try {
      const out = await nsh(["unshare", "--cgroup-parent", link, "true"]);
      assertEquals(out.code, 1);
      assertEquals(
        out.stderr,
        `nsh unshare: cannot use "${link}" as the cgroup parent: "${link.slice(5)}" on its way is a symbolic link; ` +
          "name the directory itself\n",
      );
    } finally {
      Deno.removeSync(link);
    }
  },
});

// ---------------------------------------------------------------- rootless

/** Runs nsh's CLI as nobody, from a script, in this test's copy of the repository. */
function nshAsNobody(args: string[], wrap?: (argv: string[]) => Promise<Output>): Promise<Output> {
  const source = `import { main } from "$REPO/cli/main.ts";\nDeno.exit(await main(${JSON.stringify(args)}));\n`;
  return runUnprivileged(source, wrap ? { wrap } : {});
}

Deno.test({
  name: "rootless, where nothing is delegated: one line that says delegation is needed and how",
  ignore: !IS_ROOT || !HIERARCHY,
  async fn() {
    const out = await nshAsNobody(["unshare", "--pids-max", "10", "true"]);
    assertEquals(out.code, 1, out.stderr);
    const lines = out.stderr.trim().split("\n");
    assertEquals(lines.length, 1, out.stderr);
    assertMatch(lines[0]!, /^nsh unshare: cannot create the cgroup ".*\/nsh-\d+-1-\d+": mkdir\(\) failed with EACCES/);
    assertMatch(lines[0]!, /systemd-run --user --scope -p Delegate=yes nsh …\), or name one with --cgroup-parent DIR$/);
  },
});

Deno.test({
  name: "rootless in a delegated cgroup v2 directory: placed there, the box killed as one, nothing left",
  ignore: !V2,
  async fn() {
    const delegated = `${LAYOUT.v2!.dir}/nsh-test-delegated-${Deno.pid}`;
    // This process's v2 cgroup, as /proc/self/cgroup names its children.
    const mine = LAYOUT.v2!.cgroup === "/" ? "" : LAYOUT.v2!.cgroup;
    const leaf = `${delegated}/nsh-test-leaf`;
    Deno.mkdirSync(delegated);
    try {
      // As systemd delegates a cgroup to a user: the directory and the files
      // that manage its children are theirs.
      for (const file of ["", "/cgroup.procs", "/cgroup.subtree_control", "/cgroup.threads"]) {
        Deno.chownSync(`${delegated}${file}`, NOBODY.uid, NOBODY.gid);
      }
      Deno.mkdirSync(leaf);
      const seconds = marker();
      const script = `import { limits, sandbox, CommandError } from "$REPO/mod.ts";
const box = sandbox(limits({ parent: ${JSON.stringify(delegated)} }));
console.log((await box.run("cat", "/proc/self/cgroup").text()).match(/^0::.*$/m)[0]);
try {
  await box.run("sh", "-c", "setsid sleep ${seconds} & sleep ${seconds}").timeout(500);
} catch (error) {
  if (!(error instanceof CommandError) || !error.timedOut) throw error;
  console.log("timed out");
}
`;
      // The unprivileged process starts in the delegated tree, as a user's
      // delegated scope does: a process may move only within what it may write.
      const out = await runUnprivileged(script, {
        wrap: (argv) => run("sh", ["-c", `echo $$ > '${leaf}/cgroup.procs' && exec "$@"`, "sh", ...argv]),
      });
      assertEquals(out.stderr, "");
      const [placed, timedOut] = out.stdout.trim().split("\n");
      assertMatch(placed!, new RegExp(`^0::${mine}/nsh-test-delegated-${Deno.pid}/nsh-\\d+-1-\\d+$`));
      assertEquals(timedOut, "timed out");
      assertEquals(sleepers(seconds), []);
      assertEquals([...Deno.readDirSync(delegated)].filter((e) => e.isDirectory).map((e) => e.name), ["nsh-test-leaf"]);
      // Delegated down to its own cgroup, as systemd-run --user --scope does:
      // boxes go below it without being told where.
      Deno.chownSync(leaf, NOBODY.uid, NOBODY.gid);
      Deno.chownSync(`${leaf}/cgroup.procs`, NOBODY.uid, NOBODY.gid);
      const own = await runUnprivileged(
        `import { limits, sandbox } from "$REPO/mod.ts";
console.log((await sandbox(limits({})).run("cat", "/proc/self/cgroup").text()).match(/^0::.*$/m)[0]);
`,
        { wrap: (argv) => run("sh", ["-c", `echo $$ > '${leaf}/cgroup.procs' && exec "$@"`, "sh", ...argv]) },
      );
      assertEquals(own.stderr, "");
      assertMatch(
        own.stdout.trim(),
        new RegExp(`^0::${mine}/nsh-test-delegated-${Deno.pid}/nsh-test-leaf/nsh-\\d+-1-\\d+$`),
      );
      assertEquals([...Deno.readDirSync(leaf)].filter((e) => e.isDirectory), []);
    } finally {
      try {
        Deno.removeSync(leaf);
      } catch {
        // Not made.
      }
      Deno.removeSync(delegated);
    }
  },
});

// ---------------------------------------------------------------- the shell

Deno.test({
  name: "the shell's limit changes the box of the context, which covers every program run in it",
  ignore: !PIDS,
  async fn() {
    const script =
      'unshare --mount --pids-max 20\nlimit --pids-max 3\nsh -c "sleep 0.2 & sleep 0.2 & sleep 0.2 & wait"\n';
    const out = await nsh(["-c", script]);
    assertEquals(out.code, 2, out.stderr);
    assertMatch(out.stderr, /fork/i);
    const top = await nsh(["-c", "limit --pids-max 3"]);
    assertEquals(top.code, 1);
    assertEquals(
      top.stderr.split("\n")[0],
      "-c:1: limit: not in a context: limits are given to unshare, which makes one (unshare --pids-max 100)",
    );
    const none = await nsh(["-c", "unshare --uts\nlimit --pids-max 3"]);
    assertEquals(none.code, 1);
    assertMatch(none.stderr, /cannot change the limits of this context: it was made without them/);
  },
});

Deno.test("nsh export writes limit as an apply() of limits() steps on the context", () => {
  const program = exportScript("unshare --uts --memory-max 64M\nlimit --pids-max 3 --cpu-max 50%\n", {
    file: "box.nsh",
    from: "file:///nsh/mod.ts",
  });
  const lines = program.split("\n").map((l) => l.trim());
  const at = lines.indexOf("await ctx.apply(");
  assert(at > 0, program);
  assertEquals(lines.slice(at + 1, at + 3), [
    "limits({ pidsMax: 3 }),",
    "limits({ cpuMax: { quota: 50000, period: 100000 } }),",
  ]);
});

Deno.test("a persisted context cannot have limits: its cgroup would outlive the nsh that removes it", async () => {
  await assertRejects(
    () => unshare({ uts: true }).with(limits({ pidsMax: 10 })).hold({ name: `nsh-test-${Deno.pid}`, persist: true }),
    TypeError,
    "Cannot keep a context with limits after this process ends: its cgroup is this process's to remove",
  );
});

/** The directory of a pids hierarchy where a test may make a cgroup of its own: a v1 one, else the v2 tree. */
function pidsBase(): string | undefined {
  const v1 = LAYOUT.v1.find((h) => h.controllers.includes("pids") && h.dir !== undefined);
  if (v1) return v1.dir;
  return LAYOUT.v2?.controllers.includes("pids") ? LAYOUT.v2.dir : undefined;
}

Deno.test({
  name: "a program that cannot start because the process limit is reached: the message names it and pids.max",
  ignore: !PIDS,
  async fn() {
    // nsh itself in a cgroup whose pids.max its own threads fill: its next clone fails with EAGAIN.
    const group = `${pidsBase()}/nsh-test-eagain-${Deno.pid}`;
    Deno.mkdirSync(group);
    try {
      // The sh that sets the limit and its cat count while it runs: two fewer are left once they end.
      const fill = `echo $(( $(cat ${group}/pids.current) - 2 )) > ${group}/pids.max`;
      const script = `set +e\nsh -c '${fill}'\nsleep 0; echo "status $?" >&2`;
      const program = `echo $$ > ${group}/cgroup.procs && exec "$0" run -A --quiet "$1" -c "$2"`;
      const out = await run("sh", ["-c", program, Deno.execPath(), CLI, script]);
      assertMatch(
        out.stderr,
        /^-c:3: cannot start sleep: clone\(\) failed with EAGAIN \(Resource temporarily unavailable\); the box's process limit \(pids\.max\) is reached, or the user's \(ulimit -u\)$/m,
      );
    } finally {
      Deno.removeSync(group);
    }
  },
});
