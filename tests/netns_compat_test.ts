/**
 * `nsh netns` against iproute2's `ip netns` on the same inputs: the same
 * standard output, the same exit status, a message on standard error when
 * ip gives one (with the same errno text when ip names one), and the same
 * state afterwards. Everything runs in a mount and network namespace with a
 * tmpfs on /run of the test's own: the host's names and network stay as they
 * are. The cases where nsh differs on purpose (its help) are listed apart.
 *
 * @module
 */

import { assertEquals } from "./_assert.ts";
import { CLI, hasProgram, IS_ROOT } from "./_env.ts";
import { type CommandResult, nsenter, unshare } from "../mod.ts";

const NSH = [Deno.execPath(), "run", "-A", "--quiet", CLI];
const LONG = "n".repeat(255);

/** One input, run by both. */
interface Case {
  /** The words after `netns`. */
  args: string[];
  /** Shell commands (with ip) that make the state the case starts from. */
  setup?: string;
  /** A command whose output shows the state after, compared too. */
  check?: string;
  /** Runs the command under another, such as `ip netns exec red`. */
  under?: string[];
  /** Runs the command from a shell, whose pid `$$` in the words names (under `under`). */
  shell?: boolean;
}

const LIST = "ip netns list";

const CASES: Case[] = [
  { args: [] },
  { args: ["list"] },
  { args: [], setup: "ip netns add red && ip netns add blue" },
  { args: ["list"], setup: "ip netns add a && ip netns add c && ip netns add b" },
  ...["l", "li", "lis", "ls", "lst", "show", "s", "sh"].map((w): Case => ({ args: [w], setup: "ip netns add red" })),
  { args: ["list", "foo"], setup: "ip netns add red" },
  { args: ["list", "a/b"] },
  { args: ["add", "red"], check: LIST },
  ...["a", "ad"].map((w): Case => ({ args: [w, "red"], check: LIST })),
  { args: ["add", "red", "extra"], check: LIST },
  { args: ["add"], check: LIST },
  ...["a/b", ".", "..", "", "x".repeat(256)].map((n): Case => ({ args: ["add", n], check: LIST })),
  { args: ["add", LONG], check: LIST },
  { args: ["add", "red"], setup: "ip netns add red", check: LIST },
  { args: ["delete", "red"], setup: "ip netns add red", check: LIST },
  ...["d", "de", "del", "dele"].map((w): Case => ({ args: [w, "red"], setup: "ip netns add red", check: LIST })),
  { args: ["delete", "red", "extra"], setup: "ip netns add red", check: LIST },
  { args: ["delete", LONG], setup: `ip netns add ${LONG}`, check: LIST },
  { args: ["delete", "nope"], check: LIST },
  { args: ["delete"], check: LIST },
  { args: ["delete", "a/b"], check: LIST },
  { args: ["identify"] },
  { args: ["identify"], setup: "ip netns add red", under: ["ip", "netns", "exec", "red"] },
  { args: ["identify", "$$"], setup: "ip netns add red", under: ["ip", "netns", "exec", "red"], shell: true },
  { args: ["i"], setup: "ip netns add red", under: ["ip", "netns", "exec", "red"] },
  { args: ["identify", "abc"] },
  { args: ["identify", "1", "2"] },
  { args: ["identify", "999999"] },
  { args: ["pids", "red"], setup: "ip netns add red" },
  { args: ["pids", "nope"] },
  { args: ["pids"] },
  { args: ["pids", "red", "extra"], setup: "ip netns add red" },
  { args: ["p", "red"], setup: "ip netns add red" },
  { args: ["exec", "red", "true"], setup: "ip netns add red" },
  { args: ["e", "red", "true"], setup: "ip netns add red" },
  { args: ["exec", "red", "sh", "-c", "exit 3"], setup: "ip netns add red" },
  { args: ["exec", "red", "ip", "-brief", "link"], setup: "ip netns add red" },
  { args: ["exec", "red", "nosuch-program"], setup: "ip netns add red" },
  { args: ["exec", "red", "/etc/passwd"], setup: "ip netns add red" },
  { args: ["exec", "nope", "true"] },
  { args: ["exec", "red"], setup: "ip netns add red" },
  { args: ["exec"] },
  { args: ["exec", "a/b", "true"] },
  { args: ["exec", LONG, "true"], setup: `ip netns add ${LONG}` },
  { args: ["set", "red", "5"], setup: "ip netns add red", check: "ip netns list-id" },
  { args: ["se", "red", "5"], setup: "ip netns add red", check: "ip netns list-id" },
  { args: ["set", "red", "auto"], setup: "ip netns add red", check: "ip netns list-id" },
  { args: ["set", "red", "0x10"], setup: "ip netns add red", check: "ip netns list-id" },
  { args: ["set", "red", "-1"], setup: "ip netns add red" },
  { args: ["set", "red", "abc"], setup: "ip netns add red" },
  { args: ["set", "red"], setup: "ip netns add red" },
  { args: ["set"] },
  { args: ["set", "nope", "1"] },
  { args: ["set", "red", "6"], setup: "ip netns add red && ip netns set red 5", check: "ip netns list-id" },
  { args: ["list"], setup: "ip netns add red && ip netns add blue && ip netns set red 5" },
  { args: ["list-id"], setup: "ip netns add red && ip netns add blue && ip netns set red 5 && ip netns set blue 7" },
  { args: ["list-id", "nsid", "7"], setup: "ip netns add red && ip netns set red 7" },
  { args: ["list-id", "nsid", "8"], setup: "ip netns add red && ip netns set red 7" },
  { args: ["list-id", "foo"] },
  { args: ["list-id", "nsid"] },
  { args: ["list-id", "nsid", "x"] },
  { args: ["list-id", "nsid", "1", "nsid", "2"] },
  { args: ["attach", "green", "$$"], shell: true, check: LIST },
  { args: ["at", "green", "$$"], shell: true, check: LIST },
  { args: ["attach", "green"], check: LIST },
  { args: ["attach", "green", "abc"], check: LIST },
  { args: ["attach", "green", "0"], check: LIST },
  { args: ["attach", "green", "999999"], check: LIST },
  { args: ["attach", "red", "$$"], setup: "ip netns add red", shell: true, check: LIST },
  { args: ["frob"] },
  { args: ["frob", "red"] },
  { args: ["lists"] },
  { args: [""] },
];

