/**
 * `nsh export`: the translation of scripts into programs on mod.ts, checked
 * statement by statement on small scripts; every program exported here is
 * `deno fmt`-clean and type-checks; and, end to end, each example script and
 * its exported program print the same and exit the same.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertSnapshot, assertThrows } from "./_assert.ts";
import { CLI, hasProgram, IS_ROOT, nsh, type Output, REPO, run, runUnprivileged } from "./_env.ts";
import { exportScript } from "../cli/shell/export.ts";
import { ParseError } from "../cli/shell/parse.ts";

const FROM = "file:///nsh/mod.ts";
const MOD = new URL("../mod.ts", import.meta.url).href;

/** The example scripts, and what they need. */
const EXAMPLES: { file: string; needs: string[]; rootless: boolean }[] = [
  { file: "seed_walkthrough.nsh", needs: ["ip", "ps"], rootless: false },
  { file: "rootless_sandbox.nsh", needs: ["ip", "ps"], rootless: true },
  { file: "veth_pair.nsh", needs: ["ip", "ping"], rootless: true },
  { file: "time_shift.nsh", needs: [], rootless: true },
];

/** Every program exported by the unit tests, checked by the last of them. */
const exported: string[] = [];

/**
 * Exports a script from `box.nsh`, as it imports mod.ts from FROM. The layout
 * depends on the URL's length, so the program compared is exported from FROM,
 * and the one type-checked later from this checkout.
 */
function ts(source: string): string {
  exported.push(exportScript(source, { file: "box.nsh", from: MOD }));
  return exportScript(source, { file: "box.nsh", from: FROM });
}

/** The statements of an exported program, trimmed: its body without comments or the frame around it. */
function statements(program: string): string[] {
  const lines = program.split("\n");
  const start = lines.indexOf("try {");
  let body: string[];
  if (start >= 0) {
    body = lines.slice(start + 1, lines.indexOf("} catch (error) {"));
  } else {
    // After the imports and the nsh constant, up to the helpers.
    let from = lines.findIndex((l) => l.startsWith("import {"));
    while (lines[from] !== "") from++;
    if (lines[from + 2]?.startsWith("const nsh")) from = lines.indexOf("];", from) + 1;
    const end = lines.findIndex((l, i) => i > from && l.startsWith("/**"));
    body = lines.slice(from, end < 0 ? undefined : end);
  }
  return body.map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("//"));
}

/** Asserts that the program holds the line, as a whole line. */
function assertLine(program: string, line: string): void {
  assert(program.split("\n").some((l) => l.trim() === line), `expected the line\n  ${line}\nin\n${program}`);
}

/** Compares text with a file under tests/snapshots; UPDATE_SNAPSHOTS=1 rewrites it. */
Deno.test("exportScript() turns a one-shot unshare into a program of one statement", () => {
  assertEquals(
    ts("unshare --net ip addr\n"),
    `#!/usr/bin/env -S deno run -A
// Exported by nsh from box.nsh: the same commands as a program on nsh's module.
// Run it with deno run -A, and the script's arguments after it.

import { CommandError, SyscallError, unshare } from "file:///nsh/mod.ts";

try {
  // box.nsh:1  unshare --net ip addr
  await unshare({ net: true }).run("ip", "addr");
} catch (error) {
  // End as nsh run does: with the status of a program that failed, or with one
  // line and 127 (not found), 126 (not executable) or 1 for what did not start.
  if (error instanceof CommandError) {
    if (error.signal !== "SIGPIPE") console.error(error.message);
    Deno.exitCode = error.code;
  } else if (error instanceof SyscallError) {
    console.error(error.message);
    if (error.syscall !== "execve") Deno.exitCode = 1;
    else Deno.exitCode = error.code === "ENOENT" ? 127 : 126;
  } else throw error;
}
`,
  );
});

Deno.test("exportScript() makes a context a Context, closed by exit, its steps its methods", () => {
  const program = ts(`# A box.

unshare -Urpmu --fork
mount-proc
hostname box # its own name
hostname
ps
exit
`);
  assertEquals(statements(program), [
    "await using ctx = await unshare({",
    "user: true,",
    "mapRootUser: true,",
    "pid: true,",
    "mount: true,",
    "uts: true,",
    "}).hold();",
    "await ctx.mountProc();",
    'await ctx.hostname("box");',
    'console.log(await ctx.run("cat", "/proc/sys/kernel/hostname").text());',
    'await ctx.run("ps");',
    "await ctx.close();",
  ]);
  // The script's opening comment opens the program; a line's comment stays with it.
  assert(program.startsWith("#!/usr/bin/env -S deno run -A\n// A box.\n//\n// Exported by nsh"), program);
  assertLine(program, "// box.nsh:5  hostname box  # its own name");
});

