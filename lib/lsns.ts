/**
 * The namespaces of processes as util-linux `lsns` finds them: the links in
 * `/proc/PID/ns/`, the namespaces bound to files (nsfs mounts in
 * `/proc/self/mountinfo`), and their parents and owners through the
 * `NS_GET_PARENT` and `NS_GET_USERNS` ioctls of ioctl_ns(2).
 *
 * @module
 */

import { cstring, libc } from "../ffi/libc.ts";
import { userName } from "./idmap.ts";
import { namespaceInfo, NAMESPACES, type NamespaceType } from "./namespaces.ts";

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
}

/** Options of {@linkcode listNamespaces}. */
export interface ListNamespacesOptions {
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
   * by a bind mount (and, with `ancestors`, parents and owners held by a child).
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
}

const LINK_NAMES: readonly NamespaceLinkName[] = [
  ...NAMESPACES.map((info) => info.type),
  "pid_for_children",
  "time_for_children",
];

// ioctl_ns(2): _IO(0xb7, n).
const NS_GET_USERNS = 0xb701n;
const NS_GET_PARENT = 0xb702n;
const NS_GET_OWNER_UID = 0xb704n;
const O_RDONLY = 0, O_CLOEXEC = 0o2000000;
const AT_EMPTY_PATH = 0x1000, STATX_INO = 0x100;
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

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    onlyFileErrors(error);
    return false;
  }
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
  return (error as { code?: string }).code ?? "EIO";
}

/**
 * The namespaces of a process, from the links in `/proc/PID/ns/`.
 *
 * @param pid The process, or `"self"` for the calling one.
 * @returns One entry per name of {@linkcode NamespaceLinkName}; an entry the
 *   kernel lacks or that may not be read says why instead of its inode.
 * @throws {RangeError} When `pid` is not a positive integer.
 * @throws {Deno.errors.NotFound} When there is no such process.
 *
 * @example Compare a process's network namespace with this one's
 * ```ts
 * import { processNamespaces } from "../mod.ts";
 *
 * const self = processNamespaces("self");
 * const init = processNamespaces(1);
 * if (self.net.inode !== undefined && self.net.inode === init.net.inode) console.log("same network");
 * ```
 */
export function processNamespaces(pid: number | "self"): ProcessNamespaces {
  checkPid(pid, "the namespaces");
  const result: Partial<Record<NamespaceLinkName, NamespaceLink | UnreadableNamespaceLink>> = {};
  let readable = false;
  for (const name of LINK_NAMES) {
    const type: NamespaceType = name === "pid_for_children" ? "pid" : name === "time_for_children" ? "time" : name;
    try {
      const link = Deno.readLinkSync(`/proc/${pid}/ns/${name}`);
      result[name] = { name, type, inode: linkInode(link), link };
      readable = true;
    } catch (error) {
      result[name] = { name, type, inode: undefined, code: errorCode(error) };
    }
  }
  if (!readable && !exists(`/proc/${pid}`)) throw gone(pid, "the namespaces");
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

/** Looks up user names once per uid. */
class UserNames {
  #names = new Map<number, string>();

  name(uid: number): string {
    let name = this.#names.get(uid);
    if (name === undefined) {
      name = userName(uid) ?? String(uid);
      this.#names.set(uid, name);
    }
    return name;
  }
}

function readProcess(pid: number, users: UserNames): ProcessInfo {
  let stat: string, uid: number;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    uid = Deno.statSync(`/proc/${pid}`).uid ?? 0;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw gone(pid, "the status");
    throw error;
  }
  // The name, in parentheses, may hold spaces and parentheses: the state and
  // the parent follow the last ")".
  const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  const command = procLine(`/proc/${pid}/cmdline`) ?? procLine(`/proc/${pid}/comm`) ?? "";
  return { pid, ppid, uid, user: users.name(uid), command };
}

/**
 * What `lsns` shows of a process: its parent, owner and command line.
 *
 * @param pid The process.
 * @returns Its description.
 * @throws {RangeError} When `pid` is not a positive integer.
 * @throws {Deno.errors.NotFound} When there is no such process.
 *
 * @example The command line of this process
 * ```ts
 * import { processInfo } from "../mod.ts";
 *
 * console.log(processInfo(Deno.pid).command); // "deno run …"
 * ```
 */
export function processInfo(pid: number): ProcessInfo {
  checkPid(pid, "the status");
  return readProcess(pid, new UserNames());
}

/** Unescapes a field of mountinfo: spaces, tabs, newlines and backslashes are written as `\ooo`. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * The nsfs mounts of this process's mount namespace: mount points by the
 * mount's root, which names the namespace (`net:[4026532...]`).
 */
