/**
 * The engine, run for real as root: every namespace type is verified from
 * inside (its inode differs from the host's, and it behaves), with exit
 * statuses, stdio and setup steps.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "./_assert.ts";
import { hasProgram, hostNamespace, IS_ROOT, REPO, run, traceScript } from "./_env.ts";
import { CommandError, ignoreSignals, type NamespaceType, sandbox, SyscallError, unshare } from "../mod.ts";
import { exists } from "../ffi/libc.ts";

const root = { ignore: !IS_ROOT };

const TYPES: NamespaceType[] = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];

for (const type of TYPES) {
  Deno.test({
    name: `unshare() gives the program a new ${type} namespace`,
    ...root,
    async fn() {
      const inside = await sandbox().unshare(type).run("readlink", `/proc/self/ns/${type}`).text();
      const host = hostNamespace(type);
      assertMatch(inside, new RegExp(`^${type}:\\[\\d+\\]$`));
      assert(inside !== host, `${type}: ${inside} should differ from the host's ${host}`);
    },
  });
}

Deno.test({
  name: "unshare() with every type at once leaves no namespace shared",
  ...root,
  async fn() {
    const lines = await unshare({
      cgroup: true,
      ipc: true,
      mount: true,
      net: true,
      pid: true,
      time: true,
      user: true,
      uts: true,
    }).run("sh", "-c", `for t in ${TYPES.join(" ")}; do readlink /proc/self/ns/$t; done`).lines();
    assertEquals(lines.length, TYPES.length);
    lines.forEach((line, i) => assert(line !== hostNamespace(TYPES[i]!), `${TYPES[i]} is shared`));
  },
});

Deno.test({
  name: "unshare() runs the program as PID 1 and mountProc shows only its namespace",
  ...root,
  async fn() {
    const pids = await unshare({ pid: true, mountProc: true }).run("ps", "-e", "-o", "pid=").lines();
    assertEquals(pids.map((p) => p.trim()), ["1"]);
    const self = await unshare({ pid: true }).run("sh", "-c", "echo $$").text();
    assertEquals(self, "1");
  },
});

Deno.test({
  name: "hostname() sets the hostname in a new UTS namespace only",
  ...root,
  async fn() {
    const before = Deno.hostname();
    const inside = await sandbox().hostname("nsh-box").domainname("nsh.test").run("sh", "-c", "hostname; domainname")
      .lines();
    assertEquals(inside, ["nsh-box", "nsh.test"]);
    assertEquals(Deno.hostname(), before);
  },
});

Deno.test({
  name: "unshare() with net shows only a loopback that is down",
  ignore: !IS_ROOT || !hasProgram("ip"),
  async fn() {
    const links = await unshare({ net: true }).run("ip", "-o", "link").lines();
    assertEquals(links.length, 1);
    assertMatch(links[0]!, /^1: lo: <LOOPBACK> .* state DOWN/);
  },
});

Deno.test({
  name: "unshare() with ipc hides the host's message queues",
  ignore: !IS_ROOT || !hasProgram("ipcmk"),
  async fn() {
    const made = await run("ipcmk", ["-Q"]);
    const id = /(\d+)/.exec(made.stdout)?.[1];
    assert(id, made.stdout + made.stderr);
    try {
      const host = Deno.readTextFileSync("/proc/sysvipc/msg");
      assert(host.split("\n").some((l) => l.trim().split(/\s+/)[1] === id), "the queue exists on the host");
      const inside = await unshare({ ipc: true }).run("cat", "/proc/sysvipc/msg").lines();
      assertEquals(inside.length, 1, `only the header line inside, got ${inside.join("|")}`);
    } finally {
      await run("ipcrm", ["-q", id]);
    }
  },
});

Deno.test({
  name: "mounts in a new mount namespace are not seen by the host",
  ...root,
  async fn() {
    const dir = Deno.makeTempDirSync();
    try {
      const inside = await sandbox().tmpfs(dir, "size=1m").run(
        "sh",
        "-c",
        `echo hi > ${dir}/f; cat ${dir}/f; grep -c " ${dir} " /proc/self/mountinfo`,
      )
        .lines();
      assertEquals(inside, ["hi", "1"]);
      assertEquals([...Deno.readDirSync(dir)].length, 0);
      assert(!Deno.readTextFileSync("/proc/self/mountinfo").includes(` ${dir} `));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "propagation() is applied to the whole new mount tree",
  ...root,
  async fn() {
    const shared = await unshare({ mount: true, propagation: "shared" }).run("cat", "/proc/self/mountinfo").lines();
    assert(shared.every((l) => / shared:\d+ /.test(l)), "every mount is shared");
    const priv = await unshare({ mount: true }).run("cat", "/proc/self/mountinfo").lines();
    assert(priv.every((l) => !/ (shared|master):\d+ /.test(l)), "the default is private");
  },
});

Deno.test({
  name: "timeOffset() shifts the boot-time and monotonic clocks",
  ...root,
  async fn() {
    const day = 86400;
    const out = await unshare({ time: true, boottime: 10 * day, monotonic: day }).run(
      "sh",
      "-c",
      "cat /proc/self/timens_offsets; cat /proc/uptime",
    ).lines();
    assertEquals(out.slice(0, 2).map((l) => l.trim().split(/\s+/).slice(0, 2).join(" ")), [
      `monotonic ${day}`,
      `boottime ${10 * day}`,
    ]);
    const hostUptime = Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]);
    const uptime = Number(out[2]!.split(" ")[0]);
    assert(uptime - hostUptime > 10 * day - 60, `uptime ${uptime} shows the offset over ${hostUptime}`);
  },
});

Deno.test({
  name: "mapRootUser() makes the caller root in a new user namespace",
  ...root,
  async fn() {
    const out = await unshare({ mapRootUser: true }).run(
      "sh",
      "-c",
      "id -u; id -g; cat /proc/self/uid_map /proc/self/setgroups",
    )
      .lines();
    assertEquals(out.map((l) => l.trim().split(/\s+/).join(" ")), ["0", "0", "0 0 1", "deny"]);
  },
});

Deno.test({
  name: "mapUsers() as root writes ranges from the parent and setuid() switches",
  ...root,
  async fn() {
    const box = unshare({
      user: true,
      mapUsers: [{ inside: 0, outside: 100000, count: 65536 }],
      mapGroups: [{ inside: 0, outside: 100000, count: 65536 }],
      setuid: 1000,
      setgid: 1000,
    });
    const out = await box.run("sh", "-c", "id -u; id -g; cat /proc/self/uid_map").lines();
    assertEquals(out.map((l) => l.trim().split(/\s+/).join(" ")), ["1000", "1000", "0 100000 65536"]);
  },
});

Deno.test({
  name: "keepCaps() leaves the capabilities of the user namespace ambient for a non-root program",
  ...root,
  async fn() {
    const plain = await unshare({ user: true, mapUser: 1000 }).run("grep", "^CapAmb", "/proc/self/status").text();
    assertMatch(plain, /CapAmb:\s+0+$/);
    const kept = await unshare({ user: true, mapUser: 1000, keepCaps: true }).run(
      "grep",
      "^CapAmb",
      "/proc/self/status",
    )
      .text();
    assertMatch(kept, /CapAmb:\s+0*[1-9a-f][0-9a-f]*$/);
  },
});

Deno.test({
  name: "root() and workdir() change the program's view, and proc is mounted in the new root",
  ...root,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-root-" });
    try {
      for (const d of ["usr", "proc", "work"]) Deno.mkdirSync(`${dir}/${d}`);
      for (const l of ["bin", "lib", "lib64", "sbin"]) {
        try {
          Deno.symlinkSync(Deno.readLinkSync(`/${l}`), `${dir}/${l}`);
        } catch {
          // Not a symlink on this system: not needed for the test.
        }
      }
      Deno.writeTextFileSync(`${dir}/work/marker`, "in the new root\n");
      const box = unshare({ pid: true, root: dir, wd: "/work", mountProc: true }).with(
        sandbox().bindMount("/usr", `${dir}/usr`, { readonly: true }),
      );
      const out = await box.run("sh", "-c", "pwd; cat marker; ps -e -o pid=; touch /usr/x 2>&1 || echo read-only")
        .lines();
      assertEquals(out[0], "/work");
      assertEquals(out[1], "in the new root");
      assertEquals(out[2]!.trim(), "1");
      assertEquals(out.at(-1), "read-only");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a command reports the exit code and the signal of the program",
  ...root,
  async fn() {
    const ok = await sandbox().unshare("uts").run("true");
    assertEquals([ok.code, ok.signal, ok.success], [0, null, true]);
    const three = await sandbox().unshare("uts").run("sh", "-c", "exit 3").noThrow();
    assertEquals([three.code, three.success], [3, false]);
    const killed = await sandbox().unshare("uts").run("sh", "-c", "kill -9 $$").noThrow();
    assertEquals([killed.code, killed.signal], [137, "SIGKILL"]);
    const error = await assertRejects(() => sandbox().unshare("uts").run("sh", "-c", "echo bad >&2; exit 4").output());
    assert(error instanceof CommandError);
    assertEquals([error.code, error.stderr], [4, "bad\n"]);
  },
});

Deno.test({
  name: "a command pipes stdin, stdout and stderr",
  ...root,
  async fn() {
    const box = sandbox().unshare("uts");
    assertEquals(await box.run("tr", "a-z", "A-Z").stdinText("hello").text(), "HELLO");
    const r = await box.run("sh", "-c", "echo out; echo err >&2").output();
    assertEquals([r.stdoutText, r.stderrText], ["out\n", "err\n"]);
    const big = await box.run("head", "-c", "1000000", "/dev/zero").bytes();
    assertEquals(big.length, 1000000);
    assertEquals(await box.run("cat").stdin("null").text(), "");
    const child = box.run("cat").stdin("piped").stdout("piped").spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("streamed"));
    await writer.close();
    const text = await new Response(child.stdout).text();
    assertEquals(text, "streamed");
    assertEquals((await child).code, 0);
  },
});

Deno.test("ignoreSignals() starts the program with the signals ignored (SIGPIPE too, which nsh's Deno ignores); others start at their default", async () => {
  const ignored = async (box: ReturnType<typeof sandbox>) =>
    BigInt("0x" + (await box.run("sh", "-c", "grep SigIgn /proc/$$/status").text()).split("\t")[1]);
  // What this process ignores itself, the program does too (execve keeps it), but SIGPIPE, which nsh resets.
  const before = await ignored(sandbox());
  assertEquals(before & 0x1206n, 0n);
  // INT (2), USR1 (10), PIPE (13).
  const box = sandbox(ignoreSignals("SIGINT", "SIGUSR1"), ignoreSignals("SIGPIPE"));
  assertEquals(await ignored(box), before | 0x1202n);
  assertEquals(await box.run("sh", "-c", "kill -INT $$; echo survived").text(), "survived");
  assertThrows(() => sandbox(ignoreSignals("SIGKILL")).plan(), RangeError, "Cannot ignore SIGKILL: it cannot be");
  assertThrows(() => sandbox(ignoreSignals("INT" as Deno.Signal)).plan(), TypeError, 'Cannot ignore "INT"');
});

Deno.test("a timeout bounds the wait when a process left behind holds the output; bad limits and signals throw", async () => {
  // No PID namespace: the background sleep outlives sh and keeps stdout open.
  const box = unshare({ user: true, mapRootUser: true });
  const started = Date.now();
  const error = await assertRejects(() => box.run("sh", "-c", "sleep 3 & echo started").timeout(200).text());
  assert(error instanceof CommandError && error.timedOut, String(error));
  assertEquals(error.message, `Command "sh -c 'sleep 3 & echo started'" timed out`);
  assert(Date.now() - started < 2500, "settled without waiting for the background sleep");
  // The same for input: a leftover process holds stdin, unread, and the feed must not wait for it.
  const fed = Date.now();
  const feeding = await assertRejects(() =>
    box.run("sh", "-c", "exec 3<&0; sleep 3 <&3 >/dev/null 2>&1 & exit 0").stdinText("x".repeat(1_000_000))
      .timeout(200).output()
  );
  assert(feeding instanceof CommandError && feeding.timedOut, String(feeding));
  assert(Date.now() - fed < 2500, "settled without waiting for the background sleep to read");
  // A source with nothing more to give does not outlive the program.
  const never = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) });
  assertEquals((await box.run("true").stdin(never).output()).code, 0);
  for (const ms of [-1, Number.NaN, 2 ** 31]) {
    assertThrows(() => box.run("true").timeout(ms), RangeError, `Cannot set a timeout of ${ms} ms`);
  }
  const child = box.run("sleep", "30").spawn();
  assertThrows(() => child.kill("SIGFOO"), TypeError, "Cannot send signal SIGFOO: no such signal");
  child.kill("SIGKILL");
  assert((await child.catch((e) => e)) instanceof CommandError);
  // Aborted before the start: nothing starts, the signal's reason is the error.
  const reason = new Error("never mind");
  assertEquals(await box.run("true").signal(AbortSignal.abort(reason)).catch((e) => e), reason);
});

Deno.test({
  name: "a command's timeout and abort signal kill the program",
  ...root,
  async fn() {
    const box = sandbox().unshare("pid");
    const timedOut = await assertRejects(() => box.run("sleep", "30").timeout(50));
    assert(timedOut instanceof CommandError && timedOut.timedOut);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const aborted = await assertRejects(() => box.run("sleep", "30").signal(controller.signal));
    assert(aborted instanceof CommandError && aborted.aborted);
    const child = box.run("sleep", "30").spawn();
    child.kill("SIGKILL");
    const r = await child.catch((e) => e);
    assert(r instanceof CommandError && r.signal === "SIGKILL", String(r));
  },
});

Deno.test({
  name: "killChild() kills the program when the Deno process that started it dies",
  ...root,
  async fn() {
    const script = `
      import { unshare } from "${new URL("../mod.ts", import.meta.url).href}";
      const child = unshare({ uts: true, killChild: true }).run("sleep", "1000").spawn();
      await child.started;
      console.log(child.pid);
      await new Promise(() => {});`;
    const file = Deno.makeTempFileSync({ suffix: ".ts" });
    Deno.writeTextFileSync(file, script);
    const parent = new Deno.Command(Deno.execPath(), { args: ["run", "-A", "--no-config", file], stdout: "piped" })
      .spawn();
    const reader = parent.stdout.getReader();
    const { value } = await reader.read();
    const pid = Number(new TextDecoder().decode(value).trim());
    assert(pid > 0);
    // vfork lets the parent go on while execve ends (docs/DESIGN.md): wait for the program to show.
    for (let i = 0; i < 100 && !Deno.readTextFileSync(`/proc/${pid}/cmdline`).startsWith("sleep"); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert(Deno.readTextFileSync(`/proc/${pid}/cmdline`).startsWith("sleep"));
    parent.kill("SIGKILL");
    await parent.status;
    reader.releaseLock();
    await parent.stdout.cancel();
    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) {
      try {
        gone = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.startsWith("Z");
      } catch {
        gone = true;
      }
      if (!gone) await new Promise((r) => setTimeout(r, 20));
    }
    Deno.removeSync(file);
    assert(gone, `sleep (pid ${pid}) outlived its parent`);
  },
});

Deno.test({
  name: "a failing setup step names the operation, the path, the errno and a hint",
  ...root,
  async fn() {
    const error = await assertRejects(() => unshare({ mountProc: "/nonexistent-nsh" }).run("true"));
    assert(error instanceof SyscallError);
    assertEquals([error.syscall, error.code, error.path], ["mount", "ENOENT", "/nonexistent-nsh"]);
    assertEquals(
      error.message,
      'Cannot mount proc on "/nonexistent-nsh": mount() failed with ENOENT (No such file or directory); the mount point must exist (inside the new root, for proc)',
    );
    const missing = await assertRejects(() => unshare({ net: true }).run("no-such-program-nsh"));
    assert(missing instanceof SyscallError);
    assertEquals([missing.syscall, missing.code], ["execve", "ENOENT"]);
  },
});

Deno.test({
  name:
    "a command searches PATH as sh does: EACCES wins over ENOENT, a later executable wins, unsearchable is not found",
  ...root,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-path-" });
    try {
      for (const d of ["a", "b", "c"]) Deno.mkdirSync(`${dir}/${d}`);
      Deno.writeTextFileSync(`${dir}/a/prog`, "#!/bin/sh\necho a\n");
      Deno.writeTextFileSync(`${dir}/c/prog`, "#!/bin/sh\necho c\n");
      Deno.chmodSync(`${dir}/c/prog`, 0o755);
      const box = sandbox().unshare("uts");
      const denied = await assertRejects(() => box.run("prog").env({ PATH: `${dir}/a:${dir}/b` }));
      assert(denied instanceof SyscallError);
      assertEquals(denied.code, "EACCES");
      assertEquals(await box.run("prog").env({ PATH: `${dir}/a:${dir}/b:${dir}/c` }).text(), "c");
      const missing = await assertRejects(() => box.run("prog").env({ PATH: `${dir}/b` }));
      assertEquals((missing as SyscallError).code, "ENOENT");

      // A directory the child cannot search holds no program for it, as in
      // sh (execvp would say EACCES): "not found", 127. The directory is
      // nobody's, and the child is root in a user namespace of its own where
      // nobody is not mapped: root's bypass does not apply there.
      Deno.chmodSync(dir, 0o755);
      Deno.mkdirSync(`${dir}/private`, { mode: 0o700 });
      Deno.writeTextFileSync(`${dir}/private/prog`, "#!/bin/sh\necho private\n", { mode: 0o755 });
      Deno.chownSync(`${dir}/private`, 65534, 65534);
      const outsider = sandbox().unshare("user");
      const code = async (search: string, program = "prog") => {
        const error = await assertRejects(() => outsider.run(program).env({ PATH: search }));
        return (error as SyscallError).code;
      };
      assertEquals(await code(`${dir}/private:${dir}/b`), "ENOENT");
      assertEquals(await code(`${dir}/b:${dir}/private`), "ENOENT");
      assertEquals(await code(`${dir}/private:${dir}/a`), "EACCES");
      assertEquals(await outsider.run("prog").env({ PATH: `${dir}/private:${dir}/c` }).text(), "c");
      // A path is not searched for: the directory refuses it.
      assertEquals(await code("", `${dir}/private/prog`), "EACCES");
      assertEquals(await box.run(`${dir}/private/prog`).text(), "private");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("a file without #! is run by /bin/sh, as execvp(3) does, by path and through PATH", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nsh-noexec-" });
  try {
    Deno.chmodSync(dir, 0o755);
    Deno.mkdirSync(`${dir}/bin`);
    Deno.writeTextFileSync(`${dir}/bin/script`, 'printf "%s|" "$0" "$@" "$NSH_VAR"\n', { mode: 0o755 });
    const box = unshare({ user: true, mapRootUser: true });
    // argv: /bin/sh, the file, then the arguments after argv[0]; the same environment.
    const byPath = await box.run(`${dir}/bin/script`, "a b", "").env({ NSH_VAR: "v" }).text();
    assertEquals(byPath, `${dir}/bin/script|a b||v|`);
    const searched = await box.run("script", "x").env({ PATH: `${dir}/none:${dir}/bin`, NSH_VAR: "w" }).text();
    assertEquals(searched, `${dir}/bin/script|x|w|`);
    // A later candidate is not tried once one was run by sh; an earlier
    // missing one does not run sh.
    Deno.mkdirSync(`${dir}/later`);
    Deno.writeTextFileSync(`${dir}/later/script`, "#!/bin/sh\necho later\n", { mode: 0o755 });
    assertEquals(await box.run("script").env({ PATH: `${dir}/bin:${dir}/later` }).text(), `${dir}/bin/script||`);
    assertEquals(await box.run("script").env({ PATH: `${dir}/none:${dir}/later` }).text(), "later");
    // Where there is no /bin/sh (a new root), the error says so.
    const root = unshare({ user: true, mapRootUser: true, root: dir });
    const error = await assertRejects(() => root.run("/bin/script"));
    assert(error instanceof SyscallError, String(error));
    assertEquals(
      error.message,
      `Cannot execute "/bin/script" in the new root "${dir}" with /bin/sh (it has no #! line): execve() failed with ` +
        "ENOENT (No such file or directory); a file without a #! line is run by /bin/sh, and there is none",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a script whose #! interpreter is missing is not called missing itself", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nsh-interp-" });
  try {
    Deno.writeTextFileSync(`${dir}/script`, "#!/no/such/interpreter\necho hi\n", { mode: 0o755 });
    const box = unshare({ user: true, mapRootUser: true });
    const error = await assertRejects(() => box.run(`${dir}/script`));
    assert(error instanceof SyscallError, String(error));
    assertMatch(
      error.message,
      /failed with ENOENT .*; the file exists: its #! interpreter \(or ELF loader\) does not$/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a command has finally, as a promise has", async () => {
  let called = 0;
  const box = unshare({ user: true, mapRootUser: true });
  assertEquals((await box.run("echo", "x").stdout("piped").finally(() => called++)).code, 0);
  await assertRejects(() => box.run("false").finally(() => called++));
  assertEquals(called, 2);
});

Deno.test("kill() ends PID 1 of a new PID namespace, which the kernel shields from signals it does not handle", async () => {
  const box = unshare({ user: true, mapRootUser: true, pid: true });
  const plain = box.run("sleep", "30").spawn();
  const child = await plain.started;
  assert(child.shielded(15) && !child.shielded(17), "SIGTERM is shielded, SIGCHLD ends nothing anyway");
  plain.kill("SIGTERM");
  const error = await plain.catch((e) => e);
  assert(error instanceof CommandError && error.signal === "SIGKILL", String(error));
  // A handler gets the signal itself.
  const handled = box.run("sh", "-c", 'trap "exit 7" TERM; echo ready; while :; do sleep 0.05; done')
    .stdout("piped").noThrow().spawn();
  const reader = handled.stdout.getReader();
  await reader.read(); // "ready": the trap is set
  reader.releaseLock();
  assert(!(await handled.started).shielded(15));
  handled.kill("SIGTERM");
  await handled.stdout.cancel();
  assertEquals((await handled).code, 7);
});

Deno.test("a command or sandbox made from a context refuses to run once the context is closed", async () => {
  const a = await unshare({ user: true, mapRootUser: true, uts: true, hostname: "ctx-a" }).hold();
  const command = a.run("hostname");
  const box = a.sandbox();
  assertEquals(await command.text(), "ctx-a");
  await a.close();
  // A new context may get the descriptors the closed one named.
  await using b = await unshare({ user: true, mapRootUser: true, uts: true, hostname: "ctx-b" }).hold();
  assertEquals(await b.run("hostname").text(), "ctx-b");
  for (
    const use of [
      () => command.text(),
      () => box.run("true"),
      () => box.hold(),
      () => Promise.resolve().then(() => box.plan()),
    ]
  ) {
    const error = await assertRejects(use);
    assertEquals(String(error), "Error: Cannot use a closed context");
  }
});

// The parent's part of a start (id maps, bindings, a process group) once made
// one more process in a context with mounts of its own, to bind namespaces to
// files when there were none to bind: every program the shell ran in such a
// context under job control cost two clones. Counted with strace.
Deno.test({
  name: "start() in a process group of a context with its own mounts makes one process",
  ignore: !IS_ROOT || !hasProgram("strace"),
  async fn() {
    const trace = await traceScript(
      `import { unshare } from "${REPO}mod.ts";
       import { start } from "${REPO}lib/engine.ts";
       const context = await unshare({ mount: true }).hold();
       const plan = context.sandbox().plan();
       if (!plan.enter.some((e) => e.type === "mnt")) throw new Error("the plan joins no mount namespace");
       mark("start");
       const child = await start(plan, { argv: ["true"], stdin: "null", job: { group: 0 } });
       mark("started");
       if (!(await child.status).success) throw new Error("true failed");
       await context.close();`,
      ["clone", "clone3", "fork", "vfork"],
    );
    assert(trace.at("start") >= 0 && trace.at("started") > trace.at("start"), "the markers are traced");
    // Threads of Deno's pools are clones too: only processes count.
    const processes = trace.calls("start", "started", ["clone3?", "v?fork"])
      .filter((line) => !line.includes("CLONE_THREAD"));
    assertEquals(processes.length, 1, processes.join("\n"));
  },
});

Deno.test({
  name: "kill() under nsh's init reaches the program while it runs; once it has ended, only SIGKILL, for the init",
  ignore: !IS_ROOT,
  async fn() {
    const { start } = await import("../lib/engine.ts");
    const { planHere } = await import("../lib/plan.ts");
    const p = planHere(unshare({ pid: true }).steps);
    const firstLine = async (stream: ReadableStream<Uint8Array>) => {
      const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("\n")) text += (await reader.read()).value ?? "\n";
      reader.releaseLock();
      return text.trim();
    };
    const running = await start(p, {
      argv: ["sh", "-c", "trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done"],
      stdout: "piped",
      init: true,
    });
    assertEquals(await firstLine(running.stdout!), "ready");
    running.kill("SIGTERM");
    assertEquals((await running.status).code, 7);

    // The program leaves a process behind: the init lives on, reaping it.
    const left = await start(p, { argv: ["sh", "-c", "sleep 30 & exit 3"], init: true });
    assertEquals((await left.status).code, 3);
    const children = () => Deno.readTextFileSync(`/proc/${left.pid}/task/${left.pid}/children`).trim();
    // The program's pid may be another process's by now: no signal goes there, nor to the orphan.
    left.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 100));
    assert(children() !== "", "the orphan runs on under the init");
    // SIGKILL ends the init, PID 1 of the box, and every process in it.
    left.kill("SIGKILL");
    let gone = false;
    for (let i = 0; i < 400 && !gone; i++) {
      gone = !exists(`/proc/${left.pid}`);
      if (!gone) await new Promise((r) => setTimeout(r, 25));
    }
    assert(gone, "the init has ended and was reaped");
  },
});
