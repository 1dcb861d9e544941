/**
 * Capabilities, no_new_privs and a new session, seen from inside the box
 * (/proc/self/status), as root and rootless.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { IS_ROOT, nsh, run, runUnprivileged } from "./_env.ts";
import {
  addCapabilities,
  dropCapabilities,
  keepCapabilities,
  newSession,
  noNewPrivs,
  sandbox,
  setgid,
  setuid,
  unshare,
} from "../mod.ts";

const USERNS = IS_ROOT || (await unshare({ user: true, mapRootUser: true }).run("true").noThrow()).code === 0;
const userns = { ignore: !USERNS };
const root = { ignore: !IS_ROOT };

/** The capability sets and flags of a program, from its /proc/self/status. */
async function statusOf(box: ReturnType<typeof sandbox>): Promise<Record<string, string>> {
  const text = await box.run("cat", "/proc/self/status").text();
  return Object.fromEntries(
    text.split("\n").map((line) => line.split(/:\s*/, 2)).filter(([k]) => /^(Cap|NoNewPrivs|Seccomp|Uid)/.test(k!)),
  );
}

const NONE = "0000000000000000";
const NET_ADMIN = "0000000000001000";

Deno.test({
  name: "dropCapabilities(ALL) leaves root in a user namespace with no capability in any set",
  ...userns,
  async fn() {
    const s = await statusOf(unshare({ user: true, mapRootUser: true }).with(dropCapabilities("ALL")));
    assertEquals([s.CapInh, s.CapPrm, s.CapEff, s.CapBnd, s.CapAmb], [NONE, NONE, NONE, NONE, NONE]);
  },
});

Deno.test({
  name: "keepCapabilities() keeps only the named one, however it is spelt",
  ...userns,
  async fn() {
    for (const name of ["CAP_NET_ADMIN", "net_admin", "NET_ADMIN"]) {
      const s = await statusOf(unshare({ user: true, mapRootUser: true }).with(keepCapabilities(name)));
      assertEquals([s.CapPrm, s.CapEff, s.CapBnd, s.CapAmb], [NET_ADMIN, NET_ADMIN, NET_ADMIN, NONE], name);
    }
  },
});

Deno.test({
  name: "root in the box really lacks a dropped capability: unshare -m fails without CAP_SYS_ADMIN",
  ...userns,
  async fn() {
    const box = unshare({ user: true, mapRootUser: true });
    assertEquals((await box.run("unshare", "-m", "true").noThrow()).code, 0);
    const out = await box.with(dropCapabilities("sys_admin")).run("unshare", "-m", "true").stderr("piped").noThrow()
      .output();
    assertEquals(out.code, 1);
    assert(out.stderrText.includes("Operation not permitted"), out.stderrText);
  },
});

Deno.test({
  name: "drop ALL, then add some back, as bubblewrap's --cap-drop ALL --cap-add",
  ...userns,
  async fn() {
    const box = unshare({ user: true, mapRootUser: true }).with(
      dropCapabilities("ALL"),
      addCapabilities("net_admin", "net_raw"),
      dropCapabilities("net_raw"),
    );
    const s = await statusOf(box);
    assertEquals([s.CapEff, s.CapBnd], [NET_ADMIN, NET_ADMIN]);
  },
});

Deno.test({
  name: "a program that is not root in the box gets the kept capabilities as ambient ones, and setuid still works",
  ...root,
  async fn() {
    const s = await statusOf(sandbox(keepCapabilities("net_admin"), setgid(65534), setuid(65534)));
    assertEquals(s.Uid!.split(/\s+/)[0], "65534");
    assertEquals([s.CapPrm, s.CapEff, s.CapAmb, s.CapBnd], [NET_ADMIN, NET_ADMIN, NET_ADMIN, NET_ADMIN]);
    const none = await statusOf(sandbox(dropCapabilities("ALL"), setgid(65534), setuid(65534)));
    assertEquals([none.CapPrm, none.CapEff, none.CapAmb, none.CapBnd], [NONE, NONE, NONE, NONE]);
  },
});

Deno.test({
  name: "an unprivileged user's box keeps a capability as an ambient one for a program that is not root inside",
  ...root,
  async fn() {
    const out = await runUnprivileged(`
      import { keepCapabilities, unshare } from "$REPO/mod.ts";
      const box = unshare({ user: true, mapCurrentUser: true }).with(keepCapabilities("net_admin"));
      console.log(await box.run("grep", "-E", "^(Uid|CapEff|CapAmb)", "/proc/self/status").text());
    `);
    assertEquals(out.stderr, "");
    assert(/^Uid:\s+65534/m.test(out.stdout), out.stdout);
    assert(/^CapEff:\s+0000000000001000$/m.test(out.stdout), out.stdout);
    assert(/^CapAmb:\s+0000000000001000$/m.test(out.stdout), out.stdout);
  },
});

Deno.test({
  name: "noNewPrivs() sets NoNewPrivs, and newSession() makes the program a session leader",
  ...userns,
  async fn() {
    const s = await statusOf(unshare({ user: true, mapRootUser: true }).with(noNewPrivs()));
    assertEquals(s.NoNewPrivs, "1");
    const stat = await sandbox(newSession()).run("cat", "/proc/self/stat").text();
    const [pid, , , , , session] = stat.replace(/\(.*\)/, "x").split(" ");
    assertEquals(session, pid);
  },
});

