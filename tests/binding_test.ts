/**
 * Releasing a namespace bound to a file acts on the file it checked: a user
 * who swaps directories on the path (renameat2 RENAME_EXCHANGE, in a loop)
 * cannot have root detach another mount, and a symbolic link is refused.
 * Everything happens in a mount namespace and on a tmpfs of the test's own.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { CLI, IS_ROOT, REPO } from "./_env.ts";
import { unshare } from "../mod.ts";

const root = { ignore: !IS_ROOT };

/** Writes a program for the test's mount namespace and runs it there with `deno run -A`. */
async function inOwnMounts(source: string, ...args: string[]) {
  const dir = Deno.makeTempDirSync({ prefix: "nsh-binding-" });
  try {
    const file = `${dir}/program.ts`;
    Deno.writeTextFileSync(file, source.replaceAll("$REPO/", REPO));
    // The tmpfs covers the directory inside the mount namespace only; the
    // program file was opened before, so Deno finds it by a path outside.
    Deno.mkdirSync(`${dir}/work`);
    return await unshare({ mount: true }).tmpfs(`${dir}/work`).run(
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      file,
      `${dir}/work`,
      ...args,
    ).noThrow().output();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const SWAPPER = `
// Exchanges DIR/a and DIR/b for ever, as fast as it can, until its parent ends.
const libc = Deno.dlopen("libc.so.6", {
  renameat2: { parameters: ["i32", "buffer", "i32", "buffer", "u32"], result: "i32" },
}).symbols;
const [dir] = Deno.args;
const a = new TextEncoder().encode(dir + "/a\\0"), b = new TextEncoder().encode(dir + "/b\\0");
const parent = Deno.ppid;
for (let i = 0;; i++) {
  libc.renameat2(-100, a, -100, b, 2); // RENAME_EXCHANGE
  if (i % 4096 === 0 && Deno.ppid !== parent) break;
}
`;

const RACE = `
import { releaseNamespace } from "$REPO/mod.ts";
const libc = Deno.dlopen("libc.so.6", {
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "buffer"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
}).symbols;
const c = (s) => new TextEncoder().encode(s + "\\0");
const MS_BIND = 4096n, O_PATH = 0o10000000, O_DIRECTORY = 0o200000;
const [dir, rounds] = Deno.args;
for (const d of ["a", "b"]) {
  Deno.mkdirSync(dir + "/" + d);
  Deno.writeTextFileSync(dir + "/" + d + "/ns", "");
}
Deno.writeTextFileSync(dir + "/victim", "victim");
// a/ns: a network namespace bound to a file; b/ns: another mount, which no
// release may ever detach. Both are reached through descriptors of their
// directories, wherever the swapper puts them.
const aFd = libc.open(c(dir + "/a"), O_PATH | O_DIRECTORY, 0);
const bFd = libc.open(c(dir + "/b"), O_PATH | O_DIRECTORY, 0);
const bind = (source, target) => {
  if (libc.mount(c(source), c(target), null, MS_BIND, null) !== 0) throw new Error("cannot bind " + target);
};
const net = Deno.statSync("/proc/self/ns/net").ino;
bind("/proc/self/ns/net", "/proc/self/fd/" + aFd + "/ns");
bind(dir + "/victim", "/proc/self/fd/" + bFd + "/ns");
const swapper = new Deno.Command(Deno.execPath(), { args: ["run", "-A", "--quiet", Deno.args[2], dir] }).spawn();
await new Promise((r) => setTimeout(r, 200));
let released = 0, refused = 0, detached = -1;
try {
  for (let i = 0; i < Number(rounds); i++) {
    if (Deno.statSync("/proc/self/fd/" + aFd + "/ns").ino !== net) bind("/proc/self/ns/net", "/proc/self/fd/" + aFd + "/ns");
    try {
      await releaseNamespace(dir + "/a/ns");
      released++;
    } catch (error) {
      if (!/is not a namespace binding/.test(error.message)) throw error;
      refused++;
    }
    if (Deno.readTextFileSync("/proc/self/fd/" + bFd + "/ns") !== "victim") {
      detached = i;
      break;
    }
  }
} finally {
  swapper.kill("SIGKILL");
  await swapper.status;
}
console.log(JSON.stringify({ released, refused, detached }));
`;

Deno.test({
  name: "releaseNamespace() never detaches another mount while a user swaps the directories on its path",
  ...root,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-swapper-" });
    try {
      Deno.writeTextFileSync(`${dir}/swapper.ts`, SWAPPER);
      const out = await inOwnMounts(RACE, "3000", `${dir}/swapper.ts`);
      assertEquals(out.code, 0, out.stderrText);
      const r = JSON.parse(out.stdoutText);
      assertEquals(r.detached, -1, `the other mount was detached in round ${r.detached}: ${out.stdoutText}`);
      // The swapper did swap: both outcomes happened.
      assert(r.released > 0 && r.refused > 0, out.stdoutText);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "nsh release refuses a symbolic link to a binding, and releases the binding itself",
  ...root,
  async fn() {
    const out = await inOwnMounts(
      `
      const [dir, cli] = Deno.args;
      const run = (...args) => new Deno.Command(Deno.execPath(), { args: ["run", "-A", "--quiet", cli, ...args] }).outputSync();
      const text = (r) => ({ code: r.code, err: new TextDecoder().decode(r.stderr) });
      Deno.writeTextFileSync(dir + "/ns", "");
      const bound = run("unshare", "--net=" + dir + "/ns", "true");
      Deno.symlinkSync(dir + "/ns", dir + "/link");
      const link = run("release", dir + "/link");
      const stillBound = Deno.statSync(dir + "/ns").ino !== Deno.lstatSync(dir + "/link").ino && Deno.readTextFileSync("/proc/self/mountinfo").includes(" " + dir + "/ns ");
      const file = run("release", dir + "/ns");
      const gone = !Deno.readTextFileSync("/proc/self/mountinfo").includes(" " + dir + "/ns ");
      console.log(JSON.stringify({ bound: text(bound), link: text(link), stillBound, file: text(file), gone }));
    `,
      CLI,
    );
    assertEquals(out.code, 0, out.stderrText);
    const r = JSON.parse(out.stdoutText);
    assertEquals(r.bound.code, 0, r.bound.err);
    assertEquals(r.link.code, 1);
    assertMatch(
      r.link.err,
      /^nsh release: cannot release the namespace bound to ".*\/link": open\(\) failed with ELOOP \(Too many levels of symbolic links\); ".*\/link" is a symbolic link: nsh does not follow one here, since whoever may change it could point it at another mount; give the file it points to\n$/,
    );
    assert(r.stillBound, "the binding is still there");
    assertEquals([r.file.code, r.file.err], [0, ""]);
    assert(r.gone, "released");
  },
});
