/**
 * The entry of the `nsh` command: dispatches to the commands of the table in
 * cli/commands.ts.
 *
 * @module
 */

import { COMMANDS, type Io, type Where } from "./commands.ts";
import { describeError, exitStatusOf, UsageError } from "./usage.ts";
import { VERSION } from "./version.ts";
import { asSyscallError } from "../ffi/error.ts";
import { exitAs, programSignal } from "./exit.ts";

export type { Io, Where };

const encoder = new TextEncoder();

/** Standard output and error of this process. */
export const stdio: Io = {
  out: (text) => {
    try {
      writeAll(Deno.stdout, encoder.encode(text));
    } catch (error) {
      throw asSyscallError(error, "write", { operation: "write the output" });
    }
  },
  err: (text) => void writeAll(Deno.stderr, encoder.encode(text)),
};

/** Writes all of `bytes`: writeSync may write part of them (to a pipe). */
function writeAll(to: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) at += to.writeSync(bytes.subarray(at));
}

/** The top-level help. */
export function mainHelp(): string {
  const commands = Object.entries(COMMANDS).map(([name, c]) =>
    ` ${`${name} ${c.synopsis}`.trimEnd()}\n                 ${c.summary}`
  );
  return `
Usage:
 nsh                              the shell (reads commands from stdin when it is no terminal)
 nsh -c <commands> [<argument>...]
 nsh run <script.nsh> [<argument>...]
 nsh export [--from <url>] <script.nsh>
                                  print the script as a TypeScript program on mod.ts
 nsh <command> [<argument>...]

A namespace shell: run programs in new Linux namespaces, rootless or as root.

Commands:
${commands.join("\n")}
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
 * @param where For `lsns`, `netns` and `release`: the context to look and act
 *   in, as the shell runs them there (an exported script calls them so).
 * @returns The exit status.
 */
export async function main(args: readonly string[], io: Io = stdio, where: Where = {}): Promise<number> {
  const [name, ...rest] = args;
  // A fresh start for entry(): a one-shot command's program ended by a signal.
  programSignal(true);
  let command = "";
  try {
    switch (name) {
      case undefined:
        return await (await import("./shell/main.ts")).shell(io);
      case "-c": {
        if (rest[0] === undefined) throw new UsageError("", "-c needs commands");
        const { runScript } = await import("./shell/main.ts");
        // As sh -c: the first argument after the commands is $0, the rest $1….
        const [argv0 = "-c", ...args] = rest.slice(1);
        return await runScript(rest[0], "-c", args, io, argv0);
      }
      case "run":
        command = "run";
        return await (await import("./shell/main.ts")).runFile(rest, io);
      case "export":
        command = "export";
        return await (await import("./shell/export.ts")).exportFile(rest, io);
      case "--help":
      case "-h":
        io.out(mainHelp());
        return 0;
      case "help": {
        const name = rest[0];
        const entry = name === undefined ? undefined : COMMANDS[name];
        if (name !== undefined && !entry) {
          // The shell's own commands (hostname, mount-proc…) have help too.
          const shell = await import("./shell/session.ts");
          if (!Object.hasOwn(shell.BUILTINS, name)) throw new UsageError("", `unknown command '${name}'`);
          io.out(await shell.shellHelp(name));
          return 0;
        }
        io.out(entry ? (await entry.load()).help() : mainHelp());
        return 0;
      }
      case "--version":
      case "-V":
        io.out(`nsh ${VERSION}\n`);
        return 0;
    }
    const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!entry) {
      // Options of nsh itself come before any command, as getopt words them.
      if (name.startsWith("--")) throw new UsageError("", `unrecognized option '${name}'`);
      if (name.startsWith("-") && name.length > 1) throw new UsageError("", `invalid option -- '${name.slice(1)}'`);
      throw new UsageError("", `unknown command '${name}'`);
    }
    command = name;
    return await (await entry.load()).run(rest, io, where);
  } catch (error) {
    const text = describeError(command, error);
    if (text) io.err(text + "\n");
    return exitStatusOf(error);
  }
}

/**
 * Runs the command line as {@linkcode main} does, then ends this process with
 * its status; or, when a one-shot command (`nsh unshare`, `nsenter`, `netns
 * exec`) ran a program that a signal ended, with that signal, as util-linux
 * and iproute2 do (see {@linkcode exitAs}). The shell and scripts end with
 * their status: there `$?` is 128 + N.
 *
 * @param args The arguments after `cli.ts`.
 * @returns Never.
 */
export async function entry(args: readonly string[]): Promise<never> {
  const code = await main(args);
  const oneShot = args[0] !== undefined && Object.hasOwn(COMMANDS, args[0]);
  return await exitAs(code, oneShot ? programSignal() : undefined);
}
