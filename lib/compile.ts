/**
 * Compiles a plan and a program to run into the steps a child makes between
 * clone(2) and execve(2). Pure: the result is data, run by ffi/program.ts.
 *
 * The order of the steps is fixed by what each needs:
 *
 * 1. stdio, signal disposition, parent-death signal: nothing depends on them;
 * 2. join existing namespaces (nsenter), take the joined user namespace's ids,
 *    change to the root and working directory opened before joining;
 * 3. a clone step, when a joined PID namespace or new namespaces inside joined
 *    ones need a new process;
 * 4. the time namespace and its offsets, while `/proc` is still the host's and
 *    before the parent may bind it;
 * 5. wait for the parent, when it writes id ranges or binds namespaces to files;
 * 6. the child's own id maps (`setgroups` first, as the kernel demands);
 * 7. mount propagation, then hostname, then the mounts in the order given;
 * 8. root and working directory, then proc (util-linux mounts it in the new root);
 * 9. capabilities and ids, then the signal mask, then execve (each PATH candidate,
 *    each followed by /bin/sh for it, which runs when the kernel cannot: ENOEXEC).
 *
 * @module
 */

import { type Arg, type LaunchMode, type Op, readyStep } from "../ffi/program.ts";
import { cloneFlags, type NamespaceType } from "./namespaces.ts";
import { formatIdMap } from "./idmap.ts";
import type { Plan } from "./plan.ts";
import { signalName } from "../ffi/signals.ts";
import { CLOSE_RANGE_CLOEXEC, F_SETFD } from "../ffi/constants.ts";
import { encodeText } from "../ffi/bytes.ts";

/** What a step does, for error messages. */
export interface StepInfo {
  /** The system call, as the error names it. */
  readonly syscall: string;
  /** What was attempted, as a verb phrase. */
  readonly operation: string;
  /** The path the user gave, if the step is about one. */
  readonly path?: string;
  /** The namespaces a step of the `enter` role joins, for hints. */
  readonly types?: readonly NamespaceType[];
  /** What the step belongs to, for hints. */
  readonly role:
    | "stdio"
    | "fds"
    | "signals"
    | "enter"
    | "fork"
    | "sync"
    | "idmap"
    | "time"
    | "propagation"
    | "uts"
    | "mount"
    | "root"
    | "proc"
    | "caps"
    | "ids"
    | "exec"
    | "script";
}

/** The program to run and how its stdio is connected. */
export interface ExecSpec {
  /** The paths to try with execve, in order (see lib/path.ts). */
  readonly candidates: readonly string[];
  /** The arguments, `argv[0]` first. */
  readonly argv: readonly string[];
  /**
   * The environment, as `NAME=value` strings, or the address of libc's
   * `environ` to pass this process's own (the child shares its memory).
   */
  readonly envp: readonly string[] | { readonly environ: number };
  /** File descriptors to put at 0, 1 and 2 (`undefined` leaves the inherited one). */
  readonly stdio: readonly [number | undefined, number | undefined, number | undefined];
  /** Ends of the pipe on which the child waits for the parent, if it must. */
  readonly sync?: { readonly read: number; readonly write: number };
  /** Descriptors of the namespaces to join, opened by the parent, in the plan's order. */
  readonly enter?: readonly {
    readonly type: NamespaceType;
    readonly fd: number;
    readonly path: string;
    readonly group?: number;
    /** The fd is a pidfd: one setns joins all these types of the process. */
    readonly all?: readonly NamespaceType[];
  }[];
  /** Descriptor of the directory to make the root after joining. */
  readonly rootFd?: number;
  /** Descriptor of the directory to make the working directory after joining. */
  readonly wdFd?: number;
  /**
   * What the child becomes after its setup: the program (`"exec"`, the
   * default), the holder program at `holderFd` with every signal still blocked
   * (`"hold"`), or nothing: it exits with status 0 (`"exit"`).
   */
  readonly end?: "exec" | "hold" | "exit";
  /** Descriptor of the holder program, for `end: "hold"`. */
  readonly holderFd?: number;
  /**
   * Descriptors of this process that the program keeps, at the same numbers.
   * Every other descriptor above 2 is closed at execve.
   */
  readonly keepFds?: readonly number[];
}

