/**
 * Every example runs, as root and (where it says so) as an unprivileged user.
 *
 * @module
 */

import { assertEquals, assertMatch } from "./_assert.ts";
import { hasProgram, IS_ROOT, REPO, run, runUnprivileged } from "./_env.ts";

const cases: [string, RegExp, { rootless: boolean }][] = [
  ["net_namespace.ts", /^1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN/, { rootless: true }],
  ["pid_namespace.ts", /^USER +PID .*\n\S+ +1 .*ps aux\n$/, { rootless: true }],
  ["rootless_box.ts", /^id: +uid=0\(root\).*\nhostname: box\nps: +1 ps\nlinks: +lo +DOWN/, { rootless: true }],
  ["time_shift.ts", /^uptime inside: 36\d\.\d days\n/, { rootless: true }],
  // Root only: the point is that root inside can join the host's namespace.
  [
    "breakout.ts",
    /^host: +(net:\[\d+\])\ninside: +net:\[\d+\]\nafter setns: +\1 .*\nWe are now in the default network namespace!\n$/,
    {
      rootless: false,
    },
  ],
];

for (const [file, expected, { rootless }] of cases) {
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
    ignore: !rootless || !IS_ROOT || !hasProgram("setpriv") || !hasProgram("ip"),
    async fn() {
      const out = await runUnprivileged(`await import("$REPO/examples/${file}");`);
      assertEquals(out.code, 0, out.stderr);
      assertMatch(out.stdout, expected);
    },
  });
}
