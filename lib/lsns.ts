/**
 * The namespaces of processes as util-linux `lsns` finds them: the links in
 * `/proc/PID/ns/`, the namespaces bound to files (nsfs mounts in
 * `/proc/self/mountinfo`), those that a process holds only by a descriptor
 * (of a namespace file, or a socket's network namespace), and their parents
 * and owners through the `NS_GET_PARENT` and `NS_GET_USERNS` ioctls of
 * ioctl_ns(2). In a shell context, all of it as a process there sees it.
 *
 * @module
 */

import { cstring, exists, libc } from "../ffi/libc.ts";
import { routine } from "../ffi/routine.ts";
import { closeQuietly } from "../ffi/fs.ts";
import { osErrno } from "../ffi/error.ts";
import { errnoName } from "../ffi/errno.ts";
import {
  AT_EMPTY_PATH,
  ESRCH,
  NS_GET_NSTYPE,
  NS_GET_OWNER_UID,
  NS_GET_PARENT,
  NS_GET_USERNS,
  O_CLOEXEC,
  O_RDONLY,
  SIOCGSKNS,
  STATX_INO,
} from "../ffi/constants.ts";
import { namespaceInfo, NAMESPACES, type NamespaceType } from "./namespaces.ts";
import { NsidSocket } from "./netlink.ts";
import { type ContextOptions, Place } from "./place.ts";
import { checkKeys } from "./check.ts";

/** The name of an entry of `/proc/PID/ns/`: a kind of namespace, or one the process's children will be in. */
export type NamespaceLinkName = NamespaceType | "pid_for_children" | "time_for_children";

/** An entry of `/proc/PID/ns/` that could be read. */
export interface NamespaceLink {
  /** The entry's name, such as `"net"` or `"pid_for_children"`. */
  readonly name: NamespaceLinkName;
  /** The kind of namespace: `"pid"` for `pid_for_children`. */
  readonly type: NamespaceType;
  /** The inode number, which identifies the namespace. */
  readonly inode: number;
  /** The link's text, such as `"net:[4026531840]"`. */
  readonly link: string;
}

/** An entry of `/proc/PID/ns/` that could not be read. */
export interface UnreadableNamespaceLink {
  /** The entry's name, such as `"net"` or `"pid_for_children"`. */
  readonly name: NamespaceLinkName;
  /** The kind of namespace: `"pid"` for `pid_for_children`. */
  readonly type: NamespaceType;
  /** Always `undefined`: test it to tell the two kinds of entry apart. */
  readonly inode: undefined;
  /**
   * Why, as an errno name: `"ENOENT"` when the kernel lacks that kind or the
   * process is exiting (a zombie), `"EACCES"` when the caller may not inspect
   * the process.
   */
  readonly code: string;
}

/** The namespaces of one process, by the names of `/proc/PID/ns/`. */
export type ProcessNamespaces = { readonly [N in NamespaceLinkName]: NamespaceLink | UnreadableNamespaceLink };

/** What `lsns` shows of a process. */
export interface ProcessInfo {
  /** Its process id. */
  readonly pid: number;
  /** Its parent's process id; 0 when the parent is outside the caller's PID namespace. */
  readonly ppid: number;
  /** The owner of `/proc/PID`: its effective uid (root for a process that is not dumpable). */
  readonly uid: number;
  /** The name of that uid, or the uid as text when it has none. */
  readonly user: string;
  /**
   * Its command line as `lsns` shows it: the first 8 KiB of
   * `/proc/PID/cmdline` with NULs as spaces, or its name (`comm`) when that is
   * empty, as for kernel threads.
   */
  readonly command: string;
}

