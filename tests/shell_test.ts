/**
 * The shell as users run it: commands on stdin, `-c 'cmd; cmd'` and
 * `run FILE args`, in subprocesses; then a fuzz of a `Session` in this
 * process. Every context is a set of namespaces the test makes: nothing here
 * changes the host's hostname, mounts or network, which the tests check.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertSnapshot } from "./_assert.ts";
import {
  CLI,
  comm,
  hasProgram,
  holdNamespace,
  IS_ROOT,
  membersOf,
  nsh,
  type Output,
  REPO,
  run,
  runUnprivileged,
} from "./_env.ts";
import { Session, shellHelp } from "../cli/shell/session.ts";
import { Context, unshare } from "../mod.ts";
import { seededRandom } from "./_random.ts";

/** Whether this user can make a user namespace (root always can), decided once. */
const USERNS = IS_ROOT || (await nsh(["unshare", "--user", "--map-root-user", "true"])).code === 0;
const userns = { ignore: !USERNS };
const root = { ignore: !IS_ROOT };

/** A user namespace mapped to root, which the contexts of these tests start with. */
const U = "--user --map-root-user";

/** Compares text with a file under tests/snapshots; UPDATE_SNAPSHOTS=1 rewrites it. */
/** Runs the shell with commands on stdin. */
function shell(stdin: string): Promise<Output> {
  return nsh([], { stdin });
}

/** Shows a process's output in failure messages. */
function show(out: Output): string {
  return `status ${out.code}\n--- stdout\n${out.stdout}--- stderr\n${out.stderr}`;
}

/** Writes a script to a new temporary file. */
function scriptFile(text: string): string {
  const file = Deno.makeTempFileSync({ prefix: "nsh-shell-test-", suffix: ".nsh" });
  Deno.writeTextFileSync(file, text);
  return file;
}

/** Runs `nsh run FILE args` on a script, then removes it. */
async function runScript(text: string, args: string[] = []): Promise<Output & { file: string }> {
  const file = scriptFile(text);
  try {
    return { ...await nsh(["run", file, ...args]), file };
  } finally {
    Deno.removeSync(file);
  }
}

/** The namespace links a session printed with `readlink /proc/self/ns/uts`. */
function utsLinks(stdout: string): string[] {
  return stdout.split("\n").filter((line) => /^uts:\[\d+\]$/.test(line));
}

const HOST_UTS = Deno.readLinkSync("/proc/self/ns/uts");

/** What the host must still be after a test: its hostname and mount table. */
function hostState(): { hostname: string; mounts: string } {
  return { hostname: Deno.hostname(), mounts: Deno.readTextFileSync("/proc/self/mountinfo") };
}

// ---------------------------------------------------------------------------
// Contexts

Deno.test({
  name: "shell: a context has its own hostname and processes, and exit leaves it",
  ...userns,
  async fn() {
    const host = hostState();
    const out = await shell(`
unshare ${U} --pid --mount --uts --net
mount-proc
hostname box
hostname
ps -e -o pid=,comm=
exit
hostname
`);
    assertEquals([out.code, out.stderr], [0, ""], show(out));
    const lines = out.stdout.trimEnd().split("\n").map((l) => l.trim());
    assertEquals(lines[0], "box", show(out));
    const ps = lines.slice(1, -1).map((l) => l.split(/\s+/));
    assertEquals(ps.length, 2, `ps sees only the holder and itself\n${show(out)}`);
    assertEquals(ps[0], ["1", "nsh-holder"], show(out));
    assertEquals(ps[1]![1], "ps", show(out));
    assertEquals(lines.at(-1), host.hostname, "hostname at the host after exit");
    assertEquals(hostState(), host);
  },
});

Deno.test({
  name: "shell: contexts nest, and each exit leaves one",
  ...userns,
  async fn() {
    const out = await shell(`
unshare ${U} --uts
hostname outer
readlink /proc/self/ns/uts
unshare --uts
hostname
hostname inner
hostname
readlink /proc/self/ns/uts
exit
hostname
readlink /proc/self/ns/uts
exit
hostname
readlink /proc/self/ns/uts
`);
    assertEquals([out.code, out.stderr], [0, ""], show(out));
    const [outer, o1, o2, inner, o3, outerAgain, o4, host, hostNs] = out.stdout.trimEnd().split("\n");
    assertEquals([o1, o2, o3, o4], ["outer", "inner", "outer", Deno.hostname()], show(out));
    assertEquals(outerAgain, outer, "back in the outer context");
    assertEquals(host, HOST_UTS, "back at the host");
    assert(outer !== HOST_UTS && inner !== outer && inner !== HOST_UTS, show(out));
    assertEquals(hostNs, undefined);
  },
});

Deno.test({
  name: "shell: cd and pwd act in the context, and the host's directory is kept",
  ...userns,
  async fn() {
    const out = await shell(`
cd /usr
unshare ${U} --mount --uts
pwd
sh -c pwd
cd /tmp
pwd
sh -c pwd
cd ..
pwd
set +e
cd /nonexistent-nsh-dir
pwd
exit
pwd
sh -c pwd
cd bin
sh -c pwd
`);
    assertEquals(out.code, 0, show(out));
    assertEquals(out.stdout, "/usr\n/usr\n/tmp\n/tmp\n/\n/\n/usr\n/usr\n/usr/bin\n");
    assertEquals(out.stderr, "-:12: cd: /nonexistent-nsh-dir: no such directory\n");
  },
});

Deno.test("shell: export sets variables for programs, $VAR expands, unset removes", async () => {
  const out = await shell(`
export GREETING="hello  world" EMPTY=
sh -c 'echo "[$GREETING][$EMPTY]"'
printf '<%s>' $GREETING "$GREETING" \${GREETING}! '$GREETING'
echo
unset GREETING
sh -c 'echo "[\${GREETING-unset}]"'
unset HOME
sh -c 'echo "[\${HOME-unset}]"'
LOCAL=not-exported
export
`);
  assertEquals([out.code, out.stderr], [0, ""], show(out));
  const [printed, listed] = [out.stdout.split("export ")[0], out.stdout.slice(out.stdout.indexOf("export "))];
  assertEquals(printed, "[hello  world][]\n<hello><world><hello  world><hello><world!><$GREETING>\n[unset]\n[unset]\n");
  // export alone lists what programs get: the environment nsh got, and what was exported since, sorted.
  // A value with a newline in it goes on over lines of its own (quoted); an empty one is '', as in dash.
  const names = listed.trimEnd().split("\n").flatMap((line) => /^export ([A-Za-z_0-9]+)=/.exec(line)?.[1] ?? []);
  assertEquals(names, [...names].sort(), listed);
  assert(listed.includes("\nexport EMPTY=''\n") && listed.includes(`\nexport PATH=${Deno.env.get("PATH")}\n`), listed);
  assert(!/\bexport (HOME|GREETING|LOCAL)=/.test(listed), listed);
});

Deno.test({
  name: "shell: variables exported in a context end with it",
  ...userns,
  async fn() {
    const out = await shell(`
export OUTER=o
unshare ${U} --uts
export INNER=i OUTER=changed
sh -c 'echo "[$OUTER][\${INNER-}]"'
exit
sh -c 'echo "[$OUTER][\${INNER-gone}]"'
`);
    assertEquals([out.code, out.stderr], [0, ""], show(out));
    assertEquals(out.stdout, "[changed][i]\n[o][gone]\n");
  },
});

