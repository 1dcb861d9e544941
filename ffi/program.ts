/**
 * Programs for the spawn routine: a list of system calls that a child makes
 * between clone(2) and execve(2), written with everything they point to into
 * memory prepared before the clone (the child cannot allocate).
 *
 * This module knows the memory layout that routine_x86_64.S reads; it knows
 * nothing of namespaces.
 *
 * @module
 */

import { errno, libc, unwrap } from "./libc.ts";
import { type Routine, routine } from "./routine.ts";
import type { SyscallName } from "./sysno.ts";
import { encodeTextInto } from "./bytes.ts";
import {
  CLD_EXITED,
  CLONE_INTO_CGROUP,
  CLONE_VFORK,
  CLONE_VM,
  EINTR,
  O_CLOEXEC,
  P_PID,
  SIGCHLD,
  SIGKILL,
  WEXITED,
  WNOWAIT,
} from "./constants.ts";

/** An argument of a step. */
export type Arg =
  /** An integer, passed as is (negative values in two's complement). */
  | number
  /** A NUL-terminated string; the argument is its address. */
  | { readonly str: string }
  /** Raw bytes; the argument is their address. */
  | { readonly bytes: Uint8Array }
  /** A NULL-terminated array of strings (argv, envp); the argument is its address. */
  | { readonly strs: readonly string[] }
  /** Zeroed bytes the step may write; the argument is their address. */
  | { readonly zeros: number }
  /**
   * A classic BPF program (`struct sock_filter` array, 8 bytes per
   * instruction): written, then a `struct sock_fprog` pointing to it; the
   * argument is the address of that struct (for seccomp(2) and
   * prctl(PR_SET_SECCOMP)).
   */
  | { readonly fprog: Uint8Array }
  /** The result of an earlier step, loaded when this step runs. */
  | { readonly result: number }
  /** The 64-bit word at this address, loaded when the step runs (for a child sharing memory). */
  | { readonly load: number }
  /** The write end of the error pipe (`"async"` and `"copy"` modes). */
  | { readonly errfd: true }
  /** The address of a record that tells the parent the child waits for it. */
  | { readonly readyRecord: true }
  /** The address of the signal mask that the caller had before the clone. */
  | { readonly oldMask: true }
  /** The top of a second stack, for a clone step. */
  | { readonly secondStack: true }
  /** The same value as argument `index` of the earlier step `step` (its data is written once). */
  | { readonly sameAs: readonly [step: number, index: number] }
  /**
   * The argv of a script run by the shell, as execvp(3) makes it: this step's
   * argument 0 (the shell), the string that argument `file` of an earlier step
   * points to (the script), then the strings of the argv array `argv` of an
   * earlier step from its second on (`count` strings in all): pointers to
   * strings already written, so that a long argv is not written again.
   */
  | {
    readonly shellArgv: {
      readonly file: readonly [step: number, index: number];
      readonly argv: readonly [step: number, index: number];
      readonly count: number;
    };
  };

/** One system call of a program. */
export interface Op {
  /** The system call. */
  readonly call: SyscallName;
  /** Its arguments, at most six. */
  readonly args: readonly Arg[];
  /** A failure does not stop the program. */
  readonly ignore?: boolean;
  /** A result of 0 counts as a failure (errno ECANCELED). */
  readonly zeroFails?: boolean;
  /** A positive result ends the process with status 0: the parent half of a clone step. */
  readonly exitIfParent?: boolean;
  /**
   * One candidate of a PATH search, as execvp(3) does it: ENOENT and ENOTDIR go
   * on to the next step, EACCES is remembered and goes on. As in sh, EACCES
   * counts only when the file exists (a directory on the way that cannot be
   * searched is as ENOENT).
   */
  readonly try?: boolean;
  /** The last candidate of a PATH search: its ENOENT becomes a remembered EACCES. */
  readonly last?: boolean;
  /** ENOEXEC goes on to the next step (which runs the file with the shell). */
  readonly noexecNext?: boolean;
  /** Runs only when the step before failed with ENOEXEC; skipped otherwise. */
  readonly ifNoexec?: boolean;
  /**
   * Runs only when the result of an earlier step is positive (the parent
   * half of a clone step, which got the new pid), zero (its child half, or a
   * call that succeeded) or negative (a call that failed, with `ignore`);
   * skipped otherwise. A skipped step's result is 0.
   */
  readonly onlyIf?: { readonly step: number; readonly result: "positive" | "zero" | "negative" };
}

