/**
 * Probes of Landlock in a real child: a program of ffi/program.ts steps
 * (stdio to a pipe, optionally a user and a mount namespace, the Landlock
 * steps of lib/landlock.ts) that ends with an execve of a shell, whose
 * output and status come back to the test.
 *
 * The scenarios are shared by the tests as root and as `nobody`: the
 * rootless test runs this module as a script (imports rewritten to the
 * readable copy of the repository) and reads the JSON it prints.
 *
 * @module
 */

import { launch, type Op } from "../ffi/program.ts";
import { routine } from "../ffi/routine.ts";
import { libc } from "../ffi/libc.ts";
import { AT_FDCWD, O_CLOEXEC, O_WRONLY } from "../ffi/constants.ts";
import { type LandlockPolicy, type LandlockRule, resolveLandlock } from "../lib/landlock.ts";
import { landlockError, type LandlockStepInfo, landlockSteps, reserveDescriptor } from "../lib/landlock_steps.ts";
import { KINDS, landlock } from "../lib/steps/landlock.ts";
import type { Emitter, PlanView } from "../lib/steps/_kind.ts";
import { CLONE_NEWNS, CLONE_NEWUSER, MS, SIGCHLD } from "../ffi/constants.ts";

const WEXITED = 4, CLD_EXITED = 1;

/** One child to run. */
export interface Run {
  /** The Landlock policy. */
  readonly policy: LandlockPolicy;
  /** The program and its arguments; the program is a path. */
  readonly argv: readonly string[];
  /** The ABI to resolve the policy for (the kernel's when left out). */
  readonly abi?: number;
  /** Make a user namespace with the caller mapped to root, the child writing its own maps. */
  readonly userns?: boolean;
  /** Make a mount namespace and mount a tmpfs on this directory, with a directory `inner` in it. */
  readonly tmpfsOn?: string;
  /** Whether the Landlock steps set no_new_privs. */
  readonly noNewPrivs?: boolean;
  /** Compile the policy as a `landlock()` step of lib/steps/landlock.ts does, not with landlockSteps(). */
  readonly viaStep?: boolean;
  /** With `viaStep`, more steps, folded with the first as a plan folds them. */
  readonly moreSteps?: readonly LandlockPolicy[];
}

/** What came of a run. */
export interface RunResult {
  /** The error message of the step that failed, if the program never ran. */
  readonly error?: string;
  /** The errno of that step. */
  readonly errno?: number;
  /** The exit status of the program (128 + N for signal N). */
  readonly status: number;
  /** Its standard output and error, interleaved. */
  readonly output: string;
}

