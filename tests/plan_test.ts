/**
 * plan() folds steps into a plan: implied namespaces, last-wins steps, id maps
 * and the checks made before any process starts.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { plan, type PlanContext, planHere } from "../lib/plan.ts";
import {
  bindMount,
  domainname,
  hostname,
  type IdRange,
  keepCaps,
  killChild,
  mapCurrentUser,
  mapGroup,
  mapGroups,
  mapRootUser,
  mapUser,
  mapUsers,
  mount,
  mountProc,
  namespaces,
  propagation,
  root,
  setgid,
  setgroups,
  setuid,
  type Step,
  timeOffset,
  tmpfs,
  workdir,
} from "../lib/steps.ts";

/** A caller that is not root, with a readFile that must not be used. */
const USER: PlanContext = {
  euid: 1000,
  egid: 100,
  readFile: (path) => {
    throw new Error(`unexpected read of ${path}`);
  },
};

function planOf(...steps: Step[]) {
  return plan(steps, USER);
}

/** A user of the host's /etc/passwd other than root, to map by name. */
function someUser(): { name: string; id: number } | undefined {
  for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
    const [name, , id] = line.split(":");
    if (name && id && /^\d+$/.test(id) && id !== "0") return { name, id: Number(id) };
  }
  return undefined;
}

Deno.test("plan() of no steps creates nothing and keeps the defaults", () => {
  assertEquals(planOf(), {
    namespaces: [],
    uidMap: undefined,
    gidMap: undefined,
    mapsNeedParent: false,
    setgroups: undefined,
    propagation: "private",
    monotonic: undefined,
    boottime: undefined,
    root: undefined,
    wd: undefined,
    killChild: undefined,
    setuid: undefined,
    setgid: undefined,
    persist: [],
    enter: [],
    enterRoot: undefined,
    enterWd: undefined,
    enterIds: undefined,
    actions: [],
  });
});

Deno.test("plan() lists the namespaces asked for in table order, once", () => {
  assertEquals(planOf(namespaces("time", "pid", "net"), namespaces("net", "mnt")).namespaces, [
    "mnt",
    "net",
    "pid",
    "time",
  ]);
});

Deno.test("plan() implies a user namespace for id maps, setgroups and keep-caps", () => {
  for (
    const step of [
      mapRootUser(),
      mapCurrentUser(),
      mapUser(5),
      mapGroup(5),
      mapUsers([{ inside: 0, outside: 100000, count: 10 }]),
      mapGroups([{ inside: 0, outside: 100000, count: 10 }]),
      setgroups("deny"),
      keepCaps(),
    ]
  ) {
    assertEquals(planOf(step).namespaces, ["user"], step.kind);
  }
});

Deno.test("plan() implies a UTS namespace for the hostname and the domain name", () => {
  assertEquals(planOf(hostname("box")).namespaces, ["uts"]);
  assertEquals(planOf(domainname("example")).namespaces, ["uts"]);
});

Deno.test("plan() implies a time namespace for a clock offset", () => {
  assertEquals(planOf(timeOffset("monotonic", 10)).namespaces, ["time"]);
  assertEquals(planOf(timeOffset("boottime", -10)).namespaces, ["time"]);
});

Deno.test("plan() implies a mount namespace for proc and for mounts", () => {
  for (
    const step of [mountProc(), bindMount("/a", "/b"), tmpfs("/tmp"), mount({ source: "x", target: "/y", type: "z" })]
  ) {
    assertEquals(planOf(step).namespaces, ["mnt"], step.kind);
  }
});

Deno.test("plan() implies no namespace for root, wd, propagation, ids and kill-child", () => {
  const p = planOf(root("/srv"), workdir("/"), propagation("slave"), setuid(1), setgid(1), killChild());
  assertEquals(p.namespaces, []);
  assertEquals([p.root, p.wd, p.propagation, p.setuid, p.setgid, p.killChild], ["/srv", "/", "slave", 1, 1, 9]);
});

