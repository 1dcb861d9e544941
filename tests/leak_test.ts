/**
 * Nothing is left behind: after hundreds of spawns, some failing on purpose at
 * every stage, this process has the same file descriptors, no children, no
 * zombies, and the mount table is unchanged.
 *
 * @module
 */

import { assert, assertEquals } from "./_assert.ts";
import { IS_ROOT, runUnprivileged } from "./_env.ts";
import { sandbox, unshare } from "../mod.ts";
import { runningChildren } from "../lib/child.ts";
import { pooledSlabs } from "../ffi/program.ts";

interface Snapshot {
  fds: string[];
  /** Descriptors registered in this process's epoll instances (nsh's and Deno's). */
  watched: number;
  children: number[];
  zombies: number[];
  mounts: string;
}

/**
 * How many descriptors the epoll instances of this process watch: a wait
 * that epoll settled keeps its one-shot registration until its descriptor
 * closes, which must remove it.
 */
function watched(): number {
  let count = 0;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${entry.name}`) !== "anon_inode:[eventpoll]") continue;
      count += Deno.readTextFileSync(`/proc/self/fdinfo/${entry.name}`).split("\n").filter((l) => l.startsWith("tfd:"))
        .length;
    } catch {
      // Closed while we looked.
    }
  }
  return count;
}

function snapshot(): Snapshot {
  const fds = [...Deno.readDirSync("/proc/self/fd")].map((e) => {
    try {
      return `${e.name} -> ${Deno.readLinkSync(`/proc/self/fd/${e.name}`)}`;
    } catch {
      return e.name;
    }
  }).filter((fd) => !fd.includes("/proc/") && !fd.endsWith("fd")).sort();
  const children: number[] = [];
  for (const task of Deno.readDirSync("/proc/self/task")) {
    const text = Deno.readTextFileSync(`/proc/self/task/${task.name}/children`).trim();
    if (text) children.push(...text.split(" ").map(Number));
  }
  const zombies: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const fields = Deno.readTextFileSync(`/proc/${entry.name}/stat`).split(") ")[1]!.split(" ");
      if (fields[0] === "Z" && Number(fields[1]) === Deno.pid) zombies.push(Number(entry.name));
    } catch {
      // Gone while we looked.
    }
  }
  return {
    fds,
    watched: watched(),
    children: children.sort(),
    zombies,
    mounts: Deno.readTextFileSync("/proc/self/mountinfo"),
  };
}

const box = unshare({ uts: true, pid: true, ipc: true });
const ranges = unshare({ user: true, mapUsers: [{ inside: 0, outside: 100000, count: 1000 }] });

/** One spawn of kind `i % 7`: succeeding, or failing at a different stage. */
async function spawnOne(i: number): Promise<void> {
  switch (i % 7) {
    case 0:
      await box.run("true");
      return;
    case 1: // not found: fails before any clone
      await box.run("no-such-program-nsh").catch(() => {});
      return;
    case 2: // fails in the child, after clone, at a mount step
      await box.with(sandbox().mountProc("/no/such/dir")).run("true").catch(() => {});
      return;
    case 3: // piped output
      assertEquals(await box.run("echo", String(i)).text(), String(i));
      return;
    case 4: { // killed while running
      const child = box.run("sleep", "10").spawn();
      child.kill("SIGKILL");
      await child.catch(() => {});
      return;
    }
    case 5: // the parent writes the maps (async clone, sync pipe)
      await ranges.run("true");
      return;
    case 6: // fails at execve after the parent wrote the maps
      await ranges.run("/etc/hostname").catch(() => {});
      return;
  }
}

Deno.test({
  name: "500 spawns, some failing on purpose, leave no fd, child, zombie or mount behind",
  ignore: !IS_ROOT,
  async fn() {
    for (let i = 0; i < 7; i++) await spawnOne(i); // warm up: /dev/null, pools
    const before = snapshot();
    for (let i = 0; i < 500; i += 5) await Promise.all([0, 1, 2, 3, 4].map((k) => spawnOne(i + k)));
    const after = snapshot();
    assertEquals(runningChildren().length, 0);
    assertEquals(after.fds, before.fds);
    assertEquals(after.watched, before.watched);
    assertEquals(after.children, []);
    assertEquals(after.zombies, []);
    assertEquals(after.mounts, before.mounts);
    assert(pooledSlabs() <= 8, `pooled slabs: ${pooledSlabs()}`);
  },
});

Deno.test({
  name: "holding and closing 100 contexts, with runs in them, leaves no fd, registration, child or zombie behind",
  ignore: !IS_ROOT,
  async fn() {
    const held = [await box.hold()];
    await held[0]!.run("true");
    await held[0]!.close();
    const before = snapshot();
    for (let i = 0; i < 100; i++) held.push(await box.hold());
    await Promise.all(held.slice(1, 11).map((context) => context.run("true")));
    // One killed from outside, reaped while nothing else waits.
    Deno.kill(held[50]!.holderPid!, "SIGKILL");
    for (const context of held.slice(1)) await context.close();
    const after = snapshot();
    assertEquals(runningChildren().length, 0);
    assertEquals(after.fds, before.fds);
    assertEquals(after.watched, before.watched);
    assertEquals(after.children, []);
    assertEquals(after.zombies, []);
  },
});

Deno.test({
  name: "refused clones leave no fd or child behind for an unprivileged user",
  ignore: !IS_ROOT,
  async fn() {
    const out = await runUnprivileged(`
      import { unshare } from "$REPO/mod.ts";
      const count = () => [...Deno.readDirSync("/proc/self/fd")].length;
      await unshare({ net: true }).run("true").stdout("piped").catch(() => {});
      const before = count();
      for (let i = 0; i < 100; i++) await unshare({ net: true }).run("true").stdout("piped").catch(() => {});
      console.log(JSON.stringify({ before, after: count(), children: Deno.readTextFileSync("/proc/self/task/" + Deno.pid + "/children").trim() }));
    `);
    assertEquals(out.code, 0, out.stderr);
    const r = JSON.parse(out.stdout);
    assertEquals([r.after, r.children], [r.before, ""]);
  },
});
