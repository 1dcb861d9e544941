/**
 * The probes of `audit()` as units for probing children (lib/audit/child.ts),
 * the groups they run in, and what their results say.
 *
 * @module
 */

import { errnoName } from "../../ffi/errno.ts";
import {
  AF_UNIX,
  AT_EACCESS,
  AT_FDCWD,
  LANDLOCK_ACCESS_FS_EXECUTE,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_LOG,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  W_OK,
} from "../../ffi/constants.ts";
import type { Arg } from "../../ffi/program.ts";
import { nativeAbi, syscallTable } from "../../ffi/syscall_table.ts";
import type { NamespaceType } from "../namespaces.ts";
import { landlockAbi } from "../landlock.ts";
import { type BpfInstruction, decodeBpf, describeSeccompResult, runBpf } from "../seccomp/bpf.ts";
import {
  filterSteps,
  type GroupRun,
  noNewPrivsStep,
  type ProbeUnit,
  quietSteps,
  runUnits,
  type SetupStep,
  sysno,
} from "./child.ts";
import type { CopiedFilter } from "./filters.ts";
import type { OutsideFacts } from "./outside.ts";
import { classifyProbe, type ProbeContext, SYSCALL_PROBES } from "./probes.ts";
import type { AuditFilesystem, AuditLandlock, AuditSeccomp, AuditSyscall, AuditWritable } from "./types.ts";

/** A local buffer for process_vm_readv in the probing child's copy of nsh's memory; never collected. */
export const SCRATCH = new Uint8Array(16);

/** The order the breakout probe joins the host's namespaces in: the mount namespace, which moves the root, near the end. */
export const ESCAPE_ORDER: readonly NamespaceType[] = ["net", "uts", "ipc", "cgroup", "pid", "time", "mnt", "user"];

/** The probes of system calls, one unit each. */
export function syscallUnits(context: ProbeContext, detached = false): ProbeUnit[] {
  const units: ProbeUnit[] = [];
  for (const p of SYSCALL_PROBES) {
    const nr = sysno(p.name);
    if (nr === undefined || (p.detached ?? false) !== detached) continue; // Not on this architecture, or not in this group.
    units.push({ key: p.name, ops: () => [{ call: nr, args: [...p.args(context)], ignore: true }] });
  }
  return units;
}

/** The write checks, release agents and sockets, as units. */
export function fileUnits(facts: OutsideFacts): ProbeUnit[] {
  const units: ProbeUnit[] = [];
  const access = sysno("faccessat2")!;
  for (const path of [...facts.writeChecks, ...facts.releaseFiles]) {
    units.push({
      key: `write:${path}`,
      ops: () => [{ call: access, args: [AT_FDCWD, { str: path }, W_OK, AT_EACCESS], ignore: true }],
    });
  }
  const socket = sysno("socket")!, connect = sysno("connect")!;
  for (const path of facts.sockets) {
    const sockaddr = new Uint8Array(110);
    new DataView(sockaddr.buffer).setUint16(0, AF_UNIX, true);
    const name = new TextEncoder().encode(path);
    sockaddr.set(name.subarray(0, 107), 2);
    units.push({
      key: `socket:${path}`,
      ops: (at) => [
        { call: socket, args: [AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0], ignore: true },
        { call: connect, args: [{ result: at }, { bytes: sockaddr }, 2 + name.length + 1], ignore: true },
      ],
    });
  }
  return units;
}

/**
 * The seed's breakout and its kin: open /proc/HOSTPID/ns/TYPE as the process
 * would, then setns into it. Joining changes only the probing child.
 */
export function escapeUnits(hostPid: number, types: readonly NamespaceType[]): ProbeUnit[] {
  const openat = sysno("openat")!;
  return types.map((type) => ({
    key: `join:${type}`,
    ops: (at: number) => [
      {
        call: openat,
        args: [AT_FDCWD, { str: `/proc/${hostPid}/ns/${type}` }, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0],
        ignore: true,
      },
      { call: "setns", args: [{ result: at }, 0], ignore: true },
    ],
  }));
}

/** Landlock allows 16 layers: each landlock_restrict_self() that succeeds adds one, so 16 minus those that do counts the process's own. */
const LANDLOCK_MAX_LAYERS = 16;

