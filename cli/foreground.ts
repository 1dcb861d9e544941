/**
 * Runs a child in the foreground of the terminal: it shares nsh's stdio and
 * process group, nsh waits for it, passes signals on, and exits with its status.
 *
 * @module
 */

import { type Child, start } from "../lib/engine.ts";
import type { Plan } from "../lib/plan.ts";
import { signalNumber } from "../ffi/signals.ts";
import { inheritedFds } from "../lib/system.ts";
import { programEnded } from "./exit.ts";

/** How {@linkcode runForeground} treats signals sent to nsh. */
export interface ForegroundOptions {
  /**
   * Pass SIGINT on to the program too, as util-linux `unshare
   * --forward-signals` does, also when the terminal sent it to the program
   * already. SIGTERM and SIGHUP are always passed on.
   *
   * @default {false}
   */
  readonly forwardSignals?: boolean;
}

/**
 * Delivers a signal the way the user expects even to PID 1 of a new PID
 * namespace, which the kernel shields from every signal it has no handler for:
 * there, the signal's default action (ending the process) is done with SIGKILL.
 *
 * @param child The child.
 * @param signal The signal.
 * @param alreadySent The terminal already sent it to the child's process group.
 * @returns Whether nsh had to kill the child on the signal's behalf.
 */
export function deliver(child: Child, signal: Deno.Signal, alreadySent: boolean): boolean {
  if (child.shielded(signalNumber(signal)!)) {
    child.kill("SIGKILL");
    return true;
  }
  if (!alreadySent) child.kill(signal);
  return false;
}

/**
 * Starts a program with inherited stdio and waits for it. Ctrl-C and Ctrl-\ go
 * to the child (the terminal sends them to both), SIGTERM and SIGHUP sent to
 * nsh are passed on, and nsh itself survives them all until the child ends.
 *
 * @param p The plan.
 * @param argv The program and its arguments.
 * @param env The environment (this process's, as it is, by default).
 * @param options How signals sent to nsh are treated.
 * @returns The exit status for nsh: the child's, or 128 + N for signal N
 *   (`programSignal()` of cli/exit.ts then tells N).
 */
export async function runForeground(
  p: Plan,
  argv: readonly string[],
  env?: Readonly<Record<string, string>>,
  options: ForegroundOptions = {},
): Promise<number> {
  // The listeners come first: a Ctrl-C while the child starts must not end
  // nsh (Deno dies of SIGINT when nothing listens). A signal that comes before
  // the child exists is delivered once it does.
  let child: Child | undefined;
  const early: [Deno.Signal, boolean][] = [];
  let emulated: number | undefined;
  const handle = (signal: Deno.Signal, fromTerminal: boolean) => {
    if (!child) early.push([signal, fromTerminal]);
    else if (deliver(child, signal, fromTerminal)) emulated ??= signalNumber(signal);
  };
  // A program in a session of its own is out of the terminal's reach: nsh
  // passes the terminal's Ctrl-C and Ctrl-\ on.
  const detached = p.actions.some((s) => s.kind === "new-session");
  const listeners: [Deno.Signal, () => void][] = (
    [
      ["SIGINT", !options.forwardSignals && !detached],
      ["SIGQUIT", !detached],
      ["SIGTERM", false],
      ["SIGHUP", false],
    ] as const
  ).map(([signal, fromTerminal]) => [signal, () => handle(signal, fromTerminal)]);
  programEnded(undefined);
  for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);
  try {
    // As util-linux and sh: what nsh inherited, the program inherits.
    child = await start(p, { argv, ...(env ? { env } : {}), fds: inheritedFds() });
    // The terminal's signal reached the child only if it existed then: pass it on.
    for (const [signal] of early) handle(signal, false);
    const status = await child.status;
    // A PID 1 killed on a signal's behalf ended of that signal, for the user.
    const code = emulated !== undefined && status.signal === "SIGKILL" ? 128 + emulated : status.code;
    programEnded(status.signal === null ? undefined : code - 128);
    return code;
  } finally {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  }
}
