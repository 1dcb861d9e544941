/**
 * The interactive shell on a terminal: a prompt with line editing, history
 * kept in a file, tab completion, and the terminal lent to programs.
 *
 * `node:readline` (the callback API) is Deno's built-in line editor; the
 * promise API leaves `question()` pending on Ctrl-D, so it is not used.
 *
 * @module
 */

import readline from "node:readline";
import process from "node:process";
import { isIncomplete } from "./parse.ts";
import type { Session } from "./session.ts";
import { complete } from "./complete.ts";

/** Where the history is kept: `$NSH_HISTORY`, else `$XDG_STATE_HOME/nsh/history`. */
export function historyFile(): string | undefined {
  const explicit = Deno.env.get("NSH_HISTORY");
  if (explicit !== undefined) return explicit || undefined;
  const home = Deno.env.get("HOME");
  const state = Deno.env.get("XDG_STATE_HOME") || (home ? `${home}/.local/state` : undefined);
  return state ? `${state}/nsh/history` : undefined;
}

function loadHistory(file: string | undefined): string[] {
  if (!file) return [];
  try {
    // readline keeps the newest entry first.
    return Deno.readTextFileSync(file).split("\n").filter(Boolean).reverse();
  } catch {
    return [];
  }
}

function saveHistory(file: string | undefined, history: readonly string[]): void {
  if (!file) return;
  try {
    Deno.mkdirSync(file.slice(0, file.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(file, [...history].reverse().join("\n") + "\n", { mode: 0o600 });
  } catch {
    // History is a convenience: a read-only home must not break the shell.
  }
}

/** Whether to colour: a terminal on stdout, and no NO_COLOR. */
export function useColor(): boolean {
  return Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
}

/**
 * Reads commands at a prompt until `exit` at the top or Ctrl-D.
 *
 * @param session The session that runs them.
 * @returns The shell's exit status.
 */
export function repl(session: Session): Promise<number> {
  const color = useColor();
  const file = historyFile();
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    history: loadHistory(file),
    historySize: 1000,
    removeHistoryDuplicates: true,
    completer: (line: string, callback: (error: null, result: [string[], string]) => void) => {
      complete(line, session.cwd).then((result) => callback(null, result), () => callback(null, [[], line]));
    },
  });
  rl.on("history", (history: string[]) => saveHistory(file, history));
  let pending = "";
  const prompt = () => {
    rl.setPrompt(pending ? "> " : session.prompt(color));
    rl.prompt();
  };
  return new Promise((resolve) => {
    let busy = false;
    let closed = false;
    const finish = async () => {
      await session.close();
      resolve(session.exitStatus ?? session.status);
    };
    rl.on("SIGINT", () => {
      // Ctrl-C at the prompt drops the line, as sh does.
      pending = "";
      process.stdout.write("^C\n");
      prompt();
    });
    rl.on("close", () => {
      closed = true;
      if (!busy) {
        process.stdout.write("\n");
        void finish();
      }
    });
    rl.on("line", async (line: string) => {
      const source = pending ? `${pending}\n${line}` : line;
      if (isIncomplete(source)) {
        pending = source;
        prompt();
        return;
      }
      pending = "";
      busy = true;
      rl.pause();
      await session.runSource(source);
      busy = false;
      if (session.exitStatus !== undefined || closed) {
        rl.close();
        await finish();
        return;
      }
      rl.resume();
      prompt();
    });
    prompt();
  });
}

/** How the session lends the terminal to a program, for a readline shell. */
export const terminalHandOver = {
  handOver(): void {
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
  },
  takeBack(): void {
    if (process.stdin.isTTY) process.stdin.setRawMode(true);
  },
};