export function landlockUnit(): ProbeUnit {
  const attr = new Uint8Array(8);
  new DataView(attr.buffer).setBigUint64(0, BigInt(LANDLOCK_ACCESS_FS_EXECUTE), true);
  return {
    key: "landlock",
    ops: (at) => [
      { call: "landlock_create_ruleset", args: [{ bytes: attr }, 8, 0], ignore: true },
      ...Array.from(
        { length: LANDLOCK_MAX_LAYERS + 1 },
        () => ({ call: "landlock_restrict_self" as const, args: [{ result: at }, 0], ignore: true }),
      ),
    ],
  };
}

/** The results of every probe group, with and without the filter. */
export interface ProbeRuns {
  readonly calls: GroupRun;
  readonly files: GroupRun;
  readonly escape: GroupRun;
  readonly vhangup: GroupRun;
  readonly landlock: GroupRun;
  /** The same groups without the filter, when the filter was copied (or there is none). */
  readonly baseline: { readonly calls: GroupRun; readonly vhangup: GroupRun } | undefined;
  /** Whether the probes ran under the process's filter (copied or inherited). */
  readonly filtered: boolean;
  readonly failure?: string;
}

export async function probeAll(
  units: Record<"calls" | "files" | "escape" | "vhangup" | "landlock", ProbeUnit[]>,
  policySetup: { joins: SetupStep[]; credentials: SetupStep[] } | undefined,
  rootFd: number,
  sameRoot: boolean,
  filters: readonly CopiedFilter[],
  probedWith: AuditSeccomp["probedWith"],
  timeout: number,
): Promise<ProbeRuns> {
  // In order: no core dumps, its namespaces, what still needs nsh's
  // capabilities (its root, leaving the terminal), its credentials, its filters.
  const joins = [...quietSteps(), ...(policySetup?.joins ?? [])];
  const credentials = policySetup?.credentials ?? [noNewPrivsStep()];
  // The probes of files resolve paths as the process does: in its root.
  const rooted: SetupStep[] = sameRoot || rootFd < 0 ? [] : [
    { op: { call: "fchdir", args: [rootFd] }, what: "enter its root directory" },
    { op: { call: "chroot", args: [{ str: "." }] }, what: "take its root directory" },
  ];
  // vhangup() hangs up the caller's terminal: only in a child that has none.
  const detached: SetupStep[] = [{ op: { call: "setsid", args: [] }, what: "leave nsh's terminal (setsid)" }];
  const filtered = filterSteps(filters);
  const run = (pre: SetupStep[], list: ProbeUnit[], withFilter = true) =>
    list.length
      ? runUnits([...joins, ...pre, ...credentials, ...(withFilter ? filtered : [])], list, timeout)
      : empty();
  const calls = await run([], units.calls);
  const files = await run(rooted, units.files);
  const escape = await run(rooted, units.escape);
  const vhangup = await run(detached, units.vhangup);
  const landlock = await run([], units.landlock);
  const failure = calls.failure ?? files.failure ?? escape.failure;
  const baseline = probedWith === "copied"
    ? { calls: await run([], units.calls, false), vhangup: await run(detached, units.vhangup, false) }
    : probedWith === "none" || probedWith === "unread"
    ? { calls, vhangup }
    : undefined;
  return {
    calls,
    files,
    escape,
    vhangup,
    landlock,
    baseline,
    filtered: probedWith === "copied" || probedWith === "inherited",
    ...(failure ? { failure } : {}),
  };
}

function empty(): Promise<GroupRun> {
  return Promise.resolve({ units: new Map() });
}

export function describeProbing(self: boolean, seccomp: AuditSeccomp, joined: readonly NamespaceType[]): string {
  if (self) return "in a child of nsh, which inherits its namespaces, credentials, capabilities, filters and Landlock";
  const ns = joined.length
    ? `its ${joined.join(", ")} namespace${joined.length > 1 ? "s" : ""}`
    : "nsh's namespaces (it shares them)";
  const filter = seccomp.probedWith === "copied"
    ? `its ${seccomp.instructions.length} seccomp filter${seccomp.instructions.length > 1 ? "s" : ""} (copied)`
    : seccomp.probedWith === "none"
    ? "no seccomp filter (it has none)"
    : `no seccomp filter: ${seccomp.why ?? "its filter could not be read"}`;
  return `in a child of nsh with ${ns}, its credentials and capabilities, no_new_privs and ${filter}`;
}

/** One unit's results, or nothing. */
export function unitOf(group: GroupRun | undefined, key: string) {
  return group?.units.get(key);
}

/**
 * What filters answer for a call: the most severe action of them all, as
 * the kernel takes it (the lowest action as a signed number).
 */
