/**
 * `nsh bwrap`: bubblewrap's command line on nsh's engine, so that scripts
 * written for bwrap run under nsh. Options are parsed as bubblewrap parses
 * them (exact names, each with its words, until the first word that is not
 * an option or after `--`; `--args FD` reads more from a descriptor), its
 * checks say what bubblewrap's say, and the sandbox is made of nsh's setup
 * steps: always a mount namespace and a new root on a tmpfs, a user
 * namespace when the caller is not root, no_new_privs, and the program under
 * nsh's init (bubblewrap's PID 1) unless `--as-pid-1`.
 *
 * @module
 */

import type { CliCommand, Io } from "./commands.ts";
import { VERSION } from "./version.ts";
import { runForeground } from "./foreground.ts";
import { programEnded } from "./exit.ts";
import { type Plan, plan } from "../lib/plan.ts";
import * as steps from "../lib/steps.ts";
import type { NamespaceType } from "../lib/namespaces.ts";
import type { Step } from "../lib/steps.ts";
import { normalizePath } from "../lib/files.ts";
import { ids, inheritedFds, readSmallFile } from "../lib/system.ts";
import { errno, libc } from "../ffi/libc.ts";
import { errnoText } from "../ffi/errno.ts";
import { CAPABILITY_NAMES, EINTR, ENOENT, PR_SET_PDEATHSIG } from "../ffi/constants.ts";
import { osErrno, SyscallError } from "../ffi/error.ts";

/** The version of bubblewrap whose command line this is. */
const BUBBLEWRAP_VERSION = "0.11.1";

/** bubblewrap refuses command lines longer than this, counting those read with `--args`. */
const MAX_ARGS = 9000;

/** The largest tmpfs `--size` takes: half of the address space, as bubblewrap. */
const MAX_TMPFS_BYTES = 2n ** 63n - 1n;

/** The namespaces that `--info-fd` and `--json-status-fd` list, in bubblewrap's order. */
const REPORTED: readonly NamespaceType[] = ["cgroup", "ipc", "mnt", "net", "pid", "uts"];

/** A failure of bubblewrap's own, in its words: one line, exit status 1. */
export class BwrapError extends Error {
  /** Whether `--level-prefix` was given before the failure (its line begins with the level then). */
  levelPrefix = false;

  /**
   * @param message What is wrong, as bubblewrap says it.
   */
  constructor(message: string) {
    super(message);
    this.name = "BwrapError";
  }
}

/** One operation on the new root, in the order given. */
type RootOp =
  | {
    readonly op: "bind";
    readonly source: string;
    readonly dest: string;
    readonly readonly: boolean;
    readonly devices: boolean;
    readonly optional: boolean;
    /** `--bind-fd`: the descriptor the source came from. */
    readonly fd?: number;
  }
  | {
    readonly op: "overlay";
    readonly option: string;
    readonly dest: string;
    /** The lower layers, the lowest first. */
    readonly sources: readonly string[];
    readonly upper: { readonly dir: string; readonly work: string } | "tmpfs" | "none";
  }
  | { readonly op: "proc" | "dev" | "mqueue" | "remount-ro"; readonly dest: string }
  | { readonly op: "tmpfs"; readonly dest: string; readonly mode: number; readonly size: number }
  | { readonly op: "dir"; readonly dest: string; readonly mode: number }
  | {
    readonly op: "file";
    readonly option: string;
    readonly fd: number;
    readonly dest: string;
    readonly mode: number;
    readonly bind: boolean;
    readonly readonly: boolean;
  }
  | { readonly op: "symlink"; readonly target: string; readonly dest: string }
  | { readonly op: "chmod"; readonly dest: string; readonly mode: number };

/** What a bwrap command line asks for, once parsed. */
export interface BwrapOptions {
  /** The operations on the new root, in order. */
  readonly ops: RootOp[];
  /** The namespaces asked for. */
  readonly unshare: {
    user: boolean;
    userTry: boolean;
    ipc: boolean;
    pid: boolean;
    net: boolean;
    uts: boolean;
    cgroup: boolean;
    cgroupTry: boolean;
  };
  /** Descriptors of namespaces to use. */
  userns?: number;
  userns2?: number;
  pidns?: number;
  disableUserns: boolean;
  assertUsernsDisabled: boolean;
  uid?: number;
  gid?: number;
  hostname?: string;
  chdir?: string;
  /** The environment, as the options left it. */
  readonly env: Map<string, string>;
  readonly lockFiles: string[];
  syncFd?: number;
  blockFd?: number;
  usernsBlockFd?: number;
  infoFd?: number;
  jsonStatusFd?: number;
  seccompFd?: number;
  /** The programs of `--add-seccomp-fd`, read when the option is met, as bubblewrap reads them. */
  readonly addSeccomp: Uint8Array[];
  newSession: boolean;
  dieWithParent: boolean;
  asPid1: boolean;
  /** `--cap-add` and `--cap-drop`, in order. */
  readonly caps: { readonly add: boolean; readonly name: string }[];
  argv0?: string;
  levelPrefix: boolean;
  /** Descriptors that options read or use, which the program does not get. */
  readonly consumed: Set<number>;
  /** The program and its arguments. */
  argv: string[];
}

/** What a command line asks for. */
export type BwrapRequest =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "usage" }
  | { readonly kind: "run"; readonly options: BwrapOptions };

/** A descriptor number as bubblewrap takes one: digits, nothing else. */
function fdArg(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 2 ** 31 - 1) throw new BwrapError(`Invalid fd: ${text}`);
  return Number(text);
}

/** A uid or gid as bubblewrap takes one. */
function idArg(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 2 ** 31 - 1) throw new BwrapError(`Invalid ${what}: ${text}`);
  return Number(text);
}

/** An octal mode up to 07777. */
function modeArg(text: string, option: string): number {
  if (!/^[0-7]+$/.test(text) || parseInt(text, 8) > 0o7777) {
    throw new BwrapError(`${option} takes an octal argument <= 07777`);
  }
  return parseInt(text, 8);
}

