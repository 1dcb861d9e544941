/**
 * The spawn routine: the embedded bytes match their assembly source, and an
 * architecture without a routine gets a clear error.
 *
 * @module
 */

import { assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { hasProgram, REPO } from "./_env.ts";
import { assemble, EMBEDDED } from "../ffi/assemble.ts";
import { ROUTINE_X86_64 } from "../ffi/routine_x86_64.ts";
import { HOLDER_X86_64 } from "../ffi/holder_x86_64.ts";
import { loadRoutine, routine } from "../ffi/routine.ts";

const BYTES: Record<string, Uint8Array> = { ROUTINE_X86_64, HOLDER_X86_64 };

for (const [source, module, name] of EMBEDDED) {
  Deno.test({
    name: `${module} holds exactly the bytes that ${source} assembles to`,
    ignore: !hasProgram("as") || !hasProgram("objcopy"),
    async fn() {
      const bytes = await assemble(`${REPO}ffi/${source}`);
      assertEquals(Array.from(bytes!), Array.from(BYTES[name]!), "run `deno task routine` after editing the source");
    },
  });
}

Deno.test("loadRoutine() refuses an architecture without a routine with a clear error", () => {
  const error = assertThrows(() => loadRoutine("riscv64"));
  assertMatch(
    (error as Error).message,
    /^Cannot start processes in new namespaces on riscv64: nsh's spawn routine exists for x86_64 only$/,
  );
});

Deno.test({
  name: "routine().syscall() returns results and -errno",
  ignore: Deno.build.arch !== "x86_64",
  fn() {
    const r = routine();
    assertEquals(r.syscall(r.sysno.getpid), Deno.pid);
    assertEquals(r.syscall(r.sysno.close, 987654), -9); // EBADF
  },
});

Deno.test("the header and step offsets of ffi/program.ts are those routine_x86_64.S documents and reads", async () => {
  const { HEADER_FIELDS, STEP_FIELDS } = await import("../ffi/program.ts");
  const source = Deno.readTextFileSync(`${REPO}ffi/routine_x86_64.S`);
  const block = (name: string) =>
    source.slice(source.indexOf(`struct ${name} (`), source.indexOf("\n *\n", source.indexOf(`struct ${name} (`)));
  const documented = (name: string) =>
    Object.fromEntries([...block(name).matchAll(/^ \* +(\d+)(?:\.\.\d+)? (\w+)/gm)].map((m) => [m[2]!, Number(m[1])]));
  assertEquals(documented("header"), { ...HEADER_FIELDS });
  const step = documented("step");
  assertEquals([step.nr, step.a0, step.flags, step.result], [
    STEP_FIELDS.nr,
    STEP_FIELDS.args,
    STEP_FIELDS.flags,
    STEP_FIELDS.result,
  ]);
});
