/**
 * `nsh netns`: named network namespaces with the syntax of `ip netns`.
 *
 * @module
 */

import { UsageError, ValueError } from "./usage.ts";
import { VERSION } from "./version.ts";
import type { CliCommand, Io } from "./commands.ts";
import { runForeground } from "./foreground.ts";
import {
  addNetns,
  attachNetns,
  checkNetnsName,
  deleteNetns,
  identifyNetns,
  listNetns,
  netnsExec,
  netnsPids,
} from "../lib/netns.ts";
import { plan } from "../lib/plan.ts";
import { ids } from "../lib/system.ts";

/** The help text of `nsh netns`. */
export function netnsHelp(): string {
  return `
Usage:
 nsh netns list
 nsh netns add <name>
 nsh netns attach <name> <pid>
 nsh netns delete <name>
 nsh netns identify [<pid>]
 nsh netns pids <name>
 nsh netns exec <name> <program> [<argument>...]

Named network namespaces, as ip-netns(8) keeps them: files in /run/netns that
network namespaces are bound to. Names made here are seen by ip netns, and
names made by ip netns here. exec shows /etc/netns/<name>/* over /etc and a
/sys of the namespace to the program, in a mount namespace of its own.
`;
}

/** The subcommands of `netns` and the aliases iproute2 also takes, by the name they stand for. */
export const NETNS_SUBCOMMANDS: Readonly<Record<string, string>> = {
  list: "list",
  ls: "list",
  show: "list",
  add: "add",
  attach: "attach",
  delete: "delete",
  del: "delete",
  identify: "identify",
  pids: "pids",
  exec: "exec",
};

function name(args: readonly string[], index: number, what: string): string {
  const value = args[index];
  if (value === undefined) throw new UsageError("netns", `${what}: no name given`);
  try {
    checkNetnsName(value);
  } catch (error) {
    throw new ValueError("netns", (error as Error).message.replace(/^Cannot/, "cannot"));
  }
  return value;
}

function pid(text: string | undefined, what: string): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < 1) {
    throw new ValueError("netns", `${what}: '${text ?? ""}' is not a pid`);
  }
  return Number(text);
}

function extra(args: readonly string[], count: number, what: string): void {
  if (args.length > count) throw new UsageError("netns", `${what}: unexpected argument '${args[count]}'`);
}

/** `nsh netns`. */
export const netnsCommand: CliCommand = {
  help: netnsHelp,
  async run(args: readonly string[], io: Io) {
    const [word, ...rest] = args;
    if (word === "-h" || word === "--help" || word === "help") {
      io.out(netnsHelp());
      return 0;
    }
    if (word === "-V" || word === "--version") {
      io.out(`nsh netns ${VERSION}\n`);
      return 0;
    }
    const sub = word === undefined ? "list" : NETNS_SUBCOMMANDS[word];
    if (!sub) throw new UsageError("netns", `unknown subcommand '${word}'`);
    switch (sub) {
      case "list":
        extra(rest, 0, "list");
        for (const n of listNetns()) io.out(n + "\n");
        return 0;
      case "add":
        extra(rest, 1, "add");
        await addNetns(name(rest, 0, "add"));
        return 0;
      case "attach":
        extra(rest, 2, "attach");
        attachNetns(name(rest, 0, "attach"), pid(rest[1], "attach"));
        return 0;
      case "delete":
        extra(rest, 1, "delete");
        deleteNetns(name(rest, 0, "delete"));
        return 0;
      case "identify":
        extra(rest, 1, "identify");
        for (const n of identifyNetns(rest[0] === undefined ? "self" : pid(rest[0], "identify"))) io.out(n + "\n");
        return 0;
      case "pids":
        extra(rest, 1, "pids");
        for (const p of netnsPids(name(rest, 0, "pids"))) io.out(p + "\n");
        return 0;
      default: {
        const n = name(rest, 0, "exec");
        const argv = rest.slice(1);
        if (!argv.length) throw new UsageError("netns", "exec: no program given");
        const { sandbox, skipped } = netnsExec(n);
        for (const entry of skipped) {
          io.err(`nsh netns: not showing /etc/netns/${n}/${entry}: /etc/${entry} does not exist\n`);
        }
        const { euid, egid } = ids();
        return await runForeground(plan(sandbox.steps, { euid, egid }), argv);
      }
    }
  },
};
