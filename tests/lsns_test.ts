/**
 * `nsh lsns` against util-linux `lsns` on this machine, and the typed API of
 * lib/lsns.ts. Processes come and go between two runs, so the comparisons
 * are about namespaces the tests make with long-running processes of their
 * own, filtered with `-p` or `-t` where the host's counts would differ.
 *
 * @module
 */

import { assert, assertEquals, assertSnapshot, assertThrows } from "./_assert.ts";
import { CLI, hasProgram, IS_ROOT, NOBODY, nsh, type Output, REPO, run, runUnprivileged } from "./_env.ts";
import { listNamespaces, nsenter, processInfo, processNamespaces, type Sandbox, unshare } from "../mod.ts";
import { lsnsHelp, parseLsns } from "../cli/lsns.ts";
import { VERSION } from "../cli/version.ts";

const HAS_LSNS = hasProgram("lsns");
/** Tests that make namespaces and compare with util-linux. */
const withLsns = { ignore: !IS_ROOT || !HAS_LSNS };
const UTF8 = { LANG: "C.UTF-8", LC_ALL: "C.UTF-8" };
const ASCII = { LANG: "C", LC_ALL: "C" };

/** Every column. */
const COLUMNS = [
  "NS",
  "TYPE",
  "PATH",
  "NPROCS",
  "PID",
  "PPID",
  "COMMAND",
  "UID",
  "USER",
  "NETNSID",
  "NSFS",
  "PNS",
  "ONS",
];

/**
 * Runs util-linux `lsns`. Before 2.41 it gives up without a word (status 1,
 * no output) when any process of the machine is reaped while it reads its
 * stat (ESRCH; util-linux's "lsns: ignore ESRCH errors"), which a busy machine
 * makes happen: such a run is made again, a few times.
 */
async function utilLinuxLsns(args: string[], env: Record<string, string> = UTF8): Promise<Output> {
  for (let attempt = 1;; attempt++) {
    const out = await run("lsns", args, { env });
    if (attempt === 5 || out.code !== 1 || out.stdout !== "" || out.stderr !== "") return out;
  }
}

/** Runs util-linux `lsns` and `nsh lsns` with the same arguments and locale. */
async function both(args: string[], env: Record<string, string> = UTF8): Promise<[string, string]> {
  const [ours, theirs] = await Promise.all([nsh(["lsns", ...args], { env }), utilLinuxLsns(args, env)]);
  assertEquals([ours.code, ours.stderr], [theirs.code, theirs.stderr], `status and stderr of lsns ${args.join(" ")}`);
  return [ours.stdout, theirs.stdout];
}

/** Asserts that `nsh lsns` prints what util-linux `lsns` prints. */
async function assertSameOutput(args: string[], env: Record<string, string> = UTF8): Promise<string> {
  const [ours, theirs] = await both(args, env);
  assertEquals(ours, theirs, `lsns ${args.join(" ")}`);
  return ours;
}

/** Compares text with a file under tests/snapshots; UPDATE_SNAPSHOTS=1 rewrites it. */
async function waitFor<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

function readOr(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** A child of `ppid`, found through `/proc/PID/stat`. */
function childOf(ppid: number): number | undefined {
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = readOr(`/proc/${entry.name}/stat`);
    if (stat && Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === ppid) return Number(entry.name);
  }
  return undefined;
}

/** Processes in new namespaces that sleep for ever (a busy machine outlasts any fixed time), killed at the end. */
class Sleepers {
  #children: { kill(signal: string): void }[] = [];
  #done: Promise<unknown>[] = [];

  /** Starts a program in a box and returns its pid. */
  async start(box: Sandbox, ...argv: [string, ...string[]]): Promise<number> {
    const child = box.run(...argv).noThrow().stdout("null").stderr("null").spawn();
    this.#children.push(child);
    this.#done.push(child);
    return (await child.started).pid;
  }

