/**
 * The error raised when a system call fails, in the Deno process or in a child
 * between `clone` and `execve`.
 *
 * @module
 */

import { errnoName, errnoNumber, errnoText } from "./errno.ts";

/** Options of {@linkcode SyscallError}. */
export interface SyscallErrorOptions {
  /**
   * What was attempted, as a verb phrase: `mount "proc" on "/proc"`.
   *
   * @default {`call ${syscall}()`}
   */
  operation?: string | undefined;
  /** The path the user gave, when the operation was on a path. */
  path?: string | undefined;
  /** What the user can do about it. */
  hint?: string | undefined;
}

/**
 * A system call failed. The message names the operation, the system call and
 * the errno, then the hint when there is one:
 *
 * `Cannot mount "proc" on "/proc": mount() failed with EPERM (Operation not permitted)`
 *
 * @example A setup step that failed: what, on which path, errno and hint
 * ```ts
 * import assert from "node:assert/strict";
 * import { bindMount, mapRootUser, sandbox, SyscallError } from "@nsh/nsh";
 *
 * const box = sandbox(mapRootUser(), bindMount("/no/such/dir", "/mnt"));
 * const error = await box.run("true").output().catch((error) => error);
 * assert.ok(error instanceof SyscallError);
 * assert.equal(error.code, "ENOENT");
 * assert.equal(error.message, 'Cannot bind-mount "/no/such/dir" on "/mnt": mount() failed with ENOENT (No such file or directory); the source and the mount point must exist');
 * ```
 */
export class SyscallError extends Error {
  /** The system call, such as `"mount"`. */
  readonly syscall: string;
  /** The errno value, such as `1`. */
  readonly errno: number;
  /** The errno name, such as `"EPERM"`. */
  readonly code: string;
  /** What was attempted, as a verb phrase. */
  readonly operation: string;
  /** The path the user gave, if any. */
  readonly path: string | undefined;
  /** What the user can do about it, if anything is known. */
  readonly hint: string | undefined;

  /**
   * Creates the error for a failed system call.
   *
   * @param syscall The system call that failed.
   * @param errno Its positive errno value.
   * @param options What was attempted, on which path, and a hint.
   */
  constructor(syscall: string, errno: number, options: SyscallErrorOptions = {}) {
    const operation = options.operation ?? `call ${syscall}()`;
    const code = errnoName(errno);
    let message = `Cannot ${operation}: ${syscall}() failed with ${code} (${errnoText(errno)})`;
    if (options.hint) message += `; ${options.hint}`;
    super(message);
    this.name = "SyscallError";
    this.syscall = syscall;
    this.errno = errno;
    this.code = code;
    this.operation = operation;
    this.path = options.path;
    this.hint = options.hint;
  }
}

/**
 * The errno of an error that a Deno API raised for a failed system call
 * (`Deno.errors.PermissionDenied` and the like carry its name as `code`; for
 * errnos it has no class for, such as ESRCH, Deno gives no `code` and only
 * its message says `(os error N)`).
 *
 * @param error Anything caught.
 * @returns The errno value, or `undefined` when `error` is no such error.
 */
export function osErrno(error: unknown): number | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code === "string") return errnoNumber(code);
  const number = / \(os error ([1-9][0-9]{0,3})\)(?::|$)/.exec(error.message)?.[1];
  return number === undefined ? undefined : Number(number);
}

/**
 * A Deno API's failed system call as a {@linkcode SyscallError}, so that it
 * is reported as nsh's own are; anything else as it is.
 *
 * @param error Anything caught.
 * @param syscall The system call that the API made.
 * @param options What was attempted, and on which path.
 * @returns The error to throw.
 */
export function asSyscallError(error: unknown, syscall: string, options: SyscallErrorOptions): unknown {
  const errno = osErrno(error);
  return errno === undefined ? error : new SyscallError(syscall, errno, options);
}
