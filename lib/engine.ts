/**
 * The launch: where nsh starts its children (only the audit's probes,
 * lib/audit/, and newuidmap are started elsewhere). {@linkcode start} runs a
 * program in new namespaces as a child of this process, set up between clone
 * and execve by the program lib/compile.ts makes of its plan;
 * {@linkcode startHolder} starts the holder of a context, {@linkcode applyPlan}
 * a child that only runs setup steps, and {@linkcode socketIn} one that makes
 * a socket in other namespaces.
 *
 * The parent's side of a start is here too: the descriptors the child gets
 * (namespaces to join: lib/namespace_files.ts), and what it waits for the
 * parent to do (its id maps: lib/idmap.ts; binding its namespaces to files:
 * lib/binding.ts; its process group). A started program is a `Child`
 * (lib/child.ts), which waits for it and reaps it.
 *
 * @module
 */

import { cstring, environAddress, errno, libc, unwrap } from "../ffi/libc.ts";
import { launch, type Op, type OpFailure } from "../ffi/program.ts";
import { cloneFlags, type NamespaceType } from "./namespaces.ts";
import {
  CLONE_FILES,
  E2BIG,
  EAGAIN,
  EINTR,
  ENOSYS,
  F_DUPFD_CLOEXEC,
  NS_GET_PARENT,
  O_CLOEXEC,
  O_DIRECTORY,
  O_RDONLY,
  O_RDWR,
  P_PID,
  SIGCHLD,
  SOCK_CLOEXEC,
  WEXITED,
} from "../ffi/constants.ts";
import { SyscallError } from "../ffi/error.ts";
import { compile, type Compiled, type ExecSpec, needsParent } from "./compile.ts";
import { writeIdMaps } from "./idmap.ts";
import { programCandidates } from "./program_path.ts";
import { type Plan, planHere } from "./plan.ts";
import type { Step } from "./steps.ts";
import { kindOf } from "./steps/_registry.ts";
import type { Held } from "./steps/_kind.ts";
import { capLastCap, capPermitted, ids, kernelVersion } from "./system.ts";
import { nonblocking } from "./reactor.ts";
import { Child } from "./child.ts";
import { openForChild, openNamespace, openNamespaces } from "./namespace_files.ts";
import type { Bindings } from "./binding.ts";

/** How a standard stream of the child is connected. */
export type StdioMode = "inherit" | "piped" | "null";

/**
 * A standard stream of the child: a mode, or a descriptor of this process
 * (a pipe end, an open file) that the child gets as that stream.
 */
export type StdioSpec = StdioMode | { readonly fd: number };

/**
 * What to run, and how: the program and its environment, the descriptors it
 * gets, and what two callers need beyond them: bubblewrap's command line
 * (`argv0`, `init`, `beforeSetup`: cli/bwrap.ts) and a shell's job control
 * (`job`: cli/shell/jobs.ts).
 */
export interface StartOptions {
  // The program.

  /** The program and its arguments; the program is looked up in the child's PATH. */
  readonly argv: readonly string[];
  /**
   * The complete environment of the child; this process's environment when
   * not given (passed as it is, without a copy).
   */
  readonly env?: Readonly<Record<string, string>>;

  // The descriptors it gets.

  /**
   * Standard input.
   *
   * @default {"inherit"}
   */
  readonly stdin?: StdioSpec;
  /**
   * Standard output.
   *
   * @default {"inherit"}
   */
  readonly stdout?: StdioSpec;
  /**
   * Standard error.
   *
   * @default {"inherit"}
   */
  readonly stderr?: StdioSpec;
  /**
   * Descriptors of this process that the program gets, at the same numbers.
   * It gets no other descriptor above 2: not those this process inherited,
   * nor those it opened.
   *
   * @default {[]}
   */
  readonly fds?: readonly number[];

  // As bubblewrap starts it.

