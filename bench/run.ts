/**
 * The side-by-side benchmark of nsh, `deno task bench`. In one run it measures,
 * against the goals of the project:
 *
 * 1. the engine per spawn of `/bin/true`, against a C loop of clone + execve +
 *    wait with the same clone flags (bench/floor.c, the floor): goal ≤ 1.1×;
 * 2. nsh against util-linux `unshare` run with `Deno.Command`: goal ≤ 0.5×;
 * 3. the whole `nsh unshare --net true` process against `deno run` of an empty
 *    script: goal ≤ 1.25×;
 * 4. memory: RSS growth over many spawns, and peak RSS of the one-shot CLI;
 * 5. held contexts: what N held contexts (N = 10, 100, 500) cost every other
 *    spawn of the process, and closing them: goal ≤ 1.1× from 10 to 500;
 * 6. hardening: the same spawn with and without capabilities dropped,
 *    no_new_privs, a seccomp filter and Landlock: goal ≤ 1.15×; and
 *    isolate() for scale;
 * 7. limits: a spawn placed in a new cgroup (made, joined, removed) against
 *    the same spawn without: goal ≤ 1.2×;
 * 8. bubblewrap: isolate() and the sandbox of a bwrap command line made by
 *    nsh's API, against `Deno.Command("bwrap", …)` with the same options, per
 *    spawn of `/bin/true` from a running script: goal ≤ 0.5× (skipped when
 *    bubblewrap is not installed);
 * 9. the shell: a pipeline of two programs in a context, run by nsh's shell,
 *    against dash run in the same context by `nsenter -a`: goal ≤ 1.0×.
 *
 * Contenders of one comparison run interleaved, in rotating order, after a
 * warm-up, so that noise of the machine hits them all alike. Everything that
 * needs namespaces runs in namespaces the bench creates; the host's network and
 * mounts are never changed.
 *
 * @module
 */

import { isolate, ISOLATE_SECCOMP, limits, type Plan, type Sandbox, unshare } from "../mod.ts";
import { cgroupLayout } from "../lib/cgroup.ts";
import { start } from "../lib/engine.ts";
import { type ProbeResult, type Reading, WARMUP_SPAWNS } from "./_rss_probe.ts";
import {
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWUTS,
  CLONE_VFORK,
  CLONE_VM,
} from "../ffi/constants.ts";
import { bwrapPlan, parseBwrap } from "../cli/bwrap.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const BUILD = `${ROOT}bench/.build`;
const TRUE = "/bin/true";

const GOAL_FLOOR = 1.1;
const GOAL_UTIL_LINUX = 0.5;
const GOAL_STARTUP = 1.25;
const GOAL_HELD = 1.1;
const GOAL_HARDENING = 1.15;
const GOAL_CGROUP = 1.2;
const GOAL_BWRAP = 0.5;
const GOAL_SHELL = 1.0;

// ---------------------------------------------------------------- timing

/** How a comparison is run: `rounds` rounds of `batch` operations per contender. */
interface Schedule {
  readonly rounds: number;
  readonly batch: number;
  /** Operations per contender before measuring. */
  readonly warmup: number;
}

/** A contender: runs `n` operations and resolves to the mean microseconds of one. */
type Batch = (n: number) => Promise<number>;

/** One line of a comparison; the first entry is the baseline of the ratios. */
interface Entry {
  readonly name: string;
  /** How to run it, or why it cannot run here. */
  readonly run: Batch | { readonly skipped: string };
  /** The highest ratio to the baseline that meets the project's goal. */
  readonly goal?: number;
}

/** Figures of one contender, over its batches. */
interface Stats {
  /** Mean microseconds per operation. */
  readonly mean: number;
  /** Median of the batch means (of single operations when a batch is one). */
  readonly median: number;
}

/**
 * The timing helper: wall-clock microseconds per operation of `n` operations
 * run one after the other.
 */
async function timed(n: number, operation: () => PromiseLike<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await operation();
  return (performance.now() - t0) * 1000 / n;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs the batches interleaved: round r starts with contender r mod k (ABC, BCA, CAB…). */
async function interleave(batches: readonly Batch[], schedule: Schedule): Promise<Stats[]> {
  for (const batch of batches) await batch(schedule.warmup);
  const samples: number[][] = batches.map(() => []);
  for (let r = 0; r < schedule.rounds; r++) {
    for (let k = 0; k < batches.length; k++) {
      const i = (r + k) % batches.length;
      samples[i]!.push(await batches[i]!(schedule.batch));
    }
  }
  return samples.map((s) => ({ mean: s.reduce((a, b) => a + b, 0) / s.length, median: median(s) }));
}

// ---------------------------------------------------------------- output

/** The table printer: left-aligned first column, the others right-aligned. */
function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((row) => (row[c] ?? "").length)));
  const line = (cells: readonly string[]) =>
    "  " + cells.map((cell, c) => c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)).join("  ");
  console.log(line(headers));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) console.log(line(row));
}