/** The compiled child program. */
export interface Compiled {
  /** The steps. */
  readonly ops: Op[];
  /** What each step does, by index. */
  readonly infos: StepInfo[];
  /** `CLONE_NEW*` flags for clone(2), with SIGCHLD as exit signal. */
  readonly cloneFlags: number;
  /** How to launch it (see ffi/program.ts). */
  readonly mode: LaunchMode;
  /** Whether a clone step makes the process that runs the program. */
  readonly forks: boolean;
  /**
   * Whether that process is made inside a joined PID namespace (a new PID
   * namespace in it): the pid its clone step reports is the one it has there.
   */
  readonly forksInside: boolean;
}

/**
 * Whether the parent must act while the child waits: write id ranges, or bind
 * namespaces to files.
 *
 * @param p The plan.
 * @returns `true` when the child must wait for the parent.
 */
export function needsParent(p: Plan): boolean {
  return p.mapsNeedParent || p.persist.length > 0;
}

const SIGCHLD = 17;
const UINT_MAX = 0xffffffff;
const SIGPIPE = 13;
const SIG_SETMASK = 2;
const AT_FDCWD = -100;
const O_WRONLY = 1;
const O_CLOEXEC = 0o2000000;
const PR_SET_PDEATHSIG = 1;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_RAISE = 2;
const CAPABILITY_VERSION_3 = 0x20080522;
const MNT_DETACH = 2;
const AT_EMPTY_PATH = 0x1000;
const O_RDONLY = 0, O_CREAT = 0o100;
const OPEN_TREE_CLONE = 1;
const MOVE_MOUNT_F_EMPTY_PATH = 4;

/** `MS_*` flags of mount(2). */
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  REMOUNT: 32,
  BIND: 4096,
  REC: 16384,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
} as const;

const STDIO_NAMES = ["standard input", "standard output", "standard error"];

/** The shell that runs a file the kernel cannot, as execvp(3) uses it (`_PATH_BSHELL`). */
const SHELL = "/bin/sh";

/** Facts about the machine the program is compiled for. */
export interface CompileContext {
  /** `CAP_LAST_CAP`, for `keepCaps`. */
  readonly capLastCap: number;
  /**
   * The caller's effective uid. Joining as root, the user namespace is joined
   * last (it would take root's privileges away); unprivileged, first (it gives
   * the privileges to join the others), as util-linux nsenter does.
   */
  readonly euid?: number;
}

const CLONE_VM = 0x100, CLONE_VFORK = 0x4000, CLONE_PARENT = 0x8000;

/**
 * Compiles a plan and a program into child steps.
 *
 * @param p The plan.
 * @param exec The program and its stdio.
 * @param context Facts about the machine.
 * @returns The steps, their descriptions and the clone flags.
 */
