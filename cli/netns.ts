/**
 * `nsh netns`: named network namespaces with the syntax of iproute2's
 * `ip netns` (6.1): its subcommands and their abbreviations, its arguments,
 * its output and its exit statuses; nsh's own one-line messages.
 *
 * @module
 */

import { lowerFirst, UsageError, ValueError } from "./usage.ts";
import { asValueError } from "./plan_command.ts";
import { VERSION } from "./version.ts";
import type { CliCommand, Io, Where } from "./commands.ts";
import { runForeground } from "./foreground.ts";
import {
  addNetns,
  attachNetns,
  checkNetnsName,
  deleteNetns,
  identifyNetns,
  listNetns,
  NETNS_RUN_DIR,
  netnsExec,
  netnsIds,
  netnsPids,
  setNetnsId,
} from "../lib/netns.ts";
import { NsidSocket } from "../lib/netlink.ts";
import { Place } from "../lib/place.ts";
import { planHere } from "../lib/plan.ts";
import { SyscallError } from "../ffi/error.ts";

/** The help text of `nsh netns`. */
export function netnsHelp(): string {
  return `
Usage:
 nsh netns list
 nsh netns add <name>
 nsh netns attach <name> <pid>
 nsh netns set <name> <nsid>
 nsh netns delete <name>
 nsh netns identify [<pid>]
 nsh netns pids <name>
 nsh netns exec <name> <program> [<argument>...]
 nsh netns monitor
 nsh netns list-id [target-nsid <nsid>] [nsid <nsid>]
<nsid> := auto | <number>

Named network namespaces, as ip-netns(8) keeps them: files in /run/netns that
network namespaces are bound to. Names made here are seen by ip netns, and
names made by ip netns here. exec shows /etc/netns/<name>/* over /etc and a
/sys of the namespace to the program, in a mount namespace of its own.

As ip netns: a subcommand may be abbreviated to any prefix, matched in
ip's order (l is list, s show, se set, d delete, a add, at attach); words
after those a subcommand takes are ignored; list shows the id the current
network namespace gives each name, as "(id: N)"; identify prints the last
name it finds, or an empty line. Exit statuses: 255 for an invalid name, an
unknown subcommand and a name exec cannot enter; 1 for other failures,
exec's program not found or not executable included; 2 when the kernel
refuses netns set; else the program's own.

Unlike ip netns: help prints this on standard output and exits 0; messages
are nsh's (what failed, on what, the errno and a hint); there is no -all and
no JSON.

In a shell context, netns reads and changes the context's /run/netns and
/proc, from its mount, user and network namespaces, as ip netns run there.
`;
}

/** The subcommands, in the order iproute2 tries them, and what each stands for. */
const SUBCOMMANDS: readonly (readonly [string, string])[] = [
  ["list", "list"],
  ["show", "list"],
  ["lst", "list"],
  ["list-id", "list-id"],
  ["help", "help"],
  ["add", "add"],
  ["set", "set"],
  ["delete", "delete"],
  ["identify", "identify"],
  ["pids", "pids"],
  ["exec", "exec"],
  ["monitor", "monitor"],
  ["attach", "attach"],
];

/** The subcommands a user types (completion offers these), each once. */
export const NETNS_SUBCOMMANDS: readonly string[] = [
  ...new Set(SUBCOMMANDS.map(([, full]) => full).filter((full) => full !== "help")),
];

/**
 * The subcommand a word stands for, as iproute2's matches() decides: the
 * first subcommand, in iproute2's order, that the word is a prefix of
 * (`l` is `list`, `s` is `show`, `del` is `delete`).
 *
 * @param word The word.
 * @returns The subcommand, or `undefined`.
 */
export function netnsSubcommand(word: string): string | undefined {
  if (word === "") return undefined;
  return SUBCOMMANDS.find(([full]) => full.startsWith(word))?.[1];
}

