/**
 * Web streams over pipe file descriptors that Deno does not know about. The
 * descriptors are nonblocking: reads and writes are made on the JavaScript
 * thread, and when a pipe is not ready the stream waits for it through
 * lib/reactor.ts, which polls every pipe and child in one call on Deno's
 * blocking pool.
 *
 * @module
 */

import { errno, libc } from "../ffi/libc.ts";
import { SyscallError } from "../ffi/error.ts";
import { type Wait, waitFor } from "./reactor.ts";

const EINTR = 4, EAGAIN = 11, EPIPE = 32;
const POLLIN = 1, POLLOUT = 4;
const CHUNK = 64 * 1024;

/**
 * A readable stream of a pipe's read end, which must be nonblocking. The
 * stream owns the descriptor and closes it at end of file, on error and on
 * cancel.
 *
 * @param fd The read end.
 * @param what What is read, for error messages ("the child's standard output").
 * @returns The stream.
 */
export function fdReadable(fd: number, what: string): ReadableStream<Uint8Array<ArrayBuffer>> {
  const c = libc();
  let closed = false;
  let waiting: Wait | undefined;
  const close = () => {
    if (!closed) {
      closed = true;
      c.close(fd);
    }
  };
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(controller) {
      const buffer = new Uint8Array(new ArrayBuffer(CHUNK));
      while (!closed) {
        const n = Number(c.read(fd, buffer, BigInt(CHUNK)));
        if (n > 0) return controller.enqueue(buffer.subarray(0, n));
        if (n === 0) {
          close();
          return controller.close();
        }
        const e = errno();
        if (e === EINTR) continue;
        if (e !== EAGAIN) {
          close();
          return controller.error(new SyscallError("read", e, { operation: `read ${what}` }));
        }
        waiting = waitFor(fd, POLLIN);
        await waiting.ready;
        waiting = undefined;
      }
    },
    async cancel() {
      // A poll in flight may hold the descriptor: close it only once it is out.
      await waiting?.cancel();
      close();
    },
  }, { highWaterMark: 0 });
}

/**
 * A writable stream to a pipe's write end, which must be nonblocking. The
 * stream owns the descriptor and closes it when the stream is closed or
 * aborted.
 *
 * @param fd The write end.
 * @param what What is written, for error messages.
 * @returns The stream.
 */
export function fdWritable(fd: number, what: string): WritableStream<Uint8Array> {
  const c = libc();
  let closed = false;
  let waiting: Wait | undefined;
  const close = async () => {
    await waiting?.cancel();
    if (!closed) {
      closed = true;
      c.close(fd);
    }
  };
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = Number(c.write(fd, chunk.subarray(offset), BigInt(chunk.length - offset)));
        if (n >= 0) {
          offset += n;
          continue;
        }
        const e = errno();
        if (e === EINTR) continue;
        if (e !== EAGAIN) {
          await close();
          throw new SyscallError("write", e, {
            operation: `write ${what}`,
            hint: e === EPIPE ? "the program closed it or exited" : undefined,
          });
        }
        waiting = waitFor(fd, POLLOUT);
        await waiting.ready;
        waiting = undefined;
      }
    },
    close,
    abort: close,
  });
}

/**
 * Reads nonblocking pipes to their ends at once, waiting for them in one poll.
 * Closes the descriptors.
 *
 * @param fds The read ends.
 * @param what What is read, for error messages.
 * @param stop Stops reading when it aborts: what was read until then is the result.
 * @returns What each pipe gave, in order.
 * @throws {SyscallError} When polling or reading fails.
 */
export async function drain(fds: readonly number[], what: string, stop?: AbortSignal): Promise<Uint8Array[]> {
  const c = libc();
  const chunks: Uint8Array[][] = fds.map(() => []);
  const open = new Set(fds);
  const waits = new Set<Wait>();
  const buffer = new Uint8Array(CHUNK);
  let onStop = () => {};
  const stopped = new Promise<void>((resolve) => (onStop = resolve));
  stop?.addEventListener("abort", onStop);
  const readAll = async (fd: number, into: Uint8Array[]) => {
    while (open.has(fd) && !stop?.aborted) {
      const n = Number(c.read(fd, buffer, BigInt(CHUNK)));
      if (n > 0) into.push(buffer.slice(0, n));
      else if (n === 0) {
        open.delete(fd);
        c.close(fd);
      } else if (errno() === EAGAIN) {
        const wait = waitFor(fd, POLLIN);
        waits.add(wait);
        await Promise.race([wait.ready, stopped]);
        if (!stop?.aborted) waits.delete(wait); // else it is cancelled below
      } else if (errno() !== EINTR) {
        throw new SyscallError("read", errno(), { operation: `read ${what}` });
      }
    }
  };
  try {
    await Promise.all(fds.map((fd, i) => readAll(fd, chunks[i]!)));
  } finally {
    stop?.removeEventListener("abort", onStop);
    for (const wait of waits) await wait.cancel();
    for (const fd of open) c.close(fd);
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
