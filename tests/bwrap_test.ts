/**
 * `nsh bwrap`: bubblewrap's command line, parsed as bubblewrap parses it, and
 * each option end to end in real namespaces, as root and as the unprivileged
 * user nobody. The scripts call `$BWRAP`, a wrapper that runs this checkout's
 * cli.ts as bubblewrap's tests do.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "./_assert.ts";
import { CLI, hasProgram, IS_ROOT, type Output, run, runUnprivileged } from "./_env.ts";
import { BwrapError, bwrapHelp, type BwrapRequest, parseBwrap } from "../cli/bwrap.ts";
import { compileSeccomp, ownBytes } from "../lib/seccomp/mod.ts";
import { SyscallError, unshare } from "../mod.ts";

const root = { ignore: !IS_ROOT };

/** Parses a command line with no environment, collecting warnings; descriptors hold what `fds` says. */
function parse(args: string[], fds: Record<number, string> = {}): { request: BwrapRequest; warnings: string[] } {
  const warnings: string[] = [];
  const request = parseBwrap(args, {
    warn: (message, prefixed) => warnings.push(`${prefixed ? "<4>" : ""}${message}`),
    read: (fd) => new TextEncoder().encode(fds[fd] ?? ""),
    env: { HOME: "/home/x", FOO: "1" },
  });
  return { request, warnings };
}

function options(args: string[], fds: Record<number, string> = {}) {
  const { request } = parse(args, fds);
  if (request.kind !== "run") throw new Error(`not a run: ${request.kind}`);
  return request.options;
}

function refused(args: string[], message: string): void {
  const error = assertThrows(() => parse(args), BwrapError);
  assertEquals(error.message, message);
}

Deno.test("parseBwrap() takes options up to the program or --, and the program's own options are its", () => {
  const o = options(["--ro-bind", "/", "/", "--unshare-pid", "ls", "--dev", "-l"]);
  assertEquals(o.argv, ["ls", "--dev", "-l"]);
  assert(o.unshare.pid);
  assertEquals(o.ops, [{ op: "bind", source: "/", dest: "/", readonly: true, devices: false, optional: false }]);
  assertEquals(options(["--", "--dev-bind", "/dev", "/dev"]).argv, ["--dev-bind", "/dev", "/dev"]);
  assertEquals(parse([]).request.kind, "usage");
  assertEquals(parse(["--unshare-net"]).request.kind, "usage");
  assertEquals(parse(["--bind", "/", "/", "--help", "--bogus"]).request.kind, "help");
  assertEquals(parse(["--version"]).request.kind, "version");
});

Deno.test("parseBwrap() reads more options from --args descriptors, in order, but no program from them", () => {
  const o = options(["--args", "5", "--args", "6", "true"], {
    5: "--dir\0/a\0",
    6: "--setenv\0X\0y z\0--dir\0/b\0ignored-program\0--dir\0/c\0",
  });
  assertEquals(o.ops.map((op) => op.dest), ["/a", "/b"]);
  assertEquals(o.env.get("X"), "y z");
  assertEquals(o.argv, ["true"]);
  const error = assertThrows(() => parse(["--args", "5", "true"], { 5: "--args\x006\0" }), BwrapError);
  assertEquals(error.message, "--args not supported in arguments file");
});

Deno.test("parseBwrap() keeps the last of an option with bubblewrap's warning, and --level-prefix marks it", () => {
  const { request, warnings } = parse([
    "--chdir",
    "/a",
    "--level-prefix",
    "--chdir",
    "/b",
    "--uid",
    "1",
    "--uid",
    "2",
    "x",
  ]);
  assertEquals(request.kind === "run" && [request.options.chdir, request.options.uid], ["/b", 2]);
  assertEquals(warnings, [
    "<4>Only the last --chdir option will take effect",
    "<4>Only the last --uid option will take effect",
  ]);
});

