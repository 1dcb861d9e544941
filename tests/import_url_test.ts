/**
 * mod.ts imports by URL with no config and no build step: a test serves the
 * repository over HTTP on 127.0.0.1 and a script run with `--no-config` imports
 * it. Its import graph holds only Deno built-ins.
 *
 * @module
 */

import { assert, assertEquals } from "./_assert.ts";
import { IS_ROOT, REPO, run } from "./_env.ts";

Deno.test("mod.ts imports only relative TypeScript modules (no npm:, jsr:, node: or remote)", async () => {
  const out = await run(Deno.execPath(), ["info", "--json", `${REPO}mod.ts`]);
  const graph = JSON.parse(out.stdout) as { modules: { specifier: string }[] };
  const foreign = graph.modules.map((m) => m.specifier).filter((s) => !s.startsWith("file://"));
  assertEquals(foreign, []);
});

Deno.test({
  name: "mod.ts imported by http URL with --no-config runs a program in a namespace",
  ignore: !IS_ROOT,
  async fn() {
    const controller = new AbortController();
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, signal: controller.signal, onListen() {} }, (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      if (path.includes("..")) return new Response("no", { status: 400 });
      try {
        const body = Deno.readFileSync(`${REPO}${path.slice(1)}`);
        return new Response(body, { headers: { "content-type": "application/typescript" } });
      } catch {
        return new Response("not found", { status: 404 });
      }
    });
    const dir = Deno.makeTempDirSync({ prefix: "nsh-url-" });
    try {
      const base = `http://127.0.0.1:${server.addr.port}`;
      Deno.writeTextFileSync(
        `${dir}/main.ts`,
        `import { unshare } from "${base}/mod.ts";\nconsole.log(await unshare({ hostname: "by-url" }).run("hostname").text());\n`,
      );
      const out = await run(Deno.execPath(), ["run", "-A", "--no-config", "--quiet", `${dir}/main.ts`], {
        cwd: dir,
        env: { DENO_DIR: `${dir}/deno-dir` },
      });
      assertEquals(out.code, 0, out.stderr);
      assertEquals(out.stdout, "by-url\n");
      assert(!Deno.readDirSync(dir).some((e) => e.name === "deno.lock"), "no lock file written");
    } finally {
      controller.abort();
      await server.finished;
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
