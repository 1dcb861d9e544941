/**
 * Hints for failed steps: what the user can do, decided from the errno, the
 * step and what the machine allows. Read only when something failed.
 *
 * @module
 */

import { readSmallFile } from "./system.ts";
import { fileMode } from "../ffi/libc.ts";
import type { NamespaceType } from "./namespaces.ts";
import type { OpInfo, StepKind } from "./steps/_kind.ts";
import type { Step } from "./steps.ts";
import { KINDS } from "./steps/_registry.ts";
import { mountHint } from "./steps/mounts.ts";
import { NEEDS_ROOT } from "./steps/_hints.ts";
import {
  EACCES,
  EAGAIN,
  EBADF,
  EINVAL,
  ENOENT,
  ENOEXEC,
  ENOMEM,
  ENOSPC,
  EPERM,
  ERANGE,
  EUSERS,
} from "../ffi/constants.ts";

/** Why the kernel refuses user namespaces to this user, if a setting says so. */
export function userNamespaceRestriction(): string | undefined {
  if (readSmallFile("/proc/sys/user/max_user_namespaces") === "0") {
    return "user namespaces are disabled: the sysctl user.max_user_namespaces is 0";
  }
  if (readSmallFile("/proc/sys/kernel/unprivileged_userns_clone") === "0") {
    return "unprivileged user namespaces are disabled: the sysctl kernel.unprivileged_userns_clone is 0";
  }
  if (readSmallFile("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") === "1") {
    return "AppArmor restricts unprivileged user namespaces: the sysctl kernel.apparmor_restrict_unprivileged_userns is 1";
  }
  return undefined;
}

/**
 * A hint for a failed clone(2) that was to create `types`.
 *
 * @param errno The errno of clone.
 * @param types The namespaces asked for.
 * @param euid The caller's effective uid.
 * @returns The hint, if one applies.
 */
export function cloneHint(errno: number, types: readonly NamespaceType[], euid: number): string | undefined {
  const missing = types.filter((t) => !nsExists(t));
  if (errno === EINVAL && missing.length) return `this kernel has no ${missing.join(", ")} namespaces`;
  if (errno === EPERM) {
    if (types.includes("user")) {
      const restriction = euid === 0 ? undefined : userNamespaceRestriction();
      if (restriction) return restriction;
      return "a process cannot create a user namespace inside a chroot, or when seccomp or a security module forbids it";
    }
    if (euid !== 0) return `creating namespaces needs root, or a new user namespace too (--user --map-root-user)`;
  }
  if (errno === ENOSPC) {
    for (const t of ["user", ...types]) {
      const limit = readSmallFile(`/proc/sys/user/max_${t === "mnt" ? "mnt" : t}_namespaces`);
      if (limit === "0") return `${t} namespaces are disabled: the sysctl user.max_${t}_namespaces is 0`;
    }
    return "a limit in /proc/sys/user/max_*_namespaces is reached";
  }
  if (errno === EUSERS) return "user namespaces nest at most 32 deep";
  if (errno === EAGAIN) return PROCESS_LIMIT;
  return undefined;
}

/** Why fork or clone says EAGAIN: a limit on processes. */
const PROCESS_LIMIT = "the box's process limit (pids.max) is reached, or the user's (ulimit -u)";

function nsExists(type: NamespaceType): boolean {
  try {
    Deno.readLinkSync(`/proc/self/ns/${type}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * A hint for a failed step of a child.
 *
 * @param info The step.
 * @param errno Its errno.
 * @param rootless Whether the caller is not root.
 * @returns The hint, if one applies.
 */
export function opHint(info: OpInfo, errno: number, rootless: boolean): string | undefined {
  // A call of a kind of step that has hints of its own: the kind knows.
  const kind = (KINDS as Record<string, StepKind<Step> | undefined>)[info.role];
  if (kind?.hint) return kind.hint(info, errno, rootless);
  switch (info.role) {
    case "exec":
      if (errno === ENOENT) {
        if (info.path === "") return "the program name is empty";
        if (!info.path?.includes("/")) return "no such program in PATH";
        // execve says ENOENT also when the file is there but its #! interpreter is not.
        return fileMode(info.path) >= 0 ? "the file exists: its #! interpreter (or ELF loader) does not" : undefined;
      }
      if (errno === EACCES) return "the file is not executable, or a directory on its path is not searchable";
      if (errno === ENOEXEC) return "the file is not a program this kernel can run and has no #! line";
      return undefined;
    case "script":
      if (errno === ENOENT) return "a file without a #! line is run by /bin/sh, and there is none";
      return undefined;
    case "enter":
      if (errno === EPERM) {
        return "joining a namespace needs privilege over it: root, or its user namespace (join that too, with -U)";
      }
      if (errno === EINVAL) {
        // setns refuses the user namespace a process is in, and a PID
        // namespace that is not a descendant of its own.
        const user = info.types?.includes("user"), pid = info.types?.includes("pid");
        const why = [
          ...(user ? ["a process cannot join the user namespace it is already in (leave out -U)"] : []),
          ...(pid ? ["a PID namespace can only be joined from one of its ancestors"] : []),
        ];
        return why.length ? why.join("; or ") : undefined;
      }
      return undefined;
    case "fds":
      if (errno === EBADF) return "that descriptor is not open in this process";
      return undefined;
    case "idmap":
      if (errno === EPERM) {
        return "an unprivileged process may map only its own id; ranges need root or newuidmap with /etc/subuid (--map-users)";
      }
      return undefined;
    case "time":
      if (errno === EPERM || errno === EACCES) {
        return "setting clock offsets needs CAP_SYS_TIME (root, or --user --map-root-user)";
      }
      if (errno === EINVAL) return "the offset is out of range";
      if (errno === ERANGE) return "the offset would take the clock below zero (it counts from boot)";
      return undefined;
    case "fork":
      if (errno === ENOMEM) return "the PID namespace it joins has no process 1 any more (its init ended)";
      if (errno === EAGAIN) return PROCESS_LIMIT;
      return undefined;
    case "propagation":
      return mountHint(info, errno, rootless);
    case "root":
      if (errno === EPERM) return NEEDS_ROOT;
      return undefined;
    case "ids":
      if (errno === EINVAL) return "the id is not mapped in the user namespace";
      if (errno === EPERM) return "changing ids needs CAP_SETUID/CAP_SETGID in the namespace";
      return undefined;
    default:
      return undefined;
  }
}
