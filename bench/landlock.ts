/**
 * What Landlock adds per spawn, side by side in one run: a child started by
 * the engine's launch() (clone with CLONE_VM|CLONE_VFORK, no new namespaces)
 * that runs `/bin/true` and is reaped, without Landlock, with no_new_privs
 * only, and with rulesets of four paths and of four paths and a TCP port
 * (and the four-path one built but not enforced, to split the cost; and the
 * five rules built once in the parent, the way nsh does not, for scale).
 * Contenders run interleaved, in rotating order, after a warm-up, so that the
 * machine's noise hits them alike. Run with `deno run -A bench/landlock.ts
 * [ROUNDS [BATCH]]` (100 rounds of 20 by default);
 * what preparing the steps costs in the parent is in bench/landlock_bench.ts.
 *
 * @module
 */

import { launch, type Op } from "../ffi/program.ts";
import { cstring, libc } from "../ffi/libc.ts";
import { routine } from "../ffi/routine.ts";
import {
  LANDLOCK_RULE_NET_PORT,
  LANDLOCK_RULE_PATH_BENEATH,
  O_CLOEXEC,
  O_PATH,
  PR_SET_NO_NEW_PRIVS,
} from "../ffi/constants.ts";
import {
  LANDLOCK_FILE_RIGHTS,
  landlockAbi,
  type LandlockPolicy,
  type LandlockRuleset,
  resolveLandlock,
} from "../lib/landlock.ts";
import { landlockSteps, reserveDescriptor } from "../lib/landlock_steps.ts";
import { P_PID, SIGCHLD, WEXITED } from "../ffi/constants.ts";

const ROUNDS = Number(Deno.args[0] ?? 100), BATCH = Number(Deno.args[1] ?? 20), WARMUP = 100;

/** The five rules: what /bin/true needs, a writable /tmp and /dev/null, and one TCP port. */
const FIVE: LandlockPolicy = {
  rules: [
    { kind: "path", path: "/usr", access: "rox" },
    { kind: "path", path: "/etc", access: "ro" },
    { kind: "path", path: "/tmp", access: "rw" },
    { kind: "path", path: "/dev/null", access: "rw" },
    { kind: "port", port: 443, access: "connect" },
  ],
};
const FOUR: LandlockPolicy = { rules: FIVE.rules.slice(0, 4) };

const info = new Uint8Array(128);

/** Starts the program, waits for its end, and checks that it ran. */
function spawn(ops: readonly Op[]): void {
  const child = launch(ops, SIGCHLD, "exec");
  if (child.pid < 0) throw new Error(`Cannot clone: errno ${-child.pid}`);
  if (libc().waitid(P_PID, child.pid, info, WEXITED) < 0) throw new Error("Cannot wait for the child");
  const status = new DataView(info.buffer).getInt32(24, true);
  if (status !== 0) throw new Error(`/bin/true ended with status ${status}`);
}

/** Mean microseconds per spawn of `n` spawns. */
function batch(ops: readonly Op[], n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) spawn(ops);
  return (performance.now() - t0) * 1000 / n;
}

/**
 * For comparison only: the ruleset built once in this process, on the paths
 * as this process sees them, so that a child only restricts itself with it.
 * nsh builds it in the child instead, on the paths as the child sees them.
 */