/**
 * A step of a {@linkcode probe}: an {@linkcode Op}, whose call may also be a
 * number of this machine's ABI, for a call the engine itself never makes.
 */
export type ProbeOp = Omit<Op, "call"> & { readonly call: SyscallName | number };

/** Where a program stopped: the index of the failing step and its errno. */
export interface OpFailure {
  /** Index of the step in the op list. */
  readonly step: number;
  /** The errno the step failed with. */
  readonly errno: number;
}

/** How a launched program ended its setup. */
export interface Outcome {
  /** The failing step, or `null` when the program was executed. */
  readonly failure: OpFailure | null;
  /** The pid of the process the last clone step made (the one that runs the program), if any. */
  readonly forked: number | undefined;
  /** The pids the earlier clone steps made: parent halves that have exited, to reap. */
  readonly intermediates: readonly number[];
}

/** A child started by {@linkcode launch}. */
export interface Launch {
  /** The child's pid, or -errno when clone(2) itself failed. */
  readonly pid: number;
  /**
   * In `"async"` mode, resolves once the program has reached the step that
   * waits for the parent (it wrote the ready record, see {@linkcode readyStep}):
   * to the pid its clone step made, if any, or to the failure that came first.
   */
  ready(): Promise<{ readonly forked: number | undefined } | OpFailure>;
  /** Settles once the program has called execve or failed. */
  outcome(): Promise<Outcome>;
  /** The outcome, when it was known as `launch` returned (every mode but `"async"`). */
  readonly settled?: Outcome;
}

/** Marks the record of a clone step's parent half, as routine_x86_64.S writes it. */
const FORK_MARK = 2 ** 62;
/** Marks the record a child writes when it waits for the parent. */
const READY_MARK = 2 ** 61;

/**
 * The step that tells the parent that the child has done all it does before
 * waiting: write a ready record to the error pipe. Put it right before the
 * step that waits.
 *
 * @returns The step.
 */
export function readyStep(): Op {
  return { call: "write", args: [{ errfd: true }, { readyRecord: true }, 16] };
}
/**
 * `struct header` of routine_x86_64.S: the offsets of its fields. The
 * routine reads them by these numbers; a test compares them with the .S.
 */
export const HEADER_FIELDS = {
  /** clone flags, exit signal in the low byte */
  flags: 0,
  /** top of the child's stack */
  stack: 8,
  /** parent_tid argument of clone */
  ptid: 16,
  /** address of the first step */
  steps: 24,
  /** number of steps */
  count: 32,
  /** pipe to write the error record to, or -1 */
  errfd: 40,
  /** sigset with every signal */
  allmask: 48,
  /** the caller's mask, saved by nsh_spawn */
  oldmask: 56,
  /** written by the child: index of the failing step */
  errstep: 64,
  /** written by the child: its errno */
  errno: 72,
  /** written by the child: -EACCES once a TRY step met it */
  eacces: 80,
  /** written by a clone step's parent half: its index, with bit 62 set */
  forkstep: 88,
  /** written there too: the pid of the new child */
  forkpid: 96,
  /** address of a struct clone_args for clone3, or 0 for clone */
  cloneargs: 104,
} as const;

/** `struct step` of routine_x86_64.S: the offsets of its fields (the arguments follow `nr`, 8 bytes each). */
export const STEP_FIELDS = { nr: 0, args: 8, flags: 56, result: 64 } as const;

const HEADER = 128;
const STEP = 72;
const STACK = 16 * 1024;
const SLAB = 64 * 1024;

const F_IGNORE = 0x100;
const F_EXIT_IF_PARENT = 0x200;
const F_ZERO_FAILS = 0x400;
const F_TRY = 0x800;
const F_LAST = 0x1000;
const F_NOEXEC_NEXT = 0x2000;
const F_IF_NOEXEC = 0x4000;
const F_ONLY_IF = 0x8000;
const F_WHEN_ZERO = 0x10000;
const F_WHEN_NEGATIVE = 0x20000;

/** Memory obtained from mmap(2), reused from one program to the next. */
class Slab {
  readonly pointer: Deno.PointerObject;
  readonly address: number;
  readonly size: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;

