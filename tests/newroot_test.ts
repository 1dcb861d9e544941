/**
 * A new root assembled from nothing: the program sees only what was put
 * there, as root and rootless, and nothing is left behind.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { IS_ROOT, runUnprivileged } from "./_env.ts";
import {
  rootBind,
  rootChmod,
  rootDev,
  rootDir,
  rootFile,
  rootMqueue,
  rootOverlay,
  rootProc,
  rootRemountReadonly,
  rootSymlink,
  rootTmpfs,
  type Sandbox,
  sandbox,
  SyscallError,
  unshare,
} from "../mod.ts";

const USERNS = IS_ROOT || (await unshare({ user: true, mapRootUser: true }).run("true").noThrow()).code === 0;
const userns = { ignore: !USERNS };

/** What a program needs to run from /usr: the usual links of a merged /usr. */
const SYSTEM = [
  rootBind("/usr", "/usr", { readonly: true }),
  rootSymlink("usr/bin", "/bin"),
  rootSymlink("usr/lib", "/lib"),
  rootSymlink("usr/lib64", "/lib64"),
  rootSymlink("usr/sbin", "/sbin"),
];

/** A box of the test's user: a user namespace mapped to root, new PID namespace. */
function box(): Sandbox {
  return unshare({ user: true, mapRootUser: true, pid: true }).with(...SYSTEM);
}

function sh(b: Sandbox, script: string) {
  return b.run("sh", "-c", script).stderr("piped").noThrow().output();
}

Deno.test({
  name: "a new root shows only what was put there; the old root is gone",
  ...userns,
  async fn() {
    const host = Deno.readTextFileSync("/proc/self/mountinfo");
    const out = await sh(
      box().with(rootTmpfs("/tmp"), rootProc()),
      "ls -A /; ls -A /tmp; grep -c oldroot /proc/1/mountinfo; readlink /proc/1/root",
    );
    assertEquals(out.stderrText, "");
    assertEquals(out.stdoutText, "bin\nlib\nlib64\nproc\nsbin\ntmp\nusr\n0\n/\n");
    // The assembly happened in the child's mount namespace only.
    assertEquals(Deno.readTextFileSync("/proc/self/mountinfo"), host);
  },
});

