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
import {
  AF_UNIX,
  AT_EACCESS,
  AT_EMPTY_PATH,
  AT_FDCWD,
  ENOENT,
  LANDLOCK_ACCESS_FS_EXECUTE,
  NS_GET_PARENT,
  NS_GET_USERNS,
  O_CLOEXEC,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  S_IFMT,
  S_IFREG,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_LOG,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  W_OK,
} from "../ffi/constants.ts";
import { NAMESPACES, type NamespaceType } from "./namespaces.ts";
import type { IdRange } from "./steps/users.ts";
import { capLastCap, ids } from "./system.ts";
import { landlockAbi } from "./landlock.ts";
import {
  address,
  capabilityNames,
  insideId,
  isIdentityMap,
  linkInode,
  type MountEntry,
  mountOf,
  namespaceLink,
  openRoot,
  parseIdMap,
  processError,
  readInRoot,
  readMounts,
  readProcFile,
  readStatus,
  typeInRoot,
} from "./audit/procfs.ts";
import { type AuditCgroups, auditCgroups } from "./audit/cgroups.ts";
import { type CopiedFilter, copyFilters } from "./audit/filters.ts";
import {
  credentialSteps,
  filterSteps,
  type GroupRun,
  joinSteps,
  noNewPrivsStep,
  type ProbeUnit,
  quietSteps,
  runUnits,
  type SetupStep,
  sysno,
} from "./audit/child.ts";
import { classifyProbe, type ProbeContext, type ProbeStatus, SYSCALL_PROBES } from "./audit/probes.ts";
import { type BpfInstruction, decodeBpf, describeSeccompResult, runBpf } from "./seccomp/bpf.ts";
import type { Arg } from "../ffi/program.ts";
import { nativeAbi, syscallTable } from "../ffi/syscall_table.ts";

export type { AuditCgroup, AuditCgroups, AuditLimit } from "./audit/cgroups.ts";
export type { ProbeStatus } from "./audit/probes.ts";

/** The process the audited one is compared with, to tell its namespaces from the host's. */
export interface AuditReference {
  /**
   * `"pid1"`: PID 1, whose namespaces are the host's; `"nsh"`: nsh's own
   * process, where PID 1's cannot be read; `"none"`: nothing to compare with
   * (nsh audits itself and PID 1 cannot be read).
   */
  readonly kind: "pid1" | "nsh" | "none";
  /** Its pid (`null` for `"none"`). */
  readonly pid: number | null;
  /** Why this one was used. */
  readonly why: string;
}

/** One namespace of the audited process. */
export interface AuditNamespace {
  /** Its type. */
  readonly type: NamespaceType;
  /** Its link, such as `"net:[4026531840]"`; `null` when the kernel lacks the type. */
  readonly link: string | null;
  /** The reference process's namespace of this type. */
  readonly reference: string | null;
  /** Whether they are the same; `null` when either is unknown. */
  readonly shared: boolean | null;
}

/** The user namespace of the audited process. */
export interface AuditUserNamespace {
  /**
   * Whether it is the initial user namespace: the one nsh is in, when that
   * maps every id to itself (the mark of the initial namespace: a nested one
   * can copy it, so this is as sure as `/proc` can be); `null` when unknown.
   */
  readonly initial: boolean | null;
  /** How many levels below nsh's user namespace it is (0: the same); `null` when it is not below it. */
  readonly depth: number | null;
  /** Its uid map, with outside ids as nsh sees them. */
  readonly uidMap: readonly IdRange[];
  /** Its gid map. */
  readonly gidMap: readonly IdRange[];
  /** Whether setgroups(2) is allowed in it (`"allow"`, `"deny"`). */
  readonly setgroups: string | null;
}

/** The ids of the audited process. */
export interface AuditCredentials {
  /** Real, effective, saved and filesystem uid, as nsh sees them. */
  readonly uid: readonly number[];
  /** Real, effective, saved and filesystem gid, as nsh sees them. */
  readonly gid: readonly number[];
  /** Supplementary groups, as nsh sees them. */
  readonly groups: readonly number[];
  /** The effective uid in its own user namespace (`null` when unmapped there). */
  readonly uidInside: number | null;
  /** The effective gid in its own user namespace. */
  readonly gidInside: number | null;
}

