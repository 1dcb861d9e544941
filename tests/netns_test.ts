/**
 * Named network namespaces, both ways with iproute2's `ip netns`. Everything
 * happens in a mount and network namespace the test makes (with its own
 * /run), so the host's /run/netns, /etc and network are never touched.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { CLI, hasProgram, IS_ROOT, runUnprivileged } from "./_env.ts";
import { type CommandResult, nsenter, unshare } from "../mod.ts";

const NSH = [Deno.execPath(), "run", "-A", "--quiet", CLI];

/** A mount+net namespace with a tmpfs on /run, held by a sleeping process. */
async function world() {
  const holder = unshare({ mount: true, net: true }).tmpfs("/run", "mode=0755").run("sleep", "120").spawn();
  const { pid } = await holder.started;
  const enter = nsenter({ target: pid, mount: true, net: true });
  return {
    run: (...argv: string[]): Promise<CommandResult> => enter.run(argv).noThrow().output(),
    nsh: (...args: string[]): Promise<CommandResult> => enter.run([...NSH, ...args]).noThrow().output(),
    async [Symbol.asyncDispose]() {
      holder.kill("SIGKILL");
      await holder.catch(() => {});
    },
  };
}

function ok(r: CommandResult, what: string): string {
  assertEquals(r.code, 0, `${what}: ${r.stderrText}`);
  return r.stdoutText;
}

Deno.test({
  name: "the seed's ip netns steps: a veth end moved into a namespace nsh made is seen by nsh netns exec",
  ignore: !IS_ROOT || !hasProgram("ip"),
  async fn() {
    await using w = await world();
    ok(await w.nsh("netns", "add", "mynamespace"), "netns add");
    assertEquals(ok(await w.run("ip", "netns", "list"), "ip netns list").trim(), "mynamespace");
    ok(await w.run("ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1"), "ip link add");
    ok(await w.run("ip", "link", "set", "veth1", "netns", "mynamespace"), "ip link set");
    const inside = ok(await w.nsh("netns", "exec", "mynamespace", "ip", "addr"), "netns exec");
    assertMatch(inside, /^1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN/);
    assertMatch(inside, /\n\d+: veth1@if\d+: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN .*link-netnsid 0\n/s);
    const viaIp = ok(await w.run("ip", "netns", "exec", "mynamespace", "ip", "-br", "link"), "ip netns exec");
    assertEquals(viaIp.split("\n").filter(Boolean).map((l) => l.split(/\s+/)[0]!.split("@")[0]), ["lo", "veth1"]);
  },
});

Deno.test({
  name: "a namespace added by ip netns is listed and usable by nsh netns, and deleted by either",
  ignore: !IS_ROOT || !hasProgram("ip"),
  async fn() {
    await using w = await world();
    ok(await w.run("ip", "netns", "add", "red"), "ip netns add");
    ok(await w.nsh("netns", "add", "blue"), "nsh netns add");
    assertEquals(ok(await w.nsh("netns", "list"), "list"), "blue\nred\n");
    assertEquals(
      ok(await w.nsh("netns", "exec", "red", "ip", "-br", "link"), "exec").split("\n").filter(Boolean).length,
      1,
    );
    ok(await w.nsh("netns", "delete", "red"), "nsh delete");
    ok(await w.run("ip", "netns", "delete", "blue"), "ip delete");
    assertEquals(ok(await w.nsh("netns", "list"), "list"), "");
    assertEquals(ok(await w.run("sh", "-c", "grep -c /run/netns/ /proc/self/mountinfo || true"), "mounts").trim(), "0");
  },
});