/** strtol(3) with base 0, as iproute2's get_integer() checks it: the whole word, within an int. */
function integer(text: string): number | undefined {
  const match = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!match) return undefined;
  const digits = match[2]!;
  const magnitude = /^0[xX]/.test(digits)
    ? parseInt(digits.slice(2), 16)
    : digits.length > 1 && digits.startsWith("0")
    ? parseInt(digits, 8)
    : Number(digits);
  const value = match[1] === "-" ? -magnitude : magnitude;
  return value > 0x7fffffff || value < -0x80000000 ? undefined : value;
}

/** An error of a subcommand with iproute2's exit status for it. */
function failure(error: unknown, status: number): unknown {
  if (error instanceof SyscallError) return new ValueError("netns", lowerFirst(error.message), status);
  return error;
}

function name(args: readonly string[], what: string): string {
  const value = args[0];
  if (value === undefined) throw new UsageError("netns", `${what}: no name given`);
  return value;
}

/** `nsh netns list`: each name, and the id the network namespace gives it. */
function list(io: Io, where: Where): number {
  const names = listNetns({ context: where.context });
  const ids = netnsIds(names, { context: where.context });
  names.forEach((n, i) => {
    const id = ids[i];
    io.out(typeof id === "number" ? `${n} (id: ${id})\n` : `${n}\n`);
  });
  return 0;
}

/** `nsh netns list-id [target-nsid N] [nsid N]`, printed as iproute2 prints it. */
function listIds(args: readonly string[], io: Io, where: Where): number {
  let target: number | undefined, only: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word !== "target-nsid" && word !== "nsid") {
      throw new UsageError("netns", `list-id: unexpected argument '${word}'`, 255);
    }
    if ((word === "nsid" ? only : target) !== undefined) {
      throw new UsageError("netns", `list-id: ${word} given twice`, 255);
    }
    const text = args[++i];
    if (text === undefined) throw new UsageError("netns", `list-id: ${word} needs a value`, 255);
    const value = integer(text);
    if (value === undefined || value < 0) {
      throw new ValueError("netns", `list-id: invalid ${word} '${text}': expected a number, 0 or more`, 255);
    }
    if (word === "nsid") only = value;
    else target = value;
  }
  const place = Place.of({ context: where.context });
  const names = listNetns({ context: where.context });
  const ids = netnsIds(names, { context: where.context });
  // As iproute2's cache: each id names the first name in the directory that has it.
  const byId = new Map<number, string>();
  names.forEach((n, i) => {
    const id = ids[i];
    if (typeof id === "number" && !byId.has(id)) byId.set(id, n);
  });
  const socket = NsidSocket.open(place);
  try {
    let entries;
    try {
      entries = only === undefined ? socket.list(target) : [socket.get(only, target)].filter((e) => e !== undefined);
    } catch (error) {
      throw failure(error, 2);
    }
    for (const entry of entries) {
      let line = entry.nsid === null ? "nsid unassigned " : `nsid ${entry.nsid} `;
      if (entry.current !== undefined) {
        line += entry.current === null ? "current-nsid unassigned " : `current-nsid ${entry.current} `;
      }
      const key = entry.current !== undefined ? entry.current : entry.nsid;
      const found = key === null ? undefined : byId.get(key);
      if (found !== undefined) {
        line += `(iproute2 netns name: ${found})`;
        byId.delete(key!);
      }
      io.out(line + "\n");
    }
  } finally {
    socket.close();
  }
  return 0;
}