/** A size in bytes, as strtoull(3) reads it with base 0 (decimal, 0x hex, 0 octal), not 0. */
function sizeArg(text: string): number {
  let value: bigint | undefined;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) value = BigInt(text);
  else if (/^0[0-7]*$/.test(text)) value = BigInt(`0o${text.slice(1) || "0"}`);
  else if (/^[1-9]\d*$/.test(text)) value = BigInt(text);
  if (value === undefined || value === 0n || value >= 2n ** 64n) {
    throw new BwrapError("--size takes a non-zero number of bytes");
  }
  if (value > MAX_TMPFS_BYTES) throw new BwrapError(`--size (for tmpfs) is limited to ${MAX_TMPFS_BYTES}`);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new BwrapError(`--size ${text}: nsh takes sizes up to ${Number.MAX_SAFE_INTEGER} bytes`);
  }
  return Number(value);
}

/**
 * Reads a descriptor to its end, on this thread, from where it is (a file
 * is read from its offset, as bubblewrap reads it).
 */
function readDescriptor(fd: number, what: string): Uint8Array {
  const c = libc();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = new Uint8Array(65536);
    const n = Number(c.read(fd, chunk, BigInt(chunk.length)));
    if (n < 0) {
      const e = errno();
      if (e === EINTR) continue;
      throw new BwrapError(`Can't read ${what}: ${errnoText(e)}`);
    }
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

/** A seccomp program taken from a descriptor, checked as bubblewrap checks it. */
function seccompData(fd: number, take: (fd: number, what: string) => Uint8Array): Uint8Array {
  const data = take(fd, "seccomp data");
  if (data.length % 8) throw new BwrapError("Invalid seccomp data, must be multiple of 8");
  return data;
}

/** Reads a descriptor to its end and closes it, as bubblewrap does with those it reads options or data from. */
function takeDescriptor(fd: number, what: string): Uint8Array {
  try {
    return readDescriptor(fd, what);
  } finally {
    libc().close(fd);
  }
}

/** What option parsing needs from outside: warnings, and the descriptors `--args` reads. */
export interface ParseContext {
  /**
   * Prints a warning, with its level when `--level-prefix` came before it.
   *
   * @param message The warning.
   * @param levelPrefix Whether to begin with the level.
   */
  warn(message: string, levelPrefix: boolean): void;
  /** Reads a descriptor to its end and closes it (`takeDescriptor`); `what` names it in an error. */
  read(fd: number, what: string): Uint8Array;
  /** The environment to start from. */
  env: Record<string, string>;
}

/**
 * Parses a bwrap command line, as bubblewrap does: exact option names, the
 * last of most options wins (with a warning), operations on the new root in
 * order, up to the first word that is not an option (or `--`).
 *
 * @param args The words after `bwrap`.
 * @param context Warnings, descriptors and the environment.
 * @returns What to do.
 * @throws {BwrapError} For a malformed command line, in bubblewrap's words.
 */
export function parseBwrap(args: readonly string[], context: ParseContext): BwrapRequest {
  const o: BwrapOptions = {
    ops: [],
    unshare: {
      user: false,
      userTry: false,
      ipc: false,
      pid: false,
      net: false,
      uts: false,
      cgroup: false,
      cgroupTry: false,
    },
    disableUserns: false,
    assertUsernsDisabled: false,
    env: new Map(Object.entries(context.env)),
    lockFiles: [],
    addSeccomp: [],
    newSession: false,
    dieWithParent: false,
    asPid1: false,
    caps: [],
    levelPrefix: false,
    consumed: new Set(),
    argv: [],
  };
  let total = args.length;
  let nextPerms: number | undefined;
  let nextSize: number | undefined;
  let overlaySources: string[] = [];
  let special: "help" | "version" | undefined;
  const lastWins = (option: string, set: boolean) => {
    if (set) context.warn(`Only the last ${option} option will take effect`, o.levelPrefix);
  };

  const parse = (words: readonly string[], inFile: boolean): number => {
    if (total > MAX_ARGS) throw new BwrapError(`Exceeded maximum number of arguments ${MAX_ARGS}`);
    let i = 0;
    while (i < words.length) {
      const arg = words[i]!;
      /** The option's words after it; dies when there are fewer than `n`. */
      const take = (n: number, message: string): string[] => {
        if (i + n >= words.length) throw new BwrapError(message);
        const taken = words.slice(i + 1, i + 1 + n);
        i += n;
        return taken;
      };
      const one = (option = arg) => take(1, `${option} takes an argument`)[0]!;
      const two = () => take(2, `${arg} takes two arguments`) as [string, string];
      if (arg === "--help") {
        special ??= "help";
        return words.length;
      }
      if (arg === "--version") {
        special ??= "version";
        return words.length;
      }
      let consumesPerms = false;
      let consumesSize = false;
      switch (arg) {
        case "--args": {
          if (inFile) throw new BwrapError("--args not supported in arguments file");
          const fd = fdArg(take(1, "--args takes an argument")[0]!);
          o.consumed.add(fd);
          const data = new TextDecoder().decode(context.read(fd, "--args data"));
          const more = data === "" ? [] : data.replace(/\0$/, "").split("\0");
          total += more.length;
          if (total > MAX_ARGS) throw new BwrapError(`Exceeded maximum number of arguments ${MAX_ARGS}`);
          // Only options count: bubblewrap leaves a program named in the file out.
          parse(more, true);
          if (special) return words.length;
          break;
        }
        case "--argv0": {
          const value = take(1, "--argv0 takes one argument")[0]!;
          if (o.argv0 !== undefined) throw new BwrapError("--argv0 used multiple times");
          o.argv0 = value;
          break;
        }
        case "--level-prefix":
          o.levelPrefix = true;
          break;
        case "--unshare-all":
          Object.assign(o.unshare, { userTry: true, ipc: true, pid: true, uts: true, cgroupTry: true, net: true });
          break;
        case "--unshare-user":
          o.unshare.user = true;
          break;
        case "--unshare-user-try":
          o.unshare.userTry = true;
          break;
        case "--unshare-ipc":
          o.unshare.ipc = true;
          break;
        case "--unshare-pid":
          o.unshare.pid = true;
          break;
        case "--unshare-net":
          o.unshare.net = true;
          break;
        case "--unshare-uts":
          o.unshare.uts = true;
          break;
        case "--unshare-cgroup":
          o.unshare.cgroup = true;
          break;
        case "--unshare-cgroup-try":
          o.unshare.cgroupTry = true;
          break;
        case "--share-net":
          o.unshare.net = false;
          break;
        case "--chdir": {
          const dir = one();
          lastWins("--chdir", o.chdir !== undefined);
          o.chdir = dir;
          break;
        }
        case "--disable-userns":
          o.disableUserns = true;
          break;
        case "--assert-userns-disabled":
          o.assertUsernsDisabled = true;
          break;
        case "--remount-ro":
          o.ops.push({ op: "remount-ro", dest: take(1, "--remount-ro takes one argument")[0]! });
          break;
        case "--bind":
        case "--bind-try":
        case "--ro-bind":
        case "--ro-bind-try":
        case "--dev-bind":
        case "--dev-bind-try": {
          const [source, dest] = two();
          o.ops.push({
            op: "bind",
            source,
            dest,
            readonly: arg.startsWith("--ro-"),
            devices: arg.startsWith("--dev-"),
            optional: arg.endsWith("-try"),
          });
          break;
        }
        case "--bind-fd":
        case "--ro-bind-fd": {
          const [fdText, dest] = take(2, "--bind-fd takes two arguments") as [string, string];
          const fd = fdArg(fdText);
          o.consumed.add(fd);
          o.ops.push({
            op: "bind",
            source: `/proc/self/fd/${fd}`,
            dest,
            readonly: arg === "--ro-bind-fd",
            devices: false,
            optional: false,
            fd,
          });
          break;
        }
        case "--overlay-src":
          overlaySources.push(one());
          break;
        case "--overlay":
        case "--tmp-overlay":
        case "--ro-overlay": {
          const words = arg === "--overlay" ? take(3, "--overlay takes three arguments") : [one()];
          if (arg === "--ro-overlay" && overlaySources.length < 2) {
            throw new BwrapError("--ro-overlay requires at least two --overlay-src");
          }
          if (overlaySources.length < 1) throw new BwrapError(`${arg} requires at least one --overlay-src`);
          const upper = arg === "--overlay"
            ? { dir: words[0]!, work: words[1]! }
            : arg === "--tmp-overlay"
            ? "tmpfs" as const
            : "none" as const;
          o.ops.push({ op: "overlay", option: arg, dest: words.at(-1)!, sources: overlaySources, upper });
          overlaySources = [];
          break;
        }
        case "--proc":
        case "--dev":
        case "--mqueue":
          o.ops.push({ op: arg.slice(2) as "proc" | "dev" | "mqueue", dest: one() });
          break;
        case "--exec-label":
        case "--file-label":
          one();
          throw new BwrapError(`${arg}: SELinux labels are not supported by nsh`);
        case "--tmpfs":
          o.ops.push({ op: "tmpfs", dest: one(), mode: nextPerms ?? 0o755, size: nextSize ?? 0 });
          consumesPerms = consumesSize = true;
          break;
        case "--dir":
          o.ops.push({ op: "dir", dest: one(), mode: nextPerms ?? 0o755 });
          consumesPerms = true;
          break;
        case "--file":
        case "--bind-data":
        case "--ro-bind-data": {
          const [fdText, dest] = two();
          const fd = fdArg(fdText);
          o.consumed.add(fd);
          const file = arg === "--file";
          o.ops.push({
            op: "file",
            option: arg,
            fd,
            dest,
            // --file makes 0666, the data binds 0600, as bubblewrap always did.
            mode: nextPerms ?? (file ? 0o666 : 0o600),
            bind: !file,
            readonly: arg === "--ro-bind-data",
          });
          consumesPerms = true;
          break;
        }
        case "--symlink": {
          const [target, dest] = two();
          o.ops.push({ op: "symlink", target, dest });
          break;
        }
        case "--lock-file":
          o.lockFiles.push(one());
          break;
        case "--sync-fd":
        case "--block-fd":
        case "--userns-block-fd":
        case "--info-fd":
        case "--json-status-fd":
        case "--userns":
        case "--userns2":
        case "--pidns": {
          const fd = fdArg(one());
          const key = ({
            "--sync-fd": "syncFd",
            "--block-fd": "blockFd",
            "--userns-block-fd": "usernsBlockFd",
            "--info-fd": "infoFd",
            "--json-status-fd": "jsonStatusFd",
            "--userns": "userns",
            "--userns2": "userns2",
            "--pidns": "pidns",
          } as const)[arg];
          lastWins(arg, o[key] !== undefined);
          o[key] = fd;
          o.consumed.add(fd);
          break;
        }
        case "--seccomp": {
          const text = one();
          if (o.addSeccomp.length) throw new BwrapError("--seccomp cannot be combined with --add-seccomp-fd");
          lastWins("--seccomp", o.seccompFd !== undefined);
          o.seccompFd = fdArg(text);
          o.consumed.add(o.seccompFd);
          break;
        }
        case "--add-seccomp-fd": {
          const text = one();
          if (o.seccompFd !== undefined) throw new BwrapError("--add-seccomp-fd cannot be combined with --seccomp");
          const fd = fdArg(text);
          o.consumed.add(fd);
          o.addSeccomp.push(seccompData(fd, context.read));
          break;
        }
        case "--clearenv":
          o.env.clear();
          break;
        case "--setenv": {
          const [name, value] = two();
          o.env.set(name, value);
          break;
        }
        case "--unsetenv":
          o.env.delete(one());
          break;
        case "--uid":
        case "--gid": {
          const what = arg.slice(2) as "uid" | "gid";
          const id = idArg(one(), what);
          lastWins(arg, o[what] !== undefined);
          o[what] = id;
          break;
        }
        case "--hostname": {
          const name = one();
          lastWins("--hostname", o.hostname !== undefined);
          o.hostname = name;
          break;
        }
        case "--new-session":
          o.newSession = true;
          break;
        case "--die-with-parent":
          o.dieWithParent = true;
          break;
        case "--as-pid-1":
          o.asPid1 = true;
          break;
        case "--cap-add":
        case "--cap-drop": {
          const name = one();
          if (name.toUpperCase() !== "ALL" && capabilityOf(name) === undefined) {
            throw new BwrapError(`unknown cap: ${name}`);
          }
          o.caps.push({ add: arg === "--cap-add", name });
          break;
        }
        case "--perms": {
          const text = one();
          if (nextPerms !== undefined) throw new BwrapError("--perms given twice for the same action");
          nextPerms = modeArg(text, "--perms");
          break;
        }
        case "--size": {
          const text = one();
          if (nextSize !== undefined) throw new BwrapError("--size given twice for the same action");
          nextSize = sizeArg(text);
          break;
        }
        case "--chmod": {
          const [mode, path] = two();
          o.ops.push({ op: "chmod", dest: path, mode: modeArg(mode, "--chmod") });
          break;
        }
        case "--":
          return i + 1;
        default:
          if (arg.startsWith("-")) throw new BwrapError(`Unknown option ${arg}`);
          return i;
      }
      const modifier = arg === "--perms" || arg === "--size";
      if (consumesPerms) nextPerms = undefined;
      if (consumesSize) nextSize = undefined;
      if (!modifier && nextPerms !== undefined) {
        throw new BwrapError("--perms must be followed by an option that creates a file");
      }
      if (!modifier && nextSize !== undefined) throw new BwrapError("--size must be followed by --tmpfs");
      if (arg !== "--overlay-src" && overlaySources.length) {
        throw new BwrapError(
          "--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay",
        );
      }
      i++;
    }
    return i;
  };

  if (!args.length) return { kind: "usage" };
  let end: number;
  try {
    end = parse(args, false);
    if (!special && overlaySources.length) {
      throw new BwrapError(
        "--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay",
      );
    }
  } catch (error) {
    if (error instanceof BwrapError) error.levelPrefix = o.levelPrefix;
    throw error;
  }
  if (special) return { kind: special };
  o.argv = args.slice(end);
  if (!o.argv.length) return { kind: "usage" };
  return { kind: "run", options: o };
}

/** The number of a capability as libcap's cap_from_name(3) reads it: `cap_kill`, `CAP_KILL`, or a number. */
function capabilityOf(name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name) < 64 ? Number(name) : undefined;
  const index = CAPABILITY_NAMES.indexOf(name.toUpperCase());
  return index >= 0 ? index : undefined;
}

