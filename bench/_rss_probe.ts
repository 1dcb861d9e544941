/**
 * A child of bench/run.ts: spawns `/bin/true` many times through the public
 * API in one fresh Deno process and prints, as one line of JSON, how its
 * memory and open file descriptors grew. Garbage is collected before each
 * reading, so what remains is what the spawns kept.
 *
 * Usage: `deno run -A --v8-flags=--expose-gc bench/_rss_probe.ts none|uts await|output N`
 *
 * @module
 */

import { sandbox, unshare } from "../mod.ts";
import { runningChildren } from "../lib/child.ts";

/** One reading, after garbage collection. */
export interface Reading {
  /** Resident set size in bytes. */
  readonly rss: number;
  /** V8 heap in use, in bytes. */
  readonly heapUsed: number;
  /** V8 heap reserved, in bytes. */
  readonly heapTotal: number;
  /** Open file descriptors of this process. */
  readonly fds: number;
}

/** What the probe prints: readings after the warm-up, after N and after 2N spawns. */
export interface ProbeResult {
  /** The three readings. */
  readonly readings: readonly [Reading, Reading, Reading];
  /** Children not reaped at the end (should be 0). */
  readonly running: number;
}

/** Spawns before the first reading, so that lazy loading and pools settle. */
export const WARMUP_SPAWNS = 200;

const gc = (globalThis as { gc?: () => void }).gc;

async function read(): Promise<Reading> {
  // Two passes, with a turn of the event loop between, let finalizers run.
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, 0));
  gc?.();
  let fds = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) fds++;
  const { rss, heapUsed, heapTotal } = Deno.memoryUsage();
  return { rss, heapUsed, heapTotal, fds };
}

if (import.meta.main) {
  const [ns, how, count] = Deno.args;
  const n = Number(count);
  if ((ns !== "none" && ns !== "uts") || (how !== "await" && how !== "output") || !(n > 0)) {
    console.error("usage: _rss_probe.ts none|uts await|output N");
    Deno.exit(2);
  }
  if (!gc) console.error("_rss_probe.ts: run with --v8-flags=--expose-gc for stable readings");
  const box = ns === "uts" ? unshare({ uts: true }) : sandbox();
  const command = box.run("/bin/true");
  const spawn = how === "output" ? () => command.output() : async () => await command;
  const spawnMany = async (times: number) => {
    for (let i = 0; i < times; i++) await spawn();
  };
  await spawnMany(WARMUP_SPAWNS);
  const first = await read();
  await spawnMany(n);
  const second = await read();
  await spawnMany(n);
  const third = await read();
  const result: ProbeResult = { readings: [first, second, third], running: runningChildren().length };
  console.log(JSON.stringify(result));
}
