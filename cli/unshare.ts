/**
 * `nsh unshare`: util-linux `unshare` on nsh's engine, one-shot.
 *
 * @module
 */

import { formatOptions, getopt, type OptionSpec } from "./getopt.ts";
import { UsageError, ValueError } from "./usage.ts";
import { asValueError, planCommand } from "./plan_command.ts";
import { isolate } from "../lib/isolate.ts";
import { Sandbox } from "../lib/sandbox.ts";
import { Context } from "../lib/context.ts";
import { checkContextName } from "../lib/names.ts";
import { VERSION } from "./version.ts";
import type { CliCommand } from "./commands.ts";
import { runForeground } from "./foreground.ts";
import { type UnshareOptions, unshareSteps } from "../lib/util_linux_options.ts";
import { parseIdRange } from "../lib/idmap.ts";
import { namespaceInfo } from "../lib/namespaces.ts";
import { signalNumber } from "../ffi/signals.ts";
import type { Plan } from "../lib/plan.ts";
import {
  addCapabilities,
  dropCapabilities,
  keepCapabilities,
  landlock,
  limits,
  newSession,
  noNewPrivs,
  type Propagation,
  rootBind,
  rootChmod,
  rootDev,
  rootDir,
  rootMqueue,
  rootProc,
  rootRemountReadonly,
  rootSymlink,
  rootTmpfs,
  seccomp,
  seccompBpf,
  seccompProfile,
  type Step,
} from "../lib/steps.ts";

/** The options of `nsh unshare`, as util-linux names them. */
export const UNSHARE_OPTIONS: readonly OptionSpec[] = [
  { long: "mount", short: "m", arg: "optional", value: "file", help: "unshare mounts namespace" },
  { long: "uts", short: "u", arg: "optional", value: "file", help: "unshare UTS namespace (hostname etc)" },
  { long: "ipc", short: "i", arg: "optional", value: "file", help: "unshare System V IPC namespace" },
  { long: "net", short: "n", arg: "optional", value: "file", help: "unshare network namespace" },
  { long: "pid", short: "p", arg: "optional", value: "file", help: "unshare pid namespace" },
  { long: "user", short: "U", arg: "optional", value: "file", help: "unshare user namespace" },
  { long: "cgroup", short: "C", arg: "optional", value: "file", help: "unshare cgroup namespace" },
  { long: "time", short: "T", arg: "optional", value: "file", help: "unshare time namespace" },
  { long: "fork", short: "f", arg: "none", help: "accepted for compatibility: nsh always starts a new process" },
  {
    long: "forward-signals",
    arg: "none",
    help: "pass SIGINT sent to nsh on to the program too (SIGTERM and SIGHUP always are)",
  },
  { long: "map-user", arg: "required", value: "<uid>|<name>", help: "map current user to uid (implies --user)" },
  { long: "map-group", arg: "required", value: "<gid>|<name>", help: "map current group to gid (implies --user)" },
  { long: "map-root-user", short: "r", arg: "none", help: "map current user to root (implies --user)" },
  { long: "map-current-user", short: "c", arg: "none", help: "map current user to itself (implies --user)" },
  { long: "map-auto", arg: "none", help: "map users and groups automatically (implies --user)" },
  {
    long: "map-users",
    arg: "required",
    value: "<outer>,<inner>,<count>",
    help: "map count users from outer to inner (implies --user)",
  },
  {
    long: "map-groups",
    arg: "required",
    value: "<outer>,<inner>,<count>",
    help: "map count groups from outer to inner (implies --user)",
  },
  { long: "kill-child", arg: "optional", value: "signame", help: "when dying, kill the child (default SIGKILL)" },
  { long: "mount-proc", arg: "optional", value: "dir", help: "mount proc filesystem first (implies --mount)" },
  {
    long: "propagation",
    arg: "required",
    value: "slave|shared|private|unchanged",
    help: "modify mount propagation in mount namespace",
  },
  { long: "setgroups", arg: "required", value: "allow|deny", help: "control the setgroups syscall in user namespaces" },
  { long: "keep-caps", arg: "none", help: "retain capabilities granted in user namespaces" },
  {
    long: "root",
    short: "R",
    arg: "required",
    value: "<dir>",
    help: "run the command with root directory set to <dir>",
  },
  { long: "wd", short: "w", arg: "required", value: "<dir>", help: "change working directory to <dir>" },
  { long: "setuid", short: "S", arg: "required", value: "<uid>", help: "set uid in entered namespace" },
  { long: "setgid", short: "G", arg: "required", value: "<gid>", help: "set gid in entered namespace" },
  {
    long: "monotonic",
    arg: "required",
    value: "<offset>",
    help: "set clock monotonic offset (seconds) in time namespaces",
  },
  {
    long: "boottime",
    arg: "required",
    value: "<offset>",
    help: "set clock boottime offset (seconds) in time namespaces",
  },
  { long: "clear-env", arg: "none", help: "do not pass the environment variables on to the program" },
  {
    long: "whitelist-env",
    arg: "required",
    value: "<list>",
    help: "pass on only the variables in the comma-separated list",
  },
  {
    long: "usage",
    arg: "none",
    help: "print the box's CPU time and peak memory to stderr at the end, as time -v",
  },
  { long: "hostname", arg: "required", value: "<name>", help: "set the hostname (implies --uts)" },
  { long: "domainname", arg: "required", value: "<name>", help: "set the NIS domain name (implies --uts)" },
  { long: "help", short: "h", arg: "none", help: "display this help" },
  { long: "version", short: "V", arg: "none", help: "display version" },
];

