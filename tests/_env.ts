/**
 * What the test machine can do, decided once, and helpers to run nsh the way
 * users do: the CLI as a subprocess, and scripts as an unprivileged user.
 *
 * @module
 */

/** The repository root, with a trailing slash. */
export const REPO: string = new URL("..", import.meta.url).pathname;

/** The CLI entry. */
export const CLI: string = `${REPO}cli.ts`;

/** Where test processes keep their own files: `/tmp/nsh-test-WHAT-PID`. */
const TEMP_PREFIX = "/tmp/nsh-test-";

/** Whether the tests run as root (CI does). */
export const IS_ROOT: boolean = Deno.uid() === 0;

if (!IS_ROOT) {
  skipping(
    "root",
    `not root (uid ${Deno.uid()}): the tests that need root are ignored; the rootless ones (user namespaces) run`,
  );
}

/** The unprivileged user the rootless tests drop to. */
export const NOBODY = { uid: 65534, gid: 65534 } as const;

/**
 * Says once per test run why tests are ignored: a test that cannot run here
 * shows as `ignored (0ms)` and nothing more, and the README promises loud
 * skips. `deno test` evaluates this module once per test file, in one
 * process: a file per reason in a directory of that process, made with
 * O_EXCL, lets the first file that meets a reason print it.
 *
 * @param key What is missing (`root`, `program:ping`…).
 * @param why The line to print.
 */
export function skipping(key: string, why: string): void {
  // Named after this process and its start time: a directory left by an
  // earlier process with the same pid is not this run's.
  const started = Deno.readTextFileSync("/proc/self/stat").split(") ")[1]!.split(" ")[19];
  const dir = `${TEMP_PREFIX}skips_${started}-${Deno.pid}`;
  try {
    // Made again by every run that skips something: what ended runs left goes.
    removeStale();
    Deno.mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  // /tmp is everyone's: use the directory only if this user made it.
  const info = Deno.lstatSync(dir);
  let first = true;
  if (info.isDirectory && info.uid === Deno.uid()) {
    try {
      Deno.openSync(`${dir}/${key.replaceAll("/", "_")}`, { write: true, createNew: true }).close();
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      first = false;
    }
  }
  if (first) console.warn(`nsh tests: ${why}`);
}

const programs = new Map<string, boolean>();

/**
 * Whether a program is on PATH, decided once per test file. When it is not,
 * the tests that need it are ignored, and the first time in a test run that
 * this is so, a warning says which program is missing.
 *
 * @param name The program.
 * @returns `true` when found.
 */
export function hasProgram(name: string): boolean {
  let found = programs.get(name);
  if (found === undefined) {
    found = (Deno.env.get("PATH") ?? "").split(":").some((dir) => {
      try {
        return Deno.statSync(`${dir}/${name}`).isFile;
      } catch {
        return false; // Not in this directory.
      }
    });
    programs.set(name, found);
    if (!found) {
      skipping(
        `program:${name}`,
        `${name} is not on PATH: the tests that need it are ignored (.ci/run installs the package that has it)`,
      );
    }
  }
  return found;
}

/** Output of a finished process. */
export interface Output {
  /** Exit code, 128 + N for signal N. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

const decoder = new TextDecoder();

/**
 * Runs a program to completion and captures its output.
 *
 * @param cmd The program.
 * @param args Its arguments.
 * @param options Environment, stdin text and working directory.
 * @returns Its output.
 */
export async function run(
  cmd: string,
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; cwd?: string; clearEnv?: boolean } = {},
): Promise<Output> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.clearEnv ? { clearEnv: true } : {}),
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** The system calls a script made, as strace showed them, between marks it set. */
export interface Trace {
  /** The lines of the trace: `PID name(args…) = result`. */
  readonly lines: readonly string[];
  /** The index of the line of a mark, or -1 when the script never reached it. */
  at(mark: string): number;
  /** The lines from one mark to the next, naming one of the calls. */
  calls(from: string, to: string, names: readonly string[]): string[];
}

/**
 * Runs a Deno script under `strace -f`, to count system calls rather than
 * time them. The script calls `mark("name")` to set a mark in the trace (a
 * readlink of a path that does not exist, which strace shows); the marks
 * are traced besides `calls`. Needs strace (`hasProgram("strace")`).
 *
 * @param source The script's code, with the function `mark` in scope.
 * @param calls The system calls to trace.
 * @returns The trace.
 * @throws {Error} When the script fails.
 */
