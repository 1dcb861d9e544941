/**
 * The entry of the `nsh` command: one-shot subcommands, and the shell.
 *
 * @module
 */

import { parseUnshare, planUnshare, unshareHelp, versionLine } from "./unshare.ts";
import { describeError, exitStatusOf, UsageError } from "./usage.ts";
import { runForeground } from "./foreground.ts";
import { VERSION } from "./version.ts";

/** Where the CLI writes; injectable for tests. */
export interface Io {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
}

const encoder = new TextEncoder();

/** Standard output and error of this process. */
export const stdio: Io = {
  out: (text) => void Deno.stdout.writeSync(encoder.encode(text)),
  err: (text) => void Deno.stderr.writeSync(encoder.encode(text)),
};

/** The top-level help. */
export function mainHelp(): string {
  return `
Usage:
 nsh [<command> [<argument>...]]

A namespace shell: run programs in new Linux namespaces, rootless or as root.

Commands:
 unshare [options] [<program> [<argument>...]]
                 run a program with some namespaces unshared (util-linux syntax)
 help [<command>]
                 show help for nsh or a command

Run 'nsh <command> --help' for the options of a command.
`;
}

/**
 * Runs the command line and returns the exit status. Only the entry point
 * calls `Deno.exit`.
 *
 * @param args The arguments after `cli.ts`.
 * @param io Where to write.
 * @returns The exit status.
 */
export async function main(args: readonly string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case undefined:
      case "help":
      case "--help":
      case "-h":
        if (rest[0] === "unshare") io.out(unshareHelp());
        else io.out(mainHelp());
        return 0;
      case "--version":
      case "-V":
        io.out(`nsh ${VERSION}\n`);
        return 0;
      case "unshare": {
        const request = parseUnshare(rest, Deno.env.get("SHELL") || "/bin/sh");
        if (request.kind === "help") {
          io.out(unshareHelp());
          return 0;
        }
        if (request.kind === "version") {
          io.out(versionLine("unshare") + "\n");
          return 0;
        }
        if (request.persist.size) {
          const [type, file] = [...request.persist][0]!;
          throw new UsageError("unshare", `binding a namespace to a file (${type} to ${file}) is not supported yet`);
        }
        return await runForeground(planUnshare(request.options), request.argv);
      }
      default:
        throw new UsageError("", `unknown command '${command}'`);
    }
  } catch (error) {
    const text = describeError(command && command !== "--help" ? command : "", error);
    if (text) io.err(text + "\n");
    return exitStatusOf(error);
  }
}