Deno.test("exportScript() nests contexts with ctx.hold() and joins with Context.join()", () => {
  const program = ts(`unshare --user --map-root-user --mount
unshare --net
ip link
exit
nsenter --net=/run/netns/red
ip addr
exit
exit
nsenter -t 1 --all
exit
`);
  assertEquals(statements(program), [
    "await using ctx = await unshare({",
    "user: true,",
    "mapRootUser: true,",
    "mount: true,",
    "}).hold();",
    "await using ctx2 = await ctx.hold(unshare({ net: true }));",
    'await ctx2.run("ip", "link");',
    "await ctx2.close();",
    "await using ctx3 = Context.join(",
    '[{ type: "net", path: ctx.hostPath("/run/netns/red") }],',
    "ctx,",
    ");",
    'await ctx3.run("ip", "addr");',
    "await ctx3.close();",
    "await ctx.close();",
    "await using ctx4 = Context.joinProcess(1);",
    "await ctx4.close();",
  ]);
});

Deno.test("exportScript() runs unshare and nsenter with a program in a sandbox of the context", () => {
  const program = ts(`unshare --net
nsenter --net=/proc/$$/ns/net --wdns=/tmp readlink /proc/self/ns/net
unshare --uts --hostname=inner hostname
exit
nsenter -t 1 -n ip link
`);
  assertEquals(statements(program), [
    "await using ctx = await unshare({ net: true }).hold();",
    "await ctx.sandbox().with(",
    'nsenter({ net: ctx.hostPath(`/proc/${Deno.pid}/ns/net`) }).workdir("/tmp"),',
    ').run("readlink", "/proc/self/ns/net");',
    'await ctx.sandbox().with(unshare({ uts: true, hostname: "inner" })).run(',
    '"hostname",',
    ");",
    "await ctx.close();",
    'await nsenter({ target: 1, net: true }).run("ip", "link");',
  ]);
});

Deno.test("exportScript() expands variables when the program runs, from where the shell reads them", () => {
  const program = ts(`export A=1 B="$HOME/x"
echo $A "$A" "$@" $1 "$9" $# $$ $0 ~ ~/bin x$A
unshare --mount
export A=2
unset B
echo $A "$B"
unshare --uts hostname
exit
unset A
`);
  assertEquals(statements(program), [
    'Deno.env.set("A", "1");',
    'Deno.env.set("B", `${Deno.env.get("HOME") ?? ""}/x`);',
    "await sandbox().run(",
    '"echo",',
    '...split(Deno.env.get("A") ?? ""),',
    'Deno.env.get("A") ?? "",',
    "...Deno.args,",
    '...split(Deno.args[0] ?? ""),',
    'Deno.args[8] ?? "",',
    "String(Deno.args.length),",
    "String(Deno.pid),",
    '"box.nsh",',
    'Deno.env.get("HOME") || "~",',
    '`${Deno.env.get("HOME") || "~"}/bin`,',
    '...split(`x${Deno.env.get("A") ?? ""}`),',
    ");",
    "await using ctx = await unshare({ mount: true }).hold();",
    'ctx.vars.set("A", "2");',
    'ctx.vars.set("B", undefined);',
    "await ctx.run(",
    '"echo",',
    '...split(ctx.vars.get("A") ?? ""),',
    'ctx.vars.get("B") ?? "",',
    ");",
    'await ctx.sandbox().with(unshare({ uts: true })).run("hostname").env(',
    "Object.fromEntries(ctx.env()),",
    ");",
    "await ctx.close();",
    'Deno.env.delete("A");',
  ]);
  // The helper comes with the first split, and only then.
  assert(program.includes("function split(text: string): string[] {"));
  assert(!ts("echo a\n").includes("function split"));
});

Deno.test("exportScript() maps set +e to .noThrow() and keeps a status that $? reads", () => {
  assertEquals(
    statements(ts(`set +e
ls /none
echo $?
ls /none
echo $?
set -e
ls /
set +e
ls /none
`)),
    [
      'const { code } = await sandbox().run("ls", "/none").noThrow();',
      'await sandbox().run("echo", String(code)).noThrow();',
      'const { code: code2 } = await sandbox().run("ls", "/none").noThrow();',
      'await sandbox().run("echo", String(code2)).noThrow();',
      'await sandbox().run("ls", "/");',
      // The last command's failure ends the script with its status either way.
      'await sandbox().run("ls", "/none");',
    ],
  );
});