export async function traceScript(source: string, calls: readonly string[]): Promise<Trace> {
  const prefix = `/nsh-test-mark-${Deno.pid}-`;
  const script = await Deno.makeTempFile({ dir: "/tmp", prefix: "nsh-test-trace-", suffix: ".ts" });
  const trace = await Deno.makeTempFile({ dir: "/tmp", prefix: "nsh-test-trace-", suffix: ".strace" });
  try {
    await Deno.writeTextFile(
      script,
      `const mark = (what: string) => { try { Deno.readLinkSync("${prefix}" + what); } catch { /* absent */ } };\n` +
        source,
    );
    const out = await run("strace", [
      "-f",
      "-qq",
      "-o",
      trace,
      "-e",
      `trace=readlink,readlinkat,${calls.join(",")}`,
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      "--no-config",
      script,
    ]);
    if (out.code !== 0 || out.stderr !== "") throw new Error(`The traced script failed (${out.code}): ${out.stderr}`);
    const lines = (await Deno.readTextFile(trace)).split("\n");
    const at = (mark: string) => lines.findIndex((line) => line.includes(`"${prefix}${mark}"`));
    return {
      lines,
      at,
      calls(from: string, to: string, names: readonly string[]) {
        const call = new RegExp(`^\\d+ +(${names.join("|")})\\(`);
        return lines.slice(at(from), at(to)).filter((line) => call.test(line));
      },
    };
  } finally {
    await Deno.remove(script);
    await Deno.remove(trace);
  }
}

/**
 * Runs `deno run -A cli.ts …args` as a user would.
 *
 * @param args The arguments of nsh.
 * @param options Environment and stdin.
 * @returns Its output.
 */
export function nsh(args: string[], options: { env?: Record<string, string>; stdin?: string } = {}): Promise<Output> {
  return run(Deno.execPath(), ["run", "-A", "--quiet", CLI, ...args], options);
}

const ownTemps = new Set<string>();

/**
 * A directory of this test process, `/tmp/nsh-test-WHAT-PID`, removed when the
 * process ends (or, if it is killed, by the next test run).
 */
function ownTemp(what: string): string {
  const dir = `${TEMP_PREFIX}${what}-${Deno.pid}`;
  Deno.mkdirSync(dir, { recursive: true });
  if (!ownTemps.size) {
    globalThis.addEventListener("unload", () => {
      for (const d of ownTemps) Deno.removeSync(d, { recursive: true });
    });
  }
  ownTemps.add(dir);
  return dir;
}

/** Removes the directories of test processes that have ended. */
function removeStale(): void {
  for (const entry of Deno.readDirSync("/tmp")) {
    const pid = /^nsh-test-\w+-(\d+)$/.exec(entry.name)?.[1];
    if (pid === undefined) continue;
    try {
      Deno.statSync(`/proc/${pid}`);
    } catch {
      try {
        Deno.removeSync(`/tmp/${entry.name}`, { recursive: true });
      } catch (error) {
        // Another test run removed it first, or another user's run left it.
        if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied)) throw error;
      }
    }
  }
}

let unprivilegedSetup: Promise<{ deno: string; repo: string; home: string }> | undefined;

async function canRead(path: string, test = "-r"): Promise<boolean> {
  const out = await run("setpriv", [
    `--reuid=${NOBODY.uid}`,
    `--regid=${NOBODY.gid}`,
    "--clear-groups",
    "test",
    test,
    path,
  ]);
  return out.code === 0;
}

/**
 * Prepares what an unprivileged Deno needs: a Deno binary and a copy of the
 * repository that the user can read (CI clones under /root, which it cannot),
 * and a writable DENO_DIR.
 */
function setupUnprivileged(): Promise<{ deno: string; repo: string; home: string }> {
  unprivilegedSetup ??= (async () => {
    // Made once per test process and named after it; `deno test` fires no
    // unload event, so each run removes what earlier runs left behind.
    removeStale();
    let deno = Deno.execPath();
    if (!(await canRead(deno, "-x"))) {
      const dir = ownTemp("deno");
      Deno.chmodSync(dir, 0o755);
      deno = `${dir}/deno`;
      Deno.copyFileSync(Deno.execPath(), deno);
      Deno.chmodSync(deno, 0o755);
    }
    let repo = REPO;
    if (!(await canRead(`${REPO}mod.ts`))) {
      repo = ownTemp("repo") + "/";
      Deno.chmodSync(repo, 0o755);
      for (const entry of ["mod.ts", "cli.ts", "deno.json", "lib", "ffi", "cli", "examples"]) {
        await run("cp", ["-r", `${REPO}${entry}`, repo]);
      }
      await run("chmod", ["-R", "a+rX", repo]);
    }
    const home = ownTemp("home");
    Deno.chownSync(home, NOBODY.uid, NOBODY.gid);
    return { deno, repo, home };
  })();
  return unprivilegedSetup;
}

