/**
 * `nsh audit [PID] [--json]`: what isolation a process has, and which known
 * breakout paths are open, as text for a terminal or as JSON (lib/audit.ts
 * documents the shape).
 *
 * @module
 */

import { formatOptions, getoptPermuted, type OptionSpec } from "./getopt.ts";
import { UsageError, ValueError } from "./usage.ts";
import { VERSION } from "./version.ts";
import type { CliCommand } from "./commands.ts";
import { type Audit, audit, type AuditSyscall, type ProbeStatus } from "../lib/audit.ts";
import { CAPABILITY_NAMES } from "../ffi/constants.ts";

/** The options of `nsh audit`. */
export const AUDIT_OPTIONS: readonly OptionSpec[] = [
  { long: "json", short: "J", arg: "none", help: "use JSON output format" },
  { long: "no-probe", arg: "none", help: "read /proc only: probe no system call" },
  { long: "help", short: "h", arg: "none", help: "display this help" },
  { long: "version", short: "V", arg: "none", help: "display version" },
];

/** The help text of `nsh audit`. */
export function auditHelp(): string {
  return `
Usage:
 nsh audit [options] [<pid>]

What isolation a process has, and which known breakout paths are open: its
namespaces (its own, or the host's: PID 1's, or nsh's where PID 1's cannot be
read), user namespace and id maps, capabilities by set and where they count,
no_new_privs, seccomp, the sensitive system calls its filter and capabilities
deny, Landlock, cgroups and limits, what it sees of the host's files, and a
verdict on each breakout path. Without <pid>, nsh audits itself: run it inside
a box (nsh unshare ... nsh audit) to see the box from inside.

The system calls are probed in a child of nsh that takes the process's
namespaces, credentials, capabilities and seccomp filters, with arguments
that make each call fail harmlessly after the kernel's checks. Copying a
seccomp filter needs root, and stops the process while it is copied.

Options:
${formatOptions(AUDIT_OPTIONS)}
`;
}

/** What `nsh audit` was asked. */
export type AuditRequest =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "audit"; readonly pid: number | undefined; readonly json: boolean; readonly probe: boolean };

/**
 * Parses the arguments of `nsh audit`.
 *
 * @param args The words after `audit`.
 * @returns The request.
 * @throws {UsageError} For an unknown option or a second pid.
 * @throws {ValueError} For a pid that is not one.
 */
export function parseAudit(args: readonly string[]): AuditRequest {
  const { options, rest } = getoptPermuted("audit", AUDIT_OPTIONS, args);
  const has = (name: string) => options.some((o) => o.name === name);
  if (has("help")) return { kind: "help" };
  if (has("version")) return { kind: "version" };
  if (rest.length > 1) throw new UsageError("audit", `unexpected argument '${rest[1]}'`);
  const text = rest[0];
  if (text !== undefined && (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text)))) {
    throw new ValueError("audit", `'${text}' is not a pid`);
  }
  return {
    kind: "audit",
    pid: text === undefined ? undefined : Number(text),
    json: has("json"),
    probe: !has("no-probe"),
  };
}

/** `nsh audit`. */
export const auditCommand: CliCommand = {
  help: auditHelp,
  async run(args, io) {
    const request = parseAudit(args);
    if (request.kind === "help") io.out(auditHelp());
    else if (request.kind === "version") io.out(`nsh audit ${VERSION}\n`);
    else {
      const report = await audit(request.pid, { probe: request.probe });
      io.out(request.json ? JSON.stringify(report, null, 2) + "\n" : formatAudit(report, textStyle()));
    }
    return 0;
  },
};

/** How text output looks. */
export interface TextStyle {
  /** Colour "open" and "closed" (a terminal, and no NO_COLOR). */
  readonly color: boolean;
  /** The width to wrap lists at. */
  readonly width: number;
}

function textStyle(): TextStyle {
  const terminal = Deno.stdout.isTerminal();
  let width = 80;
  if (terminal) {
    try {
      width = Deno.consoleSize().columns || 80;
    } catch {
      // No size: 80.
    }
  }
  return { color: terminal && !Deno.env.get("NO_COLOR"), width: Math.max(60, width) };
}

const LABEL = 16;

/** Text wrapped at `width`, the first line after `lead`, the others indented as far. */
function wrap(lead: string, text: string, width: number): string {
  const room = Math.max(20, width - lead.length);
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.map((l, i) => (i === 0 ? lead : " ".repeat(lead.length)) + l).join("\n").trimEnd();
}

