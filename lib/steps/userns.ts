/**
 * Changes of user namespace after the setup: the program in a user
 * namespace nested in the box's, with new user namespaces disabled or
 * checked to be; or joining a user namespace once the box is set up.
 * bubblewrap's `--disable-userns`, `--assert-userns-disabled` and
 * `--userns2`, and its trick for a /dev with a devpts when the program is
 * not root (the setup runs as root of the box's namespace, which devpts
 * needs, and the program as itself in a nested one).
 *
 * @module
 */

import type { Emitter, OpInfo, PlanView, StepKind } from "./_kind.ts";
import {
  AT_FDCWD,
  EACCES,
  EINVAL,
  ENOSPC,
  EPERM,
  O_CLOEXEC,
  O_DIRECTORY,
  O_PATH,
  O_WRONLY,
} from "../../ffi/constants.ts";
import { encodeText } from "../../ffi/bytes.ts";

const CLONE_NEWUSER = 0x10000000;
/** The overflow id: what an unmapped id looks like inside a user namespace. */
const OVERFLOW_ID = 65534;

/** The program in a user namespace nested in the box's. */
export interface NestedUserStep {
  /** The kind of step. */
  readonly kind: "nested-user";
  /** The program's uid there. */
  readonly uid: number | undefined;
  /** The program's gid there. */
  readonly gid: number | undefined;
  /** The box's user namespace allows no other user namespace. */
  readonly disable: boolean;
}

/** A check that the program cannot create user namespaces. */
export interface AssertNoUserNamespacesStep {
  /** The kind of step. */
  readonly kind: "assert-no-userns";
}

/** A user namespace joined after the setup. */
export interface JoinUserNamespaceStep {
  /** The kind of step. */
  readonly kind: "join-userns";
  /** A descriptor of the namespace, open in this process. */
  readonly fd: number;
}

/** Options of {@linkcode nestedUser}. */
export interface NestedUserOptions {
  /**
   * The program's uid in the nested namespace, mapped to the uid it has in
   * the box's.
   *
   * @default {the uid it has in the box's namespace}
   */
  uid?: number;
  /**
   * The program's gid there, mapped to the gid it has in the box's.
   *
   * @default {the gid it has in the box's namespace}
   */
  gid?: number;
  /**
   * The box's user namespace allows only this nested one
   * (`user.max_user_namespaces` is set to 1 in it): the program can create
   * no user namespace, and cannot raise the limit, which belongs to a
   * namespace it does not own. bubblewrap's `--disable-userns`.
   *
   * @default {false}
   */
  disableUserNamespaces?: boolean;
}

/**
 * Runs the program in a user namespace nested in the box's own (which it
 * needs), made after the box's mounts, with its ids mapped to those it has
 * in the box's namespace: the setup can run as root of the box's namespace
 * (a devpts needs root mapped) and the program as another id. It can also
 * disable user namespaces for good.
 *
 * @example A program as uid 1000 that cannot make user namespaces, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, nestedUser, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(mapRootUser(), nestedUser({ uid: 1000, disableUserNamespaces: true }));
 * assert.equal(await box.run("id", "-u").text(), "1000");
 * const result = await box.run("unshare", "--user", "true").noThrow().output();
 * assert.match(result.stderrText, /No space left on device/); // user.max_user_namespaces is reached
 * ```
 *
 * @param options The program's ids there, and whether new user namespaces are disabled.
 * @returns The step.
 */
export function nestedUser(options: NestedUserOptions = {}): NestedUserStep {
  return {
    kind: "nested-user",
    uid: options.uid,
    gid: options.gid,
    disable: options.disableUserNamespaces ?? false,
  };
}

/**
 * Fails the start unless the program is unable to create a user namespace
 * (tried right before its capabilities are set): bubblewrap's
 * `--assert-userns-disabled`, for a box whose user namespace was disabled
 * outside nsh, or by {@linkcode nestedUser}.
 *
 * @example The start fails unless user namespaces are disabled in the box, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertNoUserNamespaces, mapRootUser, nestedUser, sandbox, SyscallError } from "@nsh/nsh";
 *
 * const box = sandbox(mapRootUser(), nestedUser({ disableUserNamespaces: true }), assertNoUserNamespaces());
 * assert.equal((await box.run("true")).code, 0);
 * await assert.rejects(sandbox(mapRootUser(), assertNoUserNamespaces()).run("true").output(), SyscallError);
 * ```
 *
 * @returns The step.
 */
export function assertNoUserNamespaces(): AssertNoUserNamespacesStep {
  return { kind: "assert-no-userns" };
}

