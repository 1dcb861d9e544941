/**
 * Where nsh waits for file descriptors: the pipes to its children and the
 * pidfds of its children. One nonblocking ppoll(2) on Deno's blocking pool
 * waits for all of them at once, so nsh holds at most one pool thread however
 * many children and pipes it has. Deno's pool has a fixed size: a thread per
 * waiting child or pipe exhausted it, and then Deno's own file I/O, and nsh's
 * next writes, waited behind children that waited for those writes.
 *
 * The poll runs while a referenced wait is pending, and a pending poll keeps
 * Deno's event loop alive, as a running `Deno.Command` child does. Waits that
 * are not referenced (the holder of a context, an unref'd child) ride along
 * with the others, are woken by SIGCHLD when alone, and never keep the
 * process alive.
 *
 * @module
 */

import { libc, unwrap } from "../ffi/libc.ts";
import { routine } from "../ffi/routine.ts";
import { SyscallError } from "../ffi/error.ts";

const EINTR = 4;
const O_NONBLOCK = 0o4000, O_CLOEXEC = 0o2000000;
const POLLIN = 1;

/** A pending wait for a descriptor to become ready. */
export interface Wait {
  /** Settles with the returned events (`revents`) once the descriptor is ready. */
  readonly ready: Promise<number>;
  /** Whether the wait keeps Deno's event loop alive; can be changed while it waits. */
  ref: boolean;
  /**
   * Stops waiting: `ready` never settles. Resolves once no poll uses the
   * descriptor any more, after which it may be closed.
   */
  cancel(): Promise<void>;
}

/** A wait, and its place in the poll. */
class Entry implements Wait {
  readonly ready: Promise<number>;
  /** In the poll in flight. */
  polled = false;
  #ref: boolean;
  #resolve!: (revents: number) => void;
  #reject!: (error: Error) => void;

  constructor(readonly fd: number, readonly events: number, ref: boolean) {
    this.#ref = ref;
    this.ready = new Promise<number>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  get ref(): boolean {
    return this.#ref;
  }

  set ref(value: boolean) {
    if (this.#ref === value) return;
    this.#ref = value;
    if (entries.has(this)) kick();
  }

  /** Ends the wait with the poll's events for its descriptor (none: look again). */
  settle(revents: number): void {
    if (entries.delete(this)) this.#resolve(revents);
  }

  /** Ends the wait with an error. */
  fail(error: Error): void {
    if (entries.delete(this)) this.#reject(error);
  }

  async cancel(): Promise<void> {
    if (!entries.delete(this) || !this.polled) return;
    const returned = new Promise<void>((resolve) => afterPoll.push(resolve));
    wake();
    await returned;
  }
}

const entries = new Set<Entry>();
/** Whether polling goes on (a poll is in flight, or the next is being made). */
let polling = false;
/** Called when the poll in flight returns: its descriptors are free then. */
let afterPoll: (() => void)[] = [];
/** A pipe whose read end is in every poll: a byte written to it ends the poll early. */
let waker: [number, number] | undefined;
/** Poll buffers by entry count, reused: one poll is in flight at a time. */
const buffers: Uint8Array<ArrayBuffer>[] = [];

function wakerPipe(): [number, number] {
  if (!waker) {
    const fds = new Int32Array(2);
    unwrap(libc().pipe2(fds, O_NONBLOCK | O_CLOEXEC), "pipe2", { operation: "create the poll's wake-up pipe" });
    waker = [fds[0]!, fds[1]!];
  }
  return waker;
}

/** Ends the poll in flight, so that the next one sees the current entries. */
function wake(): void {
  libc().write(wakerPipe()[1], new Uint8Array(1), 1n);
}

function referenced(): boolean {
  for (const e of entries) if (e.ref) return true;
  return false;
}

/** Starts polling if a referenced wait needs it, or makes the poll in flight start over. */
function kick(): void {
  watchChildren();
  if (polling) wake();
  else if (referenced()) void poll();
}

let onChild: (() => void) | undefined;

/**
 * Waits that are not referenced are polled only along with others; alone,
 * they are woken by SIGCHLD (a Deno signal listener keeps no process alive),
 * with no events, for their owner to check again: they wait for children.
 */
function watchChildren(): void {
  let unreferenced = false;
  for (const e of entries) if (!e.ref) unreferenced = true;
  if (unreferenced && !onChild) {
    onChild = () => {
      for (const e of entries) if (!e.ref) e.settle(0);
      watchChildren();
    };
    Deno.addSignalListener("SIGCHLD", onChild);
  } else if (!unreferenced && onChild) {
    Deno.removeSignalListener("SIGCHLD", onChild);
    onChild = undefined;
  }
}

async function poll(): Promise<void> {
  polling = true;
  const [wakeRead] = wakerPipe();
  const c = libc();
  const sink = new Uint8Array(64);
  try {
    while (referenced()) {
      const list = Array.from(entries);
      const fds = buffers[list.length] ??= new Uint8Array(new ArrayBuffer(8 * (list.length + 1)));
      const view = new DataView(fds.buffer);
      view.setInt32(0, wakeRead, true);
      view.setInt32(4, POLLIN, true); // events, and revents cleared
      for (let k = 0; k < list.length; k++) {
        const e = list[k]!;
        e.polled = true;
        view.setInt32(8 * (k + 1), e.fd, true);
        view.setInt32(8 * (k + 1) + 4, e.events, true);
      }
      const n = await routine().ppoll(fds, list.length + 1);
      for (const e of list) e.polled = false;
      if (afterPoll.length) {
        for (const resolve of afterPoll) resolve();
        afterPoll = [];
      }
      if (n === -EINTR) continue;
      if (n < 0) {
        // Nothing it waited for can be known to be ready: each wait fails.
        const error = new SyscallError("ppoll", -n, { operation: "wait for children and their pipes" });
        for (const e of list) e.fail(error);
        continue;
      }
      if (view.getInt16(6, true)) { while (c.read(wakeRead, sink, BigInt(sink.length)) > 0); }
      for (let k = 0; k < list.length; k++) {
        const revents = view.getInt16(8 * (k + 1) + 6, true);
        if (revents) list[k]!.settle(revents);
      }
    }
  } finally {
    polling = false;
  }
}

/**
 * Waits until a descriptor is ready for the events asked (or has an error
 * or a hang-up, which poll(2) always reports).
 *
 * @param fd A descriptor in nonblocking mode (a pipe end or a pidfd).
 * @param events The poll(2) events, such as `POLLIN` (1) or `POLLOUT` (4).
 * @param ref Whether the wait keeps Deno's event loop alive.
 * @returns The wait; its `ready` rejects with a {@linkcode SyscallError} when
 *   polling fails.
 */
export function waitFor(fd: number, events: number, ref = true): Wait {
  const entry = new Entry(fd, events, ref);
  entries.add(entry);
  kick();
  return entry;
}

/**
 * Makes a descriptor nonblocking, as {@linkcode waitFor} needs.
 *
 * @param fd The descriptor.
 * @returns The descriptor.
 */
export function nonblocking(fd: number): number {
  const F_GETFL = 3, F_SETFL = 4;
  const c = libc();
  const flags = unwrap(c.fcntl(fd, F_GETFL, 0), "fcntl", { operation: "read a pipe's flags" });
  unwrap(c.fcntl(fd, F_SETFL, flags | O_NONBLOCK), "fcntl", { operation: "make a pipe nonblocking" });
  return fd;
}
