/**
 * The eight kinds of Linux namespaces, described by one table.
 *
 * @module
 */

import {
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
} from "../ffi/constants.ts";

/** A kind of namespace, named as in `/proc/PID/ns/`. */
export type NamespaceType = "cgroup" | "ipc" | "mnt" | "net" | "pid" | "time" | "user" | "uts";

/** What nsh knows about one kind of namespace. */
export interface NamespaceInfo {
  /** The name in `/proc/PID/ns/`, such as `"mnt"`. */
  readonly type: NamespaceType;
  /** The `CLONE_NEW*` flag. */
  readonly flag: number;
  /** The long option of util-linux `unshare`, such as `"mount"`. */
  readonly option: string;
  /** The short option of util-linux `unshare`, such as `"m"`. */
  readonly short: string;
  /** What it isolates. */
  readonly isolates: string;
}

/**
 * All eight kinds, in the order `unshare --help` lists them.
 *
 * @example The kinds a Linux kernel has, with their util-linux options
 * ```ts
 * import assert from "node:assert/strict";
 * import { NAMESPACES } from "@nsh/nsh";
 *
 * assert.deepEqual(NAMESPACES.map((info) => info.type), ["mnt", "uts", "ipc", "net", "pid", "user", "cgroup", "time"]);
 * assert.deepEqual(NAMESPACES.filter((info) => info.type !== info.option).map((info) => info.option), ["mount"]);
 * ```
 */
export const NAMESPACES: readonly NamespaceInfo[] = [
  { type: "mnt", flag: CLONE_NEWNS, option: "mount", short: "m", isolates: "mount points" },
  { type: "uts", flag: CLONE_NEWUTS, option: "uts", short: "u", isolates: "hostname and NIS domain name" },
  { type: "ipc", flag: CLONE_NEWIPC, option: "ipc", short: "i", isolates: "System V IPC and POSIX message queues" },
  {
    type: "net",
    flag: CLONE_NEWNET,
    option: "net",
    short: "n",
    isolates: "network devices, addresses, ports and routes",
  },
  { type: "pid", flag: CLONE_NEWPID, option: "pid", short: "p", isolates: "process IDs" },
  { type: "user", flag: CLONE_NEWUSER, option: "user", short: "U", isolates: "user and group IDs and capabilities" },
  { type: "cgroup", flag: CLONE_NEWCGROUP, option: "cgroup", short: "C", isolates: "the cgroup root directory" },
  { type: "time", flag: CLONE_NEWTIME, option: "time", short: "T", isolates: "the boot-time and monotonic clocks" },
];

const BY_NAME = new Map<string, NamespaceInfo>();
for (const info of NAMESPACES) {
  BY_NAME.set(info.type, info);
  BY_NAME.set(info.option, info);
}

/**
 * The description of a namespace kind, by its `/proc` name (`"mnt"`) or its
 * util-linux option name (`"mount"`).
 *
 * @example One kind, by either of its names
 * ```ts
 * import assert from "node:assert/strict";
 * import { namespaceInfo } from "@nsh/nsh";
 *
 * assert.equal(namespaceInfo("mount"), namespaceInfo("mnt"));
 * assert.equal(namespaceInfo("net")!.flag, 0x40000000); // CLONE_NEWNET
 * assert.equal(namespaceInfo("network"), undefined);
 * ```
 *
 * @param name The name.
 * @returns The description, or `undefined` for an unknown name.
 */
export function namespaceInfo(name: string): NamespaceInfo | undefined {
  return BY_NAME.get(name);
}

/**
 * The `CLONE_NEW*` flags of a set of namespace kinds.
 *
 * @param types The kinds.
 * @returns The flags, or-ed.
 */
export function cloneFlags(types: Iterable<NamespaceType>): number {
  let flags = 0;
  for (const type of types) flags |= BY_NAME.get(type)!.flag;
  return flags;
}

/**
 * Orders namespace kinds as {@linkcode NAMESPACES} lists them.
 *
 * @param types The kinds.
 * @returns A new sorted array without duplicates.
 */
export function sortNamespaces(types: Iterable<NamespaceType>): NamespaceType[] {
  const set = new Set(types);
  return NAMESPACES.filter((info) => set.has(info.type)).map((info) => info.type);
}
