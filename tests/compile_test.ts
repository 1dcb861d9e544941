/**
 * compile() turns a plan into the system calls a child makes between clone
 * and execve, in the documented order.
 *
 * @module
 */

import { assert, assertEquals } from "./_assert.ts";
import { compile, type Compiled, type ExecSpec } from "../lib/compile.ts";
import { MS } from "../ffi/constants.ts";
import {
  bindMount,
  domainname,
  type EnterCgroupStep,
  hostname,
  keepCaps,
  landlock,
  mapRootUser,
  mount,
  mountProc,
  namespaces,
  nestedUser,
  noNewPrivs,
  programWorkdir,
  seccomp,
  tmpfs,
} from "../lib/steps.ts";
import { type Plan, plan } from "../lib/plan.ts";
import type { Arg, Op } from "../ffi/program.ts";
import { AT_FDCWD, PR_SET_NO_NEW_PRIVS } from "../ffi/constants.ts";

// The plan of no steps (tests/plan_test.ts pins it down); tests spread their fields over it.
const BASE: Plan = plan([], { euid: 0, egid: 0, readFile: () => undefined });

const EXEC: ExecSpec = {
  candidates: ["/usr/bin/env"],
  argv: ["env", "-i"],
  envp: ["PATH=/usr/bin", "HOME=/"],
  stdio: [undefined, undefined, undefined],
};

// The caller of the plans below: uid 1000, whom their maps map.
const CONTEXT = { capLastCap: 40, euid: 1000 };

const O_WRONLY_CLOEXEC = 0o2000001;

function build(p: Partial<Plan> = {}, exec: Partial<ExecSpec> = {}): Compiled {
  return compile({ ...BASE, ...p }, { ...EXEC, ...exec }, CONTEXT);
}

/** A join of a box whose directories are already open, as the engine completes it. */
function enterCgroupPlaced(places: EnterCgroupStep["places"]): EnterCgroupStep {
  return { kind: "enter-cgroup", box: 1, places: places! };
}

function calls(c: Compiled): string[] {
  return c.ops.map((op) => op.call);
}

/**
 * The calls between the fixed head (SIGPIPE reset) and tail (descriptors, mask,
 * execve, and /bin/sh for a file without #!).
 */
function middle(c: Compiled): string[] {
  const names = calls(c);
  assertEquals(names.slice(-4), ["close_range", "rt_sigprocmask", "execve", "execve"]);
  return names.slice(names.indexOf("rt_sigaction") + 1, -4);
}

function text(arg: Arg | undefined): string {
  assert(arg !== undefined && typeof arg === "object" && "bytes" in arg, `expected bytes, got ${Deno.inspect(arg)}`);
  return new TextDecoder().decode(arg.bytes);
}

/** The ops whose info names this role. */
function byRole(c: Compiled, role: string): Op[] {
  return c.ops.filter((_, i) => c.infos[i]!.role === role);
}

/** Asserts an open/write/close of `path` with `content` starting at `at`. */
function assertWriteFile(c: Compiled, at: number, path: string, content: string): void {
  assertEquals(c.ops.slice(at, at + 3).map((op) => op.call), ["openat", "write", "close"]);
  assertEquals(c.ops[at]!.args, [AT_FDCWD, { str: path }, O_WRONLY_CLOEXEC, 0]);
  const write = c.ops[at + 1]!;
  assertEquals(write.args[0], { result: at });
  assertEquals(text(write.args[1]), content);
  assertEquals(write.args[2], new TextEncoder().encode(content).length);
  assertEquals(c.ops[at + 2]!.args, [{ result: at }]);
  assertEquals(c.infos.slice(at, at + 3).map((info) => [info.syscall, info.path]), [
    ["open", path],
    ["write", path],
    ["close", path],
  ]);
}

