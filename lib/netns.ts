/**
 * Named network namespaces, interoperable with iproute2's `ip netns` both
 * ways: a name is a file in `/run/netns` that a network namespace is bound to,
 * and `exec` shows the program `/etc/netns/NAME/*` over `/etc` and a `/sys` of
 * the namespace, as `ip netns exec` does.
 *
 * Every function takes a context (see {@linkcode ContextOptions}): then it
 * reads that context's `/run/netns` and `/proc`, and makes and removes names
 * there, in its mount namespace, as `ip netns` run there would.
 *
 * @module
 */

import { cstring, errno, libc } from "../ffi/libc.ts";
import { asSyscallError, SyscallError } from "../ffi/error.ts";
import {
  AT_FDCWD,
  EACCES,
  EEXIST,
  EINVAL,
  ENOENT,
  ENOTTY,
  EPERM,
  LOCK_EX,
  LOCK_UN,
  MS,
  NSFS_MAGIC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
} from "../ffi/constants.ts";
import { closeQuietly, fileStatus, fileSystemType, flock, mkdirAt, openAt, unlinkAt } from "../ffi/fs.ts";
import { closeName, isBinding, type OpenedName, openName, unbind } from "./binding.ts";
import { NsidSocket } from "./netlink.ts";
import { type ContextOptions, Place } from "./place.ts";
import { type Sandbox, sandbox } from "./sandbox.ts";
import * as steps from "./steps.ts";
import { ids, readSmallFile } from "./system.ts";

/**
 * Where iproute2 keeps the files of named network namespaces.
 *
 * @example Where a name's file is
 * ```ts
 * import assert from "node:assert/strict";
 * import { NETNS_RUN_DIR, netnsPath } from "@nsh/nsh";
 *
 * assert.equal(netnsPath("red"), `${NETNS_RUN_DIR}/red`);
 * assert.equal(NETNS_RUN_DIR, "/run/netns"); // iproute2's
 * ```
 */
export const NETNS_RUN_DIR = "/run/netns";
/**
 * Where iproute2 looks for files to show over `/etc` in a named namespace.
 *
 * @example The files `ip netns exec red` shows over /etc: those of /etc/netns/red
 * ```ts
 * import assert from "node:assert/strict";
 * import { NETNS_ETC_DIR } from "@nsh/nsh";
 *
 * // /etc/netns/red/resolv.conf is bound on /etc/resolv.conf for the programs of "red"
 * assert.equal(`${NETNS_ETC_DIR}/red/resolv.conf`, "/etc/netns/red/resolv.conf");
 * ```
 */
export const NETNS_ETC_DIR = "/etc/netns";

const NAME_MAX = 255;

/**
 * Checks a name as iproute2 does: not empty, not `.` or `..`, no `/`, and
 * at most NAME_MAX (255) bytes.
 *
 * @example The names iproute2 refuses
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkNetnsName } from "@nsh/nsh";
 *
 * checkNetnsName("red"); // fine
 * assert.throws(() => checkNetnsName("a/b"), { message: 'Cannot use "a/b" as a network namespace name: it contains a slash' });
 * assert.throws(() => checkNetnsName(".."), TypeError);
 * ```
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
    : new TextEncoder().encode(name).length > NAME_MAX
    ? `it is longer than ${NAME_MAX} bytes`
    : undefined;
  if (bad) throw new TypeError(`Cannot use "${name}" as a network namespace name: ${bad}`);
}

/**
 * The file of a named network namespace.
 *
 * @example The file of a name, checked first
 * ```ts
 * import assert from "node:assert/strict";
 * import { netnsPath } from "@nsh/nsh";
 *
 * assert.equal(netnsPath("red"), "/run/netns/red");
 * assert.throws(() => netnsPath(""), TypeError);
 * ```
 *
 * @param name The name.
 * @returns Its path in {@linkcode NETNS_RUN_DIR}.
 * @throws {TypeError} When the name is not valid.
 */
export function netnsPath(name: string): string {
  checkNetnsName(name);
  return `${NETNS_RUN_DIR}/${name}`;
}

