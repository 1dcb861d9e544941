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
import { libc } from "../../ffi/libc.ts";
import { routine } from "../../ffi/routine.ts";
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
 * Reads commands at a prompt until `exit` or Ctrl-D at the top.
 *
 * @param session The session that runs them.
 * @returns The shell's exit status.
 */
export function repl(session: Session): Promise<number> {
  const color = useColor();
  const history = new History(historyFile(), (text) => process.stderr.write(text));
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    history: history.load(),
    historySize: 1000,
    removeHistoryDuplicates: true,
    completer: (line: string, callback: (error: null, result: [string[], string]) => void) => {
      complete(line, session.cwd).then((result) => callback(null, result), () => callback(null, [[], line]));
    },
  });
  rl.on("history", (lines: string[]) => history.save(lines));
  let pending = "";
  const prompt = () => {
    rl.setPrompt(pending ? "> " : session.prompt(color));
    rl.prompt();
  };
  return new Promise((resolve) => {
    // Lines typed or pasted while a command runs wait their turn: readline
    // emits every line of a paste at once, and the second must not run
    // before the first has made its context.
    const queue: string[] = [];
    let busy = false;
    let closed = false;
    let finished: Promise<void> | undefined;
    // An interactive shell ignores the terminal's SIGINT and SIGQUIT, as sh
    // does: they are for the program in the foreground. A signal that arrives
    // just after that program ended must not end the shell.
    const ignore = () => {};
    const ignored = ["SIGINT", "SIGQUIT"] as const;
    for (const signal of ignored) Deno.addSignalListener(signal, ignore);
    const finish = () =>
      finished ??= (async () => {
        await session.close();
        history.close();
        for (const signal of ignored) Deno.removeSignalListener(signal, ignore);
        resolve(session.exitStatus ?? session.status);
      })();
    const drain = async () => {
      busy = true;
      rl.pause();
      while (queue.length) {
        const source = pending ? `${pending}\n${queue.shift()}` : queue.shift()!;
        if (isIncomplete(source)) {
          pending = source;
          continue;
        }
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
      rl.resume();
      prompt();
    };
    rl.on("SIGINT", () => {
      // Ctrl-C at the prompt drops the line, as sh does: what was typed stays
      // on the screen, the new prompt starts empty (Ctrl-E, then Ctrl-U).
      // While a command runs, it drops what was typed ahead.
      pending = "";
      queue.length = 0;
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
      if (session.context && session.exitStatus === undefined && !process.stdin.readableEnded) {
        process.stdout.write("exit\n");
        queue.push("exit");
        if (!busy) void drain();
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
    rl.on("line", (line: string) => {
      queue.push(line);
      if (!busy) void drain();
    });
    prompt();
  });
}

const TIOCGPGRP = 0x540f, TIOCSPGRP = 0x5410, SIG_BLOCK = 0, SIG_SETMASK = 2, SIGTTOU = 22;

function address(buffer: ArrayBufferView): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
}

/**
 * Makes this process's group the terminal's foreground group again. A program
 * with job control (an interactive sh) moves the terminal to a group of its
 * own and gives it back when it ends, but it cannot when nsh's group is not
 * visible to it (it runs in a new PID namespace) or when it was killed: nsh's
 * next read of the terminal would then fail with EIO. As shells do after a
 * foreground job, take the terminal back, with SIGTTOU blocked (tcsetpgrp
 * from a background group would stop nsh otherwise).
 */
function reclaimTerminal(): void {
  const own = Number(Deno.readTextFileSync("/proc/self/stat").split(") ")[1]!.split(" ")[2]);
  const pgrp = new Int32Array(1);
  if (libc().ioctl(0, BigInt(TIOCGPGRP), pgrp) < 0 || pgrp[0] === own) return;
  const { sysno, syscall } = routine();
  const block = new BigUint64Array([1n << BigInt(SIGTTOU - 1)]);
  const old = new BigUint64Array(1);
  // The raw call changes the mask of this thread, the one that calls ioctl.
  syscall(sysno.rt_sigprocmask, SIG_BLOCK, address(block), address(old), 8);
  try {
    pgrp[0] = own;
    libc().ioctl(0, BigInt(TIOCSPGRP), pgrp);
  } finally {
    syscall(sysno.rt_sigprocmask, SIG_SETMASK, address(old), 0, 8);
  }
}

/** How the session lends the terminal to a program, for a readline shell. */
export const terminalHandOver = {
  handOver(): void {
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
  },
  takeBack(): void {
    if (!process.stdin.isTTY) return;
    reclaimTerminal();
    process.stdin.setRawMode(true);
  },
};
