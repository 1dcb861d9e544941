/**
 * The interactive shell in a real pseudo-terminal: each test starts its own
 * tmux server (`tmux -L <socket>`), types into nsh and reads the screen, and
 * kills the server at the end. Waits poll the screen until the expected text
 * appears, with generous deadlines; failures show the screen.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { CLI, comm, hasProgram, holdNamespace, IS_ROOT, membersOf, nsh } from "./_env.ts";

const HAS_TMUX = hasProgram("tmux");
/** Whether this user can make a user namespace (root always can), decided once. */
const USERNS = HAS_TMUX && (IS_ROOT || (await nsh(["unshare", "--user", "--map-root-user", "true"])).code === 0);
const tty = { ignore: !HAS_TMUX };
const userns = { ignore: !USERNS };

/** A user namespace mapped to root, which the contexts of these tests start with. */
const U = "--user --map-root-user";

const decoder = new TextDecoder();

function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** Options of a pane that runs nsh. */
interface NshPane {
  /** Variables for nsh; NSH_HISTORY is empty (no history file) unless given. */
  env?: Record<string, string>;
  /** A shell command nsh's output goes through, such as `cat`. */
  pipe?: string;
  /** A command line nsh runs under, such as `unshare -m sh -c '…; exec "$@"' -`. */
  wrap?: string;
}

/** One tmux server of its own, with one pane of 120 × 40. */
class Tmux {
  static #count = 0;
  readonly socket = `nsh-tty-test-${Deno.pid}-${Tmux.#count++}`;
  #socketPath: string | undefined;

  /**
   * Starts nsh in a new pane. When nsh ends, the pane shows `[exited N]`.
   *
   * @param options Its environment, and a pipe or wrapper.
   * @returns The server.
   */
  static async nsh(options: NshPane = {}): Promise<Tmux> {
    const env = { NSH_HISTORY: "", ...options.env };
    const vars = Object.entries(env).map(([k, v]) => quote(`${k}=${v}`)).join(" ");
    const unset = "NO_COLOR" in env ? "" : "-u NO_COLOR ";
    const program = `env ${unset}${vars} ${quote(Deno.execPath())} run -A --quiet ${quote(CLI)}`;
    const line = `${options.wrap ? `${options.wrap} ${program}` : program}${options.pipe ? ` | ${options.pipe}` : ""}`;
    const tmux = new Tmux();
    const session = ["new-session", "-d", "-x", "120", "-y", "40", `${line}; echo "[exited $?]"; sleep 600`];
    try {
      await tmux.#run("-f", "/dev/null", ...session);
      tmux.#socketPath = (await tmux.#run("display-message", "-p", "#{socket_path}")).trim();
    } catch (error) {
      await tmux[Symbol.asyncDispose]();
      throw error;
    }
    return tmux;
  }

