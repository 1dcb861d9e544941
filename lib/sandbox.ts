/**
 * Sandboxes: immutable lists of setup steps that run programs.
 *
 * @module
 */

import { Command } from "./command.ts";
import type { NamespaceType } from "./namespaces.ts";
import { type Plan, planHere } from "./plan.ts";
import * as steps from "./steps.ts";
import { type NsenterOptions, nsenterSteps, type UnshareOptions, unshareSteps } from "./util_linux_options.ts";
import type { BindOptions, IdRange, MountOptions, Propagation, Step, TimeClock } from "./steps.ts";
import type { Context, HoldOptions } from "./context.ts";
import type { SeccompPolicy } from "./seccomp/policy.ts";
import type { LandlockPolicy } from "./landlock.ts";

/**
 * An immutable list of setup steps. Each method returns a new sandbox with one
 * more step; {@linkcode Sandbox.run} makes a command that runs a program in a
 * fresh child set up by all of them.
 *
 * @example Each step makes a new sandbox; the one it came from is unchanged
 * ```ts
 * import assert from "node:assert/strict";
 * import { Sandbox } from "@nsh/nsh";
 *
 * const rootless = new Sandbox().mapRootUser();
 * const named = rootless.hostname("box");
 * assert.equal(await named.run("hostname").text(), "box");
 * assert.equal(await rootless.run("hostname").text(), Deno.hostname());
 * assert.deepEqual(named.steps, [{ kind: "map-root-user" }, { kind: "hostname", name: "box" }]);
 * ```
 */
export class Sandbox {
  /** The steps, in order. */
  readonly steps: readonly Step[];
  /** Checks that its steps can still be used, run before each use (a context's: that it is open). */
  readonly #guards: readonly (() => void)[];

  /**
   * Creates a sandbox from steps; `sandbox()` and `unshare()` are shorter.
   *
   * @param list The steps; none when left out.
   * @param guards Checks to run before each use of the steps; each throws
   *   when they can no longer be used (`Context.sandbox()` passes one); none when left out.
   */
  constructor(list: readonly Step[] = [], guards: readonly (() => void)[] = []) {
    this.steps = Object.freeze([...list]);
    this.#guards = guards;
  }