/** An option of nsh's own, which adds a setup step. */
export interface StepOption extends OptionSpec {
  /**
   * The step the option adds, from its value (and the further words of an
   * option that takes several).
   *
   * @throws {TypeError} For a value it cannot use.
   */
  step(value: string | undefined, more: readonly string[]): Step;
}

/** A mode in octal, as chmod(1) takes it. */
function octalMode(text: string | undefined): number {
  if (text === undefined || !/^[0-7]{1,4}$/.test(text)) {
    throw new TypeError(`Cannot use '${text}' as a mode: it is octal, such as 0755`);
  }
  return parseInt(text, 8);
}

/** Landlock's options: each adds a rule; the rules of a command make one ruleset, denying all the rest. */
function landlockOptions(): StepOption[] {
  const paths = [
    ["ro", "read"],
    ["rw", "read and write"],
    ["rox", "read and execute"],
    ["rwx", "read, write and execute"],
  ] as const;
  const ports = [["connect", "connect to"], ["bind", "bind"]] as const;
  return [
    ...paths.map(([access, what]): StepOption => ({
      long: `landlock-${access}`,
      arg: "required",
      value: "<path>",
      help: `Landlock: ${what} beneath path, and nothing else`,
      step: (path) => landlock({ rules: [{ kind: "path", path: path!, access }] }),
    })),
    ...ports.map(([access, what]): StepOption => ({
      long: `landlock-${access}`,
      arg: "required",
      value: "<port>",
      help: `Landlock: ${what} this TCP port, and no other`,
      step: (port) => landlock({ rules: [{ kind: "port", port: tcpPort(port), access }] }),
    })),
  ];
}

/** A TCP port number. */
function tcpPort(text: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) > 65535) {
    throw new TypeError(`Cannot use '${text}' as a TCP port: it is a number from 0 to 65535`);
  }
  return Number(text);
}

/** The options of binding into a new root, as bubblewrap names them. */
function bindOptions(): StepOption[] {
  const kinds = [
    ["bind", "bind-mount", {}],
    ["ro-bind", "bind-mount read-only", { readonly: true }],
    ["dev-bind", "bind-mount, devices working", { devices: true }],
  ] as const;
  return kinds.flatMap(([name, what, options]) =>
    [false, true].map((optional): StepOption => ({
      long: optional ? `${name}-try` : name,
      arg: "required",
      words: 2,
      value: "<src> <dest>",
      help: `${what} src at dest in a new root${optional ? " (if src exists)" : ""}`,
      step: (source, [dest]) => rootBind(source!, dest!, { ...options, optional }),
    }))
  );
}

