/**
 * Landlock: what the running kernel enforces, rules that restrict a program's
 * access to files, TCP ports and processes outside its sandbox, and the steps
 * that load them in a child between clone(2) and execve(2).
 *
 * Three layers, each usable alone:
 *
 * 1. {@linkcode landlockSupport} asks the kernel which Landlock ABI it offers
 *    and lists what each ABI adds (filesystem rights by ABI 1-5, TCP port
 *    rules from ABI 4, IPC scopes from ABI 6, audit flags from ABI 7).
 * 2. {@linkcode resolveLandlock} checks a {@linkcode LandlockPolicy} against an
 *    ABI: best effort by default, as the kernel's documentation recommends
 *    (rights the ABI does not know are dropped, and listed), or strict.
 * 3. `landlockSteps()` (lib/landlock_steps.ts) turns a resolved ruleset into
 *    the child's steps (ffi/program.ts `Op`s) with their descriptions for
 *    error messages.
 *
 * The child opens the paths itself, after its mounts and root change, so a
 * rule names a path as the program sees it.
 *
 * @example What the running kernel enforces
 * ```ts
 * import assert from "node:assert/strict";
 * import { landlockSupport } from "@nsh/nsh";
 *
 * const support = landlockSupport();
 * if (support.abi >= 4) assert.ok(support.net.includes("connect_tcp"));
 * if (support.abi === 0) assert.ok(support.unavailable); // says why
 * ```
 *
 * @module
 */

import { routine } from "../ffi/routine.ts";
import { errnoName, errnoText } from "../ffi/errno.ts";
import {
  ENOSYS,
  EOPNOTSUPP,
  EPERM,
  LANDLOCK_ACCESS_FS_EXECUTE,
  LANDLOCK_ACCESS_FS_IOCTL_DEV,
  LANDLOCK_ACCESS_FS_MAKE_BLOCK,
  LANDLOCK_ACCESS_FS_MAKE_CHAR,
  LANDLOCK_ACCESS_FS_MAKE_DIR,
  LANDLOCK_ACCESS_FS_MAKE_FIFO,
  LANDLOCK_ACCESS_FS_MAKE_REG,
  LANDLOCK_ACCESS_FS_MAKE_SOCK,
  LANDLOCK_ACCESS_FS_MAKE_SYM,
  LANDLOCK_ACCESS_FS_READ_DIR,
  LANDLOCK_ACCESS_FS_READ_FILE,
  LANDLOCK_ACCESS_FS_REFER,
  LANDLOCK_ACCESS_FS_REMOVE_DIR,
  LANDLOCK_ACCESS_FS_REMOVE_FILE,
  LANDLOCK_ACCESS_FS_TRUNCATE,
  LANDLOCK_ACCESS_FS_WRITE_FILE,
  LANDLOCK_ACCESS_NET_BIND_TCP,
  LANDLOCK_ACCESS_NET_CONNECT_TCP,
  LANDLOCK_CREATE_RULESET_ERRATA,
  LANDLOCK_CREATE_RULESET_VERSION,
  LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON,
  LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF,
  LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF,
  LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET,
  LANDLOCK_SCOPE_SIGNAL,
} from "../ffi/constants.ts";

// ---------------------------------------------------------------- what each ABI adds

/** What nsh knows of one access right or scope: its bit, the ABI that added it, and what it guards. */
interface Feature {
  readonly bit: number;
  readonly abi: number;
  /** What the right allows, as a verb phrase ("truncate files"). */
  readonly text: string;
}

/**
 * A filesystem access right, as linux/landlock.h names it
 * (`LANDLOCK_ACCESS_FS_*`), in lower case.
 */
export type FsRight =
  | "execute"
  | "write_file"
  | "read_file"
  | "read_dir"
  | "remove_dir"
  | "remove_file"
  | "make_char"
  | "make_dir"
  | "make_reg"
  | "make_sock"
  | "make_fifo"
  | "make_block"
  | "make_sym"
  | "refer"
  | "truncate"
  | "ioctl_dev";
/** A TCP access right (`LANDLOCK_ACCESS_NET_*`, ABI 4), in lower case. */
export type NetRight = "bind_tcp" | "connect_tcp";
/** An IPC scope (`LANDLOCK_SCOPE_*`, ABI 6), in lower case. */
export type LandlockScope = "abstract_unix_socket" | "signal";

