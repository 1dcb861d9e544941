/**
 * getopt() parses as util-linux programs do with getopt_long(3) and "+", and
 * reports mistakes in glibc's words; formatOptions() aligns the help.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { formatOptions, getopt, type OptionSpec } from "../cli/getopt.ts";
import { UsageError } from "../cli/usage.ts";
import { UNSHARE_OPTIONS } from "../cli/unshare.ts";

const SPECS: readonly OptionSpec[] = [
  { long: "mount", short: "m", arg: "optional", value: "file", help: "new mount namespace" },
  { long: "pid", short: "p", arg: "optional", value: "file", help: "new pid namespace" },
  { long: "fork", short: "f", arg: "none", help: "fork" },
  { long: "root", short: "R", arg: "required", value: "<dir>", help: "new root" },
  { long: "mount-proc", arg: "optional", value: "dir", help: "mount proc" },
  { long: "map-user", arg: "required", value: "<uid>", help: "map a user" },
  { long: "map-users", arg: "required", value: "<ranges>", help: "map users" },
  { long: "map-root-user", short: "r", arg: "none", help: "map root" },
];

function parse(...args: string[]) {
  return getopt("unshare", SPECS, args);
}

/** The UsageError that parsing `args` throws. */
function usageError(specs: readonly OptionSpec[], ...args: string[]): UsageError {
  const error = assertThrows(() => getopt("unshare", specs, args), UsageError);
  assertEquals([error.command, error.exitCode], ["unshare", 1]);
  return error;
}

Deno.test("getopt() returns no options and no rest for no words", () => {
  assertEquals(parse(), { options: [], rest: [] });
});

Deno.test("getopt() splits grouped short flags in order", () => {
  assertEquals(parse("-mpf", "sh"), {
    options: [
      { name: "mount", value: undefined },
      { name: "pid", value: undefined },
      { name: "fork", value: undefined },
    ],
    rest: ["sh"],
  });
});

Deno.test("getopt() takes an attached value for a short option", () => {
  assertEquals(parse("-Rdir").options, [{ name: "root", value: "dir" }]);
});

Deno.test("getopt() takes the next word as the value of a short option", () => {
  assertEquals(parse("-R", "dir", "ls"), { options: [{ name: "root", value: "dir" }], rest: ["ls"] });
});

Deno.test("getopt() takes the rest of a group as the value of its last short option", () => {
  assertEquals(parse("-fRdir", "ls"), {
    options: [{ name: "fork", value: undefined }, { name: "root", value: "dir" }],
    rest: ["ls"],
  });
});

Deno.test("getopt() takes the next word after a group ending in a short option with a value", () => {
  assertEquals(parse("-fR", "dir").options, [{ name: "fork", value: undefined }, { name: "root", value: "dir" }]);
});

Deno.test("getopt() takes a next word that looks like an option as a required value", () => {
  assertEquals(parse("-R", "--fork").options, [{ name: "root", value: "--fork" }]);
  assertEquals(parse("--root", "-m").options, [{ name: "root", value: "-m" }]);
  assertEquals(parse("--root", "--", "ls"), { options: [{ name: "root", value: "--" }], rest: ["ls"] });
});

Deno.test("getopt() takes a long option's value after =", () => {
  assertEquals(parse("--root=/srv", "ls"), { options: [{ name: "root", value: "/srv" }], rest: ["ls"] });
});

Deno.test("getopt() keeps every = after the first in a long option's value", () => {
  assertEquals(parse("--root=a=b").options, [{ name: "root", value: "a=b" }]);
});

Deno.test("getopt() takes an empty value after a trailing =", () => {
  assertEquals(parse("--root=").options, [{ name: "root", value: "" }]);
  assertEquals(parse("--mount=").options, [{ name: "mount", value: "" }]);
});

Deno.test("getopt() takes the next word as a long option's required value", () => {
  assertEquals(parse("--root", "/srv", "ls"), { options: [{ name: "root", value: "/srv" }], rest: ["ls"] });
});

Deno.test("getopt() takes an optional value only after =", () => {
  assertEquals(parse("--mount=/run/ns", "sh"), { options: [{ name: "mount", value: "/run/ns" }], rest: ["sh"] });
  assertEquals(parse("--mount", "/run/ns"), { options: [{ name: "mount", value: undefined }], rest: ["/run/ns"] });
});

Deno.test("getopt() gives no value to a short option whose long form takes an optional one", () => {
  assertEquals(parse("-m", "file"), { options: [{ name: "mount", value: undefined }], rest: ["file"] });
});

Deno.test("getopt() accepts a unique prefix of a long option", () => {
  assertEquals(getopt("unshare", UNSHARE_OPTIONS, ["--mount-p", "ps"]), {
    options: [{ name: "mount-proc", value: undefined }],
    rest: ["ps"],
  });
  assertEquals(parse("--fo").options, [{ name: "fork", value: undefined }]);
  assertEquals(parse("--ro=/x").options, [{ name: "root", value: "/x" }]);
  assertEquals(parse("--map-r").options, [{ name: "map-root-user", value: undefined }]);
});

Deno.test("getopt() prefers an exact long name to longer names it prefixes", () => {
  assertEquals(parse("--mount").options, [{ name: "mount", value: undefined }]);
  assertEquals(parse("--map-user", "7").options, [{ name: "map-user", value: "7" }]);
});

