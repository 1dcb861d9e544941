/**
 * ffi/program.ts probe(): a child that runs system calls and nothing else,
 * whose raw results the parent reads back from shared memory.
 *
 * @module
 */

import { assert, assertEquals } from "./_assert.ts";
import { probe } from "../ffi/program.ts";
import { syscallTable } from "../ffi/syscall_table.ts";
import { libc } from "../ffi/libc.ts";

const sys = (name: string) => syscallTable("x86_64").numbers.get(name)!;
const x86 = { ignore: Deno.build.arch !== "x86_64" };

/** The children of this process that are not reaped yet (zombies included). */
function children(): string[] {
  const out: string[] = [];
  for (const task of Deno.readDirSync(`/proc/${Deno.pid}/task`)) {
    out.push(...Deno.readTextFileSync(`/proc/${Deno.pid}/task/${task.name}/children`).split(" ").filter(Boolean));
  }
  return out;
}

Deno.test({
  name: "probe() reads back each call's raw result, -errno for a failure",
  ...x86,
  async fn() {
    const out = await probe([
      { call: "chdir", args: [{ str: "/nonexistent" }], ignore: true },
      { call: sys("sethostname"), args: [0, -1], ignore: true },
      { call: "getpid", args: [] },
    ]);
    assertEquals(out.results.slice(0, 2), [-2, Deno.uid() === 0 ? -22 : -1]);
    assert(out.results[2]! > 0 && out.results[2] !== Deno.pid, `getpid() in the child: ${out.results[2]}`);
    assertEquals([out.failure, out.signal, out.timedOut], [null, undefined, false]);
  },
});

Deno.test({
  name: "probe() acts on the child's own copy: nsh's memory, directory and descriptors do not change",
  ...x86,
  async fn() {
    const cwd = Deno.cwd();
    const mark = new Uint8Array([1, 2, 3, 4]);
    const address = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(mark)));
    const out = await probe([
      // Random bytes over the buffer where the child sees it, close stdin, change directory.
      { call: sys("getrandom"), args: [address, 4, 0] },
      { call: "close", args: [0] },
      { call: "chdir", args: [{ str: "/" }] },
    ]);
    assertEquals(out.results, [4, 0, 0]);
    assertEquals([...mark], [1, 2, 3, 4]);
    assertEquals(Deno.cwd(), cwd);
    assert(libc().fcntl(0, 1, 0) >= 0, "stdin is still open in nsh");
  },
});

Deno.test({
  name: "probe() gives back what the kernel wrote into a buffer argument",
  ...x86,
  async fn() {
    const out = await probe([{ call: sys("uname"), args: [{ zeros: 390 }] }]);
    assertEquals(out.results[0], 0);
    const name = new TextDecoder().decode(out.buffer(0, 0, 65)).replace(/\0.*$/s, "");
    assertEquals(name, "Linux");
  },
});

Deno.test({
  name: "probe() stops at a failing step without ignore, and leaves no child behind",
  ...x86,
  async fn() {
    const before = children().length;
    const out = await probe([{ call: "chdir", args: [{ str: "/nonexistent" }] }, { call: "getpid", args: [] }]);
    assertEquals(out.failure, { step: 0, errno: 2 });
    assertEquals(out.results, [-2, undefined]);
    assertEquals(children().length, before);
  },
});

Deno.test({
  name: "probe() kills a child that blocks past the timeout, and says so",
  ...x86,
  async fn() {
    const fds = new Int32Array(2);
    libc().pipe2(fds, 0o2000000);
    try {
      const started = performance.now();
      // A read of a pipe whose write end stays open in nsh (and in the child) blocks.
      const out = await probe([{ call: "read", args: [fds[0]!, { zeros: 8 }, 8] }], { timeout: 200 });
      assert(out.timedOut);
      assertEquals(out.signal, 9);
      assertEquals(out.results, [undefined]);
      assert(performance.now() - started < 5000);
    } finally {
      libc().close(fds[0]!);
      libc().close(fds[1]!);
    }
  },
});
