/**
 * What sh's builtins `getopts`, `umask`, `ulimit` and `times` compute, as
 * pure functions (the builtins in builtins.ts use them, and the tests).
 * Their behaviour is dash's on the same input.
 *
 * @module
 */

import type { RLIMIT } from "../../ffi/constants.ts";
import { ValueError } from "../usage.ts";

// ---------------------------------------------------------------------------
// getopts

/** Where `getopts` is in the arguments: OPTIND as it set it, and the place in a word of several options. */
export interface GetoptsState {
  /** The value of OPTIND that getopts set last (another value means the script reset it). */
  optind: string | undefined;
  /** The index of the next option letter in the word before OPTIND (0: start at the word OPTIND names). */
  offset: number;
}

/** What one call of `getopts` gives. */
export interface GetoptsResult {
  /** The value for the variable: the option letter, `?` or `:`. */
  readonly name: string;
  /** OPTARG's new value; `null` unsets it, `undefined` leaves it as it is (at the end of the options). */
  readonly optarg: string | null | undefined;
  /** The new OPTIND. */
  readonly optind: number;
  /** A message for standard error (an unknown option, a missing argument). */
  readonly message?: string;
  /** 1 at the end of the options, else 0. */
  readonly status: 0 | 1;
}

/**
 * One call of `getopts`, as dash reads the arguments: options grouped in a
 * word (`-ab`), an argument in the same word or the next one, `--` and the
 * first word that is no option end them; a leading `:` in the option string
 * makes errors silent (the letter goes to OPTARG).
 *
 * @param spec The option string (`ab:` : `-a`, and `-b` with an argument).
 * @param args The arguments read.
 * @param optind OPTIND's value.
 * @param state Where the last call stopped; updated.
 * @returns The result.
 */
export function getopts(
  spec: string,
  args: readonly string[],
  optind: string | undefined,
  state: GetoptsState,
): GetoptsResult {
  let ind = Number(optind ?? "1");
  if (!Number.isInteger(ind) || ind < 1) ind = 1;
  if (optind !== state.optind) state.offset = 0;
  const silent = spec.startsWith(":");
  // The word being read and the place in it, or none: start at the word OPTIND names.
  let next = ind - 1;
  let word: string | undefined;
  let at = 0;
  if (ind > 1 && state.offset > 0 && args[next - 1] !== undefined && state.offset < args[next - 1]!.length) {
    word = args[next - 1]!;
    at = state.offset;
  }
  const done = (status: 0 | 1, name: string, optarg: string | null | undefined, message?: string): GetoptsResult => {
    state.offset = word !== undefined && at < word.length ? at : 0;
    const result = { name, optarg, optind: next + 1, status, ...(message === undefined ? {} : { message }) };
    state.optind = String(result.optind);
    return result;
  };
  if (word === undefined) {
    const candidate = args[next];
    if (candidate === undefined || !candidate.startsWith("-") || candidate === "-") {
      return done(1, "?", undefined);
    }
    next++;
    if (candidate === "--") return done(1, "?", undefined);
    word = candidate;
    at = 1;
  }
  const letter = word[at++]!;
  const i = letter === ":" ? -1 : spec.indexOf(letter);
  if (i < 0) {
    return silent ? done(0, "?", letter) : done(0, "?", null, `Illegal option -${letter}`);
  }
  if (spec[i + 1] !== ":") return done(0, letter, "");
  if (at < word.length) {
    const optarg = word.slice(at);
    at = word.length;
    return done(0, letter, optarg);
  }
  const following = args[next];
  if (following === undefined) {
    return silent ? done(0, ":", letter) : done(0, "?", null, `No arg for -${letter} option`);
  }
  next++;
  return done(0, letter, following);
}

// ---------------------------------------------------------------------------
// umask

/**
 * The new mask of `umask MODE`: octal digits, or symbolic clauses
 * (`u=rwx,g=rx,o=`, `g-w`, `a+r`) that change what the mask lets through,
 * as chmod changes a file's mode.
 *
 * @param mode The argument.
 * @param current The mask now.
 * @returns The new mask.
 * @throws {ValueError} For a mode that is neither.
 */
