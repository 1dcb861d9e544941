/**
 * A rootless sandbox: every namespace the kernel has, set up by an
 * unprivileged user. Root inside is the caller outside; the box has its own
 * processes, hostname, network, mounts, IPC, cgroup root and clocks.
 *
 * Run as any user: deno run -A examples/rootless_box.ts
 *
 * @module
 */

import { unshare } from "../mod.ts";

const box = unshare({
  user: true,
  mapRootUser: true,
  pid: true,
  mountProc: true,
  mount: true,
  uts: true,
  hostname: "box",
  net: true,
  ipc: true,
  cgroup: true,
});

console.log("id:      ", await box.run("id").text());
console.log("hostname:", await box.run("hostname").text());
console.log("ps:      ", (await box.run("ps", "-e", "-o", "pid=,comm=").lines()).map((l) => l.trim()).join(", "));
console.log("links:   ", (await box.run("ip", "-brief", "link").lines()).join(", "));