/**
 * The program joins a user namespace once the box is set up, before its
 * capabilities are set: one nested in the namespace the box was set up in
 * (bubblewrap's `--userns2`).
 *
 * @example The program moves into a user namespace nested in the box's (bubblewrap's --userns2)
 * ```ts
 * import assert from "node:assert/strict";
 * import { enter, joinUserNamespace, mapRootUser, mapUser, OpenFile, sandbox } from "@nsh/nsh";
 *
 * const outer = sandbox(mapRootUser()).run("sleep", "60").noThrow().spawn();
 * const user = `/proc/${(await outer.started).pid}/ns/user`;
 * // A namespace nested in it, where the caller's uid is 1000.
 * const inner = sandbox(enter("user", user), mapUser(1000)).run("sleep", "60").noThrow().spawn();
 * using nested = new OpenFile(`/proc/${(await inner.started).pid}/ns/user`);
 * assert.equal(await sandbox(enter("user", user), joinUserNamespace(nested.fd)).run("id", "-u").text(), "1000");
 * for (const box of [inner, outer]) box.kill();
 * await Promise.all([inner, outer]);
 * ```
 *
 * @param fd A descriptor of the namespace (`/proc/PID/ns/user` opened), open in this process.
 * @returns The step.
 */
export function joinUserNamespace(fd: number): JoinUserNamespaceStep {
  return { kind: "join-userns", fd };
}

/** The id that `id` outside is inside a map, or the overflow id. */
function mapped(
  map: readonly { readonly inside: number; readonly outside: number; readonly count: number }[] | undefined,
  id: number,
): number {
  if (!map) return id;
  const range = map.find((r) => id >= r.outside && id < r.outside + r.count);
  return range ? range.inside + id - range.outside : OVERFLOW_ID;
}

/** The ids the child has in the box's user namespace when the nested one is made. */
function boxIds(plan: PlanView, euid: number, egid: number): { uid: number; gid: number } {
  if (plan.enterIds) return plan.enterIds;
  if (!plan.namespaces.includes("user")) return { uid: euid, gid: egid };
  let uid = mapped(plan.uidMap, euid);
  let gid = mapped(plan.gidMap, egid);
  // lib/compile.ts makes an unmapped child root when root is mapped.
  if (uid === OVERFLOW_ID && plan.uidMap?.some((r) => r.inside === 0)) {
    uid = 0;
    if (plan.gidMap?.some((r) => r.inside === 0)) gid = 0;
  }
  return { uid, gid };
}

/**
 * The uid the program has once a nested user namespace is made, if the plan
 * makes one: for the steps that decide by it (capabilities).
 *
 * @param plan The plan.
 * @param euid The caller's effective uid.
 * @returns The uid, or `undefined` without a nested namespace.
 */
export function nestedUid(plan: PlanView, euid: number): number | undefined {
  const step = plan.actions.find((s): s is NestedUserStep => s.kind === "nested-user");
  if (!step) return undefined;
  return step.uid ?? boxIds(plan, euid, 0).uid;
}

/** Where the nested step keeps the descriptor of /proc/self it opens before the root changes. */
const procSelf = new WeakMap<NestedUserStep, number>();

/** Writes a file of /proc/self through the descriptor opened early. */
function writeProcSelf(out: Emitter, dir: number, file: string, text: string, info: Omit<OpInfo, "syscall">): void {
  const fd = out.add({ call: "openat", args: [{ result: dir }, { str: file }, O_WRONLY | O_CLOEXEC, 0] }, {
    ...info,
    syscall: "open",
  });
  const bytes = encodeText(text);
  out.add({ call: "write", args: [{ result: fd }, { bytes }, bytes.length] }, { ...info, syscall: "write" });
  out.add({ call: "close", args: [{ result: fd }] }, { ...info, syscall: "close" });
}