Deno.test({
  name: "nsh netns exec shows /etc/netns/NAME over /etc and a /sys of the namespace",
  ignore: !IS_ROOT || !hasProgram("ip"),
  async fn() {
    await using w = await world();
    // An overlay on /etc, in the test's mount namespace only, to make /etc/netns.
    ok(
      await w.run(
        "sh",
        "-c",
        "mkdir -p /run/ov/up /run/ov/work && mount -t overlay overlay -o lowerdir=/etc,upperdir=/run/ov/up,workdir=/run/ov/work /etc && mkdir -p /etc/netns/blue && echo '10.9.8.7 special' > /etc/netns/blue/hosts && echo x > /etc/netns/blue/no-such-file-in-etc",
      ),
      "overlay",
    );
    ok(await w.nsh("netns", "add", "blue"), "add");
    ok(await w.run("ip", "link", "add", "vA", "type", "veth", "peer", "name", "vB"), "veth");
    ok(await w.run("ip", "link", "set", "vB", "netns", "blue"), "move");
    const r = await w.nsh("netns", "exec", "blue", "sh", "-c", "cat /etc/hosts; ls /sys/class/net");
    assertEquals(r.stdoutText, "10.9.8.7 special\nlo\nvB\n");
    assertEquals(
      r.stderrText,
      "nsh netns: not showing /etc/netns/blue/no-such-file-in-etc: /etc/no-such-file-in-etc does not exist\n",
    );
    // Outside, /sys is the host's sysfs (it shows the namespace that mounted it).
    const outside = ok(await w.run("ls", "/sys/class/net"), "outside").split("\n");
    assert(!outside.includes("vB"), outside.join(" "));
    assert(!ok(await w.run("cat", "/etc/hosts"), "hosts").includes("special"), "nothing leaks out");
  },
});

Deno.test({
  name: "nsh netns identify, pids and attach find processes and names",
  ignore: !IS_ROOT || !hasProgram("ip"),
  async fn() {
    await using w = await world();
    ok(await w.nsh("netns", "add", "blue"), "add");
    const sleeper = await w.run(
      "sh",
      "-c",
      `${NSH.join(" ")} netns exec blue sleep 30 >/dev/null 2>&1 & sleep 0.5; echo $!`,
    );
    const pids = ok(await w.nsh("netns", "pids", "blue"), "pids").trim().split("\n");
    assertEquals(pids.length, 1, `one sleeper (${sleeper.stdoutText.trim()})`);
    assertEquals(ok(await w.nsh("netns", "identify", pids[0]!), "identify"), "blue\n");
    ok(await w.run("kill", pids[0]!), "kill");
    const held = await w.run("sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!");
    const pid = held.stdoutText.trim();
    ok(await w.nsh("netns", "attach", "green", pid), "attach");
    assertEquals(ok(await w.run("ip", "netns", "identify", pid), "ip identify"), "green\n");
    assertEquals(ok(await w.nsh("netns", "identify", pid), "identify"), "green\n");
    // nsh itself runs in the same namespace as the sleeper here.
    assertEquals(ok(await w.nsh("netns", "identify"), "identify self"), "green\n");
    ok(await w.run("kill", pid), "kill");
  },
});

Deno.test({
  name: "nsh netns refuses bad names, a name in use and a missing name, leaving nothing behind",
  ignore: !IS_ROOT || !hasProgram("ip"),
  async fn() {
    await using w = await world();
    ok(await w.nsh("netns", "add", "blue"), "add");
    // Statuses as ip netns gives them: 255 for an invalid name or an unknown
    // subcommand, 1 for the rest.
    const cases: [string[], number, string][] = [
      [
        ["add", "blue"],
        1,
        'nsh netns: cannot create the namespace file "/run/netns/blue": open() failed with EEXIST (File exists); a network namespace named "blue" exists\n',
      ],
      [["add", "a/b"], 255, 'nsh netns: cannot use "a/b" as a network namespace name: it contains a slash\n'],
      [["add", "."], 255, 'nsh netns: cannot use "." as a network namespace name: "." names a directory\n'],
      [
        ["add", "x".repeat(300)],
        255,
        `nsh netns: cannot use "${"x".repeat(300)}" as a network namespace name: it is longer than 255 bytes\n`,
      ],
      [
        ["delete", "nope"],
        1,
        'nsh netns: cannot delete the network namespace "nope": unlink() failed with ENOENT (No such file or directory); there is no network namespace named "nope"\n',
      ],
      [["exec", "blue"], 1, "nsh netns: exec: no program given\n"],
      [["attach", "x", "abc"], 1, "nsh netns: attach: invalid pid 'abc'\n"],
      [["frob"], 255, "nsh netns: unknown subcommand 'frob'\n"],
    ];
    for (const [args, code, message] of cases) {
      const r = await w.nsh("netns", ...args);
      assertEquals(r.code, code, args.join(" "));
      assertEquals(r.stderrText.split("Try ")[0], message);
    }
    assertEquals(ok(await w.nsh("netns", "list"), "list"), "blue\n");
    const missing = await w.nsh("netns", "exec", "nope", "true");
    assertEquals(
      [missing.code, missing.stderrText],
      [
        255,
        'nsh netns: cannot enter the network namespace "nope": open() failed with ENOENT (No such file or directory); there is no network namespace named "nope"\n',
      ],
    );
  },
});

