/**
 * Setup steps as values. A sandbox is an ordered list of steps; each function
 * here makes one. Steps combine by concatenation: later steps of the same kind
 * win, as later options do for util-linux `unshare`.
 *
 * @module
 */

import { NAMESPACES, type NamespaceType } from "./namespaces.ts";

/** A block of ids mapped into a user namespace. */
export interface IdRange {
  /** First id inside the namespace. */
  readonly inside: number;
  /** First id outside, in the namespace of the caller. */
  readonly outside: number;
  /** How many ids. */
  readonly count: number;
}

/** How the mount tree of a new mount namespace propagates events. */
export type Propagation = "private" | "shared" | "slave" | "unchanged";

/** The clocks a time namespace can shift. */
export type TimeClock = "monotonic" | "boottime";

/** One setup step. */
export type Step =
  | { readonly kind: "namespaces"; readonly types: readonly NamespaceType[] }
  | { readonly kind: "map-root-user" }
  | { readonly kind: "map-current-user" }
  | { readonly kind: "map-user"; readonly id: number | string }
  | { readonly kind: "map-group"; readonly id: number | string }
  | { readonly kind: "map-users"; readonly ranges: readonly IdRange[] | "auto" }
  | { readonly kind: "map-groups"; readonly ranges: readonly IdRange[] | "auto" }
  | { readonly kind: "setgroups"; readonly mode: "allow" | "deny" }
  | { readonly kind: "keep-caps" }
  | { readonly kind: "propagation"; readonly mode: Propagation }
  | { readonly kind: "hostname"; readonly name: string }
  | { readonly kind: "domainname"; readonly name: string }
  | { readonly kind: "time-offset"; readonly clock: TimeClock; readonly seconds: number }
  | { readonly kind: "mount-proc"; readonly target: string }
  | { readonly kind: "bind"; readonly source: string; readonly target: string; readonly readonly: boolean }
  | { readonly kind: "tmpfs"; readonly target: string; readonly options: string }
  | { readonly kind: "umount"; readonly target: string; readonly ignoreErrors: boolean }
  | {
    readonly kind: "mount";
    readonly source: string;
    readonly target: string;
    readonly type: string;
    readonly flags: number;
    readonly data: string;
  }
  | { readonly kind: "root"; readonly dir: string }
  | { readonly kind: "wd"; readonly dir: string }
  | { readonly kind: "kill-child"; readonly signal: number }
  | { readonly kind: "setuid"; readonly id: number }
  | { readonly kind: "setgid"; readonly id: number }
  | { readonly kind: "persist"; readonly type: NamespaceType; readonly file: string }
  | { readonly kind: "enter"; readonly type: NamespaceType; readonly path: string }
  | { readonly kind: "enter-root"; readonly dir: string }
  | { readonly kind: "enter-wd"; readonly dir: string }
  | { readonly kind: "preserve-credentials" }
  | { readonly kind: "bind-namespace"; readonly fd: number; readonly type: NamespaceType; readonly file: string };

/**
 * New namespaces of the given kinds for the program.
 *
 * @param types The kinds, named as in `/proc/PID/ns/`.
 * @returns The step.
 * @throws {TypeError} For an unknown kind.
 */
export function namespaces(...types: NamespaceType[]): Step {
  for (const type of types) {
    if (!NAMESPACES.some((n) => n.type === type)) {
      throw new TypeError(
        `Unknown namespace type "${type}"; the types are ${NAMESPACES.map((n) => n.type).join(", ")}`,
      );
    }
  }
  return { kind: "namespaces", types };
}

/**
 * Maps the current user and group to root in a new user namespace (`-r`).
 * Implies a user namespace and `setgroups deny`.
 *
 * @returns The step.
 */
export function mapRootUser(): Step {
  return { kind: "map-root-user" };
}

/**
 * Maps the current user and group to themselves in a new user namespace (`-c`).
 *
 * @returns The step.
 */
export function mapCurrentUser(): Step {
  return { kind: "map-current-user" };
}

/**
 * Maps the current user to `id` (a uid or a user name) inside.
 *
 * @param id The uid or name inside the namespace.
 * @returns The step.
 */
export function mapUser(id: number | string): Step {
  return { kind: "map-user", id };
}

