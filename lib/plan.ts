/**
 * Folds a list of setup steps into a plan: which namespaces to create, which id
 * maps to write, what to mount, in which order. Pure apart from reading the
 * user databases and `/etc/subuid` when a step names them.
 *
 * @module
 */

import { type NamespaceType, sortNamespaces } from "./namespaces.ts";
import type { IdRange, Propagation, Step } from "./steps.ts";
import { checkIdMap, combineIdMaps, firstSubordinateBlock, resolveGroup, resolveUser, userName } from "./idmap.ts";
import { signalName } from "../ffi/signals.ts";
import { encodeText } from "../ffi/bytes.ts";

/** A mount step, in the order given. */
export type MountStep = Extract<Step, { kind: "bind" | "tmpfs" | "mount" | "umount" | "bind-namespace" }>;

/** Everything a child needs set up, normalized. */
export interface Plan {
  /** Namespaces to create, asked for or implied, in table order. */
  readonly namespaces: readonly NamespaceType[];
  /** Lines of the uid map, if one is written. */
  readonly uidMap: readonly IdRange[] | undefined;
  /** Lines of the gid map, if one is written. */
  readonly gidMap: readonly IdRange[] | undefined;
  /** Whether the maps need a privileged writer: more than the caller's own id. */
  readonly mapsNeedParent: boolean;
  /** What to write to `/proc/PID/setgroups`, if anything. */
  readonly setgroups: "allow" | "deny" | undefined;
  /** Keep capabilities across execve. */
  readonly keepCaps: boolean;
  /** Propagation of the new mount tree. */
  readonly propagation: Propagation;
  /** Hostname to set. */
  readonly hostname: string | undefined;
  /** NIS domain name to set. */
  readonly domainname: string | undefined;
  /** Offset of CLOCK_MONOTONIC in seconds, in a new time namespace. */
  readonly monotonic: number | undefined;
  /** Offset of CLOCK_BOOTTIME in seconds, in a new time namespace. */
  readonly boottime: number | undefined;
  /** Mounts, in order. */
  readonly mounts: readonly MountStep[];
  /** Where to mount proc, after the root changed. */
  readonly mountProc: string | undefined;
  /** New root directory. */
  readonly root: string | undefined;
  /** New working directory. */
  readonly wd: string | undefined;
  /** Signal for the child when its parent dies. */
  readonly killChild: number | undefined;
  /** uid inside to switch to. */
  readonly setuid: number | undefined;
  /** gid inside to switch to. */
  readonly setgid: number | undefined;
  /** New namespaces to bind to files, by the parent, before the program runs. */
  readonly persist: readonly { readonly type: NamespaceType; readonly file: string }[];
  /**
   * Existing namespaces to join first. A namespace of a type already in the
   * current group starts the next group (joining inside what was joined: a
   * shell context, then namespaces bound in it); groups are joined in order,
   * each in table order.
   */
  readonly enter: readonly { readonly type: NamespaceType; readonly path: string; readonly group: number }[];
  /** Root directory to open before joining and change to after. */
  readonly enterRoot: string | undefined;
  /** Working directory to open before joining and change to after. */
  readonly enterWd: string | undefined;
  /**
   * After joining a user namespace, the uid and gid to take (root by default),
   * or `undefined` to keep the caller's (`preserveCredentials`).
   */
  readonly enterIds: { readonly uid: number; readonly gid: number } | undefined;
}

/** Where {@linkcode plan} reads what it needs. */
export interface PlanContext {
  /** Effective uid of the caller. */
  readonly euid: number;
  /** Effective gid of the caller. */
  readonly egid: number;
  /** Reads a file such as `/etc/subuid`; `undefined` when it is missing. */
  readonly readFile?: (path: string) => string | undefined;
}

const HOST_NAME_MAX = 64;
/** Stands for "the caller's own id" until the caller's ids are known. */
const CURRENT = -1;

