/**
 * What preparing Landlock costs in the parent: resolving a policy of five
 * rules for an ABI (once per sandbox) and making the child's steps (once per
 * spawn). Nothing is started; run with `deno bench -A bench/`. What the
 * steps cost in the child is measured side by side in bench/landlock.ts.
 *
 * @module
 */

import { type LandlockPolicy, resolveLandlock } from "../lib/landlock.ts";
import { landlockSteps } from "../lib/landlock_steps.ts";

const policy: LandlockPolicy = {
  rules: [
    { kind: "path", path: "/usr", access: "rox" },
    { kind: "path", path: "/etc", access: "ro" },
    { kind: "path", path: "/tmp", access: "rw" },
    { kind: "path", path: "/dev/null", access: "rw" },
    { kind: "port", port: 443, access: "connect" },
  ],
};
const resolved = resolveLandlock(policy, { abi: 7 });

Deno.bench("resolveLandlock() of 5 rules", { group: "landlock", baseline: true }, () => {
  resolveLandlock(policy, { abi: 7 });
});

Deno.bench("landlockSteps() of 5 rules", { group: "landlock" }, () => {
  landlockSteps(resolved, { scratchFd: 1000 });
});
