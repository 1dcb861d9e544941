/**
 * Reads a script from standard input one line at a time without taking more
 * than that line: what follows stays in stdin for the programs the line runs
 * (`cat` reads the rest of the script), as sh leaves it. sh reads a pipe a
 * byte at a time for this; nsh peeks instead, so a long line costs a few
 * system calls per 64 KiB, not one per byte:
 *
 * - a regular file: read a block, then seek back to the end of the line;
 * - a pipe: tee(2) the waiting bytes into a pipe of nsh's own, which does
 *   not consume them, find the newline there, then read exactly the line;
 * - anything else (a socket, a character device): a byte at a time.
 *
 * @module
 */

import { errno, libc, statAt } from "../../ffi/libc.ts";
import { SyscallError } from "../../ffi/error.ts";
import { AT_EMPTY_PATH, EINTR, EINVAL, O_CLOEXEC, S_IFIFO, S_IFMT, S_IFREG } from "../../ffi/constants.ts";

const SEEK_CUR = 1;
const CHUNK = 65536;

/** A growing buffer of bytes. */
class Bytes {
  #buffer = new Uint8Array(256);
  length = 0;

  push(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.#buffer.length) {
      const bigger = new Uint8Array(Math.max(this.#buffer.length * 2, this.length + bytes.length));
      bigger.set(this.#buffer.subarray(0, this.length));
      this.#buffer = bigger;
    }
    this.#buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  take(): Uint8Array {
    const out = this.#buffer.slice(0, this.length);
    this.length = 0;
    return out;
  }
}

/** Reads lines of a descriptor, leaving the rest in it. */
export class LineReader {
  readonly #fd: number;
  #mode: "seek" | "tee" | "byte";
  #pipe: [number, number] | undefined;
  readonly #chunk = new Uint8Array(CHUNK);

  /**
   * @param fd The descriptor, standard input by default.
   */
  constructor(fd = 0) {
    this.#fd = fd;
    const st = statAt(fd, "", AT_EMPTY_PATH);
    const type = typeof st === "number" ? 0 : st.mode & S_IFMT;
    this.#mode = type === S_IFREG ? "seek" : type === S_IFIFO ? "tee" : "byte";
  }

  /**
   * The next line, without its newline.
   *
   * @returns The line's bytes, or `null` at the end of the input.
   * @throws {SyscallError} When reading fails.
   */
  next(): Uint8Array | null {
    const line = new Bytes();
    for (;;) {
      const got = this.#mode === "seek" ? this.#seekRead() : this.#mode === "tee" ? this.#teeRead() : this.#byteRead();
      if (got === null) return line.length ? line.take() : null;
      line.push(got.bytes);
      if (got.end) return line.take();
    }
  }

  /** Closes nsh's own pipe, if it made one. */
  close(): void {
    if (this.#pipe) { for (const fd of this.#pipe) libc().close(fd); }
    this.#pipe = undefined;
  }

  #read(fd: number, buffer: Uint8Array, length: number): number {
    for (;;) {
      const n = Number(libc().read(fd, buffer, BigInt(length)));
      if (n >= 0) return n;
      if (errno() !== EINTR) throw new SyscallError("read", errno(), { operation: "read the script from stdin" });
    }
  }

  /** Up to the newline of what a block holds; seeks back over the rest. */
  #seekRead(): { bytes: Uint8Array; end: boolean } | null {
    const n = this.#read(this.#fd, this.#chunk, CHUNK);
    if (n === 0) return null;
    const newline = this.#chunk.subarray(0, n).indexOf(0x0a);
    if (newline < 0) return { bytes: this.#chunk.slice(0, n), end: false };
    if (newline + 1 < n && libc().lseek(this.#fd, BigInt(newline + 1 - n), SEEK_CUR) < 0) {
      // Not seekable after all: the rest of this block would be lost.
      throw new SyscallError("lseek", errno(), { operation: "leave the rest of the script in stdin" });
    }
    return { bytes: this.#chunk.slice(0, newline), end: true };
  }

  /** Peeks at what the pipe holds, then reads up to its first newline. */
  #teeRead(): { bytes: Uint8Array; end: boolean } | null {
    const c = libc();
    if (!this.#pipe) {
      const fds = new Int32Array(2);
      if (c.pipe2(fds, O_CLOEXEC) < 0) {
        throw new SyscallError("pipe2", errno(), { operation: "make a pipe to read the script with" });
      }
      this.#pipe = [fds[0]!, fds[1]!];
    }
    let n: number;
    for (;;) {
      n = Number(c.tee(this.#fd, this.#pipe[1], BigInt(CHUNK), 0));
      if (n >= 0) break;
      const e = errno();
      if (e === EINTR) continue;
      if (e === EINVAL) {
        this.#mode = "byte";
        return this.#byteRead();
      }
      throw new SyscallError("tee", e, { operation: "read the script from stdin" });
    }
    if (n === 0) return null;
    // What tee copied is all in nsh's pipe: read it, then take the line.
    let seen = 0;
    while (seen < n) seen += this.#read(this.#pipe[0], this.#chunk.subarray(seen), n - seen);
    const newline = this.#chunk.subarray(0, n).indexOf(0x0a);
    const take = newline < 0 ? n : newline + 1;
    const line = new Uint8Array(take);
    for (let at = 0; at < take;) {
      const got = this.#read(this.#fd, line.subarray(at), take - at);
      if (got === 0) return { bytes: line.subarray(0, at), end: true };
      at += got;
    }
    return newline < 0 ? { bytes: line, end: false } : { bytes: line.subarray(0, newline), end: true };
  }

  #byteRead(): { bytes: Uint8Array; end: boolean } | null {
    const one = this.#chunk.subarray(0, 1);
    if (this.#read(this.#fd, one, 1) === 0) return null;
    return one[0] === 0x0a ? { bytes: new Uint8Array(), end: true } : { bytes: one.slice(), end: false };
  }
}