/** Filesystem rights; `file` marks those a rule on a file (not a directory) may hold. */
const FS: Readonly<Record<FsRight, Feature & { readonly file: boolean }>> = {
  execute: { bit: LANDLOCK_ACCESS_FS_EXECUTE, abi: 1, file: true, text: "execute files" },
  write_file: { bit: LANDLOCK_ACCESS_FS_WRITE_FILE, abi: 1, file: true, text: "open files for writing" },
  read_file: { bit: LANDLOCK_ACCESS_FS_READ_FILE, abi: 1, file: true, text: "open files for reading" },
  read_dir: { bit: LANDLOCK_ACCESS_FS_READ_DIR, abi: 1, file: false, text: "list directories" },
  remove_dir: { bit: LANDLOCK_ACCESS_FS_REMOVE_DIR, abi: 1, file: false, text: "remove directories" },
  remove_file: { bit: LANDLOCK_ACCESS_FS_REMOVE_FILE, abi: 1, file: false, text: "remove files" },
  make_char: { bit: LANDLOCK_ACCESS_FS_MAKE_CHAR, abi: 1, file: false, text: "create character devices" },
  make_dir: { bit: LANDLOCK_ACCESS_FS_MAKE_DIR, abi: 1, file: false, text: "create directories" },
  make_reg: { bit: LANDLOCK_ACCESS_FS_MAKE_REG, abi: 1, file: false, text: "create regular files" },
  make_sock: { bit: LANDLOCK_ACCESS_FS_MAKE_SOCK, abi: 1, file: false, text: "create unix sockets" },
  make_fifo: { bit: LANDLOCK_ACCESS_FS_MAKE_FIFO, abi: 1, file: false, text: "create named pipes" },
  make_block: { bit: LANDLOCK_ACCESS_FS_MAKE_BLOCK, abi: 1, file: false, text: "create block devices" },
  make_sym: { bit: LANDLOCK_ACCESS_FS_MAKE_SYM, abi: 1, file: false, text: "create symbolic links" },
  refer: {
    bit: LANDLOCK_ACCESS_FS_REFER,
    abi: 2,
    file: false,
    text: "link or rename files into other directories",
  },
  truncate: { bit: LANDLOCK_ACCESS_FS_TRUNCATE, abi: 3, file: true, text: "truncate files" },
  ioctl_dev: { bit: LANDLOCK_ACCESS_FS_IOCTL_DEV, abi: 5, file: true, text: "use ioctl on devices" },
};

/** TCP rights (ABI 4). */
const NET: Readonly<Record<NetRight, Feature>> = {
  bind_tcp: { bit: LANDLOCK_ACCESS_NET_BIND_TCP, abi: 4, text: "TCP bind" },
  connect_tcp: { bit: LANDLOCK_ACCESS_NET_CONNECT_TCP, abi: 4, text: "TCP connect" },
};

/** IPC scopes (ABI 6). */
const SCOPES: Readonly<Record<LandlockScope, Feature>> = {
  abstract_unix_socket: {
    bit: LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET,
    abi: 6,
    text: "connections to abstract unix sockets made outside the sandbox",
  },
  signal: { bit: LANDLOCK_SCOPE_SIGNAL, abi: 6, text: "signals to processes outside the sandbox" },
};

const FS_NAMES = Object.keys(FS) as FsRight[];
const NET_NAMES = Object.keys(NET) as NetRight[];
const SCOPE_NAMES = Object.keys(SCOPES) as LandlockScope[];

/** The first Linux release of each ABI. */
const KERNELS: Readonly<Record<number, string>> = {
  1: "5.13",
  2: "5.19",
  3: "6.2",
  4: "6.7",
  5: "6.10",
  6: "6.12",
  7: "6.15",
};

/**
 * The highest ABI whose additions nsh knows; a newer kernel offers at least these.
 *
 * @example A kernel newer than nsh knows offers at least what nsh knows
 * ```ts
 * import assert from "node:assert/strict";
 * import { LANDLOCK_ABI_KNOWN, landlockSupport } from "@nsh/nsh";
 *
 * const known = landlockSupport(LANDLOCK_ABI_KNOWN);
 * assert.deepEqual(landlockSupport(LANDLOCK_ABI_KNOWN + 1).fs, known.fs);
 * ```
 */
export const LANDLOCK_ABI_KNOWN = 7;

/** The audit flags of landlock_restrict_self() came with this ABI. */
const LOG_ABI = 7;
/** TCP port rules came with this ABI. */
const NET_ABI = 4;

/** Errata the kernel may report as fixed (`LANDLOCK_CREATE_RULESET_ERRATA`), by number. */
const ERRATA: Readonly<Record<number, { readonly abi: number; readonly text: string }>> = {
  1: { abi: 4, text: "TCP rules no longer restrict other stream protocols (SMC, MPTCP, SCTP)" },
  2: { abi: 6, text: "threads of one process may signal each other, whatever their domains" },
  3: { abi: 1, text: "a directory moved out of a bind mount cannot widen access by rename or link" },
};

/** The bits of the named rights. */
function mask<K extends string>(table: Record<K, Feature>, names: readonly K[]): number {
  return names.reduce((bits, name) => bits | table[name].bit, 0);
}

/** The names of the rights whose bits are set. */
function namesOf<K extends string>(table: Record<K, Feature>, bits: number): K[] {
  return (Object.keys(table) as K[]).filter((name) => bits & table[name].bit);
}

/** The names of the rights an ABI knows. */
function known<K extends string>(table: Record<K, Feature>, abi: number): K[] {
  return (Object.keys(table) as K[]).filter((name) => table[name].abi <= abi);
}

