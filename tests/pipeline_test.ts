/**
 * The API's pipes and redirections: `Command.pipe()` and `Pipeline`,
 * `.stdin()`/`.stdout()`/`.stderr()` with files and descriptors,
 * `OpenFile`, and files opened where a context sees them.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { IS_ROOT } from "./_env.ts";
import { CommandError, glob, OpenFile, sandbox, SyscallError, unshare } from "../mod.ts";

const USERNS = IS_ROOT || (await unshare({ user: true, mapRootUser: true }).run("true").noThrow()).code === 0;

Deno.test("a pipeline connects each program's stdout to the next one's stdin, and ends with the last one's status", async () => {
  const box = sandbox();
  assertEquals(
    await box.run("printf", "c\\na\\nb\\n").pipe(box.run("sort")).pipe(box.run("head", "-2")).text(),
    "a\nb",
  );
  const last = await box.run("true").pipe(box.run("sh", "-c", "cat; exit 3")).noThrow();
  assertEquals([last.code, last.statuses.map((s) => s.code)], [3, [0, 3]]);
  await assertRejects(() => box.run("true").pipe(box.run("false")).then(), CommandError);
  // As sh: the last status, unless pipefail.
  assertEquals((await box.run("false").pipe(box.run("true"))).code, 0);
  assertEquals((await box.run("sh", "-c", "exit 4").pipe(box.run("true")).pipefail().noThrow()).code, 4);
});

Deno.test("a stage that cannot start gets sh's status for it, and the others run", async () => {
  const box = sandbox();
  const result = await box.run("nosuch-nsh-program").pipe(box.run("echo", "after")).output();
  assertEquals([result.code, result.stdoutText, result.statuses.map((s) => s.code)], [0, "after\n", [127, 0]]);
  // The stage whose status is the pipeline's rejects as a command that cannot start does.
  const error = await assertRejects(
    () => box.run("echo", "x").pipe(box.run("nosuch-nsh-program")).noThrow().then(),
    SyscallError,
  );
  assertEquals([error.syscall, error.code], ["execve", "ENOENT"]);
});

Deno.test("a reader that stops early ends the writer with SIGPIPE, as in sh", async () => {
  const box = sandbox();
  const result = await box.run("yes").pipe(box.run("head", "-1")).output();
  assertEquals([result.code, result.stdoutText, result.statuses[0]?.signal], [0, "y\n", "SIGPIPE"]);
});

Deno.test("redirections: a file truncated, appended to, read; 2>&1 and >&2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nsh-pipeline-test-" });
  try {
    const box = sandbox();
    const file = `${dir}/out`;
    await box.run("echo", "one").stdout({ file });
    await box.run("echo", "two").stdout({ file, append: true });
    assertEquals(await Deno.readTextFile(file), "one\ntwo\n");
    await box.run("echo", "three").stdout({ file: new URL(`file://${file}`) });
    assertEquals(await box.run("cat").stdin({ file }).text(), "three");
    const both = await box.run("sh", "-c", "echo out; echo err >&2").stdout({ file }).stderr("stdout");
    assertEquals([both.stderrText, await Deno.readTextFile(file)], ["", "out\nerr\n"]);
    const swapped = await box.run("sh", "-c", "echo to-err").stdout("stderr").output();
    assertEquals([swapped.stdoutText, swapped.stderrText], ["", "to-err\n"]);
    // A missing directory: one error that names the file, and nothing runs.
    const error = await assertRejects(
      () => box.run("echo", "x").stdout({ file: `${dir}/none/f` }).then(),
      SyscallError,
    );
    assert(error.message.includes(`${dir}/none/f`), error.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an OpenFile is one file that several commands write in turn, as { …; } > FILE", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nsh-pipeline-test-" });
  try {
    const box = sandbox();
    await Deno.writeTextFile(`${dir}/in`, "1\n2\n3\n");
    {
      using out = new OpenFile(`${dir}/out`, "write");
      using input = new OpenFile(`${dir}/in`);
      // Each head reads on from where the one before stopped (a regular file: head seeks back).
      await box.run("head", "-1").stdin(input).stdout(out);
      await box.run("head", "-1").stdin(input).stdout(out);
      await box.run("echo", "end").stdout(out);
    }
    assertEquals(await Deno.readTextFile(`${dir}/out`), "1\n2\nend\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "a context's command opens its files where the context sees them, and a link there cannot reach the host",
  ignore: !USERNS,
  async fn() {
    await using ctx = await unshare({ user: true, mapRootUser: true, mount: true }).tmpfs("/mnt").hold();
    ctx.cwd = "/mnt";
    await ctx.run("echo", "inside").stdout({ file: "f" });
    assertEquals(await ctx.run("cat", "/mnt/f").text(), "inside");
    assertEquals(glob("*", ctx), ["f"]);
    assertEquals(glob("/mnt/?", ctx), ["/mnt/f"]);
    // An absolute link in the context names the context's file, never the host's.
    const name = `nsh-pipeline-test-${Deno.pid}`;
    await ctx.run("ln", "-s", `/mnt/${name}`, "/mnt/link");
    await ctx.run("echo", "through the link").stdout({ file: "/mnt/link" });
    assertEquals(await ctx.run("cat", `/mnt/${name}`).text(), "through the link");
    await assertRejects(() => Deno.stat(`/mnt/${name}`), Deno.errors.NotFound);
    // A command made elsewhere opens them there too with within().
    await sandbox().run("echo", "within").within(ctx).stdout({ file: "w" });
    assertEquals(await ctx.run("cat", "w").text(), "within");
    using shared = new OpenFile("shared", "write", ctx);
    await ctx.run("echo", "a").stdout(shared);
    await ctx.run("echo", "b").stdout(shared);
    assertEquals(await ctx.run("cat", "/mnt/shared").text(), "a\nb");
  },
});