Deno.test("exportScript() starts a background job's programs with SIGINT and SIGQUIT ignored, as sh starts a script's jobs", () => {
  assertEquals(
    statements(ts(`sleep 1 &
wait
sleep 2 | cat &
unshare -r sleep 3 &
wait
unshare --user --map-root-user --mount
sleep 4 > f &
exit
`)),
    [
      'const job = sandbox(ignoreSignals("SIGINT", "SIGQUIT")).run(',
      '"sleep",',
      '"1",',
      ").noThrow().spawn();",
      "await Promise.all([job]);",
      'const job2 = sandbox(ignoreSignals("SIGINT", "SIGQUIT")).run(',
      '"sleep",',
      '"2",',
      ").pipe(",
      'sandbox(ignoreSignals("SIGINT", "SIGQUIT")).run("cat"),',
      ").noThrow().spawn();",
      "const job3 = unshare({ mapRootUser: true }).with(",
      'ignoreSignals("SIGINT", "SIGQUIT"),',
      ').run("sleep", "3").noThrow().spawn();',
      "await Promise.all([job2, job3]);",
      "await using ctx = await unshare({",
      "user: true,",
      "mapRootUser: true,",
      "mount: true,",
      "}).hold();",
      // A context's program made from its sandbox, as ctx.run() makes it: its files are the context's.
      'const job4 = ctx.sandbox().with(ignoreSignals("SIGINT", "SIGQUIT")).run(',
      '"sleep",',
      '"4",',
      ').within(ctx).stdout({ file: "f" }).noThrow().spawn();',
      "await ctx.close();",
    ],
  );
});

Deno.test("exportScript() opens a redirected block's file once, as an OpenFile its programs share", () => {
  assertEquals(statements(ts("{ echo a; echo b; } > out.txt 2>&1\nwhile true; do head -1; break; done < in\n")), [
    "{",
    'using out = new OpenFile("out.txt", "write");',
    'await sandbox().run("echo", "a").stdout(out).stderr(out);',
    'await sandbox().run("echo", "b").stdout(out).stderr(out);',
    "}",
    "{",
    'using file2 = new OpenFile("in", "read");',
    "while (true) {",
    'await sandbox().run("head", "-1").stdin(file2);',
    "break;",
    "}",
    "}",
  ]);
  // In a context, where the context sees the file; a pipeline's ends only.
  assertEquals(statements(ts("unshare -m\nfor i in 1; do echo $i | cat; done >> /tmp/log\n")).slice(2), [
    "{",
    'using out = new OpenFile("/tmp/log", "append", ctx);',
    'for (i of ["1"]) {',
    'await ctx.run("echo", ...split(i ?? "")).pipe(ctx.run("cat").stdout(out));',
    "}",
    "}",
  ]);
});

Deno.test("exportScript() gives a subshell copies of the variables it changes, and puts the rest back", () => {
  assertEquals(statements(ts("x=1\n(x=2; X=3; cd /; echo $x)\necho $x\n")).slice(2), [
    "{",
    "let x2 = x;",
    "const cwd = Deno.cwd();",
    "const env = Deno.env.toObject();",
    "try {",
    'x2 = "2";',
    'Deno.env.set("X", "3");',
    'Deno.chdir("/");',
    'await sandbox().run("echo", ...split(x2 ?? ""));',
    "} finally {",
    "Deno.chdir(cwd);",
    "restoreEnv(env);",
    "}",
    "}",
    'await sandbox().run("echo", ...split(x ?? ""));',
  ]);
});

