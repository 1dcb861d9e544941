/**
 * The options of util-linux `unshare` as an object, and the steps they mean.
 *
 * @module
 */

import type { NamespaceType } from "./namespaces.ts";
import * as steps from "./steps.ts";
import type { IdRange, Propagation, Step } from "./steps.ts";

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