/** One namespace, with what `lsns` shows of it. */
export interface NamespaceEntry {
  /** The inode number, which identifies it (`NS`). */
  readonly inode: number;
  /** Its kind (`TYPE`). */
  readonly type: NamespaceType;
  /** How many processes are in it (`NPROCS`). */
  readonly nprocs: number;
  /** The processes in it, lowest first; empty when it is held only by a bind mount or a child namespace. */
  readonly pids: readonly number[];
  /** The lowest process id in it (`PID`), the process the other fields describe. */
  readonly pid: number | undefined;
  /** That process's parent (`PPID`). */
  readonly ppid: number | undefined;
  /** That process's command line (`COMMAND`), as {@linkcode ProcessInfo.command}. */
  readonly command: string | undefined;
  /**
   * That process's uid (`UID`). For a namespace no process is in: the uid that
   * created it (of its owning user namespace, for kinds other than user), when
   * the kernel tells.
   */
  readonly uid: number | undefined;
  /** The name of that uid (`USER`). */
  readonly user: string | undefined;
  /** `/proc/PID/ns/TYPE` of that process (`PATH`). */
  readonly path: string | undefined;
  /** The mount points where it is bound to a file (`NSFS`), in mount order. */
  readonly nsfs: readonly string[];
  /** The inode of its parent, for pid and user namespaces (`PNS`), when relations were read and it is visible. */
  readonly parent: number | undefined;
  /** The inode of its owning user namespace (`ONS`), when relations were read and it is visible. */
  readonly owner: number | undefined;
  /**
   * For a network namespace, when asked for (`netnsIds`): the id the
   * place's network namespace gives it, `null` when none is assigned,
   * `undefined` when it cannot be told.
   */
  readonly netnsid?: number | null | undefined;
}

/** Options of {@linkcode listNamespaces}. */
export interface ListNamespacesOptions extends ContextOptions {
  /**
   * Only namespaces of these kinds.
   *
   * @default {all eight}
   */
  types?: readonly NamespaceType[];
  /** Only the namespaces this process is in, as `lsns --task`; `nprocs` still counts every process. */
  pid?: number;
  /**
   * Only namespaces that no process is in, as `lsns --persistent`: those held
   * by a bind mount or a descriptor (and, with `ancestors`, parents and owners
   * held by a child).
   *
   * @default {false}
   */
  persistent?: boolean;
  /**
   * Read each namespace's parent and owner (`parent`, `owner`): one open and
   * two ioctls per namespace.
   *
   * @default {false}
   */
  relations?: boolean;
  /**
   * Also list the parents and owners that no listed process is in, of any
   * kind, as the trees of `lsns --tree=parent|owner` do. Implies `relations`.
   *
   * @default {false}
   */
  ancestors?: boolean;
  /**
   * Also list the namespaces that processes hold only by an open descriptor,
   * of a namespace file (`/proc/PID/fd/N` → `net:[…]`) or of a socket (its
   * network namespace), with their parents and owners, as util-linux 2.40
   * and later do. Sockets are taken with `pidfd_getfd(2)`, which needs the
   * right to trace the process.
   *
   * @default {true}
   */
  held?: boolean;
  /**
   * Ask the network namespace of the place for the id it gives each listed
   * network namespace (`netnsid`, the `NETNSID` column).
   *
   * @default {false}
   */
  netnsIds?: boolean;
}

const LINK_NAMES: readonly NamespaceLinkName[] = [
  ...NAMESPACES.map((info) => info.type),
  "pid_for_children",
  "time_for_children",
];

// util-linux reads /proc files into a buffer of BUFSIZ bytes.
const BUFSIZ = 8192;

const decoder = new TextDecoder();

function checkPid(pid: number | "self", what: string): void {
  if (pid !== "self" && (!Number.isSafeInteger(pid) || pid <= 0)) {
    throw new RangeError(`Cannot read ${what} of process ${pid}: not a process id`);
  }
}

/** Rethrows what is not a failed file operation: Deno's own permission checks. */
function onlyFileErrors(error: unknown): void {
  if (error instanceof Deno.errors.NotCapable) throw error;
}