// ---------------------------------------------------------------------------
// The new root, as far as nsh can tell before it is made

/** Whether `above` is `path` or a directory above it. */
function covers(above: string, path: string): boolean {
  return above === path || above === "/" || path.startsWith(above + "/");
}

/** What the new root has at a path, as nsh can tell from the operations before. */
type Found =
  | { readonly kind: "none" }
  | { readonly kind: "symlink"; readonly target: string }
  | { readonly kind: "directory" }
  | { readonly kind: "other" }
  | { readonly kind: "unknown" };

/** Whether an operation makes something at its destination (and its parents). */
function creates(op: RootOp): boolean {
  return op.op !== "remount-ro" && op.op !== "chmod";
}

/** What a host path holds, as lstat(2) sees it. */
function onHost(path: string): Found {
  try {
    const info = Deno.lstatSync(path);
    if (info.isSymlink) return { kind: "symlink", target: Deno.readLinkSync(path) };
    return { kind: info.isDirectory ? "directory" : "other" };
  } catch (error) {
    return error instanceof Deno.errors.NotFound ? { kind: "none" } : { kind: "unknown" };
  }
}

/**
 * What the new root will have at `path` when operation `index` runs: made by
 * an operation before it, or a host path bound above it, or nothing in a
 * tmpfs or the empty root. bubblewrap reads it in the child; nsh's child
 * makes only system calls, so nsh looks where the bind mounts lead instead.
 */