  /** Kills a child started elsewhere with the others. */
  adopt(child: { kill(signal: string): void } & Promise<unknown>): void {
    this.#children.push(child);
    this.#done.push(child);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const child of this.#children) child.kill("SIGKILL");
    await Promise.allSettled(this.#done);
  }
}

function inode(pid: number, type: string): number {
  const link = Deno.readLinkSync(`/proc/${pid}/ns/${type}`);
  return Number(link.slice(link.indexOf("[") + 1, -1));
}

type JsonEntry = Record<string, unknown> & { children?: JsonEntry[] };

/** The entries of `lsns -J`, with the children of trees lifted out. */
function flatten(text: string): JsonEntry[] {
  const out: JsonEntry[] = [];
  const visit = ({ children, ...entry }: JsonEntry) => {
    out.push(entry);
    children?.forEach(visit);
  };
  (JSON.parse(text) as { namespaces: JsonEntry[] }).namespaces.forEach(visit);
  return out;
}

Deno.test("processNamespaces() reads what readlink shows in /proc/self/ns", () => {
  const ns = processNamespaces("self");
  const names = [...Deno.readDirSync("/proc/self/ns")].map((e) => e.name).sort();
  assertEquals(Object.keys(ns).sort(), names);
  for (const name of names) {
    const link = Deno.readLinkSync(`/proc/self/ns/${name}`);
    const entry = ns[name as keyof typeof ns];
    assert(entry.inode !== undefined, `${name} is readable`);
    assertEquals(entry.link, link);
    assertEquals(entry.inode, Deno.statSync(`/proc/self/ns/${name}`).ino);
    assertEquals(entry.type, link.slice(0, link.indexOf(":")));
  }
  assertEquals(processNamespaces(Deno.pid), ns);
});

Deno.test("processNamespaces() throws NotFound for a process that is gone and RangeError for a bad pid", () => {
  const gone = Number(Deno.readTextFileSync("/proc/sys/kernel/pid_max")) + 1;
  assertThrows(
    () => processNamespaces(gone),
    Deno.errors.NotFound,
    `Cannot read the namespaces of process ${gone}: no such process`,
  );
  assertThrows(() => processInfo(gone), Deno.errors.NotFound, `process ${gone}: no such process`);
  assertThrows(() => listNamespaces({ pid: gone }), Deno.errors.NotFound);
  for (const pid of [0, -1, 1.5, NaN]) {
    assertThrows(() => processNamespaces(pid), RangeError, `Cannot read the namespaces of process ${pid}`);
  }
  assertThrows(() => listNamespaces({ types: ["nope" as "net"] }), TypeError, 'unknown namespace type "nope"');
  assertThrows(
    () => listNamespaces({ type: ["net"] } as never),
    TypeError,
    'Unknown option "type" of listNamespaces(); did you mean types? The options are types, pid,',
  );
});

Deno.test({
  name: "processNamespaces() says EACCES for a process the caller may not inspect",
  ignore: !IS_ROOT || !hasProgram("setpriv"),
  async fn() {
    const out = await runUnprivileged(`
      import { processNamespaces } from "$REPO/mod.ts";
      const ns = processNamespaces(1);
      console.log(JSON.stringify([ns.net.inode, (ns.net as { code?: string }).code]));
    `);
    assertEquals(out.code, 0, out.stderr);
    assertEquals(JSON.parse(out.stdout), [null, "EACCES"]);
  },
});

Deno.test("processInfo() describes this process as lsns does", () => {
  const info = processInfo(Deno.pid);
  const cmdline = Deno.readTextFileSync(`/proc/${Deno.pid}/cmdline`);
  assertEquals(info.command, cmdline.slice(0, -1).replaceAll("\0", " "));
  assertEquals(info.uid, Deno.uid());
  assertEquals(info.ppid, Deno.ppid);
});

Deno.test({
  name: "listNamespaces() finds new namespaces with their one process, and filters by type and pid",
  ...withLsns,
  async fn() {
    await using sleepers = new Sleepers();
    const pid = await sleepers.start(unshare({ net: true, uts: true, ipc: true }), "sleep", "infinity");
    const all = listNamespaces({ relations: true });
    const host = processNamespaces("self");
    for (const type of ["net", "uts", "ipc"] as const) {
      const entry = all.find((e) => e.inode === inode(pid, type));
      assertEquals(entry, {
        inode: inode(pid, type),
        type,
        nprocs: 1,
        pids: [pid],
        pid,
        ppid: Deno.pid,
        command: "sleep infinity",
        uid: 0,
        user: "root",
        path: `/proc/${pid}/ns/${type}`,
        nsfs: [],
        parent: undefined,
        owner: host.user.inode,
      });
    }
    assertEquals(all.map((e) => e.inode), all.map((e) => e.inode).sort((a, b) => a - b));
    const nets = listNamespaces({ types: ["net"] });
    assert(nets.every((e) => e.type === "net" && e.parent === undefined && e.owner === undefined));
    assert(nets.some((e) => e.inode === host.net.inode));
    const mine = listNamespaces({ pid });
    assertEquals(mine.map((e) => e.type).sort(), ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"]);
    assert(mine.every((e) => e.pids.includes(pid)));
    assertEquals(listNamespaces({ persistent: true, types: ["uts"] }).filter((e) => e.nprocs > 0), []);
  },
});

Deno.test({
  name: "nsh lsns -J agrees with util-linux lsns -J on the namespaces of new processes",
  ...withLsns,
  async fn() {
    await using sleepers = new Sleepers();
    const a = await sleepers.start(unshare({ net: true, uts: true, ipc: true }), "sleep", "infinity");
    const b = await sleepers.start(
      unshare({ pid: true, mountProc: true }),
      "unshare",
      "--pid",
      "--fork",
      "sleep",
      "infinity",
    );
    const inner = await waitFor("the inner sleep", () => childOf(b));
    const mine = [
      inode(a, "net"),
      inode(a, "uts"),
      inode(a, "ipc"),
      inode(b, "mnt"),
      inode(b, "pid"),
      await waitFor(
        "its own PID namespace",
        () => inode(inner, "pid") !== inode(b, "pid") ? inode(inner, "pid") : undefined,
      ),
    ];
    for (const args of [["-J"], ["-J", "--output-all"], ["-J", "-Tparent"], ["-J", "-l", "-o", COLUMNS.join(",")]]) {
      const [ours, theirs] = (await both(args)).map((text) => flatten(text));
      const pick = (list: JsonEntry[]) => mine.map((ns) => list.filter((e) => e.ns === ns));
      assertEquals(pick(ours!), pick(theirs!), args.join(" "));
      for (const [entry] of pick(ours!)) assert(entry, "each namespace is listed once");
      // The same keys, in the same order, on every line.
      assertEquals(
        new Set(ours!.map((e) => Object.keys(e).join())),
        new Set(theirs!.map((e) => Object.keys(e).join())),
      );
    }
  },
});

Deno.test({
  name: "nsh lsns -t and -p select what util-linux selects, in its table, raw and JSON formats",
  ...withLsns,
  async fn() {
    await using sleepers = new Sleepers();
    const pid = await sleepers.start(unshare({ net: true, uts: true, ipc: true }), "sleep", "infinity");
    const others = COLUMNS.filter((c) => c !== "NSFS").join(",");
    for (const format of [[], ["-r"], ["-J"], ["-n"], ["-l"]]) {
      await assertSameOutput(["-t", "net", "-p", String(pid), "-o", others, ...format]);
      const text = await assertSameOutput(["-t", "uts", "--type", "ipc", "--task", String(pid), ...format]);
      if (!format.length) {
        assertEquals(text.split("\n").map((l) => l.trim().split(/ +/)[1]).filter(Boolean), ["TYPE", "uts", "ipc"]);
      }
    }
  },
});

Deno.test({
  name: "nsh lsns -o prints each column as util-linux does, and +LIST adds to the defaults",
  ...withLsns,
  async fn() {
    await using sleepers = new Sleepers();
    const pid = await sleepers.start(unshare({ uts: true }), "sleep", "infinity");
    const filter = ["-t", "uts", "-p", String(pid)];
    for (const column of COLUMNS) {
      await assertSameOutput([...filter, "-o", column]);
      await assertSameOutput([...filter, "-o", column.toLowerCase(), "-J"]);
    }
    await assertSameOutput([...filter, "-o", "+PATH,ppid,UID"]);
    await assertSameOutput([...filter, "--output-all", "-o", "+NS", "-J"]);
    // NETNSID: ask rtnetlink, as lsns does; a namespace without an id is "unassigned".
    await assertSameOutput(["-t", "net", "-p", String(pid), "-o", "NS,NETNSID", "-J"]);
  },
});

Deno.test({
  name: "nsh lsns -J prints util-linux's shape: lower-case keys, numbers, null for empty cells, children",
  ...withLsns,
  async fn() {
    await using sleepers = new Sleepers();
    const pid = await sleepers.start(unshare({ uts: true }), "sleep", "infinity");
    const out = await nsh(["lsns", "-J", "-t", "uts", "-p", String(pid)]);
    assertEquals(out.code, 0, out.stderr);
    assertEquals(JSON.parse(out.stdout), {
      namespaces: [{ ns: inode(pid, "uts"), type: "uts", nprocs: 1, pid, user: "root", command: "sleep infinity" }],
    });
    const whole = JSON.parse((await nsh(["lsns", "-J"])).stdout) as { namespaces: JsonEntry[] };
    assertEquals(Object.keys(whole), ["namespaces"]);
    for (const entry of flatten(JSON.stringify(whole))) {
      assertEquals(Object.keys(entry), ["ns", "type", "nprocs", "pid", "user", "command"]);
      assertEquals(typeof entry.ns, "number");
      assertEquals(typeof entry.nprocs, "number");
      assert(typeof entry.pid === "number" || entry.pid === null);
    }
    assertEquals(
      (await nsh(["lsns", "-J", "-P", "-t", "cgroup", "-o", "NS"])).stdout,
      '{\n   "namespaces": [\n\n   ]\n}\n',
    );
  },
});

Deno.test({
  name: "nsh lsns -T draws util-linux's trees of nested PID and user namespaces, in UTF-8 and ASCII",
  ...withLsns,
  async fn() {
    await using sleepers = new Sleepers();
    const b = await sleepers.start(
      unshare({ pid: true, mountProc: true }),
      "unshare",
      "--pid",
      "--fork",
      "sleep",
      "infinity",
    );
    const inner = await waitFor("the inner sleep", () => childOf(b));
    await waitFor("its PID namespace", () => inode(inner, "pid") !== inode(b, "pid") || undefined);
    // The outer user namespace keeps no process: lsns finds it through NS_GET_PARENT.
    const u = await sleepers.start(
      unshare({ user: true, mapRootUser: true }),
      "sh",
      "-c",
      "exec unshare -U sleep infinity",
    );
    await waitFor("the nested user namespace", () => readOr(`/proc/${u}/cmdline`)?.startsWith("sleep") || undefined);
    for (const env of [UTF8, ASCII]) {
      for (const tree of ["-Tparent", "--tree=owner", "-Tprocess", "-T"]) {
        for (const format of [[], ["-J"], ["-r"]]) {
          await assertSameOutput(["-t", "pid", tree, "-o", "NS,TYPE,PNS,ONS", "-p", String(inner), ...format], env);
          await assertSameOutput(["-t", "user", tree, "-o", "NS,TYPE,PNS,ONS", "-p", String(u), ...format], env);
        }
      }
      // The processes of one namespace, as a tree: the outer unshare and its sleep.
      await assertSameOutput([String(inode(b, "mnt"))], env);
      await assertSameOutput([String(inode(b, "mnt")), "-J", "-o", "PID,PPID,COMMAND,NS,NPROCS"], env);
    }
    const tree = JSON.parse((await nsh(["lsns", "-t", "user", "-Tparent", "-J", "-p", String(u)])).stdout);
    const ghost = tree.namespaces[0].children[0];
    assertEquals([ghost.nprocs, ghost.pid, ghost.user, ghost.children[0].pid], [0, null, "root", u]);
  },
});

Deno.test({
  name: "nsh lsns -P lists a namespace bound to a file that no process is in",
  ...withLsns,
  async fn() {
    // Everything is mounted inside a mount namespace of the test's own.
    const dir = Deno.makeTempDirSync({ prefix: "nsh-lsns-" });
    const script = `
      set -e
      touch "$1/held" "$1/live"
      unshare --net="$1/held" true
      unshare --uts="$1/live" sleep 60 &
      while ! grep -q " $1/live " /proc/self/mountinfo; do sleep 0.05; done
      deno="$2" cli="$3"
      nsh() { "$deno" run -A --quiet "$cli" lsns "$@"; }
      stat -L -c %i "$1/held"; echo ---
      nsh -P -J; echo ---
      nsh -P -o NS,NSFS,TYPE,UID -r; echo ---
      nsh -t uts -p $! -o NS,NPROCS,NSFS; echo ---
      lsns -t uts -p $! -o NS,NPROCS,NSFS; echo ---
      nsh -t uts -p $! -o NS,NPROCS,NSFS -J; echo ---
      lsns -t uts -p $! -o NS,NPROCS,NSFS -J
      kill $!
    `;
    try {
      const out = await unshare({ mount: true })
        .run("sh", "-c", script, "sh", dir, Deno.execPath(), CLI)
        .env(UTF8)
        .output();
      const [ids, persistent, raw, ours, theirs, oursJson, theirsJson] = out.stdoutText.split("---\n");
      const held = Number(ids);
      const entries = flatten(persistent!);
      assert(entries.every((e) => e.nprocs === 0), persistent);
      assertEquals(entries.filter((e) => e.ns === held), [
        { ns: held, type: "net", nprocs: 0, pid: null, user: "root", command: null },
      ]);
      assert(raw!.split("\n").includes(`${held} ${dir}/held net 0`), raw);
      assertEquals(ours, theirs);
      assertEquals(oursJson, theirsJson);
      assertEquals(flatten(oursJson!).map((e) => e.nsfs), [`${dir}/live`]);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "nsh lsns truncates commands to a terminal's width as util-linux does",
  ignore: !IS_ROOT || !HAS_LSNS || !hasProgram("script") || !hasProgram("stty"),
  async fn() {
    await using sleepers = new Sleepers();
    const words = "an argument list long enough to be cut".split(" ");
    // PID 1 of a PID namespace of its own: killing the shell ends its sleep too.
    const pid = await sleepers.start(unshare({ uts: true, pid: true }), "sh", "-c", "sleep infinity; :", ...words);
    const cases = [["-o", "NS,TYPE,COMMAND"], ["-o", "COMMAND,NS"], ["-u"], ["-Towner", "-o", "NS,COMMAND"]];
    for (const columns of [24, 40, 60]) {
      for (const extra of cases) {
        const args = ["-t", "uts", "-p", String(pid), ...extra].join(" ");
        const deno = `${Deno.execPath()} run -A --quiet ${CLI}`;
        let out: Output;
        // Again when util-linux printed nothing: see utilLinuxLsns().
        for (let attempt = 1;; attempt++) {
          out = await run("script", [
            "-qc",
            `stty cols ${columns}; lsns ${args}; echo ---; ${deno} lsns ${args}`,
            "/dev/null",
          ], {
            env: UTF8,
          });
          if (attempt === 5 || !out.stdout.startsWith("---")) break;
        }
        const [theirs, ours] = out.stdout.replaceAll("\r", "").split("---\n");
        assertEquals(ours, theirs, `${columns} columns: lsns ${args}`);
      }
    }
  },
});

Deno.test("nsh lsns rejects bad input with one line and status 1, in util-linux's words, a usage hint for syntax only", async () => {
  const gone = Number(Deno.readTextFileSync("/proc/sys/kernel/pid_max")) + 1;
  const cases: [string[], string, boolean][] = [
    [["-t", "foo"], "unknown namespace type: foo", false],
    [["-t", "mount"], "unknown namespace type: mount", false],
    [["-p", "abc"], "invalid PID argument: 'abc'", false],
    [["-o", "FOO"], "unknown column: FOO", false],
    [["-o", "NS,"], "unknown column: NS,", false],
    [["-T", "sideways"], "invalid namespace argument: 'sideways'", false],
    [["--tree=sideways"], "unknown tree type: sideways", false],
    [["-J", "-r"], "mutually exclusive arguments: --json --raw", false],
    [["-p", "1", "4026531836"], "--task is mutually exclusive with <namespace>", false],
    [["--frob"], "unrecognized option '--frob'", true],
    [["1"], "not found namespace: 1", false],
  ];
  // A --task process that does not exist holds no namespace: nothing, and 0, as util-linux 2.38 says.
  const none = await nsh(["lsns", "-p", String(gone)]);
  assertEquals([none.code, none.stdout, none.stderr], [0, "", ""]);
  if (HAS_LSNS) {
    const theirs = await utilLinuxLsns(["-p", String(gone)], {});
    assertEquals([theirs.code, theirs.stdout, theirs.stderr], [0, "", ""]);
  }
  for (const [args, message, usage] of cases) {
    const out = await nsh(["lsns", ...args]);
    const hint = usage ? "Try 'nsh lsns --help' for more information.\n" : "";
    assertEquals([out.code, out.stdout, out.stderr], [1, "", `nsh lsns: ${message}\n${hint}`], args.join(" "));
    if (HAS_LSNS) {
      const theirs = await utilLinuxLsns(args);
      // glibc's getopt names the program by its path.
      const line = theirs.stderr.split("\n")[0]!.replace(/^\S*\/lsns: /, "lsns: ");
      assertEquals([theirs.code, line], [1, `lsns: ${message}`], args.join(" "));
    }
  }
});

Deno.test("parseLsns() chooses columns and trees as util-linux 2.38 does", () => {
  const list = (args: string[]) => {
    const request = parseLsns(args);
    assert(request.kind === "list");
    return request;
  };
  assertEquals(list([]).columns, ["NS", "TYPE", "NPROCS", "PID", "USER", "COMMAND"]);
  assertEquals(list([]).tree, "process");
  assertEquals(list(["-t", "net"]).columns, ["NS", "TYPE", "NPROCS", "PID", "USER", "NETNSID", "NSFS", "COMMAND"]);
  assertEquals(list(["-o", "ns,Type"]).columns, ["NS", "TYPE"]);
  assertEquals(list(["-o", "ns"]).tree, "process");
  assertEquals(list(["-o", "+PATH"]).columns, ["NS", "TYPE", "NPROCS", "PID", "USER", "COMMAND", "PATH"]);
  assertEquals(list(["--output-all"]).tree, undefined);
  assertEquals(list(["-l"]).tree, undefined);
  assertEquals(list(["-Tparent"]).tree, "parent");
  assertEquals(list(["-nT"]).tree, "owner");
  assertEquals(list(["--tree=process"]).tree, "process");
  assertEquals(list(["-r"]).noWrap, true);
  assertEquals(list(["-t", "net", "-t", "net", "--type=uts"]).types, ["net", "uts"]);
  // getopt_long permutes: options may follow the namespace.
  const ns = list(["4026531836", "-o", "PID", "-J"]);
  assertEquals([ns.namespace, ns.columns, ns.format, ns.tree], [4026531836, ["PID"], "json", "process"]);
  assertEquals(list(["4026531836"]).columns, ["PID", "PPID", "USER", "COMMAND"]);
  assertEquals(list(["-P"]).persistent, true);
  assertEquals(parseLsns(["-t", "net", "-h", "-t", "nope"]), { kind: "help" });
  assertEquals(parseLsns(["-V"]), { kind: "version" });
});

Deno.test("nsh lsns --help and --version print and exit 0, and the help matches its snapshot", async () => {
  assertSnapshot(lsnsHelp(), "lsns_help.txt");
  const help = await nsh(["lsns", "--help"]);
  assertEquals([help.code, help.stdout, help.stderr], [0, lsnsHelp(), ""]);
  const version = await nsh(["lsns", "-V"]);
  assertEquals([version.code, version.stdout], [0, `nsh lsns ${VERSION}\n`]);
  assertEquals((await nsh(["help", "lsns"])).stdout, lsnsHelp());
});

Deno.test({
  name: "nsh lsns as another user than root lists only that user's processes, as lsns does",
  ignore: !IS_ROOT || !HAS_LSNS || !hasProgram("setpriv"),
  async fn() {
    const out = await runUnprivileged(`
      import { listNamespaces } from "$REPO/mod.ts";
      console.log(JSON.stringify(listNamespaces().flatMap((e) => e.pids)));
    `);
    assertEquals(out.code, 0, out.stderr);
    for (const pid of JSON.parse(out.stdout) as number[]) {
      const status = readOr(`/proc/${pid}/status`);
      if (status) assert(status.includes(`\nUid:\t${NOBODY.uid}\t`), `process ${pid} is nobody's`);
    }
  },
});

Deno.test({
  name: "nsh lsns shows the id a network namespace was given, as util-linux does",
  ignore: !IS_ROOT || !HAS_LSNS || !hasProgram("ip"),
  async fn() {
    // In a network namespace of the test's own, which gives the id.
    await using sleepers = new Sleepers();
    const outer = await sleepers.start(unshare({ net: true, mount: true }).tmpfs("/run"), "sleep", "infinity");
    const inner = await sleepers.start(
      nsenter({ target: outer, net: true, mount: true }).with(unshare({ net: true })),
      "sleep",
      "infinity",
    );
    const setId = await nsenter({ target: outer, net: true, mount: true }).run(
      "sh",
      "-c",
      `ip netns attach tst ${inner} && ip netns set tst 7`,
    ).noThrow().output();
    assertEquals(setId.code, 0, setId.stderrText);
    const args = ["lsns", "-t", "net", "-o", "NS,NETNSID,PID", "-J"];
    const inside = nsenter({ target: outer, net: true, mount: true });
    const ours = await inside.run(Deno.execPath(), "run", "-A", "--quiet", CLI, ...args).text();
    let theirs = "";
    // Again when util-linux printed nothing: see utilLinuxLsns().
    for (let attempt = 1; attempt <= 5 && !theirs; attempt++) theirs = await inside.run(args).noThrow().text();
    // The namespaces of the test's processes: others come and go between the two runs.
    const mine = [inode(outer, "net"), inode(inner, "net"), inode(Deno.pid, "net")];
    const pick = (text: string) => flatten(text).filter((e) => mine.includes(e.ns as number));
    assertEquals(pick(ours), pick(theirs));
    const idOf = (pid: number) => pick(ours).find((e) => e.ns === inode(pid, "net"))?.netnsid;
    assertEquals([idOf(Deno.pid), idOf(outer), idOf(inner)], ["unassigned", "unassigned", "7"]);
  },
});

Deno.test({
  name: "nsh lsns lists a network namespace held only by a descriptor, or only by a socket, as util-linux 2.40+ does",
  ignore: !IS_ROOT || !hasProgram("ip"),
  async fn() {
    // In a mount and network namespace of the test's own, with its own /run.
    await using sleepers = new Sleepers();
    const world = await sleepers.start(unshare({ mount: true, net: true }).tmpfs("/run"), "sleep", "infinity");
    const inside = nsenter({ target: world, mount: true, net: true });
    const made = await inside.run("sh", "-c", "ip netns add by-fd && ip netns add by-socket").noThrow().output();
    assertEquals(made.code, 0, made.stderrText);
    const ino = (name: string) => Deno.statSync(`/proc/${world}/root/run/netns/${name}`).ino!;
    const byFd = ino("by-fd"), bySocket = ino("by-socket");
    // One process holds the first open as fd 3, another a socket made in the second.
    await sleepers.start(inside, "sh", "-c", "exec 3</run/netns/by-fd; exec sleep infinity");
    const holder = `
      import { socketIn } from "${REPO}lib/engine.ts";
      socketIn([{ type: "net", path: "/run/netns/by-socket" }], 2, 1, 0); // AF_INET, SOCK_STREAM
      console.log("ready");
      await new Promise((r) => setTimeout(r, 3_600_000));
    `;
    const file = Deno.makeTempFileSync({ suffix: ".ts" });
    try {
      Deno.writeTextFileSync(file, holder);
      const child = inside.run(Deno.execPath(), "run", "-A", "--quiet", file).stdout("piped").noThrow().spawn();
      sleepers.adopt(child);
      const reader = child.stdout!.getReader();
      assertEquals(new TextDecoder().decode((await reader.read()).value), "ready\n");
      reader.releaseLock();
      // Their names gone, only the descriptor and the socket hold them.
      const gone = await inside.run("sh", "-c", "ip netns delete by-fd && ip netns delete by-socket").noThrow()
        .output();
      assertEquals(gone.code, 0, gone.stderrText);
      for (const ns of [byFd, bySocket]) {
        const out = await nsh(["lsns", "-n", "-r", "-o", "NS,TYPE,NPROCS,PID,USER", "-Q", `NS == ${ns}`]);
        assertEquals([out.code, out.stdout, out.stderr], [0, `${ns} net 0  root\n`, ""]);
        assertEquals(listNamespaces({ types: ["net"] }).filter((e) => e.inode === ns).length, 1);
        assertEquals(listNamespaces({ types: ["net"], held: false }).filter((e) => e.inode === ns).length, 0);
        // Not of a kind asked for: not listed.
        assertEquals(listNamespaces({ types: ["uts"] }).filter((e) => e.inode === ns).length, 0);
      }
    } finally {
      Deno.removeSync(file);
    }
  },
});

Deno.test({
  name: "nsh lsns -Q keeps the lines the filter keeps, also in trees, and refuses an unknown column",
  ignore: !IS_ROOT,
  async fn() {
    await using sleepers = new Sleepers();
    const pid = await sleepers.start(unshare({ net: true, uts: true }), "sleep", "infinity");
    const net = inode(pid, "net"), uts = inode(pid, "uts");
    const run = async (...args: string[]) => {
      const out = await nsh(["lsns", ...args]);
      assertEquals([out.code, out.stderr], [0, ""], args.join(" "));
      return out.stdout;
    };
    assertEquals(await run("-n", "-r", "-o", "NS", "-Q", `PID == ${pid} && TYPE == "net"`), `${net}\n`);
    assertEquals(
      await run("-n", "-r", "-o", "NS", "--filter", `PID == ${pid} and (TYPE eq 'uts' or TYPE eq 'net')`),
      [net, uts].sort((a, b) => a - b).map((ns) => `${ns}\n`).join(""),
    );
    // A column used by the filter only, and one that is shown.
    assertEquals(await run("-n", "-r", "-o", "TYPE", "-Q", `NS == ${uts}`), "uts\n");
    // In the process tree (the default): its two namespaces' lines, no header (-n).
    const tree = await run("-n", "-o", "NS,COMMAND", "-Q", `PID == ${pid} && COMMAND =~ "^sleep"`);
    assertEquals(tree.trimEnd().split("\n").map((l) => l.trim().split(/\s+/)[1]), ["sleep", "sleep"]);
    const unknown = await nsh(["lsns", "-Q", "FOO == 1"]);
    assertEquals([unknown.code, unknown.stdout, unknown.stderr], [
      1,
      "",
      "nsh lsns: failed to initialize filter: unknown column: FOO\n",
    ]);
    const syntax = await nsh(["lsns", "-Q", "NS =="]);
    assertEquals([syntax.code, syntax.stderr], [
      1,
      'nsh lsns: failed to parse "NS ==": syntax error, unexpected end of file\n',
    ]);
  },
});
