/**
 * `nsh nsenter`: util-linux `nsenter` on nsh's engine, one-shot.
 *
 * @module
 */

import { formatOptions, getopt, type OptionSpec } from "./getopt.ts";
import { UsageError, ValueError } from "./usage.ts";
import { asValueError, planCommand } from "./plan_command.ts";
import { VERSION } from "./version.ts";
import type { CliCommand } from "./commands.ts";
import { runForeground } from "./foreground.ts";
import { type NsenterOptions, nsenterSteps } from "../lib/util_linux_options.ts";
import { namespaceInfo } from "../lib/namespaces.ts";
import type { Plan } from "../lib/plan.ts";
import { workdir } from "../lib/steps.ts";

const ns = (long: string, short: string, help: string): OptionSpec => ({
  long,
  short,
  arg: "optional",
  attached: true,
  value: "file",
  help,
});

/** The options of `nsh nsenter`, as util-linux names them. */
export const NSENTER_OPTIONS: readonly OptionSpec[] = [
  { long: "all", short: "a", arg: "none", help: "enter all namespaces" },
  { long: "target", short: "t", arg: "required", value: "<pid>", help: "target process to get namespaces from" },
  ns("mount", "m", "enter mount namespace"),
  ns("uts", "u", "enter UTS namespace (hostname etc)"),
  ns("ipc", "i", "enter System V IPC namespace"),
  ns("net", "n", "enter network namespace"),
  {
    long: "net-socket",
    short: "N",
    arg: "required",
    value: "<fd>",
    help: "enter socket's network namespace (needs --target)",
  },
  ns("pid", "p", "enter pid namespace"),
  ns("cgroup", "C", "enter cgroup namespace"),
  ns("user", "U", "enter user namespace"),
  ns("time", "T", "enter time namespace"),
  { long: "setuid", short: "S", arg: "required", value: "<uid>", help: "set uid in entered namespace" },
  { long: "setgid", short: "G", arg: "required", value: "<gid>", help: "set gid in entered namespace" },
  { long: "preserve-credentials", arg: "none", help: "do not touch uids or gids" },
  { long: "keep-caps", arg: "none", help: "retain capabilities granted in user namespaces" },
  { long: "root", short: "r", arg: "optional", attached: true, value: "dir", help: "set the root directory" },
  { long: "wd", short: "w", arg: "optional", attached: true, value: "dir", help: "set the working directory" },
  { long: "wdns", short: "W", arg: "required", value: "<dir>", help: "set the working directory in namespace" },
  { long: "env", short: "e", arg: "none", help: "inherit environment variables from target process" },
  { long: "no-fork", short: "F", arg: "none", help: "accepted for compatibility: a PID namespace always forks" },
  { long: "follow-context", short: "Z", arg: "none", help: "set SELinux context (not supported)" },
  { long: "help", short: "h", arg: "none", help: "display this help" },
  { long: "version", short: "V", arg: "none", help: "display version" },
];

/** The help text of `nsh nsenter`. */
export function nsenterHelp(): string {
  return `
Usage:
 nsh nsenter [options] [<program> [<argument>...]]

Run a program with namespaces of other processes.

Options:
${formatOptions(NSENTER_OPTIONS)}

The program defaults to $SHELL, or /bin/sh. A file given to a namespace option
is a namespace file: /proc/PID/ns/TYPE or a file a namespace was bound to
(nsh unshare --net=FILE); for --net also a socket of a process, as
/proc/PID/fd/N (what --target PID --net-socket N joins). Joining a PID
namespace runs the program in a new process inside it. With no namespace
option nsh fails, as util-linux 2.41 and later do. nsh waits for the program
and ends as it did: with its status, or with the signal that ended it (128+N
for the signals that dump core).
`;
}

/** What the command line asks for. */
export type NsenterRequest =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | {
    readonly kind: "run";
    readonly options: NsenterOptions;
    /** Working directory inside the joined namespaces (`--wdns`). */
    readonly wdns: string | undefined;
    /** Use the target's environment. */
    readonly env: boolean;
    readonly argv: string[];
    /** Whether the command line named the program (the shell then holds no context). */
    readonly program: boolean;
  };