Deno.test("shell: $? is the status of the last command", async () => {
  const out = await shell(`
set +e
sh -c 'exit 3'
echo $?
nosuch-nsh-command
echo $?
echo $?
cd /nonexistent-nsh-dir
echo $?
`);
  assertEquals(out.stdout, "3\n127\n0\n2\n", show(out));
});

Deno.test("shell: exit N at the top ends the shell with N", async () => {
  assertEquals((await nsh(["-c", "exit 7"])).code, 7);
  const out = await shell("true\nexit 300\necho not-run\n");
  assertEquals([out.code, out.stdout, out.stderr], [44, "", ""]);
  assertEquals((await shell("set +e\nsh -c 'exit 5'\nexit\necho not-run\n")).code, 5, "exit takes the last status");
  const bad = await shell("exit nope\necho not-run\n");
  assertEquals(bad.code, 1);
  assertEquals(bad.stderr, "-:1: exit: expected a status, got 'nope'\nTry 'help exit' for more information.\n");
  const two = await shell("exit 1 2\n");
  assertEquals([two.code, two.stderr], [1, "-:1: exit: too many arguments\nTry 'help exit' for more information.\n"]);
});

// ---------------------------------------------------------------------------
// Scripts

Deno.test('shell: run FILE passes $0, $1, $# and "$@"', async () => {
  const out = await runScript(`printf '[%s]' "$0" "$1" "$#" "$@"\necho\nprintf '[%s]' $@\necho\n`, ["a", "b c", ""]);
  assertEquals([out.code, out.stderr], [0, ""], show(out));
  assertEquals(out.stdout, `[${out.file}][a][3][a][b c][]\n[a][b][c]\n`);
});

Deno.test("shell: a script stops at the first failing command, with FILE:LINE", async () => {
  const cd = await runScript("echo one\n\ncd /nonexistent-nsh-dir\necho two\n");
  assertEquals([cd.code, cd.stdout], [2, "one\n"]);
  assertEquals(
    cd.stderr,
    `${cd.file}:3: cd: /nonexistent-nsh-dir: no such directory\n`,
  );
  const missing = await runScript("echo one\n  nosuch-nsh-command arg\necho two\n");
  assertEquals([missing.code, missing.stdout], [127, "one\n"]);
  assertEquals(missing.stderr, `${missing.file}:2: nosuch-nsh-command: command not found\n`);
  const program = await runScript("echo one\nsh -c 'exit 4'\necho two\n");
  assertEquals([program.code, program.stdout], [4, "one\n"], show(program));
});

Deno.test({
  name: "shell: a value a builtin cannot use is one line and status 1, and the context stays as it was",
  ...userns,
  async fn() {
    const long = "h".repeat(65);
    const out = await runScript(`set +e\nunshare ${U} --uts\nhostname box\nhostname ${long}\necho $?\nhostname\n`);
    assertEquals([out.code, out.stdout], [0, "1\nbox\n"], show(out));
    assertEquals(out.stderr, `${out.file}:4: hostname: cannot set the hostname to "${long}": longer than 64 bytes\n`);
  },
});

Deno.test({
  name: "shell: run FILE runs a script in a new nsh, in the current context, with its arguments",
  ...userns,
  async fn() {
    const inner = scriptFile("hostname\necho arg=$1 $#\nsh -c 'exit 3'\n");
    try {
      const out = await runScript(`set +e\nunshare ${U} --uts --hostname=box\nrun ${inner} one two\necho $?\nrun\n`);
      assertEquals([out.code, out.stdout], [1, "box\narg=one 2\n3\n"], show(out));
      assertEquals(
        out.stderr,
        `${inner}:3: sh exited with status 3\n${out.file}:5: run: no script given\nTry 'help run' for more information.\n`,
      );
    } finally {
      Deno.removeSync(inner);
    }
  },
});

Deno.test({
  name: "shell: run FILE in a context that hides nsh's files and Deno reads the script there and runs it",
  ...userns,
  async fn() {
    const hidden = REPO.replace(/\/$/, "");
    const deno = Deno.execPath().replace(/\/[^/]*$/, "");
    const out = await runScript(
      // From /: the session's directory (the clone, maybe under /tmp) is hidden next.
      `unshare ${U} --mount\ncd /\nmount -t tmpfs tmpfs ${hidden}\nmount -t tmpfs tmpfs ${deno}\nmount -t tmpfs tmpfs /tmp\n` +
        `sh -c 'printf "%s\\n" "cd /tmp" "export IN=1" "echo in \\$1 \\$IN" pwd "exit 3" > /tmp/s.nsh'\n` +
        `set +e\ncd /\nrun /tmp/s.nsh one\necho status $? "[$IN]"\npwd\nrun /tmp/missing.nsh\n`,
    );
    assertEquals(out.stdout, "in one 1\n/tmp\nstatus 3 []\n/\n", show(out));
    assertEquals(out.code, 1, show(out));
    assertMatch(out.stderr, /:\d+: run: cannot read the script "\/tmp\/missing.nsh": open\(\) failed with ENOENT/);
  },
});

Deno.test({
  name: "shell: nsh's own command failing in a context is one line, as at the top",
  ...userns,
  async fn() {
    const top = await runScript(`release /nonexistent-nsh-file\necho never\n`);
    const out = await runScript(`unshare ${U} --mount\nrelease /nonexistent-nsh-file\necho never\n`);
    assertEquals([out.code, out.stdout], [1, ""], show(out));
    const message = 'release: cannot release the namespace bound to "/nonexistent-nsh-file": open() failed with ENOENT';
    assertEquals(top.stderr.replace(`${top.file}:1: `, ""), out.stderr.replace(`${out.file}:2: `, ""));
    assert(out.stderr.startsWith(`${out.file}:2: ${message}`), show(out));
    assertEquals(out.stderr.split("\n").length, 2, show(out));
  },
});

Deno.test("shell: set +e goes on after a failure, set -e stops again", async () => {
  const out = await runScript("set +e\nsh -c 'exit 4'\necho two $?\nnosuch-nsh-command\nset -e\nfalse\necho three\n");
  assertEquals([out.code, out.stdout], [1, "two 4\n"]);
  assertEquals(
    out.stderr,
    `${out.file}:4: nosuch-nsh-command: command not found\n${out.file}:6: false exited with status 1\n`,
  );
});

Deno.test("shell: a syntax error is FILE:LINE:COLUMN, status 2, and nothing runs", async () => {
  const quote = await runScript("echo one\necho 'two\n");
  assertEquals([quote.code, quote.stdout], [2, ""]);
  assertEquals(quote.stderr, `${quote.file}:2:6: unterminated single-quoted string (expected \`'\`)\n`);
  const paren = await runScript("echo one\n\n  echo a | cat )\n");
  assertEquals([paren.code, paren.stdout], [2, ""]);
  assertEquals(paren.stderr, `${paren.file}:3:16: unexpected \`)\`\n`);
  const fi = await runScript("if true; then echo a\n");
  assertEquals([fi.code, fi.stdout], [2, ""]);
  assertEquals(fi.stderr, `${fi.file}:1:1: unterminated \`if\` (expected \`fi\`)\n`);
  const c = await nsh(["-c", "echo a; [[ -e x ]]"]);
  assertEquals([c.code, c.stdout], [2, ""]);
  assertEquals(c.stderr, "-c:1:9: `[[` is not supported (a bash extension; nsh reads sh's language)\n");
});

