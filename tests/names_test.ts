/**
 * Named contexts: joined by name from another process with their working
 * directory and variables, listed, shown by lsns, kept after nsh ends when
 * asked, and released by name.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { CLI, IS_ROOT, nsh, runUnprivileged } from "./_env.ts";
import { Context, namedContexts, noNewPrivs, releaseContext, unshare } from "../mod.ts";
import { findContext, registerContext, startTime, unregisterContext } from "../lib/names.ts";

const USERNS = IS_ROOT || (await unshare({ user: true, mapRootUser: true }).run("true").noThrow()).code === 0;
const userns = { ignore: !USERNS };

/** A name of this test process's own, so that runs side by side do not meet. */
function unique(what: string): string {
  return `nsh-test-${what}-${Deno.pid}`;
}

Deno.test({
  name: "Context.enter() joins a named context with its namespaces, directory and variables; close unregisters it",
  ...userns,
  async fn() {
    const name = unique("api");
    {
      await using web = await unshare({ user: true, mapRootUser: true, net: true, mount: true }).hold({ name });
      await web.run("ip", "link", "set", "lo", "up");
      web.cwd = "/tmp";
      web.vars.set("GREETING", "hi");
      const listed = namedContexts().find((c) => c.name === name);
      assertEquals([listed?.holder, listed?.cwd, listed?.env], [web.holderPid, "/tmp", { GREETING: "hi" }]);
      await using joined = Context.enter(name);
      assertEquals(joined.name, name);
      const out = await joined.run("sh", "-c", 'ip -br link | cut -d" " -f1; pwd; echo "$GREETING"').text();
      assertEquals(out, "lo\n/tmp\nhi");
      // A second context of that name is refused while this one lives.
      let error: unknown;
      try {
        await unshare({ user: true }).hold({ name });
      } catch (e) {
        error = e;
      }
      assertMatch(String(error), /a context of that name exists/);
    }
    assertEquals(namedContexts().some((c) => c.name === name), false);
    assertThrows(() => Context.enter(name), Error, "there is no context of that name");
  },
});

Deno.test({
  name: "nsh enter NAME from another process: the context's restrictions and its box's cgroup hold there too",
  ignore: !IS_ROOT,
  async fn() {
    const name = unique("policy");
    await using box = await unshare({ user: true, mapRootUser: true, pid: true, mountProc: true })
      .dropCapabilities("ALL")
      .seccomp({ defaultAction: "allow", rules: [{ syscalls: ["sethostname"], action: { errno: 38 } }] })
      .limits({ pidsMax: 20 })
      .hold({ name });
    const script = 'grep -E "^(CapEff|Seccomp|Seccomp_filters):" /proc/self/status; cat /proc/self/cgroup';
    const own = await box.run("sh", "-c", script).text();
    const other = await nsh(["enter", name, "sh", "-c", script]);
    assertEquals(other.stderr, "");
    assertEquals(other.stdout.trim(), own);
    assertMatch(own, /CapEff:\t0000000000000000\nSeccomp:\t2\nSeccomp_filters:\t1\n/);
    assertMatch(own, /^0::\/.*nsh-\d+-\d+-\d+$/m);
    // A restriction added later reaches the next program from outside too.
    await box.apply(noNewPrivs());
    assertMatch((await nsh(["enter", name, "grep", "NoNewPrivs", "/proc/self/status"])).stdout, /NoNewPrivs:\t1/);
  },
});

Deno.test("a context's name is checked: letters, digits, '.', '_' and '-'", async () => {
  let error: unknown;
  try {
    await unshare().hold({ name: "../x" });
  } catch (e) {
    error = e;
  }
  assert(error instanceof TypeError, String(error));
  assertMatch(error.message, /Cannot name a context "\.\.\/x"/);
});

Deno.test({
  name: "a persisted context outlives the process that made it, and releaseContext() ends it",
  ...userns,
  async fn() {
    const name = unique("kept");
    const made = await nsh(["unshare", "--name", name, "--persist", "-Ur", "--uts", "--hostname", "kept-box"]);
    assertEquals([made.code, made.stderr], [0, ""]);
    const entry = namedContexts().find((c) => c.name === name);
    assert(entry?.persisted, "listed as persisted");
    try {
      const joined = await nsh(["enter", name, "hostname"]);
      assertEquals([joined.code, joined.stdout], [0, "kept-box\n"]);
      // lsns shows the name beside the holder.
      const lsns = await nsh(["lsns", "-t", "uts", "-o", "PID,COMMAND", "-n"]);
      assertMatch(lsns.stdout, new RegExp(`^ *${entry!.holder} nsh-holder ${name}$`, "m"));
      const listed = await nsh(["contexts"]);
      assertMatch(listed.stdout, new RegExp(`^${name} +${entry!.holder} +uts,user +\\S+ +yes$`, "m"));
    } finally {
      const released = await nsh(["release", name]);
      assertEquals([released.code, released.stderr], [0, ""]);
    }
    assertEquals(namedContexts().some((c) => c.name === name), false);
    const gone = await nsh(["enter", name, "true"]);
    assertEquals(gone.code, 1);
    assertMatch(gone.stderr, /^nsh enter: cannot enter the context "[^"]+": there is no context of that name/);
    // Released twice: the name is neither a context nor a file, and the message says both.
    const again = await nsh(["release", name]);
    assertEquals(again.code, 1);
    assertEquals(
      again.stderr,
      `nsh release: cannot release the namespace bound to "${name}": open() failed with ENOENT (No such file or directory); ` +
        "there is no context of that name either (nsh contexts lists them)\n",
    );
  },
});