function id(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xfffffffe) {
    throw new ValueError("nsenter", `failed to parse ${what}: '${text}'`);
  }
  return Number(text);
}

/**
 * Parses the arguments of `nsh nsenter`. Pure: nothing is started.
 *
 * @param args The words after `nsenter`.
 * @param shell The default program.
 * @returns What to do.
 * @throws {UsageError} For a malformed command line.
 */
export function parseNsenter(args: readonly string[], shell = "/bin/sh"): NsenterRequest {
  const cmd = "nsenter";
  const { options, rest } = getopt(cmd, NSENTER_OPTIONS, args);
  const o: NsenterOptions = {};
  let wdns: string | undefined;
  let env = false;
  for (const { name, value } of options) {
    const info = namespaceInfo(name);
    if (info && info.option === name) {
      o[name as "mount"] = value ?? true;
      continue;
    }
    switch (name) {
      case "help":
        return { kind: "help" };
      case "version":
        return { kind: "version" };
      case "all":
        o.all = true;
        break;
      case "net-socket":
        o.netSocket = id(value!, "socket descriptor");
        break;
      case "target":
        o.target = id(value!, "pid");
        if (o.target === 0) throw new ValueError(cmd, `failed to parse pid: '${value}'`);
        break;
      case "setuid":
        o.setuid = id(value!, "uid");
        break;
      case "setgid":
        o.setgid = id(value!, "gid");
        break;
      case "preserve-credentials":
        o.preserveCredentials = true;
        break;
      case "keep-caps":
        o.keepCaps = true;
        break;
      case "root":
        o.root = value ?? true;
        break;
      case "wd":
        o.wd = value ?? true;
        break;
      case "wdns":
        wdns = value!;
        break;
      case "env":
        env = true;
        break;
      case "no-fork":
        break;
      case "follow-context":
        throw new UsageError(cmd, "--follow-context is not supported: nsh has no SELinux support");
    }
  }
  if (env && o.target === undefined) throw new UsageError(cmd, "--env needs --target");
  const argv = rest.length ? [...rest] : [shell];
  const program = rest.length > 0;
  return { kind: "run", options: o, wdns, env, argv, program };
}

/**
 * The plan of parsed options, with the plan's own checks reported as usage
 * errors.
 *
 * @param options The options.
 * @param wdns A working directory inside the joined namespaces.
 * @returns The plan.
 * @throws {UsageError} For missing targets or contradictory options.
 */
export function planNsenter(options: NsenterOptions, wdns?: string): Plan {
  let steps;
  try {
    steps = nsenterSteps(options);
  } catch (error) {
    throw asValueError("nsenter", error);
  }
  if (wdns !== undefined) steps.push(workdir(wdns));
  return planCommand("nsenter", steps);
}

/**
 * The environment of a process, from `/proc/PID/environ`.
 *
 * @param pid The process.
 * @returns Its variables.
 * @throws {Error} When it cannot be read.
 */
export function processEnvironment(pid: number): Record<string, string> {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/environ`);
  } catch (error) {
    throw new Error(`Cannot read the environment of process ${pid}: ${(error as Error).message}`);
  }
  const env: Record<string, string> = {};
  for (const entry of text.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** `nsh nsenter`. */
export const nsenterCommand: CliCommand = {
  help: nsenterHelp,
  async run(args, io) {
    const request = parseNsenter(args, Deno.env.get("SHELL") || "/bin/sh");
    if (request.kind === "help") {
      io.out(nsenterHelp());
      return 0;
    }
    if (request.kind === "version") {
      io.out(`nsh nsenter ${VERSION}\n`);
      return 0;
    }
    const p = planNsenter(request.options, request.wdns);
    const env = request.env ? processEnvironment(request.options.target!) : undefined;
    return await runForeground(p, request.argv, env);
  },
};