/** The capability sets of the audited process, by name (`CAP_SYS_ADMIN`). */
export interface AuditCapabilities {
  /** `CapEff`: what it may do now. */
  readonly effective: readonly string[];
  /** `CapPrm`: what it may make effective. */
  readonly permitted: readonly string[];
  /** `CapInh`: what execve passes on to a program with file capabilities. */
  readonly inheritable: readonly string[];
  /** `CapBnd`: the most any execve can give it. */
  readonly bounding: readonly string[];
  /** `CapAmb`: what execve passes on to any program. */
  readonly ambient: readonly string[];
  /**
   * Where they count: `"initial"` (over the whole machine), `"nested"` (only
   * over what its own user namespace owns), `"unknown"`.
   */
  readonly countIn: "initial" | "nested" | "unknown";
  /** How many capabilities this kernel has (`cap_last_cap` + 1). */
  readonly known: number;
}

/** The seccomp state of the audited process. */
export interface AuditSeccomp {
  /** `Seccomp` of /proc/PID/status. */
  readonly mode: "disabled" | "strict" | "filter";
  /** How many filters it has (`Seccomp_filters`, Linux 5.9+); `null` when the kernel does not say. */
  readonly filters: number | null;
  /**
   * How the probing child got the filters: `"copied"` (read with
   * PTRACE_SECCOMP_GET_FILTER and loaded again), `"inherited"` (nsh audits
   * itself, its child inherits them), `"none"` (no filter to take), or
   * `"unread"` (the probes ran without them; see `why`).
   */
  readonly probedWith: "copied" | "inherited" | "none" | "unread";
  /** Instructions in each filter, newest first, when they were read. */
  readonly instructions: readonly number[];
  /** Why the filters could not be read, when they could not. */
  readonly why?: string;
}

/** What a probed system call showed. */
export interface AuditSyscall {
  /** The call. */
  readonly name: string;
  /** What the probe showed: see {@linkcode ProbeStatus}. */
  readonly status: ProbeStatus;
  /** The errno it returned (`null` for success, or when it never returned). */
  readonly errno: string | null;
  /** Whether the filter killed the probing child at this call. */
  readonly killed: boolean;
  /** The errno the same call gave without the filter, when there was such a run. */
  readonly withoutFilter?: string | null;
  /**
   * What the process's filters answer for this call with the probe's
   * arguments, evaluated from the copied programs (`"allow"`, `"errno
   * EPERM"`, `"kill-process"`…); only when they were copied. It tells a
   * denial by the filter apart even where a missing capability denies too.
   */
  readonly filter?: string;
  /**
   * The capability (or relation) checked before the call fails harmlessly,
   * so that `"capability"` says which is missing; `null` when the probe tests
   * the seccomp filter only (then `"allowed"` means the filter lets it through).
   */
  readonly capability: string | null;
}

/** The system calls probed. */
export interface AuditSyscalls {
  /** Whether they were probed. */
  readonly probed: boolean;
  /** How the probing child took the process's policy, or why nothing was probed. */
  readonly how: string;
  /** Each call. */
  readonly calls: readonly AuditSyscall[];
}

/** The Landlock state of the audited process. */
export interface AuditLandlock {
  /** The kernel's Landlock ABI (0: none). */
  readonly abi: number;
  /** How many Landlock layers restrict it, when known (nsh audits itself: counted by probing). */
  readonly layers: number | null;
  /** How that was found, or why it is unknown. */
  readonly how: string;
}

/** A file the probe checked for write access, as the audited process would open it. */
export interface AuditWritable {
  /** The path, as the process sees it. */
  readonly path: string;
  /** Whether it may be opened for writing; `null` when not probed. */
  readonly writable: boolean | null;
  /** faccessat2's errno when not writable (ENOENT: not there). */
  readonly errno: string | null;
}

/** A container runtime's socket found in the audited process's filesystem. */
export interface AuditSocket {
  /** The path, as the process sees it. */
  readonly path: string;
  /** Whether the probe could connect to it with the process's credentials. */
  readonly connects: boolean | null;
  /** connect(2)'s errno when it could not. */
  readonly errno: string | null;
}