/** `nsh netns monitor`: a line for each name added or deleted, until interrupted. */
async function monitor(io: Io, where: Where): Promise<number> {
  const place = Place.of({ context: where.context });
  const dir = place.path(NETNS_RUN_DIR);
  try {
    Deno.mkdirSync(dir, { mode: 0o755 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) {
      throw failure(new SyscallError("mkdir", 2, { operation: `create "${NETNS_RUN_DIR}"` }), 1);
    }
  }
  for await (const event of Deno.watchFs(dir, { recursive: false })) {
    const what = event.kind === "create" ? "add" : event.kind === "remove" ? "delete" : undefined;
    if (what) { for (const path of event.paths) io.out(`${what} ${path.slice(path.lastIndexOf("/") + 1)}\n`); }
  }
  return 0;
}

async function exec(args: readonly string[], io: Io, where: Where): Promise<number> {
  const n = name(args, "exec");
  const argv = args.slice(1);
  if (!argv.length) throw new UsageError("netns", "exec: no program given");
  let sandbox;
  try {
    const made = netnsExec(n, { context: where.context });
    sandbox = made.sandbox;
    for (const entry of made.skipped) {
      io.err(`nsh netns: not showing /etc/netns/${n}/${entry}: /etc/${entry} does not exist\n`);
    }
  } catch (error) {
    throw failure(error, 255);
  }
  try {
    if (where.foreground) {
      const box = where.context ? where.context.sandbox().with(sandbox) : sandbox;
      return await where.foreground(box, argv);
    }
    return await runForeground(planHere(sandbox.steps), argv);
  } catch (error) {
    // As ip netns exec: 255 when the namespace cannot be entered, 1 when the
    // program cannot be executed.
    throw failure(error, error instanceof SyscallError && error.syscall === "execve" ? 1 : 255);
  }
}

/** `nsh netns`. */
export const netnsCommand: CliCommand = {
  help: netnsHelp,
  async run(args: readonly string[], io: Io, where: Where = {}) {
    const [word, ...rest] = args;
    if (word === "-h" || word === "--help") {
      io.out(netnsHelp());
      return 0;
    }
    if (word === "-V" || word === "--version") {
      io.out(`nsh netns ${VERSION}\n`);
      return 0;
    }
    if (word === undefined) return list(io, where);
    // As iproute2: the word after the subcommand must be a valid name, whatever the subcommand.
    if (rest[0] !== undefined) {
      try {
        checkNetnsName(rest[0]);
      } catch (error) {
        throw asValueError("netns", error, 255);
      }
    }
    const sub = netnsSubcommand(word);
    if (!sub) throw new UsageError("netns", `unknown subcommand '${word}'`, 255);
    const context = { context: where.context };
    try {
      switch (sub) {
        case "list":
          return list(io, where);
        case "list-id":
          return listIds(rest, io, where);
        case "help":
          io.out(netnsHelp());
          return 0;
        case "add":
          await addNetns(name(rest, "add"), context);
          return 0;
        case "set": {
          const n = name(rest, "set");
          const text = rest[1];
          if (text === undefined) throw new UsageError("netns", "set: no nsid given");
          const nsid = text === "auto" ? "auto" : integer(text);
          if (nsid === undefined || (nsid !== "auto" && nsid < 0)) {
            throw new ValueError("netns", `set: invalid nsid '${text}': expected auto or a number, 0 or more`, 255);
          }
          try {
            setNetnsId(n, nsid, context);
          } catch (error) {
            // The kernel's refusal: 2, as ip's "RTNETLINK answers".
            throw failure(error, error instanceof SyscallError && error.syscall === "sendmsg" ? 2 : 1);
          }
          return 0;
        }
        case "attach": {
          if (rest.length < 2) throw new UsageError("netns", "attach: expected a name and a pid");
          const pid = integer(rest[1]!);
          if (pid === undefined || pid === 0) throw new ValueError("netns", `attach: invalid pid '${rest[1]}'`);
          await attachNetns(rest[0]!, pid, context);
          return 0;
        }
        case "delete":
          await deleteNetns(name(rest, "delete"), context);
          return 0;
        case "identify": {
          if (rest.length > 1) throw new UsageError("netns", "identify: extra arguments given");
          const pid = rest[0];
          if (pid !== undefined && !/^[0-9]*$/.test(pid)) {
            throw new ValueError("netns", `identify: '${pid}' is not a pid`);
          }
          const names = identifyNetns(pid === undefined ? "self" : Number(pid), context);
          io.out(`${names.at(-1) ?? ""}\n`);
          return 0;
        }
        case "pids":
          if (rest.length > 1) throw new UsageError("netns", "pids: extra arguments given");
          for (const p of netnsPids(name(rest, "pids"), context)) io.out(p + "\n");
          return 0;
        case "monitor":
          return await monitor(io, where);
        default:
          return await exec(rest, io, where);
      }
    } catch (error) {
      throw failure(error, 1);
    }
  },
};
