/**
 * The steps that load a Landlock ruleset in a child between clone(2) and
 * execve(2), as ffi/program.ts `Op`s with their descriptions, the hints for
 * their failures, and the descriptor the parent reserves for them.
 *
 * The child runs raw system calls and cannot allocate: every attribute the
 * kernel reads is written into the program's memory before the clone. A
 * `struct landlock_path_beneath_attr` must hold the descriptor of a path the
 * child opens, which is not known then; each path is therefore moved with
 * dup3(2) to a descriptor number chosen before the clone (the scratch
 * descriptor), which the attribute holds.
 *
 * @example A read-only system and a writable /tmp, for a child
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveLandlock } from "@nsh/nsh";
 * import { landlockSteps, reserveDescriptor } from "./landlock_steps.ts";
 *
 * const ruleset = resolveLandlock({
 *   rules: [
 *     { kind: "path", path: "/usr", access: "rox" },
 *     { kind: "path", path: "/tmp", access: "rw" },
 *   ],
 * }, { abi: 7 });
 * using scratch = reserveDescriptor(); // held until the child has called execve
 * const { ops, infos } = landlockSteps(ruleset, { scratchFd: scratch.fd });
 * assert.equal(ops.length, infos.length);
 * assert.equal(ops.at(-2)!.call, "landlock_restrict_self");
 * ```
 *
 * @module
 */

import type { Op } from "../ffi/program.ts";
import { cstring, errno as lastErrno, libc } from "../ffi/libc.ts";
import { SyscallError } from "../ffi/error.ts";
import {
  AT_FDCWD,
  E2BIG,
  EACCES,
  EAFNOSUPPORT,
  EBADF,
  EBADFD,
  EINVAL,
  ELOOP,
  EMFILE,
  ENOENT,
  ENOSYS,
  ENOTDIR,
  EOPNOTSUPP,
  EPERM,
  LANDLOCK_RULE_NET_PORT,
  LANDLOCK_RULE_PATH_BENEATH,
  O_CLOEXEC,
  O_DIRECTORY,
  O_PATH,
  PR_SET_NO_NEW_PRIVS,
} from "../ffi/constants.ts";
import { LANDLOCK_FILE_RIGHTS, type LandlockRuleset, landlockUnavailable } from "./landlock.ts";

/**
 * What a Landlock call of the child does, for error messages: the shape of
 * lib/compile.ts's `OpInfo`, with the role `"landlock"` (the kind of step,
 * whose hint is {@linkcode landlockHint}).
 */
export interface LandlockStepInfo {
  /** The system call, as the error names it. */
  readonly syscall: string;
  /** What was attempted, as a verb phrase. */
  readonly operation: string;
  /** The path the rule names, for calls about one. */
  readonly path?: string;
  /** What the call belongs to. */
  readonly role: "landlock";
}

/** Where {@linkcode emitLandlock} writes the calls: lib/compile.ts's `Emitter` is one. */
export interface LandlockEmitter {
  /**
   * Adds a call to the child's program.
   *
   * @returns Its index, for a later call that takes its result.
   */
  add(op: Op, info: LandlockStepInfo): number;
}

/** Options of {@linkcode emitLandlock}. */
export interface EmitLandlockOptions {
  /**
   * A descriptor number that is open in the child and that no later call
   * uses: each path is opened, then moved there with dup3(2), so that the
   * `struct landlock_path_beneath_attr` prepared before the clone can hold
   * its number. The surest is one the parent holds open across the launch
   * ({@linkcode landlockScratchFd} for the process's life, or
   * {@linkcode reserveDescriptor} for one launch): then no descriptor made by
   * the launch (its error pipe) or by the child (the ruleset, the opened
   * paths) can take its number. Needed when the ruleset has path rules.
   */
  readonly scratchFd?: number;
  /**
   * Set no_new_privs before restricting. landlock_restrict_self() requires
   * it unless the process has CAP_SYS_ADMIN in its user namespace; pass
   * `false` when an earlier call sets it, or to keep setuid programs working
   * where the child has that capability.
   *
   * @default {true}
   */
  readonly noNewPrivs?: boolean;
}

