/**
 * Linux signal numbers (the same on x86-64 and aarch64) and their names.
 *
 * @module
 */

const NAMES: readonly string[] = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

/** The highest signal number, `SIGRTMAX`. */
export const SIGRTMAX = 64;

/**
 * The name of a signal number.
 *
 * @example The name a status shows for a signal number
 * ```ts
 * import assert from "node:assert/strict";
 * import { signalName } from "@nsh/nsh";
 *
 * assert.equal(signalName(9), "SIGKILL");
 * assert.equal(signalName(37), "SIGRTMIN+3");
 * ```
 *
 * @param signo A signal number from 1 to 64.
 * @returns The name, such as `"SIGKILL"`, `"SIGRTMIN+3"` for real-time signals.
 */
export function signalName(signo: number): string {
  if (signo > 0 && signo < NAMES.length) return NAMES[signo]!;
  if (signo >= 34 && signo <= SIGRTMAX) return `SIGRTMIN+${signo - 34}`;
  return `SIG${signo}`;
}

/**
 * The number of a signal given by name or number, as `kill(1)` accepts it:
 * `"SIGKILL"`, `"KILL"`, `"kill"` or `"9"`.
 *
 * @example Every spelling kill(1) accepts
 * ```ts
 * import assert from "node:assert/strict";
 * import { signalNumber } from "@nsh/nsh";
 *
 * assert.equal(signalNumber("SIGTERM"), 15);
 * assert.equal(signalNumber("term"), 15);
 * assert.equal(signalNumber("15"), 15);
 * assert.equal(signalNumber("SIGNOPE"), undefined);
 * ```
 *
 * @param signal A signal name or number.
 * @returns The number, or `undefined` when there is no such signal.
 */
export function signalNumber(signal: string | number): number | undefined {
  if (typeof signal === "number") {
    return Number.isInteger(signal) && signal > 0 && signal <= SIGRTMAX ? signal : undefined;
  }
  if (/^[0-9]+$/.test(signal)) return signalNumber(Number(signal));
  let name = signal.toUpperCase();
  if (!name.startsWith("SIG")) name = "SIG" + name;
  const index = NAMES.indexOf(name);
  if (index > 0) return index;
  const rt = /^SIGRTMIN(?:\+([0-9]+))?$/.exec(name);
  if (rt) {
    const n = 34 + Number(rt[1] ?? 0);
    return n <= SIGRTMAX ? n : undefined;
  }
  if (name === "SIGRTMAX") return SIGRTMAX;
  if (name === "SIGIOT") return 6;
  if (name === "SIGPOLL") return 29;
  return undefined;
}

/**
 * The number of a signal to send, as {@linkcode signalNumber} reads it.
 *
 * @param signal A signal name or number.
 * @returns The number.
 * @throws {TypeError} When there is no such signal.
 */
export function requireSignal(signal: string | number): number {
  const signo = signalNumber(signal);
  if (signo === undefined) throw new TypeError(`Cannot send signal ${signal}: no such signal`);
  return signo;
}