Deno.test("shell: -c runs commands, with arguments, and its last status is the exit status", async () => {
  const out = await nsh(["-c", "echo a; echo b\necho c # a comment", "x"]);
  assertEquals([out.code, out.stdout, out.stderr], [0, "a\nb\nc\n", ""]);
  // As sh -c: the first argument is $0.
  const args = await nsh(["-c", `printf '[%s]' "$0" "$#" "$@"`, "x", "y z", "w"]);
  assertEquals(args.stdout, "[x][2][y z][w]");
  assertEquals((await nsh(["-c", `printf '[%s]' "$0" "$#"`])).stdout, "[-c][0]");
  assertEquals((await nsh(["-c", "echo a; false; echo b"])).stdout, "a\n");
  assertEquals((await nsh(["-c", "echo a; false; echo b"])).code, 1);
  assertEquals((await nsh(["-c", "set +e; sh -c 'exit 3'"])).code, 3);
  assertEquals((await nsh(["-c", "set +e; false; true"])).code, 0);
  assertEquals((await runScript("set +e\nsh -c 'exit 9'\n")).code, 9);
  assertEquals((await runScript("# nothing\n")).code, 0);
  const none = await nsh(["-c"]);
  assertEquals(none.code, 1);
  assertMatch(none.stderr, /^nsh: -c needs commands\n/);
});

Deno.test("shell: run FILE and save FILE report a file they cannot read or write, with its errno", async () => {
  const out = await nsh(["run", "/nonexistent-nsh-dir/script.nsh"]);
  assertEquals(out.code, 1);
  assertEquals(
    out.stderr,
    'nsh run: cannot read the script "/nonexistent-nsh-dir/script.nsh": open() failed with ENOENT (No such file or directory)\n',
  );
  const dir = await nsh(["run", "/tmp"]);
  assertEquals([dir.code, dir.stderr], [
    1,
    'nsh run: cannot read the script "/tmp": read() failed with EISDIR (Is a directory)\n',
  ]);
  const save = await nsh(["-c", "save /nonexistent-nsh-dir/x.nsh"]);
  assertEquals([save.code, save.stderr], [
    1,
    '-c:1: save: cannot write the script "/nonexistent-nsh-dir/x.nsh": open() failed with ENOENT (No such file or directory)\n',
  ]);
});

// ---------------------------------------------------------------------------
// Bad input

Deno.test({
  name: "shell: lsns, netns and release work in a context that hides nsh's files and Deno",
  ...userns,
  async fn() {
    // nsh's own commands run in nsh's process and reach the context's files
    // through its holder: whatever the context mounts over, they work.
    const hidden = [REPO.replace(/\/$/, ""), Deno.execPath().replace(/\/[^/]*$/, "")];
    const hide = hidden.map((dir) => `mount -t tmpfs tmpfs ${dir}`).join("; ");
    const out = await nsh([
      "-c",
      `unshare ${U} --mount --pid --fork; mount-proc; ${hide}; lsns -t pid -o NPROCS,PID,COMMAND -n; ` +
      "mount -t tmpfs tmpfs /run; netns add blue; netns list; netns delete blue; netns list; " +
      "mount -t tmpfs tmpfs /mnt; touch /mnt/f; unshare --uts=/mnt/f true; release /mnt/f; echo done",
    ]);
    assertEquals(out.code, 0, show(out));
    assertMatch(out.stdout, /^ +1 +1 nsh-holder\nblue\ndone\n$/);
    assertEquals(out.stderr, "");
  },
});

Deno.test({
  name: "shell: the hostname builtin refuses options and names hostname(1) refuses, also in nsh export",
  ...userns,
  async fn() {
    const cases: [string, string][] = [
      ["-f", "hostname: the builtin takes no options ('-f'): run /bin/hostname -f for that"],
      ["--help", "hostname: the builtin takes no options ('--help'): run /bin/hostname --help for that"],
      [
        "'bad name/x'",
        "hostname: invalid name 'bad name/x': use letters, digits, '-' and '_', with dots between labels",
      ],
    ];
    for (const [arg, message] of cases) {
      const out = await nsh(["-c", `unshare ${U} --uts; hostname ${arg}; echo not reached`]);
      assertEquals([out.code, out.stdout], [1, ""], show(out));
      assert(out.stderr.startsWith(`-c:1: ${message}\n`), show(out));
      const file = scriptFile(`unshare ${U} --uts\nhostname ${arg}\n`);
      const exported = await nsh(["export", file]);
      Deno.removeSync(file);
      assertEquals(exported.code, 2, show(exported));
      assertMatch(exported.stderr, new RegExp(`:2:1: ${message.replace(/[()'?.*+[\]\\/]/g, "\\$&")}\n$`));
    }
    const ok = await nsh(["-c", `unshare ${U} --uts; hostname box-1.example_2; hostname`]);
    assertEquals([ok.code, ok.stdout], [0, "box-1.example_2\n"], show(ok));
  },
});

Deno.test({
  name: "shell: exit N in a context gives N to what follows, as (exit N) in sh; SIGPIPE ends a script silently",
  ...userns,
  async fn() {
    const stops = await nsh(["-c", `unshare ${U} --net; exit 3; echo not reached`]);
    assertEquals([stops.code, stops.stdout, stops.stderr], [3, "", ""]);
    const goes = await nsh(["-c", `set +e; unshare ${U} --net; unshare ${U} --uts; exit 4; echo "$?"; exit 5`]);
    assertEquals([goes.code, goes.stdout, goes.stderr], [5, "4\n", ""]);
    // A reader that had enough (head) ends a writer by SIGPIPE: nsh says nothing, as sh.
    const piped = await run("sh", ["-c", `'${Deno.execPath()}' run -A --quiet '${CLI}' -c 'seq 200000' | head -1`]);
    assertEquals([piped.code, piped.stdout, piped.stderr], [0, "1\n", ""]);
  },
});

Deno.test({
  name: "shell and CLI: errors name what failed: a missing process, the root mount, a full output",
  ...userns,
  async fn() {
    const gone = await nsh(["-c", `unshare ${U} --mount; nsenter -t 999999 -n`]);
    assertEquals(
      gone.stderr,
      '-c:1: nsenter: cannot open "/proc/999999/ns/net": open() failed with ENOENT (No such file or directory); there is no process 999999\n',
    );
    const root = await nsh(["-c", `unshare ${U} --mount; umount /`]);
    assertMatch(root.stderr, /umount2\(\) failed with EINVAL .*; the root of a mount namespace cannot be unmounted\n$/);
    const full = await run("sh", ["-c", `'${Deno.execPath()}' run -A --quiet '${CLI}' --help > /dev/full`]);
    assertEquals(
      [full.code, full.stderr],
      [1, "nsh: cannot write the output: write() failed with ENOSPC (No space left on device)\n"],
    );
  },
});

Deno.test("shell: run FILE at the top runs the script, and a missing one is one line", async () => {
  const file = scriptFile('echo "ran $0 $1"\n');
  try {
    const ran = await nsh(["-c", `run ${file} x`]);
    assertEquals([ran.code, ran.stdout, ran.stderr], [0, `ran ${file} x\n`, ""]);
  } finally {
    Deno.removeSync(file);
  }
  const missing = await nsh(["-c", "run /nonexistent/x.nsh"]);
  assertEquals(missing.code, 1);
  assertEquals(
    missing.stderr,
    '-c:1: run: cannot read the script "/nonexistent/x.nsh": open() failed with ENOENT (No such file or directory)\n',
  );
});