Deno.test('exportScript() translates sh\'s idioms: : ${X:=default}, "x$@y", x=$(cmd) || …', () => {
  assertEquals(statements(ts(': ${name:=world} ${N=1}\necho "<$@>"\n')).slice(1), [
    "if (!name) {",
    'name = "world";',
    "}",
    'if (Deno.env.get("N") === undefined) {',
    'Deno.env.set("N", "1");',
    "}",
    'await sandbox().run("echo", ...around("<", Deno.args, ">"));',
  ]);
  assertEquals(statements(ts("x=$(cat f) || echo none\n")).slice(1), [
    'const result = await sandbox().run("cat", "f").stdout("piped").noThrow();',
    'x = result.stdoutText.replace(/\\n+$/, "");',
    "if (!(result.code === 0)) {",
    'await sandbox().run("echo", "none");',
    "}",
  ]);
  // A builtin first in a condition runs as a statement before it; cd would end the program where sh goes on.
  assertEquals(statements(ts("export A=1 && echo $A\n")), [
    'Deno.env.set("A", "1");',
    'await sandbox().run("echo", ...split(Deno.env.get("A") ?? ""));',
  ]);
  assertThrows(() => ts("cd /tmp && pwd\n"), ParseError, "cannot translate `cd`: in a condition");
});

Deno.test("exportScript() ends the script at a top-level exit, with its status", () => {
  const program = ts("echo one\nexit 3\necho never\n");
  assertEquals(statements(program), ['await sandbox().run("echo", "one");', "Deno.exitCode = 3;"]);
  assertLine(program, "// box.nsh:3 and after: never run, exit ended the script");
  assertEquals(statements(ts("exit $1\n")), ['Deno.exitCode = Number(Deno.args[0] ?? "") & 255;']);
  // Without a failure before it, a bare exit ends with status 0: nothing to do.
  assertEquals(statements(ts("unshare -n\nexit\nexit\n")), [
    "await using ctx = await unshare({ net: true }).hold();",
    "await ctx.close();",
  ]);
});

Deno.test("exportScript() maps cd and pwd to Deno.chdir() at the top and ctx.cwd in a context", () => {
  const program = ts(`cd /tmp
pwd
unshare -m
cd /usr/./lib/..
cd share
cd
pwd
exit
`);
  assertEquals(statements(program), [
    'Deno.chdir("/tmp");',
    "console.log(Deno.cwd());",
    "await using ctx = await unshare({ mount: true }).hold();",
    'ctx.cwd = "/usr";',
    'ctx.cwd = resolve(ctx.cwd, "share");',
    'ctx.cwd = resolve(ctx.cwd, Deno.env.get("HOME") ?? "/");',
    "console.log(ctx.cwd);",
    "await ctx.close();",
  ]);
  assertLine(program, 'import { resolve } from "node:path";');
});

Deno.test("exportScript() maps umask MODE to Deno.umask() and readonly NAME=VALUE to the assignment", () => {
  const program = ts("umask 027\nreadonly LEVEL=3\n");
  assertEquals(statements(program), ["Deno.umask(0o27);", 'Deno.env.set("LEVEL", "3");']);
});

Deno.test("exportScript() maps mount, umount and mount-proc to the context's methods and steps", () => {
  assertEquals(
    statements(ts(`unshare -m
mount-proc /mnt
mount -t tmpfs -o size=1m tmpfs /run
mount --bind -o ro /etc /mnt
mount -t proc proc /proc
mount -t sysfs -o ro,nosuid sysfs /sys
umount /mnt
exit
`)),
    [
      "await using ctx = await unshare({ mount: true }).hold();",
      'await ctx.mountProc("/mnt");',
      'await ctx.apply(tmpfs("/run", "size=1m"));',
      'await ctx.apply(bindMount("/etc", "/mnt", { readonly: true }));',
      "await ctx.mountProc();",
      'await ctx.mount({ source: "sysfs", target: "/sys", type: "sysfs", flags: 3 });',
      'await ctx.apply(umount("/mnt"));',
      "await ctx.close();",
    ],
  );
});

