/**
 * Resource limits of a box: memory, swap, processes, CPU and I/O, set in a
 * cgroup made for the box (lib/cgroup.ts) and joined by the program before
 * its first instruction. The cgroup lives as long as the program: nsh kills
 * whatever is left in it when the program ends, reads what it used, and
 * removes it.
 *
 * @module
 */

import { encodeText } from "../../ffi/bytes.ts";
import { EACCES, EBUSY, ENODEV, ENOENT, EPERM, O_CLOEXEC, O_WRONLY } from "../../ffi/constants.ts";
import { Box, type BoxPlace, checkLimits, type Limits, parseCpuMax, parseSize } from "../cgroup.ts";
import type { Held, StepKind } from "./_kind.ts";
import { checkKeys } from "../check.ts";

/** Limits of a box, as {@linkcode limits} makes them: bytes and microseconds. */
export interface LimitsStep extends Limits {
  /** The kind of step. */
  readonly kind: "limits";
  /**
   * A cgroup v2 directory to make the box's cgroup below, instead of nsh's
   * own cgroup (a subtree delegated to the user, or an empty cgroup).
   */
  readonly parent?: string;
  /** Count all that the result's `usage` reports, also where it costs more (see {@linkcode LimitsOptions.usage}). */
  readonly usage?: boolean;
}

/** The limits of {@linkcode limits}, each named after the cgroup v2 file that sets it. */
export interface LimitsOptions {
  /** `memory.max`: bytes, a size such as `"64M"` or `"1G"`, or `"max"`. */
  readonly memoryMax?: number | string;
  /** `memory.swap.max`: swap the box may use besides, as `memoryMax`. */
  readonly memorySwapMax?: number | string;
  /** `pids.max`: processes and threads at once, or `"max"`. */
  readonly pidsMax?: number | "max";
  /**
   * `cpu.max`: `"50%"` of one CPU, `"50000/100000"` (quota and period in
   * microseconds), `"max"`, or `{ quota, period }`.
   */
  readonly cpuMax?: string | { readonly quota: number | "max"; readonly period?: number };
  /** `cpu.weight`: 1 to 10000, 100 being everyone's default. */
  readonly cpuWeight?: number;
  /** `io.weight`: 1 to 10000, 100 being everyone's default (1 to 1000 on cgroup v1). */
  readonly ioWeight?: number;
  /**
   * A cgroup v2 directory to make the box's cgroup below, instead of nsh's
   * own: a subtree delegated to the user (rootless), or an empty cgroup
   * (cgroup v2 gives controllers only to the children of a cgroup without
   * processes).
   */
  readonly parent?: string;
  /**
   * Count all that the result's `usage` reports, also where it costs more:
   * on a hybrid cgroup system (v1 and v2), the memory peak and OOM kills of a
   * box without a memory limit need the v1 memory hierarchy, and the program
   * a second move into a cgroup (a few hundred microseconds, the kernel's
   * RCU grace period). Without it, CPU time is counted in the v2 tree, and
   * memory where the box has a memory limit or cgroup v2 has the controller.
   *
   * @default {false}
   */
  readonly usage?: boolean;
}

const OPTION_NAMES = [
  "memoryMax",
  "memorySwapMax",
  "pidsMax",
  "cpuMax",
  "cpuWeight",
  "ioWeight",
  "parent",
  "usage",
] as const;

/**
 * Puts the program in a cgroup of its own with these limits, before its
 * first instruction: everything it starts stays in it. Without limits, the
 * cgroup only counts what the box uses (the result's `usage`) and lets
 * nsh kill the whole box at once. When the program ends, whatever it left
 * running in the box is killed and the cgroup removed.
 *
 * Works with cgroup v2 and v1 (memory, pids and cpu are v1 hierarchies on
 * hybrid systems). As root, the cgroup is made below nsh's own; rootless,
 * below a cgroup v2 subtree delegated to the user (nsh's own cgroup, when
 * it is the user's, or `parent`).
 *
 * @example A memory hog stopped at 64 MiB (as root: nsh's cgroup is root's)
 * ```ts
 * import assert from "node:assert/strict";
 * import { limits, sandbox } from "@nsh/nsh";
 *
 * // tail keeps a line that never ends.
 * const result = await sandbox(limits({ memoryMax: "64M", memorySwapMax: 0 }))
 *   .run("tail", "/dev/zero")
 *   .noThrow()
 *   .output();
 * assert.ok(result.oomKilled && result.code === 137);
 * assert.ok(result.usage!.memoryPeak! <= 64 * 1024 * 1024);
 * ```
 *
 * @param options The limits.
 * @returns The step.
 * @throws {RangeError} For a value out of range or malformed.
 * @throws {TypeError} For an unknown option.
 */
export function limits(options: LimitsOptions = {}): LimitsStep {
  checkKeys(options, OPTION_NAMES, "limits", "limit");
  const step: { -readonly [K in keyof LimitsStep]: LimitsStep[K] } = { kind: "limits" };
  if (options.memoryMax !== undefined) step.memoryMax = parseSize(options.memoryMax, "memory.max");
  if (options.memorySwapMax !== undefined) step.memorySwapMax = parseSize(options.memorySwapMax, "memory.swap.max");
  if (options.pidsMax !== undefined) step.pidsMax = options.pidsMax;
  if (options.cpuMax !== undefined) step.cpuMax = parseCpuMax(options.cpuMax);
  if (options.cpuWeight !== undefined) step.cpuWeight = options.cpuWeight;
  if (options.ioWeight !== undefined) step.ioWeight = options.ioWeight;
  if (options.parent !== undefined) step.parent = options.parent;
  if (options.usage) step.usage = true;
  checkLimits(step);
  return step;
}

