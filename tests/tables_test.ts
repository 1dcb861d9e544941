/**
 * The tables nsh keeps instead of asking libc: namespaces, errno values,
 * signals, and the message of a failed system call.
 *
 * @module
 */

import { assert, assertEquals } from "./_assert.ts";
import { cloneFlags, namespaceInfo, NAMESPACES, type NamespaceType, sortNamespaces } from "../lib/namespaces.ts";
import { errnoName, errnoNumber, errnoText } from "../ffi/errno.ts";
import { signalName, signalNumber, SIGRTMAX } from "../ffi/signals.ts";
import { osErrno, SyscallError } from "../ffi/error.ts";
import { ENOENT, ESRCH } from "../ffi/constants.ts";

// namespaces

const CLONE_NEW: Record<NamespaceType, number> = {
  mnt: 0x00020000,
  uts: 0x04000000,
  ipc: 0x08000000,
  net: 0x40000000,
  pid: 0x20000000,
  user: 0x10000000,
  cgroup: 0x02000000,
  time: 0x00000080,
};

Deno.test("NAMESPACES lists the eight kinds in the order of unshare --help", () => {
  assertEquals(NAMESPACES.map((ns) => ns.type), ["mnt", "uts", "ipc", "net", "pid", "user", "cgroup", "time"]);
  assertEquals(NAMESPACES.map((ns) => ns.short).join(""), "muinpUCT");
  for (const ns of NAMESPACES) assertEquals(ns.flag, CLONE_NEW[ns.type], ns.type);
});

Deno.test("namespaceInfo() finds a kind by its /proc name and by its option", () => {
  assertEquals(namespaceInfo("mnt")?.option, "mount");
  assertEquals(namespaceInfo("mount")?.type, "mnt");
  assertEquals(namespaceInfo("net")?.flag, 0x40000000);
  assertEquals(namespaceInfo("time")?.short, "T");
  for (const ns of NAMESPACES) {
    assertEquals(namespaceInfo(ns.type), ns);
    assertEquals(namespaceInfo(ns.option), ns);
  }
});

Deno.test("namespaceInfo() returns undefined for an unknown name", () => {
  assertEquals(namespaceInfo("network"), undefined);
  assertEquals(namespaceInfo("MNT"), undefined);
  assertEquals(namespaceInfo("m"), undefined);
  assertEquals(namespaceInfo(""), undefined);
});

Deno.test("cloneFlags() ors the flags of the kinds", () => {
  assertEquals(cloneFlags([]), 0);
  assertEquals(cloneFlags(["user"]), 0x10000000);
  assertEquals(cloneFlags(["mnt", "pid", "net"]), 0x00020000 | 0x20000000 | 0x40000000);
  assertEquals(cloneFlags(["net", "net"]), 0x40000000);
  assertEquals(cloneFlags(new Set<NamespaceType>(["time", "cgroup"])), 0x80 | 0x02000000);
});

Deno.test("sortNamespaces() orders the kinds as the table and drops duplicates", () => {
  assertEquals(sortNamespaces(["time", "user", "mnt", "user", "pid"]), ["mnt", "pid", "user", "time"]);
  assertEquals(sortNamespaces([]), []);
});

// errno

Deno.test("errnoName() and errnoText() name common errno values", () => {
  assertEquals([errnoName(1), errnoText(1)], ["EPERM", "Operation not permitted"]);
  assertEquals([errnoName(2), errnoText(2)], ["ENOENT", "No such file or directory"]);
  assertEquals([errnoName(13), errnoText(13)], ["EACCES", "Permission denied"]);
  assertEquals([errnoName(22), errnoText(22)], ["EINVAL", "Invalid argument"]);
  assertEquals([errnoName(28), errnoText(28)], ["ENOSPC", "No space left on device"]);
  assertEquals([errnoName(87), errnoText(87)], ["EUSERS", "Too many users"]);
  assertEquals([errnoName(125), errnoText(125)], ["ECANCELED", "Operation canceled"]);
});

Deno.test("errnoName() and errnoNumber() round-trip every known value", () => {
  let known = 0;
  for (let n = 1; n <= 133; n++) {
    const name = errnoName(n);
    if (name === `E${n}`) continue;
    known++;
    assertEquals(errnoNumber(name), n, name);
    assert(!errnoText(n).startsWith("Unknown error"), name);
  }
  assertEquals(known, 130);
});

Deno.test("errnoNumber() knows EWOULDBLOCK as EAGAIN", () => {
  assertEquals(errnoNumber("EWOULDBLOCK"), 11);
  assertEquals(errnoName(11), "EAGAIN");
});

Deno.test("errnoName() and errnoText() describe an unknown value by its number", () => {
  for (const n of [41, 58, 999]) {
    assertEquals(errnoName(n), `E${n}`);
    assertEquals(errnoText(n), `Unknown error ${n}`);
  }
});

Deno.test("errnoNumber() returns undefined for an unknown name", () => {
  assertEquals(errnoNumber("ENOTHING"), undefined);
  assertEquals(errnoNumber("eperm"), undefined);
  assertEquals(errnoNumber("E41"), undefined);
});

// signals

Deno.test("signalName() names the standard signals", () => {
  assertEquals(signalName(1), "SIGHUP");
  assertEquals(signalName(9), "SIGKILL");
  assertEquals(signalName(15), "SIGTERM");
  assertEquals(signalName(17), "SIGCHLD");
  assertEquals(signalName(31), "SIGSYS");
});

Deno.test("signalName() names real-time signals from SIGRTMIN", () => {
  assertEquals(signalName(34), "SIGRTMIN+0");
  assertEquals(signalName(37), "SIGRTMIN+3");
  assertEquals(signalName(SIGRTMAX), "SIGRTMIN+30");
});

