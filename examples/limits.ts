/**
 * A box with limits: a fork bomb stops at the process limit, a memory hog
 * is killed by the OOM killer and reported as such, and what each used is
 * read from its cgroup once it has ended. Nothing escapes the box by forking:
 * nsh kills the whole cgroup when the program ends.
 *
 * Run as root (or in a delegated cgroup): deno run -A examples/limits.ts
 *
 * @module
 */

import { limits, unshare } from "../mod.ts";

// A shell that starts processes until fork fails (dash then ends with 2).
const bomb = await unshare({ user: true, mapRootUser: true, pid: true, fork: true })
  .with(limits({ pidsMax: 16 }))
  .run("sh", "-c", "while :; do sleep 60 & echo started; done")
  .stderr("piped")
  .noThrow()
  .output();
const started = bomb.stdoutText.split("\n").filter(Boolean).length;
console.log(`fork bomb: ${started} started, then "${bomb.stderrText.trim()}" (pids.max 16), status ${bomb.code}`);

// A program that wants more memory than its box has: tail keeps a line
// that never ends.
const hog = await unshare({ user: true, mapRootUser: true })
  .with(limits({ memoryMax: "32M", memorySwapMax: 0 }))
  .run("tail", "/dev/zero")
  .noThrow()
  .output();
const peak = (hog.usage?.memoryPeak ?? 0) / 2 ** 20;
console.log(
  `memory hog: ${hog.oomKilled ? "killed by the OOM killer" : `ended with ${hog.code}`}, ` +
    `peak ${peak <= 32 ? "within" : "above"} 32 MiB`,
);
