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