Deno.test("compile() of an empty plan resets SIGPIPE, restores the mask and execs, or runs /bin/sh on ENOEXEC", () => {
  const c = build();
  assertEquals(calls(c), ["rt_sigaction", "close_range", "rt_sigprocmask", "execve", "execve"]);
  assertEquals(c.ops[0], { call: "rt_sigaction", args: [13, { zeros: 32 }, 0, 8], ignore: true });
  assertEquals(c.ops[1], { call: "close_range", args: [3, 0xffffffff, 4], ignore: true });
  assertEquals(c.ops[2], { call: "rt_sigprocmask", args: [2, { oldMask: true }, 0, 8] });
  assertEquals(c.ops[3], {
    call: "execve",
    args: [{ str: "/usr/bin/env" }, { strs: ["env", "-i"] }, { strs: ["PATH=/usr/bin", "HOME=/"] }],
    noexecNext: true,
    last: true,
  });
  // As execvp(3): a file the kernel cannot run is run by /bin/sh, with the
  // same arguments after the file and the same environment.
  assertEquals(c.ops[4], {
    call: "execve",
    args: [{ str: "/bin/sh" }, { shellArgv: { file: [3, 0], argv: [3, 1], count: 2 } }, { sameAs: [3, 2] }],
    ifNoexec: true,
  });
  assertEquals(c.infos[4], {
    syscall: "execve",
    operation: 'execute "env" with /bin/sh (it has no #! line)',
    path: "/bin/sh",
    role: "script",
  });
  assertEquals(c.cloneFlags, 17);
});

Deno.test("compile() describes every op with a non-empty operation", () => {
  const c = build({
    namespaces: ["mnt", "uts", "pid", "user", "time"],
    uidMap: [{ inside: 0, outside: 1000, count: 1 }],
    gidMap: [{ inside: 0, outside: 1000, count: 1 }],
    setgroups: "deny",
    monotonic: 1,
    boottime: 2,
    actions: [
      hostname("h"),
      domainname("d"),
      bindMount("/a", "/b", { readonly: true }),
      tmpfs("/t"),
      mount({ source: "s", target: "/m", type: "ramfs" }),
      mountProc(),
      keepCaps(),
    ],
    root: "/r",
    wd: "/w",
    killChild: 9,
    setuid: 1,
    setgid: 1,
  }, { stdio: [3, 4, 5], sync: { read: 6, write: 7 } });
  assertEquals(c.infos.length, c.ops.length);
  for (const [i, info] of c.infos.entries()) {
    assert(info.operation.length > 0, `op ${i} (${c.ops[i]!.call}) has no operation`);
    assert(info.syscall.length > 0, `op ${i} (${c.ops[i]!.call}) has no syscall`);
  }
  // The program is looked for in the new root, and the error says so.
  assertEquals(c.infos.at(-2), {
    syscall: "execve",
    operation: 'execute "env" in the new root "/r"',
    path: "env",
    role: "exec",
  });
});

Deno.test("compile() follows the documented order of steps", () => {
  const c = build({
    namespaces: ["mnt", "uts", "user", "time"],
    uidMap: [{ inside: 0, outside: 1000, count: 1 }],
    gidMap: [{ inside: 0, outside: 1000, count: 1 }],
    setgroups: "deny",
    monotonic: 5,
    actions: [hostname("h"), tmpfs("/t"), mountProc(), keepCaps()],
    root: "/r",
    killChild: 9,
    setuid: 1,
    setgid: 1,
  }, { stdio: [3, undefined, undefined] });
  const roles = c.infos.map((info) => info.role).filter((role, i, all) => role !== all[i - 1]);
  assertEquals(roles, [
    "stdio",
    "signals",
    "time",
    "idmap",
    "propagation",
    "hostname",
    "tmpfs",
    "root",
    "mount-proc",
    "keep-caps",
    "ids",
    "signals",
    "fds",
    "signals",
    "exec",
    "script",
  ]);
});

Deno.test("compile() connects only the stdio descriptors given", () => {
  const c = build({}, { stdio: [undefined, 7, 9] });
  assertEquals(calls(c).slice(0, 3), ["dup3", "dup3", "rt_sigaction"]);
  assertEquals(c.ops[0]!.args, [7, 1, 0]);
  assertEquals(c.ops[1]!.args, [9, 2, 0]);
  assertEquals(c.infos.slice(0, 2).map((i) => [i.syscall, i.operation, i.role]), [
    ["dup2", "connect standard output", "stdio"],
    ["dup2", "connect standard error", "stdio"],
  ]);
  assertEquals(build({}, { stdio: [5, undefined, undefined] }).ops[0]!.args, [5, 0, 0]);
});

