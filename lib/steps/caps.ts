/**
 * Capabilities of the program and no_new_privs: what a program in the box
 * may still do as root, and whether execve can ever grant it more.
 *
 * @module
 */

import { noNewPrivsBefore, type PlanView, type StepKind } from "./_kind.ts";
import {
  CAPABILITY_NAMES,
  EINVAL,
  EPERM,
  LINUX_CAPABILITY_VERSION_3,
  PR_CAP_AMBIENT,
  PR_CAP_AMBIENT_RAISE,
  PR_CAPBSET_DROP,
  PR_SET_KEEPCAPS,
  PR_SET_NO_NEW_PRIVS,
} from "../../ffi/constants.ts";
import { nearest } from "./_hints.ts";
import { nestedUid } from "./userns.ts";

/** Keep the capabilities of the user namespace across execve. */
export interface KeepCapsStep {
  /** The kind of step. */
  readonly kind: "keep-caps";
}

/** Capabilities dropped, kept or added back. */
export interface CapabilitiesStep {
  /** The kind of step. */
  readonly kind: "capabilities";
  /**
   * What to do with the named ones: `drop` them, `keep` only them (drop the
   * others), or `add` them back after a drop.
   */
  readonly change: "drop" | "keep" | "add";
  /** Capability names (`CAP_NET_ADMIN`, `net_admin`) or `ALL`. */
  readonly names: readonly string[];
}

/** No execve may grant privileges again. */
export interface NoNewPrivsStep {
  /** The kind of step. */
  readonly kind: "no-new-privs";
}

/**
 * Keeps the capabilities of the new user namespace across execve(2) for a
 * program that does not run as root inside (`--keep-caps`).
 *
 * @example uid 1000 in the box, with the capabilities of root there
 * ```ts
 * import assert from "node:assert/strict";
 * import { keepCaps, mapUser, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(mapUser(1000), keepCaps());
 * assert.equal(await box.run("id", "-u").text(), "1000");
 * assert.notEqual(await box.run("grep", "CapEff", "/proc/self/status").text(), "CapEff:\t0000000000000000");
 * ```
 *
 * @returns The step.
 */
export function keepCaps(): KeepCapsStep {
  return { kind: "keep-caps" };
}

/**
 * Drops capabilities from every set of the program (bounding, permitted,
 * effective, inheritable, ambient), so that even root in the box lacks them
 * after execve. Steps of this kind apply in order: drop `ALL`, then add some
 * back.
 *
 * @example Root in the box, without CAP_NET_ADMIN
 * ```ts
 * import assert from "node:assert/strict";
 * import { dropCapabilities, mapRootUser, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(mapRootUser(), dropCapabilities("net_admin", "CAP_SYS_ADMIN"));
 * const effective = (await box.run("grep", "CapEff", "/proc/self/status").text()).split("\t")[1];
 * assert.equal(BigInt(`0x${effective}`) & (1n << 12n), 0n); // CAP_NET_ADMIN is bit 12
 * ```
 *
 * @param names Capability names, with or without `CAP_`, any case; `ALL`.
 * @returns The step.
 */
export function dropCapabilities(...names: string[]): CapabilitiesStep {
  return { kind: "capabilities", change: "drop", names };
}

/**
 * Keeps only the named capabilities and drops every other. A program that
 * does not run as root in the box gets them as ambient capabilities, so that
 * it has them after execve too.
 *
 * @example uid 1000 in the box may bind port 80, and nothing more
 * ```ts
 * import assert from "node:assert/strict";
 * import { keepCapabilities, mapUser, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(mapUser(1000), keepCapabilities("net_bind_service"));
 * // CAP_NET_BIND_SERVICE is bit 10
 * assert.equal(await box.run("grep", "CapEff", "/proc/self/status").text(), "CapEff:\t0000000000000400");
 * ```
 *
 * @param names Capability names, with or without `CAP_`, any case; `ALL`.
 * @returns The step.
 */
export function keepCapabilities(...names: string[]): CapabilitiesStep {
  return { kind: "capabilities", change: "keep", names };
}

/**
 * Adds capabilities back after a {@linkcode dropCapabilities} step, as
 * bubblewrap's `--cap-add` does after `--cap-drop ALL`.
 *
 * @example Root in the box with every capability dropped but one
 * ```ts
 * import assert from "node:assert/strict";
 * import { addCapabilities, dropCapabilities, mapRootUser, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(mapRootUser(), dropCapabilities("ALL"), addCapabilities("CAP_NET_BIND_SERVICE"));
 * assert.equal(await box.run("grep", "CapEff", "/proc/self/status").text(), "CapEff:\t0000000000000400");
 * ```
 *
 * @param names Capability names, with or without `CAP_`, any case; `ALL`.
 * @returns The step.
 */