const FS_ALL = mask(FS, FS_NAMES);
const NET_ALL = mask(NET, NET_NAMES);

/**
 * The filesystem rights a rule on a file (not a directory) may hold:
 * execute, write_file, read_file, truncate, ioctl_dev. The kernel refuses
 * the others on a file with EINVAL.
 */
export const LANDLOCK_FILE_RIGHTS: number = mask(FS, FS_NAMES.filter((name) => FS[name].file));

// ---------------------------------------------------------------- asking the kernel

/** What the running kernel's Landlock enforces. */
export interface LandlockSupport {
  /** The ABI version; 0 when Landlock is not available. */
  readonly abi: number;
  /** Why Landlock is not available, as a clause that follows "Cannot …: ". */
  readonly unavailable?: string;
  /** The errata this kernel reports as fixed, by number (none before Linux 6.15 unless backported). */
  readonly errata: readonly number[];
  /** The filesystem rights it can restrict. */
  readonly fs: readonly FsRight[];
  /** The TCP rights it can restrict by port (ABI 4). */
  readonly net: readonly NetRight[];
  /** The IPC scopes it can restrict (ABI 6). */
  readonly scopes: readonly LandlockScope[];
  /** Whether landlock_restrict_self() takes the audit logging flags (ABI 7). */
  readonly logFlags: boolean;
}

let detected: { abi: number; unavailable?: string; errata: number[] } | undefined;

/**
 * Why landlock_create_ruleset() refused, as a clause that follows "Cannot …: ".
 *
 * @param errno Its errno.
 * @returns The clause, with what to do about it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { landlockUnavailable } from "./landlock.ts";
 *
 * assert.match(landlockUnavailable(95), /^Landlock is built into this kernel but disabled: .*lsm= boot parameter$/);
 * ```
 */
export function landlockUnavailable(errno: number): string {
  const failed = `landlock_create_ruleset() failed with ${errnoName(errno)} (${errnoText(errno)})`;
  if (errno === EOPNOTSUPP) {
    return `Landlock is built into this kernel but disabled: ${failed}; add landlock to the lsm= boot parameter`;
  }
  if (errno === ENOSYS) {
    return `this kernel has no Landlock: ${failed}; Linux 5.13 or later built with CONFIG_SECURITY_LANDLOCK ` +
      "is needed, or a seccomp filter hides the call";
  }
  if (errno === EPERM) return `Landlock is not allowed here: ${failed}; a seccomp filter may forbid it`;
  return `Landlock is not available: ${failed}`;
}

function detect(): { abi: number; unavailable?: string; errata: number[] } {
  if (detected) return detected;
  const r = routine();
  const abi = r.syscall(r.sysno.landlock_create_ruleset, 0, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 0) {
    detected = { abi: 0, unavailable: landlockUnavailable(-abi), errata: [] };
  } else {
    // Kernels older than 6.15 know no errata flag (EINVAL): none is reported.
    const bits = r.syscall(r.sysno.landlock_create_ruleset, 0, 0, LANDLOCK_CREATE_RULESET_ERRATA);
    const errata: number[] = [];
    for (let n = 1; bits > 0 && n <= 31; n++) if (bits & (1 << (n - 1))) errata.push(n);
    detected = { abi, errata };
  }
  return detected;
}

/**
 * The Landlock ABI version of the running kernel, asked once per process with
 * `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`.
 *
 * @returns The version, or 0 when Landlock is disabled or absent
 *   ({@linkcode landlockSupport} says why).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { landlockAbi } from "@nsh/nsh";
 *
 * assert.ok(Number.isInteger(landlockAbi()) && landlockAbi() >= 0);
 * ```
 */
export function landlockAbi(): number {
  return detect().abi;
}

/**
 * What a Landlock ABI enforces: by default the running kernel's, with the
 * reason when it has none and the errata it reports fixed; or any ABI's, to
 * see what a kernel offering it would enforce.
 *
 * @param abi The ABI to describe; the running kernel's when left out.
 * @returns The rights, rule types and scopes of that ABI.
 * @throws {RangeError} When `abi` is not an integer of 0 or more.
 *
 * @example What ABI 3 lacks
 * ```ts
 * import assert from "node:assert/strict";
 * import { landlockSupport } from "@nsh/nsh";
 *
 * const three = landlockSupport(3);
 * assert.ok(three.fs.includes("truncate"));
 * assert.ok(!three.fs.includes("ioctl_dev")); // ABI 5
 * assert.deepEqual(three.net, []); // TCP rules: ABI 4
 * assert.deepEqual(landlockSupport(6).scopes, ["abstract_unix_socket", "signal"]);
 * ```
 */
export function landlockSupport(abi?: number): LandlockSupport {
  let base: { abi: number; unavailable?: string; errata: readonly number[] };
  if (abi === undefined) base = detect();
  else {
    checkAbi(abi);
    base = { abi, errata: [], ...(abi === 0 ? { unavailable: "Landlock is not available (ABI 0)" } : {}) };
  }
  return {
    ...base,
    fs: known(FS, base.abi),
    net: known(NET, base.abi),
    scopes: known(SCOPES, base.abi),
    logFlags: base.abi >= LOG_ABI,
  };
}

