/**
 * The hostname and the NIS domain name of a UTS namespace.
 *
 * @module
 */

import { encodeText } from "../../ffi/bytes.ts";
import { EPERM } from "../../ffi/constants.ts";
import type { StepKind } from "./_kind.ts";
import { NEEDS_ROOT } from "./_hints.ts";

/** The hostname of a UTS namespace. */
export interface HostnameStep {
  /** The kind of step. */
  readonly kind: "hostname";
  /** The name. */
  readonly name: string;
}

/** The NIS domain name of a UTS namespace. */
export interface DomainnameStep {
  /** The kind of step. */
  readonly kind: "domainname";
  /** The name. */
  readonly name: string;
}

/** HOST_NAME_MAX of Linux, for both names. */
const HOST_NAME_MAX = 64;

/**
 * Sets the hostname in a new UTS namespace (implied), or in the joined one.
 *
 * @example The box's own name, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostname, mapRootUser, sandbox } from "@nsh/nsh";
 *
 * assert.equal(await sandbox(mapRootUser(), hostname("box")).run("hostname").text(), "box");
 * assert.notEqual(Deno.hostname(), "box"); // the host's is unchanged
 * ```
 *
 * @param name The hostname, at most 64 bytes.
 * @returns The step.
 */
export function hostname(name: string): HostnameStep {
  return { kind: "hostname", name };
}

/**
 * Sets the NIS domain name in a new UTS namespace (implied), or in the joined one.
 *
 * @example The box's own NIS domain name, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { domainname, mapRootUser, sandbox } from "@nsh/nsh";
 *
 * assert.equal(await sandbox(mapRootUser(), domainname("lab")).run("cat", "/proc/sys/kernel/domainname").text(), "lab");
 * ```
 *
 * @param name The domain name, at most 64 bytes.
 * @returns The step.
 */
export function domainname(name: string): DomainnameStep {
  return { kind: "domainname", name };
}

function utsKind<S extends HostnameStep | DomainnameStep>(
  kind: S["kind"],
  what: string,
  call: "sethostname" | "setdomainname",
): StepKind<S> {
  return {
    kind,
    phase: "uts",
    repeats: "last",
    check(step) {
      if (encodeText(step.name).length > HOST_NAME_MAX) {
        throw new RangeError(`Cannot set the ${what} to "${step.name}": longer than ${HOST_NAME_MAX} bytes`);
      }
    },
    implies: (_step, joined) => joined.has("uts") ? [] : ["uts"],
    compile(step, out) {
      const bytes = encodeText(step.name);
      out.add({ call, args: [{ bytes }, bytes.length] }, {
        syscall: call,
        operation: `set the ${what} to "${step.name}"`,
        role: kind,
      });
    },
    code: (step) => ({ fn: kind, args: [step.name] }),
    hint: (_info, errno) => errno === EPERM ? NEEDS_ROOT : undefined,
  };
}

/** The kind of {@linkcode hostname} steps. */
const HOSTNAME: StepKind<HostnameStep> = utsKind("hostname", "hostname", "sethostname");
/** The kind of {@linkcode domainname} steps. */
const DOMAINNAME: StepKind<DomainnameStep> = utsKind("domainname", "domain name", "setdomainname");

/** The kinds of steps this module defines, for lib/steps/_registry.ts. */
export const KINDS = [HOSTNAME, DOMAINNAME] as const;
