/**
 * A child of bench/run.ts: holds N contexts in one Deno process and times,
 * on request, what their holders may slow down in that process. bench/run.ts
 * starts one probe per N and interleaves their batches, as it interleaves the
 * contenders of every comparison; the probes wait idle in between.
 *
 * Usage: `deno run -A bench/_held_probe.ts N [FDS]`, then one request per line on
 * stdin, one answer per line on stdout (mean microseconds per operation):
 *
 * - `ctx K`: K runs of `/bin/true` in one of the held contexts, awaited;
 * - `cmd K`: K runs of `new Deno.Command("/bin/true").output()`;
 * - `close`: closes the N contexts one after the other, then holds N new
 *   ones (not timed); the answer is per context closed.
 *
 * It prints `ready` once the N contexts are held. With FDS, it also opens
 * /dev/null FDS times: a held context keeps two descriptors (its namespace
 * and its holder's pidfd), and every clone copies the descriptor table, and
 * every execve closes the copies (they are close-on-exec), so the kernel's
 * cost of them can be told apart from nsh's.
 *
 * @module
 */

import { type Context, unshare } from "../mod.ts";

const TRUE = "/bin/true";

/** Holds n contexts with a UTS namespace each (the cheapest to make). */
async function holdAll(n: number): Promise<Context[]> {
  const box = unshare({ uts: true });
  const held: Context[] = [];
  for (let i = 0; i < n; i++) held.push(await box.hold());
  return held;
}

async function timed(k: number, operation: () => PromiseLike<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < k; i++) await operation();
  return (performance.now() - t0) * 1000 / k;
}

if (import.meta.main) {
  const n = Number(Deno.args[0]);
  if (!(n > 0)) {
    console.error("usage: _held_probe.ts N");
    Deno.exit(2);
  }
  let held = await holdAll(n);
  const extra = Array.from({ length: Number(Deno.args[1] ?? 0) }, () => Deno.openSync("/dev/null"));
  const encoder = new TextEncoder();
  const answer = (text: string) => Deno.stdout.writeSync(encoder.encode(`${text}\n`));
  answer("ready");
  let pending = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const [what, count] = pending.slice(0, newline).split(" ");
      pending = pending.slice(newline + 1);
      const k = Number(count);
      if (what === "ctx") {
        const run = held[0]!.run(TRUE);
        answer(String(await timed(k, () => run)));
      } else if (what === "cmd") {
        const command = new Deno.Command(TRUE, { stdin: "null" });
        answer(String(await timed(k, () => command.output())));
      } else if (what === "close") {
        const t0 = performance.now();
        for (const context of held) await context.close();
        const perContext = (performance.now() - t0) * 1000 / n;
        held = await holdAll(n);
        answer(String(perContext));
      } else {
        console.error(`_held_probe.ts: unknown request "${what}"`);
        Deno.exit(2);
      }
    }
  }
  for (const context of held) await context.close();
  for (const file of extra) file.close();
}