function gone(pid: number | "self", what: string): Deno.errors.NotFound {
  return new Deno.errors.NotFound(`Cannot read ${what} of process ${pid}: no such process`);
}

/** The inode in a link's text such as `net:[4026531840]`. */
function linkInode(link: string): number {
  return Number(link.slice(link.indexOf("[") + 1, -1));
}

/** The errno name of a failed file operation. */
function errorCode(error: unknown): string {
  onlyFileErrors(error);
  const errno = osErrno(error);
  return errno === undefined ? "EIO" : errnoName(errno);
}

/**
 * The namespaces of a process, from the links in `/proc/PID/ns/`.
 *
 * @param pid The process (as the context's `/proc` numbers it), or `"self"` for the calling one.
 * @param options The context whose `/proc` to read.
 * @returns One entry per name of {@linkcode NamespaceLinkName}; an entry the
 *   kernel lacks or that may not be read says why instead of its inode.
 * @throws {RangeError} When `pid` is not a positive integer.
 * @throws {Deno.errors.NotFound} When there is no such process.
 *
 * @example Compare a process's network namespace with this one's
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { processNamespaces } from "@nsh/nsh";
 *
 * const self = processNamespaces("self");
 * equal(processNamespaces(Deno.pid).net.inode, self.net.inode);
 * ```
 */
export function processNamespaces(pid: number | "self", options: ContextOptions = {}): ProcessNamespaces {
  checkPid(pid, "the namespaces");
  const proc = Place.of(options).path("/proc");
  const result: Partial<Record<NamespaceLinkName, NamespaceLink | UnreadableNamespaceLink>> = {};
  let readable = false;
  for (const name of LINK_NAMES) {
    const type: NamespaceType = name === "pid_for_children" ? "pid" : name === "time_for_children" ? "time" : name;
    try {
      const link = Deno.readLinkSync(`${proc}/${pid}/ns/${name}`);
      result[name] = { name, type, inode: linkInode(link), link };
      readable = true;
    } catch (error) {
      result[name] = { name, type, inode: undefined, code: errorCode(error) };
    }
  }
  if (!readable && !exists(`${proc}/${pid}`)) throw gone(pid, "the namespaces");
  return result as ProcessNamespaces;
}

/**
 * A file of `/proc/PID/` as util-linux reads it for a command: at most
 * BUFSIZ bytes, NULs as spaces, without the last byte (the final NUL or
 * newline).
 */
function procLine(path: string): string | undefined {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (error) {
    onlyFileErrors(error);
    return undefined;
  }
  if (bytes.length === 0) return undefined;
  bytes = bytes.subarray(0, Math.min(bytes.length, BUFSIZ) - 1);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0) bytes[i] = 0x20;
  return decoder.decode(bytes);
}

/** Looks up user names once per uid, in the place's user database. */
class UserNames {
  readonly #place: Place;
  #names = new Map<number, string>();

  constructor(place: Place) {
    this.#place = place;
  }

  name(uid: number): string {
    let name = this.#names.get(uid);
    if (name === undefined) {
      name = this.#place.userName(uid) ?? String(uid);
      this.#names.set(uid, name);
    }
    return name;
  }
}

function readProcess(place: Place, pid: number, users: UserNames): ProcessInfo {
  const proc = place.path("/proc");
  let stat: string, uid: number;
  try {
    stat = Deno.readTextFileSync(`${proc}/${pid}/stat`);
    uid = place.uid(Deno.statSync(`${proc}/${pid}`).uid ?? 0);
  } catch (error) {
    // Ended since it was listed: ENOENT, or ESRCH while it exits.
    if (error instanceof Deno.errors.NotFound || osErrno(error) === ESRCH) {
      throw gone(pid, "the status");
    }
    throw error;
  }
  // The name, in parentheses, may hold spaces and parentheses: the state and
  // the parent follow the last ")".
  const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  const command = procLine(`${proc}/${pid}/cmdline`) ?? procLine(`${proc}/${pid}/comm`) ?? "";
  return { pid, ppid, uid, user: users.name(uid), command };
}