  /**
   * @param size Its size in bytes.
   * @param shared MAP_SHARED instead of MAP_PRIVATE: a child that does not
   *   share this process's memory still writes into this slab.
   */
  constructor(size: number, shared = false) {
    const pointer = libc().mmap(null, BigInt(size), 3, shared ? 0x21 : 0x22, -1, 0n);
    const address = Number(Deno.UnsafePointer.value(pointer));
    if (pointer === null || address === -1 || address >= 2 ** 63) {
      unwrap(-1, "mmap", { operation: `map ${size} bytes for a child's program` });
    }
    this.pointer = pointer!;
    this.address = address;
    this.size = size;
    const buffer = Deno.UnsafePointerView.getArrayBuffer(pointer!, size);
    this.bytes = new Uint8Array(buffer);
    this.view = new DataView(buffer);
  }

  /** Writes an integer as a 64-bit little-endian word. */
  put(offset: number, value: number): void {
    this.view.setUint32(offset, value >>> 0, true);
    this.view.setUint32(offset + 4, Math.floor(value / 4294967296) >>> 0, true);
  }

  /** Reads a 64-bit word as a signed integer (exact within ±2^53). */
  get(offset: number): number {
    return this.view.getUint32(offset, true) + this.view.getInt32(offset + 4, true) * 4294967296;
  }
}

const pool: Slab[] = [];

function takeSlab(size: number): Slab {
  const index = pool.findIndex((slab) => slab.size >= size);
  if (index >= 0) return pool.splice(index, 1)[0]!;
  return new Slab(Math.ceil(size / SLAB) * SLAB);
}

function giveSlab(slab: Slab): void {
  if (pool.length < 8) pool.push(slab);
  else libc().munmap(slab.pointer, BigInt(slab.size));
}

function bound(arg: Arg): number {
  if (typeof arg === "number") return 0;
  if ("str" in arg) return arg.str.length * 3 + 8;
  if ("bytes" in arg) return arg.bytes.length + 8;
  if ("zeros" in arg) return arg.zeros + 8;
  // Checked here, before any descriptor or memory is taken for the launch.
  if ("fprog" in arg) return checkFprog(arg.fprog) + 8 + 16;
  if ("readyRecord" in arg) return 16;
  if ("strs" in arg) return arg.strs.reduce((sum, s) => sum + s.length * 3 + 8, 8 * (arg.strs.length + 1));
  if ("shellArgv" in arg) return 8 * (arg.shellArgv.count + 2);
  return 0;
}