/**
 * Runs a TypeScript program as the unprivileged user `nobody`, the way a user
 * without root runs nsh (as this user, when the tests do not run as root).
 * `$REPO/` in the source is replaced with the path of a copy of the repository
 * that the user can read.
 *
 * @param source The program's source.
 * @param options `wrap` runs the whole process under another command (such as a
 *   root-made mount namespace); `args` are passed to the program.
 * @returns Its output.
 */
export async function runUnprivileged(
  source: string,
  options: { args?: string[]; wrap?: (argv: string[]) => Promise<Output> } = {},
): Promise<Output> {
  const { deno, repo, home } = IS_ROOT
    ? await setupUnprivileged()
    : { deno: Deno.execPath(), repo: REPO, home: ownTemp("home") };
  const file = `${home}/script-${crypto.randomUUID()}.ts`;
  Deno.writeTextFileSync(file, source.replaceAll("$REPO/", repo));
  Deno.chmodSync(file, 0o644);
  const drop = IS_ROOT
    ? ["setpriv", `--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, "--clear-groups", "env", `HOME=${home}`]
    : ["env"];
  const argv = [
    ...drop,
    `DENO_DIR=${IS_ROOT ? `${home}/deno` : Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`}`,
    "NO_COLOR=1",
    deno,
    "run",
    "-A",
    "--quiet",
    "--no-config",
    file,
    ...(options.args ?? []),
  ];
  try {
    // From the home directory: a clone under /root is closed to nobody.
    return options.wrap ? await options.wrap(argv) : await run(argv[0]!, argv.slice(1), { cwd: home });
  } finally {
    Deno.removeSync(file);
  }
}

/**
 * The namespace of this process, as `/proc/self/ns/TYPE` links it.
 *
 * @param type The namespace type.
 * @returns Such as `"net:[4026531833]"`.
 */
export function hostNamespace(type: string): string {
  return Deno.readLinkSync(`/proc/self/ns/${type}`);
}

/**
 * The processes in a namespace, by its `/proc/PID/ns/TYPE` link (zombies have none).
 *
 * @param link Such as `"uts:[4026532177]"`.
 * @returns Their pids.
 */
export function membersOf(link: string): number[] {
  const type = link.slice(0, link.indexOf(":"));
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      if (Deno.readLinkSync(`/proc/${entry.name}/ns/${type}`) === link) pids.push(Number(entry.name));
    } catch {
      // Gone while we looked, or a zombie.
    }
  }
  return pids;
}

/**
 * Holds a namespace open, found by its `/proc/PID/ns/TYPE` link, while it
 * lives. A namespace's inode number is free for another namespace once the
 * last reference goes: a test that looks for the members of a namespace after
 * its processes ended may find another process's namespace under the same
 * number (it did, while other tests ran). Held, the number stays this
 * namespace's for as long as the test looks.
 *
 * @param link Such as `"uts:[4026532177]"`, of a namespace that has members now.
 * @returns The open namespace; close it (or `using`) when done.
 * @throws {Error} When no process is in that namespace any more.
 */
export function holdNamespace(link: string): Deno.FsFile {
  const type = link.slice(0, link.indexOf(":"));
  const inode = Number(/\[(\d+)\]$/.exec(link)?.[1]);
  const device = Deno.statSync(`/proc/self/ns/${type}`).dev;
  for (const pid of membersOf(link)) {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(`/proc/${pid}/ns/${type}`);
    } catch {
      continue; // Ended since.
    }
    // The pid may have gone to another process between the look and the open.
    const { ino, dev } = file.statSync();
    if (ino === inode && dev === device) return file;
    file.close();
  }
  throw new Error(`Cannot hold ${link}: no process is in it`);
}

/**
 * The name of a process.
 *
 * @param pid The process.
 * @returns Its `comm`, or `undefined` when it is gone.
 */
export function comm(pid: number): string | undefined {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return undefined;
  }
}