/** A count for a cgroup file that also takes `max` (pids.max). */
function countOrMax(text: string | undefined, file: string): number | "max" {
  if (text === "max") return "max";
  if (text === undefined || !/^\d+$/.test(text)) {
    throw new RangeError(`Cannot use '${text}' as ${file}: give a number, or max`);
  }
  return Number(text);
}

/** A weight (cpu.weight, io.weight). */
function weight(text: string | undefined, file: string): number {
  if (text === undefined || !/^\d+$/.test(text)) {
    throw new RangeError(`Cannot use '${text}' as ${file}: give 1 to 10000`);
  }
  return Number(text);
}

/** A comma-separated list of names. */
function list(value: string | undefined): string[] {
  return (value ?? "").split(",").map((n) => n.trim()).filter((n) => n !== "");
}

/**
 * nsh's own options of `unshare` and `nsenter`, beyond util-linux's: each
 * adds a setup step, in the order given. One entry per option.
 */
export const STEP_OPTIONS: readonly StepOption[] = [
  {
    long: "cap-drop",
    arg: "required",
    value: "<caps>",
    help: "drop capabilities (comma-separated, or ALL)",
    step: (value) => dropCapabilities(...list(value)),
  },
  {
    long: "cap-add",
    arg: "required",
    value: "<caps>",
    help: "add capabilities back after --cap-drop",
    step: (value) => addCapabilities(...list(value)),
  },
  {
    long: "cap-keep",
    arg: "required",
    value: "<caps>",
    help: "keep only these capabilities",
    step: (value) => keepCapabilities(...list(value)),
  },
  {
    long: "no-new-privs",
    arg: "none",
    help: "no execve may grant privileges (setuid bits, file caps)",
    step: () => noNewPrivs(),
  },
  {
    long: "new-session",
    arg: "none",
    help: "run the program in a new session, without a terminal",
    step: () => newSession(),
  },
  {
    long: "seccomp-deny",
    arg: "required",
    value: "<calls>",
    help: "make these system calls and @groups fail with EPERM",
    step: (value) =>
      seccomp({ defaultAction: "allow", rules: [{ syscalls: list(value), action: { errno: "EPERM" } }] }),
  },
  {
    long: "seccomp-profile",
    arg: "required",
    value: "<file>",
    help: "an OCI or Docker seccomp profile (JSON)",
    step: (file) => seccompProfile(file!),
  },
  {
    long: "seccomp-bpf",
    arg: "required",
    value: "<file>",
    help: "a seccomp filter as raw BPF",
    step: (file) => seccompBpf(file!),
  },
  ...landlockOptions(),
  ...bindOptions(),
  {
    long: "tmpfs",
    arg: "required",
    value: "<dest>",
    help: "a tmpfs at dest in a new root",
    step: (dest) => rootTmpfs(dest!),
  },
  {
    long: "dev",
    arg: "required",
    value: "<dest>",
    help: "a minimal /dev at dest in a new root",
    step: (d) => rootDev(d),
  },
  { long: "proc", arg: "required", value: "<dest>", help: "a proc at dest in a new root", step: (d) => rootProc(d) },
  {
    long: "mqueue",
    arg: "required",
    value: "<dest>",
    help: "a message queue filesystem at dest in a new root",
    step: (d) => rootMqueue(d),
  },
  { long: "dir", arg: "required", value: "<dest>", help: "a directory in a new root", step: (d) => rootDir(d!) },
  {
    long: "symlink",
    arg: "required",
    words: 2,
    value: "<src> <dest>",
    help: "a symbolic link at dest to src in a new root",
    step: (target, [dest]) => rootSymlink(target!, dest!),
  },
  {
    long: "remount-ro",
    arg: "required",
    value: "<dest>",
    help: "make the mount at dest in the new root read-only",
    step: (dest) => rootRemountReadonly(dest!),
  },
  {
    long: "memory-max",
    arg: "required",
    value: "<size>",
    help: "limit the box's memory (memory.max: 64M, 1G, max)",
    step: (value) => limits({ memoryMax: value! }),
  },
  {
    long: "memory-swap-max",
    arg: "required",
    value: "<size>",
    help: "limit the box's swap (memory.swap.max)",
    step: (value) => limits({ memorySwapMax: value! }),
  },
  {
    long: "pids-max",
    arg: "required",
    value: "<n>",
    help: "limit the box's processes and threads (pids.max)",
    step: (value) => limits({ pidsMax: countOrMax(value, "pids.max") }),
  },
  {
    long: "cpu-max",
    arg: "required",
    value: "<quota/period>|<n>%",
    help: "limit the box's CPU time (cpu.max: 50000/100000, 50%, max)",
    step: (value) => limits({ cpuMax: value! }),
  },
  {
    long: "cpu-weight",
    arg: "required",
    value: "<n>",
    help: "the box's share of CPU time, 1-10000, default 100 (cpu.weight)",
    step: (value) => limits({ cpuWeight: weight(value, "cpu.weight") }),
  },
  {
    long: "io-weight",
    arg: "required",
    value: "<n>",
    help: "the box's share of block I/O, 1-10000, default 100 (io.weight)",
    step: (value) => limits({ ioWeight: weight(value, "io.weight") }),
  },
  {
    long: "cgroup-parent",
    arg: "required",
    value: "<dir>",
    help: "make the box's cgroup below this cgroup v2 directory (a delegated one)",
    step: (dir) => limits({ parent: dir! }),
  },
  {
    long: "chmod",
    arg: "required",
    words: 2,
    value: "<octal> <path>",
    help: "change the mode of path in the new root",
    step: (mode, [path]) => rootChmod(path!, octalMode(mode)),
  },
];

