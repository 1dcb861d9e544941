/**
 * The verdict of `audit()`: each known breakout path, open or closed, and why.
 *
 * @module
 */

import { errnoName } from "../../ffi/errno.ts";
import { ids } from "../system.ts";
import type { NamespaceType } from "../namespaces.ts";
import { linkInode } from "./procfs.ts";
import { type OutsideFacts, ownerInode } from "./outside.ts";
import { type ProbeRuns, unitOf } from "./run.ts";
import type { Audit, AuditBreakout } from "./types.ts";

const ERRNO_WHY: Readonly<Record<string, string>> = {
  EACCES: "permission denied",
  EPERM: "not permitted",
  EROFS: "read-only mount",
  ENOENT: "not there",
  ECONNREFUSED: "nothing listens",
};

export function verdicts(
  report: Omit<Audit, "breakouts">,
  facts: OutsideFacts,
  runs: ProbeRuns | undefined,
  escapeTypes: readonly NamespaceType[],
): AuditBreakout[] {
  const list: AuditBreakout[] = [];
  const probed = runs !== undefined && !runs.failure;
  const call = (name: string) => report.syscalls.calls.find((c) => c.name === name);
  const refName = report.reference.kind === "pid1" ? "PID 1" : `nsh (pid ${report.reference.pid})`;
  const hostPid = report.reference.pid;
  const sysAdmin = report.capabilities.effective.includes("CAP_SYS_ADMIN");

  // Joining the host's namespaces through its /proc.
  const joins = escapeTypes.map((type) => ({ type, results: unitOf(runs?.escape, `join:${type}`)?.results }));
  const joined = joins.filter((j) => j.results?.[1] === 0).map((j) => j.type);
  let join: AuditBreakout;
  const joinTitle = "join the host's namespaces through /proc";
  if (report.reference.kind === "none") {
    join = { id: "proc-join", title: joinTitle, open: null, why: "no host process to compare with" };
  } else if (!escapeTypes.length) {
    join = { id: "proc-join", title: joinTitle, open: true, why: `it is in every namespace of ${refName} already` };
  } else if (facts.hostProc === false) {
    join = {
      id: "proc-join",
      title: joinTitle,
      open: false,
      why: facts.proc ? `its /proc is not the host's: ${refName} is not in it` : "it has no /proc",
    };
  } else if (!probed) {
    join = { id: "proc-join", title: joinTitle, open: null, why: "not probed" };
  } else if (joined.length) {
    join = {
      id: "proc-join",
      title: joinTitle,
      open: true,
      why: `setns into ${joined.join(", ")} of /proc/${hostPid}/ns/ succeeded`,
    };
  } else {
    join = { id: "proc-join", title: joinTitle, open: false, why: escapeWhy(joins[0]!, hostPid!) };
  }
  list.push(join);

  // CAP_SYS_ADMIN over the whole machine.
  const capTitle = "CAP_SYS_ADMIN in the initial user namespace";
  list.push({
    id: "cap-sys-admin",
    title: capTitle,
    open: report.user.initial === null ? (sysAdmin ? null : false) : report.user.initial && sysAdmin,
    why: !sysAdmin
      ? "CAP_SYS_ADMIN is not in its effective set"
      : report.user.initial
      ? "it holds CAP_SYS_ADMIN in the initial user namespace"
      : report.user.initial === false
      ? "it holds CAP_SYS_ADMIN only in a user namespace of its own"
      : "it holds CAP_SYS_ADMIN; in which user namespace is unknown",
  });

  // The cgroup v1 release agent (runs as root in the initial namespaces).
  const capInit = report.user.initial === true && sysAdmin;
  const cgroupOwner = ownerInode(report.pid, "cgroup");
  const initialUser = report.user.initial && report.namespaces.find((n) => n.type === "user")!.link;
  const cgroupInit = initialUser ? cgroupOwner === linkInode(initialUser) : false;
  const agents = report.filesystem.releaseAgents.filter((f) => f.path.endsWith("release_agent"));
  const writableAgent = agents.find((f) => f.writable);
  const mount = call("mount");
  let agentWhy: string;
  let agentOpen: boolean | null;
  if (!capInit) {
    agentOpen = false;
    agentWhy = "writing release_agent needs CAP_SYS_ADMIN in the initial user namespace, which it lacks";
  } else if (!cgroupInit) {
    agentOpen = false;
    agentWhy = "its cgroup namespace belongs to a nested user namespace: the kernel refuses release_agent there";
  } else if (writableAgent) {
    agentOpen = true;
    agentWhy = `${writableAgent.path} is writable`;
  } else if (mount?.status === "allowed") {
    agentOpen = true;
    agentWhy = "no writable release_agent is mounted, but it may mount a cgroup v1 hierarchy and write its own";
  } else if (!probed) {
    agentOpen = null;
    agentWhy = "not probed";
  } else {
    agentOpen = false;
    agentWhy = agents.length
      ? `${agents.map((a) => `${a.path}: ${a.errno ?? "?"}`).join(", ")}`
      : "no cgroup v1 hierarchy root is visible, and it may not mount one";
  }
  list.push({ id: "release-agent", title: "a writable cgroup v1 release_agent", open: agentOpen, why: agentWhy });

  // Container runtime sockets.
  const sockets = report.filesystem.sockets;
  const reachable = sockets.filter((s) => s.connects);
  list.push({
    id: "runtime-socket",
    title: "a container runtime socket",
    open: reachable.length ? true : sockets.length && !probed ? null : false,
    why: reachable.length
      ? `${reachable.map((s) => s.path).join(", ")} accepts its connections`
      : sockets.length
      ? sockets.map((s) => `${s.path}: ${s.errno ? (ERRNO_WHY[s.errno] ?? s.errno) : "not probed"}`).join(", ")
      : "none of the known sockets is in its filesystem",
  });

  // /proc/sys writable (core_pattern runs a program as root on a crash).
  const sysctl = report.filesystem.writable.find((f) => f.path === "/proc/sys/kernel/core_pattern");
  list.push({
    id: "proc-sys",
    title: "/proc/sys writable",
    open: sysctl ? sysctl.writable : facts.proc === false ? false : null,
    why: !sysctl
      ? facts.proc === false ? "it has no /proc" : "core_pattern was not found"
      : sysctl.writable
      ? "it may write /proc/sys/kernel/core_pattern, which the kernel runs as root on a crash"
      : `/proc/sys/kernel/core_pattern: ${sysctl.errno === "EROFS" ? "read-only mount" : sysctl.errno ?? "not probed"}`,
  });

  // ptrace of host processes.
  const pidShared = report.namespaces.find((n) => n.type === "pid")!.shared;
  const ptrace = call("ptrace"), access = call("process_vm_readv");
  let ptraceOpen: boolean | null;
  let ptraceWhy: string;
  if (pidShared === false) {
    ptraceOpen = false;
    ptraceWhy = `it has a PID namespace of its own: it cannot name the host's processes`;
  } else if (!probed) {
    ptraceOpen = null;
    ptraceWhy = pidShared ? "it shares the host's PID namespace; not probed" : "not probed";
  } else if (ptrace?.status === "seccomp") {
    ptraceOpen = false;
    ptraceWhy = "seccomp denies ptrace";
  } else if (access?.status === "allowed") {
    ptraceOpen = pidShared === null ? null : true;
    ptraceWhy = pidShared
      ? `it shares the host's PID namespace and may attach to nsh (pid ${Deno.pid}, uid ${ids().euid})`
      : `it may attach to nsh (pid ${Deno.pid}); whether it can name the host's processes is unknown`;
  } else if (access?.status === "seccomp") {
    ptraceOpen = null;
    ptraceWhy = "seccomp denies process_vm_readv, which tells whether it may attach";
  } else {
    ptraceOpen = false;
    ptraceWhy = `it may not attach to nsh (pid ${Deno.pid}): ${
      access?.errno ?? "?"
    } (uid, capabilities or dumpability)`;
  }
  list.push({ id: "ptrace", title: "ptrace of host processes", open: ptraceOpen, why: ptraceWhy });

  // The seed's breakout.
  const netTitle = `the seed's nsenter --net=/proc/${hostPid ?? "PID"}/ns/net`;
  const net = joins.find((j) => j.type === "net");
  let seed: AuditBreakout;
  if (report.reference.kind === "none") {
    seed = { id: "seed-netns", title: netTitle, open: null, why: "no host process" };
  } else if (report.namespaces.find((n) => n.type === "net")!.shared) {
    seed = { id: "seed-netns", title: netTitle, open: true, why: "it is on the host's network already" };
  } else if (facts.hostProc === false) {
    seed = {
      id: "seed-netns",
      title: netTitle,
      open: false,
      why: facts.proc ? `its /proc does not show ${refName}` : "it has no /proc",
    };
  } else if (!probed || !net?.results) seed = { id: "seed-netns", title: netTitle, open: null, why: "not probed" };
  else if (net.results[1] === 0) {
    seed = { id: "seed-netns", title: netTitle, open: true, why: "setns into the host's network namespace succeeded" };
  } else seed = { id: "seed-netns", title: netTitle, open: false, why: escapeWhy(net, hostPid!) };
  list.push(seed);
  return list;
}

/** Why a join of a host namespace failed, from its open and setns results. */
function escapeWhy(
  join: { type: string; results: readonly (number | undefined)[] | undefined },
  hostPid: number,
): string {
  const [opened, joined] = join.results ?? [];
  const path = `/proc/${hostPid}/ns/${join.type}`;
  if (opened === undefined) return `opening ${path}: killed by seccomp`;
  if (opened < 0) {
    const e = errnoName(-opened);
    return `opening ${path} failed with ${e}${e === "EACCES" ? " (it may not inspect that process)" : ""}`;
  }
  if (joined === undefined) return "setns: killed by seccomp";
  return `setns(${path}) failed with ${errnoName(-joined)}${
    joined === -1 ? " (no CAP_SYS_ADMIN over that namespace)" : ""
  }`;
}
