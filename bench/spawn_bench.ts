/**
 * Micro-benchmarks of the pure parts that run before every spawn: folding steps
 * into a plan, compiling a plan into child steps, and parsing an `nsh unshare`
 * command line. Nothing is started; run with `deno bench -A bench/`.
 *
 * @module
 */

import type { Step } from "../mod.ts";
import { plan } from "../lib/plan.ts";
import { unshareSteps } from "../lib/util_linux_options.ts";
import { compile, type ExecSpec } from "../lib/compile.ts";
import { programCandidates } from "../lib/program_path.ts";
import { parseUnshare } from "../cli/unshare.ts";

const context = { euid: 0, egid: 0, readFile: () => undefined };

/** What `unshare({pid, mount, uts, ipc, net})` asks for. */
const simple: Step[] = unshareSteps({ pid: true, mount: true, uts: true, ipc: true, net: true });

/** A richer box: rootless, with a hostname, mounts, proc and a kill signal. */
const rich: Step[] = unshareSteps({
  user: true,
  mapRootUser: true,
  pid: true,
  mountProc: true,
  hostname: "box",
  killChild: true,
  wd: "/tmp",
});
rich.push({ kind: "tmpfs", target: "/tmp", options: "size=16m" });
rich.push({ kind: "bind", source: "/usr", target: "/usr", readonly: true });

const env = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/root", LANG: "C.UTF-8", TERM: "xterm" };
const exec: ExecSpec = {
  candidates: programCandidates("true", env.PATH),
  argv: ["true"],
  envp: Object.entries(env).map(([k, v]) => `${k}=${v}`),
  stdio: [undefined, undefined, undefined],
};
const simplePlan = plan(simple, context);
const richPlan = plan(rich, context);

Deno.bench("plan() of pid+mnt+uts+ipc+net", { group: "plan", baseline: true }, () => {
  plan(simple, context);
});

Deno.bench("plan() of a rootless box with mounts", { group: "plan" }, () => {
  plan(rich, context);
});

Deno.bench("compile() of pid+mnt+uts+ipc+net", { group: "compile", baseline: true }, () => {
  compile(simplePlan, exec, { capLastCap: 40 });
});

Deno.bench("compile() of a rootless box with mounts", { group: "compile" }, () => {
  compile(richPlan, exec, { capLastCap: 40 });
});

Deno.bench("parseUnshare() of --net true", { group: "parse", baseline: true }, () => {
  parseUnshare(["--net", "true"]);
});

Deno.bench("parseUnshare() of a long command line", { group: "parse" }, () => {
  parseUnshare(["-Urpf", "--mount-proc", "--hostname=box", "--kill-child=TERM", "--wd", "/tmp", "sh", "-c", "id"]);
});
