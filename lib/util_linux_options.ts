/**
 * The options of util-linux `unshare` as an object, and the steps they mean.
 *
 * @module
 */

import { checkKeys } from "./check.ts";
import type { NamespaceType } from "./namespaces.ts";
import * as steps from "./steps.ts";
import type { IdRange, Propagation, Step } from "./steps.ts";

/** The options of util-linux `unshare`, in camelCase. */
export interface UnshareOptions {
  /** New mount namespace (`-m`); a string also binds it to that file (`-m=FILE`). */
  mount?: boolean | string;
  /** New UTS namespace (`-u`); a string also binds it to that file (`-u=FILE`). */
  uts?: boolean | string;
  /** New IPC namespace (`-i`); a string also binds it to that file (`-i=FILE`). */
  ipc?: boolean | string;
  /** New network namespace (`-n`); a string also binds it to that file (`-n=FILE`). */
  net?: boolean | string;
  /** New PID namespace (`-p`); the program is its PID 1; a string also binds it (the namespace of its children) to that file. */
  pid?: boolean | string;
  /** New user namespace (`-U`); a string also binds it to that file (`-U=FILE`). */
  user?: boolean | string;
  /** New cgroup namespace (`-C`); a string also binds it to that file (`-C=FILE`). */
  cgroup?: boolean | string;
  /** New time namespace (`-T`); a string also binds it to that file (`-T=FILE`). */
  time?: boolean | string;
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
   * util-linux's `-f`, accepted so that its options carry over: nsh always
   * runs the program as a new process, so with `pid` it is PID 1 of the new
   * PID namespace. `false` is refused: nsh has no unforked form.
   */
  fork?: true;
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

const OPTION_TYPES = [
  ["mount", "mnt"],
  ["uts", "uts"],
  ["ipc", "ipc"],
  ["net", "net"],
  ["pid", "pid"],
  ["user", "user"],
  ["cgroup", "cgroup"],
  ["time", "time"],
] as const satisfies readonly (readonly [keyof UnshareOptions & keyof NsenterOptions, NamespaceType])[];

/** The options of each function besides the namespaces: a misspelt option must not be ignored (`{ nett: true }`). */
const UNSHARE_ONLY = [
  "mapRootUser",
  "mapCurrentUser",
  "mapUser",
  "mapGroup",
  "mapUsers",
  "mapGroups",
  "mapAuto",
  "setgroups",
  "keepCaps",
  "mountProc",
  "fork",
  "propagation",
  "monotonic",
  "boottime",
  "hostname",
  "domainname",
  "root",
  "wd",
  "killChild",
  "setuid",
  "setgid",
] as const satisfies readonly (keyof UnshareOptions)[];

const NSENTER_ONLY = [
  "target",
  "netSocket",
  "all",
  "preserveCredentials",
  "root",
  "wd",
  "setuid",
  "setgid",
  "keepCaps",
] as const satisfies readonly (keyof NsenterOptions)[];

type NamespaceKey = (typeof OPTION_TYPES)[number][0];
// Every key of the interfaces is listed (a compile error otherwise).
const _unshareKeysComplete: Exclude<keyof UnshareOptions, NamespaceKey | (typeof UNSHARE_ONLY)[number]> extends never
  ? true
  : never = true;
const _nsenterKeysComplete: Exclude<keyof NsenterOptions, NamespaceKey | (typeof NSENTER_ONLY)[number]> extends never
  ? true
  : never = true;

const UNSHARE_KEYS: readonly string[] = [...OPTION_TYPES.map(([key]) => key), ...UNSHARE_ONLY];
const NSENTER_KEYS: readonly string[] = [...OPTION_TYPES.map(([key]) => key), ...NSENTER_ONLY];

/**
 * The steps of util-linux style options, in a fixed order.
 *
 * @param options The options.
 * @returns The steps.
 * @throws {TypeError} For an option that `unshare()` does not have.
 */
export function unshareSteps(options: UnshareOptions): Step[] {
  checkKeys(options, UNSHARE_KEYS, "unshare");
  if (options.fork !== undefined && options.fork !== true) {
    throw new TypeError("Cannot use fork: false with unshare(): nsh always runs the program as a new process");
  }
  const list: Step[] = [];
  const types = OPTION_TYPES.filter(([key]) => options[key]).map(([, type]) => type);
  // As util-linux: --mount-proc implies --mount (and nsh's --hostname, --uts),
  // also inside a shell context, whose own namespaces they must not change.
  if (options.mountProc && !types.includes("mnt")) types.push("mnt");
  if ((options.hostname !== undefined || options.domainname !== undefined) && !types.includes("uts")) types.push("uts");
  if (types.length) list.push(steps.namespaces(...types));
  for (const [key, type] of OPTION_TYPES) {
    const file = options[key];
    if (typeof file === "string") list.push(steps.persist(type, file));
  }
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

/** The options of util-linux `nsenter`, in camelCase. */
export interface NsenterOptions {
  /** The process whose namespaces, root and working directory to use (`-t`). */
  target?: number;
  /** Join a mount namespace: the target's, or the one at this path (`-m`). */
  mount?: boolean | string;
  /** Join a UTS namespace: the target's, or the one at this path (`-u`). */
  uts?: boolean | string;
  /** Join an IPC namespace: the target's, or the one at this path (`-i`). */
  ipc?: boolean | string;
  /** Join a network namespace: the target's, or the one at this path (`-n`). */
  net?: boolean | string;
  /**
   * Join the network namespace of the target's socket at this descriptor
   * (`-N`, `--net-socket`), instead of `net` (Linux 5.6+: pidfd_getfd(2) and
   * the SIOCGSKNS ioctl). Needs `target`, and the right to ptrace it.
   */
  netSocket?: number;
  /** Join a PID namespace: the target's, or the one at this path (`-p`). */
  pid?: boolean | string;
  /** Join a user namespace: the target's, or the one at this path (`-U`). */
  user?: boolean | string;
  /** Join a cgroup namespace: the target's, or the one at this path (`-C`). */
  cgroup?: boolean | string;
  /** Join a time namespace: the target's, or the one at this path (`-T`). */
  time?: boolean | string;
  /** Join all namespaces of the target, but its user namespace when it is the caller's (`-a`). */
  all?: boolean;
  /** Keep the caller's uid and gid in a joined user namespace. */
  preserveCredentials?: boolean;
  /** Change the root: to the target's, or to this directory (`-r`). */
  root?: boolean | string;
  /** Change the working directory: to the target's, or to this directory (`-w`). */
  wd?: boolean | string;
  /** uid to take in a joined user namespace (default 0) (`-S`). */
  setuid?: number;
  /** gid to take in a joined user namespace (default 0) (`-G`). */
  setgid?: number;
  /** Keep the capabilities of the joined user namespace across execve. */
  keepCaps?: boolean;
}

/**
 * The steps of util-linux style `nsenter` options.
 *
 * @param options The options.
 * @returns The steps.
 * @throws {TypeError} When a namespace has neither a path nor a target, or
 *   nothing is to be joined.
 */
export function nsenterSteps(options: NsenterOptions): Step[] {
  checkKeys(options, NSENTER_KEYS, "nsenter");
  const list: Step[] = [];
  const target = options.target;
  const fromTarget = (what: string, file: string): string => {
    if (target === undefined) throw new TypeError(`Cannot join ${what}: neither a file nor a target pid is given`);
    return `/proc/${target}/${file}`;
  };
  for (const [key, type] of OPTION_TYPES) {
    let value = options[key];
    if (type === "net" && options.netSocket !== undefined) {
      // As util-linux: the socket's namespace replaces any other network one.
      const fd = options.netSocket;
      if (!Number.isInteger(fd) || fd < 0) {
        throw new RangeError(`Cannot use ${fd} as a socket: not a descriptor number`);
      }
      // A socket is a file of the process, reached as /proc/PID/fd/N (which
      // lib/namespace_files.ts recognises as a socket); --net=/proc/PID/fd/N does the same.
      if (target === undefined) {
        throw new TypeError(
          `Cannot join the network namespace of socket ${fd}: no target pid is given, whose socket it is`,
        );
      }
      list.push(steps.enter("net", `/proc/${target}/fd/${fd}`));
      continue;
    }
    if (value === undefined && options.all) {
      // As util-linux: the user namespace is skipped when it is the caller's,
      // so that a process that dropped capabilities cannot regain them.
      value = type !== "user" || !sameNamespace(fromTarget("all namespaces", "ns/user"), "/proc/self/ns/user");
    }
    if (!value) continue;
    const path = typeof value === "string" ? value : fromTarget(`the ${type} namespace`, `ns/${type}`);
    list.push(steps.enter(type, path));
  }
  if (!list.length) throw new TypeError("Cannot join namespaces: none is given (use --all or a namespace option)");
  if (options.preserveCredentials) list.push(steps.preserveCredentials());
  if (options.setuid !== undefined) list.push(steps.setuid(options.setuid));
  if (options.setgid !== undefined) list.push(steps.setgid(options.setgid));
  if (options.keepCaps) list.push(steps.keepCaps());
  if (options.root) {
    list.push(steps.enterRoot(typeof options.root === "string" ? options.root : fromTarget("its root", "root")));
  }
  if (options.wd) {
    list.push(steps.enterWorkdir(typeof options.wd === "string" ? options.wd : fromTarget("its directory", "cwd")));
  }
  return list;
}

function sameNamespace(a: string, b: string): boolean {
  try {
    return Deno.readLinkSync(a) === Deno.readLinkSync(b);
  } catch {
    return false;
  }
}
