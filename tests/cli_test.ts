/**
 * The one-shot CLI, run as a user runs it: `deno run -A cli.ts …` in a
 * subprocess. Exit statuses follow util-linux and shells; errors are one line.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertSnapshot } from "./_assert.ts";
import { hasProgram, IS_ROOT, nsh, REPO } from "./_env.ts";
import { mainHelp } from "../cli/main.ts";
import { netnsHelp } from "../cli/netns.ts";
import { unshareHelp } from "../cli/unshare.ts";
import { VERSION } from "../cli/version.ts";
import { exists } from "../ffi/libc.ts";

const root = { ignore: !IS_ROOT };

/** Compares text with a file under tests/snapshots; UPDATE_SNAPSHOTS=1 rewrites it. */
Deno.test("help output matches its snapshot", () => {
  assertSnapshot(mainHelp(), "main_help.txt");
  assertSnapshot(unshareHelp(), "unshare_help.txt");
  // --isolate's paragraph names each layer, its seccomp filter too.
  assertMatch(unshareHelp().replace(/\s+/g, " "), /no_new_privs; a seccomp filter that makes mounts, /);
});

Deno.test("nsh --help: no line ends in a space; release names contexts as well as files; netns help's paragraphs apart", () => {
  const help = mainHelp();
  assertEquals(help.split("\n").filter((line) => line.endsWith(" ")), []);
  // Its paragraphs apart, as the others.
  assertMatch(netnsHelp(), /no JSON\.\n\nIn a shell context, netns/);
  assertMatch(
    help,
    /^ release <file>\|<name>\.\.\.\n +unbind namespaces bound to files, or end contexts kept with --persist$/m,
  );
});

Deno.test("VERSION matches deno.json", () => {
  assertEquals(VERSION, JSON.parse(Deno.readTextFileSync(`${REPO}deno.json`)).version);
});

Deno.test("nsh unshare --help and --version print and exit 0", async () => {
  const help = await nsh(["unshare", "--help"]);
  assertEquals([help.code, help.stdout, help.stderr], [0, unshareHelp(), ""]);
  const version = await nsh(["unshare", "-V"]);
  assertEquals([version.code, version.stdout], [0, `nsh unshare ${VERSION}\n`]);
});

Deno.test("nsh help COMMAND knows the shell's own commands too; an unknown one is a usage error", async () => {
  const help = await nsh(["help", "hostname"]);
  assertEquals([help.code, help.stderr], [0, ""]);
  assertEquals(help.stdout, "\nUsage:\n hostname [<name>]\n\nPrint, or set, the context's hostname.\n");
  const unknown = await nsh(["help", "nosuch"]);
  assertEquals([unknown.code, unknown.stderr], [
    1,
    "nsh: unknown command 'nosuch'\nTry 'nsh --help' for more information.\n",
  ]);
});

Deno.test({
  name: "nsh unshare runs the seed's first command: a network namespace with only lo",
  ignore: !IS_ROOT || !hasProgram("ip"),
  async fn() {
    const out = await nsh(["unshare", "--net", "ip", "-br", "addr"]);
    assertEquals(out.code, 0, out.stderr);
    assertMatch(out.stdout, /^lo\s+DOWN\s*$/);
  },
});

Deno.test({
  name: "nsh unshare runs the seed's second command: ps sees only its PID namespace",
  ...root,
  async fn() {
    const out = await nsh(["unshare", "--pid", "--mount-proc", "--fork", "ps", "aux"]);
    assertEquals(out.code, 0, out.stderr);
    const lines = out.stdout.trim().split("\n");
    assertEquals(lines.length, 2, out.stdout);
    assertMatch(lines[1]!, /^root\s+1\s.*ps aux$/);
  },
});

Deno.test({
  name: "nsh unshare reads the program from stdin when it is a shell, and defaults to $SHELL",
  ...root,
  async fn() {
    const out = await nsh(["unshare", "-pu", "--hostname=inner"], {
      env: { SHELL: "/bin/sh" },
      stdin: "echo $$; hostname\n",
    });
    assertEquals([out.code, out.stdout], [0, "1\ninner\n"]);
  },
});

