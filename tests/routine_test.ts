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
import { INIT_X86_64 } from "../ffi/init_x86_64.ts";
import { loadRoutine, routine } from "../ffi/routine.ts";

const BYTES: Record<string, Uint8Array> = { ROUTINE_X86_64, HOLDER_X86_64, INIT_X86_64 };

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

Deno.test({
  name: "launch() runs a step with onlyIf only when the result it depends on is as asked",
  ignore: Deno.build.arch !== "x86_64",
  async fn() {
    const { launch } = await import("../ffi/program.ts");
    const { libc } = await import("../ffi/libc.ts");
    const exit = (code: number, onlyIf?: { step: number; result: "positive" | "zero" | "negative" }) => ({
      call: "exit_group" as const,
      args: [code],
      ...(onlyIf ? { onlyIf } : {}),
    });
    const statusOf = (ops: Parameters<typeof launch>[0]) => {
      const child = launch(ops, 17, "exec");
      const info = new Uint8Array(128);
      if (libc().waitid(1, child.pid, info, 4) < 0) throw new Error("waitid failed");
      return new DataView(info.buffer).getInt32(24, true);
    };
    // getpid is positive, close of a bad descriptor negative, umask(022) of 022 positive.
    assertEquals(
      statusOf([
        { call: "getpid", args: [] },
        exit(3, { step: 0, result: "zero" }),
        exit(4, { step: 0, result: "negative" }),
        { call: "close", args: [987654], ignore: true },
        exit(5, { step: 3, result: "positive" }),
        exit(6, { step: 3, result: "zero" }),
        exit(7, { step: 3, result: "negative" }),
      ]),
      7,
    );
    // A skipped step's result is 0.
    assertEquals(
      statusOf([
        { call: "getpid", args: [] },
        exit(3, { step: 0, result: "zero" }),
        exit(8, { step: 1, result: "zero" }),
      ]),
      8,
    );
    assertThrows(() => launch([exit(1, { step: 0, result: "zero" })], 17, "exec"), RangeError, "only an earlier step");
  },
});