Deno.test("plan() adds implied namespaces to those asked for", () => {
  assertEquals(planOf(namespaces("pid"), mapRootUser(), mountProc(), hostname("h")).namespaces, [
    "mnt",
    "uts",
    "pid",
    "user",
  ]);
});

Deno.test("plan() keeps the last of repeated steps", () => {
  const p = planOf(
    hostname("a"),
    hostname("b"),
    domainname("c"),
    domainname("d"),
    propagation("shared"),
    propagation("unchanged"),
    timeOffset("monotonic", 1),
    timeOffset("monotonic", 2),
    timeOffset("boottime", 3),
    timeOffset("boottime", 4),
    mountProc("/p1"),
    mountProc("/p2"),
    root("/r1"),
    root("/r2"),
    workdir("/w1"),
    workdir("/w2"),
    killChild(9),
    killChild(15),
    setuid(1),
    setuid(2),
    setgid(3),
    setgid(4),
    setgroups("deny"),
    setgroups("allow"),
  );
  assertEquals(
    [p.propagation, p.monotonic, p.boottime, p.root, p.wd],
    ["unchanged", 2, 4, "/r2", "/w2"],
  );
  // The steps that compile themselves: the last of each kind, by phase.
  assertEquals<readonly Step[]>(p.actions, [hostname("b"), domainname("d"), mountProc("/p2")]);
  assertEquals([p.killChild, p.setuid, p.setgid, p.setgroups], [15, 2, 4, "allow"]);
});

Deno.test("plan() keeps the last single mapping of each kind", () => {
  const p = planOf(mapRootUser(), mapUser(7));
  assertEquals(p.uidMap, [{ inside: 7, outside: 1000, count: 1 }]);
  assertEquals(p.gidMap, [{ inside: 0, outside: 100, count: 1 }]);
  assertEquals(planOf(mapUser(7), mapCurrentUser()).uidMap, [{ inside: 1000, outside: 1000, count: 1 }]);
});

Deno.test("plan() keeps the last blocks of each kind", () => {
  const p = planOf(
    mapUsers([{ inside: 0, outside: 100000, count: 10 }]),
    mapUsers([{ inside: 0, outside: 200000, count: 5 }]),
  );
  assertEquals(p.uidMap, [{ inside: 0, outside: 200000, count: 5 }]);
});

Deno.test("plan() keeps all mounts in the order given", () => {
  const steps = [
    tmpfs("/tmp", "size=1m"),
    bindMount("/a", "/b", { readonly: true }),
    mount({ source: "none", target: "/c", type: "ramfs", flags: 2, data: "mode=700" }),
    bindMount("/d", "/e"),
  ];
  const p = planOf(...steps);
  assertEquals<readonly Step[]>(p.actions, steps);
});

Deno.test("plan() orders the steps that compile themselves by phase, then as given", () => {
  const p = planOf(mountProc(), keepCaps(), tmpfs("/t"), hostname("h"), bindMount("/a", "/b"));
  assertEquals(p.actions.map((s) => s.kind), ["hostname", "tmpfs", "bind", "mount-proc", "keep-caps"]);
});

Deno.test("plan() maps root to the caller's ids and denies setgroups", () => {
  const p = planOf(mapRootUser());
  assertEquals(p.uidMap, [{ inside: 0, outside: 1000, count: 1 }]);
  assertEquals(p.gidMap, [{ inside: 0, outside: 100, count: 1 }]);
  assertEquals([p.setgroups, p.mapsNeedParent], ["deny", false]);
});

Deno.test("plan() maps the current user to itself", () => {
  const p = planOf(mapCurrentUser());
  assertEquals(p.uidMap, [{ inside: 1000, outside: 1000, count: 1 }]);
  assertEquals(p.gidMap, [{ inside: 100, outside: 100, count: 1 }]);
  assertEquals(p.setgroups, "deny");
});

Deno.test("plan() maps the user alone to a uid without touching groups", () => {
  const p = planOf(mapUser(5));
  assertEquals(p.uidMap, [{ inside: 5, outside: 1000, count: 1 }]);
  assertEquals([p.gidMap, p.setgroups], [undefined, undefined]);
});

