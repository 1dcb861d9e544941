/**
 * Folds a list of setup steps into a plan: which namespaces to create, which id
 * maps to write, which namespaces to join, and the steps that take effect, in
 * the order they run. Pure apart from reading the user databases and
 * `/etc/subuid` when a step names them.
 *
 * @module
 */

import { type NamespaceType, sortNamespaces } from "./namespaces.ts";
import type { IdRange, Step } from "./steps.ts";
import { kindOf } from "./steps/_registry.ts";
import { ids } from "./system.ts";
import type { Propagation } from "./steps/mounts.ts";
import { PHASES } from "./steps/_kind.ts";
import { checkIdMap, combineIdMaps, firstSubordinateBlock, resolveGroup, resolveUser, userName } from "./idmap.ts";

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
  /** Propagation of the new mount tree. */
  readonly propagation: Propagation;
  /** Offset of CLOCK_MONOTONIC in seconds, in a new time namespace. */
  readonly monotonic: number | undefined;
  /** Offset of CLOCK_BOOTTIME in seconds, in a new time namespace. */
  readonly boottime: number | undefined;
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
  /**
   * The steps of kinds that write their own system calls (hostname, mounts,
   * capabilities…), in the order the calls run: by phase, then as given. Of
   * a kind that takes one value (a hostname), only the last step.
   */
  readonly actions: readonly Step[];
}

/**
 * The plan of steps for this process: its effective ids, and files read from
 * the host.
 *
 * @param steps The steps.
 * @returns The plan.
 * @throws {TypeError} For contradictory or malformed steps.
 * @throws {RangeError} For values out of range.
 */
export function planHere(steps: readonly Step[]): Plan {
  const { euid, egid } = ids();
  const kept = PLANS.get(steps);
  if (kept?.euid === euid && kept.egid === egid) return kept.plan;
  // Kept for the next start of the same steps (a sandbox's), unless it read
  // a file of the host, which may change: /etc/subuid, or a user's name.
  let read = false;
  const made = plan(steps, {
    euid,
    egid,
    readFile: (path) => {
      read = true;
      return readFileOrUndefined(path);
    },
  });
  const named = steps.some((s) => (s.kind === "map-user" || s.kind === "map-group") && !/^\d+$/.test(String(s.id)));
  if (!read && !named) PLANS.set(steps, { euid, egid, plan: made });
  return made;
}

/** The last plan of each list of steps, for the ids it was made for. */
const PLANS = new WeakMap<readonly Step[], { euid: number; egid: number; plan: Plan }>();

/** Where {@linkcode plan} reads what it needs. */
export interface PlanContext {
  /** Effective uid of the caller. */
  readonly euid: number;
  /** Effective gid of the caller. */
  readonly egid: number;
  /** Reads a file such as `/etc/subuid`; `undefined` when it is missing. */
  readonly readFile?: (path: string) => string | undefined;
}

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
  let propagation: Propagation = "private";
  let monotonic: number | undefined;
  let boottime: number | undefined;
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
  /** The generic steps that take effect, with their position. */
  const actions = new Map<string, { step: Step; at: number }[]>();

  // The joined types first: a step that would imply a namespace changes a
  // joined one instead (a shell context's hostname, mount-proc).
  const joined = new Set(steps.flatMap((s) => s.kind === "enter" ? [s.type] : []));
  steps.forEach((step, at) => {
    const kind = kindOf(step);
    kind.check?.(step);
    for (const type of kind.implies?.(step, joined) ?? []) types.add(type);
    if (kind.phase !== "core") {
      const list = actions.get(step.kind) ?? [];
      if (kind.repeats === "last") list.length = 0;
      list.push({ step, at });
      actions.set(step.kind, list);
      return;
    }
    switch (step.kind) {
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
      case "propagation":
        propagation = step.mode;
        break;
      case "time-offset":
        if (step.clock === "monotonic") monotonic = step.seconds;
        else boottime = step.seconds;
        break;
      case "root":
        root = step.dir;
        break;
      case "wd":
        wd = step.dir;
        break;
      case "kill-child":
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
  });

  if (singleGid !== undefined) {
    if (setgroups === "allow") {
      throw new TypeError(
        "Cannot map a single group with setgroups allowed: the kernel lets an unprivileged process write a gid map only after setgroups is denied (options --setgroups=allow and --map-group are mutually exclusive)",
      );
    }
    setgroups = "deny";
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
  const takesIds = joined.has("user") && !preserve;
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

  const enterIds = takesIds ? { uid: setuid ?? 0, gid: setgid ?? 0 } : undefined;
  const phaseOf = (step: Step) => PHASES.indexOf(kindOf(step).phase as (typeof PHASES)[number]);
  return {
    namespaces: sortNamespaces(types),
    uidMap,
    gidMap,
    mapsNeedParent: uidRanges.length > 0 || gidRanges.length > 0,
    setgroups,
    propagation,
    monotonic,
    boottime,
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
    actions: [...actions.values()].flatMap((list) => {
      const kind = kindOf(list[0]!.step);
      if (kind.repeats !== "fold") return list;
      // One step for all of its kind, where the last one was.
      return [{ step: kind.fold!(list.map((a) => a.step)), at: list.at(-1)!.at }];
    })
      .sort((a, b) => phaseOf(a.step) - phaseOf(b.step) || a.at - b.at)
      .map((a) => a.step),
  };
}

/**
 * Whether a plan gives the program a root of its own (`root()`, or a new
 * root assembled by `root*()` steps): its working directory is then one of
 * that root's, `/` unless set.
 *
 * @param p The plan.
 * @returns `true` when the root changes.
 */
export function changesRoot(p: Plan): boolean {
  return p.root !== undefined || p.actions.some((s) => kindOf(s).phase === "newroot");
}
