/**
 * Compiles a plan and a program to run into the system calls a child makes
 * between clone(2) and execve(2). Pure: the result is data, run by
 * ffi/program.ts.
 *
 * The order is fixed by what each phase needs; each phase is a function
 * below, and the phases of step kinds that compile themselves (lib/steps/)
 * run where {@linkcode PHASES} places them:
 *
 * 0. the `cgroup` phase (the move into a box's cgroups), before anything
 *    else; a new cgroup namespace is then made by a call after it, not by
 *    clone, so that the box's cgroup is its root;
 * 1. stdio, signal disposition, parent-death signal: nothing depends on them;
 * 2. join existing namespaces (nsenter), take the joined user namespace's ids,
 *    change to the root and working directory opened before joining;
 * 3. a clone step, when a joined PID namespace or new namespaces inside joined
 *    ones need a new process;
 * 4. the time namespace and its offsets, while `/proc` is still the host's and
 *    before the parent may bind it;
 * 5. wait for the parent, when it writes id ranges or binds namespaces to files;
 * 6. the child's own id maps (`setgroups` first, as the kernel demands);
 * 7. mount propagation, then the `uts`, `mount` and `newroot` phases;
 * 8. root and working directory, then the `proc` phase (util-linux mounts it
 *    in the new root), then the `caps` phase;
 * 9. ids, then the `harden` phase, the death signal again, the descriptors
 *    the program does not get;
 * 10. the signal mask, the `seccomp` phase, then execve (each PATH candidate,
 *     each followed by /bin/sh for it, which runs when the kernel cannot:
 *     ENOEXEC).
 *
 * @module
 */

import { type Arg, type LaunchMode, type Op, readyStep } from "../ffi/program.ts";
import { cloneFlags, type NamespaceType } from "./namespaces.ts";
import { formatIdMap } from "./idmap.ts";
import type { Plan } from "./plan.ts";
import { kindOf } from "./steps/_registry.ts";
import type { CompileFacts, Emitter, Frame, OpInfo, Phase } from "./steps/_kind.ts";
import { signalName } from "../ffi/signals.ts";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  CLONE_NEWCGROUP,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_PARENT,
  CLONE_VFORK,
  CLONE_VM,
  CLOSE_RANGE_CLOEXEC,
  F_OFD_SETLK,
  F_RDLCK,
  F_SETFD,
  FLOCK_SIZE,
  MS,
  O_CLOEXEC,
  O_RDONLY,
  O_WRONLY,
  PR_SET_PDEATHSIG,
  SIG_SETMASK,
  SIGCHLD,
  SIGPIPE,
} from "../ffi/constants.ts";
import { encodeText } from "../ffi/bytes.ts";

export type { OpInfo };

/** The program to run and how its stdio is connected. */
export interface ExecSpec {
  /** The paths to try with execve, in order (see lib/program_path.ts). */
  readonly candidates: readonly string[];
  /** The arguments, `argv[0]` first. */
  readonly argv: readonly string[];
  /** The name the program was looked up by (`argv[0]` when not given), for messages and the PATH search. */
  readonly file?: string;
  /**
   * The environment, as `NAME=value` strings, or the address of libc's
   * `environ` to pass this process's own (the child shares its memory).
   */
  readonly envp: readonly string[] | { readonly environ: number };
  /** File descriptors to put at 0, 1 and 2 (`undefined` leaves the inherited one). */
  readonly stdio: readonly [number | undefined, number | undefined, number | undefined];
  /** Ends of the pipe on which the child waits for the parent, if it must. */
  readonly sync?: { readonly read: number; readonly write: number };
  /** Descriptors of the namespaces to join, opened by the parent, in the plan's order. */
  readonly enter?: readonly {
    readonly type: NamespaceType;
    readonly fd: number;
    readonly path: string;
    readonly group?: number;
    /** The fd is a pidfd: one setns joins all these types of the process. */
    readonly all?: readonly NamespaceType[];
  }[];
  /** Descriptor of the directory to make the root after joining. */
  readonly rootFd?: number;
  /** Descriptor of the directory to make the working directory after joining. */
  readonly wdFd?: number;
  /**
   * What the child becomes after its setup: the program (`"exec"`, the
   * default), the holder program at `holderFd` with every signal still blocked
   * (`"hold"`), or nothing: it exits with status 0 (`"exit"`).
   */
  readonly end?: "exec" | "hold" | "exit";
  /** Descriptor of the holder program, for `end: "hold"`. */
  readonly holderFd?: number;
  /**
   * Descriptors of this process that the program keeps, at the same numbers.
   * Every other descriptor above 2 is closed at execve.
   */
  readonly keepFds?: readonly number[];
  /**
   * The program runs as the child of nsh's init (ffi/init_x86_64.S), which
   * the child becomes once its setup is done, as bubblewrap's PID 1: it
   * reaps, reports the program's status on `report` and ends when no child
   * is left (with a new PID namespace, the program is PID 2).
   */
  readonly init?: InitSpec;
}

