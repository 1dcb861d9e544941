/**
 * cgroups for boxes: where this process sits in the cgroup hierarchies (v2,
 * v1, or both, as on hybrid systems), a cgroup of its own for each box with
 * its limits, the whole box killed at once, its usage read, and the cgroup
 * removed. A leaf of lib/: it knows the cgroup filesystems, nothing of
 * namespaces or steps.
 *
 * Paths are treated as hostile: nsh often runs as root, and a cgroup
 * directory may be delegated to a user. Directories are opened one component
 * at a time without following symbolic links, checked to be on a cgroup
 * filesystem, and everything after is done through their descriptors; a
 * box's directory made in one that another user may write to is checked to
 * be the one nsh made (its owner).
 *
 * A box's cgroups are named after the nsh process that made them and its PID
 * namespace (`nsh-PID-N-PIDNS`): an nsh killed by SIGKILL cannot remove them,
 * and the next nsh of that PID namespace that makes a box there does.
 *
 * @module
 */

import { cstring, errno, libc, statAt } from "../ffi/libc.ts";
import { SyscallError } from "../ffi/error.ts";
import { encodeText } from "../ffi/bytes.ts";
import {
  AT_EMPTY_PATH,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  CGROUP2_SUPER_MAGIC,
  CGROUP_SUPER_MAGIC,
  EACCES,
  EBUSY,
  EEXIST,
  EINTR,
  EINVAL,
  ENOENT,
  EPERM,
  EROFS,
  ESRCH,
  O_CLOEXEC,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  S_IFLNK,
  S_IFMT,
  SIGKILL,
} from "../ffi/constants.ts";
import { ids } from "./system.ts";

/** A cgroup hierarchy, and where this process sits in it. */
export interface Hierarchy {
  /** 2 for the unified hierarchy, 1 for a v1 hierarchy. */
  readonly version: 1 | 2;
  /**
   * Its controllers. v1: those it is mounted with (`memory`, `cpu`…; none
   * for a named hierarchy such as `name=systemd`). v2: those this process's
   * cgroup may give to its children (its `cgroup.controllers`).
   */
  readonly controllers: readonly string[];
  /** Where it is mounted. */
  readonly mount: string;
  /** This process's cgroup in it, as `/proc/self/cgroup` names it. */
  readonly cgroup: string;
  /**
   * The directory of that cgroup, or `undefined` when the mount does not show
   * it (a mount of another part of the tree, as in a cgroup namespace).
   */
  readonly dir: string | undefined;
}

/** The cgroup hierarchies of this process. */
export interface CgroupLayout {
  /** The unified (v2) hierarchy, when one is mounted. */
  readonly v2: Hierarchy | undefined;
  /** The v1 hierarchies that are mounted and that this process is in. */
  readonly v1: readonly Hierarchy[];
}

/** Undoes the octal escapes of /proc/self/mountinfo (`\040` for a space). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The directory of `cgroup` under a mount of the hierarchy whose root is `root`. */
function dirUnder(mount: string, root: string, cgroup: string): string | undefined {
  if (root === "/") return cgroup === "/" ? mount : `${mount.replace(/\/$/, "")}${cgroup}`;
  if (cgroup === root) return mount;
  if (cgroup.startsWith(`${root}/`)) return `${mount.replace(/\/$/, "")}${cgroup.slice(root.length)}`;
  return undefined;
}

/**
 * The cgroup layout that `/proc/self/mountinfo` and `/proc/self/cgroup` show.
 * Pure, for tests; {@linkcode cgroupLayout} reads the files.
 *
 * @param mountinfo The text of `/proc/self/mountinfo`.
 * @param cgroups The text of `/proc/self/cgroup`.
 * @param controllersOf Reads `cgroup.controllers` of a v2 directory.
 * @returns The layout.
 */
export function parseCgroupLayout(
  mountinfo: string,
  cgroups: string,
  controllersOf: (dir: string) => string | undefined = () => undefined,
): CgroupLayout {
  const mounts = mountinfo.split("\n").flatMap((line) => {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (dash < 0) return [];
    const type = fields[dash + 1];
    if (type !== "cgroup" && type !== "cgroup2") return [];
    const options = (fields[dash + 3] ?? "").split(",");
    return [{ type, root: unescape(fields[3]!), mount: unescape(fields[4]!), options }];
  });
  let v2: Hierarchy | undefined;
  const v1: Hierarchy[] = [];
  for (const line of cgroups.split("\n")) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, id, list, cgroup] = match as unknown as [string, string, string, string];
    if (id === "0" && list === "") {
      // The first mount that shows this process's cgroup.
      for (const m of mounts.filter((m) => m.type === "cgroup2")) {
        const dir = dirUnder(m.mount, m.root, cgroup);
        if (dir === undefined && v2) continue;
        const controllers = dir === undefined ? [] : (controllersOf(dir) ?? "").trim().split(/\s+/).filter(Boolean);
        v2 = { version: 2, controllers, mount: m.mount, cgroup, dir };
        if (dir !== undefined) break;
      }
      continue;
    }
    const names = list.split(",").filter(Boolean);
    const candidates = mounts.filter((m) => m.type === "cgroup" && names.every((n) => m.options.includes(n)));
    const found = candidates.find((m) => dirUnder(m.mount, m.root, cgroup) !== undefined) ?? candidates[0];
    if (!found) continue;
    v1.push({
      version: 1,
      controllers: names.filter((n) => !n.startsWith("name=")),
      mount: found.mount,
      cgroup,
      dir: dirUnder(found.mount, found.root, cgroup),
    });
  }
  return { v2, v1 };
}

let layoutCache: { cgroups: string; layout: CgroupLayout; read: number } | undefined;

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * This process's cgroup hierarchies, as `/proc/self/mountinfo` and
 * `/proc/self/cgroup` show them. Cached: read again when this process's
 * cgroups changed (looked at once a second at most).
 *
 * @returns The layout.
 */
export function cgroupLayout(): CgroupLayout {
  const now = performance.now();
  if (layoutCache && now - layoutCache.read < 1000) return layoutCache.layout;
  const cgroups = readText("/proc/self/cgroup") ?? "";
  if (layoutCache?.cgroups === cgroups) {
    layoutCache.read = now;
    return layoutCache.layout;
  }
  const layout = parseCgroupLayout(
    readText("/proc/self/mountinfo") ?? "",
    cgroups,
    (dir) => readText(`${dir}/cgroup.controllers`),
  );
  layoutCache = { cgroups, layout, read: now };
  return layout;
}

