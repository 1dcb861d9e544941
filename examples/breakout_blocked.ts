/**
 * The seed's breakout, blocked: each layer that stops `nsenter
 * --net=/proc/PID/ns/net` on its own, then all of them in isolate().
 *
 * examples/breakout.ts shows the door: root in a new network namespace joins
 * the host's through /proc/PID/ns/net of any host process. Here the same
 * attempt (util-linux nsenter, run in the box) meets one layer at a time:
 *
 * 1. a PID namespace with its own /proc: no host process is there to join;
 * 2. no CAP_SYS_ADMIN: setns(2) is refused, though /proc shows the host;
 * 3. seccomp: setns(2) fails whatever the capabilities;
 * 4. a new root without the host's /proc: there is no /proc to go through;
 * 5. isolate(): all of these, and a user namespace.
 *
 * Run as root: deno run -A examples/breakout_blocked.ts
 *
 * @module
 */

import { isolate, type Sandbox, unshare } from "../mod.ts";

// The door: PID 1, or this process where PID 1 is protected (as here).
let door = 1;
try {
  Deno.readLinkSync("/proc/1/ns/net");
} catch {
  door = Deno.pid;
}
const host = Deno.readLinkSync("/proc/self/ns/net");

/** What nsenter got to, or why it could not. */
async function attempt(box: Sandbox): Promise<string> {
  const out = await box.run("nsenter", `--net=/proc/${door}/ns/net`, "readlink", "/proc/self/ns/net")
    .stderr("piped").noThrow().output();
  if (out.code === 0) {
    return out.stdoutText.trim() === host ? "ESCAPED to the host's network" : "joined no host namespace";
  }
  return `blocked: ${out.stderrText.trim().replace(/^nsenter: /, "")}`;
}

// A merged /usr, read-only, for a new root that has nsenter and readlink.
const system = unshare({ net: true })
  .rootBind("/usr", "/usr", { readonly: true })
  .rootSymlink("usr/bin", "/bin")
  .rootSymlink("usr/lib", "/lib")
  .rootSymlink("usr/lib64", "/lib64");

const layers: [string, Sandbox][] = [
  ["no layer (the breakout)", unshare({ net: true })],
  ["1. its own PID namespace and /proc", unshare({ net: true, pid: true, mountProc: true })],
  ["2. no CAP_SYS_ADMIN", unshare({ net: true }).dropCapabilities("sys_admin")],
  [
    "3. seccomp denies setns",
    unshare({ net: true }).seccomp({
      defaultAction: "allow",
      rules: [{ syscalls: "setns", action: { errno: "EPERM" } }],
    }),
  ],
  ["4. a new root without the host's /proc", system],
  ["5. isolate(): all of them", isolate()],
];

for (const [layer, box] of layers) console.log(`${layer.padEnd(40)} ${await attempt(box)}`);
