/**
 * Users and groups: the id maps of a new user namespace, setgroups(2) there,
 * and the ids the program takes inside.
 *
 * @module
 */

import type { StepKind } from "./_kind.ts";

/** A block of ids mapped into a user namespace. */
export interface IdRange {
  /** First id inside the namespace. */
  readonly inside: number;
  /** First id outside, in the namespace of the caller. */
  readonly outside: number;
  /** How many ids. */
  readonly count: number;
}

/** The caller as root in a new user namespace. */
export interface MapRootUserStep {
  /** The kind of step. */
  readonly kind: "map-root-user";
}

/** The caller as itself in a new user namespace. */
export interface MapCurrentUserStep {
  /** The kind of step. */
  readonly kind: "map-current-user";
}

/** The caller's uid mapped to an id inside. */
export interface MapUserStep {
  /** The kind of step. */
  readonly kind: "map-user";
  /** The uid or user name inside. */
  readonly id: number | string;
}

/** The caller's gid mapped to an id inside. */
export interface MapGroupStep {
  /** The kind of step. */
  readonly kind: "map-group";
  /** The gid or group name inside. */
  readonly id: number | string;
}

/** Blocks of uids. */
export interface MapUsersStep {
  /** The kind of step. */
  readonly kind: "map-users";
  /** The blocks, or the caller's first block of /etc/subuid. */
  readonly ranges: readonly IdRange[] | "auto";
}

/** Blocks of gids. */
export interface MapGroupsStep {
  /** The kind of step. */
  readonly kind: "map-groups";
  /** The blocks, or the caller's first block of /etc/subgid. */
  readonly ranges: readonly IdRange[] | "auto";
}

/** setgroups(2) allowed or denied in the new user namespace. */
export interface SetgroupsStep {
  /** The kind of step. */
  readonly kind: "setgroups";
  /** Allowed or denied. */
  readonly mode: "allow" | "deny";
}

/** The uid the program runs as inside. */
export interface SetuidStep {
  /** The kind of step. */
  readonly kind: "setuid";
  /** The uid. */
  readonly id: number;
}

/** The gid the program runs as inside. */
export interface SetgidStep {
  /** The kind of step. */
  readonly kind: "setgid";
  /** The gid. */
  readonly id: number;
}

/**
 * Maps the current user and group to root in a new user namespace (`-r`).
 * Implies a user namespace and `setgroups deny`.
 *
 * @example Root in the box, rootless: the caller's one uid mapped to 0
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapRootUser, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(mapRootUser());
 * assert.equal(await box.run("id", "-u").text(), "0");
 * // inside, outside, count: only the caller's own uid is mapped
 * const map = await box.run("cat", "/proc/self/uid_map").text();
 * assert.deepEqual(map.trim().split(/\s+/), ["0", `${Deno.uid()}`, "1"]);
 * ```
 *
 * @returns The step.
 */
export function mapRootUser(): MapRootUserStep {
  return { kind: "map-root-user" };
}

/**
 * Maps the current user and group to themselves in a new user namespace (`-c`).
 *
 * @example The caller keeps its uid in a user namespace of its own
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapCurrentUser, sandbox } from "@nsh/nsh";
 *
 * const box = sandbox(mapCurrentUser());
 * assert.equal(await box.run("id", "-u").text(), `${Deno.uid()}`);
 * assert.notEqual(await box.run("readlink", "/proc/self/ns/user").text(), await Deno.readLink("/proc/self/ns/user"));
 * ```
 *
 * @returns The step.
 */
export function mapCurrentUser(): MapCurrentUserStep {
  return { kind: "map-current-user" };
}

/**
 * Maps the current user to `id` (a uid or a user name) inside.
 *
 * @example The caller is uid 1000 in the box
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapUser, sandbox } from "@nsh/nsh";
 *
 * assert.equal(await sandbox(mapUser(1000)).run("id", "-u").text(), "1000");
 * ```
 *
 * @param id The uid or name inside the namespace.
 * @returns The step.
 */
export function mapUser(id: number | string): MapUserStep {
  return { kind: "map-user", id };
}

/**
 * Maps the current group to `id` (a gid or a group name) inside.
 *
 * @example The caller's group is gid 1000 in the box
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapGroup, mapUser, sandbox } from "@nsh/nsh";
 *
 * assert.equal(await sandbox(mapUser(1000), mapGroup(1000)).run("id", "-g").text(), "1000");
 * ```
 *
 * @param id The gid or name inside the namespace.
 * @returns The step.
 */
export function mapGroup(id: number | string): MapGroupStep {
  return { kind: "map-group", id };
}

/**
 * Maps blocks of uids, written by the parent (root) or by `newuidmap(1)`.
 * `"auto"` maps the user's first block from `/etc/subuid` to 0.
 *
 * @example 65536 uids from 100000 on, as 0 to 65535 inside (as root; rootless, newuidmap writes them)
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapUsers, sandbox } from "@nsh/nsh";
 *
 * const map = await sandbox(mapUsers([{ inside: 0, outside: 100000, count: 65536 }]))
 *   .run("cat", "/proc/self/uid_map").text();
 * assert.deepEqual(map.trim().split(/\s+/), ["0", "100000", "65536"]);
 * ```
 *
 * @param ranges The blocks, or `"auto"`.
 * @returns The step.
 */