Deno.test("compile() asks for the parent-death signal only with kill-child", () => {
  assertEquals(calls(build()).includes("prctl"), false);
  const c = build({ killChild: 15 });
  assertEquals(calls(c).slice(0, 2), ["rt_sigaction", "prctl"]);
  assertEquals(c.ops[1]!.args, [1, 15]);
  assertEquals(c.infos[1]!.operation, "ask for SIGTERM when nsh dies");
});

Deno.test("compile() waits for the parent only when given a pipe, after telling it the child is ready", () => {
  assertEquals(byRole(build({ mapsNeedParent: true }), "sync"), []);
  const c = build({ killChild: 9, mapsNeedParent: true }, { sync: { read: 10, write: 11 } });
  assertEquals(middle(c), ["prctl", "write", "close", "read", "close"]);
  assertEquals(c.ops.slice(2, 6), [
    { call: "write", args: [{ errfd: true }, { readyRecord: true }, 16] },
    { call: "close", args: [11] },
    { call: "read", args: [10, { zeros: 8 }, 1], zeroFails: true },
    { call: "close", args: [10] },
  ]);
  assertEquals(c.infos.slice(2, 6).map((i) => [i.syscall, i.role]), [
    ["write", "sync"],
    ["close", "sync"],
    ["read", "sync"],
    ["close", "sync"],
  ]);
});

Deno.test("compile() writes setgroups, then the uid and gid maps in the child", () => {
  const c = build({
    namespaces: ["user"],
    uidMap: [{ inside: 0, outside: 1000, count: 1 }],
    gidMap: [{ inside: 0, outside: 100, count: 1 }, { inside: 1, outside: 200, count: 2 }],
    setgroups: "deny",
  });
  assertEquals(middle(c), ["openat", "write", "close", "openat", "write", "close", "openat", "write", "close"]);
  assertWriteFile(c, 1, "/proc/self/setgroups", "deny");
  assertWriteFile(c, 4, "/proc/self/uid_map", "0 1000 1\n");
  assertWriteFile(c, 7, "/proc/self/gid_map", "0 100 1\n1 200 2\n");
  assertEquals(c.infos[4]!.operation, 'write the uid map "0 1000 1"');
  assertEquals(c.infos[1]!.operation, 'write "deny" to /proc/self/setgroups');
});

Deno.test("compile() writes only the maps the plan has", () => {
  const c = build({ namespaces: ["user"], uidMap: [{ inside: 5, outside: 1000, count: 1 }] });
  assertEquals(middle(c), ["openat", "write", "close"]);
  assertWriteFile(c, 1, "/proc/self/uid_map", "5 1000 1\n");
  assertEquals(middle(build({ setgroups: "allow" })), ["openat", "write", "close"]);
  assertWriteFile(build({ setgroups: "allow" }), 1, "/proc/self/setgroups", "allow");
});

Deno.test("compile() leaves the maps to the parent when they need it", () => {
  const c = build({
    namespaces: ["user"],
    uidMap: [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 10 }],
    gidMap: [{ inside: 0, outside: 1000, count: 1 }],
    setgroups: "deny",
    mapsNeedParent: true,
  }, { sync: { read: 3, write: 4 } });
  assertEquals(middle(c), ["write", "close", "read", "close"]);
  assertEquals(byRole(c, "idmap"), []);
});

Deno.test("compile() unshares the time namespace in the child and writes the offsets", () => {
  const c = build({ namespaces: ["time"], monotonic: -5, boottime: 86400 });
  assertEquals(middle(c), ["unshare", "openat", "write", "close"]);
  assertEquals(c.ops[1]!.args, [0x80]);
  assertWriteFile(c, 2, "/proc/self/timens_offsets", "monotonic -5 0\nboottime 86400 0\n");
  assertEquals(c.infos[2]!.operation, 'set the clock offsets "monotonic -5 0, boottime 86400 0"');
});

