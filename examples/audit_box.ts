/**
 * What a box shares with the host, asked of the kernel: the same program
 * audited in a bare network namespace and in isolate(), side by side. The
 * audit probes each breakout path from a child that has the box's
 * namespaces, credentials, capabilities and seccomp filter.
 *
 * Run as root: deno run -A examples/audit_box.ts
 *
 * @module
 */

import { audit, isolate, type Sandbox, unshare } from "../mod.ts";

/** The breakout paths audit() finds open for a sleeping program in `box`. */
async function openPaths(box: Sandbox): Promise<string> {
  const sleeper = box.run("sleep", "60").noThrow().spawn();
  try {
    const report = await audit((await sleeper.started).pid);
    const open = report.breakouts.filter((b) => b.open).map((b) => b.id);
    return open.length ? open.join(", ") : "none";
  } finally {
    sleeper.kill("SIGKILL");
    await sleeper;
  }
}

console.log(`unshare --net: open ${await openPaths(unshare({ net: true }))}`);
console.log(`isolate():     open ${await openPaths(isolate())}`);