/** What nsh's init gets: see {@linkcode ExecSpec.init}. */
export interface InitSpec {
  /** Descriptor of the init program (close-on-exec). */
  readonly fd: number;
  /** Where the init reports the program's status (close-on-exec; the init gets it as descriptor 0). */
  readonly report: number;
  /** Descriptors of this process that the init keeps open and the program does not get. */
  readonly keep?: readonly number[];
  /** Files the init holds a shared lock on while it runs, opened as the box sees them. */
  readonly locks?: readonly string[];
}

/** The compiled child program. */
export interface Compiled {
  /** The steps. */
  readonly ops: Op[];
  /** What each step does, by index. */
  readonly infos: OpInfo[];
  /** `CLONE_NEW*` flags for clone(2), with SIGCHLD as exit signal. */
  readonly cloneFlags: number;
  /** How to launch it (see ffi/program.ts). */
  readonly mode: LaunchMode;
  /** Whether a clone step makes the process that runs the program. */
  readonly forks: boolean;
  /**
   * Whether that process is made inside a joined PID namespace (a new PID
   * namespace in it): the pid its clone step reports is the one it has there.
   */
  readonly forksInside: boolean;
  /** A cgroup v2 directory to make the child in (clone3 with CLONE_INTO_CGROUP), if one was asked for. */
  readonly cgroupFd?: number;
}

/**
 * Whether the parent must act while the child waits: write id ranges, or bind
 * namespaces to files.
 *
 * @param p The plan.
 * @returns `true` when the child must wait for the parent.
 */
export function needsParent(p: Plan): boolean {
  return p.mapsNeedParent || p.persist.length > 0;
}

const UINT_MAX = 0xffffffff;

const STDIO_NAMES = ["standard input", "standard output", "standard error"];

/** The shell that runs a file the kernel cannot, as execvp(3) uses it (`_PATH_BSHELL`). */
const SHELL = "/bin/sh";

/** Facts about the machine the program is compiled for. */
export interface CompileContext {
  /** `CAP_LAST_CAP`, for steps that set every capability. */
  readonly capLastCap: number;
  /**
   * The caller's effective uid. Joining as root, the user namespace is joined
   * last (it would take root's privileges away); unprivileged, first (it gives
   * the privileges to join the others), as util-linux nsenter does.
   */
  readonly euid?: number;
  /** The caller's effective gid. */
  readonly egid?: number;
  /**
   * This process's permitted capabilities (a bit set, as `CapPrm` in
   * /proc/self/status): what a child without a user namespace of its own
   * holds, root or not. None when not given.
   */
  readonly capPermitted?: bigint;
  /**
   * Whether the launch may make the child in a cgroup (clone3 with
   * CLONE_INTO_CGROUP: Linux 5.7+, and no seccomp filter refusing clone3).
   */
  readonly cloneIntoCgroup?: boolean;
}

/**
 * The calls a phase made for one plan, kept to be used again: a sandbox run
 * many times makes the same plan object (see planHere) and, but for the
 * program and its stdio, the same calls. Indices of earlier calls that they
 * refer to (`result`, `onlyIf`) are relative to `start`.
 */
interface Segment {
  readonly start: number;
  readonly ops: readonly Op[];
  readonly infos: readonly OpInfo[];
}

/** Each plan's phases, by phase and the caller's euid. */
const SEGMENTS = new WeakMap<Plan, Map<string, Segment>>();

/** The phases whose calls depend only on the plan and the caller's euid (cgroup makes a cgroup per start). */
const REUSABLE: ReadonlySet<Phase> = new Set(["uts", "mount", "newroot", "proc", "caps", "harden", "seccomp"]);