/** A goal's outcome, for the summary at the end. */
interface Verdict {
  readonly goal: string;
  readonly ratios: Ratios | undefined;
  readonly target: number;
}

/** Ratios to the baseline, of the means and of the medians. */
interface Ratios {
  readonly mean: number;
  readonly median: number;
}

const verdicts: Verdict[] = [];

/** Met when both ratios are within the goal, not met when neither is. */
function verdict(ratios: Ratios | undefined, target: number): string {
  if (!ratios) return "n/a";
  const met = [ratios.mean, ratios.median].filter((r) => r <= target).length;
  return met === 2 ? "met" : met === 0 ? "NOT met" : "borderline";
}

function ratioText(ratio: number | undefined): string {
  return ratio === undefined ? "n/a" : `${ratio.toFixed(2)}×`;
}

function goalText(target: number): string {
  return `≤ ${target.toFixed(2)}×`;
}

/**
 * Runs one comparison and prints its table: the first entry is the baseline
 * of the ratios; entries with a goal go to the summary under `key`.
 */
async function compare(
  key: string,
  title: string,
  notes: readonly string[],
  entries: readonly Entry[],
  schedule: Schedule,
  unit: "µs" | "ms",
): Promise<void> {
  console.log(`\n${title}`);
  for (const note of notes) console.log(`  ${note}`);
  const runnable = entries.filter((e) => typeof e.run === "function");
  const stats = await interleave(runnable.map((e) => e.run as Batch), schedule);
  const statsOf = (e: Entry) => stats[runnable.indexOf(e)];
  const base = statsOf(entries[0]!);
  const scale = unit === "ms" ? 1000 : 1;
  const digits = unit === "ms" ? 2 : 1;
  const skips: string[] = [];
  const rows = entries.map((e, i) => {
    const s = statsOf(e);
    const ratios = base && s && i > 0 ? { mean: s.mean / base.mean, median: s.median / base.median } : undefined;
    if (e.goal !== undefined) verdicts.push({ goal: `${key}: ${e.name}`, ratios, target: e.goal });
    const goal = e.goal === undefined ? ["", ""] : [goalText(e.goal), verdict(ratios, e.goal)];
    if (!s) {
      skips.push(`${e.name}: skipped, ${typeof e.run === "function" ? "" : e.run.skipped}`);
      return [e.name, "skipped", "", "", "", ...goal];
    }
    return [
      e.name,
      (s.mean / scale).toFixed(digits),
      (s.median / scale).toFixed(digits),
      i === 0 ? "1.00×" : ratioText(ratios?.mean),
      i === 0 ? "1.00×" : ratioText(ratios?.median),
      ...goal,
    ];
  });
  printTable(
    ["contender", `mean ${unit}`, `median ${unit}`, "ratio mean", "ratio median", "goal", "verdict"],
    rows,
  );
  for (const skip of skips) console.log(`  ${skip}`);
}

// ---------------------------------------------------------------- contenders

function skipped(reason: string): { skipped: string } {
  return { skipped: reason };
}

/** Compiles bench/floor.c with the first C compiler found, or says why not. */
async function buildFloor(): Promise<string | { skipped: string }> {
  await Deno.mkdir(BUILD, { recursive: true });
  const binary = `${BUILD}/floor`;
  for (const cc of ["cc", "gcc", "clang"]) {
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command(cc, { args: ["-O2", "-o", binary, `${ROOT}bench/floor.c`] }).output();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    if (out.success) return binary;
    const why = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
    return skipped(`${cc} failed to compile bench/floor.c: ${why}`);
  }
  return skipped("no C compiler (cc, gcc or clang) is installed");
}

/**
 * Bundles the unshare path (bench/_unshare_entry.ts) into one minified file
 * with `deno bundle`, or says why not: the command is experimental and fetches
 * esbuild from the npm registry on first use.
 */
async function buildBundle(): Promise<string | { skipped: string }> {
  const file = "bench/.build/unshare_bundle.js";
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--minify", "-o", file, "bench/_unshare_entry.ts"],
    cwd: ROOT,
    stdin: "null",
  }).output();
  if (out.success) return file;
  const why = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
  return skipped(`deno bundle failed: ${why}`);
}

function floorBatch(binary: string, flags: number): Batch {
  return async (n) => {
    const out = await new Deno.Command(binary, { args: [String(n), String(flags), TRUE] }).output();
    const text = new TextDecoder().decode(out.success ? out.stdout : out.stderr).trim();
    if (!out.success) throw new Error(`Cannot run the floor: ${text}`);
    return Number(text);
  };
}