function checkAbi(abi: number): void {
  if (!Number.isInteger(abi) || abi < 0) throw new RangeError(`Cannot use Landlock ABI ${abi}: not a version number`);
}

/**
 * A report of what a Landlock ABI enforces, one line per ABI that added
 * something, marked by whether this ABI has it: the text of `nsh`'s answer
 * to "what does this kernel enforce?".
 *
 * @param support What {@linkcode landlockSupport} found.
 * @returns The lines, without newlines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { landlockReport, landlockSupport } from "@nsh/nsh";
 *
 * const lines = landlockReport(landlockSupport(4));
 * assert.equal(lines[0], "Landlock ABI 4 (Linux 6.7 or later)");
 * assert.ok(lines.includes("  yes  ABI 4  TCP ports: bind_tcp, connect_tcp"));
 * assert.ok(lines.includes("  no   ABI 6  scopes: abstract_unix_socket, signal"));
 * ```
 */
export function landlockReport(support: LandlockSupport): string[] {
  const lines = [
    support.abi === 0
      ? `Landlock is not available: ${support.unavailable ?? "ABI 0"}`
      : `Landlock ABI ${support.abi} (Linux ${KERNELS[Math.min(support.abi, LANDLOCK_ABI_KNOWN)]} or later)`,
  ];
  for (let abi = 1; abi <= LANDLOCK_ABI_KNOWN; abi++) {
    const parts: string[] = [];
    const fs = FS_NAMES.filter((name) => FS[name].abi === abi);
    if (fs.length) parts.push(`filesystem: ${fs.join(", ")}`);
    const net = NET_NAMES.filter((name) => NET[name].abi === abi);
    if (net.length) parts.push(`TCP ports: ${net.join(", ")}`);
    const scopes = SCOPE_NAMES.filter((name) => SCOPES[name].abi === abi);
    if (scopes.length) parts.push(`scopes: ${scopes.join(", ")}`);
    if (abi === LOG_ABI) parts.push("audit logging flags of landlock_restrict_self");
    lines.push(`  ${support.abi >= abi ? "yes" : "no "}  ABI ${abi}  ${parts.join("; ")}`);
  }
  if (support.abi > LANDLOCK_ABI_KNOWN) {
    lines.push(`  (ABI ${LANDLOCK_ABI_KNOWN + 1} and later add what this version of nsh does not use yet)`);
  }
  for (const n of support.errata) {
    const erratum = ERRATA[n];
    lines.push(`  erratum ${n} fixed${erratum ? ` (ABI ${erratum.abi}): ${erratum.text}` : ""}`);
  }
  return lines;
}

// ---------------------------------------------------------------- rules

/**
 * What a path rule allows beneath its path:
 *
 * - `"ro"`: read files and list directories;
 * - `"rw"`: that, and write, create, remove, rename, truncate files and use
 *   ioctl on devices (all that Landlock controls but execution);
 * - `"x"`: execute files;
 * - `"rox"`, `"rwx"`: both;
 * - a list of rights, as linux/landlock.h names them.
 */
export type PathAccess = "ro" | "rw" | "x" | "rox" | "rwx" | readonly FsRight[];

/** What a port rule allows: binding to it, connecting to it, or a list of rights. */
export type PortAccess = "bind" | "connect" | readonly NetRight[];

/** One Landlock rule. */
export type LandlockRule =
  /**
   * Allows `access` beneath `path` (a directory, or a file), as the program
   * sees it: after the mounts and the root change, a relative path from its
   * working directory. Symbolic links are followed (`/bin` is `/usr/bin` on
   * merged systems): a rule on a link that another user controls allows
   * what the link points to when the child opens it (Landlock only takes
   * away: never more than the program's own permissions there).
   */
  | { readonly kind: "path"; readonly path: string; readonly access: PathAccess }
  /** Allows binding or connecting TCP sockets to `port` (ABI 4). */
  | { readonly kind: "port"; readonly port: number; readonly access: PortAccess }
  /** Denies an IPC with processes outside the sandbox (ABI 6). */
  | { readonly kind: "scope"; readonly scope: LandlockScope };

/**
 * How to treat what the ABI lacks:
 *
 * - `"best-effort"` (the default): filesystem rights the ABI does not know
 *   are dropped, as the kernel's documentation recommends (the coarser
 *   restriction still holds), and so are the audit flags; a port rule
 *   (ABI 4) or a scope (ABI 6) that the ABI lacks is an error, since
 *   dropping it would drop the whole restriction it names; no Landlock at
 *   all is an error;
 * - `"strict"`: anything the ABI lacks is an error;
 * - `"optional"`: whatever the ABI lacks is dropped, down to no Landlock at
 *   all (for presets that add Landlock where the kernel has it).
 *
 * What was dropped is listed in {@linkcode LandlockRuleset.dropped}.
 */
export type LandlockCompat = "best-effort" | "strict" | "optional";