/** What the audited process sees of the host's files. */
export interface AuditFilesystem {
  /** Whether its root is the reference's root directory; `null` when either cannot be read. */
  readonly hostRoot: boolean | null;
  /** Whether /proc is mounted in its view; `null` when its mount table cannot be read. */
  readonly proc: boolean | null;
  /** Whether its /proc shows the reference process, at the same pid: then the host's processes. */
  readonly hostProc: boolean | null;
  /** Whether sysfs is mounted at /sys in its view. */
  readonly sys: boolean | null;
  /** Files of /proc and /sys a breakout writes to, checked for write access. */
  readonly writable: readonly AuditWritable[];
  /** cgroup v1 release_agent and notify_on_release files at the root of a hierarchy it sees. */
  readonly releaseAgents: readonly AuditWritable[];
  /** Container runtime sockets it sees. */
  readonly sockets: readonly AuditSocket[];
}

/** A known way out of a sandbox. */
export interface AuditBreakout {
  /** A stable name: `proc-join`, `cap-sys-admin`, `release-agent`, `runtime-socket`, `proc-sys`, `ptrace`, `seed-netns`. */
  readonly id: string;
  /** What it is, in a few words. */
  readonly title: string;
  /** Whether it is open; `null` when the audit cannot tell. */
  readonly open: boolean | null;
  /** Why, in one line. */
  readonly why: string;
}

/**
 * What `audit()` found. The shape is stable (`format` changes when a field
 * changes meaning); `nsh audit --json` prints it.
 */
export interface Audit {
  /** The version of this shape: 1. */
  readonly format: 1;
  /** The audited process. */
  readonly pid: number;
  /** Whether it is nsh itself (`audit()` without a pid). */
  readonly self: boolean;
  /** Its command line. */
  readonly command: string;
  /** The uid nsh audits as. */
  readonly auditor: number;
  /** What it is compared with. */
  readonly reference: AuditReference;
  /** Its namespaces, in the order NAMESPACES lists them. */
  readonly namespaces: readonly AuditNamespace[];
  /** Its user namespace. */
  readonly user: AuditUserNamespace;
  /** Its ids. */
  readonly credentials: AuditCredentials;
  /** Its capabilities. */
  readonly capabilities: AuditCapabilities;
  /** `NoNewPrivs` of /proc/PID/status. */
  readonly noNewPrivs: boolean;
  /** Its seccomp state. */
  readonly seccomp: AuditSeccomp;
  /** The sensitive system calls, probed. */
  readonly syscalls: AuditSyscalls;
  /** Its Landlock state. */
  readonly landlock: AuditLandlock;
  /** Its security module label (`/proc/PID/attr/current`), such as an AppArmor profile; `null` for none. */
  readonly lsm: string | null;
  /** Its cgroups and their limits; `null` when /proc/PID/cgroup cannot be read. */
  readonly cgroups: AuditCgroups | null;
  /** What it sees of the host's files. */
  readonly filesystem: AuditFilesystem;
  /** Each known breakout path, open or closed, and why. */
  readonly breakouts: readonly AuditBreakout[];
}

/** Options of {@linkcode audit}. */
export interface AuditOptions {
  /**
   * Probe system calls and files in a child of nsh with the process's policy.
   * Without probes the audit only reads /proc.
   *
   * @default {true}
   */
  probe?: boolean;
  /**
   * Milliseconds a probing child may take before it is killed (a path on a
   * hung network filesystem).
   *
   * @default {10000}
   */
  timeout?: number;
}

/** Paths where container runtimes put their API sockets. */
export const RUNTIME_SOCKETS: readonly string[] = [
  "/var/run/docker.sock",
  "/run/docker.sock",
  "/run/containerd/containerd.sock",
  "/var/run/containerd/containerd.sock",
  "/run/crio/crio.sock",
  "/var/run/crio/crio.sock",
  "/run/podman/podman.sock",
  "/var/run/podman/podman.sock",
  "/run/buildkit/buildkitd.sock",
  "/run/k3s/containerd/containerd.sock",
  "/var/run/dockershim.sock",
  "/run/dockershim.sock",
  "/var/run/cri-dockerd.sock",
  "/run/cri-dockerd.sock",
  "/run/runc.sock",
];

/** Files whose write access is a way out: the kernel runs what they name as root, or reboots. */
const BREAKOUT_FILES = [
  "/proc/sys/kernel/core_pattern",
  "/proc/sys/kernel/modprobe",
  "/proc/sysrq-trigger",
  "/sys/kernel/uevent_helper",
  "/sys/power/state",
];

