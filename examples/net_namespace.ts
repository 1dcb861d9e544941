/**
 * The seed's first step: `unshare --net ip addr`. In a new network namespace
 * only a loopback interface exists, and it is down. Needs root, or add
 * `user: true, mapRootUser: true` to run it rootless.
 *
 * Run: deno run -A examples/net_namespace.ts
 *
 * @module
 */

import { unshare } from "../mod.ts";

const rootless = Deno.uid() !== 0;
const box = unshare({ net: true, ...(rootless ? { user: true, mapRootUser: true } : {}) });
await box.run("ip", "addr");