function needsRoot(e: number, place: Place): string | undefined {
  if (e !== EPERM && e !== EACCES) return undefined;
  if (place.context) {
    // Root of the context's user namespace, with mounts of its own: its /run is still the host's.
    if (place.ownMounts && place.namespace("user") !== "/proc/self/ns/user") {
      return `root of the context's user namespace cannot change the host's ${NETNS_RUN_DIR}: mount a tmpfs on /run first`;
    }
    return "named network namespaces need root (in a context: unshare --user --map-root-user --mount, then mount -t tmpfs tmpfs /run)";
  }
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

function noSuchName(name: string): string {
  return `there is no network namespace named "${name}"`;
}

/**
 * Opens `/run/netns`, creating it (mode 0755), and makes it a shared mount
 * point as iproute2 does, so that a namespace bound there is seen from every
 * mount namespace. Like iproute2, under an exclusive lock of the directory:
 * two adds at once must not both bind it onto itself.
 */
async function prepareRunDir(place: Place): Promise<number> {
  const path = NETNS_RUN_DIR;
  const operation = `create "${path}"`;
  const run = place.open("/run", O_PATH | O_DIRECTORY, operation);
  let dir: number;
  try {
    const made = mkdirAt(run, "netns", 0o755);
    if (made < 0 && made !== -EEXIST) {
      throw new SyscallError("mkdir", -made, { operation, path, hint: needsRoot(-made, place) });
    }
    dir = openAt(run, "netns", O_RDONLY | O_DIRECTORY);
    if (dir < 0) throw new SyscallError("open", -dir, { operation: `open "${path}"`, path });
  } finally {
    closeQuietly(run);
  }
  const locked = flock(dir, LOCK_EX) === 0;
  try {
    if (place.ownMounts) {
      // In the context's mount namespace, from a child: bind the directory
      // onto itself when it is not a mount point yet, then make it shared.
      const status = fileStatus(dir);
      const mounted = typeof status !== "number" && status.mountRoot === true;
      try {
        await place.apply(
          ...(mounted ? [] : [steps.bindMount(path, path)]),
          steps.mount({ source: "none", target: path, type: "none", flags: MS.SHARED | MS.REC }),
        );
      } catch (error) {
        if (!(error instanceof SyscallError)) throw error;
        throw new SyscallError(error.syscall, error.errno, {
          operation: `make "${path}" a shared mount point`,
          path,
          hint: needsRoot(error.errno, place) ?? error.hint,
        });
      }
    } else makeShared(place);
  } catch (error) {
    closeQuietly(dir);
    throw error;
  } finally {
    if (locked) flock(dir, LOCK_UN);
  }
  return dir;
}

/** Makes `/run/netns` of this process's mount namespace a shared mount point. */
function makeShared(place: Place): void {
  const c = libc();
  const path = NETNS_RUN_DIR;
  const dir = cstring(path);
  for (let bound = false;; bound = true) {
    if (c.mount(cstring("none"), dir, cstring("none"), BigInt(MS.SHARED | MS.REC), null) === 0) return;
    const e = errno();
    if (e !== EINVAL || bound) {
      throw new SyscallError("mount", e, {
        operation: `make "${path}" a shared mount point`,
        path,
        hint: needsRoot(e, place),
      });
    }
    // Not a mount point yet: bind it onto itself first.
    if (c.mount(dir, dir, cstring("none"), BigInt(MS.BIND | MS.REC), null) < 0) {
      const e2 = errno();
      throw new SyscallError("mount", e2, {
        operation: `bind "${path}" onto itself`,
        path,
        hint: needsRoot(e2, place),
      });
    }
  }
}

/** The identity of a file made for a name: what cleanup checks before it removes the name. */
interface Made {
  readonly dev: string;
  readonly ino: number;
}

/** Creates the empty file of a new name; refuses a name in use. */
function createNameFile(dir: number, name: string, place: Place): Made {
  const path = `${NETNS_RUN_DIR}/${name}`;
  const fd = openAt(dir, name, O_RDONLY | O_CREAT | O_EXCL, 0);
  if (fd < 0) {
    throw new SyscallError("open", -fd, {
      operation: `create the namespace file "${path}"`,
      path,
      hint: fd === -EEXIST ? `a network namespace named "${name}" exists` : needsRoot(-fd, place),
    });
  }
  const status = fileStatus(fd);
  closeQuietly(fd);
  return typeof status === "number" ? { dev: "", ino: -1 } : { dev: status.dev, ino: status.ino };
}

/**
 * Undoes what a failed add made, if it is still there and still the file it
 * made: removes the name. Never throws: the error that made the add fail is
 * the one to report. Another process may have deleted the name meanwhile
 * (`ip netns delete`), and even made it again: that name is left alone, as
 * is a name that got bound.
 */
function removeMade(dir: number, name: string, made: Made): void {
  const fd = openAt(dir, name, O_PATH | O_NOFOLLOW);
  if (fd < 0) return;
  let ours = false;
  try {
    const status = fileStatus(fd);
    ours = typeof status !== "number" && status.dev === made.dev && status.ino === made.ino &&
      fileSystemType(fd) !== NSFS_MAGIC;
  } finally {
    closeQuietly(fd);
  }
  if (ours) unlinkAt(dir, name);
}

/** An add that failed: the kernel's error, with what a concurrent delete explains. */
function addError(error: unknown, name: string): unknown {
  if (error instanceof SyscallError && error.errno === ENOENT && error.syscall !== "clone") {
    return new SyscallError(error.syscall, error.errno, {
      operation: error.operation,
      path: error.path,
      hint: `"${NETNS_RUN_DIR}/${name}" was removed while the namespace was being added (by a netns delete?)`,
    });
  }
  return error;
}

/**
 * Creates a network namespace named `name` (`ip netns add`).
 *
 * @param name The name.
 * @param options The context to make it in (its `/run/netns`; the namespace
 *   is owned by its user namespace), as `ip netns add` run there would.
 * @returns The path of its file.
 * @throws {TypeError} For an invalid name.
 * @throws {SyscallError} When the name exists or the caller may not make it.
 *
 * @example Two named namespaces, as `ip netns add` makes them, in a context with a /run of its own
 * ```ts
 * import assert from "node:assert/strict";
 * import { addNetns, listNetns, unshare } from "@nsh/nsh";
 *
 * // Rootless, and the host's /run/netns is untouched.
 * await using ctx = await unshare({ user: true, mapRootUser: true, mount: true, net: true }).tmpfs("/run").hold();
 * assert.equal(await addNetns("red", { context: ctx }), "/run/netns/red");
 * await addNetns("blue", { context: ctx });
 * assert.deepEqual(listNetns({ context: ctx }).sort(), ["blue", "red"]);
 * ```
 */
export async function addNetns(name: string, options: ContextOptions = {}): Promise<string> {
  const path = netnsPath(name);
  const place = Place.of(options);
  const dir = await prepareRunDir(place);
  try {
    const made = createNameFile(dir, name, place);
    try {
      // A child (in the context's namespaces) makes the network namespace,
      // which is bound to the file before it exits.
      await place.apply(steps.namespaces("net"), steps.persist("net", path));
    } catch (error) {
      removeMade(dir, name, made);
      throw addError(error, name);
    }
  } finally {
    closeQuietly(dir);
  }
  return path;
}

/**
 * Names a process's network namespace (`ip netns attach`).
 *
 * @example Name the network namespace of a running box (as `ip netns attach`)
 * ```ts
 * import assert from "node:assert/strict";
 * import { attachNetns, identifyNetns, unshare } from "@nsh/nsh";
 *
 * await using ctx = await unshare({ user: true, mapRootUser: true, mount: true, net: true }).tmpfs("/run").hold();
 * const box = ctx.run("sleep", "60").noThrow().spawn(); // in the context's network namespace
 * const { pid } = await box.started;
 * await attachNetns("ctx", pid, { context: ctx });
 * assert.deepEqual(identifyNetns(pid, { context: ctx }), ["ctx"]);
 * box.kill();
 * await box;
 * ```
 *
 * @param name The name.
 * @param pid The process, as the context's `/proc` numbers it.
 * @param options The context, as `ip netns attach` run there would.
 * @returns The path of the name's file.
 * @throws {TypeError} For an invalid name.
 * @throws {SyscallError} When the name exists, the process does not, or the
 *   caller may not make it.
 */
export async function attachNetns(name: string, pid: number, options: ContextOptions = {}): Promise<string> {
  const path = netnsPath(name);
  const place = Place.of(options);
  const source = openProcessNet(place, pid, `bind the network namespace of process ${pid} to "${path}"`);
  try {
    const dir = await prepareRunDir(place);
    try {
      const made = createNameFile(dir, name, place);
      try {
        if (place.ownMounts) await place.apply(steps.bindNamespace(source, "net", path));
        else bindFd(source, dir, name, path, place);
      } catch (error) {
        removeMade(dir, name, made);
        throw addError(error, name);
      }
    } finally {
      closeQuietly(dir);
    }
  } finally {
    closeQuietly(source);
  }
  return path;
}

/** Binds the namespace open at `source` onto a name, in this process's mount namespace. */
function bindFd(source: number, dir: number, name: string, path: string, place: Place): void {
  const target = openAt(dir, name, O_PATH | O_NOFOLLOW);
  if (target < 0) throw new SyscallError("open", -target, { operation: `bind a namespace to "${path}"`, path });
  try {
    if (
      libc().mount(
        cstring(`/proc/self/fd/${source}`),
        cstring(`/proc/self/fd/${target}`),
        null,
        BigInt(MS.BIND),
        null,
      ) < 0
    ) {
      const e = errno();
      throw new SyscallError("mount", e, {
        operation: `bind a network namespace to "${path}"`,
        path,
        hint: needsRoot(e, place),
      });
    }
  } finally {
    closeQuietly(target);
  }
}

/**
 * Opens the network namespace of a process as the place numbers it, with the
 * reason when that fails: no such process, or not the caller's to inspect.
 */
function openProcessNet(place: Place, pid: number | "self", operation: string): number {
  const file = pid === "self" ? place.namespace("net") : place.path(`/proc/${pid}/ns/net`);
  const fd = openAt(AT_FDCWD, file, O_RDONLY);
  if (fd >= 0) return fd;
  const e = -fd;
  let hint: string | undefined;
  if (pid !== "self" && e === ENOENT && identity(place.path(`/proc/${pid}`)) === undefined) {
    hint = `there is no process ${pid}`;
  } else if (pid !== "self" && (e === EACCES || e === EPERM)) {
    hint = `process ${pid} is not yours to inspect (another user's, or protected by a security module)`;
  }
  throw new SyscallError("open", e, { operation, path: pid === "self" ? file : `/proc/${pid}/ns/net`, hint });
}

/**
 * The names of network namespaces (`ip netns list`), in the directory's
 * order, as iproute2 lists them.
 *
 * @example No names yet in a /run of a context's own
 * ```ts
 * import assert from "node:assert/strict";
 * import { addNetns, listNetns, unshare } from "@nsh/nsh";
 *
 * await using ctx = await unshare({ user: true, mapRootUser: true, mount: true, net: true }).tmpfs("/run").hold();
 * assert.deepEqual(listNetns({ context: ctx }), []); // no /run/netns at all
 * await addNetns("red", { context: ctx });
 * assert.deepEqual(listNetns({ context: ctx }), ["red"]);
 * ```
 *
 * @param options The context whose `/run/netns` to list.
 * @returns The names; none when `/run/netns` does not exist.
 * @throws {SyscallError} When `/run/netns` cannot be read.
 */
export function listNetns(options: ContextOptions = {}): string[] {
  const place = Place.of(options);
  try {
    return [...Deno.readDirSync(place.path(NETNS_RUN_DIR))].map((e) => e.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw asSyscallError(error, "open", { operation: `list "${NETNS_RUN_DIR}"`, path: NETNS_RUN_DIR });
  }
}

/**
 * The ids that the network namespace of the place gives named network
 * namespaces (the `(id: N)` of `ip netns list`).
 *
 * @example Ids are given on request (as `ip netns list` shows `(id: N)`)
 * ```ts
 * import assert from "node:assert/strict";
 * import { addNetns, netnsIds, setNetnsId, unshare } from "@nsh/nsh";
 *
 * await using ctx = await unshare({ user: true, mapRootUser: true, mount: true, net: true }).tmpfs("/run").hold();
 * await addNetns("red", { context: ctx });
 * await addNetns("blue", { context: ctx });
 * setNetnsId("red", 7, { context: ctx });
 * assert.deepEqual(netnsIds(["red", "blue", "none"], { context: ctx }), [7, null, undefined]);
 * ```
 *
 * @param names The names.
 * @param options The context whose names and network namespace to ask.
 * @returns For each name: its id, `null` when none is assigned, `undefined`
 *   when it cannot be told (no such name, or no namespace bound to it).
 */
export function netnsIds(names: readonly string[], options: ContextOptions = {}): (number | null | undefined)[] {
  const place = Place.of(options);
  let socket: NsidSocket;
  try {
    socket = NsidSocket.open(place);
  } catch {
    return names.map(() => undefined);
  }
  try {
    return names.map((name) => socket.idOfFile(place.path(`${NETNS_RUN_DIR}/${name}`)));
  } finally {
    socket.close();
  }
}

/**
 * Gives a named network namespace an id in the place's network namespace
 * (`ip netns set NAME ID`).
 *
 * @example Give a named namespace a chosen id (as `ip netns set red 7`)
 * ```ts
 * import assert from "node:assert/strict";
 * import { addNetns, netnsIds, setNetnsId, unshare } from "@nsh/nsh";
 *
 * await using ctx = await unshare({ user: true, mapRootUser: true, mount: true, net: true }).tmpfs("/run").hold();
 * await addNetns("red", { context: ctx });
 * setNetnsId("red", 7, { context: ctx });
 * assert.deepEqual(netnsIds(["red"], { context: ctx }), [7]);
 * assert.throws(() => setNetnsId("red", 8, { context: ctx }), /EEXIST/); // it has one
 * ```
 *
 * @param name The name.
 * @param nsid The id (0 or more), or `"auto"` for the kernel to choose.
 * @param options The context whose names and network namespace to use.
 * @throws {TypeError} For an invalid name.
 * @throws {RangeError} For an invalid id.
 * @throws {SyscallError} When there is no such name, the id is taken or the
 *   namespace has one (EEXIST), or the caller may not set it.
 */
export function setNetnsId(name: string, nsid: number | "auto", options: ContextOptions = {}): void {
  const path = netnsPath(name);
  if (nsid !== "auto" && (!Number.isSafeInteger(nsid) || nsid < 0 || nsid > 0x7fffffff)) {
    throw new RangeError(`Cannot set the id of the network namespace "${name}": ${nsid} is no id (0 or more)`);
  }
  const place = Place.of(options);
  const operation = `set the id of the network namespace "${name}"`;
  const fd = openAt(AT_FDCWD, place.path(path), O_RDONLY);
  if (fd < 0) {
    throw new SyscallError("open", -fd, { operation, path, hint: fd === -ENOENT ? noSuchName(name) : undefined });
  }
  try {
    const socket = NsidSocket.open(place);
    try {
      socket.set(fd, nsid === "auto" ? -1 : nsid);
    } catch (error) {
      if (!(error instanceof SyscallError)) throw error;
      throw new SyscallError("sendmsg", error.errno, {
        operation,
        path,
        hint: error.errno === EEXIST
          ? "the id is taken, or the namespace has an id already"
          : error.errno === EPERM
          ? "setting an id needs CAP_NET_ADMIN over the network namespace"
          : undefined,
      });
    } finally {
      socket.close();
    }
  } finally {
    closeQuietly(fd);
  }
}

/**
 * Deletes the name of a network namespace (`ip netns delete`); the namespace
 * ends when no process is in it any more. A name left empty by an add that
 * was interrupted is removed too.
 *
 * @example A name removed (as `ip netns delete`)
 * ```ts
 * import assert from "node:assert/strict";
 * import { addNetns, deleteNetns, listNetns, unshare } from "@nsh/nsh";
 *
 * await using ctx = await unshare({ user: true, mapRootUser: true, mount: true, net: true }).tmpfs("/run").hold();
 * await addNetns("red", { context: ctx });
 * await deleteNetns("red", { context: ctx });
 * assert.deepEqual(listNetns({ context: ctx }), []);
 * await assert.rejects(deleteNetns("red", { context: ctx }), /ENOENT/);
 * ```
 *
 * @param name The name.
 * @param options The context whose name to delete, as `ip netns delete` run
 *   there would.
 * @throws {TypeError} For an invalid name.
 * @throws {SyscallError} When there is no such name, or the caller may not
 *   delete it.
 */
export async function deleteNetns(name: string, options: ContextOptions = {}): Promise<void> {
  const path = netnsPath(name);
  const place = Place.of(options);
  const operation = `delete the network namespace "${name}"`;
  let opened: OpenedName;
  try {
    opened = openName(place, path, operation);
  } catch (error) {
    if (error instanceof SyscallError && error.errno === ENOENT) {
      throw new SyscallError("unlink", ENOENT, { operation, path, hint: noSuchName(name) });
    }
    throw error;
  }
  try {
    if (isBinding(opened)) await unbind(place, opened, path, operation);
    const r = unlinkAt(opened.dir, opened.name);
    if (r < 0) throw new SyscallError("unlink", -r, { operation, path, hint: needsRoot(-r, place) });
  } finally {
    closeName(opened);
  }
}

/** The device and inode of a file, following links; `undefined` when it cannot be read. */
function identity(path: string): string | undefined {
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
 * @example The names of a process's network namespace (as `ip netns identify`)
 * ```ts
 * import assert from "node:assert/strict";
 * import { addNetns, identifyNetns, netnsExec, unshare } from "@nsh/nsh";
 *
 * await using ctx = await unshare({ user: true, mapRootUser: true, mount: true, net: true }).tmpfs("/run").hold();
 * await addNetns("red", { context: ctx });
 * const box = ctx.sandbox().with(netnsExec("red", { context: ctx }).sandbox).run("sleep", "60").noThrow().spawn();
 * assert.deepEqual(identifyNetns((await box.started).pid, { context: ctx }), ["red"]);
 * assert.deepEqual(identifyNetns("self", { context: ctx }), []); // the context's own has no name
 * box.kill();
 * await box;
 * ```
 *
 * @param pid The process, as the context's `/proc` numbers it, or `"self"`
 *   for the network namespace of the place itself (when left out).
 * @param options The context whose processes and names to read.
 * @returns The names bound to its namespace, in the directory's order; often
 *   none. (`ip netns identify` prints the last.)
 * @throws {SyscallError} When the process does not exist (ENOENT) or is not
 *   the caller's to inspect (EACCES).
 */
export function identifyNetns(pid: number | "self" = "self", options: ContextOptions = {}): string[] {
  const place = Place.of(options);
  const fd = openProcessNet(place, pid, `read the network namespace of process ${pid}`);
  let own: string;
  try {
    const status = fileStatus(fd);
    if (typeof status === "number") {
      throw new SyscallError("statx", -status, { operation: `read the network namespace of process ${pid}` });
    }
    own = `${status.dev}:${status.ino}`;
  } finally {
    closeQuietly(fd);
  }
  return listNetns(options).filter((name) => {
    const fdOf = openAt(AT_FDCWD, place.path(`${NETNS_RUN_DIR}/${name}`), O_PATH);
    if (fdOf < 0) return false;
    const status = fileStatus(fdOf);
    closeQuietly(fdOf);
    return typeof status !== "number" && `${status.dev}:${status.ino}` === own;
  });
}

/**
 * The processes in a named network namespace (`ip netns pids`).
 *
 * @example The processes in a named namespace (as `ip netns pids`)
 * ```ts
 * import assert from "node:assert/strict";
 * import { addNetns, netnsExec, netnsPids, unshare } from "@nsh/nsh";
 *
 * await using ctx = await unshare({ user: true, mapRootUser: true, mount: true, net: true }).tmpfs("/run").hold();
 * await addNetns("red", { context: ctx });
 * assert.deepEqual(netnsPids("red", { context: ctx }), []);
 * const box = ctx.sandbox().with(netnsExec("red", { context: ctx }).sandbox).run("sleep", "60").noThrow().spawn();
 * assert.deepEqual(netnsPids("red", { context: ctx }), [(await box.started).pid]);
 * box.kill();
 * await box;
 * ```
 *
 * @param name The name.
 * @param options The context whose names and `/proc` to read.
 * @returns Their pids, as the place's `/proc` numbers them, in its order.
 * @throws {SyscallError} When there is no such name.
 */
export function netnsPids(name: string, options: ContextOptions = {}): number[] {
  const path = netnsPath(name);
  const place = Place.of(options);
  const target = identity(place.path(path));
  if (target === undefined) {
    throw new SyscallError("open", ENOENT, {
      operation: `read the network namespace "${name}"`,
      path,
      hint: noSuchName(name),
    });
  }
  const proc = place.path("/proc");
  const pids: number[] = [];
  for (const entry of Deno.readDirSync(proc)) {
    if (/^\d+$/.test(entry.name) && identity(`${proc}/${entry.name}/ns/net`) === target) pids.push(Number(entry.name));
  }
  return pids;
}

/**
 * The sandbox of `ip netns exec NAME`: join the named network namespace, in a
 * new mount namespace whose mounts do not propagate back, with a `/sys` of
 * that namespace and `/etc/netns/NAME/*` shown over `/etc/*`.
 *
 * @param name The name.
 * @param options The context whose names and `/etc` to use; run the sandbox
 *   there (`context.sandbox().with(sandbox)`).
 * @returns The sandbox, and the entries of `/etc/netns/NAME` that have no
 *   counterpart in `/etc` (iproute2 warns about those and goes on).
 * @throws {TypeError} For an invalid name.
 * @throws {SyscallError} When there is no such name, or the name is not bound
 *   to a namespace (left behind by an add that was interrupted).
 *
 * @example Run a program in a named namespace, as `ip netns exec` does, in a context with a /run of its own
 * ```ts
 * import assert from "node:assert/strict";
 * import { addNetns, netnsExec, unshare } from "@nsh/nsh";
 *
 * await using ctx = await unshare({ user: true, mapRootUser: true, mount: true, net: true }).tmpfs("/run").hold();
 * await addNetns("red", { context: ctx });
 * const { sandbox: red } = netnsExec("red", { context: ctx });
 * const links = await ctx.sandbox().with(red).run("ip", "-brief", "link").lines();
 * assert.match(links.join("\n"), /^lo\s+DOWN/); // a new namespace's loopback
 * ```
 */
export function netnsExec(name: string, options: ContextOptions = {}): { sandbox: Sandbox; skipped: string[] } {
  const path = netnsPath(name);
  const place = Place.of(options);
  const operation = `enter the network namespace "${name}"`;
  let opened: OpenedName;
  try {
    opened = openName(place, path, operation);
  } catch (error) {
    if (error instanceof SyscallError && error.errno === ENOENT) {
      throw new SyscallError("open", ENOENT, { operation, path, hint: noSuchName(name) });
    }
    throw error;
  }
  try {
    if (!isBinding(opened)) throw notBound(opened, name, operation);
  } finally {
    closeName(opened);
  }
  const list: steps.Step[] = [
    steps.enter("net", place.path(path)),
    steps.namespaces("mnt"),
    steps.propagation("slave"),
    steps.umount("/sys", { ignoreErrors: true }),
    steps.mount({ source: name, target: "/sys", type: "sysfs" }),
  ];
  const skipped: string[] = [];
  let entries: string[] = [];
  try {
    entries = [...Deno.readDirSync(place.path(`${NETNS_ETC_DIR}/${name}`))].map((e) => e.name).sort();
  } catch {
    // No /etc/netns/NAME: nothing to show over /etc.
  }
  for (const entry of entries) {
    if (identity(place.path(`/etc/${entry}`)) === undefined) skipped.push(entry);
    else list.push(steps.bindMount(`${NETNS_ETC_DIR}/${name}/${entry}`, `/etc/${entry}`));
  }
  return { sandbox: sandbox(...list), skipped };
}

/**
 * The error for a name that is no namespace binding: most often the empty
 * file of an add that was killed before it bound the namespace (iproute2
 * has the same window).
 */
function notBound(opened: OpenedName, name: string, operation: string): SyscallError {
  const path = `${NETNS_RUN_DIR}/${name}`;
  const type = opened.status.mode & S_IFMT;
  const what = type === S_IFREG ? "an empty file" : type === S_IFLNK ? "a symbolic link" : "no namespace binding";
  return new SyscallError("ioctl", ENOTTY, {
    operation,
    path,
    hint:
      `"${path}" is ${what}, not a namespace: the leftover of a netns add that was interrupted; remove it with nsh netns delete ${name}`,
  });
}