  /**
   * The program's `argv[0]`, when it is not the name the program is looked
   * up by (`argv[0]` of `argv`), as bubblewrap's `--argv0`.
   */
  readonly argv0?: string;
  /**
   * Run the program under nsh's init, as bubblewrap runs it under a PID 1 of
   * its own: the child becomes the init (PID 1 when the plan makes a PID
   * namespace) and the program is its child; it reaps orphans and ends once
   * no child is left. `Child.pid` is the init's; `Child.status` is the
   * program's, as soon as the program ends (the init may live on while
   * processes the program left run); `kill()` signals the program.
   *
   * @default {false}
   */
  readonly init?: boolean | InitOptions;
  /**
   * Called while the child waits, after its namespaces exist and before its
   * setup (id maps, mounts) begins, with its pid: to report it (bubblewrap's
   * `--info-fd`), or to let another process write its id maps
   * (`--userns-block-fd`). The child goes on once the promise settles; a
   * rejection gives up the start.
   */
  readonly beforeSetup?: (pid: number) => void | Promise<void>;

  // As a shell starts it.

  /**
   * Puts the program in a process group before it runs, for a shell's job
   * control. The child then waits for this process to do it (as for id
   * ranges), which costs a little more per start. Not in a joined time
   * namespace, where the child cannot wait: the program stays in this
   * process's group.
   */
  readonly job?: JobOptions;
}

/** The process group a shell puts a program in, and whether it gets the terminal. */
export interface JobOptions {
  /**
   * `0` for a new group the program leads, else the id of a group of this
   * process's session (a pid of this process's PID namespace).
   */
  readonly group: number;
  /**
   * Makes the group the foreground group of the terminal on standard input
   * before the program runs, so that it reads the terminal and gets its
   * Ctrl-C and Ctrl-Z. The caller takes the terminal back.
   *
   * @default {false}
   */
  readonly foreground?: boolean;
}

/** What nsh's init holds for the sandbox's lifetime, beyond the program. */
export interface InitOptions {
  /**
   * Descriptors of this process that the init keeps open while it runs (and
   * the program does not get), as bubblewrap's `--sync-fd`.
   *
   * @default {[]}
   */
  readonly keepFds?: readonly number[];
  /**
   * Files the init holds a shared lock on while it runs (an OFD lock, which
   * conflicts with fcntl(2) and lockf(3) write locks), opened as the box
   * sees them, as bubblewrap's `--lock-file`. A file that another process
   * holds a write lock on fails the start.
   *
   * @default {[]}
   */
  readonly locks?: readonly string[];
}

let devNull: number | undefined;

function nullFd(): number {
  devNull ??= unwrap(libc().open(cstring("/dev/null"), O_RDWR | O_CLOEXEC, 0), "open", {
    operation: "open /dev/null",
  });
  return devNull;
}

/** A pipe whose ends are both above 2, so that dup2 onto 0..2 always copies. */
function pipe(): [number, number] {
  const c = libc();
  const fds = new Int32Array(2);
  unwrap(c.pipe2(fds, O_CLOEXEC), "pipe2", { operation: "create a pipe" });
  const ends: [number, number] = [fds[0]!, fds[1]!];
  for (let i = 0; i < 2; i++) {
    if (ends[i]! < 3) {
      const fd = c.fcntl(ends[i]!, F_DUPFD_CLOEXEC, 3);
      c.close(ends[i]!);
      ends[i] = unwrap(fd, "fcntl", { operation: "move a pipe above the standard streams" });
    }
  }
  return ends;
}

// Hints and streams are loaded only when needed: a one-shot run that succeeds
// with inherited stdio never reads them.
async function opError(compiled: Compiled, failure: OpFailure): Promise<SyscallError> {
  const { opHint } = await import("./hints.ts");
  const info = compiled.infos[failure.step]!;
  return new SyscallError(info.syscall, failure.errno, {
    operation: info.operation,
    path: info.path,
    hint: opHint(info, failure.errno, ids().euid !== 0),
  });
}

