/**
 * The test helpers themselves: a test that cannot run here says why.
 *
 * @module
 */

import { assertEquals } from "./_assert.ts";
import { REPO } from "./_env.ts";

Deno.test("a test ignored for a missing program says which, once in a run of several test files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nsh-env-test-" });
  const missing = "nsh-no-such-program";
  let pid: number | undefined;
  try {
    for (const name of ["a", "b"]) {
      await Deno.writeTextFile(
        `${dir}/${name}_test.ts`,
        `import { hasProgram } from "${REPO}tests/_env.ts";
         Deno.test({ name: "${name}: needs it", ignore: !hasProgram("${missing}"), fn() {} });
         Deno.test({ name: "${name}: needs it too", ignore: !hasProgram("${missing}"), fn() {} });
         Deno.test({ name: "${name}: needs sh", ignore: !hasProgram("sh"), fn() {} });`,
      );
    }
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--no-config", dir],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    pid = child.pid;
    const out = await child.output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, text);
    assertEquals(/\| (\d+) ignored/.exec(text)?.[1], "4", text);
    const said = text.split("\n").filter((line) => line.includes(missing));
    assertEquals(said, [
      `nsh tests: ${missing} is not on PATH: the tests that need it are ignored (.ci/run installs the package that has it)`,
    ], text);
  } finally {
    await Deno.remove(dir, { recursive: true });
    // The directory in which that run noted what it said.
    for (const entry of Deno.readDirSync("/tmp")) {
      if (pid !== undefined && new RegExp(`^nsh-test-skips_\\d+-${pid}$`).test(entry.name)) {
        Deno.removeSync(`/tmp/${entry.name}`, { recursive: true });
      }
    }
  }
});

Deno.test(".ci/run installs every program that a test needs, so that CI ignores none", () => {
  const listed = new Set(
    [...Deno.readTextFileSync(`${REPO}.ci/run`).matchAll(/\b([\w-]+):[\w.+-]+/g)].map((m) => m[1]!),
  );
  const needed = new Set<string>();
  for (const entry of Deno.readDirSync(`${REPO}tests`)) {
    if (!entry.name.endsWith(".ts") || entry.name === "env_test.ts") continue;
    const text = Deno.readTextFileSync(`${REPO}tests/${entry.name}`);
    for (const m of text.matchAll(/hasProgram\("([\w-]+)"\)/g)) needed.add(m[1]!);
    // Lists of programs that examples need: `needs: ["ip", "ps"]`.
    for (const m of text.matchAll(/needs: \[([^\]]*)\]/g)) {
      for (const name of m[1]!.matchAll(/"([\w-]+)"/g)) needed.add(name[1]!);
    }
  }
  assertEquals(
    [...needed].filter((name) => !listed.has(name)).sort(),
    [],
    "programs the tests need that .ci/run does not install",
  );
});
