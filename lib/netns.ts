/**
 * Named network namespaces, interoperable with iproute2's `ip netns` both
 * ways: a name is a file in `/run/netns` that a network namespace is bound to,
 * and `exec` shows the program `/etc/netns/NAME/*` over `/etc` and a `/sys` of
 * the namespace, as `ip netns exec` does.
 *
 * @module
 */

import { cstring, errno, fileMode, libc } from "../ffi/libc.ts";
import { asSyscallError, osErrno, SyscallError } from "../ffi/error.ts";
import { releaseNamespace } from "./engine.ts";
import { type Sandbox, sandbox } from "./sandbox.ts";
import * as steps from "./steps.ts";
import { ids, readSmallFile } from "./system.ts";

/** Where iproute2 keeps the files of named network namespaces. */
export const NETNS_RUN_DIR = "/run/netns";
/** Where iproute2 looks for files to show over `/etc` in a named namespace. */
export const NETNS_ETC_DIR = "/etc/netns";

const EEXIST = 17, EINVAL = 22, ENOENT = 2, EPERM = 1, EACCES = 13;
const MS_BIND = 4096, MS_REC = 16384, MS_SHARED = 1 << 20;
const O_RDONLY = 0, O_CREAT = 0o100, O_EXCL = 0o200, O_CLOEXEC = 0o2000000;
const NAME_MAX = 255;

/**
 * Checks a name as iproute2 does: not empty, not `.` or `..`, no `/`, and
 * shorter than NAME_MAX.
 *
 * @param name The name.
 * @throws {TypeError} When the name is not valid.
 */
export function checkNetnsName(name: string): void {
  const bad = name === ""
    ? "it is empty"
    : name === "." || name === ".."
    ? `"${name}" names a directory`
    : name.includes("/")
    ? "it contains a slash"
    : new TextEncoder().encode(name).length >= NAME_MAX
    ? `it is longer than ${NAME_MAX - 1} bytes`
    : undefined;
  if (bad) throw new TypeError(`Cannot use "${name}" as a network namespace name: ${bad}`);
}

/**
 * The file of a named network namespace.
 *
 * @param name The name.
 * @returns Its path in {@linkcode NETNS_RUN_DIR}.
 * @throws {TypeError} When the name is not valid.
 */
export function netnsPath(name: string): string {
  checkNetnsName(name);
  return `${NETNS_RUN_DIR}/${name}`;
}

function needsRoot(e: number): string | undefined {
  if (e !== EPERM && e !== EACCES) return undefined;
  // Root of a user namespace sees the host's /run as someone else's.
  if (ids().euid === 0 && ids().uid === 0 && !ownsInitialUserNs()) {
    return `root in a user namespace cannot change the host's ${NETNS_RUN_DIR}: mount a tmpfs on /run first`;
  }
  return "named network namespaces need root";
}

/** Whether this process is in the initial user namespace (its uid_map maps everything). */
function ownsInitialUserNs(): boolean {
  const map = readSmallFile("/proc/self/uid_map");
  return map === undefined || /^0\s+0\s+4294967295$/.test(map.trim());
}

/**
 * Makes `/run/netns` a shared mount point, as iproute2 does, so that a
 * namespace bound there is seen from every mount namespace.
 */
