/**
 * `audit(pid)`: what isolation a process actually has, and which known ways
 * out of it are open. What the kernel shows is read from /proc; what it does
 * not show (which system calls the seccomp filter and the capabilities let
 * through, what the process may write) is probed in a child of nsh that
 * takes on the process's namespaces, credentials, capabilities and filters,
 * with calls made harmless by their arguments (lib/audit/probes.ts,
 * lib/audit/child.ts).
 *
 * @module
 */

import { cstring, libc, statAt } from "../ffi/libc.ts";
import { errnoName } from "../ffi/errno.ts";
import { SyscallError } from "../ffi/error.ts";
import { AT_EMPTY_PATH, ENOENT, ESRCH, NS_GET_PARENT, O_CLOEXEC, O_RDONLY } from "../ffi/constants.ts";
import { NAMESPACES, type NamespaceType } from "./namespaces.ts";
import type { IdRange } from "./steps/users.ts";
import { capLastCap, ids, startTime } from "./system.ts";
import {
  address,
  capabilityNames,
  insideId,
  isIdentityMap,
  linkInode,
  namespaceLink,
  openRoot,
  parseIdMap,
  processError,
  readProcFile,
  readStatus,
} from "./audit/procfs.ts";
import { type AuditCgroups, auditCgroups } from "./audit/cgroups.ts";
import { type CopiedFilter, copyFilters } from "./audit/filters.ts";
import { credentialSteps, joinSteps, type SetupStep } from "./audit/child.ts";
import { commandOf, outsideFacts, readLabel } from "./audit/outside.ts";
import {
  describeProbing,
  ESCAPE_ORDER,
  escapeUnits,
  fileReport,
  fileUnits,
  landlockReport,
  landlockUnit,
  probeAll,
  type ProbeRuns,
  SCRATCH,
  syscallReport,
  syscallUnits,
} from "./audit/run.ts";
import { verdicts } from "./audit/verdicts.ts";
import type {
  Audit,
  AuditCapabilities,
  AuditCredentials,
  AuditNamespace,
  AuditOptions,
  AuditReference,
  AuditSeccomp,
  AuditUserNamespace,
} from "./audit/types.ts";

export type * from "./audit/types.ts";
export type { AuditCgroup, AuditCgroups, AuditLimit } from "./audit/cgroups.ts";
export type { ProbeStatus } from "./audit/probes.ts";
export { RUNTIME_SOCKETS } from "./audit/outside.ts";

/** The namespaces the probing child joins (not pid and time: those apply to children only). */
const JOINED: readonly NamespaceType[] = ["user", "mnt", "net", "ipc", "uts", "cgroup"];

/**
 * Audits a process: its namespaces (its own or the host's), user namespace
 * and id maps, credentials, capabilities by set and where they count,
 * no_new_privs, seccomp (and which sensitive system calls its filter and
 * capabilities deny, probed), Landlock, security label, cgroups and limits,
 * what it sees of the host's files, and each known breakout path, open or
 * closed.
 *
 * The host is what PID 1 is in; where PID 1's namespaces cannot be read, the
 * reference is nsh's own process (`reference` says which). Probing needs the
 * right to join the process's namespaces (root, or a user namespace the
 * caller made); copying its seccomp filter needs root, and stops the process
 * while the filter is copied (see lib/audit/filters.ts).
 *
 * @example A box of isolate() closes every known way out
 * ```ts
 * import assert from "node:assert/strict";
 * import { audit, isolate } from "@nsh/nsh";
 *
 * const box = isolate().run("sleep", "60").noThrow().spawn();
 * const report = await audit((await box.started).pid);
 * assert.deepEqual(report.breakouts.filter((breakout) => breakout.open).map((breakout) => breakout.title), []);
 * box.kill();
 * await box;
 * ```
 *
 * @param pid The process; nsh itself when left out (a probing child then
 *   inherits its policy, Landlock included).
 * @param options Whether to probe, and the probes' timeout.
 * @returns What was found.
 * @throws {SyscallError} For a process that does not exist or may not be
 *   inspected (ESRCH, EACCES), with a hint.
 * @throws {RangeError} For a pid that is not a positive integer.
 */