/** The lowest layer: `start()` of a prepared plan, then its status. */
function engineBatch(p: Plan): Batch {
  return (n) =>
    timed(n, async () => {
      const child = await start(p, { argv: [TRUE], env: {} });
      if (!(await child.status).success) throw new Error("/bin/true failed under the engine");
    });
}

/** Runs a command of the given sort `n` times; commands reject on failure. */
function commandBatch(run: () => PromiseLike<unknown>): Batch {
  return (n) => timed(n, run);
}

function utilLinuxBatch(args: readonly string[]): Batch {
  return (n) =>
    timed(n, async () => {
      const out = await new Deno.Command("unshare", { args: [...args, TRUE] }).output();
      if (!out.success) throw new Error(`unshare ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
    });
}

/** `deno run` of a script in the repository root, as a subprocess. */
function denoBatch(args: readonly string[]): Batch {
  return (n) =>
    timed(n, async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", ...args],
        cwd: ROOT,
        stdin: "null",
        stdout: "null",
      }).output();
      if (!out.success) throw new Error(`deno run ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
    });
}

async function which(program: string): Promise<boolean> {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      if ((await Deno.stat(`${dir}/${program}`)).isFile) return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}

// ---------------------------------------------------------------- sections

const isRoot = Deno.uid() === 0;
const NOT_ROOT = "needs root to create namespaces without a user namespace";

/** One set of namespaces, as every contender spells it. */
interface NamespaceSet {
  readonly label: string;
  readonly flags: number;
  readonly utilLinux: readonly string[];
  readonly net: boolean;
}

const BASE: NamespaceSet = {
  label: "pid+mnt+uts+ipc",
  flags: CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC,
  utilLinux: ["--pid", "--fork", "--mount", "--uts", "--ipc"],
  net: false,
};
const WITH_NET: NamespaceSet = {
  label: "pid+mnt+uts+ipc+net",
  flags: BASE.flags | CLONE_NEWNET,
  utilLinux: [...BASE.utilLinux, "--net"],
  net: true,
};

const NET_NOTE = "net: fewer iterations; the kernel tears network namespaces down asynchronously " +
  "(cleanup_net), so these figures are noisier";

function boxOf(set: NamespaceSet, fair: boolean): Sandbox {
  return unshare({
    pid: true,
    mount: true,
    uts: true,
    ipc: true,
    net: set.net,
    ...(fair ? { propagation: "unchanged" as const } : {}),
  });
}

async function engineSection(set: NamespaceSet, floor: string | { skipped: string }, schedule: Schedule) {
  const need = (batch: Batch) => isRoot ? batch : skipped(NOT_ROOT);
  const fair = boxOf(set, true);
  const usual = boxOf(set, false);
  const fairRun = fair.run(TRUE);
  const fairRunNoEnv = fairRun.clearEnv();
  const usualRun = usual.run(TRUE);
  await compare(
    `1 ${set.label}`,
    `1. Engine per spawn of /bin/true, ${set.label} (µs per spawn)`,
    [
      `${schedule.rounds} rounds × ${schedule.batch} spawns per contender, interleaved, after ${schedule.warmup} warm-up`,
      "floor: bench/floor.c, clone(flags|SIGCHLD) + execve + waitpid in a C loop, timed inside the C process;",
      "the vfork floor adds CLONE_VM|CLONE_VFORK (no copy of the address space), as the engine's clone does",
      'fair rows use propagation("unchanged"); default rows make the mount tree private (one more mount(2))',
      "engine rows and the floor give /bin/true an empty environment; api rows pass this process's",
      "environment (Deno.env.toObject() on every run) unless .clearEnv()",
      ...(set.net ? [NET_NOTE] : []),
    ],
    [
      {
        name: "floor (C clone+execve+wait)",
        run: typeof floor === "string" ? need(floorBatch(floor, set.flags)) : floor,
      },
      {
        name: "vfork floor (C, +CLONE_VM|VFORK)",
        run: typeof floor === "string" ? need(floorBatch(floor, set.flags | CLONE_VM | CLONE_VFORK)) : floor,
      },
      { name: "engine start(), fair", run: need(engineBatch(fair.plan())), goal: GOAL_FLOOR },
      { name: "api unshare().run(), fair", run: need(commandBatch(() => fairRun)), goal: GOAL_FLOOR },
      { name: "api …run().clearEnv(), fair", run: need(commandBatch(() => fairRunNoEnv)), goal: GOAL_FLOOR },
      { name: "engine start(), default", run: need(engineBatch(usual.plan())) },
      { name: "api unshare().run(), default", run: need(commandBatch(() => usualRun)) },
    ],
    schedule,
    "µs",
  );
}

async function utilLinuxSection(set: NamespaceSet, floor: string | { skipped: string }, schedule: Schedule) {
  const need = (batch: Batch) => isRoot ? batch : skipped(NOT_ROOT);
  const hasUnshare = await which("unshare");
  const run = boxOf(set, false).run(TRUE);
  await compare(
    `2 ${set.label}`,
    `2. nsh vs util-linux unshare started with Deno.Command, ${set.label} (µs per run)`,
    [
      `${schedule.rounds} rounds × ${schedule.batch} runs per contender, interleaved, after ${schedule.warmup} warm-up`,
      `baseline: new Deno.Command("unshare", {args: [${set.utilLinux.join(" ")} /bin/true]}).output()`,
      "both sides use the default propagation (private) and pass this process's environment;",
      ".output() captures stdout and stderr (pipes) as the baseline does; awaiting run() inherits them",
      "the C vfork floor of section 1 is here for scale: the least a spawn with these namespaces costs,",
      "timed inside a C process that blocks in waitpid (nsh waits without blocking the event loop)",
      ...(set.net ? [NET_NOTE] : []),
    ],
    [
      {
        name: "util-linux unshare (Deno.Command)",
        run: hasUnshare ? need(utilLinuxBatch(set.utilLinux)) : skipped("util-linux unshare is not installed"),
      },
      {
        name: "C vfork floor (for scale)",
        run: typeof floor === "string" ? need(floorBatch(floor, set.flags | CLONE_VM | CLONE_VFORK)) : floor,
      },
      { name: "nsh unshare().run() awaited", run: need(commandBatch(() => run)), goal: GOAL_UTIL_LINUX },
      { name: "nsh unshare().run().output()", run: need(commandBatch(() => run.output())), goal: GOAL_UTIL_LINUX },
    ],
    schedule,
    "µs",
  );
}

async function startupSection(schedule: Schedule, empty: string, bundle: string | { skipped: string }) {
  await compare(
    "3 whole process",
    "3. Whole process, started from the repository root (ms per process)",
    [
      `${schedule.rounds} rounds × ${schedule.batch} run per contender, interleaved, after ${schedule.warmup} warm-up`,
      `each is \`${Deno.execPath()} run -A …\` started with Deno.Command, stdout to /dev/null`,
      "the middle rows split the cost: --version loads only the CLI's entry modules; unshare true adds the",
      "unshare command, the engine, libc through FFI and a spawn without new namespaces",
      "FFI floor: one module that opens libc and runs posix_spawnp(true) + waitpid, the least any Deno",
      "program starting a process through FFI pays (no namespace: a new net namespace adds about 0.5 ms)",
      "bundled: bench/_unshare_entry.ts (the unshare command, without the CLI's dispatch) made one minified",
      "file by deno bundle: what loading the unshare path's modules one by one costs",
    ],
    [
      { name: `empty script (${empty})`, run: denoBatch([empty]) },
      { name: "FFI floor (bench/_ffi_floor.ts)", run: denoBatch(["bench/_ffi_floor.ts"]) },
      { name: "cli.ts --version", run: denoBatch(["cli.ts", "--version"]) },
      { name: "cli.ts unshare true", run: denoBatch(["cli.ts", "unshare", "true"]) },
      {
        name: "cli.ts unshare --net true",
        run: isRoot ? denoBatch(["cli.ts", "unshare", "--net", "true"]) : skipped(NOT_ROOT),
        goal: GOAL_STARTUP,
      },
      {
        name: "bundled unshare --net true",
        run: typeof bundle !== "string" ? bundle : isRoot ? denoBatch([bundle, "--net", "true"]) : skipped(NOT_ROOT),
      },
    ],
    schedule,
    "ms",
  );
}

async function probe(ns: "none" | "uts", how: "await" | "output", n: number): Promise<ProbeResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", `${ROOT}bench/_rss_probe.ts`, ns, how, String(n)],
    cwd: ROOT,
    stdin: "null",
  }).output();
  if (!out.success) throw new Error(`The memory probe failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout)) as ProbeResult;
}

/** Peak RSS in KiB of a `deno run` in the repository root, measured by GNU time. */
async function peakRss(args: readonly string[]): Promise<number> {
  const file = `${BUILD}/peak.txt`;
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%M", "-o", file, Deno.execPath(), "run", "-A", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
  }).output();
  if (!out.success) throw new Error(`deno run ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  return Number((await Deno.readTextFile(file)).trim().split("\n").pop());
}

