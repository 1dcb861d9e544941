/**
 * Sandboxes: immutable lists of setup steps that run programs.
 *
 * @module
 */

import { Command } from "./command.ts";
import type { NamespaceType } from "./namespaces.ts";
import { plan, type Plan } from "./plan.ts";
import * as steps from "./steps.ts";
import type { BindOptions, IdRange, MountOptions, Propagation, Step, TimeClock } from "./steps.ts";
import { ids } from "./system.ts";

/**
 * An immutable list of setup steps. Each method returns a new sandbox with one
 * more step; {@linkcode Sandbox.run} makes a command that runs a program in a
 * fresh child set up by all of them.
 */
export class Sandbox {
  /** The steps, in order. */
  readonly steps: readonly Step[];

  /**
   * @param list The steps.
   */
  constructor(list: readonly Step[] = []) {
    this.steps = Object.freeze([...list]);
  }

  /**
   * Adds steps, or the steps of other sandboxes.
   *
   * @param more Steps or sandboxes.
   * @returns A new sandbox.
   */
  with(...more: (Step | Sandbox)[]): Sandbox {
    return new Sandbox([...this.steps, ...more.flatMap((s) => s instanceof Sandbox ? s.steps : [s])]);
  }

  /**
   * Adds new namespaces.
   *
   * @param types The kinds, named as in `/proc/PID/ns/`.
   * @returns A new sandbox.
   */
  unshare(...types: NamespaceType[]): Sandbox {
    return this.with(steps.namespaces(...types));
  }

  /** Maps the caller to root in a new user namespace; see {@linkcode steps.mapRootUser}. */
  mapRootUser(): Sandbox {
    return this.with(steps.mapRootUser());
  }

  /** Maps the caller to itself in a new user namespace; see {@linkcode steps.mapCurrentUser}. */
  mapCurrentUser(): Sandbox {
    return this.with(steps.mapCurrentUser());
  }

  /** Maps the caller's uid to `id`; see {@linkcode steps.mapUser}. */
  mapUser(id: number | string): Sandbox {
    return this.with(steps.mapUser(id));
  }

  /** Maps the caller's gid to `id`; see {@linkcode steps.mapGroup}. */
  mapGroup(id: number | string): Sandbox {
    return this.with(steps.mapGroup(id));
  }

  /** Maps blocks of uids; see {@linkcode steps.mapUsers}. */
  mapUsers(ranges: readonly IdRange[] | "auto"): Sandbox {
    return this.with(steps.mapUsers(ranges));
  }

  /** Maps blocks of gids; see {@linkcode steps.mapGroups}. */
  mapGroups(ranges: readonly IdRange[] | "auto"): Sandbox {
    return this.with(steps.mapGroups(ranges));
  }

  /** Allows or denies setgroups(2); see {@linkcode steps.setgroups}. */
  setgroups(mode: "allow" | "deny"): Sandbox {
    return this.with(steps.setgroups(mode));
  }

  /** Keeps capabilities across execve; see {@linkcode steps.keepCaps}. */
  keepCaps(): Sandbox {
    return this.with(steps.keepCaps());
  }

  /** Sets the mount propagation; see {@linkcode steps.propagation}. */
  propagation(mode: Propagation): Sandbox {
    return this.with(steps.propagation(mode));
  }

  /** Sets the hostname; see {@linkcode steps.hostname}. */
  hostname(name: string): Sandbox {
    return this.with(steps.hostname(name));
  }

  /** Sets the NIS domain name; see {@linkcode steps.domainname}. */
  domainname(name: string): Sandbox {
    return this.with(steps.domainname(name));
  }

  /** Shifts a clock; see {@linkcode steps.timeOffset}. */
  timeOffset(clock: TimeClock, seconds: number): Sandbox {
    return this.with(steps.timeOffset(clock, seconds));
  }