/** A label and its text, in two aligned columns. */
function row(label: string, text: string, width: number): string {
  return wrap(`  ${label.padEnd(LABEL)}`, text, width);
}

/** Capability names as getpcaps prints them: `sys_admin`; `all` for every one. */
function capList(names: readonly string[], known: number): string {
  const short = (n: string) => n.replace(/^CAP_/, "").toLowerCase();
  if (!names.length) return "none";
  if (names.length >= known) return `all (${names.length})`;
  // Nearly all: name what is missing.
  const missing = CAPABILITY_NAMES.slice(0, known).filter((n) => !names.includes(n));
  if (missing.length <= 3) return `all but ${missing.map(short).join(" ")} (${names.length} of ${known})`;
  return names.map(short).join(" ");
}

function yesNo(value: boolean | null, yes: string, no: string, unknown = "unknown"): string {
  return value === null ? unknown : value ? yes : no;
}

const STATUS_LABELS: readonly [ProbeStatus, string][] = [
  ["seccomp", "seccomp denies"],
  ["capability", "need a cap"],
  ["denied", "denied"],
  ["allowed", "allowed"],
  ["absent", "not in kernel"],
  ["unknown", "not probed"],
];

function callText(call: AuditSyscall): string {
  if (call.status === "seccomp") {
    if (call.killed) return `${call.name}(kills)`;
    return `${call.name}(${call.filter?.replace(/^errno /, "") ?? call.errno ?? "?"})`;
  }
  if (call.status === "capability" && call.capability) {
    const cap = call.capability.startsWith("CAP_") ? call.capability.slice(4).toLowerCase() : "ptrace";
    return `${call.name}(${cap})`;
  }
  if (call.status === "denied") return `${call.name}(${call.errno ?? "?"})`;
  return call.name;
}

/** A size in bytes as `64 MiB`. */
function size(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes, unit = 0;
  while (value >= 1024 && unit < units.length - 1 && value % 1024 === 0) {
    value /= 1024;
    unit++;
  }
  return `${value} ${units[unit]}`;
}

function limitText(resource: string, value: string): string {
  if (resource.startsWith("memory")) return size(Number(value));
  if (resource === "cpu") {
    const [quota, period] = value.split(" ").map(Number);
    return `${Math.round((quota! / period!) * 1000) / 10}% of a CPU (${quota}/${period} µs)`;
  }
  return value.replace(/^default /, "").split("\n")[0]!;
}

/**
 * The text `nsh audit` prints: sections of aligned rows.
 *
 * @param report What {@linkcode audit} found.
 * @param style Colour and width.
 * @returns The text, ending with a newline.
 */