/**
 * Maps the current group to `id` (a gid or a group name) inside.
 *
 * @param id The gid or name inside the namespace.
 * @returns The step.
 */
export function mapGroup(id: number | string): Step {
  return { kind: "map-group", id };
}

/**
 * Maps blocks of uids, written by the parent (root) or by `newuidmap(1)`.
 * `"auto"` maps the user's first block from `/etc/subuid` to 0.
 *
 * @param ranges The blocks, or `"auto"`.
 * @returns The step.
 */
export function mapUsers(ranges: readonly IdRange[] | "auto"): Step {
  return { kind: "map-users", ranges };
}

/**
 * Maps blocks of gids, written by the parent (root) or by `newgidmap(1)`.
 *
 * @param ranges The blocks, or `"auto"` for the first block from `/etc/subgid`.
 * @returns The step.
 */
export function mapGroups(ranges: readonly IdRange[] | "auto"): Step {
  return { kind: "map-groups", ranges };
}

/**
 * Allows or denies setgroups(2) in the new user namespace.
 *
 * @param mode `"allow"` or `"deny"`.
 * @returns The step.
 */
export function setgroups(mode: "allow" | "deny"): Step {
  return { kind: "setgroups", mode };
}

/**
 * Keeps the capabilities of the new user namespace across execve(2) for a
 * program that does not run as root inside (`--keep-caps`).
 *
 * @returns The step.
 */
export function keepCaps(): Step {
  return { kind: "keep-caps" };
}

/**
 * Sets the propagation of the whole mount tree in the new mount namespace.
 *
 * @param mode The propagation; nsh makes the tree private when not told.
 * @returns The step.
 */
export function propagation(mode: Propagation): Step {
  return { kind: "propagation", mode };
}

/**
 * Sets the hostname in a new UTS namespace (implied).
 *
 * @param name The hostname.
 * @returns The step.
 */
export function hostname(name: string): Step {
  return { kind: "hostname", name };
}

/**
 * Sets the NIS domain name in a new UTS namespace (implied).
 *
 * @param name The domain name.
 * @returns The step.
 */
export function domainname(name: string): Step {
  return { kind: "domainname", name };
}

/**
 * Shifts a clock in a new time namespace (implied).
 *
 * @param clock `"monotonic"` or `"boottime"`.
 * @param seconds The offset, may be negative.
 * @returns The step.
 */
export function timeOffset(clock: TimeClock, seconds: number): Step {
  return { kind: "time-offset", clock, seconds };
}

/**
 * Mounts a proc filesystem that shows the new PID namespace, after the root
 * changed (`--mount-proc`). Implies a mount namespace.
 *
 * @param target The mount point.
 * @returns The step.
 */
export function mountProc(target = "/proc"): Step {
  return { kind: "mount-proc", target };
}

/** Options of {@linkcode bindMount}. */
export interface BindOptions {
  /**
   * Make the bind mount read-only.
   *
   * @default {false}
   */
  readonly?: boolean;
}

/**
 * Bind-mounts `source` (and what is mounted below it) on `target` in a new mount
 * namespace (implied).
 *
 * @param source The file or directory to show.
 * @param target Where to show it.
 * @param options Read-only or not.
 * @returns The step.
 */
export function bindMount(source: string, target: string, options: BindOptions = {}): Step {
  return { kind: "bind", source, target, readonly: options.readonly ?? false };
}

/**
 * Mounts a new tmpfs on `target` in a new mount namespace (implied).
 *
 * @param target The mount point.
 * @param options tmpfs options, such as `"size=64m,mode=0755"`.
 * @returns The step.
 */
export function tmpfs(target: string, options = ""): Step {
  return { kind: "tmpfs", target, options };
}

/** A mount(2) call. */
export interface MountOptions {
  /** The source, such as a device or `"none"`. */
  source: string;
  /** The mount point. */
  target: string;
  /** The filesystem type. */
  type: string;
  /**
   * `MS_*` flags.
   *
   * @default {0}
   */
  flags?: number;
  /**
   * Filesystem options.
   *
   * @default {""}
   */
  data?: string;
}

/**
 * Any mount(2) call, in a new mount namespace (implied).
 *
 * @param options What to mount where.
 * @returns The step.
 */
export function mount(options: MountOptions): Step {
  return {
    kind: "mount",
    source: options.source,
    target: options.target,
    type: options.type,
    flags: options.flags ?? 0,
    data: options.data ?? "",
  };
}