  async #run(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", { args: ["-L", this.socket, ...args], stdout: "piped", stderr: "piped" })
      .output();
    if (!out.success) throw new Error(`tmux ${args.join(" ")} failed: ${decoder.decode(out.stderr)}`);
    return decoder.decode(out.stdout);
  }

  /** Sends keys by tmux's names (`Enter`, `Tab`, `C-c`, `Up`) or words. */
  async keys(...keys: string[]): Promise<void> {
    await this.#run("send-keys", ...keys);
  }

  /** Types text as it is. */
  async type(text: string): Promise<void> {
    // After --, text that starts with a dash is text, not a flag of tmux.
    await this.#run("send-keys", "-l", "--", text);
  }

  /** Types a line and Enter. */
  async line(text: string): Promise<void> {
    await this.type(text);
    await this.keys("Enter");
  }

  /** Pastes text at once, as a terminal does. */
  async paste(text: string): Promise<void> {
    const file = Deno.makeTempFileSync({ prefix: "nsh-tty-paste-" });
    try {
      Deno.writeTextFileSync(file, text);
      await this.#run("load-buffer", file);
      await this.#run("paste-buffer", "-d");
    } finally {
      Deno.removeSync(file);
    }
  }

  /** The screen and its scrollback, wrapped lines joined; with `escapes`, colours as escape codes. */
  screen(escapes = false): Promise<string> {
    return this.#run("capture-pane", "-p", "-J", "-S", "-1000", ...(escapes ? ["-e"] : []));
  }

  /**
   * Polls the screen until `test` holds.
   *
   * @param test A pattern, or a check of the screen.
   * @param what What is awaited, for the failure message.
   * @returns The screen.
   */
  async waitFor(test: RegExp | ((screen: string) => boolean), what: string, escapes = false): Promise<string> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const screen = await this.screen(escapes);
      if (typeof test === "function" ? test(screen) : test.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; the screen:\n${screen}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits for a prompt with nothing typed after it on the last line. */
  prompt(text = "nsh> "): Promise<string> {
    return this.waitFor((s) => lastLine(s) === text.trimEnd(), `the prompt ${JSON.stringify(text)}`);
  }

  /** The pid of nsh: the Deno child of the pane's shell. */
  async nshPid(): Promise<number> {
    const pane = Number((await this.#run("display-message", "-p", "#{pane_pid}")).trim());
    const pid = childrenOf(pane).find((c) => comm(c) === "deno");
    if (pid === undefined) throw new Error(`No nsh in the pane; the screen:\n${await this.screen()}`);
    return pid;
  }

  /** Kills the server, and nsh with its pane, and removes the socket. */
  async [Symbol.asyncDispose](): Promise<void> {
    await new Deno.Command("tmux", { args: ["-L", this.socket, "kill-server"], stdout: "null", stderr: "null" })
      .output();
    try {
      if (this.#socketPath) Deno.removeSync(this.#socketPath);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

/** The last non-empty line of a screen, without trailing spaces. */
function lastLine(screen: string): string {
  return screen.trimEnd().split("\n").at(-1)!.trimEnd();
}

/** The lines of a screen after the last one that starts with `marker`. */
function linesAfter(screen: string, marker: string): string[] {
  const lines = screen.trimEnd().split("\n").map((l) => l.trimEnd());
  const i = lines.findLastIndex((l) => l.startsWith(marker));
  return i < 0 ? [] : lines.slice(i + 1);
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      const text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`).trim();
      if (text) out.push(...text.split(" ").map(Number));
    }
  } catch {
    // Gone.
  }
  return out;
}

/** Polls until a condition holds, for at most `ms`. */
async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Makes a context with UTS and PID namespaces and returns its UTS namespace, as nsh printed it. */
async function makeContext(pane: Tmux, options = `${U} --uts --pid`, prompt = "nsh[uts pid user]> "): Promise<string> {
  await pane.line(`unshare ${options}`);
  await pane.prompt(prompt);
  await pane.line("readlink /proc/self/ns/uts");
  // The line after this readlink: an earlier context's is on the screen too.
  const screen = await pane.waitFor(
    (s) => /^uts:\[\d+\]$/.test(linesAfter(s, `${prompt}readlink /proc/self/ns/uts`)[0] ?? ""),
    "the context's namespace",
  );
  await pane.prompt(prompt);
  return linesAfter(screen, `${prompt}readlink /proc/self/ns/uts`)[0]!;
}

Deno.test({
  name: "tty: the prompt shows the contexts: nsh> , then the namespaces of each level",
  ...userns,
  async fn() {
    await using pane = await Tmux.nsh();
    await pane.prompt("nsh> ");
    await pane.line(`unshare ${U} --pid --mount --uts --net`);
    await pane.prompt("nsh[mnt uts net pid user]> ");
    await pane.line("unshare --uts");
    await pane.prompt("nsh[mnt uts net pid user > uts]> ");
    await pane.line("exit");
    await pane.prompt("nsh[mnt uts net pid user]> ");
    await pane.line("exit");
    await pane.prompt("nsh> ");
    await pane.line("exit 3");
    await pane.waitFor(/^\[exited 3\]$/m, "nsh to exit with 3");
  },
});

Deno.test({
  name: "tty: Tab completes commands, options, paths and pids",
  ...tty,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-tty-complete-" });
    await using _removed = { [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
    Deno.writeTextFileSync(`${dir}/only-file-here.txt`, "");
    await using pane = await Tmux.nsh();
    await pane.prompt();
    await pane.type("unsh");
    await pane.keys("Tab");
    await pane.waitFor((s) => lastLine(s) === "nsh> unshare", "unsh to complete to unshare");
    await pane.keys("C-u");
    await pane.type("unshare --mount-p");
    await pane.keys("Tab");
    await pane.waitFor((s) => lastLine(s) === "nsh> unshare --mount-proc", "--mount-p to complete to --mount-proc");
    await pane.keys("C-u");
    await pane.type(`cat ${dir}/on`);
    await pane.keys("Tab");
    await pane.waitFor((s) => lastLine(s) === `nsh> cat ${dir}/only-file-here.txt`, "a path to complete");
    await pane.keys("C-u");
    await pane.type(`ls ${dir.slice(0, -3)}`);
    await pane.keys("Tab");
    await pane.waitFor((s) => lastLine(s) === `nsh> ls ${dir}/`, "a directory to complete with a slash");
    await pane.keys("C-u");
    // A pid for --target: this test's own, from all its digits but the last.
    const pid = String(Deno.pid);
    await pane.type(`nsenter --target ${pid.slice(0, -1)}`);
    // Tab, and Tab again to list the candidates, in separate reads as a user
    // types them: readline takes all but the last Tab of one read as pasted
    // text, and inserts them.
    const listed = (s: string) => new RegExp(`\\b${pid}\\b`).test(s);
    for (let tab = 0; tab < 5; tab++) {
      await pane.keys("Tab");
      const screen = await pane.screen();
      if (listed(screen)) break;
      if (/Display all \d+ possibilities/.test(screen)) await pane.keys("y");
      await eventually(() => false, 200);
    }
    await pane.waitFor(listed, `the pid ${pid} among the completions`);
  },
});

Deno.test({
  name: "tty: Tab completes paths in a context as the context sees them, not as the host does",
  ignore: !HAS_TMUX || !USERNS,
  async fn() {
    // A directory of the host, empty there; in the context a tmpfs on it holds one file.
    const dir = Deno.makeTempDirSync({ prefix: "nsh-tty-complete-ctx-" });
    await using _removed = { [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
    Deno.writeTextFileSync(`${dir}/host-only.txt`, "");
    await using pane = await Tmux.nsh();
    await pane.prompt();
    await pane.line(`unshare ${U} --mount`);
    await pane.prompt("nsh[mnt user]> ");
    await pane.line(`mount -t tmpfs nsh-test ${dir} && cd ${dir} && touch context-only.txt && echo made`);
    await pane.waitFor(/^made$/m, "the file in the context");
    await pane.type("cat co");
    await pane.keys("Tab");
    await pane.waitFor((s) => lastLine(s) === "nsh[mnt user]> cat context-only.txt", "the context's file to complete");
    await pane.keys("C-u");
    await pane.type(`cat ${dir}/ho`);
    await pane.keys("Tab");
    await eventually(() => false, 300);
    assertEquals(
      lastLine(await pane.screen()),
      `nsh[mnt user]> cat ${dir}/ho`,
      "no completion from the host's directory",
    );
  },
});

Deno.test({
  name: "tty: Tab completes the names of network namespaces after netns exec",
  // /run/netns of a mount namespace of its own, made by util-linux unshare.
  ignore: !HAS_TMUX || !IS_ROOT || !hasProgram("unshare"),
  async fn() {
    const setup = "mount -t tmpfs nsh-test /run && mkdir /run/netns && touch /run/netns/nsh-test-ns";
    await using pane = await Tmux.nsh({
      wrap: `unshare --mount --propagation private sh -c '${setup} && exec "$@"' -`,
    });
    await pane.prompt();
    await pane.type("netns exec nsh-te");
    await pane.keys("Tab");
    await pane.waitFor((s) => lastLine(s) === "nsh> netns exec nsh-test-ns", "the netns name to complete");
  },
});

Deno.test({
  name: "tty: history recalls lines with Up, and is kept in $NSH_HISTORY for the next shell",
  ...tty,
  async fn() {
    const file = Deno.makeTempFileSync({ prefix: "nsh-tty-history-" });
    try {
      {
        await using pane = await Tmux.nsh({ env: { NSH_HISTORY: file } });
        await pane.prompt();
        await pane.line("echo nsh-history-1");
        await pane.waitFor(/^nsh-history-1$/m, "the echo");
        await pane.prompt();
        await pane.keys("Up");
        await pane.waitFor((s) => lastLine(s) === "nsh> echo nsh-history-1", "Up to recall the line");
        await pane.keys("C-u", "C-d");
        await pane.waitFor(/^\[exited 0\]$/m, "Ctrl-D to end nsh");
      }
      assertEquals(Deno.readTextFileSync(file), "echo nsh-history-1\n");
      await using pane = await Tmux.nsh({ env: { NSH_HISTORY: file } });
      await pane.prompt();
      await pane.keys("Up");
      await pane.waitFor((s) => lastLine(s) === "nsh> echo nsh-history-1", "Up to recall the last session's line");
    } finally {
      Deno.removeSync(file);
    }
  },
});

Deno.test({
  name: "tty: root keeps no history in a user's directory, where a link could make it write any file",
  ignore: !HAS_TMUX || !IS_ROOT,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nsh-tty-home-" });
    try {
      // A user's home, as sudo -E leaves HOME, with a link planted where
      // nsh keeps its history.
      const state = `${dir}/home/.local/state/nsh`;
      Deno.mkdirSync(state, { recursive: true });
      Deno.writeTextFileSync(`${dir}/victim`, "root's file\n");
      Deno.symlinkSync(`${dir}/victim`, `${state}/history`);
      await new Deno.Command("chown", { args: ["-hR", "65534:65534", `${dir}/home`] }).output();
      await using pane = await Tmux.nsh({ env: { NSH_HISTORY: `${state}/history` } });
      const screen = await pane.prompt();
      assertMatch(
        screen,
        /^nsh: history not kept: cannot use ".*history": the directory ".*\/home\/" belongs to uid 65534/m,
      );
      await pane.line("echo nsh-history-attack");
      await pane.waitFor(/^nsh-history-attack$/m, "the echo");
      await pane.prompt();
      await pane.keys("C-d");
      await pane.waitFor(/^\[exited 0\]$/m, "Ctrl-D to end nsh");
      assertEquals(Deno.readTextFileSync(`${dir}/victim`), "root's file\n");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "tty: an interactive program gets the terminal, with echo, and nsh takes it back",
  ...userns,
  async fn() {
    await using pane = await Tmux.nsh();
    await pane.prompt();
    // At the host, then in a new PID namespace, where sh cannot give the
    // terminal back to nsh's process group (it does not see it).
    const levels: [string, string][] = [["", "nsh> "], [`unshare ${U} --pid --mount-proc`, "nsh[mnt pid user]> "]];
    for (const [where, prompt] of levels) {
      if (where) {
        await pane.line(where);
        await pane.prompt(prompt);
      }
      await pane.line("sh");
      await pane.waitFor((s) => /^[#$] $/.test(lastLine(s) + " "), "the prompt of sh");
      await pane.line(`echo in-child-${prompt.length}`);
      const screen = await pane.waitFor(new RegExp(`^in-child-${prompt.length}$`, "m"), "sh to run echo");
      assertMatch(screen, new RegExp(`^[#$] echo in-child-${prompt.length}$`, "m")); // the terminal echoed it
      await pane.line("exit");
      await pane.prompt(prompt);
      await pane.line(`echo back-${prompt.length}`);
      await pane.waitFor(new RegExp(`^back-${prompt.length}$`, "m"), "nsh to run commands again");
      await pane.prompt(prompt);
    }
  },
});

Deno.test({
  name: "tty: Ctrl-C interrupts the program and nsh survives, with $? 130",
  ...userns,
  async fn() {
    await using pane = await Tmux.nsh();
    await pane.prompt();
    const nshPid = await pane.nshPid();
    // A program at the host, in a context, and as PID 1 of a new PID namespace
    // (which the kernel shields from SIGINT: nsh kills it on its behalf).
    const cases: [string, string, string][] = [
      ["", "sleep 30", "nsh> "],
      ["", `unshare ${U} --pid sleep 31`, "nsh> "],
      [`unshare ${U} --pid --uts`, "sleep 32", "nsh[uts pid user]> "],
    ];
    for (const [setup, command, prompt] of cases) {
      if (setup) {
        await pane.line(setup);
        await pane.prompt(prompt);
      }
      await pane.line(command);
      const started = await eventually(() => childrenOf(nshPid).some((c) => comm(c) === "sleep"), 5000);
      assert(started, `${command} did not start; the screen:\n${await pane.screen()}`);
      await pane.keys("C-c");
      await pane.prompt(prompt);
      // The terminal's ^C echo stays on its own line, the prompt below it, as in sh.
      await pane.waitFor(
        (s) => linesAfter(s, `${prompt}${command}`).join("\n") === `^C\n${prompt.trimEnd()}`,
        `^C on its own line after ${command}`,
      );
      await pane.line("echo $?");
      await pane.waitFor((s) => linesAfter(s, `${prompt}echo $?`)[0] === "130", `$? to be 130 after ${command}`);
      assert(!childrenOf(nshPid).some((c) => comm(c) === "sleep"), "sleep was interrupted");
    }
  },
});

Deno.test({
  name: "tty: Ctrl-C at the prompt drops the line",
  ...tty,
  async fn() {
    await using pane = await Tmux.nsh();
    await pane.prompt();
    await pane.type("echo should-not-run");
    await pane.keys("Left", "Left", "C-c");
    await pane.waitFor(/\^C$/m, "^C");
    await pane.prompt();
    await pane.line("echo cleared");
    const screen = await pane.waitFor(/^cleared$/m, "the next line to run alone");
    assert(!/^should-not-run/m.test(screen), `the dropped line ran; the screen:\n${screen}`);
    // In a line continued after an open quote, too.
    await pane.line('echo "open');
    await pane.prompt("> ");
    await pane.type("more");
    await pane.keys("C-c");
    await pane.prompt();
    await pane.line("echo second");
    await pane.waitFor(/^second$/m, "the line after the dropped continuation");
  },
});

Deno.test({
  name: "tty: lines pasted at once run one after the other",
  ...userns,
  async fn() {
    await using pane = await Tmux.nsh();
    await pane.prompt();
    await pane.paste(`unshare ${U} --uts\nhostname pasted\nhostname\nsleep 0.3\necho after-sleep\nexit\necho done\n`);
    const screen = await pane.waitFor(/^done$/m, "the pasted lines to run");
    const output = screen.split("\n").map((l) => l.trimEnd()).filter((l) => /^(pasted|after-sleep|done)$/.test(l));
    assertEquals(output, ["pasted", "after-sleep", "done"], screen);
    assert(!screen.includes("not in a context"), screen);
    // Each line with its own prompt, its output after it, in order.
    const lines = screen.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "");
    const from = lines.indexOf(`nsh> unshare ${U} --uts`);
    assertEquals(lines.slice(from, from + 10), [
      `nsh> unshare ${U} --uts`,
      "nsh[uts user]> hostname pasted",
      "nsh[uts user]> hostname",
      "pasted",
      "nsh[uts user]> sleep 0.3",
      "nsh[uts user]> echo after-sleep",
      "after-sleep",
      "nsh[uts user]> exit",
      "nsh> echo done",
      "done",
    ], screen);
    await pane.prompt();
  },
});

Deno.test({
  name: "tty: lines typed or pasted while a program runs are the program's input, as in sh",
  ...tty,
  async fn() {
    await using pane = await Tmux.nsh();
    await pane.prompt();
    // Pasted: the second line is for the program the first one runs.
    await pane.paste("sh -c 'read x; echo \"got $x\"'\nhello\necho after\n");
    let screen = await pane.waitFor(/^after$/m, "the pasted lines to run");
    assert(/^got hello$/m.test(screen), screen);
    assert(/^nsh> echo after$/m.test(screen), screen);
    assert(!/hello: command not found/.test(screen), screen);
    // Typed while it runs: the same.
    await pane.prompt();
    await pane.line("sh -c 'sleep 0.3; read y; echo \"read $y\"'");
    await pane.line("typed-ahead");
    screen = await pane.waitFor(/^read typed-ahead$/m, "the program to read the typed line");
    await pane.prompt();
    assert(!/typed-ahead: command not found/.test(screen), screen);
  },
});

Deno.test({
  name: "tty: completing a unique word adds the space after it",
  ...tty,
  async fn() {
    await using pane = await Tmux.nsh();
    await pane.prompt();
    await pane.type("unsh");
    await pane.keys("Tab");
    await pane.waitFor((s) => lastLine(s) === "nsh> unshare", "unsh to complete to unshare");
    // Typed right after: the space is there already.
    await pane.type("--map-ro");
    await pane.keys("Tab");
    await pane.waitFor((s) => lastLine(s) === "nsh> unshare --map-root-user", "the option after the space");
  },
});

Deno.test({
  name: "tty: a job whose first program ends before the next starts runs on: quick pipelines, loops of programs",
  ...tty,
  async fn() {
    await using pane = await Tmux.nsh();
    await pane.prompt();
    // Each program after the first joins the job's process group, which is gone once all
    // its programs have ended and been reaped: the next one leads a group of its own.
    await pane.line('for i in 1 2 3; do /bin/echo "n$i"; done; /bin/true | sleep 0.2; echo "status $?"');
    const screen = await pane.waitFor(/^status \d+$/m, "the loop and the pipeline to end");
    assertEquals(linesAfter(screen, "nsh> for i in").slice(0, 4), ["n1", "n2", "n3", "status 0"]);
    await pane.prompt();
    await pane.line("/bin/echo piped | cat; echo $(/bin/echo a; /bin/echo b)");
    const out = await pane.waitFor(/^a b$/m, "the pipeline and the substitution");
    assertEquals(linesAfter(out, "nsh> /bin/echo piped").slice(0, 2), ["piped", "a b"]);
  },
});

Deno.test({
  name: "tty: Ctrl-Z stops the foreground job and gives the prompt back; jobs, bg, fg and kill %N act on it",
  ...tty,
  async fn() {
    await using pane = await Tmux.nsh();
    await pane.prompt();
    await pane.line("sleep 60");
    await eventually(() => false, 300);
    await pane.keys("C-z");
    let screen = await pane.waitFor(/^\[1\]\+ +Stopped +sleep 60$/m, "the job to stop");
    await pane.prompt();
    await pane.line('echo "status $?"');
    await pane.waitFor(/^status 148$/m, "the status of a stopped job");
    await pane.prompt();
    await pane.line("jobs");
    await pane.waitFor((s) => /^\[1\]\+ +Stopped +sleep 60$/m.test(linesAfter(s, "nsh> jobs").join("\n")), "jobs");
    await pane.prompt();
    await pane.line("bg");
    await pane.waitFor(/^\[1\]\+ sleep 60 &$/m, "bg");
    await pane.prompt();
    await pane.line("jobs");
    await pane.waitFor((s) => /^\[1\]\+ +Running +sleep 60$/m.test(linesAfter(s, "nsh> jobs").join("\n")), "jobs");
    await pane.prompt();
    await pane.line("kill %1; wait %1; echo killed $?");
    await pane.waitFor(/^killed 143$/m, "kill %1");
    await pane.prompt();
    // A pipeline is one job; fg gives it the terminal again.
    await pane.line("cat | tr a-z A-Z");
    await eventually(() => false, 300);
    await pane.keys("C-z");
    await pane.waitFor(/^\[1\]\+ +Stopped +cat \| tr a-z A-Z$/m, "the pipeline to stop");
    await pane.prompt();
    await pane.line("fg %1");
    await pane.waitFor((s) => linesAfter(s, "nsh> fg %1")[0] === "cat | tr a-z A-Z", "fg to name the job");
    await pane.line("resumed");
    screen = await pane.waitFor(/^RESUMED$/m, "the resumed job to read the terminal");
    await pane.keys("C-d");
    await pane.prompt();
    await pane.line("fg");
    screen = await pane.waitFor(/^nsh fg: no current job$/m, "fg without a job");
    await pane.prompt();
    // Nothing of the jobs is left.
    assertEquals(childrenOf(await pane.nshPid()).filter((pid) => ["sleep", "cat", "tr"].includes(comm(pid) ?? "")), []);
    void screen;
  },
});

Deno.test({
  name: "tty: Ctrl-D leaves a context as exit does, ends nsh at the top, and no holder is left",
  ...userns,
  async fn() {
    {
      await using pane = await Tmux.nsh();
      await pane.prompt();
      await pane.keys("C-d");
      await pane.waitFor(/^\[exited 0\]$/m, "Ctrl-D at the top to end nsh");
    }
    await using pane = await Tmux.nsh();
    await pane.prompt();
    const outer = await makeContext(pane);
    // Held, so that their numbers stay theirs after their holders end.
    using _outer = holdNamespace(outer);
    const inner = await makeContext(pane, "--uts", "nsh[uts pid user > uts]> ");
    using _inner = holdNamespace(inner);
    await pane.keys("C-d");
    await pane.waitFor(/^nsh\[uts pid user > uts\]> exit$/m, "Ctrl-D shown as exit");
    await pane.prompt("nsh[uts pid user]> ");
    assert(await eventually(() => !membersOf(inner).length, 5000), `processes left in ${inner}`);
    await pane.keys("C-d");
    await pane.prompt("nsh> ");
    assert(await eventually(() => !membersOf(outer).length, 5000), `processes left in ${outer}`);
    await pane.line("sh -c 'exit 4'");
    await pane.prompt("nsh> ");
    await pane.keys("C-d");
    await pane.waitFor(/^\[exited 4\]$/m, "Ctrl-D at the top to end nsh with the last status");
  },
});

Deno.test({
  name: "tty: when nsh is killed with SIGKILL at the prompt, its holders die too",
  ...userns,
  async fn() {
    await using pane = await Tmux.nsh();
    await pane.prompt();
    const link = await makeContext(pane);
    // Held, so that its number stays its own after nsh dies.
    using _held = holdNamespace(link);
    const pid = await pane.nshPid();
    const holders = membersOf(link).filter((p) => comm(p) === "nsh-holder");
    assertEquals(holders.length, 1, `one holder in ${link}`);
    Deno.kill(pid, "SIGKILL");
    await pane.waitFor(/^\[exited 137\]$/m, "nsh to die");
    const gone = await eventually(() => membersOf(link).length === 0, 1000);
    assert(gone, `processes left in ${link}: ${membersOf(link).map((p) => `${p} ${comm(p)}`)}`);
  },
});

/** The escape codes on the line of the first prompt. */
async function promptEscapes(pane: Tmux): Promise<string> {
  const screen = await pane.waitFor((s) => /nsh>/.test(s), "the prompt", true);
  return screen.split("\n").find((l) => l.includes("nsh>"))!;
}

Deno.test({
  name: "tty: the prompt has colours on a terminal, none with NO_COLOR or a piped stdout",
  ...tty,
  async fn() {
    {
      await using pane = await Tmux.nsh();
      const line = await promptEscapes(pane);
      const escape = line.indexOf("\x1b[");
      assert(escape >= 0 && escape < line.indexOf("nsh>"), `no colour before the prompt: ${JSON.stringify(line)}`);
    }
    {
      await using pane = await Tmux.nsh({ env: { NO_COLOR: "1" } });
      const line = await promptEscapes(pane);
      assertEquals(line.trimEnd(), "nsh>", JSON.stringify(line));
    }
    await using pane = await Tmux.nsh({ pipe: "cat" });
    const line = await promptEscapes(pane);
    assertEquals(line.trimEnd(), "nsh>", JSON.stringify(line));
    await pane.line("echo through-cat");
    await pane.waitFor(/^through-cat$/m, "output through the pipe");
  },
});

Deno.test({
  name: "tty: Ctrl-C stops the rest of the line and a running loop, not only the program, and the prompt comes back",
  ...tty,
  async fn() {
    await using pane = await Tmux.nsh();
    await pane.prompt();
    const nshPid = await pane.nshPid();
    const sleeping = () => eventually(() => childrenOf(nshPid).some((c) => comm(c) === "sleep"), 5000);
    // A list, a loop of programs, and a loop of builtins (no program: nsh gets SIGINT itself).
    const cases: [string, () => Promise<boolean>][] = [
      ["sleep 30; echo after-list", sleeping],
      ["while true; do sleep 1; done; echo after-loop", sleeping],
      ["for i in 1 2 3; do /bin/true; done; while :; do :; done; echo after-busy", () => eventually(() => false, 500)],
    ];
    for (const [line, started] of cases) {
      await pane.line(line);
      await started();
      await pane.keys("C-c");
      await pane.prompt();
      await pane.line("echo status $?");
      const screen = await pane.waitFor(
        (s) => linesAfter(s, "nsh> echo status")[0] === "status 130",
        `130 after ${line}`,
      );
      assert(!/^after-/m.test(screen), `the rest of the line ran; the screen:\n${screen}`);
      await pane.prompt();
    }
    assert(!childrenOf(nshPid).some((c) => comm(c) === "sleep"), "no sleep is left");
    // At an empty prompt: a fresh prompt, and the shell goes on.
    await pane.keys("C-c");
    await pane.waitFor((s) => lastLine(s) === "nsh>" && /^nsh> \^C$/m.test(s), "a fresh prompt after ^C");
    await pane.line("echo still-here");
    await pane.waitFor(/^still-here$/m, "the shell to go on");
  },
});

Deno.test({
  name:
    "tty: after a job that was killed or stopped, nsh has the terminal back and programs get its modes as nsh found them",
  ...tty,
  async fn() {
    await using pane = await Tmux.nsh();
    await pane.prompt();
    const nshPid = await pane.nshPid();
    const echoMode = "stty -a | tr ' ' '\\n' | grep -x -e echo -e -echo";
    for (const key of ["C-c", "C-z"]) {
      // The program turns echo off and does not live to turn it on.
      await pane.line("sh -c 'stty -echo; exec sleep 30'");
      await eventually(() => childrenOf(nshPid).some((c) => comm(c) === "sleep"), 5000);
      await eventually(() => false, 200);
      await pane.keys(key);
      await pane.prompt();
      await pane.line(echoMode);
      await pane.waitFor((s) => linesAfter(s, `nsh> ${echoMode}`)[0] === "echo", `echo on after ${key}`);
      await pane.prompt();
    }
    await pane.line("kill %1; wait %1; echo killed $?");
    await pane.waitFor(/^killed 143$/m, "the stopped job to end");
  },
});

Deno.test({
  name:
    "tty: a background job that ended is reported before the next prompt, not amid a line's output, as bash says it",
  ...tty,
  async fn() {
    await using pane = await Tmux.nsh();
    await pane.prompt();
    await pane.line("sleep 0.2 & sleep 1; echo between; echo last");
    let screen = await pane.waitFor(/^\[1\]\+ +Done +sleep 0\.2$/m, "the notice of the job");
    assertEquals(linesAfter(screen, "nsh> sleep 0.2 &").slice(1, 4), [
      "between",
      "last",
      `[1]+  ${"Done".padEnd(24)}sleep 0.2`,
    ]);
    await pane.prompt();
    await pane.line("sleep 30 &");
    await pane.prompt();
    await pane.line("sh -c 'exit 3' &");
    await pane.prompt();
    await pane.line("kill %1; sleep 0.3");
    screen = await pane.waitFor(/^\[1\]- +Terminated +sleep 30$/m, "the notice of the killed job");
    assertMatch(screen, /^\[2\]\+ +Exit 3 +sh -c 'exit 3'$/m);
    await pane.prompt();
  },
});