/** The earlier calls an op refers to. */
function referencesOf(op: Op): number[] {
  const refs = op.args.flatMap((a) => typeof a === "object" && "result" in a ? [a.result] : []);
  if (op.onlyIf) refs.push(op.onlyIf.step);
  return refs;
}

/** The op, its references to calls from `start` on moved by `by`. */
function moved(op: Op, start: number, by: number): Op {
  if (!by || !referencesOf(op).length) return op;
  const at = (i: number) => i >= start ? i + by : i;
  return {
    ...op,
    args: op.args.map((a) => typeof a === "object" && "result" in a ? { result: at(a.result) } : a),
    ...(op.onlyIf ? { onlyIf: { ...op.onlyIf, step: at(op.onlyIf.step) } } : {}),
  };
}

/** The system calls of a child program, and what each does. */
class Program implements Emitter {
  readonly ops: Op[] = [];
  readonly infos: OpInfo[] = [];
  readonly facts: CompileFacts;
  /** The cgroup the child is made in, when a step asked and the launch can. */
  cgroupFd: number | undefined;
  readonly #intoCgroup: boolean;
  /** A step read a fact that may change between starts (this process's own capabilities). */
  #volatile = false;

  constructor(context: CompileContext) {
    const euid = context.euid ?? 0;
    this.#intoCgroup = context.cloneIntoCgroup ?? false;
    const volatile = () => this.#volatile = true;
    // Read when a step needs it: the engine passes a getter.
    this.facts = {
      get capLastCap() {
        return context.capLastCap;
      },
      euid,
      egid: context.egid ?? 0,
      capabilitiesHeld(plan) {
        const last = context.capLastCap;
        // Root without a user namespace holds what this process holds: a
        // container may have withheld some (CAP_SYS_RESOURCE here).
        const all = plan.namespaces.includes("user") || plan.enter.some((e) => e.type === "user");
        if (!all) volatile();
        const bits = all ? (1n << BigInt(last + 1)) - 1n : context.capPermitted ?? 0n;
        return new Set(Array.from({ length: last + 1 }, (_, i) => i).filter((i) => (bits >> BigInt(i)) & 1n));
      },
    };
  }

  add(op: Op, info: OpInfo): number {
    this.ops.push(op);
    this.infos.push(info);
    return this.ops.length - 1;
  }