/**
 * Binds new namespaces of a waiting child to files, creating the files when
 * missing (lib/binding.ts, loaded only then). In a mount namespace the plan
 * joins (a shell context's), a child that joins it too binds them: there the
 * files are, and there an unprivileged user may mount. On failure, what was
 * bound is unbound and what was created removed.
 *
 * @returns The bindings in this process's mount namespace, to undo if the
 *   start fails later.
 */
async function bindNamespaces(pid: number, p: Plan): Promise<Bindings | undefined> {
  // The parent's part also runs for id maps and process groups: with nothing
  // to bind, a joined mount namespace must not cost a process of its own.
  if (!p.persist.length) return undefined;
  const binding = await import("./binding.ts");
  if (!p.enter.some((e) => e.type === "mnt")) return binding.bindToFiles(pid, p.persist);
  const fds: number[] = [];
  try {
    await applyPlan(planHere(binding.joinedBindingSteps(pid, p, fds)));
  } finally {
    for (const fd of fds) libc().close(fd);
  }
  return undefined;
}

/** The namespace a file names, as `/proc/PID/ns/TYPE` links it: `pid:[4026531836]`. */
function namespaceOf(path: string): string {
  try {
    return Deno.readLinkSync(path);
  } catch {
    // A file a namespace was bound to: same inode.
    return `pid:[${Deno.statSync(path).ino}]`;
  }
}

/**
 * The pid, as this process sees it, of its child that is PID 1 of a new PID
 * namespace made inside the namespace `parent`, where its pid is `local`.
 * (A clone made inside a joined PID namespace reports the pid it has there.)
 */
function globalPid(local: number, parent: string): number | undefined {
  const children = new Set<number>();
  for (const task of Deno.readDirSync("/proc/self/task")) {
    const text = Deno.readTextFileSync(`/proc/self/task/${task.name}/children`).trim();
    for (const pid of text ? text.split(" ") : []) children.add(Number(pid));
  }
  for (const pid of children) {
    try {
      const nspid = /^NSpid:\s+(.*)$/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1]?.split(/\s+/).map(
        Number,
      );
      if (!nspid || nspid.at(-1) !== 1 || nspid.at(-2) !== local) continue;
      const fd = libc().open(cstring(`/proc/${pid}/ns/pid`), O_RDONLY | O_CLOEXEC, 0);
      if (fd < 0) continue;
      const up = libc().ioctl(fd, BigInt(NS_GET_PARENT), null);
      libc().close(fd);
      if (up < 0) continue;
      const link = Deno.readLinkSync(`/proc/self/fd/${up}`);
      libc().close(up);
      if (link === parent) return pid;
    } catch {
      // A child that ended while we looked.
    }
  }
  return undefined;
}

/** Reaps a child whose end is known to be near. */
function reap(pid: number): void {
  const info = new Uint8Array(128);
  while (libc().waitid(P_PID, pid, info, WEXITED) < 0 && errno() === EINTR);
}

/**
 * Starts a program as the plan describes.
 *
 * @param p The plan.
 * @param options The program, its environment and stdio.
 * @returns The running child.
 * @throws {SyscallError} When the program is not found, clone fails or a setup
 *   step fails; nothing is left behind.
 */
export function start(p: Plan, options: StartOptions): Promise<Child> {
  if (options.argv[0] === undefined) return Promise.reject(new TypeError("Cannot start a program: argv is empty"));
  return launchPlan(p, options, "exec");
}

/**
 * Starts the holder program as the plan describes: a process that only keeps
 * the plan's namespaces alive (and, as PID 1 of a new PID namespace, reaps
 * orphans). It has every signal blocked, /dev/null as stdio, and dies with
 * this process (SIGKILL as parent-death signal): end it with `kill("SIGKILL")`.
 *
 * @param p The plan.
 * @param options Its name, shown in its command line (a named context's),
 *   and whether it outlives this process (a persisted context).
 * @returns The running holder.
 * @throws {SyscallError} When a setup step fails; nothing is left behind.
 */