Deno.test("plan() maps the group alone to a gid and denies setgroups", () => {
  const p = planOf(mapGroup(7));
  assertEquals([p.uidMap, p.gidMap], [undefined, [{ inside: 7, outside: 100, count: 1 }]]);
  assertEquals(p.setgroups, "deny");
});

Deno.test("plan() maps a user given as a numeric string", () => {
  assertEquals(planOf(mapUser("42")).uidMap, [{ inside: 42, outside: 1000, count: 1 }]);
});

Deno.test("plan() maps a user and a group by name from the host's databases", () => {
  assertEquals(planOf(mapUser("root"), mapGroup("root")).uidMap, [{ inside: 0, outside: 1000, count: 1 }]);
  assertEquals(planOf(mapGroup("root")).gidMap, [{ inside: 0, outside: 100, count: 1 }]);
  const user = someUser();
  if (user) assertEquals(planOf(mapUser(user.name)).uidMap, [{ inside: user.id, outside: 1000, count: 1 }]);
});

Deno.test("plan() rejects a user name that does not exist", () => {
  const error = assertThrows(() => planOf(mapUser("no-such-user-nsh")), TypeError);
  assertEquals(error.message, 'Cannot map user "no-such-user-nsh": no such user in /etc/passwd');
  const group = assertThrows(() => planOf(mapGroup("no-such-group-nsh")), TypeError);
  assertEquals(group.message, 'Cannot map group "no-such-group-nsh": no such group in /etc/group');
});

Deno.test("plan() writes blocks alone through the parent", () => {
  const blocks = [{ inside: 0, outside: 100000, count: 65536 }];
  const p = planOf(mapUsers(blocks));
  assertEquals([p.uidMap, p.gidMap, p.setgroups, p.mapsNeedParent], [blocks, undefined, undefined, true]);
  assertEquals(planOf(mapGroups(blocks)).mapsNeedParent, true);
});

Deno.test("plan() punches the single mapping's hole in the blocks", () => {
  const p = planOf(
    mapRootUser(),
    mapUsers([{ inside: 0, outside: 100000, count: 65536 }]),
    mapGroups([{ inside: 0, outside: 200000, count: 100 }]),
  );
  assertEquals(p.uidMap, [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100001, count: 65535 }]);
  assertEquals(p.gidMap, [{ inside: 0, outside: 100, count: 1 }, { inside: 1, outside: 200001, count: 99 }]);
  assertEquals([p.mapsNeedParent, p.setgroups], [true, "deny"]);
});

Deno.test("plan() punches the hole where the caller's own id falls in a block", () => {
  const p = plan([mapCurrentUser(), mapUsers([{ inside: 0, outside: 100000, count: 10 }])], {
    ...USER,
    euid: 100005,
  });
  assertEquals(p.uidMap, [
    { inside: 100005, outside: 100005, count: 1 },
    { inside: 0, outside: 100000, count: 5 },
    { inside: 6, outside: 100006, count: 4 },
  ]);
});

Deno.test("plan() combines a single user map with group blocks only", () => {
  const p = planOf(mapUser(0), mapGroups([{ inside: 0, outside: 200000, count: 10 }]));
  assertEquals(p.uidMap, [{ inside: 0, outside: 1000, count: 1 }]);
  assertEquals(p.gidMap, [{ inside: 0, outside: 200000, count: 10 }]);
  assertEquals([p.mapsNeedParent, p.setgroups], [true, undefined]);
});

Deno.test("plan() needs the parent only for blocks", () => {
  assertEquals(planOf(mapRootUser()).mapsNeedParent, false);
  assertEquals(planOf(mapUser(1), mapGroup(1)).mapsNeedParent, false);
  assertEquals(planOf(namespaces("user")).mapsNeedParent, false);
  assertEquals(planOf(mapGroups([{ inside: 0, outside: 5, count: 1 }])).mapsNeedParent, true);
});