export async function audit(pid?: number, options: AuditOptions = {}): Promise<Audit> {
  if (pid !== undefined && (!Number.isInteger(pid) || pid < 1)) {
    throw new RangeError(`Cannot audit process ${pid}: a pid is a positive integer`);
  }
  const target = pid ?? Deno.pid;
  const self = target === Deno.pid;
  const started = startTime(target);
  const status = readStatus(target);
  if (status.get("State")?.startsWith("Z")) {
    // A zombie keeps its pid, ids and user namespace, but no other namespace, root or memory.
    throw processError(target, ENOENT, "readlink", `/proc/${target}/ns/net`);
  }
  const links = new Map<NamespaceType, string | null>();
  for (const { type } of NAMESPACES) {
    const link = namespaceLink(target, type);
    if (typeof link === "number") {
      if (link !== ENOENT || type === "user") {
        throw processError(target, link, "readlink", `/proc/${target}/ns/${type}`);
      }
      links.set(type, null);
    } else links.set(type, link);
  }
  const own = new Map<NamespaceType, string | null>();
  for (const { type } of NAMESPACES) {
    const link = namespaceLink(Deno.pid, type);
    own.set(type, typeof link === "string" ? link : null);
  }
  const reference = chooseReference(target, self);
  const refLinks = new Map<NamespaceType, string | null>();
  for (const { type } of NAMESPACES) {
    if (reference.pid === null) refLinks.set(type, null);
    else {
      const link = namespaceLink(reference.pid, type);
      refLinks.set(type, typeof link === "string" ? link : null);
    }
  }
  const namespaces: AuditNamespace[] = NAMESPACES.map(({ type }) => {
    const link = links.get(type) ?? null, ref = refLinks.get(type) ?? null;
    return { type, link, reference: ref, shared: link && ref ? link === ref : null };
  });
  const shared = (type: NamespaceType) => namespaces.find((n) => n.type === type)!.shared;

  // The user namespace, its maps, and where capabilities count.
  const uidMap = parseIdMap(readProcFile(target, "uid_map"));
  const gidMap = parseIdMap(readProcFile(target, "gid_map"));
  let setgroups: string | null = null;
  try {
    setgroups = readProcFile(target, "setgroups").trim();
  } catch {
    // Before Linux 3.19.
  }
  const nshInitial = isIdentityMap(parseIdMap(readProcFile(Deno.pid, "uid_map"))) &&
    isIdentityMap(parseIdMap(readProcFile(Deno.pid, "gid_map")));
  const depth = userDepth(target, own.get("user")!);
  const initial = depth === 0 ? nshInitial : depth !== null ? false : null;
  const user: AuditUserNamespace = { initial, depth, uidMap, gidMap, setgroups };

  const idsOf = (field: string) => (status.get(field) ?? "").split(/\s+/).filter(Boolean).map(Number);
  const uid = idsOf("Uid"), gid = idsOf("Gid"), groups = idsOf("Groups");
  const sameUserNs = depth === 0;
  const credentials: AuditCredentials = {
    uid,
    gid,
    groups,
    uidInside: sameUserNs ? uid[1]! : insideId(uidMap, uid[1]!) ?? null,
    gidInside: sameUserNs ? gid[1]! : insideId(gidMap, gid[1]!) ?? null,
  };
  const lastCap = capLastCap();
  const capabilities: AuditCapabilities = {
    effective: capabilityNames(status.get("CapEff")),
    permitted: capabilityNames(status.get("CapPrm")),
    inheritable: capabilityNames(status.get("CapInh")),
    bounding: capabilityNames(status.get("CapBnd")),
    ambient: capabilityNames(status.get("CapAmb")),
    countIn: initial === true ? "initial" : initial === false ? "nested" : "unknown",
    known: lastCap + 1,
  };
  const noNewPrivs = status.get("NoNewPrivs") === "1";
  const modeNumber = Number(status.get("Seccomp") ?? 0);
  const mode = modeNumber === 2 ? "filter" : modeNumber === 1 ? "strict" : "disabled";
  const filterCount = status.has("Seccomp_filters") ? Number(status.get("Seccomp_filters")) : null;

  let cgroups: AuditCgroups | null = null;
  try {
    cgroups = auditCgroups(target);
  } catch {
    // Unreadable: reported as null.
  }
  const lsm = readLabel(target);

  // What it sees of the host's files, read from outside.
  const rootFd = openRoot(target);
  const closeLater: number[] = rootFd >= 0 ? [rootFd] : [];
  try {
    const facts = outsideFacts(target, rootFd, reference.pid);

    // The probes.
    const probing = options.probe ?? true;
    const timeout = options.timeout ?? 10000;
    let seccomp: AuditSeccomp = {
      mode,
      filters: filterCount,
      probedWith: self ? (mode === "disabled" ? "none" : "inherited") : mode === "disabled" ? "none" : "unread",
      instructions: [],
    };
    let filters: readonly CopiedFilter[] = [];
    if (probing && !self && mode === "filter") {
      const copy = await copyFilters(target, filterCount ?? undefined, timeout);
      if ("filters" in copy) {
        filters = copy.filters;
        seccomp = { ...seccomp, probedWith: "copied", instructions: filters.map((f) => f.program.length / 8) };
      } else seccomp = { ...seccomp, why: copy.why };
    } else if (!self && mode === "strict") {
      seccomp = { ...seccomp, why: "strict mode allows read, write, _exit and sigreturn only: nothing else to probe" };
    }

    const context = { nshPid: Deno.pid, scratch: address(SCRATCH) };
    const hostPid = reference.pid;
    const escapeTypes = ESCAPE_ORDER.filter((t) => shared(t) === false);
    const units = {
      calls: syscallUnits(context),
      files: fileUnits(facts),
      escape: facts.hostProc && hostPid !== null ? escapeUnits(hostPid, escapeTypes) : [],
      vhangup: syscallUnits(context, true),
      landlock: self ? [landlockUnit()] : [],
    };
    let runs: ProbeRuns | undefined;
    let how = "not probed (probe: false)";
    if (probing && mode === "strict") {
      how = "not probed: seccomp strict mode would kill the probing child at its first call";
    } else if (probing) {
      const setup = self ? undefined : policy(target, status, links, own, uidMap, gidMap, groups, lastCap, closeLater);
      if (setup && "failure" in setup) how = `not probed: ${setup.failure}`;
      else {
        runs = await probeAll(units, setup, rootFd, facts.sameRoot, filters, seccomp.probedWith, timeout);
        how = describeProbing(self, seccomp, setup?.joined ?? []);
        if (runs.failure) how = `not probed: ${runs.failure}`;
      }
    }
    const calls = syscallReport(runs, filters, context);
    const filesystem = fileReport(facts, runs);
    const landlock = landlockReport(self, runs);
    const report: Omit<Audit, "breakouts"> = {
      format: 1,
      pid: target,
      self,
      command: commandOf(target),
      auditor: ids().euid,
      reference,
      namespaces,
      user,
      credentials,
      capabilities,
      noNewPrivs,
      seccomp,
      syscalls: { probed: runs !== undefined && !runs.failure, how, calls },
      landlock,
      lsm,
      cgroups,
      filesystem,
    };
    // A pid names whichever process has it: one that ended during the audit
    // may have left its pid to another, whose files the later reads saw.
    if (startTime(target) !== started) {
      throw new SyscallError("open", ESRCH, {
        operation: `audit process ${target}`,
        path: `/proc/${target}`,
        hint: `process ${target} ended while it was audited`,
      });
    }
    return { ...report, breakouts: verdicts(report, facts, runs, escapeTypes) };
  } finally {
    for (const fd of closeLater) libc().close(fd);
  }
}