Deno.test("exportScript() maps netns and release to mod.ts, given the context in one, lsns to the CLI in this process, and run to a new nsh", () => {
  const program = ts(`run inner.nsh a
netns add red
netns
netns identify 1
netns pids red
netns exec red ip link
netns attach blue 1
netns del red
release /tmp/a /tmp/b
lsns -t net
unshare --mount --net
netns add green
netns set green 5
netns list
release /tmp/c
lsns
netns exec green ip link
run inner.nsh
exit
`);
  assertEquals(statements(program), [
    'await sandbox().run(nsh, "run", "inner.nsh", "a");',
    'await addNetns("red");',
    "for (const line of netnsList()) console.log(line);",
    'console.log(identifyNetns(1).at(-1) ?? "");',
    'for (const pid of netnsPids("red")) console.log(pid);',
    'await netnsExec("red").sandbox.run("ip", "link");',
    'await attachNetns("blue", 1);',
    'await deleteNetns("red");',
    'await releaseNamespace("/tmp/a");',
    'await releaseNamespace("/tmp/b");',
    'const code = await main(["lsns", "-t", "net"], stdio);',
    "if (code !== 0) Deno.exit(code);",
    "await using ctx = await unshare({ mount: true, net: true }).hold();",
    'await addNetns("green", { context: ctx });',
    'setNetnsId("green", 5, { context: ctx });',
    "for (const line of netnsList({ context: ctx })) console.log(line);",
    'await releaseNamespace("/tmp/c", { context: ctx });',
    'const code2 = await main(["lsns"], stdio, { context: ctx });',
    "if (code2 !== 0) Deno.exit(code2);",
    'await ctx.sandbox().with(netnsExec("green", { context: ctx }).sandbox).run(',
    '"ip",',
    '"link",',
    ");",
    'await ctx.run(nsh, "run", "inner.nsh");',
    "await ctx.close();",
  ]);
  assert(program.includes('"file:///nsh/cli.ts"'), program);
  assert(program.includes('import { main, stdio } from "file:///nsh/cli/main.ts";'), program);
});

Deno.test("exportScript() imports mod.ts from the URL given, and nsh's CLI from beside it", () => {
  const program = exportScript("unshare --net\nlsns\nrun x.nsh\n", {
    file: "a.nsh",
    from: "https://example.com/nsh/mod.ts",
  });
  assertLine(program, '} from "https://example.com/nsh/mod.ts";');
  assertLine(program, 'import { main, stdio } from "https://example.com/nsh/cli/main.ts";');
  assertLine(program, '"https://example.com/nsh/cli.ts",');
});

Deno.test("exportScript() lays long statements out as deno fmt does", () => {
  const program = ts(
    "unshare --user --map-root-user --pid --mount --uts --net --ipc --cgroup --fork --mount-proc --hostname=a-long-name ps\n" +
      "unshare --net\nip link add veth-red type veth peer name veth-blue\nexit\n",
  );
  assertEquals(statements(program).slice(0, 13), [
    "await unshare({",
    "user: true,",
    "mapRootUser: true,",
    "pid: true,",
    "mount: true,",
    "uts: true,",
    "net: true,",
    "ipc: true,",
    "cgroup: true,",
    "mountProc: true,",
    'hostname: "a-long-name",',
    '}).run("ps");',
    "await using ctx = await unshare({ net: true }).hold();",
  ]);
  for (const line of program.split("\n")) assert(line.trim().startsWith("//") || line.length <= 80, line);
});