export function compile(p: Plan, exec: ExecSpec, context: CompileContext): Compiled {
  const ops: Op[] = [];
  const infos: StepInfo[] = [];
  const add = (op: Op, info: StepInfo): number => {
    ops.push(op);
    infos.push(info);
    return ops.length - 1;
  };
  /** open + write + close of a small file, each step described alike. */
  const writeFile = (path: string, content: string, info: Omit<StepInfo, "syscall">) => {
    const fd = add({ call: "openat", args: [AT_FDCWD, { str: path }, O_WRONLY | O_CLOEXEC, 0] }, {
      ...info,
      syscall: "open",
    });
    const bytes = encodeText(content);
    add({ call: "write", args: [{ result: fd }, { bytes }, bytes.length] }, { ...info, syscall: "write" });
    add({ call: "close", args: [{ result: fd }] }, { ...info, syscall: "close" });
  };

  /** Takes ids: the gid, the supplementary groups dropped (or tried), then the uid. */
  const takeIds = (uid: number | undefined, gid: number | undefined, groups: "drop" | "try" | "keep") => {
    if (gid !== undefined) {
      add({ call: "setresgid", args: [gid, gid, gid] }, {
        syscall: "setresgid",
        operation: `set the gid to ${gid}`,
        role: "ids",
      });
    }
    if (groups !== "keep") {
      add({ call: "setgroups", args: [0, 0], ...(groups === "try" ? { ignore: true } : {}) }, {
        syscall: "setgroups",
        operation: "drop the supplementary groups",
        role: "ids",
      });
    }
    if (uid !== undefined) {
      add({ call: "setresuid", args: [uid, uid, uid] }, {
        syscall: "setresuid",
        operation: `set the uid to ${uid}`,
        role: "ids",
      });
    }
  };

  exec.stdio.forEach((fd, target) => {
    if (fd === undefined) return;
    add({ call: "dup3", args: [fd, target, 0] }, {
      syscall: "dup2",
      operation: `connect ${STDIO_NAMES[target]}`,
      role: "stdio",
    });
  });
  // Deno ignores SIGPIPE and execve keeps ignored signals ignored.
  add({ call: "rt_sigaction", args: [SIGPIPE, { zeros: 32 }, 0, 8], ignore: true }, {
    syscall: "rt_sigaction",
    operation: "reset SIGPIPE",
    role: "signals",
  });
  const askForDeathSignal = () => {
    if (p.killChild === undefined) return;
    add({ call: "prctl", args: [PR_SET_PDEATHSIG, p.killChild] }, {
      syscall: "prctl",
      operation: `ask for ${signalName(p.killChild)} when nsh dies`,
      role: "signals",
    });
  };
  askForDeathSignal();
  const entered = exec.enter ?? [];
  const types = (e: (typeof entered)[number]) => e.all ?? [e.type];
  const mode: LaunchMode = entered.some((e) => types(e).includes("time")) ? "copy" : exec.sync ? "async" : "exec";
  const joining: NonNullable<ExecSpec["enter"]>[number][] = [];
  for (const group of new Set(entered.map((e) => e.group ?? 0))) {
    const members = entered.filter((e) => (e.group ?? 0) === group);
    const user = members.filter((e) => e.type === "user");
    const others = members.filter((e) => e.type !== "user");
    joining.push(...((context.euid ?? 0) === 0 ? [...others, ...user] : [...user, ...others]));
  }
  for (const e of joining) {
    add({ call: "setns", args: [e.fd, cloneFlags(types(e))] }, {
      syscall: "setns",
      operation: types(e).length > 1
        ? `join the ${types(e).join(", ")} namespaces of "${e.path}"`
        : `join the ${types(e)[0]} namespace of "${e.path}"`,
      path: e.path,
      role: "enter",
      types: types(e),
    });
  }
  if (p.enterIds) takeIds(p.enterIds.uid, p.enterIds.gid, "try");
  if (exec.rootFd !== undefined) {
    const info = {
      operation: `change the root directory to "${p.enterRoot}"`,
      path: p.enterRoot!,
      role: "root",
    } as const;
    add({ call: "fchdir", args: [exec.rootFd] }, { ...info, syscall: "fchdir" });
    add({ call: "chroot", args: [{ str: "." }] }, { ...info, syscall: "chroot" });
  }
  if (exec.wdFd !== undefined) {
    add({ call: "fchdir", args: [exec.wdFd] }, {
      syscall: "fchdir",
      operation: `change the working directory to "${p.enterWd}"`,
      path: p.enterWd!,
      role: "root",
    });
  } else if (exec.rootFd !== undefined) {
    add({ call: "chdir", args: [{ str: "/" }] }, {
      syscall: "chdir",
      operation: 'change the working directory to "/"',
      role: "root",
    });
  }
  // Joining a PID namespace only changes the namespace of children, and new
  // namespaces must be made inside the joined ones: both take a clone here.
  // CLONE_PARENT makes the new process a child of nsh, which reaps it, and
  // lets its parent half end at once. A new PID namespace can only be made by
  // a process already in the joined one: then a first clone enters it. All
  // clone steps start on the same stack, which the routine never writes.
  const newFlags = cloneFlags(p.namespaces) & ~0x80;
  const joinsPid = entered.some((e) => types(e).includes("pid"));
  const forks = joinsPid || (entered.length > 0 && newFlags !== 0);
  const cloneStep = (extra: number, operation: string) => {
    const flags = CLONE_PARENT | SIGCHLD | extra | (mode === "copy" ? 0 : CLONE_VM) |
      (mode === "async" ? 0 : CLONE_VFORK);
    add({ call: "clone", args: [flags, { secondStack: true }, 0, 0, 0], exitIfParent: true }, {
      syscall: "clone",
      operation,
      role: "fork",
    });
  };
  if (forks) {
    const creates = `create ${p.namespaces.filter((t) => t !== "time").join(", ")} namespaces`;
    if (joinsPid && newFlags & 0x20000000) {
      cloneStep(0, "start a process in the joined PID namespace");
      cloneStep(newFlags, creates);
    } else cloneStep(newFlags, newFlags ? creates : "start a process in the joined namespaces");
  }
  // A time namespace is made before waiting for the parent, so that the parent
  // can bind it (time_for_children) to a file.
  if (p.namespaces.includes("time")) {
    // clone(2) cannot take CLONE_NEWTIME (0x80 is part of the exit signal byte):
    // unshare it here; execve then moves the child into it (Linux 6.0+).
    add({ call: "unshare", args: [0x80] }, {
      syscall: "unshare",
      operation: "create a time namespace",
      role: "time",
    });
    const lines = [];
    if (p.monotonic) lines.push(`monotonic ${p.monotonic} 0`);
    if (p.boottime) lines.push(`boottime ${p.boottime} 0`);
    if (lines.length) {
      writeFile("/proc/self/timens_offsets", lines.join("\n") + "\n", {
        operation: `set the clock offsets "${lines.join(", ")}"`,
        path: "/proc/self/timens_offsets",
        role: "time",
      });
    }
  }
  if (exec.sync) {
    const info: StepInfo = { syscall: "read", operation: "wait for the parent's part of the setup", role: "sync" };
    // Tell the parent that the child is ready (its namespaces all exist), then wait.
    add(readyStep(), { ...info, syscall: "write" });
    add({ call: "close", args: [exec.sync.write] }, { ...info, syscall: "close" });
    add({ call: "read", args: [exec.sync.read, { zeros: 8 }, 1], zeroFails: true }, info);
    add({ call: "close", args: [exec.sync.read] }, { ...info, syscall: "close" });
  }
  if (!p.mapsNeedParent) {
    if (p.setgroups) {
      writeFile("/proc/self/setgroups", p.setgroups, {
        operation: `write "${p.setgroups}" to /proc/self/setgroups`,
        path: "/proc/self/setgroups",
        role: "idmap",
      });
    }
    for (const [what, map] of [["uid", p.uidMap], ["gid", p.gidMap]] as const) {
      if (!map) continue;
      const text = formatIdMap(map);
      writeFile(`/proc/self/${what}_map`, text, {
        operation: `write the ${what} map "${text.trim()}"`,
        path: `/proc/self/${what}_map`,
        role: "idmap",
      });
    }
  }
  if (p.namespaces.includes("mnt") && p.propagation !== "unchanged") {
    const flag = { private: MS.PRIVATE, shared: MS.SHARED, slave: MS.SLAVE }[p.propagation];
    add({ call: "mount", args: [{ str: "none" }, { str: "/" }, 0, MS.REC | flag, 0] }, {
      syscall: "mount",
      operation: `make the mount tree ${p.propagation}`,
      path: "/",
      role: "propagation",
    });
  }
  for (
    const [call, what, name] of [["sethostname", "hostname", p.hostname], [
      "setdomainname",
      "domain name",
      p.domainname,
    ]] as const
  ) {
    if (name === undefined) continue;
    const bytes = encodeText(name);
    add({ call, args: [{ bytes }, bytes.length] }, {
      syscall: call,
      operation: `set the ${what} to "${name}"`,
      role: "uts",
    });
  }
  for (const m of p.mounts) {
    if (m.kind === "bind") {
      add({ call: "mount", args: [{ str: m.source }, { str: m.target }, 0, MS.BIND | MS.REC, 0] }, {
        syscall: "mount",
        operation: `bind-mount "${m.source}" on "${m.target}"`,
        path: m.target,
        role: "mount",
      });
      if (m.readonly) {
        add({
          call: "mount",
          args: [0, { str: m.target }, 0, MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV, 0],
        }, { syscall: "mount", operation: `make "${m.target}" read-only`, path: m.target, role: "mount" });
      }
    } else if (m.kind === "bind-namespace") {
      // open_tree + move_mount bind the namespace from a descriptor, with no
      // path through /proc, which may show another PID namespace here.
      const info = { operation: `bind the ${m.type} namespace to "${m.file}"`, path: m.file, role: "mount" } as const;
      const made = add({ call: "openat", args: [AT_FDCWD, { str: m.file }, O_RDONLY | O_CREAT | O_CLOEXEC, 0o444] }, {
        ...info,
        syscall: "open",
      });
      add({ call: "close", args: [{ result: made }] }, { ...info, syscall: "close" });
      const tree = add({
        call: "open_tree",
        args: [m.fd, { str: "" }, OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH],
      }, { ...info, syscall: "open_tree" });
      add({
        call: "move_mount",
        args: [{ result: tree }, { str: "" }, AT_FDCWD, { str: m.file }, MOVE_MOUNT_F_EMPTY_PATH],
      }, { ...info, syscall: "move_mount" });
    } else if (m.kind === "umount") {
      add({ call: "umount2", args: [{ str: m.target }, MNT_DETACH], ignore: m.ignoreErrors }, {
        syscall: "umount2",
        operation: `unmount "${m.target}"`,
        path: m.target,
        role: "mount",
      });
    } else if (m.kind === "tmpfs") {
      add({
        call: "mount",
        args: [{ str: "tmpfs" }, { str: m.target }, { str: "tmpfs" }, MS.NOSUID | MS.NODEV, { str: m.options }],
      }, {
        syscall: "mount",
        operation: `mount a tmpfs on "${m.target}"`,
        path: m.target,
        role: "mount",
      });
    } else {
      add({ call: "mount", args: [{ str: m.source }, { str: m.target }, { str: m.type }, m.flags, { str: m.data }] }, {
        syscall: "mount",
        operation: `mount "${m.source}" (${m.type}) on "${m.target}"`,
        path: m.target,
        role: "mount",
      });
    }
  }
  if (p.root !== undefined) {
    add({ call: "chroot", args: [{ str: p.root }] }, {
      syscall: "chroot",
      operation: `change the root directory to "${p.root}"`,
      path: p.root,
      role: "root",
    });
  }
  const wd = p.wd ?? (p.root !== undefined ? "/" : undefined);
  if (wd !== undefined) {
    add({ call: "chdir", args: [{ str: wd }] }, {
      syscall: "chdir",
      operation: `change the working directory to "${wd}"`,
      path: wd,
      role: "root",
    });
  }
  if (p.mountProc !== undefined) {
    // The old proc shows the old PID namespace; detach it first (a locked mount
    // of a rootless namespace refuses, and the new one then covers it).
    add({ call: "umount2", args: [{ str: p.mountProc }, MNT_DETACH], ignore: true }, {
      syscall: "umount2",
      operation: `unmount "${p.mountProc}"`,
      path: p.mountProc,
      role: "proc",
    });
    add({
      call: "mount",
      args: [{ str: "proc" }, { str: p.mountProc }, { str: "proc" }, MS.NOSUID | MS.NODEV | MS.NOEXEC, 0],
    }, {
      syscall: "mount",
      operation: `mount proc on "${p.mountProc}"`,
      path: p.mountProc,
      role: "proc",
    });
  }
  if (p.keepCaps) {
    // Ambient capabilities must also be inheritable: copy permitted to
    // inheritable with capset(2), then raise each one.
    const full = 2 ** (context.capLastCap + 1) - 1;
    const lo = full % 2 ** 32, hi = Math.floor(full / 2 ** 32);
    const header = new Uint8Array(8);
    new DataView(header.buffer).setUint32(0, CAPABILITY_VERSION_3, true);
    const data = new Uint8Array(24);
    const dv = new DataView(data.buffer);
    for (const [offset, word] of [[0, lo], [12, hi]] as const) {
      dv.setUint32(offset, word, true);
      dv.setUint32(offset + 4, word, true);
      dv.setUint32(offset + 8, word, true);
    }
    add({ call: "capset", args: [{ bytes: header }, { bytes: data }] }, {
      syscall: "capset",
      operation: "make the capabilities inheritable",
      role: "caps",
    });
    for (let cap = 0; cap <= context.capLastCap; cap++) {
      add({ call: "prctl", args: [PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0], ignore: true }, {
        syscall: "prctl",
        operation: `raise ambient capability ${cap}`,
        role: "caps",
      });
    }
  }
  if (p.setgid !== undefined || p.setuid !== undefined) {
    takeIds(p.setuid, p.setgid, p.setgid !== undefined && p.setgroups !== "deny" ? "drop" : "keep");
  }
  // Again, last: a clone step's child starts without the death signal, and
  // joining a user namespace, changing ids or capabilities clears it (prctl(2)).
  const resets = joining.length > 0 || forks || p.enterIds !== undefined || p.keepCaps ||
    p.setuid !== undefined || p.setgid !== undefined;
  if (resets) askForDeathSignal();
  // Only 0-2 and the descriptors passed on reach the program: whatever this
  // process inherited or opened without O_CLOEXEC is closed at execve
  // (close_range(CLOSE_RANGE_CLOEXEC), Linux 5.11), last, so that no
  // descriptor a setup step made is left either. A passed descriptor loses its O_CLOEXEC.
  const keep = [...new Set(exec.keepFds ?? [])].filter((fd) => fd > 2).sort((a, b) => a - b);
  let from = 3;
  for (const fd of [...keep, UINT_MAX + 1]) {
    if (fd > from) {
      add({ call: "close_range", args: [from, fd - 1, CLOSE_RANGE_CLOEXEC], ignore: true }, {
        syscall: "close_range",
        operation: "close the descriptors the program does not get",
        role: "fds",
      });
    }
    if (fd <= UINT_MAX) {
      add({ call: "fcntl", args: [fd, F_SETFD, 0] }, {
        syscall: "fcntl",
        operation: `pass descriptor ${fd} on`,
        role: "fds",
      });
    }
    from = fd + 1;
  }
  const end = exec.end ?? "exec";
  if (end === "hold") {
    // The holder leaves the terminal's session, so that no job control signal
    // reaches it, and keeps every signal blocked: only SIGKILL ends it, and it
    // waits for SIGCHLD with rt_sigtimedwait.
    add({ call: "setsid", args: [], ignore: true }, {
      syscall: "setsid",
      operation: "leave the terminal's session",
      role: "signals",
    });
    add({
      call: "execveat",
      args: [exec.holderFd!, { str: "" }, { strs: ["nsh-holder"] }, { strs: [] }, AT_EMPTY_PATH],
    }, { syscall: "execveat", operation: "start the holder of the namespaces", role: "exec" });
  } else if (end === "exec") {
    add({ call: "rt_sigprocmask", args: [SIG_SETMASK, { oldMask: true }, 0, 8] }, {
      syscall: "rt_sigprocmask",
      operation: "restore the signal mask",
      role: "signals",
    });
    const name = exec.argv[0] ?? "";
    const first = ops.length;
    // A path with a slash is executed as it is, not searched for.
    const search = !name.includes("/");
    const envp: Arg = "environ" in exec.envp ? { load: exec.envp.environ } : { strs: exec.envp };
    const sameEnvp: Arg = "environ" in exec.envp ? envp : { sameAs: [first, 2] };
    // The program is looked for in the new root: say so.
    const where = p.root === undefined ? "" : ` in the new root "${p.root}"`;
    let shell: number | undefined;
    exec.candidates.forEach((path, i) => {
      const last = i === exec.candidates.length - 1;
      const candidate = add({
        call: "execve",
        args: i === 0 ? [{ str: path }, { strs: exec.argv }, envp] : [{ str: path }, { sameAs: [first, 1] }, sameEnvp],
        noexecNext: true,
        ...(!search ? {} : last ? { last: true } : { try: true }),
      }, { syscall: "execve", operation: `execute "${name}"${where}`, path: name, role: "exec" });
      // As execvp(3) (POSIX): a file that the kernel cannot run (ENOEXEC: a
      // script without #!) is run by /bin/sh, with the same environment.
      const at = add({
        call: "execve",
        args: [
          shell === undefined ? { str: SHELL } : { sameAs: [shell, 0] },
          { shellArgv: { file: [candidate, 0], argv: [first, 1], count: exec.argv.length } },
          sameEnvp,
        ],
        ifNoexec: true,
      }, {
        syscall: "execve",
        operation: `execute "${name}"${where} with ${SHELL} (it has no #! line)`,
        path: SHELL,
        role: "script",
      });
      shell ??= at;
    });
  }

  // CLONE_NEWTIME is unshared by a step, never passed to clone.
  const forksInside = forks && joinsPid && (newFlags & 0x20000000) !== 0;
  return { ops, infos, cloneFlags: (forks ? 0 : newFlags) | SIGCHLD, mode, forks, forksInside };
}
