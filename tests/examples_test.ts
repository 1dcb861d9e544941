/**
 * Every example runs, as root and (where it says so) as an unprivileged user:
 * the TypeScript ones with `deno run`, the scripts with `nsh run`.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { CLI, hasProgram, IS_ROOT, REPO, run, runUnprivileged } from "./_env.ts";

interface Example {
  /** The file in examples/. */
  file: string;
  /** What its output must match. */
  expected: RegExp;
  /** Whether it is meant to run as any user. */
  rootless: boolean;
  /** Programs it needs besides ip. */
  needs?: string[];
  /** Further checks of its output. */
  check?: (stdout: string) => void;
}

/** The uptimes a time-shifted example prints, outside then inside: a day apart. */
function dayApart(stdout: string): void {
  const [outside, inside] = stdout.trim().split("\n").map((line) => Number(line.split(" ")[0]));
  const shift = inside! - outside!;
  assert(shift >= 86400 && shift < 86460, `uptime inside is ${shift} s ahead, not a day`);
}

const cases: Example[] = [
  { file: "net_namespace.ts", expected: /^1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN/, rootless: true },
  { file: "pid_namespace.ts", expected: /^USER +PID .*\n\S+ +1 .*ps aux\n$/, rootless: true },
  {
    file: "rootless_box.ts",
    expected: /^id: +uid=0\(root\).*\nhostname: box\nps: +1 ps\nlinks: +lo +DOWN/,
    rootless: true,
  },
  { file: "time_shift.ts", expected: /^uptime inside: 36\d\.\d days\n/, rootless: true },
  // Root only: the point is that root inside can join the host's namespace.
  {
    file: "breakout.ts",
    expected:
      /^host: +(net:\[\d+\])\ninside: +net:\[\d+\]\nafter setns: +\1 .*\nWe are now in the default network namespace!\n$/,
    rootless: false,
  },
  // Root only too: each layer blocks the breakout that root could make.
  {
    file: "breakout_blocked.ts",
    expected: new RegExp(
      [
        /^no layer \(the breakout\) +ESCAPED to the host's network\n/,
        /1\. its own PID namespace and \/proc +blocked: cannot open \/proc\/\d+\/ns\/net: No such file or directory\n/,
        /2\. no CAP_SYS_ADMIN +blocked: reassociate to namespace 'ns\/net' failed: Operation not permitted\n/,
        /3\. seccomp denies setns +blocked: reassociate to namespace 'ns\/net' failed: Operation not permitted\n/,
        /4\. a new root without the host's \/proc +blocked: cannot open \/proc\/\d+\/ns\/net: No such file or directory\n/,
        /5\. isolate\(\): all of them +blocked: .*\n$/,
      ].map((r) => r.source).join(""),
    ),
    rootless: false,
    needs: ["nsenter"],
  },
  {
    file: "seed_walkthrough.nsh",
    expected: new RegExp(
      [
        // unshare --net ip addr
        /^1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN .*\n +link\/loopback [0:]+ brd [0:]+\n/,
        // unshare --pid --mount-proc --fork ps aux
        /USER +PID .*\nroot +1 .* ps aux\n/,
        // a namespace bound to a file keeps its address
        /1: lo: .*\n +link\/loopback .*\n +inet 127\.0\.0\.123\/24 scope host lo\n +valid_lft forever .*\n/,
        // netns add, a veth pair, netns exec
        /1: lo: .*\n +link\/loopback .*\n2: veth1@if\d+: <BROADCAST,MULTICAST> .*\n +link\/ether .* link-netnsid 0\n/,
        // lsns in a context: its holder alone (nsh reads the context's /proc from outside)
        / +NS TYPE +NPROCS PID USER .*COMMAND\n *\d+ net +1 +1 root +unassigned +nsh-holder\n/,
        // the breakout: back in the host's network namespace
        /(net:\[\d+\])\n(?!\1\n)net:\[\d+\]\n\1\nWe are now in the default network namespace!\n/,
      ].map((re) => re.source).join("") + "$",
    ),
    rootless: false,
    needs: ["ps"],
  },
  {
    file: "rootless_sandbox.nsh",
    expected: /^box\nuid=0\(root\) gid=0\(root\) .*\n +PID COMMAND\n +1 nsh-holder\n +\d+ ps\nlo +DOWN .*\nhello\n$/,
    rootless: true,
    needs: ["ps"],
  },
  {
    file: "veth_pair.nsh",
    expected:
      /^PING 10\.0\.0\.2 .*\n64 bytes from 10\.0\.0\.2: icmp_seq=1 .*\n\n--- 10\.0\.0\.2 ping statistics ---\n1 packets transmitted, 1 received, 0% packet loss/,
    rootless: true,
    needs: ["ping"],
  },
  // Root only: rootless limits need a delegated cgroup.
  {
    file: "limits.ts",
    expected:
      /^fork bomb: 15 started, then "sh: \d+: Cannot fork" \(pids\.max 16\), status 2\nmemory hog: killed by the OOM killer, peak within 32 MiB\n$/,
    rootless: false,
  },
  // Root only: probing another process's seccomp filter and namespaces.
  {
    file: "audit_box.ts",
    expected: /^unshare --net: open proc-join, cap-sys-admin, .*seed-netns\nisolate\(\): +open none\n$/,
    rootless: false,
  },
  {
    file: "pipes_in_a_box.nsh",
    expected: /^ok: 3, failed: 1\nPID 1 is nsh-holder\nroot in the box, 1 file in its \/srv\n$/,
    rootless: true,
    needs: ["ps"],
  },
  {
    file: "time_shift.nsh",
    expected: /^\d+\.\d+ \d+\.\d+\n\d+\.\d+ \d+\.\d+\n$/,
    rootless: true,
    check: dayApart,
  },
];

