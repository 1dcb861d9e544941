/**
 * Planning for commands: a plan's checks become usage errors.
 *
 * @module
 */

import { type Plan, plan } from "../lib/plan.ts";
import type { Step } from "../lib/steps.ts";
import { ids } from "../lib/system.ts";
import { lowerFirst, ValueError } from "./usage.ts";

/**
 * The plan of a command's steps for this process, with the plan's own checks
 * (contradictory or out-of-range values) reported as usage errors.
 *
 * @param command The command, for the message.
 * @param steps The steps.
 * @returns The plan.
 * @throws {ValueError} When the steps cannot be planned.
 */
export function planCommand(command: string, steps: readonly Step[]): Plan {
  const { euid, egid } = ids();
  try {
    return plan(steps, { euid, egid });
  } catch (error) {
    throw asValueError(command, error);
  }
}

/**
 * A plan's own check of a value (a TypeError or RangeError from lib/) as the
 * command's one-line value error; anything else as it is.
 *
 * @param command The command, for the message.
 * @param error Anything caught from planning or applying steps.
 * @returns The error to throw.
 */
export function asValueError(command: string, error: unknown): unknown {
  if (error instanceof TypeError || error instanceof RangeError) {
    return new ValueError(command, lowerFirst(error.message));
  }
  return error;
}