/**
 * Whether nsh's /proc is the initial PID namespace's: only that one shows
 * kernel threads (kthreadd is PID 2 there, its parent 0). Inside a PID
 * namespace of its own, PID 1 is the box's init, not the host's.
 */
function initialProcfs(): boolean {
  try {
    const status = Deno.readTextFileSync("/proc/2/status");
    return /^Kthread:\s*1$/m.test(status) || (/^Name:\s*kthreadd$/m.test(status) && /^PPid:\s*0$/m.test(status));
  } catch {
    return false;
  }
}

/** PID 1 when it is the host's init and its namespaces can be read, else nsh's own process. */
function chooseReference(target: number, self: boolean): AuditReference {
  let why: string;
  if (target === 1) why = "the audited process is PID 1";
  else if (!initialProcfs()) why = "nsh's /proc is not the initial PID namespace's: its PID 1 is not the host's";
  else {
    const refused = NAMESPACES.map(({ type }) => namespaceLink(1, type)).find((l) => typeof l === "number");
    if (refused === undefined) {
      return { kind: "pid1", pid: 1, why: "compared with PID 1, whose namespaces are the host's" };
    }
    why = `PID 1's namespaces cannot be read (${errnoName(refused as number)})`;
  }
  if (self) {
    return { kind: "none", pid: null, why: `${why}, and the audited process is nsh itself: nothing to compare with` };
  }
  return { kind: "nsh", pid: Deno.pid, why: `${why}: compared with nsh's own namespaces (pid ${Deno.pid})` };
}

