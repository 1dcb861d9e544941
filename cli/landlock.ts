/**
 * `nsh landlock`: what the running kernel's Landlock enforces.
 *
 * @module
 */

import type { CliCommand } from "./commands.ts";
import { UsageError } from "./usage.ts";
import { landlockReport, landlockSupport } from "../lib/landlock.ts";

/** The help text of `nsh landlock`. */
export function landlockHelp(): string {
  return `
Usage:
 nsh landlock

Say which Landlock ABI the running kernel offers and what each ABI
enforces: filesystem rights, TCP ports, scopes. Rules that need a newer ABI
than the kernel's are refused in one line when a sandbox is planned.
`;
}

/** `nsh landlock`. */
export const landlockCommand: CliCommand = {
  help: landlockHelp,
  run(args, io) {
    if (args[0] === "-h" || args[0] === "--help") {
      io.out(landlockHelp());
      return Promise.resolve(0);
    }
    if (args.length) throw new UsageError("landlock", `unexpected argument '${args[0]}'`);
    const support = landlockSupport();
    io.out(landlockReport(support).join("\n") + "\n");
    return Promise.resolve(support.abi ? 0 : 1);
  },
};