// ---------------------------------------------------------------- limits

/** Limits of a box, named after the cgroup v2 files that set them. */
export interface Limits {
  /** `memory.max`: bytes, or `"max"` for no limit. */
  readonly memoryMax?: number | "max";
  /** `memory.swap.max`: bytes of swap, or `"max"`. */
  readonly memorySwapMax?: number | "max";
  /** `pids.max`: how many processes and threads at once, or `"max"`. */
  readonly pidsMax?: number | "max";
  /** `cpu.max`: microseconds of CPU time (`"max"` for no limit) per period. */
  readonly cpuMax?: { readonly quota: number | "max"; readonly period: number };
  /** `cpu.weight`: a share of the CPU against other cgroups, 1 to 10000 (100 by default). */
  readonly cpuWeight?: number;
  /** `io.weight`: a share of block I/O against other cgroups, 1 to 10000 (100 by default). */
  readonly ioWeight?: number;
}

/** The limit names, in the order they are written. */
const LIMIT_NAMES = ["memoryMax", "memorySwapMax", "pidsMax", "cpuMax", "cpuWeight", "ioWeight"] as const;

/** The controller each limit needs, and the v2 file that sets it. */
const CONTROLLER: Readonly<Record<keyof Limits, { controller: string; file: string }>> = {
  memoryMax: { controller: "memory", file: "memory.max" },
  memorySwapMax: { controller: "memory", file: "memory.swap.max" },
  pidsMax: { controller: "pids", file: "pids.max" },
  cpuMax: { controller: "cpu", file: "cpu.max" },
  cpuWeight: { controller: "cpu", file: "cpu.weight" },
  ioWeight: { controller: "io", file: "io.weight" },
};

/** The v1 hierarchy that holds a v2 controller's v1 counterpart. */
const V1_NAME: Readonly<Record<string, string>> = { io: "blkio" };

/** The largest pids.max (PID_MAX_LIMIT). */
const PIDS_LIMIT = 4194304;

const UNITS: Readonly<Record<string, number>> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/**
 * A size as the cgroup files and util-linux take it: bytes, or a number with
 * K, M, G or T (powers of 1024, an optional B or iB after), or `max`.
 *
 * @param text The size, such as `64M`.
 * @param what What it limits, for the error.
 * @returns Bytes, or `"max"`.
 * @throws {RangeError} For anything else.
 */
export function parseSize(text: string | number, what = "memory.max"): number | "max" {
  if (text === "max") return "max";
  const match = typeof text === "number"
    ? [String(text), String(text), ""]
    : /^\s*(\d+)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  const bytes = match ? Number(match[1]) * UNITS[match[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`Cannot use '${text}' as ${what}: give bytes, or a size such as 64M, 1G, or max`);
  }
  return bytes;
}

/** The default period of `cpu.max`, in microseconds. */
const CPU_PERIOD = 100_000;

/**
 * A CPU limit as `cpu.max` takes it (`50000 100000`), with a slash
 * (`50000/100000`), as a quota alone (the period is 100 ms), as a share of
 * one CPU (`50%`; `200%` is two CPUs), or `max`.
 *
 * @param text The limit.
 * @returns The quota and period, in microseconds.
 * @throws {RangeError} For a malformed limit, or one out of the kernel's range.
 */
export function parseCpuMax(
  text: string | { quota: number | "max"; period?: number },
): { quota: number | "max"; period: number } {
  const fail = (why: string): never => {
    const shown = typeof text === "string" ? text : `${text.quota}/${text.period ?? CPU_PERIOD}`;
    throw new RangeError(`Cannot use '${shown}' as cpu.max: ${why}`);
  };
  let quota: number | "max";
  let period = CPU_PERIOD;
  if (typeof text !== "string") {
    quota = text.quota;
    period = text.period ?? CPU_PERIOD;
  } else {
    const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
    const pair = /^\s*(max|\d+)\s*(?:[/ ]\s*(\d+))?\s*$/.exec(text);
    if (percent) quota = Math.round(Number(percent[1]) * CPU_PERIOD / 100);
    else if (pair) {
      quota = pair[1] === "max" ? "max" : Number(pair[1]);
      if (pair[2] !== undefined) period = Number(pair[2]);
    } else {
      return fail("give QUOTA/PERIOD in microseconds (50000/100000), a share of one CPU (50%), or max");
    }
  }
  if (!Number.isInteger(period) || period < 1000 || period > 1_000_000) {
    fail("the period is from 1000 to 1000000 microseconds");
  }
  if (quota !== "max" && (!Number.isInteger(quota) || quota < 1000 || quota > 2 ** 40)) {
    fail("the quota is at least 1000 microseconds (1 ms) per period");
  }
  return { quota, period };
}

/**
 * Checks limits before anything is made.
 *
 * @param limits The limits.
 * @throws {RangeError} For a value out of range.
 */
export function checkLimits(limits: Limits): void {
  const whole = (value: unknown, min: number, max: number, file: string) => {
    if (value === undefined || value === "max") return;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`Cannot set ${file} to ${value}: it takes ${min} to ${max}`);
    }
  };
  whole(limits.memoryMax, 0, Number.MAX_SAFE_INTEGER, "memory.max");
  whole(limits.memorySwapMax, 0, Number.MAX_SAFE_INTEGER, "memory.swap.max");
  whole(limits.pidsMax, 0, PIDS_LIMIT, "pids.max");
  whole(limits.cpuWeight, 1, 10000, "cpu.weight");
  whole(limits.ioWeight, 1, 10000, "io.weight");
  if (limits.cpuMax !== undefined) parseCpuMax(limits.cpuMax);
}

// ---------------------------------------------------------------- usage

/** What a box used, read from its cgroups when it ended. */
export interface Usage {
  /**
   * The most memory the box held at once, in bytes (`memory.peak`;
   * `memory.max_usage_in_bytes` on v1), when a memory controller counted it.
   */
  readonly memoryPeak?: number;
  /** CPU time of all its processes in user mode, in seconds. */
  readonly userTime?: number;
  /** CPU time of all its processes in the kernel, in seconds. */
  readonly systemTime?: number;
  /** How many of its processes the OOM killer killed, when a memory controller counted them. */
  readonly oomKills?: number;
  /** How many forks its process limit refused, when it had one. */
  readonly pidsRefused?: number;
  /** The most processes and threads it had at once, when it had a process limit (`pids.peak`, Linux 6.1+). */
  readonly pidsPeak?: number;
}