Deno.test("compile() writes only the clock offsets given", () => {
  assertWriteFile(build({ namespaces: ["time"], boottime: 3 }), 2, "/proc/self/timens_offsets", "boottime 3 0\n");
  assertEquals(middle(build({ namespaces: ["time"] })), ["unshare"]);
});

Deno.test("compile() creates the time namespace before the maps, so that the parent can bind it", () => {
  const c = build({ namespaces: ["user", "time"], uidMap: [{ inside: 0, outside: 1000, count: 1 }], monotonic: 1 });
  assertEquals(middle(c), ["unshare", "openat", "write", "close", "openat", "write", "close"]);
  assertEquals(c.infos[1]!.operation, "create a time namespace");
});

Deno.test("compile() never passes CLONE_NEWTIME to clone", () => {
  const c = build({ namespaces: ["time"] });
  assertEquals(c.cloneFlags & 0xff, 17);
  assertEquals(c.cloneFlags, 17);
});

Deno.test("compile() gives clone the namespace flags and SIGCHLD", () => {
  const c = build({ namespaces: ["mnt", "uts", "ipc", "net", "pid", "user", "cgroup", "time"] });
  assertEquals(
    c.cloneFlags,
    0x00020000 | 0x04000000 | 0x08000000 | 0x40000000 | 0x20000000 | 0x10000000 | 0x02000000 | 17,
  );
  assertEquals(build({ namespaces: ["net"] }).cloneFlags, 0x40000000 | 17);
});

Deno.test("compile() sets the propagation of a new mount namespace", () => {
  for (const [mode, flag] of [["private", MS.PRIVATE], ["shared", MS.SHARED], ["slave", MS.SLAVE]] as const) {
    const c = build({ namespaces: ["mnt"], propagation: mode });
    assertEquals(middle(c), ["mount"]);
    assertEquals(c.ops[1]!.args, [{ str: "none" }, { str: "/" }, 0, MS.REC | flag, 0]);
    assertEquals(c.infos[1]!.operation, `make the mount tree ${mode}`);
  }
});

Deno.test("compile() leaves the propagation alone when unchanged or without a mount namespace", () => {
  assertEquals(middle(build({ namespaces: ["mnt"], propagation: "unchanged" })), []);
  assertEquals(middle(build({ namespaces: ["net"], propagation: "slave" })), []);
});

Deno.test("compile() sets the hostname and then the domain name", () => {
  const c = build({ namespaces: ["uts"], actions: [hostname("bóx"), domainname("example")] });
  assertEquals(middle(c), ["sethostname", "setdomainname"]);
  assertEquals(text(c.ops[1]!.args[0]), "bóx");
  assertEquals(c.ops[1]!.args[1], 4);
  assertEquals(text(c.ops[2]!.args[0]), "example");
  assertEquals(c.ops[2]!.args[1], 7);
  assertEquals(c.infos[1]!.operation, 'set the hostname to "bóx"');
  assertEquals(middle(build({ namespaces: ["uts"], actions: [domainname("d")] })), ["setdomainname"]);
});

Deno.test("compile() makes the mounts in the order given", () => {
  const c = build({
    namespaces: ["mnt"],
    propagation: "unchanged",
    actions: [
      bindMount("/src", "/dst"),
      tmpfs("/tmp", "size=1m"),
      bindMount("/ro", "/ro2", { readonly: true }),
      mount({ source: "dev", target: "/mnt", type: "ext4", flags: MS.NOEXEC, data: "noatime" }),
    ],
  });
  assertEquals(c.ops.slice(1, -4), [
    { call: "mount", args: [{ str: "/src" }, { str: "/dst" }, 0, MS.BIND | MS.REC, 0] },
    {
      call: "mount",
      args: [{ str: "tmpfs" }, { str: "/tmp" }, { str: "tmpfs" }, MS.NOSUID | MS.NODEV, { str: "size=1m" }],
    },
    { call: "mount", args: [{ str: "/ro" }, { str: "/ro2" }, 0, MS.BIND | MS.REC, 0] },
    {
      call: "mount",
      args: [0, { str: "/ro2" }, 0, MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV, 0],
    },
    { call: "mount", args: [{ str: "dev" }, { str: "/mnt" }, { str: "ext4" }, MS.NOEXEC, { str: "noatime" }] },
  ]);
  assertEquals(c.infos.slice(1, -4).map((i) => [i.operation, i.path]), [
    ['bind-mount "/src" on "/dst"', "/dst"],
    ['mount a tmpfs on "/tmp"', "/tmp"],
    ['bind-mount "/ro" on "/ro2"', "/ro2"],
    ['make "/ro2" read-only', "/ro2"],
    ['mount "dev" (ext4) on "/mnt"', "/mnt"],
  ]);
});