Deno.test({
  name: "shell: save writes where cd went, at the top and in a context; run refuses a binary with 126",
  ...userns,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-shell-test-" });
    try {
      const top = await nsh(["-c", `cd ${dir}; save top.nsh`]);
      const inner = await nsh(["-c", `unshare ${U} --mount; cd ${dir}; save inner.nsh`]);
      assertEquals([top.code, inner.code], [0, 0], show(top) + show(inner));
      assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["inner.nsh", "top.nsh"]);
      assertMatch(
        Deno.readTextFileSync(`${dir}/inner.nsh`),
        /\nunshare --user --map-root-user --mount\ncd \S+\nexit\n$/,
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
    const binary = await nsh(["run", "/bin/true"]);
    assertEquals([binary.code, binary.stderr], [126, "nsh run: /bin/true: cannot execute binary file\n"]);
  },
});

Deno.test({
  name: "shell: a context whose holder was killed from outside says so, and exit leaves it",
  ...userns,
  async fn() {
    const lines: string[] = [];
    const session = new Session({ out: (t) => lines.push(t), err: (t) => lines.push(t) });
    try {
      assertEquals(await session.runSource(`unshare ${U} --pid --uts`), 0);
      const holder = session.context!.holderPid!;
      Deno.kill(holder, "SIGKILL");
      // The holder's end reaches nsh through its event loop, as between two prompts.
      for (let i = 0; i < 100 && comm(holder) !== undefined; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 10));
      assertEquals(await session.runSource("sh -c true"), 1);
      assertEquals(lines, [
        `nsh: cannot use the context: its holder (pid ${holder}) has ended, and its namespaces with it; close it (exit, in nsh)\n`,
      ]);
      // exit without a status gives the last one ($? of the failed command), as in sh.
      assertEquals(await session.runSource("exit"), 1);
      assertEquals(session.context, undefined);
    } finally {
      await session.close();
    }
  },
});

Deno.test("shell: an unknown command is 'command not found', status 127", async () => {
  const out = await shell("nosuch-nsh-command a b\n");
  assertEquals([out.code, out.stdout, out.stderr], [127, "", "-:1: nosuch-nsh-command: command not found\n"]);
  // At the prompt (no file): as sh says it.
  const lines: string[] = [];
  const session = new Session({ out: (t) => lines.push(t), err: (t) => lines.push(t) });
  try {
    assertEquals(await session.runSource("nosuch-nsh-command"), 127);
    assertEquals(lines, ["nsh: nosuch-nsh-command: command not found\n"]);
    assertEquals(await session.runSource("/nonexistent-nsh-dir/x"), 127);
    assertMatch(lines[1]!, /^nsh: cannot execute "\/nonexistent-nsh-dir\/x": execve\(\) failed with ENOENT/);
  } finally {
    await session.close();
  }
});

Deno.test({
  name: "shell: a failing step in a context leaves the context as it was",
  ...userns,
  async fn() {
    const host = hostState();
    const out = await shell(`
set +e
unshare ${U} --pid --mount --uts
hostname box
mount-proc /nonexistent-nsh-dir
mount --bind /nonexistent-nsh-dir /mnt
mount -t nsh-no-such-fs none /mnt
umount /nonexistent-nsh-dir
mount --frobnicate a b
hostname
sh -c 'echo alive'
readlink /proc/self/ns/uts
`);
    assertEquals(out.code, 0, show(out));
    const [name, alive, ns] = out.stdout.trimEnd().split("\n");
    assertEquals([name, alive], ["box", "alive"], show(out));
    assert(ns !== HOST_UTS, show(out));
    const errors = out.stderr.split("\n").filter((l) => /^-:\d+:/.test(l));
    assertEquals(errors.map((l) => /^-:\d+: [\w-]+:/.exec(l)?.[0]), [
      "-:5: mount-proc:",
      "-:6: mount:",
      "-:7: mount:",
      "-:8: umount:",
      "-:9: mount:",
    ], show(out));
    assertMatch(errors[0]!, /cannot mount proc on "\/nonexistent-nsh-dir": .*ENOENT/);
    assertMatch(errors[1]!, /cannot bind-mount "\/nonexistent-nsh-dir" on "\/mnt": .*ENOENT/);
    assertEquals(hostState(), host);
  },
});

Deno.test({
  name: "Session keeps its prompt and depth when a step in a context fails",
  ...userns,
  async fn() {
    const err: string[] = [];
    const session = new Session({ out: () => {}, err: (t) => err.push(t) });
    try {
      assertEquals(session.prompt(), "nsh> ");
      assertEquals(await session.runSource(`unshare ${U} --mount --uts --pid`), 0, err.join(""));
      assertEquals(session.prompt(), "nsh[mnt uts pid user]> ");
      assertEquals(await session.runSource("mount-proc /nonexistent-nsh-dir"), 1);
      assertEquals(await session.runSource("unshare --bogus"), 1);
      assertEquals([session.depth, session.prompt()], [1, "nsh[mnt uts pid user]> "]);
      assertEquals(await session.runSource("unshare --uts"), 0, err.join(""));
      assertEquals([session.depth, session.prompt()], [2, "nsh[mnt uts pid user > uts]> "]);
      assertEquals(session.prompt(true), "\x1b[1;36mnsh[mnt uts pid user > uts]>\x1b[0m ");
      assertEquals(await session.runSource("exit; exit"), 0);
      assertEquals([session.depth, session.prompt()], [0, "nsh> "]);
      assertEquals(session.prompt(true), "\x1b[1;32mnsh>\x1b[0m ");
      assertMatch(err[0]!, /^nsh mount-proc: cannot mount proc on "\/nonexistent-nsh-dir"/);
      assertEquals(err[1], "nsh unshare: unrecognized option '--bogus'\nTry 'unshare --help' for more information.\n");
    } finally {
      await session.close();
    }
  },
});

Deno.test({
  name: "Session in a context joined by name (nsh enter NAME) names it in the prompt, as enter NAME in a shell does",
  ...userns,
  async fn() {
    const name = `nsh-test-prompt-${Deno.pid}`;
    await using held = await unshare({ user: true, mapRootUser: true, uts: true }).hold({ name });
    await using joined = Context.enter(name);
    const session = new Session({ out: () => {}, err: () => {} }, { base: joined, interactive: true });
    try {
      assertEquals(session.prompt(), `nsh[${name}]> `);
      assertEquals(await session.runSource("unshare --ipc"), 0);
      assertEquals(session.prompt(), `nsh[${name} > ipc]> `);
    } finally {
      await session.close();
    }
    assert(held.name === name);
  },
});

Deno.test("shell: mount-proc, mount, umount and hostname NAME are refused outside a context", async () => {
  const host = hostState();
  const out = await shell(`
set +e
mount-proc
hostname nsh-test-must-not-be-set
mount -t tmpfs tmpfs /mnt
mount --bind /tmp /mnt
umount /proc
hostname
`);
  assertEquals([out.code, out.stdout], [0, `${host.hostname}\n`], show(out));
  const errors = out.stderr.split("\n").filter((l) => l.startsWith("-:"));
  assertEquals(errors, [
    "-:3: mount-proc: not in a context with a mount namespace of its own: it would change the host's (run unshare --mount first)",
    "-:4: hostname: not in a context with a UTS namespace of its own: it would change the host's (run unshare --uts first)",
    "-:5: mount: not in a context with a mount namespace of its own: it would change the host's (run unshare --mount first)",
    "-:6: mount: not in a context with a mount namespace of its own: it would change the host's (run unshare --mount first)",
    "-:7: umount: not in a context with a mount namespace of its own: it would change the host's (run unshare --mount first)",
  ], show(out));
  assertEquals(hostState(), host);
});