// ---------------------------------------------------------------- files

const decoder = new TextDecoder();

/** Sleeps on this thread: cgroup state changes within milliseconds, and waiting must not yield. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Reads a small file of a cgroup directory; `undefined` when it is missing. */
function readAt(dirFd: number, name: string): string | undefined {
  const c = libc();
  const fd = c.openat(dirFd, cstring(name), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return undefined;
  try {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const chunk = new Uint8Array(4096);
      const n = Number(c.read(fd, chunk, BigInt(chunk.length)));
      if (n < 0 && errno() === EINTR) continue;
      if (n <= 0) break;
      chunks.push(chunk.subarray(0, n));
    }
    return chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join("") + decoder.decode();
  } finally {
    c.close(fd);
  }
}

/** `key value` lines (cpu.stat, memory.events) as numbers. */
function keyed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? "").split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

/** The pids a cgroup.procs file lists. */
function pidsIn(dirFd: number): number[] {
  return (readAt(dirFd, "cgroup.procs") ?? "").split("\n").filter(Boolean).map(Number);
}

/** The type of the filesystem of a descriptor (statfs f_type), or -errno. */
function fsType(fd: number): number {
  const buffer = new Uint8Array(120);
  if (libc().fstatfs(fd, buffer) < 0) return -errno();
  return Number(new DataView(buffer.buffer).getBigInt64(0, true));
}

/**
 * Opens a directory by its path, one component at a time, without following
 * symbolic links (the cgroup filesystems have none: a link is someone's trap).
 *
 * @returns The descriptor (O_RDONLY | O_DIRECTORY).
 * @throws {SyscallError} When a component is missing or is a link.
 */