Deno.test("compile() makes the mounts after the propagation and the hostname", () => {
  const c = build({
    namespaces: ["mnt", "uts"],
    actions: [hostname("h"), tmpfs("/t")],
  });
  assertEquals(middle(c), ["mount", "sethostname", "mount"]);
  assertEquals(c.infos[1]!.role, "propagation");
  assertEquals(c.infos[3]!.role, "tmpfs");
});

Deno.test("compile() changes the root, then the working directory", () => {
  const c = build({ root: "/srv/root", wd: "/home" });
  assertEquals(c.ops.slice(1, -4), [{ call: "chroot", args: [{ str: "/srv/root" }] }, {
    call: "chdir",
    args: [{ str: "/home" }],
  }]);
  assertEquals(c.infos.slice(1, -4).map((i) => i.path), ["/srv/root", "/home"]);
});

Deno.test("compile() changes to / in a new root without a working directory", () => {
  const c = build({ root: "/srv/root" });
  assertEquals(c.ops.slice(1, -4), [{ call: "chroot", args: [{ str: "/srv/root" }] }, {
    call: "chdir",
    args: [{ str: "/" }],
  }]);
});

Deno.test("compile() changes the working directory alone without a root", () => {
  assertEquals(build({ wd: "/tmp" }).ops.slice(1, -4), [{ call: "chdir", args: [{ str: "/tmp" }] }]);
});

Deno.test("compile() detaches the old proc, ignoring errors, then mounts proc", () => {
  const c = build({ namespaces: ["mnt", "pid"], propagation: "unchanged", actions: [mountProc()] });
  assertEquals(c.ops.slice(1, -4), [
    { call: "umount2", args: [{ str: "/proc" }, 2], ignore: true },
    { call: "mount", args: [{ str: "proc" }, { str: "/proc" }, { str: "proc" }, MS.NOSUID | MS.NODEV | MS.NOEXEC, 0] },
  ]);
  assertEquals(c.infos.slice(1, -4).map((i) => [i.syscall, i.role, i.path]), [
    ["umount2", "mount-proc", "/proc"],
    ["mount", "mount-proc", "/proc"],
  ]);
});

Deno.test("compile() mounts proc after changing the root", () => {
  const c = build({ namespaces: ["mnt"], propagation: "unchanged", root: "/r", actions: [mountProc()] });
  assertEquals(middle(c), ["chroot", "chdir", "umount2", "mount"]);
});

Deno.test("compile() makes the capabilities inheritable and raises each one as ambient", () => {
  const c = compile({ ...BASE, actions: [keepCaps()] }, EXEC, { capLastCap: 40 });
  const caps = byRole(c, "keep-caps");
  assertEquals(caps.map((op) => op.call), ["capset", ...Array(41).fill("prctl")]);
  const [header, data] = caps[0]!.args;
  assert(typeof header === "object" && "bytes" in header && typeof data === "object" && "bytes" in data);
  const h = new DataView(header.bytes.buffer);
  assertEquals([header.bytes.length, h.getUint32(0, true), h.getUint32(4, true)], [8, 0x20080522, 0]);
  const d = new DataView(data.bytes.buffer);
  const words = Array.from({ length: 6 }, (_, i) => d.getUint32(i * 4, true));
  // effective, permitted, inheritable of caps 0-31, then of caps 32-40.
  assertEquals(words, [0xffffffff, 0xffffffff, 0xffffffff, 0x1ff, 0x1ff, 0x1ff]);
  caps.slice(1).forEach((op, cap) => assertEquals(op, { call: "prctl", args: [47, 2, cap, 0, 0], ignore: true }));
});