/** How many levels a process's user namespace is below nsh's (NS_GET_PARENT), or `null`. */
function userDepth(pid: number, ownLink: string | null): number | null {
  if (!ownLink) return null;
  const ownInode = linkInode(ownLink);
  let fd = libc().open(cstring(`/proc/${pid}/ns/user`), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return null;
  try {
    for (let depth = 0; depth <= 33; depth++) {
      const info = statAt(fd, "", AT_EMPTY_PATH);
      if (typeof info !== "number" && info.ino === ownInode) return depth;
      // EPERM: the parent is outside nsh's scope (nsh's namespace is not an ancestor).
      const parent = libc().ioctl(fd, BigInt(NS_GET_PARENT), null);
      if (parent < 0) return null;
      libc().close(fd);
      fd = parent;
    }
    return null;
  } finally {
    libc().close(fd);
  }
}

/** The policy steps for a probing child, or why the child cannot take the policy. */
function policy(
  pid: number,
  status: Map<string, string>,
  links: Map<NamespaceType, string | null>,
  own: Map<NamespaceType, string | null>,
  uidMap: readonly IdRange[],
  gidMap: readonly IdRange[],
  groups: readonly number[],
  lastCap: number,
  closeLater: number[],
): { joins: SetupStep[]; credentials: SetupStep[]; joined: NamespaceType[] } | { failure: string } {
  const differ = JOINED.filter((type) => links.get(type) && own.get(type) && links.get(type) !== own.get(type));
  // As root, join the others while nsh's capabilities still count, then the
  // user namespace; otherwise the user namespace first, which grants them.
  const root = ids().euid === 0;
  const order = root ? [...differ.filter((t) => t !== "user"), ...differ.filter((t) => t === "user")] : [
    ...differ.filter((t) => t === "user"),
    ...differ.filter((t) => t !== "user"),
  ];
  const join: { fd: number; type: string }[] = [];
  for (const type of order) {
    const fd = libc().open(cstring(`/proc/${pid}/ns/${type}`), O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return { failure: `cannot open /proc/${pid}/ns/${type}` };
    closeLater.push(fd);
    join.push({ fd, type });
  }
  const translate = (map: readonly IdRange[], list: number[]) => {
    if (!differ.includes("user")) return list;
    const inside = list.map((id) => insideId(map, id));
    return inside.some((id) => id === undefined) ? undefined : inside as number[];
  };
  const idsOf = (field: string) => (status.get(field) ?? "").split(/\s+/).filter(Boolean).map(Number);
  const uids = translate(uidMap, idsOf("Uid").slice(0, 3));
  const gids = translate(gidMap, idsOf("Gid").slice(0, 3));
  const bits = (field: string) => BigInt(`0x${status.get(field) ?? "0"}`);
  const taken = {
    join,
    groups: translate(gidMap, [...groups]) ?? [],
    ...(uids ? { uids: uids as [number, number, number] } : {}),
    ...(gids ? { gids: gids as [number, number, number] } : {}),
    bounding: bits("CapBnd"),
    effective: bits("CapEff"),
    permitted: bits("CapPrm"),
    inheritable: bits("CapInh"),
    lastCap,
  };
  return { joins: joinSteps(taken), credentials: credentialSteps(taken), joined: order };
}
