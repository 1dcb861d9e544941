/**
 * audit(): what an audit of a running process costs, with and without its
 * probes, and what one probing child costs (a fork of nsh that makes one
 * system call). Run with `deno bench -A bench/audit_bench.ts` (as root, to
 * probe another user's namespaces).
 *
 * @module
 */

import { audit, isolate } from "../mod.ts";
import { probe } from "../ffi/program.ts";

const host = new Deno.Command("sleep", { args: ["600"], stdout: "null", stderr: "null" }).spawn();
const box = isolate().run("sleep", "600").noThrow().spawn();
const { pid: boxPid } = await box.started;
await new Promise((resolve) => setTimeout(resolve, 200));
globalThis.addEventListener("unload", () => {
  host.kill("SIGKILL");
  box.kill("SIGKILL");
});

Deno.bench("probe() of one call (a fork of nsh, reaped)", { group: "child" }, async () => {
  await probe([{ call: "getpid", args: [] }]);
});

Deno.bench("audit() of a host process, /proc only", { group: "audit", baseline: true }, async () => {
  await audit(host.pid, { probe: false });
});

Deno.bench("audit() of a host process, probed", { group: "audit" }, async () => {
  await audit(host.pid);
});

Deno.bench("audit() of an isolate() box, probed", { group: "audit" }, async () => {
  await audit(boxPid);
});
