/**
 * The ids a network namespace gives other network namespaces (`nsid`, as
 * `ip netns list-id` shows them and `link-netnsid` uses them), through
 * rtnetlink's RTM.GETNSID and RTM.NEWNSID. Ids are per namespace: they are
 * asked of the kernel through a socket made in the namespace that gives
 * them, which for a shell context is the context's (see `socketIn()`).
 *
 * @module
 */

import { cstring, errno, libc } from "../ffi/libc.ts";
import {
  AF_NETLINK,
  EINVAL,
  EOPNOTSUPP,
  NETLINK_ROUTE,
  NETNSA,
  NLM_F,
  NLMSG,
  O_CLOEXEC,
  O_RDONLY,
  RTM,
  SOCK_CLOEXEC,
  SOCK_RAW,
} from "../ffi/constants.ts";
import { SyscallError } from "../ffi/error.ts";
import { socketIn } from "./engine.ts";
import type { Place } from "./place.ts";

/** One id a network namespace gives another, as an RTM.NEWNSID message tells it. */
export interface NsidEntry {
  /** The id, or `null` when none is assigned. */
  readonly nsid: number | null;
  /** With a target: the id the namespace that asks gives the same namespace (`current-nsid`). */
  readonly current?: number | null;
}

/** A netlink attribute: its type and payload. */
type Attribute = readonly [type: number, value: number];

function message(type: number, flags: number, seq: number, attributes: readonly Attribute[]): Uint8Array {
  const length = 20 + attributes.length * 8;
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, length, true);
  view.setUint16(4, type, true);
  view.setUint16(6, flags, true);
  view.setUint32(8, seq, true);
  // rtgenmsg: AF_UNSPEC, padded to 4 bytes.
  attributes.forEach(([attribute, value], i) => {
    view.setUint16(20 + i * 8, 8, true);
    view.setUint16(22 + i * 8, attribute, true);
    view.setInt32(24 + i * 8, value, true);
  });
  return bytes;
}

/** The 32-bit attributes of an RTM.NEWNSID message. */
function attributesOf(view: DataView, at: number, end: number): Map<number, number> {
  const found = new Map<number, number>();
  for (let p = at + 20; p + 4 <= end;) {
    const length = view.getUint16(p, true);
    if (length < 4) break;
    if (length >= 8) found.set(view.getUint16(p + 2, true) & 0x3fff, view.getInt32(p + 4, true));
    p += (length + 3) & ~3;
  }
  return found;
}

/**
 * An rtnetlink socket in the network namespace of a place, for the ids it
 * gives other network namespaces. Close it when done.
 */
