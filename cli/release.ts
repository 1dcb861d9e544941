/**
 * `nsh release`: unbind namespaces bound to files by `nsh unshare --TYPE=FILE`.
 *
 * @module
 */

import { getopt } from "./getopt.ts";
import { UsageError } from "./usage.ts";
import { VERSION } from "./version.ts";
import type { CliCommand } from "./commands.ts";
import { releaseNamespace } from "../lib/engine.ts";

/** The help text of `nsh release`. */
export function releaseHelp(): string {
  return `
Usage:
 nsh release <file>...

Unbind namespaces that nsh unshare --TYPE=FILE (or mount --bind) bound to
files. A namespace ends once it is neither bound nor used by a process. The
files themselves stay.

Options:
 -h, --help                 display this help
 -V, --version              display version
`;
}

/** `nsh release`. */
export const releaseCommand: CliCommand = {
  help: releaseHelp,
  run(args, io) {
    const { options, rest } = getopt("release", [
      { long: "help", short: "h", arg: "none", help: "" },
      { long: "version", short: "V", arg: "none", help: "" },
    ], args);
    if (options.some((o) => o.name === "help")) {
      io.out(releaseHelp());
      return Promise.resolve(0);
    }
    if (options.some((o) => o.name === "version")) {
      io.out(`nsh release ${VERSION}\n`);
      return Promise.resolve(0);
    }
    if (!rest.length) throw new UsageError("release", "no file given");
    for (const file of rest) releaseNamespace(file);
    return Promise.resolve(0);
  },
};