/** Options of {@linkcode landlockSteps}. */
export interface LandlockStepsOptions extends EmitLandlockOptions {
  /**
   * The index the first returned step will have in the whole program: calls
   * load results of earlier calls by index.
   *
   * @default {0}
   */
  readonly firstStep?: number;
}

/** The child's calls that load a ruleset. */
export interface LandlockProgram {
  /** The calls, to append to the child's program. */
  readonly ops: Op[];
  /** What each call does, by index in `ops`. */
  readonly infos: LandlockStepInfo[];
}

/** Writes an unsigned integer below 2^53 as a little-endian u64. */
function putU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value % 2 ** 32, true);
  view.setUint32(offset + 4, Math.floor(value / 2 ** 32), true);
}

/**
 * Writes the calls that load a ruleset in the child: no_new_privs (unless the
 * caller sets it), `landlock_create_ruleset` with the `struct
 * landlock_ruleset_attr` in the program's memory, for each path an open with
 * `O_PATH|O_CLOEXEC` (the path as the child sees it), a dup3 to the scratch
 * descriptor and `landlock_add_rule`, a `landlock_add_rule` per port, and
 * `landlock_restrict_self`. Every descriptor they make is close-on-exec.
 * Each call of one ruleset makes one Landlock layer: a second ruleset in the
 * same child restricts further (at most 16 layers).
 *
 * A rule on a directory may hold rights that a rule on a file may not
 * (`read_dir`, `make_*`…): the kernel refuses those on a file with EINVAL, and
 * what the path is is known only in the child. Such a rule takes two
 * `landlock_add_rule` calls: the rights a file may hold, which must succeed,
 * then all its rights, whose failure is ignored (a file keeps the first).
 *
 * Put the calls after the mounts and the root change (the paths are those
 * the program will see, and a Landlock domain forbids mounting), after
 * changes of capabilities and ids, and before seccomp (a filter may deny
 * these calls, and seccomp also needs no_new_privs): lib/compile.ts's
 * `harden` phase.
 *
 * @param ruleset What `resolveLandlock()` (lib/landlock.ts) made.
 * @param out Where the calls go.
 * @param options The scratch descriptor and no_new_privs.
 * @throws {TypeError} When the ruleset has path rules and no scratch descriptor is given.
 * @throws {RangeError} When the scratch descriptor is not above 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Op } from "../ffi/program.ts";
 * import { resolveLandlock } from "@nsh/nsh";
 * import { emitLandlock } from "./landlock_steps.ts";
 *
 * const ops: Op[] = [];
 * const out = { add: (op: Op) => ops.push(op) - 1 };
 * const ruleset = resolveLandlock({ rules: [{ kind: "port", port: 53, access: "connect" }] }, { abi: 4 });
 * emitLandlock(ruleset, out, { noNewPrivs: false });
 * assert.deepEqual(ops.map((op) => op.call), [
 *   "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self", "close",
 * ]);
 * ```
 */
