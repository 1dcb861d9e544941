/**
 * exitStatusOf() and describeError(): the one funnel from an error to a
 * status and the lines on stderr.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { describeError, exitStatusOf, UsageError } from "../cli/usage.ts";
import { SyscallError } from "../ffi/error.ts";
import { EACCES, ENOENT, ENOEXEC, EPERM } from "../ffi/constants.ts";

Deno.test("UsageError() carries its command and exit status 1 by default", () => {
  const error = new UsageError("unshare", "bad");
  assertEquals([error.name, error.command, error.message, error.exitCode], ["UsageError", "unshare", "bad", 1]);
  assert(error instanceof Error);
  assertEquals(new UsageError("unshare", "bad", 2).exitCode, 2);
});

Deno.test("exitStatusOf() gives 127 when execve finds no program", () => {
  assertEquals(exitStatusOf(new SyscallError("execve", ENOENT)), 127);
});

Deno.test("exitStatusOf() gives 126 when execve fails otherwise", () => {
  assertEquals(exitStatusOf(new SyscallError("execve", EACCES)), 126);
  assertEquals(exitStatusOf(new SyscallError("execve", ENOEXEC)), 126);
});

Deno.test("exitStatusOf() gives 1 when another system call fails", () => {
  assertEquals(exitStatusOf(new SyscallError("mount", ENOENT)), 1);
  assertEquals(exitStatusOf(new SyscallError("clone", EPERM)), 1);
});

Deno.test("exitStatusOf() gives the status of a usage error", () => {
  assertEquals(exitStatusOf(new UsageError("unshare", "bad")), 1);
  assertEquals(exitStatusOf(new UsageError("unshare", "bad", 64)), 64);
});

Deno.test("exitStatusOf() gives 1 for anything else", () => {
  assertEquals(exitStatusOf(new Error("x")), 1);
  assertEquals(exitStatusOf(new TypeError("x")), 1);
  assertEquals(exitStatusOf("a string"), 1);
  assertEquals(exitStatusOf(undefined), 1);
});

Deno.test("describeError() prints a usage error and a hint on two lines", () => {
  assertEquals(
    describeError("unshare", new UsageError("unshare", "unrecognized option '--frob'")),
    "nsh unshare: unrecognized option '--frob'\nTry 'nsh unshare --help' for more information.",
  );
});

Deno.test("describeError() names the command of the usage error", () => {
  assertEquals(
    describeError("", new UsageError("unshare", "bad")),
    "nsh unshare: bad\nTry 'nsh unshare --help' for more information.",
  );
});

Deno.test("describeError() prints a usage error of nsh itself without a command", () => {
  assertEquals(
    describeError("", new UsageError("", "unknown command 'frob'")),
    "nsh: unknown command 'frob'\nTry 'nsh --help' for more information.",
  );
});

Deno.test("describeError() prints a failed system call on one line starting lowercase", () => {
  const error = new SyscallError("mount", ENOENT, { operation: 'mount proc on "/x"', hint: "create it first" });
  const text = describeError("unshare", error);
  assertEquals(
    text,
    'nsh unshare: cannot mount proc on "/x": mount() failed with ENOENT (No such file or directory); create it first',
  );
});

Deno.test("describeError() prefixes nsh alone when there is no command", () => {
  assertEquals(
    describeError("", new SyscallError("clone", EPERM)),
    "nsh: cannot call clone(): clone() failed with EPERM (Operation not permitted)",
  );
});

Deno.test("describeError() prints a plain Error on one line starting lowercase", () => {
  assertEquals(
    describeError("unshare", new Error("Cannot map users: newuidmap is not installed")),
    "nsh unshare: cannot map users: newuidmap is not installed",
  );
});

Deno.test("describeError() suggests -A for a missing Deno permission", () => {
  assertEquals(
    describeError("unshare", new Deno.errors.NotCapable("Requires ffi access")),
    "nsh unshare: requires ffi access (run Deno with -A)",
  );
});

Deno.test("describeError() prints a Deno API's failed system call as one line with its errno", () => {
  let missing: unknown;
  try {
    Deno.readTextFileSync("/nonexistent-nsh-file");
  } catch (error) {
    missing = error;
  }
  assertEquals(
    describeError("run", missing),
    "nsh run: cannot readfile '/nonexistent-nsh-file': ENOENT (No such file or directory)",
  );
  // What Deno raises for EACCES: PermissionDenied is the kernel's refusal, not
  // a missing Deno permission (that is NotCapable).
  const denied = Object.assign(new Deno.errors.PermissionDenied("Permission denied (os error 13): mkdir '/x'"), {
    code: "EACCES",
  });
  assertEquals(describeError("netns", denied), "nsh netns: cannot mkdir '/x': EACCES (Permission denied)");
});

Deno.test("describeError() prints an internal error with its stack for a TypeError", () => {
  const text = describeError("unshare", new TypeError("x is undefined"));
  assertMatch(text, /^nsh unshare: internal error: TypeError: x is undefined\n\s+at /);
});

Deno.test("describeError() prints an internal error for a subclass of Error", () => {
  class OddError extends Error {}
  assertMatch(describeError("unshare", new OddError("odd")), /^nsh unshare: internal error: Error: odd\n\s+at /);
});

Deno.test("describeError() prints an internal error for a thrown value that is not an Error", () => {
  assertEquals(describeError("unshare", "boom"), "nsh unshare: internal error: boom");
  assertEquals(describeError("", 42), "nsh: internal error: 42");
});
