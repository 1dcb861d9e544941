/**
 * Where nsh's own commands (`lsns`, `netns`, `release`) look and act: this
 * process's namespaces, or a shell context's, as the command would if it ran
 * there. The Deno process never enters a context (see docs/DESIGN.md §1):
 * it reads the context's files through `/proc/PID/root` of a process in it,
 * which follows the context's root and mounts, and it changes mounts from a
 * short-lived child that joins the context. So nsh's commands work in every
 * context, whatever it hides of the checkout or of Deno.
 *
 * @module
 */

import type { Context } from "./context.ts";
import type { NamespaceType } from "./namespaces.ts";
import type { Step } from "./steps.ts";
import { planHere } from "./plan.ts";
import { userName } from "./idmap.ts";
import { SyscallError } from "../ffi/error.ts";
import { AT_FDCWD, O_DIRECTORY, O_PATH } from "../ffi/constants.ts";
import { closeQuietly, openAt, openInRoot } from "../ffi/fs.ts";

/** Options of the functions that look or act in a shell context. */
export interface ContextOptions {
  /**
   * Look and act in this context, as the command would if it ran there: its
   * `/proc` (so its PID namespace's processes, when it mounted a proc of its
   * own), its mounts and files, its network namespace. This process's own
   * when not given.
   */
  context?: Context | undefined;
}

/** The overflow uid: what a process sees for a uid its user namespace does not map. */
const OVERFLOW_UID = 65534;

/**
 * Where a command looks and acts: this process's namespaces, or a context's
 * (see {@linkcode ContextOptions}).
 */
export class Place {
  /** The context, or `undefined` for this process's own namespaces. */
  readonly context: Context | undefined;
  #uidMap: { inside: number; outside: number; count: number }[] | null | undefined;

  private constructor(context: Context | undefined) {
    this.context = context;
  }

  /**
   * The place of a command.
   *
   * @param options The context, if any.
   * @returns The place.
   */
  static of(options: ContextOptions = {}): Place {
    return new Place(options.context);
  }

  /**
   * A path as programs there see it, made absolute against the context's
   * working directory (this process's, at the host).
   *
   * @param path The path.
   * @returns The absolute path, as seen there.
   */
  absolute(path: string): string {
    if (path.startsWith("/")) return path;
    const cwd = this.context ? this.context.cwd : Deno.cwd();
    return `${cwd.replace(/\/$/, "")}/${path}`;
  }

  /**
   * The path by which this process reaches a file there.
   *
   * @param path The path, as seen there.
   * @returns The path to use from here.
   */
  path(path: string): string {
    return this.context ? this.context.hostPath(path) : path;
  }

  /**
   * A file of `/proc/self/` as a process there sees it (`"mountinfo"`).
   *
   * @param file The file.
   * @param type The namespace it tells of.
   * @returns The path to use from here.
   */
  self(file: string, type: "mnt" | "user" = "mnt"): string {
    return this.context ? this.context.procPath(file, type) : `/proc/self/${file}`;
  }

  /**
   * The file of the namespace of a type that processes there are in.
   *
   * @param type The type.
   * @returns A path to open or read from here.
   */
  namespace(type: NamespaceType): string {
    return this.context ? this.context.namespacePath(type) : `/proc/self/ns/${type}`;
  }

  /** Whether mounts there are another mount namespace's, changed from a child that joins it. */
  get ownMounts(): boolean {
    return this.self("mountinfo") !== "/proc/self/mountinfo";
  }

  /**
   * Opens a file as a process there resolves its path: from the context's
   * root (absolute symbolic links and `..` stay inside it) and working
   * directory.
   *
   * @param path The path, as seen there.
   * @param flags `O_*` flags (O_CLOEXEC is added).
   * @param operation What was attempted, for the error.
   * @returns The descriptor.
   * @throws {SyscallError} When it cannot be opened.
   */
  open(path: string, flags: number, operation: string): number {
    let fd: number;
    const root = this.path("/");
    if (root === "/") fd = openAt(AT_FDCWD, path, flags);
    else {
      const rootFd = openAt(AT_FDCWD, root, O_PATH | O_DIRECTORY);
      if (rootFd < 0) throw new SyscallError("open", -rootFd, { operation, path });
      try {
        fd = openInRoot(rootFd, this.absolute(path), flags);
      } finally {
        closeQuietly(rootFd);
      }
    }
    if (fd < 0) throw new SyscallError("open", -fd, { operation, path });
    return fd;
  }

  /**
   * Carries out setup steps there, at once: in a child that joins the
   * context, or at the host in a child of its own.
   *
   * @param list The steps.
   * @throws {SyscallError} When a step fails.
   */
  async apply(...list: Step[]): Promise<void> {
    if (this.context) return await this.context.apply(...list);
    const { applyPlan } = await import("./engine.ts");
    await applyPlan(planHere(list));
  }

  /**
   * A uid of this process's user namespace as processes there see it: mapped
   * into the context's user namespace, the overflow uid (65534) when it has
   * no mapping there.
   *
   * @param uid The uid, as this process sees it.
   * @returns The uid there.
   */
  uid(uid: number): number {
    if (this.#uidMap === undefined) {
      const file = this.self("uid_map", "user");
      this.#uidMap = null;
      if (file !== "/proc/self/uid_map") {
        try {
          this.#uidMap = Deno.readTextFileSync(file).trim().split("\n").filter(Boolean).map((line) => {
            const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
            return { inside: inside!, outside: outside!, count: count! };
          });
        } catch {
          this.#uidMap = [];
        }
      }
    }
    if (this.#uidMap === null) return uid;
    const range = this.#uidMap.find((r) => uid >= r.outside && uid < r.outside + r.count);
    return range ? range.inside + (uid - range.outside) : OVERFLOW_UID;
  }

  /**
   * The name of a uid there, from the user database there.
   *
   * @param uid The uid, as seen there.
   * @returns Its name, or `undefined`.
   */
  userName(uid: number): string | undefined {
    try {
      return userName(uid, this.path("/etc/passwd"));
    } catch {
      return undefined;
    }
  }
}