/** The sandbox preset and its one option: their steps come first, whatever their place; and naming a context. */
export const PRESET_OPTIONS: readonly OptionSpec[] = [
  { long: "isolate", arg: "none", help: "the sandbox preset, in one option (see below)" },
  { long: "share-net", arg: "none", help: "with --isolate: keep the network namespace" },
  { long: "name", arg: "required", value: "<name>", help: "name the context (nsh enter NAME joins it)" },
  { long: "persist", arg: "none", help: "with --name: keep it after nsh ends (nsh release NAME)" },
];

/** The options that set limits, as the shell's `limit` takes them. */
export const LIMIT_OPTIONS: readonly StepOption[] = STEP_OPTIONS.filter((o) =>
  ["memory-max", "memory-swap-max", "pids-max", "cpu-max", "cpu-weight", "io-weight"].includes(o.long)
);

/** The options that restrict the programs that follow, as the shell's `restrict` takes them. */
export const RESTRICT_OPTIONS: readonly StepOption[] = STEP_OPTIONS.filter((o) =>
  /^(cap|seccomp|landlock)-/.test(o.long) || o.long === "no-new-privs" || o.long === "new-session"
);

/**
 * Parses the arguments of a shell builtin that takes some of
 * {@linkcode STEP_OPTIONS} for the current context. Pure.
 *
 * @returns The steps, in the order given.
 * @throws {UsageError} For no option, an operand, or a bad value.
 */
function parseStepSubset(cmd: string, table: readonly StepOption[], example: string, args: readonly string[]): Step[] {
  const { options, rest } = getopt(cmd, table, args);
  if (rest.length) throw new UsageError(cmd, `unexpected argument '${rest[0]}'`);
  if (!options.length) throw new UsageError(cmd, `expected an option, such as ${example}`);
  return options.map(({ name, value, more }) => {
    try {
      return table.find((o) => o.long === name)!.step(value, more ?? []);
    } catch (error) {
      throw asValueError(cmd, error);
    }
  });
}

/**
 * Parses the arguments of the shell's `limit`: new limits for the current
 * context's box. Pure.
 *
 * @param args The words after `limit`.
 * @returns The limits steps, in the order given.
 * @throws {UsageError} For no option, an operand, or a bad value.
 */
export function parseLimit(args: readonly string[]): Step[] {
  return parseStepSubset("limit", LIMIT_OPTIONS, "--pids-max 100", args);
}

/**
 * Parses the arguments of the shell's `restrict`: capabilities,
 * no_new_privs, a new session, seccomp and Landlock for the programs run in
 * the current context from then on. Pure.
 *
 * @param args The words after `restrict`.
 * @returns The steps, in the order given.
 * @throws {UsageError} For no option, an operand, or a bad value.
 */