async function memorySection(n: number, empty: string) {
  console.log("\n4. Memory (no goal: a report to catch leaks)");
  console.log(`  a fresh Deno process spawns /bin/true ${WARMUP_SPAWNS} times to warm up, then ${n}, then ${n} more;`);
  console.log("  garbage is collected before each reading. A leak shows as V8 heap or descriptors growing in the");
  console.log("  second block; RSS also grows while V8 enlarges its young generation (the 'V8 heap size' column)");
  const kib = (bytes: number) => (bytes / 1024).toFixed(0);
  const rows: string[][] = [];
  const skips: string[] = [];
  for (const [ns, how] of [["none", "await"], ["uts", "await"], ["uts", "output"]] as const) {
    const name = `${ns === "none" ? "sandbox()" : "unshare({uts})"}.run()${how === "output" ? ".output()" : ""}`;
    if (ns === "uts" && !isRoot) {
      rows.push([name, "skipped", "", "", "", "", "", ""]);
      skips.push(`${name}: skipped, ${NOT_ROOT}`);
      continue;
    }
    const { readings: [a, b, c], running } = await probe(ns, how, n);
    const grow = (key: keyof Reading, from: Reading, to: Reading) => to[key] - from[key];
    rows.push([
      name,
      (a.rss / 2 ** 20).toFixed(1),
      kib(grow("rss", a, b)),
      kib(grow("rss", b, c)),
      kib(grow("heapTotal", a, c)),
      (grow("heapUsed", b, c) / n).toFixed(1),
      `${grow("fds", a, b)} / ${grow("fds", b, c)}`,
      String(running),
    ]);
  }
  printTable(
    [
      "spawns by",
      "RSS MiB",
      `RSS +KiB 1st ${n}`,
      `RSS +KiB 2nd ${n}`,
      "V8 heap size +KiB",
      "heap used +B/spawn 2nd",
      "fds + 1st / 2nd",
      "unreaped",
    ],
    rows,
  );
  for (const skip of skips) console.log(`  ${skip}`);

  const runs = 5;
  console.log(`\n  peak RSS of one whole process (GNU time %M, median of ${runs}, interleaved)`);
  if (!(await Deno.stat("/usr/bin/time").catch(() => undefined))) {
    console.log("  skipped: /usr/bin/time (GNU time) is not installed");
    return;
  }
  const contenders: [string, string[]][] = [[`empty script (${empty})`, [empty]]];
  if (isRoot) contenders.push(["cli.ts unshare --net true", ["cli.ts", "unshare", "--net", "true"]]);
  const peaks: number[][] = contenders.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (const [i, [, args]] of contenders.entries()) peaks[i]!.push(await peakRss(args));
  }
  const base = median(peaks[0]!);
  printTable(
    ["process", "peak RSS MiB", "ratio"],
    contenders.map(([name], i) => {
      const m = median(peaks[i]!);
      return [name, (m / 1024).toFixed(1), `${(m / base).toFixed(2)}×`];
    }),
  );
  if (!isRoot) console.log(`  cli.ts unshare --net true: skipped, ${NOT_ROOT}`);
}

