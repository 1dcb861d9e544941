/**
 * The seed's second step: `unshare --pid --mount-proc --fork ps aux`. The
 * program is PID 1 of a new PID namespace and, with a proc mounted for that
 * namespace, `ps` sees nothing else.
 *
 * Run: deno run -A examples/pid_namespace.ts
 *
 * @module
 */

import { unshare } from "../mod.ts";

const rootless = Deno.uid() !== 0;
const box = unshare({ pid: true, mountProc: true, ...(rootless ? { user: true, mapRootUser: true } : {}) });
await box.run("ps", "aux");