export function parseRestrict(args: readonly string[]): Step[] {
  return parseStepSubset("restrict", RESTRICT_OPTIONS, "--cap-drop ALL", args);
}

/** The help text of `nsh unshare`. */
export function unshareHelp(): string {
  return `
Usage:
 nsh unshare [options] [<program> [<argument>...]]

Run a program with some namespaces unshared from the parent.

Options:
${formatOptions(UNSHARE_OPTIONS)}

nsh's own options (applied in the order given):
${formatOptions([...PRESET_OPTIONS, ...STEP_OPTIONS])}

--isolate is a sandbox in one option: new user, pid, mount, ipc, uts, cgroup
and network namespaces (--share-net keeps the network); a new root with /usr,
/etc and the links of a merged /usr read-only, its own /proc, /dev and /tmp;
every capability dropped; no_new_privs; a seccomp filter that makes mounts,
modules, reboot, ptrace, the keyring, new namespaces and TIOCSTI fail with
EPERM (and kills other ABIs); the program dies with nsh. As root, root in the
box is nobody outside. Options after it open holes: --bind DIR DIR
(writable), --ro-bind, --cap-add.

The program defaults to $SHELL, or /bin/sh. Option parsing stops at the
program's first word. The program is always a new process: with --pid it is
PID 1 of the new namespace. nsh waits for it and exits with its status; when a
signal ended it, nsh ends itself with the same signal, as util-linux does
(exit status 128+N for the signals that dump core: a core of nsh would be
Deno's). SIGTERM and SIGHUP sent to nsh go on to the program, which stands
where util-linux's unforked program would; Ctrl-C reaches it from the
terminal. With --clear-env or --whitelist-env the program is looked for in
the PATH it is given, or in the default path.

Limits (--memory-max, --pids-max, --cpu-max…) put the program in a cgroup of
its own before its first instruction, below nsh's cgroup (v2, or v1 where a
controller is only there). Everything the program starts stays in it; when
the program ends, what is left in the box is killed and the cgroup removed.
Rootless, a cgroup v2 subtree must be delegated to the user (systemd-run
--user --scope -p Delegate=yes nsh …, or --cgroup-parent DIR).

A file given to a namespace option (--net=FILE) gets the new namespace bound
to it. Unlike util-linux, nsh creates it when missing; and it binds only to an
empty regular file: never over a file with content, a symbolic link or a
special file (util-linux would hide /etc/passwd). nsh release FILE unbinds it.
`;
}

/** What the command line asks for. */
export type UnshareRequest =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | {
    readonly kind: "run";
    readonly options: UnshareOptions;
    readonly argv: string[];
    /** Whether the command line named the program (the shell then holds no context). */
    readonly program: boolean;
    /** The steps of nsh's own options, in the order given. */
    readonly steps: readonly Step[];
    /** `--isolate`: the sandbox preset, before the steps (which open holes in it). */
    readonly isolate?: { readonly network: boolean };
    /** `--name`: the name of the context it makes (no program then). */
    readonly name?: string;
    /** `--persist`: the named context outlives nsh. */
    readonly persist?: boolean;
    /** `--forward-signals`: SIGINT sent to nsh goes on to the program too. */
    readonly forwardSignals?: true;
    /** `--usage`: print what the box used when the program ends. */
    readonly usage?: true;
    /**
     * `--clear-env` and `--whitelist-env`: the program gets only these
     * variables of the caller's environment (none for `--clear-env` alone).
     */
    readonly keepEnv?: readonly string[];
  };

const PROPAGATIONS = ["slave", "shared", "private", "unchanged"];

function integer(command: string, text: string, what: string, min = -(2 ** 53), max = 2 ** 53): number {
  if (!/^-?\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ValueError(command, `failed to parse ${what}: '${text}'`);
  }
  return Number(text);
}

/**
 * Parses the arguments of `nsh unshare`. Pure: nothing is started.
 *
 * @param args The words after `unshare`.
 * @param shell The default program (`$SHELL`).
 * @returns What to do.
 * @throws {UsageError} For a malformed command line.
 */