export function emitLandlock(ruleset: LandlockRuleset, out: LandlockEmitter, options: EmitLandlockOptions = {}): void {
  if (!ruleset.handledFs && !ruleset.handledNet && !ruleset.scoped) return;
  const scratch = options.scratchFd;
  if (ruleset.paths.length) {
    if (scratch === undefined) {
      throw new TypeError("Cannot prepare Landlock path rules: no scratch descriptor is given (scratchFd)");
    }
    if (!Number.isInteger(scratch) || scratch < 3 || scratch > 0x7fffffff) {
      throw new RangeError(`Cannot use descriptor ${scratch} for Landlock path rules: it must be a number above 2`);
    }
  }
  const add = (op: Op, info: Omit<LandlockStepInfo, "role">): number => out.add(op, { ...info, role: "landlock" });
  if (options.noNewPrivs ?? true) {
    add({ call: "prctl", args: [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0] }, {
      syscall: "prctl",
      operation: "set no_new_privs",
    });
  }
  // struct landlock_ruleset_attr grew with the ABI (8 bytes, then 16 with
  // handled_access_net, then 24 with scoped). Passing only what is used keeps
  // a ruleset of an older ABI loadable by the kernels of that ABI.
  const size = ruleset.scoped ? 24 : ruleset.handledNet ? 16 : 8;
  const attr = new Uint8Array(size);
  const view = new DataView(attr.buffer);
  putU64(view, 0, ruleset.handledFs);
  if (size >= 16) putU64(view, 8, ruleset.handledNet);
  if (size >= 24) putU64(view, 16, ruleset.scoped);
  const created = add({ call: "landlock_create_ruleset", args: [{ bytes: attr }, size, 0] }, {
    syscall: "landlock_create_ruleset",
    operation: "create a Landlock ruleset",
  });
  const rulesetFd = { result: created };
  for (const rule of ruleset.paths) {
    const info = { path: rule.path };
    const opened = add({ call: "openat", args: [AT_FDCWD, { str: rule.path }, O_PATH | O_CLOEXEC, 0] }, {
      ...info,
      syscall: "open",
      operation: `open "${rule.path}" for a Landlock rule`,
    });
    // The attribute is prepared before the clone and cannot hold a descriptor
    // the child opens: move the descriptor to a number known now.
    add({ call: "dup3", args: [{ result: opened }, scratch!, O_CLOEXEC] }, {
      ...info,
      syscall: "dup3",
      operation: `move the descriptor of "${rule.path}" to ${scratch}`,
    });
    add({ call: "close", args: [{ result: opened }] }, {
      ...info,
      syscall: "close",
      operation: `close the first descriptor of "${rule.path}"`,
    });
    const beneath = (access: number) => {
      const bytes = new Uint8Array(12); // packed: u64 allowed_access, s32 parent_fd
      const v = new DataView(bytes.buffer);
      putU64(v, 0, access);
      v.setInt32(8, scratch!, true);
      return bytes;
    };
    const operation = `add a Landlock rule for "${rule.path}" (${rule.label})`;
    const fileRights = rule.access & LANDLOCK_FILE_RIGHTS;
    const first = fileRights || rule.access;
    add({ call: "landlock_add_rule", args: [rulesetFd, LANDLOCK_RULE_PATH_BENEATH, { bytes: beneath(first) }, 0] }, {
      ...info,
      syscall: "landlock_add_rule",
      operation,
    });
    if (first !== rule.access) {
      add({
        call: "landlock_add_rule",
        args: [rulesetFd, LANDLOCK_RULE_PATH_BENEATH, { bytes: beneath(rule.access) }, 0],
        ignore: true,
      }, { ...info, syscall: "landlock_add_rule", operation: `${operation}, for a directory` });
    }
  }
  if (ruleset.paths.length) {
    add({ call: "close", args: [scratch!] }, { syscall: "close", operation: `close descriptor ${scratch}` });
  }
  for (const rule of ruleset.ports) {
    const bytes = new Uint8Array(16); // u64 allowed_access, u64 port
    const v = new DataView(bytes.buffer);
    putU64(v, 0, rule.access);
    putU64(v, 8, rule.port);
    add({ call: "landlock_add_rule", args: [rulesetFd, LANDLOCK_RULE_NET_PORT, { bytes }, 0] }, {
      syscall: "landlock_add_rule",
      operation: `add a Landlock rule for ${rule.label}`,
    });
  }
  add({ call: "landlock_restrict_self", args: [rulesetFd, ruleset.restrictFlags] }, {
    syscall: "landlock_restrict_self",
    operation: "restrict the program with Landlock",
  });
  add({ call: "close", args: [rulesetFd] }, { syscall: "close", operation: "close the Landlock ruleset" });
}

