/**
 * Web streams over pipe file descriptors that Deno does not know about. Reads
 * and writes run as nonblocking FFI calls on Deno's blocking pool, so the
 * JavaScript thread never waits on a pipe.
 *
 * @module
 */

import { libc } from "../ffi/libc.ts";
import { routine } from "../ffi/routine.ts";
import { SyscallError } from "../ffi/error.ts";

const EINTR = 4, EAGAIN = 11, EPIPE = 32;
const CHUNK = 64 * 1024;

/**
 * A readable stream of a pipe's read end. The stream owns the descriptor and
 * closes it at end of file, on error and on cancel.
 *
 * @param fd The read end.
 * @param what What is read, for error messages ("the child's standard output").
 * @returns The stream.
 */
export function fdReadable(fd: number, what: string): ReadableStream<Uint8Array<ArrayBuffer>> {
  let closed = false;
  let reading: Promise<unknown> | undefined;
  const close = () => {
    if (!closed) {
      closed = true;
      libc().close(fd);
    }
  };
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(controller) {
      const buffer = new Uint8Array(new ArrayBuffer(CHUNK));
      let n: number;
      do {
        const pending = routine().read(fd, buffer, CHUNK);
        reading = pending;
        n = await pending;
        reading = undefined;
      } while (n === -EINTR || n === -EAGAIN);
      if (closed) return;
      if (n > 0) {
        controller.enqueue(buffer.subarray(0, n));
      } else if (n === 0) {
        close();
        controller.close();
      } else {
        close();
        controller.error(new SyscallError("read", -n, { operation: `read ${what}` }));
      }
    },
    async cancel() {
      // A read in flight holds the descriptor: close it only when it returns.
      if (reading) await reading.catch(() => {});
      close();
    },
  }, { highWaterMark: 0 });
}

/**
 * A writable stream to a pipe's write end. The stream owns the descriptor and
 * closes it when the stream is closed or aborted.
 *
 * @param fd The write end.
 * @param what What is written, for error messages.
 * @returns The stream.
 */
export function fdWritable(fd: number, what: string): WritableStream<Uint8Array> {
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      libc().close(fd);
    }
  };
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      // The pool thread reads the buffer while JavaScript runs: use a copy.
      const copy = new Uint8Array(new ArrayBuffer(chunk.length));
      copy.set(chunk);
      let offset = 0;
      while (offset < copy.length) {
        const n = await routine().write(fd, copy.subarray(offset), copy.length - offset);
        if (n === -EINTR || n === -EAGAIN) continue;
        if (n < 0) {
          close();
          throw new SyscallError("write", -n, {
            operation: `write ${what}`,
            hint: n === -EPIPE ? "the program closed it or exited" : undefined,
          });
        }
        offset += n;
      }
    },
    close,
    abort: close,
  });
}