/**
 * What `lsns` shows of a process: its parent, owner and command line.
 *
 * @param pid The process, as the context's `/proc` numbers it.
 * @param options The context whose `/proc` to read.
 * @returns Its description; its uid and user as seen there.
 * @throws {RangeError} When `pid` is not a positive integer.
 * @throws {Deno.errors.NotFound} When there is no such process.
 *
 * @example The command line of this process
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { processInfo } from "@nsh/nsh";
 *
 * ok(processInfo(Deno.pid).command?.includes("deno")); // "deno test …"
 * ```
 */
export function processInfo(pid: number, options: ContextOptions = {}): ProcessInfo {
  checkPid(pid, "the status");
  const place = Place.of(options);
  return readProcess(place, pid, new UserNames(place));
}

/** Unescapes a field of mountinfo: spaces, tabs, newlines and backslashes are written as `\ooo`. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * The nsfs mounts of the place's mount namespace: mount points by the
 * mount's root, which names the namespace (`net:[4026532...]`).
 */
function nsfsMounts(place: Place): Map<string, string[]> {
  const mounts = new Map<string, string[]>();
  let text: string;
  try {
    text = Deno.readTextFileSync(place.self("mountinfo"));
  } catch (error) {
    onlyFileErrors(error);
    return mounts;
  }
  for (const line of text.split("\n")) {
    if (!line.includes(" - nsfs ")) continue;
    const fields = line.split(" ");
    const dash = fields.indexOf("-", 6);
    if (dash < 0 || fields[dash + 1] !== "nsfs" || fields[3] === undefined || fields[4] === undefined) continue;
    const root = unescapeMountField(fields[3]);
    const target = unescapeMountField(fields[4]);
    const targets = mounts.get(root);
    if (!targets) mounts.set(root, [target]);
    else if (!targets.includes(target)) targets.push(target);
  }
  return mounts;
}

/** A namespace while it is being found. */
interface Found {
  readonly inode: number;
  readonly type: NamespaceType;
  readonly pids: number[];
  /** A file to open it by when no process is in it. */
  file?: string;
  uid?: number | undefined;
  parent?: number | undefined;
  owner?: number | undefined;
  /** Relations read already (for namespaces found through a descriptor). */
  related?: boolean;
  netnsid?: number | null | undefined;
}

const statxBuffer = new Uint8Array(256);
const uidBuffer = new Uint32Array(1);

/** The inode of an open file: `stx_ino`, at offset 32 of struct statx. */
function fdInode(fd: number): number | undefined {
  if (libc().statx(fd, cstring(""), AT_EMPTY_PATH, STATX_INO, statxBuffer) < 0) return undefined;
  return Number(new DataView(statxBuffer.buffer).getBigUint64(32, true));
}

/** Opens a namespace file; -1 when it cannot be. */
function openNamespace(path: string): number {
  return libc().open(cstring(path), O_RDONLY | O_CLOEXEC, 0);
}

/** The kind of the namespace open at `fd` (NS_GET_NSTYPE), or `undefined`. */
function fdType(fd: number): NamespaceType | undefined {
  const flag = libc().ioctl(fd, BigInt(NS_GET_NSTYPE), null);
  return flag < 0 ? undefined : NAMESPACES.find((info) => info.flag === flag)?.type;
}

/** Runs `use` on the namespace an ioctl returns as a new fd, then closes it. */
function withRelated<T>(fd: number, request: number, use: (related: number) => T): T | undefined {
  const c = libc();
  const related = c.ioctl(fd, BigInt(request), null);
  if (related < 0) return undefined;
  try {
    return use(related);
  } finally {
    c.close(related);
  }
}