function lookup(ops: readonly RootOp[], resolved: ReadonlyMap<RootOp, string>, index: number, path: string): Found {
  for (let i = index - 1; i >= 0; i--) {
    const op = ops[i]!;
    if (!creates(op)) continue;
    const dest = normalizePath(op.dest);
    if (dest === path) {
      if (op.op === "symlink") return { kind: "symlink", target: op.target };
      if (op.op === "file") return { kind: "other" };
      if (op.op === "bind") {
        const source = resolved.get(op);
        if (source === undefined) continue; // A missing optional source binds nothing.
        return onHost(source).kind === "directory" ? { kind: "directory" } : { kind: "other" };
      }
      return { kind: "directory" };
    }
    if (covers(dest, path)) {
      const rest = path.slice(dest === "/" ? 0 : dest.length);
      switch (op.op) {
        case "bind": {
          const source = resolved.get(op);
          if (source === undefined) continue;
          return onHost(source === "/" ? rest || "/" : source + rest);
        }
        case "tmpfs":
          return { kind: "none" };
        case "dir":
          continue; // What is below a directory comes from what holds it.
        default:
          return { kind: "unknown" };
      }
    }
    // Something made below `path` makes it a directory.
    if (covers(path, dest)) return { kind: "directory" };
  }
  return path === "/" ? { kind: "directory" } : { kind: "none" };
}

// ---------------------------------------------------------------------------
// From options to steps

/** What the parent found out: the sources resolved, and what the checks decided. */
export interface BwrapPlan {
  /** The steps. */
  readonly steps: Step[];
  /** The plan. */
  readonly plan: Plan;
  /** The program and its arguments. */
  readonly argv: string[];
  /** Its environment. */
  readonly env: Record<string, string>;
  /** Whether it runs under nsh's init. */
  readonly init: boolean;
  /** The namespaces `--info-fd` lists. */
  readonly reported: NamespaceType[];
}

/** Whether the kernel offers a kind of namespace, as bubblewrap checks it. */
function hasNamespace(type: string): boolean {
  try {
    Deno.statSync(`/proc/self/ns/${type}`);
    return true;
  } catch {
    return false;
  }
}

/** `--unshare-user-try`: whether user namespaces can be made here. */
function userNamespacesWork(): boolean {
  if (!hasNamespace("user")) return false;
  if (readSmallFile("/sys/module/user_namespace/parameters/enable")?.startsWith("N")) return false;
  return readSmallFile("/proc/sys/user/max_user_namespaces") !== "0";
}