function reader(files: Record<string, string>, reads: string[]): (path: string) => string | undefined {
  return (path) => {
    reads.push(path);
    return files[path];
  };
}

Deno.test("plan() maps users automatically from the caller's first block", () => {
  const reads: string[] = [];
  const readFile = reader({
    "/etc/subuid": "alice:300000:10\nroot:100000:65536\nroot:500000:10\n",
    "/etc/subgid": "# comment\nroot:200000:1000\n",
  }, reads);
  const p = plan([mapUsers("auto"), mapGroups("auto")], { euid: 0, egid: 0, readFile });
  assertEquals(reads.toSorted(), ["/etc/subgid", "/etc/subuid"]);
  assertEquals(p.uidMap, [{ inside: 0, outside: 100000, count: 65536 }]);
  assertEquals(p.gidMap, [{ inside: 0, outside: 200000, count: 1000 }]);
  assertEquals([p.mapsNeedParent, p.namespaces], [true, ["user"]]);
});

Deno.test("plan() finds the automatic block by uid when the caller has no name", () => {
  const readFile = reader({ "/etc/subuid": "3999999:100000:10\n" }, []);
  const p = plan([mapUsers("auto")], { euid: 3999999, egid: 3999999, readFile });
  assertEquals(p.uidMap, [{ inside: 0, outside: 100000, count: 10 }]);
});

Deno.test("plan() punches root's hole in the automatic block", () => {
  const readFile = reader({ "/etc/subuid": "3999999:100000:10\n" }, []);
  const p = plan([mapRootUser(), mapUsers("auto")], { euid: 3999999, egid: 3999999, readFile });
  assertEquals(p.uidMap, [{ inside: 0, outside: 3999999, count: 1 }, { inside: 1, outside: 100001, count: 9 }]);
});

Deno.test("plan() rejects automatic maps when the file is missing", () => {
  const readFile = reader({}, []);
  const error = assertThrows(() => plan([mapUsers("auto")], { euid: 0, egid: 0, readFile }), TypeError);
  assertEquals(error.message, "Cannot map users automatically: /etc/subuid has no block for root");
});

Deno.test("plan() rejects automatic maps when the caller has no block", () => {
  const readFile = reader({ "/etc/subuid": "someone:100000:10\n", "/etc/subgid": "" }, []);
  const users = assertThrows(() => plan([mapUsers("auto")], { euid: 3999999, egid: 0, readFile }), TypeError);
  assertEquals(users.message, "Cannot map users automatically: /etc/subuid has no block for uid 3999999");
  const groups = assertThrows(() => plan([mapGroups("auto")], { euid: 0, egid: 0, readFile }), TypeError);
  assertEquals(groups.message, "Cannot map groups automatically: /etc/subgid has no block for root");
});

Deno.test("plan() rejects setgroups allow with a single group mapping", () => {
  for (const step of [mapRootUser(), mapCurrentUser(), mapGroup(5)]) {
    const error = assertThrows(() => planOf(setgroups("allow"), step), TypeError);
    assert(error.message.startsWith("Cannot map a single group with setgroups allowed: "), error.message);
    assert(error.message.endsWith("(options --setgroups=allow and --map-group are mutually exclusive)"));
  }
});

Deno.test("plan() allows setgroups when no single group is mapped", () => {
  assertEquals(planOf(setgroups("allow"), mapUser(0)).setgroups, "allow");
  assertEquals(planOf(setgroups("allow"), mapGroups([{ inside: 0, outside: 1, count: 1 }])).setgroups, "allow");
});

Deno.test("plan() keeps setgroups deny when asked with a single group mapping", () => {
  assertEquals(planOf(setgroups("deny"), mapGroup(5)).setgroups, "deny");
});

Deno.test("plan() accepts a hostname of 64 bytes", () => {
  assertEquals(planOf(hostname("h".repeat(64))).actions, [hostname("h".repeat(64))]);
  assertEquals(planOf(domainname("d".repeat(64))).actions, [domainname("d".repeat(64))]);
});