export function startHolder(p: Plan, options: { name?: string; detached?: boolean } = {}): Promise<Child> {
  // A detached holder outlives this process (a persisted named context).
  const plan = options.detached ? p : { ...p, killChild: 9 };
  // Its name shows in its command line, where lsns shows it.
  const argv = options.name === undefined ? ["nsh-holder"] : ["nsh-holder", options.name];
  return launchPlan(plan, { argv, stdin: "null", stdout: "null", stderr: "null" }, "hold");
}

/**
 * Runs the plan's steps in a child that exits after them: for steps that act
 * on joined namespaces (mount proc, set the hostname of a shell context).
 *
 * @param p The plan.
 * @throws {SyscallError} When a step fails.
 * @throws {Error} When the child ends otherwise than with status 0.
 */
export async function applyPlan(p: Plan): Promise<void> {
  const child = await launchPlan(p, { argv: ["nsh-setup"] }, "exit");
  const status = await child.status;
  if (!status.success) throw new Error(`Cannot apply the setup: its process ended with status ${status.code}`);
}

/**
 * The plan with its steps completed in this process, as their kinds ask
 * (sources resolved, optional ones that are missing left out).
 */
function prepared(p: Plan): Plan {
  if (!p.actions.some((s) => kindOf(s).prepare)) return p;
  const view = { sameMounts: !p.enter.some((e) => e.type === "mnt") };
  const actions = p.actions.flatMap((step) => {
    const kind = kindOf(step);
    const done = kind.prepare ? kind.prepare(step, view) : step;
    return done ? [done] : [];
  });
  return { ...p, actions };
}

/**
 * Whether a child may be made in a cgroup by clone3 (CLONE_INTO_CGROUP, Linux
 * 5.7): decided on first use, and given up once clone3 failed for want of the
 * call.
 */
let cloneIntoCgroup: boolean | undefined;

function canCloneIntoCgroup(): boolean {
  if (cloneIntoCgroup === undefined) {
    const [major, minor] = kernelVersion();
    cloneIntoCgroup = major > 5 || (major === 5 && minor >= 7);
  }
  return cloneIntoCgroup;
}

/** The launch options of a compiled program. */
function cgroupOf(compiled: Compiled): { cgroupFd?: number } {
  return compiled.cgroupFd === undefined ? {} : { cgroupFd: compiled.cgroupFd };
}

/**
 * Opens a socket in other namespaces, for this process to use: a socket
 * belongs for good to the network namespace it was made in, and this process
 * never enters one (docs/DESIGN.md §1). A child that shares this process's
 * descriptor table (`CLONE_FILES`) joins the namespaces (a user namespace
 * gives it the right to join the network namespace it owns), makes the
 * socket, puts it on a descriptor reserved for it, and exits.
 *
 * @param entries The namespaces to join: files such as `/proc/self/fd/N`.
 * @param domain The socket's domain (`AF_NETLINK`).
 * @param type Its type (`SOCK_RAW`); `SOCK_CLOEXEC` is added.
 * @param protocol Its protocol (`NETLINK_ROUTE`).
 * @returns The socket's descriptor.
 * @throws {SyscallError} When a namespace cannot be joined or the socket made.
 */