export class NsidSocket {
  readonly #fd: number;
  #seq = 0;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /**
   * Opens a socket in the network namespace of `place`.
   *
   * @param place Where: this process's network namespace, or a context's.
   * @returns The socket.
   * @throws {SyscallError} When no socket can be made there.
   */
  static open(place: Place): NsidSocket {
    const net = place.namespace("net");
    if (net === "/proc/self/ns/net") {
      const fd = libc().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
      if (fd < 0) throw new SyscallError("socket", errno(), { operation: "open an rtnetlink socket" });
      return new NsidSocket(fd);
    }
    const user = place.namespace("user");
    const entries = [
      ...(user === "/proc/self/ns/user" ? [] : [{ type: "user" as const, path: user }]),
      { type: "net" as const, path: net },
    ];
    return new NsidSocket(socketIn(entries, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
  }

  /** Closes the socket. */
  close(): void {
    libc().close(this.#fd);
  }

  /** Sends a request and returns its answers, up to the end of a dump or the error (or ack). */
  #talk(type: number, flags: number, attributes: readonly Attribute[], operation: string): NsidEntry[] {
    const c = libc();
    const seq = ++this.#seq;
    const request = message(type, NLM_F.REQUEST | flags, seq, attributes);
    if (Number(c.send(this.#fd, request, BigInt(request.length), 0)) !== request.length) {
      throw new SyscallError("send", errno(), { operation });
    }
    const entries: NsidEntry[] = [];
    const buffer = new Uint8Array(16384);
    const view = new DataView(buffer.buffer);
    for (;;) {
      const n = Number(c.recv(this.#fd, buffer, BigInt(buffer.length), 0));
      if (n < 0) throw new SyscallError("recv", errno(), { operation });
      if (n === 0) return entries;
      for (let at = 0; at + 16 <= n;) {
        const length = view.getUint32(at, true);
        if (length < 16 || at + length > n) return entries;
        const kind = view.getUint16(at + 4, true);
        const multi = (view.getUint16(at + 6, true) & NLM_F.MULTI) !== 0;
        if (view.getUint32(at + 8, true) === seq) {
          if (kind === NLMSG.DONE) return entries;
          if (kind === NLMSG.ERROR) {
            const error = -view.getInt32(at + 16, true);
            if (error) throw new SyscallError("sendmsg", error, { operation });
            return entries;
          }
          if (kind === RTM.NEWNSID || kind === RTM.DELNSID) {
            const attrs = attributesOf(view, at, at + length);
            const id = attrs.get(NETNSA.NSID);
            const current = attrs.get(NETNSA.CURRENT_NSID);
            entries.push({
              nsid: id === undefined || id < 0 ? null : id,
              ...(current === undefined ? {} : { current: current < 0 ? null : current }),
            });
            if (!multi && !(flags & NLM_F.DUMP)) return entries;
          }
        }
        at += (length + 3) & ~3;
      }
    }
  }

  /**
   * The id given to the network namespace open at `fd`.
   *
   * @param fd A descriptor of a network namespace file.
   * @returns The id, `null` when none is assigned, `undefined` when the
   *   kernel cannot tell (no RTM.GETNSID, or not a network namespace).
   */
  idOf(fd: number): number | null | undefined {
    try {
      const [entry] = this.#talk(RTM.GETNSID, 0, [[NETNSA.FD, fd]], "ask for the id of a network namespace");
      return entry === undefined ? undefined : entry.nsid;
    } catch {
      return undefined;
    }
  }

  /**
   * The id given to the network namespace of a file.
   *
   * @param path A network namespace file.
   * @returns As {@linkcode NsidSocket.idOf}; `undefined` also when the file cannot be opened.
   */
  idOfFile(path: string): number | null | undefined {
    const fd = libc().open(cstring(path), O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return undefined;
    try {
      return this.idOf(fd);
    } finally {
      libc().close(fd);
    }
  }

  /**
   * Gives the network namespace open at `fd` an id (`ip netns set`).
   *
   * @param fd A descriptor of a network namespace file.
   * @param nsid The id, or -1 for the kernel to choose one.
   * @throws {SyscallError} When the kernel refuses: EEXIST when the id is
   *   taken or the namespace has one already, EPERM without CAP_NET_ADMIN
   *   over this network namespace.
   */
  set(fd: number, nsid: number): void {
    this.#talk(RTM.NEWNSID, NLM_F.ACK, [[NETNSA.FD, fd], [NETNSA.NSID, nsid]], "set the id of a network namespace");
  }

  /**
   * The ids this network namespace gives others (`ip netns list-id`), or,
   * with `target`, those that the namespace of that id gives.
   *
   * @param target The id of another namespace, to list its ids instead.
   * @returns The entries, in the kernel's order.
   * @throws {SyscallError} When the kernel refuses the dump.
   */
  list(target?: number): NsidEntry[] {
    return this.#talk(
      RTM.GETNSID,
      NLM_F.DUMP,
      target === undefined ? [] : [[NETNSA.TARGET_NSID, target]],
      "list the ids of network namespaces",
    );
  }

  /**
   * The entry of one id (`ip netns list-id nsid N`).
   *
   * @param nsid The id.
   * @param target The id of another namespace, to ask that one.
   * @returns The entry, or `undefined` when the kernel answers nothing.
   * @throws {SyscallError} When the id is not known (ENOENT) or the kernel refuses.
   */
  get(nsid: number, target?: number): NsidEntry | undefined {
    const attributes: Attribute[] = [[NETNSA.NSID, nsid]];
    if (target !== undefined) attributes.push([NETNSA.TARGET_NSID, target]);
    return this.#talk(RTM.GETNSID, 0, attributes, `ask for the network namespace of id ${nsid}`)[0];
  }

  /**
   * Whether the kernel answers RTM.GETNSID (Linux 4.0+), as iproute2 checks
   * before it shows ids.
   *
   * @returns `true` when it does.
   */
  supported(): boolean {
    const fd = libc().open(cstring("/proc/self/ns/net"), O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return false;
    try {
      this.#talk(RTM.GETNSID, 0, [[NETNSA.FD, fd]], "ask for namespace ids");
      return true;
    } catch (error) {
      return !(error instanceof SyscallError && (error.errno === EOPNOTSUPP || error.errno === EINVAL));
    } finally {
      libc().close(fd);
    }
  }
}
