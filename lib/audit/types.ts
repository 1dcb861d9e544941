/**
 * The shape of what `audit()` reports (lib/audit.ts), which `nsh audit
 * --json` prints: stable, and versioned by {@linkcode Audit.format}.
 *
 * @module
 */

import type { NamespaceType } from "../namespaces.ts";
import type { IdRange } from "../steps/users.ts";
import type { AuditCgroups } from "./cgroups.ts";
import type { ProbeStatus } from "./probes.ts";

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
