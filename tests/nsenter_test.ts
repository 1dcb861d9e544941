/**
 * Joining namespaces of other processes and of files: nsh nsenter and the
 * nsenter() API, with the checks that refuse a wrong file before any process
 * starts.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import { hasProgram, IS_ROOT, nsh, runUnprivileged } from "./_env.ts";
import { type CommandChild, nsenter, sandbox, SyscallError, unshare } from "../mod.ts";

const root = { ignore: !IS_ROOT };

/** Starts a long-running holder in new namespaces and returns it with its pid. */
async function holder(
  box = unshare({ pid: true, mountProc: true, uts: true, hostname: "held", net: true, ipc: true }),
) {
  const child: CommandChild = box.run("sleep", "60").env({ HOLDER_VAR: "from-the-holder" }).spawn();
  const { pid } = await child.started;
  return {
    pid,
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.catch(() => {});
    },
  };
}

Deno.test({
  name: "nsenter() with a target joins its namespaces, and a joined PID namespace gets a new process",
  ...root,
  async fn() {
    await using h = await holder();
    const out = await nsenter({ target: h.pid, all: true }).run("sh", "-c", "hostname; echo $$; ps -e -o pid=,comm=")
      .lines();
    assertEquals(out[0], "held");
    assert(Number(out[1]) > 1, "the program is a new process, not PID 1");
    assertEquals(out.slice(2).map((l) => l.trim().split(/\s+/)[1]), ["sleep", "sh", "ps"]);
    for (const type of ["net", "uts", "ipc", "pid", "mnt"]) {
      // The holder's /proc shows its PID namespace: /proc/self needs that one too.
      const options = type === "mnt" ? { mount: true, pid: true } : { [type]: true };
      const inside = await nsenter({ target: h.pid, ...options }).run(
        "readlink",
        `/proc/self/ns/${type}`,
      ).text();
      assertEquals(inside, Deno.readLinkSync(`/proc/${h.pid}/ns/${type}`), type);
    }
  },
});

Deno.test({
  name: "nsh nsenter joins by --target and by file, with util-linux's options",
  ...root,
  async fn() {
    await using h = await holder();
    const byTarget = await nsh(["nsenter", "-t", String(h.pid), "-u", "hostname"]);
    assertEquals([byTarget.code, byTarget.stdout], [0, "held\n"]);
    const byFile = await nsh(["nsenter", `--uts=/proc/${h.pid}/ns/uts`, "hostname"]);
    assertEquals([byFile.code, byFile.stdout], [0, "held\n"]);
    const attached = await nsh(["nsenter", `-u/proc/${h.pid}/ns/uts`, "hostname"]);
    assertEquals([attached.code, attached.stdout], [0, "held\n"]);
    const env = await nsh(["nsenter", "-t", String(h.pid), "-u", "--env", "sh", "-c", "echo $HOLDER_VAR"]);
    assertEquals(env.stdout, "from-the-holder\n");
    const status = await nsh(["nsenter", "-t", String(h.pid), "-a", "sh", "-c", "exit 7"]);
    assertEquals(status.code, 7);
  },
});