function nsfsMounts(): Map<string, string[]> {
  const mounts = new Map<string, string[]>();
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/self/mountinfo");
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

/** Runs `use` on the namespace an ioctl returns as a new fd, then closes it. */
function withRelated<T>(fd: number, request: bigint, use: (related: number) => T): T | undefined {
  const c = libc();
  const related = c.ioctl(fd, request, null);
  if (related < 0) return undefined;
  try {
    return use(related);
  } finally {
    c.close(related);
  }
}

/** The uid that created a user namespace: NS_GET_OWNER_UID. */
function userNamespaceOwner(fd: number): number | undefined {
  return libc().ioctl(fd, NS_GET_OWNER_UID, uidBuffer) < 0 ? undefined : uidBuffer[0];
}

/** The uid that created a namespace, or its owning user namespace for other kinds. */
function creatorUid(fd: number, type: NamespaceType): number | undefined {
  if (type === "user") return userNamespaceOwner(fd);
  return withRelated(fd, NS_GET_USERNS, userNamespaceOwner);
}

/** The state of one listing. */
class Scan {
  readonly found = new Map<number, Found>();
  readonly ancestors: boolean;

  constructor(ancestors: boolean) {
    this.ancestors = ancestors;
  }

  /** Reads the parent and owner of a namespace open as `fd`, adding those not found yet when asked. */
  relate(ns: Found, fd: number): void {
    // As lsns: EPERM (a parent or owner outside the caller's namespaces) and
    // any other failure leave the relation unknown.
    if (ns.type === "pid" || ns.type === "user") {
      withRelated(fd, NS_GET_PARENT, (parent) => {
        ns.parent = fdInode(parent);
        this.#addAncestor(parent, ns.parent, ns.type);
      });
    }
    withRelated(fd, NS_GET_USERNS, (owner) => {
      ns.owner = fdInode(owner);
      this.#addAncestor(owner, ns.owner, "user");
    });
  }

  #addAncestor(fd: number, inode: number | undefined, type: NamespaceType): void {
    if (!this.ancestors || inode === undefined || this.found.has(inode)) return;
    const ns: Found = { inode, type, pids: [] };
    this.found.set(inode, ns);
    ns.uid = creatorUid(fd, type);
    this.relate(ns, fd);
  }
}