Deno.test({
  name: "nsh netns add as an unprivileged user fails with one line that says root, or a /run of its own, is needed",
  ignore: !IS_ROOT || !hasProgram("setpriv"),
  async fn() {
    const out = await runUnprivileged(
      `import { main } from "$REPO/cli/main.ts";\nDeno.exitCode = await main(["netns", "add", "nsh-test-unprivileged"]);\n`,
    );
    assertEquals([out.code, out.stdout], [1, ""], out.stderr);
    assertMatch(
      out.stderr,
      /^nsh netns: cannot [^\n]*failed with E(ACCES|PERM) [^\n]*; named network namespaces need root\n$/,
    );
    // Root of a user namespace is told what it lacks: a /run of its own.
    const inside = await runUnprivileged(
      `import { main } from "$REPO/cli/main.ts";\nDeno.exitCode = await main(["-c", "unshare -Urm; netns add nsh-test-rootless"]);\n`,
    );
    assertEquals([inside.code, inside.stdout], [1, ""], inside.stderr);
    assertMatch(
      inside.stderr,
      /^-c:1: netns: cannot [^\n]*failed with E(ACCES|PERM) [^\n]*; root of the context's user namespace cannot change the host's \/run\/netns: mount a tmpfs on \/run first\n$/,
    );
  },
});

Deno.test({
  name: "addNetns() racing ip netns delete fails with nsh's own one-line errors, never a raw one, and leaves nothing",
  ignore: !IS_ROOT || !hasProgram("ip"),
  async fn() {
    // The add's cleanup used to throw (NotFound, EBUSY) and hide the error
    // that made the add fail: about 1 add in 100 here.
    await using w = await world();
    const script = `
      import { addNetns, deleteNetns, SyscallError } from "${new URL("../mod.ts", import.meta.url).pathname}";
      const deleter = new Deno.Command("sh", { args: ["-c", "while :; do ip netns delete cc 2>/dev/null; done"] }).spawn();
      const raw = [];
      let failed = 0;
      try {
        for (let i = 0; i < 1000; i++) {
          try {
            await addNetns("cc");
          } catch (error) {
            if (!(error instanceof SyscallError) || !/^Cannot /.test(error.message) || error.message.includes("\\n")) {
              raw.push(String(error));
            }
            failed++;
          }
          await deleteNetns("cc").catch(() => {});
        }
      } finally {
        deleter.kill("SIGKILL");
        await deleter.status;
      }
      await deleteNetns("cc").catch(() => {});
      console.log(JSON.stringify({ raw, failed }));
    `;
    const file = Deno.makeTempFileSync({ suffix: ".ts" });
    try {
      Deno.writeTextFileSync(file, script);
      const r = JSON.parse(ok(await w.run(Deno.execPath(), "run", "-A", "--quiet", file), "race"));
      assertEquals(r.raw, []);
    } finally {
      Deno.removeSync(file);
    }
    assertEquals(ok(await w.run("ls", "-A", "/run/netns"), "ls"), "");
    assertEquals(ok(await w.run("sh", "-c", "grep -c /run/netns/ /proc/self/mountinfo || true"), "mounts").trim(), "0");
  },
});

