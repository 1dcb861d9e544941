/**
 * What loading a seccomp filter adds to a spawn: `/bin/true` started with
 * ffi/program.ts `launch()` (the engine's lowest layer, no namespaces, waited
 * for with waitid(2)) with and without filters, so that the filter is all that
 * differs; `/bin/true` then runs under it. Contenders run interleaved in
 * rotating order after a warm-up, as bench/run.ts does. Two figures: the wall
 * time per spawn, and the child's own CPU time (user + system, from wait4's
 * rusage), which the load of a shared machine disturbs less. Needs root
 * (loading without no_new_privs needs CAP_SYS_ADMIN). Run with
 * `deno run -A bench/seccomp_spawn.ts [rounds] [batch]`.
 *
 * @module
 */

import { launch, type Op } from "../ffi/program.ts";
import { compileSeccomp, readSeccompProfile, type SeccompFilter, seccompSteps } from "../lib/seccomp/mod.ts";
import { SIGCHLD } from "../ffi/constants.ts";

if (Deno.uid() !== 0) {
  console.log("bench/seccomp_spawn.ts: skipped, loading a filter without no_new_privs needs root");
  Deno.exit(0);
}

const rounds = Number(Deno.args[0] ?? 30), batch = Number(Deno.args[1] ?? 40);
// pid_t wait4(pid_t pid, int *wstatus, int options, struct rusage *rusage);
const { wait4 } = Deno.dlopen(
  "libc.so.6",
  {
    wait4: { parameters: ["i32", "buffer", "i32", "buffer"], result: "i32" },
  } as const,
).symbols;
const TRUE: Op = { call: "execve", args: [{ str: "/bin/true" }, { strs: ["true"] }, { strs: [] }] };
const status = new Int32Array(1);
const rusage = new BigInt64Array(18);

/** One spawn of /bin/true after `ops`, waited for; returns the child's CPU microseconds. */
function spawn(ops: readonly Op[]): number {
  const child = launch([...ops, TRUE], SIGCHLD, "exec");
  if (child.pid < 0) throw new Error(`clone failed: ${-child.pid}`);
  if (wait4(child.pid, status, 0, rusage) !== child.pid) throw new Error("wait4 failed");
  if (status[0] !== 0) throw new Error(`/bin/true failed: status ${status[0]}`);
  // struct rusage: ru_utime and ru_stime, each { tv_sec, tv_usec }.
  return Number(rusage[0]! * 1000000n + rusage[1]! + rusage[2]! * 1000000n + rusage[3]!);
}

const docker = compileSeccomp(
  readSeccompProfile(new URL("../tests/fixtures/docker-default.json", import.meta.url).pathname),
);
const mounts = compileSeccomp({ defaultAction: "allow", rules: [{ syscalls: ["@mount"], action: { errno: 1 } }] });
const steps = (filters: SeccompFilter[], noNewPrivs = false) => seccompSteps(filters, { noNewPrivs }).map((s) => s.op);
const contenders: [string, Op[]][] = [
  ["no filter", []],
  [`deny @mount (${mounts.program.length} instructions)`, steps([mounts])],
  [`Docker's default profile (${docker.program.length} instructions)`, steps([docker])],
  ["no_new_privs + Docker's profile", steps([docker], true)],
  ["two filters (Docker's + deny @mount)", steps([docker, mounts])],
];

/** Wall and child CPU microseconds per spawn over one batch. */
const time = (ops: Op[]): [number, number] => {
  let cpu = 0;
  const t0 = performance.now();
  for (let i = 0; i < batch; i++) cpu += spawn(ops);
  return [(performance.now() - t0) * 1000 / batch, cpu / batch];
};
for (const [, ops] of contenders) time(ops);
const wall: number[][] = contenders.map(() => []), cpu: number[][] = contenders.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < contenders.length; k++) {
    const i = (r + k) % contenders.length;
    const [w, c] = time(contenders[i]![1]);
    wall[i]!.push(w);
    cpu[i]!.push(c);
  }
}
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const signed = (n: number) => `${n >= 0 ? "+" : ""}${n.toFixed(1)}`;
const [wallBase, cpuBase] = [median(wall[0]!), median(cpu[0]!)];
console.log(`Seccomp per spawn of /bin/true (µs, medians of batches), ${rounds} rounds × ${batch} spawns, interleaved`);
console.log(
  `  ${"contender".padEnd(44)} ${"wall".padStart(7)} ${"Δ".padStart(7)} ${"child CPU".padStart(10)} ${"Δ".padStart(7)}`,
);
for (const [i, [name]] of contenders.entries()) {
  const w = median(wall[i]!), c = median(cpu[i]!);
  console.log(
    `  ${name.padEnd(44)} ${w.toFixed(1).padStart(7)} ${signed(w - wallBase).padStart(7)} ` +
      `${c.toFixed(1).padStart(10)} ${signed(c - cpuBase).padStart(7)}`,
  );
}