/** Inputs where nsh differs on purpose: its help goes to standard output, with status 0. */
const DIFFERENT: Case[] = [{ args: ["help"] }, { args: ["h"] }];

const ERRNO_TEXTS = [
  "No such file or directory",
  "File exists",
  "Permission denied",
  "Operation not permitted",
  "Invalid argument",
  "Exec format error",
];

interface Side {
  code: number;
  stdout: string;
  stderr: string;
  after: string;
}

function quote(word: string): string {
  return word === "$$" ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

Deno.test({
  name: "nsh netns gives what ip netns gives on the same inputs: output, status, errors, state after",
  ignore: !IS_ROOT || !hasProgram("ip"),
  async fn() {
    // Each side of each case has a world of its own: ids given to namespaces
    // outlive their names until the kernel frees the namespaces.
    const side = async (c: Case, tool: string[]): Promise<Side> => {
      const holder = unshare({ mount: true, net: true }).tmpfs("/run", "mode=0755").run("sleep", "600").spawn();
      try {
        const { pid } = await holder.started;
        const inside = nsenter({ target: pid, mount: true, net: true });
        const run = (argv: string[]): Promise<CommandResult> => inside.run(argv).noThrow().output();
        const setup = await run(["sh", "-c", c.setup ?? "true"]);
        assertEquals(setup.code, 0, `setup of ${c.args.join(" ")}: ${setup.stderrText}`);
        const words = [...tool, "netns", ...c.args];
        const r = await run([...(c.under ?? []), ...(c.shell ? ["sh", "-c", words.map(quote).join(" ")] : words)]);
        const after = c.check ? (await run(["sh", "-c", c.check])).stdoutText : "";
        return { code: r.code, stdout: r.stdoutText, stderr: r.stderrText, after };
      } finally {
        holder.kill("SIGKILL");
        await holder.catch(() => {});
      }
    };
    const failures: string[] = [];
    const differences: string[] = [];
    {
      for (const [list, report] of [[CASES, failures], [DIFFERENT, differences]] as const) {
        for (const c of list) {
          const ip = await side(c, ["ip"]);
          const nsh = await side(c, NSH);
          const problems: string[] = [];
          if (nsh.stdout !== ip.stdout) {
            problems.push(`stdout ${JSON.stringify(nsh.stdout)} != ${JSON.stringify(ip.stdout)}`);
          }
          if (nsh.code !== ip.code) problems.push(`status ${nsh.code} != ${ip.code}`);
          if ((nsh.stderr === "") !== (ip.stderr === "")) {
            problems.push(`stderr ${JSON.stringify(nsh.stderr)} against ${JSON.stringify(ip.stderr)}`);
          }
          for (const text of ERRNO_TEXTS) {
            if (ip.stderr.includes(text) && !nsh.stderr.includes(text)) {
              problems.push(`stderr lacks "${text}": ${nsh.stderr}`);
            }
          }
          if (nsh.after !== ip.after) {
            problems.push(`after: ${JSON.stringify(nsh.after)} != ${JSON.stringify(ip.after)}`);
          }
          const name = (c.args.join(" ") || "(none)").replace(LONG, "<255 bytes>").replace(/x{256}/, "<256 bytes>");
          if (problems.length) report.push(`${name}: ${problems.join("; ")}`);
        }
      }
    }
    console.log(
      `ip netns compatibility: ${CASES.length - failures.length} of ${CASES.length} cases match; ` +
        `${DIFFERENT.length - differences.length} of ${DIFFERENT.length} cases that differ on purpose match`,
    );
    assertEquals(failures, []);
    // The help differs as documented: on standard output, status 0.
    assertEquals(differences.length, DIFFERENT.length, differences.join("\n"));
  },
});
