/**
 * What defines a kind of setup step: how it is checked, which namespaces it
 * implies, which system calls it becomes in the child, how `nsh export`
 * writes it and what a failure of it hints. One object per kind, beside the
 * function that makes its steps; lib/plan.ts and lib/compile.ts read them.
 *
 * Private to lib/: the public API is the step functions and `Step`.
 *
 * @module
 */

import type { Op } from "../../ffi/program.ts";
import type { NamespaceType } from "../namespaces.ts";
import type { Usage } from "../cgroup.ts";

/**
 * Where a step's system calls go in the child's program, in this order
 * (lib/compile.ts lists all phases, with those of the engine's own between):
 *
 * - `cgroup`: first of all, before anything else the child does (the move
 *   into a box's cgroups: no instruction of the program runs outside them);
 * - `uts`: hostname and domain name, after the id maps and the propagation;
 * - `mount`: mounts in the current tree, in the order given;
 * - `newroot`: a root assembled from nothing, then pivot_root;
 * - `proc`: after the root changed (proc shows the new PID namespace);
 * - `caps`: capabilities, before ids change;
 * - `harden`: after ids: no_new_privs, a new session, Landlock;
 * - `seccomp`: the last step before execve.
 *
 * `core` kinds are planned and compiled by lib/plan.ts and lib/compile.ts
 * themselves: namespaces, id maps, joins, the root, ids, the death signal,
 * clock offsets and the mount propagation, which shape how the child is
 * launched and what the parent does for it.
 */
export type Phase = "core" | "cgroup" | "uts" | "mount" | "newroot" | "proc" | "caps" | "harden" | "seccomp";

/** The phases of step kinds that compile themselves, in the order their calls run. */
export const PHASES: readonly Exclude<Phase, "core">[] = [
  "cgroup",
  "uts",
  "mount",
  "newroot",
  "proc",
  "caps",
  "harden",
  "seccomp",
];

/** What a system call of the child does, for error messages and hints. */
export interface OpInfo {
  /** The system call, as the error names it. */
  readonly syscall: string;
  /** What was attempted, as a verb phrase. */
  readonly operation: string;
  /** The path the user gave, if the call is about one. */
  readonly path?: string;
  /** The namespaces a call of the `enter` role joins, for hints. */
  readonly types?: readonly NamespaceType[];
  /** What the call belongs to: a phase of lib/compile.ts, or the kind of step that made it. */
  readonly role: string;
}

/** Facts about the machine and the caller that compiling may need. */
export interface CompileFacts {
  /** `CAP_LAST_CAP`. */
  readonly capLastCap: number;
  /** The caller's effective uid. */
  readonly euid: number;
  /** The caller's effective gid. */
  readonly egid: number;
  /**
   * The capabilities the child holds in its user namespace when it sets up:
   * all of them in a user namespace it made or joined; else this process's
   * own permitted set (root's may lack some, in a container).
   */
  capabilitiesHeld(plan: PlanView): ReadonlySet<number>;
}

/** Where a step kind writes the system calls of its steps. */
export interface Emitter {
  /**
   * Adds a system call.
   *
   * @returns Its index, for a later call that takes its result (`{ result }`).
   */
  add(op: Op, info: OpInfo): number;
  /** Adds open + write + close of a small file, each described by `info`. */
  writeFile(path: string, content: string | Uint8Array, info: Omit<OpInfo, "syscall">): void;
  /**
   * Asks for the child to be made in a cgroup v2 directory (clone3 with
   * CLONE_INTO_CGROUP), instead of moving itself there with a call: a move
   * waits for the kernel's RCU grace period, a few hundred microseconds. Only
   * as the child's first action, once.
   *
   * @param fd A descriptor of the directory.
   * @returns Whether the launch will do it (if clone3 then fails, the engine
   *   compiles again without it); else the step moves the child itself.
   */
  intoCgroup?(fd: number): boolean;
  /** Facts about the machine. */
  readonly facts: CompileFacts;
}

/** The part of a plan that a step kind may consult when it compiles. */
export interface PlanView {
  /** The namespaces the child creates. */
  readonly namespaces: readonly NamespaceType[];
  /** The new root, if the root changes (`root()`). */
  readonly root: string | undefined;
  /** The uid the program takes inside, if set. */
  readonly setuid: number | undefined;
  /** Lines of the uid map of a new user namespace, if one is written. */
  readonly uidMap: readonly { readonly inside: number; readonly outside: number; readonly count: number }[] | undefined;
  /** Existing namespaces joined first. */
  readonly enter: readonly { readonly type: NamespaceType }[];
  /** The ids taken in a joined user namespace, if any. */
  readonly enterIds: { readonly uid: number; readonly gid: number } | undefined;
  /** Lines of the gid map of a new user namespace, if one is written. */
  readonly gidMap: readonly { readonly inside: number; readonly outside: number; readonly count: number }[] | undefined;
  /** The steps that write their own system calls, in the order they run. */
  readonly actions: readonly { readonly kind: string }[];
}

/**
 * Whether a step that runs before `step` sets no_new_privs (a no-new-privs
 * step, or a Landlock or seccomp step that sets it): `step` need not set it
 * again, one prctl(2) fewer per start.
 *
 * @param plan The plan.
 * @param step A step of `plan.actions`.
 * @returns `true` when it is set by then.
 */
export function noNewPrivsBefore(plan: PlanView, step: { readonly kind: string }): boolean {
  const at = plan.actions.indexOf(step);
  return plan.actions.slice(0, Math.max(at, 0)).some((s) =>
    s.kind === "no-new-privs" || ("noNewPrivs" in s && s.noNewPrivs === true)
  );
}

