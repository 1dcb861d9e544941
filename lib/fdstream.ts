/**
 * Web streams over pipe file descriptors that Deno does not know about. Reads
 * and writes run as nonblocking FFI calls on Deno's blocking pool, so the
 * JavaScript thread never waits on a pipe.
 *
 * @module
 */

import { errno, libc } from "../ffi/libc.ts";
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

const POLLIN = 1;

/**
 * Reads pipes to their ends at once: one nonblocking ppoll(2) per wake-up for
 * all of them, then reads on this thread (they cannot block: ppoll said so).
 * Cheaper than a stream per pipe, whose every read is a trip to the pool.
 * Closes the descriptors.
 *
 * @param fds The read ends.
 * @param what What is read, for error messages.
 * @returns What each pipe gave, in order.
 * @throws {SyscallError} When polling or reading fails.
 */
export async function drain(fds: readonly number[], what: string): Promise<Uint8Array[]> {
  const c = libc();
  const chunks: Uint8Array[][] = fds.map(() => []);
  const open = new Set(fds.keys());
  const pollfds = new Uint8Array(new ArrayBuffer(8 * fds.length));
  const view = new DataView(pollfds.buffer);
  const buffer = new Uint8Array(CHUNK);
  try {
    while (open.size) {
      const order = [...open];
      order.forEach((i, k) => {
        view.setInt32(8 * k, fds[i]!, true);
        view.setInt16(8 * k + 4, POLLIN, true);
        view.setInt16(8 * k + 6, 0, true);
      });
      const ready = await routine().ppoll(pollfds, order.length);
      if (ready === -EINTR) continue;
      if (ready < 0) throw new SyscallError("ppoll", -ready, { operation: `wait for ${what}` });
      for (const [k, i] of order.entries()) {
        if (view.getInt16(8 * k + 6, true) === 0) continue;
        const n = Number(c.read(fds[i]!, buffer, BigInt(CHUNK)));
        if (n > 0) chunks[i]!.push(buffer.slice(0, n));
        else if (n === 0) {
          open.delete(i);
          c.close(fds[i]!);
        } else if (errno() !== EINTR && errno() !== EAGAIN) {
          throw new SyscallError("read", errno(), { operation: `read ${what}` });
        }
      }
    }
  } finally {
    for (const i of open) c.close(fds[i]!);
  }
  return chunks.map((list) => {
    if (list.length === 1) return list[0]!;
    const out = new Uint8Array(list.reduce((sum, chunk) => sum + chunk.length, 0));
    let offset = 0;
    for (const chunk of list) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  });
}