Deno.test({
  name: "nsh unshare exits with the program's status, or 128 + N for signal N",
  ...root,
  async fn() {
    assertEquals((await nsh(["unshare", "-u", "sh", "-c", "exit 42"])).code, 42);
    assertEquals((await nsh(["unshare", "-u", "sh", "-c", "kill -TERM $$"])).code, 143);
  },
});

/** Runs nsh and tells how it ended, signal included. */
async function nshStatus(args: string[], stdin: "null" | "piped" = "null"): Promise<Deno.CommandStatus> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${REPO}cli.ts`, ...args],
    stdin,
    stdout: "null",
    stderr: "null",
  }).output();
  return { code: out.code, signal: out.signal, success: out.success };
}

Deno.test({
  name: "nsh unshare dies of the signal that killed its program, as util-linux does; core signals give 128 + N",
  ...root,
  async fn() {
    // The caller's wait() sees the signal, as for `unshare --fork` and `ip netns exec`.
    for (const signal of ["TERM", "INT", "HUP", "PIPE", "KILL", "USR1"]) {
      const status = await nshStatus(["unshare", "-u", "sh", "-c", `kill -${signal} $$`]);
      assertEquals(status.signal, `SIG${signal}`, signal);
    }
    // A signal that dumps core would dump Deno: nsh exits with 128 + N.
    for (const [signal, code] of [["SEGV", 139], ["QUIT", 131], ["ABRT", 134]] as const) {
      const status = await nshStatus(["unshare", "-u", "sh", "-c", `kill -${signal} $$`]);
      assertEquals([status.signal, status.code], [null, code], signal);
    }
    // A program that exits 143 is not one that a signal ended.
    const exited = await nshStatus(["unshare", "-u", "sh", "-c", "exit 143"]);
    assertEquals([exited.signal, exited.code], [null, 143]);
    // The shell keeps 128 + N as $?, and its own exit status.
    const shell = await nsh(["-c", "set +e\nunshare -u sh -c 'kill -TERM $$'\necho status $?"]);
    assertEquals([shell.code, shell.stdout], [0, "status 143\n"]);
  },
});

Deno.test({
  name: "nsh unshare --forward-signals passes SIGINT sent to nsh on; without it only SIGTERM and SIGHUP go on",
  ...root,
  async fn() {
    for (const forward of [true, false]) {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--quiet",
          `${REPO}cli.ts`,
          "unshare",
          "-u",
          ...(forward ? ["--forward-signals"] : []),
          "sh",
          "-c",
          'trap "exit 7" INT; trap "exit 8" TERM; echo ready; while :; do sleep 0.05; done',
        ],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const reader = child.stdout.getReader();
      assertEquals(new TextDecoder().decode((await reader.read()).value), "ready\n");
      child.kill("SIGINT");
      // Without forwarding, the SIGINT goes nowhere (a terminal sends it to the
      // program itself); then SIGTERM, which always goes on, ends it.
      if (!forward) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        child.kill("SIGTERM");
      }
      reader.releaseLock();
      await child.stdout.cancel();
      const status = await child.status;
      assertEquals(status.code, forward ? 7 : 8, forward ? "forwarded" : "not forwarded");
    }
  },
});

Deno.test({
  name: "nsh unshare --clear-env and --whitelist-env pass on no variables, or only the listed ones",
  ...root,
  async fn() {
    const env = { NSH_A: "a", NSH_B: "b", PATH: "/usr/bin:/bin" };
    const cleared = await nsh(["unshare", "-u", "--clear-env", "env"], { env });
    assertEquals([cleared.code, cleared.stdout, cleared.stderr], [0, "", ""]);
    const kept = await nsh(["unshare", "-u", "--whitelist-env", "NSH_B,NSH_UNSET", "/usr/bin/env"], { env });
    assertEquals([kept.code, kept.stdout], [0, "NSH_B=b\n"]);
    // In the shell too, from the variables the shell gives programs.
    const shell = await nsh(["-c", "export NSH_C=c\nunshare -u --whitelist-env=NSH_C,NSH_A /usr/bin/env"], { env });
    assertEquals([shell.code, shell.stdout.split("\n").sort().join(" ")], [0, " NSH_A=a NSH_C=c"]);
  },
});

Deno.test({
  name: "nsh unshare exits 127 with one line for a missing program and 126 for one it cannot execute",
  ...root,
  async fn() {
    const missing = await nsh(["unshare", "-n", "no-such-program-nsh"]);
    assertEquals(missing.code, 127);
    assertEquals(
      missing.stderr,
      'nsh unshare: cannot execute "no-such-program-nsh": execve() failed with ENOENT (No such file or directory); no such program in PATH\n',
    );
    const file = Deno.makeTempFileSync();
    try {
      const denied = await nsh(["unshare", "-n", file]);
      assertEquals(denied.code, 126);
      assertMatch(
        denied.stderr,
        /^nsh unshare: cannot execute ".*": execve\(\) failed with EACCES \(Permission denied\); .*\n$/,
      );
    } finally {
      Deno.removeSync(file);
    }
  },
});

Deno.test("nsh unshare rejects bad options with one line and status 1, a usage hint for syntax only", async () => {
  // As util-linux: a syntax error gets "Try --help"; a value it cannot use does not.
  const hint = "\nTry 'nsh unshare --help' for more information.";
  const cases: [string[], string][] = [
    [["--foo"], `unrecognized option '--foo'${hint}`],
    [["-x"], `invalid option -- 'x'${hint}`],
    [["-w"], `option requires an argument -- 'w'${hint}`],
    [["--fork=yes"], `option '--fork' doesn't allow an argument${hint}`],
    [["--propagation", "bad"], "unsupported propagation mode: bad"],
    [["--setgroups=maybe"], "unsupported --setgroups argument 'maybe'"],
    [["--kill-child=NOPE"], "unknown signal: NOPE"],
    [["-T", "--monotonic", "soon"], "failed to parse monotonic offset: 'soon'"],
    [["--boottime", "5"], "options --monotonic and --boottime require unsharing of a time namespace (-T)"],
    [["--map-users=1,2"], 'cannot parse id block "1,2": expected outer,inner,count or inner:outer:count'],
    [["-u", `--hostname=${"h".repeat(65)}`], `cannot set the hostname to "${"h".repeat(65)}": longer than 64 bytes`],
  ];
  for (const [args, message] of cases) {
    const out = await nsh(["unshare", ...args, ...(args[0] === "-w" ? [] : ["true"])]);
    assertEquals(out.code, 1, args.join(" "));
    assertEquals(out.stderr, `nsh unshare: ${message}\n`);
    assertEquals(out.stdout, "");
  }
});