/** Writes a program into a slab. */
function write(slab: Slab, ops: readonly ProbeOp[], r: Routine, errfd: number): void {
  const { bytes } = slab;
  let data = HEADER + ops.length * STEP;
  const align = () => (data = (data + 7) & ~7);
  const text = (s: string): number => {
    const at = data;
    const written = encodeTextInto(s, bytes.subarray(at));
    bytes[at + written] = 0;
    data += written + 1;
    align();
    return slab.address + at;
  };
  const values: number[][] = [];
  ops.forEach((op, i) => {
    const at = HEADER + i * STEP;
    let flags = (op.ignore ? F_IGNORE : 0) | (op.exitIfParent ? F_EXIT_IF_PARENT : 0) |
      (op.zeroFails ? F_ZERO_FAILS : 0) | (op.try ? F_TRY : 0) | (op.last ? F_LAST : 0) |
      (op.noexecNext ? F_NOEXEC_NEXT : 0) | (op.ifNoexec ? F_IF_NOEXEC : 0);
    if (op.onlyIf) {
      const { result } = op.onlyIf;
      flags |= F_ONLY_IF | (result === "zero" ? F_WHEN_ZERO : result === "negative" ? F_WHEN_NEGATIVE : 0);
    }
    values.push([]);
    slab.put(at + STEP_FIELDS.nr, typeof op.call === "number" ? op.call : r.sysno[op.call]);
    for (let a = 0; a < 6; a++) {
      const arg = op.args[a] ?? 0;
      let value: number;
      if (typeof arg === "number") value = arg;
      else if ("str" in arg) value = text(arg.str);
      else if ("bytes" in arg) {
        bytes.set(arg.bytes, data);
        value = slab.address + data;
        data += arg.bytes.length;
        align();
      } else if ("zeros" in arg) {
        bytes.fill(0, data, data + arg.zeros);
        value = slab.address + data;
        data += arg.zeros;
        align();
      } else if ("fprog" in arg) {
        // struct sock_fprog { unsigned short len; struct sock_filter *filter; }:
        // the length, padding to the pointer's alignment, the pointer.
        const filter = slab.address + data;
        bytes.set(arg.fprog, data);
        data += arg.fprog.length;
        align();
        value = slab.address + data;
        bytes.fill(0, data, data + 8);
        slab.view.setUint16(data, arg.fprog.length / 8, true);
        slab.put(data + 8, filter);
        data += 16;
      } else if ("strs" in arg) {
        const pointers = arg.strs.map(text);
        value = slab.address + data;
        for (const p of pointers) {
          slab.put(data, p);
          data += 8;
        }
        slab.put(data, 0);
        data += 8;
      } else if ("result" in arg) {
        value = slab.address + HEADER + arg.result * STEP + STEP_FIELDS.result;
        flags |= 1 << a;
      } else if ("errfd" in arg) value = errfd;
      else if ("readyRecord" in arg) {
        slab.put(data, READY_MARK);
        slab.put(data + 8, 0);
        value = slab.address + data;
        data += 16;
      } else if ("load" in arg) {
        value = arg.load;
        flags |= 1 << a;
      } else if ("oldMask" in arg) value = slab.address + HEADER_FIELDS.oldmask;
      else if ("sameAs" in arg) value = values[arg.sameAs[0]]![arg.sameAs[1]]!;
      else if ("shellArgv" in arg) {
        const { file, argv, count } = arg.shellArgv;
        const from = values[argv[0]]![argv[1]]! - slab.address;
        value = slab.address + data;
        slab.put(data, values[i]![0]!);
        slab.put(data + 8, values[file[0]]![file[1]]!);
        data += 16;
        for (let k = 1; k < count; k++, data += 8) slab.put(data, slab.get(from + 8 * k));
        slab.put(data, 0);
        data += 8;
      } else value = slab.address + slab.size - STACK - 64;
      values[i]!.push(value);
      slab.put(at + STEP_FIELDS.args + a * 8, value);
    }
    // The step an ONLY_IF step depends on is in the high word of its flags.
    slab.put(at + STEP_FIELDS.flags, flags + (op.onlyIf ? op.onlyIf.step * 2 ** 32 : 0));
    slab.put(at + STEP_FIELDS.result, 0);
  });
}

/** How {@linkcode launch} waits. */
export type LaunchMode =
  /**
   * clone(CLONE_VM | CLONE_VFORK): the calling thread sleeps until the child
   * has called execve or failed. No copy of the address space is made. The
   * outcome is read from the shared header.
   */
  | "exec"
  /**
   * clone(CLONE_VM): returns at once, so that the caller can act (write id maps,
   * bind namespace files) while the child waits in a step that reads a pipe.
   * The outcome arrives as records on an error pipe.
   */
  | "async"
  /**
   * clone(CLONE_VFORK) without CLONE_VM: the child gets a copy of the address
   * space, which joining a time namespace needs (setns refuses it to a process
   * sharing its memory). The outcome arrives as records on an error pipe.
   */
  | "copy";

/** Reads the 16-byte records of an error pipe: failures and clone-step pids. */
class Records {
  #fd: number;
  #failure: OpFailure | null = null;
  readonly #forks = new Map<number, number>();
  #ready = false;
  #done = false;
  readonly #buffer = new Uint8Array(new ArrayBuffer(16));

  constructor(fd: number) {
    this.#fd = fd;
  }

