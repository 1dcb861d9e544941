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
import { Readable } from "node:stream";
import { Buffer } from "node:buffer";
import { isIncomplete } from "./parse.ts";
import type { Session } from "./session.ts";
import { complete } from "./complete.ts";
import { libc } from "../../ffi/libc.ts";
import {
  bytesWaiting,
  foregroundGroup,
  processGroup,
  rawModes,
  setForegroundGroup,
  setTerminalModes,
  terminalModes,
} from "../../ffi/terminal.ts";
import { READABLE, type Wait, waitFor } from "../../lib/reactor.ts";
import { interrupts } from "./jobs.ts";
import { openOwnedFile, readAll, replaceAll } from "../../lib/owned_file.ts";
import { lowerFirst } from "../usage.ts";

/** Where the history is kept: `$NSH_HISTORY`, else `$XDG_STATE_HOME/nsh/history`. */
export function historyFile(): string | undefined {
  const explicit = Deno.env.get("NSH_HISTORY");
  if (explicit !== undefined) return explicit || undefined;
  const home = Deno.env.get("HOME");
  const state = Deno.env.get("XDG_STATE_HOME") || (home ? `${home}/.local/state` : undefined);
  return state ? `${state}/nsh/history` : undefined;
}

/**
 * The history file, opened once for the session: a file of the user's own,
 * reached through directories that no other user controls (see
 * lib/owned_file.ts). When it cannot be used, one line says why and the
 * session keeps no history.
 */
class History {
  #fd: number | undefined;

  constructor(file: string | undefined, warn: (text: string) => void) {
    if (!file) return;
    try {
      this.#fd = openOwnedFile(file);
    } catch (error) {
      warn(`nsh: history not kept: ${lowerFirst((error as Error).message)}\n`);
    }
  }