  /** Mounts proc for the new PID namespace; see {@linkcode steps.mountProc}. */
  mountProc(target = "/proc"): Sandbox {
    return this.with(steps.mountProc(target));
  }

  /** Bind-mounts a path; see {@linkcode steps.bindMount}. */
  bindMount(source: string, target: string, options: BindOptions = {}): Sandbox {
    return this.with(steps.bindMount(source, target, options));
  }

  /** Mounts a tmpfs; see {@linkcode steps.tmpfs}. */
  tmpfs(target: string, options = ""): Sandbox {
    return this.with(steps.tmpfs(target, options));
  }

  /** Any mount(2); see {@linkcode steps.mount}. */
  mount(options: MountOptions): Sandbox {
    return this.with(steps.mount(options));
  }

  /** Changes the root directory; see {@linkcode steps.root}. */
  root(dir: string): Sandbox {
    return this.with(steps.root(dir));
  }

  /** Changes the working directory; see {@linkcode steps.workdir}. */
  workdir(dir: string): Sandbox {
    return this.with(steps.workdir(dir));
  }

  /** Kills the program when this process dies; see {@linkcode steps.killChild}. */
  killChild(signal = 9): Sandbox {
    return this.with(steps.killChild(signal));
  }

  /**
   * The plan these steps make for the calling process: namespaces implied,
   * maps resolved, everything checked.
   *
   * @returns The plan.
   * @throws {TypeError} For contradictory steps.
   * @throws {RangeError} For values out of range.
   */
  plan(): Plan {
    const { euid, egid } = ids();
    return plan(this.steps, { euid, egid });
  }

  /**
   * A command that runs a program in a new child set up by these steps.
   *
   * @param program The program (looked up in PATH), or the whole argv.
   * @param args Its arguments.
   * @returns The command; await it, or call `.text()`, `.spawn()`…
   */
  run(program: string | readonly string[], ...args: string[]): Command {
    const argv = typeof program === "string" ? [program, ...args] : [...program, ...args];
    return new Command(this.steps, argv);
  }
}

/**
 * A sandbox made of the given steps.
 *
 * @param list Steps or sandboxes to combine.
 * @returns The sandbox.
 */
export function sandbox(...list: (Step | Sandbox)[]): Sandbox {
  return new Sandbox().with(...list);
}

/** The options of util-linux `unshare`, in camelCase. */
export interface UnshareOptions {
  /** New mount namespace (`-m`). */
  mount?: boolean;
  /** New UTS namespace (`-u`). */
  uts?: boolean;
  /** New IPC namespace (`-i`). */
  ipc?: boolean;
  /** New network namespace (`-n`). */
  net?: boolean;
  /** New PID namespace (`-p`); the program is its PID 1. */
  pid?: boolean;
  /** New user namespace (`-U`). */
  user?: boolean;
  /** New cgroup namespace (`-C`). */
  cgroup?: boolean;
  /** New time namespace (`-T`). */
  time?: boolean;
  /** Map the caller to root (`-r`). */
  mapRootUser?: boolean;
  /** Map the caller to itself (`-c`). */
  mapCurrentUser?: boolean;
  /** Map the caller's uid to this uid or user name. */
  mapUser?: number | string;
  /** Map the caller's gid to this gid or group name. */
  mapGroup?: number | string;
  /** Map blocks of uids (through newuidmap when not root), or `"auto"`. */
  mapUsers?: readonly IdRange[] | "auto";
  /** Map blocks of gids (through newgidmap when not root), or `"auto"`. */
  mapGroups?: readonly IdRange[] | "auto";
  /** `mapUsers: "auto"` and `mapGroups: "auto"`. */
  mapAuto?: boolean;
  /** Allow or deny setgroups(2) in the new user namespace. */
  setgroups?: "allow" | "deny";
  /** Keep the capabilities of the user namespace across execve. */
  keepCaps?: boolean;
  /** Mount proc for the new PID namespace; `true` for /proc. */
  mountProc?: boolean | string;
  /**
   * Propagation of the new mount tree.
   *
   * @default {"private"}
   */
  propagation?: Propagation;
  /** Offset of CLOCK_MONOTONIC in seconds. */
  monotonic?: number;
  /** Offset of CLOCK_BOOTTIME in seconds. */
  boottime?: number;
  /** Hostname in the new UTS namespace. */
  hostname?: string;
  /** NIS domain name in the new UTS namespace. */
  domainname?: string;
  /** New root directory. */
  root?: string;
  /** New working directory. */
  wd?: string;
  /** Signal the program gets when this process dies; `true` for SIGKILL. */
  killChild?: boolean | number;
  /** uid to switch to inside. */
  setuid?: number;
  /** gid to switch to inside. */
  setgid?: number;
}