/** The capabilities a root caller starts from: its effective set (CapEff). */
function effectiveCapabilities(): Set<number> {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readSmallFile("/proc/self/status") ?? "")?.[1] ?? "0";
  const bits = BigInt(`0x${hex}`);
  return new Set(CAPABILITY_NAMES.map((_, i) => i).filter((i) => (bits >> BigInt(i)) & 1n));
}

/**
 * Turns parsed options into nsh's steps, with bubblewrap's checks and
 * defaults: sources resolved by this process (as bubblewrap resolves them
 * before its root changes), data read from the descriptors named, symlinks
 * that are there already kept.
 *
 * @param o The options.
 * @returns The steps, the plan and the program.
 * @throws {BwrapError} For what bubblewrap refuses, in its words.
 */
export function bwrapPlan(o: BwrapOptions): BwrapPlan {
  const { uid: realUid, gid: realGid, euid } = ids();
  const u = { ...o.unshare };
  if (o.usernsBlockFd !== undefined && !u.user) throw new BwrapError("--userns-block-fd requires --unshare-user");
  if (o.usernsBlockFd !== undefined && o.infoFd === undefined) {
    throw new BwrapError("--userns-block-fd requires --info-fd");
  }
  if (o.userns !== undefined && u.user) throw new BwrapError("--userns not compatible --unshare-user");
  if (o.userns !== undefined && u.userTry) throw new BwrapError("--userns not compatible --unshare-user-try");
  if (o.disableUserns && !u.user) throw new BwrapError("--disable-userns requires --unshare-user");
  if (o.disableUserns && o.usernsBlockFd !== undefined) {
    throw new BwrapError("--disable-userns is not compatible with  --userns-block-fd");
  }
  // Not root: nothing can be set up without a user namespace.
  if (euid !== 0 && o.userns === undefined) u.user = true;
  if (u.userTry && userNamespacesWork()) u.user = true;
  const sandboxUid = o.uid ?? realUid;
  const sandboxGid = o.gid ?? realGid;
  if (!u.user && o.userns === undefined && sandboxUid !== realUid) {
    throw new BwrapError("Specifying --uid requires --unshare-user or --userns");
  }
  if (!u.user && o.userns === undefined && sandboxGid !== realGid) {
    throw new BwrapError("Specifying --gid requires --unshare-user or --userns");
  }
  if (!u.uts && o.hostname !== undefined) throw new BwrapError("Specifying --hostname requires --unshare-uts");
  if (o.asPid1 && !u.pid) throw new BwrapError("Specifying --as-pid-1 requires --unshare-pid");
  if (o.asPid1 && o.lockFiles.length) throw new BwrapError("Specifying --as-pid-1 and --lock-file is not permitted");
  if (u.cgroup && !hasNamespace("cgroup")) {
    throw new BwrapError("Cannot create new cgroup namespace because the kernel does not support it");
  }
  if (u.cgroupTry) u.cgroup ||= hasNamespace("cgroup");

  const list: Step[] = [];
  const types: NamespaceType[] = ["mnt"];
  // A joined user namespace first: the others are made inside it.
  if (o.userns !== undefined) {
    list.push(steps.enter("user", `/proc/self/fd/${o.userns}`), steps.preserveCredentials());
    if (sandboxUid !== realUid) list.push(steps.setuid(sandboxUid));
    if (sandboxGid !== realGid) list.push(steps.setgid(sandboxGid));
  }
  if (o.pidns !== undefined) list.push(steps.enter("pid", `/proc/self/fd/${o.pidns}`));
  const devpts = o.ops.some((op) => op.op === "dev");
  // The box's ids: as bubblewrap, root when a devpts is mounted (it needs
  // root mapped), and the program's ids in a nested namespace then.
  let nsUid = sandboxUid, nsGid = sandboxGid;
  if (u.user) {
    types.push("user");
    if (o.usernsBlockFd === undefined) {
      if (devpts) nsUid = nsGid = 0;
      list.push(steps.mapUser(nsUid), steps.mapGroup(nsGid));
    }
  }
  if (u.pid) types.push("pid");
  if (u.net) types.push("net");
  if (u.ipc) types.push("ipc");
  if (u.uts) types.push("uts");
  if (u.cgroup) types.push("cgroup");
  list.push(steps.namespaces(...types));
  // bubblewrap's mounts receive the host's later mounts, and send none back.
  list.push(steps.propagation("slave"));
  if (u.net) list.push(steps.loopback());
  if (o.hostname !== undefined) list.push(steps.hostname(o.hostname));
  list.push(...rootSteps(o.ops));

  if (o.userns2 !== undefined) list.push(steps.joinUserNamespace(o.userns2));
  if (u.user && o.usernsBlockFd === undefined && (nsUid !== sandboxUid || nsGid !== sandboxGid || o.disableUserns)) {
    list.push(steps.nestedUser({ uid: sandboxUid, gid: sandboxGid, disableUserNamespaces: o.disableUserns }));
  }
  if (o.disableUserns || o.assertUsernsDisabled) list.push(steps.assertNoUserNamespaces());
  list.push(...capabilitySteps(o, euid));
  list.push(steps.noNewPrivs());
  if (o.blockFd !== undefined) list.push(steps.waitForDescriptor(o.blockFd));
  const { dirs, pwd } = workingDirectory(o);
  list.push(steps.programWorkdir(...dirs));
  if (o.newSession) list.push(steps.newSession());
  if (o.dieWithParent) list.push(steps.killChild(9));
  const programs = o.seccompFd !== undefined ? [seccompData(o.seccompFd, takeDescriptor)] : o.addSeccomp;
  for (const program of programs) {
    try {
      // With prctl(2), as bubblewrap: the filters before the last must allow it.
      list.push(steps.seccompBpf(program, { noNewPrivs: false, prctl: true }));
    } catch (error) {
      if (error instanceof RangeError) throw new BwrapError(error.message);
      throw error;
    }
  }

  const env = Object.fromEntries(o.env);
  env.PWD = pwd;
  let planned: Plan;
  try {
    planned = plan(list, { euid, egid: ids().egid });
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) throw new BwrapError(error.message);
    throw error;
  }
  return {
    steps: list,
    plan: planned,
    argv: ownExecutable(o.argv),
    env,
    init: !o.asPid1 && (u.pid || o.lockFiles.length > 0 || o.syncFd !== undefined),
    reported: REPORTED.filter((t) => t === "mnt" || types.includes(t)),
  };
}

