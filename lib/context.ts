/**
 * Contexts: namespaces held open between commands, so that a sequence of
 * steps (unshare, then mount proc, then run a program) acts on the same
 * namespaces, as in nsh's shell. A context made by `hold()` keeps a holder
 * process in its namespaces; commands and setup steps join them.
 *
 * @module
 */

import { libc } from "../ffi/libc.ts";
import type { Child } from "./child.ts";
import { applyPlan, startHolder } from "./engine.ts";
import { openPath } from "./namespace_files.ts";
import { NAMESPACES, type NamespaceType } from "./namespaces.ts";
import { changesRoot, planHere } from "./plan.ts";
import type { Command } from "./command.ts";
import { Sandbox } from "./sandbox.ts";
import * as steps from "./steps.ts";
import type { MountOptions, Step } from "./steps.ts";
import { isPolicy, kindOf, reviveStep } from "./steps/_registry.ts";
import { boxPlacesOf } from "./cgroup.ts";
import {
  checkContextName,
  findContext,
  listContexts,
  type NamedContext,
  registerContext,
  startTime,
  unregisterContext,
  updateContext,
} from "./names.ts";
import { signalIfSame } from "./system.ts";
import { O_RDONLY, SIGKILL } from "../ffi/constants.ts";

/** The namespaces of a process that differ from this process's own. */
function differing(pid: number): NamespaceType[] {
  return NAMESPACES.map((info) => info.type).filter((type) => {
    try {
      return Deno.readLinkSync(`/proc/${pid}/ns/${type}`) !== Deno.readLinkSync(`/proc/self/ns/${type}`);
    } catch {
      return false;
    }
  });
}