export function mapUsers(ranges: readonly IdRange[] | "auto"): MapUsersStep {
  return { kind: "map-users", ranges };
}

/**
 * Maps blocks of gids, written by the parent (root) or by `newgidmap(1)`.
 *
 * @example 65536 gids from 100000 on, as 0 to 65535 inside (as root; rootless, newgidmap writes them)
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapGroups, mapUsers, sandbox } from "@nsh/nsh";
 *
 * const ids = [{ inside: 0, outside: 100000, count: 65536 }];
 * const map = await sandbox(mapUsers(ids), mapGroups(ids)).run("cat", "/proc/self/gid_map").text();
 * assert.deepEqual(map.trim().split(/\s+/), ["0", "100000", "65536"]);
 * ```
 *
 * @param ranges The blocks, or `"auto"` for the first block from `/etc/subgid`.
 * @returns The step.
 */
export function mapGroups(ranges: readonly IdRange[] | "auto"): MapGroupsStep {
  return { kind: "map-groups", ranges };
}

/**
 * Allows or denies setgroups(2) in the new user namespace.
 *
 * @example Root of the box may not change its supplementary groups (as root, which maps blocks)
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapGroups, mapUsers, sandbox, setgroups } from "@nsh/nsh";
 *
 * const ids = [{ inside: 0, outside: 100000, count: 65536 }];
 * const box = sandbox(mapUsers(ids), mapGroups(ids), setgroups("deny"));
 * assert.equal(await box.run("cat", "/proc/self/setgroups").text(), "deny");
 * ```
 *
 * @param mode `"allow"` or `"deny"`.
 * @returns The step.
 */
export function setgroups(mode: "allow" | "deny"): SetgroupsStep {
  return { kind: "setgroups", mode };
}

/**
 * Runs the program as this uid inside (`--setuid`).
 *
 * @example Root drops to nobody for the program (as root)
 * ```ts
 * import assert from "node:assert/strict";
 * import { sandbox, setgid, setuid } from "@nsh/nsh";
 *
 * assert.equal(await sandbox(setuid(65534), setgid(65534)).run("id", "-u").text(), "65534");
 * ```
 *
 * @param id The uid.
 * @returns The step.
 */
export function setuid(id: number): SetuidStep {
  return { kind: "setuid", id };
}

/**
 * Runs the program as this gid inside (`--setgid`).
 *
 * @example Root drops to nobody's group for the program (as root)
 * ```ts
 * import assert from "node:assert/strict";
 * import { sandbox, setgid, setuid } from "@nsh/nsh";
 *
 * assert.equal(await sandbox(setuid(65534), setgid(65534)).run("id", "-g").text(), "65534");
 * ```
 *
 * @param id The gid.
 * @returns The step.
 */
export function setgid(id: number): SetgidStep {
  return { kind: "setgid", id };
}

/**
 * A kind of this module: planned by lib/plan.ts, which makes the maps; all
 * but setuid and setgid imply a user namespace.
 */
function core<S extends { readonly kind: string }>(kind: S["kind"], code: StepKind<S>["code"]): StepKind<S> {
  const user = kind !== "setuid" && kind !== "setgid";
  return { kind, phase: "core", repeats: "last", ...(user ? { implies: () => ["user"] } : {}), code };
}

/** The kind of {@linkcode mapRootUser} steps. */
const MAP_ROOT_USER: StepKind<MapRootUserStep> = core("map-root-user", () => ({ fn: "mapRootUser", args: [] }));
/** The kind of {@linkcode mapCurrentUser} steps. */
const MAP_CURRENT_USER: StepKind<MapCurrentUserStep> = core(
  "map-current-user",
  () => ({ fn: "mapCurrentUser", args: [] }),
);
/** The kind of {@linkcode mapUser} steps. */
const MAP_USER: StepKind<MapUserStep> = core("map-user", (s) => ({ fn: "mapUser", args: [s.id] }));
/** The kind of {@linkcode mapGroup} steps. */
const MAP_GROUP: StepKind<MapGroupStep> = core("map-group", (s) => ({ fn: "mapGroup", args: [s.id] }));
/** The kind of {@linkcode mapUsers} steps. */
const MAP_USERS: StepKind<MapUsersStep> = core("map-users", (s) => ({ fn: "mapUsers", args: [s.ranges] }));
/** The kind of {@linkcode mapGroups} steps. */
const MAP_GROUPS: StepKind<MapGroupsStep> = core("map-groups", (s) => ({ fn: "mapGroups", args: [s.ranges] }));
/** The kind of {@linkcode setgroups} steps. */
const SETGROUPS: StepKind<SetgroupsStep> = core("setgroups", (s) => ({ fn: "setgroups", args: [s.mode] }));
/** The kind of {@linkcode setuid} steps. */
const SETUID: StepKind<SetuidStep> = core("setuid", (s) => ({ fn: "setuid", args: [s.id] }));
/** The kind of {@linkcode setgid} steps. */
const SETGID: StepKind<SetgidStep> = core("setgid", (s) => ({ fn: "setgid", args: [s.id] }));

/** The kinds of steps this module defines, for lib/steps/_registry.ts. */
export const KINDS = [
  MAP_ROOT_USER,
  MAP_CURRENT_USER,
  MAP_USER,
  MAP_GROUP,
  MAP_USERS,
  MAP_GROUPS,
  SETGROUPS,
  SETUID,
  SETGID,
] as const;