/**
 * `/proc/self/exe` as the program: in bubblewrap it is bwrap itself (a
 * script's way to run it again in the sandbox). nsh's child is a copy of
 * Deno, which needs nsh's script: the same Deno, with the arguments this
 * process was started with up to `bwrap`.
 */
function ownExecutable(argv: readonly string[]): string[] {
  if (argv[0] !== "/proc/self/exe") return [...argv];
  const cmdline = (readSmallFile("/proc/self/cmdline") ?? "").split("\0");
  if (cmdline.at(-1) === "") cmdline.pop();
  const at = cmdline.length - Deno.args.length;
  if (Deno.args[0] !== "bwrap" || at < 1) return [...argv];
  return ["/proc/self/exe", ...cmdline.slice(1, at), "bwrap", ...argv.slice(1)];
}

/** The steps of the new root, its sources resolved and its data read. */
function rootSteps(ops: readonly RootOp[]): Step[] {
  const resolved = new Map<RootOp, string>();
  const resolve = (path: string, optional: boolean): string | undefined => {
    try {
      return Deno.realPathSync(path);
    } catch (error) {
      const e = osErrno(error);
      if (optional && e === ENOENT) return undefined;
      throw new BwrapError(
        `Can't find source path ${path}: ${e === undefined ? (error as Error).message : errnoText(e)}`,
      );
    }
  };
  const list: Step[] = [];
  ops.forEach((op, index) => {
    switch (op.op) {
      case "bind": {
        const source = resolve(op.source, op.optional);
        if (source === undefined) return;
        resolved.set(op, source);
        list.push(steps.rootBind(source, op.dest, { readonly: op.readonly, devices: op.devices }));
        return;
      }
      case "overlay": {
        const lower = op.sources.map((s) => resolve(s, false)!);
        const upper = typeof op.upper === "object"
          ? { dir: resolve(op.upper.dir, false)!, work: resolve(op.upper.work, false)! }
          : op.upper;
        list.push(steps.rootOverlay(op.dest, lower, { upper }));
        return;
      }
      case "proc":
        list.push(steps.rootProc(op.dest));
        return;
      case "dev":
        list.push(steps.rootDev(op.dest));
        return;
      case "mqueue":
        list.push(steps.rootMqueue(op.dest));
        return;
      case "remount-ro":
        list.push(steps.rootRemountReadonly(op.dest));
        return;
      case "tmpfs":
        list.push(steps.rootTmpfs(op.dest, { mode: op.mode, ...(op.size ? { size: op.size } : {}) }));
        return;
      case "dir":
        list.push(steps.rootDir(op.dest, op.mode));
        return;
      case "chmod":
        list.push(steps.rootChmod(op.dest, op.mode));
        return;
      case "file": {
        const data = takeDescriptor(op.fd, `data for ${op.option}`);
        list.push(steps.rootFile(op.dest, data, { mode: op.mode, bind: op.bind, readonly: op.readonly }));
        return;
      }
      case "symlink": {
        const dest = normalizePath(op.dest);
        const found = lookup(ops, resolved, index, dest);
        if (found.kind === "symlink") {
          // Since bubblewrap 0.9.0 the same link is no error.
          if (found.target === op.target) return;
          throw new BwrapError(`Can't make symlink at ${op.dest}: existing destination is ${found.target}`);
        }
        if (found.kind === "directory" || found.kind === "other") {
          throw new BwrapError(`Can't make symlink at ${op.dest}: destination exists and is not a symlink`);
        }
        list.push(steps.rootSymlink(op.target, op.dest));
        return;
      }
    }
  });
  return list;
}

/**
 * The capabilities the program keeps: root's own set unless told (the steps
 * change nothing then), none for anyone else; `--cap-add` and `--cap-drop`
 * in order.
 */
function capabilitySteps(o: BwrapOptions, euid: number): Step[] {
  if (euid === 0 && !o.caps.length) return [];
  const kept = euid === 0 ? effectiveCapabilities() : new Set<number>();
  for (const { add, name } of o.caps) {
    const all = name.toUpperCase() === "ALL";
    const numbers = all ? CAPABILITY_NAMES.map((_, i) => i) : [capabilityOf(name)!];
    for (const n of numbers) {
      if (add) kept.add(n);
      else kept.delete(n);
    }
  }
  return [steps.keepCapabilities(...[...kept].sort((a, b) => a - b).map((n) => CAPABILITY_NAMES[n]!))];
}

/**
 * The working directories to try, as bubblewrap does after its setup: the
 * one given, else the caller's if the sandbox has it, else $HOME, else /;
 * and PWD, the one that will be taken as far as nsh can tell (bubblewrap
 * sets it to the one it took).
 */
function workingDirectory(o: BwrapOptions): { dirs: string[]; pwd: string } {
  if (o.chdir !== undefined) return { dirs: [o.chdir], pwd: o.chdir };
  let cwd: string | undefined;
  try {
    cwd = Deno.cwd();
  } catch {
    // Removed: bubblewrap's getcwd() fails too.
  }
  const home = o.env.get("HOME");
  const dirs = [...new Set([cwd, home, "/"].filter((d): d is string => d !== undefined && d.startsWith("/")))];
  const pwd = dirs.find((dir) => {
    const found = lookup(o.ops, resolvedBinds(o.ops), o.ops.length, normalizePath(dir));
    return found.kind === "directory" || found.kind === "unknown";
  }) ?? "/";
  return { dirs, pwd };
}