export function addCapabilities(...names: string[]): CapabilitiesStep {
  return { kind: "capabilities", change: "add", names };
}

/**
 * Sets no_new_privs (`PR_SET_NO_NEW_PRIVS`): no execve in the box can grant
 * privileges again, through setuid bits or file capabilities. A seccomp
 * filter needs it unless the box has CAP_SYS_ADMIN.
 *
 * @example The flag the program inherits
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, noNewPrivs, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(mapRootUser(), noNewPrivs());
 * assert.equal(await box.run("grep", "NoNewPrivs", "/proc/self/status").text(), "NoNewPrivs:\t1");
 * ```
 *
 * @returns The step.
 */
export function noNewPrivs(): NoNewPrivsStep {
  return { kind: "no-new-privs" };
}

/**
 * The number of a capability.
 *
 * @example Three spellings of one capability, and a typo
 * ```ts
 * import assert from "node:assert/strict";
 * import { capabilityNumber } from "@nsh/nsh";
 *
 * assert.equal(capabilityNumber("CAP_NET_ADMIN"), 12);
 * assert.equal(capabilityNumber("net_admin"), 12);
 * assert.throws(() => capabilityNumber("net_amdin"), { message: 'Unknown capability "net_amdin"; did you mean CAP_NET_ADMIN?' });
 * ```
 *
 * @param name `CAP_NET_ADMIN`, `net_admin`, `NET_ADMIN`.
 * @returns Its number.
 * @throws {TypeError} For an unknown name, with the nearest known one.
 */
export function capabilityNumber(name: string): number {
  const upper = name.toUpperCase();
  const full = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  const number = CAPABILITY_NAMES.indexOf(full);
  if (number >= 0) return number;
  const guess = nearest(full, CAPABILITY_NAMES);
  throw new TypeError(`Unknown capability "${name}"${guess ? `; did you mean ${guess}?` : ""}`);
}

/** The capabilities a set of names means: `ALL` is every one the kernel knows. */
function namedSet(names: readonly string[], last: number): Set<number> {
  if (names.some((n) => n.toUpperCase() === "ALL")) return new Set(Array.from({ length: last + 1 }, (_, i) => i));
  return new Set(names.map(capabilityNumber).filter((n) => n <= last));
}

/**
 * The uid the program runs as in the box, as the child sees it: what it
 * takes (`setuid`), or what its uid outside maps to in a new user namespace
 * (the overflow uid when unmapped), or its own.
 */
function programUid(plan: PlanView, euid: number): number {
  if (plan.setuid !== undefined) return plan.setuid;
  const nested = nestedUid(plan, euid);
  if (nested !== undefined) return nested;
  const uid = plan.enterIds?.uid ?? euid;
  if (!plan.namespaces.includes("user")) return uid;
  const range = plan.uidMap?.find((r) => uid >= r.outside && uid < r.outside + r.count);
  return range ? range.inside + uid - range.outside : 65534;
}

/** The capability words of capset(2): version 3 header, then effective, permitted and inheritable, low then high. */
function capsetArgs(set: ReadonlySet<number>): [Uint8Array, Uint8Array] {
  const header = new Uint8Array(8);
  new DataView(header.buffer).setUint32(0, LINUX_CAPABILITY_VERSION_3, true);
  const words = [0, 0];
  for (const cap of set) words[cap >> 5]! |= 1 << (cap & 31);
  const data = new Uint8Array(24);
  const view = new DataView(data.buffer);
  for (const [i, word] of words.entries()) {
    for (let field = 0; field < 3; field++) view.setUint32(i * 12 + field * 4, word >>> 0, true);
  }
  return [header, data];
}

/** The kind of {@linkcode keepCaps} steps. */
const KEEP_CAPS: StepKind<KeepCapsStep> = {
  kind: "keep-caps",
  phase: "caps",
  repeats: "last",
  implies: () => ["user"],
  compile(_step, out) {
    // Ambient capabilities must also be inheritable: copy permitted to
    // inheritable with capset(2), then raise each one.
    const last = out.facts.capLastCap;
    const [header, data] = capsetArgs(namedSet(["ALL"], last));
    out.add({ call: "capset", args: [{ bytes: header }, { bytes: data }] }, {
      syscall: "capset",
      operation: "make the capabilities inheritable",
      role: "keep-caps",
    });
    for (let cap = 0; cap <= last; cap++) {
      out.add({ call: "prctl", args: [PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0], ignore: true }, {
        syscall: "prctl",
        operation: `raise ambient capability ${cap}`,
        role: "keep-caps",
      });
    }
  },
  code: () => ({ fn: "keepCaps", args: [] }),
};