function openDir(path: string, what: string): number {
  const c = libc();
  let fd = c.openat(-100, cstring("/"), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) throw new SyscallError("open", errno(), { operation: 'open "/"', path: "/" });
  for (const part of path.split("/").filter((p) => p !== "" && p !== ".")) {
    if (part === "..") {
      c.close(fd);
      throw new Error(`Cannot use "${path}" as ${what}: name it without ".."`);
    }
    const next = c.openat(fd, cstring(part), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    const e = next < 0 ? errno() : 0;
    const st = next < 0 ? statAt(fd, part, AT_SYMLINK_NOFOLLOW) : 0;
    c.close(fd);
    if (next < 0) {
      if (typeof st !== "number" && (st.mode & S_IFMT) === S_IFLNK) {
        throw new Error(
          `Cannot use "${path}" as ${what}: "${part}" on its way is a symbolic link; name the directory itself`,
        );
      }
      throw new SyscallError("open", e, { operation: `open ${what} "${path}"`, path });
    }
    fd = next;
  }
  return fd;
}

/** A hint for creating a cgroup that was refused: who may, and how a user gets a subtree of their own. */
function delegationHint(dir: string, version: 1 | 2): string {
  if (ids().euid === 0) return `"${dir}" is read-only here, or a security module refuses it`;
  return version === 1
    ? "this controller is in a cgroup v1 hierarchy, which only root may use (v1 is never delegated to users)"
    : `cgroups need root, or a cgroup v2 subtree delegated to you, and "${dir}" is not yours: ` +
      "run nsh in one (systemd-run --user --scope -p Delegate=yes nsh …), or name one with --cgroup-parent DIR";
}

// ---------------------------------------------------------------- boxes

/** A directory a box's cgroup is made below, open, in one hierarchy. */
interface Base {
  readonly version: 1 | 2;
  /** The controllers its children may have: v1, the hierarchy's; v2, its `cgroup.controllers`. */
  readonly controllers: readonly string[];
  /** For messages. */
  readonly path: string;
  /** The directory, open. */
  readonly fd: number;
  /** Whether the descriptor is this box's to close (a directory of an enclosing box), not the cache's. */
  readonly owned: boolean;
  /** What is known of it for good, when it is below the caller's cgroup (cached). */
  readonly known?: KnownBase;
  /** A box without it works, with less counted (a v1 hierarchy that only counts, where the caller may not go). */
  readonly optional: boolean;
}

/** A directory boxes are made below, opened once per process and kept. */
interface KnownBase {
  readonly fd: number;
  /** v2: its `cgroup.controllers`, read when opened. */
  readonly controllers: readonly string[];
  /** Whether another user may write to it (a directory delegated to someone else): check what is made there. */
  readonly foreign: boolean;
  /** Whether this process removed what dead nsh processes left there. */
  swept: boolean;
  /** How boxes below it are killed, once a first box told. */
  kill?: KillWay;
  /** v2: the controllers enabled for its children, as last seen. */
  enabled?: string[];
}

/** The directories boxes are made below, by path and version. */
const known = new Map<string, KnownBase>();

/** A directory boxes are made below, opened (and checked) the first time only. */
function knownBase(path: string, what: string, version: 1 | 2): KnownBase {
  const key = `${version}:${path}`;
  let base = known.get(key);
  if (!base) {
    const fd = openCgroupDir(path, what, version);
    const st = statAt(fd, "", AT_EMPTY_PATH);
    const euid = ids().euid;
    const foreign = typeof st === "number" || (st.uid !== euid && st.uid !== 0) || (st.mode & 0o022) !== 0;
    const controllers = version === 2 ? words(readAt(fd, "cgroup.controllers")) : [];
    base = { fd, controllers, foreign, swept: false };
    known.set(key, base);
  }
  return base;
}

/** One directory of a box: its cgroup in one hierarchy. */
interface Part {
  readonly version: 1 | 2;
  /** The controllers it has: v1, the hierarchy's; v2, those enabled for it. */
  readonly controllers: readonly string[];
  /** The directory, for messages. */
  readonly path: string;
  /** The directory (O_PATH). */
  readonly fd: number;
  /** Its parent directory, open. */
  readonly parentFd: number;
  /** Whether `parentFd` is this part's to close. */
  readonly ownsParent: boolean;
  /** Its name in the parent. */
  readonly name: string;
}

/** Options of {@linkcode Box.create}. */
export interface BoxOptions {
  /**
   * A cgroup v2 directory to make the box below, instead of this process's
   * own cgroup: one delegated to the caller, or an empty one (cgroup v2
   * gives controllers only to the children of a cgroup without processes).
   */
  readonly parent?: string;
  /** A box to make this one inside (a context within a context that has limits). */
  readonly within?: Box;
  /**
   * Count all that {@linkcode Usage} reports, also where it costs a cgroup
   * more: on a hybrid system, the memory peak needs the v1 memory hierarchy
   * (and the program a second move, a few hundred microseconds more).
   * Without it, a box is made where its limits need it, and in the v2 tree.
   *
   * @default {false}
   */
  readonly usage?: boolean;
  /** The hierarchies to use; this process's, read now, by default (tests give others). */
  readonly layout?: CgroupLayout;
}

let boxCount = 0;
const live = new Map<number, Box>();

/**
 * The names of the cgroups nsh makes: `nsh-PID-N-PIDNS`, PID being the
 * making nsh's in its PID namespace, whose inode number is PIDNS. A later nsh
 * in the same PID namespace sees whether that process is gone; one in another
 * leaves the cgroup alone.
 */
const BOX_NAME = /^nsh-(\d+)-\d+-(\d+)$/;

let pidNamespace: string | undefined;

/** The inode number of this process's PID namespace. */
function ownPidNamespace(): string {
  return pidNamespace ??= /\[(\d+)\]/.exec(Deno.readLinkSync("/proc/self/ns/pid"))?.[1] ?? "0";
}

/** Where a process joins a box: a directory (descriptor) per hierarchy. */
export interface BoxPlace {
  /** The cgroup's directory (its descriptor). */
  readonly fd: number;
  /** Its path, for messages. */
  readonly path: string;
  /** Whether it is in the unified (v2) hierarchy. */
  readonly v2: boolean;
}

/**
 * The cgroups of nsh boxes a process is in (one per hierarchy), opened: what
 * a program joins to share the box of a context another nsh made. Read from
 * `/proc/PID/cgroup`, whose paths are relative to this process's cgroup
 * namespace, as this process's mounts show them.
 *
 * @param pid The process.
 * @returns The places; none when it is in no box.
 * @throws {SyscallError} When a box's directory cannot be opened.
 */
export function boxPlacesOf(pid: number): BoxPlace[] {
  const layout = parseCgroupLayout(readText("/proc/self/mountinfo") ?? "", readText(`/proc/${pid}/cgroup`) ?? "");
  const places: BoxPlace[] = [];
  try {
    for (const h of [...(layout.v2 ? [layout.v2] : []), ...layout.v1]) {
      if (h.dir === undefined || !BOX_NAME.test(h.cgroup.split("/").at(-1)!)) continue;
      places.push({ fd: openCgroupDir(h.dir, "a box's cgroup", h.version), path: h.dir, v2: h.version === 2 });
    }
  } catch (error) {
    for (const place of places) libc().close(place.fd);
    throw error;
  }
  return places;
}

/** How a box is killed as one. */
type KillWay = "v2-kill" | "v2-freeze" | "v1-freeze" | "signals";

/**
 * A cgroup for a box, in each hierarchy it needs, with its limits written.
 * A process joins it by writing "0" to the `cgroup.procs` of each of
 * {@linkcode Box.places}, or is made in its v2 cgroup by clone3.
 */
export class Box {
  /** A number for this box within this process. */
  readonly id: number;
  /** Its name in each hierarchy: `nsh-PID-N`. */
  readonly name: string;
  readonly #parts: Part[];
  readonly #limits: { -readonly [K in keyof Limits]: Limits[K] } = {};
  readonly #kill: KillWay;
  #ended = false;

  private constructor(id: number, name: string, parts: Part[], known: KnownBase | undefined) {
    this.id = id;
    this.name = name;
    this.#parts = parts;
    const v2 = parts.find((p) => p.version === 2);
    const has = (file: string) => v2 !== undefined && statAt(v2.fd, file, 0) !== -ENOENT;
    const v2Way = known?.kill ?? (has("cgroup.kill") ? "v2-kill" : has("cgroup.freeze") ? "v2-freeze" : undefined);
    if (known && v2Way) known.kill = v2Way;
    this.#kill = v2Way ?? (parts.some((p) => p.controllers.includes("freezer")) ? "v1-freeze" : "signals");
  }

  /**
   * The live box with this id, made by this process.
   *
   * @param id The box's id.
   * @returns The box.
   * @throws {Error} When it has ended.
   */
  static byId(id: number): Box {
    const box = live.get(id);
    if (!box) throw new Error(`Cannot join the cgroup of box ${id}: it has ended (its context was closed)`);
    return box;
  }

  /**
   * Makes a box's cgroups below this process's own (or `options.parent`): in
   * the unified hierarchy when there is one (it places, kills and counts CPU
   * time without any controller), and for each limit where its controller
   * is, v2 first, else v1; and, where the caller may, in the v1 hierarchies
   * that count memory, CPU time or freeze. Before its first box, a process
   * removes the boxes that dead nsh processes left there.
   *
   * @param limits The limits.
   * @param options Where.
   * @returns The box.
   * @throws {Error} When a limit's controller is missing: one line naming it.
   * @throws {SyscallError} When a directory cannot be made or a limit set;
   *   nothing is left behind.
   */
  static create(limits: Limits, options: BoxOptions = {}): Box {
    checkLimits(limits);
    const id = ++boxCount;
    const name = `nsh-${Deno.pid}-${id}-${ownPidNamespace()}`;
    const bases = Box.#bases(limits, options);
    const parts: Part[] = [];
    try {
      for (const base of bases) {
        const part = makePart(base, name);
        if (part) parts.push(part);
      }
      const box = new Box(id, name, parts, bases[0]?.version === 2 ? bases[0].known : undefined);
      box.set(limits);
      live.set(id, box);
      return box;
    } catch (error) {
      for (const part of parts.reverse()) removePart(part);
      throw error;
    } finally {
      for (const base of bases) if (base.owned && !parts.some((p) => p.parentFd === base.fd)) libc().close(base.fd);
    }
  }

  /**
   * Where each part of a box goes: the v2 directory (when there is v2) and,
   * for each controller the limits need that v2 lacks, a v1 hierarchy; then
   * the v1 hierarchies that count memory and CPU time, or freeze, as optional.
   * Below `within`'s directories when given.
   */
  static #bases(limits: Limits, options: BoxOptions): Base[] {
    const layout = options.layout ?? cgroupLayout();
    const within = options.within ? options.within.#parts : undefined;
    const bases: Base[] = [];
    /** A base below the caller's cgroup (kept open), or in an enclosing box (opened for this box). */
    const base = (
      hierarchy: Hierarchy | undefined,
      path: string,
      what: string,
      optional: boolean,
      inside?: Part,
    ): Base => {
      const version = hierarchy ? 1 : 2;
      if (inside) {
        const fd = reopen(inside.fd, inside.path);
        const controllers = hierarchy ? hierarchy.controllers : words(readAt(fd, "cgroup.controllers"));
        return { version, controllers, path: inside.path, fd, owned: true, optional };
      }
      const cached = knownBase(path, what, version);
      if (!cached.swept) {
        cached.swept = true;
        sweep(cached.fd, path, version);
      }
      const controllers = hierarchy ? hierarchy.controllers : cached.controllers;
      return { version, controllers, path, fd: cached.fd, owned: false, optional, known: cached };
    };
    try {
      const inside = within?.find((p) => p.version === 2);
      const v2Path = inside?.path ?? options.parent ?? layout.v2?.dir;
      let v2: Base | undefined;
      if (v2Path !== undefined) {
        const what = options.parent !== undefined ? "the cgroup parent" : "this process's cgroup";
        bases.push(v2 = base(undefined, v2Path, what, false, inside));
      }
      const needed = new Set(LIMIT_NAMES.filter((k) => limits[k] !== undefined).map((k) => CONTROLLER[k].controller));
      const v1 = new Map<Hierarchy, boolean>();
      for (const controller of needed) {
        if (v2?.controllers.includes(controller)) continue;
        const v1Name = V1_NAME[controller] ?? controller;
        const hierarchy = layout.v1.find((h) => h.controllers.includes(v1Name));
        if (!hierarchy) throw missingController(controller, limits, layout);
        if (hierarchy.dir === undefined) {
          throw new Error(
            `Cannot set ${filesOf(controller, limits)}: the ${v1Name} hierarchy at "${hierarchy.mount}" does not ` +
              `show this process's cgroup "${hierarchy.cgroup}" (a cgroup namespace, or a mount of part of it)`,
          );
        }
        v1.set(hierarchy, false);
      }
      // Inside a box, in every hierarchy it is in: its limits cover this one too.
      for (const part of within ?? []) {
        const hierarchy = layout.v1.find((h) => part.version === 1 && h.controllers.join() === part.controllers.join());
        if (hierarchy && !v1.has(hierarchy)) v1.set(hierarchy, false);
      }
      // Counting memory, CPU time, and freezing, where the v2 tree does not,
      // as far as the caller may: always without v2, on asking with it.
      const extras = v2 ? (options.usage ? ["memory"] : []) : ["memory", "cpuacct", "freezer"];
      for (const extra of extras) {
        if (v2?.controllers.includes(extra)) continue;
        const hierarchy = layout.v1.find((h) => h.controllers.includes(extra));
        if (hierarchy?.dir !== undefined && !v1.has(hierarchy)) v1.set(hierarchy, true);
      }
      if (!v2 && !v1.size) {
        throw new Error("Cannot make a cgroup for the box: no cgroup hierarchy is mounted here (see /sys/fs/cgroup)");
      }
      for (const [hierarchy, optional] of v1) {
        const part = within?.find((p) => p.version === 1 && p.controllers.join() === hierarchy.controllers.join());
        try {
          bases.push(base(hierarchy, hierarchy.dir!, "this process's cgroup", optional, part));
        } catch (error) {
          if (!optional) throw error;
        }
      }
      // The v2 part has the controllers it needs enabled below its parent,
      // and those enabled there already (which count: memory.peak).
      if (v2) {
        const enabled = enableControllers(v2, [...needed].filter((c) => v2!.controllers.includes(c)));
        bases[0] = { ...v2, controllers: enabled };
      }
      return bases;
    } catch (error) {
      for (const b of bases) if (b.owned) libc().close(b.fd);
      throw error;
    }
  }

  /** The directories of the box, one per hierarchy. */
  get paths(): readonly string[] {
    return this.#parts.map((p) => p.path);
  }

  /**
   * The box's directories (O_PATH descriptors), one per hierarchy: a process
   * joins the box by writing "0" to the `cgroup.procs` in each (it opens them
   * itself), or is made in the v2 one by clone3 (CLONE_INTO_CGROUP) and
   * writes to the others.
   */
  get places(): readonly BoxPlace[] {
    return this.#parts.map((p) => ({ fd: p.fd, path: p.path, v2: p.version === 2 }));
  }

  /** The limits it was made with, and given since. */
  get limits(): Limits {
    return { ...this.#limits };
  }

  /**
   * Writes limits, over those it had.
   *
   * @param limits The limits.
   * @throws {SyscallError} When the kernel refuses a value.
   * @throws {Error} When a limit's controller is not among the box's.
   */
  set(limits: Limits): void {
    checkLimits(limits);
    const next = { ...this.#limits, ...limits };
    for (const key of LIMIT_NAMES) {
      if (limits[key] === undefined) continue;
      const { controller, file } = CONTROLLER[key];
      const v2 = this.#parts.find((p) => p.version === 2 && p.controllers.includes(controller));
      const v1 = this.#parts.find((p) => p.version === 1 && p.controllers.includes(V1_NAME[controller] ?? controller));
      if (v2) writeV2(v2, key, next);
      else if (v1) writeV1(v1, key, next, this.#limits);
      else throw new Error(`Cannot set ${file}: the box was made without the ${controller} controller`);
    }
    Object.assign(this.#limits, limits);
  }

  /**
   * Kills every process of the box at once, also those it forks meanwhile:
   * `cgroup.kill` on v2 (Linux 5.14+); else the box is frozen, each of its
   * processes killed, and thawed.
   */
  kill(): void {
    killParts(this.#parts, this.#kill);
  }

  /** Whether a process is still in the box. */
  get populated(): boolean {
    // Every process of the box is in its v2 cgroup, when it has one.
    const v2 = this.#parts.find((p) => p.version === 2);
    return v2 ? populated(v2.fd, 2) : this.#parts.some((p) => populated(p.fd, p.version));
  }

  /**
   * What the box has used so far.
   *
   * @returns The usage.
   */
  usage(): Usage {
    const usage: { -readonly [K in keyof Usage]: Usage[K] } = {};
    for (const part of this.#parts) {
      const has = (controller: string) => part.controllers.includes(controller);
      if (part.version === 2) {
        const cpu = keyed(readAt(part.fd, "cpu.stat"));
        if (cpu.has("user_usec")) usage.userTime = cpu.get("user_usec")! / 1e6;
        if (cpu.has("system_usec")) usage.systemTime = cpu.get("system_usec")! / 1e6;
        if (has("memory")) {
          const peak = readAt(part.fd, "memory.peak");
          if (peak !== undefined) usage.memoryPeak = Number(peak.trim());
          usage.oomKills = keyed(readAt(part.fd, "memory.events")).get("oom_kill") ?? 0;
        }
        if (has("pids")) pidsUsage(part, usage);
        continue;
      }
      if (has("memory")) {
        const peak = readAt(part.fd, "memory.max_usage_in_bytes");
        if (peak !== undefined) usage.memoryPeak = Number(peak.trim());
        usage.oomKills = keyed(readAt(part.fd, "memory.oom_control")).get("oom_kill") ?? 0;
      }
      if (has("cpuacct") && usage.userTime === undefined) {
        const user = readAt(part.fd, "cpuacct.usage_user");
        const system = readAt(part.fd, "cpuacct.usage_sys");
        if (user !== undefined) usage.userTime = Number(user.trim()) / 1e9;
        if (system !== undefined) usage.systemTime = Number(system.trim()) / 1e9;
      }
      if (has("pids")) pidsUsage(part, usage);
    }
    return usage;
  }

  /** Whether the box has ended (its cgroups are gone, or going). */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Ends the box: kills what is left in it, waits until it is empty, reads
   * its usage and removes its cgroups, with any made inside them. Once only.
   *
   * @returns What it used (nothing, when it had ended already).
   */
  async end(): Promise<Usage> {
    if (this.#ended) return {};
    this.#ended = true;
    live.delete(this.id);
    let usage = this.usage();
    // Empty, as it is when its program left nothing running: its v2 cgroup
    // goes at once (rmdir fails with EBUSY while a process is in it).
    const v2 = this.#parts.findIndex((p) => p.version === 2);
    if (v2 >= 0 && removePart(this.#parts[v2]!, false)) this.#parts.splice(v2, 1);
    else if (this.populated) {
      this.kill();
      // Killed processes leave within milliseconds; one in an uninterruptible
      // sleep (a hung NFS server) may take long: then its cgroup is left for
      // the next nsh to remove.
      for (let wait = 1; this.populated && wait <= 2048; wait *= 2) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        if (wait >= 32) this.kill();
      }
      usage = this.usage();
    }
    for (const part of this.#parts.splice(0).reverse()) removePart(part);
    return usage;
  }
}

/** What the pids controller counted. */
function pidsUsage(part: Part, usage: { pidsRefused?: number; pidsPeak?: number }): void {
  usage.pidsRefused = keyed(readAt(part.fd, "pids.events")).get("max") ?? 0;
  const peak = readAt(part.fd, "pids.peak");
  if (peak !== undefined) usage.pidsPeak = Number(peak.trim());
}

/** The words of a file such as `cgroup.controllers`. */
function words(text: string | undefined): string[] {
  return (text ?? "").trim().split(/\s+/).filter(Boolean);
}

/** The v2 files of a controller's limits that were asked for. */
function filesOf(controller: string, limits: Limits): string {
  return LIMIT_NAMES.filter((k) => limits[k] !== undefined && CONTROLLER[k].controller === controller)
    .map((k) => CONTROLLER[k].file).join(" and ");
}

/** The one line that says a limit's controller is nowhere to be had. */
function missingController(controller: string, limits: Limits, layout: CgroupLayout): Error {
  const v1Name = V1_NAME[controller] ?? controller;
  const v2 = layout.v2;
  const offered = v2 === undefined
    ? "no cgroup v2 hierarchy is mounted"
    : `cgroup v2 at "${v2.mount}" offers ${v2.controllers.length ? v2.controllers.join(", ") : "no controller"} here`;
  return new Error(
    `Cannot set ${filesOf(controller, limits)}: this system has no ${controller} controller for nsh ` +
      `(${offered}, and no cgroup v1 hierarchy is mounted with ${v1Name})`,
  );
}

/** A second descriptor of a directory. */
function reopen(fd: number, path: string): number {
  const copy = libc().openat(fd, cstring("."), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (copy < 0) throw new SyscallError("open", errno(), { operation: `open "${path}"`, path });
  return copy;
}

/** Opens a cgroup directory, checking that it is one, of the right version. */
function openCgroupDir(path: string, what: string, version: 1 | 2): number {
  const fd = openDir(path, what);
  const type = fsType(fd);
  const wanted = version === 2 ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC;
  if (type !== wanted) {
    libc().close(fd);
    throw new Error(`Cannot use "${path}" as ${what}: it is not a cgroup${version === 2 ? " v2" : ""} directory`);
  }
  return fd;
}

/** Writes a cgroup file through its directory's descriptor; the errno, or 0. */
function writeFileAt(dirFd: number, name: string, text: string): number {
  const c = libc();
  const fd = c.openat(dirFd, cstring(name), O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0) return errno();
  const bytes = encodeText(text);
  const n = Number(c.write(fd, bytes, BigInt(bytes.length)));
  const e = n < 0 ? errno() : 0;
  c.close(fd);
  return e;
}

/** Writes a limit, or throws the one line that says why the kernel refused it. */
function setFile(part: Part, file: string, value: string, hint?: (e: number) => string | undefined): void {
  const e = writeFileAt(part.fd, file, value);
  if (!e) return;
  throw new SyscallError(e === ENOENT ? "open" : "write", e, {
    operation: `set ${file} to ${value} in "${part.path}"`,
    path: `${part.path}/${file}`,
    hint: hint?.(e) ??
      (e === ENOENT ? `this kernel's ${part.controllers.join(",")} controller has no ${file}` : undefined),
  });
}

/**
 * Enables controllers for the children of a v2 directory (its
 * `cgroup.subtree_control`).
 *
 * @returns The controllers its children have now.
 */
function enableControllers(base: Base, controllers: readonly string[]): string[] {
  // What was enabled stays so, unless someone turns it off: then the limit's
  // write fails and says so.
  const seen = base.known?.enabled;
  if (seen && controllers.every((c) => seen.includes(c))) return seen;
  const enabled = words(readAt(base.fd, "cgroup.subtree_control"));
  const missing = controllers.filter((c) => !enabled.includes(c));
  const e = missing.length ? writeFileAt(base.fd, "cgroup.subtree_control", missing.map((c) => `+${c}`).join(" ")) : 0;
  if (!e) {
    const now = [...enabled, ...missing];
    if (base.known) base.known.enabled = now;
    return now;
  }
  throw new SyscallError("write", e, {
    operation: `enable the ${missing.join(", ")} controller${missing.length > 1 ? "s" : ""} below "${base.path}"`,
    path: `${base.path}/cgroup.subtree_control`,
    hint: e === EBUSY
      ? `cgroup v2 gives controllers only to the children of a cgroup without processes, and "${base.path}" has ` +
        "some (nsh's own among them): name an empty cgroup with --cgroup-parent DIR (mkdir it first, as root)"
      : e === EACCES || e === EPERM || e === EROFS
      ? delegationHint(base.path, 2)
      : undefined,
  });
}

/**
 * Makes a box's directory below a base, checks that it is the one made, and
 * locks it for as long as it lives. `undefined` for an optional base the
 * caller may not write to.
 */
function makePart(base: Base, name: string): Part | undefined {
  const c = libc();
  const path = `${base.path.replace(/\/$/, "")}/${name}`;
  if (c.mkdirat(base.fd, cstring(name), 0o755) < 0) {
    const e = errno();
    if (base.optional && (e === EACCES || e === EPERM || e === EROFS)) return undefined;
    throw new SyscallError("mkdir", e, {
      operation: `create the cgroup "${path}"`,
      path,
      hint: e === EACCES || e === EPERM || e === EROFS
        ? delegationHint(base.path, base.version)
        : e === EEXIST
        ? "a cgroup of that name is left from an earlier nsh with the same pid"
        : undefined,
    });
  }
  // O_PATH: opening a cgroup directory for reading costs the kernel as much
  // as making it; *at calls and clone3 take an O_PATH descriptor.
  const fd = c.openat(base.fd, cstring(name), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
  const fail = (e: number, operation: string, hint?: string): never => {
    if (fd >= 0) c.close(fd);
    c.unlinkat(base.fd, cstring(name), AT_REMOVEDIR);
    throw new SyscallError("open", e, { operation, path, hint });
  };
  if (fd < 0) fail(errno(), `open the cgroup "${path}"`);
  // A user who may write to the parent (one delegated to another user) could
  // have put another directory there since: the one made is this process's.
  if (base.known?.foreign !== false) {
    const st = statAt(fd, "", AT_EMPTY_PATH);
    if (typeof st === "number" || st.uid !== ids().euid) {
      fail(EPERM, `use the cgroup "${path}"`, "it was replaced by someone else's since nsh made it");
    }
  }
  return {
    version: base.version,
    controllers: base.controllers,
    path,
    fd,
    parentFd: base.fd,
    ownsParent: base.owned,
    name,
  };
}

/**
 * Removes a part's directory, with any made inside it, and closes its
 * descriptors. With `always` false, only when it can be removed (nothing in
 * it): else it stays as it was.
 *
 * @returns Whether it is gone.
 */
function removePart(part: Part, always = true): boolean {
  const c = libc();
  const name = cstring(part.name);
  let gone = c.unlinkat(part.parentFd, name, AT_REMOVEDIR) === 0 || errno() === ENOENT;
  if (!gone && !always) return false;
  if (!gone) {
    // Boxes made inside it (a context's within a context's) go first.
    removeChildren(part.fd);
    // EBUSY still: a process is in it (in an uninterruptible sleep): left for
    // the next nsh, which finds its maker gone.
    gone = c.unlinkat(part.parentFd, name, AT_REMOVEDIR) === 0;
  }
  c.close(part.fd);
  if (part.ownsParent) c.close(part.parentFd);
  return gone;
}

/** The cgroups below a directory (boxes made inside a box). */
function childDirs(fd: number): string[] {
  try {
    return [...Deno.readDirSync(`/proc/self/fd/${fd}`)].filter((e) => e.isDirectory).map((e) => e.name);
  } catch {
    return [];
  }
}

/** Removes every cgroup below a directory, deepest first. */
function removeChildren(fd: number): void {
  const c = libc();
  for (const name of childDirs(fd)) {
    const child = c.openat(fd, cstring(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (child < 0) continue;
    removeChildren(child);
    c.close(child);
    c.unlinkat(fd, cstring(name), AT_REMOVEDIR);
  }
}

/** Every process in a cgroup and the cgroups below it. */
function allPids(fd: number): number[] {
  const c = libc();
  const pids = pidsIn(fd);
  for (const name of childDirs(fd)) {
    const child = c.openat(fd, cstring(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (child < 0) continue;
    pids.push(...allPids(child));
    c.close(child);
  }
  return pids;
}

/** Whether a process is in a cgroup or below it. */
function populated(fd: number, version: 1 | 2): boolean {
  if (version === 2) {
    const events = readAt(fd, "cgroup.events");
    if (events !== undefined) return keyed(events).get("populated") === 1;
  }
  return allPids(fd).length > 0;
}

/** SIGKILL to each process of a cgroup and those below it; whether there was any. */
function signalAll(fd: number): boolean {
  const pids = allPids(fd);
  for (const pid of pids) libc().kill(pid, SIGKILL);
  return pids.length > 0;
}

/** Waits, on this thread, up to about `ms` milliseconds for a cgroup file to read as wanted. */
function waitFor(fd: number, file: string, wanted: (text: string) => boolean, ms: number): boolean {
  for (let waited = 0, step = 1; waited < ms; waited += step, step = Math.min(step * 2, 50)) {
    if (wanted(readAt(fd, file) ?? "")) return true;
    pause(step);
  }
  return wanted(readAt(fd, file) ?? "");
}

/**
 * Kills the processes of a box's parts at once. Frozen, a process cannot
 * fork, so none escapes between the listing of the processes and the kill.
 */
function killParts(parts: readonly Part[], way: KillWay): void {
  const v2 = parts.find((p) => p.version === 2);
  if (way === "v2-kill" && v2) {
    writeFileAt(v2.fd, "cgroup.kill", "1");
    return;
  }
  if (way === "v2-freeze" && v2) {
    writeFileAt(v2.fd, "cgroup.freeze", "1");
    waitFor(v2.fd, "cgroup.events", (t) => keyed(t).get("frozen") === 1, 1000);
    signalAll(v2.fd);
    writeFileAt(v2.fd, "cgroup.freeze", "0");
    return;
  }
  const freezer = parts.find((p) => p.version === 1 && p.controllers.includes("freezer"));
  if (way === "v1-freeze" && freezer) {
    writeFileAt(freezer.fd, "freezer.state", "FROZEN");
    waitFor(freezer.fd, "freezer.state", (t) => t.trim() === "FROZEN", 1000);
    signalAll(freezer.fd);
    // A frozen v1 process dies of SIGKILL only once thawed.
    writeFileAt(freezer.fd, "freezer.state", "THAWED");
    return;
  }
  // No way to stop forks: kill what is listed until nothing is.
  for (let round = 0; round < 50 && parts.some((p) => signalAll(p.fd)); round++);
}

/**
 * Whether the nsh process that made a box is gone: one of this PID namespace
 * that no longer runs, or that had this process's pid before it (this process
 * sweeps before it makes its first box there).
 */
function makerGone(pid: number, pidns: string): boolean {
  if (pidns !== ownPidNamespace()) return false;
  return pid === Deno.pid || (libc().kill(pid, 0) < 0 && errno() === ESRCH);
}

/**
 * Removes the boxes that dead nsh processes left below a directory (killed
 * by SIGKILL, an nsh cannot remove its cgroups): those whose maker is gone
 * and whose lock nobody holds. What is still running in one is killed: a box
 * lives no longer than the nsh that watched it. Once per directory and
 * process (see {@linkcode knownBase}).
 */
function sweep(baseFd: number, basePath: string, version: 1 | 2): void {
  const c = libc();
  for (const name of childDirs(baseFd)) {
    const match = BOX_NAME.exec(name);
    if (!match || !makerGone(Number(match[1]), match[2]!)) continue;
    const fd = c.openat(baseFd, cstring(name), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) continue;
    const part: Part = {
      version,
      controllers: [],
      path: `${basePath}/${name}`,
      fd,
      parentFd: baseFd,
      ownsParent: false,
      name,
    };
    const way: KillWay = version === 2 && statAt(fd, "cgroup.kill", 0) !== -ENOENT
      ? "v2-kill"
      : version === 1 && statAt(fd, "freezer.state", 0) !== -ENOENT
      ? "v1-freeze"
      : "signals";
    if (populated(fd, version)) {
      killParts([{ ...part, controllers: way === "v1-freeze" ? ["freezer"] : [] }], way);
      waitFor(fd, "cgroup.procs", () => !populated(fd, version), 1000);
    }
    removePart(part);
  }
}

/** Writes one limit in a v2 directory. */
function writeV2(part: Part, key: keyof Limits, limits: Limits): void {
  const { file } = CONTROLLER[key];
  const value = key === "cpuMax"
    ? `${limits.cpuMax!.quota} ${limits.cpuMax!.period}`
    : key === "ioWeight"
    ? `default ${limits.ioWeight}`
    : String(limits[key]);
  setFile(
    part,
    file,
    value,
    (e) =>
      e === ENOENT && key === "memorySwapMax"
        ? "swap accounting is off in this kernel (boot with swapaccount=1)"
        : e === EINVAL && key === "cpuMax"
        ? "the kernel refused the quota or period"
        : undefined,
  );
}

/** v1 `cpu.shares` for a v2 `cpu.weight`, as systemd converts it (1024 for 100). */
function sharesOf(weight: number): number {
  return Math.min(262144, Math.max(2, Math.round(weight * 1024 / 100)));
}

/**
 * Writes one limit in a v1 directory, with the v1 files: memory and swap
 * together (v1 limits memory + swap), the CPU quota as period and quota,
 * the weights on v1's scales.
 */
function writeV1(part: Part, key: keyof Limits, limits: Limits, before: Limits): void {
  switch (key) {
    case "memoryMax":
    case "memorySwapMax": {
      const memory = limits.memoryMax ?? "max";
      const swap = limits.memorySwapMax;
      const limit = memory === "max" ? "-1" : String(memory);
      let memsw: string | undefined;
      if (swap !== undefined) {
        if (swap !== "max" && memory === "max") {
          throw new Error(
            "Cannot set memory.swap.max alone on cgroup v1: v1 limits memory and swap together " +
              "(memory.memsw.limit_in_bytes): give memory.max too (--memory-max)",
          );
        }
        memsw = swap === "max" ? "-1" : String((memory as number) + swap);
      }
      const swapHint = (e: number) =>
        e === ENOENT
          ? "swap accounting is off in this kernel (memory.memsw.* is missing; boot with swapaccount=1)"
          : undefined;
      // memory.limit_in_bytes may not exceed memory.memsw.limit_in_bytes: lowering
      // both, swap first; raising both, memory first.
      const lowering = before.memoryMax !== undefined && before.memoryMax !== "max" &&
        (memory === "max" ? false : memory < before.memoryMax);
      if (memsw !== undefined && lowering) setFile(part, "memory.memsw.limit_in_bytes", memsw, swapHint);
      if (key === "memoryMax" || before.memoryMax !== limits.memoryMax) {
        setFile(part, "memory.limit_in_bytes", limit);
      }
      if (memsw !== undefined && !lowering) setFile(part, "memory.memsw.limit_in_bytes", memsw, swapHint);
      return;
    }
    case "pidsMax":
      return setFile(part, "pids.max", String(limits.pidsMax));
    case "cpuMax": {
      const { quota, period } = limits.cpuMax!;
      setFile(part, "cpu.cfs_period_us", String(period));
      return setFile(part, "cpu.cfs_quota_us", quota === "max" ? "-1" : String(quota));
    }
    case "cpuWeight":
      return setFile(part, "cpu.shares", String(sharesOf(limits.cpuWeight!)));
    case "ioWeight": {
      const weight = limits.ioWeight!;
      const file = statAt(part.fd, "blkio.bfq.weight", 0) !== -ENOENT ? "blkio.bfq.weight" : "blkio.weight";
      if (weight > 1000) {
        throw new Error(`Cannot set io.weight to ${weight} on cgroup v1: ${file} takes 1 to 1000`);
      }
      return setFile(
        part,
        file,
        String(weight),
        (e) => e === ENOENT ? "the blkio controller here has no weight (it needs the BFQ I/O scheduler)" : undefined,
      );
    }
  }
}
