/**
 * User and group id maps: names to ids, subordinate id blocks, the text the
 * kernel reads from `/proc/PID/uid_map`, and writing it for a child.
 *
 * @module
 */

import { cstring, errno, libc, unwrap } from "../ffi/libc.ts";
import { O_CLOEXEC, O_WRONLY } from "../ffi/constants.ts";
import { SyscallError } from "../ffi/error.ts";
import type { IdRange } from "./steps.ts";
import { ids } from "./system.ts";

/** The kernel accepts at most this many lines in an id map. */
export const MAX_MAP_LINES = 340;

function parseDatabase(text: string): { name: string; id: number }[] {
  const entries: { name: string; id: number }[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields.length >= 3 && /^\d+$/.test(fields[2]!)) entries.push({ name: fields[0]!, id: Number(fields[2]) });
  }
  return entries;
}

function lookup(file: string, what: string, name: string | number): number {
  if (typeof name === "number") return name;
  if (/^\d+$/.test(name)) return Number(name);
  let text = "";
  try {
    text = Deno.readTextFileSync(file);
  } catch {
    // An unreadable database means no such name.
  }
  const entry = parseDatabase(text).find((e) => e.name === name);
  if (!entry) throw new TypeError(`Cannot map ${what} "${name}": no such ${what} in ${file}`);
  return entry.id;
}

/**
 * A uid from a number or a user name.
 *
 * @param name The uid or name.
 * @param passwd The user database.
 * @returns The uid.
 * @throws {TypeError} When there is no such user.
 */
export function resolveUser(name: string | number, passwd = "/etc/passwd"): number {
  return lookup(passwd, "user", name);
}

/**
 * A gid from a number or a group name.
 *
 * @param name The gid or name.
 * @param group The group database.
 * @returns The gid.
 * @throws {TypeError} When there is no such group.
 */
export function resolveGroup(name: string | number, group = "/etc/group"): number {
  return lookup(group, "group", name);
}

/**
 * The first block of subordinate ids of a user, as `/etc/subuid` or
 * `/etc/subgid` lists them (`name:start:count` or `uid:start:count`).
 *
 * @param text The file's content.
 * @param name The user's name, if it has one.
 * @param id The user's id.
 * @returns The block mapped to 0 inside, or `undefined`.
 */
export function firstSubordinateBlock(text: string, name: string | undefined, id: number): IdRange | undefined {
  for (const line of text.split("\n")) {
    const [owner, start, count] = line.trim().split(":");
    if (start === undefined || count === undefined || !/^\d+$/.test(start) || !/^\d+$/.test(count)) continue;
    if (owner === name || owner === String(id)) return { inside: 0, outside: Number(start), count: Number(count) };
  }
  return undefined;
}

/**
 * The name of a uid in the user database.
 *
 * @param uid The uid.
 * @param passwd The user database.
 * @returns The name, or `undefined`.
 */
export function userName(uid: number, passwd = "/etc/passwd"): string | undefined {
  try {
    return parseDatabase(Deno.readTextFileSync(passwd)).find((e) => e.id === uid)?.name;
  } catch {
    return undefined;
  }
}

/**
 * Parses a block as util-linux writes it: `outer,inner,count` (2.38) or
 * `inner:outer:count` (2.39 and later).
 *
 * @param text The block.
 * @returns The block.
 * @throws {TypeError} When it is neither.
 */
export function parseIdRange(text: string): IdRange {
  const comma = /^(\d+),(\d+),(\d+)$/.exec(text);
  if (comma) return { outside: Number(comma[1]), inside: Number(comma[2]), count: Number(comma[3]) };
  const colon = /^(\d+):(\d+):(\d+)$/.exec(text);
  if (colon) return { inside: Number(colon[1]), outside: Number(colon[2]), count: Number(colon[3]) };
  throw new TypeError(`Cannot parse id block "${text}": expected outer,inner,count or inner:outer:count`);
}

function without(ranges: IdRange[], id: number, side: "inside" | "outside"): IdRange[] {
  const out: IdRange[] = [];
  for (const r of ranges) {
    const first = r[side];
    if (id < first || id >= first + r.count) {
      out.push(r);
      continue;
    }
    const before = id - first;
    if (before > 0) out.push({ inside: r.inside, outside: r.outside, count: before });
    const after = r.count - before - 1;
    if (after > 0) out.push({ inside: r.inside + before + 1, outside: r.outside + before + 1, count: after });
  }
  return out;
}

/**
 * Combines a single mapping of the caller's own id with blocks of subordinate
 * ids, removing from the blocks the ids that the single mapping uses on either
 * side (the "hole" util-linux describes).
 *
 * @param single The caller's own id and where it goes inside, if mapped.
 * @param ranges The blocks.
 * @returns The lines of the map, the single mapping first.
 */
export function combineIdMaps(single: IdRange | undefined, ranges: readonly IdRange[]): IdRange[] {
  if (!single) return [...ranges];
  let rest = [...ranges];
  rest = without(rest, single.outside, "outside");
  rest = without(rest, single.inside, "inside");
  return [single, ...rest];
}

