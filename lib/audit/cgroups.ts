/**
 * The cgroups of a process and the limits they set, read-only, on cgroup v2,
 * v1 and hybrid hierarchies: /proc/PID/cgroup names its cgroup in each
 * hierarchy, nsh's own /proc/self/mountinfo says where each hierarchy is
 * mounted, and the limit files are read from the cgroup up to the hierarchy's
 * root, since every ancestor's limit applies too.
 *
 * @module
 */

import { readMounts, readProcFile } from "./procfs.ts";
import type { MountEntry } from "./procfs.ts";

/** A cgroup a process is in. */
export interface AuditCgroup {
  /** 2 for the unified hierarchy, 1 for a v1 one. */
  readonly version: 1 | 2;
  /** The controllers of the hierarchy (`name=systemd` for a named v1 one; v2: those enabled there). */
  readonly controllers: readonly string[];
  /** The cgroup, as /proc/PID/cgroup names it for nsh. */
  readonly path: string;
  /** The cgroup's directory, where nsh has the hierarchy mounted; `null` when it does not. */
  readonly directory: string | null;
}

/** A resource limit of a process's cgroups. */
export interface AuditLimit {
  /** The resource: `memory`, `memory+swap`, `pids`, `cpu`, `cpu weight`, `io weight`. */
  readonly resource: string;
  /** The controller that sets it, as the hierarchy names it (`memory`, `pids`, `cpu`, `io`, `blkio`). */
  readonly controller: string;
  /**
   * The tightest value on the way from the cgroup to the root, as the
   * kernel's file has it (`"max"`, `"536870912"`, `"50000 100000"`), or `null`
   * when the controller is not there (see `why`).
   */
  readonly value: string | null;
  /** Whether it limits anything (`"max"` and the v1 "unlimited" values do not). */
  readonly limited: boolean;
  /** The file that sets it: the cgroup's own, or an ancestor's. `null` when none could be read. */
  readonly file: string | null;
  /** Why there is no value: the kernel lacks the controller, or no hierarchy of it is mounted. */
  readonly why?: string;
}

/** What `audit()` reports of a process's cgroups. */
export interface AuditCgroups {
  /** Its cgroups, one per hierarchy. */
  readonly cgroups: readonly AuditCgroup[];
  /** Its limits; a resource whose controller is missing has a `why`. */
  readonly limits: readonly AuditLimit[];
}

/** v1 "no limit" for memory: PAGE_COUNTER_MAX pages, rounded to a page. */
const V1_UNLIMITED = 2n ** 62n;

/** The controllers this kernel has, from /proc/cgroups (deprecated but present on v1 and v2 kernels). */
function kernelControllers(): Set<string> {
  const found = new Set<string>();
  try {
    for (const line of Deno.readTextFileSync("/proc/cgroups").split("\n")) {
      const [name, , , enabled] = line.split("\t");
      if (name && !name.startsWith("#") && enabled === "1") found.add(name);
    }
  } catch {
    // No /proc/cgroups: nothing is known missing.
  }
  return found;
}

/** Where nsh has a hierarchy mounted, and the cgroup's directory there. */
function directoryOf(mounts: readonly MountEntry[], version: 1 | 2, controllers: string[], path: string) {
  for (const m of mounts) {
    if (version === 2 ? m.fstype !== "cgroup2" : m.fstype !== "cgroup") continue;
    if (version === 1 && !controllers.every((c) => m.superOptions.includes(c))) continue;
    // A mount of a cgroup below the hierarchy's root shows only that part.
    const root = m.root === "/" ? "" : m.root;
    if (path !== root && !path.startsWith(root + "/") && root !== "") continue;
    return { mount: m.mountPoint, directory: m.mountPoint + path.slice(root.length).replace(/\/$/, "") };
  }
  return undefined;
}

function read(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}

/** The directories from a cgroup up to its mount's root. */
function upward(directory: string, mount: string): string[] {
  const dirs = [directory];
  let dir = directory;
  while (dir.length > mount.length && dir.includes("/")) {
    dir = dir.slice(0, dir.lastIndexOf("/"));
    if (dir.length < mount.length) break;
    dirs.push(dir);
  }
  return dirs;
}

/** How tight a value is: smaller is tighter; `undefined` for no limit. */
type Measure = (raw: string) => number | undefined;

const bytes: Measure = (raw) => {
  if (raw === "max" || raw === "-1") return undefined;
  const n = BigInt(raw);
  return n >= V1_UNLIMITED ? undefined : Number(n);
};
const count: Measure = (raw) => (raw === "max" ? undefined : Number(raw));
/** cpu.max is "QUOTA PERIOD"; v1 gives the quota and the period in two files (joined here). */
const share: Measure = (raw) => {
  const [quota, period] = raw.split(" ");
  if (quota === "max" || quota === "-1" || !period) return undefined;
  return Number(quota) / Number(period);
};
/** A weight limits nothing by itself; the lowest is reported. */
const weight: Measure = (raw) => Number(raw.replace(/^default /, "").split("\n")[0]);

/** One limit file and what it means. */
interface LimitFile {
  readonly resource: string;
  readonly version: 1 | 2;
  readonly controller: string;
  readonly files: readonly string[];
  readonly measure: Measure;
  /** Whether a value limits anything (weights do not cap). */
  readonly caps: boolean;
}