function prepareRunDir(): void {
  const c = libc();
  try {
    Deno.mkdirSync(NETNS_RUN_DIR, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw asSyscallError(error, "mkdir", {
      operation: `create "${NETNS_RUN_DIR}"`,
      path: NETNS_RUN_DIR,
      hint: needsRoot(osErrno(error) ?? 0),
    });
  }
  const dir = cstring(NETNS_RUN_DIR);
  for (let bound = false;; bound = true) {
    if (c.mount(cstring("none"), dir, cstring("none"), BigInt(MS_SHARED | MS_REC), null) === 0) return;
    const e = errno();
    if (e !== EINVAL || bound) {
      throw new SyscallError("mount", e, {
        operation: `make "${NETNS_RUN_DIR}" a shared mount point`,
        path: NETNS_RUN_DIR,
        hint: needsRoot(e),
      });
    }
    // Not a mount point yet: bind it onto itself first.
    if (c.mount(dir, dir, cstring("none"), BigInt(MS_BIND | MS_REC), null) < 0) {
      const e2 = errno();
      throw new SyscallError("mount", e2, {
        operation: `bind "${NETNS_RUN_DIR}" onto itself`,
        path: NETNS_RUN_DIR,
        hint: needsRoot(e2),
      });
    }
  }
}

/** Creates the empty file of a new name; refuses a name in use. */
function createNameFile(name: string): string {
  const path = netnsPath(name);
  const c = libc();
  const fd = c.open(cstring(path), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) {
    const e = errno();
    throw new SyscallError("open", e, {
      operation: `create the namespace file "${path}"`,
      path,
      hint: e === EEXIST ? `a network namespace named "${name}" exists` : needsRoot(e),
    });
  }
  c.close(fd);
  return path;
}

/**
 * Creates a network namespace named `name` (`ip netns add`).
 *
 * @param name The name.
 * @returns The path of its file.
 * @throws {TypeError} For an invalid name.
 * @throws {SyscallError} When the name exists or the caller is not root.
 *
 * @example Two named namespaces, as `ip netns add` makes them (root)
 * ```ts ignore
 * import { addNetns, deleteNetns, listNetns } from "./mod.ts";
 *
 * await addNetns("red");
 * await addNetns("blue");
 * console.log(listNetns()); // ["blue", "red"]
 * deleteNetns("red");
 * deleteNetns("blue");
 * ```
 */
export async function addNetns(name: string): Promise<string> {
  checkNetnsName(name);
  prepareRunDir();
  const path = createNameFile(name);
  try {
    await sandbox(steps.namespaces("net"), steps.persist("net", path)).run("true").clearEnv()
      .env({ PATH: "/usr/bin:/bin" }).stdin("null").stdout("null");
  } catch (error) {
    Deno.removeSync(path);
    throw error;
  }
  return path;
}

/**
 * Names a process's network namespace (`ip netns attach`).
 *
 * @param name The name.
 * @param pid The process.
 * @returns The path of the name's file.
 * @throws {TypeError} For an invalid name.
 * @throws {SyscallError} When the name exists, the process does not, or the
 *   caller is not root.
 */
export function attachNetns(name: string, pid: number): string {
  checkNetnsName(name);
  prepareRunDir();
  const path = createNameFile(name);
  const source = `/proc/${pid}/ns/net`;
  if (libc().mount(cstring(source), cstring(path), cstring("none"), BigInt(MS_BIND), null) < 0) {
    const e = errno();
    Deno.removeSync(path);
    throw new SyscallError("mount", e, {
      operation: `bind the network namespace of process ${pid} to "${path}"`,
      path: source,
      hint: e === ENOENT ? `there is no process ${pid}` : needsRoot(e),
    });
  }
  return path;
}

/**
 * The names of network namespaces (`ip netns list`), sorted.
 *
 * @returns The names; none when `/run/netns` does not exist.
 */
export function listNetns(): string[] {
  try {
    return [...Deno.readDirSync(NETNS_RUN_DIR)].map((e) => e.name).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/**
 * Deletes the name of a network namespace (`ip netns delete`); the namespace
 * ends when no process is in it any more.
 *
 * @param name The name.
 * @throws {TypeError} For an invalid name.
 * @throws {SyscallError} When there is no such name, or the caller is not root.
 */
export function deleteNetns(name: string): void {
  const path = netnsPath(name);
  if (fileMode(path) === -ENOENT) {
    throw new SyscallError("unlink", ENOENT, {
      operation: `delete the network namespace "${name}"`,
      path,
      hint: `there is no network namespace named "${name}"`,
    });
  }
  try {
    releaseNamespace(path);
  } catch (error) {
    // A file that is no binding (left by a failed add) is removed all the same.
    if (!(error instanceof SyscallError && error.errno === EINVAL)) throw error;
  }
  if (libc().unlink(cstring(path)) < 0) {
    const e = errno();
    throw new SyscallError("unlink", e, {
      operation: `delete the network namespace "${name}"`,
      path,
      hint: needsRoot(e),
    });
  }
}

function inode(path: string): string | undefined {
  try {
    const info = Deno.statSync(path);
    return `${info.dev}:${info.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * The names of a process's network namespace (`ip netns identify`).
 *
 * @param pid The process.
 * @returns The names bound to its namespace, sorted; often none.
 */
export function identifyNetns(pid: number | "self" = "self"): string[] {
  const own = inode(`/proc/${pid}/ns/net`);
  if (own === undefined) {
    throw new SyscallError("stat", ENOENT, {
      operation: `read the network namespace of process ${pid}`,
      path: `/proc/${pid}/ns/net`,
      hint: `there is no process ${pid}`,
    });
  }
  return listNetns().filter((name) => inode(`${NETNS_RUN_DIR}/${name}`) === own);
}

/**
 * The processes in a named network namespace (`ip netns pids`).
 *
 * @param name The name.
 * @returns Their pids, sorted.
 * @throws {SyscallError} When there is no such name.
 */
export function netnsPids(name: string): number[] {
  const path = netnsPath(name);
  const target = inode(path);
  if (target === undefined) {
    throw new SyscallError("stat", ENOENT, {
      operation: `read the network namespace "${name}"`,
      path,
      hint: `there is no network namespace named "${name}"`,
    });
  }
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (/^\d+$/.test(entry.name) && inode(`/proc/${entry.name}/ns/net`) === target) pids.push(Number(entry.name));
  }
  return pids.sort((a, b) => a - b);
}

/**
 * The sandbox of `ip netns exec NAME`: join the named network namespace, in a
 * new mount namespace whose mounts do not propagate back, with a `/sys` of
 * that namespace and `/etc/netns/NAME/*` shown over `/etc/*`.
 *
 * @param name The name.
 * @returns The sandbox, and the entries of `/etc/netns/NAME` that have no
 *   counterpart in `/etc` (iproute2 warns about those and goes on).
 * @throws {TypeError} For an invalid name.
 * @throws {SyscallError} When there is no such name.
 *
 * @example Run a program in a named namespace, as `ip netns exec` does (root)
 * ```ts ignore
 * import { addNetns, netnsExec } from "./mod.ts";
 *
 * await addNetns("red");
 * await netnsExec("red").sandbox.run("ip", "-brief", "link"); // lo DOWN …
 * ```
 */
export function netnsExec(name: string): { sandbox: Sandbox; skipped: string[] } {
  const path = netnsPath(name);
  if (fileMode(path) === -ENOENT) {
    throw new SyscallError("open", ENOENT, {
      operation: `enter the network namespace "${name}"`,
      path,
      hint: `there is no network namespace named "${name}"`,
    });
  }
  const list: steps.Step[] = [
    steps.enter("net", path),
    steps.namespaces("mnt"),
    steps.propagation("slave"),
    steps.umount("/sys", { ignoreErrors: true }),
    steps.mount({ source: name, target: "/sys", type: "sysfs" }),
  ];
  const skipped: string[] = [];
  let entries: string[] = [];
  try {
    entries = [...Deno.readDirSync(`${NETNS_ETC_DIR}/${name}`)].map((e) => e.name).sort();
  } catch {
    // No /etc/netns/NAME: nothing to show over /etc.
  }
  for (const entry of entries) {
    if (inode(`/etc/${entry}`) === undefined) skipped.push(entry);
    else list.push(steps.bindMount(`${NETNS_ETC_DIR}/${name}/${entry}`, `/etc/${entry}`));
  }
  return { sandbox: sandbox(...list), skipped };
}