/** Options of {@linkcode umount}. */
export interface UmountOptions {
  /**
   * Go on when nothing is mounted there.
   *
   * @default {false}
   */
  ignoreErrors?: boolean;
}

/**
 * Detaches what is mounted on `target` (and below it) in a new mount
 * namespace (implied), as `umount --lazy` does.
 *
 * @param target The mount point.
 * @param options Whether a failure stops the setup.
 * @returns The step.
 */
export function umount(target: string, options: UmountOptions = {}): Step {
  return { kind: "umount", target, ignoreErrors: options.ignoreErrors ?? false };
}

/**
 * Changes the root directory of the program (`--root`), after the mounts.
 *
 * @param dir The new root.
 * @returns The step.
 */
export function root(dir: string): Step {
  return { kind: "root", dir };
}

/**
 * Changes the working directory of the program (`--wd`), after the root.
 *
 * @param dir The directory.
 * @returns The step.
 */
export function workdir(dir: string): Step {
  return { kind: "wd", dir };
}

/**
 * The program gets `signal` when the process that started it dies
 * (`--kill-child`).
 *
 * @param signal The signal number.
 * @returns The step.
 */
export function killChild(signal = 9): Step {
  return { kind: "kill-child", signal };
}

/**
 * Runs the program as this uid inside (`--setuid`).
 *
 * @param id The uid.
 * @returns The step.
 */
export function setuid(id: number): Step {
  return { kind: "setuid", id };
}

/**
 * Runs the program as this gid inside (`--setgid`).
 *
 * @param id The gid.
 * @returns The step.
 */
export function setgid(id: number): Step {
  return { kind: "setgid", id };
}

/**
 * Binds the program's new namespace of `type` to `file`, so that it outlives
 * every process (`unshare --net=FILE`). The file is created when missing. For
 * `pid` and `time` it is the namespace of the program's children, as
 * util-linux binds it. Implies the namespace; release it with
 * `releaseNamespace(file)`.
 *
 * @param type The namespace type.
 * @param file Where to bind it.
 * @returns The step.
 */
export function persist(type: NamespaceType, file: string): Step {
  return { kind: "persist", type, file };
}

/**
 * Joins an existing namespace before anything else (`nsenter --net=PATH`):
 * `path` is a namespace file such as `/proc/PID/ns/net` or a file a
 * namespace was bound to. New namespaces asked for too are created inside the
 * joined ones.
 *
 * @param type The namespace type.
 * @param path The namespace file.
 * @returns The step.
 */
export function enter(type: NamespaceType, path: string): Step {
  return { kind: "enter", type, path };
}

/**
 * Changes the root directory to `dir` after joining namespaces
 * (`nsenter --root`); `dir` is opened before joining, so `/proc/PID/root` is
 * the root of process PID.
 *
 * @param dir The directory, as the caller sees it.
 * @returns The step.
 */
export function enterRoot(dir: string): Step {
  return { kind: "enter-root", dir };
}

/**
 * Changes the working directory to `dir` after joining namespaces
 * (`nsenter --wd`); `dir` is opened before joining, so `/proc/PID/cwd` is the
 * working directory of process PID.
 *
 * @param dir The directory, as the caller sees it.
 * @returns The step.
 */
export function enterWorkdir(dir: string): Step {
  return { kind: "enter-wd", dir };
}

/**
 * Keeps the caller's uid and gid when joining a user namespace
 * (`nsenter --preserve-credentials`); otherwise the program runs as root of
 * the joined namespace.
 *
 * @returns The step.
 */
export function preserveCredentials(): Step {
  return { kind: "preserve-credentials" };
}

/**
 * Binds the namespace open at descriptor `fd` (of this process) to `file`, in
 * the mount namespace the child is in, creating the file when missing. This
 * is how a namespace made inside a shell context is bound in that context's
 * mount namespace, where an unprivileged user may mount. Implies nothing.
 *
 * @param fd A descriptor of a namespace file, open in this process.
 * @param type Its type, for messages.
 * @param file Where to bind it.
 * @returns The step.
 */
export function bindNamespace(fd: number, type: NamespaceType, file: string): Step {
  return { kind: "bind-namespace", fd, type, file };
}