const OPTION_TYPES: readonly [keyof UnshareOptions, NamespaceType][] = [
  ["mount", "mnt"],
  ["uts", "uts"],
  ["ipc", "ipc"],
  ["net", "net"],
  ["pid", "pid"],
  ["user", "user"],
  ["cgroup", "cgroup"],
  ["time", "time"],
];

/**
 * The steps of util-linux style options, in a fixed order.
 *
 * @param options The options.
 * @returns The steps.
 */
export function unshareSteps(options: UnshareOptions): Step[] {
  const list: Step[] = [];
  const types = OPTION_TYPES.filter(([key]) => options[key]).map(([, type]) => type);
  if (types.length) list.push(steps.namespaces(...types));
  if (options.mapRootUser) list.push(steps.mapRootUser());
  if (options.mapCurrentUser) list.push(steps.mapCurrentUser());
  if (options.mapUser !== undefined) list.push(steps.mapUser(options.mapUser));
  if (options.mapGroup !== undefined) list.push(steps.mapGroup(options.mapGroup));
  if (options.mapAuto) list.push(steps.mapUsers("auto"), steps.mapGroups("auto"));
  if (options.mapUsers) list.push(steps.mapUsers(options.mapUsers));
  if (options.mapGroups) list.push(steps.mapGroups(options.mapGroups));
  if (options.setgroups) list.push(steps.setgroups(options.setgroups));
  if (options.keepCaps) list.push(steps.keepCaps());
  if (options.propagation) list.push(steps.propagation(options.propagation));
  if (options.hostname !== undefined) list.push(steps.hostname(options.hostname));
  if (options.domainname !== undefined) list.push(steps.domainname(options.domainname));
  if (options.monotonic !== undefined) list.push(steps.timeOffset("monotonic", options.monotonic));
  if (options.boottime !== undefined) list.push(steps.timeOffset("boottime", options.boottime));
  if (options.root !== undefined) list.push(steps.root(options.root));
  if (options.wd !== undefined) list.push(steps.workdir(options.wd));
  if (options.mountProc) list.push(steps.mountProc(options.mountProc === true ? "/proc" : options.mountProc));
  if (options.killChild) list.push(steps.killChild(options.killChild === true ? 9 : options.killChild));
  if (options.setuid !== undefined) list.push(steps.setuid(options.setuid));
  if (options.setgid !== undefined) list.push(steps.setgid(options.setgid));
  return list;
}

/**
 * A sandbox described with the options of util-linux `unshare`.
 *
 * @example Run `ip link` in a new network namespace, rootless
 * ```ts ignore
 * import { unshare } from "./mod.ts";
 *
 * const links = await unshare({ user: true, mapRootUser: true, net: true })
 *   .run("ip", "-brief", "link").lines();
 * console.log(links); // ["lo  DOWN  00:00:00:00:00:00 <LOOPBACK>"]
 * ```
 *
 * @param options The options.
 * @returns The sandbox.
 */
export function unshare(options: UnshareOptions = {}): Sandbox {
  return new Sandbox(unshareSteps(options));
}
