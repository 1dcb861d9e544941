/**
 * audit() and `nsh audit`: the host shell, `nsh unshare -n`, a rootless box
 * and the isolate() preset, each with its breakout paths; seccomp filters
 * copied into the probing child; Landlock counted from inside; cgroups and
 * their limits; bad input. Real processes, real namespaces, real filters.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import { CLI, hasProgram, IS_ROOT, nsh, REPO, run, runUnprivileged } from "./_env.ts";
import { auditHelp } from "../cli/audit.ts";
import { type Audit, audit, isolate, rootBind, SyscallError, unshare } from "../mod.ts";

const root = { ignore: !IS_ROOT };
const USERNS = IS_ROOT || (await unshare({ user: true, mapRootUser: true }).run("true").noThrow()).code === 0;
const userns = { ignore: !USERNS };
const python = { ignore: !IS_ROOT || !hasProgram("python3") };

/** The open/closed verdicts of an audit, by id. */
function verdicts(report: Audit): Record<string, boolean | null> {
  return Object.fromEntries(report.breakouts.map((b) => [b.id, b.open]));
}

/** The status of each probed call, by name. */
function statuses(report: Audit): Record<string, string> {
  return Object.fromEntries(report.syscalls.calls.map((c) => [c.name, c.status]));
}

/** Which namespaces are shared with the reference. */
function sharing(report: Audit): Record<string, boolean | null> {
  return Object.fromEntries(report.namespaces.map((n) => [n.type, n.shared]));
}

const dir = Deno.makeTempDirSync({ prefix: "nsh-test-audit-" });
Deno.chmodSync(dir, 0o755);
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

/**
 * A program that loads a seccomp filter and then runs its arguments: the
 * filter answers sethostname with EPERM and kills on acct, and allows the rest.
 */
const FILTER_PY = `${dir}/filter.py`;
Deno.writeTextFileSync(
  FILTER_PY,
  `
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def ins(code, jt, jf, k): return struct.pack("<HBBI", code, jt, jf, k & 0xffffffff)
LD, JEQ, RET = 0x20, 0x15, 0x06
prog = b"".join([
  ins(LD, 0, 0, 4), ins(JEQ, 1, 0, 0xc000003e), ins(RET, 0, 0, 0x80000000),
  ins(LD, 0, 0, 0),
  ins(JEQ, 0, 1, 170), ins(RET, 0, 0, 0x00050000 | 1),
  ins(JEQ, 0, 1, 163), ins(RET, 0, 0, 0x80000000),
  ins(RET, 0, 0, 0x7fff0000),
])
buf = ctypes.create_string_buffer(prog)
class Fprog(ctypes.Structure): _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fp = Fprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
assert libc.prctl(38, 1, 0, 0, 0) == 0
assert libc.syscall(317, 1, 0, ctypes.byref(fp)) == 0, ctypes.get_errno()
os.execvp(sys.argv[1], sys.argv[1:])
`,
);

/**
 * A program that adds Landlock layers (each handles making character devices
 * only, which nothing here does) and then runs its arguments.
 */
const LANDLOCK_PY = `${dir}/landlock.py`;
Deno.writeTextFileSync(
  LANDLOCK_PY,
  `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
attr = ctypes.c_uint64(1 << 6)
assert libc.prctl(38, 1, 0, 0, 0) == 0
for _ in range(int(sys.argv[1])):
    fd = libc.syscall(444, ctypes.byref(attr), 8, 0)
    assert fd >= 0 and libc.syscall(446, fd, 0) == 0, ctypes.get_errno()
    os.close(fd)
os.execvp(sys.argv[2], sys.argv[2:])
`,
);
Deno.chmodSync(FILTER_PY, 0o644);
Deno.chmodSync(LANDLOCK_PY, 0o644);

/** Waits until a process has exec'd the program named (its comm). */
async function started(pid: number, comm: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if (Deno.readTextFileSync(`/proc/${pid}/comm`).trim() === comm) return;
    } catch {
      // Not there yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`process ${pid} never ran ${comm}`);
}