/** Audit logging of denied accesses (landlock_restrict_self() flags, ABI 7). */
export interface LandlockLog {
  /**
   * Log what nsh's own steps are denied before the program starts (clear
   * for `LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF`).
   *
   * @default {true}
   */
  readonly sameExec?: boolean;
  /**
   * Log what the program is denied (`LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON`).
   *
   * @default {false}
   */
  readonly newExec?: boolean;
  /**
   * Log for the sandboxes the program makes inside this one (clear for
   * `LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF`).
   *
   * @default {true}
   */
  readonly subdomains?: boolean;
}

/** A Landlock policy: the rules, what they restrict, and how to treat an older kernel. */
export interface LandlockPolicy {
  /** The rules. */
  readonly rules: readonly LandlockRule[];
  /**
   * The filesystem rights denied wherever no path rule allows them: `"auto"`
   * is every right nsh knows when there is a path rule, none otherwise;
   * `"all"` is every right nsh knows even without path rules (which denies
   * all files). Best effort drops those the ABI lacks; strict refuses them.
   *
   * @default {"auto"}
   */
  readonly handledFs?: "auto" | "all" | readonly FsRight[];
  /**
   * The TCP rights denied on every port no port rule allows: `"auto"` is
   * those the port rules name (a connect rule restricts connecting only);
   * `"all"` is binding and connecting.
   *
   * @default {"auto"}
   */
  readonly handledNet?: "auto" | "all" | readonly NetRight[];
  /**
   * How to treat what the ABI lacks.
   *
   * @default {"best-effort"}
   */
  readonly compat?: LandlockCompat;
  /**
   * Audit logging (ABI 7); the kernel's defaults when left out.
   *
   * @default {{}}
   */
  readonly log?: LandlockLog;
}

/** A path rule as resolved for an ABI. */
export interface ResolvedPathRule {
  /** The path, as the program sees it. */
  readonly path: string;
  /** The `LANDLOCK_ACCESS_FS_*` bits it allows. */
  readonly access: number;
  /** What it allows, for messages: `"read-only"`, `"read-write, execute"`, `"read_file, make_reg"`. */
  readonly label: string;
}

/** A port rule as resolved for an ABI. */
export interface ResolvedPortRule {
  /** The TCP port. */
  readonly port: number;
  /** The `LANDLOCK_ACCESS_NET_*` bits it allows. */
  readonly access: number;
  /** What it allows, for messages: `"TCP connect to port 80"`. */
  readonly label: string;
}

/** A policy resolved for one ABI: what the child will load. */
export interface LandlockRuleset {
  /** The ABI it was resolved for. */
  readonly abi: number;
  /** `handled_access_fs`. */
  readonly handledFs: number;
  /** `handled_access_net`. */
  readonly handledNet: number;
  /** `scoped`. */
  readonly scoped: number;
  /** The path rules, in the policy's order. */
  readonly paths: readonly ResolvedPathRule[];
  /** The port rules, in the policy's order. */
  readonly ports: readonly ResolvedPortRule[];
  /** The flags of landlock_restrict_self(). */
  readonly restrictFlags: number;
  /** What the ABI lacks and was left out, one line each, as {@linkcode LandlockCompat} allows. */
  readonly dropped: readonly string[];
}

/** Options of {@linkcode resolveLandlock}. */
export interface ResolveLandlockOptions {
  /**
   * The ABI to resolve for: the running kernel's when left out. Pass another
   * to prepare rules for another kernel, or to see what an older one drops.
   *
   * @default {landlockAbi()}
   */
  readonly abi?: number;
}

const PRESETS: Readonly<Record<string, { readonly rights: readonly FsRight[]; readonly label: string }>> = (() => {
  const ro: FsRight[] = ["read_file", "read_dir"];
  const rw: FsRight[] = [...ro, ...FS_NAMES.filter((name) => !["execute", "read_file", "read_dir"].includes(name))];
  return {
    ro: { rights: ro, label: "read-only" },
    rw: { rights: rw, label: "read-write" },
    x: { rights: ["execute"], label: "execute" },
    rox: { rights: [...ro, "execute"], label: "read-only, execute" },
    rwx: { rights: [...rw, "execute"], label: "read-write, execute" },
  };
})();

/** The valid name nearest to `name` (fewest edits), for "did you mean". */
function nearest(name: string, names: readonly string[]): string {
  const distance = (a: string, b: string): number => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) {
        next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
      }
      row = next;
    }
    return row[b.length]!;
  };
  // Among names as near, one that holds every letter typed, in order, wins ("rx": "rox", not "ro").
  const within = (a: string, b: string): boolean => {
    let i = 0;
    for (const ch of b) if (ch === a[i]) i++;
    return i === a.length;
  };
  const lower = name.toLowerCase();
  const score = (n: string) => distance(lower, n) - (within(lower, n) ? 0.5 : 0);
  return names.reduce((best, n) => score(n) < score(best) ? n : best);
}

