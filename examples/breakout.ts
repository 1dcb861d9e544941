/**
 * Breaking out of a namespace: why namespaces alone are no security boundary.
 *
 * Root inside a new network namespace is still root: the host's network
 * namespace is one `setns` away, through `/proc/PID/ns/net` of any process that
 * is in it. The seed's example uses PID 1; any host process is a door, so this
 * example uses nsh's own process when PID 1 is protected (some sandboxes
 * forbid inspecting it). A container closes the door with more than
 * namespaces: a PID namespace and a private /proc hide the host's processes, a
 * user namespace makes root inside nobody outside, capabilities are dropped,
 * and seccomp refuses setns.
 *
 * Run as root: deno run -A examples/breakout.ts
 *
 * @module
 */

import { unshare } from "../mod.ts";

const cli = new URL("../cli.ts", import.meta.url).pathname;
let door = 1;
try {
  Deno.readLinkSync("/proc/1/ns/net");
} catch {
  door = Deno.pid;
}

const host = Deno.readLinkSync("/proc/self/ns/net");
const box = unshare({ net: true });
const inside = await box.run("readlink", "/proc/self/ns/net").text();
// Inside the new namespace, nsh nsenter joins the door's network namespace.
const escaped = await box.run(
  Deno.execPath(),
  "run",
  "-A",
  "--quiet",
  cli,
  "nsenter",
  `--net=/proc/${door}/ns/net`,
  "readlink",
  "/proc/self/ns/net",
).text();

console.log(`host:         ${host}`);
console.log(`inside:       ${inside}`);
console.log(`after setns:  ${escaped} (through /proc/${door}/ns/net)`);
console.log(escaped === host ? "We are now in the default network namespace!" : "The door was closed.");
