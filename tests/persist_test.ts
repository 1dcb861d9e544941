/**
 * Namespaces bound to files outlive every process, can be joined again, and
 * are released; the seed's steps end to end.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import { hasProgram, IS_ROOT, nsh, type Output, runUnprivileged } from "./_env.ts";
import { type NamespaceType, nsenter, releaseNamespace, SyscallError, unshare } from "../mod.ts";
import { exists } from "../ffi/libc.ts";

const root = { ignore: !IS_ROOT };

function tempDir(): string {
  const dir = Deno.makeTempDirSync({ prefix: "nsh-persist-" });
  Deno.chmodSync(dir, 0o755);
  return dir;
}

function bound(file: string): boolean {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n").some((l) => l.split(" ")[4] === file);
}

Deno.test({
  name: "the seed's steps: a network namespace bound to a file keeps an address between nsenters",
  ignore: !IS_ROOT || !hasProgram("ip"),
  async fn() {
    const dir = tempDir();
    const file = `${dir}/mynetnamespace`;
    try {
      Deno.writeTextFileSync(file, "");
      const steps: [string[], number][] = [
        [["unshare", `--net=${file}`, "true"], 0],
        [["nsenter", `--net=${file}`, "ip", "a", "add", "127.0.0.123/24", "dev", "lo"], 0],
      ];
      for (const [args, code] of steps) assertEquals((await nsh(args)).code, code, args.join(" "));
      const show = await nsh(["nsenter", `--net=${file}`, "ip", "addr"]);
      assertEquals(show.code, 0, show.stderr);
      assertMatch(show.stdout, /^1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN/);
      assertMatch(show.stdout, /inet 127\.0\.0\.123\/24 scope host lo/);
      assertEquals(show.stdout.trimEnd().split("\n").length, 4);
      assertEquals((await nsh(["release", file])).code, 0);
      assert(!bound(file), "released");
      const after = await nsh(["nsenter", `--net=${file}`, "true"]);
      assertEquals(after.code, 1);
      assertMatch(after.stderr, /is not a namespace file/);
    } finally {
      if (bound(file)) await releaseNamespace(file);
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

const TYPES: NamespaceType[] = ["cgroup", "ipc", "mnt", "net", "time", "user", "uts"];

for (const type of TYPES) {
  Deno.test({
    name: `persist() binds a new ${type} namespace that a later nsenter joins`,
    ...root,
    async fn() {
      const dir = tempDir();
      const file = `${dir}/ns`; // created when missing
      try {
        // A user namespace is of use with a map: nsenter takes root's ids in it.
        await unshare({ [type === "mnt" ? "mount" : type]: file, mapRootUser: type === "user" }).run("true");
        assert(bound(file), "bound");
        const inode = Deno.statSync(file).ino;
        const joined = await nsenter({ [type === "mnt" ? "mount" : type]: file }).run(
          "readlink",
          `/proc/self/ns/${type}`,
        )
          .text();
        assertEquals(joined, `${type}:[${inode}]`);
      } finally {
        if (bound(file)) await releaseNamespace(file);
        Deno.removeSync(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "persist() of pid and time binds the namespace of the program's children",
  ...root,
  async fn() {
    const dir = tempDir();
    try {
      const holder = unshare({ pid: `${dir}/pid`, time: `${dir}/time`, boottime: 86400 * 7 }).run("sleep", "30")
        .spawn();
      const child = await holder.started;
      assertEquals(Deno.statSync(`${dir}/pid`).ino, inodeOf(`/proc/${child.pid}/ns/pid`));
      const inside = await nsenter({ pid: `${dir}/pid`, time: `${dir}/time` }).run("sh", "-c", "cat /proc/uptime")
        .text();
      assert(Number(inside.split(" ")[0]) > 86400 * 7, inside);
      holder.kill("SIGKILL");
      await holder.catch(() => {});
    } finally {
      for (const f of ["pid", "time"]) if (bound(`${dir}/${f}`)) await releaseNamespace(`${dir}/${f}`);
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

function inodeOf(path: string): number {
  return Number(/\[(\d+)\]/.exec(Deno.readLinkSync(path))![1]);
}

Deno.test({
  name: "a bound namespace outlives its process and ends when released",
  ...root,
  async fn() {
    const dir = tempDir();
    const file = `${dir}/uts`;
    try {
      await unshare({ uts: file, hostname: "kept" }).run("true");
      assertEquals(await nsenter({ uts: file }).run("hostname").text(), "kept");
      await releaseNamespace(file);
      assertEquals(Deno.statSync(file).size, 0, "the file stays, empty");
    } finally {
      if (bound(file)) await releaseNamespace(file);
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "nsh unshare --net=FILE creates a missing file, and never binds over content, a link or a special file",
  ...root,
  async fn() {
    const dir = tempDir();
    try {
      // Missing: created (util-linux fails with ENOENT), then bound.
      const made = await nsh(["unshare", `--net=${dir}/made`, "true"]);
      assertEquals([made.code, made.stderr], [0, ""]);
      assert(bound(`${dir}/made`), "bound");
      releaseNamespace(`${dir}/made`);
      Deno.writeTextFileSync(`${dir}/full`, "keep me\n");
      Deno.symlinkSync(`${dir}/made`, `${dir}/link`);
      await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
      const cases: [string, string][] = [
        [
          "full",
          "it holds 8 bytes, which the binding would hide: bind to an empty file, or to a missing one, which nsh creates",
        ],
        ["link", "it is a symbolic link: name the file itself"],
        ["fifo", "it is not a regular file"],
      ];
      for (const [name, why] of cases) {
        const out = await nsh(["unshare", `--net=${dir}/${name}`, "true"]);
        assertEquals([out.code, out.stderr], [
          1,
          `nsh unshare: cannot bind the net namespace to "${dir}/${name}": ${why}\n`,
        ]);
        assert(!bound(`${dir}/${name}`) && !bound(`${dir}/made`), `nothing bound for ${name}`);
      }
      assertEquals(Deno.readTextFileSync(`${dir}/full`), "keep me\n");
      // In a shell context's mount namespace too, where the child binds.
      const shell = await nsh(["-c", `unshare -m\nunshare --net=${dir}/full true`]);
      assertEquals(shell.code, 1);
      assertMatch(shell.stderr, /cannot bind the net namespace to ".*\/full": it holds 8 bytes/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

// A binding keeps its namespace alive: one left by a start that failed would
// hold a namespace nobody asked for, on a file nsh may have created.
Deno.test({
  name: "a start that fails after binding its namespaces leaves nothing bound, and no file it created",
  ...root,
  async fn() {
    const dir = tempDir();
    const made = `${dir}/made`, empty = `${dir}/empty`;
    Deno.writeTextFileSync(empty, "");
    try {
      const error = await assertRejects(() => unshare({ uts: made, net: empty }).run("/nonexistent/program").output());
      assert(error instanceof SyscallError && error.syscall === "execve", String(error));
      assert(!bound(made) && !bound(empty), "nothing bound");
      assert(!exists(made), "the file nsh created is removed");
      assertEquals(Deno.statSync(empty).size, 0, "the file that was there stays");
    } finally {
      for (const file of [made, empty]) if (bound(file)) await releaseNamespace(file);
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a binding that is refused undoes those before it, and removes the files they created",
  ...root,
  async fn() {
    const dir = tempDir();
    const made = `${dir}/made`, full = `${dir}/full`;
    Deno.writeTextFileSync(full, "keep me\n");
    try {
      // The UTS namespace is bound first (the plan orders them as NAMESPACES does).
      const error = await assertRejects(() => unshare({ uts: made, net: full }).run("true").output());
      assertMatch(String(error), /bind the net namespace to ".*\/full": it holds 8 bytes/);
      assert(!bound(made) && !exists(made), "the UTS binding is undone and its file removed");
      assertEquals(Deno.readTextFileSync(full), "keep me\n");
    } finally {
      if (bound(made)) await releaseNamespace(made);
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "binding to a directory, or releasing what is no binding, fails with one clear message",
  ...root,
  async fn() {
    const dir = tempDir();
    try {
      const onDir = await nsh(["unshare", `--net=${dir}`, "true"]);
      assertEquals(onDir.code, 1);
      assertEquals(
        onDir.stderr,
        `nsh unshare: cannot bind the net namespace to "${dir}": mount() failed with EISDIR (Is a directory); a namespace is bound to a file, not a directory\n`,
      );
      assertEquals([...Deno.readDirSync(dir)], [], "nothing created");
      Deno.writeTextFileSync(`${dir}/plain`, "");
      const plain = await nsh(["release", `${dir}/plain`]);
      assertEquals(plain.code, 1);
      assertMatch(plain.stderr, /^nsh release: cannot release .*; ".*plain" is not a namespace binding\n$/);
      const missing = await assertRejects(() => Promise.resolve().then(() => releaseNamespace(`${dir}/none`)));
      assert(missing instanceof SyscallError && missing.code === "ENOENT");
      const noDir = await nsh(["unshare", `--uts=${dir}/no/such/file`, "true"]);
      assertEquals(noDir.code, 1);
      assertMatch(noDir.stderr, /^nsh unshare: cannot create ".*\/no\/such\/file": open\(\) failed with ENOENT/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "an unprivileged user persists a user+net pair in its own mount namespace and enters it again",
  ignore: !IS_ROOT || !hasProgram("setpriv") || !hasProgram("ip"),
  async fn() {
    const out: Output = await runUnprivileged(`
      import { unshare } from "$REPO/mod.ts";
      const dir = Deno.makeTempDirSync();
      const nsh = [Deno.execPath(), "run", "-A", "--quiet", "--no-config", "$REPO/cli.ts"].join(" ");
      // In a user+mount namespace of its own the user may bind files; the pair
      // made there lives on after the process that made it.
      const script = [
        nsh + " unshare --user=" + dir + "/user --net=" + dir + "/net -r ip link set lo up",
        nsh + " nsenter --user=" + dir + "/user --net=" + dir + "/net sh -c 'id -u; ip -br link'",
        "readlink /proc/self/ns/net",
      ].join(" && ");
      const r = await unshare({ user: true, mapRootUser: true, mount: true }).run("sh", "-c", script).noThrow().output();
      console.log(JSON.stringify({ code: r.code, out: r.stdoutText, err: r.stderrText }));
      Deno.removeSync(dir, { recursive: true });
    `);
    assertEquals(out.code, 0, out.stderr);
    const r = JSON.parse(out.stdout);
    assertEquals(r.code, 0, r.err);
    const lines = (r.out as string).trim().split("\n");
    assertEquals(lines[0], "0");
    assertMatch(lines[1]!, /^lo\s+UNKNOWN\s/);
    assertMatch(lines[2]!, /^net:\[\d+\]$/);
  },
});

Deno.test({
  name: "an unprivileged user binding in the host's mount namespace gets a clear refusal",
  ignore: !IS_ROOT || !hasProgram("setpriv"),
  async fn() {
    const out = await runUnprivileged(`
      import { main } from "$REPO/cli/main.ts";
      const dir = Deno.makeTempDirSync();
      const code = await main(["unshare", "-r", "--net=" + dir + "/net", "true"]);
      console.log(JSON.stringify({ code, left: [...Deno.readDirSync(dir)].length }));
      Deno.removeSync(dir, { recursive: true });
    `);
    const r = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
    assertEquals([r.code, r.left], [1, 0]);
    assertMatch(
      out.stderr,
      /^nsh unshare: cannot bind the net namespace to ".*\/net": mount\(\) failed with EPERM \(Operation not permitted\); binding needs root in the mount namespace of the file\n$/,
    );
  },
});

Deno.test({
  name: "an unprivileged user persists a user+net pair in a shell context and enters it again",
  ignore: !IS_ROOT || !hasProgram("setpriv") || !hasProgram("ip"),
  async fn() {
    const out = await runUnprivileged(`
      import { Session } from "$REPO/cli/shell/session.ts";
      const dir = Deno.makeTempDirSync();
      let text = "";
      const io = { out: (t: string) => void (text += t), err: (t: string) => void (text += "ERR " + t) };
      const session = new Session(io, { errexit: true });
      const status = await session.runSource([
        "unshare --user --map-root-user --mount",
        "unshare --user=" + dir + "/user --net=" + dir + "/net --map-root-user ip link set lo up",
        "nsenter --user=" + dir + "/user --net=" + dir + "/net",
        "ip -brief link",
        "exit",
        "exit",
      ].join("\\n"), { file: "persist.nsh" });
      await session.close();
      Deno.removeSync(dir, { recursive: true });
      console.log(JSON.stringify({ status, text }));
    `);
    assertEquals(out.code, 0, out.stderr);
    const lines = out.stdout.trim().split("\n");
    const r = JSON.parse(lines.at(-1)!);
    assertEquals(r.status, 0, r.text);
    // The program's output goes to the session's stdout, the process's own.
    assertMatch(lines[0]!, /^lo\s+UNKNOWN\s/);
  },
});