Deno.test({
  name: "shell: a context without a mount or UTS namespace refuses mount-proc and hostname too",
  ...userns,
  async fn() {
    const host = hostState();
    const out = await shell(`set +e\nunshare ${U} --net\nmount-proc\nhostname nsh-test-must-not-be-set\nhostname\n`);
    assertEquals([out.code, out.stdout], [0, `${host.hostname}\n`], show(out));
    assertMatch(out.stderr, /^-:3: mount-proc: not in a context with a mount namespace of its own/);
    assertMatch(out.stderr, /\n-:4: hostname: not in a context with a UTS namespace of its own/);
    assertEquals(hostState(), host);
  },
});

Deno.test({
  name: "shell: unshare --bogus is a usage error and the session goes on",
  ...userns,
  async fn() {
    const out = await shell(`set +e\nunshare --bogus\necho $?\nunshare ${U} --uts\nhostname ok\nhostname\n`);
    assertEquals([out.code, out.stdout], [0, "1\nok\n"], show(out));
    assertEquals(
      out.stderr,
      "-:2: unshare: unrecognized option '--bogus'\nTry 'unshare --help' for more information.\n",
    );
  },
});

Deno.test("shell: bad input is one line with sh's status, and the shell goes on", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nsh-shell-test-" });
  const lines: string[] = [];
  const session = new Session({ out: (t) => lines.push(t), err: (t) => lines.push(t) }, {
    interactive: true,
    cwd: dir,
  });
  try {
    const cases: [string, number, RegExp][] = [
      ["echo 'open", 2, /^nsh: 1:6: unterminated single-quoted string \(expected `'`\)\n$/],
      ['echo "open', 2, /^nsh: 1:6: unterminated double-quoted string \(expected `"`\)\n$/],
      // As dash: `echo (` starts a function definition, which wants `)`.
      ["echo (a", 2, /^nsh: 1:7: unexpected `a` \(expected `\)`\)\n$/],
      ["echo a)", 2, /^nsh: 1:7: unexpected `\)`\n$/],
      ["{ echo a", 2, /^nsh: 1:1: unterminated `\{` \(expected `\}`\)\n$/],
      ["echo $(echo a", 2, /^nsh: 1:6: unterminated `\$\(` \(expected `\)`\)\n$/],
      ["if true; then echo a; fi; fi", 2, /^nsh: 1:27: unexpected `fi`\n$/],
      [
        "echo x > /nonexistent-nsh-dir/f",
        2,
        /^nsh: cannot open "\/nonexistent-nsh-dir\/f" for writing: open\(\) failed with ENOENT \(No such file or directory\); its directory does not exist\n$/,
      ],
      ["nosuch-nsh-command | cat", 0, /^nsh: nosuch-nsh-command: command not found\n$/],
      ["set -o pipefail; nosuch-nsh-command | cat", 127, /^nsh: nosuch-nsh-command: command not found\n$/],
      ["fg", 2, /^nsh fg: no current job\n$/],
      ["fg %3", 2, /^nsh fg: %3: no such job\n$/],
      ["echo ${x?not set}", 2, /^nsh: x: not set\n$/],
      ["echo $((1 / 0))", 2, /^nsh: arithmetic expression: division by zero: "1 \/ 0"\n$/],
    ];
    for (const [source, status, message] of cases) {
      lines.length = 0;
      assertEquals(await session.runSource(source), status, source);
      assertMatch(lines.join(""), message);
      // The shell goes on.
      assertEquals([session.exitStatus, session.depth], [undefined, 0], source);
      lines.length = 0;
      assertEquals(await session.runSource("echo goes on >&2"), 0);
    }
  } finally {
    await session.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "shell: a context made in if or a function stays after it; one made in a subshell, a stage or $(…) ends there",
  ...userns,
  async fn() {
    const out = await shell(`
if true; then unshare ${U} --uts; fi
hostname inner
hostname
( unshare --uts; hostname sub; hostname )
echo "$(unshare --uts; hostname sub2; hostname)"
unshare --uts | cat
hostname
box() { unshare --uts; hostname "$1"; }
box from-function
hostname
exit
hostname
exit
hostname
`);
    assertEquals(out.code, 0, show(out));
    assertEquals(out.stdout.split("\n"), [
      "inner",
      "sub",
      "sub2",
      "inner",
      "from-function",
      "inner",
      Deno.hostname(),
      "",
    ]);
  },
});

Deno.test("shell: a pipeline stage that is not found has 127, the others run, as in sh", async () => {
  const out = await nsh([
    "-c",
    "set +e; echo in | nosuch-nsh-command | wc -l; echo $?; set -o pipefail; nosuch-nsh-command | true; echo $?",
  ]);
  assertEquals([out.code, out.stdout], [0, "0\n0\n127\n"], show(out));
  assertEquals(
    out.stderr,
    "-c:1: nosuch-nsh-command: command not found\n-c:1: nosuch-nsh-command: command not found\n",
  );
});

Deno.test({
  name: "shell: cd sets PWD and OLDPWD, cd - goes back and prints where, at the top and in a context",
  ...userns,
  async fn() {
    const out = await shell(`cd /usr
cd /tmp
cd -
echo "$PWD $OLDPWD"
sh -c 'echo $PWD'
unshare ${U} --mount
cd /etc
cd -
echo "$PWD $OLDPWD"
exit
echo "$PWD"
`);
    assertEquals([out.code, out.stderr], [0, ""], show(out));
    assertEquals(out.stdout, "/usr\n/usr /tmp\n/usr\n/usr\n/usr /etc\n/usr\n");
    const none = await nsh(["-c", "unset OLDPWD; cd -"]);
    assertEquals([none.code, none.stderr], [2, "-c:1: cd: OLDPWD not set\n"]);
  },
});

Deno.test({
  name: "shell: mount alone lists the context's mounts, as mount(8) does",
  ...userns,
  async fn() {
    const out = await shell(`unshare ${U} --mount\nmount -t tmpfs -o size=1m tmpfs /mnt\nmount | grep ' /mnt '\n`);
    assertEquals(out.code, 0, show(out));
    assertMatch(out.stdout, /^tmpfs on \/mnt type tmpfs \(rw,[^)]*size=1024k[^)]*\)\n$/);
    // At the host, the host's: this process's /proc/self/mounts, as mount(8) would show it.
    const host = await nsh(["-c", "mount"]);
    assertMatch(host.stdout, /^\S+ on \/ type \S+ \(/m);
  },
});

Deno.test("shell: export FILE.nsh says that nsh export FILE is probably what was meant", async () => {
  const out = await nsh(["-c", "export box.nsh"]);
  assertEquals([out.code, out.stdout], [1, ""]);
  assertEquals(
    out.stderr,
    "-c:1: export: 'box.nsh' is not a valid name (to print the script box.nsh as a TypeScript program, run nsh export box.nsh from your shell)\n",
  );
});

