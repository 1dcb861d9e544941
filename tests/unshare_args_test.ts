/**
 * parseUnshare() turns util-linux `unshare` arguments into options, and
 * planUnshare() reports the plan's objections as usage errors.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { keptEnvironment, parseUnshare, planUnshare, UNSHARE_OPTIONS, type UnshareRequest } from "../cli/unshare.ts";
import { UsageError } from "../cli/usage.ts";
import type { UnshareOptions } from "../lib/util_linux_options.ts";

type Run = Extract<UnshareRequest, { kind: "run" }>;

function run(args: string[], shell?: string): Run {
  const request = parseUnshare(args, shell);
  assert(request.kind === "run", `expected a run request, got ${request.kind}`);
  return request;
}

function options(...args: string[]): UnshareOptions {
  return run(args).options;
}

function usageError(...args: string[]): UsageError {
  const error = assertThrows(() => parseUnshare(args), UsageError);
  assertEquals([error.command, error.exitCode], ["unshare", 1]);
  return error;
}

Deno.test("parseUnshare() runs the given shell when no program is given", () => {
  assertEquals(run([], "/bin/zsh"), { kind: "run", options: {}, argv: ["/bin/zsh"], program: false, steps: [] });
  assertEquals(run(["-m"], "/bin/zsh").argv, ["/bin/zsh"]);
});

Deno.test("parseUnshare() runs /bin/sh by default", () => {
  assertEquals(run([]).argv, ["/bin/sh"]);
});

Deno.test("parseUnshare() sets each namespace from its short option", () => {
  assertEquals(options("-m", "-u", "-i", "-n", "-p", "-U", "-C", "-T"), {
    mount: true,
    uts: true,
    ipc: true,
    net: true,
    pid: true,
    user: true,
    cgroup: true,
    time: true,
  });
});

Deno.test("parseUnshare() sets each namespace from its long option", () => {
  assertEquals(options("--mount", "--uts", "--ipc", "--net", "--pid", "--user", "--cgroup", "--time"), {
    mount: true,
    uts: true,
    ipc: true,
    net: true,
    pid: true,
    user: true,
    cgroup: true,
    time: true,
  });
});

Deno.test("parseUnshare() reads grouped short flags", () => {
  const request = run(["-mpfr", "--mount-proc", "ps", "-e"]);
  assertEquals(request.options, { mount: true, pid: true, mapRootUser: true, mountProc: true });
  assertEquals(request.argv, ["ps", "-e"]);
});

Deno.test("parseUnshare() keeps the program's options for the program", () => {
  const request = run(["--net", "ip", "-br", "addr"]);
  assertEquals(request.options, { net: true });
  assertEquals(request.argv, ["ip", "-br", "addr"]);
});

Deno.test("parseUnshare() stops at -- and runs what follows", () => {
  const request = run(["-n", "--", "--weird-program", "-m"]);
  assertEquals(request.options, { net: true });
  assertEquals(request.argv, ["--weird-program", "-m"]);
});

Deno.test("parseUnshare() records a namespace file given with =", () => {
  const request = run(["--net=/run/netns/a", "--mount=/run/mnt", "--user=/u", "--time=/t", "true"]);
  assertEquals(request.options, { net: "/run/netns/a", mount: "/run/mnt", user: "/u", time: "/t" });
  assertEquals(request.argv, ["true"]);
});

Deno.test("parseUnshare() takes the word after a namespace option as the program", () => {
  const request = run(["--net", "/run/netns/a"]);
  assertEquals(request.options, { net: true });
  assertEquals(request.argv, ["/run/netns/a"]);
  assertEquals(run(["-n", "/run/netns/a"]).argv, ["/run/netns/a"]);
});

Deno.test("parseUnshare() accepts an abbreviated long option", () => {
  assertEquals(options("--mount-p", "--prop", "slave", "--kill"), {
    mountProc: true,
    propagation: "slave",
    killChild: 9,
  });
});

Deno.test("parseUnshare() accepts --fork and ignores it", () => {
  assertEquals(options("-f", "--fork", "-p"), { pid: true });
});

Deno.test("parseUnshare() returns help for -h and --help", () => {
  assertEquals(parseUnshare(["-h"]), { kind: "help" });
  assertEquals(parseUnshare(["-m", "--help", "ls"]), { kind: "help" });
});

Deno.test("parseUnshare() returns the version for -V and --version", () => {
  assertEquals(parseUnshare(["-V"]), { kind: "version" });
  assertEquals(parseUnshare(["--vers"]), { kind: "version" });
});

Deno.test("parseUnshare() maps the current user from -r, -c and --map-auto", () => {
  assertEquals(options("-r"), { mapRootUser: true });
  assertEquals(options("--map-root-user"), { mapRootUser: true });
  assertEquals(options("-c"), { mapCurrentUser: true });
  assertEquals(options("--map-current-user"), { mapCurrentUser: true });
  assertEquals(options("--map-auto"), { mapAuto: true });
});

Deno.test("parseUnshare() reads --map-user and --map-group as ids or names", () => {
  assertEquals(options("--map-user=1000", "--map-group", "100"), { mapUser: 1000, mapGroup: 100 });
  assertEquals(options("--map-user", "alice", "--map-group=wheel"), { mapUser: "alice", mapGroup: "wheel" });
});

Deno.test("parseUnshare() reads --map-users as outer,inner,count (util-linux 2.38)", () => {
  assertEquals(options("--map-users=100000,0,65536"), { mapUsers: [{ outside: 100000, inside: 0, count: 65536 }] });
  assertEquals(options("--map-groups", "200000,1,10"), { mapGroups: [{ outside: 200000, inside: 1, count: 10 }] });
});

Deno.test("parseUnshare() reads --map-users as inner:outer:count (util-linux 2.39)", () => {
  assertEquals(options("--map-users=0:100000:65536"), { mapUsers: [{ inside: 0, outside: 100000, count: 65536 }] });
  assertEquals(options("--map-groups=1:200000:10"), { mapGroups: [{ inside: 1, outside: 200000, count: 10 }] });
});

Deno.test("parseUnshare() reads --map-users=auto", () => {
  assertEquals(options("--map-users=auto", "--map-groups", "auto"), { mapUsers: "auto", mapGroups: "auto" });
});

Deno.test("parseUnshare() keeps the last of repeated --map-users", () => {
  assertEquals(options("--map-users=1,2,3", "--map-users=4:5:6"), { mapUsers: [{ inside: 4, outside: 5, count: 6 }] });
});

Deno.test("parseUnshare() rejects a malformed --map-users block", () => {
  for (const bad of ["1,2", "1:2:3:4", "a,b,c", "1,2:3", "", "-1,0,1"]) {
    const error = usageError(`--map-users=${bad}`);
    assert(error.message.includes(`"${bad}"`), error.message);
    assert(error.message.includes("expected outer,inner,count or inner:outer:count"), error.message);
  }
  usageError("--map-groups=1,2");
});

Deno.test("parseUnshare() words a malformed --map-users block in lowercase like its other messages", () => {
  assertEquals(
    usageError("--map-users=1,2").message,
    'cannot parse id block "1,2": expected outer,inner,count or inner:outer:count',
  );
});

Deno.test("parseUnshare() sends SIGKILL for --kill-child without a value", () => {
  assertEquals(options("--kill-child"), { killChild: 9 });
});

Deno.test("parseUnshare() reads a --kill-child signal by name or number", () => {
  assertEquals(options("--kill-child=TERM"), { killChild: 15 });
  assertEquals(options("--kill-child=SIGTERM"), { killChild: 15 });
  assertEquals(options("--kill-child=sigint"), { killChild: 2 });
  assertEquals(options("--kill-child=RTMIN+2"), { killChild: 36 });
  assertEquals(options("--kill-child=1"), { killChild: 1 });
});

Deno.test("parseUnshare() takes the word after --kill-child as the program", () => {
  const request = run(["--kill-child", "TERM"]);
  assertEquals(request.options, { killChild: 9 });
  assertEquals(request.argv, ["TERM"]);
});

Deno.test("parseUnshare() rejects an unknown --kill-child signal", () => {
  assertEquals(usageError("--kill-child=FOO").message, "unknown signal: FOO");
  assertEquals(usageError("--kill-child=0").message, "unknown signal: 0");
  assertEquals(usageError("--kill-child=65").message, "unknown signal: 65");
  assertEquals(usageError("--kill-child=").message, "unknown signal: ");
});

Deno.test("parseUnshare() reads --mount-proc with and without a directory", () => {
  assertEquals(options("--mount-proc"), { mountProc: true });
  assertEquals(options("--mount-proc=/mnt/proc"), { mountProc: "/mnt/proc" });
  assertEquals(run(["--mount-proc", "/mnt/proc"]).argv, ["/mnt/proc"]);
});

Deno.test("parseUnshare() reads every --propagation mode", () => {
  for (const mode of ["slave", "shared", "private", "unchanged"] as const) {
    assertEquals(options(`--propagation=${mode}`), { propagation: mode });
  }
});

Deno.test("parseUnshare() rejects an unknown --propagation mode", () => {
  assertEquals(usageError("--propagation", "rslave").message, "unsupported propagation mode: rslave");
  assertEquals(usageError("--propagation=").message, "unsupported propagation mode: ");
});

Deno.test("parseUnshare() reads --setgroups allow and deny", () => {
  assertEquals(options("--setgroups=allow"), { setgroups: "allow" });
  assertEquals(options("--setgroups", "deny"), { setgroups: "deny" });
});

Deno.test("parseUnshare() rejects another --setgroups value", () => {
  assertEquals(usageError("--setgroups=ALLOW").message, "unsupported --setgroups argument 'ALLOW'");
});

Deno.test("parseUnshare() reads --keep-caps, --root and --wd", () => {
  assertEquals(options("--keep-caps", "-R", "/srv", "-w/tmp"), { keepCaps: true, root: "/srv", wd: "/tmp" });
  assertEquals(options("--root=/a", "--wd", "b"), { root: "/a", wd: "b" });
});

Deno.test("parseUnshare() reads --setuid and --setgid", () => {
  assertEquals(options("-S", "1000", "-G0"), { setuid: 1000, setgid: 0 });
  assertEquals(options("--setuid=4294967294", "--setgid", "4294967294"), { setuid: 4294967294, setgid: 4294967294 });
});

Deno.test("parseUnshare() rejects an id that is not a uid or gid", () => {
  for (const bad of ["abc", "-1", "4294967295", "1.5", "", "0x10", " 1"]) {
    const error = usageError("-S", bad);
    assert(error.message.startsWith("failed to parse uid") && error.message.endsWith(`'${bad}'`), error.message);
  }
  const error = usageError("--setgid=x");
  assert(error.message.startsWith("failed to parse gid") && error.message.endsWith("'x'"), error.message);
});

Deno.test("parseUnshare() words a bad number as util-linux does", () => {
  assertEquals(usageError("--setuid", "abc").message, "failed to parse uid: 'abc'");
  assertEquals(usageError("--setgid=x").message, "failed to parse gid: 'x'");
  assertEquals(usageError("--monotonic=x").message, "failed to parse monotonic offset: 'x'");
  assertEquals(usageError("--boottime=x").message, "failed to parse boottime offset: 'x'");
});

Deno.test("parseUnshare() reads negative clock offsets", () => {
  assertEquals(options("-T", "--monotonic", "-3600", "--boottime=86400"), {
    time: true,
    monotonic: -3600,
    boottime: 86400,
  });
});

Deno.test("parseUnshare() refuses a clock offset without -T, as util-linux does", () => {
  const message = "options --monotonic and --boottime require unsharing of a time namespace (-T)";
  for (const args of [["--boottime", "5"], ["--monotonic=-3"], ["-n", "--boottime=1", "--monotonic=2"]]) {
    const error = usageError(...args, "true");
    assertEquals(error.message, message);
    assert(!error.help, "a value error: no Try --help");
  }
  assertEquals(options("--time=/run/t", "--boottime=5"), { time: "/run/t", boottime: 5 });
});

Deno.test("parseUnshare() reads --forward-signals, --clear-env and --whitelist-env", () => {
  assertEquals(run(["--forward-signals", "true"]).forwardSignals, true);
  assertEquals(run(["true"]).forwardSignals, undefined);
  assertEquals(run(["--clear-env", "true"]).keepEnv, []);
  // Repeated lists add up, as util-linux's do; --clear-env with them keeps them.
  assertEquals(run(["--whitelist-env", "A,B", "--whitelist-env=C,", "--clear-env", "true"]).keepEnv, ["A", "B", "C"]);
  assertEquals(run(["true"]).keepEnv, undefined);
  assertEquals(usageError("--whitelist-env").message, "option '--whitelist-env' requires an argument");
});

Deno.test("keptEnvironment() keeps the listed variables that are set, and nothing else", () => {
  assertEquals(keptEnvironment({ A: "1", B: "", C: "3" }, ["B", "A", "Z"]), { B: "", A: "1" });
  assertEquals(keptEnvironment({ A: "1" }, []), {});
});

Deno.test("parseUnshare() rejects a clock offset that is not a whole number", () => {
  for (const bad of ["1.5", "1e3", "ten", "", "--"]) {
    const error = usageError(`--monotonic=${bad}`);
    assert(error.message.startsWith("failed to parse monotonic offset") && error.message.endsWith(`'${bad}'`));
  }
  const error = usageError("--boottime=99999999999999999999");
  assert(error.message.startsWith("failed to parse boottime offset"), error.message);
});

Deno.test("parseUnshare() reads --hostname and --domainname", () => {
  assertEquals(options("--hostname", "box", "--domainname=example"), { hostname: "box", domainname: "example" });
  assertEquals(options("--hostname="), { hostname: "" });
});

Deno.test("parseUnshare() keeps the last of repeated options", () => {
  assertEquals(options("--hostname=a", "--hostname=b", "-S1", "-S2"), { hostname: "b", setuid: 2 });
});

Deno.test("parseUnshare() reports getopt's errors", () => {
  assertEquals(usageError("--frob").message, "unrecognized option '--frob'");
  assertEquals(usageError("-Z").message, "invalid option -- 'Z'");
  assertEquals(usageError("-R").message, "option requires an argument -- 'R'");
  assertEquals(usageError("--fork=x").message, "option '--fork' doesn't allow an argument");
  assertEquals(
    usageError("--map-g").message,
    "option '--map-g' is ambiguous; possibilities: '--map-group' '--map-groups'",
  );
});

Deno.test("parseUnshare() handles every option it declares", () => {
  const values: Record<string, string> = {
    "map-user": "1",
    "map-group": "1",
    "map-users": "1,2,3",
    "map-groups": "1,2,3",
    propagation: "slave",
    setgroups: "deny",
    root: "/r",
    wd: "/w",
    setuid: "1",
    setgid: "1",
    monotonic: "1",
    boottime: "1",
    hostname: "h",
    domainname: "d",
    "whitelist-env": "A",
  };
  // Options that act on the program, not on its namespaces.
  const program: Record<string, keyof Run> = {
    "forward-signals": "forwardSignals",
    "clear-env": "keepEnv",
    "whitelist-env": "keepEnv",
    usage: "usage",
  };
  for (const spec of UNSHARE_OPTIONS) {
    if (spec.long === "help" || spec.long === "version") continue;
    // A clock offset needs its time namespace.
    const time = spec.long === "monotonic" || spec.long === "boottime" ? ["-T"] : [];
    const args = spec.arg === "required" ? [`--${spec.long}`, values[spec.long]!] : [`--${spec.long}`];
    const request = run([...time, ...args, "prog"]);
    assertEquals(request.argv, ["prog"], spec.long);
    const effects = Object.keys(request.options).length - time.length;
    if (program[spec.long]) {
      assertEquals(effects, 0, spec.long);
      assert(request[program[spec.long]!] !== undefined, spec.long);
    } else assertEquals(effects, spec.long === "fork" ? 0 : 1, spec.long);
  }
});

Deno.test("planUnshare() maps the caller to root", () => {
  const p = planUnshare({ mapRootUser: true, pid: true });
  assertEquals(p.namespaces, ["pid", "user"]);
  assertEquals(p.uidMap, [{ inside: 0, outside: Deno.uid() ?? -1, count: 1 }]);
  assertEquals(p.gidMap, [{ inside: 0, outside: Deno.gid() ?? -1, count: 1 }]);
  assertEquals([p.setgroups, p.mapsNeedParent], ["deny", false]);
});

Deno.test("planUnshare() plans what parseUnshare() read", () => {
  const p = planUnshare(run(["-mp", "--mount-proc", "--hostname=box", "--kill-child=TERM", "ps"]).options);
  assertEquals(p.namespaces, ["mnt", "uts", "pid"]);
  assertEquals(p.actions, [{ kind: "hostname", name: "box" }, { kind: "mount-proc", target: "/proc" }]);
  assertEquals(p.killChild, 15);
});

Deno.test("planUnshare() rejects -r with --setgroups allow", () => {
  const error = assertThrows(() => planUnshare(run(["-r", "--setgroups", "allow"]).options), UsageError);
  assertEquals([error.command, error.exitCode], ["unshare", 1]);
  assert(error.message.startsWith("cannot map a single group with setgroups allowed: "), error.message);
  assert(error.message.includes("--setgroups=allow and --map-group are mutually exclusive"), error.message);
  assert(!error.message.includes("\n"), "one line");
});

Deno.test("planUnshare() reports a hostname that is too long as a usage error", () => {
  const error = assertThrows(() => planUnshare({ hostname: "h".repeat(65) }), UsageError);
  assertEquals(error.message, `cannot set the hostname to "${"h".repeat(65)}": longer than 64 bytes`);
});

Deno.test("planUnshare() reports an unknown --map-user name as a usage error", () => {
  const error = assertThrows(() => planUnshare({ mapUser: "no-such-user-nsh" }), UsageError);
  assertEquals(error.message, 'cannot map user "no-such-user-nsh": no such user in /etc/passwd');
});