/** A child of a process, by its comm. */
async function childNamed(parent: number, comm: string): Promise<number> {
  for (let i = 0; i < 300; i++) {
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const status = Deno.readTextFileSync(`/proc/${entry.name}/status`);
        if (
          new RegExp(`^PPid:\\s*${parent}$`, "m").test(status) && new RegExp(`^Name:\\s*${comm}$`, "m").test(status)
        ) {
          return Number(entry.name);
        }
      } catch {
        // Gone.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`process ${parent} has no child ${comm}`);
}

/** A host process: sleep started by Deno, in every namespace of the test's. */
async function withHostProcess<T>(argv: string[], fn: (pid: number) => Promise<T>): Promise<T> {
  const child = new Deno.Command(argv[0]!, { args: argv.slice(1), stdout: "null", stderr: "null" }).spawn();
  try {
    await started(child.pid, "sleep");
    return await fn(child.pid);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
}

/** A program in a sandbox, audited while it runs. */
async function auditBox(box: ReturnType<typeof unshare>, argv: string[]): Promise<Audit> {
  const child = box.run(argv[0]!, ...argv.slice(1)).noThrow().spawn();
  try {
    const { pid } = await child.started;
    await started(pid, "sleep");
    return await audit(pid);
  } finally {
    child.kill("SIGKILL");
    await child;
  }
}

Deno.test({
  name: "audit() of a host process: every namespace shared, CAP_SYS_ADMIN over the machine, the breakout paths open",
  ...root,
  async fn() {
    const report = await withHostProcess(["sleep", "60"], (pid) => audit(pid));
    assert(Object.values(sharing(report)).every((shared) => shared === true), JSON.stringify(sharing(report)));
    assertEquals([report.user.initial, report.capabilities.countIn], [true, "initial"]);
    assert(report.capabilities.effective.includes("CAP_SYS_ADMIN"));
    assertEquals([report.filesystem.hostRoot, report.filesystem.hostProc], [true, true]);
    const open = verdicts(report);
    assertEquals(
      [
        open["proc-join"],
        open["cap-sys-admin"],
        open["release-agent"],
        open["proc-sys"],
        open.ptrace,
        open["seed-netns"],
      ],
      [true, true, true, true, true, true],
    );
    assertEquals(statuses(report).mount, "allowed");
    assertEquals(statuses(report).sethostname, "allowed");
    assertEquals(report.seccomp.probedWith, "none");
  },
});

Deno.test({
  name: "nsh audit of nsh unshare -n: its own network namespace, and the seed's nsenter --net breakout is open",
  ...root,
  async fn() {
    const box = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", CLI, "unshare", "-n", "sleep", "60"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const pid = await childNamed(box.pid, "sleep");
      const out = await nsh(["audit", String(pid)]);
      assertEquals([out.code, out.stderr], [0, ""]);
      assertMatch(out.stdout, /^ {2}net +its own +net:\[\d+\]$/m);
      assertMatch(out.stdout, /^ {2}mnt +shared +mnt:\[\d+\]$/m);
      assertMatch(
        out.stdout,
        /^ {2}OPEN {4}the seed's nsenter --net=\/proc\/\d+\/ns\/net\n {10}setns into the host's network namespace succeeded$/m,
      );
      assertMatch(out.stdout, /^ {2}OPEN {4}join the host's namespaces through \/proc$/m);
      assert(!out.stdout.includes("\x1b["), "no colour on a pipe");
    } finally {
      box.kill("SIGTERM");
      await box.status;
    }
  },
});

Deno.test({
  name:
    "audit() of the seed's box (its own net and PID namespaces, the host's /proc): the host's namespaces are a setns away",
  ...root,
  async fn() {
    const report = await auditBox(unshare({ net: true, pid: true }), ["sleep", "60"]);
    assertEquals([sharing(report).net, sharing(report).pid], [false, false]);
    assertEquals(report.filesystem.hostProc, true);
    const join = report.breakouts.find((b) => b.id === "proc-join")!;
    assertEquals(join.open, true);
    assertMatch(join.why, /setns into net, pid of \/proc\/\d+\/ns\/ succeeded/);
    assertEquals(verdicts(report)["seed-netns"], true);
    // In its own PID namespace it cannot name the host's processes.
    assertEquals(verdicts(report).ptrace, false);
  },
});

Deno.test({
  name: "audit() of the isolate() preset: every breakout path closed, every privileged call refused",
  ...root,
  async fn() {
    const report = await auditBox(isolate(), ["sleep", "60"]);
    const shared = sharing(report);
    assertEquals(Object.entries(shared).filter(([, s]) => s).map(([type]) => type), ["time"]);
    assertEquals([report.user.initial, report.user.depth, report.capabilities.countIn], [false, 1, "nested"]);
    assertEquals(report.user.uidMap, [{ inside: 0, outside: 65534, count: 1 }]);
    assertEquals([report.capabilities.effective, report.capabilities.bounding, report.noNewPrivs], [[], [], true]);
    assertEquals(
      [report.filesystem.hostRoot, report.filesystem.hostProc, report.filesystem.sys],
      [false, false, false],
    );
    assertEquals(report.breakouts.filter((b) => b.open !== false).map((b) => b.id), []);
    // Its filter (ISOLATE_SECCOMP) denies mounts, swap, the clock, namespaces and more, whatever the capabilities;
    // what it lets through, the missing capabilities deny.
    assertEquals([report.seccomp.mode, report.seccomp.probedWith], ["filter", "copied"]);
    const calls = statuses(report);
    for (
      const name of ["mount", "umount2", "pivot_root", "swapon", "settimeofday", "chroot", "setns", "unshare", "bpf"]
    ) {
      assertEquals(calls[name], "seccomp", name);
    }
    for (const name of ["sethostname", "acct", "syslog", "fanotify_init", "process_vm_readv"]) {
      assertEquals(calls[name], "capability", name);
    }
    assertEquals(calls.setsid, "allowed");
    assert(report.syscalls.how.includes("its mnt, net, ipc, uts, cgroup, user namespaces"), report.syscalls.how);
  },
});

Deno.test({
  name: "audit() copies a process's seccomp filter: what it denies is told apart from what capabilities deny",
  ...python,
  async fn() {
    await withHostProcess(["python3", FILTER_PY, "sleep", "60"], async (pid) => {
      const report = await audit(pid);
      assertEquals([report.seccomp.mode, report.seccomp.probedWith, report.seccomp.instructions], [
        "filter",
        "copied",
        [9],
      ]);
      const calls = Object.fromEntries(report.syscalls.calls.map((c) => [c.name, c]));
      assertEquals(
        [calls.sethostname!.status, calls.sethostname!.errno, calls.sethostname!.withoutFilter],
        ["seccomp", "EPERM", "EINVAL"],
      );
      assertEquals(calls.sethostname!.filter, "errno EPERM");
      assertEquals([calls.acct!.status, calls.acct!.killed, calls.acct!.filter], ["seccomp", true, "kill-process"]);
      // The calls after acct ran in a new child: the kill stopped nothing else.
      assertEquals([calls.mount!.status, calls.unshare!.status, calls.vhangup!.status], [
        "allowed",
        "allowed",
        "allowed",
      ]);
      // The process runs on, no longer traced, and was not signalled.
      const status = Deno.readTextFileSync(`/proc/${pid}/status`);
      assertMatch(status, /^TracerPid:\s*0$/m);
      assertMatch(status, /^State:\s*S/m);
    });
  },
});

Deno.test({
  name:
    "audit() of a filtered program in the preset: a call both the filter and a missing capability deny is seccomp's",
  ...python,
  async fn() {
    const report = await auditBox(isolate({ readable: [dir] }), ["python3", FILTER_PY, "sleep", "60"]);
    // Two filters: the preset's, then the program's own.
    assertEquals(report.seccomp.filters, 2);
    const calls = Object.fromEntries(report.syscalls.calls.map((c) => [c.name, c]));
    assertEquals([calls.sethostname!.status, calls.sethostname!.filter], ["seccomp", "errno EPERM"]);
    assertEquals([calls.acct!.status, calls.acct!.killed], ["seccomp", true]);
    assertEquals([calls.fanotify_init!.status, calls.fanotify_init!.filter], ["capability", "allow"]);
  },
});

Deno.test({
  name: "audit() of root's unshare -Ur: nested capabilities, yet /proc/sys writable, for root inside is root outside",
  ...root,
  async fn() {
    const report = await auditBox(unshare({ user: true, mapRootUser: true }), ["sleep", "60"]);
    assertEquals(report.user.uidMap, [{ inside: 0, outside: 0, count: 1 }]);
    const open = verdicts(report);
    assertEquals([open["cap-sys-admin"], open["release-agent"], open["proc-sys"]], [false, false, true]);
    assertEquals(statuses(report).mount, "capability");
  },
});

Deno.test({
  name:
    "audit() as nobody of its own rootless box: capabilities nested, the breakout paths closed but the shared network",
  ...userns,
  async fn() {
    const out = await runUnprivileged(`
      import { audit, unshare } from "$REPO/mod.ts";
      const child = unshare({ user: true, mapRootUser: true }).run("sleep", "60").noThrow().spawn();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const report = await audit(child.pid);
      child.kill("SIGKILL");
      await child;
      console.log(JSON.stringify({
        shared: report.namespaces.filter((n) => n.shared === false).map((n) => n.type),
        countIn: report.capabilities.countIn,
        effective: report.capabilities.effective.length,
        seccomp: report.seccomp.probedWith,
        how: report.syscalls.how,
        calls: Object.fromEntries(report.syscalls.calls.map((c) => [c.name, c.status])),
        open: Object.fromEntries(report.breakouts.map((b) => [b.id, b.open])),
      }));
    `);
    assertEquals([out.code, out.stderr], [0, ""]);
    const seen = JSON.parse(out.stdout);
    assertEquals([seen.shared, seen.countIn, seen.seccomp], [["user"], "nested", "none"]);
    assert(seen.effective > 30, `${seen.effective} capabilities`);
    assert(seen.how.includes("its user namespace,"), seen.how);
    assertEquals([seen.calls.mount, seen.calls.sethostname, seen.calls.chroot], [
      "capability",
      "capability",
      "allowed",
    ]);
    assertEquals(seen.open, {
      "proc-join": false,
      "cap-sys-admin": false,
      "release-agent": false,
      "runtime-socket": false,
      "proc-sys": false,
      ptrace: false,
      "seed-netns": true,
    });
  },
});

Deno.test({
  name: "audit() as nobody of a filtered process: the filter needs root to read, and the audit says so",
  ignore: !hasProgram("python3"),
  async fn() {
    const out = await runUnprivileged(`
      import { audit } from "$REPO/mod.ts";
      const child = new Deno.Command("python3", { args: ["${FILTER_PY}", "sleep", "60"] }).spawn();
      await new Promise((resolve) => setTimeout(resolve, 500));
      const report = await audit(child.pid);
      child.kill("SIGKILL");
      await child.status;
      const sethostname = report.syscalls.calls.find((c) => c.name === "sethostname");
      console.log(JSON.stringify({ seccomp: report.seccomp, sethostname }));
    `);
    assertEquals([out.code, out.stderr], [0, ""]);
    const seen = JSON.parse(out.stdout);
    assertEquals([seen.seccomp.mode, seen.seccomp.probedWith], ["filter", "unread"]);
    assertMatch(seen.seccomp.why, /PTRACE_SECCOMP_GET_FILTER failed with EACCES \(it needs CAP_SYS_ADMIN/);
    // Probed without the filter: nobody lacks the capability either way.
    assertEquals(seen.sethostname.status, "capability");
  },
});

Deno.test({
  name: "nsh audit run inside a box counts its Landlock layers and sees its own user namespace",
  ignore: !USERNS || !hasProgram("python3"),
  async fn() {
    for (const layers of [0, 2]) {
      const out = await run("python3", [
        LANDLOCK_PY,
        String(layers),
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        CLI,
        "unshare",
        "-Ur",
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        CLI,
        "audit",
        "--json",
      ]);
      assertEquals([out.code, out.stderr], [0, ""]);
      const report = JSON.parse(out.stdout) as Audit;
      assertEquals([report.self, report.landlock.layers], [true, layers]);
      assertEquals([report.user.initial, report.capabilities.countIn], [false, "nested"]);
      assertEquals(report.seccomp.probedWith, "none");
    }
  },
});

Deno.test({
  name: "nsh audit --json prints the documented shape; text has a section for each part",
  ...root,
  async fn() {
    await withHostProcess(["sleep", "60"], async (pid) => {
      const json = await nsh(["audit", "--json", String(pid)]);
      assertEquals(json.code, 0);
      const report = JSON.parse(json.stdout);
      assertEquals(Object.keys(report), [
        "format",
        "pid",
        "self",
        "command",
        "auditor",
        "reference",
        "namespaces",
        "user",
        "credentials",
        "capabilities",
        "noNewPrivs",
        "seccomp",
        "syscalls",
        "landlock",
        "lsm",
        "cgroups",
        "filesystem",
        "breakouts",
      ]);
      assertEquals([report.format, report.pid], [1, pid]);
      assertMatch(report.command, /sleep 60$/);
      const text = await nsh(["audit", String(pid)], { env: { NO_COLOR: "1" } });
      for (const section of ["Namespaces", "Credentials", "Capabilities", "Seccomp", "Cgroups", "Files"]) {
        assertMatch(text.stdout, new RegExp(`^${section}`, "m"));
      }
      assertMatch(text.stdout, /^Breakout paths\n( {2}(OPEN|closed|unknown) +.+\n {10}.+\n)+/m);
    });
  },
});

Deno.test({
  name: "audit() probes change nothing: the hostname, core_pattern, the mount table and the process are as before",
  ...root,
  async fn() {
    const before = [
      Deno.hostname(),
      Deno.readTextFileSync("/proc/sys/kernel/core_pattern"),
      Deno.readTextFileSync("/proc/self/mountinfo").split("\n").length,
    ];
    await withHostProcess(["sleep", "60"], async (pid) => {
      // Its pid, name, parent, group, session, and no tracer.
      const identity = () => {
        const [id, name, , ...rest] = Deno.readTextFileSync(`/proc/${pid}/stat`).split(" ");
        const tracer = /^TracerPid:\s*(\d+)$/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1];
        return [id, name, ...rest.slice(0, 3), tracer];
      };
      const before = identity();
      await audit(pid);
      assertEquals(identity(), before);
    });
    assertEquals(before, [
      Deno.hostname(),
      Deno.readTextFileSync("/proc/sys/kernel/core_pattern"),
      Deno.readTextFileSync("/proc/self/mountinfo").split("\n").length,
    ]);
  },
});

Deno.test({
  name: "audit() reads a cgroup v1 memory limit set on the process's cgroup",
  ignore: !IS_ROOT || !Deno.readTextFileSync("/proc/self/cgroup").includes(":memory:"),
  async fn() {
    const path = /^\d+:memory:(.*)$/m.exec(Deno.readTextFileSync("/proc/self/cgroup"))![1]!;
    const mine = `/sys/fs/cgroup/memory${path === "/" ? "" : path}/nsh-test-audit-${Deno.pid}`;
    Deno.mkdirSync(mine);
    try {
      Deno.writeTextFileSync(`${mine}/memory.limit_in_bytes`, String(64 << 20));
      await withHostProcess(["sleep", "60"], async (pid) => {
        Deno.writeTextFileSync(`${mine}/cgroup.procs`, String(pid));
        const report = await audit(pid, { probe: false });
        const memory = report.cgroups!.limits.find((l) => l.resource === "memory")!;
        assertEquals([memory.value, memory.limited, memory.file], [
          String(64 << 20),
          true,
          `${mine}/memory.limit_in_bytes`,
        ]);
        const text = await nsh(["audit", "--no-probe", String(pid)]);
        assertMatch(
          text.stdout,
          /^ {2}memory {10}64 MiB\s+\(\/sys\/fs\/cgroup\/memory\/.*\/memory\.limit_in_bytes\)$/m,
        );
      });
    } finally {
      Deno.removeSync(mine);
    }
  },
});

Deno.test({
  name: "audit() says which controller it finds nowhere, where no hierarchy of it is mounted",
  ignore: !IS_ROOT || !Deno.readTextFileSync("/proc/self/mountinfo").includes(" /sys/fs/cgroup/pids "),
  async fn() {
    // In a mount namespace of its own, without the pids hierarchy.
    const out = await nsh([
      "unshare",
      "-m",
      "sh",
      "-c",
      `umount /sys/fs/cgroup/pids && exec ${Deno.execPath()} run -A --quiet ${CLI} audit --json --no-probe`,
    ]);
    assertEquals([out.code, out.stderr], [0, ""]);
    const pids = (JSON.parse(out.stdout) as Audit).cgroups!.limits.find((l) => l.resource === "pids")!;
    assertEquals(pids.value, null);
    assertMatch(pids.why!, /^no pids controller where this process's cgroups are/);
  },
});

Deno.test({
  name: "nsh audit: a missing process, a word that is no pid, another user's process: one line, status 1",
  async fn() {
    const missing = await nsh(["audit", "4194304999"]);
    assertEquals([missing.code, missing.stdout], [1, ""]);
    assertEquals(
      missing.stderr,
      "nsh audit: cannot audit process 4194304999: open() failed with ESRCH (No such process); " +
        "there is no process 4194304999\n",
    );
    const word = await nsh(["audit", "self"]);
    assertEquals([word.code, word.stderr], [1, "nsh audit: 'self' is not a pid\n"]);
    const two = await nsh(["audit", "1", "2"]);
    assertEquals(two.code, 1);
    assertMatch(two.stderr, /^nsh audit: unexpected argument '2'\nTry 'nsh audit --help' for more information\.\n$/);
    await assertRejects(() => audit(0), RangeError);
  },
});

Deno.test("nsh audit PID --json: options after the pid, as the usage line and util-linux's getopt have them", async () => {
  const out = await nsh(["audit", String(Deno.pid), "--json", "--no-probe"]);
  assertEquals([out.code, out.stderr], [0, ""]);
  assertEquals((JSON.parse(out.stdout) as Audit).pid, Deno.pid);
  // After --, a word is no option.
  const ended = await nsh(["audit", "--", String(Deno.pid), "--json"]);
  assertEquals([ended.code, ended.stderr], [
    1,
    "nsh audit: unexpected argument '--json'\nTry 'nsh audit --help' for more information.\n",
  ]);
});

Deno.test("audit() of a zombie says it has ended", async () => {
  // sleep does not reap: the true that sh left behind stays a zombie while sleep runs.
  const parent = new Deno.Command("sh", { args: ["-c", "/bin/true & exec sleep 60"], stdout: "null" }).spawn();
  try {
    const zombie = await childNamed(parent.pid, "true");
    for (let i = 0; i < 200 && !/^State:\s*Z/m.test(Deno.readTextFileSync(`/proc/${zombie}/status`)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const error = await assertRejects(() => audit(zombie), SyscallError);
    assertEquals(error.code, "ENOENT");
    assertMatch(error.message, /; process \d+ has ended: it is a zombie its parent has not reaped$/);
  } finally {
    parent.kill("SIGKILL");
    await parent.status;
  }
});

Deno.test({
  name: "audit() as nobody of root's process: the process is not its to inspect, one line with a hint",
  ...root,
  async fn() {
    const out = await runUnprivileged(`
      import { audit } from "$REPO/mod.ts";
      try {
        await audit(${Deno.pid});
      } catch (error) {
        console.log(error.name + ": " + error.message);
      }
    `);
    assertEquals(
      out.stdout.trim(),
      `SyscallError: Cannot audit process ${Deno.pid}: readlink() failed with EACCES (Permission denied); ` +
        `process ${Deno.pid} is not yours to inspect (another user's, or protected): run nsh audit as root`,
    );
    const cli = await runUnprivileged(`
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", "$REPO/cli.ts", "audit", "${Deno.pid}"],
      }).output();
      console.log(out.code, new TextDecoder().decode(out.stderr).split("\\n").length - 1);
    `);
    assertEquals(cli.stdout.trim(), "1 1");
  },
});

Deno.test({
  name: "audit() of a process that even root may not inspect (PID 1 here) fails with the reason",
  ignore: !IS_ROOT || (() => {
    try {
      Deno.readLinkSync("/proc/1/ns/user");
      return true;
    } catch {
      return false;
    }
  })(),
  async fn() {
    const error = await assertRejects(() => audit(1), SyscallError);
    assertEquals(error.code, "EACCES");
    assertMatch(error.message, /process 1 may not be inspected, even by root/);
  },
});

Deno.test("nsh audit --help matches its snapshot; --version prints the version", async () => {
  const path = `${REPO}tests/snapshots/audit_help.txt`;
  if (Deno.env.get("UPDATE_SNAPSHOTS") === "1") Deno.writeTextFileSync(path, auditHelp());
  assertEquals(
    auditHelp(),
    Deno.readTextFileSync(path),
    "snapshot audit_help.txt (UPDATE_SNAPSHOTS=1 to accept a change)",
  );
  const help = await nsh(["audit", "--help"]);
  assertEquals([help.code, help.stdout, help.stderr], [0, auditHelp(), ""]);
  const version = await nsh(["audit", "-V"]);
  assertMatch(version.stdout, /^nsh audit \d+\.\d+\.\d+\n$/);
});

Deno.test({
  name:
    "audit() finds a container runtime socket in the box: open when it may connect, closed when the socket refuses it",
  ...root,
  async fn() {
    const path = `${dir}/docker.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    try {
      const box = isolate().with(rootBind(path, "/run/docker.sock"));
      Deno.chmodSync(path, 0o666);
      const open = await auditBox(box, ["sleep", "60"]);
      assertEquals(open.filesystem.sockets, [{ path: "/run/docker.sock", connects: true, errno: null }]);
      const verdict = open.breakouts.find((b) => b.id === "runtime-socket")!;
      assertEquals([verdict.open, verdict.why], [true, "/run/docker.sock accepts its connections"]);
      // Root in the box is nobody outside: a socket only root may write is closed to it.
      Deno.chmodSync(path, 0o600);
      const closed = await auditBox(box, ["sleep", "60"]);
      assertEquals(closed.filesystem.sockets, [{ path: "/run/docker.sock", connects: false, errno: "EACCES" }]);
      assertEquals(verdicts(closed)["runtime-socket"], false);
    } finally {
      listener.close();
    }
  },
});
