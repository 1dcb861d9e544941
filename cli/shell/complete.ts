/**
 * Tab completion for the shell: commands, their options, namespace files,
 * network namespace names, pids for --target, and paths.
 *
 * @module
 */

import { COMMANDS } from "../commands.ts";
import { BUILTINS } from "./session.ts";
import type { OptionSpec } from "../getopt.ts";
import { NAMESPACES } from "../../lib/namespaces.ts";

const OPTIONS: Readonly<Record<string, () => Promise<readonly OptionSpec[]>>> = {
  unshare: async () => (await import("../unshare.ts")).UNSHARE_OPTIONS,
  nsenter: async () => (await import("../nsenter.ts")).NSENTER_OPTIONS,
};

let choices: Map<string, string[]> | undefined;

/** The words that options take when their help lists them (`slave|shared|…`), by `--name`. */
async function optionChoices(): Promise<Map<string, string[]>> {
  if (choices) return choices;
  choices = new Map();
  for (const load of Object.values(OPTIONS)) {
    for (const spec of await load()) {
      if (spec.value && /^[a-z]+(\|[a-z]+)+$/.test(spec.value)) {
        choices.set(`--${spec.long}`, spec.value.split("|").sort());
      }
    }
  }
  return choices;
}

const TYPES = NAMESPACES.map((n) => n.type).sort();

let programs: string[] | undefined;

/** The programs on PATH, read once. */
function pathPrograms(): string[] {
  if (programs) return programs;
  const found = new Set<string>();
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      for (const entry of Deno.readDirSync(dir || ".")) if (entry.isFile || entry.isSymlink) found.add(entry.name);
    } catch {
      // An unreadable PATH entry has nothing to offer.
    }
  }
  programs = [...found].sort();
  return programs;
}

function paths(prefix: string, cwd: string, hostPath: (path: string) => string): string[] {
  const slash = prefix.lastIndexOf("/");
  const dir = slash < 0 ? "" : prefix.slice(0, slash + 1);
  const base = slash < 0 ? prefix : prefix.slice(slash + 1);
  const real = dir.startsWith("/") ? dir : `${cwd}/${dir}`;
  const out: string[] = [];
  try {
    // The directory the context's programs would list, reached from here.
    for (const entry of Deno.readDirSync(hostPath(real || "/"))) {
      if (!entry.name.startsWith(base) || (entry.name.startsWith(".") && !base.startsWith("."))) continue;
      out.push(dir + entry.name + (entry.isDirectory ? "/" : ""));
    }
  } catch {
    // No such directory: nothing to complete.
  }
  return out.sort();
}

function pids(prefix: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (/^\d+$/.test(entry.name) && entry.name.startsWith(prefix)) out.push(entry.name);
  }
  return out.sort((a, b) => Number(a) - Number(b));
}

function netnsNames(): string[] {
  try {
    return [...Deno.readDirSync("/run/netns")].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/**
 * The completions of the last word of a line.
 *
 * @param line The line up to the cursor.
 * @param cwd The directory relative paths start from.
 * @param hostPath How this process reaches a path of the shell's context
 *   (`Context.hostPath`): paths complete as the context's programs see them.
 * @returns The candidates (whole words) and the word they complete.
 */
export async function complete(
  line: string,
  cwd: string,
  hostPath: (path: string) => string = (path) => path,
): Promise<[string[], string]> {
  const [candidates, word] = await candidatesOf(line, cwd, hostPath);
  // A word completed whole is followed by a space, as in sh; a directory by its slash only.
  const only = candidates.length === 1 ? candidates[0]! : undefined;
  if (only !== undefined && !only.endsWith("/") && !only.endsWith("=")) return [[only + " "], word];
  return [candidates, word];
}

async function candidatesOf(
  line: string,
  cwd: string,
  hostPath: (path: string) => string,
): Promise<[string[], string]> {
  const words = line.split(/[ \t]+/);
  const word = words.at(-1) ?? "";
  const before = words.slice(0, -1).filter(Boolean);
  const command = before[0];
  const starts = (list: readonly string[]) => list.filter((c) => c.startsWith(word));
  if (command === undefined) {
    return [starts([...new Set([...Object.keys(COMMANDS), ...Object.keys(BUILTINS), ...pathPrograms()])]), word];
  }
  const previous = before.at(-1) ?? "";
  const specs = OPTIONS[command] ? await OPTIONS[command]() : undefined;
  if (specs && ["-t", "--target"].includes(previous)) return [pids(word), word];
  if (specs && word.startsWith("--target=")) return [pids(word.slice(9)).map((p) => `--target=${p}`), word];
  const values = specs && (await optionChoices());
  if (values?.has(previous)) return [starts(values.get(previous)!), word];
  const option = word.slice(0, word.indexOf("="));
  if (values?.has(option)) return [starts(values.get(option)!.map((c) => `${option}=${c}`)), word];
  if (command === "lsns" && ["-t", "--type"].includes(previous)) return [starts(TYPES), word];
  if (specs && word.startsWith("-") && !word.includes("=")) {
    const longs = specs.map((s) => `--${s.long}${s.arg === "required" ? " " : s.arg === "optional" ? "" : ""}`.trim());
    return [starts(longs.concat(specs.flatMap((s) => s.short ? [`-${s.short}`] : []))), word];
  }
  if (specs && word.startsWith("--") && word.includes("=")) {
    const eq = word.indexOf("=");
    return [paths(word.slice(eq + 1), cwd, hostPath).map((p) => word.slice(0, eq + 1) + p), word];
  }
  if (command === "netns") {
    if (before.length === 1) return [starts((await import("../netns.ts")).NETNS_SUBCOMMANDS), word];
    if (before.length === 2 && ["exec", "delete", "del", "pids", "attach"].includes(before[1]!)) {
      return [starts(netnsNames()), word];
    }
    if (before.length === 2 && before[1] === "identify") return [pids(word), word];
    if (before.length === 3 && before[1] === "attach") return [pids(word), word];
  }
  if (command === "help" && before.length === 1) {
    return [starts([...Object.keys(COMMANDS), ...Object.keys(BUILTINS)]), word];
  }
  return [paths(word, cwd, hostPath), word];
}