/** The kind of {@linkcode nestedUser} steps. */
const NESTED_USER: StepKind<NestedUserStep> = {
  kind: "nested-user",
  // Early, while the host's /proc is there: the limit, and /proc/self for the maps.
  phase: "uts",
  laterPhases: ["caps"],
  repeats: "last",
  check(step) {
    for (const [what, id] of [["uid", step.uid], ["gid", step.gid]] as const) {
      if (id !== undefined && (!Number.isInteger(id) || id < 0 || id > 0xfffffffe)) {
        throw new RangeError(`Cannot use ${id} as the ${what} in a nested user namespace: not an id`);
      }
    }
  },
  implies: (_step, joined) => joined.has("user") ? [] : ["user"],
  compile(step, out, plan, phase) {
    const role = "nested-user";
    if (phase === "uts") {
      if (step.disable) {
        out.writeFile("/proc/sys/user/max_user_namespaces", "1", {
          operation: "allow only one user namespace in the box's (user.max_user_namespaces = 1)",
          path: "/proc/sys/user/max_user_namespaces",
          role,
        });
      }
      procSelf.set(
        step,
        out.add({ call: "openat", args: [AT_FDCWD, { str: "/proc/self" }, O_PATH | O_DIRECTORY | O_CLOEXEC, 0] }, {
          syscall: "open",
          operation: "open /proc/self for the maps of a nested user namespace",
          path: "/proc/self",
          role,
        }),
      );
      return;
    }
    const dir = procSelf.get(step)!;
    const outer = boxIds(plan, out.facts.euid, out.facts.egid);
    const uid = step.uid ?? outer.uid;
    const gid = step.gid ?? outer.gid;
    out.add({ call: "unshare", args: [CLONE_NEWUSER] }, {
      syscall: "unshare",
      operation: "create a user namespace nested in the box's",
      role,
    });
    // Its own ids only: a process needs no privilege in the parent namespace
    // for that, once setgroups is denied (which it inherits, or gets here).
    const map = (what: string, text: string) =>
      writeProcSelf(out, dir, what, text, {
        operation: `write ${what} "${text.trim()}" in the nested user namespace`,
        path: `/proc/self/${what}`,
        role,
      });
    map("setgroups", "deny");
    map("uid_map", `${uid} ${outer.uid} 1\n`);
    map("gid_map", `${gid} ${outer.gid} 1\n`);
    out.add({ call: "close", args: [{ result: dir }] }, { syscall: "close", operation: "close /proc/self", role });
  },
  code: (step) => {
    const options = {
      ...(step.uid !== undefined ? { uid: step.uid } : {}),
      ...(step.gid !== undefined ? { gid: step.gid } : {}),
      ...(step.disable ? { disableUserNamespaces: true } : {}),
    };
    return { fn: "nestedUser", args: Object.keys(options).length ? [options] : [] };
  },
  hint(info, errno) {
    if (info.path === "/proc/sys/user/max_user_namespaces" && (errno === EPERM || errno === EACCES)) {
      return "the limit is set in the box's own user namespace: the box needs one (--user)";
    }
    if (info.syscall === "unshare" && errno === ENOSPC) return "the limit of user namespaces is reached";
    return undefined;
  },
};

/** The kind of {@linkcode assertNoUserNamespaces} steps. */
const ASSERT_NO_USERNS: StepKind<AssertNoUserNamespacesStep> = {
  kind: "assert-no-userns",
  phase: "caps",
  repeats: "last",
  compile(_step, out) {
    const role = "assert-no-userns";
    const operation = "make sure that the program cannot create user namespaces";
    const tried = out.add({ call: "unshare", args: [CLONE_NEWUSER], ignore: true }, {
      syscall: "unshare",
      operation,
      role,
    });
    // It succeeded: the start fails (ECANCELED from unshare(0), which always
    // succeeds and counts as a failure here).
    out.add({ call: "unshare", args: [0], zeroFails: true, onlyIf: { step: tried, result: "zero" } }, {
      syscall: "unshare",
      operation,
      role,
    });
  },
  code: () => ({ fn: "assertNoUserNamespaces", args: [] }),
  hint: () => "creating one succeeded: new user namespaces are not disabled (see nestedUser, --disable-userns)",
};

/** The kind of {@linkcode joinUserNamespace} steps. */
const JOIN_USERNS: StepKind<JoinUserNamespaceStep> = {
  kind: "join-userns",
  phase: "caps",
  repeats: "last",
  check(step) {
    if (!Number.isInteger(step.fd) || step.fd < 0) {
      throw new RangeError(`Cannot join the user namespace of descriptor ${step.fd}: not a descriptor`);
    }
  },
  compile(step, out) {
    out.add({ call: "setns", args: [step.fd, CLONE_NEWUSER] }, {
      syscall: "setns",
      operation: `join the user namespace of descriptor ${step.fd}`,
      role: "join-userns",
    });
  },
  code: (step) => ({ fn: "joinUserNamespace", args: [step.fd] }),
  hint: (_info, errno) =>
    errno === EINVAL
      ? "it must be a user namespace nested in the one the box was set up in"
      : errno === EPERM
      ? "joining needs CAP_SYS_ADMIN in that namespace: it must be nested in the box's"
      : undefined,
};

/** The kinds of steps this module defines, for lib/steps/_registry.ts. */
export const KINDS = [NESTED_USER, ASSERT_NO_USERNS, JOIN_USERNS] as const;