export function formatAudit(report: Audit, style: TextStyle): string {
  const { width } = style;
  const out: string[] = [];
  const paint = (text: string, code: string) => (style.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const head = (title: string) => out.push("", paint(title, "1"));
  out.push(`${paint(`Process ${report.pid}`, "1")}${report.self ? " (nsh itself)" : ""}: ${report.command}`);
  out.push(row("audited as", `uid ${report.auditor}`, width));
  out.push(row("host", report.reference.why, width));

  head("Namespaces");
  for (const ns of report.namespaces) {
    const where = ns.link === null
      ? "not in this kernel"
      : ns.shared === null
      ? "unknown"
      : ns.shared
      ? "shared"
      : "its own";
    out.push(row(ns.type, `${where.padEnd(12)}${ns.link ?? ""}`, width));
  }
  const u = report.user;
  const level = u.depth === null
    ? "not below nsh's"
    : u.depth === 0
    ? (u.initial ? "the initial one" : "nsh's")
    : `${u.depth} level${u.depth > 1 ? "s" : ""} below nsh's`;
  out.push(row("user ns", level, width));
  const map = (m: typeof u.uidMap) => m.map((r) => `${r.inside} ${r.outside} ${r.count}`).join(", ") || "none";
  out.push(row("uid map", map(u.uidMap), width));
  out.push(row("gid map", map(u.gidMap), width));
  if (u.setgroups) out.push(row("setgroups", u.setgroups, width));

  head("Credentials");
  const c = report.credentials;
  const inside = (id: number | null, outside: number) =>
    id === null ? " (unmapped in its user namespace)" : id !== outside ? ` (${id} inside)` : "";
  out.push(row("uid", `${c.uid.join(" ")}${inside(c.uidInside, c.uid[1]!)}`, width));
  out.push(row("gid", `${c.gid.join(" ")}${inside(c.gidInside, c.gid[1]!)}`, width));
  out.push(row("groups", c.groups.join(" ") || "none", width));

  const caps = report.capabilities;
  const countIn = caps.countIn === "initial"
    ? "in the initial user namespace: over the whole machine"
    : caps.countIn === "nested"
    ? "in a nested user namespace: over what it owns only"
    : "in a user namespace nsh cannot place";
  head("Capabilities");
  out.push(row("count", countIn, width));
  out.push(row("effective", capList(caps.effective, caps.known), width));
  out.push(row("permitted", capList(caps.permitted, caps.known), width));
  out.push(row("inheritable", capList(caps.inheritable, caps.known), width));
  out.push(row("bounding", capList(caps.bounding, caps.known), width));
  out.push(row("ambient", capList(caps.ambient, caps.known), width));
  out.push(row("no_new_privs", report.noNewPrivs ? "yes" : "no", width));

  head("Seccomp");
  const s = report.seccomp;
  const filters = s.filters === null || s.mode !== "filter" ? "" : `, ${s.filters} filter${s.filters === 1 ? "" : "s"}`;
  const sizes = s.instructions.length ? ` of ${s.instructions.join(", ")} instructions` : "";
  out.push(row("mode", `${s.mode}${filters}${sizes}`, width));
  const withFilter = {
    copied: "copied into the probing child",
    inherited: "inherited by the probing child",
    none: "none to copy",
    unread: `not read: ${s.why ?? "unknown"}`,
  }[s.probedWith];
  if (s.mode !== "disabled") out.push(row("filters", withFilter, width));
  const sys = report.syscalls;
  out.push(row("probed", sys.how, width));
  for (const [status, label] of STATUS_LABELS) {
    const calls = sys.calls.filter((call) => call.status === status);
    if (calls.length) out.push(row(label, calls.map(callText).join(" "), width));
  }

  head("Landlock and LSM");
  const l = report.landlock;
  out.push(
    row(
      "landlock",
      `${l.layers === null ? "" : `${l.layers} layer${l.layers === 1 ? "" : "s"}; `}${l.how}${
        l.abi ? ` (ABI ${l.abi})` : ""
      }`,
      width,
    ),
  );
  out.push(row("lsm label", report.lsm ?? "none", width));

  head("Cgroups");
  if (!report.cgroups) out.push(row("cgroups", "cannot be read", width));
  else {
    for (const g of report.cgroups.cgroups) {
      const name = g.version === 2 ? "v2" : g.controllers.join(",") || "v1";
      const controllers = g.version === 2 ? ` [${g.controllers.join(" ") || "no controllers"}]` : "";
      out.push(row(name, `${g.path}${controllers}`, width));
    }
    for (const limit of report.cgroups.limits) {
      const text = limit.value === null
        ? limit.why ?? "unknown"
        : limit.limited || limit.resource.includes("weight")
        ? `${limitText(limit.resource, limit.value)}${limit.file ? ` (${limit.file})` : ""}`
        : "no limit";
      out.push(row(limit.resource, text, width));
    }
  }

  head("Files");
  const f = report.filesystem;
  out.push(row("root", yesNo(f.hostRoot, "the host's", "its own"), width));
  out.push(row(
    "/proc",
    f.proc === false ? "not mounted" : yesNo(f.hostProc, "the host's: host processes are in it", "its own"),
    width,
  ));
  out.push(row("/sys", yesNo(f.sys, "mounted", "not mounted"), width));
  for (const w of f.writable) {
    out.push(row("writable", `${w.path}: ${yesNo(w.writable, "yes", `no (${w.errno})`, "not probed")}`, width));
  }
  const agents = f.releaseAgents.filter((a) => a.path.endsWith("/release_agent"));
  if (agents.length) {
    const open = agents.filter((a) => a.writable);
    out.push(row(
      "release_agent",
      open.length
        ? `writable: ${open.map((a) => a.path).join(" ")}`
        : `${agents.length} visible, none writable (${agents[0]!.errno ?? "not probed"})`,
      width,
    ));
  }
  out.push(row(
    "sockets",
    f.sockets.length
      ? f.sockets.map((k) => `${k.path} ${yesNo(k.connects, "connects", `(${k.errno})`, "(not probed)")}`).join(", ")
      : "no container runtime socket",
    width,
  ));

  head("Breakout paths");
  for (const b of report.breakouts) {
    const word = b.open === null ? "unknown" : b.open ? "OPEN" : "closed";
    const mark = b.open === null ? word : paint(word, b.open ? "1;31" : "32");
    out.push(`  ${mark}${" ".repeat(8 - word.length)}${b.title}`);
    out.push(wrap(" ".repeat(10), b.why, width));
  }
  return out.join("\n") + "\n";
}