/** The uid that created a user namespace: NS_GET_OWNER_UID. */
function userNamespaceOwner(fd: number): number | undefined {
  return libc().ioctl(fd, BigInt(NS_GET_OWNER_UID), uidBuffer) < 0 ? undefined : uidBuffer[0];
}

/** The uid that created a namespace, or its owning user namespace for other kinds. */
function creatorUid(fd: number, type: NamespaceType): number | undefined {
  if (type === "user") return userNamespaceOwner(fd);
  return withRelated(fd, NS_GET_USERNS, userNamespaceOwner);
}

/**
 * The pids this process gives the processes a context's `/proc` lists, when
 * that proc shows another PID namespace (`pidfd_open` takes this process's
 * numbers). A process is known by its PID namespace, its start time and its
 * pid there, which `NSpid` of `/proc/PID/status` lists with the others.
 */
class HostPids {
  readonly #proc: string;
  readonly #same: boolean;
  #index: Map<string, { pid: number; nspids: number[] }[]> | undefined;

  constructor(proc: string) {
    this.#proc = proc;
    let same = proc === "/proc";
    try {
      same ||= Deno.statSync(proc).dev === Deno.statSync("/proc").dev;
    } catch {
      // Unreadable: map nothing.
    }
    this.#same = same;
  }

  /** The key of a process: its PID namespace and start time. */
  static #key(proc: string, pid: string): string | undefined {
    try {
      const stat = Deno.readTextFileSync(`${proc}/${pid}/stat`);
      const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
      return `${Deno.readLinkSync(`${proc}/${pid}/ns/pid`)} ${start}`;
    } catch {
      return undefined;
    }
  }

  of(pid: number): number | undefined {
    if (this.#same) return pid;
    if (!this.#index) {
      this.#index = new Map();
      for (const entry of Deno.readDirSync("/proc")) {
        if (!/^\d+$/.test(entry.name)) continue;
        const key = HostPids.#key("/proc", entry.name);
        const nspid = /^NSpid:\s+(.*)$/m.exec(readOr(`/proc/${entry.name}/status`) ?? "")?.[1];
        if (key === undefined || nspid === undefined) continue;
        const list = this.#index.get(key) ?? [];
        list.push({ pid: Number(entry.name), nspids: nspid.split(/\s+/).map(Number) });
        this.#index.set(key, list);
      }
    }
    const key = HostPids.#key(this.#proc, String(pid));
    return key === undefined ? undefined : this.#index.get(key)?.find((e) => e.nspids.includes(pid))?.pid;
  }
}

function readOr(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** The state of one listing. */
class Scan {
  readonly found = new Map<number, Found>();
  readonly ancestors: boolean;
  readonly types: ReadonlySet<NamespaceType>;
  readonly ids: NsidSocket | undefined;

  constructor(ancestors: boolean, types: ReadonlySet<NamespaceType>, ids: NsidSocket | undefined) {
    this.ancestors = ancestors;
    this.types = types;
    this.ids = ids;
  }

  /** Reads the parent and owner of a namespace open as `fd`, adding those not found yet when asked. */
  relate(ns: Found, fd: number, always = false): void {
    // As lsns: EPERM (a parent or owner outside the caller's namespaces) and
    // any other failure leave the relation unknown.
    if (ns.type === "pid" || ns.type === "user") {
      withRelated(fd, NS_GET_PARENT, (parent) => {
        ns.parent = fdInode(parent);
        this.#addAncestor(parent, ns.parent, ns.type, always);
      });
    }
    withRelated(fd, NS_GET_USERNS, (owner) => {
      ns.owner = fdInode(owner);
      this.#addAncestor(owner, ns.owner, "user", always);
    });
    ns.related = true;
  }

  #addAncestor(fd: number, inode: number | undefined, type: NamespaceType, always: boolean): void {
    if (inode === undefined || this.found.has(inode)) return;
    // The trees show ancestors of any kind; otherwise, as util-linux adds
    // those of a namespace found through a descriptor, of the kinds asked for.
    if (this.ancestors || (always && this.types.has(type))) this.addFd(fd, inode, type, always);
  }

  /**
   * Adds a namespace that no process is known to be in, open at `fd` (a bind
   * mount, a descriptor, an ancestor), as util-linux's add_namespace_for_nsfd().
   */
  addFd(fd: number, inode: number, type: NamespaceType, always: boolean, file?: string): Found {
    const ns: Found = { inode, type, pids: [], ...(file === undefined ? {} : { file }) };
    this.found.set(inode, ns);
    ns.uid = creatorUid(fd, type);
    if (type === "net" && this.ids) ns.netnsid = this.ids.idOf(fd);
    this.relate(ns, fd, always);
    return ns;
  }
}

