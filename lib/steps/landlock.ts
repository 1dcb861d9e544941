/**
 * Landlock as a step: one policy, checked against the running kernel when the
 * plan is made, loaded by the child in the `harden` phase (after the mounts,
 * the root change, capabilities and ids; before seccomp).
 *
 * The steps of a sandbox fold into one policy, one ruleset (one Landlock
 * layer): a step per rule, as one command-line option each, allows what each
 * allows. (Stacked as layers instead, a second step would deny what the first
 * allows.)
 *
 * Not yet listed in lib/steps/_registry.ts: adding `...landlock.KINDS` there,
 * `landlock` to lib/steps.ts's exports, and a `Sandbox` method wires it.
 *
 * @module
 */

import { noNewPrivsBefore, type StepKind } from "./_kind.ts";
import { foldLandlockPolicies, type LandlockPolicy, type LandlockRuleset, resolveLandlock } from "../landlock.ts";
import { emitLandlock, landlockHint, landlockScratchFd, type LandlockStepInfo } from "../landlock_steps.ts";

/** Restrict the program with a Landlock policy. */
export interface LandlockStep {
  /** The kind of step. */
  readonly kind: "landlock";
  /** The rules, what they restrict, and how to treat an older kernel. */
  readonly policy: LandlockPolicy;
  /** Whether the step sets no_new_privs itself (Landlock needs it unless the child has CAP_SYS_ADMIN). */
  readonly noNewPrivs: boolean;
}

/** Options of {@linkcode landlock}. */
export interface LandlockOptions {
  /**
   * Set no_new_privs before restricting. Pass `false` only where the child
   * has CAP_SYS_ADMIN (root, or a user namespace of its own) and setuid
   * programs must keep working, or where another step sets it.
   *
   * @default {true}
   */
  readonly noNewPrivs?: boolean;
}

/**
 * Restricts the program with Landlock: files beneath the paths the rules
 * name (as the program sees them, after the mounts and the root change), TCP
 * ports, IPC scopes. The policy is checked against the running kernel when
 * the plan is made, so that a rule the kernel cannot enforce is one line
 * before anything starts.
 *
 * @example A program that may read and run /usr, and read nothing else
 * ```ts
 * import assert from "node:assert/strict";
 * import { landlock, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(landlock({ rules: [{ kind: "path", path: "/usr", access: "rox" }] }));
 * assert.match(await box.run("cat", "/usr/lib/os-release").text(), /^NAME=/m);
 * const denied = await box.run("cat", "/etc/hostname").noThrow().output();
 * assert.match(denied.stderrText, /Permission denied/);
 * ```
 *
 * @param policy The rules.
 * @param options Whether to set no_new_privs.
 * @returns The step.
 */
export function landlock(policy: LandlockPolicy, options: LandlockOptions = {}): LandlockStep {
  return { kind: "landlock", policy, noNewPrivs: options.noNewPrivs ?? true };
}

/** Rulesets resolved for the running kernel, by step: a sandbox resolves its policy once. */
const resolved = new WeakMap<LandlockStep, LandlockRuleset>();

function rulesetOf(step: LandlockStep): LandlockRuleset {
  let ruleset = resolved.get(step);
  if (!ruleset) {
    ruleset = resolveLandlock(step.policy);
    resolved.set(step, ruleset);
  }
  return ruleset;
}

/** The kind of {@linkcode landlock} steps. */
const LANDLOCK: StepKind<LandlockStep> = {
  kind: "landlock",
  phase: "harden",
  repeats: "fold",
  fold: (steps) => ({
    kind: "landlock",
    policy: foldLandlockPolicies(steps.map((s) => s.policy)),
    // Setting it is the safe side: only a step that asks not to, alone, leaves it out.
    noNewPrivs: steps.some((s) => s.noNewPrivs),
  }),
  check(step) {
    rulesetOf(step);
  },
  compile(step, out, plan) {
    const ruleset = rulesetOf(step);
    emitLandlock(ruleset, out, {
      // A number this process holds for its life: no launch or child takes it.
      ...(ruleset.paths.length ? { scratchFd: landlockScratchFd() } : {}),
      noNewPrivs: step.noNewPrivs && !noNewPrivsBefore(plan, step),
    });
  },
  code: (step) => ({ fn: "landlock", args: step.noNewPrivs ? [step.policy] : [step.policy, { noNewPrivs: false }] }),
  hint: (info, errno) => landlockHint(info as LandlockStepInfo, errno),
};

/** The kinds of steps this module defines, for lib/steps/_registry.ts. */
export const KINDS = [LANDLOCK] as const;
