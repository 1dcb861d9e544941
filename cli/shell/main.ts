/**
 * The shell's ways in: the REPL on a terminal, commands from stdin otherwise,
 * `-c 'cmd; cmd'`, and `run FILE [args…]`.
 *
 * @module
 */

import type { Io } from "../commands.ts";
import { readScript, Session, type ShellIo } from "./session.ts";
import { UsageError } from "../usage.ts";
import type { Context } from "../../lib/context.ts";
import { LineReader } from "./lines.ts";
import { decodeBytes } from "../../ffi/bytes.ts";

/**
 * Runs the shell: interactive on a terminal, else the commands on stdin.
 *
 * @param io Where to write.
 * @returns The exit status.
 */
export async function shell(io: Io): Promise<number> {
  return await enterShell(undefined, io);
}

/**
 * Runs the shell in a context (`nsh enter NAME`): the session starts there,
 * and its `exit` at the top ends the shell, leaving the context as it is.
 *
 * @param base The context, or `undefined` for the host.
 * @param io Where to write.
 * @returns The exit status.
 */
export async function enterShell(base: Context | undefined, io: Io): Promise<number> {
  // The context's variables are the session's, exported, as `enter NAME` in a shell makes them.
  const start = base ? { base, cwd: base.cwd, vars: base.env() } : {};
  if (Deno.stdin.isTerminal()) {
    const { repl, terminalHandOver } = await import("./repl.ts");
    const session = new Session({ ...io, ...terminalHandOver }, { interactive: true, ...start });
    await session.enableJobControl();
    return await repl(session);
  }
  return await runStdin(io, start);
}

/**
 * Runs the commands on stdin as they come, as a script named `-`: each
 * complete command runs before the next line is read.
 *
 * @param io Where to write.
 * @returns The exit status.
 */
async function runStdin(
  io: Io,
  start: { base?: Context; cwd?: string; vars?: ReadonlyMap<string, string | undefined> } = {},
): Promise<number> {
  const { parse, ParseError } = await import("./parse.ts");
  const session = new Session(io, { argv0: "-", errexit: true, ...start });
  const lines = new LineReader();
  const readLine = () => {
    const bytes = lines.next();
    return bytes === null ? null : decodeBytes(bytes);
  };
  try {
    let pending = "";
    let first = 1;
    let line = 0;
    for (let text = readLine(); text !== null; text = readLine()) {
      line++;
      pending = pending ? `${pending}\n${text}` : text;
      // Parsed once: a line that leaves a quote open waits for the next.
      let commands;
      try {
        commands = parse(pending, { firstLine: first });
      } catch (error) {
        if (error instanceof ParseError && error.incomplete) continue;
        commands = undefined;
      }
      const origin = { file: "-", firstLine: first };
      if (commands) await session.runCommands(commands, origin);
      else await session.runSource(pending, origin);
      pending = "";
      first = line + 1;
      if (session.exitStatus !== undefined) break;
    }
    if (pending) await session.runSource(pending, { file: "-", firstLine: first });
    return await session.finish();
  } finally {
    lines.close();
    await session.close();
  }
}

/**
 * Runs a script: stops at the first failing command (`set +e` goes on),
 * closes what it left open, and returns the last command's status.
 *
 * @param source The script.
 * @param file Its name for messages (`-c`, `-` for stdin).
 * @param args `$1`… of the script.
 * @param io Where to write.
 * @param argv0 `$0` of the script (its name by default).
 * @returns The exit status.
 */
export async function runScript(
  source: string,
  file: string,
  args: readonly string[],
  io: ShellIo,
  argv0 = file,
): Promise<number> {
  const session = new Session(io, { args, argv0, errexit: true });
  try {
    await session.runSource(source, { file });
    return await session.finish();
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
  const source = await readScript(file);
  return await runScript(source, file, rest, io);
}
