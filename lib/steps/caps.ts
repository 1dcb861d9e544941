/**
 * Capabilities of the program.
 *
 * @module
 */

import type { StepKind } from "./_kind.ts";

/** Keep the capabilities of the user namespace across execve. */
export interface KeepCapsStep {
  /** The kind of step. */
  readonly kind: "keep-caps";
}

/**
 * Keeps the capabilities of the new user namespace across execve(2) for a
 * program that does not run as root inside (`--keep-caps`).
 *
 * @returns The step.
 */
export function keepCaps(): KeepCapsStep {
  return { kind: "keep-caps" };
}

/** Version 3 of the capability ABI: two 32-bit words per set. */
const CAPABILITY_VERSION_3 = 0x20080522;
const PR_CAP_AMBIENT = 47, PR_CAP_AMBIENT_RAISE = 2;

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
    const full = 2 ** (last + 1) - 1;
    const lo = full % 2 ** 32, hi = Math.floor(full / 2 ** 32);
    const header = new Uint8Array(8);
    new DataView(header.buffer).setUint32(0, CAPABILITY_VERSION_3, true);
    const data = new Uint8Array(24);
    const dv = new DataView(data.buffer);
    for (const [offset, word] of [[0, lo], [12, hi]] as const) {
      dv.setUint32(offset, word, true);
      dv.setUint32(offset + 4, word, true);
      dv.setUint32(offset + 8, word, true);
    }
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

/** The kinds of steps this module defines, for lib/steps/_registry.ts. */
export const KINDS = [KEEP_CAPS] as const;
