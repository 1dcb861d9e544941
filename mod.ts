/**
 * nsh: Linux namespaces from TypeScript. Start programs in new namespaces
 * (cgroup, ipc, net, mnt, pid, time, user, uts), as root or rootless, set up
 * between clone(2) and execve(2) without ever moving the Deno process itself.
 *
 * @example A rootless box with its own PID namespace, proc and hostname
 * ```ts
 * import assert from "node:assert/strict";
 * import { unshare } from "@nsh/nsh";
 *
 * const box = unshare({ user: true, mapRootUser: true, pid: true, mountProc: true })
 *   .hostname("box");
 * assert.equal(await box.run("hostname").text(), "box");
 * const pids = await box.run("ps", "-e", "-o", "pid=").lines();
 * assert.deepEqual(pids.map((pid) => pid.trim()), ["1"]); // ps alone
 * ```
 *
 * @module
 */

export { nsenter, Sandbox, sandbox, unshare } from "./lib/sandbox.ts";
export { Context, type ContextOrigin, type HoldOptions, namedContexts, releaseContext } from "./lib/context.ts";
export type { NamedContext } from "./lib/names.ts";
export type { NsenterOptions, UnshareOptions } from "./lib/util_linux_options.ts";
export {
  Command,
  CommandChild,
  CommandError,
  type CommandErrorOptions,
  type CommandResult,
  type FdTarget,
  type FileTarget,
  Pipeline,
  PipelineChild,
  type PipelineResult,
  type StderrTarget,
  type StdinInput,
  type StdoutTarget,
} from "./lib/command.ts";
export { Child, type ExitStatus } from "./lib/child.ts";
export type { StdioMode } from "./lib/engine.ts";
export { releaseNamespace } from "./lib/binding.ts";
export type { ContextOptions } from "./lib/place.ts";
export * from "./lib/steps.ts";
export type { Plan } from "./lib/plan.ts";
export type { BoxPlace, Limits, Usage } from "./lib/cgroup.ts";
export { type NamespaceInfo, namespaceInfo, NAMESPACES, type NamespaceType } from "./lib/namespaces.ts";
export {
  listNamespaces,
  type ListNamespacesOptions,
  type NamespaceEntry,
  type NamespaceLink,
  type NamespaceLinkName,
  netnsId,
  type ProcessInfo,
  processInfo,
  type ProcessNamespaces,
  processNamespaces,
  type UnreadableNamespaceLink,
} from "./lib/lsns.ts";
export {
  addNetns,
  attachNetns,
  checkNetnsName,
  deleteNetns,
  identifyNetns,
  listNetns,
  NETNS_ETC_DIR,
  NETNS_RUN_DIR,
  netnsExec,
  netnsIds,
  netnsPath,
  netnsPids,
  setNetnsId,
} from "./lib/netns.ts";
export {
  type FsRight,
  LANDLOCK_ABI_KNOWN,
  landlockAbi,
  type LandlockCompat,
  type LandlockLog,
  type LandlockPolicy,
  landlockReport,
  type LandlockRule,
  type LandlockRuleset,
  type LandlockScope,
  type LandlockSupport,
  landlockSupport,
  type NetRight,
  type PathAccess,
  type PortAccess,
  type ResolvedPathRule,
  type ResolvedPortRule,
  resolveLandlock,
  type ResolveLandlockOptions,
} from "./lib/landlock.ts";
export { type FileView, OpenFile, type OpenMode } from "./lib/files.ts";
export { escapePattern, glob, matches, patternRegExp } from "./lib/patterns.ts";
export { SyscallError, type SyscallErrorOptions } from "./ffi/error.ts";
export { errnoName, errnoText } from "./ffi/errno.ts";
export { signalName, signalNumber } from "./ffi/signals.ts";
export { isolate, ISOLATE_SECCOMP, type IsolateOptions } from "./lib/isolate.ts";
export {
  type BpfInstruction,
  compileSeccomp,
  type CompileSeccompOptions,
  readSeccompProfile,
  type SeccompAction,
  type SeccompArgCondition,
  type SeccompFilter,
  type SeccompOperator,
  type SeccompPolicy,
  type SeccompProfileOptions,
  seccompProfilePolicy,
  type SeccompRule,
  seccompVerdict,
  type SeccompVerdictOptions,
  SYSCALL_GROUPS,
  type SyscallAbi,
  type SyscallGroup,
} from "./lib/seccomp/mod.ts";
export {
  type Audit,
  audit,
  type AuditBreakout,
  type AuditCapabilities,
  type AuditCgroup,
  type AuditCgroups,
  type AuditCredentials,
  type AuditFilesystem,
  type AuditLandlock,
  type AuditLimit,
  type AuditNamespace,
  type AuditOptions,
  type AuditReference,
  type AuditSeccomp,
  type AuditSocket,
  type AuditSyscall,
  type AuditSyscalls,
  type AuditUserNamespace,
  type AuditWritable,
  type ProbeStatus,
  RUNTIME_SOCKETS,
} from "./lib/audit.ts";
