/**
 * How a one-shot command ends: as its program did, down to the signal that
 * ended it. Small on purpose: cli/main.ts loads it for every command.
 *
 * @module
 */

import { signalName } from "../ffi/signals.ts";
import { libc } from "../ffi/libc.ts";

/** The signal that ended the last program `runForeground()` (cli/foreground.ts) ran, if one did. */
let endedBy: number | undefined;

/**
 * The signal that ended the program the last `runForeground()` (cli/foreground.ts) of
 * this process ran, for a one-shot command that is to end the same way.
 *
 * @param reset Forget it, for a new command.
 * @returns The signal number, or `undefined` when the program exited or none ran.
 */
export function programSignal(reset = false): number | undefined {
  if (reset) endedBy = undefined;
  return endedBy;
}

/**
 * Records how the program of a one-shot command ended.
 *
 * @param signal The signal that ended it, or `undefined` when it exited.
 */
export function programEnded(signal: number | undefined): void {
  endedBy = signal;
}

/**
 * Signals whose default action dumps core. nsh does not end itself with them:
 * the core would be Deno's (tens of MB, of the wrong program), and Deno's
 * runtime handles SIGSEGV, SIGBUS, SIGFPE and SIGILL itself, so that a raised
 * one would not end it.
 */
const DUMPS_CORE = new Set([3, 4, 5, 6, 7, 8, 11, 24, 25, 31]);
/** Signals whose default action does not end a process: no program ends of them. */
const HARMLESS = new Set([17, 18, 19, 20, 21, 22, 23, 28]);

/**
 * Ends this process the way its program ended: with the program's exit status,
 * or, when signal N ended the program, with signal N itself (its disposition
 * reset to the default first), so that the caller's wait() sees the signal as
 * it does for util-linux `unshare --fork` and `ip netns exec`. A signal whose
 * default action dumps core (SIGQUIT, SIGSEGV, SIGABRT…) gives exit status
 * 128 + N instead, as a shell reports it.
 *
 * @param code The exit status to end with otherwise.
 * @param signal The signal that ended the program, if one did.
 * @returns Never.
 */
export async function exitAs(code: number, signal?: number): Promise<never> {
  if (signal !== undefined && code === 128 + signal && !DUMPS_CORE.has(signal) && !HARMLESS.has(signal)) {
    const name = signalName(signal) as Deno.Signal;
    // Deno puts back the default disposition when the last listener of a
    // signal goes (also for SIGPIPE, which it ignores): add one and remove it.
    // Real-time signals have no listeners in Deno, and no handler either.
    if (!name.startsWith("SIGRTMIN") && signal !== 9) {
      const none = () => {};
      try {
        Deno.addSignalListener(name, none);
        Deno.removeSignalListener(name, none);
      } catch {
        // A signal Deno takes no listener for: it has no handler of Deno's either.
      }
    }
    libc().kill(Deno.pid, signal);
    // The signal ends the process as soon as a thread takes it; should it be
    // blocked in every thread, the exit status says the same.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  Deno.exit(code);
}
