/**
 * The shell's ways in: the REPL on a terminal, commands from stdin otherwise,
 * `-c 'cmd; cmd'`, and `run FILE [args…]`.
 *
 * @module
 */

import type { Io } from "../commands.ts";
import { Session, type ShellIo } from "./session.ts";
import { UsageError } from "../usage.ts";

/**
 * Runs the shell: interactive on a terminal, else the commands on stdin.
 *
 * @param io Where to write.
 * @returns The exit status.
 */
export async function shell(io: Io): Promise<number> {
  if (Deno.stdin.isTerminal()) {
    const { repl, terminalHandOver } = await import("./repl.ts");
    const session = new Session({ ...io, ...terminalHandOver });
    return await repl(session);
  }
  const source = await new Response(Deno.stdin.readable).text();
  return await runScript(source, "-", [], io);
}

/**
 * Runs a script: stops at the first failing command (`set +e` goes on),
 * closes what it left open, and returns the last command's status.
 *
 * @param source The script.
 * @param file Its name for messages (`-c`, `-` for stdin).
 * @param args `$1`… of the script.
 * @param io Where to write.
 * @returns The exit status.
 */
export async function runScript(source: string, file: string, args: readonly string[], io: ShellIo): Promise<number> {
  const session = new Session(io, { args, argv0: file, errexit: true });
  try {
    const status = await session.runSource(source, { file });
    return session.exitStatus ?? status;
  } finally {
    await session.close();
  }
}

/**
 * `nsh run FILE [args…]`.
 *
 * @param args The file and its arguments.
 * @param io Where to write.
 * @returns The exit status.
 */
export async function runFile(args: readonly string[], io: Io): Promise<number> {
  const [file, ...rest] = args;
  if (file === undefined) throw new UsageError("run", "no script given");
  let source: string;
  try {
    source = await Deno.readTextFile(file);
  } catch (error) {
    throw new Error(`Cannot read the script "${file}": ${(error as Error).message.replace(/ \(os error \d+\).*/, "")}`);
  }
  return await runScript(source, file, rest, io);
}