/** The sources of the binds, resolved, for {@linkcode lookup} after the steps are made. */
function resolvedBinds(ops: readonly RootOp[]): Map<RootOp, string> {
  const map = new Map<RootOp, string>();
  for (const op of ops) {
    if (op.op !== "bind") continue;
    try {
      map.set(op, Deno.realPathSync(op.source));
    } catch {
      // Missing and optional: it binds nothing.
    }
  }
  return map;
}

// ---------------------------------------------------------------------------
// Running

/** The name bubblewrap's usage shows: the name nsh was started by when it is a bwrap (`exec -a`), else `nsh bwrap`. */
function ownName(): string {
  const first = (readSmallFile("/proc/self/cmdline") ?? "").split("\0")[0] ?? "";
  return /(^|\/)bwrap$/.test(first) ? first : "nsh bwrap";
}

/** The help text. */
export function bwrapHelp(name = "nsh bwrap"): string {
  const options: [string, string][] = [
    ["--help", "Print this help"],
    ["--version", "Print the version"],
    ["--args FD", "Read more options from FD, separated by NUL bytes"],
    ["--argv0 VALUE", "Run the program with VALUE as argv[0]"],
    ["--level-prefix", "Begin each message with its syslog level (<3> errors, <4> warnings)"],
    ["--unshare-all", "New namespaces of every kind (user and cgroup where possible)"],
    ["--share-net", "Keep the network namespace (after --unshare-all)"],
    ["--unshare-user", "New user namespace (the default when not root)"],
    ["--unshare-user-try", "New user namespace where user namespaces work"],
    ["--unshare-ipc", "New IPC namespace"],
    ["--unshare-pid", "New PID namespace"],
    ["--unshare-net", "New network namespace, with its loopback up"],
    ["--unshare-uts", "New UTS namespace"],
    ["--unshare-cgroup", "New cgroup namespace"],
    ["--unshare-cgroup-try", "New cgroup namespace where the kernel has them"],
    ["--userns FD", "Use the user namespace of FD (not with --unshare-user)"],
    ["--userns2 FD", "Join the user namespace of FD after the setup (with --userns)"],
    ["--disable-userns", "The sandbox cannot make user namespaces"],
    ["--assert-userns-disabled", "Fail unless the sandbox cannot make user namespaces"],
    ["--pidns FD", "Use the PID namespace of FD (the parent of a new one with --unshare-pid)"],
    ["--uid UID", "The uid in the sandbox (with --unshare-user or --userns)"],
    ["--gid GID", "The gid in the sandbox (with --unshare-user or --userns)"],
    ["--hostname NAME", "The hostname in the sandbox (with --unshare-uts)"],
    ["--chdir DIR", "Change to DIR"],
    ["--clearenv", "Unset every environment variable"],
    ["--setenv VAR VALUE", "Set an environment variable"],
    ["--unsetenv VAR", "Unset an environment variable"],
    ["--lock-file DEST", "Hold a lock on DEST while the sandbox runs"],
    ["--sync-fd FD", "Keep FD open while the sandbox runs"],
    ["--bind SRC DEST", "Bind the host's SRC on DEST"],
    ["--bind-try SRC DEST", "--bind, skipped when SRC is missing"],
    ["--dev-bind SRC DEST", "Bind the host's SRC on DEST, devices working"],
    ["--dev-bind-try SRC DEST", "--dev-bind, skipped when SRC is missing"],
    ["--ro-bind SRC DEST", "Bind the host's SRC read-only on DEST"],
    ["--ro-bind-try SRC DEST", "--ro-bind, skipped when SRC is missing"],
    ["--bind-fd FD DEST", "Bind the directory open as FD on DEST"],
    ["--ro-bind-fd FD DEST", "Bind the directory open as FD read-only on DEST"],
    ["--remount-ro DEST", "Make the mount at DEST read-only (not those below it)"],
    ["--overlay-src SRC", "A lower layer of the next overlay (the first is the lowest)"],
    ["--overlay RWSRC WORKDIR DEST", "An overlay on DEST writing to RWSRC (WORKDIR: empty, same filesystem)"],
    ["--tmp-overlay DEST", "An overlay on DEST writing to a tmpfs no one sees"],
    ["--ro-overlay DEST", "A read-only overlay on DEST"],
    ["--exec-label LABEL", "(SELinux: not supported by nsh)"],
    ["--file-label LABEL", "(SELinux: not supported by nsh)"],
    ["--proc DEST", "A proc on DEST"],
    ["--dev DEST", "A minimal /dev on DEST"],
    ["--tmpfs DEST", "A tmpfs on DEST"],
    ["--mqueue DEST", "A message queue filesystem on DEST"],
    ["--dir DEST", "A directory at DEST"],
    ["--file FD DEST", "A file at DEST with what FD holds"],
    ["--bind-data FD DEST", "A file with what FD holds, bound on DEST"],
    ["--ro-bind-data FD DEST", "A file with what FD holds, bound read-only on DEST"],
    ["--symlink SRC DEST", "A symbolic link at DEST to SRC"],
    ["--seccomp FD", "Load the seccomp BPF program read from FD (the last one given)"],
    ["--add-seccomp-fd FD", "Load the seccomp BPF program read from FD too (repeatable)"],
    ["--block-fd FD", "Wait until FD can be read before running the program"],
    ["--userns-block-fd FD", "Wait until FD can be read before using the user namespace"],
    ["--info-fd FD", "Write the sandbox's pid and namespaces to FD, as JSON"],
    ["--json-status-fd FD", "Write the sandbox's status to FD, as JSON lines"],
    ["--new-session", "Run the program in a new session, without a terminal"],
    ["--die-with-parent", "Kill the sandbox with SIGKILL when the caller of nsh dies"],
    ["--as-pid-1", "No init: the program is PID 1 (with --unshare-pid)"],
    ["--cap-add CAP", "Keep capability CAP (or ALL)"],
    ["--cap-drop CAP", "Drop capability CAP (or ALL)"],
    ["--perms OCTAL", "The mode of the next --tmpfs, --dir, --file or --bind-data"],
    ["--size BYTES", "The size of the next --tmpfs"],
    ["--chmod OCTAL PATH", "Change the mode of PATH, which must exist"],
  ];
  const lines = options.map(([option, help]) =>
    option.length < 29 ? `    ${option.padEnd(29)}${help}` : `    ${option}\n${" ".repeat(33)}${help}`
  );
  return `usage: ${name} [OPTIONS...] [--] COMMAND [ARGS...]

Run COMMAND in a sandbox made as bubblewrap ${BUBBLEWRAP_VERSION} makes it from these
options, on nsh's engine (nsh ${VERSION}).

${lines.join("\n")}
`;
}