Deno.test("compile() raises as many ambient capabilities as the kernel knows", () => {
  const c = compile({ ...BASE, actions: [keepCaps()] }, EXEC, { capLastCap: 31 });
  const caps = byRole(c, "keep-caps");
  assertEquals(caps.length, 33);
  const [, data] = caps[0]!.args;
  assert(typeof data === "object" && "bytes" in data);
  assertEquals(Array.from(new Uint32Array(data.bytes.slice().buffer)), [0xffffffff, 0xffffffff, 0xffffffff, 0, 0, 0]);
  assertEquals(byRole(build(), "keep-caps"), []);
});

Deno.test("compile() sets the gid, drops the groups, then sets the uid", () => {
  const c = build({ setuid: 1000, setgid: 100 });
  assertEquals(c.ops.slice(1, -4), [
    { call: "setresgid", args: [100, 100, 100] },
    { call: "setgroups", args: [0, 0] },
    { call: "setresuid", args: [1000, 1000, 1000] },
  ]);
});

Deno.test("compile() keeps the groups when setgroups is denied", () => {
  assertEquals(middle(build({ setgid: 0, setgroups: "deny", mapsNeedParent: true })), ["setresgid"]);
});

Deno.test("compile() sets the uid alone", () => {
  assertEquals(build({ setuid: 0 }).ops.slice(1, -4), [{ call: "setresuid", args: [0, 0, 0] }]);
});

Deno.test("compile() keeps the capabilities before changing ids", () => {
  const c = build({ actions: [keepCaps()], setuid: 1, setgid: 1 });
  const names = middle(c);
  assertEquals(names[0], "capset");
  assertEquals(names.slice(-3), ["setresgid", "setgroups", "setresuid"]);
});

Deno.test("compile() tries each PATH candidate with execve, the last one marked, each followed by /bin/sh", () => {
  const c = build({}, { candidates: ["/a/env", "./env", "/b/env"] });
  const first = c.ops.length - 6;
  assertEquals(calls(c).slice(first - 1), ["rt_sigprocmask", ...Array(6).fill("execve")]);
  const sh = (candidate: number, shell: Arg): Op => ({
    call: "execve",
    args: [shell, { shellArgv: { file: [candidate, 0], argv: [first, 1], count: 2 } }, { sameAs: [first, 2] }],
    ifNoexec: true,
  });
  assertEquals(c.ops.slice(first), [
    {
      call: "execve",
      args: [{ str: "/a/env" }, { strs: ["env", "-i"] }, { strs: ["PATH=/usr/bin", "HOME=/"] }],
      noexecNext: true,
      try: true,
    },
    sh(first, { str: "/bin/sh" }),
    {
      call: "execve",
      args: [{ str: "./env" }, { sameAs: [first, 1] }, { sameAs: [first, 2] }],
      noexecNext: true,
      try: true,
    },
    sh(first + 2, { sameAs: [first + 1, 0] }),
    {
      call: "execve",
      args: [{ str: "/b/env" }, { sameAs: [first, 1] }, { sameAs: [first, 2] }],
      noexecNext: true,
      last: true,
    },
    sh(first + 4, { sameAs: [first + 1, 0] }),
  ]);
  for (const [i, info] of c.infos.slice(first).entries()) {
    assertEquals(
      info,
      i % 2 === 0 ? { syscall: "execve", operation: 'execute "env"', path: "env", role: "exec" } : {
        syscall: "execve",
        operation: 'execute "env" with /bin/sh (it has no #! line)',
        path: "/bin/sh",
        role: "script",
      },
    );
  }
});

Deno.test("compile() names the program by argv[0]", () => {
  assertEquals(build({}, { argv: ["sh"], candidates: ["/bin/sh"] }).infos.at(-2)!.operation, 'execute "sh"');
  assertEquals(build({}, { argv: [] }).infos.at(-2)!.operation, 'execute ""');
});

