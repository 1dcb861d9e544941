/**
 * The network of a new network namespace: its loopback interface, which the
 * kernel leaves down.
 *
 * @module
 */

import type { StepKind } from "./_kind.ts";
import { encodeText } from "../../ffi/bytes.ts";
import {
  AF_INET,
  IFF_LOOPBACK,
  IFF_RUNNING,
  IFF_UP,
  IFREQ_SIZE,
  SIOCSIFFLAGS,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
} from "../../ffi/constants.ts";
import { NEEDS_ROOT } from "./_hints.ts";

/** The loopback interface brought up. */
export interface LoopbackStep {
  /** The kind of step. */
  readonly kind: "loopback";
}

/**
 * Brings the loopback interface `lo` of the program's network namespace up
 * (a new one implied), as bubblewrap does for `--unshare-net`: the kernel
 * gives it 127.0.0.1/8 and ::1, so that the program can talk to itself.
 *
 * @example A box with a network of its own that reaches only itself
 * ```ts
 * import assert from "node:assert/strict";
 * import { loopback, mapRootUser, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(mapRootUser(), loopback());
 * assert.match(await box.run("ip", "-brief", "address").text(), /^lo\s+UNKNOWN\s+127\.0\.0\.1\/8 ::1\/128/);
 * ```
 *
 * @returns The step.
 */
export function loopback(): LoopbackStep {
  return { kind: "loopback" };
}

/** The kind of {@linkcode loopback} steps. */
const LOOPBACK: StepKind<LoopbackStep> = {
  kind: "loopback",
  phase: "uts",
  repeats: "last",
  implies: (_step, joined) => joined.has("net") ? [] : ["net"],
  compile(_step, out) {
    const role = "loopback";
    const operation = 'bring the loopback interface "lo" up';
    const socket = out.add({ call: "socket", args: [AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0] }, {
      syscall: "socket",
      operation,
      role,
    });
    // struct ifreq: the name, then the flags as a short.
    const request = new Uint8Array(IFREQ_SIZE);
    request.set(encodeText("lo"));
    new DataView(request.buffer).setInt16(16, IFF_UP | IFF_LOOPBACK | IFF_RUNNING, true);
    out.add({ call: "ioctl", args: [{ result: socket }, SIOCSIFFLAGS, { bytes: request }] }, {
      syscall: "ioctl",
      operation,
      role,
    });
    out.add({ call: "close", args: [{ result: socket }] }, { syscall: "close", operation, role });
  },
  code: () => ({ fn: "loopback", args: [] }),
  hint: (_info, errno) => errno === 1 ? NEEDS_ROOT : undefined,
};

/** The kinds of steps this module defines, for lib/steps/_registry.ts. */
export const KINDS = [LOOPBACK] as const;
