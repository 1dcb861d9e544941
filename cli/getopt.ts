/**
 * Option parsing as util-linux programs do it with getopt_long(3) and a
 * leading `+`: short options may be grouped (`-mpf`), long options may be
 * abbreviated to a unique prefix, parsing stops at the first word that is not
 * an option (the program) and after `--`.
 *
 * @module
 */

import { UsageError } from "./usage.ts";

/** One option a command accepts. */
export interface OptionSpec {
  /** The long name, without `--`. */
  readonly long: string;
  /** The short letter, if any. */
  readonly short?: string;
  /** Whether it takes a value: never, always, or only as `--long=value`. */
  readonly arg: "none" | "required" | "optional";
  /**
   * For an optional value: the short form takes one attached (`-n/path`), as
   * nsenter's `m::` in getopt(3) terms; unshare's short forms take none.
   */
  readonly attached?: boolean;
  /** Placeholder for the value in help. */
  readonly value?: string;
  /**
   * How many words a required value takes (`--bind SRC DEST` takes 2): the
   * first is `value`, the others `more`.
   *
   * @default {1}
   */
  readonly words?: number;
  /** One line of help. */
  readonly help: string;
}

/** One option as given. */
export interface ParsedOption {
  /** Its long name. */
  readonly name: string;
  /** Its value, or `undefined` when none was given. */
  readonly value: string | undefined;
  /** The further words of an option that takes several. */
  readonly more?: readonly string[];
}

/** The result of {@linkcode getopt}. */
export interface Parsed {
  /** Options in the order given. */
  readonly options: ParsedOption[];
  /** The words after the options: the program and its arguments. */
  readonly rest: string[];
}

/**
 * Parses `args` against `specs`.
 *
 * @param command The command's name, for messages (`"unshare"`).
 * @param specs The options it accepts.
 * @param args The words to parse.
 * @returns The options and the rest.
 * @throws {UsageError} For unknown, ambiguous or malformed options.
 */
export function getopt(command: string, specs: readonly OptionSpec[], args: readonly string[]): Parsed {
  const options: ParsedOption[] = [];
  let i = 0;
  const fail = (message: string): never => {
    throw new UsageError(command, message);
  };
  while (i < args.length) {
    const word = args[i]!;
    if (word === "--") {
      i++;
      break;
    }
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      const inline = eq < 0 ? undefined : word.slice(eq + 1);
      const exact = specs.find((s) => s.long === name);
      const matches = exact ? [exact] : specs.filter((s) => s.long.startsWith(name));
      // As glibc, the messages quote the whole word, value included.
      if (matches.length === 0) fail(`unrecognized option '${word}'`);
      if (matches.length > 1) {
        fail(`option '${word}' is ambiguous; possibilities: ${matches.map((s) => `'--${s.long}'`).join(" ")}`);
      }
      const spec = matches[0]!;
      i++;
      if (spec.arg === "none") {
        if (inline !== undefined) fail(`option '--${spec.long}' doesn't allow an argument`);
        options.push({ name: spec.long, value: undefined });
      } else if (spec.arg === "optional") {
        options.push({ name: spec.long, value: inline });
      } else if ((spec.words ?? 1) > 1) {
        // As bubblewrap: all its words follow the option.
        const count = spec.words!;
        if (inline !== undefined) fail(`option '--${spec.long}' takes ${count} arguments, not '='`);
        if (i + count > args.length) fail(`option '--${spec.long}' requires ${count} arguments`);
        const [value, ...more] = args.slice(i, i + count);
        i += count;
        options.push({ name: spec.long, value, more });
      } else if (inline !== undefined) {
        options.push({ name: spec.long, value: inline });
      } else {
        if (i >= args.length) fail(`option '--${spec.long}' requires an argument`);
        options.push({ name: spec.long, value: args[i++] });
      }
      continue;
    }
    if (word.startsWith("-") && word.length > 1) {
      i++;
      for (let j = 1; j < word.length; j++) {
        const letter = word[j]!;
        const spec = specs.find((s) => s.short === letter);
        if (!spec) fail(`invalid option -- '${letter}'`);
        if (spec!.arg === "required") {
          let value = word.slice(j + 1);
          if (value === "") {
            if (i >= args.length) fail(`option requires an argument -- '${letter}'`);
            value = args[i++]!;
          }
          options.push({ name: spec!.long, value });
          break;
        }
        if (spec!.arg === "optional" && spec!.attached && j + 1 < word.length) {
          options.push({ name: spec!.long, value: word.slice(j + 1) });
          break;
        }
        options.push({ name: spec!.long, value: undefined });
      }
      continue;
    }
    break;
  }
  return { options, rest: args.slice(i) };
}

/**
 * Parses `args` as {@linkcode getopt} does, but with options anywhere among
 * the other words, as getopt_long(3) permutes them for a command that runs no
 * program (`lsns 4026531836 -o PID`, `audit PID --json`); after `--` every
 * word is one of the rest.
 *
 * @param command The command's name, for messages (`"lsns"`).
 * @param specs The options it accepts.
 * @param args The words to parse.
 * @returns The options, in the order given, and the other words.
 * @throws {UsageError} For unknown, ambiguous or malformed options.
 */
export function getoptPermuted(command: string, specs: readonly OptionSpec[], args: readonly string[]): Parsed {
  const options: ParsedOption[] = [];
  const rest: string[] = [];
  let words = args;
  while (words.length) {
    const parsed = getopt(command, specs, words);
    options.push(...parsed.options);
    if (!parsed.rest.length) break;
    if (words[words.length - parsed.rest.length - 1] === "--") {
      rest.push(...parsed.rest);
      break;
    }
    rest.push(parsed.rest[0]!);
    words = parsed.rest.slice(1);
  }
  return { options, rest };
}

/**
 * Help text for a list of options, aligned as util-linux prints it.
 *
 * @param specs The options.
 * @returns One line per option.
 */
export function formatOptions(specs: readonly OptionSpec[]): string {
  const left = specs.map((s) => {
    const short = s.short ? `-${s.short}, ` : "    ";
    const value = s.value ? (s.arg === "optional" ? `[=${s.value}]` : s.arg === "required" ? ` ${s.value}` : "") : "";
    return ` ${short}--${s.long}${value}`;
  });
  // As util-linux: help in a column, or on its own line after a long option.
  const width = 28;
  return specs.map((s, i) => {
    const l = left[i]!;
    return l.length + 2 <= width ? `${l.padEnd(width)}${s.help}` : `${l}\n${" ".repeat(width)}${s.help}`;
  }).join("\n");
}