Deno.test("compile() joins a pidfd's namespaces with one setns, forking for pid and copying for time", () => {
  const c = build({}, { enter: [{ type: "net", fd: 7, path: "/proc/42", all: ["net", "pid", "uts"] }] });
  assertEquals(c.ops.filter((op) => op.call === "setns").map((op) => op.args), [[
    7,
    0x40000000 | 0x20000000 | 0x04000000,
  ]]);
  assertEquals([c.forks, c.mode], [true, "exec"]);
  assertEquals(c.infos[calls(c).indexOf("setns")]!.operation, 'join the net, pid, uts namespaces of "/proc/42"');
  const time = build({}, { enter: [{ type: "time", fd: 7, path: "/proc/42", all: ["time"] }] });
  assertEquals([time.forks, time.mode], [false, "copy"]);
});

Deno.test("compile() closes every descriptor above 2 at execve but those kept, which lose O_CLOEXEC", () => {
  const c = build({}, { keepFds: [9, 5, 5, 1] });
  assertEquals(byRole(c, "fds"), [
    { call: "close_range", args: [3, 4, 4], ignore: true },
    { call: "fcntl", args: [5, 2, 0] },
    { call: "close_range", args: [6, 8, 4], ignore: true },
    { call: "fcntl", args: [9, 2, 0] },
    { call: "close_range", args: [10, 0xffffffff, 4], ignore: true },
  ]);
  assertEquals(byRole(build({}, { keepFds: [3] }), "fds"), [
    { call: "fcntl", args: [3, 2, 0] },
    { call: "close_range", args: [4, 0xffffffff, 4], ignore: true },
  ]);
});

Deno.test("compile() takes root's ids in a new user namespace that maps root but not the caller, before mounting", () => {
  const c = compile(
    {
      ...BASE,
      namespaces: ["user", "mnt"],
      uidMap: [{ inside: 0, outside: 65534, count: 1 }],
      gidMap: [{ inside: 0, outside: 65534, count: 1 }],
      mapsNeedParent: true,
      actions: [tmpfs("/t")],
    },
    EXEC,
    { capLastCap: 40, euid: 0 },
  );
  assertEquals(middle(c), ["setresgid", "setgroups", "setresuid", "mount", "mount"]);
  // The caller mapped: nothing to take.
  assertEquals(middle(build({ namespaces: ["user"], uidMap: [{ inside: 0, outside: 1000, count: 1 }] })).length, 3);
});

Deno.test("compile() joins a box's cgroups before anything else, and makes a cgroup namespace after", () => {
  const places = [
    { fd: 40, path: "/sys/fs/cgroup/unified/nsh-1-1-2", v2: true },
    { fd: 41, path: "/sys/fs/cgroup/pids/nsh-1-1-2", v2: false },
  ];
  const p = plan([enterCgroupPlaced(places), namespaces("cgroup", "uts")], { euid: 0, egid: 0 });
  for (const into of [false, true]) {
    const c = compile(p, { ...EXEC, stdio: [5, undefined, undefined] }, { ...CONTEXT, cloneIntoCgroup: into });
    // Made in the v2 cgroup by clone3, the child writes to the v1 one only.
    const moves = into ? [41] : [40, 41];
    assertEquals(c.cgroupFd, into ? 40 : undefined);
    assertEquals(calls(c).slice(0, 3 * moves.length + 2), [
      ...moves.flatMap(() => ["openat", "write", "close"]),
      "dup3",
      "rt_sigaction",
    ]);
    moves.forEach((fd, i) => {
      assertEquals(c.ops[3 * i]!.args, [fd, { str: "cgroup.procs" }, O_WRONLY_CLOEXEC, 0]);
      assertEquals(text(c.ops[3 * i + 1]!.args[1]), "0");
    });
    // The cgroup namespace is unshared once the child is in its box, not made by clone.
    assertEquals(c.cloneFlags & 0x02000000, 0);
    assertEquals(c.cloneFlags & 0x04000000, 0x04000000);
    const unshare = byRole(c, "cgroup-namespace");
    assertEquals(unshare, [{ call: "unshare", args: [0x02000000] }]);
  }
  // Without a box, clone makes the cgroup namespace as before.
  const plain = compile(plan([namespaces("cgroup")], { euid: 0, egid: 0 }), EXEC, CONTEXT);
  assertEquals(plain.cloneFlags & 0x02000000, 0x02000000);
  assertEquals(byRole(plain, "cgroup-namespace"), []);
});