for (const { file, expected, rootless, needs = [], check } of cases) {
  const script = file.endsWith(".nsh");
  const missing = !hasProgram("ip") || !needs.every(hasProgram);
  Deno.test({
    name: `examples/${file} runs as root`,
    ignore: !IS_ROOT || missing,
    async fn() {
      const args = script ? [CLI, "run", `${REPO}examples/${file}`] : [`${REPO}examples/${file}`];
      const out = await run(Deno.execPath(), ["run", "-A", "--quiet", ...args]);
      assertEquals(out.code, 0, out.stderr);
      assertMatch(out.stdout, expected);
      check?.(out.stdout);
    },
  });
  const source = script
    ? `import { main } from "$REPO/cli/main.ts";\nDeno.exitCode = await main(["run", "$REPO/examples/${file}"]);\n`
    : `await import("$REPO/examples/${file}");`;
  if (rootless) {
    Deno.test({
      name: `examples/${file} runs as an unprivileged user`,
      ignore: !IS_ROOT || !hasProgram("setpriv") || missing,
      async fn() {
        const out = await runUnprivileged(source);
        assertEquals(out.code, 0, out.stderr);
        assertMatch(out.stdout, expected);
        check?.(out.stdout);
      },
    });
  } else if (script) {
    // A script that needs root tells an unprivileged user so in one line.
    Deno.test({
      name: `examples/${file} as an unprivileged user stops at its first step with one line and a hint`,
      ignore: !IS_ROOT || !hasProgram("setpriv"),
      async fn() {
        const out = await runUnprivileged(source);
        assertEquals(out.code, 1, out.stderr);
        assertEquals(out.stdout, "");
        assertMatch(
          out.stderr,
          /^[^\n]*\.nsh:\d+: unshare: cannot create \w+ namespaces?: .*EPERM.*needs root.*--user\b.*\n$/,
        );
      },
    });
  }
}

Deno.test({
  name:
    "examples run from a copy of the repository under /tmp: the walkthrough as root, the rootless sandbox as nobody",
  ignore: !IS_ROOT || !hasProgram("ip") || !hasProgram("ps") || !hasProgram("setpriv"),
  async fn() {
    // The walkthrough mounts a tmpfs over /tmp in a context, hiding the copy
    // (and a Deno kept under /tmp) from it: release, netns and lsns must
    // work all the same.
    const dir = Deno.makeTempDirSync({ dir: "/tmp", prefix: "nsh-clone-" });
    try {
      Deno.chmodSync(dir, 0o755);
      const clone = `${dir}/nsh`;
      Deno.mkdirSync(clone);
      for (const entry of ["mod.ts", "cli.ts", "deno.json", "deno.lock", "lib", "ffi", "cli", "examples"]) {
        const copy = await run("cp", ["-r", `${REPO}${entry}`, clone]);
        assertEquals(copy.code, 0, copy.stderr);
      }
      assertEquals((await run("chmod", ["-R", "a+rX", dir])).code, 0);
      const byName = (file: string) => cases.find((c) => c.file === file)!;
      const walkthrough = await run(
        Deno.execPath(),
        ["run", "-A", "--quiet", `${clone}/cli.ts`, "run", `${clone}/examples/seed_walkthrough.nsh`],
        { cwd: clone },
      );
      assertEquals(walkthrough.code, 0, walkthrough.stderr);
      assertMatch(walkthrough.stdout, byName("seed_walkthrough.nsh").expected);
      const rootless = await runUnprivileged(
        `import { main } from "${clone}/cli/main.ts";\n` +
          `Deno.exitCode = await main(["run", "${clone}/examples/rootless_sandbox.nsh"]);\n`,
      );
      assertEquals(rootless.code, 0, rootless.stderr);
      assertMatch(rootless.stdout, byName("rootless_sandbox.nsh").expected);
      // nsh's own commands, rootless, in a context whose tmpfs on /tmp hides the copy.
      const commands = await runUnprivileged(
        `import { main } from "${clone}/cli/main.ts";\n` +
          `Deno.exitCode = await main(["-c", ${
            JSON.stringify(
              "unshare --user --map-root-user --mount --pid --fork; cd /; mount-proc; mount -t tmpfs tmpfs /tmp; " +
                "lsns -t pid -n -o NPROCS,PID,USER,COMMAND; mount -t tmpfs tmpfs /run; netns add blue; netns list; " +
                "netns delete blue; netns list; touch /tmp/f; unshare --uts=/tmp/f true; release /tmp/f; echo done",
            )
          }]);\n`,
      );
      assertEquals([commands.code, commands.stderr], [0, ""]);
      assertMatch(commands.stdout, /^ +1 +1 root nsh-holder\nblue\ndone\n$/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
