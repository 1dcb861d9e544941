/**
 * The shell's ways in: the REPL on a terminal, commands from stdin otherwise,
 * `-c 'cmd; cmd'`, and `run FILE [args…]`.
 *
 * @module
 */

import type { Io } from "../commands.ts";
import { readScript, Session, type ShellIo } from "./session.ts";
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
  return await runStdin(io);
}

/**
 * Reads one line of stdin a byte at a time, as sh does, so that what follows
 * the line stays in stdin for the programs the line runs (`cat` reads the
 * rest of the script).
 *
 * @returns The line without its newline, or `null` at the end.
 */
function readLine(): string | null {
  const bytes: number[] = [];
  const one = new Uint8Array(1);
  for (;;) {
    const n = Deno.stdin.readSync(one);
    if (n === null || n === 0) return bytes.length ? new TextDecoder().decode(new Uint8Array(bytes)) : null;
    if (one[0] === 0x0a) return new TextDecoder().decode(new Uint8Array(bytes));
    bytes.push(one[0]!);
  }
}

/**
 * Runs the commands on stdin as they come, as a script named `-`: each
 * complete command runs before the next line is read.
 *
 * @param io Where to write.
 * @returns The exit status.
 */
async function runStdin(io: Io): Promise<number> {
  const { isIncomplete } = await import("./parse.ts");
  const session = new Session(io, { argv0: "-", errexit: true });
  try {
    let pending = "";
    let first = 1;
    let line = 0;
    for (let text = readLine(); text !== null; text = readLine()) {
      line++;
      pending = pending ? `${pending}\n${text}` : text;
      if (isIncomplete(pending)) continue;
      const status = await session.runSource(pending, { file: "-", firstLine: first });
      pending = "";
      first = line + 1;
      if (session.exitStatus !== undefined || (status !== 0 && session.errexit)) break;
    }
    if (pending) await session.runSource(pending, { file: "-", firstLine: first });
    return session.exitStatus ?? session.status;
  } finally {
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
  const source = await readScript(file);
  return await runScript(source, file, rest, io);
}
