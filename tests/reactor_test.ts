/**
 * Waiting for children and their pipes (lib/reactor.ts): one poll on Deno's
 * blocking pool for all of them, so that many children at once neither
 * deadlock nsh nor stall Deno's own I/O, and holders never keep a process
 * alive. Rootless: each runs in a user namespace, as root and as anyone.
 *
 * @module
 */

import { assert, assertEquals } from "./_assert.ts";
import { comm, hasProgram, REPO, runUnprivileged, traceScript } from "./_env.ts";
import { unshare } from "../mod.ts";

/** Settles as `promise` does, or rejects once `ms` have passed: a guard against a hang, not a speed check. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

// Deno's blocking pool has a fixed number of threads: more children than that
// at once, each fed stdin and read, deadlocked when each held threads.
const MANY = 80;

Deno.test(`${MANY} children with piped stdin and captured stdout run at once`, async () => {
  const box = unshare({ user: true, mapRootUser: true, net: true });
  assertEquals(await box.run("cat").stdinText("w").text(), "w"); // the pool then has threads to hand out
  const texts = await within(
    Promise.all(Array.from({ length: MANY }, (_, i) => box.run("cat").stdinText(`x${i}`).text())),
    60_000,
    `${MANY} cats`,
  );
  assertEquals(texts, Array.from({ length: MANY }, (_, i) => `x${i}`));
});

Deno.test(`Deno's own file I/O goes on while ${MANY} children run and are waited for`, async () => {
  const box = unshare({ user: true, mapRootUser: true });
  const children = Array.from({ length: MANY }, () => box.run("sleep", "60").spawn());
  try {
    const status = await within(Deno.readTextFile("/proc/self/status"), 20_000, "Deno.readTextFile");
    assert(status.includes("Name:"));
    // And nsh's own next spawn.
    assertEquals(await within(box.run("echo", "still").text(), 20_000, "one more run"), "still");
  } finally {
    for (const child of children) child.kill("SIGKILL");
    await Promise.allSettled(children);
  }
});

Deno.test("a script that leaves contexts open ends when its work is done, and their holders with it", async () => {
  const out = await runUnprivileged(
    `import { unshare } from "$REPO/mod.ts";
     const ctx = await unshare({ user: true, mapRootUser: true, net: true }).hold();
     await ctx.run("true");
     // A context in it: its holder joins the user namespace, which clears a death signal set before.
     const inner = await ctx.hold(unshare({ uts: true }));
     console.log(ctx.holderPid, inner.holderPid); // neither closed`,
    {
      wrap: async (argv) => {
        const child = new Deno.Command(argv[0]!, {
          args: argv.slice(1),
          cwd: "/", // nobody may not enter this clone's directory (CI clones under /root)
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(30_000),
        }).spawn();
        const o = await child.output();
        const text = new TextDecoder();
        return { code: o.code, stdout: text.decode(o.stdout), stderr: text.decode(o.stderr) };
      },
    },
  );
  assertEquals(out.stderr, "");
  assertEquals(out.code, 0, "the script ended by itself, not killed at the 30 s guard");
  const holders = out.stdout.trim().split(" ").map(Number);
  assert(holders.length === 2 && holders.every((pid) => pid > 1), `the holders' pids: ${out.stdout}`);
  for (const holder of holders) {
    // Dead with its parent (a zombie at most, where PID 1 does not reap).
    const state = await (async () => {
      for (let i = 0; i < 100; i++) {
        try {
          const s = Deno.readTextFileSync(`/proc/${holder}/stat`).split(") ")[1]![0];
          if (s === "Z") return s;
        } catch {
          return "gone";
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      return "alive";
    })();
    const name = comm(holder);
    if (state === "alive") Deno.kill(holder, "SIGKILL"); // leave nothing behind, then fail
    assert(state === "gone" || state === "Z", `holder ${holder} (${name}) is ${state}`);
  }
});

Deno.test("cancelling a piped stream of a spawned command closes its pipe, read or not, and stdout is one stream", async () => {
  const box = unshare({ user: true, mapRootUser: true });
  const open = () => [...Deno.readDirSync("/proc/self/fd")].length;
  // Once: the descriptors nsh keeps for its life (/dev/null, the poll's wake-up pipe).
  assertEquals(await box.run("sh", "-c", "sleep 0.05; echo warm").text(), "warm");
  const before = open();
  const ran = box.run("echo", "1").stdout("piped").stderr("piped").spawn();
  await ran;
  assert(ran.stdout === ran.stdout, "the same stream each time");
  await ran.stdout.cancel();
  await ran.stderr.cancel();
  const running = box.run("sleep", "0.05").stdout("piped").spawn();
  await running.stdout.cancel();
  await running;
  assertEquals(open(), before);
});

Deno.test("an unref()'d command lets the script end while it runs, as Deno.ChildProcess.unref() does", async () => {
  const out = await runUnprivileged(
    `import { unshare } from "$REPO/mod.ts";
     // Its stdio is not the script's: the test reads the script's output to its end.
     const sleeper = unshare({ user: true, mapRootUser: true }).run("sleep", "30").stdout("null").stderr("null").spawn();
     sleeper.unref();
     console.log((await sleeper.started).pid);`,
  );
  const pid = Number(out.stdout.trim());
  try {
    assertEquals([out.code, out.stderr], [0, ""]);
    assert(pid > 1 && comm(pid) === "sleep", `the sleep runs on: ${out.stdout}`);
  } finally {
    if (pid > 1) Deno.kill(pid, "SIGKILL");
  }
});

Deno.test("an unref()'d command still settles, and is reaped, when it ends", async () => {
  const box = unshare({ user: true, mapRootUser: true });
  const spawned = Array.from({ length: 20 }, () => box.run("sleep", "0.1").spawn());
  for (const child of spawned) child.unref();
  const pids = await Promise.all(spawned.map(async (child) => (await child.started).pid));
  // Nothing referenced keeps the poll going: SIGCHLD wakes the waits.
  const results = await within(Promise.all(spawned), 20_000, "the unref'd sleeps");
  assert(results.every((r) => r.code === 0));
  for (const pid of pids) assertEquals(comm(pid), undefined, `pid ${pid} was reaped`);
});

Deno.test("a command unref()'d after it ended, unnoticed, still settles", async () => {
  const box = unshare({ user: true, mapRootUser: true });
  const other = box.run("sleep", "0.1").spawn();
  const late = box.run("sleep", "0.2").spawn();
  await Promise.all([other.started, late.started]);
  // Both end while JavaScript is busy: the wait wakes for one and sees the
  // other end before it waits again; then the second is unref'd.
  const until = performance.now() + 400;
  while (performance.now() < until);
  late.unref();
  assertEquals((await within(late, 10_000, "the unref'd sleep")).code, 0);
  await other;
});

Deno.test("a holder killed from outside is reaped while nothing else waits, and the others are not woken", async () => {
  const box = unshare({ user: true, mapRootUser: true });
  const held = [await box.hold(), await box.hold(), await box.hold()];
  try {
    const pid = held[1]!.holderPid!;
    Deno.kill(pid, "SIGKILL");
    // Timers only: no wait of nsh runs, the SIGCHLD alone must lead to the reap.
    const until = Date.now() + 10_000;
    while (comm(pid) !== undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assertEquals(comm(pid), undefined, `holder ${pid} was reaped, not left a zombie`);
    for (const i of [0, 2]) assertEquals(comm(held[i]!.holderPid!), "nsh-holder");
    assertEquals(await held[0]!.run("echo", "on").text(), "on");
  } finally {
    for (const context of held) await context.close();
  }
});

// Each held context has a wait that is not referenced (its holder's). They
// were all woken by every SIGCHLD of the process, and each then asked the
// kernel again (waitid) and registered its pidfd anew (two epoll_ctl): with
// 100 held, every spawn anywhere in the process cost about 400 system calls,
// and closing them all about 15,000. Counted with strace, not timed (the
// bench times it): what a spawn or a close costs must not grow with the
// number of contexts held.
Deno.test({
  name: "with 100 contexts held, a spawn and a close cost a few system calls, not some per context",
  ignore: !hasProgram("strace"),
  async fn() {
    const HELD = 100, RUNS = 20;
    const waits = ["epoll_ctl", "epoll_pwait", "waitid"];
    const trace = await traceScript(
      `import { unshare } from "${REPO}mod.ts";
       const box = unshare({ user: true, mapRootUser: true });
       const held = [];
       for (let i = 0; i < ${HELD}; i++) held.push(await box.hold());
       await held[0].run("true");
       await new Deno.Command("true").output();
       mark("runs");
       for (let i = 0; i < ${RUNS}; i++) await held[0].run("true");
       mark("commands");
       for (let i = 0; i < ${RUNS}; i++) await new Deno.Command("true", { stdin: "null" }).output();
       mark("close");
       for (const context of held) await context.close();
       mark("end");`,
      waits,
    );
    assert(["runs", "commands", "close", "end"].every((what) => trace.at(what) >= 0), "the markers are traced");
    // Measured: about 7 per run in a context (its pidfd, the wait, the
    // reap, the holder's check), 8 per Deno.Command (Deno's own pipes),
    // 5 per close; with the waits of the held contexts woken, 350 and more.
    const perRun = trace.calls("runs", "commands", waits).length / RUNS;
    const perCommand = trace.calls("commands", "close", waits).length / RUNS;
    const perClose = trace.calls("close", "end", waits).length / HELD;
    assert(perRun < 20, `a run in a context made ${perRun} calls to epoll_ctl, epoll_pwait and waitid`);
    assert(perCommand < 20, `a Deno.Command made ${perCommand} calls to epoll_ctl, epoll_pwait and waitid`);
    assert(perClose < 20, `a close made ${perClose} calls to epoll_ctl, epoll_pwait and waitid`);
  },
});