  /**
   * Adds steps, or the steps of other sandboxes.
   *
   * @param more Steps or sandboxes.
   * @returns A new sandbox.
   */
  with(...more: (Step | Sandbox)[]): Sandbox {
    const others = more.filter((s) => s instanceof Sandbox);
    return new Sandbox(
      [...this.steps, ...more.flatMap((s) => s instanceof Sandbox ? s.steps : [s])],
      [...this.#guards, ...others.flatMap((s) => s.#guards)],
    );
  }

  /**
   * Runs the sandbox's checks: a sandbox of a context that was closed since
   * must not be used, as the descriptors its steps name may be another's now.
   *
   * @throws {Error} When a check fails.
   */
  check(): void {
    for (const guard of this.#guards) guard();
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

  /**
   * Mounts proc for the new PID namespace; see {@linkcode steps.mountProc}.
   *
   * @param target Where; `/proc` when left out.
   * @returns The sandbox with the step.
   */
  mountProc(target = "/proc"): Sandbox {
    return this.with(steps.mountProc(target));
  }

  /** Bind-mounts a path; see {@linkcode steps.bindMount}. */
  bindMount(source: string, target: string, options: BindOptions = {}): Sandbox {
    return this.with(steps.bindMount(source, target, options));
  }

  /** Mounts a tmpfs (mount options `""` when left out); see {@linkcode steps.tmpfs}. */
  tmpfs(target: string, options = ""): Sandbox {
    return this.with(steps.tmpfs(target, options));
  }

  /** Detaches a mount; see {@linkcode steps.umount}. */
  umount(target: string, options: steps.UmountOptions = {}): Sandbox {
    return this.with(steps.umount(target, options));
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

  /** Drops capabilities; see {@linkcode steps.dropCapabilities}. */
  dropCapabilities(...names: string[]): Sandbox {
    return this.with(steps.dropCapabilities(...names));
  }

  /** Keeps only the named capabilities; see {@linkcode steps.keepCapabilities}. */
  keepCapabilities(...names: string[]): Sandbox {
    return this.with(steps.keepCapabilities(...names));
  }

  /** Adds capabilities back after a drop; see {@linkcode steps.addCapabilities}. */
  addCapabilities(...names: string[]): Sandbox {
    return this.with(steps.addCapabilities(...names));
  }

  /** Sets no_new_privs; see {@linkcode steps.noNewPrivs}. */
  noNewPrivs(): Sandbox {
    return this.with(steps.noNewPrivs());
  }

  /** Starts the program in a new session; see {@linkcode steps.newSession}. */
  newSession(): Sandbox {
    return this.with(steps.newSession());
  }

  /** Binds a path into a new root (at the same path when `dest` is left out); see {@linkcode steps.rootBind}. */
  rootBind(source: string, dest: string = source, options: steps.RootBindOptions = {}): Sandbox {
    return this.with(steps.rootBind(source, dest, options));
  }

  /** Mounts a tmpfs in a new root; see {@linkcode steps.rootTmpfs}. */
  rootTmpfs(dest: string, options: steps.RootTmpfsOptions = {}): Sandbox {
    return this.with(steps.rootTmpfs(dest, options));
  }

  /** Makes a minimal /dev in a new root (at `/dev` when left out); see {@linkcode steps.rootDev}. */
  rootDev(dest = "/dev"): Sandbox {
    return this.with(steps.rootDev(dest));
  }

  /** Mounts proc in a new root (at `/proc` when left out); see {@linkcode steps.rootProc}. */
  rootProc(dest = "/proc"): Sandbox {
    return this.with(steps.rootProc(dest));
  }

  /** Mounts a message queue filesystem in a new root (at `/dev/mqueue` when left out); see {@linkcode steps.rootMqueue}. */
  rootMqueue(dest = "/dev/mqueue"): Sandbox {
    return this.with(steps.rootMqueue(dest));
  }

  /** Makes a directory in a new root (mode 0755 when left out); see {@linkcode steps.rootDir}. */
  rootDir(dest: string, mode = 0o755): Sandbox {
    return this.with(steps.rootDir(dest, mode));
  }

  /** Makes a symbolic link in a new root; see {@linkcode steps.rootSymlink}. */
  rootSymlink(target: string, dest: string): Sandbox {
    return this.with(steps.rootSymlink(target, dest));
  }

  /** Writes a file in a new root; see {@linkcode steps.rootFile}. */
  rootFile(dest: string, data: string | Uint8Array, options: steps.RootFileOptions = {}): Sandbox {
    return this.with(steps.rootFile(dest, data, options));
  }

  /** Makes a mount of the new root read-only; see {@linkcode steps.rootRemountReadonly}. */
  rootRemountReadonly(dest: string): Sandbox {
    return this.with(steps.rootRemountReadonly(dest));
  }

  /** Changes a mode in the new root; see {@linkcode steps.rootChmod}. */
  rootChmod(dest: string, mode: number): Sandbox {
    return this.with(steps.rootChmod(dest, mode));
  }

  /** Mounts an overlay in a new root; see {@linkcode steps.rootOverlay}. */
  rootOverlay(dest: string, lower: readonly string[], options: steps.RootOverlayOptions = {}): Sandbox {
    return this.with(steps.rootOverlay(dest, lower, options));
  }

  /** Runs the program under a seccomp filter; see {@linkcode steps.seccomp}. */
  seccomp(policy: SeccompPolicy, options: steps.SeccompStepOptions = {}): Sandbox {
    return this.with(steps.seccomp(policy, options));
  }

  /** Runs the program under an OCI or Docker seccomp profile; see {@linkcode steps.seccompProfile}. */
  seccompProfile(path: string, options: steps.SeccompProfileStepOptions = {}): Sandbox {
    return this.with(steps.seccompProfile(path, options));
  }

  /** Restricts the program with Landlock; see {@linkcode steps.landlock}. */
  landlock(policy: LandlockPolicy, options: steps.LandlockOptions = {}): Sandbox {
    return this.with(steps.landlock(policy, options));
  }

  /** Runs the program in a cgroup of its own with these limits; see {@linkcode steps.limits}. */
  limits(options: steps.LimitsOptions): Sandbox {
    return this.with(steps.limits(options));
  }

  /** Kills the program when this process dies (with SIGKILL, 9, when left out); see {@linkcode steps.killChild}. */
  killChild(signal = 9): Sandbox {
    return this.with(steps.killChild(signal));
  }

  /** Runs the program under a filter of raw BPF; see {@linkcode steps.seccompBpf}. */
  seccompBpf(source: string | number | Uint8Array, options: steps.SeccompStepOptions = {}): Sandbox {
    return this.with(steps.seccompBpf(source, options));
  }

  /** Brings the loopback interface up; see {@linkcode steps.loopback}. */
  loopback(): Sandbox {
    return this.with(steps.loopback());
  }

  /** Runs the program in a nested user namespace; see {@linkcode steps.nestedUser}. */
  nestedUser(options: steps.NestedUserOptions = {}): Sandbox {
    return this.with(steps.nestedUser(options));
  }

  /** Fails unless the program cannot create user namespaces; see {@linkcode steps.assertNoUserNamespaces}. */
  assertNoUserNamespaces(): Sandbox {
    return this.with(steps.assertNoUserNamespaces());
  }

  /** Joins a user namespace after the setup; see {@linkcode steps.joinUserNamespace}. */
  joinUserNamespace(fd: number): Sandbox {
    return this.with(steps.joinUserNamespace(fd));
  }

  /** Waits for a descriptor before the program runs; see {@linkcode steps.waitForDescriptor}. */
  waitForDescriptor(fd: number): Sandbox {
    return this.with(steps.waitForDescriptor(fd));
  }

  /** The program's working directory, the first it can enter; see {@linkcode steps.programWorkdir}. */
  programWorkdir(...dirs: string[]): Sandbox {
    return this.with(steps.programWorkdir(...dirs));
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
    this.check();
    return planHere(this.steps);
  }

  /**
   * Sets up these steps once and keeps the namespaces alive in a context
   * (held by a small holder process), so that several commands and further
   * steps act on the same namespaces.
   *
   * @example A context that commands share, rootless
   * ```ts
   * import assert from "node:assert/strict";
   * import { unshare } from "@nsh/nsh";
   *
   * await using box = await unshare({ user: true, mapRootUser: true, pid: true, mount: true, net: true }).hold();
   * await box.mountProc();
   * await box.run("ip", "link", "set", "lo", "up"); // the next command sees it up
   * assert.match(await box.run("ip", "-brief", "link").text(), /^lo\s+UNKNOWN/);
   * ```
   *
   * @param options A name to join it by from elsewhere, and whether it outlives this process.
   * @returns The context; close it to end the namespaces.
   * @throws {SyscallError} When a step fails.
   */
  async hold(options: HoldOptions = {}): Promise<Context> {
    const { Context } = await import("./context.ts");
    return Context.hold(this, undefined, options);
  }

  /**
   * Carries out these steps in a child that exits after them: for steps that
   * act on joined namespaces (`enter()`), which outlive the child.
   *
   * @throws {SyscallError} When a step fails.
   */
  async apply(): Promise<void> {
    const { applyPlan } = await import("./engine.ts");
    await applyPlan(this.plan());
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
    return new Command(this.steps, argv, this.#guards);
  }
}

/**
 * A sandbox made of the given steps.
 *
 * @example Steps and sandboxes, combined in order
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostname, mapRootUser, namespaces, sandbox } from "@nsh/nsh";
 *
 * const rootless = sandbox(mapRootUser());
 * const box = sandbox(rootless, namespaces("net"), hostname("box"));
 * assert.equal(await box.run("hostname").text(), "box");
 * assert.equal((await box.run("ip", "-brief", "link").lines()).length, 1); // lo alone
 * ```
 *
 * @param list Steps or sandboxes to combine.
 * @returns The sandbox.
 */
export function sandbox(...list: (Step | Sandbox)[]): Sandbox {
  return new Sandbox().with(...list);
}

/**
 * A sandbox described with the options of util-linux `unshare`.
 *
 * @example A PID namespace with its own proc and hostname, rootless, as `unshare -rpf --mount-proc`
 * ```ts
 * import assert from "node:assert/strict";
 * import { unshare } from "@nsh/nsh";
 *
 * const box = unshare({ user: true, mapRootUser: true, pid: true, mountProc: true }).hostname("box");
 * assert.equal(await box.run("hostname").text(), "box");
 * const processes = await box.run("ps", "-e", "-o", "pid=,comm=").lines();
 * assert.deepEqual(processes.map((line) => line.trim()), ["1 ps"]);
 * ```
 *
 * @param options The options.
 * @returns The sandbox.
 */
export function unshare(options: UnshareOptions = {}): Sandbox {
  return new Sandbox(unshareSteps(options));
}

/**
 * A sandbox that joins existing namespaces, described with the options of
 * util-linux `nsenter`. Join a PID namespace and the program runs in a new
 * process inside it; add steps to create new namespaces inside the joined ones.
 *
 * @example Run `ip link` in the network namespace of a running box, as `nsenter -t PID -U -n`
 * ```ts
 * import assert from "node:assert/strict";
 * import { nsenter, unshare } from "@nsh/nsh";
 *
 * const box = unshare({ user: true, mapRootUser: true, net: true }).run("sleep", "60").noThrow().spawn();
 * const { pid } = await box.started;
 * const links = await nsenter({ target: pid, user: true, net: true }).run("ip", "-brief", "link").lines();
 * assert.equal(links.length, 1); // the box's loopback, not the host's interfaces
 * box.kill();
 * await box;
 * ```
 *
 * @param options The options.
 * @returns The sandbox.
 * @throws {TypeError} When a namespace has neither a path nor a target.
 */
export function nsenter(options: NsenterOptions): Sandbox {
  return new Sandbox(nsenterSteps(options));
}