/**
 * Checks a map as the kernel would, to report a clear error before any process
 * is started.
 *
 * @param ranges The lines of the map.
 * @param what `"uid"` or `"gid"`, for messages.
 * @throws {RangeError} When the kernel would reject the map.
 */
export function checkIdMap(ranges: readonly IdRange[], what: string): void {
  if (ranges.length > MAX_MAP_LINES) {
    throw new RangeError(
      `Cannot write the ${what} map: ${ranges.length} lines, the kernel takes at most ${MAX_MAP_LINES}`,
    );
  }
  for (const r of ranges) {
    for (const n of [r.inside, r.outside, r.count]) {
      if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
        throw new RangeError(`Cannot write the ${what} map: ${n} is not an id`);
      }
    }
    if (r.count === 0) throw new RangeError(`Cannot write the ${what} map: a block of 0 ids`);
    // The kernel keeps (u32)-1 as "no id" and refuses blocks that wrap past it.
    for (const side of ["inside", "outside"] as const) {
      if (r[side] + r.count > 0xffffffff) {
        throw new RangeError(
          `Cannot write the ${what} map: the block of ${r.count} at ${r[side]} ${side} reaches past id 4294967294`,
        );
      }
    }
  }
  for (const side of ["inside", "outside"] as const) {
    const sorted = [...ranges].sort((a, b) => a[side] - b[side]);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      if (prev[side] + prev.count > sorted[i]![side]) {
        throw new RangeError(
          `Cannot write the ${what} map: the blocks at ${prev[side]} and ${sorted[i]![side]} overlap ${side}`,
        );
      }
    }
  }
}

/**
 * The text of an id map, one `inside outside count` line per block.
 *
 * @param ranges The blocks.
 * @returns The text the kernel reads.
 */
export function formatIdMap(ranges: readonly IdRange[]): string {
  return ranges.map((r) => `${r.inside} ${r.outside} ${r.count}\n`).join("");
}

/** The id maps of a new user namespace, and whether its processes may call setgroups(2). */
export interface IdMaps {
  /** The uid map, when it has one. */
  readonly uidMap?: readonly IdRange[] | undefined;
  /** The gid map, when it has one. */
  readonly gidMap?: readonly IdRange[] | undefined;
  /** What to write to `/proc/PID/setgroups` first, when anything. */
  readonly setgroups?: "allow" | "deny" | undefined;
}

/**
 * Writes the id maps of a child that waits for them (it made its user
 * namespace, and cannot map ranges of ids itself): as root directly, else
 * with newuidmap(1) and newgidmap(1), which check the ranges against
 * /etc/subuid and /etc/subgid.
 *
 * @param pid The child.
 * @param maps Its maps (a plan has them).
 * @throws {SyscallError} When a file of the child cannot be written.
 * @throws {Error} When newuidmap or newgidmap is missing or refuses.
 */
export async function writeIdMaps(pid: number, maps: IdMaps): Promise<void> {
  const c = libc();
  const put = (file: string, text: string) => {
    const path = `/proc/${pid}/${file}`;
    const fd = unwrap(c.open(cstring(path), O_WRONLY | O_CLOEXEC, 0), "open", {
      operation: `open ${path}`,
      path,
    });
    const bytes = new TextEncoder().encode(text);
    const n = c.write(fd, bytes, BigInt(bytes.length));
    const e = n < 0 ? errno() : 0;
    c.close(fd);
    if (e) throw new SyscallError("write", e, { operation: `write "${text.trim()}" to ${path}`, path });
  };
  // The owner of a user namespace may write its setgroups file; it must come
  // before the gid map.
  if (maps.setgroups) put("setgroups", maps.setgroups);
  if (ids().euid === 0) {
    if (maps.uidMap) put("uid_map", formatIdMap(maps.uidMap));
    if (maps.gidMap) put("gid_map", formatIdMap(maps.gidMap));
    return;
  }
  for (const [tool, map] of [["newuidmap", maps.uidMap], ["newgidmap", maps.gidMap]] as const) {
    if (!map) continue;
    const args = [String(pid), ...map.flatMap((r) => [String(r.inside), String(r.outside), String(r.count)])];
    let output: Deno.CommandOutput;
    try {
      // From "/": the caller's working directory may be closed to the caller.
      output = await new Deno.Command(tool, { args, cwd: "/", stdin: "null", stdout: "piped", stderr: "piped" })
        .output();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Error(
          `Cannot map ranges of ids: ${tool} is not installed (Debian package uidmap); without it an unprivileged user maps only its own id`,
        );
      }
      throw error;
    }
    if (!output.success) {
      const why = new TextDecoder().decode(output.stderr).trim().split("\n").pop();
      throw new Error(`Cannot map ranges of ids: ${tool} ${args.join(" ")} failed: ${why}`);
    }
  }
}
