/**
 * `nsh release`: unbind namespaces bound to files by `nsh unshare --TYPE=FILE`.
 *
 * @module
 */

import { getopt } from "./getopt.ts";
import { UsageError } from "./usage.ts";
import { VERSION } from "./version.ts";
import type { CliCommand, Where } from "./commands.ts";
import { releaseNamespace } from "../lib/binding.ts";
import { releaseContext } from "../lib/context.ts";
import { findContext } from "../lib/names.ts";
import { SyscallError } from "../ffi/error.ts";

/** The help text of `nsh release`. */
export function releaseHelp(): string {
  return `
Usage:
 nsh release <file>|<name>...

Unbind namespaces that nsh unshare --TYPE=FILE (or mount --bind) bound to
files. A namespace ends once it is neither bound nor used by a process. The
files themselves stay.

A name (a word without a slash) of a context kept by unshare --name NAME
--persist ends that context: its holder, and every process of its PID
namespace.

A file is opened once and unmounted through that descriptor, so that nobody
can swap a directory on its path to have another mount detached. Its last
component must be the binding itself: a symbolic link is refused, since
whoever may change it could point it at another mount.

Options:
 -h, --help                 display this help
 -V, --version              display version
`;
}

/** `nsh release`. */
export const releaseCommand: CliCommand = {
  help: releaseHelp,
  async run(args, io, where: Where = {}) {
    const { options, rest } = getopt("release", [
      { long: "help", short: "h", arg: "none", help: "" },
      { long: "version", short: "V", arg: "none", help: "" },
    ], args);
    if (options.some((o) => o.name === "help")) {
      io.out(releaseHelp());
      return 0;
    }
    if (options.some((o) => o.name === "version")) {
      io.out(`nsh release ${VERSION}\n`);
      return 0;
    }
    if (!rest.length) throw new UsageError("release", "no file given");
    for (const file of rest) {
      // A word without a slash that names a context (kept by unshare --name --persist) releases it.
      if (!file.includes("/") && findContext(file)) {
        releaseContext(file);
        continue;
      }
      // At the top of the shell, a relative path starts from its directory.
      const path = where.context || where.cwd === undefined || file.startsWith("/") ? file : `${where.cwd}/${file}`;
      try {
        await releaseNamespace(path, { context: where.context });
      } catch (error) {
        // A word without a slash may have meant a context: say that there is none of that name either.
        if (file.includes("/") || !(error instanceof SyscallError) || error.code !== "ENOENT" || error.hint) {
          throw error;
        }
        throw new SyscallError(error.syscall, error.errno, {
          operation: error.operation,
          path: error.path,
          hint: "there is no context of that name either (nsh contexts lists them)",
        });
      }
    }
    return 0;
  },
};