function filterAnswer(programs: readonly BpfInstruction[][], nr: number, args: readonly Arg[]): number {
  const table = syscallTable(nativeAbi() ?? "x86_64");
  const data = {
    nr,
    arch: table.auditArch,
    // Pointers are where the probing child's memory put them: 0 here.
    args: args.map((a) => (typeof a === "number" ? BigInt(a) : 0n)),
  };
  let answer = SECCOMP_RET_ALLOW;
  for (const program of programs) {
    const result = runBpf(program, data);
    if (((result & SECCOMP_RET_ACTION_FULL) | 0) < ((answer & SECCOMP_RET_ACTION_FULL) | 0)) answer = result;
  }
  return answer;
}

export function syscallReport(
  runs: ProbeRuns | undefined,
  filters: readonly CopiedFilter[],
  context: ProbeContext,
): AuditSyscall[] {
  const calls: AuditSyscall[] = [];
  const programs = filters.map((f) => decodeBpf(f.program));
  for (const probe of SYSCALL_PROBES) {
    const nr = sysno(probe.name);
    if (nr === undefined) continue;
    const group = probe.detached ? runs?.vhangup : runs?.calls;
    const unit = unitOf(group, probe.name);
    const run = { result: unit?.results[0], killed: unit?.killed ?? false };
    const baseUnit = unitOf(probe.detached ? runs?.baseline?.vhangup : runs?.baseline?.calls, probe.name);
    const baseline = runs?.baseline && baseUnit ? { result: baseUnit.results[0], killed: baseUnit.killed } : undefined;
    const answer = programs.length ? filterAnswer(programs, nr, probe.args(context)) : undefined;
    const action = answer === undefined ? undefined : (answer & SECCOMP_RET_ACTION_FULL) >>> 0;
    let status = runs && !runs.failure ? classifyProbe(probe, run, baseline) : "unknown";
    // Denied twice over (the filter, and a missing capability): the filter's
    // answer shows what the probe's result cannot.
    if (status === "capability" && action !== undefined && action !== SECCOMP_RET_ALLOW && action !== SECCOMP_RET_LOG) {
      status = "seccomp";
    }
    const name = (r: number | undefined) => (r === undefined || r >= 0 ? null : errnoName(-r));
    calls.push({
      name: probe.name,
      status,
      errno: name(run.result),
      killed: run.killed,
      ...(baseline && runs?.filtered ? { withoutFilter: name(baseline.result) } : {}),
      ...(answer !== undefined ? { filter: describeSeccompResult(answer) } : {}),
      capability: probe.capability ?? null,
    });
  }
  return calls;
}

export function fileReport(facts: OutsideFacts, runs: ProbeRuns | undefined): AuditFilesystem {
  const writable = (path: string): AuditWritable => {
    const unit = unitOf(runs?.files, `write:${path}`);
    const r = unit?.results[0];
    return {
      path,
      writable: r === undefined ? null : r === 0,
      errno: r === undefined || r >= 0 ? null : errnoName(-r),
    };
  };
  return {
    hostRoot: facts.hostRoot,
    proc: facts.proc,
    hostProc: facts.hostProc,
    sys: facts.sys,
    writable: facts.writeChecks.map(writable),
    releaseAgents: facts.releaseFiles.map(writable),
    sockets: facts.sockets.map((path) => {
      const r = unitOf(runs?.files, `socket:${path}`)?.results;
      const made = r?.[0], connected = r?.[1];
      const errno = made !== undefined && made < 0 ? made : connected;
      return {
        path,
        connects: connected === undefined ? null : connected === 0,
        errno: errno === undefined || errno >= 0 ? null : errnoName(-errno),
      };
    }),
  };
}

export function landlockReport(self: boolean, runs: ProbeRuns | undefined): AuditLandlock {
  const abi = landlockAbi();
  if (!abi) return { abi, layers: 0, how: "this kernel has no Landlock" };
  if (!self) {
    return {
      abi,
      layers: null,
      how: "the kernel shows no other process's Landlock domain; nsh audit run inside the box counts its layers",
    };
  }
  const results = unitOf(runs?.landlock, "landlock")?.results;
  if (!results || results[0] === undefined || results[0] < 0) {
    return { abi, layers: null, how: "not probed: a Landlock ruleset could not be made" };
  }
  const added = results.slice(1).filter((r) => r === 0).length;
  return {
    abi,
    layers: Math.max(0, LANDLOCK_MAX_LAYERS - added),
    how: `probed: ${added} more layers could be added, of ${LANDLOCK_MAX_LAYERS}`,
  };
}
