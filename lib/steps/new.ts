/**
 * New namespaces: which kinds, which to bind to files, and the clock offsets
 * of a new time namespace.
 *
 * @module
 */

import { NAMESPACES, type NamespaceType } from "../namespaces.ts";
import type { StepKind } from "./_kind.ts";

/** New namespaces of some kinds. */
export interface NamespacesStep {
  /** The kind of step. */
  readonly kind: "namespaces";
  /** The kinds. */
  readonly types: readonly NamespaceType[];
}

/** A new namespace bound to a file. */
export interface PersistStep {
  /** The kind of step. */
  readonly kind: "persist";
  /** Its type. */
  readonly type: NamespaceType;
  /** The file. */
  readonly file: string;
}

/** The clocks a time namespace can shift. */
export type TimeClock = "monotonic" | "boottime";

/** A clock offset in a new time namespace. */
export interface TimeOffsetStep {
  /** The kind of step. */
  readonly kind: "time-offset";
  /** The clock. */
  readonly clock: TimeClock;
  /** The offset in seconds. */
  readonly seconds: number;
}

/**
 * New namespaces of the given kinds for the program.
 *
 * @example A network of its own, rootless: only a loopback interface
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, namespaces, sandbox } from "@nsh/nsh";
 *
 * const links = await sandbox(mapRootUser(), namespaces("net")).run("ip", "-brief", "link").lines();
 * assert.equal(links.length, 1);
 * assert.match(links[0]!, /^lo\s+DOWN/);
 * ```
 *
 * @param types The kinds, named as in `/proc/PID/ns/`.
 * @returns The step.
 * @throws {TypeError} For an unknown kind.
 */
export function namespaces(...types: NamespaceType[]): NamespacesStep {
  for (const type of types) {
    if (!NAMESPACES.some((n) => n.type === type)) {
      throw new TypeError(
        `Unknown namespace type "${type}"; the types are ${NAMESPACES.map((n) => n.type).join(", ")}`,
      );
    }
  }
  return { kind: "namespaces", types };
}

/**
 * Binds the program's new namespace of `type` to `file`, so that it outlives
 * every process (`unshare --net=FILE`). The file is created when missing. For
 * `pid` and `time` it is the namespace of the program's children, as
 * util-linux binds it. Implies the namespace; release it with
 * `releaseNamespace(file)`.
 *
 * @example A UTS namespace that outlives its program, joined later (as root, who may bind it)
 * ```ts
 * import assert from "node:assert/strict";
 * import { enter, hostname, persist, releaseNamespace, sandbox } from "@nsh/nsh";
 *
 * const dir = await Deno.makeTempDir();
 * await sandbox(persist("uts", `${dir}/uts`), hostname("kept")).run("true");
 * assert.equal(await sandbox(enter("uts", `${dir}/uts`)).run("hostname").text(), "kept");
 * await releaseNamespace(`${dir}/uts`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param type The namespace type.
 * @param file Where to bind it.
 * @returns The step.
 */
export function persist(type: NamespaceType, file: string): PersistStep {
  return { kind: "persist", type, file };
}

/**
 * Shifts a clock in a new time namespace (implied).
 *
 * @example A box whose system has been up a day longer, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, sandbox, timeOffset } from "@nsh/nsh";
 *
 * const day = 24 * 60 * 60;
 * const uptime = await sandbox(mapRootUser(), timeOffset("boottime", day)).run("cat", "/proc/uptime").text();
 * const host = await Deno.readTextFile("/proc/uptime");
 * assert.ok(parseFloat(uptime) - parseFloat(host) > day - 60);
 * ```
 *
 * @param clock `"monotonic"` or `"boottime"`.
 * @param seconds The offset, may be negative.
 * @returns The step.
 */
export function timeOffset(clock: TimeClock, seconds: number): TimeOffsetStep {
  return { kind: "time-offset", clock, seconds };
}

/** The kind of {@linkcode namespaces} steps. */
const NAMESPACES_KIND: StepKind<NamespacesStep> = {
  kind: "namespaces",
  phase: "core",
  repeats: "each",
  implies: (step) => step.types,
  code: (step) => ({ fn: "namespaces", args: step.types }),
};

/** The kind of {@linkcode persist} steps. */
const PERSIST: StepKind<PersistStep> = {
  kind: "persist",
  phase: "core",
  repeats: "each",
  implies: (step) => [step.type],
  code: (step) => ({ fn: "persist", args: [step.type, step.file] }),
};

/** The kind of {@linkcode timeOffset} steps. */
const TIME_OFFSET: StepKind<TimeOffsetStep> = {
  kind: "time-offset",
  phase: "core",
  repeats: "each",
  check(step) {
    if (!Number.isSafeInteger(step.seconds)) {
      throw new RangeError(`Cannot shift the ${step.clock} clock by ${step.seconds}: not a whole number of seconds`);
    }
  },
  implies: () => ["time"],
  code: (step) => ({ fn: "timeOffset", args: [step.clock, step.seconds] }),
};

/** The kinds of steps this module defines, for lib/steps/_registry.ts. */
export const KINDS = [NAMESPACES_KIND, PERSIST, TIME_OFFSET] as const;
