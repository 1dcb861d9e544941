/**
 * The shell's language against sh's: each construct runs in dash (the
 * reference) and in nsh on the same input, and both must print the same and
 * end with the same status. nsh runs the cases at the top and in a context
 * with a mount namespace of its own (a tmpfs over the test's directory, which
 * the host then finds empty), as root and as an unprivileged user.
 *
 * One process per shell and variant runs every case, each in a subshell of
 * its own and a directory of its own, between markers.
 *
 * @module
 */

import { assert, assertEquals } from "./_assert.ts";
import { CLI, hasProgram, IS_ROOT, nsh, type Output, run, runUnprivileged } from "./_env.ts";

const HAS_DASH = hasProgram("dash");
/** Whether this user can make a user namespace (root always can), decided once. */
const USERNS = IS_ROOT || (await nsh(["unshare", "--user", "--map-root-user", "true"])).code === 0;

/** The cases: a name and a script, in sh's language that dash and nsh both read. */
const CASES: readonly (readonly [string, string])[] = [
  // Pipelines
  ["pipe", "echo hello | tr a-z A-Z"],
  ["pipe of three", "printf 'b\\na\\nc\\n' | sort | head -2"],
  ["pipe status is the last's", "false | true; echo $?; true | false; echo $?"],
  ["! inverts", "! true; echo $?; ! false; echo $?; ! false | false; echo $?"],
  ["pipe into a compound", "printf '1\\n2\\n' | while read n; do echo got $n; done"],
  ["pipe out of a group", "{ echo a; echo b; } | wc -l"],
  ["pipe out of a loop", "for i in 3 1 2; do echo $i; done | sort"],
  ["pipe variables stay in the stage", "x=1; echo | x=2; echo $x"],
  ["stage not found is 127, the pipe goes on", "nosuch-nsh-prog 2>/dev/null | echo after; echo $?"],
  ["a reader that stops early", "seq 1 100000 | head -3"],
  // Redirections
  ["> and <", "echo a > f; cat < f"],
  [">> appends", "echo a > f; echo b >> f; cat f"],
  ["> truncates", "echo long > f; echo x > f; cat f"],
  ["2> and 2>&1", "ls /nonexistent-nsh 2> e; wc -l < e; ls /nonexistent-nsh 2>&1 | wc -l"],
  ["order of 2>&1", "sh -c 'echo out; echo err >&2' > o 2>&1; sort o"],
  [">&2 then 2>/dev/null", "echo to-stderr >&2 2>/dev/null; echo done"],
  ["redirection of a group", "{ echo a; echo b; } > g; cat g"],
  ["redirection of a loop", "for i in 1 2; do echo $i; done > l; cat l"],
  ["input of a loop", "printf 'x\\ny\\n' > in; while read l; do echo [$l]; done < in"],
  ["redirection alone makes the file", "> empty; wc -c < empty"],
  ["here-document", "x=world; cat <<EOF\nhello $x\n$(echo sub) `echo back`\nEOF"],
  ["quoted here-document", "x=world; cat <<'EOF'\nhello $x\nEOF"],
  ["here-document <<-", "cat <<-EOF\n\t\tindented\n\tEOF"],
  ["here-document to read", 'read a b <<EOF\none two three\nEOF\necho "$a|$b"'],
  ["a redirection to a missing directory fails the command", "echo x > nodir/f; echo $?; echo after"],
  // Lists
  ["&& and ||", "true && echo a; false && echo b; false || echo c; true || echo d"],
  ["and-or status", "false && true; echo $?; false || false; echo $?"],
  ["left to right", "true || false && echo yes; false && true || echo also"],
  ["; and newlines", "echo a; echo b\necho c"],
  // Groups and subshells
  ["subshell keeps its variables", "x=1; (x=2; echo $x); echo $x"],
  ["subshell keeps its directory", "mkdir d; (cd d; pwd | sed 's,.*/,,'); pwd | sed 's,.*/,,'"],
  ["subshell exit", "(exit 3); echo $?; (echo in; exit 4; echo not); echo $?"],
  ["group shares them", "x=1; { x=2; }; echo $x"],
  // Parameters
  ["positional parameters", "set -- a 'b c' d; echo $#; echo $1 $3; for a; do echo [$a]; done"],
  ['"$@" and "$*"', "set -- 'a b' c; printf '<%s>' \"$@\"; echo; printf '<%s>' \"$*\"; echo; printf '<%s>' $*; echo"],
  ["shift", "set -- a b c; shift; echo $*; shift 2; echo $#"],
  ["${x:-} and ${x-}", "e=; echo ${u:-d1} ${e:-d2} ${e-d3} ${u-d4}"],
  ["${x:=}", "echo ${n:=new} $n"],
  ["${x:+}", "s=set; e=; echo [${s:+alt}] [${e:+alt}] [${e+alt}]"],
  ["${#x}", "x=hello; echo ${#x} ${#u}"],
  ["${x%} and ${x#}", "f=a.tar.gz; echo ${f%.*} ${f%%.*} ${f#*.} ${f##*.}"],
  ["quoted ${x%pattern} is still a pattern", 'x=outer; echo "${x%er}" "${x##*t}" "${x%%t*}" "${x#\'o\'*}"'],
  ["a pattern from a variable", 'x="a*b.c"; p="*."; echo "${x#$p}" "${x#"$p"}" "${x#a\\*}"'],
  [
    "case pattern from a variable",
    "p='*.txt'; case a.txt in $p) echo m;; esac; case a.txt in \"$p\") echo q;; *) echo n;; esac",
  ],
  ["${x?} fails", "(echo ${u?gone}) 2>/dev/null; echo $?"],
  ["$? and $$", "false; echo $?; [ $$ -gt 0 ] && echo pid"],
  ["IFS splitting", "IFS=:; x=a:b::c; for w in $x; do echo [$w]; done"],
  ["empty words", "e=; set -- $e \"$e\" ''; echo $#"],
  ["export to programs", "x=1; sh -c 'echo [$x]'; export x; sh -c 'echo [$x]'; y=2 sh -c 'echo [$y]'; echo [$y]"],
  ["unset", "x=1; unset x; echo [${x-unset}]"],
  // Substitution and arithmetic
  ["$(...)", 'echo $(echo a   b) "$(echo a   b)"'],
  ["backquotes", 'echo `echo x` "`echo y`"'],
  ["trailing newlines go", "x=$(printf 'a\\n\\n\\n'); echo \"[$x]\""],
  ["nested", "echo $(echo $(echo inner) outer)"],
  ["status of a substitution", "x=$(false); echo $?; x=$(exit 3); echo $?"],
  ["arithmetic", "i=5; echo $((1 + 2 * 3)) $((7 / 2)) $((-7 % 3)) $((i * i)) $((i > 3 && i < 9)) $((1 << 4))"],
  ["arithmetic in a loop", "i=0; while [ $i -lt 4 ]; do i=$((i + 1)); done; echo $i"],
  // Globbing
  ["globs", "touch a.txt b.txt c.log .hidden; echo *.txt; echo ?.log; echo [ab].*; echo *"],
  ["a glob without a match stays", "echo none*.x; echo 'a*'; echo \"*\""],
  ["dot files need a dot", "touch .h x; echo .*; echo *"],
  ["globs in directories", "mkdir -p d/e; touch d/e/f1 d/e/f2; echo d/*/f*"],
  ["an expansion's glob is a glob", "touch p.q; x='*.q'; echo $x \"$x\""],
  ["~", "HOME=/home/me; echo ~ ~/x a~"],
  // Control flow
  [
    "if elif else",
    "for x in 1 2 3; do if [ $x = 1 ]; then echo one; elif [ $x = 2 ]; then echo two; else echo other; fi; done",
  ],
  [
    "while and until",
    "i=0; while [ $i -lt 2 ]; do echo w$i; i=$((i+1)); done; until [ $i -eq 0 ]; do echo u$i; i=$((i-1)); done",
  ],
  ["for over words", "for w in a 'b c' d; do echo [$w]; done"],
  ["break and continue", "for i in 1 2 3 4 5; do [ $i = 2 ] && continue; [ $i = 4 ] && break; echo $i; done"],
  ["break 2", "for i in 1 2; do for j in a b; do [ $j = b ] && break 2; echo $i$j; done; done; echo out"],
  [
    "case",
    "for w in apple b.txt xyz 12; do case $w in a*) echo A;; *.txt|*.log) echo F;; [0-9]*) echo N;; *) echo O;; esac; done",
  ],
  ["case with a quoted pattern", "x='*'; case a in \"$x\") echo literal;; *) echo glob;; esac"],
  ["status of if and loops", "if false; then :; fi; echo $?; for i in; do :; done; echo $?"],
  // Functions
  ["functions", 'greet() { echo "hi $1 ($#)"; }; greet you there'],
  ["return", "f() { return 3; echo no; }; f; echo $?"],
  ["function status", "f() { false; }; f; echo $?"],
  ["recursion", "fact() { if [ $1 -le 1 ]; then echo 1; else echo $(( $1 * $(fact $(( $1 - 1 ))) )); fi; }; fact 5"],
  ["functions see globals", "x=1; f() { x=2; }; f; echo $x"],
  ["arguments come back", "set -- a b; f() { echo $#; }; f x; echo $# $1"],
  // set -e
  ["set -e stops", "(set -e; echo a; false; echo b); echo $?"],
  ["set -e spares conditions", "(set -e; if false; then :; fi; false || true; false && true; ! true; echo survived)"],
  ["set -e and a group", "(set -e; { false; }; echo no); echo $?"],
  ["set -e and a pipeline", "(set -e; false | true; echo yes; true | false; echo no); echo $?"],
  ["set -e in a function", "(set -e; f() { false; echo no; }; f; echo no); echo $?"],
  ["set -e and a subshell", "(set -e; (false); echo no); echo $?"],
  // read
  ["read", "echo 'a b  c' | { read x y; echo \"$x|$y\"; }"],
  // printf, not echo: dash's echo reads backslashes itself.
  [
    "read -r and backslashes",
    "printf 'a\\\\b\\n' | { read x; printf '%s\\n' \"$x\"; }; printf 'a\\\\b\\n' | { read -r x; printf '%s\\n' \"$x\"; }",
  ],
  ["read at the end", "printf 'last' | { read x; echo $? \"$x\"; }"],
  // Background jobs
  ["& and wait", "sleep 0.2 & echo started; wait; echo done"],
  ["wait for a status", "(exit 3) & wait $!; echo $?; sh -c 'exit 4' & p=$!; wait $p; echo $?"],
  ["kill a job", "sleep 10 & kill $!; wait $!; echo $?"],
  ["a job's output", "{ sleep 0.1; echo late; } & echo early; wait"],
  // cd
  ["cd - and PWD", "mkdir -p a/b; cd a; cd b; cd - >/dev/null; echo ${PWD##*/} ${OLDPWD##*/}"],
  // sh's other builtins
  [". runs a file in this shell", "printf 'x=sourced\\necho in $1\\n' > s.sh; set -- a; . ./s.sh b; echo $x $1"],
  [". and return", "printf 'echo one\\nreturn 3\\necho no\\n' > r.sh; . ./r.sh; echo $?"],
  ["eval", "eval 'x=1; echo $x'; eval echo '$x' two; eval false; echo $?; eval 'f() { echo fn; }'; f"],
  [
    "exec runs the program and the shell ends",
    "(exec sh -c 'exit 5'; echo no); echo $?; (exec echo replaced); echo $?",
  ],
  [
    "exec redirects the shell",
    "(exec > out; echo to-file; echo more); cat out; (exec 2>&1; sh -c 'echo err >&2') | cat",
  ],
  [
    "trap EXIT",
    "(trap 'echo bye $?' EXIT; echo hi; exit 4); echo $?; (trap 'echo bye; exit 7' EXIT; echo hi); echo $?; (trap 'echo no' EXIT; trap - EXIT)",
  ],
  ["trap lists and resets", "trap 'echo t' INT; trap '' TERM; trap; trap - INT TERM; trap; echo listed"],
  [
    "trap '' ignores a signal in the programs that follow, trap - gives it back",
    "trap '' INT; sh -c 'kill -INT $$; echo survived'; (sh -c 'kill -INT $$; echo in a subshell'); trap '' USR1; (trap); trap - INT; sh -c 'kill -INT $$; echo not'; echo $?",
  ],
  [
    "a background job's programs ignore SIGINT and SIGQUIT, whatever its traps",
    "sh -c 'kill -INT $$; kill -QUIT $$; echo survived' & wait $!; echo $?; { trap - INT; sh -c 'kill -INT $$; echo job survived'; } & wait",
  ],
  ["trap in a substitution", "x=$(trap 'echo in-sub' EXIT; echo out); echo \"[$x]\""],
  [
    "command",
    "f() { echo function; }; command f 2>/dev/null; echo $?; command -v cd; command -v if; command -v nosuch-nsh; echo $?; command -v f",
  ],
  ["type", "type cd exit if true; type nosuch-nsh; echo $?; g() { :; }; type g"],
  [
    "umask",
    "umask 027; umask; umask -S; umask u=rwx,g=rx,o=; umask; umask g-x; umask; umask a+w; umask; (umask 077); umask",
  ],
  ["umask and the files made", "umask 077; : > f1; sh -c ': > f2'; ls -l f1 f2 | cut -c1-10"],
  ["readonly", "readonly r=1; echo $r; readonly -p; (r=2) 2>/dev/null; echo $?; readonly q; readonly"],
  [
    "local",
    'f() { local x=inner; echo $x; g; }; g() { echo g sees $x; }; x=outer; f; echo $x; h() { local z; echo "[${z-u}]"; z=2; }; z=glob; h; echo $z',
  ],
  [
    "getopts",
    'set -- -a -bc arg -d; while getopts ab:d o; do echo "$o [${OPTARG-u}] $OPTIND"; done; echo end $OPTIND; OPTIND=1; set -- -ab -c -- -a; while getopts abc o; do echo $o $OPTIND; done; echo $OPTIND',
  ],
  [
    "getopts errors",
    'set -- -a -x -b; while getopts ab: o 2>/dev/null; do echo "$o [${OPTARG-u}] $OPTIND"; done; OPTIND=1; getopts :b: o; echo "$? $o [${OPTARG-u}]"; OPTIND=1; getopts :a o; echo "$? $o [${OPTARG-u}] $OPTIND"; while getopts xy: o -x -y val rest; do echo "$o ${OPTARG-}"; done',
  ],
  ["times", "times | sed 's/[0-9][0-9]*/N/g'"],
  [
    "ulimit -n",
    "ulimit -n 64; ulimit -n; ulimit -Hn; sh -c 'ulimit -n'; ulimit -S -n 32; sh -c 'ulimit -n; ulimit -Hn'; (ulimit -n 16); ulimit -n",
  ],
  [
    "ulimit -c -s -v -p",
    "ulimit -c 0; sh -c 'ulimit -c'; ulimit -s 4096; sh -c 'ulimit -s'; ulimit -v 1000000; sh -c 'ulimit -v'; ulimit -p 500; sh -c 'ulimit -p'",
  ],
  [
    "ulimit -a and refusals",
    "ulimit -n 100; ulimit -a | grep nofiles; ulimit -a | wc -l; ulimit -n 99999999 2>/dev/null; echo $?; ulimit -x 2>/dev/null; echo $?",
  ],
  // A builtin's own messages and output follow its redirections
  [
    "a builtin's error follows 2>",
    "cd /nonexistent-nsh 2>e; echo $?; wc -l < e; cd /nonexistent-nsh 2>/dev/null; echo $?; cd /nonexistent-nsh 2>&1 | wc -l",
  ],
  [
    "kill's error follows 2>",
    "sleep 10 & p=$!; kill $p; wait $p; kill $p 2>/dev/null; echo $?; kill $p 2>e; grep -c kill e",
  ],
  [
    "a builtin's error in $(...) and in a redirected group or function",
    'x=$(cd /nonexistent-nsh 2>&1); [ -n "$x" ] && echo said; x=$(cd /nonexistent-nsh 2>/dev/null); echo "[$x]"; { cd /nonexistent-nsh; echo $?; } 2>/dev/null; f() { cd /nonexistent-nsh; }; f 2>/dev/null; echo $?; f 2>&1 | wc -l',
  ],
  [
    "exec 2> sends the shell's later errors there",
    "(exec 2>e; cd /nonexistent-nsh; kill 99999999; echo in); grep -c -e nonexistent -e kill e",
  ],
  [
    "builtins' output follows redirections",
    "pwd > f; wc -l < f; set -o > f; grep -c errexit f; export -p > f; [ -s f ] && echo exported; trap 'echo t' USR1; trap > f; cat f; trap - USR1; ulimit -a > f; [ -s f ] && echo limits; sleep 1 & jobs > f; wc -l < f; kill $!; type nosuch-nsh > f 2>&1; echo $?; wc -l < f; type cd 2>&1 | cat; echo hi > in; read x < in; echo $x",
  ],
  ["set -o and set +o", "(set -e; set -o | grep errexit; set +o | grep nounset)"],
  // Builtins in substitutions and pipelines
  [
    "builtins and functions in $(...) and pipelines",
    "f() { echo fun; }; x=$(f); echo \"$x\"; f | cat; pwd | sed 's,.*/,,'; echo $(pwd) | sed 's,.*/,,'",
  ],
  [
    "export and cd in a subshell stay there",
    '(cd /; export LEAK=1); echo "[${LEAK-}]"; pwd | sed \'s,.*/,,\'; echo a | (cd /; pwd); x=$(export Y=1; echo $Y); echo "$x [${Y-}]"',
  ],
];