export function parseUnshare(args: readonly string[], shell = "/bin/sh"): UnshareRequest {
  const cmd = "unshare";
  const { options, rest } = getopt(cmd, [...UNSHARE_OPTIONS, ...PRESET_OPTIONS, ...STEP_OPTIONS], args);
  const o: UnshareOptions = {};
  const steps: Step[] = [];
  const preset = { isolate: false, shareNet: false };
  const named: { name?: string; persist?: boolean } = {};
  let forwardSignals = false;
  let usage = false;
  let keepEnv: string[] | undefined;
  for (const { name, value, more } of options) {
    const ns = namespaceInfo(name);
    if (ns && ns.option === name) {
      // A value binds the new namespace to that file.
      o[name as "mount"] = value ?? true;
      continue;
    }
    if (name === "isolate" || name === "share-net") {
      preset[name === "isolate" ? "isolate" : "shareNet"] = true;
      continue;
    }
    if (name === "name") {
      try {
        checkContextName(value!);
      } catch (error) {
        throw asValueError(cmd, error);
      }
      named.name = value!;
      continue;
    }
    if (name === "persist") {
      named.persist = true;
      continue;
    }
    const own = STEP_OPTIONS.find((s) => s.long === name);
    if (own) {
      try {
        steps.push(own.step(value, more ?? []));
      } catch (error) {
        throw asValueError(cmd, error);
      }
      continue;
    }
    switch (name) {
      case "help":
        return { kind: "help" };
      case "version":
        return { kind: "version" };
      case "fork":
        break;
      case "forward-signals":
        forwardSignals = true;
        break;
      case "usage":
        // Counting needs a cgroup: a limits step without limits makes one.
        usage = true;
        steps.push(limits({ usage: true }));
        break;
      case "clear-env":
        keepEnv ??= [];
        break;
      case "whitelist-env":
        // As util-linux: the option may be repeated; empty names are skipped.
        (keepEnv ??= []).push(...value!.split(",").filter((n) => n !== ""));
        break;
      case "map-user":
        o.mapUser = /^\d+$/.test(value!) ? Number(value) : value!;
        break;
      case "map-group":
        o.mapGroup = /^\d+$/.test(value!) ? Number(value) : value!;
        break;
      case "map-root-user":
        o.mapRootUser = true;
        break;
      case "map-current-user":
        o.mapCurrentUser = true;
        break;
      case "map-auto":
        o.mapAuto = true;
        break;
      case "map-users":
      case "map-groups": {
        let ranges: UnshareOptions["mapUsers"];
        try {
          ranges = value === "auto" ? "auto" : [parseIdRange(value!)];
        } catch (error) {
          throw asValueError(cmd, error);
        }
        if (name === "map-users") o.mapUsers = ranges;
        else o.mapGroups = ranges;
        break;
      }
      case "kill-child": {
        const signal = value === undefined ? 9 : signalNumber(value);
        if (signal === undefined) throw new ValueError(cmd, `unknown signal: ${value}`);
        o.killChild = signal;
        break;
      }
      case "mount-proc":
        o.mountProc = value ?? true;
        break;
      case "propagation":
        if (!PROPAGATIONS.includes(value!)) throw new ValueError(cmd, `unsupported propagation mode: ${value}`);
        o.propagation = value as Propagation;
        break;
      case "setgroups":
        if (value !== "allow" && value !== "deny") {
          throw new ValueError(cmd, `unsupported --setgroups argument '${value}'`);
        }
        o.setgroups = value;
        break;
      case "keep-caps":
        o.keepCaps = true;
        break;
      case "root":
        o.root = value!;
        break;
      case "wd":
        o.wd = value!;
        break;
      case "setuid":
        o.setuid = integer(cmd, value!, "uid", 0, 0xfffffffe);
        break;
      case "setgid":
        o.setgid = integer(cmd, value!, "gid", 0, 0xfffffffe);
        break;
      case "monotonic":
        o.monotonic = integer(cmd, value!, "monotonic offset");
        break;
      case "boottime":
        o.boottime = integer(cmd, value!, "boottime offset");
        break;
      case "hostname":
        o.hostname = value!;
        break;
      case "domainname":
        o.domainname = value!;
        break;
    }
  }
  // As util-linux: an offset needs a time namespace asked for on the command
  // line (the API implies one; the command refuses, so that a forgotten -T
  // is not silently added).
  if ((o.monotonic !== undefined || o.boottime !== undefined) && !o.time) {
    throw new ValueError(cmd, "options --monotonic and --boottime require unsharing of a time namespace (-T)");
  }
  if (preset.shareNet && !preset.isolate) throw new ValueError(cmd, "--share-net goes with --isolate");
  if (named.persist && named.name === undefined) throw new ValueError(cmd, "--persist goes with --name");
  if (named.persist && steps.some((step) => step.kind === "limits")) {
    throw new ValueError(cmd, "--persist does not go with limits: the box's cgroup ends with the nsh that made it");
  }
  if (named.name !== undefined && rest.length) {
    throw new ValueError(cmd, "--name names a context, which has no program of its own: leave the program out");
  }
  const argv = rest.length ? [...rest] : [shell];
  const program = rest.length > 0;
  return {
    kind: "run",
    options: o,
    argv,
    program,
    steps,
    ...(preset.isolate ? { isolate: { network: preset.shareNet } } : {}),
    ...(named.name === undefined ? {} : { name: named.name, persist: named.persist ?? false }),
    ...(forwardSignals ? { forwardSignals: true } : {}),
    ...(usage ? { usage: true } : {}),
    ...(keepEnv ? { keepEnv } : {}),
  };
}

