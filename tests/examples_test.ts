/**
 * Every example runs, as root and (where it says so) as an unprivileged user.
 *
 * @module
 */

import { assertEquals, assertMatch } from "./_assert.ts";
import { hasProgram, IS_ROOT, REPO, run, runUnprivileged } from "./_env.ts";

const cases: [string, RegExp][] = [
  ["net_namespace.ts", /^1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN/],
  ["pid_namespace.ts", /^USER +PID .*\n\S+ +1 .*ps aux\n$/],
  ["rootless_box.ts", /^id: +uid=0\(root\).*\nhostname: box\nps: +1 ps\nlinks: +lo +DOWN/],
  ["time_shift.ts", /^uptime inside: 36\d\.\d days\n/],
];

for (const [file, expected] of cases) {
  Deno.test({
    name: `examples/${file} runs as root`,
    ignore: !IS_ROOT || !hasProgram("ip"),
    async fn() {
      const out = await run(Deno.execPath(), ["run", "-A", "--quiet", `${REPO}examples/${file}`]);
      assertEquals(out.code, 0, out.stderr);
      assertMatch(out.stdout, expected);
    },
  });
  Deno.test({
    name: `examples/${file} runs as an unprivileged user`,
    ignore: !IS_ROOT || !hasProgram("setpriv") || !hasProgram("ip"),
    async fn() {
      const out = await runUnprivileged(`await import("$REPO/examples/${file}");`);
      assertEquals(out.code, 0, out.stderr);
      assertMatch(out.stdout, expected);
    },
  });
}