/** Runs one sandboxed child to its end. */
export async function runSandboxed(run: Run): Promise<RunResult> {
  const c = libc();
  const ops: Op[] = [];
  const names: string[] = [];
  const add = (op: Op, name: string) => {
    ops.push(op);
    names.push(name);
    return ops.length - 1;
  };
  const pipe = new Int32Array(2);
  if (c.pipe2(pipe, O_CLOEXEC) < 0) throw new Error("Cannot create a pipe");
  const [readEnd, writeEnd] = [pipe[0]!, pipe[1]!];
  add({ call: "dup3", args: [writeEnd, 1, 0] }, "stdout");
  add({ call: "dup3", args: [writeEnd, 2, 0] }, "stderr");
  let flags = SIGCHLD;
  if (run.userns) {
    flags |= CLONE_NEWUSER;
    const uid = Deno.uid(), gid = Deno.gid();
    const maps = [["setgroups", "deny"], ["uid_map", `0 ${uid} 1`], ["gid_map", `0 ${gid} 1`]] as const;
    for (const [file, text] of maps) {
      const bytes = new TextEncoder().encode(text);
      const fd = add(
        { call: "openat", args: [AT_FDCWD, { str: `/proc/self/${file}` }, O_WRONLY | O_CLOEXEC, 0] },
        file,
      );
      add({ call: "write", args: [{ result: fd }, { bytes }, bytes.length] }, file);
      add({ call: "close", args: [{ result: fd }] }, file);
    }
  }
  if (run.tmpfsOn !== undefined) {
    flags |= CLONE_NEWNS;
    add({ call: "mount", args: [{ str: "none" }, { str: "/" }, 0, MS.REC | MS.PRIVATE, 0] }, "private");
    add({ call: "mount", args: [{ str: "tmpfs" }, { str: run.tmpfsOn }, { str: "tmpfs" }, 0, 0] }, "tmpfs");
    add({ call: "mkdirat", args: [AT_FDCWD, { str: `${run.tmpfsOn}/inner` }, 0o755] }, "mkdir");
  }
  const reserved = reserveDescriptor();
  const first = ops.length;
  let infos: LandlockStepInfo[];
  if (run.viaStep) {
    // As lib/compile.ts runs the kind in its harden phase: through an emitter.
    infos = [];
    const [kind] = KINDS;
    const options = run.noNewPrivs === undefined ? {} : { noNewPrivs: run.noNewPrivs };
    const steps = [run.policy, ...(run.moreSteps ?? [])].map((policy) => landlock(policy, options));
    const step = kind.fold!(steps);
    kind.check!(step);
    // The kind writes through `add` alone: the rest of lib/compile.ts's emitter and plan is not needed here.
    const emitter = {
      add(op: Op, info: LandlockStepInfo) {
        infos.push(info);
        return add(op, "landlock");
      },
    };
    kind.compile!(step, emitter as unknown as Emitter, { actions: [step] } as unknown as PlanView, "harden");
  } else {
    const ruleset = resolveLandlock(run.policy, run.abi === undefined ? {} : { abi: run.abi });
    const steps = landlockSteps(ruleset, {
      scratchFd: reserved.fd,
      firstStep: first,
      ...(run.noNewPrivs === undefined ? {} : { noNewPrivs: run.noNewPrivs }),
    });
    for (const op of steps.ops) add(op, "landlock");
    infos = steps.infos;
  }
  add(
    { call: "execve", args: [{ str: run.argv[0]! }, { strs: run.argv }, { strs: ["PATH=/usr/bin:/bin"] }] },
    "execve",
  );
  let launched;
  try {
    launched = launch(ops, flags, "exec");
  } finally {
    reserved.close();
    c.close(writeEnd);
  }
  try {
    if (launched.pid < 0) throw new Error(`Cannot clone: errno ${-launched.pid}`);
    const { failure } = await launched.outcome();
    const info = new Uint8Array(128);
    let r: number;
    do r = await routine().waitid(launched.pid, info, WEXITED); while (r === -4);
    if (r < 0) throw new Error(`Cannot wait for ${launched.pid}: errno ${-r}`);
    const view = new DataView(info.buffer);
    const code = view.getInt32(8, true), value = view.getInt32(24, true);
    const status = code === CLD_EXITED ? value : 128 + value;
    const chunks: Uint8Array[] = [];
    for (;;) {
      const buffer = new Uint8Array(4096);
      const n = Number(c.read(readEnd, buffer, 4096n));
      if (n <= 0) break;
      chunks.push(buffer.subarray(0, n));
    }
    const output = new TextDecoder().decode(new Uint8Array(chunks.flatMap((chunk) => [...chunk])));
    if (!failure) return { status, output };
    const step = failure.step - first;
    const error = step >= 0 && step < infos.length
      ? landlockError(infos[step]!, failure.errno).message
      : `Cannot ${names[failure.step]}: errno ${failure.errno}`;
    return { error, errno: failure.errno, status, output };
  } finally {
    c.close(readEnd);
  }
}