/** A process holding N contexts (bench/_held_probe.ts), timing batches on request. */
class HeldProbe {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = lines(child.stdout)[Symbol.asyncIterator]();
  }

  /** Starts a probe and waits until it holds its contexts. */
  static async start(n: number, fds = 0): Promise<HeldProbe> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}bench/_held_probe.ts`, String(n), String(fds)],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const probe = new HeldProbe(child);
    const first = await probe.#lines.next();
    if (first.value !== "ready") throw new Error(`The held-contexts probe (N = ${n}) did not start`);
    return probe;
  }

  /** A batch of the probe: `request` with the batch size, answered by the mean µs. */
  batch(request: "ctx" | "cmd" | "close"): Batch {
    return async (k) => {
      let total = 0;
      // A close closes all N: one per operation of the batch.
      for (const line of request === "close" ? Array(k).fill("close") : [`${request} ${k}`]) {
        await this.#writer.write(new TextEncoder().encode(`${line}\n`));
        const answer = await this.#lines.next();
        if (answer.done) throw new Error("The held-contexts probe ended early");
        total += Number(answer.value);
      }
      return request === "close" ? total / k : total;
    };
  }

  /** Ends the probe, which closes its contexts. */
  async stop(): Promise<void> {
    await this.#writer.close();
    const status = await this.#child.status;
    if (!status.success) throw new Error(`The held-contexts probe ended with status ${status.code}`);
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
    }
  }
}

const HELD = [10, 100, 500] as const;

async function heldSection(schedule: Schedule, closeSchedule: Schedule) {
  if (!isRoot) {
    console.log(`\n5. Held contexts: skipped, ${NOT_ROOT}`);
    return;
  }
  const probes: HeldProbe[] = [];
  const most = HELD[HELD.length - 1]!;
  try {
    for (const n of HELD) probes.push(await HeldProbe.start(n));
    // The control: one context, and as many descriptors as the most held keep.
    const control = await HeldProbe.start(1, 2 * (most - 1));
    probes.push(control);
    const rows = (request: "ctx" | "cmd" | "close", name: (n: number) => string, goal?: number): Entry[] => [
      ...HELD.map((n, i) => ({
        name: name(n),
        run: probes[i]!.batch(request),
        ...(n === most && goal !== undefined ? { goal } : {}),
      })),
      ...(request === "close" ? [] : [{ name: `${name(1)} + ${2 * (most - 1)} fds`, run: control.batch(request) }]),
    ];
    const common = [
      `one process per N holds N contexts (unshare({uts}).hold()); their batches are interleaved, and the`,
      "processes wait idle in between; the first row, with the fewest held, is the baseline",
      `the last row holds one context and has as many more descriptors open (/dev/null) as ${most} held keep`,
      "(a namespace and a pidfd each): every clone copies the descriptor table and every execve closes the",
      "copies, a cost of the kernel that grows with the descriptors, whoever holds them",
    ];
    await compare(
      "5 held: a run in a context",
      "5. Held contexts: what they cost other spawns, and closing them",
      [
        `${schedule.rounds} rounds × ${schedule.batch} runs per contender, after ${schedule.warmup} warm-up`,
        ...common,
        "a. a run of /bin/true in one of the held contexts (µs per run)",
      ],
      rows("ctx", (n) => `ctx.run(true), ${n} held`, GOAL_HELD),
      schedule,
      "µs",
    );
    await compare(
      "5 held: Deno.Command",
      "",
      ['b. new Deno.Command("/bin/true").output() in the same process (µs per run)'],
      rows("cmd", (n) => `Deno.Command(true), ${n} held`, GOAL_HELD),
      schedule,
      "µs",
    );
    await compare(
      "5 held: close (per context)",
      "",
      [
        `c. closing the N contexts one after the other (µs per context; O(N) keeps it flat),`,
        `${closeSchedule.rounds} rounds after ${closeSchedule.warmup} warm-up; each round holds N new ones after`,
      ],
      rows("close", (n) => `close ${n}, per context`, GOAL_HELD),
      closeSchedule,
      "µs",
    );
  } finally {
    for (const probe of probes) await probe.stop();
  }
}

// ---------------------------------------------------------------- hardening

async function hardeningSection(schedule: Schedule) {
  // Rootless as well: a user namespace mapped to root is the base.
  const base = unshare({ user: true, mapRootUser: true, pid: true, mount: true, uts: true, ipc: true });
  const caps = base.dropCapabilities("ALL").noNewPrivs();
  // The seccomp filter is compiled here, once per sandbox value, not per spawn.
  const filtered = base.seccomp(ISOLATE_SECCOMP);
  const landlocked = base.landlock({ rules: [{ kind: "path", path: "/usr", access: "rox" }] });
  const all = caps.seccomp(ISOLATE_SECCOMP).landlock({ rules: [{ kind: "path", path: "/usr", access: "rox" }] });
  const spawn = (box: Sandbox) => commandBatch(() => box.run(TRUE));
  await compare(
    "6 hardening",
    "6. Hardening: the same spawn with and without the hardening steps (µs per spawn of /bin/true)",
    [
      `${schedule.rounds} rounds × ${schedule.batch} spawns per contender, after ${schedule.warmup} warm-up`,
      "base: a user namespace mapped to root, pid+mnt+uts+ipc (rootless too); the filter is ISOLATE_SECCOMP,",
      "compiled once when the sandbox is made; Landlock allows reading and running /usr",
      "isolate(): the whole preset, for scale (a new root, more namespaces: not a goal of this section)",
    ],
    [
      { name: "base", run: spawn(base) },
      { name: "+ capabilities dropped, no_new_privs", run: spawn(caps) },
      { name: "+ seccomp", run: spawn(filtered) },
      { name: "+ Landlock", run: spawn(landlocked) },
      { name: "+ all of them", run: spawn(all), goal: GOAL_HARDENING },
      { name: "isolate()", run: spawn(isolate()) },
    ],
    schedule,
    "µs",
  );
}

// ---------------------------------------------------------------- limits

async function cgroupSection(schedule: Schedule) {
  const layout = cgroupLayout();
  const v2 = layout.v2?.dir !== undefined;
  const pidsWhere = layout.v2?.controllers.includes("pids") ? "v2" : "a v1 hierarchy";
  const why = !isRoot ? NOT_ROOT : !v2 && !layout.v1.length ? "no cgroup hierarchy here" : undefined;
  const need = (batch: Batch) => why ? skipped(why) : batch;
  const box = boxOf(BASE, false);
  const plain = box.run(TRUE);
  const placed = box.with(limits({})).run(TRUE);
  const pids = box.with(limits({ pidsMax: 1000 })).run(TRUE);
  const context = why ? undefined : await unshare({ uts: true }).with(limits({ pidsMax: 1000 })).hold();
  const bare = why ? undefined : await unshare({ uts: true }).hold();
  try {
    const inContext = context?.run(TRUE);
    const inBare = bare?.run(TRUE);
    await compare(
      "7 cgroup",
      `7. Limits: a spawn of /bin/true, ${BASE.label}, placed in a new cgroup (µs per spawn)`,
      [
        `${schedule.rounds} rounds × ${schedule.batch} spawns per contender, interleaved, after ${schedule.warmup} warm-up`,
        "each limits() row makes the box's cgroup, starts the program in it, reads its usage and removes it;",
        v2
          ? "limits({}) has a cgroup in the v2 tree only: the child is made there by clone3 (CLONE_INTO_CGROUP)"
          : "no v2 tree here: the cgroups are v1, joined by writes to cgroup.procs",
        `pidsMax has its controller in ${pidsWhere}` +
        (pidsWhere === "v2" ? "" : ": one more cgroup, and a move by the child, which waits for an RCU grace period"),
        "the context rows run in a held context (uts): with limits, each run joins the context's box",
      ],
      [
        { name: "unshare().run()", run: need(commandBatch(() => plain)) },
        { name: "… + limits({}) (a new cgroup)", run: need(commandBatch(() => placed)), goal: GOAL_CGROUP },
        { name: "… + limits({ pidsMax })", run: need(commandBatch(() => pids)) },
        { name: "context.run(), no limits", run: inBare ? commandBatch(() => inBare) : skipped(why!) },
        { name: "context.run(), context with pidsMax", run: inContext ? commandBatch(() => inContext) : skipped(why!) },
      ],
      schedule,
      "µs",
    );
  } finally {
    await bare?.close();
    await context?.close();
  }
}

// ---------------------------------------------------------------- bubblewrap

/**
 * What isolate() makes, as bwrap options: every namespace (--unshare-all),
 * the system directories read-only and a merged /usr's links, its own /proc,
 * /dev and /tmp, no capabilities, death with the caller. bubblewrap adds
 * no_new_privs, an init as PID 1 and the loopback up by itself.
 */
function isolateAsBwrap(): string[] {
  const args = ["--unshare-all", "--unshare-user"];
  for (const path of ["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch {
      continue;
    }
    if (info.isSymlink) args.push("--symlink", Deno.readLinkSync(path), path);
    else args.push("--ro-bind", path, path);
  }
  args.push("--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp");
  args.push("--cap-drop", "ALL", "--die-with-parent");
  return args;
}

async function bubblewrapSection(schedule: Schedule) {
  const args = isolateAsBwrap();
  const installed = await which("bwrap");
  const bwrap: Batch = (n) =>
    timed(n, async () => {
      const out = await new Deno.Command("bwrap", { args: [...args, TRUE], stdin: "null" }).output();
      if (!out.success) throw new Error(`bwrap failed: ${new TextDecoder().decode(out.stderr)}`);
    });
  // The same command line, parsed and made into a plan once by nsh bwrap's
  // code, then started by the engine as nsh bwrap starts it (under its init).
  const request = parseBwrap([...args, TRUE], {
    warn: () => {},
    read: () => new Uint8Array(),
    env: Deno.env.toObject(),
  });
  if (request.kind !== "run") throw new Error("Cannot parse the bench's bwrap options");
  const made = bwrapPlan(request.options);
  const nshBwrap: Batch = (n) =>
    timed(n, async () => {
      const child = await start(made.plan, { argv: made.argv, env: made.env, init: true });
      if (!(await child.status).success) throw new Error("/bin/true failed in nsh's bwrap sandbox");
    });
  const why = "bubblewrap is not installed (Debian: apt-get install bubblewrap)";
  await compare(
    "8 bubblewrap",
    "8. bubblewrap: the same sandbox from a running script (µs per spawn of /bin/true)",
    [
      `${schedule.rounds} rounds × ${schedule.batch} spawns per contender, after ${schedule.warmup} warm-up`,
      `bwrap ${args.join(" ")} /bin/true`,
      "Deno.Command(\"bwrap\") is the baseline; nsh bwrap's plan of the same options (API, under nsh's init);",
      "isolate(): nsh's preset, the same isolation (as root, root in the box is nobody outside, not root)",
    ],
    [
      { name: 'Deno.Command("bwrap", …)', run: installed ? bwrap : skipped(why) },
      { name: "the same options through nsh's API", run: nshBwrap, goal: GOAL_BWRAP },
      { name: "isolate()", run: commandBatch(() => isolate().run(TRUE)), goal: GOAL_BWRAP },
    ],
    schedule,
    "µs",
  );
}

// ---------------------------------------------------------------- shell

/** The pipeline both shells run, its output to /dev/null: two programs, a pipe between them. */
const PIPELINE = "/bin/echo hello | /bin/cat > /dev/null";

async function shellSection(schedule: Schedule) {
  const { Session } = await import("../cli/shell/session.ts");
  let said = "";
  const session = new Session({ out: (t) => said += t, err: (t) => said += t });
  // Rootless as well: the context is a user namespace mapped to root, with
  // the namespaces of the other sections.
  const made = await session.runSource("unshare --user --map-root-user --mount --uts --ipc --pid --net\n");
  const holder = session.context?.holderPid;
  if (made !== 0 || holder === undefined) throw new Error(`The shell made no context: ${said}`);
  const sh = await which("dash") ? "dash" : "sh";
  const nsenter = await which("nsenter");
  try {
    await compare(
      "9 shell",
      `9. The shell: a pipeline of two programs in a context (ms per pipeline): ${PIPELINE}`,
      [
        `${schedule.rounds} rounds × ${schedule.batch} pipelines per contender, after ${schedule.warmup} warm-up`,
        "the context: user (root mapped), mnt, uts, ipc, pid, net; held by the shell of the nsh rows",
        `baseline: ${sh} -c run by nsenter -t HOLDER -a into that context, started with Deno.Command,`,
        "as a host shell starts it; nsh: the shell in this process, at its prompt in the context, the",
        "programs started by the engine with a pipe2(2) pipe between them",
      ],
      [
        {
          name: `nsenter -a ${sh} -c '…'`,
          run: nsenter
            ? (n) =>
              timed(n, async () => {
                const out = await new Deno.Command("nsenter", {
                  args: ["-t", String(holder), "-a", sh, "-c", PIPELINE],
                  stdin: "null",
                }).output();
                if (!out.success) throw new Error(`nsenter failed: ${new TextDecoder().decode(out.stderr)}`);
              })
            : skipped("nsenter is not installed"),
        },
        {
          name: "nsh shell, in the context",
          run: (n) =>
            timed(n, async () => {
              if (await session.runSource(PIPELINE + "\n") !== 0) throw new Error(`The pipeline failed: ${said}`);
            }),
          goal: GOAL_SHELL,
        },
        {
          name: "nsh shell, one program, for scale",
          run: (n) =>
            timed(n, async () => {
              if (await session.runSource("/bin/true\n") !== 0) throw new Error(`/bin/true failed: ${said}`);
            }),
        },
      ],
      schedule,
      "ms",
    );
  } finally {
    await session.close();
  }
}

// ---------------------------------------------------------------- main

function loadText(): string {
  return Deno.loadavg().map((l) => l.toFixed(2)).join(" ");
}

if (import.meta.main) {
  const started = performance.now();
  // `deno task bench 1 5` runs sections 1 and 5 only; no argument runs all.
  const only = new Set(Deno.args.map(Number));
  const wanted = (section: number) => !only.size || only.has(section);
  console.log(
    `nsh bench: deno ${Deno.version.deno}, Linux ${Deno.osRelease()} ${Deno.build.arch}, ` +
      `${navigator.hardwareConcurrency} CPUs, uid ${Deno.uid()}, load average ${loadText()}`,
  );
  if (Deno.loadavg()[0]! > 0.5) {
    console.log("warning: the machine is busy (load average above 0.5): expect noisier figures");
  }
  if (!isRoot) console.log(`not root: rows that create namespaces are skipped (${NOT_ROOT})`);
  const floor = await buildFloor();
  if (typeof floor !== "string") console.log(`floor: skipped, ${floor.skipped}`);
  // Relative to the repository root, where the processes of sections 3 and 4 start.
  const empty = "bench/.build/empty.ts";
  await Deno.writeTextFile(`${ROOT}${empty}`, "");

  if (wanted(1)) {
    await engineSection(BASE, floor, { rounds: 30, batch: 100, warmup: 100 });
    await engineSection(WITH_NET, floor, { rounds: 12, batch: 30, warmup: 20 });
  }
  if (wanted(2)) {
    await utilLinuxSection(BASE, floor, { rounds: 30, batch: 30, warmup: 20 });
    await utilLinuxSection(WITH_NET, floor, { rounds: 12, batch: 12, warmup: 6 });
  }
  if (wanted(3)) await startupSection({ rounds: 100, batch: 1, warmup: 5 }, empty, await buildBundle());
  if (wanted(4)) await memorySection(2000, empty);
  if (wanted(5)) await heldSection({ rounds: 30, batch: 50, warmup: 50 }, { rounds: 10, batch: 1, warmup: 1 });
  if (wanted(6)) await hardeningSection({ rounds: 30, batch: 30, warmup: 30 });
  if (wanted(7)) await cgroupSection({ rounds: 30, batch: 50, warmup: 50 });
  if (wanted(8)) await bubblewrapSection({ rounds: 20, batch: 20, warmup: 10 });
  if (wanted(9)) await shellSection({ rounds: 30, batch: 20, warmup: 20 });

  console.log("\nGoals (verdict: met when the ratios of both mean and median are within the goal)");
  printTable(
    ["goal", "ratio mean", "ratio median", "goal", "verdict"],
    verdicts.map((v) => [
      v.goal,
      ratioText(v.ratios?.mean),
      ratioText(v.ratios?.median),
      goalText(v.target),
      verdict(v.ratios, v.target),
    ]),
  );
  console.log(
    `\nload average at the end ${loadText()}; the bench took ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
}