Deno.test("parseBwrap() applies --perms and --size to the next operation only", () => {
  const o = options([
    "--perms",
    "0700",
    "--size",
    "1048576",
    "--tmpfs",
    "/a",
    "--tmpfs",
    "/b",
    "--perms",
    "640",
    "--file",
    "0",
    "/f",
    "x",
  ]);
  assertEquals(o.ops, [
    { op: "tmpfs", dest: "/a", mode: 0o700, size: 1048576 },
    { op: "tmpfs", dest: "/b", mode: 0o755, size: 0 },
    { op: "file", option: "--file", fd: 0, dest: "/f", mode: 0o640, bind: false, readonly: false },
  ]);
  assertEquals(options(["--bind-data", "3", "/d", "x"]).ops[0], {
    op: "file",
    option: "--bind-data",
    fd: 3,
    dest: "/d",
    mode: 0o600,
    bind: true,
    readonly: false,
  });
  assertEquals(options(["--size", "0x100000", "--tmpfs", "/h", "x"]).ops[0], {
    op: "tmpfs",
    dest: "/h",
    mode: 0o755,
    size: 1048576,
  });
});

Deno.test("parseBwrap() refuses what bubblewrap refuses, in its words", () => {
  refused(["--bogus", "x"], "Unknown option --bogus");
  refused(["--bind", "/"], "--bind takes two arguments");
  refused(["--proc"], "--proc takes an argument");
  refused(["--overlay", "a", "b"], "--overlay takes three arguments");
  refused(["--perms", "0640", "--perms", "0640", "--tmpfs", "/a", "x"], "--perms given twice for the same action");
  refused(["--perms", "0640", "--bind", "/", "/", "x"], "--perms must be followed by an option that creates a file");
  refused(["--perms", "8", "--dir", "/a", "x"], "--perms takes an octal argument <= 07777");
  refused(["--perms", "17777", "--dir", "/a", "x"], "--perms takes an octal argument <= 07777");
  refused(["--size", "1", "--dir", "/a", "x"], "--size must be followed by --tmpfs");
  for (const size of ["0", "123bogus", "", "-12345678", " -12345678", "18446744073709551616"]) {
    refused(["--size", size, "--tmpfs", "/a", "x"], "--size takes a non-zero number of bytes");
  }
  refused(
    ["--size", "9223372036854775809", "--tmpfs", "/a", "x"],
    "--size (for tmpfs) is limited to 9223372036854775807",
  );
  refused(
    ["--overlay-src", "/a", "x"],
    "--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay",
  );
  refused(
    ["--overlay-src", "/a", "--chdir", "/", "x"],
    "--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay",
  );
  refused(["--overlay", "u", "w", "/d", "x"], "--overlay requires at least one --overlay-src");
  refused(["--tmp-overlay", "/d", "x"], "--tmp-overlay requires at least one --overlay-src");
  refused(["--overlay-src", "/a", "--ro-overlay", "/d", "x"], "--ro-overlay requires at least two --overlay-src");
  refused(["--seccomp", "0a", "x"], "Invalid fd: 0a");
  refused(["--add-seccomp-fd", "-1", "x"], "Invalid fd: -1");
  refused(["--uid", "x", "y"], "Invalid uid: x");
  refused(["--argv0", "a", "--argv0", "b", "x"], "--argv0 used multiple times");
  refused(["--cap-add", "CAP_NOPE", "x"], "unknown cap: CAP_NOPE");
  refused(["--exec-label", "l", "x"], "--exec-label: SELinux labels are not supported by nsh");
  refused(["--file-label", "l", "x"], "--file-label: SELinux labels are not supported by nsh");
});

Deno.test("parseBwrap() reads --add-seccomp-fd at once and checks it as bubblewrap does", () => {
  const error = assertThrows(() => parse(["--add-seccomp-fd", "9", "x"], { 9: "\x01" }), BwrapError);
  assertEquals(error.message, "Invalid seccomp data, must be multiple of 8");
});