export function socketIn(
  entries: readonly { type: NamespaceType; path: string }[],
  domain: number,
  type: number,
  protocol: number,
): number {
  const c = libc();
  const fds: number[] = [];
  let slot = -1;
  try {
    // As compile(): unprivileged, the user namespace first (it gives the
    // right to join the others); as root, last.
    const root = ids().euid === 0;
    const ordered = [...entries].sort((a, b) =>
      (a.type === "user" ? (root ? 1 : -1) : 0) - (b.type === "user" ? (root ? 1 : -1) : 0)
    );
    const ops: Op[] = [];
    const infos: { syscall: string; operation: string; path?: string }[] = [];
    for (const { type: nsType, path } of ordered) {
      ops.push({ call: "setns", args: [openNamespace(nsType, path, fds), cloneFlags([nsType])] });
      infos.push({ syscall: "setns", operation: `join the ${nsType} namespace of "${path}"`, path });
    }
    slot = unwrap(c.open(cstring("/dev/null"), O_RDONLY | O_CLOEXEC, 0), "open", { operation: "open /dev/null" });
    const made = ops.push({ call: "socket", args: [domain, type | SOCK_CLOEXEC, protocol] }) - 1;
    infos.push({ syscall: "socket", operation: "make a socket in the joined namespaces" });
    ops.push({ call: "dup3", args: [{ result: made }, slot, O_CLOEXEC] });
    infos.push({ syscall: "dup3", operation: "hand the socket over" });
    ops.push({ call: "close", args: [{ result: made }] });
    infos.push({ syscall: "close", operation: "hand the socket over" });
    const launched = launch(ops, CLONE_FILES | SIGCHLD, "exec");
    if (launched.pid < 0) {
      throw new SyscallError("clone", -launched.pid, { operation: "start a process to make a socket" });
    }
    // vfork: the child has exited by now, and its outcome is known.
    reap(launched.pid);
    const failure = launched.settled?.failure;
    if (failure) {
      const { step, errno: e } = failure;
      const info = infos[step]!;
      throw new SyscallError(info.syscall, e, { operation: info.operation, path: info.path });
    }
    const socket = slot;
    slot = -1;
    return socket;
  } finally {
    for (const fd of fds) c.close(fd);
    if (slot >= 0) c.close(slot);
  }
}

/**
 * The plan with the resources its steps hold for the child made (a box's
 * cgroup), each step that holds one replaced by what the child does to use it.
 */
function holding(p: Plan, held: Held[]): Plan {
  if (!p.actions.some((s) => kindOf(s).hold)) return p;
  const view = { sameMounts: !p.enter.some((e) => e.type === "mnt"), steps: p.actions };
  const actions = p.actions.map((step) => {
    const kind = kindOf(step);
    if (!kind.hold) return step;
    const resource = kind.hold(step, view);
    held.push(resource);
    return resource.step as Step;
  });
  return { ...p, actions };
}