Deno.test("plan() rejects a hostname longer than 64 bytes", () => {
  const name = "h".repeat(65);
  const error = assertThrows(() => planOf(hostname(name)), RangeError);
  assertEquals(error.message, `Cannot set the hostname to "${name}": longer than 64 bytes`);
  const domain = assertThrows(() => planOf(domainname(name)), RangeError);
  assertEquals(domain.message, `Cannot set the domain name to "${name}": longer than 64 bytes`);
});

Deno.test("plan() counts the hostname's length in UTF-8 bytes", () => {
  assertThrows(() => planOf(hostname("é".repeat(33))), RangeError, "longer than 64 bytes");
  assertEquals(planOf(hostname("é".repeat(32))).actions, [hostname("é".repeat(32))]);
});

Deno.test("plan() accepts negative and zero clock offsets", () => {
  const p = planOf(timeOffset("monotonic", -86400), timeOffset("boottime", 0));
  assertEquals([p.monotonic, p.boottime], [-86400, 0]);
});

Deno.test("plan() rejects a clock offset that is not a whole number", () => {
  for (const seconds of [1.5, NaN, Infinity, 2 ** 53]) {
    const error = assertThrows(() => planOf(timeOffset("boottime", seconds)), RangeError);
    assertEquals(error.message, `Cannot shift the boottime clock by ${seconds}: not a whole number of seconds`);
  }
  assertThrows(() => planOf(timeOffset("monotonic", 0.1)), RangeError, "Cannot shift the monotonic clock by 0.1");
});

Deno.test("plan() accepts kill-child signals from 1 to 64", () => {
  assertEquals(planOf(killChild(1)).killChild, 1);
  assertEquals(planOf(killChild(64)).killChild, 64);
});

Deno.test("plan() rejects a kill-child signal that is not a signal number", () => {
  for (const signal of [0, -9, 65, 1.5, NaN]) {
    const error = assertThrows(() => planOf(killChild(signal)), RangeError);
    assertEquals(error.message, `Cannot use signal ${signal} for kill-child: not a signal number`);
  }
});

Deno.test("plan() rejects blocks that overlap", () => {
  const blocks: IdRange[] = [{ inside: 0, outside: 100000, count: 10 }, { inside: 5, outside: 200000, count: 10 }];
  assertThrows(
    () => planOf(mapUsers(blocks)),
    RangeError,
    "Cannot write the uid map: the blocks at 0 and 5 overlap inside",
  );
  assertThrows(
    () => planOf(mapGroups([{ inside: 0, outside: 1, count: 0 }])),
    RangeError,
    "Cannot write the gid map: a block of 0 ids",
  );
});

Deno.test("unshare(), nsenter() and the namespaces step refuse what they do not know, rather than ignore it", async () => {
  const { nsenter, sandbox, unshare } = await import("../mod.ts");
  // A misspelt option would run the program in the host's namespace.
  const misspelt: Record<string, unknown> = { nett: true };
  assertThrows(
    () => unshare(misspelt),
    TypeError,
    'Unknown option "nett" of unshare(); did you mean net? The options are mount, uts,',
  );
  assertThrows(() => nsenter({ target: 1, nett: true } as never), TypeError, 'Unknown option "nett" of nsenter()');
  assertThrows(
    () => sandbox().unshare("network" as never),
    TypeError,
    'Unknown namespace type "network"; the types are mnt, uts, ipc, net, pid, user, cgroup, time',
  );
  assertEquals(unshare({ net: true, mapRootUser: true }).plan().namespaces, ["net", "user"]);
});

Deno.test("planHere() plans a list of steps once, unless the plan read a file of the host", () => {
  const steps = [hostname("box"), mapRootUser()];
  const first = planHere(steps);
  assert(planHere(steps) === first, "the same steps (a sandbox run again) make the same plan object");
  assert(planHere([...steps]) !== first, "another list is planned afresh");
  assertEquals(planHere([...steps]), first);
  // A user's name is looked up each time: /etc/passwd may change.
  const named = [mapUser("root")];
  assert(planHere(named) !== planHere(named));
});