Deno.test("an unknown capability is a TypeError that names the nearest one", () => {
  assertThrows(
    () => unshare().with(dropCapabilities("net_admn")).plan(),
    TypeError,
    'Unknown capability "net_admn"; did you mean CAP_NET_ADMIN?',
  );
  assertThrows(
    () => keepCapabilities("sys_admni") && unshare().with(keepCapabilities("sys_admni")).plan(),
    TypeError,
    "CAP_SYS_ADMIN",
  );
});

Deno.test({
  name: "a context's restrictions apply to the programs run in it, not to its setup nor its holder",
  ...userns,
  async fn() {
    await using ctx = await unshare({ user: true, mapRootUser: true, pid: true, mount: true }).with(
      dropCapabilities("ALL"),
    ).hold();
    // Setup after the restriction still has its privileges.
    await ctx.mountProc();
    const holder = await ctx.run("grep", "^CapEff", "/proc/1/status").text();
    assert(holder.endsWith("000001ffffffffff"), holder);
    assertEquals(await ctx.run("grep", "^CapEff", "/proc/self/status").text(), `CapEff:\t${NONE}`);
    await ctx.apply(noNewPrivs());
    assertEquals(await ctx.run("grep", "^NoNewPrivs", "/proc/self/status").text(), "NoNewPrivs:\t1");
  },
});

Deno.test({
  name:
    "the shell's restrict: the programs that follow in the context are restricted, setup is not; export does the same",
  ...userns,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-restrict-" });
    try {
      const script = `${dir}/restrict.nsh`;
      Deno.writeTextFileSync(
        script,
        "unshare -Ur --pid --mount\n" +
          "grep CapEff /proc/self/status\n" +
          "restrict --cap-drop ALL --cap-add net_admin --no-new-privs --seccomp-deny sethostname\n" +
          "mount-proc\n" +
          "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status\n",
      );
      const ran = await nsh(["run", script]);
      assertEquals([ran.code, ran.stderr], [0, ""]);
      assertEquals(
        ran.stdout,
        `CapEff:\t000001ffffffffff\nCapEff:\t${NET_ADMIN}\nNoNewPrivs:\t1\nSeccomp:\t2\n`,
      );
      const exported = await nsh(["export", script]);
      assertEquals([exported.code, exported.stderr], [0, ""]);
      Deno.writeTextFileSync(`${dir}/restrict.ts`, exported.stdout);
      const program = await run(Deno.execPath(), ["run", "-A", "--quiet", `${dir}/restrict.ts`]);
      assertEquals([program.code, program.stdout], [0, ran.stdout]);
      const top = await nsh(["-c", "restrict --no-new-privs"]);
      assertEquals([top.code, top.stderr.split("\n")[0]], [
        1,
        "-c:1: restrict: not in a context: give restrictions to unshare, which makes one (unshare -Ur --cap-drop ALL)",
      ]);
      const bad = await nsh(["-c", "unshare -Ur\nrestrict --cap-drop sys_admn"]);
      assertEquals([bad.code, bad.stderr], [
        1,
        '-c:2: restrict: unknown capability "sys_admn"; did you mean CAP_SYS_ADMIN?\n',
      ]);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "nsh unshare --cap-drop, --cap-add, --no-new-privs: nsh's own options, in the order given",
  ...userns,
  async fn() {
    const out = await nsh([
      "unshare",
      "-Ur",
      "--cap-drop",
      "ALL",
      "--cap-add=net_raw,CAP_NET_ADMIN",
      "--no-new-privs",
      "grep",
      "-E",
      "^(CapEff|CapBnd|NoNewPrivs)",
      "/proc/self/status",
    ]);
    assertEquals([out.code, out.stderr], [0, ""]);
    assertEquals(out.stdout, "CapEff:\t0000000000003000\nCapBnd:\t0000000000003000\nNoNewPrivs:\t1\n");
    const bad = await nsh(["unshare", "-Ur", "--cap-drop", "sys_admn", "true"]);
    assertEquals([bad.code, bad.stderr], [
      1,
      'nsh unshare: unknown capability "sys_admn"; did you mean CAP_SYS_ADMIN?\n',
    ]);
  },
});

Deno.test({
  name: "nsh export writes nsh's own options as the steps that make them, and the program does the same",
  ...userns,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-hardening-export-" });
    try {
      const script = `${dir}/caps.nsh`;
      Deno.writeTextFileSync(
        script,
        "unshare -Ur --cap-drop ALL --no-new-privs grep -E '^(CapEff|NoNewPrivs)' /proc/self/status\n" +
          "unshare -Ur --cap-keep net_admin\ngrep CapEff /proc/self/status\n",
      );
      const exported = await nsh(["export", script]);
      assertEquals([exported.code, exported.stderr], [0, ""]);
      assert(exported.stdout.includes('dropCapabilities("ALL"),\n    noNewPrivs(),'), exported.stdout);
      Deno.writeTextFileSync(`${dir}/caps.ts`, exported.stdout);
      const ran = await nsh(["run", script]);
      const program = await run(Deno.execPath(), ["run", "-A", "--quiet", `${dir}/caps.ts`]);
      assertEquals([program.code, program.stdout], [ran.code, ran.stdout]);
      assertEquals(ran.stdout, `CapEff:\t${NONE}\nNoNewPrivs:\t1\nCapEff:\t${NET_ADMIN}\n`);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