/** Whether the user namespace of a process maps uid 0. */
function mapsRoot(pid: number): boolean {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/uid_map`).split("\n").some((line) => {
      const [inside, , count] = line.trim().split(/\s+/).map(Number);
      return inside !== undefined && count !== undefined && inside <= 0 && 0 < inside + count;
    });
  } catch {
    return false;
  }
}

/** Options of {@linkcode Context.hold} and {@linkcode Sandbox.hold}. */
export interface HoldOptions {
  /**
   * A name by which other processes join it (`Context.enter(name)`, `nsh
   * enter NAME`) while it is open, and which `lsns` shows beside its holder.
   */
  name?: string;
  /**
   * Keep it after this process ends, with its holder detached, until
   * `releaseContext(name)` (`nsh release NAME`). Needs a name.
   *
   * @default {false}
   */
  persist?: boolean;
}

/** A Map that calls back after each change: a named context's variables. */
class SyncedMap<K, V> extends Map<K, V> {
  readonly #changed: () => void;

  constructor(changed: () => void) {
    super();
    this.#changed = changed;
  }

  override set(key: K, value: V): this {
    super.set(key, value);
    this.#changed?.();
    return this;
  }

  override delete(key: K): boolean {
    const had = super.delete(key);
    this.#changed();
    return had;
  }

  override clear(): void {
    super.clear();
    this.#changed();
  }
}

/** How a context was made, for prompts and saved sessions. */
export interface ContextOrigin {
  /** `"unshare"` or `"nsenter"`. */
  readonly how: "unshare" | "nsenter";
  /** The steps that made it. */
  readonly steps: readonly Step[];
}

/**
 * Namespaces held open: by a holder process (contexts made by
 * {@linkcode Sandbox.hold}) or by descriptors of another process's
 * namespaces ({@linkcode Context.join}). Programs run in it with
 * {@linkcode Context.run}; setup steps act on it at once with
 * {@linkcode Context.apply}. A context has its own working directory and
 * variables, as a shell has. Close it to end the holder.
 *
 * @example One set of namespaces for several programs, rootless
 * ```ts
 * import assert from "node:assert/strict";
 * import { unshare } from "@nsh/nsh";
 *
 * await using box = await unshare({ user: true, mapRootUser: true, pid: true, mount: true, uts: true }).hold();
 * await box.mountProc(); // steps act on the context at once
 * await box.hostname("box");
 * assert.equal(await box.run("hostname").text(), "box");
 * // Its PID namespace: the holder is its init, each program comes and goes.
 * const processes = await box.run("ps", "-e", "-o", "pid=,comm=").lines();
 * assert.deepEqual(processes.map((line) => line.trim().split(/\s+/)[1]), ["nsh-holder", "ps"]);
 * ```
 */
export class Context {
  /** The namespace types this context has that this process does not. */
  readonly types: readonly NamespaceType[];
  /** The context it was made in, if any. */
  readonly parent: Context | undefined;
  /** Whether its programs see a root of its own (`root()`, or a new root assembled for it). */
  readonly ownRoot: boolean;
  /** How it was made. */
  readonly origin: ContextOrigin;
  /** Variables set in it, on top of its parent's (`undefined` unsets). */
  readonly vars: Map<string, string | undefined>;
  /** Its name, when it was given one ({@linkcode HoldOptions.name}, or joined by name). */
  readonly name: string | undefined;
  /** Whether it outlives this process ({@linkcode HoldOptions.persist}): closing it leaves it. */
  readonly persisted: boolean;
  #cwd: string;
  readonly #holder: Child | undefined;
  readonly #fds: Map<NamespaceType, number>;
  readonly #rootFd: number | undefined;
  /** For a joined context: the process whose namespaces it joined, if one was named. */
  readonly #joinedPid: number | undefined;
  #keepIds = false;
  #closed = false;
  /** Restrictions for every program run in the context (capabilities, seccomp…). */
  #policy: readonly Step[] = [];
  /** Set when this process registered the context's name: closing it unregisters it, unless persisted. */
  #named: { name: string; persist: boolean } | undefined;
  /** Steps that join what the holder's steps hold (its box's cgroup), or the parent's. */
  #held: readonly Step[] = [];
  /** Descriptors this context holds besides its namespaces' (the cgroups of a box it entered by name). */
  #heldFds: number[] = [];

  private constructor(
    init: {
      holder: Child | undefined;
      fds: Map<NamespaceType, number>;
      rootFd: number | undefined;
      ownRoot?: boolean;
      parent: Context | undefined;
      origin: ContextOrigin;
      cwd: string;
      joinedPid?: number;
      name?: string;
      persisted?: boolean;
      vars?: Readonly<Record<string, string | null>>;
    },
  ) {
    this.#holder = init.holder;
    this.#joinedPid = init.joinedPid;
    this.#fds = init.fds;
    this.#rootFd = init.rootFd;
    this.parent = init.parent;
    this.ownRoot = init.ownRoot ?? false;
    this.origin = init.origin;
    this.#cwd = init.cwd;
    this.name = init.name;
    this.persisted = init.persisted ?? false;
    // A named context tells those who join it later where it is and what it set.
    this.vars = new SyncedMap(() => this.#sync());
    for (const [k, v] of Object.entries(init.vars ?? {})) Map.prototype.set.call(this.vars, k, v ?? undefined);
    const inherited = init.holder === undefined && init.parent ? init.parent.types : [];
    this.types = NAMESPACES.map((info) => info.type).filter((t) => init.fds.has(t) || inherited.includes(t));
  }

  /** The working directory of its programs, as seen inside. */
  get cwd(): string {
    return this.#cwd;
  }

  set cwd(dir: string) {
    this.#cwd = dir;
    this.#sync();
  }

  #sync(): void {
    if (this.name === undefined || this.#closed) return;
    const env: Record<string, string | null> = {};
    for (const [k, v] of this.vars) env[k] = v ?? null;
    updateContext(this.name, { cwd: this.#cwd, env });
  }

  /**
   * Starts a holder set up by `sandbox` (which may join `parent` first) and
   * makes a context of its namespaces.
   *
   * @param sandbox The setup.
   * @param parent The context it is made in.
   * @param options A name to join it by from elsewhere, and whether it outlives this process.
   * @returns The context.
   * @throws {SyscallError} When the setup fails.
   * @throws {TypeError} For a name that cannot be one, or limits in a persisted context.
   * @throws {Error} When a context of that name exists.
   */
  static async hold(sandbox: Sandbox, parent?: Context, options: HoldOptions = {}): Promise<Context> {
    sandbox.check();
    const { name, persist = false } = options;
    if (name !== undefined) checkContextName(name);
    else if (persist) throw new TypeError("Cannot keep a context after this process ends without a name to find it by");
    // Restrictions are for the programs run in the context, not its holder.
    const setup = sandbox.steps.filter((s) => !isPolicy(s));
    const list = parent ? [...parent.#joinSteps(), ...setup] : setup;
    // What a step holds (a box's cgroup) is this process's: it ends with the
    // holder, which a persisted context's outlives.
    const held = list.find((s) => kindOf(s).hold);
    if (persist && held) {
      throw new TypeError(
        `Cannot keep a context with ${held.kind} after this process ends: its cgroup is this process's to remove`,
      );
    }
    const holder = await startHolder(planHere(list), { ...(name ? { name } : {}), detached: persist });
    try {
      const fds = Context.#open(holder.pid, differing(holder.pid));
      const p = holder.plan;
      const ownRoot = changesRoot(p);
      const rooted = ownRoot || (parent !== undefined && parent.#rootFd !== undefined);
      const rootFd = rooted ? Context.#openPath(`/proc/${holder.pid}/root`) : undefined;
      const cwd = ownRoot ? p.wd ?? "/" : p.wd ?? (parent ? parent.cwd : Deno.cwd());
      const context = new Context({
        holder,
        fds,
        rootFd,
        ownRoot,
        parent,
        origin: { how: "unshare", steps: sandbox.steps },
        cwd,
        ...(name === undefined ? {} : { name }),
        persisted: persist,
      });
      // Joining a user namespace takes root's ids there; with no map for root
      // (unshare -U alone), commands keep theirs, as nsenter --preserve-credentials.
      context.#keepIds = fds.has("user") && !mapsRoot(holder.pid);
      context.#policy = [...(parent ? parent.#policy : []), ...sandbox.steps.filter(isPolicy)];
      if (name !== undefined) {
        registerContext({
          name,
          holder: holder.pid,
          start: startTime(holder.pid) ?? 0,
          namespaces: context.types,
          ownRoot: context.ownRoot || rootFd !== undefined,
          cwd,
          env: {},
          persisted: persist,
          policy: context.#policy,
        });
        context.#named = { name, persist };
      }
      // Its programs join the box its holder is in: its own, or its parent's.
      const held = holder.joinSteps();
      context.#held = held.length ? held : parent ? parent.#held : [];
      return context;
    } catch (error) {
      holder.kill("SIGKILL");
      holder.ref();
      await holder.status;
      throw error;
    }
  }

  /**
   * Makes a context of existing namespaces (`nsenter` without a program):
   * namespace files such as `/proc/PID/ns/net` or files namespaces were bound
   * to. Descriptors keep them alive, also after the process they came from
   * ends.
   *
   * @param entries The namespaces to join.
   * @param parent The context it is made in (for the prompt and `exit`).
   * @returns The context.
   * @throws {SyscallError} When a namespace file cannot be opened.
   */
  static join(entries: readonly { type: NamespaceType; path: string }[], parent?: Context): Context {
    const fds = new Map<NamespaceType, number>();
    try {
      for (const { type, path } of entries) fds.set(type, Context.#openPath(path));
    } catch (error) {
      for (const fd of fds.values()) libc().close(fd);
      throw error;
    }
    const origin: ContextOrigin = { how: "nsenter", steps: entries.map((e) => steps.enter(e.type, e.path)) };
    // Files of a joined mount namespace are reached through a process in it.
    const pids = new Set(entries.map((e) => /^\/proc\/(\d+)\/ns\/\w+$/.exec(e.path)?.[1]));
    const [pid] = pids;
    const joinedPid = pids.size === 1 && pid !== undefined ? Number(pid) : undefined;
    return new Context({
      holder: undefined,
      fds,
      rootFd: undefined,
      parent,
      origin,
      cwd: "/",
      ...(joinedPid === undefined ? {} : { joinedPid }),
    });
  }

  /**
   * Makes a context of the namespaces of a process that differ from this
   * process's own.
   *
   * @param pid The process.
   * @param parent The context it is made in.
   * @returns The context.
   */
  static joinProcess(pid: number, parent?: Context): Context {
    return Context.join(differing(pid).map((type) => ({ type, path: `/proc/${pid}/ns/${type}` })), parent);
  }

  static #openPath(path: string): number {
    return openPath(path, O_RDONLY, `open "${path}"`);
  }

  static #open(pid: number, types: readonly NamespaceType[]): Map<NamespaceType, number> {
    const fds = new Map<NamespaceType, number>();
    try {
      for (const type of types) fds.set(type, Context.#openPath(`/proc/${pid}/ns/${type}`));
    } catch (error) {
      for (const fd of fds.values()) libc().close(fd);
      throw error;
    }
    return fds;
  }

  /** The pid of the holder, if the context has one. */
  get holderPid(): number | undefined {
    return this.#holder?.pid;
  }

  /**
   * The path by which this process reaches a file of the context: through
   * `/proc/PID/root` of a process in it (its holder, or the process whose
   * namespaces it joined), which follows the context's root and mounts.
   *
   * @param path A path as programs in the context see it.
   * @returns The path to use from here: `path` itself when the context
   *   shares this process's mounts and root.
   * @throws {Error} When the context joined a mount namespace that no process
   *   this process knows of is in (a namespace bound to a file, or a process
   *   that has ended).
   */
  hostPath(path: string): string {
    const absolute = path.startsWith("/") ? path : `${this.cwd.replace(/\/$/, "")}/${path}`;
    const pid = this.#anchor("mnt");
    return pid === undefined ? absolute : `/proc/${pid}/root${absolute === "/" ? "" : absolute}`;
  }

  /**
   * The user and group ids its programs have, as this process sees them
   * (root of its user namespace, mapped out): whom the files they create
   * belong to. Files of the shell's redirections in the context are opened
   * with them. `undefined` when they are this process's own: the context has
   * no user namespace of its own, keeps this process's ids, or maps root to
   * no id here.
   *
   * @returns The ids, or `undefined`.
   */
  programIds(): { uid: number; gid: number } | undefined {
    if (this.#keepIds || this.#anchor("user") === undefined) return undefined;
    const outside = (file: string) => {
      for (const line of Deno.readTextFileSync(this.procPath(file, "user")).split("\n")) {
        const [inside, out, count] = line.trim().split(/\s+/).map(Number);
        if (inside !== undefined && out !== undefined && count !== undefined && inside <= 0 && 0 < inside + count) {
          return out - inside;
        }
      }
      return undefined;
    };
    const uid = outside("uid_map");
    const gid = outside("gid_map");
    return uid === undefined || gid === undefined ? undefined : { uid, gid };
  }

  /**
   * The path of a file of `/proc/PID/` for a process in the context, where
   * what programs there find in `/proc/self/` is: the mounts they see
   * (`"mountinfo"`, with `type` `"mnt"`), the maps of their user namespace
   * (`"uid_map"`, with `type` `"user"`). This process's own `/proc/self/…`
   * when the context shares that namespace with it.
   *
   * @param file The file, such as `"mountinfo"`.
   * @param type The namespace the file tells of; `mnt` when left out.
   * @returns The path to use from here.
   * @throws {Error} As {@linkcode Context.hostPath}.
   */
  procPath(file: string, type: "mnt" | "user" = "mnt"): string {
    const pid = this.#anchor(type);
    return pid === undefined ? `/proc/self/${file}` : `/proc/${pid}/${file}`;
  }

  /**
   * A process in the context's namespace of `type` (the mount namespace with
   * its root, for `"mnt"`), or `undefined` when the context shares this
   * process's.
   */
  #anchor(type: "mnt" | "user"): number | undefined {
    if (this.#closed) throw new Error("Cannot use a closed context");
    const own = this.#fds.has(type) || (type === "mnt" && this.#rootFd !== undefined);
    // A holder is in every namespace its context has, its parents' too: its
    // descriptors name all that differ from this process's.
    if (this.#holder) return own ? this.#holder.pid : undefined;
    if (!own) return this.parent ? this.parent.#anchor(type) : undefined;
    const pid = this.#joinedPid;
    if (pid === undefined) {
      throw new Error(
        `Cannot reach the files of this context: it joined a ${type} namespace bound to a file, which no process nsh knows of is in (join a process's namespaces with nsenter --target instead)`,
      );
    }
    for (const [joined, fd] of this.#fds) {
      let same = false;
      try {
        same = Deno.readLinkSync(`/proc/${pid}/ns/${joined}`) === Deno.readLinkSync(`/proc/self/fd/${fd}`);
      } catch {
        // Ended, or not ours to inspect any more.
      }
      if (!same) {
        throw new Error(
          `Cannot reach the files of this context: process ${pid}, whose namespaces it joined, has ended or left them`,
        );
      }
    }
    return pid;
  }

  /**
   * The file of the context's namespace of a type, for this process to open
   * or read: `/proc/self/fd/N` of the descriptor that holds it, or
   * `/proc/self/ns/TYPE` when the context shares this process's.
   *
   * @param type The namespace type.
   * @returns The path.
   */
  namespacePath(type: NamespaceType): string {
    if (this.#closed) throw new Error("Cannot use a closed context");
    const fd = this.#fds.get(type);
    if (fd !== undefined) return `/proc/self/fd/${fd}`;
    if (this.#holder === undefined && this.parent) return this.parent.namespacePath(type);
    return `/proc/self/ns/${type}`;
  }

  /** Whether the context was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The variables of this context and its parents, the innermost winning. */
  env(): Map<string, string | undefined> {
    const env = new Map(this.parent ? this.parent.env() : []);
    for (const [k, v] of this.vars) env.set(k, v);
    return env;
  }

  #joinSteps(): Step[] {
    if (this.#closed) throw new Error("Cannot use a closed context");
    if (this.#holder?.ended) {
      // Killed from outside: its PID namespace can take no new process.
      throw new Error(
        `Cannot use the context: its holder (pid ${this.#holder.pid}) has ended, and its namespaces with it; close it (exit, in nsh)`,
      );
    }
    // A holder made inside the parent has all the parent's namespaces; joined
    // namespaces are joined after the parent's (from inside them).
    const inherited = this.#holder === undefined && this.parent ? this.parent.#joinSteps() : [];
    const list: Step[] = [...inherited, ...this.#held];
    for (const [type, fd] of this.#fds) list.push(steps.enter(type, `/proc/self/fd/${fd}`));
    if (this.#keepIds) list.push(steps.preserveCredentials());
    if (this.#rootFd !== undefined) list.push(steps.enterRoot(`/proc/self/fd/${this.#rootFd}`));
    return list;
  }

  /**
   * The sandbox that joins this context, in its working directory.
   *
   * @returns The sandbox; add steps to make new namespaces inside.
   */
  sandbox(): Sandbox {
    // Checked again at each use: once closed, the descriptors its steps
    // name (/proc/self/fd/N) may be reused for another context's namespaces.
    return new Sandbox(
      [...this.#joinSteps(), steps.workdir(this.cwd), ...this.#policy],
      [() => void this.#joinSteps()],
    );
  }

  /**
   * A command that runs a program in this context, with its variables; the
   * files of its redirections are the context's (see {@linkcode Command.within}).
   *
   * @param program The program, or the whole argv.
   * @param args Its arguments.
   * @returns The command.
   */
  run(program: string | readonly string[], ...args: string[]): Command {
    const command = this.sandbox().run(program, ...args).within(this);
    const env = this.env();
    return env.size ? command.env(Object.fromEntries(env)) : command;
  }

  /**
   * Carries out setup steps in this context's namespaces at once: mounts
   * (proc, bind, tmpfs), the hostname. Restrictions (capabilities,
   * no_new_privs, seccomp, Landlock) apply to every program run in the
   * context from then on; the context itself keeps what it needs to serve
   * them. Limits change those of the context's box, which covers its holder
   * and every program run in it.
   *
   * @param list The steps.
   * @throws {SyscallError} When a step fails; the context stays as it was.
   * @throws {Error} For limits in a context made without them.
   */
  async apply(...list: Step[]): Promise<void> {
    // What a step holds (a box's cgroup) is the holder's: changed there.
    const holding = list.filter((s) => kindOf(s).hold);
    if (holding.length) planHere(holding); // checks them now
    for (const step of holding) {
      if (!this.#holder?.changeHeld(step)) {
        throw new Error(
          `Cannot change the ${step.kind} of this context: it was made without them; give them when making it ` +
            "(unshare --memory-max …, or a limits() step)",
        );
      }
    }
    list = list.filter((s) => !kindOf(s).hold);
    // Restrictions take effect for the programs that follow: the setup
    // children of later steps (mount-proc) and the holder keep their privileges.
    const policy = list.filter(isPolicy);
    const setup = list.filter((s) => !isPolicy(s));
    if (setup.length) await applyPlan(planHere([...this.#joinSteps(), ...setup]));
    if (policy.length) {
      planHere(policy); // checks them now
      this.#policy = [...this.#policy, ...policy];
      if (this.name !== undefined) updateContext(this.name, { policy: this.#policy });
    }
  }

  /**
   * Mounts proc for the context's PID namespace (`mount-proc`).
   *
   * @param target Where; `/proc` when left out.
   */
  mountProc(target = "/proc"): Promise<void> {
    return this.apply(steps.mountProc(target));
  }

  /** Sets the context's hostname. */
  hostname(name: string): Promise<void> {
    return this.apply(steps.hostname(name));
  }

  /** Mounts something in the context. */
  mount(options: MountOptions): Promise<void> {
    return this.apply(steps.mount(options));
  }

  /**
   * Makes a context inside this one: joins it, then sets up `sandbox`.
   *
   * @param sandbox The new namespaces and steps.
   * @param options A name to join it by from elsewhere, and whether it outlives this process.
   * @returns The new context.
   */
  hold(sandbox: Sandbox, options: HoldOptions = {}): Promise<Context> {
    return Context.hold(sandbox, this, options);
  }

  /**
   * Ends the holder (SIGKILL: the kernel then ends every process of its PID
   * namespace) and closes the descriptors. Namespaces bound to files live on.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const fd of [...this.#fds.values(), ...this.#heldFds]) libc().close(fd);
    if (this.#rootFd !== undefined) libc().close(this.#rootFd);
    // A persisted context lives on, its holder detached: releaseContext(name) ends it.
    if (this.#named?.persist) return;
    if (this.#named) unregisterContext(this.#named.name);
    if (this.#holder) {
      this.#holder.kill("SIGKILL");
      this.#holder.ref();
      await this.#holder.status;
    }
  }

  /**
   * Joins a named context from this process, as another terminal or script
   * does (`nsh enter NAME`): its namespaces, its root, and the working
   * directory and variables it has now. Closing the joined context leaves the
   * named one as it is.
   *
   * @example Join a context by its name, as another shell of the user would
   * ```ts
   * import assert from "node:assert/strict";
   * import { Context, unshare } from "@nsh/nsh";
   *
   * const name = `web-${Deno.pid}`;
   * await using held = await unshare({ user: true, mapRootUser: true, uts: true }).hostname("web").hold({ name });
   * await using web = Context.enter(name);
   * assert.equal(await web.run("hostname").text(), "web");
   * ```
   *
   * @param name The name.
   * @param parent The context it is joined in, if any.
   * @returns The context.
   * @throws {Error} When no context has that name.
   */
  static enter(name: string, parent?: Context): Context {
    const entry = findContext(name);
    if (!entry) {
      throw new Error(`Cannot enter the context "${name}": there is no context of that name (nsh contexts lists them)`);
    }
    const pid = entry.holder;
    let policy: Step[];
    try {
      policy = (entry.policy ?? []).map(reviveStep);
    } catch (error) {
      throw new Error(
        `Cannot enter the context "${name}": its restrictions do not read back: ${(error as Error).message}`,
      );
    }
    const fds = Context.#open(pid, entry.namespaces);
    let rootFd: number | undefined;
    let places: ReturnType<typeof boxPlacesOf> = [];
    try {
      if (entry.ownRoot) rootFd = Context.#openPath(`/proc/${pid}/root`);
      // Its programs join the box (cgroup) its holder is in, as the maker's do.
      places = boxPlacesOf(pid);
      // The pid was checked before the opens: the holder could have ended and its pid been taken since.
      if (startTime(pid) !== entry.start) throw new Error(`Cannot enter the context "${name}": it has just ended`);
    } catch (error) {
      for (const fd of [...fds.values(), ...places.map((p) => p.fd)]) libc().close(fd);
      if (rootFd !== undefined) libc().close(rootFd);
      throw error;
    }
    const context = new Context({
      holder: undefined,
      fds,
      rootFd,
      ownRoot: entry.ownRoot,
      parent,
      origin: { how: "nsenter", steps: entry.namespaces.map((t) => steps.enter(t, `/proc/${pid}/ns/${t}`)) },
      cwd: entry.cwd,
      joinedPid: pid,
      name,
      persisted: entry.persisted,
      vars: entry.env,
    });
    context.#keepIds = fds.has("user") && !mapsRoot(pid);
    context.#policy = [...(parent ? parent.#policy : []), ...policy];
    if (places.length) {
      context.#held = [{ kind: "enter-cgroup", box: 0, places }];
      context.#heldFds = places.map((p) => p.fd);
    }
    return context;
  }

  /** Closes the context; see {@linkcode Context.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Ends a named context, also one that outlived the process that made it
 * ({@linkcode HoldOptions.persist}): its holder is killed, and the kernel
 * ends every process of its PID namespace; the name is free again.
 *
 * @example End a named context from anywhere, as `nsh release NAME`
 * ```ts
 * import assert from "node:assert/strict";
 * import { namedContexts, releaseContext, unshare } from "@nsh/nsh";
 *
 * const name = `released-${Deno.pid}`;
 * await using _box = await unshare({ user: true, mapRootUser: true, uts: true }).hold({ name });
 * releaseContext(name);
 * assert.ok(!namedContexts().some((context) => context.name === name));
 * assert.throws(() => releaseContext(name), /there is no context of that name/);
 * ```
 *
 * @param name The name.
 * @throws {Error} When no context has that name.
 */
export function releaseContext(name: string): void {
  const entry = findContext(name);
  if (!entry) throw new Error(`Cannot release the context "${name}": there is no context of that name`);
  signalIfSame(entry.holder, entry.start, SIGKILL);
  unregisterContext(name);
}

/**
 * The named contexts of this user that are open (or persisted), by name.
 *
 * @example A named context, as the register lists it
 * ```ts
 * import assert from "node:assert/strict";
 * import { namedContexts, unshare } from "@nsh/nsh";
 *
 * const name = `listed-${Deno.pid}`;
 * await using box = await unshare({ user: true, mapRootUser: true, uts: true }).hold({ name });
 * const listed = namedContexts().find((context) => context.name === name)!;
 * assert.equal(listed.holder, box.holderPid);
 * assert.deepEqual([...listed.namespaces].sort(), ["user", "uts"]);
 * ```
 *
 * @returns What the register says of each.
 */
export function namedContexts(): NamedContext[] {
  return listContexts();
}
