/**
 * The rootless path, run as the unprivileged user `nobody`: everything the
 * kernel allows a user through a user namespace works, and what it does not
 * allow fails with a clear message. CI runs as root, so these tests drop to
 * `nobody` with setpriv(1); as a plain user they run as that user.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { hasProgram, IS_ROOT, NOBODY, type Output, run, runUnprivileged } from "./_env.ts";
import { unshare } from "../mod.ts";

const canDrop = IS_ROOT && hasProgram("setpriv");

/** Runs a rootless check script and parses the JSON it prints. */
async function check(source: string, wrap?: (argv: string[]) => Promise<Output>): Promise<Record<string, unknown>> {
  const out = await runUnprivileged(
    `import * as nsh from "$REPO/mod.ts";\nconst result: Record<string, unknown> = {};\n${source}\nconsole.log(JSON.stringify(result));`,
    wrap ? { wrap } : {},
  );
  assertEquals(out.code, 0, `exit ${out.code}: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split("\n").at(-1)!);
}

Deno.test({
  name: "unshare() as an unprivileged user creates all eight namespaces with root mapped",
  ignore: !canDrop,
  async fn() {
    const r = await check(`
      const types = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];
      result.uid = Deno.uid();
      result.host = types.map((t) => Deno.readLinkSync("/proc/self/ns/" + t));
      const box = nsh.unshare({ user: true, mapRootUser: true, cgroup: true, ipc: true, mount: true, net: true,
        pid: true, time: true, uts: true, mountProc: true, hostname: "rootless", boottime: 86400 });
      result.inside = await box.run("sh", "-c", "for t in " + types.join(" ") + "; do readlink /proc/self/ns/$t; done").lines();
      result.id = await box.run("sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map").lines();
      result.ps = await box.run("ps", "-e", "-o", "pid=").lines();
      result.hostname = await box.run("hostname").text();
      result.uptime = await box.run("cat", "/proc/uptime").text();
      result.links = await box.run("ip", "-o", "link").lines();
      result.mount = await box.run("sh", "-c", "mount -t tmpfs none /mnt && echo mounted").text();
    `);
    assertEquals(r.uid, NOBODY.uid);
    const host = r.host as string[], inside = r.inside as string[];
    assertEquals(inside.length, 8);
    inside.forEach((ns, i) => assert(ns !== host[i], `${ns} is the host's`));
    assertEquals((r.id as string[]).map((l) => l.trim().split(/\s+/).join(" ")), [
      "0",
      "0",
      `0 ${NOBODY.uid} 1`,
      `0 ${NOBODY.gid} 1`,
    ]);
    assertEquals((r.ps as string[]).map((p) => p.trim()), ["1"]);
    assertEquals(r.hostname, "rootless");
    assert(Number((r.uptime as string).split(" ")[0]) > 86400, `uptime ${r.uptime}`);
    assertEquals((r.links as string[]).length, 1);
    assertEquals(r.mount, "mounted");
  },
});

Deno.test({
  name: "unshare() as an unprivileged user maps the current user and keeps it unprivileged",
  ignore: !canDrop,
  async fn() {
    const r = await check(`
      result.id = await nsh.unshare({ mapCurrentUser: true }).run("sh", "-c", "id -u; cat /proc/self/uid_map").lines();
    `);
    assertEquals((r.id as string[]).map((l) => l.trim().split(/\s+/).join(" ")), [
      String(NOBODY.uid),
      `${NOBODY.uid} ${NOBODY.uid} 1`,
    ]);
  },
});

Deno.test({
  name: "unshare() without a user namespace is refused to an unprivileged user with a hint",
  ignore: !canDrop,
  async fn() {
    const r = await check(`
      try { await nsh.unshare({ net: true }).run("true"); result.ok = true; }
      catch (e) { result.name = e.name; result.code = e.code; result.message = e.message; }
    `);
    assertEquals([r.name, r.code], ["SyscallError", "EPERM"]);
    assertMatch(r.message as string, /^Cannot create net namespace: clone\(\) failed with EPERM/);
    assertMatch(r.message as string, /--user --map-root-user/);
  },
});

Deno.test({
  name: "mapUsers() as an unprivileged user maps a range through newuidmap and /etc/subuid",
  ignore: !canDrop || !hasProgram("newuidmap"),
  async fn() {
    // newuidmap is setuid root and reads /etc/subuid: give nobody a range in a
    // mount namespace made for this test, never on the host.
    const dir = Deno.makeTempDirSync({ prefix: "nsh-subid-" });
    Deno.chmodSync(dir, 0o755);
    for (const f of ["subuid", "subgid"]) {
      Deno.writeTextFileSync(`${dir}/${f}`, "nobody:200000:65536\n");
      Deno.chmodSync(`${dir}/${f}`, 0o644);
    }
    const wrap = async (argv: string[]): Promise<Output> => {
      const r = await unshare({ mount: true })
        .with(unshare().bindMount(`${dir}/subuid`, "/etc/subuid").bindMount(`${dir}/subgid`, "/etc/subgid"))
        .run(argv).noThrow().output();
      return { code: r.code, stdout: r.stdoutText, stderr: r.stderrText };
    };
    try {
      const r = await check(
        `
        const box = nsh.unshare({ mapRootUser: true, mapUsers: "auto", mapGroups: "auto" });
        result.maps = await box.run("cat", "/proc/self/uid_map", "/proc/self/gid_map").lines();
        result.chown = await box.run("sh", "-c", "cd /tmp && touch f$$ && chown 1000:1000 f$$ && stat -c %u:%g f$$ && rm f$$").text();
      `,
        wrap,
      );
      assertEquals((r.maps as string[]).map((l) => l.trim().split(/\s+/).join(" ")), [
        `0 ${NOBODY.uid} 1`,
        "1 200001 65535",
        `0 ${NOBODY.gid} 1`,
        "1 200001 65535",
      ]);
      assertEquals(r.chown, "1000:1000");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the CLI as an unprivileged user explains a refused namespace in one line and exits 1",
  ignore: !canDrop,
  async fn() {
    const r = await runUnprivileged(`
      import { main } from "$REPO/cli/main.ts";
      Deno.exit(await main(["unshare", "--net", "true"]));
    `);
    assertEquals(r.code, 1);
    assertEquals(r.stderr.trim().split("\n").length, 1);
    assertMatch(r.stderr, /^nsh unshare: cannot create net namespace: clone\(\) failed with EPERM/);
    const ok = await runUnprivileged(`
      import { main } from "$REPO/cli/main.ts";
      Deno.exit(await main(["unshare", "-Urn", "--mount-proc", "-p", "sh", "-c", "id -u; exec ps -e -o pid="]));
    `);
    assertEquals([ok.code, ok.stdout.split(/\s+/).filter(Boolean)], [0, ["0", "1"]]);
  },
});

Deno.test({
  name: "the CLI explains that user namespaces are disabled by user.max_user_namespaces",
  ignore: !IS_ROOT,
  async fn() {
    // The limit is per user namespace: set it to 0 in one made for the test.
    const out = await run("unshare", [
      "-Ur",
      "sh",
      "-c",
      `echo 0 > /proc/sys/user/max_user_namespaces && exec ${Deno.execPath()} run -A --quiet ${
        new URL("../cli.ts", import.meta.url).pathname
      } unshare -U true`,
    ]);
    assertEquals(out.code, 1, out.stderr);
    assertEquals(
      out.stderr.trim(),
      "nsh unshare: cannot create user namespace: clone() failed with ENOSPC (No space left on device); user namespaces are disabled: the sysctl user.max_user_namespaces is 0",
    );
  },
});