function checkNames<K extends string>(names: unknown, table: Record<K, Feature>, what: string, where: string): K[] {
  if (!Array.isArray(names)) throw new TypeError(`Cannot use ${what} ${String(names)} ${where}: not a list of names`);
  const valid = Object.keys(table);
  for (const name of names) {
    if (typeof name !== "string" || !valid.includes(name)) {
      throw new TypeError(
        `Unknown Landlock ${what} "${String(name)}"${where ? ` ${where}` : ""}; the nearest is "${
          nearest(String(name), valid)
        }"`,
      );
    }
  }
  return names as K[];
}

function describePort(port: number, access: number): string {
  const verbs = [access & NET.bind_tcp.bit ? "bind" : "", access & NET.connect_tcp.bit ? "connect" : ""]
    .filter(Boolean);
  return `TCP ${verbs.join(" and ")} ${verbs.length > 1 ? "on" : "to"} port ${port}`;
}

/** What a rule restricts or allows, for messages that start with "Cannot ". */
function ruleAction(rule: LandlockRule): string {
  if (rule.kind === "path") {
    const label = typeof rule.access === "string" ? PRESETS[rule.access]?.label : rule.access.join(", ");
    return `add a Landlock rule for "${rule.path}" (${label})`;
  }
  if (rule.kind === "port") {
    const access = typeof rule.access === "string"
      ? NET[rule.access === "bind" ? "bind_tcp" : "connect_tcp"].bit
      : mask(NET, rule.access);
    return `restrict ${describePort(rule.port, access)}`;
  }
  return `restrict ${SCOPES[rule.scope].text}`;
}

function needs(need: number, abi: number): string {
  return `Landlock ABI ${need} is needed, this kernel has ABI ${abi}`;
}

const STRICTNESS: readonly LandlockCompat[] = ["optional", "best-effort", "strict"];

/**
 * Folds several policies into one ruleset's policy, as several Landlock steps
 * of one sandbox take effect together: the rules of all, every right one of
 * them restricts (a policy's `"auto"` taken as what its own rules restrict),
 * the strictest compatibility, the audit flags of the last that sets each.
 * Nothing any of them restricts is left unrestricted, and nothing any of them
 * allows is denied (two rulesets stacked instead would deny what either
 * denies).
 *
 * @param policies The policies, in order.
 * @returns The folded policy.
 *
 * @example Two steps, one ruleset
 * ```ts
 * import assert from "node:assert/strict";
 * import { foldLandlockPolicies } from "./landlock.ts";
 *
 * const folded = foldLandlockPolicies([
 *   { rules: [{ kind: "path", path: "/usr", access: "rox" }] },
 *   { rules: [{ kind: "port", port: 443, access: "connect" }], compat: "strict" },
 * ]);
 * assert.equal(folded.rules.length, 2);
 * assert.equal(folded.compat, "strict");
 * assert.equal(folded.handledFs, "auto");
 * ```
 */
export function foldLandlockPolicies(policies: readonly LandlockPolicy[]): LandlockPolicy {
  const rules = policies.flatMap((p) => p.rules);
  const compat = policies.reduce<LandlockCompat>(
    (a, p) => STRICTNESS.indexOf(p.compat ?? "best-effort") > STRICTNESS.indexOf(a) ? p.compat! : a,
    "optional",
  );
  const log = policies.reduce<LandlockLog>((a, p) => ({ ...a, ...p.log }), {});
  const auto = (h: unknown) => h === undefined || h === "auto";
  const fs = policies.every((p) => auto(p.handledFs)) ? "auto" : [
    ...new Set(policies.flatMap((p): readonly FsRight[] => {
      const h = p.handledFs ?? "auto";
      if (h === "all") return FS_NAMES;
      if (h === "auto") return p.rules.some((r) => r.kind === "path") ? FS_NAMES : [];
      return h;
    })),
  ];
  const net = policies.every((p) => auto(p.handledNet)) ? "auto" : [
    ...new Set(policies.flatMap((p): readonly NetRight[] => {
      const h = p.handledNet ?? "auto";
      if (h === "all") return NET_NAMES;
      if (h !== "auto") return h;
      return p.rules.flatMap((r) =>
        r.kind !== "port"
          ? []
          : r.access === "bind"
          ? ["bind_tcp"]
          : r.access === "connect"
          ? ["connect_tcp"]
          : r.access
      );
    })),
  ];
  return {
    rules,
    handledFs: fs,
    handledNet: net,
    compat: policies.length ? compat : "best-effort",
    ...(Object.keys(log).length ? { log } : {}),
  };
}

