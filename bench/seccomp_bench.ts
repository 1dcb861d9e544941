/**
 * Seccomp: what compiling a policy costs (once per sandbox value, then
 * cached). Run with `deno bench -A bench/seccomp_bench.ts`; what loading a
 * filter adds to each spawn is measured by bench/seccomp_spawn.ts.
 *
 * @module
 */

import {
  compileResolved,
  compileSeccomp,
  readSeccompProfile,
  resolvePolicy,
  seccompProfilePolicy,
} from "../lib/seccomp/mod.ts";

const PROFILE = new URL("../tests/fixtures/docker-default.json", import.meta.url).pathname;
const profileText = Deno.readTextFileSync(PROFILE);
const options = { arch: Deno.build.arch, kernel: Deno.osRelease() };
const docker = readSeccompProfile(PROFILE, options);
compileSeccomp(docker);

Deno.bench("parse Docker's default profile (JSON.parse + seccompProfilePolicy)", { group: "compile" }, () => {
  seccompProfilePolicy(JSON.parse(profileText), options);
});

Deno.bench("compile Docker's default profile (resolve + BPF, no cache)", { group: "compile", baseline: true }, () => {
  compileResolved(resolvePolicy(docker, { abi: "x86_64" }));
});

Deno.bench("compileSeccomp() of it again (cached by content)", { group: "compile" }, () => {
  compileSeccomp(docker);
});
