/**
 * `nsh enter NAME [program…]` and `nsh contexts`: named contexts, joined
 * from another terminal or script, and listed.
 *
 * @module
 */

import type { CliCommand } from "./commands.ts";
import { UsageError, ValueError } from "./usage.ts";
import { runForeground } from "./foreground.ts";
import { planCommand } from "./plan_command.ts";
import { Context, namedContexts } from "../lib/context.ts";

/** The help text of `nsh enter`. */
export function enterHelp(): string {
  return `
Usage:
 nsh enter <name> [<program> [<argument>...]]

Join the context named so (nsh's unshare --name NAME, or Context.hold with a
name), as another terminal or script: its namespaces, its root, and the
working directory and variables it has now. With a program, run it there;
without, run nsh's shell there (exit leaves it; the context stays).
`;
}

/** The help text of `nsh contexts`. */
export function contextsHelp(): string {
  return `
Usage:
 nsh contexts

List the named contexts of this user: their holder, namespaces and working
directory, and whether they outlive the shell that made them (--persist).
`;
}

/** `nsh enter`. */
export const enterCommand: CliCommand = {
  help: enterHelp,
  async run(args, io) {
    const [name, ...argv] = args;
    if (name === "-h" || name === "--help") {
      io.out(enterHelp());
      return 0;
    }
    if (name === undefined) throw new UsageError("enter", "no context named (nsh contexts lists them)");
    let context: Context;
    try {
      context = Context.enter(name);
    } catch (error) {
      throw error instanceof TypeError ? new ValueError("enter", error.message.replace(/^C/, "c")) : error;
    }
    try {
      if (!argv.length) {
        const { enterShell } = await import("./shell/main.ts");
        return await enterShell(context, io);
      }
      const env = Object.fromEntries([...Object.entries(Deno.env.toObject()), ...context.env()].filter(
        (e): e is [string, string] => e[1] !== undefined,
      ));
      return await runForeground(planCommand("enter", context.sandbox().steps), argv, env);
    } finally {
      await context.close();
    }
  },
};

/** `nsh contexts`. */
export const contextsCommand: CliCommand = {
  help: contextsHelp,
  run(args, io) {
    if (args[0] === "-h" || args[0] === "--help") {
      io.out(contextsHelp());
      return Promise.resolve(0);
    }
    if (args.length) throw new UsageError("contexts", `unexpected argument '${args[0]}'`);
    const rows = namedContexts().map((
      c,
    ) => [c.name, String(c.holder), c.namespaces.join(",") || "-", c.cwd, c.persisted ? "yes" : "no"]);
    const all = [["NAME", "HOLDER", "NAMESPACES", "CWD", "PERSISTED"], ...rows];
    const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
    for (const row of all) {
      io.out(row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i]!)).join(" ") + "\n");
    }
    return Promise.resolve(0);
  },
};