/**
 * The calls that load a ruleset in the child, as a list: {@linkcode
 * emitLandlock} for a program whose first call of these will have index
 * `options.firstStep`.
 *
 * @param ruleset What `resolveLandlock()` (lib/landlock.ts) made.
 * @param options The scratch descriptor, no_new_privs, and the index of the first call.
 * @returns The calls and their descriptions; none for an empty ruleset.
 * @throws {TypeError} When the ruleset has path rules and no scratch descriptor is given.
 * @throws {RangeError} When the scratch descriptor or the first index is not valid.
 *
 * @example The calls of a read-only /usr and one TCP port
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveLandlock } from "@nsh/nsh";
 * import { landlockSteps } from "./landlock_steps.ts";
 *
 * const ruleset = resolveLandlock({
 *   rules: [
 *     { kind: "path", path: "/usr", access: "rox" },
 *     { kind: "port", port: 443, access: "connect" },
 *   ],
 * }, { abi: 7 });
 * const { ops, infos } = landlockSteps(ruleset, { scratchFd: 200 });
 * assert.deepEqual(ops.map((op) => op.call), [
 *   "prctl", "landlock_create_ruleset", "openat", "dup3", "close",
 *   "landlock_add_rule", "landlock_add_rule", "close",
 *   "landlock_add_rule", "landlock_restrict_self", "close",
 * ]);
 * assert.equal(infos[5]!.operation, 'add a Landlock rule for "/usr" (read-only, execute)');
 * assert.equal(infos[8]!.operation, "add a Landlock rule for TCP connect to port 443");
 * ```
 */
export function landlockSteps(ruleset: LandlockRuleset, options: LandlockStepsOptions = {}): LandlockProgram {
  const base = options.firstStep ?? 0;
  if (!Number.isInteger(base) || base < 0) throw new RangeError(`Cannot start Landlock calls at index ${base}`);
  const ops: Op[] = [];
  const infos: LandlockStepInfo[] = [];
  emitLandlock(ruleset, {
    add(op, info) {
      ops.push(op);
      infos.push(info);
      return base + ops.length - 1;
    },
  }, options);
  return { ops, infos };
}

/**
 * A hint for a failed Landlock step: what the user can do.
 *
 * @param info The step.
 * @param errno Its errno.
 * @returns The hint, if one applies.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { landlockHint } from "./landlock_steps.ts";
 *
 * const open = { syscall: "open", operation: 'open "/srv" for a Landlock rule', path: "/srv", role: "landlock" } as const;
 * assert.equal(
 *   landlockHint(open, 2),
 *   "the path must exist in the sandbox, as the program sees it (after its mounts and root change)",
 * );
 * ```
 */
export function landlockHint(info: LandlockStepInfo, errno: number): string | undefined {
  switch (info.syscall) {
    case "landlock_create_ruleset":
      if (errno === EOPNOTSUPP || errno === ENOSYS || errno === EPERM) {
        return landlockUnavailable(errno).replace(/: landlock_create_ruleset\(\) failed with [^;]*/, "");
      }
      if (errno === EINVAL || errno === E2BIG) {
        return "the rules were prepared for a newer Landlock ABI than this kernel's";
      }
      if (errno === EMFILE) return "the process has too many open files";
      return undefined;
    case "open":
      if (errno === ENOENT) {
        return "the path must exist in the sandbox, as the program sees it (after its mounts and root change)";
      }
      if (errno === ENOTDIR) return "a component of the path is not a directory";
      if (errno === EACCES) return "a directory on the way cannot be searched";
      if (errno === ELOOP) return "the path has too many symbolic links";
      if (errno === EMFILE) return "the process has too many open files";
      return undefined;
    case "dup3":
      if (errno === EBADF) return "the scratch descriptor must be below the limit of open files (ulimit -n)";
      return undefined;
    case "landlock_add_rule":
      if (errno === EINVAL) {
        return info.path !== undefined
          ? "a rule on a file can only allow execute, write_file, read_file, truncate and ioctl_dev"
          : "the port or its rights are not valid for this kernel";
      }
      if (errno === EBADFD) return "Landlock rules cannot name files of internal filesystems (nsfs, pipefs, sockfs)";
      if (errno === EAFNOSUPPORT) return "this kernel has no TCP/IP (CONFIG_INET)";
      return undefined;
    case "landlock_restrict_self":
      if (errno === EPERM) {
        return "Landlock needs no_new_privs, or CAP_SYS_ADMIN in the user namespace (leave noNewPrivs on)";
      }
      if (errno === E2BIG) return "a process can be in at most 16 nested Landlock domains";
      return undefined;
    default:
      return undefined;
  }
}