Deno.test({
  name: "a shell's named context is joined from another process, with the directory and variables it has",
  ...userns,
  async fn() {
    const name = unique("shell");
    const script =
      `unshare --name ${name} -Urn --mount\nip link set lo up\ncd /tmp\nexport GREETING=hello\necho ready\nsh -c 'read x'\n`;
    const shell = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", CLI, "-c", script],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(shell.stderr).text();
    const stdout = shell.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      // Wait for the shell to reach `read`, however long a busy machine takes.
      let said = "";
      while (!said.includes("ready\n")) {
        const { value, done } = await stdout.read();
        if (done) break;
        said += value;
      }
      assertEquals(said, "ready\n");
      const joined = await nsh(["enter", name, "sh", "-c", 'ip -br link | cut -d" " -f1; pwd; echo "$GREETING"']);
      assertEquals([joined.code, joined.stderr, joined.stdout], [0, "", "lo\n/tmp\nhello\n"]);
      const viaShell = await nsh(["-c", `enter ${name}\necho "$GREETING in"\npwd`]);
      assertEquals([viaShell.stdout, viaShell.stderr], ["hello in\n/tmp\n", ""]);
      // nsh enter NAME without a program: its shell has them too, as variables and for its programs.
      const entered = await nsh(["enter", name], { stdin: 'echo "$GREETING here"\nprintenv GREETING\npwd\n' });
      assertEquals([entered.stdout, entered.stderr], ["hello here\nhello\n/tmp\n", ""]);
    } finally {
      const writer = shell.stdin.getWriter();
      await writer.write(new TextEncoder().encode("go\n"));
      await writer.close();
      while (!(await stdout.read()).done);
      assertEquals([(await shell.status).code, await stderr], [0, ""]);
    }
    // The shell ended: its context and name with it.
    assertEquals(namedContexts().some((c) => c.name === name), false);
  },
});

Deno.test({
  name: "named contexts work for an unprivileged user, in a register of its own",
  ignore: !IS_ROOT,
  async fn() {
    const out = await runUnprivileged(`
      import { Context, namedContexts, unshare } from "$REPO/mod.ts";
      await using box = await unshare({ user: true, mapRootUser: true, uts: true, hostname: "mine" }).hold({ name: "mine" });
      await using joined = Context.enter("mine");
      console.log(await joined.run("hostname").text());
      console.log(namedContexts().map((c) => c.name).join(","));
    `);
    assertEquals([out.stdout, out.stderr], ["mine\nmine\n", ""]);
  },
});

Deno.test({
  name: "releaseContext() ends a context persisted through the API, its holder with it",
  ...userns,
  async fn() {
    const name = unique("api-kept");
    const made = await unshare({ user: true, mapRootUser: true, uts: true }).hold({ name, persist: true });
    const pid = made.holderPid!;
    await made.close();
    assert(Deno.statSync(`/proc/${pid}`).isDirectory, "the holder outlives close()");
    releaseContext(name);
    for (let i = 0; i < 100; i++) {
      try {
        if (Deno.readTextFileSync(`/proc/${pid}/stat`).includes(") Z ")) break;
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    assertEquals(namedContexts().some((c) => c.name === name), false);
  },
});

Deno.test("a context whose holder is a zombie (killed, not yet reaped) is not listed, and its entry goes", async () => {
  // sleep 0 ends at once and stays a zombie: the sleep 5 that sh becomes never reaps it.
  const parent = new Deno.Command("sh", { args: ["-c", "sleep 0 & exec sleep 5"] }).spawn();
  try {
    let zombie: number | undefined;
    for (let i = 0; i < 200 && zombie === undefined; i++) {
      await new Promise((r) => setTimeout(r, 25));
      const children = Deno.readTextFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`).trim().split(" ");
      zombie = children.map(Number).find((pid) => {
        try {
          const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
          return stat[stat.lastIndexOf(")") + 2] === "Z";
        } catch {
          return false;
        }
      });
    }
    assert(zombie !== undefined, "a zombie to hold the name");
    const name = unique("zombie");
    registerContext({
      name,
      holder: zombie,
      start: startTime(zombie)!,
      namespaces: [],
      ownRoot: false,
      cwd: "/",
      env: {},
      persisted: false,
    });
    try {
      assertEquals(namedContexts().some((c) => c.name === name), false);
      assertEquals(findContext(name), undefined);
    } finally {
      unregisterContext(name);
    }
  } finally {
    parent.kill("SIGKILL");
    await parent.status;
  }
});