export function parseUmask(mode: string, current: number): number {
  if (/^[0-7]+$/.test(mode)) {
    const value = parseInt(mode, 8);
    if (value > 0o777) throw new ValueError("umask", `'${mode}' is out of range (0 to 777)`, 2);
    return value;
  }
  let allowed = ~current & 0o777;
  for (const clause of mode.split(",")) {
    const m = /^([ugoa]*)([-+=])([rwxXst]*)$/.exec(clause);
    if (!m) throw new ValueError("umask", `'${mode}' is not a mode: give octal digits or u=rwx,g=rx,o=`, 2);
    const who = m[1] || "a";
    let whoBits = 0;
    for (const w of who) whoBits |= w === "u" ? 0o700 : w === "g" ? 0o070 : w === "o" ? 0o007 : 0o777;
    let perm = 0;
    for (const p of m[3]!) perm |= p === "r" ? 0o444 : p === "w" ? 0o222 : p === "x" || p === "X" ? 0o111 : 0;
    perm &= whoBits;
    if (m[2] === "=") allowed = (allowed & ~whoBits) | perm;
    else if (m[2] === "+") allowed |= perm;
    else allowed &= ~perm;
  }
  return ~allowed & 0o777;
}

/**
 * A mask as `umask` prints it: four octal digits, or, with `-S`, what it lets through.
 *
 * @param mask The mask.
 * @param symbolic `-S`.
 * @returns The line, without its newline.
 */
export function formatUmask(mask: number, symbolic: boolean): string {
  if (!symbolic) return mask.toString(8).padStart(4, "0");
  const allowed = ~mask & 0o777;
  return (["u", "g", "o"] as const).map((who, i) => {
    const bits = (allowed >> (6 - 3 * i)) & 7;
    return `${who}=${bits & 4 ? "r" : ""}${bits & 2 ? "w" : ""}${bits & 1 ? "x" : ""}`;
  }).join(",");
}

// ---------------------------------------------------------------------------
// ulimit

/** A resource of `ulimit`: its option letter, its name in `-a`, its unit in bytes (1 for counts). */
export interface UlimitResource {
  /** The resource. */
  readonly resource: keyof typeof RLIMIT;
  /** The option letter. */
  readonly letter: string;
  /** The label of `ulimit -a`. */
  readonly label: string;
  /** How many of the kernel's units one of ulimit's is (1024 for kbytes, 512 for blocks). */
  readonly unit: number;
  /** The line of /proc/self/limits. */
  readonly row: string;
}

/** The resources of `ulimit`, in the order of `ulimit -a`, as dash has them; `-u` is bash's name of `-p`. */
export const ULIMITS: readonly UlimitResource[] = [
  { resource: "cpu", letter: "t", label: "time(seconds)", unit: 1, row: "Max cpu time" },
  { resource: "fsize", letter: "f", label: "file(blocks)", unit: 512, row: "Max file size" },
  { resource: "data", letter: "d", label: "data(kbytes)", unit: 1024, row: "Max data size" },
  { resource: "stack", letter: "s", label: "stack(kbytes)", unit: 1024, row: "Max stack size" },
  { resource: "core", letter: "c", label: "coredump(blocks)", unit: 512, row: "Max core file size" },
  { resource: "rss", letter: "m", label: "memory(kbytes)", unit: 1024, row: "Max resident set" },
  { resource: "memlock", letter: "l", label: "locked memory(kbytes)", unit: 1024, row: "Max locked memory" },
  { resource: "nproc", letter: "p", label: "process", unit: 1, row: "Max processes" },
  { resource: "nofile", letter: "n", label: "nofiles", unit: 1, row: "Max open files" },
  { resource: "as", letter: "v", label: "vmemory(kbytes)", unit: 1024, row: "Max address space" },
  { resource: "locks", letter: "w", label: "locks", unit: 1, row: "Max file locks" },
  { resource: "rtprio", letter: "r", label: "rtprio", unit: 1, row: "Max realtime priority" },
];

/** A soft and a hard limit, in the kernel's units. */
export interface Limit {
  /** The soft limit. */
  readonly soft: number | "unlimited";
  /** The hard limit. */
  readonly hard: number | "unlimited";
}

/**
 * This process's limits, from /proc/self/limits: what the programs it starts
 * get unless `ulimit` changed them.
 *
 * @returns The limits, by resource.
 */
export function processLimits(): Map<keyof typeof RLIMIT, Limit> {
  const text = Deno.readTextFileSync("/proc/self/limits");
  const out = new Map<keyof typeof RLIMIT, Limit>();
  const value = (v: string) => v === "unlimited" ? "unlimited" as const : Number(v);
  for (const r of ULIMITS) {
    const line = text.split("\n").find((l) => l.startsWith(r.row + " "));
    if (!line) continue;
    const [soft, hard] = line.slice(r.row.length).trim().split(/\s+/);
    out.set(r.resource, { soft: value(soft!), hard: value(hard!) });
  }
  return out;
}

/** `ulimit`'s request. */
export type UlimitRequest =
  | { readonly kind: "all"; readonly hard: boolean }
  | {
    readonly kind: "one";
    readonly resource: UlimitResource;
    readonly which: "soft" | "hard" | "both";
    /** The new value in ulimit's units, or none to print it. */
    readonly value?: number | "unlimited";
  };

