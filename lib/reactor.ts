/**
 * Where nsh waits for file descriptors: the pipes to its children and the
 * pidfds of its children. They are registered in one epoll instance, and one
 * nonblocking `epoll_pwait` on Deno's blocking pool waits for all of them, so
 * nsh holds at most one pool thread however many children and pipes it has.
 * Deno's pool has a fixed size: a thread per waiting child or pipe exhausted
 * it, and then Deno's own file I/O, and nsh's next writes, waited behind
 * children that waited for those writes.
 *
 * A descriptor is added to (or removed from) the epoll instance at once, even
 * while the wait runs: a new child or pipe costs no restart of the wait, and a
 * cancelled one may be closed right away.
 *
 * The wait runs while a referenced wait is pending, and a pending wait keeps
 * Deno's event loop alive, as a running `Deno.Command` child does. Waits that
 * are not referenced (the holder of a context, an unref'd child) stay in the
 * epoll instance and ride along with the others; when nothing referenced
 * runs the wait, a SIGCHLD makes one look at it that does not block. They
 * never keep the process alive, and each is woken only when its own
 * descriptor is ready: what a wait costs does not grow with the number of
 * waits (held contexts) in the process.
 *
 * @module
 */

import { libc, unwrap } from "../ffi/libc.ts";
import { routine } from "../ffi/routine.ts";
import { SyscallError } from "../ffi/error.ts";
import {
  EEXIST,
  EINTR,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  EPOLLONESHOT,
  O_CLOEXEC,
  O_NONBLOCK,
} from "../ffi/constants.ts";

/** The events to wait for: `EPOLLIN` (a pipe to read, a pidfd of a child that ended) and `EPOLLOUT`. */
export const READABLE = 1, WRITABLE = 4;
/** `struct epoll_event` is packed on x86-64 (12 bytes), aligned elsewhere (16). */
const EVENT_SIZE = Deno.build.arch === "x86_64" ? 12 : 16;
const DATA_OFFSET = Deno.build.arch === "x86_64" ? 4 : 8;
const MAX_EVENTS = 64;
/** The `data` of the wake-up pipe's registration; waits count from 1. */
const WAKER = 0;

/** A pending wait for a descriptor to become ready. */
export interface Wait {
  /** Settles with the returned events once the descriptor is ready. */
  readonly ready: Promise<number>;
  /** Whether the wait keeps Deno's event loop alive; can be changed while it waits. */
  ref: boolean;
  /**
   * Stops waiting: `ready` never settles, and the descriptor may be closed
   * once this resolves.
   */
  cancel(): Promise<void>;
}

/** A wait, and its registration. */
class Entry implements Wait {
  readonly ready: Promise<number>;
  #ref: boolean;
  #resolve!: (revents: number) => void;
  #reject!: (error: Error) => void;

  constructor(readonly id: number, readonly fd: number, ref: boolean) {
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
    if (!entries.has(this.id)) return;
    count(value, 1);
    count(!value, -1);
    // An event that came while nothing ran the wait is still pending in the
    // epoll instance (nothing took it): the look when the wait stops finds it.
    changed();
  }

  /**
   * Ends the wait with the events epoll reported for its descriptor. Its
   * registration is one-shot, disabled by that report: it needs no
   * EPOLL_CTL_DEL, and goes with the descriptor when that closes.
   */
  settle(revents: number): void {
    if (forget(this)) this.#resolve(revents);
  }

  /** Ends the wait with an error. */
  fail(error: Error): void {
    if (forget(this)) this.#reject(error);
  }

  cancel(): Promise<void> {
    if (forget(this)) {
      // Still armed: removed at once, also from a wait in flight, so that the
      // descriptor may close and its next wait starts clean.
      ctl(EPOLL_CTL_DEL, this.fd, 0, 0);
      changed();
    }
    return Promise.resolve();
  }
}

const entries = new Map<number, Entry>();
/**
 * How many pending waits are referenced, and how many are not: counted, not
 * found by a scan of the entries, which made each change cost as much as the
 * process held contexts.
 */
let referencedWaits = 0, unreferencedWaits = 0;
let nextId = WAKER + 1;

function count(ref: boolean, by: number): void {
  if (ref) referencedWaits += by;
  else unreferencedWaits += by;
}

let epfd: number | undefined;
/** A pipe in the epoll instance: a byte written to it ends the wait in flight. */
let waker: [number, number] | undefined;
/** Whether the wait runs (a call is in flight, or the next is being made). */
let polling = false;

/** The `struct epoll_event` that epoll_ctl reads, on this thread: one serves every call. */
const event = new Uint8Array(new ArrayBuffer(EVENT_SIZE));
const eventView = new DataView(event.buffer);
let eventAddress: number | undefined;

function ctl(op: number, fd: number, events: number, data: number): number {
  eventView.setUint32(0, events, true);
  eventView.setBigUint64(DATA_OFFSET, BigInt(data), true);
  eventAddress ??= Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(event)));
  const { sysno, syscall } = routine();
  return syscall(sysno.epoll_ctl, epfd!, op, fd, eventAddress);
}