const LIMIT_FILES: readonly LimitFile[] = [
  { resource: "memory", version: 2, controller: "memory", files: ["memory.max"], measure: bytes, caps: true },
  { resource: "memory+swap", version: 2, controller: "memory", files: ["memory.swap.max"], measure: bytes, caps: true },
  { resource: "pids", version: 2, controller: "pids", files: ["pids.max"], measure: count, caps: true },
  { resource: "cpu", version: 2, controller: "cpu", files: ["cpu.max"], measure: share, caps: true },
  { resource: "cpu weight", version: 2, controller: "cpu", files: ["cpu.weight"], measure: weight, caps: false },
  { resource: "io weight", version: 2, controller: "io", files: ["io.weight"], measure: weight, caps: false },
  {
    resource: "memory",
    version: 1,
    controller: "memory",
    files: ["memory.limit_in_bytes"],
    measure: bytes,
    caps: true,
  },
  {
    resource: "memory+swap",
    version: 1,
    controller: "memory",
    files: ["memory.memsw.limit_in_bytes"],
    measure: bytes,
    caps: true,
  },
  { resource: "pids", version: 1, controller: "pids", files: ["pids.max"], measure: count, caps: true },
  {
    resource: "cpu",
    version: 1,
    controller: "cpu",
    files: ["cpu.cfs_quota_us", "cpu.cfs_period_us"],
    measure: share,
    caps: true,
  },
  { resource: "cpu weight", version: 1, controller: "cpu", files: ["cpu.shares"], measure: weight, caps: false },
  { resource: "io weight", version: 1, controller: "blkio", files: ["blkio.weight"], measure: weight, caps: false },
];

/** The resources reported, and the controllers that set them on v2 and v1. */
const RESOURCES: readonly [string, string, string][] = [
  ["memory", "memory", "memory"],
  ["memory+swap", "memory", "memory"],
  ["pids", "pids", "pids"],
  ["cpu", "cpu", "cpu"],
  ["cpu weight", "cpu", "cpu"],
  ["io weight", "io", "blkio"],
];

/**
 * The cgroups of a process and the limits that apply to it.
 *
 * @param pid The process.
 * @returns Its cgroups and limits.
 * @throws {SyscallError} When /proc/PID/cgroup cannot be read.
 */
export function auditCgroups(pid: number): AuditCgroups {
  const text = readProcFile(pid, "cgroup");
  let mounts: MountEntry[] = [];
  try {
    mounts = readMounts("self");
  } catch {
    // No mount table: the cgroups are listed without directories.
  }
  const cgroups: AuditCgroup[] = [];
  const places: { version: 1 | 2; controllers: string[]; mount: string; directory: string }[] = [];
  for (const line of text.split("\n")) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const version = match[1] === "0" && match[2] === "" ? 2 : 1;
    let controllers = match[2] ? match[2].split(",") : [];
    const path = match[3]!;
    const place = directoryOf(mounts, version, controllers, path);
    if (version === 2 && place) {
      controllers = (read(`${place.directory}/cgroup.controllers`) ?? "").split(" ").filter(Boolean);
    }
    cgroups.push({ version, controllers, path, directory: place?.directory ?? null });
    if (place) places.push({ version, controllers, ...place });
  }
  const kernel = kernelControllers();
  const limits: AuditLimit[] = [];
  for (const [resource, v2, v1] of RESOURCES) {
    const candidates = LIMIT_FILES.filter((f) => f.resource === resource);
    let best: AuditLimit | undefined;
    for (const file of candidates) {
      const place = places.find((p) => p.version === file.version && p.controllers.includes(file.controller));
      if (!place) continue;
      let tightest: { raw: string; file: string; value: number } | undefined;
      let any: { raw: string; file: string } | undefined;
      for (const dir of upward(place.directory, place.mount)) {
        const parts = file.files.map((f) => read(`${dir}/${f}`));
        if (parts.some((p) => p === undefined)) continue;
        const raw = parts.join(" ");
        any ??= { raw, file: `${dir}/${file.files[0]}` };
        const value = file.measure(raw);
        if (value !== undefined && (!tightest || value < tightest.value)) {
          tightest = { raw, file: `${dir}/${file.files[0]}`, value };
        }
        // A weight applies among siblings: only the cgroup's own counts.
        if (!file.caps) break;
      }
      const chosen = tightest ?? any;
      best = {
        resource,
        controller: file.controller,
        value: chosen?.raw ?? null,
        limited: file.caps && tightest !== undefined,
        file: chosen?.file ?? null,
        // A root cgroup has no limit files; some limits need kernel options
        // (swap accounting) or an I/O scheduler with weights.
        ...(chosen ? {} : {
          why: place.directory === place.mount
            ? `no limit: a root cgroup has no ${file.files[0]}`
            : `no ${file.files[0]} on this kernel`,
        }),
      };
      break;
    }
    if (!best) {
      const name = v1 === v2 ? v2 : `${v2} (v1: ${v1})`;
      const has = kernel.has(v1) || kernel.has(v2);
      best = {
        resource,
        controller: v2,
        value: null,
        limited: false,
        file: null,
        why: kernel.size && !has
          ? `this kernel has no ${name} controller`
          : `no ${name} controller where this process's cgroups are (not mounted, or not enabled for its cgroup)`,
      };
    }
    limits.push(best);
  }
  return { cgroups, limits };
}