async function launchPlan(plan: Plan, options: StartOptions, end: "exec" | "hold" | "exit"): Promise<Child> {
  const c = libc();
  let p = prepared(plan);
  const name = options.argv[0]!;
  // execve takes C strings: a NUL would cut an argument short, silently.
  const nul = options.argv.findIndex((arg) => arg.includes("\0"));
  if (nul >= 0) {
    throw new Error(`Cannot execute "${name}": argument ${nul} contains a NUL byte, which no program can get`);
  }
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (key.includes("\0") || value.includes("\0")) {
      throw new Error(`Cannot execute "${name}": the variable ${key} contains a NUL byte, which no program can get`);
    }
  }
  const candidates = programCandidates(name, options.env ? options.env.PATH : Deno.env.get("PATH"));
  if (p.namespaces.includes("time")) {
    const [major] = kernelVersion();
    if (major < 6) {
      throw new Error(
        `Cannot start a program in a new time namespace: this needs Linux 6.0 or later, where execve enters it (this is ${Deno.osRelease()})`,
      );
    }
  }
  // Without `env`, the child loads libc's `environ` when it calls execve: in
  // every launch mode it sees this process's memory (shared, or copied at the
  // clone). Changing the environment while an async child sets up is a race,
  // as it is for posix_spawn.
  const envp = options.env ? Object.entries(options.env).map(([k, v]) => `${k}=${v}`) : { environ: environAddress() };

  const parentEnds: (number | undefined)[] = [undefined, undefined, undefined];
  const childEnds: (number | undefined)[] = [undefined, undefined, undefined];
  // Descriptors only the child needs: closed once it has its copies.
  const forChild: number[] = [];
  let syncWrite: number | undefined;
  /** The read end of the pipe nsh's init reports on, until a Child owns it. */
  let report: number | undefined;
  const held: Held[] = [];
  /** Namespaces bound to files, until the program runs. */
  let bindings: Bindings | undefined;
  try {
    (["stdin", "stdout", "stderr"] as const).forEach((stream, i) => {
      const mode = options[stream] ?? "inherit";
      if (typeof mode === "object") {
        // A copy above 2: dup2 onto 0..2 in order must not see a stream it
        // replaced already (stdout given as stderr's source, 2>&1).
        const copy = c.fcntl(mode.fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0) {
          throw new SyscallError("fcntl", errno(), {
            operation: `use descriptor ${mode.fd} as the program's ${stream}`,
          });
        }
        childEnds[i] = copy;
        forChild.push(copy);
      } else if (mode === "null") childEnds[i] = nullFd();
      else if (mode === "piped") {
        const [r, w] = pipe();
        parentEnds[i] = i === 0 ? w : r;
        childEnds[i] = i === 0 ? r : w;
        forChild.push(childEnds[i]!);
      }
    });
    const enter = openNamespaces(p, forChild);
    const rootFd = p.enterRoot === undefined
      ? undefined
      : openForChild(p.enterRoot, O_RDONLY | O_DIRECTORY, `open the root directory "${p.enterRoot}"`, forChild);
    const wdFd = p.enterWd === undefined
      ? undefined
      : openForChild(p.enterWd, O_RDONLY | O_DIRECTORY, `open the working directory "${p.enterWd}"`, forChild);
    // Last before the start: what a failure here leaves, the catch undoes.
    p = holding(p, held);
    let init: ExecSpec["init"];
    if (options.init && end === "exec") {
      const [r, w] = pipe();
      report = r;
      forChild.push(w);
      const more = options.init === true ? {} : options.init;
      init = {
        fd: (await import("../ffi/holder.ts")).initFd(),
        report: w,
        ...(more.keepFds?.length ? { keep: more.keepFds } : {}),
        ...(more.locks?.length ? { locks: more.locks } : {}),
      };
    }
    let sync: { read: number; write: number } | undefined;
    // A joined time namespace needs a launch without shared memory, where the child cannot wait.
    const job = p.enter.some((e) => e.type === "time") ? undefined : options.job;
    if (needsParent(p) || options.beforeSetup || job) {
      const [r, w] = pipe();
      sync = { read: r, write: w };
      forChild.push(r);
      syncWrite = w;
    }
    const spec: ExecSpec = {
      candidates,
      argv: options.argv0 === undefined ? options.argv : [options.argv0, ...options.argv.slice(1)],
      ...(options.argv0 === undefined ? {} : { file: name }),
      ...(init ? { init } : {}),
      envp,
      stdio: [childEnds[0], childEnds[1], childEnds[2]],
      ...(sync ? { sync } : {}),
      ...(enter.length ? { enter } : {}),
      ...(rootFd === undefined ? {} : { rootFd }),
      ...(wdFd === undefined ? {} : { wdFd }),
      end,
      ...(options.fds?.length ? { keepFds: options.fds } : {}),
      // Loaded only for contexts: a one-shot run never needs the holder.
      ...(end === "hold" ? { holderFd: (await import("../ffi/holder.ts")).holderFd() } : {}),
    };
    const facts = (cloneIntoCgroup: boolean) => ({
      // Read from /proc only when a step needs it.
      get capLastCap() {
        return capLastCap();
      },
      euid: ids().euid,
      egid: ids().egid,
      get capPermitted() {
        return capPermitted();
      },
      cloneIntoCgroup,
    });
    let compiled = compile(p, spec, facts(canCloneIntoCgroup()));
    if (sync && compiled.mode === "copy") {
      throw new Error(
        "Cannot join a time namespace and also map id ranges or bind namespaces to files in one start",
      );
    }

    let launched = launch(compiled.ops, compiled.cloneFlags, compiled.mode, cgroupOf(compiled));
    if (launched.pid < 0 && compiled.cgroupFd !== undefined) {
      // No clone3 here (before Linux 5.7), or a seccomp filter refuses it
      // (container runtimes answer ENOSYS): the child moves itself, and a move
      // that fails says why in its own words.
      if (launched.pid === -ENOSYS || launched.pid === -E2BIG) cloneIntoCgroup = false;
      compiled = compile(p, spec, facts(false));
      launched = launch(compiled.ops, compiled.cloneFlags, compiled.mode);
    }
    const joinedPid = compiled.forksInside ? p.enter.filter((e) => e.type === "pid").at(-1) : undefined;
    const insideOf = joinedPid && namespaceOf(joinedPid.path);
    const programPidOf = (forked: number | undefined) => {
      if (!compiled.forks) return launched.pid;
      return forked !== undefined && insideOf ? globalPid(forked, insideOf) : forked;
    };
    for (const fd of forChild.splice(0)) c.close(fd);
    if (launched.pid < 0) {
      const { cloneHint } = await import("./hints.ts");
      throw new SyscallError("clone", -launched.pid, {
        // No process could be made (a process limit): which program did not start says what failed.
        operation: -launched.pid === EAGAIN
          ? `start ${name}`
          : p.namespaces.length
          ? `create ${p.namespaces.join(", ")} namespace${p.namespaces.length > 1 ? "s" : ""}`
          : "create a process without new namespaces",
        hint: cloneHint(-launched.pid, p.namespaces, ids().euid),
      });
    }
    let parentError: unknown;
    if (syncWrite !== undefined) {
      // The child (or the one its clone step made) waits: do the parent's part.
      const ready = await launched.ready();
      if ("forked" in ready) {
        try {
          const pid = programPidOf(ready.forked);
          if (pid === undefined) throw new Error("Cannot find the process that runs the program");
          if (p.mapsNeedParent) await writeIdMaps(pid, p);
          bindings = await bindNamespaces(pid, p);
          await options.beforeSetup?.(pid);
          if (job) {
            const { setForegroundGroup, setProcessGroup } = await import("../ffi/terminal.ts");
            const pgid = job.group || pid;
            setProcessGroup(pid, pgid);
            if (job.foreground) setForegroundGroup(0, pgid);
          }
          c.write(syncWrite, new Uint8Array(1), 1n);
        } catch (error) {
          parentError = error;
        }
      }
      // Closing without writing makes the child's read return 0: it exits.
      c.close(syncWrite);
      syncWrite = undefined;
    }
    const { failure, forked, intermediates } = await launched.outcome();
    if (compiled.forks) reap(launched.pid);
    for (const pid of intermediates) reap(pid);
    const programPid = programPidOf(forked);
    if (failure || parentError) {
      if (programPid !== undefined) reap(programPid);
      // A child that stopped waiting because the parent gave up reports
      // ECANCELED: the parent's error is the one to show.
      if (parentError && (!failure || compiled.infos[failure.step]!.role === "sync")) throw parentError;
      throw await opError(compiled, failure!);
    }
    if (programPid === undefined) throw new Error("Cannot start the program: its process was not created");
    bindings?.keep();
    const piped = parentEnds.some((fd) => fd !== undefined);
    for (const fd of parentEnds) if (fd !== undefined) nonblocking(fd);
    // A holder dies with this process: it need not keep it alive.
    const io = piped ? await import("./fdstream.ts") : undefined;
    if (report !== undefined) nonblocking(report);
    const child = new Child(programPid, p, parentEnds, io, end !== "hold", held, report);
    report = undefined;
    return child;
  } catch (error) {
    for (const fd of forChild) c.close(fd);
    for (const fd of parentEnds) if (fd !== undefined) c.close(fd);
    if (syncWrite !== undefined) c.close(syncWrite);
    if (report !== undefined) c.close(report);
    // A binding keeps its namespace alive: a start that failed must not leave one.
    bindings?.undo();
    for (const resource of held) await resource.abandon().catch(() => {});
    throw error;
  }
}
