/**
 * The `nsh` command line. Run `deno run -A cli.ts --help`.
 *
 * @example Run `ip addr` in a new network namespace
 * ```sh
 * deno run -A cli.ts unshare --net ip addr
 * ```
 *
 * @module
 */

import { entry } from "./cli/main.ts";

if (import.meta.main) {
  await entry(Deno.args);
}
