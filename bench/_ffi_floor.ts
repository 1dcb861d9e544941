/**
 * The least a Deno program that starts a process through FFI pays: one module,
 * libc opened with two symbols, `posix_spawnp("true")` and `waitpid`. Section 3
 * of `deno task bench` runs it beside the whole CLI, to show how much of the
 * CLI's start-up is Deno's own.
 *
 * @module
 */

const libc = Deno.dlopen("libc.so.6", {
  // int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *file_actions,
  //                  const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]);
  posix_spawnp: { parameters: ["buffer", "buffer", "pointer", "pointer", "buffer", "buffer"], result: "i32" },
  // pid_t waitpid(pid_t pid, int *wstatus, int options);
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
});
const program = new TextEncoder().encode("true\0");
const argv = new BigUint64Array([BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(program))), 0n]);
const pid = new Int32Array(1);
const status = new Int32Array(1);
if (libc.symbols.posix_spawnp(pid, program, null, null, argv, new BigUint64Array(1)) !== 0) {
  throw new Error("posix_spawnp(true) failed");
}
libc.symbols.waitpid(pid[0]!, status, 0);
if (status[0] !== 0) throw new Error(`true ended with wait status ${status[0]}`);