/** Adds the namespaces of every process in the place's `/proc`, as lsns counts them. */
function scanProcesses(scan: Scan, proc: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync(proc)) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    pids.push(pid);
    for (const type of scan.types) {
      let link: string;
      try {
        link = Deno.readLinkSync(`${proc}/${pid}/ns/${type}`);
      } catch (error) {
        // The process ended, is a zombie, or may not be inspected: lsns skips it.
        onlyFileErrors(error);
        continue;
      }
      const inode = linkInode(link);
      const ns = scan.found.get(inode);
      if (ns) ns.pids.push(pid);
      else scan.found.set(inode, { inode, type, pids: [pid] });
    }
  }
  return pids;
}

/**
 * Adds the namespaces that processes hold only by a descriptor, as lsns 2.40
 * and later do: a namespace file open (`/proc/PID/fd/N` on nsfs), or a
 * socket, whose network namespace `SIOCGSKNS` gives (taken from the process
 * with `pidfd_getfd`). Failures are skipped: this is extra information.
 */
function scanDescriptors(scan: Scan, proc: string, pids: readonly number[]): void {
  let nsfs: number;
  try {
    nsfs = Deno.statSync("/proc/self/ns/net").dev;
  } catch {
    return;
  }
  const sockets = scan.types.has("net");
  const hostPids = new HostPids(proc);
  const { syscall, sysno } = routine();
  for (const pid of pids) {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(`${proc}/${pid}/fd`)];
    } catch {
      continue; // Ended, or not the caller's to inspect.
    }
    let pidfd = -1;
    try {
      for (const { name } of entries) {
        const path = `${proc}/${pid}/fd/${name}`;
        // The link tells sockets, pipes and anonymous inodes at once; a
        // namespace file may show as its name ("net:[…]") or as the path it
        // was opened by (a bind mount, "/" once detached): its device tells.
        let link: string;
        try {
          link = Deno.readLinkSync(path);
        } catch {
          continue;
        }
        if (link.startsWith("socket:[")) {
          if (!sockets) continue;
          if (pidfd < 0) {
            const host = hostPids.of(pid);
            pidfd = host === undefined ? -1 : syscall(sysno.pidfd_open, host, 0);
            if (pidfd < 0) break;
          }
          const socket = syscall(sysno.pidfd_getfd, pidfd, Number(name), 0);
          if (socket < 0) continue;
          try {
            withRelated(socket, SIOCGSKNS, (net) => {
              const inode = fdInode(net);
              if (inode !== undefined && !scan.found.has(inode)) scan.addFd(net, inode, "net", true);
            });
          } finally {
            libc().close(socket);
          }
          continue;
        }
        if (link.startsWith("pipe:[") || link.startsWith("anon_inode:")) continue;
        let info: Deno.FileInfo;
        try {
          info = Deno.statSync(path);
        } catch {
          continue;
        }
        if (info.dev !== nsfs || info.ino === null || scan.found.has(info.ino)) continue;
        const fd = openNamespace(path);
        if (fd < 0) continue;
        try {
          // What is open is checked through the descriptor: a namespace of a kind asked for.
          const type = fdType(fd);
          if (type && scan.types.has(type) && fdInode(fd) === info.ino) scan.addFd(fd, info.ino, type, true);
        } finally {
          libc().close(fd);
        }
      }
    } finally {
      closeQuietly(pidfd);
    }
  }
}