Deno.test({
  name: "shell: save records what replays the same, and the script runs as a program without deno on PATH",
  ...userns,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-save-" });
    try {
      const file = `${dir}/box.nsh`;
      const out = await shell(`set +e
unshare ${U} --uts --mount
hostname saved
hostname
mount -t tmpfs tmpfs /mnt
mount
pwd
false
echo "$?"
cat <<EOF > /mnt/note
a note for $(hostname)
EOF
cat /mnt/note | tr a-z A-Z
jobs
save ${file}
`);
      assertEquals(out.stdout.split("\n").at(-2), "A NOTE FOR SAVED", show(out));
      const script = Deno.readTextFileSync(file);
      const [shebang] = script.split("\n");
      assertEquals(shebang, `#!/usr/bin/env -S ${Deno.execPath()} run -A ${CLI} run`);
      // What only printed, read $? or failed is left out; a here-document keeps its body.
      assertEquals(script.split("\n").filter((l) => l && !l.startsWith("#")), [
        "set +e",
        `unshare ${U} --uts --mount`,
        "hostname saved",
        "mount -t tmpfs tmpfs /mnt",
        "cat <<EOF > /mnt/note",
        "a note for $(hostname)",
        "EOF",
        "cat /mnt/note | tr a-z A-Z",
        "exit",
      ]);
      const again = await run(file, [], { env: { PATH: "/usr/bin:/bin" } });
      assertEquals([again.code, again.stdout, again.stderr], [0, "A NOTE FOR SAVED\n", ""]);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

// ---------------------------------------------------------------------------
// Nothing left behind

/** The line at which a session waits until the test holds its contexts' namespaces. */
const SYNC = "sh -c 'read go'\n";

/**
 * Runs a session that makes contexts and prints their UTS namespaces, then
 * waits ({@linkcode SYNC}, reading its stdin) until the test holds each of
 * them open; then it goes on to its end. Checks its status, and that no
 * process is left in any of the namespaces. Held, a namespace's inode number
 * cannot pass to another namespace while the test looks for its members: by
 * number alone, a process of another test was once taken for one left
 * behind.
 *
 * @param how Commands on stdin, `-c SCRIPT`, or `run FILE`.
 * @param script Up to {@linkcode SYNC}, included.
 * @param rest What follows.
 */
async function assertNothingLeft(
  how: "stdin" | "-c" | "run",
  [script, rest]: [string, string],
  contexts: number,
  code: number,
): Promise<void> {
  const file = how === "run" ? scriptFile(script + rest) : undefined;
  const args = how === "run" ? ["run", file!] : how === "-c" ? ["-c", script + rest] : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).spawn();
  const held: Deno.FsFile[] = [];
  try {
    const stdin = child.stdin.getWriter();
    const write = (text: string) => stdin.write(new TextEncoder().encode(text));
    if (how === "stdin") await write(script);
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let stdout = "";
    while (utsLinks(stdout).length < contexts || !stdout.endsWith("\n")) {
      const { value, done } = await reader.read();
      assert(!done, `the session ended before it made its contexts: ${JSON.stringify(stdout)}`);
      stdout += value;
    }
    const links = utsLinks(stdout);
    for (const link of links) {
      assert(link !== HOST_UTS, stdout);
      held.push(holdNamespace(link));
    }
    await write(`go\n${how === "stdin" ? rest : ""}`);
    await stdin.close();
    for (let r = await reader.read(); !r.done; r = await reader.read()) stdout += r.value;
    const out = { code: (await child.status).code, stdout, stderr: await new Response(child.stderr).text() };
    assertEquals([out.code, utsLinks(out.stdout).length], [code, contexts], show(out));
    for (const link of links) {
      const left = membersOf(link).map((pid) => `${pid} ${comm(pid)}`);
      assertEquals(left, [], `processes left in ${link}`);
    }
  } finally {
    for (const file of held) file.close();
    if (file) Deno.removeSync(file);
  }
}

Deno.test({
  name: "shell: no holder is left after exit, end of input, or a failing script",
  ...userns,
  async fn() {
    const make = `unshare ${U} --uts --pid\nreadlink /proc/self/ns/uts\n`;
    const nested = `${make}unshare --uts\nreadlink /proc/self/ns/uts\n`;
    // exit
    await assertNothingLeft("stdin", [nested + SYNC, "exit\nexit\nexit 3\n"], 2, 3);
    // end of input, inside both
    await assertNothingLeft("stdin", [nested + SYNC, ""], 2, 0);
    await assertNothingLeft("-c", [nested + SYNC, ""], 2, 0);
    // a failing command in a script
    await assertNothingLeft("run", [nested + SYNC, "sh -c 'exit 6'\necho not-run\n"], 2, 6);
    await assertNothingLeft("run", [make + SYNC, "nosuch-nsh-command\n"], 1, 127);
    // a context whose holder runs programs in the background: the PID namespace ends with it
    await assertNothingLeft("stdin", [make + SYNC, "sh -c 'sleep 60 & echo started'\n"], 1, 0);
  },
});

Deno.test({
  name: "shell: when the shell is killed with SIGKILL, its holders die too",
  ...userns,
  async fn() {
    // Commands on stdin are read to the end before they run, so the shell
    // that waits here runs `sleep` in its context.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        CLI,
        "-c",
        `unshare ${U} --uts --pid; readlink /proc/self/ns/uts; unshare --uts; readlink /proc/self/ns/uts; sleep 60`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const held: Deno.FsFile[] = [];
    try {
      let text = "";
      const deadline = Date.now() + 10_000;
      while (utsLinks(text).length < 2 || !text.endsWith("\n")) {
        assert(Date.now() < deadline, `the shell did not make its contexts in time: ${JSON.stringify(text)}`);
        const { value, done } = await reader.read();
        assert(!done, `the shell ended early: ${JSON.stringify(text)}`);
        text += value;
      }
      const links = utsLinks(text);
      // Held, so that their numbers stay theirs after the shell dies.
      for (const link of links) held.push(holdNamespace(link));
      // Wait until sleep runs in the inner context.
      while (membersOf(links[1]!).length < 2) {
        assert(Date.now() < deadline, `sleep did not start: ${membersOf(links[1]!)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const holders = links.flatMap((link) => membersOf(link)).filter((pid) => comm(pid) === "nsh-holder");
      assertEquals(holders.length, 2, `two holders, in ${links}`);
      child.kill("SIGKILL");
      assertEquals((await child.status).signal, "SIGKILL");
      const gone = Date.now() + 1000;
      let left = links.flatMap((link) => membersOf(link));
      while (left.length && Date.now() < gone) {
        await new Promise((r) => setTimeout(r, 20));
        left = links.flatMap((link) => membersOf(link));
      }
      assertEquals(left.map((pid) => `${pid} ${comm(pid)}`), [], "processes of the killed shell's contexts");
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already ended.
      }
      await reader.cancel();
      await child.status;
      for (const file of held) file.close();
    }
  },
});

Deno.test({
  name: "shell: cd to a directory the user may not search fails as dash's does, and the directory stays",
  // A directory of root's, mode 0700, that the user nobody may not enter.
  ...root,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-cd-private-" });
    try {
      Deno.chmodSync(dir, 0o700);
      const out = await runUnprivileged(`
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--quiet", "$REPO/cli.ts", "-c", 'set +e; cd ${dir}; echo "status $?"; pwd'],
        }).output();
        const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
        console.log(JSON.stringify([out.code, text(out.stdout), text(out.stderr), Deno.cwd()]));
      `);
      const [code, stdout, stderr, home] = JSON.parse(out.stdout) as [number, string, string, string];
      assertEquals([code, stdout, stderr], [0, `status 2\n${home}\n`, `-c:1: cd: ${dir}: permission denied\n`]);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

// ---------------------------------------------------------------------------
// Help

Deno.test("shell: help matches its snapshot, and help NAME shows a command's", async () => {
  const help = await shellHelp();
  assertSnapshot(help, "shell_help.txt");
  const out = await nsh(["-c", "help; help cd; help unshare"]);
  assertEquals([out.code, out.stderr], [0, ""], show(out));
  assert(out.stdout.startsWith(help + "\nUsage:\n cd [<dir> | -]\n"), out.stdout);
  assertMatch(out.stdout, /\nUsage:\n nsh unshare \[options\]/);
  assertMatch(out.stdout, /\nIn the shell, without a program, unshare makes a context: /);
  const bad = await nsh(["-c", "help nosuch"]);
  assertEquals([bad.code, bad.stderr], [
    1,
    "-c:1: help: no such command: nosuch\nTry 'help help' for more information.\n",
  ]);
});

Deno.test("shell: help limit and help restrict list every option they take; help enter is the shell's enter", async () => {
  const limit = await shellHelp("limit");
  for (
    const option of ["--memory-max", "--memory-swap-max", "--pids-max", "--cpu-max", "--cpu-weight", "--io-weight"]
  ) {
    assertMatch(limit, new RegExp(`^ +${option} `, "m"));
  }
  const restrict = await shellHelp("restrict");
  for (const option of ["--cap-keep", "--new-session", "--seccomp-profile", "--landlock-rw", "--landlock-connect"]) {
    assertMatch(restrict, new RegExp(`^ +${option} `, "m"));
  }
  // In the shell, enter takes a name and no program: its help says so.
  assertEquals((await shellHelp("enter")).split("\n").slice(0, 3), ["", "Usage:", " enter <name>"]);
  // A help that ends with an ellipsis gets no period after it.
  assert(!(await shellHelp("set")).includes("…."), await shellHelp("set"));
});

// ---------------------------------------------------------------------------
// Fuzz

// Random text draws its letters from "aexyz" and "AB" only: no word or
// variable made of them names a command, a builtin or PATH (which only holds
// true and false during the fuzz), and variables of such names are removed
// from the environment meanwhile (`$_` is where a shell put Deno: hence no `_`). Commands come from the fixed list below,
// each one harmless; contexts are UTS (and user) namespaces only, so no
// mount can happen, and hostname acts on a context's own UTS namespace.
const LETTERS = "aexyzAB0129-.,:=+@%";
const QUOTING = [
  ..."\\$#~ \t\n",
  "é",
  "😀",
  "\u0000",
  "\r",
  "\\\n",
  "''",
  '""',
  "'x  y'",
  "'$A'",
  '"a $A"',
  '"\\""',
  "'\\'",
  '"$@$1"',
];
/** Unbalanced quotes and syntax that nsh refuses: rarer, so that most cases run. */
const OPERATORS = [..."'\"|&;<>(){}[]*?!`", "${", "${A", "$(", "&&", ">>", "2>&1", "$((", "<<", "|&", "&>"];
const VARS = ["$A", "$B", "${A}", '"$B"', "$1", "$#", '"$@"', "$@", "$*", "$?", "$$", "$0", "$x", "${zz}", "\\$A"];
const SAFE = [
  "true",
  "false",
  "cd sub",
  "cd -",
  "cd",
  "cd /nonexistent-nsh-dir",
  "pwd",
  "help",
  "help cd",
  "help unshare",
  "help zz",
  "export A=1",
  'export B="x y"',
  "export",
  "export 9=x",
  "unset A",
  "unset B zz",
  "set -e",
  "set +e",
  "set -x",
  "hostname",
  "hostname fuzzbox",
  "mount-proc",
  "mount --bind /a /b",
  "umount /x",
  "unshare --bogus",
  "unshare --uts",
  `unshare ${U} --uts`,
  "exit",
  "exit 3",
  "exit zz",
  "echo",
  "nosuch-nsh-command",
  "true | false",
  "false || true && false",
  "! true",
  "if true; then false; elif false; then true; else :; fi",
  "for v in a $A b; do false; done",
  "while false; do true; done",
  "case $A in a*) true;; *) false;; esac",
  "( unshare --uts; exit 3 )",
  "{ true; false; }",
  "echo a > out",
  "echo a >> out",
  "true 2>&1 | false",
  "read v < out",
  "A=$(echo b) B=`true`",
  "true &",
  "wait",
  "jobs",
  "f() { return 2; }",
  "f",
  "echo $((1 + $#))",
  "set -- a b",
  "shift",
  "set -o pipefail",
  "cat <<E\n$A\nE",
];

/** A promise, or a rejection after 10 s. */
async function withTimeout<T>(promise: Promise<T>, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(message)), 10_000)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Where a program is on PATH. */
function which(name: string): string {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // Not in this directory.
    }
  }
  throw new Error(`${name} is not on PATH`);
}

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

function randomWord(random: () => number): string {
  let word = "";
  const length = 1 + Math.floor(random() * 6);
  for (let i = 0; i < length; i++) {
    const r = random();
    word += r < 0.65
      ? pick(random, [...LETTERS])
      : r < 0.85
      ? pick(random, QUOTING)
      : r < 0.97
      ? pick(random, VARS)
      : pick(random, OPERATORS);
  }
  return word;
}

/** One line of input: commands from the list, some with random arguments, and random words. */
function randomInput(random: () => number): string {
  const parts: string[] = [];
  const count = 1 + Math.floor(random() * 5);
  for (let i = 0; i < count; i++) {
    const r = random();
    let command: string;
    if (r < 0.45) {
      command = pick(random, SAFE);
      // Arguments only after commands whose arguments are harmless.
      if (!command.startsWith("unshare") && random() < 0.4) command += " " + randomWord(random);
    } else {
      command = Array.from({ length: 1 + Math.floor(random() * 3) }, () => randomWord(random)).join(" ");
    }
    parts.push(command);
  }
  // Commands end at a newline or `;`, so that nothing joins the words of two.
  return parts.map((p, i) => i === parts.length - 1 ? p : p + pick(random, [";", "\n", " ;\n"])).join("");
}

Deno.test({
  name: "Session.runSource never throws nor hangs on random input, and closes after",
  ...userns,
  async fn() {
    const seed = Number(Deno.env.get("NSH_FUZZ_SEED") ?? 20261128);
    const cases = Number(Deno.env.get("NSH_FUZZ_CASES") ?? 10_000);
    const random = seededRandom(seed);
    const bin = Deno.makeTempDirSync({ prefix: "nsh-fuzz-bin-" });
    for (const program of ["true", "false"]) Deno.symlinkSync(which(program), `${bin}/${program}`);
    for (const program of ["echo", "cat"]) Deno.symlinkSync(which(program), `${bin}/${program}`);
    // Files that redirections make go to a directory of the test's own, which is HOME too.
    const home = Deno.makeTempDirSync({ prefix: "nsh-fuzz-home-" });
    Deno.mkdirSync(`${home}/sub`);
    const saved = Object.entries(Deno.env.toObject()).filter(([name]) =>
      ["PATH", "HOME", "OLDPWD", "PWD"].includes(name) || /^[aexyzAB]/.test(name)
    );
    for (const [name] of saved) Deno.env.delete(name);
    Deno.env.set("PATH", bin);
    Deno.env.set("HOME", home);
    const host = hostState();
    const output: string[] = [];
    const session = new Session({ out: (t) => output.push(t), err: (t) => output.push(t) }, {
      args: ["x y", "-e"],
      argv0: "fuzz-argv0",
      cwd: home,
    });
    let input = "";
    try {
      for (let i = 0; i < cases; i++) {
        input = randomInput(random);
        const file = random() < 0.5 ? "fuzz" : undefined;
        const where = `case ${i} (NSH_FUZZ_SEED=${seed}): ${JSON.stringify(input)}`;
        let status: number;
        try {
          status = await withTimeout(session.runSource(input, file ? { file } : {}), `runSource hung on ${where}`);
        } catch (error) {
          throw new Error(`runSource threw on ${where}: ${(error as Error).stack}`);
        }
        assert(Number.isInteger(status) && status >= 0 && status <= 255, `status ${status} on ${where}`);
        const text = output.splice(0).join("");
        assert(!text.includes("internal error"), `an internal error on ${where}:\n${text}`);
        session.exitStatus = undefined;
        while (session.depth > 2) await session.runSource("exit");
      }
      input = "";
      assertEquals(await session.runSource("set +e; true"), 0);
    } finally {
      await withTimeout(session.close(), "Session.close() hung");
      Deno.env.delete("PATH");
      Deno.env.delete("HOME");
      for (const [name, value] of saved) Deno.env.set(name, value);
      Deno.removeSync(bin, { recursive: true });
      Deno.removeSync(home, { recursive: true });
    }
    assertEquals(session.depth, 0);
    assertEquals(hostState(), host);
    const children = [...Deno.readDirSync("/proc/self/task")].flatMap((t) =>
      Deno.readTextFileSync(`/proc/self/task/${t.name}/children`).trim().split(" ").filter(Boolean)
    );
    assertEquals(children.filter((pid) => comm(Number(pid)) === "nsh-holder"), [], "holders left");
  },
});

// The root-only variants: contexts without a user namespace.
Deno.test({
  name: "shell: as root, a context needs no user namespace",
  ...root,
  async fn() {
    const host = hostState();
    const out = await shell("unshare --pid --mount --uts --net\nmount-proc\nhostname box\nhostname\nps -e -o comm=\n");
    assertEquals([out.code, out.stdout, out.stderr], [0, "box\nnsh-holder\nps\n", ""], show(out));
    assertEquals(hostState(), host);
  },
});

Deno.test({
  name: "shell: a context with a PID namespace nests one more, with its own PID 1 and proc",
  ...userns,
  async fn() {
    const out = await shell(
      `unshare ${U} --pid --mount --mount-proc\nunshare --pid --mount --uts\nmount-proc\nhostname inner\nps -e -o pid=,comm=\nhostname\nexit\nps -e -o pid=,comm=\nexit\n`,
    );
    assertEquals(out.code, 0, show(out));
    const lines = out.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
    assertEquals(lines.slice(0, 3), ["1 nsh-holder", `${lines[1]!.split(" ")[0]} ps`, "inner"]);
    assertEquals(lines[3], "1 nsh-holder", "back in the outer context: its own holder is PID 1");
  },
});

Deno.test({
  name: "shell: a context of a user namespace without a map keeps the caller's ids",
  ...userns,
  async fn() {
    const out = await shell("unshare --user\nid -u\ncat /proc/self/uid_map\nexit\n");
    assertEquals([out.code, out.stdout], [0, "65534\n"], show(out));
  },
});

Deno.test("shell: commands on stdin leave the rest of stdin to the programs they run", async () => {
  const out = await shell("echo first\ncat\nthis line is cat's\n");
  assertEquals([out.code, out.stdout], [0, "first\nthis line is cat's\n"], show(out));
});

Deno.test("shell: commands on stdin leave the rest of stdin, from a pipe, a file or a socket, after a long line", async () => {
  const long = "x".repeat(100_000);
  const script = `printf '%s\\n' ${long} short\ncat\nthis line is cat's\n`;
  const file = scriptFile(script);
  try {
    const nshLine = `'${Deno.execPath()}' run -A --quiet '${CLI}'`;
    // A socket as stdin: python3 makes a socketpair and writes the script into it.
    const socket = `import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen(["sh", "-c", sys.argv[1]], stdin=b)
b.close()
a.sendall(open(sys.argv[2], "rb").read())
a.shutdown(socket.SHUT_WR)
sys.exit(p.wait())`;
    for (const how of ["pipe", "file", "socket"]) {
      if (how === "socket" && !hasProgram("python3")) continue;
      const line = how === "pipe"
        ? `cat '${file}' | ${nshLine}`
        : how === "file"
        ? `${nshLine} < '${file}'`
        : `python3 -c '${socket}' "${nshLine}" '${file}'`;
      const out = await run("sh", ["-c", line]);
      assertEquals([out.code, out.stderr], [0, ""], how);
      assertEquals(out.stdout, `${long}\nshort\nthis line is cat's\n`, how);
    }
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("shell: bytes that are not UTF-8 reach programs as they are, as in sh", async () => {
  // "a", 0xff, 0xfe, "b", then é in Latin-1: no UTF-8 there.
  const bytes = new Uint8Array([
    ...new TextEncoder().encode("printf '%s|' 'a"),
    0xff,
    0xfe,
    ...new TextEncoder().encode("b' c"),
    0xe9,
    0x0a,
  ]);
  const file = Deno.makeTempFileSync({ prefix: "nsh-shell-test-", suffix: ".nsh" });
  try {
    Deno.writeFileSync(file, bytes);
    const expected = new Uint8Array([0x61, 0xff, 0xfe, 0x62, 0x7c, 0x63, 0xe9, 0x7c]);
    const dash = await new Deno.Command("sh", { args: [file], stdout: "piped" }).output();
    assertEquals([...dash.stdout], [...expected]);
    for (const args of [["run", file], ["-c", `run '${file}'`]]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", CLI, ...args],
        stdout: "piped",
      })
        .output();
      assertEquals([...out.stdout], [...expected], args.join(" "));
    }
    const piped = await new Deno.Command("sh", {
      args: ["-c", `'${Deno.execPath()}' run -A --quiet '${CLI}' < '${file}'`],
      stdout: "piped",
    }).output();
    assertEquals([...piped.stdout], [...expected], "stdin");
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("shell: an argument with a NUL byte is refused, not cut short", async () => {
  const out = await shell('echo "a\u0000b"\n');
  assertEquals(out.code, 1, show(out));
  assertMatch(out.stderr, /^-:1: cannot execute "echo": argument 1 contains a NUL byte/);
});

Deno.test({
  name: "shell: save writes what the session did as a script that reproduces it",
  ...userns,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-save-" });
    try {
      const file = `${dir}/box.nsh`;
      // set +e: on stdin the shell stops at a failure; a failed command is not saved.
      const lines = [
        "set +e",
        `unshare ${U} --uts --pid --mount`,
        "mount-proc",
        "hostname saved-box",
        'export GREETING="hello there"',
        `sh -c 'echo "$GREETING from $(hostname)"'`,
      ];
      const first = await shell([...lines, "nosuch-command-nsh", `save ${file}`, "exit", ""].join("\n"));
      assertEquals(first.stdout, "hello there from saved-box\n", show(first));
      const script = Deno.readTextFileSync(file);
      assertEquals(script.split("\n").filter((l) => l && !l.startsWith("#")), [...lines, "exit"]);
      const again = await nsh(["run", file]);
      assertEquals([again.code, again.stdout, again.stderr], [0, "hello there from saved-box\n", ""]);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("shell: a script says nothing when its background jobs end, as sh", async () => {
  const out = await nsh(["-c", "sleep 0.1 & sh -c 'exit 3' & sleep 0.4; echo x"]);
  assertEquals([out.code, out.stdout, out.stderr], [0, "x\n", ""], show(out));
});

Deno.test({
  name: "shell: umount of a mount that came locked into a user namespace says it may be locked, not only unmounted",
  ...userns,
  async fn() {
    const out = await nsh(["-c", "unshare -Urm\numount /proc"]);
    assertEquals(out.code, 1, show(out));
    assertEquals(
      out.stderr,
      '-c:2: umount: cannot unmount "/proc": umount2() failed with EINVAL (Invalid argument); nothing is mounted there, ' +
        "or, in a user namespace, the mount came locked from the parent's (only a process outside can unmount it)\n",
    );
  },
});
