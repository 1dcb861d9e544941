/**
 * Real children for the seccomp tests: a probe compiled from
 * tests/seccomp_probe.c, and a runner that starts a child with ffi/program.ts
 * (its stdout on a pipe), loads filters as its last steps and execs a program.
 *
 * @module
 */

import type { launch, Op } from "../ffi/program.ts";
import type { libc } from "../ffi/libc.ts";
import { hasProgram, REPO } from "./_env.ts";

/** How a child ended. */
export interface ChildResult {
  /** The step that failed and its errno, or null when the program ran. */
  readonly failure: { readonly step: number; readonly errno: number } | null;
  /** Exit status, or undefined when a signal ended it. */
  readonly code: number | undefined;
  /** The signal that ended it, if any. */
  readonly signal: number | undefined;
  /** What it wrote to stdout. */
  readonly stdout: string;
}

/** What {@linkcode runChild} needs, passed in so that its source also runs in a script as another user. */
export interface RunnerDeps {
  readonly launch: typeof launch;
  readonly libc: typeof libc;
}

/**
 * Starts a child that makes `ops` (after putting a pipe on its stdout) and
 * then execs `argv` with an empty environment; waits for it.
 *
 * Self-contained: its source is also used as is by rootless tests.
 */
export async function runChild(
  deps: RunnerDeps,
  ops: readonly Op[],
  argv: readonly string[],
  cloneFlags: number,
): Promise<ChildResult> {
  const c = deps.libc();
  const fds = new Int32Array(2);
  if (c.pipe2(fds, 0o2000000) < 0) throw new Error("pipe2 failed");
  const [r, w] = [fds[0]!, fds[1]!];
  const steps: Op[] = [
    { call: "dup3", args: [w, 1, 0] },
    ...ops,
    { call: "execve", args: [{ str: argv[0]! }, { strs: [...argv] }, { strs: [] }] },
  ];
  const child = deps.launch(steps, cloneFlags, "exec");
  c.close(w);
  if (child.pid < 0) {
    c.close(r);
    throw new Error(`clone failed: ${-child.pid}`);
  }
  const chunks: number[] = [];
  const buffer = new Uint8Array(4096);
  for (;;) {
    const n = Number(c.read(r, buffer, 4096n));
    if (n <= 0) break;
    chunks.push(...buffer.subarray(0, n));
  }
  c.close(r);
  const info = new Uint8Array(128);
  // waitid(P_PID, pid, &info, WEXITED)
  if (c.waitid(1, child.pid, info, 4) < 0) throw new Error("waitid failed");
  const view = new DataView(info.buffer);
  const how = view.getInt32(8, true);
  const status = view.getInt32(24, true);
  return {
    failure: (await child.outcome()).failure,
    code: how === 1 ? status : undefined,
    signal: how === 2 || how === 3 ? status : undefined,
    stdout: new TextDecoder().decode(new Uint8Array(chunks)),
  };
}

let probe: Promise<string | undefined> | undefined;

/**
 * The probe, compiled once into a directory every user can read, or
 * undefined without gcc.
 */
export function buildProbe(): Promise<string | undefined> {
  probe ??= (async () => {
    if (!hasProgram("gcc")) return undefined;
    // Named as tests/_env.ts names its directories, so that a later run removes it
    // if this one is killed; `deno test` fires no unload event.
    const dir = `/tmp/nsh-test-probe-${Deno.pid}`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.chmod(dir, 0o755);
    const out = `${dir}/seccomp_probe`;
    const gcc = await new Deno.Command("gcc", {
      args: ["-O1", "-o", out, `${REPO}tests/seccomp_probe.c`],
      stderr: "piped",
    }).output();
    if (!gcc.success) throw new Error(`gcc failed: ${new TextDecoder().decode(gcc.stderr)}`);
    return out;
  })();
  return probe;
}

/**
 * What a seccomp argument comparison says, computed with bigints: the
 * oracle the compiled filters are checked against.
 *
 * @param op The comparison (`==`, `!=`, `<`, `<=`, `>`, `>=`, else masked equality).
 * @param arg The argument, as a 64-bit unsigned value.
 * @param value The value it is compared with.
 * @param mask The mask of a masked equality.
 * @returns Whether it holds.
 */
export function holds(op: string, arg: bigint, value: bigint, mask = 0n): boolean {
  switch (op) {
    case "==":
      return arg === value;
    case "!=":
      return arg !== value;
    case "<":
      return arg < value;
    case "<=":
      return arg <= value;
    case ">":
      return arg > value;
    case ">=":
      return arg >= value;
    default:
      return (arg & mask) === (value & mask);
  }
}