/** Adds the namespaces bound to files that no process is in, as lsns 2.39 and later do. */
function scanPersistent(scan: Scan, place: Place, mounts: Map<string, string[]>): void {
  for (const [root, targets] of mounts) {
    const match = /^([a-z]+):\[(\d+)\]$/.exec(root);
    const type = match ? namespaceInfo(match[1]!)?.type : undefined;
    if (!match || !type || !scan.types.has(type)) continue;
    const inode = Number(match[2]);
    if (scan.found.has(inode)) continue;
    // A mount point this process cannot open (under a directory it may not
    // search) hides the namespace, as in lsns.
    for (const target of targets) {
      const fd = openNamespace(place.path(target));
      if (fd < 0) continue;
      try {
        scan.addFd(fd, inode, type, true, place.path(target));
      } finally {
        libc().close(fd);
      }
      break;
    }
  }
}

/** Reads what needs an open namespace: relations, and the id of a network namespace a process is in. */
function inspect(scan: Scan, ns: Found, proc: string, relations: boolean): void {
  const first = ns.pids[0];
  if (ns.related || first === undefined) return;
  const wantsId = ns.type === "net" && scan.ids !== undefined;
  if (!relations && !wantsId) return;
  const fd = openNamespace(`${proc}/${first}/ns/${ns.type}`);
  if (fd < 0) return;
  try {
    if (wantsId) ns.netnsid = scan.ids!.idOf(fd);
    if (relations) scan.relate(ns, fd);
  } finally {
    libc().close(fd);
  }
}