/** Paths the shells and tools of the probes need: the system read-only and executable. */
export const SYSTEM: readonly LandlockRule[] = [
  { kind: "path", path: "/usr", access: "rox" },
  { kind: "path", path: "/etc", access: "ro" },
  { kind: "path", path: "/proc", access: "ro" },
  { kind: "path", path: "/dev/null", access: "rw" },
];

/** The scenarios, by name, for a prepared directory and two listening ports. */
export function scenarios(
  dir: string,
  ports: { readonly allowed: number; readonly denied: number },
  rootless: boolean,
): Record<string, Run> {
  const userns = rootless;
  const sh = (script: string) => ["/bin/sh", "-c", script];
  const rules = (...more: LandlockRule[]): LandlockPolicy => ({ rules: [...SYSTEM, ...more] });
  const writeRo = `cat ${dir}/ro/existing; echo new > ${dir}/ro/new; echo status=$?`;
  return {
    readOnly: { userns, policy: rules({ kind: "path", path: `${dir}/ro`, access: "ro" }), argv: sh(writeRo) },
    readOnlyStep: {
      userns,
      viaStep: true,
      // Two steps, as two options would make them: folded, each allows what it names.
      policy: rules({ kind: "path", path: `${dir}/ro`, access: "ro" }),
      moreSteps: [{ rules: [{ kind: "path", path: `${dir}/rw`, access: "rw" }] }],
      argv: sh(`${writeRo}; echo data > ${dir}/rw/g && cat ${dir}/rw/g && rm ${dir}/rw/g`),
    },
    missingPathStep: {
      userns,
      viaStep: true,
      policy: rules({ kind: "path", path: `${dir}/no-such-dir`, access: "ro" }),
      argv: ["/bin/true"],
    },
    readOnlyAbi1: {
      userns,
      abi: 1,
      policy: rules({ kind: "path", path: `${dir}/ro`, access: "ro" }),
      argv: sh(writeRo),
    },
    readOnlyLogFlags: {
      userns,
      // The audit flags of ABI 7: the kernel takes them, and the rules hold.
      policy: { ...rules({ kind: "path", path: `${dir}/ro`, access: "ro" }), log: { sameExec: false, newExec: true } },
      argv: sh(writeRo),
    },
    readWrite: {
      userns,
      policy: rules({ kind: "path", path: `${dir}/rw`, access: "rw" }),
      argv: sh(
        `echo data > ${dir}/rw/f && cat ${dir}/rw/f && rm ${dir}/rw/f && mkdir ${dir}/rw/d && rmdir ${dir}/rw/d && echo done`,
      ),
    },
    fileRule: {
      userns,
      // A rule on a file keeps the rights a file may hold, and the others are dropped in the child.
      policy: rules({ kind: "path", path: `${dir}/file/data`, access: "rw" }),
      argv: sh(`echo more >> ${dir}/file/data && cat ${dir}/file/data; ls ${dir}/file; echo status=$?`),
    },
    noExecute: {
      userns,
      policy: rules({ kind: "path", path: `${dir}/x`, access: "rw" }),
      argv: sh(`${dir}/x/true; echo status=$?`),
    },
    execute: {
      userns,
      policy: rules({ kind: "path", path: `${dir}/x`, access: "rwx" }),
      argv: sh(`${dir}/x/true; echo status=$?`),
    },
    execveDenied: {
      userns,
      policy: rules({ kind: "path", path: `${dir}/x`, access: "ro" }),
      argv: [`${dir}/x/true`],
    },
    tcp: {
      userns,
      policy: rules({ kind: "port", port: ports.allowed, access: "connect" }),
      argv: [
        "/bin/bash",
        "-c",
        `exec 3<>/dev/tcp/127.0.0.1/${ports.allowed} && echo connected ${ports.allowed}; ` +
        `exec 4<>/dev/tcp/127.0.0.1/${ports.denied} && echo connected ${ports.denied}; echo end`,
      ],
    },
    tcpUnrestricted: {
      userns,
      policy: rules(),
      argv: ["/bin/bash", "-c", `exec 4<>/dev/tcp/127.0.0.1/${ports.denied} && echo connected ${ports.denied}`],
    },
    status: {
      userns,
      policy: rules(),
      argv: sh("grep -E '^(NoNewPrivs|Seccomp|Landlock)' /proc/self/status"),
    },
    statusWithoutNoNewPrivs: {
      userns,
      noNewPrivs: false,
      policy: rules(),
      argv: sh("grep -E '^NoNewPrivs' /proc/self/status"),
    },
    signalScoped: {
      userns,
      policy: { rules: [{ kind: "scope", scope: "signal" }] },
      argv: sh(`kill -0 ${Deno.pid} && echo signalled; echo status=$?`),
    },
    signalUnscoped: {
      userns,
      policy: rules(),
      argv: sh(`kill -0 ${Deno.pid} && echo signalled; echo status=$?`),
    },
    childPath: {
      userns,
      tmpfsOn: `${dir}/tmpfs`,
      policy: rules({ kind: "path", path: `${dir}/tmpfs/inner`, access: "rw" }),
      argv: sh(`echo x > ${dir}/tmpfs/inner/f && cat ${dir}/tmpfs/inner/f; echo y > ${dir}/tmpfs/other; echo end`),
    },
    plainReadOnly: {
      policy: rules({ kind: "path", path: `${dir}/ro`, access: "ro" }),
      argv: sh(writeRo),
    },
    plainWithoutNoNewPrivs: {
      noNewPrivs: false,
      policy: rules(),
      argv: sh("grep -E '^NoNewPrivs' /proc/self/status"),
    },
    missingPath: {
      userns,
      policy: rules({ kind: "path", path: `${dir}/no-such-dir`, access: "ro" }),
      argv: ["/bin/true"],
    },
  };
}

