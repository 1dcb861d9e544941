/**
 * `nsh unshare` without the CLI's dispatch: section 3 of `deno task bench`
 * bundles this module and its imports into one file with `deno bundle`, to show
 * what loading the unshare path's modules one by one costs at start-up.
 *
 * usage: deno run -A bench/.build/unshare_bundle.js [unshare options] [program...]
 *
 * @module
 */

import { unshareCommand } from "../cli/unshare.ts";
import { stdio } from "../cli/main.ts";
import { describeError, exitStatusOf } from "../cli/usage.ts";

try {
  Deno.exit(await unshareCommand.run(Deno.args, stdio));
} catch (error) {
  const text = describeError("unshare", error);
  if (text) stdio.err(text + "\n");
  Deno.exit(exitStatusOf(error));
}
