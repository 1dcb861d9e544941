/**
 * One call for what people mean by "run this isolated": a sandbox with every
 * kind of namespace but time, the system directories read-only in a root of
 * its own, its own /proc, /dev and /tmp, no capabilities, no_new_privs, and
 * death with nsh. Options open named holes.
 *
 * @module
 */

import { Sandbox } from "./sandbox.ts";
import * as steps from "./steps.ts";
import type { Step } from "./steps.ts";
import { ids } from "./system.ts";
import type { SeccompPolicy } from "./seccomp/policy.ts";
import { TIOCLINUX, TIOCSTI } from "../ffi/constants.ts";

/** Options of {@linkcode isolate}: the holes in the sandbox. */
export interface IsolateOptions {
  /**
   * Share the caller's network namespace; otherwise the box has one of its
   * own, with only a loopback interface.
   *
   * @default {false}
   */
  network?: boolean;
  /**
   * Directories of the caller's that the box may write, at the same paths.
   *
   * @default {[]}
   */
  writable?: readonly string[];
  /**
   * More paths of the caller's that the box may read, at the same paths
   * (beyond /usr and /etc and the links of a merged /usr).
   *
   * @default {[]}
   */
  readable?: readonly string[];
  /**
   * Capabilities that root in the box keeps (by name, as
   * {@linkcode steps.keepCapabilities} takes them).
   *
   * @default {[]}
   */
  capabilities?: readonly string[];
}

/** The directories of the host that every box reads: the system's programs, libraries and configuration. */
const SYSTEM = ["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/** The uid that root in the box is outside when nsh runs as root: nobody, never root. */
const NOBODY = 65534;

/** `CLONE_NEW*` flags: a clone(2) with any of them makes a namespace. */
const NEW_NAMESPACE_FLAGS = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000];
/** ioctl(2) requests that push input into a terminal or act on the console. */

/**
 * The seccomp policy of {@linkcode isolate}: everything is allowed but what a
 * box has no business doing, which fails with EPERM. The groups are
 * systemd's (`systemd-analyze syscall-filter`): mounts, kernel modules,
 * reboot, swap, raw I/O, the clock, debugging (ptrace, perf), obsolete
 * calls, the keyring, CPU emulation; then new namespaces (setns, unshare,
 * and clone with a `CLONE_NEW*` flag: clone3 says ENOSYS, so that libc falls
 * back to clone, whose flags a filter can read), bpf, userfaultfd, handles to
 * files by number, and the terminal's input (TIOCSTI, TIOCLINUX), which a
 * program could otherwise push into the shell it came from. Calls of other
 * ABIs (i386, x32) kill the process.
 *
 * @example What the filter of isolate() answers, asked without loading it
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileSeccomp, ISOLATE_SECCOMP, seccompVerdict } from "@nsh/nsh";
 *
 * const filter = compileSeccomp(ISOLATE_SECCOMP, { abi: "x86_64" });
 * for (const call of ["mount", "unshare", "setns", "ptrace", "keyctl"]) {
 *   assert.equal(seccompVerdict(filter, call), "errno EPERM");
 * }
 * assert.equal(seccompVerdict(filter, "read"), "allow");
 * ```
 */
export const ISOLATE_SECCOMP: SeccompPolicy = {
  defaultAction: "allow",
  rules: [
    {
      syscalls: [
        "@mount",
        "@module",
        "@reboot",
        "@swap",
        "@raw-io",
        "@clock",
        "@debug",
        "@obsolete",
        "@keyring",
        "@cpu-emulation",
        "setns",
        "unshare",
        "bpf",
        "userfaultfd",
        "open_by_handle_at",
        "name_to_handle_at",
      ],
      action: { errno: "EPERM" },
    },
    ...NEW_NAMESPACE_FLAGS.map((flag) => ({
      syscalls: "clone",
      action: { errno: "EPERM" } as const,
      args: [{ index: 0, op: "masked==" as const, value: flag, mask: flag }],
    })),
    { syscalls: "clone3", action: { errno: "ENOSYS" } },
    ...[TIOCSTI, TIOCLINUX].map((request) => ({
      syscalls: "ioctl",
      action: { errno: "EPERM" } as const,
      args: [{ index: 1, op: "masked==" as const, value: request, mask: 0xffffffff }],
    })),
  ],
};

/**
 * The system directories as the host has them: a link where the host has a
 * link (a merged /usr), a read-only bind where it has a directory.
 */
function systemDirectories(): Step[] {
  const list: Step[] = [];
  for (const path of SYSTEM) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch {
      continue; // Not on this host.
    }
    if (info.isSymlink) list.push(steps.rootSymlink(Deno.readLinkSync(path), path));
    else list.push(steps.rootBind(path, path, { readonly: true }));
  }
  return list;
}

/**
 * A sandbox that holds: new user, pid, mount, ipc, uts, cgroup and network
 * namespaces; a new root with /usr, /etc and the links of a merged /usr
 * read-only, its own /proc, /dev and /tmp; every capability dropped;
 * no_new_privs; a seccomp filter ({@linkcode ISOLATE_SECCOMP}); and the
 * program dies with nsh. As root, root in the box is
 * nobody outside, so that it owns none of the host's files. Run a program in
 * it with `.run()`, or add steps.
 *
 * @example Run a program isolated, with one directory it may write
 * ```ts
 * import assert from "node:assert/strict";
 * import { isolate } from "@nsh/nsh";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.chmod(dir, 0o777); // as root, the box's root is nobody outside
 * const box = isolate({ writable: [dir] });
 * await box.run("sh", "-c", `echo hi > ${dir}/note`);
 * assert.equal(await Deno.readTextFile(`${dir}/note`), "hi\n");
 * assert.equal((await box.run("ip", "-brief", "link").lines()).length, 1); // lo: no network
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param options The holes: the network, directories, capabilities.
 * @returns The sandbox.
 */
export function isolate(options: IsolateOptions = {}): Sandbox {
  const root = ids().euid === 0;
  const list: Step[] = [
    steps.namespaces("user", "pid", "mnt", "ipc", "uts", "cgroup", ...(options.network ? [] : ["net" as const])),
    ...(root
      ? [
        steps.mapUsers([{ inside: 0, outside: NOBODY, count: 1 }]),
        steps.mapGroups([{ inside: 0, outside: NOBODY, count: 1 }]),
      ]
      : [steps.mapRootUser()]),
    ...systemDirectories(),
    steps.rootProc(),
    steps.rootDev(),
    steps.rootTmpfs("/tmp", { mode: 0o1777 }),
    // The holes come after the box's own /tmp, which would hide those below it.
    ...(options.readable ?? []).map((path) => steps.rootBind(path, path, { readonly: true })),
    ...(options.writable ?? []).map((path) => steps.rootBind(path, path)),
    steps.keepCapabilities(...(options.capabilities ?? [])),
    steps.noNewPrivs(),
    steps.seccomp(ISOLATE_SECCOMP),
    steps.killChild(),
  ];
  return new Sandbox(list);
}
