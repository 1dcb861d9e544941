/**
 * Descriptors: a program gets 0-2 and what it is passed; a holder gets none.
 * The command line passes on what nsh inherited, as util-linux and sh do.
 *
 * @module
 */

import { assert, assertEquals } from "./_assert.ts";
import { CLI, IS_ROOT, run } from "./_env.ts";
import { unshare } from "../mod.ts";
import { cstring, libc } from "../ffi/libc.ts";
import { O_RDONLY } from "../ffi/constants.ts";

/** Whether this user can make a user namespace (root always can), decided once. */
const USERNS = IS_ROOT || (await unshare({ user: true, mapRootUser: true }).run("true").noThrow()).code === 0;

/** Opens a file without O_CLOEXEC, as a descriptor inherited from a parent is. */
function openInheritable(path: string): number {
  const fd = libc().open(cstring(path), O_RDONLY, 0);
  assert(fd > 2, `open ${path}`);
  return fd;
}

function fdsOf(lines: string[]): number[] {
  return lines.map(Number).filter((fd) => fd > 2);
}

Deno.test("Command: a descriptor this process has without O_CLOEXEC does not reach the program", async () => {
  const fd = openInheritable("/etc/hostname");
  try {
    // `ls` opens one of its own to read the directory.
    const seen = fdsOf(await unshare().run("ls", "/proc/self/fd").lines());
    assert(!seen.includes(fd), `fd ${fd} reached the program: ${seen}`);
    assertEquals(seen.length, 1, `the program had ${seen}`);
  } finally {
    libc().close(fd);
  }
});

Deno.test("Command.passFds() passes a descriptor on, at its number; a bad number is a RangeError", async () => {
  const fd = openInheritable("/etc/hostname");
  try {
    const text = await unshare().run("cat", `/dev/fd/${fd}`).passFds(fd).text();
    assertEquals(text, Deno.readTextFileSync("/etc/hostname").trimEnd());
  } finally {
    libc().close(fd);
  }
  let error: unknown;
  try {
    unshare().run("true").passFds(1);
  } catch (e) {
    error = e;
  }
  assert(error instanceof RangeError, String(error));
});

Deno.test({
  name: "a context's holder has no descriptor but its stdio, whatever nsh inherited",
  ignore: !USERNS,
  async fn() {
    const fd = openInheritable("/etc/hostname");
    try {
      await using ctx = await unshare({ user: true, mapRootUser: true, pid: true, mountProc: true }).hold();
      const seen = (await ctx.run("ls", "/proc/1/fd").lines()).map(Number);
      assertEquals(seen, [0, 1, 2]);
    } finally {
      libc().close(fd);
    }
  },
});

Deno.test({
  name: "nsh passes on the descriptors it inherited, as util-linux unshare does; its holders get none",
  ignore: !USERNS,
  async fn() {
    const deno = Deno.execPath();
    const one = await run("bash", [
      "-c",
      `exec 7</etc/hostname; exec "$0" run -A --quiet "$1" unshare -Ur cat /dev/fd/7`,
      deno,
      CLI,
    ]);
    assertEquals([one.code, one.stderr, one.stdout], [0, "", Deno.readTextFileSync("/etc/hostname")]);
    const script = "unshare -Urpm --mount-proc\nls /proc/1/fd\ncat /dev/fd/7";
    const shell = await run("bash", [
      "-c",
      `exec 7</etc/hostname; exec "$0" run -A --quiet "$1" -c "$2"`,
      deno,
      CLI,
      script,
    ]);
    assertEquals([shell.code, shell.stderr], [0, ""]);
    assertEquals(shell.stdout, `0\n1\n2\n${Deno.readTextFileSync("/etc/hostname")}`);
  },
});

Deno.test("start() connects a standard stream to a descriptor given, also stderr to stdout's (2>&1)", async () => {
  const { start } = await import("../lib/engine.ts");
  const { plan } = await import("../lib/plan.ts");
  const fds = new Int32Array(2);
  assert(libc().pipe2(fds, 0o2000000) === 0);
  const [r, w] = [fds[0]!, fds[1]!];
  try {
    const child = await start(plan([], { euid: 0, egid: 0 }), {
      argv: ["sh", "-c", "echo out; echo err >&2"],
      stdout: { fd: w },
      stderr: { fd: w },
    });
    libc().close(w);
    assertEquals((await child.status).code, 0);
    const buffer = new Uint8Array(64);
    const n = Number(libc().read(r, buffer, 64n));
    assertEquals(new TextDecoder().decode(buffer.subarray(0, n)), "out\nerr\n");
  } finally {
    libc().close(r);
  }
});