/**
 * The error of a failed Landlock step, as nsh reports a child's failure:
 * `Cannot open "/srv" for a Landlock rule: open() failed with ENOENT (No such
 * file or directory); the path must exist in the sandbox, …`.
 *
 * @param info The step.
 * @param errno Its errno.
 * @returns The error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { landlockError } from "./landlock_steps.ts";
 *
 * const restrict = {
 *   syscall: "landlock_restrict_self", operation: "restrict the program with Landlock", role: "landlock",
 * } as const;
 * assert.match(landlockError(restrict, 1).message, /^Cannot restrict the program with Landlock: .*EPERM/);
 * ```
 */
export function landlockError(info: LandlockStepInfo, errno: number): SyscallError {
  return new SyscallError(info.syscall, errno, {
    operation: info.operation,
    path: info.path,
    hint: landlockHint(info, errno),
  });
}

/** A descriptor the parent holds open so that its number is free for the child to reuse. */
export interface ReservedDescriptor extends Disposable {
  /** Its number. */
  readonly fd: number;
  /** Closes it; closing twice does nothing. */
  close(): void;
}

/**
 * Opens a descriptor (`O_PATH` on `/`, close-on-exec) whose number the
 * child may take over as {@linkcode LandlockStepsOptions.scratchFd}: while
 * the parent holds it, nothing else in the parent or the child gets that
 * number. Close it once the child has called execve.
 *
 * @returns The descriptor; `using` closes it.
 * @throws {SyscallError} When it cannot be opened (no descriptor left).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reserveDescriptor } from "./landlock_steps.ts";
 *
 * using reserved = reserveDescriptor();
 * assert.ok(reserved.fd > 2);
 * ```
 */
export function reserveDescriptor(): ReservedDescriptor {
  const fd = libc().open(cstring("/"), O_PATH | O_CLOEXEC | O_DIRECTORY, 0);
  if (fd < 0) {
    throw new SyscallError("open", lastErrno(), { operation: "reserve a descriptor for Landlock path rules" });
  }
  let open = true;
  const close = () => {
    if (open) libc().close(fd);
    open = false;
  };
  return { fd, close, [Symbol.dispose]: close };
}

let scratch: number | undefined;

/**
 * A descriptor this process holds open for its whole life (`O_PATH` on `/`,
 * close-on-exec), whose number children take over as their
 * {@linkcode EmitLandlockOptions.scratchFd}: while it is open, no other
 * descriptor of this process, of any launch or of any child's copy can have
 * that number, and a child's dup3 onto it replaces only the child's copy.
 * Opened on first use; the same number afterwards.
 *
 * @returns Its number.
 * @throws {SyscallError} When it cannot be opened (no descriptor left).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { landlockScratchFd } from "./landlock_steps.ts";
 *
 * assert.equal(landlockScratchFd(), landlockScratchFd());
 * ```
 */
export function landlockScratchFd(): number {
  scratch ??= reserveDescriptor().fd;
  return scratch;
}