Deno.test("exportScript() rejects what it cannot translate faithfully, at the command", () => {
  const cases: [string, RegExp][] = [
    ["true\nmount-proc", /^2:1: mount-proc: not in a context with a mount namespace of its own/],
    ["unshare -n\nhostname x", /^2:1: hostname: not in a context with a UTS namespace/],
    ["save x.nsh", /^1:1: cannot translate `save`/],
    ["$CMD -x", /^1:1: cannot translate a command whose name is an expansion/],
    ["nsenter -t 1 --env -n true", /^1:1: cannot translate `nsenter`: --env/],
    ["unshare --bogus", /^1:1: unshare: unrecognized option '--bogus'/],
    [
      "unshare --propagation=$P true",
      /^1:1: unshare: unsupported propagation mode: \$P \(a variable stands where nsh needs a literal\)/,
    ],
    // The shell parses the words of an unquoted variable as options.
    ["unshare $FLAGS true", /^1:9: cannot translate \$FLAGS here: nsh splits it and parses its words as unshare's/],
    ["unshare -n $PROG", /^1:12: cannot translate \$PROG here: .* unshare's options/],
    ["nsenter -t 1 --wd=x$D true", /^1:14: cannot translate --wd=x\$D here: .* nsenter's options/],
    ['echo "$@"*', /^1:6: cannot translate "\$@" here/],
    ['echo "a b"$X', /^1:6: cannot translate "a b"\$X: quote the expansion/],
    ["export", /^1:1: cannot translate `export`: without arguments/],
    ["set -x", /^1:1: set: unknown option '-x'/],
    // A pipeline connects programs; a context lives in the block that made it.
    ["{ echo a; } | wc", /^1:1: cannot translate a pipeline stage that is a compound command/],
    ["echo a | cd /", /^1:10: cannot translate `cd` in a pipeline or substitution: only programs/],
    ["if true; then unshare -n; fi\nip link", /^1:15: cannot translate a context that outlives the block/],
    ["jobs", /^1:1: cannot translate `jobs`: job control is the interactive shell's/],
    ["cd -", /^1:1: cannot translate `cd`: cd -: name the directory/],
    ["x=$(echo a; echo b)", /^1:1: cannot translate `x`: a substitution of more than one program/],
    ["echo a 3>f", /^1:8: cannot redirect descriptor 3/],
    ["echo $((x = 1))", /^1:1: cannot translate `echo`: \$\(\(\.\.\.\)\): an assignment/],
    // What prints from the exported program itself would not go to a block's file.
    ["{ echo a; pwd; } > f", /^1:11: cannot translate `pwd`: `pwd` in a redirected block: it prints from this process/],
    ["f() { echo a; }\n{ f; } > x", /^2:3: cannot translate `f`: a function call in a redirected block/],
    ["{ cat; } <<E\nx\nE\n", /^1:1: cannot translate `group`: a here-document of a compound command/],
    ["read line", /^1:1: cannot translate `read`: it reads this process's input line by line/],
    // sh's builtins that TypeScript has no counterpart of, and builtins in a substitution.
    ["eval echo a", /^1:1: cannot translate `eval`: the commands it runs are known only when it runs/],
    [". ./lib.sh", /^1:1: cannot translate `.`: it runs another script's commands here/],
    ["trap 'rm f' EXIT", /^1:1: cannot translate `trap`: traps run shell code on signals/],
    ["trap '' INT", /^1:1: cannot translate `trap`: it ignores signals .* give ignoreSignals\(\) to their sandbox/],
    ["set -o", /^1:1: cannot translate `set`: set -o and set \+o list the shell's options/],
    ["f() { sleep 1 & }", /^1:7: cannot translate `&`: a background job in a function: its programs ignore SIGINT/],
    ["exec ip link", /^1:1: cannot translate `exec`: run the program, then end with Deno.exit\(\)/],
    ["type ip", /^1:1: cannot translate `type`: it says what a name runs/],
    ["ulimit -n 64", /^1:1: cannot translate `ulimit`: .* give resourceLimit\(\) to their sandbox/],
    ["f() { local x; }", /^1:7: cannot translate `local`: a function's variables are its let's/],
    ["getopts ab o", /^1:1: cannot translate `getopts`: read the options in TypeScript/],
    ["x=$(pwd)", /^1:5: cannot translate `pwd` in a pipeline or substitution: only programs/],
    ["f() { echo; }\necho $(f)", /^2:8: cannot translate `f` in a pipeline or substitution: only programs/],
  ];
  for (const [source, message] of cases) {
    const error = assertThrows(() => exportScript(source, { file: "box.nsh", from: FROM }), ParseError);
    assertMatch(error.message, message);
  }
});

Deno.test("every program exported above is deno fmt-clean and type-checks", async () => {
  // The examples too, so that a filtered run checks something.
  for (const { file } of EXAMPLES) {
    const source = await Deno.readTextFile(`${REPO}examples/${file}`);
    exported.push(exportScript(source, { file: `examples/${file}`, from: MOD }));
  }
  const dir = Deno.makeTempDirSync({ prefix: "nsh-export-test-" });
  try {
    const files = exported.map((program, i) => {
      const file = `${dir}/program${i}.ts`;
      Deno.writeTextFileSync(file, program);
      return file;
    });
    // In a directory of its own, with deno's default settings, as a user keeps it.
    const fmt = await run(Deno.execPath(), ["fmt", "--check", ...files], { cwd: dir });
    assertEquals(fmt.code, 0, fmt.stdout + fmt.stderr);
    const check = await run(Deno.execPath(), ["check", "--quiet", ...files], { cwd: dir });
    assertEquals(check.code, 0, check.stdout + check.stderr);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("nsh export prints the program and reports what it cannot translate", async () => {
  const out = await nsh(["export", "--from", "https://example.com/nsh/mod.ts", `${REPO}examples/time_shift.nsh`]);
  assertEquals(out.code, 0, out.stderr);
  assertLine(out.stdout, '} from "https://example.com/nsh/mod.ts";');
  const dir = Deno.makeTempDirSync({ prefix: "nsh-export-test-" });
  try {
    Deno.writeTextFileSync(`${dir}/bad.nsh`, "echo a\nls | jobs\n");
    const bad = await nsh(["export", `${dir}/bad.nsh`]);
    assertEquals([bad.code, bad.stdout], [2, ""]);
    assertMatch(bad.stderr, /^nsh export: .*bad\.nsh:2:6: cannot translate `jobs` in a pipeline or substitution/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  const usage = await nsh(["export"]);
  assertEquals(usage.code, 1);
  assertMatch(usage.stderr, /^nsh export: no script given\n/);
  const from = await nsh(["export", "--from", "not a url", "x.nsh"]);
  assertMatch(from.stderr, /^nsh export: --from: 'not a url' is not a URL/);
});

// End to end: each example, run by the shell and as its exported program.

/**
 * Output with what differs from run to run made alike: MAC addresses,
 * numbers (pids, inodes, times, uptimes; with a fraction or not, as ps's %CPU
 * is 100 one time and 66.6 the next) and the spaces that align them.
 */
function normalize(text: string): string {
  return text.replace(/\b([0-9a-f]{2}:){5}[0-9a-f]{2}\b/g, "MAC").replace(/\d+(\.\d+)?/g, "N").replace(/[ \t]+/g, " ");
}

async function exportExample(file: string): Promise<string> {
  const out = await nsh(["export", `${REPO}examples/${file}`]);
  assertEquals(out.code, 0, out.stderr);
  return out.stdout;
}

function same(script: Output, program: Output): void {
  const show = `--- nsh run\n${script.stdout}${script.stderr}--- exported\n${program.stdout}${program.stderr}`;
  assertEquals(program.code, script.code, show);
  assertEquals(normalize(program.stdout), normalize(script.stdout), show);
}

for (const { file, needs, rootless } of EXAMPLES) {
  Deno.test({
    name: `examples/${file}: nsh run and its exported program print the same and exit the same`,
    ignore: !IS_ROOT || !needs.every(hasProgram),
    async fn() {
      const dir = Deno.makeTempDirSync({ prefix: "nsh-export-test-" });
      try {
        const program = `${dir}/${file.replace(/\.nsh$/, ".ts")}`;
        Deno.writeTextFileSync(program, await exportExample(file));
        // Both from elsewhere: the program imports mod.ts by its URL.
        const script = await run(Deno.execPath(), ["run", "-A", "--quiet", CLI, "run", `${REPO}examples/${file}`], {
          cwd: dir,
        });
        assertEquals(script.code, 0, script.stderr);
        same(script, await run(Deno.execPath(), ["run", "-A", "--quiet", program], { cwd: dir }));
        const fmt = await run(Deno.execPath(), ["fmt", "--check", program], { cwd: dir });
        assertEquals(fmt.code, 0, fmt.stdout + fmt.stderr);
        const check = await run(Deno.execPath(), ["check", "--quiet", program], { cwd: dir });
        assertEquals(check.code, 0, check.stdout + check.stderr);
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    },
  });
  if (!rootless) continue;
  Deno.test({
    name: `examples/${file}: the exported program does the same as nsh run as an unprivileged user`,
    ignore: !IS_ROOT || !hasProgram("setpriv") || !needs.every(hasProgram),
    async fn() {
      // runUnprivileged puts the copy of the repository the user can read for $REPO/.
      const program = (await exportExample(file)).replaceAll(new URL(".", MOD).href, "file://$REPO/");
      const script = await runUnprivileged(
        `import { main } from "$REPO/cli/main.ts";\nDeno.exitCode = await main(["run", "$REPO/examples/${file}"]);\n`,
      );
      assertEquals(script.code, 0, script.stderr);
      same(script, await runUnprivileged(program));
    },
  });
}

Deno.test({
  name: "an exported program that cannot start a program or a step, or whose program fails, ends as nsh run does",
  ignore: !IS_ROOT,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-export-test-" });
    try {
      const scripts: [string, number, RegExp][] = [
        ["echo one\nnosuch-nsh-program arg\necho two\n", 127, /^Cannot execute "nosuch-nsh-program": .*ENOENT.*\n$/],
        ["echo one\nunshare --mount-proc=/no/such/dir true\n", 1, /^Cannot mount .*"\/no\/such\/dir".*ENOENT.*\n$/],
        // A program that fails: one line, as nsh run's "box.nsh:2: sh exited with status 3".
        ["echo one\nsh -c 'exit 3'\necho two\n", 3, /^Command "sh -c 'exit 3'" exited with code 3\n$/],
      ];
      for (const [source, code, message] of scripts) {
        const file = `${dir}/box.nsh`;
        Deno.writeTextFileSync(file, source);
        const script = await nsh(["run", file]);
        Deno.writeTextFileSync(`${dir}/box.ts`, exportScript(source, { file: "box.nsh", from: MOD }));
        const program = await run(Deno.execPath(), ["run", "-A", "--quiet", `${dir}/box.ts`], { cwd: dir });
        assertEquals([script.code, script.stdout], [code, "one\n"], script.stderr);
        assertEquals([program.code, program.stdout], [code, "one\n"], program.stderr);
        assertMatch(program.stderr, message);
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "an exported program exits with the status nsh run exits with",
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-export-test-" });
    try {
      const scripts: [string, string[]][] = [
        ["echo $1; sh -c 'exit 3'; echo never\n", ["a"]],
        ["set +e\nsh -c 'exit 5'\necho $?\ntrue\n", []],
        ["set +e\nsh -c 'exit 6'\n", []],
        ['export X="a  b"\necho $X "$X" "$@" "$#"\nexit 7\n', ["c d", "e"]],
        // exit N in a context, as (exit N) in sh: $? after it, the end of the script under set -e.
        ["unshare --user --map-root-user --net\nexit 3\necho never\n", []],
        ["set +e\nunshare --user --map-root-user --net\nexit 4\necho $?\n", []],
        ["unshare --user --map-root-user --net\nexit $1\necho reached\n", ["5"]],
        ["unshare --user --map-root-user --net\nexit $1\necho reached\n", ["0"]],
      ];
      for (const [i, [text, args]] of scripts.entries()) {
        const source = `${dir}/s${i}.nsh`;
        Deno.writeTextFileSync(source, text);
        const program = `${dir}/s${i}.ts`;
        Deno.writeTextFileSync(program, exportScript(text, { file: source, from: MOD }));
        const script = await run(Deno.execPath(), ["run", "-A", "--quiet", CLI, "run", source, ...args]);
        same(script, await run(Deno.execPath(), ["run", "-A", "--quiet", program, ...args]));
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

/** The scripts of tests/fixtures/language: sh's constructs, at the top and in contexts. */
const LANGUAGE = [...Deno.readDirSync(`${REPO}tests/fixtures/language`)].map((e) => e.name).filter((n) =>
  n.endsWith(".nsh")
).sort();

Deno.test({
  name: "each construct of the language: nsh run and its exported program print the same and exit the same",
  // The scripts with contexts map root in a user namespace of their own.
  ignore: !IS_ROOT,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-export-test-" });
    try {
      const programs: string[] = [];
      for (const name of LANGUAGE) {
        const source = `${REPO}tests/fixtures/language/${name}`;
        const out = await nsh(["export", "--from", MOD, source]);
        assertEquals(out.code, 0, `${name}: ${out.stderr}`);
        const program = `${dir}/${name.replace(/\.nsh$/, ".ts")}`;
        Deno.writeTextFileSync(program, out.stdout);
        programs.push(program);
        // Each in a directory of its own, which its files go to.
        const [a, b] = [`${dir}/${name}.run`, `${dir}/${name}.program`];
        Deno.mkdirSync(a);
        Deno.mkdirSync(b);
        const script = await run(Deno.execPath(), ["run", "-A", "--quiet", CLI, "run", source], { cwd: a });
        const exported = await run(Deno.execPath(), ["run", "-A", "--quiet", program], { cwd: b });
        const show =
          `${name}\n--- nsh run\n${script.stdout}${script.stderr}--- exported\n${exported.stdout}${exported.stderr}`;
        assertEquals([exported.code, exported.stdout], [script.code, script.stdout], show);
      }
      const fmt = await run(Deno.execPath(), ["fmt", "--check", ...programs], { cwd: dir });
      assertEquals(fmt.code, 0, fmt.stdout + fmt.stderr);
      const check = await run(Deno.execPath(), ["check", "--quiet", ...programs], { cwd: dir });
      assertEquals(check.code, 0, check.stdout + check.stderr);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("the exported examples match their snapshots", async () => {
  for (const { file } of EXAMPLES) {
    const source = await Deno.readTextFile(`${REPO}examples/${file}`);
    const program = exportScript(source, { file: `examples/${file}`, from: FROM });
    assertSnapshot(program, `export_${file.replace(/\.nsh$/, "")}.txt`);
  }
  // And one script of sh's constructs.
  const source = await Deno.readTextFile(`${REPO}tests/fixtures/language/sh.nsh`);
  assertSnapshot(exportScript(source, { file: "sh.nsh", from: FROM }), "export_language.txt");
});