/** Joins the cgroups of a box that lives: what the programs of a context with limits do. */
export interface EnterCgroupStep {
  /** The kind of step. */
  readonly kind: "enter-cgroup";
  /** The box, by its id in this process. */
  readonly box: number;
  /**
   * Its directories (descriptors), one per hierarchy, filled in right before
   * the child starts: the child writes to the `cgroup.procs` in each, or is
   * made in the v2 one by clone3.
   */
  readonly places?: readonly BoxPlace[];
}

/**
 * Joins the cgroups of a live box of this process (a context's: its
 * programs join the box its holder is in, so that its limits cover them).
 *
 * @example A program in the cgroup of a context's box (as root: nsh's cgroup is root's)
 * ```ts
 * import assert from "node:assert/strict";
 * import { type EnterCgroupStep, enterCgroup, limits, sandbox } from "@nsh/nsh";
 *
 * await using held = await sandbox(limits({ pidsMax: 64 })).hold();
 * // The step the context's own programs join it with, and the box's id it names
 * const { box } = held.sandbox().steps.find((step): step is EnterCgroupStep => step.kind === "enter-cgroup")!;
 * const cgroup = await sandbox(enterCgroup(box)).run("grep", ":pids:", "/proc/self/cgroup").text();
 * assert.equal(cgroup, await held.run("grep", ":pids:", "/proc/self/cgroup").text());
 * ```
 *
 * @param box The box's id.
 * @returns The step.
 */
export function enterCgroup(box: number): EnterCgroupStep {
  return { kind: "enter-cgroup", box };
}

/** The limits of a step, without its kind. */
function limitsOf(step: LimitsStep): Limits {
  const { kind: _kind, parent: _parent, usage: _usage, ...rest } = step;
  return rest;
}

/** The kind of {@linkcode limits} steps. */
const LIMITS: StepKind<LimitsStep> = {
  kind: "limits",
  phase: "cgroup",
  repeats: "fold",
  // Later limits win, one by one: --memory-max then --pids-max is both.
  fold: (steps) => Object.assign({}, ...steps) as LimitsStep,
  check(step) {
    checkLimits(step);
    if (step.parent !== undefined && (typeof step.parent !== "string" || !step.parent.startsWith("/"))) {
      throw new TypeError(`Cannot use ${Deno.inspect(step.parent)} as the cgroup parent: give an absolute path`);
    }
  },
  hold(step, view): Held {
    const joined = view.steps.find((s): s is EnterCgroupStep => s.kind === "enter-cgroup");
    const box = Box.create(limitsOf(step), {
      ...(step.parent !== undefined ? { parent: step.parent } : {}),
      ...(step.usage ? { usage: true } : {}),
      ...(joined ? { within: Box.byId(joined.box) } : {}),
    });
    const placed: EnterCgroupStep = { kind: "enter-cgroup", box: box.id, places: box.places };
    return {
      step: placed,
      joinSteps: [enterCgroup(box.id)],
      kill: () => box.kill(),
      change(other) {
        if (other.kind !== "limits") return false;
        box.set(limitsOf(other as LimitsStep));
        return true;
      },
      abandon: async () => void await box.end(),
      async end(how) {
        const usage = await box.end();
        const oomKilled = how.signal === "SIGKILL" && !how.killedByNsh && (usage.oomKills ?? 0) > 0;
        return { usage, ...(oomKilled ? { oomKilled } : {}) };
      },
    };
  },
  compile() {
    throw new TypeError("Cannot compile a limits step: the engine makes its cgroups first (StepKind.hold)");
  },
  code: (step) => ({ fn: "limits", args: [Object.fromEntries(Object.entries(step).filter(([k]) => k !== "kind"))] }),
};

const ZERO = encodeText("0");

/** The kind of {@linkcode enterCgroup} steps. */
const ENTER_CGROUP: StepKind<EnterCgroupStep> = {
  kind: "enter-cgroup",
  phase: "cgroup",
  repeats: "each",
  prepare: (step) => step.places ? step : { ...step, places: Box.byId(step.box).places },
  compile(step, out) {
    // Made there by clone3 where it can (no move, which waits for an RCU
    // grace period); else writing 0 moves the writer: the child, before
    // anything else it does. It opens cgroup.procs itself, below the
    // directory's descriptor.
    for (const { fd, path, v2 } of step.places ?? []) {
      const info = { operation: `join the cgroup "${path}"`, path: `${path}/cgroup.procs`, role: "enter-cgroup" };
      if (v2 && out.intoCgroup?.(fd)) continue;
      const procs = out.add({ call: "openat", args: [fd, { str: "cgroup.procs" }, O_WRONLY | O_CLOEXEC, 0] }, {
        ...info,
        syscall: "open",
      });
      out.add({ call: "write", args: [{ result: procs }, { bytes: ZERO }, 1] }, { ...info, syscall: "write" });
      out.add({ call: "close", args: [{ result: procs }] }, { ...info, syscall: "close" });
    }
  },
  code: (step) => ({ fn: "enterCgroup", args: [step.box] }),
  hint(_info, errno) {
    if (errno === EACCES || errno === EPERM) {
      return "cgroup v2 moves a process only within a subtree its user may write to: start nsh inside the " +
        "delegated cgroup (or one of its cgroups), not outside it";
    }
    if (errno === ENODEV || errno === ENOENT) return "the cgroup was removed meanwhile";
    if (errno === EBUSY) {
      return "that cgroup gives controllers to cgroups below it, and cgroup v2 puts processes only in leaves";
    }
    return undefined;
  },
};

/** The kinds of steps this module defines, for lib/steps/_registry.ts. */
export const KINDS = [LIMITS, ENTER_CGROUP] as const;