/** The set a folded capabilities step keeps, written as `keep` of the names. */
const CAPABILITIES: StepKind<CapabilitiesStep> = {
  kind: "capabilities",
  phase: "caps",
  laterPhases: ["harden"],
  repeats: "fold",
  check(step) {
    for (const name of step.names) if (name.toUpperCase() !== "ALL") capabilityNumber(name);
  },
  fold(steps) {
    // From every capability, each change in order.
    let kept = new Set(CAPABILITY_NAMES);
    for (const step of steps) {
      const named = new Set(
        step.names.some((n) => n.toUpperCase() === "ALL")
          ? CAPABILITY_NAMES
          : step.names.map((n) => CAPABILITY_NAMES[capabilityNumber(n)]!),
      );
      if (step.change === "keep") kept = named;
      else if (step.change === "add") kept = new Set([...kept, ...named]);
      else kept = new Set([...kept].filter((n) => !named.has(n)));
    }
    const all = kept.size === CAPABILITY_NAMES.length;
    return { kind: "capabilities", change: "keep", names: all ? ["ALL"] : CAPABILITY_NAMES.filter((n) => kept.has(n)) };
  },
  compile(step, out, plan, phase) {
    const last = out.facts.capLastCap;
    const kept = namedSet(step.names, last);
    const uid = programUid(plan, out.facts.euid);
    if (phase === "caps") {
      // Before the ids change: a uid that stops being 0 keeps the permitted
      // set only with KEEPCAPS, and the bounding set needs CAP_SETPCAP.
      if (uid !== 0 && kept.size) {
        out.add({ call: "prctl", args: [PR_SET_KEEPCAPS, 1, 0, 0, 0] }, {
          syscall: "prctl",
          operation: "keep the capabilities while the uid changes",
          role: "capabilities",
        });
      }
      for (let cap = 0; cap <= last; cap++) {
        if (kept.has(cap)) continue;
        out.add({ call: "prctl", args: [PR_CAPBSET_DROP, cap, 0, 0, 0] }, {
          syscall: "prctl",
          operation: `drop ${CAPABILITY_NAMES[cap] ?? `capability ${cap}`} from the bounding set`,
          role: "capabilities",
        });
      }
      return;
    }
    // After the ids changed: permitted, effective and inheritable are what is
    // kept (and held: without a user namespace or root, nsh's own), and a
    // program that is not root gets them as ambient ones, which survive execve.
    const held = out.facts.capabilitiesHeld(plan);
    const mine = new Set([...kept].filter((cap) => held.has(cap)));
    const [header, data] = capsetArgs(mine);
    out.add({ call: "capset", args: [{ bytes: header }, { bytes: data }] }, {
      syscall: "capset",
      operation: `keep only ${mine.size ? [...mine].map((c) => CAPABILITY_NAMES[c]).join(", ") : "no capability"}`,
      role: "capabilities",
    });
    if (uid === 0) return;
    for (const cap of mine) {
      out.add({ call: "prctl", args: [PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0] }, {
        syscall: "prctl",
        operation: `raise ${CAPABILITY_NAMES[cap]} as an ambient capability`,
        role: "capabilities",
      });
    }
  },
  code: (step) => ({
    fn: { drop: "dropCapabilities", keep: "keepCapabilities", add: "addCapabilities" }[step.change],
    args: step.names,
  }),
  hint(info, errno) {
    if (errno === EPERM && info.operation.includes("bounding set")) {
      return "dropping capabilities needs CAP_SETPCAP: root, or a user namespace of the box's own (--user)";
    }
    if (errno === EPERM) return "a capability can only be kept where it is held: root, or a user namespace (--user)";
    if (errno === EINVAL && info.operation.includes("ambient")) {
      return "an ambient capability must be permitted and inheritable, and not locked out by securebits";
    }
    return undefined;
  },
};

/** The kind of {@linkcode noNewPrivs} steps. */
const NO_NEW_PRIVS: StepKind<NoNewPrivsStep> = {
  kind: "no-new-privs",
  phase: "harden",
  repeats: "last",
  compile(step, out, plan) {
    if (noNewPrivsBefore(plan, step)) return;
    out.add({ call: "prctl", args: [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0] }, {
      syscall: "prctl",
      operation: "set no_new_privs",
      role: "no-new-privs",
    });
  },
  code: () => ({ fn: "noNewPrivs", args: [] }),
};

/** The kinds of steps this module defines, for lib/steps/_registry.ts. */
export const KINDS = [KEEP_CAPS, CAPABILITIES, NO_NEW_PRIVS] as const;