/**
 * Checks a policy and resolves it for an ABI: the handled rights, each rule's
 * rights as bits, and what the ABI lacks, dropped or refused as
 * `policy.compat` says. Pure once the ABI is known: a sandbox resolves its
 * policy once, and makes the steps for each spawn with
 * `landlockSteps()` (lib/landlock_steps.ts).
 *
 * @param policy The rules and what they restrict.
 * @param options The ABI to resolve for.
 * @returns The ruleset, with the lines of what was dropped.
 * @throws {TypeError} For a rule that is not valid: an unknown kind, right or
 *   scope (named, with the nearest valid one), an empty path or access list.
 * @throws {RangeError} For a port outside 0-65535, or an ABI that is no version.
 * @throws {Error} When the ABI lacks what the policy needs and `compat` does
 *   not allow dropping it: one line that names the rule and the ABI needed,
 *   such as `Cannot restrict TCP connect to port 80: Landlock ABI 4 is
 *   needed, this kernel has ABI 3`.
 *
 * @example Best effort on an older kernel drops the rights it does not know
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveLandlock } from "@nsh/nsh";
 *
 * const policy = { rules: [{ kind: "path", path: "/tmp", access: "rw" }] } as const;
 * const ruleset = resolveLandlock(policy, { abi: 2 });
 * assert.deepEqual(ruleset.dropped, [
 *   "the right to truncate files is not restricted: Landlock ABI 3 is needed, this kernel has ABI 2",
 *   "the right to use ioctl on devices is not restricted: Landlock ABI 5 is needed, this kernel has ABI 2",
 * ]);
 * assert.throws(
 *   () => resolveLandlock({ ...policy, compat: "strict" }, { abi: 2 }),
 *   { message: "Cannot restrict the right to truncate files: Landlock ABI 3 is needed, this kernel has ABI 2" },
 * );
 * ```
 *
 * @example A rule the kernel cannot enforce at all says which ABI it needs
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveLandlock } from "@nsh/nsh";
 *
 * assert.throws(
 *   () => resolveLandlock({ rules: [{ kind: "port", port: 80, access: "connect" }] }, { abi: 3 }),
 *   { message: "Cannot restrict TCP connect to port 80: Landlock ABI 4 is needed, this kernel has ABI 3" },
 * );
 * ```
 */
