/**
 * The table of nsh's commands. Each is loaded only when it runs, so that a
 * one-shot `nsh unshare …` loads nothing that `lsns` or the shell need.
 *
 * @module
 */

import type { Context } from "../lib/context.ts";
import type { Sandbox } from "../lib/sandbox.ts";

/** Where a command writes; injectable for tests. */
export interface Io {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
}

/**
 * Where the shell runs one of nsh's commands: in a context, it looks and acts
 * there (see lib/place.ts); anywhere, programs it starts get the terminal
 * from the shell.
 */
export interface Where {
  /** The context; the command's own namespaces when not given. */
  readonly context?: Context | undefined;
  /** The working directory relative paths start from (the shell's, at the top). */
  readonly cwd?: string | undefined;
  /**
   * Runs a program in the foreground as the shell runs its own: in the
   * context, with the terminal lent to it and the shell's variables.
   */
  readonly foreground?: ((box: Sandbox, argv: readonly string[]) => Promise<number>) | undefined;
}

/** A command of nsh. */
export interface CliCommand {
  /** Its help text, printed by `--help`. */
  help(): string;
  /**
   * Runs it.
   *
   * @param args The words after the command's name.
   * @param io Where to write.
   * @param where Where the shell runs it, for the commands that look and act in a context.
   * @returns The exit status.
   * @throws {UsageError} For a malformed command line; other errors for failures.
   */
  run(args: readonly string[], io: Io, where?: Where): Promise<number>;
}

/** What the top-level help says of a command, and how to load it. */
export interface CommandEntry {
  /** The arguments, as the help shows them. */
  readonly synopsis: string;
  /** One line. */
  readonly summary: string;
  /** Loads the command's module. */
  readonly load: () => Promise<CliCommand>;
}

/** The commands, by name. */
export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  unshare: {
    synopsis: "[options] [<program> [<argument>...]]",
    summary: "run a program with some namespaces unshared (util-linux syntax)",
    load: async () => (await import("./unshare.ts")).unshareCommand,
  },
  nsenter: {
    synopsis: "[options] [<program> [<argument>...]]",
    summary: "run a program in namespaces of other processes or bound to files",
    load: async () => (await import("./nsenter.ts")).nsenterCommand,
  },
  netns: {
    synopsis: "list|add|attach|delete|identify|pids|exec [<name>] ...",
    summary: "named network namespaces, interoperable with ip netns",
    load: async () => (await import("./netns.ts")).netnsCommand,
  },
  release: {
    synopsis: "<file>|<name>...",
    summary: "unbind namespaces bound to files, or end contexts kept with --persist",
    load: async () => (await import("./release.ts")).releaseCommand,
  },
  enter: {
    synopsis: "<name> [<program> [<argument>...]]",
    summary: "join a named context (unshare --name) from another terminal or script",
    load: async () => (await import("./enter.ts")).enterCommand,
  },
  contexts: {
    synopsis: "",
    summary: "list the named contexts",
    load: async () => (await import("./enter.ts")).contextsCommand,
  },
  landlock: {
    synopsis: "",
    summary: "what the kernel's Landlock enforces, by ABI",
    load: async () => (await import("./landlock.ts")).landlockCommand,
  },
  bwrap: {
    synopsis: "[options] [--] <program> [<argument>...]",
    summary: "run a program in a sandbox made from bubblewrap's options",
    load: async () => (await import("./bwrap.ts")).bwrapCommand,
  },
  lsns: {
    synopsis: "[options] [<namespace>]",
    summary: "list namespaces (util-linux syntax and output)",
    load: async () => (await import("./lsns.ts")).lsnsCommand,
  },
  audit: {
    synopsis: "[options] [<pid>]",
    summary: "what isolation a process has, and which breakout paths are open",
    load: async () => (await import("./audit.ts")).auditCommand,
  },
};
