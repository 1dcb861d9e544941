/**
 * Runs a child in the foreground of the terminal: it shares nsh's stdio and
 * process group, nsh waits for it, passes signals on, and exits with its status.
 *
 * @module
 */

import type { Child, ExitStatus } from "../lib/child.ts";
import { start, type StartOptions } from "../lib/engine.ts";
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
  /**
   * Print what the program's box used when it ends (`--usage`), through `err`.
   *
   * @default {false}
   */
  readonly usage?: boolean;
  /** Writes one line about how the program ended (the OOM killer), without a newline. */
  readonly report?: (line: string) => void;
  /** Writes text to standard error (the usage). */
  readonly err?: (text: string) => void;
  /**
   * More options of the start: `argv0`, an init, a hook while the child
   * waits, and the descriptors the program gets (those nsh inherited by
   * default).
   */
  readonly start?: Pick<StartOptions, "argv0" | "init" | "fds" | "beforeSetup">;
  /** Called once the program runs, before nsh waits for it. */
  readonly started?: (child: Child) => void;
}

/** Seconds as /usr/bin/time prints elapsed time: `m:ss.cc`, or `h:mm:ss` from an hour on. */
function clock(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor(seconds / 60) % 60;
  const s = seconds % 60;
  return h
    ? `${h}:${String(m).padStart(2, "0")}:${String(Math.floor(s)).padStart(2, "0")}`
    : `${m}:${s.toFixed(2).padStart(5, "0")}`;
}

/**
 * What a program's box used, in the words and layout of `/usr/bin/time -v`
 * where they mean the same (the memory is the box's peak, all processes
 * together, not one process's resident set).
 *
 * @param argv The program and its arguments.
 * @param status How it ended, with the box's usage.
 * @param elapsed Wall-clock seconds from start to end.
 * @returns Lines, each starting with a tab.
 */
export function formatUsage(argv: readonly string[], status: ExitStatus, elapsed: number): string {
  const usage = status.usage ?? {};
  const cpu = (usage.userTime ?? 0) + (usage.systemTime ?? 0);
  const lines = [
    `Command being timed: "${argv.join(" ")}"`,
    `User time (seconds): ${(usage.userTime ?? 0).toFixed(2)}`,
    `System time (seconds): ${(usage.systemTime ?? 0).toFixed(2)}`,
    `Percent of CPU this job got: ${elapsed > 0 ? Math.round(cpu / elapsed * 100) : 0}%`,
    `Elapsed (wall clock) time (h:mm:ss or m:ss): ${clock(elapsed)}`,
  ];
  if (usage.memoryPeak !== undefined) {
    lines.push(`Maximum memory of the box (kbytes): ${Math.ceil(usage.memoryPeak / 1024)}`);
  }
  if (usage.oomKills !== undefined) lines.push(`Processes killed by the OOM killer: ${usage.oomKills}`);
  if (usage.pidsPeak !== undefined) lines.push(`Maximum processes of the box: ${usage.pidsPeak}`);
  if (usage.pidsRefused !== undefined) lines.push(`Forks refused at the process limit: ${usage.pidsRefused}`);
  if (status.signal) lines.push(`Command terminated by signal ${status.code - 128}`);
  lines.push(`Exit status: ${status.signal ? 0 : status.code}`);
  return lines.map((line) => `\t${line}\n`).join("");
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
    child = await start(p, { argv, ...(env ? { env } : {}), fds: inheritedFds(), ...options.start });
    options.started?.(child);
    // The terminal's signal reached the child only if it existed then: pass it on.
    for (const [signal] of early) handle(signal, false);
    const started = performance.now();
    const status = await child.status;
    if (status.oomKilled) {
      options.report?.("the program was killed by the OOM killer: its box reached its memory limit (memory.max)");
    } else if (status.usage?.oomKills) {
      const n = status.usage.oomKills;
      options.report?.(
        `the OOM killer killed ${n} process${n > 1 ? "es" : ""} of the box: it reached its memory limit`,
      );
    }
    if (options.usage) options.err?.(formatUsage(argv, status, (performance.now() - started) / 1000));
    // A PID 1 killed on a signal's behalf ended of that signal, for the user.
    const code = emulated !== undefined && status.signal === "SIGKILL" ? 128 + emulated : status.code;
    programEnded(status.signal === null ? undefined : code - 128);
    return code;
  } finally {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  }
}