const S_IFSOCK = 0o140000;
/** A local buffer for process_vm_readv in the probing child's copy of nsh's memory; never collected. */
const SCRATCH = new Uint8Array(16);
/** The namespaces the probing child joins (not pid and time: those apply to children only). */
const JOINED: readonly NamespaceType[] = ["user", "mnt", "net", "ipc", "uts", "cgroup"];
/** The order the breakout probe joins the host's namespaces in: the mount namespace, which moves the root, near the end. */
const ESCAPE_ORDER: readonly NamespaceType[] = ["net", "uts", "ipc", "cgroup", "pid", "time", "mnt", "user"];

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
 * for about a millisecond (see lib/audit/filters.ts).
 *
 * @example The host shell
 * ```ts ignore
 * import { audit } from "@nsh/nsh";
 *
 * const report = await audit(Number(Deno.env.get("PPID") ?? 1));
 * for (const b of report.breakouts) console.log(b.open ? "open  " : "closed", b.title, "-", b.why);
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
  const status = readStatus(target);
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

/** The inode of the user namespace that owns a process's namespace of a type. */
function ownerInode(pid: number, type: NamespaceType): number | null {
  const fd = libc().open(cstring(`/proc/${pid}/ns/${type}`), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return null;
  try {
    const owner = libc().ioctl(fd, BigInt(NS_GET_USERNS), null);
    if (owner < 0) return null;
    const info = statAt(owner, "", AT_EMPTY_PATH);
    libc().close(owner);
    return typeof info === "number" ? null : info.ino;
  } finally {
    libc().close(fd);
  }
}

/** The security module's label of a process, such as an AppArmor profile. */
function readLabel(pid: number): string | null {
  for (const file of ["attr/apparmor/current", "attr/current"]) {
    try {
      const text = Deno.readTextFileSync(`/proc/${pid}/${file}`).replace(/\0/g, "").trim();
      if (text) return text;
    } catch {
      // EINVAL: no module gives labels there.
    }
  }
  return null;
}

/** The command line of a process, as ps shows it. */
function commandOf(pid: number): string {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replace(/\0+$/, "").replaceAll("\0", " ");
    return text || `[${readProcFile(pid, "comm").trim()}]`;
  } catch {
    return "";
  }
}

/** What is read of the process's files from outside, before any probe. */
interface OutsideFacts {
  /** Whether its root is the reference's. */
  readonly hostRoot: boolean | null;
  /** Whether its root is nsh's: then the probing child needs no chroot. */
  readonly sameRoot: boolean;
  readonly mounts: readonly MountEntry[] | null;
  readonly proc: boolean | null;
  readonly hostProc: boolean | null;
  readonly sys: boolean | null;
  /** Paths worth a write check. */
  readonly writeChecks: readonly string[];
  /** release_agent and notify_on_release files at the root of a cgroup v1 hierarchy in its view. */
  readonly releaseFiles: readonly string[];
  /** Runtime sockets in its view. */
  readonly sockets: readonly string[];
}

function rootIdentity(fd: number): string | null {
  const info = statAt(fd, "", AT_EMPTY_PATH);
  return typeof info === "number" ? null : `${info.dev}:${info.ino}`;
}

/** The start time and name of a process, from a stat file's text. */
function startOf(stat: string | undefined): string | undefined {
  if (!stat) return undefined;
  const close = stat.lastIndexOf(")");
  return `${stat.slice(0, close + 1)} ${stat.slice(close + 2).split(" ")[19]}`;
}

function outsideFacts(pid: number, rootFd: number, refPid: number | null): OutsideFacts {
  const root = rootFd >= 0 ? rootIdentity(rootFd) : null;
  const nshRoot = rootIdentity(openSelfRoot());
  let refRoot: string | null = null;
  if (refPid !== null) {
    const fd = openRoot(refPid);
    if (fd >= 0) {
      refRoot = rootIdentity(fd);
      libc().close(fd);
    }
  }
  let mounts: MountEntry[] | null = null;
  try {
    mounts = readMounts(pid);
  } catch {
    // Not readable: the mount facts are unknown.
  }
  const proc = mounts ? mountOf(mounts, "/proc")?.fstype === "proc" : null;
  const sys = mounts ? mountOf(mounts, "/sys")?.fstype === "sysfs" : null;
  let hostProc: boolean | null = null;
  if (refPid !== null && rootFd >= 0) {
    const theirs = startOf(readInRoot(rootFd, `/proc/${refPid}/stat`));
    let ours: string | undefined;
    try {
      ours = startOf(Deno.readTextFileSync(`/proc/${refPid}/stat`));
    } catch {
      // The reference ended.
    }
    hostProc = proc === false ? false : theirs !== undefined && theirs === ours;
  }
  const releaseFiles: string[] = [];
  for (const m of mounts ?? []) {
    if (m.fstype !== "cgroup" || m.root !== "/") continue;
    for (const name of ["release_agent", "notify_on_release"]) {
      const path = `${m.mountPoint === "/" ? "" : m.mountPoint}/${name}`;
      if (rootFd >= 0 && (typeInRoot(rootFd, path) & S_IFMT) === S_IFREG) releaseFiles.push(path);
    }
  }
  const sockets = rootFd < 0 ? [] : RUNTIME_SOCKETS.filter((path) => typeInRoot(rootFd, path) === S_IFSOCK);
  // Two names of one socket (/var/run is often a link to /run) are one.
  const unique = [...new Map(sockets.map((s) => [s.replace(/^\/var\/run\//, "/run/"), s])).values()];
  return {
    hostRoot: root && refRoot ? root === refRoot : null,
    sameRoot: root !== null && root === nshRoot,
    mounts,
    proc,
    hostProc,
    sys,
    writeChecks: BREAKOUT_FILES.filter((path) =>
      rootFd >= 0 && (path.startsWith("/proc") ? proc : sys) && typeInRoot(rootFd, path) !== -ENOENT
    ),
    releaseFiles,
    sockets: unique,
  };
}

let selfRoot: number | undefined;
/** nsh's own root directory, opened once. */
function openSelfRoot(): number {
  selfRoot ??= libc().open(cstring("/"), O_PATH | O_CLOEXEC, 0);
  return selfRoot;
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

/** The probes of system calls, one unit each. */
function syscallUnits(context: ProbeContext, detached = false): ProbeUnit[] {
  const units: ProbeUnit[] = [];
  for (const p of SYSCALL_PROBES) {
    const nr = sysno(p.name);
    if (nr === undefined || (p.detached ?? false) !== detached) continue; // Not on this architecture, or not in this group.
    units.push({ key: p.name, ops: () => [{ call: nr, args: [...p.args(context)], ignore: true }] });
  }
  return units;
}

/** The write checks, release agents and sockets, as units. */
function fileUnits(facts: OutsideFacts): ProbeUnit[] {
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
function escapeUnits(hostPid: number, types: readonly NamespaceType[]): ProbeUnit[] {
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

function landlockUnit(): ProbeUnit {
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
interface ProbeRuns {
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

async function probeAll(
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

function describeProbing(self: boolean, seccomp: AuditSeccomp, joined: readonly NamespaceType[]): string {
  if (self) return "in a child of nsh, which inherits its namespaces, credentials, capabilities, filters and Landlock";
  const ns = joined.length ? `its ${joined.join(", ")} namespaces` : "nsh's namespaces (it shares them)";
  const filter = seccomp.probedWith === "copied"
    ? `its ${seccomp.instructions.length} seccomp filter${seccomp.instructions.length > 1 ? "s" : ""} (copied)`
    : seccomp.probedWith === "none"
    ? "no seccomp filter (it has none)"
    : `no seccomp filter: ${seccomp.why ?? "its filter could not be read"}`;
  return `in a child of nsh with ${ns}, its credentials and capabilities, no_new_privs and ${filter}`;
}

/** One unit's results, or nothing. */
function unitOf(group: GroupRun | undefined, key: string) {
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

function syscallReport(
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

function fileReport(facts: OutsideFacts, runs: ProbeRuns | undefined): AuditFilesystem {
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

function landlockReport(self: boolean, runs: ProbeRuns | undefined): AuditLandlock {
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

const ERRNO_WHY: Readonly<Record<string, string>> = {
  EACCES: "permission denied",
  EPERM: "not permitted",
  EROFS: "read-only mount",
  ENOENT: "not there",
  ECONNREFUSED: "nothing listens",
};

function verdicts(
  report: Omit<Audit, "breakouts">,
  facts: OutsideFacts,
  runs: ProbeRuns | undefined,
  escapeTypes: readonly NamespaceType[],
): AuditBreakout[] {
  const list: AuditBreakout[] = [];
  const probed = runs !== undefined && !runs.failure;
  const call = (name: string) => report.syscalls.calls.find((c) => c.name === name);
  const refName = report.reference.kind === "pid1" ? "PID 1" : `nsh (pid ${report.reference.pid})`;
  const hostPid = report.reference.pid;
  const sysAdmin = report.capabilities.effective.includes("CAP_SYS_ADMIN");

  // Joining the host's namespaces through its /proc.
  const joins = escapeTypes.map((type) => ({ type, results: unitOf(runs?.escape, `join:${type}`)?.results }));
  const joined = joins.filter((j) => j.results?.[1] === 0).map((j) => j.type);
  let join: AuditBreakout;
  const joinTitle = "join the host's namespaces through /proc";
  if (report.reference.kind === "none") {
    join = { id: "proc-join", title: joinTitle, open: null, why: "no host process to compare with" };
  } else if (!escapeTypes.length) {
    join = { id: "proc-join", title: joinTitle, open: true, why: `it is in every namespace of ${refName} already` };
  } else if (facts.hostProc === false) {
    join = {
      id: "proc-join",
      title: joinTitle,
      open: false,
      why: facts.proc ? `its /proc is not the host's: ${refName} is not in it` : "it has no /proc",
    };
  } else if (!probed) {
    join = { id: "proc-join", title: joinTitle, open: null, why: "not probed" };
  } else if (joined.length) {
    join = {
      id: "proc-join",
      title: joinTitle,
      open: true,
      why: `setns into ${joined.join(", ")} of /proc/${hostPid}/ns/ succeeded`,
    };
  } else {
    join = { id: "proc-join", title: joinTitle, open: false, why: escapeWhy(joins[0]!, hostPid!) };
  }
  list.push(join);

  // CAP_SYS_ADMIN over the whole machine.
  const capTitle = "CAP_SYS_ADMIN in the initial user namespace";
  list.push({
    id: "cap-sys-admin",
    title: capTitle,
    open: report.user.initial === null ? (sysAdmin ? null : false) : report.user.initial && sysAdmin,
    why: !sysAdmin
      ? "CAP_SYS_ADMIN is not in its effective set"
      : report.user.initial
      ? "it holds CAP_SYS_ADMIN in the initial user namespace"
      : report.user.initial === false
      ? "it holds CAP_SYS_ADMIN only in a user namespace of its own"
      : "it holds CAP_SYS_ADMIN; in which user namespace is unknown",
  });

  // The cgroup v1 release agent (runs as root in the initial namespaces).
  const capInit = report.user.initial === true && sysAdmin;
  const cgroupOwner = ownerInode(report.pid, "cgroup");
  const initialUser = report.user.initial && report.namespaces.find((n) => n.type === "user")!.link;
  const cgroupInit = initialUser ? cgroupOwner === linkInode(initialUser) : false;
  const agents = report.filesystem.releaseAgents.filter((f) => f.path.endsWith("release_agent"));
  const writableAgent = agents.find((f) => f.writable);
  const mount = call("mount");
  let agentWhy: string;
  let agentOpen: boolean | null;
  if (!capInit) {
    agentOpen = false;
    agentWhy = "writing release_agent needs CAP_SYS_ADMIN in the initial user namespace, which it lacks";
  } else if (!cgroupInit) {
    agentOpen = false;
    agentWhy = "its cgroup namespace belongs to a nested user namespace: the kernel refuses release_agent there";
  } else if (writableAgent) {
    agentOpen = true;
    agentWhy = `${writableAgent.path} is writable`;
  } else if (mount?.status === "allowed") {
    agentOpen = true;
    agentWhy = "no writable release_agent is mounted, but it may mount a cgroup v1 hierarchy and write its own";
  } else if (!probed) {
    agentOpen = null;
    agentWhy = "not probed";
  } else {
    agentOpen = false;
    agentWhy = agents.length
      ? `${agents.map((a) => `${a.path}: ${a.errno ?? "?"}`).join(", ")}`
      : "no cgroup v1 hierarchy root is visible, and it may not mount one";
  }
  list.push({ id: "release-agent", title: "a writable cgroup v1 release_agent", open: agentOpen, why: agentWhy });

  // Container runtime sockets.
  const sockets = report.filesystem.sockets;
  const reachable = sockets.filter((s) => s.connects);
  list.push({
    id: "runtime-socket",
    title: "a container runtime socket",
    open: reachable.length ? true : sockets.length && !probed ? null : false,
    why: reachable.length
      ? `${reachable.map((s) => s.path).join(", ")} accepts its connections`
      : sockets.length
      ? sockets.map((s) => `${s.path}: ${s.errno ? (ERRNO_WHY[s.errno] ?? s.errno) : "not probed"}`).join(", ")
      : "none of the known sockets is in its filesystem",
  });

  // /proc/sys writable (core_pattern runs a program as root on a crash).
  const sysctl = report.filesystem.writable.find((f) => f.path === "/proc/sys/kernel/core_pattern");
  list.push({
    id: "proc-sys",
    title: "/proc/sys writable",
    open: sysctl ? sysctl.writable : facts.proc === false ? false : null,
    why: !sysctl
      ? facts.proc === false ? "it has no /proc" : "core_pattern was not found"
      : sysctl.writable
      ? "it may write /proc/sys/kernel/core_pattern, which the kernel runs as root on a crash"
      : `/proc/sys/kernel/core_pattern: ${sysctl.errno === "EROFS" ? "read-only mount" : sysctl.errno ?? "not probed"}`,
  });

  // ptrace of host processes.
  const pidShared = report.namespaces.find((n) => n.type === "pid")!.shared;
  const ptrace = call("ptrace"), access = call("process_vm_readv");
  let ptraceOpen: boolean | null;
  let ptraceWhy: string;
  if (pidShared === false) {
    ptraceOpen = false;
    ptraceWhy = `it has a PID namespace of its own: it cannot name the host's processes`;
  } else if (!probed) {
    ptraceOpen = null;
    ptraceWhy = pidShared ? "it shares the host's PID namespace; not probed" : "not probed";
  } else if (ptrace?.status === "seccomp") {
    ptraceOpen = false;
    ptraceWhy = "seccomp denies ptrace";
  } else if (access?.status === "allowed") {
    ptraceOpen = pidShared === null ? null : true;
    ptraceWhy = pidShared
      ? `it shares the host's PID namespace and may attach to nsh (pid ${Deno.pid}, uid ${ids().euid})`
      : `it may attach to nsh (pid ${Deno.pid}); whether it can name the host's processes is unknown`;
  } else if (access?.status === "seccomp") {
    ptraceOpen = null;
    ptraceWhy = "seccomp denies process_vm_readv, which tells whether it may attach";
  } else {
    ptraceOpen = false;
    ptraceWhy = `it may not attach to nsh (pid ${Deno.pid}): ${
      access?.errno ?? "?"
    } (uid, capabilities or dumpability)`;
  }
  list.push({ id: "ptrace", title: "ptrace of host processes", open: ptraceOpen, why: ptraceWhy });

  // The seed's breakout.
  const netTitle = `the seed's nsenter --net=/proc/${hostPid ?? "PID"}/ns/net`;
  const net = joins.find((j) => j.type === "net");
  let seed: AuditBreakout;
  if (report.reference.kind === "none") {
    seed = { id: "seed-netns", title: netTitle, open: null, why: "no host process" };
  } else if (report.namespaces.find((n) => n.type === "net")!.shared) {
    seed = { id: "seed-netns", title: netTitle, open: true, why: "it is on the host's network already" };
  } else if (facts.hostProc === false) {
    seed = {
      id: "seed-netns",
      title: netTitle,
      open: false,
      why: facts.proc ? `its /proc does not show ${refName}` : "it has no /proc",
    };
  } else if (!probed || !net?.results) seed = { id: "seed-netns", title: netTitle, open: null, why: "not probed" };
  else if (net.results[1] === 0) {
    seed = { id: "seed-netns", title: netTitle, open: true, why: "setns into the host's network namespace succeeded" };
  } else seed = { id: "seed-netns", title: netTitle, open: false, why: escapeWhy(net, hostPid!) };
  list.push(seed);
  return list;
}

/** Why a join of a host namespace failed, from its open and setns results. */
function escapeWhy(
  join: { type: string; results: readonly (number | undefined)[] | undefined },
  hostPid: number,
): string {
  const [opened, joined] = join.results ?? [];
  const path = `/proc/${hostPid}/ns/${join.type}`;
  if (opened === undefined) return `opening ${path}: killed by seccomp`;
  if (opened < 0) {
    const e = errnoName(-opened);
    return `opening ${path} failed with ${e}${e === "EACCES" ? " (it may not inspect that process)" : ""}`;
  }
  if (joined === undefined) return "setns: killed by seccomp";
  return `setns(${path}) failed with ${errnoName(-joined)}${
    joined === -1 ? " (no CAP_SYS_ADMIN over that namespace)" : ""
  }`;
}