  #take(n: number): "fork" | "ready" | "failure" | "end" {
    if (n < 16) {
      this.#done = true;
      libc().close(this.#fd);
      return "end";
    }
    const view = new DataView(this.#buffer.buffer);
    // The marks are high bits: test them on the high word, since 2^62 + a step
    // index is not exact as a JavaScript number.
    const step = view.getUint32(0, true);
    const high = view.getUint32(4, true);
    const value = view.getUint32(8, true) + view.getInt32(12, true) * 2 ** 32;
    if (high & (FORK_MARK / 2 ** 32)) {
      this.#forks.set(step, value);
      return "fork";
    }
    if (high & (READY_MARK / 2 ** 32)) {
      this.#ready = true;
      return "ready";
    }
    this.#failure ??= { step, errno: value };
    return "failure";
  }

  /** Reads one record on a pool thread. */
  async next(): Promise<"fork" | "ready" | "failure" | "end"> {
    if (this.#done) return "end";
    let n: number;
    do n = await routine().read(this.#fd, this.#buffer, 16); while (n === -4);
    return this.#take(n);
  }

  /** Reads all records on this thread: for a child that has already finished its setup. */
  drain(): void {
    while (!this.#done) {
      let n: number;
      do n = Number(libc().read(this.#fd, this.#buffer, 16n)); while (n < 0 && errno() === 4);
      this.#take(n);
    }
  }

  get failure(): OpFailure | null {
    return this.#failure;
  }

  /** How many clone steps have reported. */
  get forkCount(): number {
    return this.#forks.size;
  }

  /** The pid of the last clone step's child. */
  get forked(): number | undefined {
    return this.#forks.size ? this.#forks.get(Math.max(...this.#forks.keys())) : undefined;
  }

  /** The pids of the earlier clone steps' children. */
  get intermediates(): number[] {
    const last = Math.max(...this.#forks.keys());
    return [...this.#forks].filter(([step]) => step !== last).map(([, pid]) => pid);
  }

  get ready(): boolean {
    return this.#ready;
  }
}

/** Options of {@linkcode launch}. */
export interface LaunchOptions {
  /**
   * A descriptor of a cgroup v2 directory: the child is made in that cgroup
   * (clone3 with CLONE_INTO_CGROUP), so that it runs nothing outside it.
   * Without it, clone(2).
   */
  readonly cgroupFd?: number;
}

/**
 * Starts a child that runs `ops` and then execs (the last op is normally
 * execve). All signals are blocked in the calling thread around the clone.
 *
 * @param ops The steps.
 * @param cloneFlags Namespace flags and the exit signal, without CLONE_VM/VFORK.
 * @param mode Whether to wait for the exec, and whether the child shares memory.
 * @param options Where the child is made.
 * @returns The launched child (its pid is -errno when clone failed: with a
 *   cgroup, ENOSYS or EPERM where clone3 is missing or filtered).
 */
export function launch(ops: readonly Op[], cloneFlags: number, mode: LaunchMode, options: LaunchOptions = {}): Launch {
  ops.forEach((op, i) => {
    const step = op.onlyIf?.step;
    if (step !== undefined && (!Number.isInteger(step) || step < 0 || step >= i)) {
      throw new RangeError(`Cannot make step ${i} depend on step ${step}: only an earlier step`);
    }
  });
  const r = routine();
  const { pipe2, close } = libc();
  // The last 128 bytes below the stacks hold clone3's arguments.
  let size = HEADER + ops.length * STEP + 2 * STACK + 256;
  for (const op of ops) for (const arg of op.args) size += bound(arg);
  // Clone steps report the pids they make on the error pipe: the header has
  // room for one, and two parent halves would write it in turn.
  const clones = ops.filter((op) => op.exitIfParent).length;
  let fds: Int32Array<ArrayBuffer> | undefined;
  if (mode !== "exec" || clones > 0) {
    fds = new Int32Array(2);
    unwrap(pipe2(fds, O_CLOEXEC), "pipe2", { operation: "create a pipe for a child's errors" });
  }
  const slab = takeSlab(size);
  write(slab, ops, r, fds ? fds[1]! : -1);
  const memory = mode === "copy" ? 0 : CLONE_VM;
  const h = HEADER_FIELDS;
  const flags = cloneFlags | memory | (mode === "async" ? 0 : CLONE_VFORK);
  slab.put(h.flags, flags);
  slab.put(h.stack, slab.address + slab.size - 64);
  slab.put(h.ptid, 0);
  slab.put(h.steps, slab.address + HEADER);
  slab.put(h.count, ops.length);
  slab.put(h.errfd, fds ? fds[1]! : -1);
  slab.put(h.allmask, -1);
  for (let offset = h.oldmask; offset <= h.forkpid; offset += 8) slab.put(offset, 0);
  if (options.cgroupFd === undefined) slab.put(h.cloneargs, 0);
  else {
    // struct clone_args of 88 bytes (CLONE_ARGS_SIZE_VER2): flags, pidfd,
    // child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
    // set_tid_size, cgroup. The stack ends where clone's would start.
    const at = slab.size - 2 * STACK - 64 - 128;
    const fields = [
      (flags - (flags & 0xff)) + CLONE_INTO_CGROUP,
      0,
      0,
      0,
      flags & 0xff,
      slab.address + slab.size - STACK,
      STACK - 64,
      0,
      0,
      0,
      options.cgroupFd,
    ];
    fields.forEach((value, i) => slab.put(at + 8 * i, value));
    slab.put(h.cloneargs, slab.address + at);
  }
  const pid = r.spawn(slab.pointer);
  if (fds) close(fds[1]!);
  if (pid < 0 || (mode === "exec" && !fds)) {
    if (fds) close(fds[0]!);
    const code = slab.get(HEADER_FIELDS.errno);
    giveSlab(slab);
    return settled(pid, {
      failure: pid > 0 && code ? { step: slab.get(HEADER_FIELDS.errstep), errno: code } : null,
      forked: undefined,
      intermediates: [],
    });
  }
  const records = new Records(fds![0]!);
  const outcomeOf = (): Outcome => ({
    failure: records.failure,
    forked: records.forked,
    intermediates: records.forkCount ? records.intermediates : [],
  });
  if (mode !== "async") {
    // The child has called execve or exited: everything it will write is there.
    giveSlab(slab);
    records.drain();
    return settled(pid, outcomeOf());
  }
  let ready: Promise<{ forked: number | undefined } | OpFailure> | undefined;
  let outcome: Promise<Outcome> | undefined;
  // A clone step's parent half and the child it made write concurrently: the
  // ready record may come before the one with the child's pid.
  const readReady = async () => {
    while (
      (!records.ready || records.forkCount < clones) && !records.failure && (await records.next()) !== "end"
    );
    return records.failure ?? { forked: records.forked };
  };
  const readOutcome = async (): Promise<Outcome> => {
    await (ready ??= readReady());
    while ((await records.next()) !== "end");
    // Memory shared with the child is free once it has exec'd or exited.
    giveSlab(slab);
    return outcomeOf();
  };
  return {
    pid,
    ready: () => (ready ??= readReady()),
    outcome: () => (outcome ??= readOutcome()),
  };
}

/**
 * Refuses a BPF program whose length a `struct sock_fprog` cannot hold: the
 * kernel would read past it or truncate the count. Returns its size.
 */
function checkFprog(filter: Uint8Array): number {
  const count = filter.length / 8;
  if (!Number.isInteger(count) || count < 1 || count > 0xffff) {
    throw new RangeError(
      `Cannot pass a BPF program of ${filter.length} bytes: it must be 1 to 65535 instructions of 8 bytes`,
    );
  }
  return filter.length;
}

/** A launch whose outcome is already known. */
function settled(pid: number, outcome: Outcome): Launch {
  const ready = outcome.failure ?? { forked: outcome.forked };
  return { pid, ready: () => Promise.resolve(ready), outcome: () => Promise.resolve(outcome), settled: outcome };
}

/** Exposed for tests: how many slabs wait for reuse. */
export function pooledSlabs(): number {
  return pool.length;
}

/** A step's result slot before the step ran: never a real result (those are ≥ 0 or -4095..-1). */
const NOT_RUN = -4096;

/** What the child of {@linkcode probe} did. */
export interface ProbeOutcome {
  /** Each step's raw result (-errno on failure), or `undefined` for a step that did not run. */
  readonly results: readonly (number | undefined)[];
  /** The step without `ignore` whose failure ended the program, if one did. */
  readonly failure: OpFailure | null;
  /** The signal that ended the child (SIGSYS from a seccomp filter), or `undefined` when it exited. */
  readonly signal: number | undefined;
  /** Whether the child outlived the timeout and was killed. */
  readonly timedOut: boolean;
  /**
   * The bytes a step's buffer argument (`zeros` or `bytes`) holds after the
   * run: what the kernel wrote there.
   *
   * @param step The index of the step.
   * @param arg The index of the argument.
   * @param length How many bytes.
   * @returns A copy of them.
   */
  buffer(step: number, arg: number, length: number): Uint8Array;
}

/** Options of {@linkcode probe}. */
export interface ProbeOptions {
  /**
   * Milliseconds after which the child is killed (a step that blocks, such as
   * a path on a hung FUSE mount).
   *
   * @default {10000}
   */
  readonly timeout?: number;
}

/**
 * Runs `ops` in a child that does not share this process's memory (a fork,
 * without execve) and reads back each step's raw result: the program lives
 * in a MAP_SHARED slab, so the child writes results and buffers where the
 * parent reads them, while whatever else it changes (memory, descriptors, its
 * own credentials and namespaces) stays in its private copy and ends with it.
 * The child starts with every signal blocked and ends after the last step;
 * a step without `ignore` that fails ends it early (`failure`), and a seccomp
 * filter may kill it (`signal`, and the step that killed it has no result).
 *
 * The parent does not block: it waits for the child's end on a pool thread.
 *
 * @example The result of a failing call
 * ```ts
 * import { probe } from "./program.ts";
 *
 * const out = await probe([{ call: "chdir", args: [{ str: "/nonexistent" }], ignore: true }]);
 * if (out.results[0] !== -2) throw new Error("ENOENT expected");
 * ```
 *
 * @param ops The steps.
 * @param options The timeout.
 * @returns What each step returned, and how the child ended.
 * @throws {SyscallError} When the child cannot be started.
 */
export async function probe(ops: readonly ProbeOp[], options: ProbeOptions = {}): Promise<ProbeOutcome> {
  const r = routine();
  let size = HEADER + ops.length * STEP + 2 * STACK + 128;
  for (const op of ops) for (const arg of op.args) size += bound(arg);
  const slab = new Slab(Math.ceil(size / SLAB) * SLAB, true);
  try {
    write(slab, ops, r, -1);
    const h = HEADER_FIELDS;
    for (let i = 0; i < ops.length; i++) slab.put(HEADER + i * STEP + STEP_FIELDS.result, NOT_RUN);
    slab.put(h.flags, SIGCHLD);
    slab.put(h.stack, slab.address + slab.size - 64);
    slab.put(h.ptid, 0);
    slab.put(h.steps, slab.address + HEADER);
    slab.put(h.count, ops.length);
    slab.put(h.errfd, -1);
    slab.put(h.allmask, -1);
    for (let offset = h.oldmask; offset <= h.forkpid; offset += 8) slab.put(offset, 0);
    // No failure yet: a step index no program has.
    slab.put(h.errstep, -1);
    const pid = r.spawn(slab.pointer);
    if (pid < 0) unwrap(-1, "clone", { operation: "start a child to probe system calls" });
    const info = new Uint8Array(128);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      libc().kill(pid, SIGKILL);
    }, options.timeout ?? 10000);
    // WNOWAIT: the pid stays this child's until the reap below, so the timer
    // can never reach another process.
    let w: number;
    do w = await r.waitid(pid, info, WEXITED | WNOWAIT); while (w === -EINTR);
    clearTimeout(timer);
    while (libc().waitid(P_PID, pid, info, WEXITED) < 0 && errno() === EINTR);
    const view = new DataView(info.buffer);
    const code = view.getInt32(8, true), status = view.getInt32(24, true);
    const results = ops.map((_, i) => {
      const value = slab.get(HEADER + i * STEP + STEP_FIELDS.result);
      return value === NOT_RUN ? undefined : value;
    });
    const step = slab.get(h.errstep);
    const failure = step >= 0 && code === CLD_EXITED ? { step, errno: slab.get(h.errno) } : null;
    const copies = new Map<string, Uint8Array>();
    for (let i = 0; i < ops.length; i++) {
      ops[i]!.args.forEach((arg, a) => {
        if (typeof arg !== "object" || !("zeros" in arg || "bytes" in arg)) return;
        const at = slab.get(HEADER + i * STEP + STEP_FIELDS.args + a * 8) - slab.address;
        const length = "zeros" in arg ? arg.zeros : arg.bytes.length;
        copies.set(`${i}:${a}`, slab.bytes.slice(at, at + length));
      });
    }
    return {
      results,
      failure,
      signal: code === CLD_EXITED ? undefined : status,
      timedOut,
      buffer(step, arg, length) {
        const bytes = copies.get(`${step}:${arg}`);
        if (!bytes) throw new RangeError(`Cannot read argument ${arg} of step ${step}: it is no buffer`);
        return bytes.slice(0, length);
      },
    };
  } finally {
    libc().munmap(slab.pointer, BigInt(slab.size));
  }
}