Deno.test("nsh rejects an unknown command or option", async () => {
  const cases: [string, string][] = [
    ["frobnicate", "unknown command 'frobnicate'"],
    ["-x", "invalid option -- 'x'"],
    ["--frob", "unrecognized option '--frob'"],
  ];
  for (const [arg, message] of cases) {
    const out = await nsh([arg]);
    assertEquals([out.code, out.stderr], [1, `nsh: ${message}\nTry 'nsh --help' for more information.\n`]);
  }
});

Deno.test({
  name: "nsh unshare reports a failed setup step with the user's path and exits 1",
  ...root,
  async fn() {
    const out = await nsh(["unshare", "--mount-proc=/no/such/dir", "true"]);
    assertEquals(out.code, 1);
    assertEquals(
      out.stderr,
      'nsh unshare: cannot mount proc on "/no/such/dir": mount() failed with ENOENT (No such file or directory); the mount point must exist (inside the new root, for proc)\n',
    );
    const clock = await nsh(["unshare", "-T", "--boottime", "-100000000", "true"]);
    assertEquals(
      [clock.code, clock.stderr],
      [
        1,
        'nsh unshare: cannot set the clock offsets "boottime -100000000 0": write() failed with ERANGE (Numerical result out of range); the offset would take the clock below zero (it counts from boot)\n',
      ],
    );
  },
});