export function resolveLandlock(policy: LandlockPolicy, options: ResolveLandlockOptions = {}): LandlockRuleset {
  const compat = policy.compat ?? "best-effort";
  if (!["best-effort", "strict", "optional"].includes(compat)) {
    throw new TypeError(`Unknown Landlock compatibility "${compat}"; use best-effort, strict or optional`);
  }
  if (!Array.isArray(policy.rules)) throw new TypeError("Cannot use a Landlock policy without a list of rules");
  // Check every rule before asking what the ABI lacks: a typo is reported as one.
  const paths: { rule: LandlockRule & { kind: "path" }; access: number; label: string }[] = [];
  const ports: { rule: LandlockRule & { kind: "port" }; access: number }[] = [];
  const scopes: (LandlockRule & { kind: "scope" })[] = [];
  for (const rule of policy.rules) {
    if (rule.kind === "path") {
      if (typeof rule.path !== "string" || rule.path === "") {
        throw new TypeError("Cannot add a Landlock rule for an empty path");
      }
      if (rule.path.includes("\0")) {
        throw new TypeError(`Cannot add a Landlock rule for "${rule.path}": it holds a NUL`);
      }
      const where = `for "${rule.path}"`;
      let rights: readonly FsRight[];
      let label: string;
      if (typeof rule.access === "string") {
        const preset = Object.hasOwn(PRESETS, rule.access) ? PRESETS[rule.access] : undefined;
        if (!preset) {
          throw new TypeError(
            `Unknown Landlock access "${rule.access}" ${where}; the nearest is "${
              nearest(rule.access, Object.keys(PRESETS))
            }" (ro, rw, x, rox, rwx or a list of rights)`,
          );
        }
        ({ rights, label } = preset);
      } else {
        rights = checkNames(rule.access, FS, "right", where);
        label = rights.join(", ");
      }
      if (!rights.length) throw new TypeError(`Cannot add a Landlock rule ${where}: it allows nothing`);
      paths.push({ rule, access: mask(FS, rights), label });
    } else if (rule.kind === "port") {
      if (!Number.isInteger(rule.port) || rule.port < 0 || rule.port > 65535) {
        throw new RangeError(`Cannot add a Landlock rule for TCP port ${rule.port}: a port is 0 to 65535`);
      }
      const where = `for TCP port ${rule.port}`;
      let access: number;
      if (rule.access === "bind") access = NET.bind_tcp.bit;
      else if (rule.access === "connect") access = NET.connect_tcp.bit;
      else if (typeof rule.access === "string") {
        throw new TypeError(`Unknown Landlock access "${rule.access}" ${where}; use bind, connect or a list of rights`);
      } else access = mask(NET, checkNames(rule.access, NET, "right", where));
      if (!access) throw new TypeError(`Cannot add a Landlock rule ${where}: it allows nothing`);
      ports.push({ rule, access });
    } else if (rule.kind === "scope") {
      checkNames([rule.scope], SCOPES, "scope", "");
      scopes.push(rule);
    } else {
      throw new TypeError(`Unknown Landlock rule kind "${(rule as { kind: unknown }).kind}"; use path, port or scope`);
    }
  }
  const handledFsOption = policy.handledFs ?? "auto";
  const handledNetOption = policy.handledNet ?? "auto";
  const fsWanted = handledFsOption === "auto"
    ? (paths.length ? FS_ALL : 0)
    : handledFsOption === "all"
    ? FS_ALL
    : mask(FS, checkNames(handledFsOption, FS, "right", "in handledFs"));
  const netWanted = handledNetOption === "auto"
    ? ports.reduce((bits, p) => bits | p.access, 0)
    : handledNetOption === "all"
    ? NET_ALL
    : mask(NET, checkNames(handledNetOption, NET, "right", "in handledNet"));
  const log = policy.log ?? {};
  const restrictFlags = (log.sameExec === false ? LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF : 0) |
    (log.newExec === true ? LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON : 0) |
    (log.subdomains === false ? LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF : 0);

  let abi: number;
  let unavailable: string | undefined;
  if (options.abi === undefined) ({ abi, unavailable } = detect());
  else {
    checkAbi(options.abi);
    abi = options.abi;
  }
  const empty = (dropped: string[]): LandlockRuleset => ({
    abi,
    handledFs: 0,
    handledNet: 0,
    scoped: 0,
    paths: [],
    ports: [],
    restrictFlags: 0,
    dropped,
  });
  const first = policy.rules[0];
  if (abi === 0) {
    const why = unavailable ?? "Landlock is not available (ABI 0)";
    if (!first && !fsWanted && !netWanted) return empty([]);
    if (compat === "optional") return empty([`every Landlock rule: ${why}`]);
    throw new Error(`Cannot ${first ? ruleAction(first) : "restrict with Landlock"}: ${why}`);
  }

  const dropped: string[] = [];
  /** Refuses what needs ABI `need` ("Cannot {action}: …"), or notes it as dropped ("{note}…"). */
  const lacking = (need: number, action: string, note: string, drop: boolean) => {
    if (!drop) throw new Error(`Cannot ${action}: ${needs(need, abi)}`);
    dropped.push(`${note}${needs(need, abi)}`);
  };
  const fsKnown = mask(FS, known(FS, abi));
  // Refer is left out of this: before ABI 2 reparenting is denied everywhere,
  // which is stricter, not weaker; rules that allow it say so below.
  for (const name of namesOf(FS, fsWanted & ~fsKnown & ~FS.refer.bit)) {
    const { abi: need, text } = FS[name];
    lacking(need, `restrict the right to ${text}`, `the right to ${text} is not restricted: `, compat !== "strict");
  }
  const handledFs = fsWanted & fsKnown;
  const resolvedPaths: ResolvedPathRule[] = [];
  for (const { rule, access, label } of paths) {
    const where = `beneath "${rule.path}"`;
    // Rights the ABI does not handle are allowed anyway, except refer: before
    // ABI 2 every rename or link into another directory is denied.
    if (access & FS.refer.bit && abi < FS.refer.abi) {
      lacking(
        FS.refer.abi,
        `let the program ${FS.refer.text} ${where}`,
        `renaming or linking files into other directories ${where} stays denied: `,
        compat !== "strict",
      );
    }
    if (compat === "strict") {
      for (const name of namesOf(FS, access & ~fsKnown)) {
        lacking(FS[name].abi, `let the program ${FS[name].text} ${where}`, "", false);
      }
    }
    const bits = access & handledFs;
    // A rule left with nothing the ruleset handles would be refused (ENOMSG).
    if (bits) resolvedPaths.push({ path: rule.path, access: bits, label });
  }
  let handledNet = 0;
  const resolvedPorts: ResolvedPortRule[] = [];
  if (netWanted && abi < NET_ABI) {
    const action = ports.length ? ruleAction(ports[0]!.rule) : `restrict ${namesOf(NET, netWanted).join(", ")}`;
    if (compat !== "optional") throw new Error(`Cannot ${action}: ${needs(NET_ABI, abi)}`);
    for (const { rule } of ports) dropped.push(`${ruleAction(rule)}: ${needs(NET_ABI, abi)}`);
    if (!ports.length) dropped.push(`${action}: ${needs(NET_ABI, abi)}`);
  } else {
    handledNet = netWanted;
    for (const { rule, access } of ports) {
      const bits = access & handledNet;
      if (bits) resolvedPorts.push({ port: rule.port, access: bits, label: describePort(rule.port, bits) });
    }
  }
  let scoped = 0;
  for (const rule of scopes) {
    const scope = SCOPES[rule.scope];
    if (abi < scope.abi) lacking(scope.abi, ruleAction(rule), `${ruleAction(rule)}: `, compat === "optional");
    else scoped |= scope.bit;
  }
  let flags = restrictFlags;
  if (flags && abi < LOG_ABI) {
    lacking(LOG_ABI, "change Landlock's audit logging", "the audit logging flags are left out: ", compat !== "strict");
    flags = 0;
  }
  if (!handledFs && !handledNet && !scoped) return empty(dropped);
  return {
    abi,
    handledFs,
    handledNet,
    scoped,
    paths: resolvedPaths,
    ports: resolvedPorts,
    restrictFlags: flags,
    dropped,
  };
}