Deno.test({
  name: "read-only binds are read-only, devices work only with devices, optional sources may be missing",
  ...userns,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-newroot-" });
    try {
      Deno.chmodSync(dir, 0o777);
      Deno.writeTextFileSync(`${dir}/data`, "host\n");
      Deno.chmodSync(`${dir}/data`, 0o666);
      const b = box().with(
        rootBind(dir, "/data/rw"),
        rootBind(dir, "/data/ro", { readonly: true }),
        rootBind("/nonexistent-nsh-source", "/missing", { optional: true }),
        rootBind("/dev/null", "/null-nodev"),
        rootBind("/dev/null", "/null-dev", { devices: true }),
      );
      const out = await sh(
        b,
        "echo box > /data/rw/data; echo x > /data/ro/data || echo ro-refused; ls /missing 2>/dev/null || echo skipped; " +
          "echo > /null-nodev 2>/dev/null || echo nodev; echo > /null-dev && echo dev",
      );
      assertEquals(out.stdoutText, "ro-refused\nskipped\nnodev\ndev\n", out.stderrText);
      assertEquals(Deno.readTextFileSync(`${dir}/data`), "box\n");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a bind source is resolved by nsh: an absolute symbolic link works",
  ...userns,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-newroot-" });
    try {
      Deno.writeTextFileSync(`${dir}/real`, "through the link\n");
      Deno.symlinkSync(`${dir}/real`, `${dir}/link`);
      Deno.chmodSync(dir, 0o755);
      Deno.chmodSync(`${dir}/real`, 0o644);
      const out = await sh(box().with(rootBind(`${dir}/link`, "/etc/file", { readonly: true })), "cat /etc/file");
      assertEquals([out.stdoutText, out.stderrText], ["through the link\n", ""]);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a missing bind source is one error that names it, and nothing starts",
  ...userns,
  async fn() {
    let error: unknown;
    try {
      await box().with(rootBind("/nonexistent-nsh-source", "/x")).run("true");
    } catch (e) {
      error = e;
    }
    assert(error instanceof SyscallError, String(error));
    assertEquals(
      error.message,
      'Cannot bind "/nonexistent-nsh-source" into the new root: stat() failed with ENOENT (No such file or directory); ' +
        "the source must exist (or be optional: the -try forms)",
    );
  },
});

Deno.test({
  name: "a minimal /dev, a proc of the box, directories, links, files and modes",
  ...userns,
  async fn() {
    const b = box().with(
      rootDev(),
      rootProc(),
      rootTmpfs("/tmp", { mode: 0o1777 }),
      rootDir("/home/user", 0o700),
      rootFile("/etc/motd", "hello\n", { mode: 0o640 }),
      rootFile("/etc/hostname", "box\n", { readonly: true }),
      rootSymlink("/etc/motd", "/motd"),
      rootChmod("/etc", 0o711),
    );
    const out = await sh(
      b,
      "ls -A /dev | tr '\\n' ' '; echo; stat -c '%a %n' /tmp /home/user /etc/motd /etc; cat /motd; " +
        "head -c 4 /dev/zero | od -An -tx1; (echo x > /etc/hostname) 2>/dev/null || echo ro; " +
        "cat /proc/1/comm; readlink /dev/ptmx /dev/stdout",
    );
    assertEquals(out.stderrText, "");
    assertEquals(out.stdoutText.split("\n"), [
      "core fd full null ptmx pts random shm stderr stdin stdout tty urandom zero ",
      "1777 /tmp",
      "700 /home/user",
      "640 /etc/motd",
      "711 /etc",
      "hello",
      " 00 00 00 00",
      "ro",
      "sh",
      "pts/ptmx",
      "/proc/self/fd/1",
      "",
    ]);
  },
});

Deno.test({
  name: "remount read-only, a message queue filesystem, and a throwaway overlay over a host directory",
  ...userns,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-newroot-" });
    try {
      Deno.writeTextFileSync(`${dir}/lower`, "lower\n");
      Deno.chmodSync(dir, 0o755);
      Deno.chmodSync(`${dir}/lower`, 0o644);
      const b = box().with(
        rootTmpfs("/srv"),
        rootRemountReadonly("/srv"),
        rootMqueue(),
        rootProc(),
        rootOverlay("/layer", [dir], { upper: "tmpfs" }),
        rootOverlay("/frozen", [dir, "/usr/share/doc"]),
      );
      const out = await sh(
        b,
        "touch /srv/x 2>/dev/null || echo srv-ro; grep -c mqueue /proc/self/mountinfo; " +
          "echo upper > /layer/lower; echo new > /layer/new; cat /layer/lower /layer/new; " +
          "touch /frozen/x 2>/dev/null || echo frozen",
      );
      assertEquals([out.stdoutText, out.stderrText], ["srv-ro\n1\nupper\nnew\nfrozen\n", ""]);
      // The host's directory is untouched.
      assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["lower"]);
      assertEquals(Deno.readTextFileSync(`${dir}/lower`), "lower\n");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a new root as root without a user namespace, and for an unprivileged user",
  ignore: !IS_ROOT,
  async fn() {
    const out = await sh(sandbox(...SYSTEM, rootTmpfs("/tmp"), rootProc()).unshare("pid"), "ls -A /; id -u");
    assertEquals([out.stdoutText, out.stderrText], ["bin\nlib\nlib64\nproc\nsbin\ntmp\nusr\n0\n", ""]);
    const rootless = await runUnprivileged(`
      import { rootBind, rootProc, rootSymlink, rootTmpfs, unshare } from "$REPO/mod.ts";
      const box = unshare({ user: true, mapRootUser: true, pid: true }).with(
        rootBind("/usr", "/usr", { readonly: true }),
        rootSymlink("usr/bin", "/bin"),
        rootSymlink("usr/lib", "/lib"),
        rootSymlink("usr/lib64", "/lib64"),
        rootTmpfs("/tmp"),
        rootProc(),
      );
      console.log(await box.run("sh", "-c", "ls -A /; touch /tmp/ok && echo writable").text());
    `);
    assertEquals([rootless.stdout, rootless.stderr], ["bin\nlib\nlib64\nproc\ntmp\nusr\nwritable\n", ""]);
  },
});

Deno.test({
  name: "a context with a new root: its programs see it, and start in its /",
  ...userns,
  async fn() {
    await using ctx = await box().with(rootTmpfs("/tmp"), rootProc()).hold();
    assertEquals(ctx.cwd, "/");
    assertEquals(await ctx.run("sh", "-c", "echo kept > /tmp/f; pwd").text(), "/");
    assertEquals(await ctx.run("cat", "/tmp/f").text(), "kept");
    assertMatch(await ctx.run("ls", "-A", "/").text(), /^bin\nlib\nlib64\nproc\nsbin\ntmp\nusr$/);
  },
});
