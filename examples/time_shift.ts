/**
 * A time-shifted process: in a new time namespace the boot-time clock (and so
 * the uptime) and the monotonic clock start from offsets, while the wall clock
 * is shared with the host.
 *
 * Run: deno run -A examples/time_shift.ts
 *
 * @module
 */

import { unshare } from "../mod.ts";

const rootless = Deno.uid() !== 0;
const days = 365;
const box = unshare({ time: true, boottime: days * 86400, ...(rootless ? { user: true, mapRootUser: true } : {}) });
const uptime = Number((await box.run("cat", "/proc/uptime").text()).split(" ")[0]);
console.log(`uptime inside: ${(uptime / 86400).toFixed(1)} days`);
console.log(`uptime here:   ${(Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]) / 86400).toFixed(1)} days`);