function buildInParent(ruleset: LandlockRuleset): number {
  const r = routine();
  const address = (bytes: Uint8Array<ArrayBuffer>) => Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
  const attr = new BigUint64Array([BigInt(ruleset.handledFs), BigInt(ruleset.handledNet), BigInt(ruleset.scoped)]);
  const fd = r.syscall(r.sysno.landlock_create_ruleset, address(new Uint8Array(attr.buffer)), 24, 0);
  if (fd < 0) throw new Error(`Cannot create a ruleset: errno ${-fd}`);
  for (const rule of ruleset.paths) {
    const path = libc().open(cstring(rule.path), O_PATH | O_CLOEXEC, 0);
    const bytes = new Uint8Array(12);
    const view = new DataView(bytes.buffer);
    const isDir = Deno.statSync(rule.path).isDirectory;
    view.setUint32(0, isDir ? rule.access : rule.access & LANDLOCK_FILE_RIGHTS, true);
    view.setInt32(8, path, true);
    if (r.syscall(r.sysno.landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, address(bytes), 0) < 0) {
      throw new Error(`Cannot add a rule for ${rule.path}`);
    }
    libc().close(path);
  }
  for (const rule of ruleset.ports) {
    const bytes = new Uint8Array(new BigUint64Array([BigInt(rule.access), BigInt(rule.port)]).buffer);
    if (r.syscall(r.sysno.landlock_add_rule, fd, LANDLOCK_RULE_NET_PORT, address(bytes), 0) < 0) {
      throw new Error(`Cannot add a rule for port ${rule.port}`);
    }
  }
  return fd;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

if (import.meta.main) {
  const abi = landlockAbi();
  console.log(
    `nsh Landlock bench: deno ${Deno.version.deno}, Linux ${Deno.osRelease()}, Landlock ABI ${abi}, ` +
      `uid ${Deno.uid()}, load average ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
  );
  if (abi === 0) {
    console.log("skipped: this kernel has no Landlock");
    Deno.exit(0);
  }
  using scratch = reserveDescriptor();
  const exec: Op = { call: "execve", args: [{ str: "/bin/true" }, { strs: ["true"] }, { strs: [] }] };
  const stepsOf = (policy: LandlockPolicy) => landlockSteps(resolveLandlock(policy), { scratchFd: scratch.fd }).ops;
  const contenders: [string, Op[]][] = [
    ["no Landlock", [exec]],
    ["no_new_privs only", [{ call: "prctl", args: [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0] }, exec]],
    // The same steps without landlock_restrict_self: what building the ruleset
    // costs, apart from what enforcing it costs the program (ld.so's opens).
    ["4 paths built, not enforced", [...stepsOf(FOUR).filter((op) => op.call !== "landlock_restrict_self"), exec]],
    ["Landlock, 4 paths", [...stepsOf(FOUR), exec]],
    ...(abi >= 4 ? [["Landlock, 4 paths + 1 TCP port", [...stepsOf(FIVE), exec]] as [string, Op[]]] : []),
  ];
  const prebuilt = abi >= 4 ? buildInParent(resolveLandlock(FIVE)) : undefined;
  if (prebuilt !== undefined) {
    contenders.push([
      "the same, built once in the parent",
      [
        { call: "prctl", args: [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0] },
        { call: "landlock_restrict_self", args: [prebuilt, 0] },
        exec,
      ],
    ]);
  }
  for (const [, ops] of contenders) batch(ops, WARMUP);
  const samples = contenders.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const i = (r + k) % contenders.length;
      samples[i]!.push(batch(contenders[i]![1], BATCH));
    }
  }
  console.log(`${ROUNDS} rounds × ${BATCH} spawns per contender, interleaved, after ${WARMUP} warm-up\n`);
  const base = median(samples[0]!);
  const rows = contenders.map(([name, ops], i) => {
    const mean = samples[i]!.reduce((a, b) => a + b, 0) / samples[i]!.length;
    const med = median(samples[i]!);
    // The fastest tenth of the batches: the least the machine's other work added.
    const low = [...samples[i]!].sort((a, b) => a - b)[Math.floor(samples[i]!.length / 10)]!;
    const lowBase = [...samples[0]!].sort((a, b) => a - b)[Math.floor(samples[0]!.length / 10)]!;
    return [
      name,
      String(ops.length - 1),
      mean.toFixed(1),
      med.toFixed(1),
      low.toFixed(1),
      i ? `${(low - lowBase).toFixed(1)}` : "",
      i ? `${(med / base).toFixed(3)}×` : "1.000×",
      i ? `${(med - base).toFixed(1)}` : "",
    ];
  });
  const headers = ["contender", "steps", "mean µs", "median µs", "p10 µs", "+µs p10", "ratio median", "+µs median"];
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: readonly string[]) =>
    "  " + cells.map((cell, c) => c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)).join("  ");
  console.log(line(headers));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) console.log(line(row));
  if (prebuilt !== undefined) libc().close(prebuilt);
}