Deno.test("compile() makes a plan's phases once: the next program of the same plan gets the same calls, moved", () => {
  const steps = [
    hostname("box"),
    noNewPrivs(),
    programWorkdir("/nowhere", "/srv", "/"),
    landlock({ rules: [{ kind: "path", path: "/usr", access: "rox" }] }),
    seccomp({ defaultAction: "allow", rules: [{ syscalls: "@mount", action: { errno: "EPERM" } }] }),
  ];
  const made = () => plan(steps, { euid: 0, egid: 0, readFile: () => undefined });
  const kept = made();
  // The second program has three more calls before the phases (its stdio):
  // the chdir steps that run only when the one before failed point to the
  // moved calls, as in a program compiled afresh.
  const stdio: ExecSpec["stdio"] = [5, 6, 7];
  const first = compile(kept, EXEC, CONTEXT);
  const again = compile(kept, { ...EXEC, stdio }, CONTEXT);
  assertEquals(again, compile(made(), { ...EXEC, stdio }, CONTEXT));
  assertEquals(compile(kept, EXEC, CONTEXT), first);
  const chdirs = again.ops.flatMap((op, i) => op.call === "chdir" ? [i] : []);
  assertEquals(chdirs.slice(1).map((i) => again.ops[i]!.onlyIf?.step), chdirs.slice(0, -1));
});

Deno.test("compile() makes afresh a phase whose calls a later phase refers to: the nested user namespace's /proc/self", () => {
  const steps = [mapRootUser(), nestedUser({ uid: 1000, disableUserNamespaces: true })];
  const made = () => plan(steps, { euid: 1000, egid: 1000, readFile: () => undefined });
  const kept = made();
  compile(kept, EXEC, CONTEXT);
  // Three more calls before the phases: the maps are written through the /proc/self opened in this start.
  const stdio: ExecSpec["stdio"] = [5, 6, 7];
  const again = compile(kept, { ...EXEC, stdio }, CONTEXT);
  assertEquals(again, compile(made(), { ...EXEC, stdio }, CONTEXT));
  const name = (op: Op) => op.call === "openat" ? (op.args[1] as { str: string }).str : undefined;
  const opened = again.ops.findIndex((op) => name(op) === "/proc/self");
  const maps = again.ops.filter((op) => ["setgroups", "uid_map", "gid_map"].includes(name(op) ?? ""));
  assertEquals(maps.map((op) => op.args[0]), [{ result: opened }, { result: opened }, { result: opened }]);
});

Deno.test("compile() sets no_new_privs once, where the first step that needs it runs", () => {
  const p = plan([
    noNewPrivs(),
    landlock({ rules: [{ kind: "path", path: "/usr", access: "rox" }] }),
    seccomp({ defaultAction: "allow" }),
  ], { euid: 0, egid: 0, readFile: () => undefined });
  const c = compile(p, EXEC, CONTEXT);
  const nnp = c.ops.flatMap((op, i) => op.call === "prctl" && op.args[0] === PR_SET_NO_NEW_PRIVS ? [i] : []);
  assertEquals(nnp.length, 1);
  assert(nnp[0]! < c.ops.findIndex((op) => op.call === "landlock_restrict_self"));
  // Alone, Landlock and seccomp each set it.
  for (
    const step of [
      landlock({ rules: [{ kind: "path", path: "/usr", access: "ro" }] }),
      seccomp({ defaultAction: "allow" }),
    ]
  ) {
    const alone = compile(plan([step], { euid: 0, egid: 0, readFile: () => undefined }), EXEC, CONTEXT);
    assertEquals(alone.ops.filter((op) => op.call === "prctl" && op.args[0] === PR_SET_NO_NEW_PRIVS).length, 1);
  }
});
