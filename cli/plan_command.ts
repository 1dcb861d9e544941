/**
 * Planning for commands: a plan's checks become usage errors.
 *
 * @module
 */

import { type Plan, planHere } from "../lib/plan.ts";
import type { Step } from "../lib/steps.ts";
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
  try {
    return planHere(steps);
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
 * @param exitCode The status of the value error.
 * @returns The error to throw.
 */
export function asValueError(command: string, error: unknown, exitCode = 1): unknown {
  if (error instanceof TypeError || error instanceof RangeError) {
    return new ValueError(command, lowerFirst(error.message), exitCode);
  }
  return error;
}
