/**
 * The kinds of steps, gathered from the modules that define them. Adding a
 * kind to one of these modules adds it here; a new module needs one line.
 *
 * @module
 */

import type { StepKind } from "./_kind.ts";
import * as created from "./new.ts";
import * as joined from "./enter.ts";
import * as users from "./users.ts";
import * as uts from "./uts.ts";
import * as mounts from "./mounts.ts";
import * as process from "./process.ts";
import * as caps from "./caps.ts";
import * as newroot from "./newroot.ts";
import * as seccomp from "./seccomp.ts";
import * as landlock from "./landlock.ts";
import * as limits from "./limits.ts";
import * as net from "./net.ts";
import * as userns from "./userns.ts";

/** Every kind's definition. */
export const DEFINITIONS = [
  ...created.KINDS,
  ...joined.KINDS,
  ...users.KINDS,
  ...uts.KINDS,
  ...mounts.KINDS,
  ...process.KINDS,
  ...caps.KINDS,
  ...newroot.KINDS,
  ...landlock.KINDS,
  ...net.KINDS,
  ...userns.KINDS,
  ...seccomp.KINDS,
  ...limits.KINDS,
] as const;

/** The step type a definition is for. */
type StepOf<D> = D extends StepKind<infer S> ? S : never;

/** One setup step, of any kind. */
export type AnyStep = StepOf<(typeof DEFINITIONS)[number]>;

/** Each step kind's definition, by the kind's name. */
export const KINDS: { readonly [K in AnyStep["kind"]]: StepKind<Extract<AnyStep, { kind: K }>> } = Object.fromEntries(
  DEFINITIONS.map((d) => [d.kind, d]),
) as never;

/**
 * The definition of a step's kind.
 *
 * @param step The step.
 * @returns Its kind's definition.
 * @throws {TypeError} For a value that is no step.
 */
export function kindOf(step: AnyStep): StepKind<AnyStep> {
  const kind = (KINDS as Record<string, StepKind<AnyStep> | undefined>)[step?.kind];
  if (!kind) throw new TypeError(`Not a setup step: ${Deno.inspect(step)}`);
  return kind;
}

/**
 * A step read back from JSON, as another nsh wrote it (the policy of a named
 * context): made usable again and checked.
 *
 * @param value The parsed JSON.
 * @returns The step.
 * @throws {TypeError} For a value that is no step, or a malformed one.
 */
export function reviveStep(value: unknown): AnyStep {
  const kind = kindOf(value as AnyStep);
  const step = kind.revive ? kind.revive(value as AnyStep) : value as AnyStep;
  kind.check?.(step);
  return step;
}

/**
 * Whether a step restricts what the program may do (capabilities,
 * no_new_privs, a new session, Landlock, seccomp) rather than set up its
 * namespaces: in a shell context such steps apply to the programs run there
 * afterwards, not to the holder nor to the context's setup.
 *
 * @param step The step.
 * @returns `true` for a restriction.
 */
export function isPolicy(step: AnyStep): boolean {
  const phase = kindOf(step).phase;
  return phase === "caps" || phase === "harden" || phase === "seccomp";
}
