/**
 * What `audit()` reads of a process from outside, before any probe: its
 * root, mounts, /proc and /sys, the runtime sockets and cgroup v1 release
 * agents in its filesystem (resolved in its root), its label and command.
 *
 * @module
 */

import { cstring, libc, statAt } from "../../ffi/libc.ts";
import {
  AT_EMPTY_PATH,
  ENOENT,
  NS_GET_USERNS,
  O_CLOEXEC,
  O_PATH,
  O_RDONLY,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
} from "../../ffi/constants.ts";
import type { NamespaceType } from "../namespaces.ts";
import { type MountEntry, mountOf, openRoot, readInRoot, readMounts, readProcFile, typeInRoot } from "./procfs.ts";

/**
 * Paths where container runtimes put their API sockets.
 *
 * @example Where audit() looks for a socket that would let a box start containers
 * ```ts
 * import assert from "node:assert/strict";
 * import { RUNTIME_SOCKETS } from "@nsh/nsh";
 *
 * assert.ok(RUNTIME_SOCKETS.includes("/run/docker.sock"));
 * assert.ok(RUNTIME_SOCKETS.includes("/run/containerd/containerd.sock"));
 * ```
 */
export const RUNTIME_SOCKETS: readonly string[] = [
  "/var/run/docker.sock",
  "/run/docker.sock",
  "/run/containerd/containerd.sock",
  "/var/run/containerd/containerd.sock",
  "/run/crio/crio.sock",
  "/var/run/crio/crio.sock",
  "/run/podman/podman.sock",
  "/var/run/podman/podman.sock",
  "/run/buildkit/buildkitd.sock",
  "/run/k3s/containerd/containerd.sock",
  "/var/run/dockershim.sock",
  "/run/dockershim.sock",
  "/var/run/cri-dockerd.sock",
  "/run/cri-dockerd.sock",
  "/run/runc.sock",
];

/** Files whose write access is a way out: the kernel runs what they name as root, or reboots. */
const BREAKOUT_FILES = [
  "/proc/sys/kernel/core_pattern",
  "/proc/sys/kernel/modprobe",
  "/proc/sysrq-trigger",
  "/sys/kernel/uevent_helper",
  "/sys/power/state",
];

/** The inode of the user namespace that owns a process's namespace of a type. */
export function ownerInode(pid: number, type: NamespaceType): number | null {
  const fd = libc().open(cstring(`/proc/${pid}/ns/${type}`), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return null;
  try {
    const owner = libc().ioctl(fd, BigInt(NS_GET_USERNS), null);
    if (owner < 0) return null;
    const info = statAt(owner, "", AT_EMPTY_PATH);
    libc().close(owner);
    return typeof info === "number" ? null : info.ino;
  } finally {
    libc().close(fd);
  }
}

/** The security module's label of a process, such as an AppArmor profile. */
export function readLabel(pid: number): string | null {
  for (const file of ["attr/apparmor/current", "attr/current"]) {
    try {
      const text = Deno.readTextFileSync(`/proc/${pid}/${file}`).replace(/\0/g, "").trim();
      if (text) return text;
    } catch {
      // EINVAL: no module gives labels there.
    }
  }
  return null;
}

/** The command line of a process, as ps shows it. */
export function commandOf(pid: number): string {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replace(/\0+$/, "").replaceAll("\0", " ");
    return text || `[${readProcFile(pid, "comm").trim()}]`;
  } catch {
    return "";
  }
}

/** What is read of the process's files from outside, before any probe. */
export interface OutsideFacts {
  /** Whether its root is the reference's. */
  readonly hostRoot: boolean | null;
  /** Whether its root is nsh's: then the probing child needs no chroot. */
  readonly sameRoot: boolean;
  readonly mounts: readonly MountEntry[] | null;
  readonly proc: boolean | null;
  readonly hostProc: boolean | null;
  readonly sys: boolean | null;
  /** Paths worth a write check. */
  readonly writeChecks: readonly string[];
  /** release_agent and notify_on_release files at the root of a cgroup v1 hierarchy in its view. */
  readonly releaseFiles: readonly string[];
  /** Runtime sockets in its view. */
  readonly sockets: readonly string[];
}

function rootIdentity(fd: number): string | null {
  const info = statAt(fd, "", AT_EMPTY_PATH);
  return typeof info === "number" ? null : `${info.dev}:${info.ino}`;
}

/** The start time and name of a process, from a stat file's text. */
function startOf(stat: string | undefined): string | undefined {
  if (!stat) return undefined;
  const close = stat.lastIndexOf(")");
  return `${stat.slice(0, close + 1)} ${stat.slice(close + 2).split(" ")[19]}`;
}

export function outsideFacts(pid: number, rootFd: number, refPid: number | null): OutsideFacts {
  const root = rootFd >= 0 ? rootIdentity(rootFd) : null;
  const nshRoot = rootIdentity(openSelfRoot());
  let refRoot: string | null = null;
  if (refPid !== null) {
    const fd = openRoot(refPid);
    if (fd >= 0) {
      refRoot = rootIdentity(fd);
      libc().close(fd);
    }
  }
  let mounts: MountEntry[] | null = null;
  try {
    mounts = readMounts(pid);
  } catch {
    // Not readable: the mount facts are unknown.
  }
  const proc = mounts ? mountOf(mounts, "/proc")?.fstype === "proc" : null;
  const sys = mounts ? mountOf(mounts, "/sys")?.fstype === "sysfs" : null;
  let hostProc: boolean | null = null;
  if (refPid !== null && rootFd >= 0) {
    const theirs = startOf(readInRoot(rootFd, `/proc/${refPid}/stat`));
    let ours: string | undefined;
    try {
      ours = startOf(Deno.readTextFileSync(`/proc/${refPid}/stat`));
    } catch {
      // The reference ended.
    }
    hostProc = proc === false ? false : theirs !== undefined && theirs === ours;
  }
  const releaseFiles: string[] = [];
  for (const m of mounts ?? []) {
    if (m.fstype !== "cgroup" || m.root !== "/") continue;
    for (const name of ["release_agent", "notify_on_release"]) {
      const path = `${m.mountPoint === "/" ? "" : m.mountPoint}/${name}`;
      if (rootFd >= 0 && (typeInRoot(rootFd, path) & S_IFMT) === S_IFREG) releaseFiles.push(path);
    }
  }
  const sockets = rootFd < 0 ? [] : RUNTIME_SOCKETS.filter((path) => typeInRoot(rootFd, path) === S_IFSOCK);
  // Two names of one socket (/var/run is often a link to /run) are one.
  const unique = [...new Map(sockets.map((s) => [s.replace(/^\/var\/run\//, "/run/"), s])).values()];
  return {
    hostRoot: root && refRoot ? root === refRoot : null,
    sameRoot: root !== null && root === nshRoot,
    mounts,
    proc,
    hostProc,
    sys,
    writeChecks: BREAKOUT_FILES.filter((path) =>
      rootFd >= 0 && (path.startsWith("/proc") ? proc : sys) && typeInRoot(rootFd, path) !== -ENOENT
    ),
    releaseFiles,
    sockets: unique,
  };
}

let selfRoot: number | undefined;

/** nsh's own root directory, opened once. */
function openSelfRoot(): number {
  selfRoot ??= libc().open(cstring("/"), O_PATH | O_CLOEXEC, 0);
  return selfRoot;
}