/** Adds the namespaces of every process in `/proc`, as lsns counts them. */
function scanProcesses(scan: Scan, types: readonly NamespaceType[]): void {
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    for (const type of types) {
      let link: string;
      try {
        link = Deno.readLinkSync(`/proc/${pid}/ns/${type}`);
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
}

/** Adds the namespaces bound to files that no process is in, as lsns 2.39 and later do. */
function scanPersistent(scan: Scan, mounts: Map<string, string[]>, types: ReadonlySet<NamespaceType>): void {
  for (const [root, targets] of mounts) {
    const match = /^([a-z]+):\[(\d+)\]$/.exec(root);
    const type = match ? namespaceInfo(match[1]!)?.type : undefined;
    if (!match || !type || !types.has(type)) continue;
    const inode = Number(match[2]);
    if (scan.found.has(inode)) continue;
    // A mount point this process cannot open (under a directory it may not
    // search) hides the namespace, as in lsns.
    const file = targets.find((target) => {
      const fd = openNamespace(target);
      if (fd < 0) return false;
      libc().close(fd);
      return true;
    });
    if (file !== undefined) scan.found.set(inode, { inode, type, pids: [], file });
  }
}

/** Reads what needs an open namespace: the creator of one no process is in, and relations. */
function inspect(scan: Scan, ns: Found, relations: boolean): void {
  const first = ns.pids[0];
  if (first !== undefined && !relations) return;
  const path = first !== undefined ? `/proc/${first}/ns/${ns.type}` : ns.file;
  if (path === undefined) return;
  const fd = openNamespace(path);
  if (fd < 0) return;
  try {
    if (first === undefined) ns.uid = creatorUid(fd, ns.type);
    if (relations) scan.relate(ns, fd);
  } finally {
    libc().close(fd);
  }
}

function entryOf(ns: Found, mounts: Map<string, string[]>, users: UserNames): NamespaceEntry {
  const pid = ns.pids[0];
  let process: ProcessInfo | undefined;
  try {
    if (pid !== undefined) process = readProcess(pid, users);
  } catch (error) {
    // The process ended since it was counted.
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const uid = process ? process.uid : ns.uid;
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
  };
}

function checkTypes(types: readonly NamespaceType[]): void {
  for (const type of types) {
    if (namespaceInfo(type)?.type !== type) {
      throw new TypeError(`Cannot list namespaces: unknown namespace type "${type}"`);
    }
  }
}

/**
 * The namespaces `lsns` lists: those of every process in `/proc` (the calling
 * process's `/proc`, so its PID namespace decides which processes it sees)
 * and those bound to files in its mount namespace, sorted by inode.
 *
 * As `lsns`, it counts processes whose namespaces it may read: as another user
 * than root, the namespaces of other users' processes are missing.
 *
 * @param options Filters, and whether to read relations.
 * @returns One entry per namespace, lowest inode first.
 * @throws {TypeError} For an unknown namespace type.
 * @throws {RangeError} When `options.pid` is not a positive integer.
 * @throws {Deno.errors.NotFound} When there is no process `options.pid`.
 *
 * @example The network namespaces and how many processes each holds
 * ```ts
 * import { listNamespaces } from "../mod.ts";
 *
 * for (const ns of listNamespaces({ types: ["net"] })) {
 *   console.log(ns.inode, ns.nprocs, ns.command);
 * }
 * ```
 */
export function listNamespaces(options: ListNamespacesOptions = {}): NamespaceEntry[] {
  const types = options.types ?? NAMESPACES.map((info) => info.type);
  checkTypes(types);
  const pid = options.pid;
  if (pid !== undefined) {
    checkPid(pid, "the namespaces");
    if (!exists(`/proc/${pid}`)) throw gone(pid, "the namespaces");
  }
  const ancestors = options.ancestors ?? false;
  const relations = ancestors || (options.relations ?? false);
  const scan = new Scan(ancestors);
  scanProcesses(scan, types);
  const mounts = nsfsMounts();
  scanPersistent(scan, mounts, new Set(types));
  // Ancestors found on the way are inspected as they are added.
  for (const ns of [...scan.found.values()]) inspect(scan, ns, relations);
  const users = new UserNames();
  const entries: NamespaceEntry[] = [];
  for (const ns of [...scan.found.values()].sort((a, b) => a.inode - b.inode)) {
    ns.pids.sort((a, b) => a - b);
    if (pid !== undefined && !ns.pids.includes(pid)) continue;
    if (options.persistent && ns.pids.length) continue;
    entries.push(entryOf(ns, mounts, users));
  }
  return entries;
}

const AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0o2000000, NETLINK_ROUTE = 0;
const RTM_NEWNSID = 88, RTM_GETNSID = 90, NLM_F_REQUEST = 1;
const NETNSA_NSID = 1, NETNSA_FD = 3;

/**
 * The id this process's network namespace gives another network namespace
 * (`NETNSID` of lsns), asked of the kernel with an RTM_GETNSID message.
 *
 * @param path A file of the namespace: `/proc/PID/ns/net` or a file it is bound to.
 * @returns The id, `null` when none is assigned, or `undefined` when the kernel cannot be asked.
 */
export function netnsId(path: string): number | null | undefined {
  const c = libc();
  const nsFd = c.open(cstring(path), 0o2000000, 0);
  if (nsFd < 0) return undefined;
  const sock = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  try {
    if (sock < 0) return undefined;
    // nlmsghdr (16) + rtgenmsg padded (4) + attribute NETNSA_FD (8)
    const request = new Uint8Array(28);
    const out = new DataView(request.buffer);
    out.setUint32(0, 28, true);
    out.setUint16(4, RTM_GETNSID, true);
    out.setUint16(6, NLM_F_REQUEST, true);
    out.setUint32(8, 1, true);
    out.setUint16(20, 8, true);
    out.setUint16(22, NETNSA_FD, true);
    out.setUint32(24, nsFd, true);
    if (Number(c.send(sock, request, 28n, 0)) !== 28) return undefined;
    const reply = new Uint8Array(256);
    const n = Number(c.recv(sock, reply, 256n, 0));
    const view = new DataView(reply.buffer);
    if (n < 20 || view.getUint16(4, true) !== RTM_NEWNSID) return undefined;
    for (let at = 20; at + 4 <= n;) {
      const length = view.getUint16(at, true);
      if (length < 4) break;
      if (view.getUint16(at + 2, true) === NETNSA_NSID && length >= 8) {
        const id = view.getInt32(at + 4, true);
        return id < 0 ? null : id;
      }
      at += (length + 3) & ~3;
    }
    return undefined;
  } finally {
    if (sock >= 0) c.close(sock);
    c.close(nsFd);
  }
}
