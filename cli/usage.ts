/**
 * Errors in how a user called a command, and the one funnel that turns any
 * error into a line on stderr and an exit status.
 *
 * @module
 */

import { osErrno, SyscallError } from "../ffi/error.ts";
import { errnoName, errnoText } from "../ffi/errno.ts";

/** A user's mistake on the command line: one line and a usage hint, exit 1. */
export class UsageError extends Error {
  /** The command, such as `"unshare"`. */
  readonly command: string;
  /** The exit status. */
  readonly exitCode: number;
  /** Whether the message is followed by "Try '… --help'" (util-linux adds it to syntax errors only). */
  readonly help: boolean = true;

  /**
   * @param command The command that was called.
   * @param message What is wrong.
   * @param exitCode The exit status.
   */
  constructor(command: string, message: string, exitCode = 1) {
    super(message);
    this.name = "UsageError";
    this.command = command;
    this.exitCode = exitCode;
  }
}

/**
 * A value the command cannot use (`--propagation bad`, an unknown user, a
 * hostname too long): one line without a usage hint, exit 1, as util-linux
 * reports what it fails to parse.
 */
export class ValueError extends UsageError {
  override readonly help = false;

  /**
   * @param command The command that was called.
   * @param message What is wrong.
   * @param exitCode The exit status.
   */
  constructor(command: string, message: string, exitCode = 1) {
    super(command, message, exitCode);
    this.name = "ValueError";
  }
}

/**
 * A library message ("Cannot …") as the CLI prints it after its prefix ("cannot …").
 *
 * @param text The message.
 * @returns It with a lowercase first letter.
 */
export function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/**
 * The exit status util-linux uses for a failed start: 127 when the program
 * is not found, 126 when it cannot be executed, 1 for any other setup failure.
 *
 * @param error The error.
 * @returns The status.
 */
export function exitStatusOf(error: unknown): number {
  if (error instanceof UsageError) return error.exitCode;
  if (error instanceof SyscallError && error.syscall === "execve") return error.code === "ENOENT" ? 127 : 126;
  return 1;
}

/**
 * What to print for an error: one line for anything a user can cause, the
 * stack only for what must be a bug in nsh.
 *
 * @param command The command's name, for the prefix.
 * @param error The error.
 * @returns The lines to print, without a final newline.
 */
export function describeError(command: string, error: unknown): string {
  const prefix = command ? `nsh ${command}: ` : "nsh: ";
  if (error instanceof UsageError) {
    const cmd = error.command ? `nsh ${error.command}` : "nsh";
    return `${cmd}: ${error.message}${error.help ? `\nTry '${cmd} --help' for more information.` : ""}`;
  }
  if (error instanceof SyscallError) return prefix + lowerFirst(error.message);
  if (error instanceof Deno.errors.NotCapable) return `${prefix}${lowerFirst(error.message)} (run Deno with -A)`;
  // A Deno API's failed system call: "Permission denied (os error 13): mkdir '/x'".
  const e = osErrno(error);
  if (e !== undefined) {
    const what = /\(os error \d+\)(?:: (.*))?$/.exec((error as Error).message)?.[1];
    return `${prefix}${what ? `cannot ${what}: ` : ""}${errnoName(e)} (${errnoText(e)})`;
  }
  // lib/ throws plain Errors for what the machine lacks (newuidmap, kernel
  // support); TypeError and RangeError from user input are turned into
  // UsageErrors by the commands. Anything else is a bug: show its stack.
  if (error instanceof Error && error.constructor === Error) return prefix + lowerFirst(error.message);
  return `${prefix}internal error: ${error instanceof Error ? error.stack : String(error)}`;
}