Deno.test({
  name: "nsh netns exec of a name an interrupted add left empty says so and how to remove it",
  ignore: !IS_ROOT || !hasProgram("ip"),
  async fn() {
    await using w = await world();
    // What a netns add killed between creating the name and binding it leaves.
    ok(await w.run("sh", "-c", "mkdir -p /run/netns && touch /run/netns/ghost"), "touch");
    const exec = await w.nsh("netns", "exec", "ghost", "true");
    assertEquals([exec.code, exec.stdoutText], [255, ""]);
    assertEquals(
      exec.stderrText,
      'nsh netns: cannot enter the network namespace "ghost": ioctl() failed with ENOTTY (Inappropriate ioctl for device); "/run/netns/ghost" is an empty file, not a namespace: the leftover of a netns add that was interrupted; remove it with nsh netns delete ghost\n',
    );
    // ip netns exec fails there too, with the same status.
    assertEquals((await w.run("ip", "netns", "exec", "ghost", "true")).code, 255);
    ok(await w.nsh("netns", "delete", "ghost"), "delete");
    assertEquals(ok(await w.nsh("netns", "list"), "list"), "");
  },
});

Deno.test({
  name: "nsh netns identify of another user's process says permission denied, as ip netns identify does",
  ignore: !IS_ROOT || !hasProgram("setpriv") || !hasProgram("ip"),
  async fn() {
    const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      const out = await runUnprivileged(
        `import { main } from "$REPO/cli/main.ts";\nDeno.exitCode = await main(["netns", "identify", "${sleeper.pid}"]);\n`,
      );
      assertEquals([out.code, out.stdout], [1, ""]);
      assertEquals(
        out.stderr,
        `nsh netns: cannot read the network namespace of process ${sleeper.pid}: open() failed with EACCES (Permission denied); process ${sleeper.pid} is not yours to inspect (another user's, or protected by a security module)\n`,
      );
      const ip = await runUnprivileged(
        `const r = await new Deno.Command("ip", { args: ["netns", "identify", "${sleeper.pid}"] }).output();
         console.log(r.code, new TextDecoder().decode(r.stderr).trim());`,
      );
      assertEquals(ip.stdout, "1 Cannot open network namespace: Permission denied\n");
    } finally {
      sleeper.kill("SIGKILL");
      await sleeper.status;
    }
  },
});

Deno.test({
  name: "in a shell context, netns reads and changes the context's /run/netns and asks its network namespace for ids",
  ignore: !IS_ROOT || !hasProgram("ip"),
  async fn() {
    // The context has its own network namespace and /run: its ids are not
    // the host's, and ip netns run there is the reference.
    const script = [
      "unshare --mount --net",
      "mount -t tmpfs tmpfs /run",
      "netns add red",
      "netns add blue",
      "ip link add v0 type veth peer name v1",
      "ip link set v1 netns red",
      "netns set blue 9",
      "netns list",
      "ip netns list",
      "netns list-id",
      "ip netns list-id",
      "netns exec red ip -brief link",
      "netns identify",
      "netns delete red",
      "netns delete blue",
      "netns list",
      "ip netns list",
    ].join("\n");
    const out = await new Deno.Command(NSH[0]!, {
      args: [...NSH.slice(1), "-c", script],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const text = new TextDecoder().decode(out.stdout);
    assertEquals([out.code, new TextDecoder().decode(out.stderr)], [0, ""]);
    const list = "blue (id: 9)\nred (id: 0)\n";
    const ids = "nsid 0 (iproute2 netns name: red)\nnsid 9 (iproute2 netns name: blue)\n";
    // nsh's, then ip's run in the context: the same.
    assert(text.startsWith(list + list + ids + ids), text);
    // exec in the named namespace; identify of the context's own, which has no name; the names gone.
    assertMatch(text, /\nlo +DOWN .*\nv1@if\d+ +DOWN .*\n\n$/);
    // The host's /run/netns never saw them.
    const host = (() => {
      try {
        return [...Deno.readDirSync("/run/netns")].map((e) => e.name);
      } catch {
        return [];
      }
    })();
    assert(!host.includes("red") && !host.includes("blue"), host.join(" "));
  },
});