/**
 * Calls that surround the calls of a run of steps that share it, in their
 * phase: once before the first, once after the last (the new root's staging
 * and its final pivot_root, around the operations that fill it).
 */
export interface Frame {
  /** Before the first step of the run; what it returns is given to `end`. */
  begin(out: Emitter, plan: PlanView): number;
  /** After the last. */
  end(out: Emitter, plan: PlanView, begun: number): void;
}

/** What a step kind may learn in the parent, right before a child starts. */
export interface PrepareView {
  /**
   * Whether this process sees the paths the child sees before its mounts:
   * not when the child joins another mount namespace (a shell context's).
   */
  readonly sameMounts: boolean;
}

/** What a held resource adds to the exit status of its child. */
export interface HeldReport {
  /** What the child's box used (cgroup limits). */
  readonly usage?: Usage;
  /** The OOM killer killed the program (not nsh, nor another process). */
  readonly oomKilled?: boolean;
}

/** How the child of a held resource ended, as the resource needs to know it. */
export interface HeldEnd {
  /** The signal that ended the program, if one did. */
  readonly signal: string | null;
  /** Whether nsh itself sent SIGKILL to it (kill(), a timeout, an abort). */
  readonly killedByNsh: boolean;
}

/**
 * A resource that a step holds for one child, such as the cgroup of a box
 * with limits: made in the parent right before the child starts (by
 * {@linkcode StepKind.hold}), and ended once the child has been reaped. The
 * launch (lib/engine.ts) makes it and the child (lib/child.ts) ends it;
 * nothing else knows what it is.
 */
export interface Held {
  /** The step to compile in place of the one given: what the child does to use the resource. */
  readonly step: { readonly kind: string };
  /**
   * Steps by which other children join the resource instead of making their
   * own: a context's programs join its holder's box.
   */
  readonly joinSteps?: readonly { readonly kind: string }[];
  /**
   * Kills every process the resource holds at once (the whole box); called
   * when SIGKILL is sent to the child.
   */
  kill?(): void;
  /**
   * Changes the resource for a later step of its kind, while it lives (a
   * context's limits changed).
   *
   * @returns `false` when the step is not for this resource.
   * @throws {Error} When it cannot be changed so.
   */
  change?(step: { readonly kind: string }): boolean;
  /** Undoes it when the child did not start (or failed in its setup and was reaped). */
  abandon(): Promise<void>;
  /**
   * Ends it once the child has been reaped: ends what the child left in it,
   * and says what the exit status should tell of it.
   */
  end(how: HeldEnd): Promise<HeldReport>;
}

/** The definition of one kind of step. */
export interface StepKind<S extends { readonly kind: string }> {
  /** The kind, as in the step's `kind` field. */
  readonly kind: S["kind"];
  /** Where its calls go; see {@linkcode Phase}. Its steps are ordered among the others by this phase. */
  readonly phase: Phase;
  /** More phases it writes calls in, after the first (capabilities: some before the ids change, some after). */
  readonly laterPhases?: readonly Phase[];
  /**
   * `"last"`: a later step of the kind replaces an earlier one (a hostname);
   * `"each"`: all take effect in order (mounts); `"fold"`: all are folded
   * into one with {@linkcode StepKind.fold} (capabilities dropped, then some
   * added back).
   */
  readonly repeats: "last" | "each" | "fold";
  /** Folds the steps of the kind, in order, into the one that takes effect. */
  fold?(steps: readonly S[]): S;
  /**
   * Checks a step's values before anything starts.
   *
   * @throws {TypeError} For malformed or contradictory values.
   * @throws {RangeError} For values out of range.
   */
  check?(step: S): void;
  /**
   * Makes a step read back from JSON usable again (what it held outside
   * its plain values, such as a compiled filter's bytes): the policy of a
   * named context, for another nsh that enters it. By default, as read.
   */
  revive?(value: S): S;
  /** The new namespaces it needs, given the types the steps join (a joined UTS namespace takes a hostname itself). */
  implies?(step: S, joined: ReadonlySet<NamespaceType>): readonly NamespaceType[];
  /** Calls around a run of its steps; see {@linkcode Frame}. */
  readonly frame?: Frame;
  /**
   * Completes a step in the parent right before the child starts, with what
   * only the parent can know (a source path resolved, its type): the step to
   * compile, or `undefined` to leave it out (an optional source that is
   * missing).
   *
   * @throws {SyscallError} When the step cannot be carried out (a source that is missing).
   */
  prepare?(step: S, view: PrepareView): S | undefined;
  /**
   * Makes what the step holds for one child (a box's cgroup), right before
   * the child starts, after {@linkcode StepKind.prepare}. Its `Child`
   * (lib/child.ts) ends it when the child has been reaped; the launch
   * abandons it when the start fails.
   *
   * @param step The step.
   * @param view What the parent knows; `steps` are the plan's other steps
   *   that compile themselves (a join of a context's box, to nest in).
   * @throws {Error} When the resource cannot be made; nothing is left behind.
   */
  hold?(step: S, view: PrepareView & { readonly steps: readonly { readonly kind: string }[] }): Held;
  /** Writes its system calls for a phase (kinds of a phase other than `core`). */
  compile?(step: S, out: Emitter, plan: PlanView, phase: Phase): void;
  /** The function of mod.ts that makes the step, and its arguments, as `nsh export` writes it. */
  code(step: S): StepCode;
  /** A hint for a failed call of its steps, when one applies. */
  hint?(info: OpInfo, errno: number, rootless: boolean): string | undefined;
}

/** A call of a step function: `hostname("box")`. */
export interface StepCode {
  /** The function's name in mod.ts. */
  readonly fn: string;
  /** Its arguments, as JSON-like values (`undefined` for a default left out). */
  readonly args: readonly unknown[];
}