  intoCgroup(fd: number): boolean {
    // Only as the first thing: a call before it would run outside the cgroup.
    if (!this.#intoCgroup || this.cgroupFd !== undefined || this.ops.length) return false;
    this.cgroupFd = fd;
    return true;
  }

  writeFile(path: string, content: string | Uint8Array, info: Omit<OpInfo, "syscall">): void {
    const fd = this.add({ call: "openat", args: [AT_FDCWD, { str: path }, O_WRONLY | O_CLOEXEC, 0] }, {
      ...info,
      syscall: "open",
    });
    const bytes = typeof content === "string" ? encodeText(content) : content;
    this.add({ call: "write", args: [{ result: fd }, { bytes }, bytes.length] }, { ...info, syscall: "write" });
    this.add({ call: "close", args: [{ result: fd }] }, { ...info, syscall: "close" });
  }

  /**
   * The calls of the plan's steps of one phase, in the plan's order, each run
   * of a frame inside it; made once per plan where they can be used again.
   */
  phase(p: Plan, phase: Exclude<Phase, "core">): void {
    if (!REUSABLE.has(phase)) return this.#compilePhase(p, phase);
    const key = `${phase} ${this.facts.euid}`;
    const start = this.ops.length;
    const kept = SEGMENTS.get(p)?.get(key);
    if (kept) {
      for (const op of kept.ops) this.ops.push(moved(op, kept.start, start - kept.start));
      this.infos.push(...kept.infos);
      return;
    }
    this.#volatile = false;
    this.#compilePhase(p, phase);
    const ops = this.ops.slice(start);
    const earlier = ops.flatMap((op) => referencesOf(op).filter((i) => i < start));
    // A phase whose calls a later one refers to is made afresh each time: the
    // step that refers to them (a nested user namespace's /proc/self) learnt
    // their index when it compiled them, and a kept copy lands elsewhere.
    let phases = SEGMENTS.get(p);
    for (const [other, segment] of phases ?? []) {
      if (earlier.some((i) => i >= segment.start && i < segment.start + segment.ops.length)) phases!.delete(other);
    }
    // Kept only when it refers to no call before it, and read no fact that may change.
    if (this.#volatile || ops[0]?.ifNoexec || earlier.length) return;
    if (!phases) SEGMENTS.set(p, phases = new Map());
    phases.set(key, { start, ops, infos: this.infos.slice(start) });
  }

  #compilePhase(p: Plan, phase: Exclude<Phase, "core">): void {
    let frame: Frame | undefined;
    let begun = 0;
    for (const step of p.actions) {
      const kind = kindOf(step);
      if (kind.phase !== phase && !kind.laterPhases?.includes(phase)) continue;
      if (kind.frame !== frame) {
        frame?.end(this, p, begun);
        frame = kind.frame;
        begun = frame?.begin(this, p) ?? 0;
      }
      kind.compile!(step as never, this, p, phase);
    }
    frame?.end(this, p, begun);
  }
}

type Joined = NonNullable<ExecSpec["enter"]>[number];

/** The namespaces a join makes the child enter. */
function typesOf(e: Joined): readonly NamespaceType[] {
  return e.all ?? [e.type];
}

/**
 * Compiles a plan and a program into the child's system calls.
 *
 * @param p The plan.
 * @param exec The program and its stdio.
 * @param context Facts about the machine.
 * @returns The calls, their descriptions and the clone flags.
 */
export function compile(p: Plan, exec: ExecSpec, context: CompileContext): Compiled {
  const out = new Program(context);
  const entered = exec.enter ?? [];
  const mode: LaunchMode = entered.some((e) => typesOf(e).includes("time")) ? "copy" : exec.sync ? "async" : "exec";
  // Before anything else: no instruction of the child runs outside its cgroups.
  out.phase(p, "cgroup");
  // A cgroup namespace takes the cgroup its maker is in as its root: made
  // after the move, so that the box sees its own cgroup as "/".
  const placed = out.ops.length > 0 || out.cgroupFd !== undefined;
  const deferred = placed && p.namespaces.includes("cgroup") ? CLONE_NEWCGROUP : 0;
  connectStdio(out, exec);
  resetSignals(out);
  askForDeathSignal(out, p);
  const joined = join(out, p, exec, context.euid ?? 0);
  const { forks, forksInside, newFlags } = forkIntoJoined(out, p, entered, mode, deferred);
  if (deferred) {
    out.add({ call: "unshare", args: [CLONE_NEWCGROUP] }, {
      syscall: "unshare",
      operation: "create a cgroup namespace",
      role: "cgroup-namespace",
    });
  }
  timeNamespace(out, p);
  waitForParent(out, exec);
  idMaps(out, p);
  becomeMapped(out, p, context.euid ?? 0);
  mountPropagation(out, p);
  out.phase(p, "uts");
  out.phase(p, "mount");
  out.phase(p, "newroot");
  rootAndWorkdir(out, p);
  out.phase(p, "proc");
  out.phase(p, "caps");
  if (p.setgid !== undefined || p.setuid !== undefined) {
    takeIds(out, p.setuid, p.setgid, p.setgid !== undefined && p.setgroups !== "deny" ? "drop" : "keep");
  }
  out.phase(p, "harden");
  // Again, last: a clone step's child starts without the death signal, and
  // joining a user namespace, changing ids or capabilities clears it (prctl(2)).
  const changesCreds = p.actions.some((s) => ["caps", "harden", "newroot"].includes(kindOf(s).phase));
  if (joined || forks || p.enterIds || p.setuid !== undefined || p.setgid !== undefined || changesCreds) {
    askForDeathSignal(out, p);
  }
  passDescriptors(out, exec.keepFds ?? []);
  const end = exec.end ?? "exec";
  if (end === "hold") hold(out, exec);
  else if (end === "exec") {
    if (exec.init) underInit(out, p, exec.init);
    out.add({ call: "rt_sigprocmask", args: [SIG_SETMASK, { oldMask: true }, 0, 8] }, {
      syscall: "rt_sigprocmask",
      operation: "restore the signal mask",
      role: "signals",
    });
    out.phase(p, "seccomp");
    execute(out, p, exec);
  }
  // CLONE_NEWTIME is unshared by a call, never passed to clone.
  return {
    ops: out.ops,
    infos: out.infos,
    cloneFlags: (forks ? 0 : newFlags) | SIGCHLD,
    mode,
    forks,
    forksInside,
    ...(out.cgroupFd === undefined ? {} : { cgroupFd: out.cgroupFd }),
  };
}

/** Puts the descriptors given at 0, 1 and 2. */
function connectStdio(out: Program, exec: ExecSpec): void {
  exec.stdio.forEach((fd, target) => {
    if (fd === undefined) return;
    out.add({ call: "dup3", args: [fd, target, 0] }, {
      syscall: "dup2",
      operation: `connect ${STDIO_NAMES[target]}`,
      role: "stdio",
    });
  });
}

/** Deno ignores SIGPIPE, and execve keeps ignored signals ignored. */
function resetSignals(out: Program): void {
  out.add({ call: "rt_sigaction", args: [SIGPIPE, { zeros: 32 }, 0, 8], ignore: true }, {
    syscall: "rt_sigaction",
    operation: "reset SIGPIPE",
    role: "signals",
  });
}

function askForDeathSignal(out: Program, p: Plan): void {
  if (p.killChild === undefined) return;
  out.add({ call: "prctl", args: [PR_SET_PDEATHSIG, p.killChild] }, {
    syscall: "prctl",
    operation: `ask for ${signalName(p.killChild)} when nsh dies`,
    role: "signals",
  });
}

/** Takes ids: the gid, the supplementary groups dropped (or tried), then the uid. */
function takeIds(
  out: Program,
  uid: number | undefined,
  gid: number | undefined,
  groups: "drop" | "try" | "keep",
): void {
  if (gid !== undefined) {
    out.add({ call: "setresgid", args: [gid, gid, gid] }, {
      syscall: "setresgid",
      operation: `set the gid to ${gid}`,
      role: "ids",
    });
  }
  if (groups !== "keep") {
    out.add({ call: "setgroups", args: [0, 0], ...(groups === "try" ? { ignore: true } : {}) }, {
      syscall: "setgroups",
      operation: "drop the supplementary groups",
      role: "ids",
    });
  }
  if (uid !== undefined) {
    out.add({ call: "setresuid", args: [uid, uid, uid] }, {
      syscall: "setresuid",
      operation: `set the uid to ${uid}`,
      role: "ids",
    });
  }
}

/**
 * Joins the namespaces the parent opened, group after group, then takes the
 * joined user namespace's ids and the root and directory opened before.
 *
 * @returns Whether it joined any.
 */
function join(out: Program, p: Plan, exec: ExecSpec, euid: number): boolean {
  const entered = exec.enter ?? [];
  const joining: Joined[] = [];
  for (const group of new Set(entered.map((e) => e.group ?? 0))) {
    const members = entered.filter((e) => (e.group ?? 0) === group);
    const user = members.filter((e) => e.type === "user");
    const others = members.filter((e) => e.type !== "user");
    joining.push(...(euid === 0 ? [...others, ...user] : [...user, ...others]));
  }
  for (const e of joining) {
    const types = typesOf(e);
    out.add({ call: "setns", args: [e.fd, cloneFlags(types)] }, {
      syscall: "setns",
      operation: types.length > 1
        ? `join the ${types.join(", ")} namespaces of "${e.path}"`
        : `join the ${types[0]} namespace of "${e.path}"`,
      path: e.path,
      role: "enter",
      types,
    });
  }
  if (p.enterIds) takeIds(out, p.enterIds.uid, p.enterIds.gid, "try");
  if (exec.rootFd !== undefined) {
    const info = { operation: `change the root directory to "${p.enterRoot}"`, path: p.enterRoot!, role: "root" };
    out.add({ call: "fchdir", args: [exec.rootFd] }, { ...info, syscall: "fchdir" });
    out.add({ call: "chroot", args: [{ str: "." }] }, { ...info, syscall: "chroot" });
  }
  if (exec.wdFd !== undefined) {
    out.add({ call: "fchdir", args: [exec.wdFd] }, {
      syscall: "fchdir",
      operation: `change the working directory to "${p.enterWd}"`,
      path: p.enterWd!,
      role: "root",
    });
  } else if (exec.rootFd !== undefined) {
    out.add({ call: "chdir", args: [{ str: "/" }] }, {
      syscall: "chdir",
      operation: 'change the working directory to "/"',
      role: "root",
    });
  }
  return joining.length > 0;
}

/**
 * Joining a PID namespace only changes the namespace of children, and new
 * namespaces must be made inside the joined ones: both take a clone here.
 * CLONE_PARENT makes the new process a child of nsh, which reaps it, and
 * lets its parent half end at once. A new PID namespace can only be made by
 * a process already in the joined one: then a first clone enters it. All
 * clone steps start on the same stack, which the routine never writes.
 */
function forkIntoJoined(
  out: Program,
  p: Plan,
  entered: readonly Joined[],
  mode: LaunchMode,
  deferred: number,
): { forks: boolean; forksInside: boolean; newFlags: number } {
  const newFlags = cloneFlags(p.namespaces) & ~CLONE_NEWTIME & ~deferred;
  const joinsPid = entered.some((e) => typesOf(e).includes("pid"));
  const forks = joinsPid || (entered.length > 0 && newFlags !== 0);
  const cloneStep = (extra: number, operation: string) => {
    const flags = CLONE_PARENT | SIGCHLD | extra | (mode === "copy" ? 0 : CLONE_VM) |
      (mode === "async" ? 0 : CLONE_VFORK);
    out.add({ call: "clone", args: [flags, { secondStack: true }, 0, 0, 0], exitIfParent: true }, {
      syscall: "clone",
      operation,
      role: "fork",
    });
  };
  if (forks) {
    const creates = `create ${p.namespaces.filter((t) => t !== "time").join(", ")} namespaces`;
    if (joinsPid && newFlags & CLONE_NEWPID) {
      cloneStep(0, "start a process in the joined PID namespace");
      cloneStep(newFlags, creates);
    } else cloneStep(newFlags, newFlags ? creates : "start a process in the joined namespaces");
  }
  return { forks, forksInside: forks && joinsPid && (newFlags & CLONE_NEWPID) !== 0, newFlags };
}

/**
 * A time namespace is made before waiting for the parent, so that the parent
 * can bind it (time_for_children) to a file. clone(2) cannot take
 * CLONE_NEWTIME (0x80 is part of the exit signal byte): it is unshared here,
 * and execve then moves the child into it (Linux 6.0+).
 */
function timeNamespace(out: Program, p: Plan): void {
  if (!p.namespaces.includes("time")) return;
  out.add({ call: "unshare", args: [CLONE_NEWTIME] }, {
    syscall: "unshare",
    operation: "create a time namespace",
    role: "time",
  });
  const lines = [];
  if (p.monotonic) lines.push(`monotonic ${p.monotonic} 0`);
  if (p.boottime) lines.push(`boottime ${p.boottime} 0`);
  if (lines.length) {
    out.writeFile("/proc/self/timens_offsets", lines.join("\n") + "\n", {
      operation: `set the clock offsets "${lines.join(", ")}"`,
      path: "/proc/self/timens_offsets",
      role: "time",
    });
  }
}

/** Tells the parent that the child is ready (its namespaces all exist), then waits for it. */
function waitForParent(out: Program, exec: ExecSpec): void {
  if (!exec.sync) return;
  const info: OpInfo = { syscall: "read", operation: "wait for the parent's part of the setup", role: "sync" };
  out.add(readyStep(), { ...info, syscall: "write" });
  out.add({ call: "close", args: [exec.sync.write] }, { ...info, syscall: "close" });
  out.add({ call: "read", args: [exec.sync.read, { zeros: 8 }, 1], zeroFails: true }, info);
  out.add({ call: "close", args: [exec.sync.read] }, { ...info, syscall: "close" });
}

/** The child's own id maps, when no privileged writer is needed; setgroups first. */
function idMaps(out: Program, p: Plan): void {
  if (p.mapsNeedParent) return;
  if (p.setgroups) {
    out.writeFile("/proc/self/setgroups", p.setgroups, {
      operation: `write "${p.setgroups}" to /proc/self/setgroups`,
      path: "/proc/self/setgroups",
      role: "idmap",
    });
  }
  for (const [what, map] of [["uid", p.uidMap], ["gid", p.gidMap]] as const) {
    if (!map) continue;
    const text = formatIdMap(map);
    out.writeFile(`/proc/self/${what}_map`, text, {
      operation: `write the ${what} map "${text.trim()}"`,
      path: `/proc/self/${what}_map`,
      role: "idmap",
    });
  }
}

/**
 * When the child's own ids are not mapped in its new user namespace but
 * root is (ranges mapped by root, the caller left out), it takes root's ids
 * there as soon as the maps exist: unmapped, it could make no file or mount
 * point (EOVERFLOW), and root in the box is what the maps mean.
 */
function becomeMapped(out: Program, p: Plan, euid: number): void {
  if (!p.namespaces.includes("user") || !p.uidMap) return;
  const uid = p.enterIds?.uid ?? euid;
  const maps = (map: Plan["uidMap"], id: number) => map?.some((r) => id >= r.outside && id < r.outside + r.count);
  const rootInside = (map: Plan["uidMap"]) => map?.some((r) => r.inside === 0);
  if (maps(p.uidMap, uid) || !rootInside(p.uidMap)) return;
  takeIds(out, 0, rootInside(p.gidMap) ? 0 : undefined, "try");
}

/** The propagation of a new mount tree: private unless told. */
function mountPropagation(out: Program, p: Plan): void {
  if (!p.namespaces.includes("mnt") || p.propagation === "unchanged") return;
  const flag = { private: MS.PRIVATE, shared: MS.SHARED, slave: MS.SLAVE }[p.propagation];
  out.add({ call: "mount", args: [{ str: "none" }, { str: "/" }, 0, MS.REC | flag, 0] }, {
    syscall: "mount",
    operation: `make the mount tree ${p.propagation}`,
    path: "/",
    role: "propagation",
  });
}

/** `root()` and `workdir()`: a new root directory (`--root`), then the working directory. */
function rootAndWorkdir(out: Program, p: Plan): void {
  if (p.root !== undefined) {
    out.add({ call: "chroot", args: [{ str: p.root }] }, {
      syscall: "chroot",
      operation: `change the root directory to "${p.root}"`,
      path: p.root,
      role: "root",
    });
  }
  const wd = p.wd ?? (p.root !== undefined ? "/" : undefined);
  if (wd !== undefined) {
    out.add({ call: "chdir", args: [{ str: wd }] }, {
      syscall: "chdir",
      operation: `change the working directory to "${wd}"`,
      path: wd,
      role: "root",
    });
  }
}

/**
 * Only 0-2 and the descriptors passed on reach the program: whatever this
 * process inherited or opened without O_CLOEXEC is closed at execve
 * (close_range(CLOSE_RANGE_CLOEXEC), Linux 5.11), late, so that no descriptor
 * a setup step made is left either. A passed descriptor loses its O_CLOEXEC.
 */
function passDescriptors(out: Program, keepFds: readonly number[]): void {
  const keep = [...new Set(keepFds)].filter((fd) => fd > 2).sort((a, b) => a - b);
  let from = 3;
  for (const fd of [...keep, UINT_MAX + 1]) {
    if (fd > from) {
      out.add({ call: "close_range", args: [from, fd - 1, CLOSE_RANGE_CLOEXEC], ignore: true }, {
        syscall: "close_range",
        operation: "close the descriptors the program does not get",
        role: "fds",
      });
    }
    if (fd <= UINT_MAX) {
      out.add({ call: "fcntl", args: [fd, F_SETFD, 0] }, {
        syscall: "fcntl",
        operation: `pass descriptor ${fd} on`,
        role: "fds",
      });
    }
    from = fd + 1;
  }
}

/**
 * The child becomes nsh's init and the program's process its child, as
 * bubblewrap forks its PID 1. The locks are taken first, so that a lock held
 * by another process fails the start; the init keeps them, the program does
 * not. The clone shares the memory and waits (vfork) until the program's
 * execve: only then does the parent half run the steps marked for it, which
 * end in the init's execveat.
 */
function underInit(out: Program, p: Plan, init: InitSpec): void {
  const role = "init";
  const locks = (init.locks ?? []).map((path) => {
    // Not close-on-exec: the init keeps it across its execveat.
    const fd = out.add({ call: "openat", args: [AT_FDCWD, { str: path }, O_RDONLY, 0] }, {
      syscall: "open",
      operation: `open the lock file "${path}"`,
      path,
      role,
    });
    const lock = new Uint8Array(FLOCK_SIZE);
    new DataView(lock.buffer).setInt16(0, F_RDLCK, true);
    out.add({ call: "fcntl", args: [{ result: fd }, F_OFD_SETLK, { bytes: lock }] }, {
      syscall: "fcntl",
      operation: `lock "${path}"`,
      path,
      role,
    });
    return fd;
  });
  const clone = out.add({
    call: "clone",
    args: [CLONE_VM | CLONE_VFORK | SIGCHLD, { secondStack: true }, 0, 0, 0],
  }, { syscall: "clone", operation: "start the program's process under nsh's init", role });
  const parent = { onlyIf: { step: clone, result: "positive" } } as const;
  out.add({ call: "dup3", args: [init.report, 0, 0], ...parent }, {
    syscall: "dup2",
    operation: "give nsh's init the pipe it reports on",
    role,
  });
  for (const fd of init.keep ?? []) {
    out.add({ call: "fcntl", args: [fd, F_SETFD, 0], ...parent }, {
      syscall: "fcntl",
      operation: `keep descriptor ${fd} open in nsh's init`,
      role,
    });
  }
  out.add({
    call: "execveat",
    args: [init.fd, { str: "" }, { strs: ["nsh-init"] }, { strs: [] }, AT_EMPTY_PATH],
    ...parent,
  }, { syscall: "execveat", operation: "start nsh's init", role });
  // The program's process: without the locks, and with the death signal
  // again, which a fork clears.
  for (const fd of locks) {
    out.add({ call: "close", args: [{ result: fd }] }, { syscall: "close", operation: "close a lock file", role });
  }
  askForDeathSignal(out, p);
}

/**
 * The holder leaves the terminal's session, so that no job control signal
 * reaches it, and keeps every signal blocked: only SIGKILL ends it, and it
 * waits for SIGCHLD with rt_sigtimedwait.
 */
function hold(out: Program, exec: ExecSpec): void {
  out.add({ call: "setsid", args: [], ignore: true }, {
    syscall: "setsid",
    operation: "leave the terminal's session",
    role: "signals",
  });
  out.add({
    call: "execveat",
    args: [exec.holderFd!, { str: "" }, { strs: exec.argv }, { strs: [] }, AT_EMPTY_PATH],
  }, { syscall: "execveat", operation: "start the holder of the namespaces", role: "exec" });
}

/** execve of each PATH candidate in turn, as execvp(3) tries them. */
function execute(out: Program, p: Plan, exec: ExecSpec): void {
  const name = exec.file ?? exec.argv[0] ?? "";
  const first = out.ops.length;
  // A path with a slash is executed as it is, not searched for.
  const search = !name.includes("/");
  const envp: Arg = "environ" in exec.envp ? { load: exec.envp.environ } : { strs: exec.envp };
  const sameEnvp: Arg = "environ" in exec.envp ? envp : { sameAs: [first, 2] };
  // The program is looked for in the new root: say so.
  const where = p.root === undefined ? "" : ` in the new root "${p.root}"`;
  let shell: number | undefined;
  exec.candidates.forEach((path, i) => {
    const last = i === exec.candidates.length - 1;
    const candidate = out.add({
      call: "execve",
      args: i === 0 ? [{ str: path }, { strs: exec.argv }, envp] : [{ str: path }, { sameAs: [first, 1] }, sameEnvp],
      noexecNext: true,
      ...(!search ? {} : last ? { last: true } : { try: true }),
    }, { syscall: "execve", operation: `execute "${name}"${where}`, path: name, role: "exec" });
    // As execvp(3) (POSIX): a file that the kernel cannot run (ENOEXEC: a
    // script without #!) is run by /bin/sh, with the same environment.
    const at = out.add({
      call: "execve",
      args: [
        shell === undefined ? { str: SHELL } : { sameAs: [shell, 0] },
        { shellArgv: { file: [candidate, 0], argv: [first, 1], count: exec.argv.length } },
        sameEnvp,
      ],
      ifNoexec: true,
    }, {
      syscall: "execve",
      operation: `execute "${name}"${where} with ${SHELL} (it has no #! line)`,
      path: SHELL,
      role: "script",
    });
    shell ??= at;
  });
}