/**
 * The environment `--clear-env` and `--whitelist-env` leave: the listed
 * variables that are set, and nothing else.
 *
 * @param env The caller's environment.
 * @param keep The names to keep.
 * @returns The program's environment.
 */
export function keptEnvironment(
  env: Readonly<Record<string, string>>,
  keep: readonly string[],
): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of keep) if (Object.hasOwn(env, name)) kept[name] = env[name]!;
  return kept;
}

/**
 * The plan of parsed options, with the plan's own checks reported as usage
 * errors.
 *
 * @param options The options.
 * @returns The plan.
 * @throws {ValueError} For contradictory or out-of-range options.
 */
export function planUnshare(options: UnshareOptions, steps: readonly Step[] = []): Plan {
  return planCommand("unshare", [...unshareSteps(options), ...steps]);
}

/**
 * The sandbox a parsed `unshare` command line means: the preset of
 * `--isolate` first, then util-linux's options, then nsh's own in order.
 *
 * @param request The parsed command line.
 * @returns The sandbox.
 */
export function unshareSandbox(request: Extract<UnshareRequest, { kind: "run" }>): Sandbox {
  const preset = request.isolate ? isolate(request.isolate) : new Sandbox();
  return preset.with(...unshareSteps(request.options), ...request.steps);
}

/** `nsh unshare`. */
export const unshareCommand: CliCommand = {
  help: unshareHelp,
  async run(args, io) {
    const request = parseUnshare(args, Deno.env.get("SHELL") || "/bin/sh");
    if (request.kind === "help") {
      io.out(unshareHelp());
      return 0;
    }
    if (request.kind === "version") {
      io.out(`nsh unshare ${VERSION}\n`);
      return 0;
    }
    if (request.name !== undefined) {
      // One-shot, a named context can only be one kept after nsh ends, as ip netns add keeps a name.
      if (!request.persist) {
        throw new ValueError(
          "unshare",
          "--name without --persist makes a context for the shell: run it in nsh, or add --persist to keep it",
        );
      }
      const context = await Context.hold(unshareSandbox(request), undefined, { name: request.name, persist: true });
      await context.close();
      return 0;
    }
    const env = request.keepEnv ? keptEnvironment(Deno.env.toObject(), request.keepEnv) : undefined;
    return await runForeground(planCommand("unshare", unshareSandbox(request).steps), request.argv, env, {
      forwardSignals: request.forwardSignals ?? false,
      usage: request.usage ?? false,
      report: (line) => io.err(`nsh unshare: ${line}\n`),
      err: (text) => io.err(text),
    });
  },
};
