/**
 * programCandidates() lists the paths the child tries with execve, as
 * execvp(3) searches PATH.
 *
 * @module
 */

import { assertEquals } from "./_assert.ts";
import { DEFAULT_PATH, programCandidates } from "../lib/program_path.ts";

Deno.test("programCandidates() tries each PATH directory in order", () => {
  assertEquals(programCandidates("ls", "/usr/local/bin:/usr/bin:/bin"), [
    "/usr/local/bin/ls",
    "/usr/bin/ls",
    "/bin/ls",
  ]);
});

Deno.test("programCandidates() keeps repeated and relative directories", () => {
  assertEquals(programCandidates("ls", "/bin:bin:/bin"), ["/bin/ls", "bin/ls", "/bin/ls"]);
});

Deno.test("programCandidates() tries the working directory for an empty PATH element", () => {
  assertEquals(programCandidates("prog", ":/bin"), ["./prog", "/bin/prog"]);
  assertEquals(programCandidates("prog", "/bin:"), ["/bin/prog", "./prog"]);
  assertEquals(programCandidates("prog", "/a::/b"), ["/a/prog", "./prog", "/b/prog"]);
  assertEquals(programCandidates("prog", ""), ["./prog"]);
});

Deno.test("programCandidates() searches the default PATH when PATH is unset", () => {
  assertEquals(programCandidates("sh", undefined), DEFAULT_PATH.split(":").map((dir) => `${dir}/sh`));
  assertEquals(programCandidates("sh", undefined)[0], "/usr/local/sbin/sh");
  assertEquals(programCandidates("sh", undefined).at(-1), "/bin/sh");
});

Deno.test("programCandidates() returns a name with a slash as it is", () => {
  assertEquals(programCandidates("/bin/sh", "/usr/bin"), ["/bin/sh"]);
  assertEquals(programCandidates("./run", "/usr/bin"), ["./run"]);
  assertEquals(programCandidates("sub/run", undefined), ["sub/run"]);
});

Deno.test("programCandidates() returns an empty name alone, for execve to refuse", () => {
  assertEquals(programCandidates("", "/usr/bin:/bin"), [""]);
});