/** The script that runs every case in a subshell of its own, in a directory of its own, between markers. */
function driver(): string {
  return CASES.map(([, script], i) => `echo "@@@ ${i}"\nmkdir c${i}\n(\ncd c${i}\n${script}\n)\necho "@@@ status $?"\n`)
    .join("");
}

/** Each case's output and status, by index. */
function split(stdout: string): Map<number, string> {
  const out = new Map<number, string>();
  const parts = stdout.split(/^@@@ (\d+)\n/m);
  for (let i = 1; i < parts.length; i += 2) out.set(Number(parts[i]), parts[i + 1]!);
  return out;
}

/** The same run with paths of its directories made alike. */
function normalize(text: string, dir: string): string {
  return text.replaceAll(dir, "DIR");
}

let reference: Promise<Map<number, string>> | undefined;

/** dash's output for the cases, run once, in a directory of its own. */
function dash(): Promise<Map<number, string>> {
  reference ??= (async () => {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-sh-test-dash-" });
    try {
      const out = await run("dash", ["-c", driver()], { cwd: dir });
      return new Map([...split(normalize(out.stdout, dir))]);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  })();
  return reference;
}

/** Compares nsh's output with dash's, case by case. */
async function compare(out: Output, dir: string, what: string): Promise<void> {
  const expected = await dash();
  const actual = split(normalize(out.stdout, dir));
  const failures: string[] = [];
  for (const [i, [name, script]] of CASES.entries()) {
    const want = expected.get(i);
    const got = actual.get(i);
    if (got !== want) {
      failures.push(
        `--- ${name}: ${JSON.stringify(script)}\n  dash: ${JSON.stringify(want)}\n  nsh:  ${JSON.stringify(got)}`,
      );
    }
  }
  assert(actual.size === CASES.length, `${what}: ${actual.size} of ${CASES.length} cases ran\n${out.stderr}`);
  assertEquals(failures, [], `${what}: nsh and dash differ\n${failures.join("\n")}\n--- stderr\n${out.stderr}`);
}

/** The lines that put nsh in a context with its own mounts: a tmpfs over `dir`, where the cases run. */
function contextPrefix(dir: string, user: boolean): string {
  return `unshare ${user ? "--user --map-root-user " : ""}--mount --uts\nmount -t tmpfs tmpfs ${dir}\ncd ${dir}\n`;
}

Deno.test({
  name: "the shell's language does what dash does, at the top",
  ignore: !HAS_DASH,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-sh-test-" });
    try {
      const out = await run(Deno.execPath(), ["run", "-A", "--quiet", CLI, "-c", `set +e\n${driver()}`], { cwd: dir });
      await compare(out, dir, "at the top");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the shell's language does what dash does, in a context with its own mounts, whose files the host never sees",
  ignore: !HAS_DASH || !USERNS,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-sh-test-" });
    try {
      const script = `set +e\n${contextPrefix(dir, true)}${driver()}`;
      const out = await run(Deno.execPath(), ["run", "-A", "--quiet", CLI, "-c", script], { cwd: dir });
      await compare(out, dir, "in a context");
      assertEquals([...Deno.readDirSync(dir)], [], "the cases' files are in the context's tmpfs");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the shell's language does what dash does, as root in a context without a user namespace",
  ignore: !HAS_DASH || !IS_ROOT,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-sh-test-" });
    try {
      const script = `set +e\n${contextPrefix(dir, false)}${driver()}`;
      const out = await run(Deno.execPath(), ["run", "-A", "--quiet", CLI, "-c", script], { cwd: dir });
      await compare(out, dir, "in a root context");
      assertEquals([...Deno.readDirSync(dir)], [], "the cases' files are in the context's tmpfs");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

/** Runs the driver in nsh as the unprivileged user, at the top or in a context. */
async function rootless(inContext: boolean): Promise<{ out: Output; dir: string }> {
  const marker = "@@DIR@@";
  // The user's own directory: the script prints it first, for the comparison.
  const prefix = inContext ? contextPrefix(marker, true) : "";
  const script = `set +e\nd=$(mktemp -d)\ncd $d\necho "$d" >&2\n${prefix.replaceAll(marker, "$d")}${driver()}`;
  const out = await runUnprivileged(
    `import { main } from "$REPO/cli/main.ts";\nDeno.exitCode = await main(["-c", ${JSON.stringify(script)}]);\n`,
  );
  const dir = out.stderr.split("\n")[0]!;
  return { out: { ...out, stderr: out.stderr.split("\n").slice(1).join("\n") }, dir };
}

Deno.test({
  name: "the shell's language does what dash does, as an unprivileged user, at the top and in a context",
  ignore: !HAS_DASH || !IS_ROOT || !hasProgram("setpriv"),
  async fn() {
    for (const inContext of [false, true]) {
      const { out, dir } = await rootless(inContext);
      try {
        await compare(out, dir, inContext ? "rootless, in a context" : "rootless, at the top");
      } finally {
        await run("rm", ["-rf", dir]);
      }
    }
  },
});

/** Scripts that act on the shell itself (its signals, its end): each run on its own by dash and nsh, at the top. */
const TOP_LEVEL: readonly string[] = [
  "trap 'echo got term' TERM; kill -TERM $$; echo after",
  "trap 'echo got usr1' USR1; kill -USR1 $$; echo after; trap '' USR1; kill -USR1 $$; echo ignored",
  // A trapped signal is the shell's: the program in the foreground does not get it.
  "trap 'echo got' TERM; sh -c 'kill -TERM $PPID; sleep 0.2'; echo after $?",
  "trap 'echo bye $?' EXIT; false",
  "trap 'echo bye' EXIT; exit 3",
  "trap 'exit 4' EXIT; echo ending",
  "echo before; exec sh -c 'echo replaced; exit 6'; echo not",
  "exec 2>&1; sh -c 'echo to-stderr >&2'",
];

Deno.test({
  name: "the shell's traps and exec do what dash's do, at the top of a script",
  ignore: !HAS_DASH,
  async fn() {
    for (const script of TOP_LEVEL) {
      const expected = await run("dash", ["-c", script]);
      const actual = await run(Deno.execPath(), ["run", "-A", "--quiet", CLI, "-c", `set +e\n${script}`]);
      assertEquals([actual.stdout, actual.code], [expected.stdout, expected.code], script);
    }
  },
});
