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
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new ValueError(command, lowerFirst(error.message));
    }
    throw error;
  }
}