function epoll(): number {
  if (epfd === undefined) {
    const { sysno, syscall } = routine();
    const fd = syscall(sysno.epoll_create1, O_CLOEXEC);
    if (fd < 0) {
      throw new SyscallError("epoll_create1", -fd, { operation: "create the epoll instance for children and pipes" });
    }
    const fds = new Int32Array(2);
    unwrap(libc().pipe2(fds, O_NONBLOCK | O_CLOEXEC), "pipe2", { operation: "create the wait's wake-up pipe" });
    epfd = fd;
    waker = [fds[0]!, fds[1]!];
    const r = ctl(EPOLL_CTL_ADD, waker[0], READABLE, WAKER);
    if (r < 0) throw new SyscallError("epoll_ctl", -r, { operation: "watch the wake-up pipe" });
  }
  return epfd;
}

/** Removes a wait; `false` when it had ended already. */
function forget(e: Entry): boolean {
  if (!entries.delete(e.id)) return false;
  count(e.ref, -1);
  return true;
}

/**
 * Starts the wait when a referenced wait needs it, and ends it early when
 * none does any more; listens for SIGCHLD while unreferenced waits exist.
 */
function changed(): void {
  watchChildren();
  if (referencedWaits > 0 && !polling) void run();
  else if (referencedWaits === 0 && polling) libc().write(waker![1], new Uint8Array(1), 1n);
  else if (!polling && unreferencedWaits > 0) look();
}

/** Where epoll_pwait writes: one wait is in flight at a time. */
const buffer = new Uint8Array(new ArrayBuffer(EVENT_SIZE * MAX_EVENTS));
const view = new DataView(buffer.buffer);
const sink = new Uint8Array(64);

/** Hands each reported event to its wait; `n` events are in `buffer`. */
function dispatch(n: number): void {
  for (let k = 0; k < n; k++) {
    const events = view.getUint32(k * EVENT_SIZE, true);
    const id = Number(view.getBigUint64(k * EVENT_SIZE + DATA_OFFSET, true));
    if (id === WAKER) { while (libc().read(waker![0], sink, BigInt(sink.length)) > 0); }
    // Unknown: cancelled while the call was returning.
    else entries.get(id)?.settle(events);
  }
}

/** Fails every wait: nothing they wait for can be known to be ready. */
function failAll(n: number): void {
  const error = new SyscallError("epoll_pwait", -n, { operation: "wait for children and their pipes" });
  for (const e of [...entries.values()]) e.fail(error);
}

async function run(): Promise<void> {
  polling = true;
  try {
    while (referencedWaits > 0) {
      const n = await routine().epollWait(epfd!, buffer, MAX_EVENTS);
      if (n === -EINTR) continue;
      if (n < 0) failAll(n);
      else dispatch(n);
    }
  } finally {
    polling = false;
  }
  // Events of unreferenced waits that came after the last call returned, or
  // that a full buffer left behind, wait in the epoll instance; no SIGCHLD
  // may come for them any more.
  look();
}

/**
 * Takes what the epoll instance has ready without blocking (epoll_pwait
 * with a timeout of 0, on this thread), for the unreferenced waits while no
 * wait runs. One system call, however many waits are pending.
 */
function look(): void {
  if (polling || unreferencedWaits === 0) return;
  const { sysno, syscall } = routine();
  bufferAddress ??= Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
  for (;;) {
    const n = syscall(sysno.epoll_pwait, epfd!, bufferAddress, MAX_EVENTS, 0);
    if (n === -EINTR) continue;
    if (n < 0) return failAll(n);
    dispatch(n);
    if (n < MAX_EVENTS) return;
  }
}

let bufferAddress: number | undefined;
let onChild: (() => void) | undefined;

/**
 * While waits that are not referenced exist, a SIGCHLD makes one look at
 * the epoll instance when no wait runs (a wait that runs sees their
 * descriptors itself). Their children's pidfds are ready by the time the
 * signal is sent; a Deno signal listener keeps no process alive.
 */
function watchChildren(): void {
  if (unreferencedWaits > 0 && !onChild) {
    onChild = look;
    Deno.addSignalListener("SIGCHLD", onChild);
  } else if (unreferencedWaits === 0 && onChild) {
    Deno.removeSignalListener("SIGCHLD", onChild);
    onChild = undefined;
  }
}

/**
 * Waits until a descriptor is ready for the events asked (or has an error
 * or a hang-up, which epoll always reports). Each descriptor may have one
 * wait at a time.
 *
 * @param fd A descriptor in nonblocking mode (a pipe end or a pidfd).
 * @param events {@linkcode READABLE} or {@linkcode WRITABLE}.
 * @param ref Whether the wait keeps Deno's event loop alive.
 * @returns The wait; its `ready` rejects with a {@linkcode SyscallError} when
 *   waiting fails.
 * @throws {SyscallError} When the descriptor cannot be watched.
 */
export function waitFor(fd: number, events: number, ref = true): Wait {
  epoll();
  const entry = new Entry(nextId++, fd, ref);
  let r = ctl(EPOLL_CTL_ADD, fd, events | EPOLLONESHOT, entry.id);
  if (r === -EEXIST) r = ctl(EPOLL_CTL_MOD, fd, events | EPOLLONESHOT, entry.id);
  if (r < 0) throw new SyscallError("epoll_ctl", -r, { operation: `watch descriptor ${fd}` });
  entries.set(entry.id, entry);
  count(ref, 1);
  // Unreferenced with no wait running: a descriptor that is ready already
  // (a child that ended before its SIGCHLD was listened for) is seen at once.
  changed();
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
