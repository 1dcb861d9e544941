/**
 * The probing child of `audit()`: a fork of nsh that takes on the audited
 * process's policy (its namespaces, credentials, capabilities, no_new_privs
 * and seccomp filters), then makes calls whose raw results the parent reads
 * back (ffi/program.ts {@linkcode probe}).
 *
 * How it takes the policy, in this order (each step needs what the one
 * before still holds):
 * 1. no core dumps (`PR_SET_DUMPABLE` 0, `RLIMIT_CORE` 0): a filter that
 *    kills with SIGSYS would otherwise dump a copy of nsh's memory;
 * 2. `setns` into each namespace of the process that differs from nsh's
 *    (user, mnt, net, ipc, uts, cgroup), the user namespace last as root and
 *    first otherwise, as nsenter does. The PID and time namespaces are not
 *    joined: they would apply to children only. Calls that depend on the PID
 *    namespace (reboot) are checked in nsh's;
 * 3. its supplementary groups, its bounding set, then its uids and gids
 *    (translated into its user namespace) with `PR_SET_KEEPCAPS`, then
 *    `capset` of its effective, permitted and inheritable sets. Ambient
 *    capabilities and securebits only matter at execve, which the child
 *    never calls;
 * 4. no_new_privs, always: it only changes what execve grants, and lets the
 *    child load filters without CAP_SYS_ADMIN;
 * 5. its seccomp filters, oldest first, with the flags they were loaded with
 *    (SECCOMP_FILTER_FLAG_LOG, _SPEC_ALLOW; never a listener: a filter that
 *    answers SECCOMP_RET_USER_NOTIF gets ENOSYS without its supervisor).
 *
 * Landlock domains cannot be copied (the kernel shows no process's domain),
 * nor security module profiles: what those add is not seen by the probes.
 *
 * @module
 */

import { probe, type ProbeOp } from "../../ffi/program.ts";
import { nativeAbi, syscallTable } from "../../ffi/syscall_table.ts";
import {
  LINUX_CAPABILITY_VERSION_3,
  PR_CAPBSET_DROP,
  PR_SET_DUMPABLE,
  PR_SET_KEEPCAPS,
  PR_SET_NO_NEW_PRIVS,
  RLIMIT_CORE,
  SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_SET_MODE_FILTER,
} from "../../ffi/constants.ts";
import { errnoName } from "../../ffi/errno.ts";
import type { CopiedFilter } from "./filters.ts";

/** The number of a system call on this machine. */
export function sysno(name: string): number | undefined {
  return syscallTable(nativeAbi() ?? "x86_64").numbers.get(name);
}

/** A setup step and what it does, for a message when it fails. */
export interface SetupStep {
  /** The call. */
  readonly op: ProbeOp;
  /** What it does: "join the net namespace". */
  readonly what: string;
}

/** A group of calls that the parent reads back together: one call, or several that use each other's results. */
export interface ProbeUnit {
  /** Its name. */
  readonly key: string;
  /**
   * Its calls, given the index of the first in the program (for
   * `{ result: at }` arguments).
   */
  readonly ops: (at: number) => ProbeOp[];
}

/** What each call of a unit returned. */
export interface UnitRun {
  /** The raw results (-errno on failure); `undefined` for a call that did not return. */
  readonly results: readonly (number | undefined)[];
  /** Whether the filter killed the child in this unit. */
  readonly killed: boolean;
}

/** What a group of units gave. */
export interface GroupRun {
  /** Each unit's results. */
  readonly units: ReadonlyMap<string, UnitRun>;
  /** Why the child could not take the policy, when it could not: the units did not run. */
  readonly failure?: string;
}

/**
 * Runs units in probing children: the setup steps, then the units. When a
 * filter kills the child in a unit, that unit is marked killed and a new
 * child goes on with the next one.
 *
 * @param setup The steps that give the child the policy, in order.
 * @param units The calls to make.
 * @param timeout Milliseconds before a child is killed.
 * @returns Each unit's results.
 */
export async function runUnits(
  setup: readonly SetupStep[],
  units: readonly ProbeUnit[],
  timeout: number,
): Promise<GroupRun> {
  const done = new Map<string, UnitRun>();
  let from = 0;
  while (from < units.length) {
    const ops: ProbeOp[] = setup.map((s) => s.op);
    const spans: [number, number][] = [];
    for (const unit of units.slice(from)) {
      const made = unit.ops(ops.length);
      spans.push([ops.length, made.length]);
      ops.push(...made);
    }
    const out = await probe(ops, { timeout });
    if (out.failure && out.failure.step < setup.length) {
      const step = setup[out.failure.step]!;
      return { units: done, failure: `cannot ${step.what}: ${errnoName(out.failure.errno)}` };
    }
    const stuck = setup.findIndex((_, i) => out.results[i] === undefined);
    if (stuck >= 0) {
      const how = out.timedOut ? "took too long" : `was killed by signal ${out.signal}`;
      return { units: done, failure: `the probing child ${how} while it would ${setup[stuck]!.what}` };
    }
    let next = units.length;
    for (let u = from; u < units.length; u++) {
      const [start, length] = spans[u - from]!;
      const results = out.results.slice(start, start + length);
      const ended = results.findIndex((r) => r === undefined);
      if (ended < 0) {
        done.set(units[u]!.key, { results, killed: false });
        continue;
      }
      // The child ended in this unit: killed by the filter (SIGSYS, or
      // SIGKILL in strict mode), or by the timeout.
      done.set(units[u]!.key, { results, killed: out.signal !== undefined && !out.timedOut });
      next = u + 1;
      break;
    }
    from = next;
  }
  return { units: done };
}