  /** The saved lines, the newest first, as readline keeps them. */
  load(): string[] {
    if (this.#fd === undefined) return [];
    try {
      return new TextDecoder().decode(readAll(this.#fd)).split("\n").filter(Boolean).reverse();
    } catch {
      return [];
    }
  }

  save(history: readonly string[]): void {
    if (this.#fd === undefined) return;
    try {
      replaceAll(this.#fd, new TextEncoder().encode([...history].reverse().join("\n") + "\n"));
    } catch {
      // History is a convenience: a full disk must not break the shell.
    }
  }

  close(): void {
    if (this.#fd !== undefined) libc().close(this.#fd);
    this.#fd = undefined;
  }
}

/** Whether to colour: a terminal on stdout, and no NO_COLOR. */
export function useColor(): boolean {
  return Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
}

/**
 * The terminal as readline's input, read only while the prompt wants a line,
 * and only up to that line's end: what was typed or pasted after it stays in
 * the terminal, for the program the line runs (as sh's readline leaves it),
 * or for the next prompt, which shows it as if typed there. While a command
 * runs, nothing of nsh waits on the terminal.
 */
class TerminalInput extends Readable {
  readonly isTTY = true;
  isRaw = false;
  /** A line was read: nothing more until {@linkcode TerminalInput.next}. */
  #held = false;
  #wanted = false;
  #pumping = false;
  #wait: Wait | undefined;

  constructor() {
    super();
  }

  /** The terminal's modes as nsh found them, which programs get. */
  #cooked: Uint8Array | undefined;

  setRawMode(mode: boolean): this {
    this.#cooked ??= terminalModes(0);
    if (this.#cooked) setTerminalModes(0, mode ? rawModes(this.#cooked) : this.#cooked);
    this.isRaw = mode;
    return this;
  }

  override _read(): void {
    this.#wanted = true;
    void this.#pump();
  }

  /** Lets the next line be read. */
  next(): void {
    this.#held = false;
    void this.#pump();
  }

  /** Stops waiting for the terminal (at the end). */
  async stop(): Promise<void> {
    this.#held = true;
    await this.#wait?.cancel();
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    const c = libc();
    const byte = new Uint8Array(1);
    try {
      while (this.#wanted && !this.#held) {
        const waiting = bytesWaiting(0);
        if (waiting === 0) {
          // A shell waiting for its user stays alive; stop() cancels this at the end.
          this.#wait = waitFor(0, READABLE);
          const events = await this.#wait.ready.catch(() => 0);
          this.#wait = undefined;
          if (events === 0 && this.#held) return;
          if (bytesWaiting(0) === 0) {
            // Readable with nothing to read: the end (a hang-up), or Ctrl-D in cooked mode.
            const n = Number(c.read(0, byte, 1n));
            if (n <= 0) {
              this.push(null);
              return;
            }
            this.#wanted = this.push(Buffer.from(byte));
          }
          continue;
        }
        // A byte at a time, to stop at the end of the line.
        const bytes: number[] = [];
        for (let i = 0; i < waiting; i++) {
          if (Number(c.read(0, byte, 1n)) !== 1) break;
          bytes.push(byte[0]!);
          if (byte[0] === 0x0d || byte[0] === 0x0a) {
            this.#held = true;
            break;
          }
        }
        if (bytes.length) this.#wanted = this.push(Buffer.from(bytes));
      }
    } finally {
      this.#pumping = false;
    }
  }
}

/** The terminal, as readline reads it; made with the first REPL. */
let terminal: TerminalInput | undefined;

/**
 * Reads commands at a prompt until `exit` or Ctrl-D at the top.
 *
 * @param session The session that runs them.
 * @returns The shell's exit status.
 */
export function repl(session: Session): Promise<number> {
  const color = useColor();
  const history = new History(historyFile(), (text) => process.stderr.write(text));
  const input = terminal ??= new TerminalInput();
  const rl = readline.createInterface({
    input,
    output: process.stdout,
    terminal: true,
    history: history.load(),
    historySize: 1000,
    removeHistoryDuplicates: true,
    completer: (line: string, callback: (error: null, result: [string[], string]) => void) => {
      complete(line, session.cwd, (path) => session.context?.hostPath(path) ?? path).then(
        (result) => callback(null, result),
        () => callback(null, [[], line]),
      );
    },
  });
  rl.on("history", (lines: string[]) => history.save(lines));
  let pending = "";
  const prompt = () => {
    rl.setPrompt(pending ? "> " : session.prompt(color));
    rl.prompt();
  };
  return new Promise((resolve) => {
    let busy = false;
    let closed = false;
    let finished: Promise<void> | undefined;
    // An interactive shell ignores the terminal's SIGINT and SIGQUIT, as sh
    // does: they are for the program in the foreground (and end a loop of
    // builtins). It ignores Ctrl-Z and the background's terminal signals too:
    // they stop jobs, never the shell.
    const interrupt = () => interrupts.count++;
    const ignore = () => {};
    const ignored = ["SIGQUIT", "SIGTSTP", "SIGTTIN", "SIGTTOU"] as const;
    Deno.addSignalListener("SIGINT", interrupt);
    for (const signal of ignored) Deno.addSignalListener(signal, ignore);
    const finish = () =>
      finished ??= (async () => {
        await input.stop();
        const status = await session.finish();
        await session.close();
        history.close();
        Deno.removeSignalListener("SIGINT", interrupt);
        for (const signal of ignored) Deno.removeSignalListener(signal, ignore);
        resolve(status);
      })();
    const run = async (line: string) => {
      busy = true;
      const source = pending ? `${pending}\n${line}` : line;
      if (isIncomplete(source)) {
        pending = source;
      } else {
        pending = "";
        await session.runSource(source);
        // The terminal echoed ^C (or ^\) where the cursor was: as sh does
        // after a program that died of SIGINT or SIGQUIT, start a new line.
        if (session.status === 130 || session.status === 131) process.stdout.write("\n");
        if (session.exitStatus !== undefined) {
          rl.close();
          await finish();
          return;
        }
      }
      busy = false;
      if (closed) {
        await finish();
        return;
      }
      prompt();
      input.next();
    };
    rl.on("SIGINT", () => {
      // Ctrl-C at the prompt drops the line, as sh does: what was typed stays
      // on the screen, the new prompt starts empty (Ctrl-E, then Ctrl-U).
      pending = "";
      process.stdout.write("^C\n");
      if (busy) return; // rl.write() would resume the input
      rl.write(null, { ctrl: true, name: "e" });
      rl.write(null, { ctrl: true, name: "u" });
      prompt();
    });
    // Ctrl-D at an empty prompt leaves the context, as `exit` does, and ends
    // the shell only at the top. readline closes itself on Ctrl-D, so its
    // close is wrapped; the end of the input (a terminal hung up) still closes.
    const close = rl.close.bind(rl);
    rl.close = () => {
      if (session.context && session.exitStatus === undefined && !input.readableEnded && !busy) {
        process.stdout.write("exit\n");
        void run("exit");
        return;
      }
      close();
    };
    rl.on("close", () => {
      closed = true;
      if (!busy) {
        process.stdout.write("\n");
        void finish();
      }
    });
    // One line at a time: the input holds the next until this one has run.
    rl.on("line", (line: string) => void run(line));
    prompt();
  });
}

/**
 * Makes this process's group the terminal's foreground group again. A program
 * with job control (an interactive sh) moves the terminal to a group of its
 * own and gives it back when it ends, but it cannot when nsh's group is not
 * visible to it (it runs in a new PID namespace) or when it was killed; and a
 * job nsh gave the terminal to ends or stops: nsh's next read of the
 * terminal would then fail with EIO.
 */
function reclaimTerminal(): void {
  const own = processGroup();
  if (foregroundGroup(0) !== own) setForegroundGroup(0, own);
}

/** How the session lends the terminal to a program, for a readline shell. */
export const terminalHandOver = {
  handOver(): void {
    terminal?.setRawMode(false);
  },
  takeBack(): void {
    if (!Deno.stdin.isTerminal()) return;
    reclaimTerminal();
    terminal?.setRawMode(true);
  },
};