function entryOf(
  place: Place,
  ns: Found,
  mounts: Map<string, string[]>,
  users: UserNames,
  withIds: boolean,
): NamespaceEntry {
  const pid = ns.pids[0];
  let process: ProcessInfo | undefined;
  try {
    if (pid !== undefined) process = readProcess(place, pid, users);
  } catch (error) {
    // The process ended since it was counted.
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const uid = process ? process.uid : ns.uid === undefined ? undefined : place.uid(ns.uid);
  return {
    inode: ns.inode,
    type: ns.type,
    nprocs: ns.pids.length,
    pids: ns.pids,
    pid,
    ppid: process?.ppid,
    command: process?.command,
    uid,
    user: process ? process.user : uid === undefined ? undefined : users.name(uid),
    path: pid === undefined ? undefined : `/proc/${pid}/ns/${ns.type}`,
    nsfs: mounts.get(`${ns.type}:[${ns.inode}]`) ?? [],
    parent: ns.parent,
    owner: ns.owner,
    ...(withIds && ns.type === "net" ? { netnsid: ns.netnsid } : {}),
  };
}

function checkTypes(types: readonly NamespaceType[]): void {
  for (const type of types) {
    if (namespaceInfo(type)?.type !== type) {
      throw new TypeError(`Cannot list namespaces: unknown namespace type "${type}"`);
    }
  }
}

/** The keys of {@linkcode ListNamespacesOptions}: the type checker sees that none is missing. */
const LIST_KEYS = Object.keys(
  {
    types: true,
    pid: true,
    persistent: true,
    relations: true,
    ancestors: true,
    held: true,
    netnsIds: true,
    context: true,
  } satisfies Record<keyof ListNamespacesOptions, true>,
);

/**
 * The namespaces `lsns` lists: those of every process in `/proc` (the
 * place's `/proc`, so its PID namespace decides which processes it sees),
 * those processes hold by a descriptor, and those bound to files in its mount
 * namespace, sorted by inode.
 *
 * As `lsns`, it counts processes whose namespaces it may read: as another user
 * than root, the namespaces of other users' processes are missing.
 *
 * @param options Filters, what to read, and the context to look in.
 * @returns One entry per namespace, lowest inode first.
 * @throws {TypeError} For an unknown namespace type.
 * @throws {RangeError} When `options.pid` is not a positive integer.
 * @throws {Deno.errors.NotFound} When there is no process `options.pid`.
 *
 * @example The network namespaces and how many processes each holds
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { listNamespaces } from "@nsh/nsh";
 *
 * const nets = listNamespaces({ types: ["net"] });
 * ok(nets.some((ns) => ns.pids.includes(Deno.pid) && ns.nprocs >= 1));
 * ```
 */
export function listNamespaces(options: ListNamespacesOptions = {}): NamespaceEntry[] {
  checkKeys(options, LIST_KEYS, "listNamespaces");
  const types = options.types ?? NAMESPACES.map((info) => info.type);
  checkTypes(types);
  const place = Place.of(options);
  const proc = place.path("/proc");
  const pid = options.pid;
  if (pid !== undefined) {
    checkPid(pid, "the namespaces");
    if (!exists(`${proc}/${pid}`)) throw gone(pid, "the namespaces");
  }
  const ancestors = options.ancestors ?? false;
  const relations = ancestors || (options.relations ?? false);
  const withIds = (options.netnsIds ?? false) && types.includes("net");
  let ids: NsidSocket | undefined;
  try {
    if (withIds) ids = NsidSocket.open(place);
  } catch {
    // No ids to show: the cells stay empty, as lsns leaves them.
  }
  try {
    const scan = new Scan(ancestors, new Set(types), ids);
    const pids = scanProcesses(scan, proc);
    if (options.held ?? true) scanDescriptors(scan, proc, pids);
    const mounts = nsfsMounts(place);
    scanPersistent(scan, place, mounts);
    // Ancestors found on the way are inspected as they are added.
    for (const ns of [...scan.found.values()]) inspect(scan, ns, proc, relations);
    const users = new UserNames(place);
    const entries: NamespaceEntry[] = [];
    for (const ns of [...scan.found.values()].sort((a, b) => a.inode - b.inode)) {
      ns.pids.sort((a, b) => a - b);
      if (pid !== undefined && !ns.pids.includes(pid)) continue;
      if (options.persistent && ns.pids.length) continue;
      entries.push(entryOf(place, ns, mounts, users, withIds));
    }
    return entries;
  } finally {
    ids?.close();
  }
}

/**
 * The id the place's network namespace gives another network namespace
 * (`NETNSID` of lsns), asked of the kernel with an RTM_GETNSID message.
 *
 * @example The id a context's network namespace gives a named one, as lsns shows it
 * ```ts
 * import assert from "node:assert/strict";
 * import { addNetns, netnsId, setNetnsId, unshare } from "@nsh/nsh";
 *
 * await using ctx = await unshare({ user: true, mapRootUser: true, mount: true, net: true }).tmpfs("/run").hold();
 * await addNetns("red", { context: ctx });
 * assert.equal(netnsId(ctx.hostPath("/run/netns/red"), { context: ctx }), null); // none yet
 * setNetnsId("red", 7, { context: ctx });
 * assert.equal(netnsId(ctx.hostPath("/run/netns/red"), { context: ctx }), 7);
 * ```
 *
 * @param path A file of the namespace: `/proc/PID/ns/net` or a file it is
 *   bound to, as this process reaches it.
 * @param options The context whose network namespace to ask.
 * @returns The id, `null` when none is assigned, or `undefined` when the kernel cannot be asked.
 */
export function netnsId(path: string, options: ContextOptions = {}): number | null | undefined {
  let socket: NsidSocket;
  try {
    socket = NsidSocket.open(Place.of(options));
  } catch {
    return undefined;
  }
  try {
    return socket.idOfFile(path);
  } finally {
    socket.close();
  }
}
