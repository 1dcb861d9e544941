/**
 * isolate(): the preset sandbox holds, as root and rootless, and its holes
 * open only what they name.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { IS_ROOT, nsh, runUnprivileged } from "./_env.ts";
import { isolate, unshare } from "../mod.ts";

const USERNS = IS_ROOT || (await unshare({ user: true, mapRootUser: true }).run("true").noThrow()).code === 0;
const userns = { ignore: !USERNS };

/** What the box shows of itself, as `key value` lines. */
const PROBE = [
  "echo root $(ls -A / | tr '\\n' ' ')",
  "echo links $(ip -o link | wc -l)",
  "echo shadow $(cat /etc/shadow >/dev/null 2>&1 && echo readable || echo hidden)",
  "echo caps $(grep ^CapEff /proc/self/status | cut -f2) $(grep ^CapBnd /proc/self/status | cut -f2)",
  "echo nnp $(grep ^NoNewPrivs /proc/self/status | cut -f2)",
  "echo pid1 $(cat /proc/1/comm)",
  "echo usr $(touch /usr/nsh-x 2>/dev/null && echo writable || echo read-only)",
  "echo tmp $(touch /tmp/x && echo writable)",
].join("; ");

function parse(text: string): Record<string, string> {
  return Object.fromEntries(
    text.trim().split("\n").map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)]),
  );
}

const EXPECTED: Record<string, string> = {
  root: "bin dev etc lib lib64 proc sbin tmp usr",
  links: "1",
  shadow: "hidden",
  caps: "0000000000000000 0000000000000000",
  nnp: "1",
  pid1: "sh",
  usr: "read-only",
  tmp: "writable",
};

Deno.test({
  name: "isolate() holds: its own root, network, proc and /tmp; no capabilities; no_new_privs; nobody's files",
  ...userns,
  async fn() {
    const seen = parse(await isolate().run("sh", "-c", PROBE).text());
    // The host's root is probably arranged as this one is, but the links of a
    // merged /usr may differ: compare the rest exactly.
    assertMatch(seen.root!, /^bin dev etc lib.* proc sbin tmp usr$/);
    assertEquals({ ...seen, root: EXPECTED.root! }, EXPECTED);
  },
});

Deno.test({
  name: "isolate() holds for an unprivileged user too",
  ignore: !IS_ROOT,
  async fn() {
    const out = await runUnprivileged(`
      import { isolate } from "$REPO/mod.ts";
      console.log(await isolate().run("sh", "-c", ${JSON.stringify(PROBE)}).text());
    `);
    assertEquals(out.stderr, "");
    const seen = parse(out.stdout);
    assertEquals({ ...seen, root: EXPECTED.root! }, EXPECTED);
  },
});

Deno.test({
  name: "isolate()'s holes: the network, a writable and a readable directory, a capability",
  ...userns,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-isolate-" });
    const data = Deno.makeTempDirSync({ prefix: "nsh-isolate-ro-" });
    try {
      Deno.chmodSync(dir, 0o777);
      Deno.chmodSync(data, 0o755);
      Deno.writeTextFileSync(`${data}/in`, "readable\n");
      Deno.chmodSync(`${data}/in`, 0o644);
      const box = isolate({ network: true, writable: [dir], readable: [data], capabilities: ["net_raw"] });
      const out = await box.run(
        "sh",
        "-c",
        `echo out > ${dir}/f; cat ${data}/in; touch ${data}/x 2>/dev/null || echo ro; ` +
          "grep ^CapEff /proc/self/status | cut -f2; readlink /proc/self/ns/net",
      ).text();
      assertEquals(Deno.readTextFileSync(`${dir}/f`), "out\n");
      const [read, ro, caps, net] = out.split("\n");
      assertEquals([read, ro, caps], ["readable", "ro", "0000000000002000"]);
      assertEquals(net, Deno.readLinkSync("/proc/self/ns/net"));
    } finally {
      Deno.removeSync(dir, { recursive: true });
      Deno.removeSync(data, { recursive: true });
    }
  },
});

Deno.test({
  name: "the seed's breakout fails inside isolate(): no host process to join, and no privilege to join one",
  ...userns,
  async fn() {
    const out = await isolate().run(
      "sh",
      "-c",
      `nsenter --net=/proc/${Deno.pid}/ns/net true; echo status $?; nsenter --net=/proc/1/ns/net true; echo status $?`,
    ).stderr("piped").noThrow().output();
    const lines = out.stdoutText.trim().split("\n");
    assertEquals(lines.length, 2, out.stdoutText);
    assert(lines.every((l) => l !== "status 0"), out.stdoutText + out.stderrText);
    assertMatch(out.stderrText, /No such file or directory|Operation not permitted/);
  },
});

Deno.test({
  name: "nsh unshare --isolate: the preset in one option, holes after it; --share-net alone is refused",
  ...userns,
  async fn() {
    const out = await nsh([
      "unshare",
      "--isolate",
      "--cap-add",
      "net_raw",
      "sh",
      "-c",
      "ip -o link | wc -l; grep ^CapEff /proc/self/status",
    ]);
    assertEquals([out.code, out.stderr, out.stdout], [0, "", "1\nCapEff:\t0000000000002000\n"]);
    const bad = await nsh(["unshare", "--share-net", "true"]);
    assertEquals([bad.code, bad.stderr], [1, "nsh unshare: --share-net goes with --isolate\n"]);
  },
});

Deno.test({
  name: "nsh unshare --isolate --bind of a directory the box's user cannot reach: the hint says whose search failed",
  // As root, root in the box is nobody outside: a directory of mode 0700 on the way stops it.
  ignore: !IS_ROOT,
  async fn() {
    const parent = Deno.makeTempDirSync({ prefix: "nsh-isolate-private-" });
    try {
      Deno.chmodSync(parent, 0o700);
      Deno.mkdirSync(`${parent}/out`);
      const out = await nsh(["unshare", "--isolate", "--bind", `${parent}/out`, `${parent}/out`, "true"]);
      assertEquals([out.code, out.stdout], [1, ""]);
      assertEquals(
        out.stderr,
        `nsh unshare: cannot bind "${parent}/out" on "${parent}/out" in the new root: open_tree() failed with EACCES ` +
          "(Permission denied); a directory on the source's path is not searchable by the box's user " +
          "(nobody, for --isolate as root)\n",
      );
    } finally {
      Deno.removeSync(parent, { recursive: true });
    }
  },
});

Deno.test({
  name: "redirections in a box whose root is nobody outside: files are created and read as its programs would",
  ignore: !IS_ROOT,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-isolate-files-" });
    try {
      Deno.chmodSync(dir, 0o755);
      Deno.writeTextFileSync(`${dir}/secret`, "root's\n", { mode: 0o600 });
      const out = await nsh([
        "-c",
        `unshare --isolate --ro-bind ${dir} /data\necho x > /tmp/f\nstat -c '%u %g %s' /tmp/f\ncat < /data/secret`,
      ]);
      // Root in the box owns what it creates (nobody outside, not root: no EOVERFLOW),
      // and reads only what nobody may.
      assertEquals(out.stdout, "0 0 2\n");
      assertEquals(
        out.stderr,
        `-c:4: cannot open "/data/secret" for reading: openat2() failed with EACCES (Permission denied)\n`,
      );
      assertEquals(out.code, 2); // as sh, for a redirection that fails
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
