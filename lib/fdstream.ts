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
import { READABLE, waitFor, WRITABLE } from "./reactor.ts";
import { EAGAIN, EINTR, EPIPE } from "../ffi/constants.ts";

const CHUNK = 64 * 1024;
/** Reads in a row before the next goes through the poll: a fast writer must not hold the event loop. */
const BURST = 16;

/**
 * A controller of one's own that also aborts when `stop` does.
 *
 * @returns It, and what detaches it from `stop`.
 */
function following(stop: AbortSignal | undefined): [AbortController, () => void] {
  const own = new AbortController();
  const abort = () => own.abort();
  if (stop?.aborted) own.abort();
  else stop?.addEventListener("abort", abort, { once: true });
  return [own, () => stop?.removeEventListener("abort", abort)];
}

/**
 * Waits until a descriptor is ready, or `stop` aborts.
 *
 * @returns `false` when `stop` aborted first (the wait is cancelled then).
 */
function whenReady(fd: number, events: number, stop: AbortSignal | undefined): Promise<boolean> {
  if (stop?.aborted) return Promise.resolve(false);
  const wait = waitFor(fd, events);
  if (!stop) return wait.ready.then(() => true);
  return new Promise<boolean>((resolve, reject) => {
    // A poll in flight may hold the descriptor: it is free once the wait is cancelled.
    const onAbort = () => void wait.cancel().then(() => resolve(false));
    stop.addEventListener("abort", onAbort, { once: true });
    wait.ready.then(() => {
      stop.removeEventListener("abort", onAbort);
      resolve(true);
    }, (error) => {
      stop.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}

/**
 * A readable stream of a pipe's read end, which must be nonblocking. The
 * stream owns the descriptor and closes it at end of file, on error, on
 * cancel, and when `stop` aborts (the stream then ends as at end of file).
 *
 * @param fd The read end.
 * @param what What is read, for error messages ("the child's standard output").
 * @param stop Abandons the pipe when it aborts.
 * @returns The stream.
 */
export function fdReadable(fd: number, what: string, stop?: AbortSignal): ReadableStream<Uint8Array<ArrayBuffer>> {
  const c = libc();
  let closed = false;
  // Aborted by cancel(), or by `stop`.
  const [ended] = following(stop);
  const close = () => {
    if (!closed) {
      closed = true;
      c.close(fd);
    }
  };
  let pending: Promise<unknown> | undefined;
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
        const ready = whenReady(fd, READABLE, ended.signal);
        pending = ready;
        if (!(await ready)) {
          close();
          // Abandoned: the stream ends as at end of file; cancelled: it is over anyway.
          return stop?.aborted ? controller.close() : undefined;
        }
      }
    },
    async cancel() {
      ended.abort();
      await pending;
      close();
    },
  }, { highWaterMark: 0 });
}

/**
 * A writable stream to a pipe's write end, which must be nonblocking. The
 * stream owns the descriptor and closes it when the stream is closed or
 * aborted, and when `stop` aborts (a write then fails with an AbortError).
 *
 * @param fd The write end.
 * @param what What is written, for error messages.
 * @param stop Abandons the pipe when it aborts.
 * @returns The stream.
 */
export function fdWritable(fd: number, what: string, stop?: AbortSignal): WritableStream<Uint8Array> {
  const c = libc();
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      c.close(fd);
    }
  };
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      let offset = 0;
      while (offset < chunk.length) {
        if (closed) throw new DOMException(`Cannot write ${what}: it was abandoned`, "AbortError");
        const n = Number(c.write(fd, chunk.subarray(offset), BigInt(chunk.length - offset)));
        if (n >= 0) {
          offset += n;
          continue;
        }
        const e = errno();
        if (e === EINTR) continue;
        if (e !== EAGAIN) {
          close();
          throw new SyscallError("write", e, {
            operation: `write ${what}`,
            hint: e === EPIPE ? "the program closed it or exited" : undefined,
          });
        }
        if (!(await whenReady(fd, WRITABLE, stop))) close();
      }
    },
    // Only called when no write is in flight: nothing waits on the descriptor.
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
  const buffer = new Uint8Array(CHUNK);
  // Ends every wait when one pipe fails, or when `stop` aborts.
  const [quit, detach] = following(stop);
  const signal = quit.signal;
  const readAll = async (fd: number, into: Uint8Array[]) => {
    let burst = 0;
    while (open.has(fd)) {
      // After a run of full reads, wait through the poll (ready at once) so
      // that other tasks run between them.
      const n = burst === BURST ? -1 : Number(c.read(fd, buffer, BigInt(CHUNK)));
      if (n > 0) {
        into.push(buffer.slice(0, n));
        burst++;
      } else if (n === 0) {
        open.delete(fd);
        c.close(fd);
      } else if (burst === BURST || errno() === EAGAIN) {
        burst = 0;
        if (!(await whenReady(fd, READABLE, signal))) return;
      } else if (errno() !== EINTR) {
        throw new SyscallError("read", errno(), { operation: `read ${what}` });
      }
    }
  };
  const reads = fds.map((fd, i) => readAll(fd, chunks[i]!));
  try {
    await Promise.all(reads);
  } finally {
    detach();
    quit.abort();
    // Every wait has ended or been cancelled: the descriptors are free.
    await Promise.allSettled(reads);
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