Deno.test({
  name: "nsenter() --root and --wd take the target's root and working directory",
  ...root,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-enter-root-" });
    try {
      for (const d of ["usr", "work"]) Deno.mkdirSync(`${dir}/${d}`);
      for (const l of ["bin", "lib", "lib64", "sbin"]) {
        try {
          Deno.symlinkSync(Deno.readLinkSync(`/${l}`), `${dir}/${l}`);
        } catch {
          // Not a symlink on this system.
        }
      }
      Deno.writeTextFileSync(`${dir}/work/marker`, "");
      await using h = await holder(
        unshare({ mount: true, root: dir, wd: "/work" }).bindMount("/usr", `${dir}/usr`, { readonly: true }),
      );
      const wd = await nsenter({ target: h.pid, mount: true, wd: true }).run("sh", "-c", "pwd").text();
      assertEquals(wd, `${dir}/work`, "--wd alone: the target's directory, seen from the host's root");
      const both = await nsenter({ target: h.pid, mount: true, root: true, wd: true }).run("sh", "-c", "pwd; ls /work")
        .lines();
      assertEquals(both, ["/work", "marker"]);
      const rootOnly = await nsenter({ target: h.pid, mount: true, root: true }).run("sh", "-c", "pwd; ls /").lines();
      assertEquals(rootOnly[0], "/");
      assert(rootOnly.includes("work") && !rootOnly.includes("etc"), rootOnly.join(" "));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "nsenter() takes root's ids in a joined user namespace unless preserveCredentials",
  ...root,
  async fn() {
    await using h = await holder(unshare({ user: true, mapUser: 1000, mapGroup: 1000 }));
    // Root outside is 1000 inside; uid 0 is not mapped, so joining as root fails
    // where util-linux's nsenter fails too, and keeping the ids works.
    const error = await assertRejects(() => nsenter({ target: h.pid, user: true }).run("id", "-u"));
    assert(error instanceof SyscallError);
    assertEquals([error.syscall, error.code], ["setresgid", "EINVAL"]);
    assertMatch(error.message, /the id is not mapped in the user namespace$/);
    assertEquals(
      await nsenter({ target: h.pid, user: true, preserveCredentials: true }).run("id", "-u").text(),
      "1000",
    );
    assertEquals(
      await nsenter({ target: h.pid, user: true, setuid: 1000, setgid: 1000 }).run("id", "-u").text(),
      "1000",
    );
  },
});

Deno.test({
  name: "nsenter() joins a time namespace, which needs a child with its own memory",
  ...root,
  async fn() {
    await using h = await holder(unshare({ time: true, boottime: 86400 * 30 }));
    const uptime = await nsenter({ target: h.pid, time: true }).run("cat", "/proc/uptime").text();
    assert(Number(uptime.split(" ")[0]) > 86400 * 30, uptime);
    const both = await nsenter({ target: h.pid, time: true, pid: true }).run("readlink", "/proc/self/ns/time").text();
    assertEquals(both, Deno.readLinkSync(`/proc/${h.pid}/ns/time`));
  },
});

Deno.test({
  name: "nsenter() then new namespaces: they are made inside the joined ones",
  ...root,
  async fn() {
    await using h = await holder();
    const out = await nsenter({ target: h.pid, pid: true, mount: true }).with(
      sandbox().unshare("uts").hostname("inner"),
    )
      .run("sh", "-c", "hostname; readlink /proc/self/ns/uts").lines();
    assertEquals(out[0], "inner");
    assert(out[1] !== Deno.readLinkSync(`/proc/${h.pid}/ns/uts`));
  },
});

/** A process in a network namespace of its own that holds a socket made there, and that socket's descriptor. */
async function socketHolder() {
  const dir = Deno.makeTempDirSync();
  const child: CommandChild = unshare({ net: true }).run(
    Deno.execPath(),
    "eval",
    `Deno.listen({ transport: "unix", path: "${dir}/s" }); console.log("ready"); setTimeout(() => {}, 60000);`,
  ).stdin("null").stdout("piped").spawn();
  const reader = child.stdout!.getReader();
  await reader.read();
  reader.releaseLock();
  const { pid } = await child.started;
  const socket = [...Deno.readDirSync(`/proc/${pid}/fd`)].map((e) => Number(e.name))
    .find((fd) => Deno.readLinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:"));
  assert(socket !== undefined, "the holder has a socket");
  return {
    pid,
    socket,
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.stdout!.cancel();
      await child.catch(() => {});
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

Deno.test({
  name: "nsh nsenter --net-socket joins the network namespace of a socket of the target, as util-linux does",
  ...root,
  async fn() {
    await using h = await socketHolder();
    const expected = Deno.readLinkSync(`/proc/${h.pid}/ns/net`);
    assert(expected !== Deno.readLinkSync("/proc/self/ns/net"), "the holder has a network namespace of its own");
    const out = await nsh([
      "nsenter",
      "--target",
      String(h.pid),
      "--net-socket",
      String(h.socket),
      "readlink",
      "/proc/self/ns/net",
    ]);
    assertEquals([out.code, out.stdout, out.stderr], [0, `${expected}\n`, ""]);
    const short = await nsh(["nsenter", "-t", String(h.pid), `-N${h.socket}`, "readlink", "/proc/self/ns/net"]);
    assertEquals(short.stdout, `${expected}\n`);
    // The API, and the file a socket is: /proc/PID/fd/N.
    assertEquals(
      await nsenter({ target: h.pid, netSocket: h.socket }).run("readlink", "/proc/self/ns/net").text(),
      expected,
    );
    assertEquals(
      await nsenter({ net: `/proc/${h.pid}/fd/${h.socket}` }).run("readlink", "/proc/self/ns/net").text(),
      expected,
    );
    const cases: [string[], string][] = [
      [["-N", "3"], "cannot join the network namespace of socket 3: no target pid is given, whose socket it is"],
      [["-t", String(h.pid), "-N", "x"], "failed to parse socket descriptor: 'x'"],
      [
        ["-t", String(h.pid), "-N", "9999"],
        `cannot open the net namespace "/proc/${h.pid}/fd/9999": open() failed with ENOENT (No such file or directory); process ${h.pid} has no descriptor 9999`,
      ],
      [
        // Its standard input is /dev/null.
        ["-t", String(h.pid), "-N", "0"],
        `cannot join the net namespace of "/proc/${h.pid}/fd/0": ioctl() failed with ENOTTY (Inappropriate ioctl for device); "/proc/${h.pid}/fd/0" is neither a namespace nor a socket`,
      ],
    ];
    for (const [args, message] of cases) {
      const refused = await nsh(["nsenter", ...args, "true"]);
      assertEquals([refused.code, refused.stderr], [1, `nsh nsenter: ${message}\n`], args.join(" "));
    }
  },
});

Deno.test({
  name: "nsh nsenter refuses a wrong file, a missing process or a missing target with one line and status 1",
  ...root,
  async fn() {
    await using h = await holder();
    const cases: [string[], RegExp][] = [
      [
        ["--net=/etc/hostname"],
        /^nsh nsenter: cannot join the net namespace of "\/etc\/hostname": ioctl\(\) failed with ENOTTY \(Inappropriate ioctl for device\); "\/etc\/hostname" is not a namespace file \(such as \/proc\/PID\/ns\/net\)\n$/,
      ],
      [
        [`--net=/proc/${h.pid}/ns/pid`],
        /^nsh nsenter: cannot join the net namespace of "\/proc\/\d+\/ns\/pid": setns\(\) failed with EINVAL \(Invalid argument\); "\/proc\/\d+\/ns\/pid" is a pid namespace\n$/,
      ],
      [
        // util-linux says only "Invalid argument": the kernel refuses the user namespace one is in.
        ["--user=/proc/self/ns/user"],
        /^nsh nsenter: cannot join the user namespace of "\/proc\/self\/ns\/user": setns\(\) failed with EINVAL \(Invalid argument\); a process cannot join the user namespace it is already in \(leave out -U\)\n$/,
      ],
      [
        ["-U", "-t", String(Deno.pid)],
        /^nsh nsenter: cannot join the user namespace of "\/proc\/\d+\/ns\/user": setns\(\) failed with EINVAL \(Invalid argument\); a process cannot join the user namespace it is already in \(leave out -U\)\n$/,
      ],
      [
        ["-t", "999999", "-n"],
        /^nsh nsenter: cannot open the net namespace "\/proc\/999999\/ns\/net": open\(\) failed with ENOENT \(No such file or directory\); there is no process 999999\n$/,
      ],

      [["-n"], /^nsh nsenter: cannot join the net namespace: neither a file nor a target pid is given\n$/],
      [["-t", "1"], /^nsh nsenter: cannot join namespaces: none is given \(use --all or a namespace option\)\n$/],
      [
        ["--net=/no/such/file"],
        /^nsh nsenter: cannot open the net namespace "\/no\/such\/file": open\(\) failed with ENOENT/,
      ],
      [["-t", "abc", "-n"], /^nsh nsenter: failed to parse pid: 'abc'\n$/],
    ];
    for (const [args, expected] of cases) {
      const out = await nsh(["nsenter", ...args, "true"]);
      assertEquals(out.code, 1, args.join(" "));
      assertMatch(out.stderr, expected);
    }
  },
});

/** Whether this process can open a file (PID 1's namespaces cannot be opened even by root on some machines). */
function canOpen(path: string): boolean {
  try {
    Deno.openSync(path).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "nsh nsenter names the file and the real failure for a process even root may not inspect",
  // Only where such a process exists: PID 1 of some sandboxes.
  ignore: !IS_ROOT || canOpen("/proc/1/ns/net"),
  async fn() {
    for (const args of [["--net=/proc/1/ns/net"], ["-t", "1", "-n"]]) {
      const out = await nsh(["nsenter", ...args, "true"]);
      assertEquals([out.code, out.stderr], [
        1,
        'nsh nsenter: cannot open the net namespace "/proc/1/ns/net": open() failed with EACCES (Permission denied); ' +
        "process 1 may not be inspected, even by root: a security module or a kernel rule protects it\n",
      ]);
    }
  },
});

Deno.test({
  name: "nsh nsenter as an unprivileged user: root's processes are refused, its own rootless ones are joined",
  ignore: !IS_ROOT || !hasProgram("setpriv"),
  async fn() {
    await using h = await holder();
    const out = await runUnprivileged(`
      import { main } from "$REPO/cli/main.ts";
      import { unshare } from "$REPO/mod.ts";
      const refused = await main(["nsenter", "-t", "${h.pid}", "-n", "true"]);
      const byFile = await main(["nsenter", "--net=/proc/${h.pid}/ns/net", "true"]);
      const own = unshare({ user: true, mapRootUser: true, uts: true, hostname: "mine" }).run("sleep", "30").spawn();
      const { pid } = await own.started;
      const joined = await main(["nsenter", "-t", String(pid), "-U", "-u", "hostname"]);
      own.kill("SIGKILL");
      await own.catch(() => {});
      console.log(JSON.stringify({ refused, byFile, joined }));
    `);
    const r = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
    assertEquals([r.refused, r.byFile, r.joined], [1, 1, 0]);
    // As util-linux: the file is opened as named, and the failure is the open's.
    const refusal = `nsh nsenter: cannot open the net namespace "/proc/${h.pid}/ns/net": open() failed with EACCES ` +
      `(Permission denied); process ${h.pid} is not yours to inspect (another user's, or protected by a security module)\n`;
    assertEquals(out.stderr.split(/(?<=\n)/).filter((line) => line.startsWith("nsh nsenter:")), [refusal, refusal]);
    assertMatch(out.stdout, /^mine$/m);
  },
});
