/**
 * The shell's descriptors: which descriptor of this process each of a
 * command's standard streams is (a pipe end, a file a redirection opened),
 * and how the shell itself writes and reads them without blocking its event
 * loop on a pipe that another task of the shell reads or writes.
 *
 * @module
 */

import type { StdioSpec } from "../../lib/engine.ts";
import { errno, libc, statAt } from "../../ffi/libc.ts";
import { SyscallError } from "../../ffi/error.ts";
import { decodeBytes, encodeText } from "../../ffi/bytes.ts";
import { READABLE, waitFor, WRITABLE } from "../../lib/reactor.ts";
import { AT_EMPTY_PATH, EAGAIN, EINTR, EPIPE, O_CLOEXEC, S_IFMT, S_IFREG } from "../../ffi/constants.ts";

/** The largest write a pipe takes at once when it has room for one more page. */
const PIPE_BUF = 4096;

/**
 * Standard input, output and error of a command: each a descriptor of this
 * process, or `undefined` for this process's own (which the shell's output
 * functions write to). Immutable.
 */
export class Fds {
  readonly #fds: readonly (number | undefined)[];

  /**
   * @param fds Descriptors for 0, 1 and 2; `undefined` inherits this process's.
   */
  constructor(fds: readonly (number | undefined)[] = []) {
    this.#fds = [fds[0], fds[1], fds[2]];
  }

  /** The descriptor of stream `n`, or `undefined` when it is this process's own. */
  get(n: number): number | undefined {
    return this.#fds[n];
  }

  /** This process's descriptor that stream `n` is. */
  real(n: number): number {
    return this.#fds[n] ?? n;
  }

  /** A copy with stream `n` redirected to `fd` (`undefined`: this process's own). */
  with(n: number, fd: number | undefined): Fds {
    const copy = [...this.#fds];
    copy[n] = fd;
    return new Fds(copy);
  }

  /** How a program started by the engine gets stream `n`. */
  spec(n: number): StdioSpec {
    const fd = this.#fds[n];
    return fd === undefined ? "inherit" : { fd };
  }
}

/** A broken pipe met by the shell's own writing: the stage ends, as a program would by SIGPIPE (status 141). */
export class BrokenPipe extends Error {
  constructor() {
    super("Cannot write: the reader closed the pipe");
    this.name = "BrokenPipe";
  }
}

function isRegular(fd: number): boolean {
  const st = statAt(fd, "", AT_EMPTY_PATH);
  return typeof st !== "number" && (st.mode & S_IFMT) === S_IFREG;
}

/**
 * Writes all of `bytes` to a descriptor. A regular file is written at once;
 * a pipe, a socket or a terminal a page at a time, each once it has room,
 * so that a full pipe that a task of this shell reads never blocks it.
 *
 * @param fd The descriptor.
 * @param bytes What to write.
 * @throws {BrokenPipe} When the reader is gone.
 * @throws {SyscallError} When writing fails otherwise.
 */
export async function writeFd(fd: number, bytes: Uint8Array): Promise<void> {
  const c = libc();
  const direct = isRegular(fd);
  for (let at = 0; at < bytes.length;) {
    if (!direct) await ready(fd, WRITABLE);
    const chunk = direct ? bytes.subarray(at) : bytes.subarray(at, at + PIPE_BUF);
    const n = Number(c.write(fd, chunk, BigInt(chunk.length)));
    if (n >= 0) {
      at += n;
      continue;
    }
    const e = errno();
    if (e === EINTR || e === EAGAIN) continue;
    if (e === EPIPE) throw new BrokenPipe();
    throw new SyscallError("write", e, { operation: `write to descriptor ${fd}` });
  }
}

/** Waits until a descriptor that epoll can watch is ready; a regular file always is. */
async function ready(fd: number, events: number): Promise<void> {
  let wait;
  try {
    wait = waitFor(fd, events);
  } catch {
    return; // Not pollable (a regular file, /dev/null): it never blocks.
  }
  await wait.ready;
}

/**
 * Reads one line from a descriptor, taking no byte after its newline, so
 * that what follows stays for the next reader (a program, the next `read`),
 * as sh's `read` leaves it: a regular file is read by blocks and sought
 * back, anything else a byte at a time once it has one.
 *
 * @param fd The descriptor.
 * @returns The line without its newline, and whether a newline ended it;
 *   `undefined` at the end of the input.
 * @throws {SyscallError} When reading fails.
 */
export async function readLine(fd: number): Promise<{ line: string; newline: boolean } | undefined> {
  const c = libc();
  const chunks: Uint8Array[] = [];
  const regular = isRegular(fd);
  const buffer = new Uint8Array(regular ? 4096 : 1);
  for (;;) {
    if (!regular) await ready(fd, READABLE);
    const n = Number(c.read(fd, buffer, BigInt(buffer.length)));
    if (n < 0) {
      const e = errno();
      if (e === EINTR || e === EAGAIN) continue;
      throw new SyscallError("read", e, { operation: "read a line" });
    }
    if (n === 0) {
      if (!chunks.length) return undefined;
      return { line: decodeBytes(concat(chunks)), newline: false };
    }
    const newline = buffer.subarray(0, n).indexOf(0x0a);
    if (newline < 0) {
      chunks.push(buffer.slice(0, n));
      continue;
    }
    chunks.push(buffer.slice(0, newline));
    if (regular && newline + 1 < n) c.lseek(fd, BigInt(newline + 1 - n), 1);
    return { line: decodeBytes(concat(chunks)), newline: true };
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** A pipe, both ends close-on-exec: `[read, write]`. */
export function pipe(): [number, number] {
  const fds = new Int32Array(2);
  if (libc().pipe2(fds, O_CLOEXEC) < 0) {
    throw new SyscallError("pipe2", errno(), { operation: "create a pipe" });
  }
  return [fds[0]!, fds[1]!];
}

/** Closes descriptors, ignoring those already closed. */
export function closeAll(...fds: (number | undefined)[]): void {
  for (const fd of fds) if (fd !== undefined) libc().close(fd);
}

/**
 * A descriptor that reads the given text from its start: a memfd (for a
 * here-document), so that a program can read it whatever its size, with no
 * writer to wait for.
 *
 * @param text The text.
 * @returns The descriptor, close-on-exec.
 */
export function textFd(text: string): number {
  const c = libc();
  const MFD_CLOEXEC = 1;
  const fd = c.memfd_create(encodeText("nsh-here-document\0"), MFD_CLOEXEC);
  if (fd < 0) throw new SyscallError("memfd_create", errno(), { operation: "hold a here-document" });
  const bytes = encodeText(text);
  for (let at = 0; at < bytes.length;) {
    const n = Number(c.write(fd, bytes.subarray(at), BigInt(bytes.length - at)));
    if (n < 0) {
      const e = errno();
      c.close(fd);
      throw new SyscallError("write", e, { operation: "hold a here-document" });
    }
    at += n;
  }
  c.lseek(fd, 0n, 0);
  return fd;
}

export { openFile as openRedirect, type OpenMode } from "../../lib/files.ts";