Deno.test("signalName() names an unknown signal by its number", () => {
  assertEquals(signalName(0), "SIG0");
  assertEquals(signalName(32), "SIG32");
  assertEquals(signalName(33), "SIG33");
  assertEquals(signalName(65), "SIG65");
  assertEquals(signalName(-1), "SIG-1");
});

Deno.test("signalNumber() reads names with or without SIG, in any case", () => {
  assertEquals(signalNumber("SIGKILL"), 9);
  assertEquals(signalNumber("KILL"), 9);
  assertEquals(signalNumber("kill"), 9);
  assertEquals(signalNumber("sigTerm"), 15);
  assertEquals(signalNumber("IOT"), 6);
  assertEquals(signalNumber("SIGPOLL"), 29);
});

Deno.test("signalNumber() reads numbers as strings and as numbers", () => {
  assertEquals(signalNumber("9"), 9);
  assertEquals(signalNumber("64"), 64);
  assertEquals(signalNumber(15), 15);
  assertEquals(signalNumber(64), 64);
});

Deno.test("signalNumber() reads SIGRTMIN+n and SIGRTMAX", () => {
  assertEquals(signalNumber("SIGRTMIN"), 34);
  assertEquals(signalNumber("RTMIN+3"), 37);
  assertEquals(signalNumber("rtmin+30"), 64);
  assertEquals(signalNumber("SIGRTMAX"), 64);
  assertEquals(signalNumber("RTMAX"), 64);
});

Deno.test("signalNumber() and signalName() round-trip every signal", () => {
  for (let n = 1; n <= SIGRTMAX; n++) {
    if (n === 32 || n === 33) continue;
    assertEquals(signalNumber(signalName(n)), n, signalName(n));
  }
});

Deno.test("signalNumber() returns undefined for what is not a signal", () => {
  for (const text of ["", "0", "65", "-1", "1.5", "SIG", "SIGFOO", "RTMIN+31", "RTMIN+", "RTMIN-1", " 9", "SIGKILL "]) {
    assertEquals(signalNumber(text), undefined, JSON.stringify(text));
  }
  for (const n of [0, -9, 65, 1.5, NaN]) assertEquals(signalNumber(n), undefined, String(n));
});

// SyscallError

Deno.test("SyscallError() names the operation, the call and the errno", () => {
  const error = new SyscallError("mount", 1, { operation: 'mount "proc" on "/proc"', path: "/proc" });
  assertEquals(error.message, 'Cannot mount "proc" on "/proc": mount() failed with EPERM (Operation not permitted)');
  assertEquals(
    [error.name, error.syscall, error.errno, error.code, error.operation, error.path, error.hint],
    ["SyscallError", "mount", 1, "EPERM", 'mount "proc" on "/proc"', "/proc", undefined],
  );
  assert(error instanceof Error);
});

Deno.test("SyscallError() adds the hint after a semicolon", () => {
  const error = new SyscallError("clone", 28, {
    operation: "create namespaces",
    hint: "raise user.max_user_namespaces",
  });
  assertEquals(
    error.message,
    "Cannot create namespaces: clone() failed with ENOSPC (No space left on device); raise user.max_user_namespaces",
  );
  assertEquals(error.hint, "raise user.max_user_namespaces");
});

Deno.test("SyscallError() calls the system call by name without an operation", () => {
  const error = new SyscallError("pipe2", 24);
  assertEquals(error.message, "Cannot call pipe2(): pipe2() failed with EMFILE (Too many open files)");
  assertEquals([error.operation, error.path, error.hint], ["call pipe2()", undefined, undefined]);
});

Deno.test("SyscallError() leaves out an empty hint", () => {
  assertEquals(
    new SyscallError("read", 9, { hint: "" }).message,
    "Cannot call read(): read() failed with EBADF (Bad file descriptor)",
  );
});

Deno.test("SyscallError() describes an unknown errno by its number", () => {
  const error = new SyscallError("ioctl", 41);
  assertEquals(error.code, "E41");
  assertEquals(error.message, "Cannot call ioctl(): ioctl() failed with E41 (Unknown error 41)");
});

Deno.test("cloneHint() says that EAGAIN is a process limit: the box's pids.max or the user's", async () => {
  const { cloneHint } = await import("../lib/hints.ts");
  assertEquals(cloneHint(11, [], 0), "the box's process limit (pids.max) is reached, or the user's (ulimit -u)");
});

Deno.test("osErrno() finds the errno of a Deno error, also one Deno gives no code (ESRCH)", async () => {
  // The errno whose name Deno gives as `code`.
  let missing: unknown;
  try {
    Deno.readTextFileSync("/proc/self/no such file");
  } catch (error) {
    missing = error;
  }
  assertEquals(osErrno(missing), ENOENT);
  // A process file opened while the process lived, read after it was reaped:
  // the read fails with ESRCH, for which Deno has no class and no code.
  const child = new Deno.Command("sleep", { args: ["60"] }).spawn();
  using stat = Deno.openSync(`/proc/${child.pid}/stat`);
  child.kill("SIGKILL");
  await child.status;
  let reaped: unknown;
  try {
    stat.readSync(new Uint8Array(64));
  } catch (error) {
    reaped = error;
  }
  assert(reaped instanceof Error, "the read fails");
  assertEquals(osErrno(reaped), ESRCH, String(reaped));
  // Anything else has none.
  for (const other of [new Error("No such process"), new Error("(os error 3) later"), "ESRCH", undefined]) {
    assertEquals(osErrno(other), undefined, String(other));
  }
});