/**
 * Reads a builtin's leading options as sh's builtins do: up to `--` (which is
 * taken) or the first word that is no option (`-` alone is a word), each
 * option given to `option`.
 *
 * @param args The builtin's arguments.
 * @param option Takes one option word, such as `-v` or `-HSn`; throws for one it does not know.
 * @returns The words after the options.
 */
export function leadingOptions(args: readonly string[], option: (word: string) => void): readonly string[] {
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") return args.slice(i + 1);
    if (!a.startsWith("-") || a === "-") break;
    option(a);
  }
  return args.slice(i);
}

/**
 * Parses `ulimit`'s arguments as dash does: `-H`, `-S`, `-a`, a letter
 * (the last wins; `-f` by default), and a value or `unlimited`.
 *
 * @param args The arguments.
 * @returns The request.
 * @throws {ValueError} For an option or a value it does not take.
 */
export function parseUlimit(args: readonly string[]): UlimitRequest {
  let hard = false, soft = false, all = false;
  let resource = ULIMITS.find((r) => r.letter === "f")!;
  const rest = leadingOptions(args, (option) => {
    for (const letter of option.slice(1)) {
      if (letter === "H") hard = true;
      else if (letter === "S") soft = true;
      else if (letter === "a") all = true;
      else {
        const found = ULIMITS.find((r) => r.letter === (letter === "u" ? "p" : letter));
        if (!found) throw new ValueError("ulimit", `Illegal option -${letter}`, 2);
        resource = found;
      }
    }
  });
  if (rest.length > 1) throw new ValueError("ulimit", "too many arguments", 2);
  if (all) return { kind: "all", hard: hard && !soft };
  const which = hard === soft ? "both" : hard ? "hard" : "soft";
  const given = rest[0];
  if (given === undefined) return { kind: "one", resource, which: hard && !soft ? "hard" : "soft" };
  if (given === "unlimited") return { kind: "one", resource, which, value: "unlimited" };
  if (!/^\d+$/.test(given)) throw new ValueError("ulimit", `bad number: ${given}`, 2);
  return { kind: "one", resource, which, value: Number(given) };
}

/**
 * A limit in ulimit's units, as it prints it.
 *
 * @param value The limit in the kernel's units.
 * @param unit How many of those one of ulimit's is.
 * @returns The text.
 */
export function formatLimit(value: number | "unlimited", unit: number): string {
  return value === "unlimited" ? "unlimited" : String(Math.floor(value / unit));
}

/**
 * The limit that `ulimit` sets, checked as setrlimit(2) would check it when
 * a program starts: a soft limit above the hard one is refused, and so is
 * raising a hard limit without root, or open files above fs.nr_open.
 *
 * @param current The limit now.
 * @param request What ulimit asked.
 * @param root Whether nsh is root (it may raise hard limits).
 * @returns The new limit.
 * @throws {ValueError} When the kernel would refuse it.
 */
export function newLimit(
  current: Limit,
  request: { resource: UlimitResource; which: "soft" | "hard" | "both"; value: number | "unlimited" },
  root: boolean,
): Limit {
  const value = request.value === "unlimited" ? "unlimited" : request.value * request.resource.unit;
  const soft = request.which === "hard" ? current.soft : value;
  const hard = request.which === "soft" ? current.hard : value;
  const big = (v: number | "unlimited") => v === "unlimited" ? Infinity : v;
  const refuse = (why: string) => new ValueError("ulimit", `error setting limit (${why})`, 2);
  if (big(soft) > big(hard)) throw refuse("Invalid argument");
  if (big(hard) > big(current.hard) && !root) throw refuse("Operation not permitted");
  if (request.resource.resource === "nofile" && hard !== current.hard) {
    const max = Number(Deno.readTextFileSync("/proc/sys/fs/nr_open").trim());
    if (big(hard) > max) throw refuse("Operation not permitted");
  }
  return { soft, hard };
}

// ---------------------------------------------------------------------------
// times

/**
 * What `times` prints: the user and system time of the shell, then of the
 * programs it waited for, as `0m0.010000s 0m0.002000s` lines.
 *
 * @returns The two lines.
 */
export function timesText(): string {
  // After the command's name, which may hold spaces: fields 14 to 17, in clock ticks (USER_HZ, 100).
  const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1]!.split(" ");
  const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(fields[i]) / 100);
  const time = (s: number) => `${Math.floor(s / 60)}m${(s % 60).toFixed(6)}s`;
  return `${time(utime!)} ${time(stime!)}\n${time(cutime!)} ${time(cstime!)}\n`;
}