Deno.test("getopt() lists the possibilities of an ambiguous prefix in table order", () => {
  const error = usageError(SPECS, "--map-u", "1");
  assertEquals(error.message, "option '--map-u' is ambiguous; possibilities: '--map-user' '--map-users'");
  assertEquals(
    usageError(SPECS, "--m").message,
    "option '--m' is ambiguous; possibilities: '--mount' '--mount-proc' '--map-user' '--map-users' '--map-root-user'",
  );
});

Deno.test("getopt() reports an unknown long option", () => {
  assertEquals(usageError(SPECS, "--frob").message, "unrecognized option '--frob'");
});

Deno.test("getopt() reports an unknown long option with its value as glibc does", () => {
  assertEquals(usageError(SPECS, "--frob=1").message, "unrecognized option '--frob=1'");
  assertEquals(
    usageError(SPECS, "--map-u=1").message,
    "option '--map-u=1' is ambiguous; possibilities: '--map-user' '--map-users'",
  );
});

Deno.test("getopt() reports an unknown short option", () => {
  assertEquals(usageError(SPECS, "-Z").message, "invalid option -- 'Z'");
});

Deno.test("getopt() reports an unknown short option inside a group", () => {
  assertEquals(usageError(SPECS, "-mZp").message, "invalid option -- 'Z'");
  assertEquals(usageError(SPECS, "-m-").message, "invalid option -- '-'");
});

Deno.test("getopt() reports a short option missing its value", () => {
  assertEquals(usageError(SPECS, "-R").message, "option requires an argument -- 'R'");
  assertEquals(usageError(SPECS, "-mR").message, "option requires an argument -- 'R'");
});

Deno.test("getopt() reports a long option missing its value with its full name", () => {
  assertEquals(usageError(SPECS, "--root").message, "option '--root' requires an argument");
  assertEquals(usageError(SPECS, "--ro").message, "option '--root' requires an argument");
});

Deno.test("getopt() reports a value given to a long option that takes none", () => {
  assertEquals(usageError(SPECS, "--fork=x").message, "option '--fork' doesn't allow an argument");
  assertEquals(usageError(SPECS, "--fork=").message, "option '--fork' doesn't allow an argument");
  assertEquals(usageError(SPECS, "--fo=x").message, "option '--fork' doesn't allow an argument");
});

Deno.test("getopt() stops at the first word that is not an option", () => {
  assertEquals(parse("-m", "ip", "-br", "--fork", "addr"), {
    options: [{ name: "mount", value: undefined }],
    rest: ["ip", "-br", "--fork", "addr"],
  });
});

Deno.test("getopt() does not look at words after the first non-option", () => {
  assertEquals(parse("ls", "--frob", "-Z").rest, ["ls", "--frob", "-Z"]);
});

Deno.test("getopt() stops after -- and drops it", () => {
  assertEquals(parse("-f", "--", "-m", "x"), { options: [{ name: "fork", value: undefined }], rest: ["-m", "x"] });
  assertEquals(parse("--", "--"), { options: [], rest: ["--"] });
});

Deno.test("getopt() treats a lone - as the first non-option word", () => {
  assertEquals(parse("-f", "-", "-m"), { options: [{ name: "fork", value: undefined }], rest: ["-", "-m"] });
});

Deno.test("getopt() keeps options in the order given, repeats included", () => {
  assertEquals(parse("--root=a", "-p", "-Rb").options, [
    { name: "root", value: "a" },
    { name: "pid", value: undefined },
    { name: "root", value: "b" },
  ]);
});

Deno.test("getopt() names the command in its errors", () => {
  const error = assertThrows(() => getopt("nsenter", SPECS, ["-Z"]), UsageError);
  assertEquals([error.command, error.name], ["nsenter", "UsageError"]);
});

Deno.test("formatOptions() puts the help in column 28 after a short option", () => {
  const text = formatOptions([
    { long: "mount", short: "m", arg: "optional", value: "file", help: "one" },
    { long: "root", short: "R", arg: "required", value: "<dir>", help: "two" },
    { long: "keep-caps", arg: "none", help: "three" },
    { long: "fork", short: "f", arg: "none", value: "ignored", help: "four" },
  ]);
  assertEquals(text.split("\n"), [
    " -m, --mount[=file]         one",
    " -R, --root <dir>           two",
    "     --keep-caps            three",
    " -f, --fork                 four",
  ]);
});

Deno.test("formatOptions() puts the help on its own line after a long option", () => {
  const text = formatOptions([
    { long: "propagation", arg: "required", value: "slave|shared", help: "one" },
    { long: "abcdefghijklmnopqrst", short: "a", arg: "none", help: "two" },
    { long: "abcdefghijklmnopqrs", short: "b", arg: "none", help: "three" },
  ]);
  assertEquals(text.split("\n"), [
    "     --propagation slave|shared",
    `${" ".repeat(28)}one`,
    " -a, --abcdefghijklmnopqrst",
    `${" ".repeat(28)}two`,
    " -b, --abcdefghijklmnopqrs  three",
  ]);
});

Deno.test("formatOptions() lists every option of unshare with its help", () => {
  const text = formatOptions(UNSHARE_OPTIONS);
  for (const spec of UNSHARE_OPTIONS) {
    const line = new RegExp(`--${spec.long}\\b[^\\n]*\\n? +${spec.help.replace(/[()]/g, "\\$&")}(\\n|$)`);
    assert(line.test(text), `--${spec.long} with "${spec.help}"`);
  }
  assert(text.startsWith(" -m, --mount[=file]         unshare mounts namespace\n"), text);
});