/** Writes all of `text` to a descriptor of this process. */
function writeFd(fd: number, text: string): void {
  const bytes = new TextEncoder().encode(text);
  for (let at = 0; at < bytes.length;) {
    const n = Number(libc().write(fd, bytes.subarray(at), BigInt(bytes.length - at)));
    if (n < 0) {
      const e = errno();
      if (e === EINTR) continue;
      throw new BwrapError(`Write to info_fd: ${errnoText(e)}`);
    }
    at += n;
  }
}

/** The inode numbers of a process's namespaces, as `--info-fd` reports them. */
function namespaceIds(pid: number, types: readonly NamespaceType[]): [NamespaceType, number][] {
  const found: [NamespaceType, number][] = [];
  for (const type of types) {
    try {
      found.push([type, Deno.statSync(`/proc/${pid}/ns/${type}`).ino!]);
    } catch {
      // Not readable: bubblewrap leaves it out too.
    }
  }
  return found;
}

/**
 * Ends this process with SIGKILL when its parent dies (`--die-with-parent`):
 * nsh's children get SIGKILL when nsh dies, so the sandbox goes with it.
 */
async function dieWithParent(): Promise<void> {
  const { routine } = await import("../ffi/routine.ts");
  const parent = Deno.ppid;
  const r = routine();
  const done = r.syscall(r.sysno.prctl, PR_SET_PDEATHSIG, 9);
  if (done < 0) throw new SyscallError("prctl", -done, { operation: "ask for SIGKILL when the caller dies" });
  // The parent may have died before the prctl: then nothing would come.
  if (Deno.ppid !== parent) libc().kill(Deno.pid, 9);
}

/**
 * Runs a bwrap command line.
 *
 * @param args The words after `bwrap`.
 * @param io Where to write.
 * @returns The exit status: the program's (128 + N for signal N), 1 for a failure of the sandbox.
 */
export async function runBwrap(args: readonly string[], io: Io): Promise<number> {
  let prefixed = false;
  const say = (level: number, message: string) => io.err(`${prefixed ? `<${level}>` : ""}bwrap: ${message}\n`);
  let request: BwrapRequest;
  try {
    request = parseBwrap(args, {
      warn: (message, levelPrefix) => {
        prefixed = levelPrefix;
        say(4, message);
      },
      read: takeDescriptor,
      env: Deno.env.toObject(),
    });
  } catch (error) {
    if (error instanceof BwrapError) {
      prefixed = error.levelPrefix;
      say(3, error.message);
      return 1;
    }
    throw error;
  }
  if (request.kind === "help") {
    io.out(bwrapHelp(ownName()));
    return 0;
  }
  if (request.kind === "version") {
    io.out(`nsh bwrap ${VERSION} (the command line of bubblewrap ${BUBBLEWRAP_VERSION})\n`);
    return 0;
  }
  if (request.kind === "usage") {
    io.err(bwrapHelp(ownName()));
    return 1;
  }
  const o = request.options;
  prefixed = o.levelPrefix;
  const status = o.jsonStatusFd;
  try {
    if (o.dieWithParent) await dieWithParent();
    const made = bwrapPlan(o);
    const report = (pid: number) => {
      const found = namespaceIds(pid, made.reported);
      if (o.infoFd !== undefined) {
        writeFd(
          o.infoFd,
          `{\n    "child-pid": ${pid}${found.map(([t, id]) => `,\n    "${t}-namespace": ${id}`).join("")}\n}\n`,
        );
        libc().close(o.infoFd);
      }
      if (status !== undefined) {
        writeFd(status, `{ "child-pid": ${pid}${found.map(([t, id]) => `, "${t}-namespace": ${id}`).join("")} }\n`);
      }
    };
    const keep = inheritedFds().filter((fd) => !o.consumed.has(fd) && !(made.init && fd === o.syncFd));
    const usernsBlock = o.usernsBlockFd;
    const code = await runForeground(made.plan, made.argv, made.env, {
      start: {
        fds: o.syncFd !== undefined && !made.init ? [...keep, o.syncFd] : keep,
        ...(o.argv0 !== undefined ? { argv0: o.argv0 } : {}),
        ...(made.init
          ? { init: { locks: o.lockFiles, ...(o.syncFd !== undefined ? { keepFds: [o.syncFd] } : {}) } }
          : {}),
        // As bubblewrap: the pid is reported while the child waits, before its
        // setup (a failed setup has a child-pid but no exit-code), and with
        // --userns-block-fd the caller maps its ids then.
        ...(o.infoFd !== undefined || status !== undefined
          ? {
            beforeSetup: async (pid: number) => {
              report(pid);
              if (usernsBlock === undefined) return;
              await waitReadable(usernsBlock);
              libc().close(usernsBlock);
            },
          }
          : {}),
      },
    });
    // bubblewrap exits with the status, never with the signal itself.
    programEnded(undefined);
    if (status !== undefined) {
      writeFd(status, `{ "exit-code": ${code} }\n`);
      libc().close(status);
    }
    return code;
  } catch (error) {
    if (error instanceof BwrapError || error instanceof SyscallError) {
      say(3, error.message);
      return 1;
    }
    if (error instanceof Error && error.constructor === Error) {
      say(3, error.message);
      return 1;
    }
    throw error;
  }
}

/** Waits until a descriptor can be read (or is at its end), reading one byte, as bubblewrap's read(fd, 1). */
async function waitReadable(fd: number): Promise<void> {
  const { routine } = await import("../ffi/routine.ts");
  const buffer = new Uint8Array(1);
  while ((await routine().read(fd, buffer, 1)) === -EINTR);
}

/** `nsh bwrap`. */
export const bwrapCommand: CliCommand = {
  help: () => bwrapHelp(),
  run: runBwrap,
};