Deno.test({
  name: "nsh unshare stops parsing options at the program's first word",
  ...root,
  async fn() {
    const out = await nsh(["unshare", "-u", "echo", "-n", "--net", "--", "x"]);
    assertEquals([out.code, out.stdout], [0, "--net -- x"]);
  },
});

Deno.test({
  name: "Ctrl-C stops a PID 1 that has no handler, nsh dies of SIGINT and leaves nothing running",
  ignore: !IS_ROOT || !hasProgram("setsid"),
  async fn() {
    // setsid gives nsh its own process group, as a terminal's foreground job:
    // the signal then goes to nsh and the program, as a Ctrl-C does.
    const marker = `1000.${crypto.getRandomValues(new Uint32Array(1))[0]}`;
    const child = new Deno.Command("setsid", {
      args: [
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        `${REPO}cli.ts`,
        "unshare",
        "-p",
        "sh",
        "-c",
        `exec sleep ${marker}`,
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let sleeper: number | undefined;
    for (let i = 0; i < 200 && sleeper === undefined; i++) {
      await new Promise((r) => setTimeout(r, 25));
      sleeper = findProcess(marker);
    }
    assert(sleeper !== undefined, "the program started");
    Deno.kill(-child.pid, "SIGINT");
    const status = await child.status;
    // nsh killed the program on SIGINT's behalf, and ends of SIGINT itself.
    assertEquals([status.code, status.signal], [130, "SIGINT"]);
    assertEquals(findProcess(marker), undefined);
    await child.stderr.cancel();
  },
});

function findProcess(marker: string): number | undefined {
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${entry.name}/cmdline`) === `sleep\0${marker}\0`) {
        const state = Deno.readTextFileSync(`/proc/${entry.name}/stat`).split(") ")[1]!;
        if (!state.startsWith("Z")) return Number(entry.name);
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

Deno.test({
  name: "no environment variable makes nsh load a library: NSH_LIBC is not read",
  ignore: !hasProgram("gcc"),
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-libc-test-" });
    try {
      // A library whose constructor leaves a mark, as an attacker's would run code.
      Deno.writeTextFileSync(
        `${dir}/evil.c`,
        `#include <fcntl.h>\n__attribute__((constructor)) static void mark(void) { open("${dir}/ran", O_CREAT | O_WRONLY, 0644); }\n`,
      );
      const cc = await new Deno.Command("gcc", { args: ["-shared", "-fPIC", "-o", `${dir}/evil.so`, `${dir}/evil.c`] })
        .output();
      assert(cc.success, new TextDecoder().decode(cc.stderr));
      const out = await nsh(["unshare", "true"], { env: { NSH_LIBC: `${dir}/evil.so` } });
      assertEquals([out.code, out.stderr], [0, ""]);
      assert(!exists(`${dir}/ran`), "the library was loaded");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("the shell refuses --clear-env for a context, and export does not translate the program options", async () => {
  const context = await nsh(["-c", "unshare -u --clear-env"]);
  assertEquals(context.code, 1);
  assertMatch(context.stderr, /^-c:1: unshare: --clear-env and --whitelist-env apply to a program: name one/);
  const dir = Deno.makeTempDirSync();
  try {
    for (
      const [option, why] of [
        ["--whitelist-env=A", "--clear-env and --whitelist-env are not translated: use .clearEnv() and .env()"],
        ["--forward-signals", "--forward-signals is about nsh's own signals, which a program has not"],
      ]
    ) {
      Deno.writeTextFileSync(`${dir}/s.nsh`, `unshare -u ${option} true\n`);
      const out = await nsh(["export", `${dir}/s.nsh`]);
      assertEquals([out.code, out.stderr], [2, `nsh export: ${dir}/s.nsh:1:1: cannot translate \`unshare\`: ${why}\n`]);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