/** Makes the directory the scenarios use: `ro/existing`, `rw/`, `x/true`, `tmpfs/`, `file/data`. */
export function prepare(): string {
  const dir = Deno.makeTempDirSync({ prefix: "nsh-landlock-" });
  Deno.chmodSync(dir, 0o755);
  for (const sub of ["ro", "rw", "x", "tmpfs", "file"]) Deno.mkdirSync(`${dir}/${sub}`);
  Deno.writeTextFileSync(`${dir}/ro/existing`, "hello\n");
  Deno.writeTextFileSync(`${dir}/file/data`, "hello\n");
  Deno.copyFileSync("/usr/bin/true", `${dir}/x/true`);
  Deno.chmodSync(`${dir}/x/true`, 0o755);
  return dir;
}

/** Runs the named scenarios with listeners on loopback, and removes what it made. */
export async function runScenarios(
  names: readonly string[],
  rootless: boolean,
): Promise<{ results: Record<string, RunResult>; dir: string; ports: { allowed: number; denied: number } }> {
  const dir = prepare();
  const allowed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const denied = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const ports = { allowed: allowed.addr.port, denied: denied.addr.port };
  try {
    const all = scenarios(dir, ports, rootless);
    const results: Record<string, RunResult> = {};
    for (const name of names) results[name] = await runSandboxed(all[name]!);
    // What the children left on the host: the tmpfs was theirs alone.
    results.hostTmpfs = { status: 0, output: [...Deno.readDirSync(`${dir}/tmpfs`)].map((e) => e.name).join(",") };
    results.hostRo = { status: 0, output: [...Deno.readDirSync(`${dir}/ro`)].map((e) => e.name).join(",") };
    return { results, dir, ports };
  } finally {
    allowed.close();
    denied.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

/** The names of all scenarios. */
export const SCENARIOS: readonly string[] = Object.keys(scenarios("/", { allowed: 1, denied: 2 }, false));

if (import.meta.main) {
  const out = await runScenarios(SCENARIOS, true);
  console.log(JSON.stringify(out));
}