Deno.test("nsh bwrap --help names the command as it was called; no program is a usage error", () => {
  const help = bwrapHelp("/opt/bwrap");
  assertMatch(help, /^usage: \/opt\/bwrap \[OPTIONS\.\.\.\] \[--\] COMMAND \[ARGS\.\.\.\]\n/);
  for (
    const option of ["--args FD", "--userns2 FD", "--json-status-fd FD", "--add-seccomp-fd FD", "--chmod OCTAL PATH"]
  ) {
    assert(help.includes(`    ${option}`), option);
  }
});

// ---------------------------------------------------------------------------
// End to end

/** A wrapper that runs this checkout's nsh bwrap, named bwrap, as bubblewrap's tests call it. */
function wrapper(dir: string, deno: string, cli: string): string {
  const path = `${dir}/bwrap`;
  Deno.writeTextFileSync(path, `#!/bin/bash\nexec -a "$0" ${deno} run -A --quiet ${cli} bwrap "$@"\n`);
  Deno.chmodSync(path, 0o755);
  return path;
}

/** Runs a bash script as root with $BWRAP, in a directory of its own ($T). */
async function asRoot(script: string): Promise<Output> {
  // Under /var/tmp: $RUN puts a tmpfs on /tmp, which would hide it.
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "nsh-bwrap-test-" });
  try {
    const bwrap = wrapper(dir, Deno.execPath(), CLI);
    Deno.mkdirSync(`${dir}/t`);
    return await run("bash", ["-c", script], { env: { BWRAP: bwrap, T: `${dir}/t` }, cwd: `${dir}/t` });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Runs a bash script as nobody with $BWRAP, in a directory of its own ($T). */
function asNobody(script: string): Promise<Output> {
  return runUnprivileged(`
    const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "nsh-bwrap-test-" });
    const bwrap = dir + "/bwrap";
    Deno.writeTextFileSync(bwrap, '#!/bin/bash\\nexec -a "$0" ' + Deno.execPath() + ' run -A --quiet $REPO/cli.ts bwrap "$@"\\n');
    Deno.chmodSync(bwrap, 0o755);
    Deno.mkdirSync(dir + "/t");
    const out = await new Deno.Command("bash", {
      args: ["-c", ${JSON.stringify(script)}],
      env: { BWRAP: bwrap, T: dir + "/t" },
      cwd: dir + "/t",
    }).output();
    Deno.stdout.writeSync(out.stdout);
    Deno.stderr.writeSync(out.stderr);
    // overlayfs leaves its work directory without permissions.
    await new Deno.Command("chmod", { args: ["-R", "u+rwX", dir] }).output();
    Deno.removeSync(dir, { recursive: true });
    Deno.exit(out.code);
  `);
}

const RUN = '"$BWRAP" --bind / / --tmpfs /tmp';

for (const [who, runAs, ignore] of [["root", asRoot, !IS_ROOT], ["nobody", asNobody, false]] as const) {
  Deno.test({
    name: `nsh bwrap as ${who}: the program runs under nsh's init as PID 2, or as PID 1 with --as-pid-1`,
    ignore,
    async fn() {
      const out = await runAs(`
        ${RUN} --unshare-pid --proc /proc sh -c 'echo $$ $PPID
          # PID 1 runs the init once the program has started (vfork): a moment after.
          for i in $(seq 40); do c=$(cat /proc/1/comm); [ "$c" = nsh-init ] && break; sleep 0.05; done; echo $c'
        ${RUN} --unshare-pid --as-pid-1 --proc /proc sh -c 'echo $$'
        ${RUN} --as-pid-1 true; echo "as-pid-1 alone: $?"
        # bubblewrap returns when the program ends, while its orphans run on:
        # the orphan holds a lock on "held" until it reads a byte from the
        # FIFO "go" (its timeout only keeps a wrong bwrap from waiting for ever).
        mkfifo go
        ${RUN} --dev /dev --unshare-pid sh -c 'exec 8>held; flock 8; timeout 120 head -c1 go >/dev/null 2>&1 & exit 3'
        echo "orphan left: $?"
        flock -n held true; echo "returned while it runs: $?"
        exec 9<>go; echo >&9; flock held true; exec 9>&-
        # SIGTERM sent to nsh goes on to the program, not to the init.
        ${RUN} --dev /dev --unshare-pid sh -c 'trap "kill \\$!; echo got TERM; exit 5" TERM; echo ready; sleep 9 & wait' > out &
        for i in $(seq 100); do grep -q ready out 2>&- && break; sleep 0.05; done
        kill -TERM $!; wait $!; echo "terminated: $?"; cat out
      `);
      assertEquals(out.stderr, "bwrap: Specifying --as-pid-1 requires --unshare-pid\n");
      assertEquals(
        out.stdout,
        "2 1\nnsh-init\n1\nas-pid-1 alone: 1\norphan left: 3\nreturned while it runs: 1\nterminated: 5\nready\ngot TERM\n",
      );
    },
  });

  Deno.test({
    name: `nsh bwrap as ${who}: exits with the program's status, 128+N for a signal, 1 for its own failures`,
    ignore,
    async fn() {
      const out = await runAs(`
        ${RUN} sh -c 'exit 7'; echo $?
        ${RUN} --unshare-pid sh -c 'kill -TERM $$'; echo $?
        ${RUN} nosuch-nsh-program; echo $?
        ${RUN} --bind /nonexistent-nsh-source /x true; echo $?
        ${RUN} --bind-try /nonexistent-nsh-source /x sh -c 'test -e /x; echo $?'; echo $?
      `);
      assertEquals(out.stdout, "7\n143\n1\n1\n1\n0\n");
      const lines = out.stderr.split("\n");
      assertMatch(lines[0]!, /^bwrap: Cannot execute "nosuch-nsh-program": execve\(\) failed with ENOENT/);
      assertEquals(lines[1], "bwrap: Can't find source path /nonexistent-nsh-source: No such file or directory");
      assertEquals(lines.length, 3);
    },
  });

  Deno.test({
    name: `nsh bwrap as ${who}: --info-fd and --json-status-fd report the pid, the namespaces and the exit code`,
    ignore,
    async fn() {
      const out = await runAs(`
        ${RUN} --proc /proc --unshare-all --info-fd 8 --json-status-fd 9 sh -c 'stat -L -c "%n %i" /proc/self/ns/* ; exit 42' 8>info.json 9>status.json
        echo "status $?"
        cat info.json status.json
        ${RUN} --json-status-fd 9 / 9>failed.json; echo "failed $?"; cat failed.json
      `);
      const lines = out.stdout.split("\n");
      const inode = (type: string) => lines.find((l) => l.startsWith(`/proc/self/ns/${type} `))!.split(" ")[1];
      const info = JSON.parse(out.stdout.slice(out.stdout.indexOf("{"), out.stdout.indexOf("}") + 1));
      assert(info["child-pid"] > 0);
      for (const type of ["cgroup", "ipc", "mnt", "net", "pid", "uts"]) {
        assertEquals(String(info[`${type}-namespace`]), inode(type), type);
      }
      const status = lines.filter((l) => l.startsWith("{ "));
      assertEquals(status.length, 3);
      assertEquals(JSON.parse(status[0]!)["child-pid"], info["child-pid"]);
      assertEquals(status[1], '{ "exit-code": 42 }');
      assert(lines.includes("status 42"));
      // An exec that failed has a child-pid but no exit-code.
      assert(lines.includes("failed 1"));
      assertMatch(status[2]!, /^\{ "child-pid": \d+, "mnt-namespace": \d+ \}$/);
    },
  });

  Deno.test({
    name: `nsh bwrap as ${who}: the environment, argv0 and the working directory`,
    ignore,
    async fn() {
      const out = await runAs(`
        FOO=wrong BAR=baz ${RUN} --setenv FOO bar sh -c 'echo "$FOO$BAR"'
        FOO=wrong BAR=wrong ${RUN} --clearenv --setenv A b /usr/bin/env
        ${RUN} --argv0 right sh -c 'echo $0'
        ${RUN} --chdir /usr --chdir /etc sh -c 'pwd; echo $PWD'
        ${RUN} --tmpfs /var/tmp --setenv HOME /usr sh -c 'pwd; echo $PWD'
        ${RUN} --tmpfs /var/tmp --setenv HOME /nonexistent-nsh-home sh -c 'pwd; echo $PWD'
      `);
      assertEquals(
        out.stdout,
        `barbaz\nA=b\nPWD=${out.stdout.split("PWD=")[1]!.split("\n")[0]}\nright\n/etc\n/etc\n/usr\n/usr\n/\n/\n`,
      );
      assertEquals(out.stderr, "bwrap: Only the last --chdir option will take effect\n");
    },
  });

  Deno.test({
    name: `nsh bwrap as ${who}: binds, directories, files, links, tmpfs and modes as bubblewrap makes them`,
    ignore,
    async fn() {
      const out = await runAs(`
        set -e
        mkdir some-dir; touch some-file
        ${RUN} --bind "$T/some-dir" "$T/new-dir" --bind "$T/some-file" "$T/new-file" \\
          --perms 0750 --dir "$T/p/q" --perms 0700 --dir "$T/r/s" --perms 01777 --tmpfs /tmp/t \\
          --size 1048576 --tmpfs /tmp/s --file 3 /tmp/file --perms 0640 --bind-data 4 /tmp/data \\
          --ro-bind-data 5 /tmp/ro --chmod 0711 "$T/some-dir" --symlink /dev/null "$T/link" \\
          sh -c 'stat -c "%n %a" /tmp/t /tmp/file /tmp/data /tmp/ro; df --output=size --block-size=1K /tmp/s | tail -1 | tr -d " "
                 cat /tmp/file /tmp/data; echo x 2>&- > /tmp/ro || echo read-only' \\
          3< <(echo file) 4< <(echo data) 5< /dev/null
        stat -c '%n %a' new-dir new-file p p/q r r/s some-dir
        readlink link
        ${RUN} --bind "$T" "$T" --symlink /dev/null "$T/link" true && echo same link again
        ${RUN} --bind "$T" "$T" --symlink /dev/full "$T/link" true || echo "other link: $?"
      `);
      assertEquals(
        out.stdout,
        "/tmp/t 1777\n/tmp/file 666\n/tmp/data 640\n/tmp/ro 600\n1024\nfile\ndata\nread-only\n" +
          "new-dir 755\nnew-file 444\np 750\np/q 750\nr 700\nr/s 700\nsome-dir 711\n/dev/null\nsame link again\nother link: 1\n",
      );
      assertMatch(out.stderr, /^bwrap: Can't make symlink at .*\/link: existing destination is \/dev\/null\n$/);
    },
  });

  Deno.test({
    name: `nsh bwrap as ${who}: capabilities, no_new_privs and a new session`,
    ignore,
    async fn() {
      const out = await runAs(`
        status() { grep -E '^(CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status | tr '\\n' ' '; echo; }
        ${RUN} sh -c "$(declare -f status); status"
        ${RUN} --cap-drop ALL sh -c "$(declare -f status); status"
        ${RUN} --uid 0 --unshare-user --cap-add CAP_NET_ADMIN sh -c "$(declare -f status); status"
        ${RUN} --uid 0 --unshare-user --cap-add ALL --cap-drop CAP_KILL sh -c "$(declare -f status); status"
        ${RUN} --new-session sh -c 'test "$(ps -o sid= -p $$)" -ne "$(ps -o sid= -p $PPID)" && echo new session'
      `);
      const lines = out.stdout.split("\n");
      // Root keeps what it has; anyone else keeps nothing.
      const own = /^CapEff:\s*(\w+)$/m.exec(Deno.readTextFileSync("/proc/self/status"))![1];
      assertMatch(
        lines[0]!,
        who === "root"
          ? new RegExp(`CapEff:\t${own} .*NoNewPrivs:\t1`)
          : /CapEff:\t0+ CapBnd:\t0+ CapAmb:\t0+ NoNewPrivs:\t1/,
      );
      assertMatch(lines[1]!, /CapEff:\t0+ CapBnd:\t0+ CapAmb:\t0+ NoNewPrivs:\t1/);
      // Root starts from all it has, and keeps it; nobody from nothing.
      assertMatch(
        lines[2]!,
        who === "root"
          ? new RegExp(`CapEff:\t${own} CapBnd:\t${own} CapAmb:\t0+ NoNewPrivs:\t1`)
          : /CapEff:\t0+1000 CapBnd:\t0+1000 CapAmb:\t0+ NoNewPrivs:\t1/,
      );
      assertMatch(lines[3]!, /CapEff:\t0*1ffffffffdf CapBnd:\t0*1ffffffffdf CapAmb:\t0+ NoNewPrivs:\t1/);
      assertEquals(lines[4], "new session");
      assertEquals(out.stderr, "");
    },
  });

  Deno.test({
    name: `nsh bwrap as ${who}: namespaces: user maps, a hostname, a loopback, user namespaces disabled`,
    ignore,
    async fn() {
      const out = await runAs(`
        ${RUN} --unshare-user --uid 5 --gid 6 sh -c 'id -u; id -g'
        ${RUN} --unshare-uts --hostname nsh-box hostname
        ${RUN} --hostname nsh-box true; echo "no uts: $?"
        ${RUN} --unshare-net sh -c 'ip -br link | cut -d" " -f1; ip -br -4 addr | grep -o 127.0.0.1/8'
        ${RUN} --unshare-user --disable-userns sh -c 'unshare -U true 2>&- || echo cannot make one'
        ${RUN} --unshare-user --assert-userns-disabled true; echo "asserted: $?"
        ${RUN} --unshare-user --disable-userns --assert-userns-disabled true; echo "asserted when disabled: $?"
        ${RUN} --dev /dev --uid 1000 --gid 1000 --unshare-user sh -c 'id -u; test -c /dev/pts/ptmx && echo devpts'
      `);
      assertEquals(
        out.stdout,
        "5\n6\nnsh-box\nno uts: 1\nlo\n127.0.0.1/8\ncannot make one\nasserted: 1\nasserted when disabled: 0\n1000\ndevpts\n",
      );
      const lines = out.stderr.split("\n");
      assertEquals(lines[0], "bwrap: Specifying --hostname requires --unshare-uts");
      assertMatch(lines[1]!, /^bwrap: Cannot make sure that the program cannot create user namespaces: .*not disabled/);
    },
  });

  Deno.test({
    name: `nsh bwrap as ${who}: overlays, with a directory, a throwaway tmpfs or read-only`,
    ignore,
    async fn() {
      const out = await runAs(`
        mkdir lower1 lower2 upper work
        printf 1 > lower1/a; printf 2 > lower1/b; printf 3 > lower2/b; printf 4 > upper/a
        ${RUN} --overlay-src lower1 --overlay-src lower2 --overlay upper work /tmp/x/y sh -c 'cat /tmp/x/y/a /tmp/x/y/b; echo; printf 5 > /tmp/x/y/b'
        cat upper/b; echo
        ${RUN} --overlay-src lower1 --tmp-overlay /tmp/x sh -c 'printf 6 > /tmp/x/b; cat /tmp/x/b; echo'
        cat lower1/b; echo
        ${RUN} --overlay-src lower1 --overlay-src lower2 --ro-overlay /tmp/x sh -c 'cat /tmp/x/b; printf 7 2>&- > /tmp/x/b || echo " read-only"'
      `);
      assertEquals(out.stdout, "43\n5\n6\n2\n3 read-only\n", out.stderr);
    },
  });

  Deno.test({
    name:
      `nsh bwrap as ${who}: --block-fd waits, --args reads options, --seccomp loads a filter, /proc/self/exe is bwrap`,
    ignore,
    async fn() {
      const filter = compileSeccomp({
        defaultAction: "allow",
        rules: [{ syscalls: ["chmod", "fchmodat"], action: { errno: "ECONNREFUSED" } }],
      });
      const bpf = Array.from(ownBytes(filter));
      const out = await runAs(`
        printf '${bpf.map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("")}' > filter.bpf
        start=$(date +%s%N)
        ${RUN} --block-fd 3 true 3< <(sleep 0.5; echo go)
        echo "waited: $(( ($(date +%s%N) - start) >= 500000000 ))"
        printf '%s\\0' --setenv X from-args > args
        ${RUN} --args 3 sh -c 'echo $X' 3< args
        ${RUN} --seccomp 3 sh -c 'touch f; chmod 600 f 2>&1 | grep -c refused' 3< filter.bpf
        "$BWRAP" --bind / / --unshare-user --uid 0 --cap-add ALL -- /proc/self/exe --ro-bind / / echo recursion
      `);
      assertEquals(out.stdout, "waited: 1\nfrom-args\n1\nrecursion\n");
    },
  });
}

Deno.test({
  name: "nsh bwrap as root: --lock-file is held while the sandbox runs, and --die-with-parent kills it with its caller",
  ...root,
  ignore: !IS_ROOT || !hasProgram("python3"),
  async fn() {
    const out = await asRoot(`
      cat > lock.py <<'EOF'
import fcntl, struct, sys
fd = open(sys.argv[1], "a")
try:
    fcntl.fcntl(fd.fileno(), fcntl.F_SETLK, struct.pack("hhqqhh", fcntl.F_WRLCK, 0, 0, 0, 0, 0))
    print("free")
except OSError:
    print("locked")
EOF
      touch lock
      bash -c "${RUN} --die-with-parent --unshare-pid --lock-file $T/lock sleep 61" &
      shell=$!
      for i in $(seq 50); do [ "$(python3 lock.py lock)" = locked ] && break; sleep 0.1; done
      python3 lock.py lock
      kill -9 $shell
      for i in $(seq 50); do [ "$(python3 lock.py lock)" = free ] && break; sleep 0.1; done
      python3 lock.py lock
      pgrep -fx "sleep 61" >/dev/null && echo left || echo gone
    `);
    assertEquals(out.stdout, "locked\nfree\ngone\n");
  },
});

Deno.test({
  name: "nsh bwrap as root: --userns and --pidns join a running sandbox's namespaces",
  ...root,
  async fn() {
    const out = await asRoot(`
      mkfifo done
      ${RUN} --info-fd 8 --unshare-user --unshare-pid sh -c 'readlink /proc/self/ns/user /proc/self/ns/pid > first; cat < done' 8>info.json >/dev/null &
      for i in $(seq 100); do test -s first && break; sleep 0.1; done
      pid=$(grep child-pid info.json | sed 's/[^0-9]//g')
      ${RUN} --userns 11 --pidns 12 readlink /proc/self/ns/user /proc/self/ns/pid > second 11< /proc/$pid/ns/user 12< /proc/$pid/ns/pid
      echo go > done; wait
      cmp first second && echo same
    `);
    assertEquals(out.stdout, "same\n");
  },
});

Deno.test({
  name: "nsh bwrap writes nothing into the caller's mount namespace, also when it fails",
  ...root,
  async fn() {
    const before = Deno.readTextFileSync("/proc/self/mountinfo");
    const out = await asRoot(`
      ${RUN} --dir /tmp/a --proc /proc --dev /dev --unshare-pid true
      ${RUN} --dir /tmp/a --bind /nonexistent-nsh-source /x true
      ${RUN} --dir /tmp/a --proc /proc nosuch-nsh-program
      echo done
    `);
    assertEquals(out.stdout, "done\n");
    assertEquals(Deno.readTextFileSync("/proc/self/mountinfo"), before);
  },
});

// ---------------------------------------------------------------------------
// The steps behind it, through the API

const USERNS = IS_ROOT || (await unshare({ user: true, mapRootUser: true }).run("true").noThrow()).code === 0;

Deno.test({
  name: "loopback() brings lo up with 127.0.0.1 in a new network namespace",
  ignore: !USERNS,
  async fn() {
    const out = await unshare({ user: true, mapRootUser: true }).loopback().run("sh", "-c", "ip -br -4 addr").text();
    assertMatch(out, /^lo\s+UNKNOWN\s+127\.0\.0\.1\/8\s*$/);
  },
});

Deno.test({
  name: "nestedUser() runs the program as its own ids in a namespace nested in the box's, and can disable new ones",
  ignore: !USERNS,
  async fn() {
    const box = unshare({ user: true, mapRootUser: true }).nestedUser({ uid: 7, gid: 8, disableUserNamespaces: true });
    const out = await box.run("sh", "-c", "id -u; id -g; cat /proc/self/uid_map; unshare -U true 2>&- || echo refused")
      .text();
    assertEquals(out.split("\n").map((l) => l.trim().split(/\s+/).join(" ")), ["7", "8", "7 0 1", "refused"]);
    const checked = await box.assertNoUserNamespaces().run("true").noThrow();
    assertEquals(checked.code, 0);
    const error = await assertRejects(
      () => unshare({ user: true, mapRootUser: true }).assertNoUserNamespaces().run("true"),
      SyscallError,
    );
    assertEquals(error.code, "ECANCELED");
    assertMatch(error.message, /creating one succeeded: new user namespaces are not disabled/);
  },
});

Deno.test({
  name: "programWorkdir() takes the first directory the program can enter, and the last must work",
  ignore: !USERNS,
  async fn() {
    const box = unshare({ user: true, mapRootUser: true });
    assertEquals(await box.programWorkdir("/nonexistent-nsh-dir", "/usr", "/").run("pwd").text(), "/usr");
    const error = await assertRejects(() => box.programWorkdir("/nonexistent-nsh-dir").run("pwd"), SyscallError);
    assertMatch(error.message, /change the working directory to "\/nonexistent-nsh-dir": chdir\(\) failed with ENOENT/);
  },
});

Deno.test({
  name: "nsh bwrap as root: --sync-fd stays open in the init while orphans run; --userns-block-fd waits for the maps",
  ...root,
  async fn() {
    const out = await asRoot(`
      start=$(date +%s%N)
      ( ${RUN} --dev /dev --unshare-pid --sync-fd 3 sh -c 'sleep 1 >/dev/null 2>&1 &' 3>&1 >/dev/null ) |
        { cat; echo "end of file once the sandbox is empty: $(( $(date +%s%N) - start >= 900000000 ))"; }
      mkfifo block
      ${RUN} --unshare-user --info-fd 8 --userns-block-fd 9 sh -c 'cat /proc/self/uid_map' 8>info.json 9<block > maps &
      exec 7>block
      for i in $(seq 100); do grep -q child-pid info.json 2>&- && break; sleep 0.05; done
      pid=$(grep child-pid info.json | sed 's/[^0-9]//g')
      echo "0 0 1" > /proc/$pid/uid_map; echo deny > /proc/$pid/setgroups; echo "0 0 1" > /proc/$pid/gid_map
      echo go >&7; exec 7>&-; wait $!
      echo "status $?"; tr -s ' ' < maps
    `);
    assertEquals(out.stdout, "end of file once the sandbox is empty: 1\nstatus 0\n 0 0 1\n", out.stderr);
  },
});