/** The policy of the audited process, as the probing child takes it. */
export interface Policy {
  /** Namespace descriptors (opened by the parent) to join, in order, with their types. */
  readonly join: readonly { readonly fd: number; readonly type: string }[];
  /** Its supplementary groups, in its user namespace. */
  readonly groups: readonly number[];
  /** Real, effective and saved gid, in its user namespace; `undefined` keeps nsh's. */
  readonly gids?: readonly [number, number, number];
  /** Real, effective and saved uid, in its user namespace; `undefined` keeps nsh's. */
  readonly uids?: readonly [number, number, number];
  /** Its bounding set, as a bit mask. */
  readonly bounding: bigint;
  /** Its effective, permitted and inheritable sets. */
  readonly effective: bigint;
  readonly permitted: bigint;
  readonly inheritable: bigint;
  /** The highest capability number of this kernel. */
  readonly lastCap: number;
}

/** The steps that keep a probing child from dumping core. */
export function quietSteps(): SetupStep[] {
  return [
    { op: { call: "prctl", args: [PR_SET_DUMPABLE, 0, 0, 0, 0] }, what: "turn core dumps off (PR_SET_DUMPABLE)" },
    {
      op: { call: sysno("prlimit64")!, args: [0, RLIMIT_CORE, { bytes: new Uint8Array(16) }, 0] },
      what: "turn core dumps off (RLIMIT_CORE)",
    },
  ];
}

/**
 * The steps that move a probing child into the audited process's namespaces
 * (step 2 of this module's list).
 *
 * @param policy What to take.
 * @returns The steps.
 */
export function joinSteps(policy: Policy): SetupStep[] {
  return policy.join.map(({ fd, type }) => ({
    op: { call: "setns", args: [fd, 0] },
    what: `join its ${type} namespace`,
  }));
}

/**
 * The steps that give a probing child the audited process's credentials
 * (steps 3 and 4 of this module's list). Whatever needs nsh's capabilities
 * (entering the process's root directory) comes before them.
 *
 * @param policy What to take.
 * @returns The steps.
 */
export function credentialSteps(policy: Policy): SetupStep[] {
  const steps: SetupStep[] = [];
  if (policy.groups.length) {
    const list = new Uint8Array(policy.groups.length * 4);
    policy.groups.forEach((g, i) => new DataView(list.buffer).setUint32(i * 4, g, true));
    // Refused where the user namespace denies setgroups: then the child keeps
    // what it has, as the process did.
    steps.push({
      op: { call: "setgroups", args: [policy.groups.length, { bytes: list }], ignore: true },
      what: "take its supplementary groups",
    });
  }
  for (let cap = 0; cap <= policy.lastCap; cap++) {
    if (policy.bounding & (1n << BigInt(cap))) continue;
    steps.push({
      op: { call: "prctl", args: [PR_CAPBSET_DROP, cap, 0, 0, 0], ignore: true },
      what: `drop capability ${cap} from the bounding set`,
    });
  }
  if (policy.uids || policy.gids) {
    steps.push({
      op: { call: "prctl", args: [PR_SET_KEEPCAPS, 1, 0, 0, 0] },
      what: "keep capabilities (PR_SET_KEEPCAPS)",
    });
  }
  if (policy.gids) {
    steps.push({ op: { call: "setresgid", args: [...policy.gids] }, what: `take its gids ${policy.gids.join(" ")}` });
  }
  if (policy.uids) {
    steps.push({ op: { call: "setresuid", args: [...policy.uids] }, what: `take its uids ${policy.uids.join(" ")}` });
  }
  const header = new Uint8Array(8);
  new DataView(header.buffer).setUint32(0, LINUX_CAPABILITY_VERSION_3, true);
  const data = new Uint8Array(24);
  const view = new DataView(data.buffer);
  [policy.effective, policy.permitted, policy.inheritable].forEach((set, field) => {
    view.setUint32(field * 4, Number(set & 0xffffffffn), true);
    view.setUint32(12 + field * 4, Number((set >> 32n) & 0xffffffffn), true);
  });
  steps.push({ op: { call: "capset", args: [{ bytes: header }, { bytes: data }] }, what: "take its capabilities" });
  steps.push(noNewPrivsStep());
  return steps;
}

/** no_new_privs, which lets the child load filters and changes nothing but execve. */
export function noNewPrivsStep(): SetupStep {
  return { op: { call: "prctl", args: [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0] }, what: "set no_new_privs" };
}

/**
 * The steps that load copied filters, oldest first.
 *
 * @param filters The filters, newest first, as {@linkcode copyFilters} gives them.
 * @returns The steps.
 */
export function filterSteps(filters: readonly CopiedFilter[]): SetupStep[] {
  return [...filters].reverse().map((filter, i) => ({
    op: {
      call: "seccomp",
      args: [
        SECCOMP_SET_MODE_FILTER,
        filter.flags & (SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW),
        { fprog: filter.program },
      ],
    },
    what: `load its seccomp filter ${i + 1} of ${filters.length}`,
  }));
}
