/**
 * Setup steps as values. A sandbox is an ordered list of steps; each function
 * here makes one. Steps combine by concatenation: later steps of a kind that
 * takes one value win, as later options do for util-linux `unshare`.
 *
 * Each kind of step is defined beside the function that makes it, in
 * lib/steps/ (what it checks, what it implies, what the child does for it,
 * how `nsh export` writes it); this module is their public face.
 *
 * @module
 */

import type { AnyStep } from "./steps/_registry.ts";

export {
  namespaces,
  type NamespacesStep,
  persist,
  type PersistStep,
  type TimeClock,
  timeOffset,
  type TimeOffsetStep,
} from "./steps/new.ts";
export {
  enter,
  enterRoot,
  type EnterRootStep,
  type EnterStep,
  type EnterWdStep,
  enterWorkdir,
  preserveCredentials,
  type PreserveCredentialsStep,
} from "./steps/enter.ts";
export {
  type IdRange,
  mapCurrentUser,
  type MapCurrentUserStep,
  mapGroup,
  mapGroups,
  type MapGroupsStep,
  type MapGroupStep,
  mapRootUser,
  type MapRootUserStep,
  mapUser,
  mapUsers,
  type MapUsersStep,
  type MapUserStep,
  setgid,
  type SetgidStep,
  setgroups,
  type SetgroupsStep,
  setuid,
  type SetuidStep,
} from "./steps/users.ts";
export { domainname, type DomainnameStep, hostname, type HostnameStep } from "./steps/uts.ts";
export {
  bindMount,
  bindNamespace,
  type BindNamespaceStep,
  type BindOptions,
  type BindStep,
  mount,
  type MountOptions,
  mountProc,
  type MountProcStep,
  type MountStep,
  type Propagation,
  propagation,
  type PropagationStep,
  tmpfs,
  type TmpfsStep,
  umount,
  type UmountOptions,
  type UmountStep,
} from "./steps/mounts.ts";
export {
  ignoreSignals,
  type IgnoreSignalsStep,
  killChild,
  type KillChildStep,
  newSession,
  type NewSessionStep,
  programWorkdir,
  type ProgramWorkdirStep,
  resourceLimit,
  type ResourceLimitStep,
  type ResourceName,
  root,
  type RootStep,
  waitForDescriptor,
  type WaitForDescriptorStep,
  type WdStep,
  workdir,
} from "./steps/process.ts";
export { loopback, type LoopbackStep } from "./steps/net.ts";
export {
  assertNoUserNamespaces,
  type AssertNoUserNamespacesStep,
  joinUserNamespace,
  type JoinUserNamespaceStep,
  nestedUser,
  type NestedUserOptions,
  type NestedUserStep,
} from "./steps/userns.ts";
export {
  addCapabilities,
  type CapabilitiesStep,
  capabilityNumber,
  dropCapabilities,
  keepCapabilities,
  keepCaps,
  type KeepCapsStep,
  noNewPrivs,
  type NoNewPrivsStep,
} from "./steps/caps.ts";

export { enterCgroup, type EnterCgroupStep, limits, type LimitsOptions, type LimitsStep } from "./steps/limits.ts";

/**
 * One setup step, of any kind: a value that a function of this module made.
 * Its `kind` names it; the other fields are the function's arguments.
 */
export type Step = AnyStep;
export {
  rootBind,
  type RootBindOptions,
  type RootBindStep,
  rootChmod,
  type RootChmodStep,
  rootDev,
  type RootDevStep,
  rootDir,
  type RootDirStep,
  rootFile,
  type RootFileOptions,
  type RootFileStep,
  rootMqueue,
  type RootMqueueStep,
  rootOverlay,
  type RootOverlayOptions,
  type RootOverlayStep,
  rootProc,
  type RootProcStep,
  rootRemountReadonly,
  type RootRemountReadonlyStep,
  rootSymlink,
  type RootSymlinkStep,
  rootTmpfs,
  type RootTmpfsOptions,
  type RootTmpfsStep,
} from "./steps/newroot.ts";
export {
  seccomp,
  seccompBpf,
  seccompProfile,
  type SeccompProfileStepOptions,
  type SeccompSource,
  type SeccompStep,
  type SeccompStepOptions,
} from "./steps/seccomp.ts";
export { landlock, type LandlockOptions, type LandlockStep } from "./steps/landlock.ts";