function readFileOrUndefined(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Folds steps into a plan. Later steps of one kind replace earlier ones, as
 * later options do for util-linux `unshare`; mounts accumulate in order.
 *
 * @param steps The steps.
 * @param context The caller's ids and how to read files.
 * @returns The plan.
 * @throws {TypeError} For contradictory or malformed steps.
 * @throws {RangeError} For values out of range.
 */
export function plan(steps: readonly Step[], context: PlanContext): Plan {
  const read = context.readFile ?? readFileOrUndefined;
  const types = new Set<NamespaceType>();
  let singleUid: number | undefined;
  let singleGid: number | undefined;
  let userRanges: readonly IdRange[] | "auto" | undefined;
  let groupRanges: readonly IdRange[] | "auto" | undefined;
  let setgroups: "allow" | "deny" | undefined;
  let keepCaps = false;
  let propagation: Propagation = "private";
  let hostname: string | undefined;
  let domainname: string | undefined;
  let monotonic: number | undefined;
  let boottime: number | undefined;
  const mounts: MountStep[] = [];
  let mountProc: string | undefined;
  let root: string | undefined;
  let wd: string | undefined;
  let killChild: number | undefined;
  let setuid: number | undefined;
  let setgid: number | undefined;
  const persist = new Map<NamespaceType, string>();
  const groups: Map<NamespaceType, string>[] = [];
  let enterRoot: string | undefined;
  let enterWd: string | undefined;
  let preserve = false;

  for (const step of steps) {
    switch (step.kind) {
      case "namespaces":
        for (const t of step.types) types.add(t);
        break;
      case "map-root-user":
        singleUid = 0;
        singleGid = 0;
        break;
      case "map-current-user":
        singleUid = CURRENT;
        singleGid = CURRENT;
        break;
      case "map-user":
        singleUid = resolveUser(step.id);
        break;
      case "map-group":
        singleGid = resolveGroup(step.id);
        break;
      case "map-users":
        userRanges = step.ranges;
        break;
      case "map-groups":
        groupRanges = step.ranges;
        break;
      case "setgroups":
        setgroups = step.mode;
        break;
      case "keep-caps":
        keepCaps = true;
        break;
      case "propagation":
        propagation = step.mode;
        break;
      case "hostname":
        hostname = step.name;
        break;
      case "domainname":
        domainname = step.name;
        break;
      case "time-offset":
        if (!Number.isSafeInteger(step.seconds)) {
          throw new RangeError(
            `Cannot shift the ${step.clock} clock by ${step.seconds}: not a whole number of seconds`,
          );
        }
        if (step.clock === "monotonic") monotonic = step.seconds;
        else boottime = step.seconds;
        break;
      case "mount-proc":
        mountProc = step.target;
        break;
      case "bind":
      case "tmpfs":
      case "mount":
      case "umount":
      case "bind-namespace":
        mounts.push(step);
        break;
      case "root":
        root = step.dir;
        break;
      case "wd":
        wd = step.dir;
        break;
      case "kill-child":
        if (!Number.isInteger(step.signal) || step.signal < 1 || step.signal > 64) {
          throw new RangeError(`Cannot use signal ${step.signal} for kill-child: not a signal number`);
        }
        killChild = step.signal;
        break;
      case "setuid":
        setuid = step.id;
        break;
      case "setgid":
        setgid = step.id;
        break;
      case "persist":
        persist.set(step.type, step.file);
        types.add(step.type);
        break;
      case "enter": {
        let group = groups.at(-1);
        if (!group || group.has(step.type)) groups.push(group = new Map());
        group.set(step.type, step.path);
        break;
      }
      case "enter-root":
        enterRoot = step.dir;
        break;
      case "enter-wd":
        enterWd = step.dir;
        break;
      case "preserve-credentials":
        preserve = true;
        break;
    }
  }

  const mapsUsers = singleUid !== undefined || singleGid !== undefined || userRanges !== undefined ||
    groupRanges !== undefined;
  const enter = new Set(groups.flatMap((g) => [...g.keys()]));
  // Steps imply the namespace they set up. A hostname or mounts change a joined
  // UTS or mount namespace instead (a shell context's `hostname`, `mount-proc`);
  // id maps and clock offsets are only ever written to new namespaces.
  if (mapsUsers || setgroups !== undefined || keepCaps) types.add("user");
  if (monotonic !== undefined || boottime !== undefined) types.add("time");
  if ((hostname !== undefined || domainname !== undefined) && !enter.has("uts")) types.add("uts");
  const mounting = mounts.some((m) => m.kind !== "bind-namespace");
  if ((mountProc !== undefined || mounting) && !enter.has("mnt")) types.add("mnt");

  if (singleGid !== undefined) {
    if (setgroups === "allow") {
      throw new TypeError(
        "Cannot map a single group with setgroups allowed: the kernel lets an unprivileged process write a gid map only after setgroups is denied (options --setgroups=allow and --map-group are mutually exclusive)",
      );
    }
    setgroups = "deny";
  }
  for (const [what, name] of [["hostname", hostname], ["domain name", domainname]] as const) {
    if (name !== undefined && encodeText(name).length > HOST_NAME_MAX) {
      throw new RangeError(`Cannot set the ${what} to "${name}": longer than ${HOST_NAME_MAX} bytes`);
    }
  }

  const auto = (file: string, what: string): IdRange => {
    const name = userName(context.euid);
    const block = firstSubordinateBlock(read(file) ?? "", name, context.euid);
    if (!block) {
      throw new TypeError(
        `Cannot map ${what} automatically: ${file} has no block for ${name ?? `uid ${context.euid}`}`,
      );
    }
    return block;
  };
  const uidRanges = userRanges === "auto" ? [auto("/etc/subuid", "users")] : userRanges ?? [];
  const gidRanges = groupRanges === "auto" ? [auto("/etc/subgid", "groups")] : groupRanges ?? [];
  // The ids the child has when it makes the user namespace: this process's,
  // or those it took in a joined user namespace (root there, by default).
  const takesIds = enter.has("user") && !preserve;
  const outsideUid = takesIds ? setuid ?? 0 : context.euid;
  const outsideGid = takesIds ? setgid ?? 0 : context.egid;
  if (singleUid === CURRENT) singleUid = outsideUid;
  if (singleGid === CURRENT) singleGid = outsideGid;
  const uidMap = singleUid !== undefined || uidRanges.length
    ? combineIdMaps(
      singleUid === undefined ? undefined : { inside: singleUid, outside: outsideUid, count: 1 },
      uidRanges,
    )
    : undefined;
  const gidMap = singleGid !== undefined || gidRanges.length
    ? combineIdMaps(
      singleGid === undefined ? undefined : { inside: singleGid, outside: outsideGid, count: 1 },
      gidRanges,
    )
    : undefined;
  if (uidMap) checkIdMap(uidMap, "uid");
  if (gidMap) checkIdMap(gidMap, "gid");

  const enterIds = enter.has("user") && !preserve ? { uid: setuid ?? 0, gid: setgid ?? 0 } : undefined;
  return {
    namespaces: sortNamespaces(types),
    uidMap,
    gidMap,
    mapsNeedParent: uidRanges.length > 0 || gidRanges.length > 0,
    setgroups,
    keepCaps,
    propagation,
    hostname,
    domainname,
    monotonic,
    boottime,
    mounts,
    mountProc,
    root,
    wd,
    killChild,
    // After joining a user namespace, the ids are taken right away (enterIds).
    setuid: enterIds ? undefined : setuid,
    setgid: enterIds ? undefined : setgid,
    persist: sortNamespaces(persist.keys()).map((type) => ({ type, file: persist.get(type)! })),
    enter: groups.flatMap((g, group) => sortNamespaces(g.keys()).map((type) => ({ type, path: g.get(type)!, group }))),
    enterRoot,
    enterWd,
    enterIds,
  };
}

/**
 * A one-line description of a plan, for messages and prompts.
 *
 * @param p The plan.
 * @returns Such as `"user pid mnt (root mapped)"`.
 */
export function describePlan(p: Plan): string {
  const parts: string[] = [p.namespaces.join(" ") || "no new namespaces"];
  if (p.killChild) parts.push(`kill-child ${signalName(p.killChild)}`);
  return parts.join(", ");
}
